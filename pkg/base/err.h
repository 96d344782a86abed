/*
 * err: the one error convention of runbox.
 *
 * A function that can fail returns >= 0 on success and a negative errno on
 * failure, and fills a caller-owned struct rb_err.  The struct is a fixed
 * size so that filling it never allocates: it is safe between fork and exec
 * and on out-of-memory paths.  Who is at fault is part of the error, because
 * the front doors map it to different answers (HTTP 500 / 400 / 413 / 503,
 * exit status 1 / 2).
 */
#ifndef RUNBOX_ERR_H
#define RUNBOX_ERR_H

#include <stdarg.h>

enum rb_fault {
	RB_FAULT_NONE = 0,
	RB_FAULT_INTERNAL,    /* runbox or the host failed: 500, exit 1 */
	RB_FAULT_REQUEST,     /* the request is refused: 400, exit 2 */
	RB_FAULT_TOO_LARGE,   /* a body, script or file over its cap: 413, exit 2 */
	RB_FAULT_UNAVAILABLE, /* a required layer or a slot is missing: 503, exit 1 */
	RB_FAULT_HEADERS,     /* an HTTP request line and headers over their cap: 431 */
	RB_FAULT_NOT_FOUND,   /* a session that does not exist (any more): 404, exit 2 */
	RB_FAULT_CONFLICT,    /* a session another call holds past this one's wait: 409, exit 2 */
};

struct rb_err {
	enum rb_fault fault;
	int errnum;	  /* positive errno when a system call failed, else 0 */
	char code[48];	  /* stable snake_case code, e.g. "invalid_path" */
	char field[1100]; /* the request field at fault (may hold a path), "" when none */
	char msg[2048];	  /* one sentence a model can act on */
};

/*
 * Fill @err and return -@errnum (or -EINVAL when @errnum is 0).  @field may be
 * NULL.  The message is printf-formatted and truncated to fit.
 */
int rb_fail(struct rb_err *err, enum rb_fault fault, int errnum, const char *code,
	    const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Convenience for system-call failures: a runbox-internal fault with errno. */
int rb_fail_sys(struct rb_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A process runbox needed could not be made (fork, clone): with EAGAIN a
 * process limit of the environment is used up (RLIMIT_NPROC of the uid the
 * runs share or of runbox's own, pids.max of a control group,
 * kernel.threads-max), which is
 * neither runbox's fault nor the request's: RB_FAULT_UNAVAILABLE, code
 * "capacity_exhausted", and a message saying what an operator can do.  Any
 * other errno is an internal fault, as rb_fail_sys.  @what names the
 * process ("fork the program").
 */
int rb_fail_fork(struct rb_err *err, int errnum, const char *what);

/*
 * Prefix the message with context on the way up ("workspace: " + msg).
 * Returns the same negative value it is given, so callers can write
 * `return rb_wrap(err, r, "workspace");`.
 */
int rb_wrap(struct rb_err *err, int r, const char *context);

/* HTTP status for a fault (200 for RB_FAULT_NONE). */
int rb_fault_http_status(enum rb_fault fault);

/*
 * Exit statuses of runbox: the program ran, runbox failed, the request was
 * refused, the machine had no capacity for it now (EX_TEMPFAIL of
 * <sysexits.h>: the same request may succeed later).
 */
enum {
	RUNBOX_EXIT_RAN = 0,
	RUNBOX_EXIT_FAULT = 1,
	RUNBOX_EXIT_REFUSED = 2,
	RUNBOX_EXIT_TEMPFAIL = 75,
};

/* The exit status for a result @r (with @err when negative) of running a request. */
int rb_exit_status(int r, const struct rb_err *err);

#if defined(__clang_analyzer__) && !defined(RUNBOX_ERR_C)
/*
 * For `make tidy` only: its analyzer sees one file at a time, so it cannot
 * know what the contract above says, that rb_fail() and rb_fail_sys()
 * return < 0, and it follows paths where a failure goes on as a success.
 * These say so; the compiled code is unchanged.
 */
static inline int rb_negative(int r)
{
	return r < 0 ? r : -1;
}
#define rb_fail(...)	 rb_negative(rb_fail(__VA_ARGS__))
#define rb_fail_sys(...) rb_negative(rb_fail_sys(__VA_ARGS__))
#endif

#endif
