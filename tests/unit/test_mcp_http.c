/*
 * Unit tests for pkg/api/mcp_http: the header rules of POST/GET/DELETE
 * /mcp and their statuses, what a body holds, the JSON-RPC shape of every
 * refusal, event-stream framing, stateless mode and the session table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/mcp_http.h"

static struct route_request req(const char *method, const struct route_header *h, size_t n)
{
	return (struct route_request){.method = method,
				      .path = "/mcp",
				      .headers = h,
				      .n_headers = n,
				      .body = "",
				      .body_len = 0};
}

/* The refusal in @a: its status and data.code; a JSON-RPC error with a null id. */
static void assert_refusal(struct route_answer *a, int status, const char *code)
{
	cJSON *j = cJSON_Parse(a->body);
	const cJSON *e = cJSON_GetObjectItem(j, "error");

	assert_int_equal(a->status, status);
	assert_string_equal(a->content_type, "application/json");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "id")));
	assert_string_equal(cJSON_GetObjectItem(j, "jsonrpc")->valuestring, "2.0");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "code")->valuestring, code);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "code")));
	cJSON_Delete(j);
	route_answer_free(a);
}

static void test_headers(void **state)
{
	static const struct {
		const char *ct, *accept, *version, *session;
		int status;
		const char *code;
	} cases[] = {
	    {"application/json", NULL, NULL, NULL, 0, NULL},
	    {"application/json; charset=utf-8", "application/json, text/event-stream", NULL, NULL,
	     0, NULL},
	    {"application/json", "*/*", "2025-11-25", NULL, 0, NULL},
	    {"application/json", "application/*;q=0.5", "2024-11-05", NULL, 0, NULL},
	    {"text/plain", NULL, NULL, NULL, 415, "unsupported_media_type"},
	    {NULL, NULL, NULL, NULL, 415, "unsupported_media_type"},
	    {"application/json", "text/html", NULL, NULL, 406, "not_acceptable"},
	    {"application/json", "application/json;q=0", NULL, NULL, 406, "not_acceptable"},
	    {"application/json", NULL, "2025-01-01", NULL, 400, "unsupported_protocol_version"},
	    {"application/json", NULL, "", NULL, 400, "unsupported_protocol_version"},
	    {"application/json", NULL, NULL, "ABC", 400, "invalid_session"},
	    {"application/json", NULL, NULL, "0123456789abcdef0123456789abcdeF", 400,
	     "invalid_session"},
	    {"application/json", NULL, NULL, "0123456789abcdef0123456789abcdef", 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct route_header h[4];
		size_t n = 0;
		struct mcp_http_request m;
		struct route_answer a = {0};
		struct route_request rq;

		if (cases[i].ct)
			h[n++] = (struct route_header){"content-type", cases[i].ct};
		if (cases[i].accept)
			h[n++] = (struct route_header){"Accept", cases[i].accept};
		if (cases[i].version)
			h[n++] = (struct route_header){"mcp-protocol-version", cases[i].version};
		if (cases[i].session)
			h[n++] = (struct route_header){"Mcp-Session-Id", cases[i].session};
		rq = req("POST", h, n);
		if (!cases[i].status) {
			assert_int_equal(mcp_http_check(&rq, false, &m, &a), 0);
			assert_true(m.post);
			assert_string_equal(m.version,
					    cases[i].version ? cases[i].version : "2025-03-26");
			assert_int_equal(m.version_given, cases[i].version != NULL);
			assert_string_equal(m.session, cases[i].session ? cases[i].session : "");
			continue;
		}
		assert_true(mcp_http_check(&rq, false, &m, &a) < 0);
		assert_refusal(&a, cases[i].status, cases[i].code);
	}
}

static void test_sse_only_when_accepted_and_not_stateless(void **state)
{
	struct route_header h[] = {{"Content-Type", "application/json"},
				   {"Accept", "application/json, text/event-stream"}};
	struct route_request rq = req("POST", h, 2);
	struct mcp_http_request m;
	struct route_answer a = {0};

	(void)state;
	assert_int_equal(mcp_http_check(&rq, false, &m, &a), 0);
	assert_true(m.accepts_sse);
	assert_int_equal(mcp_http_check(&rq, true, &m, &a), 0);
	assert_false(m.accepts_sse);
	h[1].value = "application/json";
	assert_int_equal(mcp_http_check(&rq, false, &m, &a), 0);
	assert_false(m.accepts_sse);
	h[1].value = "text/*, application/json";
	assert_int_equal(mcp_http_check(&rq, false, &m, &a), 0);
	assert_true(m.accepts_sse);
}

static void test_get_and_delete(void **state)
{
	struct route_request rq = req("GET", NULL, 0);
	struct mcp_http_request m;
	struct route_answer a = {0};

	(void)state;
	assert_true(mcp_http_check(&rq, false, &m, &a) < 0);
	assert_string_equal(a.allow, "POST, DELETE");
	assert_refusal(&a, 405, "method_not_allowed");
	assert_true(mcp_http_check(&rq, true, &m, &a) < 0);
	assert_string_equal(a.allow, "POST");
	assert_refusal(&a, 405, "method_not_allowed");
	rq.method = "DELETE";
	assert_int_equal(mcp_http_check(&rq, false, &m, &a), 0);
	assert_false(m.post);
	assert_true(mcp_http_check(&rq, true, &m, &a) < 0);
	assert_refusal(&a, 405, "method_not_allowed");
	/* Any other method: the same Allow as GET's. */
	rq.method = "PUT";
	assert_true(mcp_http_check(&rq, false, &m, &a) < 0);
	assert_string_equal(a.allow, "POST, DELETE");
	assert_refusal(&a, 405, "method_not_allowed");
	assert_true(mcp_http_check(&rq, true, &m, &a) < 0);
	assert_string_equal(a.allow, "POST");
	assert_refusal(&a, 405, "method_not_allowed");
}

static void test_kinds(void **state)
{
	static const struct {
		const char *body;
		enum mcp_http_kind kind;
		const char *method;
	} cases[] = {
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}", MCP_HTTP_REQUEST,
	     "initialize"},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
	     MCP_HTTP_NOTIFICATION, "notifications/initialized"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", MCP_HTTP_NOTIFICATION, ""},
	    {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", MCP_HTTP_BATCH, ""},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1}", MCP_HTTP_INVALID, ""},
	    {"{\"jsonrpc\":", MCP_HTTP_INVALID, ""},
	    {"7", MCP_HTTP_INVALID, ""},
	};
	char method[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    mcp_http_kind(cases[i].body, strlen(cases[i].body), method, sizeof(method)),
		    cases[i].kind);
		assert_int_equal(strncmp(method, cases[i].method, sizeof(method) - 1), 0);
	}
}

