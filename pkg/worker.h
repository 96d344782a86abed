/*
 * worker: run one request in a forked one-shot process.
 *
 * The executor assumes one run per process: it is a child subreaper that
 * sweeps every orphan it gets, it waits for its own children, and it holds a
 * uid slot for the run.  A server that runs several requests at once
 * therefore forks one worker per request; the worker runs executor_run once,
 * writes the outcome to a pipe and exits.  The calling thread only reads.
 */
#ifndef RUNBOX_WORKER_H
#define RUNBOX_WORKER_H

#include <stddef.h>

#include "err.h"
#include "executor.h"

/*
 * Run @body in a worker and wait for it.  Returns what executor_run returned
 * (and fills @err and *ret_json, malloc'd, possibly NULL) when the worker
 * reported; a worker that could not start or died without reporting is an
 * internal fault.  The worker dies with the calling thread (PR_SET_PDEATHSIG)
 * and with it, through launch's own lifelines, the program.  Thread-safe.
 */
int worker_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
	       char **ret_json, struct rb_err *err);

#endif
