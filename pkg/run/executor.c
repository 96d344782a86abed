/*
 * executor: the steps of one run as a flat sequence (see executor.h).
 */
#define _GNU_SOURCE
#include "run/executor.h"
#include "base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "run/artifacts.h"
#include "base/b64.h"
#include "base/prefault.h"
#include "deps/deps.h"
#include "deps/npmdeps.h"
#include "base/fdio.h"
#include "run/launch.h"
#include "run/nodeargv.h"
#include "base/log.h"
#include "contract/request.h"
#include "contract/response.h"
#include "sandbox/statedir.h"
#include "run/supervise.h"
#include "base/utf8.h"
#include "run/state.h"
#include "run/warm.h"
#include "run/workspace.h"

#define MAX_ENV 96

/* The phases of a run, timed for RUNBOX_LOG=debug. */
enum { PH_ADMIT, PH_UID, PH_WORKSPACE, PH_ENV, PH_CGROUP, PH_SANDBOX, PH_RUN, PH_COLLECT, PHASES };
static const char *const phase_names[PHASES] = {
    "admit", "uid", "workspace", "env", "cgroup", "sandbox", "run", "collect",
};
#define ENV_FIXED_BYTES 16384 /* runbox's own variables, PYTHONPATH included */

/* The probe result is valid for this boot, this euid and this build only. */
static void probe_cache_key(char *buf, size_t size)
{
	char boot[64];

	struct stat exe = {0};

	/* A rebuilt binary may probe or compile differently: it is part of the key. */
	stat("/proc/self/exe", &exe);
	statedir_boot_id(boot, sizeof(boot));
	snprintf(buf, size, "boot=%s euid=%u version=%s caps=%zu exe=%lu:%lld:%lld.%09ld", boot,
		 (unsigned)geteuid(), RUNBOX_VERSION, sizeof(struct sandbox_caps),
		 (unsigned long)exe.st_ino, (long long)exe.st_size, (long long)exe.st_mtim.tv_sec,
		 exe.st_mtim.tv_nsec);
}

/*
 * Say at start which layers this platform does not give (never silently);
 * with the sandbox off (@kernel_layers false) only the control groups.
 */
static void log_degraded(const struct sandbox_caps *caps, bool kernel_layers)
{
	char msg[256];

	for (int l = 0; l < SANDBOX_LAYER_COUNT; l++) {
		const struct sandbox_layer_cap *c = &caps->layer[l];

		if (!kernel_layers && l != SANDBOX_LAYER_CGROUP)
			continue;
		if (c->available && c->self_test != SANDBOX_SELF_TEST_FAILED)
			continue;
		if (l == SANDBOX_LAYER_UID_DROP && !caps->can_setuid)
			continue; /* not root: there is no uid to drop from */
		snprintf(msg, sizeof(msg), "sandbox layer %s is not in force: %s",
			 sandbox_layer_name((enum sandbox_layer)l), c->detail);
		log_msg(LOG_INFO, "degraded", msg);
	}
}

/*
 * Probing forks a child per layer (tens of ms); a one-shot runbox per
 * request cannot pay that every time.  Only root trusts the cache: its state
 * directory is out of reach of the programs, which never run as root.
 */
/* What the probe cache holds: the caps, and whether a workspace can be a detached tmpfs. */
struct probe_record {
	struct sandbox_caps caps;
	bool can_detach;
};

static int probe(struct executor *ex, struct rb_err *err)
{
	struct probe_record rec;
	char key[200];
	int r;

	if (!ex->cfg.sandbox) {
		/* The uid drop is the core's, not a kernel layer: it stays. */
		ex->caps.can_setuid = ex->root;
		ex->caps.probed = true;
		log_msg(LOG_INFO, "sandbox_off",
			"RUNBOX_SANDBOX=off: programs run WITHOUT seccomp, Landlock or "
			"namespaces; use it for benchmarking only");
		return 0;
	}
	probe_cache_key(key, sizeof(key));
	snprintf(ex->cache_key, sizeof(ex->cache_key), "%s", key);
	if (ex->root && ex->state_fd >= 0 &&
	    statedir_cache_load(ex->state_fd, "probe.cache", key, &rec, sizeof(rec)) &&
	    rec.caps.probed) {
		ex->caps = rec.caps;
		ex->can_detach = rec.can_detach;
	} else {
		r = sandbox_probe(&ex->caps, err);
		if (r < 0)
			return rb_wrap(err, r, "probe the sandbox");
		/* A tmpfs made and dropped: a tenth of a millisecond, not for every run. */
		ex->can_detach = ex->root && workspace_can_detach();
		memset(&rec, 0, sizeof(rec));
		rec.caps = ex->caps;
		rec.can_detach = ex->can_detach;
		if (ex->root && ex->state_fd >= 0)
			statedir_cache_store(ex->state_fd, "probe.cache", key, &rec, sizeof(rec));
	}
	return 0;
}

/*
 * A control group per run, where runbox can make them below its own (see
 * sandbox/cgroup.h); found afresh by every process, since where its groups
 * are is the process's own.
 */
static void setup_cgroups(struct executor *ex)
{
	if (!ex->cfg.cgroup) {
		sandbox_caps_set_cgroup(&ex->caps, NULL, "RUNBOX_CGROUP=off");
		return;
	}
	cgroup_host_open(&ex->cg, CGROUP_SERVE);
	sandbox_caps_set_cgroup(&ex->caps, &ex->cg, NULL);
	if (ex->cg.swept > 0)
		log_msg(LOG_INFO, "cleanup",
			"removed control groups left by a runbox that was killed");
}

static int check_required(struct executor *ex, struct rb_err *err)
{
	int r = sandbox_require_parse(ex->cfg.require, &ex->required, err);

	if (r < 0)
		return r;
	if (ex->required && !ex->cfg.sandbox)
		r = rb_fail(&ex->unavailable_err, RB_FAULT_UNAVAILABLE, 0, "sandbox_unavailable",
			    NULL, "RUNBOX_REQUIRE names sandbox layers but RUNBOX_SANDBOX=off.");
	else
		r = sandbox_caps_check_required(&ex->caps, ex->required, &ex->unavailable_err);
	if (r < 0) {
		ex->unavailable = true;
		log_msg(LOG_INFO, "sandbox_unavailable", ex->unavailable_err.msg);
	}
	return 0;
}

/*
 * The work dir is inside the private /tmp a run's mount namespace mounts:
 * "/tmp" or below it, with no "." or ".." component (/tmp/../var would have
 * the child make the workspace's mount point on the host).
 */
