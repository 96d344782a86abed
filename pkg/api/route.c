/*
 * route: the routing table, the raw-script and Azure-envelope translations,
 * and the status mapping of runbox's HTTP front doors (see route.h).
 */
#define _GNU_SOURCE
#include "api/route.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "base/b64.h"
#include "base/jsonscan.h"
#include "contract/response.h"
#include "base/utf8.h"

#define MAX_ENVELOPE_HEADERS 128
/* The envelope's JSON pre-pass (the host adds Metadata: allow it room). */
#define ENVELOPE_MAX_DEPTH  64
#define ENVELOPE_MAX_VALUES 100000
#define QUERY_VALUE_MAX	    64
/* An envelope's Body is a JSON string: escaping may grow the body. */
#define ENVELOPE_GROWTH 2
#define ENVELOPE_SLACK	(256 * 1024)
/* A JSON-RPC message around a tool's arguments, which become the contract request. */
#define MCP_SLACK (64 * 1024)

static const char json_type[] = "application/json";

struct route_entry {
	const char *path;
	enum route_id id;
	const char *methods[4]; /* allowed; NULL-terminated; none: the route decides */
	const char *allow;	/* the Allow header of a 405 */
	bool needs_token;
};

/* Health and the root probe stay open: the Azure host probes them bare. */
/* clang-format off */
static const struct route_entry routes[] = {
    {"/api/run", ROUTE_RUN, {"POST", NULL}, "POST", true},
    {"/run", ROUTE_AZURE, {"POST", NULL}, "POST", false},
    {"/api/health", ROUTE_HEALTH, {"GET", "HEAD", NULL}, "GET, HEAD", false},
    {"/", ROUTE_ROOT, {"GET", "HEAD", NULL}, "GET, HEAD", false},
    {"/api/info", ROUTE_INFO, {"GET", "HEAD", NULL}, "GET, HEAD", true},
    /* Which methods /mcp offers depends on the server's mode (mcp_http_check). */
    {"/mcp", ROUTE_MCP, {NULL}, NULL, true},
};
/* clang-format on */

/* ---- answers ---- */

static int answer_set(struct route_answer *a, int status, const char *type, char *body)
{
	memset(a, 0, sizeof(*a));
	a->status = status;
	a->content_type = type;
	a->body = body;
	a->len = body ? strlen(body) : 0;
	if (status == 503)
		a->retry_after = ROUTE_RETRY_AFTER_S;
	if (body)
		return 0;
	/* Out of memory: a fixed answer that needs nothing freed. */
	a->status = 500;
	a->content_type = json_type;
	a->retry_after = 0;
	return -ENOMEM;
}

