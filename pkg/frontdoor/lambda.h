/*
 * lambda: the AWS Lambda Runtime API loop (custom runtime, `runbox lambda`).
 *
 * GET /2018-06-01/runtime/invocation/next waits for an event (no timeout:
 * an idle instance is frozen in that call), the event runs through the
 * executor (lambda_event.h says how each kind is read and answered), and
 * the answer goes to .../invocation/{id}/response, or to .../{id}/error
 * for runbox's own faults.  One invocation at a time, as Lambda sends them;
 * after each, nothing of it remains (the executor's guarantee).
 *
 * Retry policy on /next: a transport error or a status other than 200 is
 * retried after 100 ms, doubling up to 5 s, and after 10 consecutive
 * failures (about 21 s) runbox exits with status 1 so that Lambda replaces
 * the execution environment.  A failed POST of an answer is not retried
 * (Lambda times that invocation out), except a 413, which is answered once
 * more with every artifact left out and the output cut.
 *
 * SIGTERM or SIGINT (runbox is PID 1 of a Lambda container image, which
 * gets no default action for them): while waiting for an event, exit 0 at
 * once; during an invocation, finish it, post its answer, then exit 0.  A
 * second signal exits at once (the program dies with runbox).
 *
 * RUNBOX_LAMBDA_BACKOFF_MS (1 to 100, default 100) lowers the first wait,
 * and the cap with it (always 50 times the first wait), so that the tests
 * see the whole policy in well under a second.  The number of tries and
 * the doubling are fixed, and the override can only shorten the waits: at
 * worst an environment whose Runtime API is failing gives up sooner, and
 * neither a request nor a program can set runbox's own environment.
 */
#ifndef RUNBOX_LAMBDA_H
#define RUNBOX_LAMBDA_H

#include "base/err.h"
#include "run/executor.h"

/*
 * Serve invocations from the Runtime API at @api (host:port) until it fails
 * for good (returns 1) or a signal stops it (returns 0).
 */
int lambda_main(struct executor *ex, const char *api);

/*
 * Report a start-up fault to POST /2018-06-01/runtime/init/error (the
 * caller then exits).  Returns 0 when the Runtime API took it.
 */
int lambda_init_error(const char *api, const struct rb_err *err);

#endif
