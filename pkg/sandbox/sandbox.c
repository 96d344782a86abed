/*
 * sandbox: the layers applied to a program run, in one fixed order; the
 * probe that finds which layers work; the reports of both.
 * See sandbox.h for the three phases.
 */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"
#include "sandbox/statedir.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	       (sizeof(a) / sizeof((a)[0]))
#define PROBE_SELF_TEST_FAILED 200
#define PROBE_UID	       65534

/* clang-format off */
static const char *const layer_names[SANDBOX_LAYER_COUNT] = {
	[SANDBOX_LAYER_SECCOMP] = "seccomp",	   [SANDBOX_LAYER_LANDLOCK] = "landlock",
	[SANDBOX_LAYER_USERNS] = "userns",	   [SANDBOX_LAYER_PIDNS] = "pidns",
	[SANDBOX_LAYER_NETNS] = "netns",	   [SANDBOX_LAYER_IPCNS] = "ipcns",
	[SANDBOX_LAYER_UTSNS] = "utsns",	   [SANDBOX_LAYER_MOUNTNS] = "mountns",
	[SANDBOX_LAYER_NO_NEW_PRIVS] = "no_new_privs", [SANDBOX_LAYER_UID_DROP] = "uid_drop",
	[SANDBOX_LAYER_CGROUP] = "cgroup",
};
/* clang-format on */

const char *sandbox_layer_name(enum sandbox_layer layer)
{
	return (unsigned)layer < SANDBOX_LAYER_COUNT ? layer_names[layer] : "?";
}

/* --- probe ----------------------------------------------------------- */

struct probe {
	int (*body)(const void *arg);
	const void *arg;
};

