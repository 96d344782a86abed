/*
 * sandbox: the kernel layers around one program run.
 *
 * Three phases, so that the child between fork and exec allocates nothing:
 *  - sandbox_probe() finds out once per process what this kernel and platform
 *    allow (each layer tried in a forked child that applies it and checks
 *    that a forbidden action then fails, never assumed);
 *  - sandbox_plan_prepare() builds, in the parent, everything one run needs
 *    (uid, clone flags, mount list, the compiled BPF program, the Landlock
 *    ruleset);
 *  - sandbox_enter_*() apply one layer each in the child, in the order
 *    run/child.c gives with its reasons.
 *
 * The layers live in their own modules: namespaces.h, landlock.h,
 * seccomp_policy.h.  This one orders them, probes them and reports them.
 */
#ifndef RUNBOX_SANDBOX_H
#define RUNBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "sandbox/cgroup.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp_policy.h"

#define SANDBOX_MAX_READ_PATHS LANDLOCK_MAX_EXTRA_PATHS
#define SANDBOX_MAX_KEEP_FDS   4

struct sandbox_config {
	bool enabled;	    /* false only with RUNBOX_SANDBOX=off (benchmarks) */
	bool allow_network; /* operator allowed it and the request asked for it */
	bool drop_uid;	    /* runbox runs as root: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	const char *workspace; /* absolute path of this run's workspace */
	/*
	 * The workspace is a detached tmpfs (WORKSPACE_DETACHED) whose mount fd
	 * is @workspace_fd: the run's mount namespace attaches it at
	 * @workspace, which does not exist outside it.
	 */
	bool workspace_detached;
	int workspace_fd;
	const char *python; /* absolute path of the interpreter */
	size_t tmp_bytes;   /* size cap of a private /tmp, when one is mounted */
	/* more read-only directories (e.g. the dependency cache), NULL ends;
	 * read at prepare time only */
	const char *read_paths[SANDBOX_MAX_READ_PATHS];
	/*
	 * A private state directory to keep compiled filters in across
	 * processes, or -1.  Pass one only when programs can never write it
	 * (runbox runs as root, programs as other uids).  @cache_key names
	 * the boot and build the cache is valid for; NULL: no cache.
	 */
	int cache_fd;
	const char *cache_key;
	/* Other runbox processes the program must not signal (seccomp_policy_options). */
	pid_t protect[SECCOMP_POLICY_MAX_PROTECT];
	/* The run's control groups, made by the caller (NULL: none); read at prepare time. */
	const struct cgroup_run *cgroup;
};

/*
 * The layers, as reported and as named in RUNBOX_REQUIRE.  The namespace
 * layers follow enum ns_kind: SANDBOX_LAYER_USERNS + kind.
 */
enum sandbox_layer {
	SANDBOX_LAYER_SECCOMP,
	SANDBOX_LAYER_LANDLOCK,
	SANDBOX_LAYER_USERNS,
	SANDBOX_LAYER_PIDNS,
	SANDBOX_LAYER_NETNS,
	SANDBOX_LAYER_IPCNS,
	SANDBOX_LAYER_UTSNS,
	SANDBOX_LAYER_MOUNTNS,
	SANDBOX_LAYER_NO_NEW_PRIVS,
	SANDBOX_LAYER_UID_DROP,
	SANDBOX_LAYER_CGROUP,
	SANDBOX_LAYER_COUNT
};

#define SANDBOX_LAYER_BIT(layer) (1U << (layer))

enum sandbox_self_test {
	SANDBOX_SELF_TEST_NOT_RUN = 0,
	SANDBOX_SELF_TEST_OK,
	SANDBOX_SELF_TEST_FAILED,
};

struct sandbox_layer_cap {
	bool available; /* the layer could be applied in a probe child */
	enum sandbox_self_test self_test;
	char detail[96]; /* why not, or what was found ("ABI 7") */
};

/* What the kernel and platform give, found by sandbox_probe(). */
struct sandbox_caps {
	bool probed;
	bool can_setuid;
	int landlock_abi;	     /* 0 when none */
	int cgroup_version;	     /* 1 or 2; 0 when runs get no control group */
	unsigned cgroup_controllers; /* CGROUP_BIT()s: memory, pids, cpu */
	struct sandbox_layer_cap layer[SANDBOX_LAYER_COUNT];
};

/*
 * Everything one run needs, prepared in the parent.  About 60 KiB: keep it
 * off small stacks.  One plan serves one run (the child adds rules to the
 * plan's Landlock ruleset).
 */
