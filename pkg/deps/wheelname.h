/*
 * wheelname: a wheel's file name and whether its tags fit the interpreter.
 *
 * "{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform
 * tag}.whl" per the binary distribution format spec; each tag may be a
 * '.'-separated set ("py2.py3").  A wheel fits the target when one
 * combination of its tags is one CPython 3.X on Linux accepts, as pip's
 * packaging.tags orders them: cp3X-cp3X, cp3Y-abi3 (Y <= X), py3/py3Y-none,
 * on any, linux_<machine> or manylinux (1, 2010, 2014, _A_B with glibc >= A.B).
 *
 * Pure: no system calls, no allocation.
 */
#ifndef RUNBOX_WHEELNAME_H
#define RUNBOX_WHEELNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define WHEELNAME_MAX 255 /* bytes of a file name */

struct wheel_name {
	char name[WHEELNAME_MAX + 1];	 /* PEP 503 normalised */
	char version[WHEELNAME_MAX + 1]; /* as spelled in the file name */
	char build[WHEELNAME_MAX + 1];	 /* "" when none */
	char python[WHEELNAME_MAX + 1];	 /* tag sets, '.'-separated */
	char abi[WHEELNAME_MAX + 1];
	char platform[WHEELNAME_MAX + 1];
};

/* The interpreter wheels are chosen for (found by asking it, at bake time). */
struct wheel_target {
	unsigned py_major, py_minor;
	char machine[32];     /* platform.machine(): "x86_64", "aarch64" */
	unsigned glibc_major; /* 0: not glibc (then no manylinux wheel fits) */
	unsigned glibc_minor;
};

/*
 * Parse the base name @filename ("pkg-1.0-py3-none-any.whl").  A malformed
 * name fails with RB_FAULT_REQUEST, code "wheel_bad_filename", and a message
 * saying which part is wrong.  @ret is written only on success.
 */
int wheelname_parse(const char *filename, struct wheel_name *ret, struct rb_err *err);

/*
 * Whether some combination of @w's tags fits @t.  When none does, @why
 * (when @why_size > 0) says which tags were found and what would fit.
 */
bool wheelname_compatible(const struct wheel_name *w, const struct wheel_target *t, char *why,
			  size_t why_size);

#endif