/* Run @body in a forked child; its exit status, or 1000 + signal. */
static int run_probe(int (*body)(const void *), const void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(body(arg));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

/* Turn a probe child's exit status into available / self-test / detail. */
static void record(struct sandbox_layer_cap *cap, int status, const char *what)
{
	cap->available = status == 0 || status == PROBE_SELF_TEST_FAILED;
	cap->self_test = status == 0			    ? SANDBOX_SELF_TEST_OK
			 : cap->available || status >= 1000 ? SANDBOX_SELF_TEST_FAILED
							    : SANDBOX_SELF_TEST_NOT_RUN;
	if (status == PROBE_SELF_TEST_FAILED)
		snprintf(cap->detail, sizeof(cap->detail),
			 "%s: applied, but a forbidden action "
			 "was not refused",
			 what);
	else if (status >= 1000)
		snprintf(cap->detail, sizeof(cap->detail), "%s: probe killed by signal %d", what,
			 status - 1000);
	else if (status != 0)
		snprintf(cap->detail, sizeof(cap->detail), "%s: %s", what, strerror(status));
}

struct ns_probe_arg {
	enum ns_kind kind;
	bool as_root;
};

static int ns_body(const void *arg)
{
	const struct ns_probe_arg *a = arg;

	return ns_probe_child(a->kind, a->as_root);
}

static void probe_namespaces(struct sandbox_caps *caps)
{
	for (int k = 0; k < NS_KIND_COUNT; k++) {
		struct ns_probe_arg arg = {(enum ns_kind)k, caps->can_setuid};
		struct sandbox_layer_cap *cap = &caps->layer[SANDBOX_LAYER_USERNS + k];
		int status = run_probe(ns_body, &arg);

		record(cap, status, "unshare");
		if (status == NS_PROBE_NO_FRESH_PROC)
			snprintf(cap->detail, sizeof(cap->detail),
				 "a fresh /proc cannot be mounted (paths of this /proc are "
				 "masked, as container engines do)");
		if (k == NS_USER && caps->can_setuid && cap->available)
			snprintf(cap->detail, sizeof(cap->detail), "not needed as root");
	}
}

static int landlock_body(const void *arg)
{
	(void)arg;
	return landlock_probe_child();
}

static void landlock_works(struct sandbox_caps *caps, int abi)
{
	caps->landlock_abi = abi;
	record(&caps->layer[SANDBOX_LAYER_LANDLOCK], 0, "landlock");
	snprintf(caps->layer[SANDBOX_LAYER_LANDLOCK].detail,
		 sizeof(caps->layer[SANDBOX_LAYER_LANDLOCK].detail), "ABI %d", abi);
}

static void probe_landlock(struct sandbox_caps *caps)
{
	struct sandbox_layer_cap *cap = &caps->layer[SANDBOX_LAYER_LANDLOCK];
	int abi = landlock_abi(), status;

	if (abi < 0) {
		snprintf(cap->detail, sizeof(cap->detail), "not supported: %s", strerror(-abi));
		return;
	}
	status = run_probe(landlock_body, NULL);
	if (status == 0) {
		landlock_works(caps, abi);
		return;
	}
	caps->landlock_abi = abi;
	record(cap, status, "landlock");
}

static int seccomp_body(const void *arg)
{
	return seccomp_policy_probe_child(arg);
}

/* What the seccomp probe loads and tests; NULL (with the detail said) when it cannot be built. */
static const struct seccomp_policy *probe_policy(struct sandbox_caps *caps)
{
	static struct seccomp_policy policy; /* probe runs once: not on the stack */
	struct seccomp_policy_options opt = {.runbox_pid = getpid()};
	struct sandbox_layer_cap *cap = &caps->layer[SANDBOX_LAYER_SECCOMP];
	struct rb_err err;

	if (seccomp_policy_build(&policy, &opt, &err) < 0) {
		snprintf(cap->detail, sizeof(cap->detail), "%.95s", err.msg);
		return NULL;
	}
	return &policy;
}

static void seccomp_tested(struct sandbox_caps *caps, const struct seccomp_policy *policy,
			   int status)
{
	struct sandbox_layer_cap *cap = &caps->layer[SANDBOX_LAYER_SECCOMP];

	record(cap, status, "seccomp");
	if (cap->self_test == SANDBOX_SELF_TEST_OK)
		snprintf(cap->detail, sizeof(cap->detail), "%u system calls allowed",
			 policy->n_syscalls);
}

static void probe_seccomp(struct sandbox_caps *caps)
{
	const struct seccomp_policy *policy = probe_policy(caps);

	if (policy)
		seccomp_tested(caps, policy, run_probe(seccomp_body, policy));
}

static int nnp_body(const void *arg)
{
	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : PROBE_SELF_TEST_FAILED;
}

static int uid_body(const void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(PROBE_UID, PROBE_UID, PROBE_UID) < 0 ||
	    setresuid(PROBE_UID, PROBE_UID, PROBE_UID) < 0)
		return errno;
	/* Once dropped, there is no way back. */
	if (setresuid(0, 0, 0) == 0 || errno != EPERM)
		return PROBE_SELF_TEST_FAILED;
	return 0;
}

static void probe_process(struct sandbox_caps *caps)
{
	struct sandbox_layer_cap *uid = &caps->layer[SANDBOX_LAYER_UID_DROP];

	record(&caps->layer[SANDBOX_LAYER_NO_NEW_PRIVS], run_probe(nnp_body, NULL), "prctl");
	if (!caps->can_setuid) {
		snprintf(uid->detail, sizeof(uid->detail), "runbox is not root");
		return;
	}
	record(uid, run_probe(uid_body, NULL), "setresuid");
}

/*
 * The groups of probes, as bits of at_once_body's exit status: those that
 * failed, with GROUP_RAN set, which no errno of run_probe() has.
 */
enum {
	GROUP_NS = 1,
	GROUP_PROCESS = 2,
	GROUP_LANDLOCK = 4,
	GROUP_SECCOMP = 8,
	GROUP_ALL = 15,
	GROUP_RAN = 160,
};

struct at_once_arg {
	bool landlock;
	const struct seccomp_policy *policy;
};

