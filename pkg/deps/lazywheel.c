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

#include "deps/unpack.h"
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

/* Unpack (confined, with bytecode) into site/<tree>, holding the lock. */
static int extract(int site_fd, const struct lazywheel_src *src, const char *wheel,
		   const char *tree, struct rb_err *err)
{
	char path[1100], site[600];
	struct wheel_name wn;
	struct wheel_info info = {0};
	struct unpack_job job = {.lim = src->lim,
				 .python = src->python,
				 .site = site,
				 .deadline = src->deadline,
				 .confiner = src->confiner};
	int r;

	snprintf(path, sizeof(path), "%s/wheels/%s", src->cache_dir, wheel);
	snprintf(site, sizeof(site), "%s/%s", src->state_dir, LAZY_SITE);
	if (wheelname_parse(wheel, &wn, err) < 0)
		return fail_with_reason(err, tree);
	job.wn = &wn;
	job.wheel_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (job.wheel_fd < 0)
		return fail(err, errno, tree, "open the wheel");
	r = unpack_tree(site_fd, tree, &job, &info, err);
	close(job.wheel_fd);
	free(info.metadata);
	return r < 0 ? fail_with_reason(err, tree) : 0;
}

static int locked_extract(int site_fd, const struct lazywheel_src *src, const char *wheel,
			  const char *tree, struct rb_err *err)
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
		r = extract(site_fd, src, wheel, tree, err);
	close(fd); /* releases the lock; the file stays, unlinking it would race */
	return r;
}

int lazywheel_ensure(int state_fd, const struct lazywheel_src *src, const char *wheel,
		     const char *tree, char *ret_path, size_t size, struct rb_err *err)
{
	int site_fd = -1, r;

	if (state_fd < 0)
		return fail(err, 0, tree, "runbox has no state directory (RUNBOX_STATE_DIR)");
	r = open_site(state_fd, &site_fd);
	if (r < 0)
		return fail(err, -r, tree, "open RUNBOX_STATE_DIR/site");
	if (!tree_exists(site_fd, tree))
		r = locked_extract(site_fd, src, wheel, tree, err);
	close(site_fd);
	if (r < 0)
		return r;
	if ((size_t)snprintf(ret_path, size, "%s/%s/%s", src->state_dir, LAZY_SITE, tree) >= size)
		return fail(err, ENAMETOOLONG, tree, "its path");
	return 0;
}
