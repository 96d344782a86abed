/*
 * err: filling and wrapping struct rb_err without allocating (see err.h).
 */
#define _GNU_SOURCE
#define RUNBOX_ERR_C /* the definitions, not the analyzer's view of them (err.h) */
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void copy(char *dst, size_t size, const char *src)
{
	if (!src)
		src = "";
	snprintf(dst, size, "%s", src);
}

int rb_fail(struct rb_err *err, enum rb_fault fault, int errnum, const char *code,
	    const char *field, const char *fmt, ...)
{
	va_list ap;

	err->fault = fault;
	err->errnum = errnum;
	copy(err->code, sizeof(err->code), code);
	copy(err->field, sizeof(err->field), field);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return errnum > 0 ? -errnum : -EINVAL;
}

int rb_fail_sys(struct rb_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	err->fault = RB_FAULT_INTERNAL;
	err->errnum = errnum;
	copy(err->code, sizeof(err->code), "internal_error");
	err->field[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (errnum > 0 && len < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return errnum > 0 ? -errnum : -EIO;
}

int rb_wrap(struct rb_err *err, int r, const char *context)
{
	char old[sizeof(err->msg)];
	int n;

	memcpy(old, err->msg, sizeof(old));
	n = snprintf(err->msg, sizeof(err->msg), "%s: ", context);
	if (n > 0 && (size_t)n < sizeof(err->msg))
		memcpy(err->msg + n, old, sizeof(err->msg) - (size_t)n - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return r;
}

int rb_fault_http_status(enum rb_fault fault)
{
	static const int status[] = {
	    [RB_FAULT_NONE] = 200,	[RB_FAULT_INTERNAL] = 500,    [RB_FAULT_REQUEST] = 400,
	    [RB_FAULT_TOO_LARGE] = 413, [RB_FAULT_UNAVAILABLE] = 503, [RB_FAULT_HEADERS] = 431,
	    [RB_FAULT_NOT_FOUND] = 404, [RB_FAULT_CONFLICT] = 409,
	};

	if ((unsigned)fault >= sizeof(status) / sizeof(status[0]))
		return 500;
	return status[fault];
}

int rb_fail_fork(struct rb_err *err, int errnum, const char *what)
{
	if (errnum != EAGAIN)
		return rb_fail_sys(err, errnum, "%s", what);
	return rb_fail(
	    err, RB_FAULT_UNAVAILABLE, EAGAIN, "capacity_exhausted", NULL,
	    "runbox could not %s: a process limit is used up (RLIMIT_NPROC of the uid "
	    "the runs share or of runbox's own, pids.max of a control group, or "
	    "kernel.threads-max). Retry later. Operator: run fewer programs at once "
	    "(RUNBOX_CONCURRENCY, RUNBOX_MAX_PROCS), give each run a uid or control "
	    "group of its own (unset RUNBOX_UID; see runbox check), or raise that limit.",
	    what);
}

int rb_exit_status(int r, const struct rb_err *err)
{
	if (r >= 0)
		return RUNBOX_EXIT_RAN;
	if (strcmp(err->code, "capacity_exhausted") == 0)
		return RUNBOX_EXIT_TEMPFAIL;
	if (err->fault == RB_FAULT_REQUEST || err->fault == RB_FAULT_TOO_LARGE ||
	    err->fault == RB_FAULT_HEADERS || err->fault == RB_FAULT_NOT_FOUND ||
	    err->fault == RB_FAULT_CONFLICT)
		return RUNBOX_EXIT_REFUSED;
	return RUNBOX_EXIT_FAULT;
}