/* Each group in the order a run applies them: the filter last, it refuses unshare. */
static int at_once_body(const void *arg)
{
	const struct at_once_arg *a = arg;
	int failed = GROUP_RAN;

	if (ns_probe_child_all() != 0)
		failed |= GROUP_NS;
	if (nnp_body(NULL) != 0)
		failed |= GROUP_PROCESS;
	if (a->landlock && landlock_probe_child() != 0)
		failed |= GROUP_LANDLOCK;
	if (a->policy && seccomp_policy_probe_child(a->policy) != 0)
		failed |= GROUP_SECCOMP;
	return failed;
}

/*
 * Every probe of an unprivileged runbox in one child, where each group
 * otherwise takes its own (nine forks, six user namespaces: about 4 ms of
 * a one-shot run, which cannot keep the probe in the state directory, see
 * executor.c).  Records the groups that passed; returns those the probes
 * one by one must still look at, for the detail of what failed.
 */
static int probe_at_once(struct sandbox_caps *caps)
{
	int abi = landlock_abi(), status, todo;
	struct at_once_arg arg = {.landlock = abi >= 0, .policy = probe_policy(caps)};

	status = run_probe(at_once_body, &arg);
	todo = (status & ~GROUP_ALL) == GROUP_RAN ? status & GROUP_ALL : GROUP_ALL;
	if (!arg.landlock)
		todo |= GROUP_LANDLOCK; /* the one-by-one probe says why, without a fork */
	if (!arg.policy)
		todo &= ~GROUP_SECCOMP; /* probe_policy() said why */
	if (!(todo & GROUP_NS))
		for (int k = 0; k < NS_KIND_COUNT; k++)
			record(&caps->layer[SANDBOX_LAYER_USERNS + k], 0, "unshare");
	if (!(todo & GROUP_PROCESS)) {
		record(&caps->layer[SANDBOX_LAYER_NO_NEW_PRIVS], 0, "prctl");
		snprintf(caps->layer[SANDBOX_LAYER_UID_DROP].detail,
			 sizeof(caps->layer[SANDBOX_LAYER_UID_DROP].detail), "runbox is not root");
	}
	if (!(todo & GROUP_LANDLOCK))
		landlock_works(caps, abi);
	if (!(todo & GROUP_SECCOMP) && arg.policy)
		seccomp_tested(caps, arg.policy, 0);
	return todo;
}

int sandbox_probe(struct sandbox_caps *ret, struct rb_err *err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct sandbox_caps cached;

	(void)err;
	pthread_mutex_lock(&lock);
	if (!cached.probed) {
		int todo;

		cached.can_setuid = geteuid() == 0;
		/* As root the probe is kept for the boot: one by one, as it always was. */
		todo = cached.can_setuid ? GROUP_ALL : probe_at_once(&cached);
		if (todo & GROUP_NS)
			probe_namespaces(&cached);
		if (todo & GROUP_PROCESS)
			probe_process(&cached);
		if (todo & GROUP_LANDLOCK)
			probe_landlock(&cached);
		if (todo & GROUP_SECCOMP)
			probe_seccomp(&cached);
		cached.probed = true;
	}
	*ret = cached;
	pthread_mutex_unlock(&lock);
	return 0;
}

void sandbox_caps_set_cgroup(struct sandbox_caps *caps, const struct cgroup_host *h,
			     const char *why)
{
	struct sandbox_layer_cap *cap = &caps->layer[SANDBOX_LAYER_CGROUP];

	caps->cgroup_version = h ? h->version : 0;
	caps->cgroup_controllers = h ? h->controllers : 0;
	cap->available = caps->cgroup_version != 0;
	/* Proved by making a group with limits, as the other layers' self-tests do. */
	cap->self_test = cap->available ? SANDBOX_SELF_TEST_OK : SANDBOX_SELF_TEST_NOT_RUN;
	snprintf(cap->detail, sizeof(cap->detail), "%s", h ? h->detail : why);
}

