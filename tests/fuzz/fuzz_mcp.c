/*
 * fuzz_mcp: libFuzzer target for the MCP server's protocol half.  The input
 * is a session: lines a client could send, each handed to mcp_handle()
 * after an initialize, with tools that answer canned responses (no
 * executor).  Invariants: every reply is one JSON-RPC 2.0 object with a
 * result or an error and no newline inside; a reply to a line that is not
 * JSON is -32700.  A broken rule is a __builtin_trap().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#include "fuzz.h"

/* mcp.c's stdio loop links against these; the fuzzer never calls it. */
int executor_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
		 char **ret_json, struct rb_err *err)
{
	(void)ex, (void)body, (void)n, (void)opts, (void)err;
	*ret_json = NULL;
	return -1;
}

int deps_installed(const char *python, const cJSON **ret_packages, const char **ret_version,
		   struct rb_err *err)
{
	(void)python, (void)ret_packages, (void)ret_version, (void)err;
	return -1;
}

int deps_cache_list(const char *cache_dir, cJSON **ret, struct rb_err *err)
{
	(void)cache_dir, (void)err;
	*ret = NULL;
	return -1;
}

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
		check_reply(mcp_handle(&s, p, n), p, n);
		p += n + 1;
	}
	return 0;
}
