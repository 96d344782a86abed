/*
 * npmdeps: turn a JavaScript or TypeScript request's "dependencies" into
 * the packages its node_modules/ links to.
 *
 * Each entry is an npm spec, "name" or "name@range" (npmresolve.h).  The
 * closure is resolved against the baked npm cache (CACHE_DIR/npm, see
 * npmcache.h), with the pre-installed packages added wherever the request
 * did not choose otherwise; the result lists each package's tree, which
 * the executor links into the workspace (zero copies) and the sandbox
 * lets the program read.  The cache's index is read once per process.
 */
#ifndef RUNBOX_NPMDEPS_H
#define RUNBOX_NPMDEPS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/deps.h"

/*
 * Resolve @n specs.  Refusals are request faults with codes
 * invalid_dependency, duplicate_dependency, dependency_not_found,
 * dependency_conflict and too_many_dependencies; an unusable cache is a
 * runbox fault (invalid_cache).  @ret lists every package chosen, the
 * pre-installed ones included, each with its tree's absolute path; the
 * first *@ret_asked of them are the request's own closure (what its answer
 * lists).
 */
int npmdeps_resolve(const struct deps_config *cfg, const char *const *specs, size_t n,
		    struct deps_result *ret, size_t *ret_asked, struct rb_err *err);

/*
 * What the npm cache holds, as a new array [{"name", "version",
 * "preinstalled"}] in index order, for /api/info and list_packages.  No
 * cache is an empty array.  The caller owns *ret.
 */
int npmdeps_list(const char *cache_dir, cJSON **ret, struct rb_err *err);

/* The directory a program using npm packages must be able to read; 0 when none. */
size_t npmdeps_read_dir(const struct deps_config *cfg, const struct deps_result *r, char *buf,
			size_t size);

#endif
