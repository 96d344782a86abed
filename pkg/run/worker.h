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

#endif