static bool under_private_tmp(const char *dir)
{
	if (strcmp(dir, "/tmp") != 0 && strncmp(dir, "/tmp/", 5) != 0)
		return false;
	for (const char *p = dir; (p = strchr(p, '/')); p++)
		if ((p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return false;
	return true;
}

/*
 * Not root: a mount namespace of runbox's own needs a user namespace of its
 * own too, in which runbox may mount tmpfs (and make detached ones); its
 * uid stays what it was.  Only where the probe found both namespaces.
 */
static bool own_namespaces(struct executor *ex)
{
	struct rb_err err;

	if (!ex->caps.layer[SANDBOX_LAYER_USERNS].available ||
	    !ex->caps.layer[SANDBOX_LAYER_MOUNTNS].available)
		return false;
	if (ns_unshare_own(&err) < 0) {
		log_msg(LOG_INFO, "degraded", err.msg);
		return false;
	}
	ex->can_detach = workspace_can_detach();
	return true;
}

/*
 * Each workspace is a size-capped tmpfs where runbox can mount one (without
 * it a program could fill RUNBOX_WORK_DIR's file system within its
 * timeout): as root, or in a user namespace of its own.  Best, when every
 * run gets a mount namespace whose private /tmp holds the work dir: a
 * detached tmpfs that only the run's namespace attaches, so nothing is made
 * or removed on the host (a directory there costs an allocation and, on a
 * disk mounted with discard, a synchronous discard when it goes) and nothing
 * is left if runbox is killed.  Otherwise runbox takes a mount namespace of
 * its own so that a tmpfs mounted on the workspace directory is nobody
 * else's (host mounts still propagate in; ours do not propagate out).
 * Where neither works, workspaces are plain directories and the free-space
 * floor (RUNBOX_MIN_FREE_BYTES) is what remains.
 */
static void setup_workspace_quota(struct executor *ex)
{
	bool own_ns = false;

	ex->workspace_kind = WORKSPACE_DIR;
	if (!ex->cfg.sandbox || !ex->cfg.limits.workspace_bytes)
		return;
	if (!ex->root && !(own_ns = own_namespaces(ex))) {
		log_msg(LOG_INFO, "degraded",
			"no user namespace for runbox: workspaces are not size-capped; a run "
			"starts only while RUNBOX_WORK_DIR's file system has RUNBOX_MIN_FREE_BYTES "
			"free");
		return;
	}
	ex->workspace_quota = ex->cfg.limits.workspace_bytes;
	if (ex->caps.layer[SANDBOX_LAYER_MOUNTNS].available &&
	    under_private_tmp(ex->cfg.work_dir) && ex->can_detach) {
		ex->workspace_kind = WORKSPACE_DETACHED;
		return;
	}
	if ((!own_ns && unshare(CLONE_NEWNS) < 0) ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		log_msg(LOG_INFO, "degraded",
			"no mount namespace for runbox: workspaces are not size-capped");
		ex->workspace_quota = 0;
		return;
	}
	ex->workspace_kind = WORKSPACE_MOUNTED;
}

/*
 * The package index, and how its wheels (and lazily baked ones) are
 * unpacked: as root under a uid no program gets, confined by Landlock when
 * the platform has it (see run/confine.h).
 */
static int setup_index(struct executor *ex, struct rb_err *err)
{
	const struct runbox_index *ix = &ex->cfg.index;
	const struct sandbox_layer_cap *ll = &ex->caps.layer[SANDBOX_LAYER_LANDLOCK];
	const struct sandbox_layer_cap *nnp = &ex->caps.layer[SANDBOX_LAYER_NO_NEW_PRIVS];

	if (ix->url[0] && deps_index_check(ix->url, err) < 0)
		return -EINVAL;
	ex->index = (struct deps_index){ix->url,   ix->token,	    ix->ca_file,
					ix->ttl_s, ix->cache_bytes, ix->max_bytes};
	ex->unpack = (struct confine_unpack){
	    .drop_uid = ex->root,
	    .uid = (uid_t)(ex->cfg.uid_base + ex->cfg.uid_slots),
	    .gid = (gid_t)(ex->cfg.uid_base + ex->cfg.uid_slots),
	    .python = ex->cfg.python,
	    .no_new_privs = nnp->available,
	    .landlock =
		ex->cfg.sandbox && ll->available && ll->self_test != SANDBOX_SELF_TEST_FAILED,
	};
	ex->confiner = (struct unpack_confiner){confine_unpacker, &ex->unpack, ex->root,
						ex->unpack.uid, ex->unpack.gid};
	if (ix->url[0] && !ex->unpack.landlock)
		log_msg(LOG_INFO, "degraded",
			"wheels from the package index are unpacked without Landlock: only the "
			"uid drop (as root) and no_new_privs (where allowed) confine their "
			"unpacking");
	return 0;
}

int executor_init(struct executor *ex, const struct runbox_config *cfg, struct rb_err *err)
{
	int r;

	memset(ex, 0, sizeof(*ex));
	ex->cfg = *cfg;
	ex->state_fd = ex->cancel_fd = -1;
	ex->cg.self_fd = -1;
	if (access(cfg->python, X_OK) < 0)
		return rb_fail(err, RB_FAULT_INTERNAL, errno, "invalid_config", "RUNBOX_PYTHON",
			       "The interpreter '%s' is not an executable file (RUNBOX_PYTHON).",
			       cfg->python);
	r = node_locate(cfg, &ex->node, err);
	if (r < 0)
		return r;
	ex->root = geteuid() == 0;
	ex->subreaper = supervise_become_subreaper() == 0;
	if (!ex->subreaper)
		log_msg(LOG_INFO, "degraded",
			"PR_SET_CHILD_SUBREAPER is refused: a program's daemonised descendants "
			"are found only through its session and uid");
	r = statedir_open(cfg->state_dir, &ex->state_fd, err);
	if (r < 0 && ex->root)
		return r; /* uid slots need it */
	if (r < 0)
		log_msg(LOG_INFO, "degraded", err->msg);
	r = probe(ex, err);
	if (r < 0)
		return r;
	setup_cgroups(ex);
	log_degraded(&ex->caps, ex->cfg.sandbox);
	ex->nproc_default = ex->cfg.limits.nproc;
	executor_size_limits(ex, 1);
	setup_workspace_quota(ex);
	r = setup_index(ex, err);
	if (r < 0)
		return r;
	return check_required(ex, err);
}

static bool layer_ok(const struct executor *ex, enum sandbox_layer l)
{
	return ex->caps.layer[l].available &&
	       ex->caps.layer[l].self_test != SANDBOX_SELF_TEST_FAILED;
}

const char *executor_warm_why(const struct executor *ex)
{
	int fd;

	if (!ex->cfg.sandbox)
		return "RUNBOX_SANDBOX=off";
	if (executor_runs_alone(ex))
		return "no subreaper, no pid namespace and no uid of a run's own: runs could not "
		       "be told from the template";
	if (!layer_ok(ex, SANDBOX_LAYER_PIDNS) && !layer_ok(ex, SANDBOX_LAYER_SECCOMP))
		return "no pid namespace and no seccomp filter: a run could signal the template";
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0)
		return "the kernel has no pidfd_open";
	close(fd);
	return NULL;
}

#define NPROC_FLOOR 8 /* a Python program with a small pool of workers */

/* The memory runs share: the machine's, or less where runbox's own group has a limit. */
static unsigned long long memory_for_runs(void)
{
	unsigned long long total = 0, own = cgroup_own_memory_limit();
	struct sysinfo si;

	if (sysinfo(&si) == 0)
		total = (unsigned long long)si.totalram * si.mem_unit;
	return own && (own < total || !total) ? own : total;
}

void executor_size_limits(struct executor *ex, unsigned concurrency)
{
	static unsigned said;
	unsigned long long mem, per_proc = ex->cfg.limits.mem_bytes, n;
	unsigned *nproc = &ex->cfg.limits.nproc;
	char msg[320];

	*nproc = ex->nproc_default;
	if (ex->cfg.nproc_set || (ex->cg.controllers & CGROUP_BIT(CGROUP_MEMORY)) ||
	    !(mem = memory_for_runs()) || !concurrency)
		return;
	n = mem / ((unsigned long long)concurrency * per_proc);
	n = n < NPROC_FLOOR ? NPROC_FLOOR : n;
	if (n >= *nproc)
		return;
	*nproc = (unsigned)n;
	if (said == *nproc)
		return;
	said = *nproc;
	snprintf(msg, sizeof(msg),
		 "no memory control group: RUNBOX_MAX_PROCS is %u, so that %u run(s) at once, "
		 "each of %u processes of RUNBOX_MEMORY_BYTES (%zu), %s %llu bytes of memory",
		 *nproc, concurrency, *nproc, ex->cfg.limits.mem_bytes,
		 n * concurrency * per_proc <= mem ? "fit in"
						   : "come closest to (lower "
						     "RUNBOX_MEMORY_BYTES to fit)",
		 mem);
	log_msg(LOG_INFO, "limits", msg);
}

bool executor_runs_alone(const struct executor *ex)
{
	bool pidns = ex->cfg.sandbox && ex->caps.layer[SANDBOX_LAYER_PIDNS].available &&
		     ex->caps.layer[SANDBOX_LAYER_PIDNS].self_test != SANDBOX_SELF_TEST_FAILED;

	return !ex->subreaper && !ex->root && !pidns;
}

bool executor_runs_share_nproc(const struct executor *ex)
{
	return !ex->root && !(ex->cfg.sandbox && layer_ok(ex, SANDBOX_LAYER_USERNS)) &&
	       !(ex->cg.controllers & CGROUP_BIT(CGROUP_PIDS));
}

/* Everything that lives for one run, released by run_release(). */
struct run {
	struct request req;
	struct workspace ws;
	struct sandbox_plan plan;
	bool plan_ready;
	struct supervise_result sup;
	struct artifact_list arts;
	struct deps_result deps;
	struct cgroup_run cg;
	size_t npm_asked;	 /* JavaScript: the first npm_asked of deps are the request's */
	char read_dirs[3][600];	 /* dependency trees the sandbox lets the program read */
	int slot_fd;		 /* holds this run's uid slot */
	bool slot_marked;	 /* ... and says it has a workspace on the host */
	double mark[PHASES + 1]; /* when each phase ended, for RUNBOX_LOG=debug */
	bool timeout_clamped;	 /* the program got less time than the request asked */
	unsigned nproc_limit;	 /* its RLIMIT_NPROC (run_nproc), 0: none set */
	uid_t uid;
	gid_t gid;
	char id[17];
	bool warm;		  /* the program's process came from a warm template */
	enum warm_kind warm_kind; /* which one */
	const char *cold_why;	  /* why not, when a template was there */
	char *env_buf;		  /* every NAME=VALUE of envp, one allocation */
	size_t env_cap;
	char *envp[MAX_ENV + 1];
	char *argv[NODEARGV_MAX_FIXED + 256 + 1];
	struct nodeargv_bufs node_bufs; /* what a Node program's argv points into */
	struct session sess;		/* the file session this call holds (sess.dir_fd >= 0) */
	unsigned char *state;		/* return_state: the packed workspace, or NULL and why */
	size_t state_len;
	struct rb_err state_err;
	bool refused; /* the call was refused: a session it made goes again */
};

static void run_release(struct executor *ex, struct run *run)
{
	struct rb_err ignored;

	if (run->plan_ready)
		sandbox_plan_release(&run->plan);
	artifact_list_free(&run->arts);
	supervise_result_free(&run->sup);
	if (run->sess.lock_fd >= 0) {
		session_release(&ex->sessions, &run->sess, run->refused && run->sess.created);
		/* What this call's evictions and drops moved aside: the answer is out. */
		session_empty_trash(&ex->sessions);
	}
	if (workspace_remove(&run->ws, &ignored) < 0)
		log_msg(LOG_INFO, "cleanup_failed", ignored.msg);
	else if (run->slot_marked)
		statedir_slot_unmark(run->slot_fd);
	/* After the workspace: its tmpfs pages are charged to the group until then. */
	if (cgroup_run_remove(&run->cg) < 0)
		log_msg(LOG_INFO, "cleanup_failed",
			"a run's control group still had processes after 1 s; the next runbox to "
			"start removes it");
	deps_result_free(&run->deps);
	request_free(&run->req);
	free(run->state);
	free(run->env_buf);
	if (run->slot_fd >= 0)
		close(run->slot_fd); /* frees the uid slot, after its tree is gone */
}

/*
 * What a holder of this slot that was killed left on the host (see
 * statedir_slot_state): scanning the work dir costs a tenth of a millisecond
 * and more with a crowded /tmp, so only when the slot says so, and under
 * the directory it names.  The mark goes once everything is gone.
 */
static void reap_slot(struct executor *ex, struct run *run)
{
	char dir[PATH_MAX];
	enum slot_state st = statedir_slot_state(run->slot_fd, dir, sizeof(dir));
	int n;

	if (st == SLOT_CLEAN)
		return;
	n = workspace_reap_stale(st == SLOT_MARKED ? dir : ex->cfg.work_dir, run->uid);
	if (n > 0)
		log_msg(LOG_INFO, "cleanup",
			"removed a workspace left by a runbox that was killed");
	if (n >= 0)
		statedir_slot_unmark(run->slot_fd);
}

/*
 * As root every run gets a uid no other run on the machine has at the same
 * time, so programs cannot signal or inspect each other, the process limit
 * is theirs alone, and killing "everything of this uid" kills only them.
 */
static int claim_uid(struct executor *ex, struct run *run, struct rb_err *err)
{
	unsigned slot;
	int r;

	run->uid = ex->cfg.uid;
	run->gid = ex->cfg.gid;
	if (!ex->root || ex->cfg.uid_pinned)
		return 0;
	r = statedir_slot_claim(ex->state_fd, ex->cfg.uid_slots, &slot, &run->slot_fd, err);
	if (r < 0)
		return r;
	run->uid = (uid_t)(ex->cfg.uid_base + slot);
	run->gid = (gid_t)(ex->cfg.uid_base + slot);
	reap_slot(ex, run);
	return 0;
}

/*
 * A workspace that is a plain directory is capped by nothing but its file
 * system: a run starts only while that has RUNBOX_MIN_FREE_BYTES free.
 */
static int check_free_space(const struct executor *ex, struct rb_err *err)
{
	size_t floor = ex->cfg.limits.min_free_bytes;
	unsigned long long avail;
	struct statvfs sv;

	if (ex->workspace_kind != WORKSPACE_DIR || !floor || statvfs(ex->cfg.work_dir, &sv) < 0)
		return 0;
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (avail >= floor)
		return 0;
	return rb_fail(err, RB_FAULT_UNAVAILABLE, ENOSPC, "capacity_exhausted", NULL,
		       "The file system of RUNBOX_WORK_DIR ('%s') has %llu bytes free, less than "
		       "RUNBOX_MIN_FREE_BYTES (%zu): no run starts until there is more. Retry "
		       "later. Operator: free space there, or let runbox make size-capped tmpfs "
		       "workspaces (as root, or where it may create a user namespace).",
		       ex->cfg.work_dir, avail, floor);
}

/* A workspace with a directory on the host: say so in the slot before making it. */
static int create_workspace(struct executor *ex, struct run *run, struct rb_err *err)
{
	int r = check_free_space(ex, err);

	if (r < 0)
		return r;

	if (run->slot_fd >= 0 && ex->workspace_kind != WORKSPACE_DETACHED) {
		r = statedir_slot_mark(run->slot_fd, ex->cfg.work_dir);
		if (r < 0)
			log_msg(LOG_INFO, "degraded",
				"could not mark the uid slot: a workspace left by a runbox killed "
				"during this run is found by the slot's next holder only through a "
				"scan of the work dir");
		run->slot_marked = r >= 0;
	}
	r = workspace_create(&run->ws, ex->cfg.work_dir, &run->req, ex->root, run->uid, run->gid,
			     ex->workspace_kind, ex->workspace_quota, err);
	/*
	 * fsopen/fsmount worked when probed (the answer is cached for the boot):
	 * if the kernel or a security module refuses them now, the next runbox
	 * probes again instead of failing every run.
	 */
	if (r < 0 && ex->workspace_kind == WORKSPACE_DETACHED && ex->state_fd >= 0 &&
	    (err->errnum == EPERM || err->errnum == EACCES || err->errnum == ENOSYS ||
	     err->errnum == EINVAL))
		statedir_cache_drop(ex->state_fd, "probe.cache");
	return r;
}

/* Append NAME=VALUE to the environment being built. */
static int env_add(struct run *run, size_t *n, size_t *used, const char *name, const char *value,
		   struct rb_err *err)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *slot;

	if (*n >= MAX_ENV)
		return rb_fail_sys(err, E2BIG, "too many environment variables");
	if (*used + len > run->env_cap)
		return rb_fail_sys(err, E2BIG, "the environment does not fit");
	slot = run->env_buf + *used;
	snprintf(slot, len, "%s=%s", name, value);
	*used += len;
	run->envp[(*n)++] = slot;
	return 0;
}

