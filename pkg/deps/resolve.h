/*
 * resolve: the transitive closure of a request's dependencies over an
 * in-memory index of packages, as pip would choose it: for each name the
 * highest version that satisfies every requirement on it, backtracking to
 * an older version when a later requirement clashes.
 *
 * Entries come in tiers, lowest first: the baked cache and the pre-installed
 * packages (0), trees this instance already fetched (1), the package index
 * (2).  For each name the candidates are tried tier by tier, each tier's
 * from the highest version down, so the cache is preferred wherever it
 * satisfies a requirement.  The index's entries are added only when a name's
 * local ones fail (resolve_source.expand), and their requirements are read
 * only when one is tried (resolve_source.describe).  Yanked entries (PEP
 * 592) are candidates only for a requirement that pins them with ==.
 *
 * Pre-installed packages take part with their one installed version: a
 * requirement that it does not satisfy is a conflict, never a silent
 * substitution by a cached wheel.  Their own dependencies are the
 * interpreter's business and are not followed.
 *
 * Pure: no system calls (a source's callbacks may make some).  Errors name what was asked, what the
 * index has (the closest names when a name is missing) and which requirement pulled the failing one
 * in.
 */
#ifndef RUNBOX_RESOLVE_H
#define RUNBOX_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "deps/requirement.h"

#define RESOLVE_MAX_EXTRAS 64
#define RESOLVE_MAX_STEPS  100000 /* candidate tries before giving up */
#define RESOLVE_MAX_QUEUE  4096	  /* requirements queued at once (one stack frame each) */

struct resolve_extra {
	const char *name; /* PEP 685 normalised */
	const char *const *requires;
	size_t n_requires;
};

struct resolve_pkg {
	const char *name;    /* PEP 503 normalised */
	const char *version; /* as published */
	struct version v;    /* parsed @version */
	bool preinstalled;
	const char *const *requires; /* requirement strings, markers already evaluated */
	size_t n_requires;
	const struct resolve_extra *extras;
	size_t n_extras;
	unsigned tier; /* 0 cache or pre-installed, 1 fetched before, 2 the index */
	bool yanked;
	bool pending; /* requires and extras not known yet: describe() first */
};

/*
 * More entries, found while resolving.  The callbacks may grow and move the
 * index's pkgs array (they own it); the resolver reads it afresh after each.
 */
struct resolve_source {
	/*
	 * Append the entries of @name (PEP 503 normalised).  Called once per
	 * name and run; returns how many were added, or < 0 with @err filled,
	 * which ends the resolution with that error.
	 */
	int (*expand)(void *ctx, const char *name, struct rb_err *err);
	/*
	 * Fill in entry @i's requires and extras and clear its pending flag.
	 * Returns 0; 1 when the entry is unusable (@err says why: the resolver
	 * tries the next candidate); < 0 ends the resolution.
	 */
	int (*describe)(void *ctx, size_t i, struct rb_err *err);
	/*
	 * Why @name has no usable entry although the index lists files for it
	 * (only sdists, no wheel for this platform, no sha256, Requires-Python),
	 * with its code in *ret_code; NULL when there is nothing to add.
	 */
	const char *(*explain)(void *ctx, const char *name, const char **ret_code);
	void *ctx;
};

/* The index: any order; several versions of one name are separate entries. */
struct resolve_index {
	const struct resolve_pkg *pkgs;
	size_t n;
	const struct resolve_source *src; /* NULL: only what pkgs holds */
};

struct resolve_result {
	size_t pkg[256]; /* indexes into the index, in the order chosen */
	size_t n;
};

/*
 * Resolve @n parsed requirements (@fields[i] names each, e.g.
 * "dependencies[0]").  At most @max_closure packages (<= 256) may be chosen.
 * Refusals are RB_FAULT_REQUEST with code "dependency_not_found" (no such
 * name, no version satisfying a requirement, an unknown extra) or
 * "dependency_conflict" (requirements that no choice satisfies together,
 * a pre-installed version that does not match), or "too_many_dependencies"
 * (every choice needs more than @max_closure packages), or the error a
 * source's callback returned.  @ret is filled only on success.
 */
int resolve_run(const struct resolve_index *ix, const struct requirement *reqs,
		const char *const *fields, size_t n, size_t max_closure, struct resolve_result *ret,
		struct rb_err *err);

/* Levenshtein distance of two names, capped at 100 (for "did you mean"). */
unsigned resolve_name_distance(const char *a, const char *b);

#endif