void route_answer_free(struct route_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

int route_answer_ok(const char *content_type, const char *body, size_t len,
		    struct route_answer *ret)
{
	char *copy = malloc(len + 1);

	if (copy) {
		memcpy(copy, body, len);
		copy[len] = '\0';
	}
	answer_set(ret, 200, content_type, copy);
	ret->len = copy ? len : 0;
	return copy ? 0 : -ENOMEM;
}

/* A plain (unwrapped) error answer with the contract's JSON error body. */
static int answer_error(struct route_answer *a, int status, const struct rb_err *err)
{
	return answer_set(a, status, json_type, response_error(err));
}

static int answer_errorf(struct route_answer *a, int status, const char *code, const char *field,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int answer_errorf(struct route_answer *a, int status, const char *code, const char *field,
			 const char *fmt, ...)
{
	struct rb_err err = {.fault = RB_FAULT_REQUEST};
	va_list ap;

	snprintf(err.code, sizeof(err.code), "%s", code);
	snprintf(err.field, sizeof(err.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	answer_error(a, status, &err);
	return -EINVAL;
}

/*
 * The Azure host's output binding: the real answer travels inside an HTTP 200
 * as {"Outputs":{"res":{"statusCode","headers","body"}},"Logs":[],"ReturnValue":"<status>"}.
 * The host treats any other status as the handler's failure (its client
 * gets a 500 and loses Retry-After), so every answer on POST /run is one.
 * ReturnValue is never null (the host logs null as a missing value); the
 * function binds its answer to "res", not "$return", so it carries only
 * the status, as text.
 */
static int envelope(struct route_answer *a)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *res = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "Outputs"), "res");
	cJSON *hdr = cJSON_AddObjectToObject(res, "headers");
	char retry[16], status[16];
	char *out = NULL;
	int r;

	snprintf(retry, sizeof(retry), "%u", a->retry_after);
	snprintf(status, sizeof(status), "%d", a->status);
	if (hdr && cJSON_AddNumberToObject(res, "statusCode", a->status) &&
	    cJSON_AddStringToObject(hdr, "Content-Type", a->content_type) &&
	    (!a->retry_after || cJSON_AddStringToObject(hdr, "Retry-After", retry)) &&
	    (!a->allow || cJSON_AddStringToObject(hdr, "Allow", a->allow)) &&
	    (a->status != 401 || cJSON_AddStringToObject(hdr, "WWW-Authenticate", "Bearer")) &&
	    cJSON_AddStringToObject(res, "body", a->body ? a->body : "") &&
	    cJSON_AddArrayToObject(root, "Logs") &&
	    cJSON_AddStringToObject(root, "ReturnValue", status))
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	route_answer_free(a);
	r = answer_set(a, 200, json_type, out);
	a->enveloped = r >= 0;
	return r;
}

static int maybe_envelope(bool azure, struct route_answer *a, int r)
{
	if (!azure || a->enveloped || (r == -ENOMEM && !a->body))
		return r;
	return envelope(a) < 0 ? -ENOMEM : r;
}

int route_answer_envelope(struct route_answer *a)
{
	return maybe_envelope(true, a, 0);
}

bool route_is_azure_path(const char *path)
{
	return path && strcmp(route_origin_path(path), "/run") == 0;
}

int route_answer_refused(const struct route_decision *d, const struct rb_err *err,
			 struct route_answer *ret)
{
	int r = answer_error(ret, rb_fault_http_status(err->fault), err);

	return maybe_envelope(d && d->azure, ret, r);
}

int route_answer_run(const struct route_decision *d, int r, const struct rb_err *err, char *json,
		     struct route_answer *ret)
{
	int status = r >= 0 ? 200 : rb_fault_http_status(err->fault);

	if (!json)
		return route_answer_refused(d, err, ret);
	answer_set(ret, status, json_type, json);
	return maybe_envelope(d && d->azure, ret, 0);
}

/* ---- headers, auth ---- */

const char *route_header(const struct route_request *rq, const char *name)
{
	for (size_t i = 0; i < rq->n_headers; i++)
		if (rq->headers[i].name && strcasecmp(rq->headers[i].name, name) == 0)
			return rq->headers[i].value;
	return NULL;
}

bool route_is_json(const char *ct)
{
	size_t n = sizeof(json_type) - 1;

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json_type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Compare every byte of the longer string, so timing says nothing of the token. */
static bool equal_const_time(const char *a, size_t na, const char *b, size_t nb)
{
	size_t n = na > nb ? na : nb;
	unsigned char diff = na != nb;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)((i < na ? a[i] : 0) ^ (i < nb ? b[i] : 0));
	return diff == 0;
}

bool route_token_ok(const char *token, const char *authorization)
{
	static const char scheme[] = "bearer ";
	size_t n = sizeof(scheme) - 1;

	if (!token || !*token)
		return true;
	if (!authorization || strncasecmp(authorization, scheme, n) != 0)
		return false;
	authorization += n;
	while (*authorization == ' ' || *authorization == '\t')
		authorization++;
	/* RFC 9110 5.5: whitespace around a field value is not part of it. */
	n = strlen(authorization);
	while (n && (authorization[n - 1] == ' ' || authorization[n - 1] == '\t'))
		n--;
	return equal_const_time(token, strlen(token), authorization, n);
}

bool route_origin_ok(const char *allowed, const char *origin)
{
	const char *p = allowed ? allowed : "";
	size_t n, len;

	if (!origin)
		return true;
	len = strlen(origin);
	while (len && (origin[len - 1] == ' ' || origin[len - 1] == '\t'))
		len--;
	while (*p) {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if ((n == 1 && *p == '*') || (n && n == len && strncasecmp(p, origin, n) == 0))
			return true;
		p += n;
	}
	return false;
}

static int forbidden_origin(const char *origin, struct route_answer *a)
{
	return answer_errorf(a, 403, "origin_not_allowed", NULL,
			     "Requests from web pages of the origin '%.200s' are refused: a page "
			     "may call this runbox only when its origin is in "
			     "RUNBOX_ALLOWED_ORIGINS.",
			     origin);
}

static int unauthorized(struct route_answer *a)
{
	return answer_errorf(a, 401, "unauthorized", NULL,
			     "This runbox needs a token: send the header "
			     "'Authorization: Bearer <RUNBOX_TOKEN>'.");
}

/* ---- matching ---- */

static const struct route_entry *find_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

static bool method_allowed(const struct route_entry *e, const char *method)
{
	if (!e->methods[0])
		return true;
	for (size_t i = 0; e->methods[i]; i++)
		if (strcmp(e->methods[i], method) == 0)
			return true;
	return false;
}

size_t route_body_cap(const struct route_config *cfg, enum route_id route)
{
	if (route == ROUTE_AZURE)
		return cfg->max_body_bytes * ENVELOPE_GROWTH + ENVELOPE_SLACK;
	if (route == ROUTE_RUN)
		return cfg->max_body_bytes;
	if (route == ROUTE_MCP)
		return cfg->max_body_bytes + MCP_SLACK;
	return 0;
}

static int body_too_large(struct route_answer *a, size_t cap)
{
	struct rb_err err = {0};

	rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
		"The request body is larger than the limit of %zu bytes.", cap);
	return answer_error(a, 413, &err);
}