/*
 * The program's whole environment: an allowlist, then the request's own.
 * Python's variables and the BLAS thread counts go to Python and bash; a
 * Node.js program gets only the four every program expects.
 */
static int build_env(struct executor *ex, struct run *run, struct rb_err *err)
{
	char home[700], tmp[700], threads[16];
	size_t pylen = run->deps.n * (sizeof(run->deps.used[0].path) + 1) + 1;
	char *pypath = malloc(pylen);
	size_t n = 0, used = 0, n_fixed = 4;
	bool node = LANG_IS_NODE(run->req.language);
	int r = 0;
	const char *fixed[][2] = {
	    {"PATH", "/usr/local/bin:/usr/bin:/bin"},
	    {"LANG", "C.UTF-8"},
	    {"HOME", home},
	    {"TMPDIR", tmp},
	    {"PYTHONIOENCODING", "utf-8"},
	    {"PYTHONUNBUFFERED", "1"},
	    {"PYTHONDONTWRITEBYTECODE", "1"},
	    {"MPLBACKEND", "Agg"},
	    {"OPENBLAS_NUM_THREADS", threads},
	    {"OMP_NUM_THREADS", threads},
	    {"MKL_NUM_THREADS", threads},
	};

	if (!pypath)
		return rb_fail_sys(err, ENOMEM, "build the environment");
	if (!node)
		n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	run->env_cap = ENV_FIXED_BYTES + pylen;
	for (size_t i = 0; i < run->req.n_env; i++)
		run->env_cap += strlen(run->req.env_names[i]) + strlen(run->req.env_values[i]) + 2;
	run->env_buf = malloc(run->env_cap);
	if (!run->env_buf) {
		free(pypath);
		return rb_fail_sys(err, ENOMEM, "build the environment");
	}
	snprintf(home, sizeof(home), "%s/.home", run->ws.path);
	snprintf(tmp, sizeof(tmp), "%s/.tmp", run->ws.path);
	snprintf(threads, sizeof(threads), "%u", ex->cfg.blas_threads);
	for (size_t i = 0; i < n_fixed && r >= 0; i++)
		r = env_add(run, &n, &used, fixed[i][0], fixed[i][1], err);
	/* Sized for every tree: the import path is never cut short. */
	if (r >= 0 && !node && deps_pythonpath(&run->deps, pypath, pylen) > 0)
		r = env_add(run, &n, &used, "PYTHONPATH", pypath, err);
	free(pypath);
	for (size_t i = 0; i < run->req.n_env && r >= 0; i++)
		r = env_add(run, &n, &used, run->req.env_names[i], run->req.env_values[i], err);
	run->envp[n] = NULL;
	return r;
}

