/*
 * route: what an HTTP request means to runbox, and how an answer becomes an
 * HTTP response.  Pure (no system calls), so the HTTP server, the Lambda
 * proxy-event handler and the unit tests share one set of rules: which
 * method and path do what, who is let in (RUNBOX_TOKEN), how a raw script
 * with ?timeout_s= or an Azure host envelope becomes a contract request, and
 * which status code each executor outcome gets.
 *
 * Two steps, so that a server can refuse before reading a body:
 *   route_match()   method, path, headers        -> a route or an error answer
 *   route_prepare() + query and body             -> the contract request to run
 * route_decide() does both for callers that hold the whole request (Lambda).
 * After the run, route_answer_run() gives the HTTP answer; route_answer_error()
 * gives the answer for a refusal decided outside the executor (queue full).
 */
#ifndef RUNBOX_ROUTE_H
#define RUNBOX_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Seconds a client is told to wait when runbox answers 503. */
#define ROUTE_RETRY_AFTER_S 1

enum route_id {
	ROUTE_NONE = 0, /* refused: see the answer */
	ROUTE_RUN,	/* POST /api/run: a contract request or a raw script */
	ROUTE_AZURE,	/* POST /run: the Azure Functions host's envelope */
	ROUTE_HEALTH,	/* GET /api/health: "OK" */
	ROUTE_ROOT,	/* GET /: the Azure host's readiness probe */
	ROUTE_INFO,	/* GET /api/info: what this runbox offers */
	ROUTE_MCP,	/* POST, GET, DELETE /mcp: MCP's Streamable HTTP (api/mcp_http.h) */
};

struct route_header {
	const char *name; /* matched case-insensitively */
	const char *value;
};

/* One HTTP request, borrowed from the caller. */
struct route_request {
	const char *method;
	const char *path;  /* without the query */
	const char *query; /* raw, without '?', percent-encoded; NULL or "" for none */
	const struct route_header *headers;
	size_t n_headers;
	const char *body;
	size_t body_len;
};

struct route_config {
	const char *token;	 /* RUNBOX_TOKEN; NULL or "" lets everyone in */
	size_t max_body_bytes;	 /* the whole HTTP body (and an envelope's inner Body) */
	size_t max_script_bytes; /* a raw script */
	/*
	 * RUNBOX_ALLOWED_ORIGINS: a request whose Origin header is none of these
	 * gets 403 on every route (a web page must not reach a runbox on a
	 * laptop); NULL or "" lets no page in.  No Origin header: not a browser,
	 * passes.
	 */
	const char *allowed_origins;
};

/* An HTTP answer.  @body is malloc'd and owned by the struct. */
struct route_answer {
	int status;
	const char *content_type; /* static string */
	const char *allow;	  /* the Allow header of a 405, else NULL */
	unsigned retry_after;	  /* seconds for Retry-After (503), 0 for none */
	bool enveloped;		  /* already the Azure host's envelope (route_answer_envelope) */
	char session_id[40];	  /* MCP's Mcp-Session-Id header, "" for none */
	/* A 401 also carries "WWW-Authenticate: Bearer" (RFC 9110 11.6.1, RFC 6750). */
	char *body;
	size_t len;
};

/* What to do with a request that got past route_match. */
struct route_decision {
	enum route_id route;
	char *run_body; /* ROUTE_RUN/ROUTE_AZURE: the contract request (malloc'd) */
	size_t run_len;
	/*
	 * Set when run_body is a raw script wrapped here: the wrapper, not what
	 * the client sent (checked against the caps already), may be longer
	 * than RUNBOX_MAX_BODY_BYTES (executor_opts.max_body_bytes).
	 */
	size_t wrapped_len;
	bool azure; /* wrap the answer in the Azure host's envelope */
};

/*
 * The path of a request target in absolute form ("http://host/api/run",
 * which RFC 9112 3.2.2 says a server MUST accept): what follows the
 * authority, "/" when nothing does.  Any other target is returned as is.
 */
