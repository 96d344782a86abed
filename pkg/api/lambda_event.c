/*
 * lambda_event: payload classification, proxy events to route requests,
 * and the Runtime API's answer shapes (see lambda_event.h).
 */
#define _GNU_SOURCE
#include "api/lambda_event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "contract/response.h"

#define MAX_HEADERS 200

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* The first member of an object or array, NULL for anything else. */
static const cJSON *first(const cJSON *o)
{
	return cJSON_IsObject(o) || cJSON_IsArray(o) ? o->child : NULL;
}

static enum lambda_event_kind kind_of(const cJSON *root)
{
	const cJSON *rc = get(root, "requestContext");

	if (!cJSON_IsObject(root))
		return LAMBDA_EVENT_DIRECT;
	if (get(root, "httpMethod"))
		return LAMBDA_EVENT_HTTP_V1;
	if (get(root, "rawPath") || cJSON_IsObject(get(rc, "http")))
		return LAMBDA_EVENT_HTTP_V2;
	return LAMBDA_EVENT_DIRECT;
}

static int invalid(struct rb_err *err, const char *field, const char *what)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_event", field,
		       "The Lambda proxy event is malformed: %s.", what);
}

/* Percent-encode @s onto @out at *len (sized by the caller: 3 bytes a byte). */
static void pct(const char *s, char *out, size_t *len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (strchr("-._~", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')) {
			out[(*len)++] = (char)*p;
			continue;
		}
		out[(*len)++] = '%';
		out[(*len)++] = hex[*p >> 4];
		out[(*len)++] = hex[*p & 15];
	}
}

static size_t pair_bound(const char *k, const cJSON *v)
{
	return strlen(k) * 3 + (cJSON_IsString(v) ? strlen(v->valuestring) * 3 : 0) + 3;
}

static void add_pair(char *q, size_t *len, const char *k, const char *v)
{
	if (*len)
		q[(*len)++] = '&';
	pct(k, q, len);
	q[(*len)++] = '=';
	pct(v, q, len);
}

/* Whether @root's @key is absent, null or an object: v1_query() reads only those. */
static bool query_object(const cJSON *root, const char *key)
{
	const cJSON *o = get(root, key);

	return !o || cJSON_IsNull(o) || cJSON_IsObject(o);
}

/*
 * REST API events carry the query decoded, as name → value (and name →
 * [values]); the router wants the raw, percent-encoded string back.
 */
static char *v1_query(const cJSON *root)
{
	const cJSON *multi = get(root, "multiValueQueryStringParameters");
	const cJSON *single = get(root, "queryStringParameters");
	const cJSON *src = cJSON_IsObject(multi) ? multi : single;
	const cJSON *kv, *v;
	size_t bound = 1, len = 0;
	char *q;

	for (kv = first(src); kv; kv = kv->next) {
		bound += pair_bound(kv->string, kv);
		for (v = first(kv); v; v = v->next)
			bound += pair_bound(kv->string, v);
	}
	q = malloc(bound);
	if (!q)
		return NULL;
	for (kv = first(src); kv; kv = kv->next) {
		if (cJSON_IsString(kv))
			add_pair(q, &len, kv->string, kv->valuestring);
		for (v = first(kv); v; v = v->next)
			if (cJSON_IsString(v))
				add_pair(q, &len, kv->string, v->valuestring);
	}
	q[len] = '\0';
	return q;
}

/* Header values that are strings; names are matched case-insensitively later. */
static int headers_of(const cJSON *root, struct lambda_http *h, struct rb_err *err)
{
	const cJSON *src = get(root, "headers"), *kv;
	size_t n = 0;

	if (src && !cJSON_IsObject(src) && !cJSON_IsNull(src))
		return invalid(err, "headers", "\"headers\" is not an object");
	h->headers = calloc(MAX_HEADERS, sizeof(*h->headers));
	if (!h->headers)
		return rb_fail_sys(err, ENOMEM, "lambda event headers");
	for (kv = first(src); kv; kv = kv->next) {
		if (!cJSON_IsString(kv))
			continue;
		if (n == MAX_HEADERS)
			return invalid(err, "headers", "more than 200 headers");
		h->headers[n].name = kv->string;
		h->headers[n++].value = kv->valuestring;
	}
	h->rq.headers = h->headers;
	h->rq.n_headers = n;
	return 0;
}

