/*
 * mcp_http: the header rules, answers, stateless mode and session table of
 * MCP over HTTP (see mcp_http.h).
 */
#define _GNU_SOURCE
#include "api/mcp_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* What a request without MCP-Protocol-Version speaks (the specification's rule). */
#define VERSION_WITHOUT_HEADER "2025-03-26"

enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_SERVER_ERROR = -32000, /* JSON-RPC's range for an implementation's own refusals */
};

/* ---- answers ---- */

static int answer(struct route_answer *a, int status, const char *type, char *body)
{
	memset(a, 0, sizeof(*a));
	a->status = body ? status : 500;
	a->content_type = type;
	a->body = body;
	a->len = body ? strlen(body) : 0;
	if (a->status == 503)
		a->retry_after = ROUTE_RETRY_AFTER_S;
	return body ? 0 : -ENOMEM;
}

int mcp_http_answer_json(char *line, struct route_answer *ret)
{
	return answer(ret, 200, "application/json", line);
}

int mcp_http_answer_accepted(struct route_answer *ret)
{
	int r = answer(ret, 202, NULL, strdup(""));

	if (r < 0)
		ret->content_type = "application/json";
	return r;
}

static char *rpc_error_body(int rpc_code, const char *code, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_CreateObject();
	char *out = NULL;

	if (o && e && cJSON_AddStringToObject(o, "jsonrpc", "2.0") &&
	    cJSON_AddNullToObject(o, "id") && cJSON_AddNumberToObject(e, "code", rpc_code) &&
	    cJSON_AddStringToObject(e, "message", msg) &&
	    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "data"), "code", code)) {
		cJSON_AddItemToObject(o, "error", e);
		e = NULL;
		out = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(e);
	cJSON_Delete(o);
	return out;
}

int mcp_http_refuse(struct route_answer *ret, int status, int rpc_code, const char *code,
		    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer(ret, status, "application/json", rpc_error_body(rpc_code, code, msg));
	return -EINVAL;
}

int mcp_http_rpc_answer(struct route_answer *a)
{
	cJSON *err = a->body ? cJSON_ParseWithLength(a->body, a->len) : NULL;
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "error"));
	char *body;

	if (!code || !msg) { /* not a contract error: left as it is */
		cJSON_Delete(err);
		return 0;
	}
	body = rpc_error_body(a->status == 400 ? RPC_INVALID_REQUEST : RPC_SERVER_ERROR, code, msg);
	cJSON_Delete(err);
	if (!body)
		return -ENOMEM;
	free(a->body);
	a->body = body;
	a->len = strlen(body);
	a->content_type = "application/json";
	return 0;
}

char *mcp_http_sse_event(const char *line, size_t *ret_len)
{
	char *out = NULL;
	int n = asprintf(&out, "event: message\ndata: %s\n\n", line);

	if (n < 0)
		return NULL;
	*ret_len = (size_t)n;
	return out;
}

/* ---- the headers ---- */

/* Whether the media range at @p (up to ',') admits @type ("text/event-stream"), q > 0. */
static bool range_admits(const char *p, size_t n, const char *type)
{
	const char *semi = memchr(p, ';', n), *slash = strchr(type, '/');
	size_t len = semi ? (size_t)(semi - p) : n;
	const char *q = semi ? strcasestr(semi, "q=") : NULL;

	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (q && q < p + n && strtod(q + 2, NULL) <= 0)
		return false;
	if (len == 3 && strncmp(p, "*/*", 3) == 0)
		return true;
	if (len == (size_t)(slash - type) + 2 && strncasecmp(p, type, len - 1) == 0 &&
	    p[len - 1] == '*')
		return true;
	return len == strlen(type) && strncasecmp(p, type, len) == 0;
}

/* Whether an Accept header admits @type; no Accept admits anything (RFC 9110 12.5.1). */
static bool accepts(const char *accept, const char *type)
{
	const char *p = accept;

	if (!accept)
		return true;
	while (*p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, ",");
		if (n && range_admits(p, n, type))
			return true;
		p += n;
	}
	return false;
}

static bool hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == MCP_SESSION_ID_LEN && s[n] == '\0';
}

static int check_version(const struct route_request *rq, struct mcp_http_request *h,
			 struct route_answer *a)
{
	const char *v = route_header(rq, "MCP-Protocol-Version");

	h->version_given = v != NULL;
	if (!v)
		v = VERSION_WITHOUT_HEADER;
	if (!mcp_version_known(v))
		return mcp_http_refuse(a, 400, RPC_INVALID_REQUEST, "unsupported_protocol_version",
				       "MCP-Protocol-Version '%.64s' is not one runbox speaks: "
				       "2024-11-05, 2025-03-26, 2025-06-18 or 2025-11-25.",
				       v);
	snprintf(h->version, sizeof(h->version), "%s", v);
	return 0;
}

static int check_post(const struct route_request *rq, struct route_answer *a)
{
	if (!route_is_json(route_header(rq, "Content-Type")))
		return mcp_http_refuse(a, 415, RPC_INVALID_REQUEST, "unsupported_media_type",
				       "POST /mcp takes one JSON-RPC message with Content-Type: "
				       "application/json.");
	if (!accepts(route_header(rq, "Accept"), "application/json"))
		return mcp_http_refuse(a, 406, RPC_INVALID_REQUEST, "not_acceptable",
				       "runbox answers POST /mcp as application/json or "
				       "text/event-stream: the Accept header must admit "
				       "application/json (and should admit both).");
	return 0;
}

