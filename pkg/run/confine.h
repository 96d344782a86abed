/*
 * confine: the lock-down of the process that unpacks a wheel fetched from
 * a package index, or baked with --lazy (deps/unpack.h runs it in that
 * process before it reads a byte of the wheel).
 *
 * As root: no supplementary groups, then the unpack uid/gid (one no
 * program runs as: RUNBOX_UID_BASE + RUNBOX_UID_SLOTS).  Always:
 * no_new_privs, then Landlock with the new tree as the only writable
 * directory (the interpreter's prefix and the system directories readable,
 * TCP denied from ABI 4).  A layer the platform refuses (no Landlock, no
 * no_new_privs under Lambda's own seccomp filter) is said once at start,
 * and what remains confines the unpacking.
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
	bool no_new_privs;  /* the platform lets a process set it (Lambda does not) */
	bool landlock;	    /* the platform has Landlock */
};

/* An unpack_confiner's confine(): @ctx is a struct confine_unpack. */
int confine_unpacker(void *ctx, const char *tree_dir, struct rb_err *err);

#endif
