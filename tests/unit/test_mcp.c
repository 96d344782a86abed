/*
 * Unit tests for pkg/api/mcp's protocol half: the handshake and version
 * negotiation, every JSON-RPC error code, notifications, how tool
 * arguments become a contract request, and how answers become tool results.
 * Tools run through fake callbacks: no executor, no interpreter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/mcp.h"
#include "api/mcp_content.h"

static char last_body[4096];
static const char *canned; /* what the fake executor answers */
static int canned_r;
static cJSON *fake_installed;

static int fake_run(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	(void)ctx;
	snprintf(last_body, sizeof(last_body), "%.*s", (int)n, body);
	*ret_json = strdup(canned);
	if (canned_r < 0)
		rb_fail(err, RB_FAULT_REQUEST, 0, "x", NULL, "refused");
	return canned_r;
}

static int fake_pkgs(void *ctx, const cJSON **ret_packages, const char **ret_version,
		     struct rb_err *err)
{
	(void)ctx;
	if (!fake_installed)
		return rb_fail(err, RB_FAULT_INTERNAL, 5, "internal_error", NULL, "no python");
	*ret_packages = fake_installed;
	*ret_version = "3.11.2";
	return 0;
}

static struct mcp_server server(void)
{
	struct mcp_server s = {.run = fake_run, .installed = fake_pkgs};

	s.default_timeout_s = 60;
	s.max_timeout_s = 300;
	return s;
}

/* One line in, the parsed reply out (NULL when there was none). */
static cJSON *send_line(struct mcp_server *s, const char *line)
{
	char *out = mcp_handle(s, line, strlen(line));
	cJSON *o = out ? cJSON_Parse(out) : NULL;

	if (out) {
		assert_non_null(o);
		assert_null(strchr(out, '\n')); /* newline-delimited framing */
	}
	free(out);
	return o;
}

static int error_code(const cJSON *reply)
{
	const cJSON *e = cJSON_GetObjectItem(reply, "error");

	assert_non_null(e);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
	return cJSON_GetObjectItem(e, "code")->valueint;
}

static cJSON *init(struct mcp_server *s, const char *version)
{
	char line[256];
	cJSON *r;

	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
		 "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
		 "\"version\":\"1\"}}}",
		 version);
	r = send_line(s, line);
	assert_non_null(cJSON_GetObjectItem(r, "result"));
	return r;
}

static const char *negotiated(const cJSON *r)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "protocolVersion")
	    ->valuestring;
}

static void test_handshake(void **state)
{
	struct mcp_server s = server();
	cJSON *r = init(&s, "2025-06-18"), *res = cJSON_GetObjectItem(r, "result");

	(void)state;
	assert_string_equal(negotiated(r), "2025-06-18");
	assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(r, "jsonrpc")->valuestring, "2.0");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "capabilities"), "tools"));
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "serverInfo"), "name")->valuestring,
	    "runbox");
	cJSON_Delete(r);
	assert_null(
	    send_line(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
	assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, "p");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "result")), 0);
	cJSON_Delete(r);
	/* A second initialize is refused. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{"
			  "\"protocolVersion\":\"2025-06-18\"}}");
	assert_int_equal(error_code(r), -32600);
	cJSON_Delete(r);
}

static void test_version_negotiation(void **state)
{
	static const char *const known[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct mcp_server s = server();
		cJSON *r = init(&s, known[i]);

		assert_string_equal(negotiated(r), known[i]);
		cJSON_Delete(r);
	}
	{
		struct mcp_server s = server();
		cJSON *r = init(&s, "1999-01-01");

		assert_string_equal(negotiated(r), "2025-11-25");
		cJSON_Delete(r);
	}
}

static void test_protocol_errors(void **state)
{
	static const struct {
		const char *line;
		int code;
	} cases[] = {
	    {"{not json", -32700},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", -32700},
	    {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600},
	    {"42", -32600},
	    {"{\"id\":1,\"method\":\"ping\"}", -32600},
	    {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}", -32601},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", -32602},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", -32602},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	     "\"rm_rf\"}}",
	     -32602},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	     "\"run_python\",\"arguments\":[]}}",
	     -32602},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":"
	     "\"x\"}}",
	     -32602},
	};
	struct mcp_server s = server();

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *r = send_line(&s, cases[i].line);

		if (!r)
			fail_msg("no reply to %s", cases[i].line);
		if (error_code(r) != cases[i].code)
			fail_msg("%s: code %d, not %d", cases[i].line, error_code(r),
				 cases[i].code);
		cJSON_Delete(r);
	}
}

static void test_initialize_needs_version(void **state)
{
	struct mcp_server s = server();
	cJSON *r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
				 "\"params\":{}}");

	(void)state;
	assert_int_equal(error_code(r), -32602);
	cJSON_Delete(r);
	/* tools before initialize are refused; ping is not. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
	assert_int_equal(error_code(r), -32600);
	cJSON_Delete(r);
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	assert_non_null(cJSON_GetObjectItem(r, "result"));
	cJSON_Delete(r);
}

static void test_notifications_get_no_reply(void **state)
{
	struct mcp_server s = server();

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	assert_null(send_line(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
				  "\"params\":{\"requestId\":3}}"));
	assert_null(send_line(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\"}"));
	assert_null(send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}"));
}

static const cJSON *tool_named(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(
	    t, tools) if (strcmp(cJSON_GetObjectItem(t, "name")->valuestring, name) == 0) return t;
	return NULL;
}

static void test_tools_list(void **state)
{
	struct mcp_server s = server(), old = server();
	cJSON *r, *tools;
	const cJSON *py, *schema;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
	tools = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools");
	assert_int_equal(cJSON_GetArraySize(tools), 4);
	py = tool_named(tools, "run_python");
	assert_non_null(tool_named(tools, "run_bash"));
	assert_non_null(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(tool_named(tools, "run_javascript"), "inputSchema"),
		"properties"),
	    "typescript"));
	assert_non_null(tool_named(tools, "list_packages"));
	schema = cJSON_GetObjectItem(py, "inputSchema");
	assert_string_equal(cJSON_GetObjectItem(schema, "type")->valuestring, "object");
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(schema, "required"), 0)->valuestring, "code");
	for (const char *const *p = (const char *const[]){"code", "files", "dependencies",
							  "timeout_s", "stdin", "args", NULL};
	     *p; p++)
		assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"), *p));
	assert_non_null(cJSON_GetObjectItem(py, "outputSchema"));
	/* A model is told where input files are and how files come back. */
	assert_non_null(strstr(cJSON_GetObjectItem(py, "description")->valuestring, "./input/"));
	assert_non_null(strstr(cJSON_GetObjectItem(py, "description")->valuestring, "./output/"));
	assert_non_null(strstr(cJSON_GetObjectItem(py, "description")->valuestring, "numpy"));
	cJSON_Delete(r);
	/* 2024-11-05 has no outputSchema. */
	cJSON_Delete(init(&old, "2024-11-05"));
	r = send_line(&old, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
	tools = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools");
	assert_null(cJSON_GetObjectItem(tool_named(tools, "run_python"), "outputSchema"));
	cJSON_Delete(r);
}