static void test_answers(void **state)
{
	struct route_answer a = {0};
	char *ev;
	size_t n;

	(void)state;
	assert_int_equal(mcp_http_reply(MCP_HTTP_NOTIFICATION, NULL, &a), 0);
	assert_int_equal(a.status, 202);
	assert_null(a.content_type);
	assert_int_equal(a.len, 0);
	route_answer_free(&a);
	mcp_http_reply(MCP_HTTP_NOTIFICATION, strdup("{\"error\":{}}"), &a);
	assert_int_equal(a.status, 400);
	route_answer_free(&a);
	mcp_http_reply(MCP_HTTP_REQUEST, strdup("{\"result\":{}}"), &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.content_type, "application/json");
	route_answer_free(&a);
	/* A refusal route.c made for /mcp, in JSON-RPC's shape; its status stays. */
	a = (struct route_answer){.status = 401, .content_type = "application/json"};
	a.body = strdup("{\"error\":\"needs a token\",\"code\":\"unauthorized\"}");
	a.len = strlen(a.body);
	assert_int_equal(mcp_http_rpc_answer(&a), 0);
	assert_refusal(&a, 401, "unauthorized");
	ev = mcp_http_sse_event("{\"a\":1}", &n);
	assert_string_equal(ev, "event: message\ndata: {\"a\":1}\n\n");
	assert_int_equal(n, strlen(ev));
	free(ev);
}

static int fake_run(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	(void)ctx;
	(void)body;
	(void)n;
	(void)err;
	*ret_json = strdup("{\"exit_code\":0,\"stdout\":\"1\\n\",\"stderr\":\"\",\"artifacts\":{},"
			   "\"status\":\"ok\",\"duration_ms\":1}");
	return 0;
}

static cJSON *stateless(const char *version, const char *body, int status)
{
	struct route_header h[] = {{"Content-Type", "application/json"},
				   {"MCP-Protocol-Version", version}};
	struct route_request rq = req("POST", h, version ? 2 : 1);
	struct mcp_server s = {.run = fake_run, .default_timeout_s = 1, .max_timeout_s = 1};
	struct mcp_http_request m;
	struct route_answer a = {0};
	cJSON *j;

	rq.body = body;
	rq.body_len = strlen(body);
	assert_int_equal(mcp_http_check(&rq, true, &m, &a), 0);
	assert_int_equal(mcp_http_stateless(&s, &m, &rq, &a), 0);
	assert_int_equal(a.status, status);
	assert_string_equal(a.session_id, "");
	j = a.len ? cJSON_Parse(a.body) : NULL;
	route_answer_free(&a);
	return j;
}