/*
 * A Node.js program's prelude (nodeargv.h), and its packages linked into
 * node_modules/ of its workspace.
 */
static int prepare_node(struct run *run, struct rb_err *err)
{
	char src[NODEARGV_PRELUDE_MAX];
	const char **names, **targets;
	size_t n;
	int r;

	if (!LANG_IS_NODE(run->req.language))
		return 0;
	n = nodeargv_prelude(run->req.script_is_module, src, sizeof(src));
	r = workspace_add_file(&run->ws, NODEARGV_PRELUDE_PATH, src, n, 0444);
	if (r < 0)
		return rb_fail_sys(err, -r, "write the Node.js prelude");
	names = calloc(run->deps.n + 1, sizeof(*names));
	targets = calloc(run->deps.n + 1, sizeof(*targets));
	for (size_t i = 0; names && targets && i < run->deps.n; i++) {
		names[i] = run->deps.used[i].name;
		targets[i] = run->deps.used[i].path;
	}
	r = names && targets ? workspace_link_packages(&run->ws, names, targets, run->deps.n)
			     : -ENOMEM;
	free(names);
	free(targets);
	return r < 0 ? rb_fail_sys(err, -r, "link the npm packages into node_modules/") : 0;
}

static void build_argv(struct executor *ex, struct run *run)
{
	size_t max = sizeof(run->argv) / sizeof(run->argv[0]), n = 0;
	struct nodeargv_in in = {
	    .node = ex->node.node,
	    .esbuild = ex->node.esbuild,
	    .req = &run->req,
	    .mem_bytes = ex->cfg.limits.mem_bytes,
	    .keep_symlinks = run->deps.n > 0,
	    .prelude = run->node_bufs.prelude,
	};

	if (LANG_IS_NODE(run->req.language)) {
		snprintf(run->node_bufs.prelude, sizeof(run->node_bufs.prelude), "%s/%s",
			 run->ws.path, NODEARGV_PRELUDE_PATH);
		nodeargv_build(&in, &run->node_bufs, run->argv, max);
		return;
	}
	run->argv[n++] = run->req.language == LANG_BASH ? ex->cfg.bash : ex->cfg.python;
	run->argv[n++] = (char *)request_program_path(&run->req);
	for (size_t i = 0; i < run->req.n_args && n < max - 1; i++)
		run->argv[n++] = (char *)run->req.args[i];
	run->argv[n] = NULL;
}

/*
 * The program's rlimits.  RLIMIT_NPROC counts every process of the uid,
 * other runs' too where runs share one (RUNBOX_UID): where the run's pids
 * group bounds the run itself, it is left as runbox's own, so that no run
 * can use up another's.  RLIMIT_AS stays per process, a second line behind
 * a memory group.  Node.js maps several times the memory it uses (V8's
 * reservations: an idle node maps some 700 MB, each worker thread 600 MB
 * more, each WebAssembly memory 10 GB), so a Node program's per-process
 * line is RLIMIT_DATA, the private writable memory it commits, instead of
 * RLIMIT_AS (see nodeargv.h).  Node's ES module loader reads every file of
 * an import graph at once (date-fns's is some 300 files), so a Node
 * program's open files are at least NODE_MIN_OPEN_FILES.  The process
 * limit counts tasks, and Node starts NODE_RUNTIME_TASKS of its own
 * before the program's first line (V8's workers, libuv's pool): threads
 * that share its memory, which the limit's sizing by memory does not
 * count, so a Node run gets them on top (run_tasks).
 */
#define NODE_MIN_OPEN_FILES 1024
#define NODE_RUNTIME_TASKS  8

/*
 * @run's pids.max, or what its RLIMIT_NPROC leaves it: RUNBOX_MAX_PROCS for
 * the program and what it starts, and one more for the init of its pid
 * namespace, which is runbox's and counts with them.
 */
static unsigned run_tasks(const struct executor *ex, const struct run *run)
{
	bool init = ex->cfg.sandbox && layer_ok(ex, SANDBOX_LAYER_PIDNS);

	return ex->cfg.limits.nproc + (LANG_IS_NODE(run->req.language) ? NODE_RUNTIME_TASKS : 0) +
	       (init ? 1 : 0);
}

/*
 * @run's RLIMIT_NPROC, 0 where its pids group bounds it instead.  The
 * kernel counts a uid's tasks per user namespace and checks the count
 * against the forking task's limit.  A run with a user namespace or a
 * slot uid of its own counts alone, and runs of a pinned RUNBOX_UID count
 * with each other only.  One that runs as runbox's own uid (not root, no
 * user namespace) counts with every task of that uid already there:
 * runbox's threads, spawner, worker and templates, and the host's.  Those
 * are counted at the launch and added, so that the program and what it
 * starts get RUNBOX_MAX_PROCS (see executor_runs_share_nproc()).
 */