void sandbox_probe_cgroup(struct sandbox_caps *caps, bool enabled)
{
	struct cgroup_host h;

	if (!enabled) {
		sandbox_caps_set_cgroup(caps, NULL, "RUNBOX_CGROUP=off");
		return;
	}
	cgroup_host_open(&h, CGROUP_PROBE);
	sandbox_caps_set_cgroup(caps, &h, NULL);
	cgroup_host_close(&h);
}

/* --- prepare (parent) ------------------------------------------------ */

static bool usable(const struct sandbox_caps *caps, enum sandbox_layer layer)
{
	return caps->layer[layer].available;
}

/*
 * Landlock and seccomp need no_new_privs, unless the child still holds
 * CAP_SYS_ADMIN when it applies them (root without a uid drop).
 */
static bool can_restrict(const struct sandbox_plan *plan)
{
	return plan->cfg.enabled &&
	       (plan->no_new_privs || (plan->caps.can_setuid && !plan->uid_dropped));
}

static int prepare_namespaces(struct sandbox_plan *plan, struct rb_err *err)
{
	struct ns_options opt = {
	    .enabled = plan->cfg.enabled,
	    .allow_network = plan->cfg.allow_network,
	    .as_root = plan->caps.can_setuid,
	    .uid = geteuid(),
	    .gid = getegid(),
	    .workspace = plan->cfg.workspace,
	    .workspace_detached = plan->cfg.workspace_detached,
	    .workspace_fd = plan->cfg.workspace_fd,
	    .tmp_bytes = plan->cfg.tmp_bytes,
	};
	int r;

	for (int k = 0; k < NS_KIND_COUNT; k++)
		opt.available[k] = usable(&plan->caps, SANDBOX_LAYER_USERNS + k);
	for (int i = 0; i < NS_MAX_RO_BINDS && i < SANDBOX_MAX_READ_PATHS; i++)
		opt.ro_binds[i] = plan->cfg.read_paths[i];
	/*
	 * With Landlock in force nothing outside the workspace and the private
	 * /tmp is writable anyway; re-mounting every mount point read-only
	 * would cost about a millisecond per run (and a mountinfo parse) for
	 * no further protection.  Without Landlock it is what enforces it.
	 */
	opt.readonly_remounts =
	    !(can_restrict(plan) && usable(&plan->caps, SANDBOX_LAYER_LANDLOCK));
	r = ns_plan_prepare(&plan->ns, &opt, err);
	if (r < 0)
		return r;
	plan->clone_flags = plan->ns.clone_flags;
	for (int k = 0; k < NS_KIND_COUNT; k++)
		if (plan->clone_flags & ns_kind_flag((enum ns_kind)k))
			plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_USERNS + k);
	return 0;
}

static int prepare_landlock(struct sandbox_plan *plan, struct rb_err *err)
{
	struct landlock_options opt = {
	    .workspace = plan->cfg.workspace,
	    .workspace_detached = plan->cfg.workspace_detached,
	    .workspace_fd = plan->cfg.workspace_fd,
	    .python = plan->cfg.python,
	    .allow_network = plan->cfg.allow_network,
	    .private_mounts = (plan->clone_flags & CLONE_NEWNS) != 0,
	};
	int r;

	if (!can_restrict(plan) || !usable(&plan->caps, SANDBOX_LAYER_LANDLOCK))
		return 0;
	memcpy(opt.read_paths, plan->cfg.read_paths, sizeof(opt.read_paths));
	r = landlock_plan_prepare(&plan->landlock, &opt, err);
	if (r < 0)
		return r;
	plan->keep_fds[plan->n_keep_fds++] = plan->landlock.ruleset_fd;
	plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_LANDLOCK);
	return 0;
}

/*
 * Compiling the filter costs milliseconds, a large share of a one-shot run.
 * Without a pid namespace the filter names runbox's pid and is per process;
 * with one it depends only on the options and can be kept in the state
 * directory across processes (written by root only, see sandbox_config).
 */