int mcp_http_check(const struct route_request *rq, bool stateless, struct mcp_http_request *ret,
		   struct route_answer *ret_answer)
{
	const char *sid = route_header(rq, "Mcp-Session-Id");
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->post = strcmp(rq->method, "POST") == 0;
	if (!ret->post && (stateless || strcmp(rq->method, "DELETE") != 0)) {
		r = mcp_http_refuse(ret_answer, 405, RPC_SERVER_ERROR, "method_not_allowed",
				    "%.20s /mcp is not offered (runbox sends no message that is "
				    "not an answer%s): POST one JSON-RPC message%s.",
				    rq->method, stateless ? ", and keeps no session" : "",
				    stateless ? "" : ", or DELETE to end a session");
		ret_answer->allow = stateless ? "POST" : "POST, DELETE";
		return r;
	}
	if (ret->post && check_post(rq, ret_answer) < 0)
		return -EINVAL;
	if (check_version(rq, ret, ret_answer) < 0)
		return -EINVAL;
	if (sid && !stateless && !hex_id(sid))
		return mcp_http_refuse(ret_answer, 400, RPC_INVALID_REQUEST, "invalid_session",
				       "Mcp-Session-Id '%.64s' is not one runbox gives (%d hex "
				       "digits): send the one the initialize answer carried.",
				       sid, MCP_SESSION_ID_LEN);
	if (sid && !stateless)
		snprintf(ret->session, sizeof(ret->session), "%s", sid);
	ret->accepts_sse = !stateless && accepts(route_header(rq, "Accept"), "text/event-stream");
	return 0;
}

enum mcp_http_kind mcp_http_kind(const char *body, size_t n, char *ret_method, size_t size)
{
	cJSON *msg = cJSON_ParseWithLength(body, n);
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	enum mcp_http_kind k = MCP_HTTP_INVALID;

	ret_method[0] = '\0';
	if (cJSON_IsArray(msg))
		k = MCP_HTTP_BATCH;
	else if (cJSON_IsObject(msg) && cJSON_IsString(method))
		k = cJSON_GetObjectItemCaseSensitive(msg, "id") ? MCP_HTTP_REQUEST
								: MCP_HTTP_NOTIFICATION;
	else if (cJSON_IsObject(msg) && !method &&
		 (cJSON_HasObjectItem(msg, "result") || cJSON_HasObjectItem(msg, "error")))
		k = MCP_HTTP_NOTIFICATION;
	if (cJSON_GetStringValue(method))
		snprintf(ret_method, size, "%s", cJSON_GetStringValue(method));
	cJSON_Delete(msg);
	return k;
}

int mcp_http_reply(enum mcp_http_kind k, char *reply, struct route_answer *ret)
{
	if (!reply && (k == MCP_HTTP_NOTIFICATION || k == MCP_HTTP_BATCH))
		return mcp_http_answer_accepted(ret);
	/* Not JSON-RPC, or a notification refused: the HTTP status says so too. */
	if (reply && (k == MCP_HTTP_INVALID || k == MCP_HTTP_NOTIFICATION))
		return answer(ret, 400, "application/json", reply) < 0 ? -ENOMEM : 0;
	return mcp_http_answer_json(reply, ret);
}

int mcp_http_stateless(struct mcp_server *s, const struct mcp_http_request *h,
		       const struct route_request *rq, struct route_answer *ret)
{
	char method[64];
	enum mcp_http_kind k = mcp_http_kind(rq->body, rq->body_len, method, sizeof(method));
	char *reply;

	/* initialize negotiates as usual; anything else speaks the header's version. */
	snprintf(s->version, sizeof(s->version), "%s",
		 k == MCP_HTTP_REQUEST && strcmp(method, "initialize") == 0 ? "" : h->version);
	reply = mcp_handle(s, rq->body, rq->body_len);
	return mcp_http_reply(k, reply, ret);
}

/* ---- sessions ---- */

int mcp_sessions_init(struct mcp_sessions *t, size_t cap, double idle_s)
{
	memset(t, 0, sizeof(*t));
	t->v = calloc(cap ? cap : 1, sizeof(*t->v));
	t->cap = cap ? cap : 1;
	t->idle_s = idle_s;
	return t->v ? 0 : -ENOMEM;
}

void mcp_sessions_free(struct mcp_sessions *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void drop(struct mcp_sessions *t, size_t i)
{
	if (t->ended)
		t->ended(t->ended_ctx, &t->v[i]);
	t->v[i] = t->v[--t->n];
}

/* Forget the sessions idle past the time-out (none of them busy). */
static void expire(struct mcp_sessions *t, double now)
{
	for (size_t i = 0; i < t->n;)
		if (!t->v[i].busy && now - t->v[i].last_used > t->idle_s)
			drop(t, i);
		else
			i++;
}

struct mcp_session *mcp_sessions_find(struct mcp_sessions *t, const char *id, double now)
{
	expire(t, now);
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0) {
			t->v[i].last_used = now;
			return &t->v[i];
		}
	return NULL;
}

struct mcp_session *mcp_sessions_add(struct mcp_sessions *t, const char *hex, const char *version,
				     double now)
{
	struct mcp_session *s;
	size_t lru = t->n;

	expire(t, now);
	if (t->n == t->cap) {
		for (size_t i = 0; i < t->n; i++)
			if (!t->v[i].busy &&
			    (lru == t->n || t->v[i].last_used < t->v[lru].last_used))
				lru = i;
		if (lru == t->n)
			return NULL;
		drop(t, lru);
	}
	s = &t->v[t->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", hex);
	snprintf(s->version, sizeof(s->version), "%s", version);
	s->last_used = now;
	return s;
}

bool mcp_sessions_remove(struct mcp_sessions *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0) {
			drop(t, i);
			return true;
		}
	return false;
}

void mcp_session_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