static unsigned run_nproc(const struct executor *ex, const struct run *run)
{
	bool with_runbox = !ex->root && !(run->plan.clone_flags & CLONE_NEWUSER);

	if (run->cg.controllers & CGROUP_BIT(CGROUP_PIDS))
		return 0;
	return run_tasks(ex, run) + (with_runbox ? supervise_uid_tasks(getuid()) : 0);
}

static size_t build_rlimits(const struct executor *ex, const struct run *run, double timeout_s,
			    struct launch_rlimit *rl)
{
	const struct runbox_limits *l = &ex->cfg.limits;
	rlim_t cpu = (rlim_t)ceil(timeout_s) + 1;
	bool node = LANG_IS_NODE(run->req.language);
	rlim_t as = node ? RLIM_INFINITY : l->mem_bytes;
	rlim_t nofile = node && l->nofile < NODE_MIN_OPEN_FILES ? NODE_MIN_OPEN_FILES : l->nofile;
	struct launch_rlimit table[] = {
	    {RLIMIT_AS, {as, as}},
	    {RLIMIT_CPU, {cpu, cpu + 1}},
	    {RLIMIT_FSIZE, {l->fsize_bytes, l->fsize_bytes}},
	    {RLIMIT_NOFILE, {nofile, nofile}},
	    {RLIMIT_CORE, {0, 0}},
	};
	size_t n = sizeof(table) / sizeof(table[0]);

	memcpy(rl, table, sizeof(table));
	if (run->nproc_limit)
		rl[n++] =
		    (struct launch_rlimit){RLIMIT_NPROC, {run->nproc_limit, run->nproc_limit}};
	if (node)
		rl[n++] = (struct launch_rlimit){RLIMIT_DATA, {l->mem_bytes, l->mem_bytes}};
	return n;
}

static struct deps_config deps_config_of(const struct executor *ex, double deadline)
{
	return (struct deps_config){
	    .python = ex->cfg.python,
	    .cache_dir = ex->cfg.cache_dir,
	    .state_dir = ex->cfg.state_dir,
	    .state_fd = ex->state_fd,
	    .max_closure = ex->cfg.limits.max_dependency_closure,
	    .index = &ex->index,
	    .deadline = deadline,
	    .confiner = &ex->confiner,
	};
}

static int prepare_sandbox(struct executor *ex, struct run *run, struct rb_err *err)
{
	struct sandbox_config sc = {
	    .enabled = ex->cfg.sandbox,
	    .allow_network = ex->cfg.allow_network && run->req.network,
	    .drop_uid = ex->root,
	    .uid = run->uid,
	    .gid = run->gid,
	    .workspace = run->ws.path,
	    .workspace_detached = run->ws.detached,
	    .workspace_fd = run->ws.mount_fd,
	    .python = LANG_IS_NODE(run->req.language) ? ex->node.node : ex->cfg.python,
	    .tmp_bytes = ex->cfg.limits.fsize_bytes,
	    .cache_fd = ex->root ? ex->state_fd : -1,
	    .cache_key = ex->root ? ex->cache_key : NULL,
	    /* and the warm templates: without a pid namespace they are in reach */
	    .protect = {ex->protect[0], ex->protect[1], ex->warm ? ex->warm->t[WARM_STACK].pid : 0,
			ex->warm ? ex->warm->t[WARM_STACK].retiring : 0,
			ex->warm ? ex->warm->t[WARM_BARE].pid : 0,
			ex->warm ? ex->warm->t[WARM_BARE].retiring : 0},
	    .cgroup = &run->cg,
	};
	struct deps_config dc = deps_config_of(ex, 0);
	size_t n = !LANG_IS_NODE(run->req.language)
		       ? deps_read_dirs(&dc, &run->deps, run->read_dirs, 3)
		       : npmdeps_read_dir(&dc, &run->deps, run->read_dirs[0],
					  sizeof(run->read_dirs[0])) > 0;
	int r;

	/* The trees on the import path: readable, never writable (see README). */
	for (size_t i = 0; i < n; i++)
		sc.read_paths[i] = run->read_dirs[i];
	r = sandbox_plan_prepare(&run->plan, &ex->caps, &sc, err);
	run->plan_ready = true;
	return r;
}

/* The warm template, when this run may start in it (see warm_fits). */
static struct warm *warm_for(struct executor *ex, struct run *run)
{
	const char *paths[64];
	size_t n = 0;

	if (!ex->warm || !ex->warm->enabled)
		return NULL;
	for (size_t i = 0; i < run->deps.n && n < 64; i++)
		paths[n++] = run->deps.used[i].path;
	if (run->deps.n > 64) {
		run->cold_why = "too many dependencies to check";
		return NULL;
	}
	return warm_fits(ex->warm, &run->req, paths, n, &run->warm_kind, &run->cold_why) ? ex->warm
											 : NULL;
}

/*
 * A warm copy starts sharing the template's pages and owns each one it
 * writes to: its group's memory is the limit plus the template's resident
 * pages (@w), as its RLIMIT_AS is the limit plus the template's mappings,
 * so that memory_limit means the same warm as cold.  @w NULL: the limit.
 */
static void warm_group_memory(struct executor *ex, struct run *run, const struct warm *w)
{
	size_t extra =
	    w && warm_ready(w, run->warm_kind) ? warm_template_rss(w, run->warm_kind) : 0;

	if (w && !extra)
		return;
	if (cgroup_run_set_memory(&run->cg, ex->cfg.limits.mem_bytes + extra) < 0)
		log_msg(LOG_INFO, "degraded", "could not set a warm run's control group memory");
}

static int start_and_supervise(struct executor *ex, struct run *run, double timeout_s,
			       const struct executor_opts *opts, struct rb_err *err)
{
	struct launch_rlimit rl[8];
	struct launched l;
	struct launch_spec spec = {
	    .path = run->argv[0],
	    .argv = run->argv,
	    .envp = run->envp,
	    .cwd_fd = run->ws.dir_fd,
	    .rlimits = rl,
	    .n_rlimits = build_rlimits(ex, run, timeout_s, rl),
	    .sandbox = &run->plan,
	    .warm = warm_for(ex, run),
	    .warm_kind = run->warm_kind,
	};
	struct supervise_opts so = {
	    .timeout_s = timeout_s,
	    .max_output_bytes = ex->cfg.limits.max_output_bytes,
	    .stdin_data = run->req.stdin_data,
	    .stdin_len = run->req.stdin_len,
	    .kill_uid = run->plan.uid_dropped && !ex->cfg.uid_pinned,
	    .pid_namespace = (run->plan.clone_flags & CLONE_NEWPID) != 0,
	    .uid = run->uid,
	    .kill_own_uid_since_start =
		!ex->subreaper && !run->plan.uid_dropped && !(run->plan.clone_flags & CLONE_NEWPID),
	    .since_ticks = supervise_now_ticks(),
	    .nproc = run->nproc_limit ? run->nproc_limit : run_tasks(ex, run),
	    .cancel_fd = ex->cancel_fd,
	    .keep_pids = {ex->warm ? ex->warm->t[WARM_STACK].pid : 0,
			  ex->warm ? ex->warm->t[WARM_STACK].retiring : 0,
			  ex->warm ? ex->warm->t[WARM_BARE].pid : 0,
			  ex->warm ? ex->warm->t[WARM_BARE].retiring : 0},
	    .progress = opts ? opts->progress : NULL,
	    .progress_ctx = opts ? opts->progress_ctx : NULL,
	    .progress_period_s = opts ? opts->progress_period_s : 0,
	};
	int r;

	if (spec.warm)
		warm_group_memory(ex, run, spec.warm);
	r = launch_start(&spec, &l, err);
	if (r < 0)
		return r;
	run->warm = l.warm;
	if (spec.warm && !l.warm) {
		run->cold_why = "the template did not take the run";
		warm_group_memory(ex, run, NULL);
	}
	return supervise_run(&l, &so, &run->sup, err);
}

