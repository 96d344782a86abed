/*
 * executor: one request, end to end.  Parse and validate it, build the
 * workspace, start the program (launch), supervise it, collect artifacts,
 * answer, and leave nothing behind.  Every front door calls this and only
 * this; none of them touches the sandbox or the workspace directly.
 */
#ifndef RUNBOX_EXECUTOR_H
#define RUNBOX_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "contract/config.h"
#include "base/err.h"
#include "contract/response_fit.h"
#include "sandbox/sandbox.h"
#include "deps/deps.h"
#include "deps/unpack.h"
#include "run/confine.h"
#include "run/node.h"
#include "run/supervise.h"
#include "run/session.h"
#include "run/workspace.h"

struct executor {
	struct runbox_config cfg;
	struct sandbox_caps caps;
	struct cgroup_host cg;	/* where runs get their control groups (cg.version 0: nowhere) */
	bool can_detach;	/* fsopen/fsmount make a detached tmpfs (probed with caps) */
	bool subreaper;		/* orphans of a run are reparented to runbox */
	bool root;		/* runbox runs as root: programs get their own uid/gid */
	int state_fd;		/* RUNBOX_STATE_DIR, or -1 */
	unsigned required;	/* RUNBOX_REQUIRE as layer bits */
	unsigned nproc_default; /* RUNBOX_MAX_PROCS before executor_size_limits */
	bool unavailable;	/* a required layer is missing: every run is refused */
	struct rb_err unavailable_err;
	char cache_key[200];	/* what state-dir caches are valid for */
	size_t workspace_quota; /* tmpfs size of each workspace, 0 when not capped */
	enum workspace_kind workspace_kind;
	int cancel_fd; /* see supervise_opts; -1 (executor_init) for none */
	/* The server (and spawner) this process runs requests for: never signalled by a program. */
	pid_t protect[SECCOMP_POLICY_MAX_PROTECT];
	/* The warm template runs may be made from (run/warm.h), or NULL. */
	struct warm *warm;
	struct deps_index index;      /* cfg.index, for deps */
	struct confine_unpack unpack; /* how fetched wheels are unpacked */
	/* The file sessions a long-lived front door keeps (dir "": none, "session" refused). */
	struct session_store sessions;
	struct unpack_confiner confiner; /* ... as deps calls it */
	/* Node.js and esbuild, for "javascript" and "typescript" (run/node.h). */
	struct node_runtime node;
};

/*
 * Probe the platform once (as root, the probe result is cached for the boot
 * in the state directory).  Failing here is a runbox fault; a required
 * sandbox layer that is missing is not: it makes every run answer 503.
 */
int executor_init(struct executor *ex, const struct runbox_config *cfg, struct rb_err *err);

/*
 * Size the process limit for @concurrency runs at once.  Without a memory
 * control group a run can hold RUNBOX_MEMORY_BYTES in each of its
 * processes: unless the operator set RUNBOX_MAX_PROCS, its default is
 * lowered so that @concurrency runs' worst case fits the memory of the
 * machine (or of the group runbox runs in), never below 8.  Call before the
 * first run; executor_init sizes for 1, a server again for its slots.
 */
void executor_size_limits(struct executor *ex, unsigned concurrency);

/*
 * True when a run's clean-up must kill every process of runbox's own uid
 * started after it (no subreaper, no uid of its own, no pid namespace: the
 * Lambda row): then two runs at once would kill each other, and a server
 * runs one at a time.
 */
bool executor_runs_alone(const struct executor *ex);

/*
 * True when every run's processes would count in one RLIMIT_NPROC with
 * runbox's own tasks and each other's (not root, no user namespace and no
 * pids group for a run).  One count cannot be split between runs: a run
 * that grows after another started takes that one's room, whatever limits
 * they were given, so a server runs one at a time.  A run is then given
 * RUNBOX_MAX_PROCS on top of the tasks of the uid at its launch.
 */
bool executor_runs_share_nproc(const struct executor *ex);

/*
 * Why runs made from a warm template would be weaker here than cold ones,
 * or NULL when they would not: without a pid namespace a run shares the
 * template's view of the processes, and only a seccomp filter that
 * refuses signals to it (and ptrace, for anyone) keeps a run off it.  Also
 * a reason: the sandbox is off, or the kernel has no pidfd.
 */
const char *executor_warm_why(const struct executor *ex);

/* Where a ran-answer is written as it is encoded (executor_opts.sink). */
struct answer_sink {
	int fd;
	bool written; /* some of the answer went to fd */
	int r;	      /* then: 0, or -errno of the write that failed */
};

/* Per-request overrides a front door may impose (Lambda's deadline, ...). */
struct executor_opts {
	double max_timeout_s;		/* 0: no extra cap */
	size_t max_response_bytes;	/* 0: no cap; else the answer fits (response_fit.h) */
	size_t max_body_bytes;		/* 0: RUNBOX_MAX_BODY_BYTES; else the request's own cap */
	response_cost_fn response_cost; /* how the answer is measured; NULL: its length */
	/*
	 * Called with the answer (or the refusal) before the run's workspace is
	 * removed, which on a disk can take longer than the run itself: the
	 * caller may send it at once.  NULL: the answer only comes back in
	 * *ret_json, after the removal.  Within this process only.
	 */
	void (*deliver)(const char *json, void *ctx);
	void *deliver_ctx;
	/*
	 * Set (with no max_response_bytes): a ran-answer is not built whole but
	 * written to sink->fd, its newline included, as it is encoded
	 * (response_stream), before the workspace is removed; *ret_json then
	 * stays NULL and deliver is not called for it.  A refusal still comes
	 * back in *ret_json and through deliver.
	 */
	struct answer_sink *sink;
	/*
	 * Called every progress_period_s while the program runs, with its time
	 * and output so far (supervise.h); it must not block.  Within this
	 * process only (the worker turns it into records on its report pipe).
	 * NULL: none.
	 */
	void (*progress)(const struct run_progress *p, void *ctx);
	void *progress_ctx;
	double progress_period_s;
};

/*
 * Run the request in @body.  On success (the program ran, whatever its exit
 * code) returns 0 and a malloc'd JSON line in *ret_json.  On refusal or an
 * internal fault returns < 0, fills @err, and *ret_json holds the error
 * response (or NULL when even that could not be built).
 */
int executor_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
		 char **ret_json, struct rb_err *err);

#endif
