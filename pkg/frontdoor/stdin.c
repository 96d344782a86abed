/*
 * stdin: read a bounded body, run it, print one line (see stdin.h).
 */
#define _GNU_SOURCE
#include "frontdoor/stdin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdio.h"
#include "contract/response.h"

/* Straight to fd 1: an answer may be megabytes, not worth a stdio copy.  0, or -errno. */
static int print_line(const char *json)
{
	size_t len;

	if (!json)
		json = "{\"error\":\"runbox ran out of memory building its answer\","
		       "\"code\":\"internal_error\"}";
	len = strlen(json);
	fd_widen_pipe(STDOUT_FILENO, len + 1);
	if (fd_write_all(STDOUT_FILENO, json, len) < 0 || fd_write_all(STDOUT_FILENO, "\n", 1) < 0)
		return -errno;
	return 0;
}

struct delivery {
	bool done;
	int r; /* print_line()'s */
};

/* The answer goes out before the workspace is removed (executor_opts.deliver). */
static void deliver(const char *json, void *ctx)
{
	struct delivery *d = ctx;

	d->done = true;
	d->r = print_line(json);
}

int stdin_run(struct executor *ex)
{
	size_t cap = ex->cfg.limits.max_body_bytes, len = 0;
	struct delivery d = {0};
	struct answer_sink sink = {.fd = STDOUT_FILENO};
	struct executor_opts opts = {.deliver = deliver, .deliver_ctx = &d, .sink = &sink};
	struct rb_err err = {0};
	char *body = NULL, *json = NULL;
	int over = 0, r;

	/* Someone typed plain `runbox`: say what it waits for rather than wait in silence. */
	if (isatty(STDIN_FILENO))
		fputs("runbox: reading one JSON request from stdin, such as {\"script\": "
		      "\"print(2+2)\"}, until end of input (Ctrl-D); runbox --help lists the "
		      "commands\n",
		      stderr);
	r = fd_read_capped(STDIN_FILENO, cap, &body, &len, &over);
	if (r < 0)
		r = rb_fail_sys(&err, -r, "read the request from stdin");
	else if (over)
		r = rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
			    "The request body is larger than the limit of %zu bytes.", cap);
	if (r < 0)
		json = response_error(&err);
	else
		r = executor_run(ex, body, len, &opts, &json, &err);
	if (sink.written)
		d.r = sink.r;
	else if (!d.done)
		d.r = print_line(json);
	free(json);
	free(body);
	if (d.r < 0) {
		/* The caller cannot have the answer: a fault, said where it can be seen. */
		fprintf(stderr, "runbox: could not write the answer to stdout: %s\n",
			strerror(-d.r));
		return RUNBOX_EXIT_FAULT;
	}
	return rb_exit_status(r, &err);
}
