/*
 * stdin: the local pipe front door.  One request on stdin, one JSON
 * line on stdout.
 */
#ifndef RUNBOX_STDIN_H
#define RUNBOX_STDIN_H

#include <stddef.h>

#include "run/executor.h"

/* Exit statuses of runbox in stdin mode and for `runbox exec` refusals. */
enum {
	RUNBOX_EXIT_RAN = 0,
	RUNBOX_EXIT_FAULT = 1,
	RUNBOX_EXIT_REFUSED = 2,
};

/*
 * Read at most @cap + 1 bytes from @fd into a malloc'd buffer (NUL-terminated).
 * More than @cap bytes sets *ret_over (the rest is not read).
 */
int stdin_read_body(int fd, size_t cap, char **ret, size_t *ret_len, int *ret_over);

/* Serve one request from stdin; returns the process exit status. */
int stdin_run(struct executor *ex);

/* The exit status for an executor_run() result. */
int stdin_exit_status(int r, const struct rb_err *err);

#endif
