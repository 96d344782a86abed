/*
 * wheelcache: the baked cache on disk, as runbox reads it at request time.
 *
 * CACHE_DIR/index.json (written by bake.h) lists the interpreter it was
 * baked for, that interpreter's pre-installed distributions, and each
 * package: name, version, its tree under CACHE_DIR/site/ (or, when lazy,
 * its wheel under CACHE_DIR/wheels/), its requirements with markers
 * already evaluated, and those of each extra.  Loading validates every
 * field and builds the resolver's in-memory index over the parsed JSON
 * (no copies).
 */
#ifndef RUNBOX_WHEELCACHE_H
#define RUNBOX_WHEELCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/resolve.h"

#define WHEELCACHE_INDEX	   "index.json"
#define WHEELCACHE_FORMAT	   1
#define WHEELCACHE_MAX_INDEX_BYTES (64 * 1024 * 1024)

struct wheelcache {
	cJSON *root;
	struct resolve_index ix; /* cached packages, then pre-installed ones */
	struct resolve_pkg *pkgs;
	const cJSON **entry;	      /* per pkg: its "packages" entry; NULL if pre-installed */
	struct resolve_extra *extras; /* all extras, flat */
	const char **strs;	      /* all requirement strings, flat */
};

/*
 * Read and validate @cache_dir/index.json.  A missing or malformed index, or
 * one baked for another interpreter than @python (NULL: do not check), is a
 * runbox fault with code "invalid_cache" naming what to fix.  Release with
 * wheelcache_free().
 */
int wheelcache_load(const char *cache_dir, const char *python, struct wheelcache *ret,
		    struct rb_err *err);

void wheelcache_free(struct wheelcache *c);

/* The cache's entry of package @i: "tree", "wheel", "lazy". */
const char *wheelcache_str(const struct wheelcache *c, size_t i, const char *key);
bool wheelcache_lazy(const struct wheelcache *c, size_t i);

#endif
