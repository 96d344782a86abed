/*
 * deps: turn a request's "dependencies" into what the program can import.
 *
 * Each requirement is parsed (requirement.h).  With a wheel cache
 * (RUNBOX_CACHE_DIR, baked by bake.h) the transitive closure is resolved
 * against the cache's index and the interpreter's pre-installed packages
 * (resolve.h), lazily baked wheels are extracted on first use (lazywheel.h), and
 * "installing" is putting the chosen trees on the program's import path.
 * Without a cache each requirement must be satisfied by a package the
 * interpreter already has, when its installed version matches.  The result
 * lists what was used.
 */
#ifndef RUNBOX_DEPS_H
#define RUNBOX_DEPS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

struct deps_used {
	char name[201];
	char version[80];
	char path[512]; /* "" when pre-installed */
};

struct deps_result {
	struct deps_used *used;
	size_t n;
	bool uses_lazy; /* a tree below the state directory is on the path */
};

struct deps_config {
	const char *python;
	const char *cache_dir; /* "" or NULL: no cache */
	const char *state_dir; /* where lazily baked wheels are extracted */
	int state_fd;	       /* state_dir opened, or -1 */
	unsigned max_closure;  /* packages in the resolved closure, <= 256 */
};

/*
 * Resolve @n requirement strings.  Refusals are request faults with codes
 * invalid_dependency, duplicate_dependency, dependency_not_found and
 * dependency_conflict; an unusable cache (invalid_cache) or a failed lazy
 * extraction (cache_extract_failed) is a runbox fault.  The cache's index
 * is read once per process.
 */
int deps_resolve(const struct deps_config *cfg, const char *const *reqs, size_t n,
		 struct deps_result *ret, struct rb_err *err);

/*
 * The directories a program using @r must be able to read (never write):
 * the cache's site/ and, when a lazy tree is used, the state directory's.
 * Writes up to @max paths (into @bufs, each @size bytes); returns how many.
 */
size_t deps_read_dirs(const struct deps_config *cfg, const struct deps_result *r, char bufs[][600],
		      size_t max);

/*
 * For front doors (GET /api/info, MCP's list_packages): what the cache at
 * @cache_dir holds, as a new array [{"name", "version"}, ...] in index
 * order (several versions of one name are separate entries).  The caller
 * owns *ret (cJSON_Delete).  A missing or malformed cache is a runbox fault
 * with code "invalid_cache".
 */
int deps_cache_list(const char *cache_dir, cJSON **ret, struct rb_err *err);

/*
 * The interpreter's version and its installed distributions as
 * {"normalised-name": "version"}, asked once per process and cached (a
 * process that forks workers asks first, and every worker inherits it).
 * The results stay owned by deps; never free them.
 */
int deps_installed(const char *python, const cJSON **ret_packages, const char **ret_version,
		   struct rb_err *err);

/* Write the ':'-joined import path into @buf; returns its length (0: none). */
size_t deps_pythonpath(const struct deps_result *r, char *buf, size_t size);

/* [{"name", "version"}, ...] */
cJSON *deps_result_to_json(const struct deps_result *r);

void deps_result_free(struct deps_result *r);

#endif