static cJSON *call(struct mcp_server *s, const char *name, const char *args)
{
	char line[2048];
	cJSON *r, *res;

	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\",\"arguments\":%s}}",
		 name, args);
	r = send_line(s, line);
	res = cJSON_DetachItemFromObject(r, "result");
	assert_non_null(res);
	cJSON_Delete(r);
	return res;
}

static const char *text0(const cJSON *res)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0),
				   "text")
	    ->valuestring;
}

static void test_arguments_map_onto_the_contract(void **state)
{
	struct mcp_server s = server();
	cJSON *res, *req;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	canned = "{\"exit_code\":0,\"stdout\":\"4\\n\",\"stderr\":\"\",\"artifacts\":{\"p.png\":"
		 "{\"content\":\"AAAA\",\"encoding\":\"base64\"}},\"status\":\"ok\","
		 "\"duration_ms\":3,\"truncated\":{\"stdout\":false,\"stderr\":false}}";
	canned_r = 0;
	res =
	    call(&s, "run_bash",
		 "{\"code\":\"echo $1\",\"files\":{\"a.csv\":\"1,2\"},\"dependencies\":[\"numpy\"],"
		 "\"timeout_s\":5,\"stdin\":\"in\",\"args\":[\"x\"]}");
	req = cJSON_Parse(last_body);
	assert_string_equal(cJSON_GetObjectItem(req, "script")->valuestring, "echo $1");
	assert_string_equal(cJSON_GetObjectItem(req, "language")->valuestring, "bash");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(req, "context"), "a.csv")->valuestring, "1,2");
	assert_int_equal(cJSON_GetObjectItem(req, "timeout_s")->valueint, 5);
	assert_string_equal(cJSON_GetObjectItem(req, "stdin")->valuestring, "in");
	assert_int_equal(cJSON_GetArraySize(req), 7);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "exit code 0"));
	assert_non_null(strstr(text0(res), "4\n"));
	assert_non_null(
	    strstr(text0(res), "p.png: binary, 3 bytes, only in the structured result"));
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "exit_code")
		->valueint,
	    0);
	cJSON_Delete(req);
	cJSON_Delete(res);
	res = call(&s, "run_python", "{\"code\":\"print(1)\"}");
	req = cJSON_Parse(last_body);
	assert_null(cJSON_GetObjectItem(req, "language"));
	assert_int_equal(cJSON_GetArraySize(req), 1);
	cJSON_Delete(req);
	cJSON_Delete(res);
	/* run_javascript: its language, or typescript's with `typescript`: true. */
	res = call(&s, "run_javascript", "{\"code\":\"console.log(1)\",\"typescript\":false}");
	req = cJSON_Parse(last_body);
	assert_string_equal(cJSON_GetObjectItem(req, "language")->valuestring, "javascript");
	assert_int_equal(cJSON_GetArraySize(req), 2);
	cJSON_Delete(req);
	cJSON_Delete(res);
	res = call(&s, "run_javascript", "{\"typescript\":true,\"code\":\"let a: number = 1\"}");
	req = cJSON_Parse(last_body);
	assert_string_equal(cJSON_GetObjectItem(req, "language")->valuestring, "typescript");
	cJSON_Delete(req);
	cJSON_Delete(res);
	res = call(&s, "run_javascript", "{\"code\":\"1\",\"typescript\":\"yes\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "`typescript` must be true or false"));
	cJSON_Delete(res);
	/* Only run_javascript takes it. */
	res = call(&s, "run_python", "{\"code\":\"1\",\"typescript\":true}");
	assert_non_null(strstr(text0(res), "Unknown argument 'typescript'"));
	cJSON_Delete(res);
	/* 1e400 is a JSON number (an infinity to cJSON, printed as null): it stays a huge
	 * number, which the contract clamps as any front door does. */
	res = call(&s, "run_python", "{\"code\":\"1\",\"timeout_s\":1e400}");
	assert_null(strstr(last_body, "null"));
	req = cJSON_Parse(last_body);
	assert_true(cJSON_GetObjectItem(req, "timeout_s")->valuedouble > 1e300);
	cJSON_Delete(req);
	cJSON_Delete(res);
}

