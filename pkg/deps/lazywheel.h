/*
 * lazywheel: extract a wheel baked with `runbox bake --lazy` on first use.
 *
 * Trees land in RUNBOX_STATE_DIR/site/<name>-<version>/, the one writable
 * place on Lambda, unpacked by unpack.h (confined, with bytecode).  The
 * extraction goes into a temporary directory renamed
 * into place only when complete, under an exclusive flock on a per-tree
 * lock file: a concurrent request for the same wheel waits, then finds the
 * finished tree; none ever sees half a tree.  A failed extraction removes
 * its temporary directory (and one a killed runbox left, found under the
 * lock), so nothing is left behind.  Later requests reuse the tree.
 */
#ifndef RUNBOX_LAZYWHEEL_H
#define RUNBOX_LAZYWHEEL_H

#include <stddef.h>

#include "base/err.h"
#include "deps/wheel.h"

#define LAZY_SITE "site" /* below the state directory */

struct unpack_confiner;

struct lazywheel_src {
	const char *state_dir;
	const char *cache_dir;
	const struct wheel_limits *lim;
	const char *python; /* compiles the tree */
	double deadline;
	const struct unpack_confiner *confiner;
};

/*
 * Make sure @tree exists below @state_fd's site/, extracting
 * @src->cache_dir/wheels/@wheel when it does not.  Writes the tree's path
 * (state_dir/site/@tree) into @ret_path.  Failures are runbox faults with
 * code "cache_extract_failed" (the wheel was checked at bake time: if it
 * fails now, the cache was changed).
 */
int lazywheel_ensure(int state_fd, const struct lazywheel_src *src, const char *wheel,
		     const char *tree, char *ret_path, size_t size, struct rb_err *err);

#endif
