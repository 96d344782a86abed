/*
 * requirement: Python dependency strings from an untrusted request.
 *
 * A request may name packages to install ("numpy>=1.26,<2", "requests[socks]").
 * This module turns such a string into a fixed-size struct: a PEP 503
 * normalised name, PEP 685 normalised extras and a PEP 440 specifier set.
 * It accepts only that subset of PEP 508: environment markers, URLs and paths
 * are refused, because each would let a request choose what runs at install
 * time or where it is fetched from.  Versions are parsed and ordered per
 * PEP 440 so the wheel cache can pick a version without asking pip.
 *
 * Everything here is pure: no system calls, no allocation, no global state,
 * so it can be unit tested and fuzzed directly.
 */
#ifndef RUNBOX_REQUIREMENT_H
#define RUNBOX_REQUIREMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define REQUIREMENT_MAX_LEN    200 /* bytes of a whole dependency string */
#define REQUIREMENT_MAX_EXTRAS 8
#define VERSION_MAX_RELEASE    16 /* release segments: 1.2.3 has three */
#define VERSION_MAX_LOCAL      64 /* bytes of a local label with its NUL */
#define VERSION_MAX_SPECIFIERS 16 /* clauses in one specifier set */
/*
 * A buffer this size always holds requirement_format()'s result: the
 * canonical form can be longer than what was parsed ("<1cr," is
 * "<1rc0.post0,"), at most about 2.4 times REQUIREMENT_MAX_LEN.
 */
#define REQUIREMENT_FORMAT_MAX 512

/* Stable error codes of requirement_parse() and version_specset_parse(). */
#define REQUIREMENT_CODE_INVALID   "invalid_dependency"
#define REQUIREMENT_CODE_NAME	   "invalid_dependency_name"
#define REQUIREMENT_CODE_SPECIFIER "invalid_version_specifier"
#define REQUIREMENT_CODE_TOO_LONG  "dependency_too_long"

enum version_pre {
	VERSION_PRE_NONE = 0,
	VERSION_PRE_ALPHA, /* a, alpha */
	VERSION_PRE_BETA,  /* b, beta */
	VERSION_PRE_RC,	   /* rc, c, pre, preview */
};

/* A PEP 440 version, normalised: "v1.0-ALPHA_2" and "1.0a2" are equal. */
struct version {
	uint64_t epoch;
	uint64_t release[VERSION_MAX_RELEASE];
	size_t nrelease; /* >= 1 */
	enum version_pre pre_kind;
	uint64_t pre; /* meaningful when pre_kind != VERSION_PRE_NONE */
	bool has_post;
	uint64_t post;
	bool has_dev;
	uint64_t dev;
	char local[VERSION_MAX_LOCAL]; /* lowercase, '.'-separated; "" for none */
};

enum version_op {
	VERSION_OP_EQ = 0, /* == (and ==X.* when wildcard) */
	VERSION_OP_NE,	   /* != (and !=X.* when wildcard) */
	VERSION_OP_LE,	   /* <= */
	VERSION_OP_GE,	   /* >= */
	VERSION_OP_COMPAT, /* ~= */
	VERSION_OP_LT,	   /* < */
	VERSION_OP_GT,	   /* > */
};

/* One clause such as ">=1.0" or "==1.4.*". */
struct version_spec {
	enum version_op op;
	bool wildcard; /* "==X.*"; version then has a release only */
	struct version version;
};

/* Comma-separated clauses, all of which must hold; empty matches anything. */
struct version_specset {
	struct version_spec specs[VERSION_MAX_SPECIFIERS];
	size_t nspecs;
};

struct requirement {
	char name[REQUIREMENT_MAX_LEN + 1];	 /* PEP 503 normalised */
	char name_orig[REQUIREMENT_MAX_LEN + 1]; /* as the request spelled it */
	char extras[REQUIREMENT_MAX_EXTRAS][REQUIREMENT_MAX_LEN + 1]; /* normalised, unique */
	size_t nextras;
	struct version_specset specset;
};

/*
 * Write the PEP 503 form of @in to @out: lowercase, each run of '-', '_' and
 * '.' replaced by one '-'.  It does not validate @in (requirement_valid_name()
 * does).  Returns the length written, or -ENOSPC when @outsz is too small
 * (then @out holds a truncated string when @outsz > 0).
 */
int requirement_normalize_name(const char *in, char *out, size_t outsz);

/* Whether @name is a valid PEP 508 project or extra name. */
bool requirement_valid_name(const char *name);

/*
 * Parse one dependency string from a request into @ret.  Accepts
 * "name", "name[extra,...]", "name>=1.0,<2" and "name [extra] (>=1.0)" with
 * spaces around tokens.  Refuses, as RB_FAULT_REQUEST with one of the
 * REQUIREMENT_CODE_* codes and @field (e.g. "dependencies[2]", may be NULL)
 * as the error's field: markers, URLs, paths and pip options; bad names or
 * extras; bad specifiers; control characters and characters outside the
 * grammar; strings over REQUIREMENT_MAX_LEN bytes.
 * Returns 0, or -EINVAL with @err filled; @ret is written only on success.
 */
int requirement_parse(const char *s, const char *field, struct requirement *ret,
		      struct rb_err *err);

/*
 * Whether @v satisfies every clause of @r's specifier set.  Pre-releases
 * (and dev releases) match only when @allow_prereleases is set or a clause
 * other than != names one itself (==1.0rc1, >=2.0b1, <2.0.dev1), as pip does.
 */
bool requirement_matches(const struct requirement *r, const struct version *v,
			 bool allow_prereleases);

/*
 * Canonical "name[extra,...]spec,spec" with normalised name and versions, for
 * messages and for handing to an installer.  Returns the length, or -ENOSPC
 * when @outsz is too small.
 */
int requirement_format(const struct requirement *r, char *out, size_t outsz);

/*
 * Parse a PEP 440 version ("1.0", "v2!1.0RC1", "1.0-1", "1.0+ubuntu-1"),
 * ignoring surrounding whitespace.  Returns 0; -EINVAL when @s is not a
 * version; -ERANGE when a number does not fit in 64 bits; -E2BIG when it has
 * more than VERSION_MAX_RELEASE segments or a local label too long.  @ret is
 * written only on success.
 */
int version_parse(const char *s, struct version *ret);

/* PEP 440 order: <0, 0 or >0 as @a sorts before, with, or after @b. */
int version_compare(const struct version *a, const struct version *b);

/* Whether @v is a pre-release or a dev release (1.0a1, 1.0.dev1, 1.0.post1.dev1). */
bool version_is_prerelease(const struct version *v);

/*
 * Write the normalised form of @v ("1!2.0rc1.post3.dev4+abc.5").  Returns the
 * length, or -ENOSPC when @outsz is too small.
 */
int version_format(const struct version *v, char *out, size_t outsz);

/*
 * Parse a specifier set such as ">=1.0, <2" ("" or NULL is the empty set).  Errors
 * as for requirement_parse(), with code REQUIREMENT_CODE_SPECIFIER.
 */
int version_specset_parse(const char *s, const char *field, struct version_specset *ret,
			  struct rb_err *err);

/* As requirement_matches(), for a bare specifier set. */
bool version_specset_matches(const struct version_specset *set, const struct version *v,
			     bool allow_prereleases);

/*
 * Write @set as "spec,spec" in its original order ("" for the empty set).
 * Returns the length, or -ENOSPC when @outsz is too small.
 */
int version_specset_format(const struct version_specset *set, char *out, size_t outsz);

#endif
