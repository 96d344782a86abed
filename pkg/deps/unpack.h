/*
 * unpack: a checked wheel becomes a read-only tree with bytecode.
 *
 * The extraction (wheel.h, every check) and the compilation run in a
 * forked child that the caller's confiner first locks down (the run layer
 * gives one: an unprivileged uid, no_new_privs, Landlock writes only below
 * the new tree); the child writes the tree in .tmp-<tree>, then becomes
 * the configured interpreter, which compiles every module to an
 * unchecked-hash .pyc (PEP 552: the tree is verified and never changes, so
 * neither file times nor source hashes need checking at import).  A module
 * that does not compile is logged and left to be compiled at import, as pip
 * does.  Back in runbox the tree is sealed: only regular files (one link
 * each) and directories, owned by runbox's uid, 0755/0444 (0555 for
 * executables), then renamed into place.  Anything else, a deadline passed
 * or a failed check leaves no tree and no temporary directory.
 */
#ifndef RUNBOX_UNPACK_H
#define RUNBOX_UNPACK_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/err.h"
#include "deps/wheel.h"

struct unpack_confiner {
	/*
	 * Called in the child before it reads a byte of the wheel; @tree_dir is
	 * the only directory it will write.  < 0 (with @err) aborts.
	 */
	int (*confine)(void *ctx, const char *tree_dir, struct rb_err *err);
	void *ctx;
	bool chown_tree; /* give the temporary tree to uid/gid first (the child's) */
	uid_t uid;
	gid_t gid;
};

struct unpack_job {
	int wheel_fd; /* the wheel, a regular file */
	const struct wheel_name *wn;
	const struct wheel_limits *lim;
	const char *python;			/* compiles the tree; NULL: no bytecode */
	const char *site;			/* path of the directory @site_fd is */
	double deadline;			/* clock_now() value: the child is killed past it */
	const struct unpack_confiner *confiner; /* NULL: unconfined (`runbox bake`) */
};

/*
 * Unpack into @site_fd/@tree (which must not exist; the caller holds its
 * lock).  Returns 0 with @ret filled (its metadata is the wheel's METADATA:
 * free() it).  A wheel that fails a check is RB_FAULT_REQUEST with the
 * check's code; anything else RB_FAULT_INTERNAL "cache_extract_failed".
 */
int unpack_tree(int site_fd, const char *tree, const struct unpack_job *job, struct wheel_info *ret,
		struct rb_err *err);

/*
 * Compile the tree at @dir (unconfined: for `runbox bake`, run by the
 * operator) as it will be imported from @final, then seal it (modes only).
 * Modules that do not compile are printed to @report, one line each.
 */
int unpack_compile(const char *python, const char *dir, const char *final, int dir_fd, FILE *report,
		   struct rb_err *err);

#endif