static int body_of(const cJSON *root, size_t max_body, struct lambda_http *h, struct rb_err *err)
{
	const cJSON *b = get(root, "body"), *enc = get(root, "isBase64Encoded");
	const char *src;
	size_t n, bad = 0;
	long dec;

	if (b && !cJSON_IsString(b) && !cJSON_IsNull(b))
		return invalid(err, "body", "\"body\" is not a string");
	if (enc && !cJSON_IsBool(enc))
		return invalid(err, "isBase64Encoded", "\"isBase64Encoded\" is not a boolean");
	/* No body (absent or null) is an empty one, encoded or not. */
	src = cJSON_IsString(b) ? cJSON_GetStringValue(b) : "";
	n = strlen(src);
	h->body = malloc(n + 1);
	if (!h->body)
		return rb_fail_sys(err, ENOMEM, "lambda event body");
	if (!cJSON_IsTrue(enc)) {
		memcpy(h->body, src, n + 1);
	} else {
		dec = b64_decode(src, n, (unsigned char *)h->body, &bad);
		if (dec < 0)
			return invalid(err, "body", "the base64 body does not decode");
		n = (size_t)dec;
		h->body[n] = '\0';
	}
	if (n > max_body)
		return rb_fail(err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
			       "The request body is larger than the limit of %zu bytes.", max_body);
	h->rq.body = h->body;
	h->rq.body_len = n;
	return 0;
}

static const char *string_at(const cJSON *o)
{
	return cJSON_IsString(o) ? o->valuestring : NULL;
}

static int request_line(const cJSON *root, struct lambda_http *h, struct rb_err *err)
{
	const cJSON *http = get(get(root, "requestContext"), "http");
	bool v2 = h->kind == LAMBDA_EVENT_HTTP_V2;

	h->rq.method = string_at(v2 ? get(http, "method") : get(root, "httpMethod"));
	h->rq.path = string_at(v2 ? get(root, "rawPath") : get(root, "path"));
	if (v2 && !h->rq.path)
		h->rq.path = string_at(get(http, "path"));
	if (!h->rq.method || !*h->rq.method)
		return invalid(err, v2 ? "requestContext.http.method" : "httpMethod",
			       "it names no HTTP method");
	if (!h->rq.path || h->rq.path[0] != '/')
		return invalid(err, v2 ? "rawPath" : "path", "it names no path starting with /");
	if (!v2 && !query_object(root, "queryStringParameters"))
		return invalid(err, "queryStringParameters", "it is not an object");
	if (!v2 && !query_object(root, "multiValueQueryStringParameters"))
		return invalid(err, "multiValueQueryStringParameters", "it is not an object");
	if (v2)
		h->query = strdup(string_at(get(root, "rawQueryString")) ?: "");
	else
		h->query = v1_query(root);
	if (!h->query)
		return rb_fail_sys(err, ENOMEM, "lambda event query");
	h->rq.query = h->query;
	return 0;
}

int lambda_event_parse(const char *event, size_t n, size_t max_body, struct lambda_http *ret,
		       struct rb_err *err)
{
	struct lambda_http h = {0};
	int r;

