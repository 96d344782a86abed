/*
 * fdio: whole-buffer reads and writes on a file descriptor, and pipe sizing.
 */
#define _GNU_SOURCE
#include "base/fdio.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <unistd.h>

/*
 * An fd its owner made non-blocking (an event loop's pipe handed down as
 * runbox's stdout): wait until it can move bytes.  True to try again.
 */
static bool wait_ready(int fd, short events)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	if (errno != EAGAIN)
		return false;
	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

int fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && (errno == EINTR || wait_ready(fd, POLLOUT)))
			continue;
		if (w == 0)
			errno = EIO; /* a write of a non-empty buffer never returns 0 */
		if (w <= 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int fd_read_exact(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && (errno == EINTR || wait_ready(fd, POLLIN)))
			continue;
		if (r == 0)
			errno = EPIPE; /* the writer went away before the last byte */
		if (r <= 0)
			return -errno;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

void fd_widen_pipe(int fd, size_t want)
{
	const size_t most = 1 << 20; /* the default pipe-max-size */
	int now;

	if (want > most)
		want = most;
	if (want <= 65536 || (now = fcntl(fd, F_GETPIPE_SZ)) < 0 || (size_t)now >= want)
		return; /* not a pipe, or its reader made it larger already */
	fcntl(fd, F_SETPIPE_SZ, (int)want);
}

int fd_read_capped(int fd, size_t cap, char **ret, size_t *ret_len, int *ret_over)
{
	size_t size = 65536, len = 0;
	char *buf = malloc(size);

	*ret_over = 0;
	while (buf) {
		ssize_t r;

		if (len == size - 1) {
			size_t want = size * 2 > cap + 2 ? cap + 2 : size * 2;
			char *n = want > size ? realloc(buf, want) : NULL;

			if (!n && want > size) {
				free(buf);
				return -ENOMEM;
			}
			if (!n) {
				*ret_over = 1;
				break;
			}
			buf = n;
			size = want;
		}
		r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > cap) {
			*ret_over = 1;
			break;
		}
	}
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}
