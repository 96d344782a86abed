/*
 * semver: npm's versions (Semantic Versioning 2.0.0) and the ranges of
 * package.json, as node-semver reads them.  Pure.
 *
 * Ranges: `1.2.3`, `=1.2.3`, `v1.2.3`, comparators (`>=1.2.0 <2`), `^`,
 * `~`, X-ranges (`1.x`, `1.2.*`, `*`, `""`), hyphen ranges (`1.2 - 2.3.4`)
 * and `||`.  A prerelease version satisfies a range only when one of its
 * comparators names a prerelease of the same major.minor.patch, as
 * node-semver does without includePrerelease.  Build metadata is ignored.
 */
#ifndef RUNBOX_SEMVER_H
#define RUNBOX_SEMVER_H

#include <stdbool.h>
#include <stddef.h>

#define SEMVER_PRE_MAX 64 /* bytes of a prerelease tag */

struct semver {
	unsigned long long major, minor, patch;
	char pre[SEMVER_PRE_MAX]; /* "" for a release */
};

/* Parse a full version ("1.2.3-beta.1+build", a leading "v" or "=" allowed). 0 or -EINVAL. */
int semver_parse(const char *s, struct semver *ret);

/* <0, 0, >0 by Semantic Versioning's precedence. */
int semver_compare(const struct semver *a, const struct semver *b);

/*
 * Whether @v satisfies @range.  Returns 1 or 0, or -EINVAL when @range is
 * not a range this module reads (a URL, a git or file: spec, a dist-tag
 * other than "latest", which means any release).
 */
int semver_satisfies(const struct semver *v, const char *range);

/* Whether @range is a range this module reads. */
bool semver_range_valid(const char *range);

#endif
