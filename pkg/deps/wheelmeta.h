/*
 * wheelmeta: a wheel's METADATA and the environment markers of its
 * Requires-Dist, evaluated for the interpreter the cache is baked for.
 *
 * METADATA is an email-style header block (core metadata spec): this module
 * reads Name, Version, Requires-Python, Provides-Extra and Requires-Dist and
 * ignores the rest (and the body after the first empty line).  Markers
 * follow PEP 508: variables, quoted strings, the comparison operators, "in",
 * "not in", "and", "or" and parentheses; a comparison of two versions uses
 * PEP 440 order, of anything else string order, and "extra" compares
 * PEP 685 normalised names.
 *
 * Pure: no system calls; wheelmeta_parse() allocates its result.
 */
#ifndef RUNBOX_WHEELMETA_H
#define RUNBOX_WHEELMETA_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define WHEELMETA_MAX_BYTES    (1024 * 1024) /* METADATA larger than this is refused */
#define WHEELMETA_MAX_REQUIRES 256
#define WHEELMETA_MAX_EXTRAS   64

/* The marker variables of the target interpreter (PEP 508 names). */
struct marker_env {
	const char *python_version;	 /* "3.11" */
	const char *python_full_version; /* "3.11.2" */
	const char *sys_platform;	 /* "linux" */
	const char *platform_machine;	 /* "x86_64" */
	const char *platform_system;	 /* "Linux" */
	const char *platform_release;
	const char *platform_version;
	const char *platform_python_implementation; /* "CPython" */
	const char *os_name;			    /* "posix" */
	const char *implementation_name;	    /* "cpython" */
	const char *implementation_version;	    /* "3.11.2" */
	const char *extra;			    /* "" outside an extra */
};

/*
 * Evaluate marker @m for @env.  Returns 1 (true), 0 (false), or -EINVAL with
 * @err filled (code "invalid_marker") when @m is not a PEP 508 marker.
 */
int marker_eval(const char *m, const struct marker_env *env, struct rb_err *err);

/* One Requires-Dist: the requirement without its marker, and the marker. */
struct wheelmeta_require {
	char *req;    /* "name[extra] >=1.0" */
	char *marker; /* "" when none */
};

struct wheelmeta {
	char *name; /* as spelled in METADATA */
	char *version;
	char *requires_python; /* "" when none */
	struct wheelmeta_require *requires;
	size_t n_requires;
	char *extras[WHEELMETA_MAX_EXTRAS]; /* Provides-Extra, as spelled */
	size_t n_extras;
};

/*
 * Parse METADATA of @len bytes.  Fails with RB_FAULT_REQUEST, code
 * "wheel_bad_metadata", when Name or Version is missing, a header repeats
 * that must not, or a limit above is exceeded.  Free with wheelmeta_free().
 */
int wheelmeta_parse(const char *text, size_t len, struct wheelmeta *ret, struct rb_err *err);

void wheelmeta_free(struct wheelmeta *m);

#endif