static void test_failures_are_tool_errors(void **state)
{
	struct mcp_server s = server();
	cJSON *res;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	canned = "{\"exit_code\":1,\"stdout\":\"\",\"stderr\":\"Traceback\",\"artifacts\":{},"
		 "\"status\":\"error\",\"duration_ms\":3,\"truncated\":{\"stdout\":false,"
		 "\"stderr\":false}}";
	canned_r = 0;
	res = call(&s, "run_python", "{\"code\":\"1/0\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "Traceback"));
	cJSON_Delete(res);
	/* A refusal names the tool's argument, not the contract's field. */
	canned = "{\"error\":\"The path '../a' in 'context' is not allowed.\",\"code\":"
		 "\"invalid_path\",\"field\":\"context.../a\"}";
	canned_r = -1;
	res = call(&s, "run_python", "{\"code\":\"x\",\"files\":{\"../a\":\"\"}}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "in 'files'"));
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "field")
		->valuestring,
	    "files.../a");
	cJSON_Delete(res);
	/* Every quoted mention, paths included; 'contextual' is not a field. */
	canned = "{\"error\":\"Field 'context.x' is not valid base64; the key 'context.a' and "
		 "'script' and 'contextual' stay apart.\",\"code\":\"invalid_base64\","
		 "\"field\":\"context.x\"}";
	res = call(&s, "run_python", "{\"code\":\"x\",\"files\":{\"x\":\"!\"}}");
	assert_non_null(strstr(text0(res), "Field 'files.x' is not valid base64; the key "
					   "'files.a' and 'code' and 'contextual' stay apart."));
	cJSON_Delete(res);
	/* Argument faults a model can fix are tool errors too. */
	last_body[0] = '\0';
	res = call(&s, "run_python", "{\"files\":{}}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "`code` is required"));
	cJSON_Delete(res);
	res = call(&s, "run_python", "{\"code\":\"x\",\"script\":\"y\"}");
	assert_non_null(strstr(text0(res), "Unknown argument 'script'"));
	cJSON_Delete(res);
	assert_string_equal(last_body, ""); /* neither reached the executor */
}

static void test_old_version_gets_json_text(void **state)
{
	struct mcp_server s = server();
	cJSON *res, *content;

	(void)state;
	cJSON_Delete(init(&s, "2025-03-26"));
	canned = "{\"exit_code\":0,\"stdout\":\"\",\"stderr\":\"\",\"artifacts\":{},\"status\":"
		 "\"ok\",\"duration_ms\":1,\"truncated\":{\"stdout\":false,\"stderr\":false}}";
	canned_r = 0;
	res = call(&s, "run_python", "{\"code\":\"pass\"}");
	content = cJSON_GetObjectItem(res, "content");
	assert_null(cJSON_GetObjectItem(res, "structuredContent"));
	assert_int_equal(cJSON_GetArraySize(content), 2);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(content, 1), "text")->valuestring, canned);
	cJSON_Delete(res);
}

static int fake_npm(void *ctx, cJSON **ret, struct rb_err *err)
{
	(void)ctx;
	(void)err;
	*ret = cJSON_Parse("[{\"name\":\"zod\",\"version\":\"3.23.8\",\"preinstalled\":false},"
			   "{\"name\":\"lodash\",\"version\":\"4.17.21\",\"preinstalled\":true}]");
	return 0;
}

