/*
 * info: what a runbox offers, as the JSON of `GET /api/info`: its version,
 * the interpreter and its version, the pre-installed packages, the wheel
 * cache's packages, the limits a request meets, the serve limits, and the
 * sandbox layers in force.  Built once when a server starts.
 */
#ifndef RUNBOX_INFO_H
#define RUNBOX_INFO_H

#include "base/err.h"
#include "run/executor.h"

/*
 * The info document as one malloc'd line of JSON.  Asks the interpreter for
 * its packages (deps caches the answer for every later fork).  @concurrency
 * is the effective number of parallel runs.
 */
int info_build(const struct executor *ex, unsigned concurrency, char **ret_json,
	       struct rb_err *err);

/*
 * @static_json (from info_build) with what changes while a server runs: the
 * "warm" object (run/warm.h: the template's state, imports, memory, and
 * how many runs started warm and cold).  Malloc'd, or NULL on ENOMEM.
 */
char *info_live(const char *static_json, const struct executor *ex);

#endif
