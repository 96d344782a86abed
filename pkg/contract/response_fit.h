/*
 * response_fit: a ran-response that must fit a byte budget (Lambda answers
 * at most 6 MB).  The program's result is never thrown away for its size:
 * artifacts are left out (listed in omitted_artifacts with the reason
 * "response_too_large", the last in path order first), and only when even
 * that is not enough are stdout and stderr cut (marked truncated).  Pure.
 */
#ifndef RUNBOX_RESPONSE_FIT_H
#define RUNBOX_RESPONSE_FIT_H

#include <stddef.h>

#include "contract/response.h"

/*
 * What a response of @len bytes costs where it is going: its own length for
 * a direct answer, more when it is embedded as a JSON string (every '"' and
 * '\' doubles).  NULL means the length.
 */
typedef size_t (*response_cost_fn)(const char *json, size_t len);

/*
 * response_build() for @o, fitted into @max bytes as measured by @cost.
 * @o->sandbox and @o->dependencies are NOT taken over (copied as often as
 * needed); the caller frees them.  Returns a malloc'd line, or NULL on
 * ENOMEM or when even an answer without artifacts and output cannot fit.
 */
char *response_build_fitted(const struct run_outcome *o, size_t max, response_cost_fn cost);

#endif
