/*
 * npmresolve: the closure of a JavaScript request's dependencies over the
 * npm cache's index, one version per name: for each name the highest
 * version that satisfies every range on it, backtracking to an older one
 * when a later range clashes.  npm would nest a second version where two
 * ranges share none; runbox's tree is flat, so that is a conflict, named
 * with both chains.
 *
 * "dependencies" bind; "optionalDependencies" and "peerDependencies" are
 * installed when the cache has a version that fits and skipped otherwise
 * (a peer that clashes with a version already chosen does not fail the
 * request).  The pre-installed packages are added after the request's
 * closure, each with its own closure, wherever it does not clash with
 * what the request chose: the request's choice wins.
 *
 * Pure: no system calls.  Errors name what was asked, what the cache has
 * (the closest names when a name is missing, the versions when none fits)
 * and the chain of packages that pulled the failing one in.
 */
#ifndef RUNBOX_NPMRESOLVE_H
#define RUNBOX_NPMRESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "deps/semver.h"

#define NPM_NAME_MAX	       214
#define NPMRESOLVE_MAX_CLOSURE 256
#define NPMRESOLVE_MAX_STEPS   100000 /* candidate tries before giving up */
#define NPMRESOLVE_MAX_QUEUE   4096   /* ranges queued at once (one stack frame each) */

enum npm_dep_kind { NPM_DEP_REQUIRED, NPM_DEP_OPTIONAL, NPM_DEP_PEER };

struct npm_dep {
	const char *name, *range;
	enum npm_dep_kind kind;
};

struct npm_pkg {
	const char *name, *version;
	struct semver v; /* parsed @version */
	bool preinstalled;
	const struct npm_dep *deps;
	size_t n_deps;
};

/* The index: any order; several versions of one name are separate entries. */
struct npm_index {
	const struct npm_pkg *pkgs;
	size_t n;
};

/* What the request asks for: a name and a range ("" for any release). */
struct npm_want {
	const char *name, *range;
	const char *field; /* "dependencies[0]" */
};

struct npm_result {
	size_t pkg[NPMRESOLVE_MAX_CLOSURE]; /* indexes into the index, in the order chosen */
	size_t n;
	size_t n_asked; /* the first n_asked are the request's closure, the rest pre-installed */
};

/*
 * Resolve @n wants, then add the pre-installed packages.  At most
 * @max_closure packages (<= 256) in all.  Refusals are RB_FAULT_REQUEST
 * with code "dependency_not_found" (no such name, no version in range, a
 * range that is no version range), "dependency_conflict", or
 * "too_many_dependencies".  @ret is filled only on success.
 */
int npmresolve_run(const struct npm_index *ix, const struct npm_want *wants, size_t n,
		   size_t max_closure, struct npm_result *ret, struct rb_err *err);

/*
 * Split a request's "name@range" ("lodash", "lodash@^4", "@types/node@20",
 * "zod@latest") into @name (a buffer of NPM_NAME_MAX + 1) and *ret_range
 * (a pointer into @spec; "" when none).  0, or -EINVAL with *ret_why saying
 * what is wrong (a URL, a git or file: spec, an alias, a bad name or range).
 */
int npmresolve_parse_spec(const char *spec, char *name, const char **ret_range,
			  const char **ret_why);

/* Whether @name is an npm package name (scoped or not; old packages' upper case too). */
bool npm_name_valid(const char *name);

#endif