const char *route_origin_path(const char *target);

/*
 * Which route @rq's method, path and headers select (the body and query are
 * not looked at).  Returns the route, or ROUTE_NONE with *ret_answer filled
 * (404, 403 for an Origin not allowed, 405 with Allow, 401, 413 when a
 * Content-Length header already says the body is over the cap).
 * *ret_answer must then be freed.
 */
enum route_id route_match(const struct route_config *cfg, const struct route_request *rq,
			  struct route_answer *ret_answer);

/*
 * Turn the whole request of a matched @route into *ret.  For ROUTE_RUN and
 * ROUTE_AZURE this builds the contract request: the body itself when its
 * Content-Type is application/json (any case, any parameters), otherwise a
 * raw script {"script": body, "timeout_s": ?timeout_s, "language": ?language}.
 * An empty body is refused (empty_body), and so is a query parameter other
 * than those (code, the platform's function key, always passes;
 * timeout_s and language only with a raw script): unknown_parameter.  An
 * envelope's Body is decoded as the host encodes it: base64 for an
 * application/octet-stream or multipart Content-Type, text otherwise; its
 * Query is an object or that object as a JSON string.
 * Returns 0 with *ret to be released by route_decision_free(), or < 0 with
 * *ret_answer filled (400, 401, 404, 405 or 413; inside the envelope for
 * ROUTE_AZURE) and nothing in *ret to free.
 */
int route_prepare(const struct route_config *cfg, enum route_id route,
		  const struct route_request *rq, struct route_decision *ret,
		  struct route_answer *ret_answer);

/* The largest body @route accepts (an envelope carries an escaped body). */
size_t route_body_cap(const struct route_config *cfg, enum route_id route);

/*
 * Both steps.  Returns 0 with *ret to run or answer (GET routes need no run),
 * or < 0 with *ret_answer filled and nothing in *ret to free.
 */
int route_decide(const struct route_config *cfg, const struct route_request *rq,
		 struct route_decision *ret, struct route_answer *ret_answer);

void route_decision_free(struct route_decision *d);

/*
 * The answer to a run: @r and @err and @json as executor_run returned them
 * (@json is taken over, may be NULL).  200 with the response when the
 * program ran, else the fault's status (400, 413, 503 + Retry-After, 500)
 * with the contract's JSON error.  When @d->azure the HTTP status is 200
 * and the body is the host's envelope carrying the real status.  Returns 0,
 * or -ENOMEM with a plain 500 answer (route_answer_free is still safe).
 */
int route_answer_run(const struct route_decision *d, int r, const struct rb_err *err, char *json,
		     struct route_answer *ret);

/*
 * Wrap @a in the Azure host's envelope (HTTP 200, the real status inside),
 * unless it is one already.  Every answer to a request for POST /run goes
 * out so, whatever refused it (a full queue, a body over the cap, a wrong
 * method): the host fails any other status.  Returns 0, or -ENOMEM with a
 * plain 500 in @a.
 */
int route_answer_envelope(struct route_answer *a);

/* True when @path (origin or absolute form) is the Azure envelope's, /run. */
bool route_is_azure_path(const char *path);

/* The answer for a refusal decided outside the executor (@err's fault gives the status). */
int route_answer_refused(const struct route_decision *d, const struct rb_err *err,
			 struct route_answer *ret);

/* A 200 of @content_type with a copy of @body. */
int route_answer_ok(const char *content_type, const char *body, size_t len,
		    struct route_answer *ret);

void route_answer_free(struct route_answer *a);

/* The value of header @name (case-insensitive), or NULL. */
const char *route_header(const struct route_request *rq, const char *name);

/* True when @content_type is application/json, whatever its case and parameters. */
bool route_is_json(const char *content_type);

/* Whether @origin (an Origin header, NULL when absent) may call: see route_config. */
bool route_origin_ok(const char *allowed, const char *origin);

/* Constant-time check of an "Authorization: Bearer <token>" value. */
bool route_token_ok(const char *token, const char *authorization);

#endif
