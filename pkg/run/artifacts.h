/*
 * artifacts: collect the regular files a program left under ./output/.
 *
 * Read only through the fd of output/ opened before the program started,
 * with openat(O_NOFOLLOW) and fstat on the opened fd, so nothing the program
 * planted (a symlink, a FIFO, output/ itself replaced) can make runbox read
 * outside the workspace or block.  Call only after the whole tree is gone.
 */
#ifndef RUNBOX_ARTIFACTS_H
#define RUNBOX_ARTIFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "base/err.h"
#include "contract/artifact.h"

struct artifact_limits {
	size_t max_total;
	size_t max_file;
	unsigned max_count;
	unsigned max_depth;
	/*
	 * When set: a regular file (path relative to output/, its stat) for
	 * which it answers true is not an artifact at all (a session's file
	 * the call did not change), so it counts against no cap.
	 */
	bool (*skip)(void *ctx, const char *path, const struct stat *st);
	void *skip_ctx;
};

/* Collect below @output_fd.  Free with artifact_list_free(). */
int artifacts_collect(int output_fd, const struct artifact_limits *lim, struct artifact_list *ret,
		      struct rb_err *err);

#endif