static int build_seccomp(struct sandbox_plan *plan, const struct seccomp_policy_options *opt,
			 struct rb_err *err)
{
	char name[64], key[128];
	bool shared = plan->cfg.cache_key && plan->cfg.cache_fd >= 0 && opt->pid_namespace;
	int r;

	snprintf(name, sizeof(name), "seccomp-%d%d.cache", opt->allow_network, opt->ipc_namespace);
	snprintf(key, sizeof(key), "%s size=%zu layout=%d",
		 plan->cfg.cache_key ? plan->cfg.cache_key : "", sizeof(plan->seccomp),
		 SECCOMP_POLICY_LAYOUT);
	if (shared &&
	    statedir_cache_load(plan->cfg.cache_fd, name, key, &plan->seccomp,
				sizeof(plan->seccomp)) &&
	    seccomp_policy_valid(&plan->seccomp))
		return 0;
	r = seccomp_policy_build(&plan->seccomp, opt, err);
	if (r >= 0 && shared)
		statedir_cache_store(plan->cfg.cache_fd, name, key, &plan->seccomp,
				     sizeof(plan->seccomp));
	return r;
}

static int prepare_seccomp(struct sandbox_plan *plan, struct rb_err *err)
{
	struct seccomp_policy_options opt = {
	    .allow_network = plan->cfg.allow_network,
	    .pid_namespace = (plan->clone_flags & CLONE_NEWPID) != 0,
	    .ipc_namespace = ns_sets_ipc_limits(plan->clone_flags),
	};
	int r;

	if (!can_restrict(plan) || !usable(&plan->caps, SANDBOX_LAYER_SECCOMP))
		return 0;
	/* Inside its own pid namespace the program cannot name runbox at all. */
	if (!opt.pid_namespace) {
		opt.runbox_pid = getpid();
		opt.runbox_pgid = getpgrp();
		memcpy(opt.protect, plan->cfg.protect, sizeof(opt.protect));
	}
	r = build_seccomp(plan, &opt, err);
	if (r < 0)
		return r;
	/* Made here, so that the child loads it as it is: no copy on its stack. */
	seccomp_policy_to_notify(&plan->seccomp, &plan->seccomp_notify);
	plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP);
	return 0;
}

int sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_caps *caps,
			 const struct sandbox_config *cfg, struct rb_err *err)
{
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->landlock.ruleset_fd = -1;
	plan->cgroup_into_fd = -1;
	/* Not a kernel layer of RUNBOX_SANDBOX: a resource bound, kept with the sandbox off. */
	if (cfg->cgroup && cfg->cgroup->version) {
		plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_CGROUP);
		plan->cgroup_version = cfg->cgroup->version;
		plan->cgroup_controllers = cfg->cgroup->controllers;
		plan->cgroup_into_fd = cfg->cgroup->into_fd;
		plan->n_cgroup_join = cfg->cgroup->n_join;
		memcpy(plan->cgroup_join_fds, cfg->cgroup->join_fd, sizeof(plan->cgroup_join_fds));
	}
	plan->cfg = *cfg;
	plan->cfg.cgroup = NULL; /* what the child needs is copied above */
	plan->caps = *caps;
	plan->uid_dropped = cfg->drop_uid && caps->can_setuid;
	if (plan->uid_dropped)
		plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_UID_DROP);
	/* The only layer kept with the sandbox off is the uid drop. */
	plan->no_new_privs = cfg->enabled && usable(caps, SANDBOX_LAYER_NO_NEW_PRIVS);
	if (plan->no_new_privs)
		plan->applied |= SANDBOX_LAYER_BIT(SANDBOX_LAYER_NO_NEW_PRIVS);
	r = prepare_namespaces(plan, err);
	if (r >= 0)
		r = prepare_landlock(plan, err);
	if (r >= 0)
		r = prepare_seccomp(plan, err);
	if (r < 0)
		return rb_wrap(err, r, "sandbox");
	return 0;
}

