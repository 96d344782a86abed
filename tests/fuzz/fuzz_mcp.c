/*
 * fuzz_mcp: libFuzzer target for the MCP server's protocol half.  The input
 * is a session: lines a client could send, each handed to mcp_handle()
 * after an initialize, with tools that answer canned responses (no
 * executor).  Invariants: every reply is one JSON-RPC 2.0 object with a
 * result or an error and no newline inside; a reply to a line that is not
 * JSON is -32700; a line mcp_urgency() calls a ping gets a reply of its own,
 * and one it calls a cancellation names an id.  A broken rule is a __builtin_trap().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp.h"

#include "fuzz.h"

static int fake_run(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	(void)ctx, (void)err;
	/* Half the time the program ran, half the time the request was refused. */
	*ret_json =
	    strdup(n % 2 ? "{\"exit_code\":1,\"stdout\":\"\",\"stderr\":\"x\","
			   "\"artifacts\":{\"a\":\"b\"},\"status\":\"error\","
			   "\"truncated\":{\"stdout\":false,\"stderr\":false}}"
			 : "{\"error\":\"no\",\"code\":\"invalid_path\",\"field\":\"context.x\"}");
	(void)body;
	return n % 2 ? 0 : -1;
}

static int fake_pkgs(void *ctx, const cJSON **ret_packages, const char **ret_version,
		     struct rb_err *err)
{
	static cJSON *pkgs;

	(void)ctx, (void)err;
	if (!pkgs)
		pkgs = cJSON_Parse("{\"numpy\":\"1.24.2\",\"pandas\":\"1.5.3\"}");
	*ret_packages = pkgs;
	*ret_version = "3.11.2";
	return 0;
}

static void check_reply(char *reply, const char *line, size_t n)
{
	cJSON *o, *err, *in;

	if (!reply)
		return;
	CHECK(strchr(reply, '\n') == NULL);
	o = cJSON_Parse(reply);
	CHECK(cJSON_IsObject(o));
	CHECK(strcmp(cJSON_GetObjectItem(o, "jsonrpc")->valuestring, "2.0") == 0);
	CHECK(cJSON_HasObjectItem(o, "id"));
	err = cJSON_GetObjectItem(o, "error");
	CHECK((err != NULL) != cJSON_HasObjectItem(o, "result"));
	in = cJSON_ParseWithLength(line, n);
	if (!in)
		CHECK(err && cJSON_GetObjectItem(err, "code")->valueint == -32700);
	cJSON_Delete(in);
	cJSON_Delete(o);
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
				   "\"params\":{\"protocolVersion\":\"2025-06-18\"}}";
	struct mcp_server s = {
	    .run = fake_run, .installed = fake_pkgs, .default_timeout_s = 60, .max_timeout_s = 300};
	const char *p = (const char *)data, *end = p + size;

	/* The first byte picks whether the session is initialized. */
	if (size && (data[0] & 1))
		check_reply(mcp_handle(&s, init, strlen(init)), init, strlen(init));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *urgent_reply;
		cJSON *id;

		check_reply(mcp_handle(&s, p, n), p, n);
		/* A ping's answer is a reply; a cancellation names a request it matches. */
		switch (mcp_urgency(p, n, &urgent_reply, &id)) {
		case MCP_PING:
			CHECK(urgent_reply && !id);
			check_reply(urgent_reply, p, n);
			break;
		case MCP_CANCEL:
			CHECK(id && !urgent_reply && mcp_same_id(id, id));
			break;
		default:
			CHECK(!id && !urgent_reply);
		}
		cJSON_Delete(id);
		p += n + 1;
	}
	return 0;
}
