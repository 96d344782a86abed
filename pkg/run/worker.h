/*
 * worker: run one request in a forked one-shot process.
 *
 * The executor assumes one run per process: it is a child subreaper that
 * sweeps every orphan it gets, it waits for its own children, and it holds a
 * uid slot for the run.  A server that runs several requests at once
 * therefore runs each in its own worker; the worker runs executor_run once,
 * writes the outcome to a pipe and exits.  The calling thread only reads.
 *
 * Workers are not forked by the server's threads but by a single-threaded
 * spawner, itself forked before the server starts any thread: fork() in a
 * process whose other threads may hold locks (an allocator's, as GCC 12's
 * libasan does not take them around fork) can leave the child deadlocked.
 * A thread hands the spawner, over a SOCK_SEQPACKET socketpair, a memfd
 * holding the request and the write end of the report pipe (SCM_RIGHTS);
 * the spawner forks, reaps, and after the worker's end writes its wait
 * status to that pipe.  The spawner dies with the server (PR_SET_PDEATHSIG)
 * and each worker with the spawner, and with it, through launch's own
 * lifelines, the program.  This is also where warm, pre-forked workers would
 * come from.
 */
#ifndef RUNBOX_WORKER_H
#define RUNBOX_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "run/executor.h"

/*
 * Fork the spawner from @ex as it is now.  Call once, before any thread
 * starts; the spawner keeps the caller's signal mask (the server blocks
 * SIGTERM and SIGINT: a Ctrl-C to the process group must not end it before
 * the runs in progress drain).  Returns 0, or a negative errno with @err.
 */
int worker_spawner_start(struct executor *ex, struct rb_err *err);

/*
 * True once the spawner has died (and been reaped): no run can start any
 * more, and it cannot be forked again from a process with threads.  The
 * server, told by SIGCHLD, then stops.
 */
bool worker_spawner_gone(void);

/*
 * Run @body in a worker and wait for it.  Returns what executor_run returned
 * (and fills @err and *ret_json, malloc'd, possibly NULL) when the worker
 * reported; a worker that could not start or died without reporting is an
 * internal fault.  @ex is unused (the spawner's copy runs).  Thread-safe.
 */
int worker_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
	       char **ret_json, struct rb_err *err);

/*
 * The same, step by step, for a caller that does something else while the
 * run goes on (sends progress, takes a cancellation).  A started run is a
 * job: the report pipe to read, and the pipe whose closing cancels it.
 */
struct worker_job {
	int fd;	      /* the report pipe's read end */
	int cancel_w; /* closed by worker_cancel(); -1 then */
};

/*
 * Start @body in a worker and return at once.  With
 * @opts->progress_period_s above 0 the worker reports progress that often
 * (worker_next); opts->progress itself is not called.  Returns 0 with @job
 * to be released by worker_end(), or a negative errno with @err.
 * Thread-safe.
 */
int worker_start(const char *body, size_t n, const struct executor_opts *opts,
		 struct worker_job *job, struct rb_err *err);

enum worker_event {
	WORKER_WAITING,	 /* nothing within the time given */
	WORKER_PROGRESS, /* *ret_progress: how the run stands */
	WORKER_DONE,	 /* *ret_r, *ret_json and @err: as worker_run returns them */
};

/* Wait up to @timeout_ms (-1: as long as it takes) for what the job says next. */
enum worker_event worker_next(struct worker_job *job, int timeout_ms,
			      struct run_progress *ret_progress, int *ret_r, char **ret_json,
			      struct rb_err *err);

/*
 * Stop the job's program as at its deadline (supervise_opts.cancel_fd);
 * the worker still answers, with what the program did until then.
 */
void worker_cancel(struct worker_job *job);

/* Close the job's pipes (a run still going on is cancelled). */
void worker_end(struct worker_job *job);

#endif