/* "timed out after N s" goes at the end of stderr, within its cap. */
static void note_timeout(struct capture *c, double timeout_s)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "\nrunbox: timed out after %g s\n", timeout_s);
	size_t len = (size_t)n, at = c->len;
	const char *text = line;

	if (at + len > c->cap)
		/* Past the cap: the line replaces the end, cut where a character ends. */
		at = utf8_trim_cut(c->data, c->cap > len ? c->cap - len : 0);
	if (!at || c->data[at - 1] == '\n') {
		text++; /* the line begins a line already */
		len--;
	}
	if (len > c->cap)
		len = c->cap;
	memcpy(c->data + at, text, len);
	c->len = at + len;
	c->data[c->len] = '\0';
}

/* A session's file in output/ that this call did not change is not returned again. */
static bool unchanged_output(void *ctx, const char *path, const struct stat *st)
{
	char rel[8200];

	snprintf(rel, sizeof(rel), "output/%s", path);
	return session_unchanged(ctx, rel, st);
}

static int collect(struct executor *ex, struct run *run, struct rb_err *err)
{
	const struct runbox_limits *l = &ex->cfg.limits;
	struct artifact_limits al = {
	    .max_total = l->max_artifact_bytes,
	    .max_file = l->max_artifact_file_bytes,
	    .max_count = l->max_artifacts,
	    .max_depth = l->max_artifact_depth,
	    .skip = run->sess.lock_fd >= 0 ? unchanged_output : NULL,
	    .skip_ctx = &run->sess,
	};

	struct stat st;
	int fd = run->ws.output_fd, again = -1, r;

	/*
	 * A program that cleared its output with rmtree and mkdir left the
	 * directory opened before it started with no name: then the output/ of
	 * the workspace is read instead.  Never a symlink (O_NOFOLLOW), and with
	 * every process of the run gone nothing can swap it any more.
	 */
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		again = openat(run->ws.dir_fd, "output",
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (again >= 0)
			fd = again;
	}
	r = artifacts_collect(fd, &al, &run->arts, err);
	if (again >= 0)
		close(again);
	return r;
}

/* The answer's "session": its id and how long it lives idle, or why it ended. */
static void add_session(const struct executor *ex, const struct run *run, cJSON *extra)
{
	cJSON *o;

	if (run->sess.lock_fd < 0)
		return;
	o = cJSON_AddObjectToObject(extra, "session");
	cJSON_AddStringToObject(o, "id", run->sess.id);
	cJSON_AddNumberToObject(o, "expires_in_s",
				run->sess.ended ? 0 : session_expires_in(&ex->sessions));
	if (run->sess.ended)
		cJSON_AddStringToObject(o, "ended", run->sess.ended_why);
}

/* The answer's "state" (base64), or "state_error" saying why there is none. */
static void add_state(const struct run *run, cJSON *extra)
{
	cJSON *e;
	char *b64;

	if (!run->req.return_state)
		return;
	if (!run->state) {
		e = cJSON_AddObjectToObject(extra, "state_error");
		cJSON_AddStringToObject(e, "code", run->state_err.code);
		cJSON_AddStringToObject(e, "error", run->state_err.msg);
		return;
	}
	b64 = malloc(b64_encoded_len(run->state_len) + 1);
	if (!b64)
		return;
	b64_encode(run->state, run->state_len, b64);
	cJSON_AddStringToObject(extra, "state", b64);
	free(b64);
}

static cJSON *extra_json(const struct executor *ex, const struct run *run)
{
	cJSON *extra;

	if (run->sess.lock_fd < 0 && !run->req.return_state)
		return NULL;
	extra = cJSON_CreateObject();
	if (extra) {
		add_session(ex, run, extra);
		add_state(run, extra);
	}
	return extra;
}

/* What the program did, for response_build or response_stream. */
static void outcome_of(const struct executor *ex, struct run *run, double timeout_s,
		       struct run_outcome *o, int *ret_exit, const char **ret_status)
{
	struct supervise_result *s = &run->sup;

	*o = (struct run_outcome){
	    .out = s->out.data,
	    .out_len = s->out.len,
	    .out_truncated = s->out.truncated,
	    .duration_ms = s->duration_ms,
	    .timeout_s = timeout_s,
	    .timeout_clamped = run->timeout_clamped,
	    .artifacts = &run->arts,
	    .sandbox = sandbox_plan_to_json(&run->plan),
	    .dependencies = deps_result_to_json(&(struct deps_result){
		.used = run->deps.used,
		.n = LANG_IS_NODE(run->req.language) ? run->npm_asked : run->deps.n}),
	    .start = run->warm ? "warm" : "cold",
	    .extra = extra_json(ex, run),
	};
	response_classify(s->wait_status, s->timed_out, s->err.data, s->err.len, ret_exit,
			  ret_status);
	/* The group's memory limit killed a process of the run, and the run failed. */
	if (!s->timed_out && *ret_exit != 0 && cgroup_run_oom_kills(&run->cg) > 0)
		*ret_status = "memory_limit";
	if (s->cancelled)
		*ret_status = "cancelled"; /* for the log: nobody waits for this answer */
	if (s->timed_out)
		note_timeout(&s->err, timeout_s);
	o->err = s->err.data;
	o->err_len = s->err.len;
	o->err_truncated = s->err.truncated;
	o->exit_code = *ret_exit;
	o->status = *ret_status;
}

static char *answer(struct run_outcome *o, const struct executor_opts *opts)
{
	char *json;

	if (!opts || !opts->max_response_bytes)
		return response_build(o);
	/* Lambda: the whole answer must fit, measured as it will be sent. */
	json = response_build_fitted(o, opts->max_response_bytes, opts->response_cost);
	cJSON_Delete(o->sandbox);
	cJSON_Delete(o->dependencies);
	cJSON_Delete(o->extra);
	return json;
}

static int put_to_sink(void *ctx, const char *p, size_t n)
{
	struct answer_sink *sink = ctx;

	sink->written = true;
	return fd_write_all(sink->fd, p, n);
}

/* An upper bound of the answer's length, for the size of the pipe it goes into. */
static size_t answer_bound(const struct run_outcome *o)
{
	size_t n = 4096 + 6 * (o->out_len + o->err_len);

	for (size_t i = 0; i < o->artifacts->n; i++)
		if (!o->artifacts->items[i].omitted)
			n += o->artifacts->items[i].size / 3 * 4 + 64;
	return n;
}

/* Write the answer to opts->sink as it is encoded.  < 0 only when nothing was written. */
static int stream_answer(struct run_outcome *o, struct answer_sink *sink, struct rb_err *err)
{
	int r;

	fd_widen_pipe(sink->fd, answer_bound(o));
	r = response_stream(o, put_to_sink, sink);
	if (r >= 0)
		r = fd_write_all(sink->fd, "\n", 1);
	if (!sink->written)
		return rb_fail_sys(err, -r, "build the response");
	sink->r = r;
	return 0;
}

static int give_answer(const struct executor *ex, struct run *run, double timeout_s,
		       const struct executor_opts *opts, char **ret_json, int *ret_exit,
		       const char **ret_status, struct rb_err *err)
{
	struct run_outcome o;

	outcome_of(ex, run, timeout_s, &o, ret_exit, ret_status);
	if (opts && opts->sink && !opts->max_response_bytes)
		return stream_answer(&o, opts->sink, err);
	*ret_json = answer(&o, opts);
	return *ret_json ? 0 : rb_fail_sys(err, ENOMEM, "build the response");
}

