/*
 * confine: the lock-down of the process that unpacks a wheel fetched from
 * a package index, or baked with --lazy (deps/unpack.h runs it in that
 * process before it reads a byte of the wheel).
 *
 * As root: no supplementary groups, then the unpack uid/gid (one no
 * program runs as: RUNBOX_UID_BASE + RUNBOX_UID_SLOTS).  Always:
 * no_new_privs, then Landlock with the new tree as the only writable
 * directory (the interpreter's prefix and the system directories readable,
 * TCP denied from ABI 4).  A kernel without Landlock is logged once and
 * the uid drop (as root) is what remains.
 */
#ifndef RUNBOX_CONFINE_H
#define RUNBOX_CONFINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

struct confine_unpack {
	bool drop_uid; /* runbox runs as root */
	uid_t uid;
	gid_t gid;
	const char *python; /* its prefix stays readable and executable */
	bool landlock;	    /* the platform has Landlock */
};

/* An unpack_confiner's confine(): @ctx is a struct confine_unpack. */
int confine_unpacker(void *ctx, const char *tree_dir, struct rb_err *err);

#endif
