/*
 * deps: turn a request's "dependencies" into what the program can import.
 *
 * Each requirement is parsed (requirement.h).  With a wheel cache
 * (RUNBOX_CACHE_DIR, baked by bake.h) the transitive closure is resolved
 * against the cache's index and the interpreter's pre-installed packages
 * (resolve.h), lazily baked wheels are extracted on first use (lazywheel.h), and
 * "installing" is putting the chosen trees on the program's import path.
 * Without a cache each requirement must be satisfied by a package the
 * interpreter already has, when its installed version matches.  With a
 * package index (RUNBOX_INDEX_URL) what the cache, the pre-installed
 * packages and this instance's earlier downloads cannot satisfy is looked
 * up there by runbox itself (indexdeps.h); a request they satisfy makes no
 * network call.  The result lists what was used and where it came from.
 */
#ifndef RUNBOX_DEPS_H
#define RUNBOX_DEPS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include <stdint.h>

#include "base/err.h"

struct unpack_confiner;

enum deps_source { DEPS_PREINSTALLED, DEPS_CACHE, DEPS_INDEX };

struct deps_used {
	char name[201];
	char version[80];
	char path[512]; /* "" when pre-installed */
	enum deps_source source;
	double fetch_ms; /* time to download and unpack it in this request; < 0: it was there */
	int lock_fd;	 /* keeps a fetched tree from eviction while the run lasts, or -1 */
};

struct deps_result {
	struct deps_used *used;
	size_t n;
	bool uses_lazy;	 /* a tree below the state directory is on the path */
	bool uses_index; /* ... and one fetched from the package index */
	double index_ms; /* time spent on the package index (counts against timeout_s) */
};

/* The package index (RUNBOX_INDEX_*). */
struct deps_index {
	const char *url;	 /* "" or NULL: none */
	const char *credentials; /* sent to the index's own origin only */
	const char *ca_file;	 /* PEM bundle that verifies its certificates */
	double ttl_s;		 /* project pages are reused this long */
	uint64_t cache_bytes;	 /* disk budget of the fetched trees */
	uint64_t max_bytes;	 /* download budget of one request */
};

struct deps_config {
	const char *python;
	const char *cache_dir;		/* "" or NULL: no cache */
	const char *state_dir;		/* where lazily baked wheels are extracted */
	int state_fd;			/* state_dir opened, or -1 */
	unsigned max_closure;		/* packages in the resolved closure, <= 256 */
	const struct deps_index *index; /* NULL: no package index */
	double deadline; /* clock_now() value by which fetching and unpacking must end */
	const struct unpack_confiner *confiner; /* confines unpacking; NULL: unconfined */
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
 * the cache's site/ and, when a lazy or fetched tree is used, the state
 * directory's.
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

/*
 * Check RUNBOX_INDEX_URL at start: an http or https URL with a host.  The
 * message never repeats the URL (it may hold credentials).
 */
int deps_index_check(const char *url, struct rb_err *err);

/* Write the ':'-joined import path into @buf; returns its length (0: none). */
size_t deps_pythonpath(const struct deps_result *r, char *buf, size_t size);

/* [{"name", "version", "source"[, "fetch_ms"]}, ...] */
cJSON *deps_result_to_json(const struct deps_result *r);

/* Frees @r and releases the fetched trees it holds. */
void deps_result_free(struct deps_result *r);

#endif