/*
 * runbox's own peak RSS: VmHWM of its address space.  getrusage's ru_maxrss
 * would also count the memory of whatever vfork()ed runbox before its exec.
 */
static long peak_rss_kb(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/*
 * What a warm run added to the template's resident set: its peak less what
 * it started with (the template's pages its copy maps).  -1 cold.
 */
static long added_rss_kb(const struct executor *ex, const struct run *run)
{
	long added;

	if (!run->warm || !ex->warm || run->sup.max_rss_kb <= 0)
		return -1;
	added = run->sup.max_rss_kb - run->sup.start_rss_kb;
	return added > 0 ? added : 0;
}

static void log_run(const struct executor *ex, const struct run *run, size_t body_len,
		    double timeout_s, int exit_code, const char *status)
{
	cJSON *f = cJSON_CreateObject();
	char hash[17];
	const char *prog = run->req.script ? run->req.script : "";

	log_short_hash(prog, strlen(prog), hash);
	cJSON_AddStringToObject(f, "request_id", run->id);
	cJSON_AddStringToObject(f, "program_hash", hash);
	cJSON_AddNumberToObject(f, "request_bytes", (double)body_len);
	cJSON_AddNumberToObject(f, "files", (double)(run->req.n_files + run->req.n_context));
	cJSON_AddNumberToObject(f, "timeout_s", timeout_s);
	cJSON_AddNumberToObject(f, "duration_ms", (double)(long long)run->sup.duration_ms);
	cJSON_AddNumberToObject(f, "exit_code", exit_code);
	cJSON_AddStringToObject(f, "status", status);
	cJSON_AddNumberToObject(f, "stdout_bytes", (double)run->sup.out.len);
	cJSON_AddNumberToObject(f, "stderr_bytes", (double)run->sup.err.len);
	cJSON_AddNumberToObject(f, "artifacts", (double)run->arts.n);
	cJSON_AddNumberToObject(f, "runbox_max_rss_kb", (double)peak_rss_kb());
	cJSON_AddNumberToObject(f, "program_max_rss_kb", run->sup.max_rss_kb);
	if (run->warm)
		cJSON_AddNumberToObject(f, "added_rss_kb", (double)added_rss_kb(ex, run));
	cJSON_AddStringToObject(f, "start", run->warm ? "warm" : "cold");
	if (run->sess.lock_fd >= 0) /* a short hash of the hash: the id itself is a capability */
		cJSON_AddStringToObject(f, "session", run->sess.short_key);
	if (!run->warm && run->cold_why)
		cJSON_AddStringToObject(f, "cold_because", run->cold_why);
	if (log_get_level() >= LOG_DEBUG) {
		cJSON *ph = cJSON_AddObjectToObject(f, "phases_ms");

		for (int i = 0; i < PHASES && ph; i++)
			cJSON_AddNumberToObject(
			    ph, phase_names[i],
			    (double)(long long)((run->mark[i + 1] - run->mark[i]) * 1e6) / 1e3);
	}
	log_event(LOG_INFO, "run", f);
}

static void log_refusal(const char *id, size_t body_len, const struct rb_err *err)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "request_id", id);
	cJSON_AddNumberToObject(f, "request_bytes", (double)body_len);
	cJSON_AddStringToObject(f, "code", err->code);
	cJSON_AddStringToObject(f, "field", err->field);
	cJSON_AddStringToObject(f, "message", err->msg);
	cJSON_AddNumberToObject(f, "http_status", rb_fault_http_status(err->fault));
	log_event(LOG_INFO, err->fault == RB_FAULT_INTERNAL ? "fault" : "refused", f);
}

/*
 * The program's timeout: the request's (already within RUNBOX_MAX_TIMEOUT_S),
 * lowered to the front door's cap (Lambda's remaining time, a server's
 * answer deadline less the time queued).  Whether either lowered it is
 * said in the answer.
 */
static double effective_timeout(struct run *run, const struct executor_opts *opts)
{
	double t = run->req.timeout_s;

	run->timeout_clamped = run->req.timeout_clamped;
	if (opts && opts->max_timeout_s > 0 && t > opts->max_timeout_s) {
		/* Whole milliseconds, down: the answer and stderr say the time it had. */
		t = floor(opts->max_timeout_s * 1000) / 1000;
		t = t < 0.001 ? 0.001 : t;
		run->timeout_clamped = true;
	}
	return t;
}

/*
 * Dependencies fetched from a package index count against the request's
 * timeout: the program gets what is left.
 */
static int charge_fetch(const struct run *run, double *timeout, struct rb_err *err)
{
	double left = *timeout - run->deps.index_ms / 1000;

	if (left > 0.001) {
		*timeout = left;
		return 0;
	}
	return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "index_timeout", "dependencies",
		       "Fetching the dependencies from the package index took %.1f s of the "
		       "request's %g s timeout_s; nothing was left to run the program. Retry, or "
		       "raise timeout_s.",
		       run->deps.index_ms / 1000, *timeout);
}

/* The run's control groups, with its memory, process and CPU limits. */
static int create_cgroup(struct executor *ex, struct run *run, struct rb_err *err)
{
	const struct runbox_limits *l = &ex->cfg.limits;
	struct cgroup_limits cl = {
	    .memory_bytes = l->mem_bytes,
	    .pids = run_tasks(ex, run),
	    .cpus = l->cpu_quota,
	};

	return cgroup_run_create(&ex->cg, &cl, &run->cg, err);
}

/* The checks that need the platform, after the pure parse. */
static int admit(struct executor *ex, struct run *run, double timeout, struct rb_err *err)
{
	if (run->req.network && !ex->cfg.allow_network)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "network_not_allowed", "network",
			       "This runbox does not allow network access (the operator must set "
			       "RUNBOX_ALLOW_NETWORK=1); remove \"network\": true.");
	struct deps_config dc = deps_config_of(ex, run->mark[0] + timeout);
	int r = node_check_language(&ex->node, run->req.language, err);

	if (r < 0)
		return r;
	if (LANG_IS_NODE(run->req.language))
		return npmdeps_resolve(&dc, run->req.dependencies, run->req.n_dependencies,
				       &run->deps, &run->npm_asked, err);
	return deps_resolve(&dc, run->req.dependencies, run->req.n_dependencies, &run->deps, err);
}

/*
 * "session": only a front door that keeps sessions has a store.  The wait
 * for a session another call holds counts against the timeout.
 */
static int take_session(struct executor *ex, struct run *run, double *timeout, struct rb_err *err)
{
	int r;

	if (!run->req.session_new && !run->req.session_id)
		return 0;
	if (!ex->sessions.dir[0])
		return rb_fail(err, RB_FAULT_REQUEST, 0, "sessions_unavailable", "session",
			       "This front door keeps no sessions: files are kept between calls by "
			       "`runbox serve` and `runbox mcp` only. Remove \"session\" and send "
			       "the files with each call.");
	r = session_acquire(&ex->sessions, run->req.session_id, clock_now() + *timeout, &run->sess,
			    err);
	if (r < 0)
		return r;
	if (run->sess.waited_s <= 0)
		return 0;
	*timeout -= run->sess.waited_s;
	run->timeout_clamped = true;
	if (*timeout < 0.001)
		return rb_fail(
		    err, RB_FAULT_CONFLICT, EBUSY, "session_busy", "session",
		    "Another call held this session for all of this call's timeout_s; "
		    "calls on one session run one at a time. Retry when it has answered.");
	return 0;
}

/* The session's files and the request's do not fit in one workspace together. */
static int session_too_full(const struct run *run, size_t cap, size_t req, struct rb_err *err)
{
	return rb_fail(err, RB_FAULT_TOO_LARGE, ENOSPC, "session_too_large", "session",
		       "The session's files (%zu bytes) and this request's (%zu bytes) do not fit "
		       "in one workspace (RUNBOX_WORKSPACE_BYTES=%zu, less what directories take): "
		       "send fewer or smaller files, or remove some of the session's in a call "
		       "that sends none. The session is kept as it was.",
		       run->sess.bytes, req, cap);
}