struct sandbox_plan {
	struct sandbox_config cfg;
	struct sandbox_caps caps;
	unsigned long clone_flags; /* namespaces to create with clone() */
	bool uid_dropped;	   /* the run drops to cfg.uid/cfg.gid */
	bool no_new_privs;
	unsigned applied; /* SANDBOX_LAYER_BIT() of each layer applied to this run */
	/*
	 * The run's control groups, by value: the child may run in another
	 * process (a warm template), which gets these fds passed on.
	 */
	int cgroup_version; /* 0: none */
	unsigned cgroup_controllers;
	int cgroup_into_fd; /* create the first process in this group (clone3), or -1 */
	int cgroup_join_fds[CGROUP_CONTROLLERS]; /* what its first step writes "0" to */
	int n_cgroup_join;
	/* fds the child must keep open until its layers are entered (the child's
	 * fd-closing loop skips them; all are O_CLOEXEC) */
	int keep_fds[SANDBOX_MAX_KEEP_FDS];
	int n_keep_fds;
	struct ns_plan ns;
	struct landlock_plan landlock;
	struct seccomp_policy seccomp;
	struct seccomp_policy seccomp_notify; /* the same, refusals notified */
};

/* Probe once per process; later calls return the cached result. */
int sandbox_probe(struct sandbox_caps *ret, struct rb_err *err);

/*
 * The cgroup layer of @caps from @h as opened (cgroup_host_open), or, with
 * @h NULL, as not in force for the reason @why.  Where the groups are
 * depends on the process, so this is never part of a cached probe.
 */
void sandbox_caps_set_cgroup(struct sandbox_caps *caps, const struct cgroup_host *h,
			     const char *why);

/*
 * `runbox check`'s look at the control groups (CGROUP_PROBE: one group made
 * and removed, nothing moved) into @caps; @enabled false: RUNBOX_CGROUP=off.
 */
void sandbox_probe_cgroup(struct sandbox_caps *caps, bool enabled);

/* Prepare a run.  Release with sandbox_plan_release(), also on failure. */
int sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_caps *caps,
			 const struct sandbox_config *cfg, struct rb_err *err);

/*
 * The layers, one step each, for the child between clone() and execve()
 * (or, warm, the point where the template's copy starts the program).  The
 * order they must be applied in, and why, is written once, in
 * run/child.c; each step here applies one layer or does nothing when the
 * plan does not apply it.  They do not allocate.  The child must have been
 * created with clone(SIGCHLD | plan->clone_flags).
 *
 *   cgroup          join the run's control groups (cgroup_join)
 *   userns          write the maps of a new user namespace
 *   mounts          the mount namespace: read-only system, private /tmp and
 *                   /dev/shm, the workspace read-write, a fresh /proc
 *   uts, ipc        the host name; SysV IPC limits of the new namespace
 *   uid             hand the stdio pipes to the run's uid, drop to it with
 *                   no supplementary groups, stay non-dumpable
 *   no_new_privs    PR_SET_NO_NEW_PRIVS
 *   landlock        restrict the file system (and TCP, and scopes)
 *   seccomp         the program's filter; after it only the allowlist works
 *   seccomp_notify  the same, with the allowlist's refusals notified on
 *                   *ret_listener (-1 when seccomp is not applied or the
 *                   kernel has no listeners) for a supervisor to name them
 *   init_seccomp    the pid namespace init's own small filter
 *                   (seccomp_policy_load_init), where the program gets one
 */
int sandbox_enter_cgroup(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_userns(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_mounts(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_uts(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_ipc(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_uid(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_no_new_privs(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_landlock(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_seccomp(const struct sandbox_plan *plan, struct rb_err *err);
int sandbox_enter_seccomp_notify(const struct sandbox_plan *plan, int *ret_listener,
				 struct rb_err *err);
int sandbox_enter_init_seccomp(const struct sandbox_plan *plan, struct rb_err *err);

void sandbox_plan_release(struct sandbox_plan *plan);

/* The "sandbox" object of a response: the layers applied to this run.
 * Caller owns the result (cJSON_Delete); NULL on out-of-memory. */
cJSON *sandbox_plan_to_json(const struct sandbox_plan *plan);

/* The `runbox check` report: each layer available, self-test, detail.
 * Caller owns the result (cJSON_Delete); NULL on out-of-memory. */
cJSON *sandbox_caps_to_json(const struct sandbox_caps *caps);

/* "seccomp", "landlock", "userns", "pidns", ... as in RUNBOX_REQUIRE. */
const char *sandbox_layer_name(enum sandbox_layer layer);

/*
 * Parse RUNBOX_REQUIRE: a comma list of layer names (seccomp, landlock,
 * userns, pidns, netns, ipcns, utsns, mountns, no_new_privs, uid_drop,
 * cgroup;
 * spaces allowed; NULL or "" require nothing) into SANDBOX_LAYER_BIT()s.
 * An unknown name fails with code "invalid_config".
 */
int sandbox_require_parse(const char *list, unsigned *ret_mask, struct rb_err *err);

/*
 * Fail with RB_FAULT_UNAVAILABLE, code "sandbox_unavailable", naming each
 * layer of @required that the plan does not apply (resp. that the probe
 * did not find available with a passing self-test).  Returns 0 when all are
 * there.
 */
int sandbox_plan_check_required(const struct sandbox_plan *plan, unsigned required,
				struct rb_err *err);
int sandbox_caps_check_required(const struct sandbox_caps *caps, unsigned required,
				struct rb_err *err);

#endif
