/*
 * fuzz_mcp_http: libFuzzer target for MCP's Streamable HTTP rules.  The
 * input is a request: its first line the value of MCP-Protocol-Version,
 * its second the Accept header, its third Mcp-Session-Id, the rest the
 * body, handed to mcp_http_check() and, in stateless mode, to
 * mcp_http_stateless() with tools that answer canned responses.
 * Invariants: a refusal is 400, 405, 406 or 415 with a JSON-RPC error
 * whose id is null; an answer is 200 with one JSON value, or 202 with no
 * body, or 400 with a JSON-RPC error; the event-stream frame of any line
 * is one event.  A broken rule is a __builtin_trap().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp_http.h"

#include "fuzz.h"

static int fake_run(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	(void)ctx, (void)err, (void)body;
	*ret_json = strdup(n % 2 ? "{\"exit_code\":0,\"stdout\":\"\",\"stderr\":\"\","
				   "\"artifacts\":{\"p.png\":{\"content\":\"iVBORw0KGgo=\","
				   "\"encoding\":\"base64\"}},\"status\":\"ok\"}"
				 : "{\"error\":\"no\",\"code\":\"invalid_path\"}");
	return n % 2 ? 0 : -1;
}

/* The next line of the input, NUL-terminated in @out. */
static const char *take_line(const char **p, const char *end, char *out, size_t size)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);

	snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), *p);
	*p = nl ? nl + 1 : end;
	return out;
}

static void check_answer(const struct route_answer *a)
{
	cJSON *j = a->len ? cJSON_ParseWithLength(a->body, a->len) : NULL;

	CHECK(a->status == 200 || a->status == 202 || a->status == 400);
	CHECK(a->status == 202 ? a->len == 0 : j != NULL);
	if (a->status == 400)
		CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "error")));
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char version[64], accept[128], session[64], *body, *ev;
	struct route_header h[] = {{"Content-Type", "application/json"},
				   {"MCP-Protocol-Version", take_line(&p, end, version, 64)},
				   {"Accept", take_line(&p, end, accept, 128)},
				   {"Mcp-Session-Id", take_line(&p, end, session, 64)}};
	struct mcp_server s = {.run = fake_run, .default_timeout_s = 60, .max_timeout_s = 300};
	struct route_request rq = {.method = "POST", .path = "/mcp", .headers = h, .n_headers = 4};
	struct mcp_http_request m;
	struct route_answer a = {0};
	size_t n;
	cJSON *j;

	body = malloc((size_t)(end - p) + 1);
	memcpy(body, p, (size_t)(end - p));
	body[end - p] = '\0';
	rq.body = body;
	rq.body_len = (size_t)(end - p);
	for (int stateless = 0; stateless < 2; stateless++) {
		if (mcp_http_check(&rq, stateless, &m, &a) < 0) {
			j = cJSON_Parse(a.body);
			CHECK(a.status == 400 || a.status == 406 || a.status == 415);
			CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "id")));
			cJSON_Delete(j);
		} else if (stateless) {
			CHECK(mcp_http_stateless(&s, &m, &rq, &a) == 0);
			check_answer(&a);
		}
		route_answer_free(&a);
	}
	ev = mcp_http_sse_event(version, &n);
	CHECK(ev && n == strlen(ev) && strstr(ev, "\n\n") == ev + n - 2);
	free(ev);
	free(body);
	return 0;
}
