/*
 * npmcache: the baked npm cache on disk, as runbox reads it at request
 * time.
 *
 * CACHE_DIR/npm/index.json (written by npmbake.h) lists each package: its
 * name and version, its extracted tree CACHE_DIR/npm/pkgs/<name>@<version>
 * (a scope's '/' spelt '+'), whether every JavaScript run gets it
 * (pre-installed), and the ranges of its dependencies, optional and peer
 * dependencies.  Loading validates every field (a tree's directory is
 * recomputed from its name and version, never taken from the file) and
 * builds the resolver's in-memory index over the parsed JSON.
 */
#ifndef RUNBOX_NPMCACHE_H
#define RUNBOX_NPMCACHE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/npmresolve.h"

#define NPMCACHE_DIR		 "npm"
#define NPMCACHE_INDEX		 "npm/index.json"
#define NPMCACHE_FORMAT		 1
#define NPMCACHE_MAX_INDEX_BYTES (64 * 1024 * 1024)

struct npmcache {
	cJSON *root;
	struct npm_index ix;
	struct npm_pkg *pkgs;
	struct npm_dep *deps; /* all packages' dependencies, flat */
};

/*
 * Read and validate @cache_dir/npm/index.json.  A missing index is an empty
 * cache (0, nothing to free but what npmcache_free frees); a malformed one
 * is a runbox fault with code "invalid_cache".  Release with
 * npmcache_free().
 */
int npmcache_load(const char *cache_dir, struct npmcache *ret, struct rb_err *err);

/* Parse index.json's text @json of @len bytes (pure; what npmcache_load reads). */
int npmcache_parse(const char *json, size_t len, struct npmcache *ret, struct rb_err *err);

void npmcache_free(struct npmcache *c);

/* A package's tree below CACHE_DIR/npm: "pkgs/@types+node@20.1.0". */
void npmcache_tree(const char *name, const char *version, char *buf, size_t size);

#endif