/* The Content-Length declared, or 0 when there is none; ULLONG_MAX past its range. */
static unsigned long long declared_length(const struct route_request *rq)
{
	const char *cl = route_header(rq, "Content-Length");
	char *end;
	unsigned long long n;

	if (!cl)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return end == cl ? 0 : errno == ERANGE ? ULLONG_MAX : n;
}

static int script_too_large(const struct route_config *cfg, size_t n, struct route_answer *a)
{
	struct rb_err err = {0};

	rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "script_too_large", "script",
		"The script is %zu bytes, over the limit of %zu bytes.", n, cfg->max_script_bytes);
	return answer_error(a, 413, &err);
}

static enum route_id match(const struct route_config *cfg, const struct route_request *rq,
			   struct route_answer *a)
{
	const struct route_entry *e = find_route(rq->path ? rq->path : "");

	if (!e) {
		answer_errorf(
		    a, 404, "not_found", NULL,
		    "No route '%.200s': POST /api/run runs a request, POST /mcp speaks MCP; "
		    "GET /api/health, GET /api/info and POST /run (the Azure host's "
		    "envelope) are the others.",
		    rq->path ? rq->path : "");
		return ROUTE_NONE;
	}
	if (!route_origin_ok(cfg->allowed_origins, route_header(rq, "Origin"))) {
		forbidden_origin(route_header(rq, "Origin"), a);
		return ROUTE_NONE;
	}
	if (!rq->method || !method_allowed(e, rq->method)) {
		answer_errorf(a, 405, "method_not_allowed", NULL,
			      "%s does not accept %.20s; use %s.", e->path,
			      rq->method ? rq->method : "(none)", e->allow);
		a->allow = e->allow;
		return ROUTE_NONE;
	}
	if (e->needs_token && !route_token_ok(cfg->token, route_header(rq, "Authorization"))) {
		unauthorized(a);
		return ROUTE_NONE;
	}
	return e->id;
}