static void test_list_packages_npm(void **state)
{
	struct mcp_server s = server();
	const char *t, *pre, *add;
	cJSON *res;

	(void)state;
	fake_installed = cJSON_Parse("{\"numpy\":\"1.24.2\"}");
	cJSON_Delete(init(&s, "2025-06-18"));
	res = call(&s, "list_packages", "{}");
	t = text0(res);
	assert_non_null(strstr(t, "No npm packages"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
			     cJSON_GetObjectItem(res, "structuredContent"), "npm")),
			 0);
	cJSON_Delete(res);
	s.npm = fake_npm;
	res = call(&s, "list_packages", "{}");
	t = text0(res);
	pre = strstr(t, "npm packages every run_javascript can import:\nlodash 4.17.21\n");
	add = strstr(t, "npm packages `dependencies` can add to run_javascript:\nzod 3.23.8\n");
	assert_non_null(pre);
	assert_non_null(add);
	assert_true(pre < add);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
			     cJSON_GetObjectItem(res, "structuredContent"), "npm")),
			 2);
	cJSON_Delete(res);
	cJSON_Delete(fake_installed);
	fake_installed = NULL;
}

static void test_list_packages(void **state)
{
	struct mcp_server s = server();
	cJSON *res, *pre;

	(void)state;
	fake_installed = cJSON_Parse("{\"pandas\":\"1.5.3\",\"numpy\":\"1.24.2\"}");
	cJSON_Delete(init(&s, "2025-06-18"));
	res = call(&s, "list_packages", "{}");
	pre = cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "preinstalled");
	assert_int_equal(cJSON_GetArraySize(pre), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pre, 0), "name")->valuestring,
			    "numpy");
	assert_non_null(strstr(text0(res), "pandas 1.5.3"));
	assert_non_null(strstr(text0(res), "Python 3.11.2"));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	cJSON_Delete(res);
	res = call(&s, "list_packages", "{\"x\":1}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	cJSON_Delete(res);
	cJSON_Delete(fake_installed);
	fake_installed = NULL;
	res = call(&s, "list_packages", "{}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
	assert_non_null(strstr(text0(res), "no python"));
	cJSON_Delete(res);
}

/* A string cJSON would cut at \u0000, or bytes that are not UTF-8: refused, never run. */
static void test_strings_cjson_would_change_are_refused(void **state)
{
	static const char *const args[] = {
	    "{\"code\":\"print(1)\\u0000print(2)\"}",
	    "{\"code\":\"x\",\"stdin\":\"a\\u0000b\"}",
	    "{\"code\":\"x\",\"files\":{\"f\\u0000g\":\"\"}}",
	    "{\"code\":\"x\",\"args\":[\"\\u0000\"]}",
	    "{\"code\":\"\xff\"}",
	};
	static const char *const codes[] = {"nul_in_string", "nul_in_string", "nul_in_string",
					    "nul_in_string", "invalid_utf8"};
	static const char *const fields[] = {"code", "stdin", "files", "args[0]", "code"};
	struct mcp_server s = server();
	cJSON *res, *r;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		last_body[0] = '\0';
		res = call(&s, "run_python", args[i]);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
		assert_string_equal(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "code")
			->valuestring,
		    codes[i]);
		assert_string_equal(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "field")
			->valuestring,
		    fields[i]);
		assert_string_equal(last_body, ""); /* nothing ran */
		cJSON_Delete(res);
	}
	/* An unpaired surrogate cJSON itself refuses: a parse error, nothing runs. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
			  "{\"name\":\"run_python\",\"arguments\":{\"code\":\"\\ud800\"}}}");
	assert_int_equal(error_code(r), -32700);
	cJSON_Delete(r);
	/* A bad string outside the tool's arguments: invalid params, even in a tool call. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
			  "{\"name\":\"run_python\",\"_meta\":{\"a\":\"\\u0000\"},"
			  "\"arguments\":{\"code\":\"1\"}}}");
	assert_int_equal(error_code(r), -32602);
	assert_string_equal(last_body, "");
	cJSON_Delete(r);
	/* JSON that cJSON accepts but is not JSON (a leading zero): a parse error. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"ping\"}");
	assert_int_equal(error_code(r), -32700);
	cJSON_Delete(r);
	/* In the id itself: cJSON cut it, so the reply cannot echo it. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"c\\u0000d\",\"method\":\"ping\"}");
	assert_int_equal(error_code(r), -32600);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
	cJSON_Delete(r);
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\xff\",\"method\":\"ping\"}");
	assert_int_equal(error_code(r), -32600);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
	cJSON_Delete(r);
	/* Outside a tool call: invalid params. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\","
			  "\"params\":{\"a\":\"\\u0000\"}}");
	assert_int_equal(error_code(r), -32602);
	cJSON_Delete(r);
}

/* A run callback that sees its request cancelled while it runs. */
static int cancelling_run(void *ctx, const char *body, size_t n, char **ret_json,
			  struct rb_err *err)
{
	struct mcp_server *s = ctx;
	cJSON *seven = cJSON_CreateNumber(7);

	(void)body, (void)n, (void)err;
	assert_true(mcp_same_id(s->current_id, seven));
	cJSON_Delete(seven);
	s->cancelled = true;
	*ret_json = strdup("{\"exit_code\":137,\"stdout\":\"\",\"stderr\":\"\",\"artifacts\":{},"
			   "\"status\":\"killed\",\"truncated\":{\"stdout\":false,"
			   "\"stderr\":false}}");
	return 0;
}

