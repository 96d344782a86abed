/*
 * lazywheel: first-use extraction under a lock (see lazywheel.h).
 */
#define _GNU_SOURCE
#include "deps/lazywheel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deps/wheelname.h"
#include "base/tree.h"

static bool tree_exists(int site_fd, const char *tree)
{
	struct stat st;

	return fstatat(site_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int fail(struct rb_err *err, int errnum, const char *tree, const char *what)
{
	return rb_fail(err, RB_FAULT_INTERNAL, errnum ? errnum : EIO, "cache_extract_failed", NULL,
		       "Extracting %s from the wheel cache failed: %s%s%s", tree, what,
		       errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

static int open_site(int state_fd, int *ret)
{
	int fd;

	if (mkdirat(state_fd, LAZY_SITE, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* Opened first: a symlink planted as site/ is refused, not chmod()ed through. */
	fd = openat(state_fd, LAZY_SITE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The state directory's umask must not hide the trees from a program's uid. */
	if (fchmod(fd, 0755) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	*ret = fd;
	return 0;
}

/* fail() with the reason already in @err (copied: vsnprintf must not read its target). */
static int fail_with_reason(struct rb_err *err, const char *tree)
{
	char why[sizeof(err->msg)];

	snprintf(why, sizeof(why), "%s", err->msg);
	return fail(err, 0, tree, why);
}

/* Extract into .tmp-<tree> (holding the lock), then rename it into place. */
static int extract(int site_fd, const char *cache_dir, const char *wheel, const char *tree,
		   const struct wheel_limits *lim, struct rb_err *err)
{
	char tmp[400], src[1100];
	struct wheel_name wn;
	struct wheel_info info = {0};
	int fd, dest = -1, r;

	snprintf(tmp, sizeof(tmp), ".tmp-%s", tree);
	/*
	 * A killed runbox's leftover, safe to remove under the lock; anything
	 * but a directory there (a planted symlink) is unlinked, never followed.
	 */
	r = tree_remove_at(site_fd, tmp);
	if (r == -ELOOP || r == -ENOTDIR)
		unlinkat(site_fd, tmp, 0);
	/* Likewise whatever non-directory sits where the tree goes (see tree_exists). */
	if (unlinkat(site_fd, tree, 0) < 0 && errno != ENOENT)
		return fail(err, errno, tree, "clear its place");
	snprintf(src, sizeof(src), "%s/wheels/%s", cache_dir, wheel);
	if (wheelname_parse(wheel, &wn, err) < 0)
		return fail_with_reason(err, tree);
	fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errno, tree, "open the wheel");
	if (mkdirat(site_fd, tmp, 0755) < 0 ||
	    (dest = openat(site_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(dest, 0755) < 0) { /* the program's uid reads it, whatever our umask */
		r = -errno;
		close(fd);
		if (dest >= 0)
			close(dest);
		return fail(err, -r, tree, "create its temporary directory");
	}
	r = wheel_extract(fd, &wn, dest, lim, &info, err);
	close(fd);
	close(dest);
	free(info.metadata);
	if (r < 0) {
		tree_remove_at(site_fd, tmp);
		return fail_with_reason(err, tree);
	}
	if (renameat(site_fd, tmp, site_fd, tree) < 0) {
		r = errno;
		tree_remove_at(site_fd, tmp);
		return fail(err, r, tree, "rename it into place");
	}
	return 0;
}

static int locked_extract(int site_fd, const char *cache_dir, const char *wheel, const char *tree,
			  const struct wheel_limits *lim, struct rb_err *err)
{
	char lock[400];
	int fd, r;

	snprintf(lock, sizeof(lock), ".lock-%s", tree);
	fd = openat(site_fd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errno, tree, "open its lock file");
	while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0)
		r = fail(err, errno, tree, "lock it");
	else if (!tree_exists(site_fd, tree)) /* another request may have finished it */
		r = extract(site_fd, cache_dir, wheel, tree, lim, err);
	close(fd); /* releases the lock; the file stays, unlinking it would race */
	return r;
}

int lazywheel_ensure(int state_fd, const char *state_dir, const char *cache_dir, const char *wheel,
		     const char *tree, const struct wheel_limits *lim, char *ret_path, size_t size,
		     struct rb_err *err)
{
	int site_fd = -1, r;

	if (state_fd < 0)
		return fail(err, 0, tree, "runbox has no state directory (RUNBOX_STATE_DIR)");
	r = open_site(state_fd, &site_fd);
	if (r < 0)
		return fail(err, -r, tree, "open RUNBOX_STATE_DIR/site");
	if (!tree_exists(site_fd, tree))
		r = locked_extract(site_fd, cache_dir, wheel, tree, lim, err);
	close(site_fd);
	if (r < 0)
		return r;
	if ((size_t)snprintf(ret_path, size, "%s/%s/%s", state_dir, LAZY_SITE, tree) >= size)
		return fail(err, ENAMETOOLONG, tree, "its path");
	return 0;
}