const char *route_origin_path(const char *target)
{
	const char *p;

	if (strncasecmp(target, "http://", 7) == 0)
		p = target + 7;
	else if (strncasecmp(target, "https://", 8) == 0)
		p = target + 8;
	else
		return target;
	p += strcspn(p, "/");
	return *p ? p : "/";
}

enum route_id route_match(const struct route_config *cfg, const struct route_request *rq,
			  struct route_answer *ret_answer)
{
	enum route_id id = match(cfg, rq, ret_answer);
	unsigned long long n = id != ROUTE_NONE ? declared_length(rq) : 0;

	/* A Content-Length over the cap is refused before a byte of the body is read. */
	if (n > route_body_cap(cfg, id)) {
		body_too_large(ret_answer, route_body_cap(cfg, id));
		return ROUTE_NONE;
	}
	/* ... and so is a raw script (not JSON) over the script cap. */
	if (id == ROUTE_RUN && n > cfg->max_script_bytes &&
	    !route_is_json(route_header(rq, "Content-Type"))) {
		script_too_large(cfg, (size_t)n, ret_answer);
		return ROUTE_NONE;
	}
	return id;
}

/* ---- the raw script ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Percent-decode the part of a query pair that starts at @p: the name (up
 * to '=' or '&') when @name, else the value (up to '&').  Returns the bytes
 * of @p read, or -1 when it is longer than @size - 1 or badly encoded.
 */
static long query_part(const char *p, bool name, char *out, size_t size)
{
	const char *start = p;
	size_t n = 0;

	for (; *p && *p != '&' && !(name && *p == '='); p++) {
		int c = (unsigned char)*p;

		if (c == '%' && (hexval(p[1]) < 0 || hexval(p[2]) < 0))
			return -1;
		if (c == '%') {
			c = hexval(p[1]) * 16 + hexval(p[2]);
			p += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (n + 1 >= size || c == 0)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return p - start;
}

/* The next pair of @q at *@p: its name decoded into @name, *@p past it.  1, 0 at the end, -1. */
static int query_next(const char **p, char *name, size_t size, const char **ret_value)
{
	long n;

	while (**p == '&')
		(*p)++;
	if (!**p)
		return 0;
	n = query_part(*p, true, name, size);
	if (n < 0)
		return -1;
	*ret_value = (*p)[n] == '=' ? *p + n + 1 : NULL;
	*p += n;
	while (**p && **p != '&')
		(*p)++;
	return 1;
}

/*
 * Percent-decode the value of @name in the query @q into @out.  Returns 1
 * when found, 0 when absent, -1 when it is too long or badly encoded.
 */
static int query_get(const char *q, const char *name, char *out, size_t size)
{
	char key[QUERY_VALUE_MAX];
	const char *p = q ? q : "", *value;
	int r;

	while ((r = query_next(&p, key, sizeof(key), &value)) > 0)
		if (strcmp(key, name) == 0)
			return query_part(value ? value : "", false, out, size) < 0 ? -1 : 1;
	return r;
}

/*
 * Whether query parameter @name may come with a body that is JSON (@json)
 * or a raw script.  "code" is the platform's own (an Azure function key)
 * and always passes; timeout_s and language shape a raw script only.
 * Returns 0, or -EINVAL with *a filled (400 unknown_parameter).
 */
static int check_param(const char *name, bool json, struct route_answer *a)
{
	static const char *const raw_only[] = {"timeout_s", "language"};

	if (strcmp(name, "code") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(raw_only) / sizeof(raw_only[0]); i++) {
		if (strcmp(name, raw_only[i]) != 0)
			continue;
		if (!json)
			return 0;
		return answer_errorf(a, 400, "unknown_parameter", name,
				     "The query parameter '%s' goes with a raw script body only; "
				     "with Content-Type: application/json put \"%s\" in the JSON "
				     "request.",
				     name, name);
	}
	return answer_errorf(a, 400, "unknown_parameter", name,
			     "Unknown query parameter '%.64s'. The query may hold timeout_s and "
			     "language (with a raw script body) and code (the platform's function "
			     "key), nothing else.",
			     name);
}

/* Every parameter of the raw query @q passes check_param. */
static int check_query(const char *q, bool json, struct route_answer *a)
{
	char name[QUERY_VALUE_MAX];
	const char *p = q ? q : "", *value;
	int r;

	while ((r = query_next(&p, name, sizeof(name), &value)) > 0)
		if (check_param(name, json, a) < 0)
			return -EINVAL;
	if (r < 0)
		return answer_errorf(a, 400, "invalid_query", NULL,
				     "A query parameter's name is badly percent-encoded or longer "
				     "than %d bytes.",
				     QUERY_VALUE_MAX - 1);
	return 0;
}

static int empty_body(struct route_answer *a)
{
	return answer_errorf(a, 400, "empty_body", NULL,
			     "The request body is empty; send a JSON object such as "
			     "{\"script\": \"print(1)\"} with Content-Type: application/json, or "
			     "the script itself as text.");
}

/* The query parameters a raw script may carry, as strings (NULL when absent). */
struct raw_params {
	const char *timeout_s;
	const char *language;
};

/* Skip a run of digits; whether there was one. */
static bool skip_digits(const char **p)
{
	const char *start = *p;

	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > start;
}

/*
 * A number as JSON writes it (what "timeout_s" takes in a JSON body):
 * strtod alone would also take hex, "inf", "nan" and leading blanks.
 */
static bool json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (!skip_digits(&s))
		return false;
	if (*s == '.' && (s++, !skip_digits(&s)))
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!skip_digits(&s))
			return false;
	}
	return *s == '\0';
}