static void test_a_cancelled_call_gets_no_reply(void **state)
{
	struct mcp_server s = server();
	cJSON *r;

	(void)state;
	s.run = cancelling_run;
	s.ctx = &s;
	cJSON_Delete(init(&s, "2025-06-18"));
	assert_null(send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
				  "\"params\":{\"name\":\"run_python\",\"arguments\":{\"code\":"
				  "\"1\"}}}"));
	assert_null(s.current_id);
	/* The next request is answered as usual. */
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
	assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 8);
	cJSON_Delete(r);
}

static enum mcp_urgency urgency(const char *line, char **reply, cJSON **id)
{
	return mcp_urgency(line, strlen(line), reply, id);
}

static void test_urgent_messages(void **state)
{
	char *reply;
	cJSON *id, *want;

	(void)state;
	assert_int_equal(
	    urgency("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}", &reply, &id),
	    MCP_PING);
	assert_string_equal(reply, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{}}");
	assert_null(id);
	free(reply);
	assert_int_equal(urgency("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
				 "\"params\":{\"requestId\":12,\"reason\":\"user\"}}",
				 &reply, &id),
			 MCP_CANCEL);
	assert_null(reply);
	want = cJSON_CreateNumber(12);
	assert_true(mcp_same_id(id, want));
	cJSON_Delete(want);
	cJSON_Delete(id);
	/* In their turn: everything else, and anything malformed. */
	static const char *const in_turn[] = {
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}",			/* no id */
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",		/* null id */
	    "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",		/* not 2.0 */
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[]}", /* bad params */
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}",	/* no requestId */
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
	    "\"params\":{\"requestId\":1.5}}",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"notifications/cancelled\","
	    "\"params\":{\"requestId\":1}}", /* a request, not a notification */
	    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", /* cut short */
	    "",
	};
	for (size_t i = 0; i < sizeof(in_turn) / sizeof(in_turn[0]); i++) {
		assert_int_equal(urgency(in_turn[i], &reply, &id), MCP_IN_TURN);
		assert_null(reply);
		assert_null(id);
	}
}

/* The ids of a batch's replies, in order, as "1,2,..."; the reply is deleted. */
static void batch_ids(cJSON *r, char *out, size_t size)
{
	const cJSON *m;
	size_t len = 0;

	assert_true(cJSON_IsArray(r));
	out[0] = '\0';
	cJSON_ArrayForEach(m, r)
	{
		const cJSON *id = cJSON_GetObjectItem(m, "id");

		len += (size_t)snprintf(out + len, size - len, "%s%d", len ? "," : "",
					cJSON_IsNumber(id) ? id->valueint : -1);
	}
	cJSON_Delete(r);
}

static void test_batches(void **state)
{
	const char *mixed = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
			    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
			    "{\"name\":\"run_python\",\"arguments\":{\"code\":\"print(6*7)\"}}},"
			    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}]";
	char ids[64];
	cJSON *r;

	(void)state;
	canned = "{\"exit_code\":0,\"stdout\":\"42\\n\",\"stderr\":\"\",\"artifacts\":{},"
		 "\"status\":\"ok\",\"duration_ms\":3,\"truncated\":{\"stdout\":false,"
		 "\"stderr\":false}}";
	canned_r = 0;
	/* Before initialize, and in versions that have no batches: one -32600. */
	for (int v = 0; v < 3; v++) {
		struct mcp_server s = server();

		if (v)
			cJSON_Delete(init(&s, v == 1 ? "2025-06-18" : "2025-11-25"));
		last_body[0] = '\0';
		r = send_line(&s, mixed);
		assert_int_equal(error_code(r), -32600);
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
		assert_string_equal(last_body, "");
		cJSON_Delete(r);
	}
	/* 2025-03-26 (MCP says a server MUST take them) and 2024-11-05 (JSON-RPC 2.0). */
	for (int v = 0; v < 2; v++) {
		struct mcp_server s = server();

		cJSON_Delete(init(&s, v ? "2024-11-05" : "2025-03-26"));
		last_body[0] = '\0';
		r = send_line(&s, mixed);
		assert_int_equal(cJSON_GetArraySize(r), 3);
		assert_int_equal(error_code(cJSON_GetArrayItem(r, 2)), -32601);
		assert_non_null(strstr(last_body, "print(6*7)"));
		batch_ids(r, ids, sizeof(ids));
		assert_string_equal(ids, "1,2,3"); /* in order, the notification unanswered */
		/* Only notifications: no reply at all. */
		assert_null(send_line(&s, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
					  "initialized\"}]"));
		/* An empty batch is one invalid request; members that are not messages each one. */
		r = send_line(&s, "[]");
		assert_int_equal(error_code(r), -32600);
		cJSON_Delete(r);
		r = send_line(&s, "[1,2]");
		assert_int_equal(cJSON_GetArraySize(r), 2);
		assert_int_equal(error_code(cJSON_GetArrayItem(r, 1)), -32600);
		cJSON_Delete(r);
		/* initialize may not be batched (and was done already). */
		r = send_line(&s, "[{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\","
				  "\"params\":{\"protocolVersion\":\"2025-03-26\"}}]");
		assert_int_equal(error_code(cJSON_GetArrayItem(r, 0)), -32600);
		cJSON_Delete(r);
		/* A member's string that cJSON would cut: the batch is refused, nothing runs. */
		last_body[0] = '\0';
		r = send_line(&s, "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
				  "\"params\":{\"name\":\"run_python\",\"arguments\":{\"code\":"
				  "\"print(1)\\u0000rm\"}}}]");
		assert_int_equal(error_code(r), -32600);
		assert_non_null(strstr(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "message")->valuestring,
		    "[0].params.arguments.code"));
		assert_string_equal(last_body, "");
		cJSON_Delete(r);
	}
}