/* The session's files into the fresh workspace, under the request's own. */
static int restore_session(struct executor *ex, struct run *run, struct rb_err *err)
{
	size_t cap = ex->cfg.limits.workspace_bytes, req = run->req.script_len;
	int r;

	if (run->sess.lock_fd < 0)
		return 0;
	for (size_t i = 0; i < run->req.n_files; i++)
		req += run->req.files[i].len;
	for (size_t i = 0; i < run->req.n_context; i++)
		req += run->req.context[i].len;
	if (cap && run->sess.bytes + req > cap)
		return session_too_full(run, cap, req, err);
	r = session_restore(&run->sess, run->ws.dir_fd, ex->root, run->uid, run->gid, err);
	/* What the sums above cannot see (directories, blocks): the file system says it. */
	if (r == -ENOSPC || r == -EDQUOT)
		return session_too_full(run, cap, req, err);
	return r;
}

static struct state_opts state_opts_of(const struct executor *ex)
{
	size_t ws = ex->cfg.limits.workspace_bytes;

	return (struct state_opts){ex->cfg.state_key, ex->cfg.limits.max_state_bytes,
				   ws ? ws : (size_t)512 << 20, 0};
}

/* A client-kept state into the fresh workspace, under the request's own files. */
static int extract_state(struct executor *ex, struct run *run, struct rb_err *err)
{
	struct state_opts so = state_opts_of(ex);

	if (!run->req.state)
		return 0;
	return state_extract(&so, run->ws.dir_fd, run->req.state->owned, run->req.state->len,
			     ex->root, run->uid, run->gid, err);
}

/*
 * return_state: the workspace packed.  One that does not fit (the state's
 * cap, or a front door's answer budget such as Lambda's 6 MB) is said in
 * the answer as "state_error", never dropped in silence: the program ran.
 */
static void pack_state(struct executor *ex, struct run *run, double timeout,
		       const struct executor_opts *opts)
{
	struct state_opts so = state_opts_of(ex);

	if (!run->req.return_state)
		return;
	/* Packing may take as long as the program might have: no more. */
	so.deadline = clock_now() + timeout;
	if (opts && opts->max_response_bytes &&
	    so.max_bytes / 3 * 4 + 65536 > opts->max_response_bytes)
		so.max_bytes = opts->max_response_bytes > 65536
				   ? (opts->max_response_bytes - 65536) / 4 * 3
				   : 0;
	/* Only the compressed size's refusal is about the lowered cap; the others say their own. */
	if (state_pack(&so, run->ws.dir_fd, &run->state, &run->state_len, &run->state_err) ==
		-E2BIG &&
	    opts && opts->max_response_bytes && so.max_bytes < ex->cfg.limits.max_state_bytes)
		snprintf(
		    run->state_err.msg, sizeof(run->state_err.msg),
		    "The workspace does not fit in a state within this platform's answer limit "
		    "(%zu bytes of answer; a state may take %zu bytes compressed): remove what "
		    "the next call does not need.",
		    opts->max_response_bytes, so.max_bytes);
}

/*
 * What the program left, back into the session (every process of the run
 * is gone).  A fault while keeping it ends the session, said in the
 * answer's "session" as a cap's end is: the program ran, its answer stands.
 */
static void save_session(struct executor *ex, struct run *run)
{
	struct rb_err e = {0};

	if (run->sess.lock_fd < 0)
		return;
	if (session_save(&ex->sessions, &run->sess, run->ws.dir_fd, &e) < 0) {
		run->sess.ended = true;
		snprintf(run->sess.ended_why, sizeof(run->sess.ended_why),
			 "The session ended: its files could not be kept (%.200s).", e.msg);
		log_refusal(run->id, 0, &e);
	}
	if (run->sess.ended)
		log_msg(LOG_INFO, "session_ended", run->sess.ended_why);
}

static int run_steps(struct executor *ex, struct run *run, double *timeout,
		     const struct executor_opts *opts, struct rb_err *err)
{
	int r = take_session(ex, run, timeout, err);

	if (r >= 0)
		r = admit(ex, run, *timeout, err);

	if (r >= 0 && run->deps.index_ms > 0)
		r = charge_fetch(run, timeout, err);

	run->mark[PH_ADMIT + 1] = clock_now();
	if (r >= 0)
		r = claim_uid(ex, run, err);
	run->mark[PH_UID + 1] = clock_now();
	if (r >= 0)
		r = create_workspace(ex, run, err);
	if (r >= 0)
		r = prepare_node(run, err);
	if (r >= 0)
		r = restore_session(ex, run, err);
	if (r >= 0)
		r = extract_state(ex, run, err);
	run->mark[PH_WORKSPACE + 1] = clock_now();
	if (r >= 0)
		r = build_env(ex, run, err);
	run->mark[PH_ENV + 1] = clock_now();
	if (r >= 0)
		r = create_cgroup(ex, run, err);
	run->mark[PH_CGROUP + 1] = clock_now();
	if (r >= 0)
		r = prepare_sandbox(ex, run, err);
	run->mark[PH_SANDBOX + 1] = clock_now();
	if (r < 0)
		return r;
	build_argv(ex, run);
	run->nproc_limit = run_nproc(ex, run);
	r = start_and_supervise(ex, run, *timeout, opts, err);
	run->mark[PH_RUN + 1] = clock_now();
	if (r >= 0)
		r = collect(ex, run, err);
	if (r >= 0)
		save_session(ex, run);
	if (r >= 0)
		pack_state(ex, run, *timeout, opts);
	run->mark[PH_COLLECT + 1] = clock_now();
	return r;
}

int executor_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
		 char **ret_json, struct rb_err *err)
{
	struct runbox_limits lim;
	struct run *run = malloc(sizeof(*run));
	const char *status = "error";
	double timeout;
	int exit_code = 0, r;

	*ret_json = NULL;
	if (!run)
		return rb_fail_sys(err, ENOMEM, "allocate a run");
	/* Fifteen fresh pages: faulted in by one call rather than one by one. */
	prefault_pages(run, sizeof(*run));
	memset(run, 0, sizeof(*run));
	run->ws.dir_fd = run->ws.output_fd = run->ws.mount_fd = run->slot_fd = -1;
	cgroup_run_init(&run->cg);
	run->sess.lock_fd = run->sess.dir_fd = -1;
	log_new_id(run->id);
	run->mark[0] = clock_now();
	lim = ex->cfg.limits;
	/* A front door that wrapped a raw script checked what was sent; the wrapper is longer. */
	if (opts && opts->max_body_bytes)
		lim.max_body_bytes = opts->max_body_bytes;
	r = request_parse(body, n, &lim, &run->req, err);
	if (r >= 0 && ex->unavailable) {
		*err = ex->unavailable_err;
		r = -EPERM;
	}
	timeout = effective_timeout(run, opts);
	if (r >= 0)
		r = run_steps(ex, run, &timeout, opts, err);
	if (r >= 0)
		r = give_answer(ex, run, timeout, opts, ret_json, &exit_code, &status, err);
	if (r >= 0) {
		log_run(ex, run, n, timeout, exit_code, status);
		warm_count(ex->warm, run->warm, added_rss_kb(ex, run));
	} else {
		log_refusal(run->id, n, err);
		*ret_json = response_error(err);
	}
	if (opts && opts->deliver && !(opts->sink && opts->sink->written))
		opts->deliver(*ret_json, opts->deliver_ctx);
	run->refused = r < 0;
	run_release(ex, run);
	free(run);
	return r;
}