static int add_timeout(cJSON *o, const char *s, struct route_answer *a)
{
	char *end = NULL;
	double t;

	if (!s)
		return 0;
	errno = 0;
	t = json_number(s) ? strtod(s, &end) : 0;
	if (!end || end == s || *end || (errno && errno != ERANGE))
		return answer_errorf(a, 400, "invalid_timeout", "timeout_s",
				     "The query parameter timeout_s must be a number of seconds, "
				     "got '%.64s'.",
				     s);
	/* Out of a double's range (1e400), as in a JSON body: the contract clamps it. */
	if (isinf(t))
		t = copysign(DBL_MAX, t);
	return cJSON_AddNumberToObject(o, "timeout_s", t) ? 0 : -ENOMEM;
}

/* {"script": body, ...}: the body must be text, a script cannot hold NUL or bad UTF-8. */
static int raw_request(const struct route_config *cfg, const char *body, size_t n,
		       const struct raw_params *p, struct route_decision *d, struct route_answer *a)
{
	size_t bad = 0;
	cJSON *o;
	char *s;
	int r;

	if (n > cfg->max_script_bytes)
		return script_too_large(cfg, n, a) < 0 ? -ENOMEM : -EINVAL;
	if (memchr(body, 0, n) || !utf8_valid(body, n, &bad))
		return answer_errorf(
		    a, 400, "invalid_script", "script",
		    "Request body must be valid UTF-8 text. A raw script holds no NUL "
		    "bytes and no invalid UTF-8 (byte %zu does not qualify); send "
		    "Content-Type: application/json for a JSON request.",
		    memchr(body, 0, n) ? (size_t)((const char *)memchr(body, 0, n) - body) : bad);
	o = cJSON_CreateObject();
	s = malloc(n + 1);
	if (s) {
		memcpy(s, body, n);
		s[n] = '\0';
	}
	r = s && o && cJSON_AddStringToObject(o, "script", s) ? 0 : -ENOMEM;
	free(s);
	if (r >= 0)
		r = add_timeout(o, p->timeout_s, a);
	if (r >= 0 && p->language && !cJSON_AddStringToObject(o, "language", p->language))
		r = -ENOMEM;
	if (r >= 0 && !(d->run_body = cJSON_PrintUnformatted(o)))
		r = -ENOMEM;
	cJSON_Delete(o);
	if (r == -ENOMEM)
		return answer_set(a, 500, json_type, NULL);
	d->run_len = d->run_body ? strlen(d->run_body) : 0;
	d->wrapped_len = d->run_len;
	return r;
}

