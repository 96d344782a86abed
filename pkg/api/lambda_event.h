/*
 * lambda_event: what a Lambda invocation's payload is, and how answers are
 * shaped for the Runtime API.  Pure: bytes in, bytes out, no curl.
 *
 * A direct invocation carries the contract request itself.  A Function URL
 * or API Gateway HTTP API event (payload 2.0) and a REST API event
 * (payload 1.0) are HTTP requests in JSON: they are turned into a
 * struct route_request and routed exactly like the HTTP server (route.h),
 * and the HTTP answer goes back as {"statusCode", "headers", "body",
 * "isBase64Encoded": false}.
 */
#ifndef RUNBOX_LAMBDA_EVENT_H
#define RUNBOX_LAMBDA_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "api/route.h"

/* Lambda's cap on a synchronous response payload. */
#define LAMBDA_MAX_RESPONSE_BYTES ((size_t)6 * 1024 * 1024)
/* Room kept for the proxy envelope around the body, and for rounding. */
#define LAMBDA_RESPONSE_MARGIN ((size_t)4096)
/* Seconds kept between the program's deadline and Lambda's: killing the
 * program's tree, collecting artifacts and posting the answer. */
#define LAMBDA_DEADLINE_MARGIN_S 1.5

enum lambda_event_kind {
	LAMBDA_EVENT_DIRECT,  /* the contract request (or anything else: refused by it) */
	LAMBDA_EVENT_HTTP_V2, /* Function URL, HTTP API payload 2.0 */
	LAMBDA_EVENT_HTTP_V1, /* REST API payload 1.0 */
};

/* A proxy event as an HTTP request; every pointer is owned by the struct. */
struct lambda_http {
	enum lambda_event_kind kind;
	cJSON *root;
	struct route_request rq; /* method and path point into @root */
	struct route_header *headers;
	char *query;
	char *body;
};

/*
 * Classify @n bytes of @event.  A direct invocation sets only ret->kind.  A
 * proxy event is parsed into *ret (release with lambda_http_free).  A proxy
 * event that is malformed (no method, a body that is not a string, bad
 * base64, a decoded body over @max_body) is a request fault with code
 * invalid_event or body_too_large; *ret then holds nothing to free, but
 * ret->kind says which kind of event it was, to shape the refusal.
 */
int lambda_event_parse(const char *event, size_t n, size_t max_body, struct lambda_http *ret,
		       struct rb_err *err);

void lambda_http_free(struct lambda_http *h);

/* {"statusCode", "headers", "body", "isBase64Encoded": false} for @a (malloc'd). */
char *lambda_proxy_response(const struct route_answer *a);

/* What a contract response costs once it is a proxy response's "body". */
size_t lambda_proxy_cost(const char *json, size_t len);

/* {"errorMessage", "errorType", "stackTrace": []} (malloc'd). */
char *lambda_error_body(const char *type, const char *msg);

/* Lambda-Runtime-Function-Error-Type for a runbox fault: Runtime.SandboxUnavailable, ... */
const char *lambda_error_type(const struct rb_err *err);

/*
 * The longest timeout a program may get before Lambda's deadline
 * (@deadline_ms and @now_ms are milliseconds since the epoch): the time left
 * minus LAMBDA_DEADLINE_MARGIN_S.  0 when there is no deadline (@deadline_ms
 * 0); a negative value when no time is left to run anything.
 */
double lambda_timeout_cap(long long deadline_ms, long long now_ms);

/* Parse a Lambda-Runtime-Deadline-Ms value; 0 when absent or malformed. */
long long lambda_parse_deadline(const char *value);

/* A request id that can go into a URL path: [A-Za-z0-9._-], 1 to 128 bytes. */
bool lambda_request_id_ok(const char *id);

/*
 * The last resort when the Runtime API refused an answer as too large (413):
 * the same contract response with every artifact moved to omitted_artifacts
 * (reason response_too_large) and stdout/stderr cut to @keep bytes each,
 * marked truncated.  NULL when @json is not a ran-response or on ENOMEM.
 */
char *lambda_shrink_response(const char *json, size_t keep);

#endif
