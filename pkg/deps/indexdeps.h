/*
 * indexdeps: deps_resolve() when a package index is configured.
 *
 * The resolver first works over what is on the instance: the baked cache
 * and the pre-installed packages (tier 0) and the trees this instance
 * fetched before (tier 1, from instcache.h's index.json).  Only when that
 * fails does it consult the index (pyindex.h, tier 2), so a request the
 * instance can serve never touches the network, and an index that is down
 * never breaks it.  Each chosen wheel from the index is downloaded once
 * per instance (under its tree's lock, however many requests ask at once),
 * verified against its sha256, unpacked confined and compiled (unpack.h),
 * and held with a shared lock for the run; new entries go to index.json
 * and the least recently used trees are evicted past the disk budget.
 */
#ifndef RUNBOX_INDEXDEPS_H
#define RUNBOX_INDEXDEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "deps/deps.h"
#include "deps/requirement.h"
#include "deps/wheelcache.h"

/*
 * Resolve @n parsed requirements (@fields names each) with the index of
 * @cfg, over @cache (NULL: no baked cache; the interpreter's pre-installed
 * packages then come from its description).  Fills @ret->used (room for
 * 256).  Errors as deps_resolve() and fetch.h.
 */
int indexdeps_resolve(const struct deps_config *cfg, const struct wheelcache *cache,
		      const struct requirement *rq, const char *const *fields, size_t n,
		      struct deps_result *ret, struct rb_err *err);

/* Where entry @i of baked cache @c is importable from (deps.c). */
int deps_cached_tree(const struct deps_config *cfg, const struct wheelcache *c, size_t i,
		     struct deps_used *u, bool *uses_lazy, struct rb_err *err);

#endif