static int json_request(const char *body, size_t n, struct route_decision *d,
			struct route_answer *a)
{
	d->run_body = malloc(n + 1);
	if (!d->run_body)
		return answer_set(a, 500, json_type, NULL);
	memcpy(d->run_body, body, n);
	d->run_body[n] = '\0';
	d->run_len = n;
	return 0;
}

static int query_param(const char *q, const char *name, char *buf, const char **ret,
		       struct route_answer *a)
{
	int r = query_get(q, name, buf, QUERY_VALUE_MAX);

	*ret = r > 0 ? buf : NULL;
	if (r < 0)
		return answer_errorf(a, 400, "invalid_query", name,
				     "The query parameter %s is badly percent-encoded or longer "
				     "than %d bytes.",
				     name, QUERY_VALUE_MAX - 1);
	return 0;
}

static int prepare_run(const struct route_config *cfg, const struct route_request *rq,
		       struct route_decision *d, struct route_answer *a)
{
	char tbuf[QUERY_VALUE_MAX], lbuf[QUERY_VALUE_MAX];
	struct raw_params p = {0};
	const char *q = rq->query ? rq->query : "", *body = rq->body ? rq->body : "";
	bool json = route_is_json(route_header(rq, "Content-Type"));
	int r;

	if (rq->body_len > cfg->max_body_bytes)
		return body_too_large(a, cfg->max_body_bytes) < 0 ? -ENOMEM : -EINVAL;
	if (rq->body_len == 0)
		return empty_body(a);
	r = check_query(q, json, a);
	if (r >= 0 && json)
		return json_request(body, rq->body_len, d, a);
	if (r >= 0)
		r = query_param(q, "timeout_s", tbuf, &p.timeout_s, a);
	if (r >= 0)
		r = query_param(q, "language", lbuf, &p.language, a);
	if (r >= 0)
		r = raw_request(cfg, body, rq->body_len, &p, d, a);
	return r;
}

/* ---- the Azure envelope ---- */

/* A header or query value is a string, or (the host's way) an array of them. */
static const char *first_string(const cJSON *v)
{
	if (cJSON_IsArray(v))
		v = cJSON_GetArrayItem(v, 0);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static size_t envelope_headers(const cJSON *h, struct route_header *out, size_t max)
{
	size_t n = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, h)
	{
		if (n < max && it->string && first_string(it))
			out[n++] = (struct route_header){it->string, first_string(it)};
	}
	return n;
}

static int bad_envelope(struct route_answer *a, const char *what)
{
	/* "field" names a part of the envelope; the whole of it is no field. */
	const char *field = strncmp(what, "the ", 4) == 0 ? NULL : what;

	return answer_errorf(a, 400, "invalid_envelope", field,
			     "POST /run takes the Azure Functions host's envelope "
			     "{\"Data\":{\"req\":{\"Method\",\"Headers\",\"Query\",\"Body\"}}}; "
			     "%s is missing or malformed.",
			     what);
}

/*
 * The host's Query: an object of strings (or arrays of them), or, as the
 * host serialises it, that object as a JSON string ("{}" when empty).
 * Returns the object (*ret_owned holds what to free), or NULL when it is
 * neither.
 */
static const cJSON *envelope_query(const cJSON *q, cJSON **ret_owned)
{
	*ret_owned = NULL;
	if (!q || cJSON_IsNull(q))
		return *ret_owned = cJSON_CreateObject();
	if (cJSON_IsString(q))
		q = *ret_owned = cJSON_Parse(q->valuestring);
	return cJSON_IsObject(q) ? q : NULL;
}