	h.root = cJSON_ParseWithLength(event, n);
	h.kind = kind_of(h.root);
	ret->kind = h.kind;
	if (h.kind == LAMBDA_EVENT_DIRECT) {
		cJSON_Delete(h.root);
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	r = request_line(h.root, &h, err);
	if (r >= 0)
		r = headers_of(h.root, &h, err);
	if (r >= 0)
		r = body_of(h.root, max_body, &h, err);
	if (r < 0) {
		enum lambda_event_kind kind = h.kind;

		lambda_http_free(&h);
		memset(ret, 0, sizeof(*ret));
		ret->kind = kind; /* to shape the refusal as the event's kind wants */
		return r;
	}
	*ret = h;
	return 0;
}

void lambda_http_free(struct lambda_http *h)
{
	cJSON_Delete(h->root);
	free(h->headers);
	free(h->query);
	free(h->body);
	memset(h, 0, sizeof(*h));
}

/* A raw item taking @lit over. */
static bool add_raw(cJSON *o, const char *key, char *lit)
{
	cJSON *raw = lit ? cJSON_CreateRaw("") : NULL;

	if (!raw) {
		free(lit);
		return false;
	}
	free(raw->valuestring);
	raw->valuestring = lit;
	return cJSON_AddItemToObject(o, key, raw);
}

char *lambda_proxy_response(const struct route_answer *a)
{
	cJSON *o = cJSON_CreateObject(), *hd = NULL;
	char *out = NULL, ra[24];
	bool ok = o && cJSON_AddNumberToObject(o, "statusCode", a->status) &&
		  (hd = cJSON_AddObjectToObject(o, "headers")) &&
		  cJSON_AddStringToObject(hd, "Content-Type",
					  a->content_type ? a->content_type : "text/plain");

	if (ok && a->allow)
		ok = cJSON_AddStringToObject(hd, "Allow", a->allow);
	if (ok && a->status == 401)
		ok = cJSON_AddStringToObject(hd, "WWW-Authenticate", "Bearer");
	if (ok && a->retry_after) {
		snprintf(ra, sizeof(ra), "%u", a->retry_after);
		ok = cJSON_AddStringToObject(hd, "Retry-After", ra);
	}
	if (ok)
		ok = add_raw(o, "body", response_json_string(a->body ? a->body : "", a->len)) &&
		     cJSON_AddFalseToObject(o, "isBase64Encoded");
	if (ok)
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

size_t lambda_proxy_cost(const char *json, size_t len)
{
	size_t cost = len + 2; /* its quotes */

	/* The contract's JSON holds no raw control characters: only these grow. */
	for (size_t i = 0; i < len; i++)
		cost += json[i] == '"' || json[i] == '\\';
	return cost;
}

char *lambda_error_body(const char *type, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *out = NULL;

	if (o && add_raw(o, "errorMessage", response_json_string(msg, strlen(msg))) &&
	    cJSON_AddStringToObject(o, "errorType", type) &&
	    cJSON_AddArrayToObject(o, "stackTrace"))
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

const char *lambda_error_type(const struct rb_err *err)
{
	if (strcmp(err->code, "deadline_exceeded") == 0)
		return "Runtime.DeadlineExceeded";
	if (strcmp(err->code, "capacity_exhausted") == 0)
		return "Runtime.CapacityExhausted";
	switch (err->fault) {
	case RB_FAULT_UNAVAILABLE:
		return "Runtime.SandboxUnavailable";
	case RB_FAULT_REQUEST:
	case RB_FAULT_TOO_LARGE:
	case RB_FAULT_HEADERS:
	case RB_FAULT_NOT_FOUND:
	case RB_FAULT_CONFLICT:
		return "Runtime.InvalidRequest";
	default:
		return "Runtime.InternalError";
	}
}

double lambda_timeout_cap(long long deadline_ms, long long now_ms)
{
	if (deadline_ms <= 0)
		return 0;
	return (double)(deadline_ms - now_ms) / 1e3 - LAMBDA_DEADLINE_MARGIN_S;
}

long long lambda_parse_deadline(const char *value)
{
	long long v = 0;
	size_t n = value ? strlen(value) : 0;

	if (n == 0 || n > 15 || strspn(value, "0123456789") != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (value[i] - '0');
	return v;
}

bool lambda_request_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 1 && n <= 128 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Every artifact becomes an omitted one; outputs are cut to @keep bytes. */
static bool shrink_contract(cJSON *r, size_t keep)
{
	cJSON *arts = cJSON_DetachItemFromObjectCaseSensitive(r, "artifacts");
	cJSON *om = cJSON_GetObjectItemCaseSensitive(r, "omitted_artifacts");
	cJSON *tr = cJSON_GetObjectItemCaseSensitive(r, "truncated"), *a;
	static const char *const outs[] = {"stdout", "stderr"};

	if (!cJSON_IsObject(arts) || !cJSON_IsObject(tr)) {
		cJSON_Delete(arts);
		return false;
	}
	if (!om)
		om = cJSON_AddArrayToObject(r, "omitted_artifacts");
	for (a = arts->child; a; a = a->next) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");
		const char *s = cJSON_IsString(a) ? a->valuestring : c ? c->valuestring : "";
		cJSON *e = cJSON_CreateObject();
		double size = (double)strlen(s ? s : "") * (cJSON_IsString(a) ? 1.0 : 0.75);

		cJSON_AddStringToObject(e, "path", a->string);
		cJSON_AddNumberToObject(e, "size", (double)(long long)size);
		cJSON_AddStringToObject(e, "reason", "response_too_large");
		cJSON_AddItemToArray(om, e);
	}
	cJSON_Delete(arts);
	cJSON_AddObjectToObject(r, "artifacts");
	for (int i = 0; i < 2; i++) {
		cJSON *s = cJSON_GetObjectItemCaseSensitive(r, outs[i]);

		size_t cut = keep;

		if (!cJSON_IsString(s) || strlen(s->valuestring) <= keep)
			continue;
		/* Cut on a UTF-8 boundary: cJSON prints the bytes as they are. */
		while (cut > 0 && ((unsigned char)s->valuestring[cut] & 0xC0) == 0x80)
			cut--;
		s->valuestring[cut] = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(tr, outs[i]);
		cJSON_AddTrueToObject(tr, outs[i]);
	}
	return true;
}

char *lambda_shrink_response(const char *json, size_t keep)
{
	cJSON *root = cJSON_Parse(json), *body = cJSON_GetObjectItemCaseSensitive(root, "body");
	cJSON *inner = cJSON_IsString(body) ? cJSON_Parse(body->valuestring) : NULL;
	char *out = NULL, *s;

	if (inner && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "statusCode"))) {
		/* A proxy response: shrink the contract response in its body. */
		s = shrink_contract(inner, keep) ? cJSON_PrintUnformatted(inner) : NULL;
		if (s &&
		    cJSON_ReplaceItemInObjectCaseSensitive(root, "body", cJSON_CreateString(s)))
			out = cJSON_PrintUnformatted(root);
		free(s);
	} else if (root && shrink_contract(root, keep)) {
		out = cJSON_PrintUnformatted(root);
	}
	cJSON_Delete(inner);
	cJSON_Delete(root);
	return out;
}