static void test_ids(void **state)
{
	cJSON *s1 = cJSON_CreateString("1"), *n1 = cJSON_CreateNumber(1),
	      *n1b = cJSON_CreateNumber(1.0), *n2 = cJSON_CreateNumber(2),
	      *half = cJSON_CreateNumber(0.5);
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}";
	const char *resp = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}";

	(void)state;
	assert_true(mcp_same_id(n1, n1b));
	assert_false(mcp_same_id(s1, n1)); /* "1" and 1 are different ids */
	assert_false(mcp_same_id(n1, n2));
	assert_false(mcp_same_id(half, half));
	assert_false(mcp_same_id(NULL, n1));
	assert_true(mcp_is_request(req, strlen(req), n1));
	assert_false(mcp_is_request(req, strlen(req), s1));
	assert_false(mcp_is_request(resp, strlen(resp), n1)); /* no method: not a request */
	cJSON_Delete(s1);
	cJSON_Delete(n1);
	cJSON_Delete(n1b);
	cJSON_Delete(n2);
	cJSON_Delete(half);
}

/* Every tool error, whatever refused it: structuredContent {error, code, field}. */
static void test_refusals_have_one_shape(void **state)
{
	static const struct {
		const char *tool, *args, *code, *field;
	} cases[] = {
	    {"run_python", "{}", "missing_program", "code"},
	    {"run_python", "{\"code\":5}", "wrong_type", "code"},
	    {"run_bash", "{\"code\":\"x\",\"bogus\":1}", "unknown_field", "bogus"},
	    {"list_packages", "{\"x\":1}", "unknown_field", "x"},
	    {"list_packages", "{}", "internal_error", NULL},			/* no interpreter */
	    {"run_python", "{\"code\":\"x\"}", "invalid_timeout", "timeout_s"}, /* the contract's */
	};
	struct mcp_server s = server();

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	canned = "{\"error\":\"no\",\"code\":\"invalid_timeout\",\"field\":\"timeout_s\"}";
	canned_r = -1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *res = call(&s, cases[i].tool, cases[i].args);
		const cJSON *sc = cJSON_GetObjectItem(res, "structuredContent");
		const cJSON *field = cJSON_GetObjectItem(sc, "field");

		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(sc, "error")));
		assert_string_equal(cJSON_GetObjectItem(sc, "code")->valuestring, cases[i].code);
		if (cases[i].field)
			assert_string_equal(field->valuestring, cases[i].field);
		else
			assert_null(field);
		assert_non_null(strstr(text0(res), cases[i].code));
		cJSON_Delete(res);
	}
}

/* ... and every outputSchema admits that shape. */
static void test_every_output_schema_admits_a_refusal(void **state)
{
	struct mcp_server s = server();
	cJSON *r, *t;

	(void)state;
	cJSON_Delete(init(&s, "2025-11-25"));
	r = send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools"))
	{
		const cJSON *os = cJSON_GetObjectItem(t, "outputSchema"), *alt;
		bool refusal = false;

		assert_non_null(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(os, "properties"), "error"));
		assert_non_null(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(os, "properties"), "field"));
		assert_null(cJSON_GetObjectItem(os, "required")); /* only inside anyOf */
		cJSON_ArrayForEach(alt, cJSON_GetObjectItem(os, "anyOf"))
		{
			char *req = cJSON_PrintUnformatted(cJSON_GetObjectItem(alt, "required"));

			refusal |= strcmp(req, "[\"error\",\"code\"]") == 0;
			free(req);
		}
		assert_true(refusal);
	}
	cJSON_Delete(r);
}

