/*
 * response: the contract's JSON answers, built from plain data.  Pure.
 */
#ifndef RUNBOX_RESPONSE_H
#define RUNBOX_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "contract/artifact.h"

struct run_outcome {
	int exit_code;
	const char *status; /* ok, error, timeout, cpu_limit, ... */
	const char *out;
	size_t out_len;
	bool out_truncated;
	const char *err;
	size_t err_len;
	bool err_truncated;
	double duration_ms;
	double timeout_s;     /* the timeout the program had, after every cap */
	bool timeout_clamped; /* lower than the request asked (or its default) */
	const struct artifact_list *artifacts;
	cJSON *sandbox;	     /* taken over by response_build; may be NULL */
	cJSON *dependencies; /* taken over by response_build; may be NULL */
	const char *start;   /* "warm" or "cold": how the program's process was made; may be NULL */
	/* Members added to the answer ("session", "state"), taken over by response_build; or NULL.
	 */
	cJSON *extra;
};

/*
 * Classify how the program ended: its exit code (128+N for signal N, 124
 * for a timeout) and its status word.  @err_tail is the end of its stderr,
 * whose last line tells a MemoryError or a full file-size limit from other
 * failures.
 */
void response_classify(int wait_status, bool timed_out, const char *err_tail, size_t err_len,
		       int *ret_exit_code, const char **ret_status);

/* The ran-response as one line of JSON (malloc'd), or NULL on ENOMEM. */
char *response_build(const struct run_outcome *o);

/* Takes @n bytes of an answer; 0, or a negative errno to stop. */
typedef int (*response_put_fn)(void *ctx, const char *p, size_t n);

/*
 * response_build()'s line, handed to @put in pieces of at most 64 KiB as
 * it is encoded: the artifacts go from their own buffers straight into
 * those pieces, so an answer of megabytes costs 64 KiB beyond what @o
 * holds, not two more copies of it.  Returns 0, the first negative value
 * @put returned (the rest is then not encoded), or -ENOMEM before anything
 * was handed to @put.  @o->sandbox and @o->dependencies are taken over.
 */
int response_stream(const struct run_outcome *o, response_put_fn put, void *ctx);

/* The refused/internal-error response as one line of JSON (malloc'd). */
char *response_error(const struct rb_err *err);

/*
 * Encode @n bytes as a JSON string literal (with quotes) into a malloc'd
 * buffer, escaping control characters and replacing invalid UTF-8 with
 * U+FFFD.  NULL on ENOMEM.
 */
char *response_json_string(const char *s, size_t n);

#endif