static void test_stateless(void **state)
{
	static const char call[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"run_python\",\"arguments\":{\"code\":\"print(1)\"}}}";
	cJSON *j;

	(void)state;
	/* initialize negotiates, and nothing needs it afterwards. */
	j = stateless(NULL,
		      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
		      "\"protocolVersion\":\"2025-06-18\"}}",
		      200);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "protocolVersion")->valuestring,
	    "2025-06-18");
	cJSON_Delete(j);
	j = stateless("2025-06-18", call, 200);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "structuredContent"));
	cJSON_Delete(j);
	/* No header: 2025-03-26, whose results have no structuredContent. */
	j = stateless(NULL, call, 200);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "structuredContent"));
	cJSON_Delete(j);
	assert_null(
	    stateless(NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 202));
	j = stateless(NULL, "{oops", 400);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valueint,
			 -32700);
	cJSON_Delete(j);
}

static void test_sessions(void **state)
{
	struct mcp_sessions t;
	struct mcp_session *s;
	char id[4][MCP_SESSION_ID_LEN + 1];
	unsigned char bytes[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		memset(bytes, i, sizeof(bytes));
		mcp_session_hex(bytes, sizeof(bytes), id[i]);
	}
	assert_string_equal(id[1], "01010101010101010101010101010101");
	assert_int_equal(mcp_sessions_init(&t, 2, 10), 0);
	assert_non_null(mcp_sessions_add(&t, id[0], "2025-06-18", 100));
	assert_non_null(mcp_sessions_add(&t, id[1], "2025-03-26", 101));
	s = mcp_sessions_find(&t, id[0], 102); /* used: id[1] is now the least recent */
	assert_string_equal(s->version, "2025-06-18");
	assert_false(s->initialized);
	assert_non_null(mcp_sessions_add(&t, id[2], "2025-11-25", 103));
	assert_null(mcp_sessions_find(&t, id[1], 103));
	/* A busy session is never evicted, nor expired; with every one busy, none is made. */
	mcp_sessions_find(&t, id[0], 104)->busy = 1;
	mcp_sessions_find(&t, id[2], 104)->busy = 1;
	assert_null(mcp_sessions_add(&t, id[3], "2025-11-25", 105));
	assert_non_null(mcp_sessions_find(&t, id[0], 200));
	mcp_sessions_find(&t, id[0], 200)->busy = 0;
	mcp_sessions_find(&t, id[2], 200)->busy = 0;
	/* Idle past the time-out: gone. */
	assert_null(mcp_sessions_find(&t, id[0], 211));
	assert_null(mcp_sessions_find(&t, id[2], 211));
	assert_non_null(mcp_sessions_add(&t, id[3], "2025-11-25", 300));
	assert_true(mcp_sessions_remove(&t, id[3]));
	assert_false(mcp_sessions_remove(&t, id[3]));
	assert_null(mcp_sessions_find(&t, id[3], 300));
	mcp_sessions_free(&t);
}

/* What an ended callback saw: the file sessions of the sessions that left, in order. */
static char ended_files[8][64];
static int n_ended;

static void note_ended(void *ctx, const struct mcp_session *se)
{
	(void)ctx;
	snprintf(ended_files[n_ended++ % 8], sizeof(ended_files[0]), "%s", se->files);
}

/* Every way a session leaves the table tells its owner, with the session as it was. */
static void test_sessions_ended(void **state)
{
	struct mcp_sessions t;
	const char *id[3] = {"00000000000000000000000000000000", "11111111111111111111111111111111",
			     "22222222222222222222222222222222"};

	(void)state;
	assert_int_equal(mcp_sessions_init(&t, 2, 10), 0);
	t.ended = note_ended;
	snprintf(mcp_sessions_add(&t, id[0], "2025-06-18", 100)->files, 64, "files-0");
	snprintf(mcp_sessions_add(&t, id[1], "2025-06-18", 101)->files, 64, "files-1");
	assert_non_null(mcp_sessions_add(&t, id[2], "2025-06-18", 102)); /* evicts id[0] */
	assert_int_equal(n_ended, 1);
	assert_string_equal(ended_files[0], "files-0");
	assert_true(mcp_sessions_remove(&t, id[1]));
	assert_int_equal(n_ended, 2);
	assert_string_equal(ended_files[1], "files-1");
	assert_null(mcp_sessions_find(&t, id[2], 200)); /* expired */
	assert_int_equal(n_ended, 3);
	assert_string_equal(ended_files[2], "");
	assert_false(mcp_sessions_remove(&t, id[2]));
	assert_int_equal(n_ended, 3);
	mcp_sessions_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_sse_only_when_accepted_and_not_stateless),
	    cmocka_unit_test(test_get_and_delete),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_stateless),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_sessions_ended),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