/* Pictures by their bytes, text by their names: the blocks a model sees. */
static void test_artifacts_become_blocks(void **state)
{
	struct mcp_server s = server();
	const cJSON *content, *b;
	cJSON *res;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	/* PNG, GIF, WebP and JPEG magic; a .png that is no picture; a CSV; an SVG (text). */
	canned = "{\"exit_code\":0,\"stdout\":\"\",\"stderr\":\"\",\"status\":\"ok\","
		 "\"duration_ms\":1,\"artifacts\":{"
		 "\"a.png\":{\"content\":\"iVBORw0KGgoAAAA=\",\"encoding\":\"base64\"},"
		 "\"b.gif\":{\"content\":\"R0lGODlhAQABAA==\",\"encoding\":\"base64\"},"
		 "\"c.webp\":{\"content\":\"UklGRgAAAABXRUJQVlA4\",\"encoding\":\"base64\"},"
		 "\"d.jpg\":{\"content\":\"/9j/4AAQ\",\"encoding\":\"base64\"},"
		 "\"e.png\":{\"content\":\"AAECAw==\",\"encoding\":\"base64\"},"
		 "\"t/f g.csv\":\"a,b\\n\",\"h.svg\":\"<svg/>\"}}";
	canned_r = 0;
	res = call(&s, "run_python", "{\"code\":\"x\"}");
	content = cJSON_GetObjectItem(res, "content");
	assert_int_equal(cJSON_GetArraySize(content), 1 + 4 + 2);
	static const char *const want[][2] = {
	    {"image", "image/png"},  {"image", "image/gif"},   {"image", "image/webp"},
	    {"image", "image/jpeg"}, {"resource", "text/csv"}, {"resource", "image/svg+xml"},
	};
	for (int i = 0; i < 6; i++) {
		b = cJSON_GetArrayItem(content, i + 1);
		assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring, want[i][0]);
		if (i < 4)
			assert_string_equal(cJSON_GetObjectItem(b, "mimeType")->valuestring,
					    want[i][1]);
		else
			assert_string_equal(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(b, "resource"), "mimeType")
				->valuestring,
			    want[i][1]);
	}
	b = cJSON_GetObjectItem(cJSON_GetArrayItem(content, 5), "resource");
	assert_string_equal(cJSON_GetObjectItem(b, "uri")->valuestring,
			    "file:///output/t/f%20g.csv");
	assert_string_equal(cJSON_GetObjectItem(b, "text")->valuestring, "a,b\n");
	assert_non_null(strstr(text0(res), "a.png: image/png, 11 bytes, shown as an image"));
	assert_non_null(strstr(text0(res), "e.png: binary, 4 bytes, only in the structured"));
	/* structuredContent stays the contract's answer. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
			     cJSON_GetObjectItem(res, "structuredContent"), "artifacts")),
			 7);
	cJSON_Delete(res);
}

/* Each block under its cap, all of them under one budget; what did not fit is named. */
static void test_blocks_have_caps(void **state)
{
	size_t img = MCP_IMAGE_MAX_BYTES - 3, b64 = (img + 2) / 3 * 4;
	char *big = malloc(b64 + MCP_TEXT_MAX_BYTES + 4096), *p = big, *summary = NULL;
	cJSON *arts = cJSON_CreateObject(), *blocks = cJSON_CreateArray(), *o;
	size_t len = 0;
	FILE *f = open_memstream(&summary, &len);

	(void)state;
	/* Five pictures just under the image cap: four fit the budget, the fifth does not. */
	memcpy(p, "iVBORw0KGgo", 11);
	memset(p + 11, 'A', b64 - 11);
	p[b64] = '\0';
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "p%d.png", i);
		o = cJSON_AddObjectToObject(arts, name);
		cJSON_AddStringToObject(o, "content", big);
		cJSON_AddStringToObject(o, "encoding", "base64");
	}
	memset(big, 'x', MCP_TEXT_MAX_BYTES + 1);
	big[MCP_TEXT_MAX_BYTES + 1] = '\0';
	cJSON_AddStringToObject(arts, "log.txt", big);
	/* One byte past the image cap: named, never shown. */
	b64 = (MCP_IMAGE_MAX_BYTES + 1 + 2) / 3 * 4;
	memcpy(big, "iVBORw0KGgo", 11);
	memset(big + 11, 'A', b64 - 11);
	big[b64] = '\0';
	o = cJSON_AddObjectToObject(arts, "huge.png");
	cJSON_AddStringToObject(o, "content", big);
	assert_int_equal(mcp_content_artifacts(arts, blocks, f), 0);
	fclose(f);
	assert_int_equal(cJSON_GetArraySize(blocks), 3);
	assert_non_null(strstr(summary, "p3.png: image/png"));
	assert_non_null(strstr(summary, "blocks reached their 4194304 bytes"));
	assert_non_null(strstr(summary, "log.txt: text, 262145 bytes, over the 262144 bytes"));
	assert_non_null(strstr(summary, "huge.png: image/png, 1048578 bytes, over the 1048576"));
	free(summary);
	free(big);
	cJSON_Delete(arts);
	cJSON_Delete(blocks);
}

static void test_content_helpers(void **state)
{
	static const unsigned char riff_not_webp[] = "RIFF\0\0\0\0WAVE";
	char *uri = mcp_content_uri("a b/é?#.txt");

	(void)state;
	assert_string_equal(uri, "file:///output/a%20b/%C3%A9%3F%23.txt");
	free(uri);
	assert_null(mcp_content_image_type(riff_not_webp, 12));
	assert_null(mcp_content_image_type((const unsigned char *)"\x89PN", 3));
	assert_string_equal(mcp_content_text_type("x/Y.CSV"), "text/csv");
	assert_string_equal(mcp_content_text_type("a.d/README"), "text/plain");
}

