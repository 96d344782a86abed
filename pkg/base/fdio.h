/*
 * fdio: whole-buffer reads and writes on a file descriptor, retried across
 * EINTR, short transfers and EAGAIN (an fd its owner made non-blocking is
 * polled).  Pipes and sockets return short counts under load; every caller
 * that needs all of its bytes goes through here.
 */
#ifndef RUNBOX_FDIO_H
#define RUNBOX_FDIO_H

#include <stddef.h>

/* Write all @n bytes of @p to @fd.  0, or -errno (errno set too; EIO for a 0-byte write). */
int fd_write_all(int fd, const void *p, size_t n);

/* Read exactly @n bytes from @fd into @p.  0, or -errno (EPIPE at end of file). */
int fd_read_exact(int fd, void *p, size_t n);

/*
 * Best effort: make the pipe @fd (when it is one) hold up to @want bytes, at
 * most the default pipe-max-size.  An answer of megabytes through a 64 KiB
 * pipe makes writer and reader take turns over a hundred times.
 */
void fd_widen_pipe(int fd, size_t want);

/*
 * Read @fd to its end, at most @cap + 1 bytes, into a malloc'd buffer
 * (NUL-terminated).  More than @cap bytes sets *ret_over and stops reading.
 * 0, or -errno (nothing to free then).
 */
int fd_read_capped(int fd, size_t cap, char **ret, size_t *ret_len, int *ret_over);

#endif
