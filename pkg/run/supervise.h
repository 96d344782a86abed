/*
 * supervise: watch a started program until it ends or its deadline passes,
 * drain its output into capped buffers, feed its stdin, and make sure no
 * process of its tree is left when it returns.
 */
#ifndef RUNBOX_SUPERVISE_H
#define RUNBOX_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"
#include "run/launch.h"

struct capture {
	char *data; /* malloc'd, NUL-terminated, at most cap bytes */
	size_t len;
	size_t cap;
	size_t total; /* every byte read, the dropped ones past the cap included */
	bool truncated;
};

/* How a run stands while it runs (supervise_opts.progress). */
struct run_progress {
	double elapsed_s;		   /* since the program started */
	size_t stdout_bytes, stderr_bytes; /* written so far, past the caps included */
};

struct supervise_opts {
	double timeout_s;
	size_t max_output_bytes;
	const char *stdin_data;
	size_t stdin_len;
	bool kill_uid; /* the tree runs under its own uid: kill everything of it */
	/*
	 * The pid is a pid namespace's init: once it is reaped the kernel has
	 * killed and reaped everything in the namespace, and nothing of the
	 * tree can be outside it, so there is nothing left to hunt for.
	 */
	bool pid_namespace;
	uid_t uid;
	/*
	 * Nothing else can find a daemonised descendant (no subreaper, no pid
	 * namespace, no uid of its own): kill every process of runbox's own
	 * uid that started after the run did.  Only right while runbox runs
	 * one program at a time under that uid.
	 */
	bool kill_own_uid_since_start;
	unsigned long long since_ticks; /* supervise_now_ticks() before the launch */
	unsigned nproc;			/* the program's RLIMIT_NPROC (soft and hard) */
	/*
	 * Readable or hung up: the caller gave up on the run (an MCP client
	 * cancelled it, or its front door is gone).  The tree is stopped as at
	 * the deadline.  -1 for none.
	 */
	int cancel_fd;
	/* Children of ours that are not the run's (warm templates): never swept. 0: none. */
	pid_t keep_pids[4];
	/*
	 * Called every progress_period_s while the program runs (not after it
	 * ended), from the supervision loop: it must not block.  NULL: never.
	 */
	void (*progress)(const struct run_progress *p, void *ctx);
	void *progress_ctx;
	double progress_period_s;
};

struct supervise_result {
	int wait_status;  /* of the program's main process */
	int max_rss_kb;	  /* its peak resident set, 0 when unknown */
	int start_rss_kb; /* what it mapped as it started (a warm copy: the template's pages) */
	bool timed_out;
	bool cancelled; /* stopped through cancel_fd */
	double duration_ms;
	struct capture out, err;
};

/*
 * Run the supervision loop for @l until the program exits (then its
 * remaining tree is killed) or the deadline passes (then everything is
 * killed).  Closes @l's fds and reaps every process it can see.  Fills
 * @ret, whose buffers the caller frees with supervise_result_free().
 */
int supervise_run(struct launched *l, const struct supervise_opts *opts,
		  struct supervise_result *ret, struct rb_err *err);

void supervise_result_free(struct supervise_result *r);

/*
 * Become a subreaper so that orphaned descendants are reparented to runbox
 * and can be killed.  Returns 0, or a negative errno where the platform
 * refuses it (Lambda); the caller reports that.
 */
int supervise_become_subreaper(void);

/* Now, in the clock ticks of the start times in /proc/<pid>/stat. */
unsigned long long supervise_now_ticks(void);

/*
 * Tasks (threads included) whose real uid is @uid now, as RLIMIT_NPROC
 * counts them, from /proc; 0 when /proc cannot be read.  Those that come
 * and go during the scan may be missed or counted.
 */
unsigned supervise_uid_tasks(uid_t uid);

#endif