/* mcp_begin holds a ready tool call for its caller; mcp_finish answers it. */
static void test_begin_and_finish(void **state)
{
	static const char call_line[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{"
	    "\"name\":\"run_bash\",\"arguments\":{\"code\":\"echo\"},\"_meta\":{"
	    "\"progressToken\":42}}}";
	struct mcp_server s = server();
	struct mcp_pending p;
	const char *line;
	char *reply;
	cJSON *r;

	(void)state;
	cJSON_Delete(init(&s, "2025-06-18"));
	last_body[0] = '\0';
	reply = mcp_begin(&s, call_line, strlen(call_line), &p);
	assert_null(reply);
	assert_string_equal(last_body, ""); /* not run: held */
	assert_non_null(strstr(p.body, "\"language\":\"bash\""));
	assert_string_equal(p.id->valuestring, "c1");
	assert_int_equal(p.progress_token->valueint, 42);
	reply = mcp_finish(&s, &p,
			   "{\"exit_code\":0,\"stdout\":\"\\n\",\"stderr\":\"\",\"artifacts\":{},"
			   "\"status\":\"ok\",\"duration_ms\":1}");
	assert_null(p.body);
	r = cJSON_Parse(reply);
	assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, "c1");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "structuredContent"));
	cJSON_Delete(r);
	free(reply);
	/* Anything else is answered at once, a refused call too. */
	line = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
	reply = mcp_begin(&s, line, strlen(line), &p);
	assert_non_null(reply);
	assert_null(p.body);
	free(reply);
	line = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
	       "\"name\":\"run_python\",\"arguments\":{}}}";
	reply = mcp_begin(&s, line, strlen(line), &p);
	assert_non_null(strstr(reply, "missing_program"));
	assert_null(p.body);
	free(reply);
}

static void test_progress_line(void **state)
{
	cJSON *token = cJSON_CreateString("t"), *n, *params, *fig;
	struct mcp_progress p = {.progress = 4.0004,
				 .elapsed_s = 4,
				 .queued_s = 1,
				 .stdout_bytes = 10,
				 .stderr_bytes = 2};
	char *text = mcp_progress_line(token, &p);
	const char *line;

	(void)state;
	n = cJSON_Parse(text);
	params = cJSON_GetObjectItem(n, "params");
	assert_string_equal(cJSON_GetObjectItem(n, "method")->valuestring,
			    "notifications/progress");
	assert_null(cJSON_GetObjectItem(n, "id"));
	assert_string_equal(cJSON_GetObjectItem(params, "progressToken")->valuestring, "t");
	assert_true(cJSON_GetObjectItem(params, "progress")->valuedouble == 4.0);
	assert_string_equal(cJSON_GetObjectItem(params, "message")->valuestring,
			    "running for 3 s: 10 bytes of stdout and 2 of stderr so far");
	fig = cJSON_GetObjectItem(cJSON_GetObjectItem(params, "_meta"), "runbox/progress");
	assert_string_equal(cJSON_GetObjectItem(fig, "state")->valuestring, "running");
	assert_int_equal(cJSON_GetObjectItem(fig, "stdout_bytes")->valueint, 10);
	cJSON_Delete(n);
	free(text);
	p.queued = true;
	text = mcp_progress_line(token, &p);
	assert_non_null(strstr(text, "\"message\":\"queued: waiting 1 s so far"));
	free(text);
	cJSON_Delete(token);
	/* The token of a waiting tools/call line, for its queued progress. */
	line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"_meta\":"
	       "{\"progressToken\":7}}}";
	token = mcp_progress_token_of(line, strlen(line));
	assert_int_equal(token->valueint, 7);
	cJSON_Delete(token);
	assert_null(
	    mcp_progress_token_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 40));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_version_negotiation),
	    cmocka_unit_test(test_protocol_errors),
	    cmocka_unit_test(test_initialize_needs_version),
	    cmocka_unit_test(test_notifications_get_no_reply),
	    cmocka_unit_test(test_tools_list),
	    cmocka_unit_test(test_arguments_map_onto_the_contract),
	    cmocka_unit_test(test_failures_are_tool_errors),
	    cmocka_unit_test(test_old_version_gets_json_text),
	    cmocka_unit_test(test_list_packages),
	    cmocka_unit_test(test_list_packages_npm),
	    cmocka_unit_test(test_a_cancelled_call_gets_no_reply),
	    cmocka_unit_test(test_strings_cjson_would_change_are_refused),
	    cmocka_unit_test(test_urgent_messages),
	    cmocka_unit_test(test_batches),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_refusals_have_one_shape),
	    cmocka_unit_test(test_every_output_schema_admits_a_refusal),
	    cmocka_unit_test(test_artifacts_become_blocks),
	    cmocka_unit_test(test_blocks_have_caps),
	    cmocka_unit_test(test_content_helpers),
	    cmocka_unit_test(test_begin_and_finish),
	    cmocka_unit_test(test_progress_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
