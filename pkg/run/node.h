/*
 * node: the Node.js runtime that "javascript" and "typescript" run on, and
 * the esbuild that transpiles "typescript", as this runbox finds them.
 *
 * RUNBOX_NODE and RUNBOX_ESBUILD name them; unset, the first executable
 * `node` and `esbuild` on runbox's own PATH are used.  A runbox without
 * them still runs Python and bash: a JavaScript or TypeScript request is
 * then refused with language_unavailable, naming the variable to set.
 * How a program is started (its argv, its memory flags) is nodeargv.h.
 */
#ifndef RUNBOX_NODE_H
#define RUNBOX_NODE_H

#include <stdbool.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "contract/config.h"
#include "contract/request.h"

struct node_runtime {
	char node[256];	   /* absolute path; "" when there is none */
	char esbuild[256]; /* absolute path; "" when there is none */
	/*
	 * RLIMIT_DATA is what bounds a Node program's memory (nodeargv.h);
	 * false when the kernel was booted with ignore_rlimit_data.
	 */
	bool data_limit_enforced;
};

/*
 * Find node and esbuild (see above) and check RLIMIT_DATA is in force.  An
 * explicit RUNBOX_NODE or RUNBOX_ESBUILD that is not an executable file is
 * a runbox fault (invalid_config); one not found on PATH is not.  Says at
 * start (a "degraded" log line) what is missing.
 */
int node_locate(const struct runbox_config *cfg, struct node_runtime *ret, struct rb_err *err);

/*
 * Whether @lang can run here: 0, or a refusal (RB_FAULT_UNAVAILABLE,
 * code language_unavailable) naming what is missing.  Python and bash
 * always can.
 */
int node_check_language(const struct node_runtime *rt, enum request_language lang,
			struct rb_err *err);

/*
 * `node --version` ("v20.11.1"), asked once per process and kept: runs
 * the interpreter (some tens of milliseconds), so only for /api/info and
 * runbox check.  NULL when there is no node or it did not answer.
 */
const char *node_version(const struct node_runtime *rt);

/*
 * Upstream's support of a Node.js major version at @now: "current",
 * "active LTS", "maintenance LTS" (with its end) or "end of life" (since
 * when), from the release schedule; "unknown" for a major it does not
 * list.  @ret_end gets the end-of-life date ("2026-04-30") or "".  Pure.
 */
const char *node_support_status(const char *version, time_t now, const char **ret_end);

/*
 * {"path", "version", "support", "end_of_life", "esbuild", "esbuild_version"}
 * for /api/info and runbox check; NULL members are left out.  Caller owns
 * it.
 */
cJSON *node_info_json(const struct node_runtime *rt);

#endif
