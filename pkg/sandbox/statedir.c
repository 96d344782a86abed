/*
 * statedir: everything here is opened relative to the verified directory fd,
 * with O_NOFOLLOW, so a planted link cannot redirect runbox.
 */
#define _GNU_SOURCE
#include "sandbox/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "runbox-cache-1\n"

int statedir_open(const char *path, int *ret_fd, struct rb_err *err)
{
	struct stat st;
	int fd;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return rb_fail_sys(err, errno, "create the state directory '%s'", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rb_fail_sys(err, errno, "open the state directory '%s'", path);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return rb_fail(err, RB_FAULT_INTERNAL, EPERM, "invalid_config", "RUNBOX_STATE_DIR",
			       "The state directory '%s' must belong to uid %u with mode 0700; "
			       "remove it or set RUNBOX_STATE_DIR.",
			       path, (unsigned)geteuid());
	}
	*ret_fd = fd;
	return 0;
}

void statedir_boot_id(char *buf, size_t size)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int statedir_cache_load(int dirfd, const char *name, const char *key, void *buf, size_t size)
{
	char head[256], want[256];
	size_t hl = (size_t)snprintf(want, sizeof(want), CACHE_MAGIC "%s\n", key);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int ok = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (size_t)st.st_size == hl + size && read(fd, head, hl) == (ssize_t)hl &&
	    memcmp(head, want, hl) == 0 && read(fd, buf, size) == (ssize_t)size)
		ok = 1;
	close(fd);
	return ok;
}

int statedir_cache_store(int dirfd, const char *name, const char *key, const void *buf, size_t size)
{
	char tmp[128], head[256];
	size_t hl = (size_t)snprintf(head, sizeof(head), CACHE_MAGIC "%s\n", key);
	unsigned rnd = 0;
	int fd, r = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (unsigned)getpid();
	snprintf(tmp, sizeof(tmp), ".%s.%u.tmp", name, rnd);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, head, hl) != (ssize_t)hl || write(fd, buf, size) != (ssize_t)size)
		r = -EIO;
	close(fd);
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

void statedir_cache_drop(int dirfd, const char *name)
{
	unlinkat(dirfd, name, 0);
}

static int try_slot(int dirfd, unsigned slot)
{
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "slot-%u.lock", slot);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EWOULDBLOCK;
	}
	return fd;
}

int statedir_slot_claim(int dirfd, unsigned nslots, unsigned *ret_slot, int *ret_lock_fd,
			struct rb_err *err)
{
	/*
	 * The lowest free slot: a machine running a few requests at a time keeps
	 * reusing a few slots, which are then known clean.  A slot never held
	 * before costs its first holder a scan of the work dir (SLOT_UNKNOWN), and
	 * a random start made most runs of a fresh machine pay one (1.3 ms here).
	 * A busy slot costs an open and a failed flock: microseconds.
	 */
	for (unsigned slot = 0; slot < nslots; slot++) {
		int fd = try_slot(dirfd, slot);

		if (fd >= 0) {
			*ret_slot = slot;
			*ret_lock_fd = fd;
			return 0;
		}
		if (fd != -EWOULDBLOCK)
			return rb_fail_sys(err, -fd, "claim a uid slot");
	}
	return rb_fail(err, RB_FAULT_UNAVAILABLE, EBUSY, "no_free_slot", NULL,
		       "All %u uid slots are in use by other runs; retry shortly.", nslots);
}

/* The lock file's contents: "-" clean, "/dir" marked, empty never written. */
int statedir_slot_mark(int lock_fd, const char *dir)
{
	size_t n = strlen(dir);

	if (dir[0] != '/')
		return -EINVAL;
	if (pwrite(lock_fd, dir, n, 0) != (ssize_t)n || ftruncate(lock_fd, (off_t)n) < 0) {
		int e = errno;

		/* Unknown rather than clean: the next holder then scans (truncating needs no
		 * space). */
		(void)!ftruncate(lock_fd, 0);
		return -e;
	}
	return 0;
}

void statedir_slot_unmark(int lock_fd)
{
	if (pwrite(lock_fd, "-", 1, 0) != 1 || ftruncate(lock_fd, 1) < 0)
		return; /* the next holder scans once more for nothing */
}

enum slot_state statedir_slot_state(int lock_fd, char *dir, size_t size)
{
	ssize_t n = pread(lock_fd, dir, size - 1, 0);

	if (n <= 0)
		return SLOT_UNKNOWN;
	dir[n] = '\0';
	if (n == 1 && dir[0] == '-')
		return SLOT_CLEAN;
	return dir[0] == '/' ? SLOT_MARKED : SLOT_UNKNOWN;
}