/* --- enter (child) --------------------------------------------------- */

/*
 * The launcher made the stdio pipes as root, with mode 0600: hand them to
 * the run's uid, or reopening them (/dev/stdout, /proc/self/fd/1) fails.
 * Only anonymous pipes: never a file or device that outlives the run.
 */
static int give_pipes(const struct sandbox_plan *plan, struct rb_err *err)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct statfs sfs;

		if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PIPEFS_MAGIC)
			continue;
		if (fchown(fd, plan->cfg.uid, plan->cfg.gid) < 0)
			return rb_fail_sys(err, errno, "fchown(%d) of a stdio pipe", fd);
	}
	return 0;
}

/* Drop to the run's uid and gid, with no supplementary groups. */
static int drop_uid(const struct sandbox_plan *plan, struct rb_err *err)
{
	int r;

	if (!plan->uid_dropped)
		return 0;
	r = give_pipes(plan, err);
	if (r < 0)
		return r;
	/*
	 * Raw system calls: glibc's wrappers apply a uid change to every thread
	 * of the process, and a child that shares runbox's memory (CLONE_VM)
	 * would reach runbox's own threads through glibc's thread list.
	 */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		return rb_fail_sys(err, errno, "setgroups");
	if (syscall(SYS_setresgid, plan->cfg.gid, plan->cfg.gid, plan->cfg.gid) < 0)
		return rb_fail_sys(err, errno, "setresgid(%u)", (unsigned)plan->cfg.gid);
	if (syscall(SYS_setresuid, plan->cfg.uid, plan->cfg.uid, plan->cfg.uid) < 0)
		return rb_fail_sys(err, errno, "setresuid(%u)", (unsigned)plan->cfg.uid);
	/*
	 * A uid change resets "dumpable" to the fs.suid_dumpable sysctl; an init
	 * that shares runbox's memory would make that memory open to the run's
	 * uid (/proc/1/mem) where the sysctl is 1.  Not dumpable, again.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return rb_fail_sys(err, errno, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

static int set_no_new_privs(const struct sandbox_plan *plan, struct rb_err *err)
{
	if (!plan->no_new_privs)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return rb_fail_sys(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}

static int enter_landlock(const struct sandbox_plan *plan, struct rb_err *err)
{
	if (!(plan->applied & SANDBOX_LAYER_BIT(SANDBOX_LAYER_LANDLOCK)))
		return 0;
	return landlock_plan_enter(&plan->landlock, err);
}

static int enter_seccomp(const struct sandbox_plan *plan, struct rb_err *err)
{
	if (!(plan->applied & SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP)))
		return 0;
	return seccomp_policy_load(&plan->seccomp, err);
}

int sandbox_enter_cgroup(const struct sandbox_plan *plan, struct rb_err *err)
{
	return cgroup_join(plan->cgroup_join_fds, plan->n_cgroup_join, err);
}

int sandbox_enter_userns(const struct sandbox_plan *plan, struct rb_err *err)
{
	return ns_enter_user(&plan->ns, err);
}

int sandbox_enter_mounts(const struct sandbox_plan *plan, struct rb_err *err)
{
	return ns_enter_mounts(&plan->ns, err);
}

int sandbox_enter_uts(const struct sandbox_plan *plan, struct rb_err *err)
{
	return ns_enter_uts(&plan->ns, err);
}

int sandbox_enter_ipc(const struct sandbox_plan *plan, struct rb_err *err)
{
	return ns_enter_ipc(&plan->ns, err);
}

int sandbox_enter_uid(const struct sandbox_plan *plan, struct rb_err *err)
{
	return drop_uid(plan, err);
}

int sandbox_enter_no_new_privs(const struct sandbox_plan *plan, struct rb_err *err)
{
	return set_no_new_privs(plan, err);
}

int sandbox_enter_landlock(const struct sandbox_plan *plan, struct rb_err *err)
{
	return enter_landlock(plan, err);
}

int sandbox_enter_seccomp(const struct sandbox_plan *plan, struct rb_err *err)
{
	return enter_seccomp(plan, err);
}

int sandbox_enter_seccomp_notify(const struct sandbox_plan *plan, int *ret_listener,
				 struct rb_err *err)
{
	*ret_listener = -1;
	if (!(plan->applied & SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP)))
		return 0;
	return seccomp_policy_load_notify(&plan->seccomp_notify, &plan->seccomp, ret_listener, err);
}

int sandbox_enter_init_seccomp(const struct sandbox_plan *plan, struct rb_err *err)
{
	if (!(plan->applied & SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP)))
		return 0;
	return seccomp_policy_load_init(err);
}

void sandbox_plan_release(struct sandbox_plan *plan)
{
	landlock_plan_release(&plan->landlock);
	plan->n_keep_fds = 0;
}

/* --- reports --------------------------------------------------------- */

static bool applied(const struct sandbox_plan *plan, enum sandbox_layer layer)
{
	return (plan->applied & SANDBOX_LAYER_BIT(layer)) != 0;
}

static cJSON *landlock_json(const struct sandbox_plan *plan)
{
	cJSON *o;

	if (!applied(plan, SANDBOX_LAYER_LANDLOCK))
		return cJSON_CreateFalse();
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!cJSON_AddNumberToObject(o, "abi", plan->landlock.abi) ||
	    !cJSON_AddBoolToObject(o, "tcp_denied", plan->landlock.net_restricted) ||
	    !cJSON_AddBoolToObject(o, "scoped", plan->landlock.scoped)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *namespaces_json(const struct sandbox_plan *plan)
{
	cJSON *a = cJSON_CreateArray();

	for (int k = 0; a && k < NS_KIND_COUNT; k++) {
		cJSON *s;

		if (!(plan->clone_flags & ns_kind_flag((enum ns_kind)k)))
			continue;
		s = cJSON_CreateString(ns_kind_name((enum ns_kind)k));
		if (!s || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* {"version": 1|2, "memory": ..., "pids": ..., "cpu": ...} of a run's groups, or false. */
static cJSON *cgroup_json(int version, unsigned controllers)
{
	cJSON *o;

	if (!version)
		return cJSON_CreateFalse();
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!cJSON_AddNumberToObject(o, "version", version)) {
		cJSON_Delete(o);
		return NULL;
	}
	for (int c = 0; c < CGROUP_CONTROLLERS; c++)
		if (!cJSON_AddBoolToObject(o, cgroup_controller_name((enum cgroup_controller)c),
					   (controllers & CGROUP_BIT(c)) != 0)) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

cJSON *sandbox_plan_to_json(const struct sandbox_plan *plan)
{

	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddBoolToObject(o, "enabled", plan->cfg.enabled) ||
	    !cJSON_AddBoolToObject(o, "seccomp", applied(plan, SANDBOX_LAYER_SECCOMP)) ||
	    !cJSON_AddItemToObject(o, "landlock", landlock_json(plan)) ||
	    !cJSON_AddItemToObject(o, "namespaces", namespaces_json(plan)) ||
	    !cJSON_AddBoolToObject(o, "no_new_privs", applied(plan, SANDBOX_LAYER_NO_NEW_PRIVS)) ||
	    !cJSON_AddBoolToObject(o, "uid_drop", plan->uid_dropped) ||
	    !cJSON_AddBoolToObject(o, "network", plan->cfg.allow_network) ||
	    !cJSON_AddItemToObject(o, "cgroup",
				   cgroup_json(plan->cgroup_version, plan->cgroup_controllers))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static const char *self_test_name(enum sandbox_self_test t)
{
	static const char *const names[] = {"not_run", "ok", "failed"};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "?";
}

/* The cgroup layer's version and controllers, beside its available/self_test/detail. */
static bool add_cgroup_caps(cJSON *o, const struct sandbox_caps *caps)
{
	if (!cJSON_AddNumberToObject(o, "version", caps->cgroup_version))
		return false;
	for (int c = 0; c < CGROUP_CONTROLLERS; c++)
		if (!cJSON_AddBoolToObject(o, cgroup_controller_name((enum cgroup_controller)c),
					   (caps->cgroup_controllers & CGROUP_BIT(c)) != 0))
			return false;
	return true;
}

static cJSON *layer_json(const struct sandbox_caps *caps, enum sandbox_layer layer)
{
	const struct sandbox_layer_cap *cap = &caps->layer[layer];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddBoolToObject(o, "available", cap->available) ||
	    !cJSON_AddStringToObject(o, "self_test", self_test_name(cap->self_test)) ||
	    !cJSON_AddStringToObject(o, "detail", cap->detail) ||
	    (layer == SANDBOX_LAYER_LANDLOCK &&
	     !cJSON_AddNumberToObject(o, "abi", caps->landlock_abi)) ||
	    (layer == SANDBOX_LAYER_CGROUP && !add_cgroup_caps(o, caps))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *sandbox_caps_to_json(const struct sandbox_caps *caps)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddBoolToObject(o, "root", caps->can_setuid)) {
		cJSON_Delete(o);
		return NULL;
	}
	for (int l = 0; l < SANDBOX_LAYER_COUNT; l++) {
		cJSON *item = layer_json(caps, (enum sandbox_layer)l);

		if (!item || !cJSON_AddItemToObject(o, layer_names[l], item)) {
			cJSON_Delete(item);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* --- RUNBOX_REQUIRE -------------------------------------------------- */

static int layer_by_name(const char *name, size_t len)
{
	for (int l = 0; l < SANDBOX_LAYER_COUNT; l++)
		if (strlen(layer_names[l]) == len && strncmp(layer_names[l], name, len) == 0)
			return l;
	return -1;
}

int sandbox_require_parse(const char *list, unsigned *ret_mask, struct rb_err *err)
{
	unsigned mask = 0;

	for (const char *p = list; p && *p;) {
		size_t len;
		int layer;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == 0)
			break;
		layer = layer_by_name(p, len);
		if (layer < 0)
			return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "invalid_config",
				       "RUNBOX_REQUIRE",
				       "RUNBOX_REQUIRE names an unknown layer \"%.*s\"; known: "
				       "seccomp, landlock, userns, pidns, netns, ipcns, utsns, "
				       "mountns, no_new_privs, uid_drop, cgroup",
				       (int)(len > 64 ? 64 : len), p);
		mask |= SANDBOX_LAYER_BIT(layer);
		p += len;
	}
	*ret_mask = mask;
	return 0;
}

static int check_missing(unsigned missing, struct rb_err *err)
{
	char names[256] = "";
	size_t at = 0;

	if (!missing)
		return 0;
	for (int l = 0; l < SANDBOX_LAYER_COUNT; l++)
		if ((missing & SANDBOX_LAYER_BIT(l)) && at < sizeof(names))
			at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s",
					       at ? ", " : "", layer_names[l]);
	return rb_fail(err, RB_FAULT_UNAVAILABLE, ENOTSUP, "sandbox_unavailable", NULL,
		       "RUNBOX_REQUIRE asks for sandbox layers this platform does not give: %s; "
		       "see `runbox check` for why",
		       names);
}

int sandbox_plan_check_required(const struct sandbox_plan *plan, unsigned required,
				struct rb_err *err)
{
	return check_missing(required & ~plan->applied, err);
}

int sandbox_caps_check_required(const struct sandbox_caps *caps, unsigned required,
				struct rb_err *err)
{
	unsigned present = 0;

	for (int l = 0; l < SANDBOX_LAYER_COUNT; l++)
		if (caps->layer[l].available &&
		    caps->layer[l].self_test != SANDBOX_SELF_TEST_FAILED)
			present |= SANDBOX_LAYER_BIT(l);
	return check_missing(required & ~present, err);
}