/* The query of the envelope, checked like a forwarded request's. */
static int envelope_params(const cJSON *query, bool json, struct raw_params *ret,
			   struct route_answer *a)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, query)
	{
		if (check_param(it->string, json, a) < 0)
			return -EINVAL;
	}
	ret->timeout_s = first_string(cJSON_GetObjectItemCaseSensitive(query, "timeout_s"));
	ret->language = first_string(cJSON_GetObjectItemCaseSensitive(query, "language"));
	return 0;
}

/*
 * The host sends an application/octet-stream or multipart body as base64
 * (the bytes of the body, serialised as a JSON byte array is) and every
 * other body as its text.
 */
static bool host_encodes_base64(const char *content_type)
{
	char type[128];
	size_t n = content_type ? strcspn(content_type, ";") : 0;

	while (n && (*content_type == ' ' || *content_type == '\t')) {
		content_type++;
		n--;
	}
	while (n && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
		n--;
	if (!n || n >= sizeof(type))
		return false;
	memcpy(type, content_type, n);
	type[n] = '\0';
	return strcasecmp(type, "application/octet-stream") == 0 || strcasestr(type, "multipart/");
}

/* Data.req.Body as bytes: *ret_body (malloc'd, NUL-terminated) and its length. */
static int envelope_body(const cJSON *body, const char *content_type, char **ret_body,
			 size_t *ret_len, struct route_answer *a)
{
	const char *text = cJSON_IsString(body) ? body->valuestring : "";
	size_t n = strlen(text), bad = 0;
	long len;

	*ret_body = NULL;
	/* An object or array is a JSON body the host (or a test tool) sent parsed. */
	if (cJSON_IsObject(body) || cJSON_IsArray(body)) {
		*ret_body = cJSON_PrintUnformatted(body);
		if (!*ret_body) {
			answer_set(a, 500, json_type, NULL);
			return -ENOMEM;
		}
		*ret_len = strlen(*ret_body);
		return 1;
	}
	if (body && !cJSON_IsString(body) && !cJSON_IsNull(body))
		return bad_envelope(a, "Data.req.Body");
	*ret_body = malloc(n / 4 * 3 + n + 4);
	if (!*ret_body) {
		answer_set(a, 500, json_type, NULL);
		return -ENOMEM;
	}
	if (!n || !host_encodes_base64(content_type)) {
		memcpy(*ret_body, text, n + 1);
		*ret_len = n;
		return 0;
	}
	len = b64_decode(text, n, (unsigned char *)*ret_body, &bad);
	if (len < 0)
		return answer_errorf(a, 400, "invalid_envelope", "Data.req.Body",
				     "Data.req.Body of a '%.64s' request is base64 as the host "
				     "sends it, but byte %zu is not base64.",
				     content_type, bad);
	(*ret_body)[len] = '\0';
	*ret_len = (size_t)len;
	return 0;
}

static int inner_method_and_token(const struct route_config *cfg, const struct route_request *in,
				  struct route_answer *a)
{
	if (strcasecmp(in->method, "POST") != 0) {
		answer_errorf(a, 405, "method_not_allowed", NULL,
			      "The run function accepts POST only, got %.20s.", in->method);
		a->allow = "POST";
		return -EINVAL;
	}
	/* The host forwards the browser's headers: a page's request is refused here too. */
	if (!route_origin_ok(cfg->allowed_origins, route_header(in, "Origin")))
		return forbidden_origin(route_header(in, "Origin"), a);
	if (!route_token_ok(cfg->token, route_header(in, "Authorization")))
		return unauthorized(a);
	return 0;
}

/* The inner request, routed like a forwarded POST /api/run. */
static int prepare_inner(const struct route_config *cfg, const cJSON *req, struct route_decision *d,
			 struct route_answer *a)
{
	struct route_header hdr[MAX_ENVELOPE_HEADERS];
	const char *method = first_string(cJSON_GetObjectItemCaseSensitive(req, "Method"));
	struct route_request in = {
	    .method = method ? method : "POST",
	    .headers = hdr,
	    .n_headers = envelope_headers(cJSON_GetObjectItemCaseSensitive(req, "Headers"), hdr,
					  MAX_ENVELOPE_HEADERS),
	};
	const char *ct = route_header(&in, "Content-Type");
	cJSON *owned = NULL;
	const cJSON *query = envelope_query(cJSON_GetObjectItemCaseSensitive(req, "Query"), &owned);
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(req, "Body");
	struct raw_params p = {0};
	char *bytes = NULL;
	int r = inner_method_and_token(cfg, &in, a), json;

	if (r >= 0 && !query)
		r = bad_envelope(a, "Data.req.Query");
	if (r >= 0)
		r = envelope_body(body, ct, &bytes, &in.body_len, a);
	json = r > 0 || route_is_json(ct);
	in.body = bytes ? bytes : "";
	if (r >= 0 && in.body_len > cfg->max_body_bytes)
		r = body_too_large(a, cfg->max_body_bytes) < 0 ? -ENOMEM : -EINVAL;
	else if (r >= 0 && in.body_len == 0)
		r = empty_body(a);
	if (r >= 0)
		r = envelope_params(query, json, &p, a);
	if (r >= 0)
		r = json ? json_request(in.body, in.body_len, d, a)
			 : raw_request(cfg, in.body, in.body_len, &p, d, a);
	free(bytes);
	cJSON_Delete(owned);
	return r;
}

static int prepare_azure(const struct route_config *cfg, const struct route_request *rq,
			 struct route_decision *d, struct route_answer *a)
{
	/*
	 * The same pre-pass as a contract body: cJSON keeps NUL-terminated
	 * strings, so a "\u0000" in Body would silently cut the program (or
	 * the inner JSON request) short.
	 */
	static const struct jsonscan_limits jl = {ENVELOPE_MAX_DEPTH, ENVELOPE_MAX_VALUES};
	struct rb_err err = {0};
	cJSON *root = NULL;
	const cJSON *req;
	int r;

	if (jsonscan_check(rq->body ? rq->body : "", rq->body_len, &jl, &err) < 0) {
		if (strcmp(err.code, "invalid_json") == 0 || strcmp(err.code, "not_an_object") == 0)
			r = bad_envelope(a, "the JSON envelope");
		else
			r = answer_error(a, 400, &err) < 0 ? -ENOMEM : -EINVAL;
	} else {
		root = cJSON_ParseWithLength(rq->body, rq->body_len);
		req = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(root, "Data"), "req");
		r = cJSON_IsObject(req) ? prepare_inner(cfg, req, d, a)
					: bad_envelope(a, root ? "Data.req" : "the JSON envelope");
	}
	cJSON_Delete(root);
	/* Every refusal travels in the envelope: the host fails any other answer. */
	return r < 0 ? maybe_envelope(true, a, r) : r;
}

