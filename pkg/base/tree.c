/*
 * tree: remove a directory tree by walking it through directory fds (see
 * tree.h).
 */
#define _GNU_SOURCE
#include "base/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Depth at which removal moves a subtree up instead of descending further. */
#define REMOVE_MAX_DEPTH 24

static int remove_children(int dirfd, int topfd, unsigned depth);

/* Remove entry @name of @dirfd, a directory or not. */
static int remove_entry(int dirfd, int topfd, const char *name, unsigned depth)
{
	static unsigned long moved;
	char tmp[64];
	int fd, r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= REMOVE_MAX_DEPTH) {
		/* Too deep to hold an fd per level: move it up and finish later. */
		snprintf(tmp, sizeof(tmp), ".runbox-deep-%lu", ++moved);
		return renameat(dirfd, name, topfd, tmp) < 0 ? -errno : 1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0700);
	r = remove_children(fd, topfd, depth + 1);
	close(fd);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		return errno == ENOTEMPTY ? 1 : -errno;
	return r;
}

/* Returns 1 when something was moved up and another pass is needed. */
static int remove_children(int dirfd, int topfd, unsigned depth)
{
	int fd = dup(dirfd), r, again = 0;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d)
		rewinddir(d); /* a dup shares the offset a previous walk left at the end */
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = remove_entry(dirfd, topfd, de->d_name, depth);
		if (r < 0) {
			closedir(d);
			return r;
		}
		again |= r;
	}
	closedir(d);
	return again;
}

int tree_remove_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	fchmod(fd, 0700);
	for (int pass = 0; pass < 100000; pass++) {
		r = remove_children(fd, fd, 0);
		if (r <= 0)
			break;
	}
	close(fd);
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}