int route_prepare(const struct route_config *cfg, enum route_id route,
		  const struct route_request *rq, struct route_decision *ret,
		  struct route_answer *ret_answer)
{
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->route = route;
	ret->azure = route == ROUTE_AZURE;
	if (route == ROUTE_RUN)
		r = prepare_run(cfg, rq, ret, ret_answer);
	else if (route == ROUTE_AZURE)
		r = prepare_azure(cfg, rq, ret, ret_answer);
	if (r < 0)
		route_decision_free(ret);
	return r < 0 ? r : 0;
}

int route_decide(const struct route_config *cfg, const struct route_request *rq,
		 struct route_decision *ret, struct route_answer *ret_answer)
{
	enum route_id id = route_match(cfg, rq, ret_answer);

	memset(ret, 0, sizeof(*ret));
	if (id == ROUTE_NONE)
		return -EINVAL;
	if (rq->body_len > route_body_cap(cfg, id) && route_body_cap(cfg, id)) {
		body_too_large(ret_answer, route_body_cap(cfg, id));
		return -EINVAL;
	}
	return route_prepare(cfg, id, rq, ret, ret_answer);
}

void route_decision_free(struct route_decision *d)
{
	free(d->run_body);
	d->run_body = NULL;
	d->run_len = 0;
}
