/*
 * Unit tests for pkg/contract/request: every field of the contract in its accepted
 * and refused forms, each refusal with the exact code, field and fault
 * class request.c gives, every limit of config_defaults() at its boundary
 * and one past it.  Each accepted request is released with request_free,
 * and ASan's leak check at exit covers the refused paths too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64.h"
#include "contract/config.h"
#include "contract/request.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static struct runbox_config cfg;

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	return 0;
}

/* ---- a growing string, for bodies built at run time ---- */

struct sb {
	char *s;
	size_t n, cap;
};

static void sb_grow(struct sb *b, size_t more)
{
	if (b->n + more + 1 <= b->cap)
		return;
	b->cap = (b->n + more + 1) * 2;
	b->s = realloc(b->s, b->cap);
	assert_non_null(b->s);
}

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(len >= 0);
	sb_grow(b, (size_t)len);
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
}

static void sb_fill(struct sb *b, char c, size_t n)
{
	sb_grow(b, n);
	memset(b->s + b->n, c, n);
	b->n += n;
	b->s[b->n] = '\0';
}

/* ---- parse helpers ---- */

static void parse_ok_n(const char *body, size_t n, struct request *req)
{
	struct rb_err err = { 0 };
	int r = request_parse(body, n, &cfg.limits, req, &err);

	if (r < 0)
		fail_msg("refused %.120s: %s (field '%s'): %s", body, err.code, err.field, err.msg);
	assert_int_equal(r, 0);
	assert_non_null(req->root);
}

static void parse_ok(const char *body, struct request *req)
{
	parse_ok_n(body, strlen(body), req);
}

/* Parse and release at once: for requests only the acceptance matters for. */
static void accepts(const char *body)
{
	struct request req;

	parse_ok(body, &req);
	request_free(&req);
}

static void refused_n(const char *body, size_t n, const char *code, const char *field,
		      enum rb_fault fault)
{
	struct rb_err err = { 0 };
	struct request req;
	int r = request_parse(body, n, &cfg.limits, &req, &err);

	if (r >= 0) {
		request_free(&req);
		fail_msg("accepted %.120s, want %s", body, code);
	}
	if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
		fail_msg("%.120s: got %s (field '%s'), want %s (field '%s'); %s", body, err.code,
			 err.field, code, field, err.msg);
	if (err.fault != fault)
		fail_msg("%.120s: %s has fault %d, want %d", body, code, err.fault, fault);
	assert_true(err.msg[0] != '\0');
	/* "on failure *ret holds nothing to free" */
	assert_null(req.root);
	assert_null(req.files);
	assert_null(req.context);
	assert_null(req.dependencies);
	assert_null(req.args);
	assert_null(req.env_names);
	assert_null(req.env_values);
	assert_int_equal(req.n_files + req.n_context + req.n_dependencies + req.n_args + req.n_env,
			 0);
	request_free(&req);
}

static void refused(const char *body, const char *code, const char *field)
{
	refused_n(body, strlen(body), code, field, RB_FAULT_REQUEST);
}

static void refused_413(const char *body, const char *code, const char *field)
{
	refused_n(body, strlen(body), code, field, RB_FAULT_TOO_LARGE);
}

/* "session": true, false, an id; the id is looked up by the server, never here. */
static void test_session(void **state)
{
	char body[400];
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"1\",\"session\":true}", &req);
	assert_true(req.session_new);
	assert_null(req.session_id);
	request_free(&req);
	parse_ok("{\"script\":\"1\",\"session\":false}", &req);
	assert_false(req.session_new);
	assert_null(req.session_id);
	request_free(&req);
	parse_ok("{\"script\":\"1\",\"session\":\"not-even-hex\"}", &req);
	assert_string_equal(req.session_id, "not-even-hex");
	request_free(&req);
	refused("{\"script\":\"1\",\"session\":1}", "wrong_type", "session");
	refused("{\"script\":\"1\",\"session\":{}}", "wrong_type", "session");
	snprintf(body, sizeof(body), "{\"script\":\"1\",\"session\":\"%0129d\"}", 0);
	refused_n(body, strlen(body), "session_not_found", "session", RB_FAULT_NOT_FOUND);
	assert_int_equal(rb_fault_http_status(RB_FAULT_NOT_FOUND), 404);
	assert_int_equal(rb_fault_http_status(RB_FAULT_CONFLICT), 409);
}

/* ---- the minimal request, and a full one ---- */

static void test_minimal(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"print(1)\"}", &req);
	assert_string_equal(req.script, "print(1)");
	assert_int_equal(req.script_len, 8);
	assert_int_equal(req.language, LANG_PYTHON);
	assert_true(req.timeout_s == 60.0);
	assert_false(req.timeout_clamped);
	assert_null(req.files);
	assert_int_equal(req.n_files, 0);
	assert_null(req.entry_point);
	assert_int_equal(req.n_context, 0);
	assert_int_equal(req.n_dependencies, 0);
	assert_null(req.stdin_data);
	assert_int_equal(req.stdin_len, 0);
	assert_int_equal(req.n_args, 0);
	assert_int_equal(req.n_env, 0);
	assert_false(req.network);
	assert_string_equal(request_program_path(&req), "main.py");
	request_free(&req);
	/* request_free leaves a zeroed struct, so a second call is harmless. */
	assert_null(req.root);
	request_free(&req);
}

static void test_full_request(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"files\":{\"main.py\":\"import lib\",\"lib\\\\__init__.py\":{\"content\":"
		 "\"x=1\",\"encoding\":\"utf-8\"},\"data.bin\":{\"content\":\"AAEC\",\"encoding\":"
		 "\"base64\"}},\"entry_point\":\"main.py\",\"context\":{\"in.csv\":\"a,b\\n1,2\\n\"},"
		 "\"dependencies\":[\"numpy\"],\"timeout_s\":\"12.5\",\"language\":\"python\","
		 "\"stdin\":\"line\\n\",\"args\":[\"-v\",\"x y\"],\"env\":{\"DEBUG\":\"1\",\"_x\":\"\"},"
		 "\"network\":true}",
		 &req);
	assert_null(req.script);
	assert_int_equal(req.n_files, 3);
	assert_string_equal(req.files[0].path, "main.py");
	assert_int_equal(req.files[0].len, 10);
	assert_memory_equal(req.files[0].data, "import lib", 10);
	assert_null(req.files[0].owned);
	assert_string_equal(req.files[1].path, "lib/__init__.py");
	assert_int_equal(req.files[1].len, 3);
	assert_memory_equal(req.files[1].data, "x=1", 3);
	assert_string_equal(req.files[2].path, "data.bin");
	assert_int_equal(req.files[2].len, 3);
	assert_memory_equal(req.files[2].data, "\x00\x01\x02", 3);
	assert_non_null(req.files[2].owned);
	assert_string_equal(req.entry_point, "main.py");
	assert_ptr_equal(req.entry_point, req.files[0].path);
	assert_int_equal(req.n_context, 1);
	assert_string_equal(req.context[0].path, "in.csv");
	assert_int_equal(req.context[0].len, 8);
	assert_int_equal(req.n_dependencies, 1);
	assert_string_equal(req.dependencies[0], "numpy");
	assert_null(req.dependencies[1]);
	assert_true(req.timeout_s == 12.5);
	assert_false(req.timeout_clamped);
	assert_int_equal(req.language, LANG_PYTHON);
	assert_string_equal(req.stdin_data, "line\n");
	assert_int_equal(req.stdin_len, 5);
	assert_int_equal(req.n_args, 2);
	assert_string_equal(req.args[0], "-v");
	assert_string_equal(req.args[1], "x y");
	assert_null(req.args[2]);
	assert_int_equal(req.n_env, 2);
	assert_string_equal(req.env_names[0], "DEBUG");
	assert_string_equal(req.env_values[0], "1");
	assert_string_equal(req.env_names[1], "_x");
	assert_string_equal(req.env_values[1], "");
	assert_null(req.env_names[2]);
	assert_true(req.network);
	assert_string_equal(request_program_path(&req), "main.py");
	request_free(&req);
}

/* ---- the body as a whole ---- */

static void test_body(void **state)
{
	(void)state;
	refused_n("", 0, "empty_body", "", RB_FAULT_REQUEST);
	refused("   ", "invalid_json", "");
	refused("{\"script\":\"x\"", "invalid_json", "");
	refused("{\"script\":\"x\"} {}", "invalid_json", "");
	refused("[{\"script\":\"x\"}]", "not_an_object", "");
	refused("\"print(1)\"", "not_an_object", "");
	refused("1", "not_an_object", "");
	refused("{\"script\":\"caf\xE9\"}", "invalid_utf8", "script");
	refused("{\"script\":\"a\\u0000b\"}", "nul_in_string", "script");
	refused("{\"script\":\"\\ud800\"}", "invalid_json", "");
	refused("{\"script\":\"x\",\"script\":\"y\"}", "duplicate_key", "script");
	refused("{\"script\":\"x\",\"env\":{\"X\":\"1\",\"X\":\"2\"}}", "duplicate_key", "env.X");
	refused("{\"script\":\"x\",\"context\":{\"a\":\"1\",\"a\":\"2\"}}", "duplicate_key",
		"context.a");
	/* Keys are compared after unescaping. */
	refused("{\"script\":\"x\",\"scr\\u0069pt\":\"y\"}", "duplicate_key", "script");
}

static void test_body_values(void **state)
{
	/* The parser allows 100000 JSON values; one more is refused by the scan. */
	struct sb b = { 0 };

	(void)state;
	sb_add(&b, "{\"script\":\"x\",\"x\":[");
	for (int i = 0; i < 99998; i++)
		sb_add(&b, "%s0", i ? "," : "");
	sb_add(&b, "]}");
	/* 1 object + script + x + 99998 = 100001 */
	refused(b.s, "too_many_values", "");
	free(b.s);
	b = (struct sb){ 0 };
	sb_add(&b, "{\"script\":\"x\",\"x\":[");
	for (int i = 0; i < 99997; i++)
		sb_add(&b, "%s0", i ? "," : "");
	sb_add(&b, "]}");
	/* 100000 values pass the scan; then "x" is an unknown field. */
	refused(b.s, "unknown_field", "x");
	free(b.s);
}

static void test_body_nesting(void **state)
{
	/* The request parser allows 10 levels: the top object plus 9. */
	struct sb ok = { 0 }, deep = { 0 };

	(void)state;
	sb_add(&ok, "{\"script\":\"x\",\"args\":");
	sb_fill(&ok, '[', 9);
	sb_fill(&ok, ']', 9);
	sb_add(&ok, "}");
	/* Nesting within the limit passes the scan; args then refuses the type. */
	refused(ok.s, "wrong_type", "args[0]");
	sb_add(&deep, "{\"script\":\"x\",\"args\":");
	sb_fill(&deep, '[', 10);
	sb_fill(&deep, ']', 10);
	sb_add(&deep, "}");
	refused(deep.s, "nesting_too_deep", "");
	free(ok.s);
	free(deep.s);
}

static void test_body_size(void **state)
{
	static const char body[] = "{\"script\":\"print(1)\"}";
	size_t cap = cfg.limits.max_body_bytes;
	char *s = malloc(cap + 1);
	struct request req;

	(void)state;
	assert_int_equal(cap, 32 * MiB);
	assert_non_null(s);
	memset(s, ' ', cap + 1);
	memcpy(s, body, sizeof(body) - 1);
	parse_ok_n(s, cap, &req); /* at the cap: trailing whitespace is fine */
	assert_string_equal(req.script, "print(1)");
	request_free(&req);
	refused_n(s, cap + 1, "body_too_large", "", RB_FAULT_TOO_LARGE);
	free(s);
}

static void test_unknown_field(void **state)
{
	(void)state;
	refused("{\"script\":\"x\",\"foo\":1}", "unknown_field", "foo");
	refused("{\"Script\":\"x\"}", "unknown_field", "Script");
	refused("{\"script\":\"x\",\"timeout\":5}", "unknown_field", "timeout");
	refused("{\"code\":\"print(1)\"}", "unknown_field", "code");
	refused("{\"script\":\"x\",\"\":1}", "unknown_field", "");
}

static void test_wrong_types(void **state)
{
	static const struct {
		const char *body, *field;
	} cases[] = {
		{ "{\"script\":1}", "script" },
		{ "{\"script\":null}", "script" },
		{ "{\"script\":[\"print(1)\"]}", "script" },
		{ "{\"script\":{\"content\":\"x\"}}", "script" },
		{ "{\"files\":[\"main.py\"],\"entry_point\":\"main.py\"}", "files" },
		{ "{\"files\":\"main.py\",\"entry_point\":\"main.py\"}", "files" },
		{ "{\"files\":null}", "files" },
		{ "{\"files\":{\"main.py\":\"\"},\"entry_point\":1}", "entry_point" },
		{ "{\"files\":{\"main.py\":\"\"},\"entry_point\":[\"main.py\"]}", "entry_point" },
		{ "{\"script\":\"x\",\"context\":\"a\"}", "context" },
		{ "{\"script\":\"x\",\"context\":[]}", "context" },
		{ "{\"script\":\"x\",\"dependencies\":\"numpy\"}", "dependencies" },
		{ "{\"script\":\"x\",\"dependencies\":{}}", "dependencies" },
		{ "{\"script\":\"x\",\"dependencies\":[\"a\",1]}", "dependencies[1]" },
		{ "{\"script\":\"x\",\"stdin\":1}", "stdin" },
		{ "{\"script\":\"x\",\"stdin\":null}", "stdin" },
		{ "{\"script\":\"x\",\"stdin\":[\"a\"]}", "stdin" },
		{ "{\"script\":\"x\",\"args\":\"-v\"}", "args" },
		{ "{\"script\":\"x\",\"args\":{}}", "args" },
		{ "{\"script\":\"x\",\"args\":[\"a\",1]}", "args[1]" },
		{ "{\"script\":\"x\",\"args\":[null]}", "args[0]" },
		{ "{\"script\":\"x\",\"env\":[]}", "env" },
		{ "{\"script\":\"x\",\"env\":\"A=1\"}", "env" },
		{ "{\"script\":\"x\",\"env\":{\"A\":1}}", "env.A" },
		{ "{\"script\":\"x\",\"env\":{\"A\":null}}", "env.A" },
		{ "{\"script\":\"x\",\"env\":{\"A\":\"1\",\"B\":true}}", "env.B" },
		{ "{\"script\":\"x\",\"network\":\"true\"}", "network" },
		{ "{\"script\":\"x\",\"network\":1}", "network" },
		{ "{\"script\":\"x\",\"network\":null}", "network" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		refused(cases[i].body, "wrong_type", cases[i].field);
}

/* ---- which program ---- */

static void test_program_rules(void **state)
{
	(void)state;
	refused("{}", "missing_program", "script");
	refused("{\"stdin\":\"x\",\"args\":[]}", "missing_program", "script");
	refused("{\"script\":\"x\",\"files\":{\"main.py\":\"\"},\"entry_point\":\"main.py\"}",
		"conflicting_fields", "files");
	refused("{\"script\":\"x\",\"entry_point\":\"main.py\"}", "unexpected_entry_point",
		"entry_point");
	refused("{\"files\":{\"main.py\":\"\"}}", "missing_entry_point", "entry_point");
	refused("{\"entry_point\":\"main.py\"}", "missing_program", "script");
	/* Nothing to run is a mistake (a dropped body), refused with CodeRunner's words. */
	refused("{\"script\":\"\"}", "empty_script", "script");
	refused("{\"script\":\" \\n\\t\\r\\f\\u000b \"}", "empty_script", "script");
	accepts("{\"script\":\"#\"}");
	accepts("{\"script\":\"\\npass\\n\"}");
}

static void test_script_size(void **state)
{
	struct sb at = { 0 }, over = { 0 }, wide = { 0 };
	struct request req;

	(void)state;
	assert_int_equal(cfg.limits.max_script_bytes, 262144);
	sb_add(&at, "{\"script\":\"");
	sb_fill(&at, '#', 262144);
	sb_add(&at, "\"}");
	parse_ok(at.s, &req);
	assert_int_equal(req.script_len, 262144);
	request_free(&req);
	sb_add(&over, "{\"script\":\"");
	sb_fill(&over, '#', 262145);
	sb_add(&over, "\"}");
	refused_413(over.s, "script_too_large", "script");
	/* Bytes of UTF-8, not characters: 87382 x 3 bytes = 262146. */
	sb_add(&wide, "{\"script\":\"");
	for (int i = 0; i < 87382; i++)
		sb_add(&wide, "\xE2\x82\xAC");
	sb_add(&wide, "\"}");
	refused_413(wide.s, "script_too_large", "script");
	free(at.s);
	free(over.s);
	free(wide.s);
}

/* ---- files and context ---- */

/* {"files":{"f0.py":"", ...}, "entry_point":"f0.py"} with @n files. */
static char *files_body(unsigned n)
{
	struct sb b = { 0 };

	sb_add(&b, "{\"files\":{");
	for (unsigned i = 0; i < n; i++)
		sb_add(&b, "%s\"f%u.py\":\"\"", i ? "," : "", i);
	sb_add(&b, "},\"entry_point\":\"f0.py\"}");
	return b.s;
}

static char *context_body(unsigned n)
{
	struct sb b = { 0 };

	sb_add(&b, "{\"script\":\"x\",\"context\":{");
	for (unsigned i = 0; i < n; i++)
		sb_add(&b, "%s\"c%u.txt\":\"%u\"", i ? "," : "", i, i);
	sb_add(&b, "}}");
	return b.s;
}

static void test_file_counts(void **state)
{
	char *s;
	struct request req;

	(void)state;
	assert_int_equal(cfg.limits.max_files, 20);
	s = files_body(20);
	parse_ok(s, &req);
	assert_int_equal(req.n_files, 20);
	request_free(&req);
	free(s);
	s = files_body(21);
	refused(s, "too_many_files", "files");
	free(s);
	s = context_body(20);
	parse_ok(s, &req);
	assert_int_equal(req.n_context, 20);
	assert_string_equal(req.context[19].path, "c19.txt");
	request_free(&req);
	free(s);
	s = context_body(21);
	refused(s, "too_many_files", "context");
	free(s);
	/* The two maps have a limit each. */
	{
		struct sb b = { 0 };

		sb_add(&b, "{\"files\":{");
		for (unsigned i = 0; i < 20; i++)
			sb_add(&b, "%s\"f%u.py\":\"\"", i ? "," : "", i);
		sb_add(&b, "},\"entry_point\":\"f0.py\",\"context\":{");
		for (unsigned i = 0; i < 20; i++)
			sb_add(&b, "%s\"c%u\":\"\"", i ? "," : "", i);
		sb_add(&b, "}}");
		accepts(b.s);
		free(b.s);
	}
	refused("{\"files\":{},\"entry_point\":\"main.py\"}", "empty_files", "files");
	accepts("{\"script\":\"x\",\"context\":{}}");
}

/* A body with one file of @n bytes: in "files" or "context", raw or base64. */
static char *one_big_file(const char *map, size_t n, bool base64)
{
	struct sb b = { 0 };

	if (strcmp(map, "files") == 0)
		sb_add(&b, "{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"big.bin\":");
	else
		sb_add(&b, "{\"script\":\"x\",\"context\":{\"big.bin\":");
	if (base64) {
		unsigned char *raw = calloc(n ? n : 1, 1);
		char *enc = malloc(b64_encoded_len(n) + 1);

		assert_non_null(raw);
		assert_non_null(enc);
		b64_encode(raw, n, enc);
		sb_add(&b, "{\"encoding\":\"base64\",\"content\":\"%s\"}", enc);
		free(raw);
		free(enc);
	} else {
		sb_add(&b, "\"");
		sb_fill(&b, 'z', n);
		sb_add(&b, "\"");
	}
	sb_add(&b, "}}");
	return b.s;
}

static void test_file_size(void **state)
{
	size_t cap = 5 * MiB;
	struct request req;
	char *s;

	(void)state;
	assert_int_equal(cfg.limits.max_file_bytes, cap);
	s = one_big_file("files", cap, false);
	parse_ok(s, &req);
	assert_int_equal(req.files[1].len, cap);
	request_free(&req);
	free(s);
	s = one_big_file("files", cap + 1, false);
	refused_413(s, "file_too_large", "files.big.bin");
	free(s);
	/* The decoded size is what counts. */
	s = one_big_file("files", cap, true);
	parse_ok(s, &req);
	assert_int_equal(req.files[1].len, cap);
	assert_non_null(req.files[1].owned);
	request_free(&req);
	free(s);
	s = one_big_file("files", cap + 1, true);
	refused_413(s, "file_too_large", "files.big.bin");
	free(s);
	s = one_big_file("context", cap, false);
	accepts(s);
	free(s);
	s = one_big_file("context", cap + 1, true);
	refused_413(s, "file_too_large", "context.big.bin");
	free(s);
}

static void test_total_size(void **state)
{
	size_t five = 5 * MiB;
	struct sb b = { 0 }, c = { 0 };

	(void)state;
	assert_int_equal(cfg.limits.max_files_total, 10 * MiB);
	/* files: main.py (1 byte) + a (5 MiB - 1); context: 5 MiB. Exactly 10 MiB. */
	sb_add(&b, "{\"files\":{\"main.py\":\"#\",\"a\":\"");
	sb_fill(&b, 'a', five - 1);
	sb_add(&b, "\"},\"entry_point\":\"main.py\",\"context\":{\"c\":\"");
	sb_fill(&b, 'c', five);
	sb_add(&b, "\"}}");
	accepts(b.s);
	/* One byte more, in context: the map where the total went over is named. */
	sb_add(&c, "{\"files\":{\"main.py\":\"#\",\"a\":\"");
	sb_fill(&c, 'a', five - 1);
	sb_add(&c, "\"},\"entry_point\":\"main.py\",\"context\":{\"c\":\"");
	sb_fill(&c, 'c', five);
	sb_add(&c, "\",\"d\":\"!\"}}");
	refused_413(c.s, "total_size_too_large", "context");
	free(b.s);
	free(c.s);
	/* Within "files" alone. */
	b = (struct sb){ 0 };
	sb_add(&b, "{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"#\",\"a\":\"");
	sb_fill(&b, 'a', five);
	sb_add(&b, "\",\"b\":\"");
	sb_fill(&b, 'b', five);
	sb_add(&b, "\"}}");
	refused_413(b.s, "total_size_too_large", "files");
	free(b.s);
}

static void test_file_values(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"x\",\"context\":{\"a\":{\"content\":\"caf\\u00e9\"},"
		 "\"b\":{\"content\":\"aGk=\",\"encoding\":\"base64\"},"
		 "\"c\":{\"content\":\"aGk\",\"encoding\":\"base64\"},"
		 "\"d\":{\"content\":\"aG\\r\\nk=\",\"encoding\":\"base64\"},"
		 "\"e\":{\"encoding\":\"utf-8\",\"content\":\"aGk=\"},"
		 "\"f\":\"\",\"g\":{\"content\":\"\",\"encoding\":\"base64\"}}}",
		 &req);
	assert_int_equal(req.n_context, 7);
	assert_int_equal(req.context[0].len, 5);
	assert_memory_equal(req.context[0].data, "caf\xC3\xA9", 5);
	assert_null(req.context[0].owned);
	assert_int_equal(req.context[1].len, 2);
	assert_memory_equal(req.context[1].data, "hi", 2);
	assert_int_equal(req.context[2].len, 2);
	assert_memory_equal(req.context[2].data, "hi", 2);
	assert_int_equal(req.context[3].len, 2);
	assert_memory_equal(req.context[3].data, "hi", 2);
	assert_int_equal(req.context[4].len, 4);
	assert_memory_equal(req.context[4].data, "aGk=", 4);
	assert_int_equal(req.context[5].len, 0);
	assert_int_equal(req.context[6].len, 0);
	request_free(&req);
	/* Binary with NUL bytes survives through base64. */
	parse_ok("{\"script\":\"x\",\"context\":{\"z\":{\"content\":\"AP8A\",\"encoding\":"
		 "\"base64\"}}}",
		 &req);
	assert_int_equal(req.context[0].len, 3);
	assert_memory_equal(req.context[0].data, "\x00\xff\x00", 3);
	request_free(&req);
}

static void test_file_value_refusals(void **state)
{
	static const struct {
		const char *value, *code, *field;
	} cases[] = {
		{ "1", "invalid_file_value", "context.a" },
		{ "null", "invalid_file_value", "context.a" },
		{ "true", "invalid_file_value", "context.a" },
		{ "[\"x\"]", "invalid_file_value", "context.a" },
		{ "{}", "invalid_file_value", "context.a" },
		{ "{\"content\":1}", "invalid_file_value", "context.a" },
		{ "{\"content\":null}", "invalid_file_value", "context.a" },
		{ "{\"encoding\":\"utf-8\"}", "invalid_file_value", "context.a" },
		{ "{\"content\":\"x\",\"mode\":\"0755\"}", "invalid_file_value", "context.a" },
		{ "{\"content\":\"x\",\"Encoding\":\"base64\"}", "invalid_file_value", "context.a" },
		{ "{\"content\":\"x\",\"encoding\":\"latin-1\"}", "invalid_encoding",
		  "context.a.encoding" },
		{ "{\"content\":\"x\",\"encoding\":\"UTF-8\"}", "invalid_encoding",
		  "context.a.encoding" },
		{ "{\"content\":\"x\",\"encoding\":\"base64url\"}", "invalid_encoding",
		  "context.a.encoding" },
		{ "{\"content\":\"x\",\"encoding\":\"\"}", "invalid_encoding", "context.a.encoding" },
		{ "{\"content\":\"x\",\"encoding\":1}", "invalid_encoding", "context.a.encoding" },
		{ "{\"content\":\"x\",\"encoding\":null}", "invalid_encoding", "context.a.encoding" },
		{ "{\"content\":\"aGk!\",\"encoding\":\"base64\"}", "invalid_base64", "context.a" },
		{ "{\"content\":\"a\",\"encoding\":\"base64\"}", "invalid_base64", "context.a" },
		{ "{\"content\":\"aG k=\",\"encoding\":\"base64\"}", "invalid_base64", "context.a" },
		{ "{\"content\":\"aGk=aGk=\",\"encoding\":\"base64\"}", "invalid_base64",
		  "context.a" },
		{ "{\"content\":\"aG-_\",\"encoding\":\"base64\"}", "invalid_base64", "context.a" },
	};
	char body[300];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"a\":%s}}",
			 cases[i].value);
		refused(body, cases[i].code, cases[i].field);
	}
	/* Same rules in "files"; a failure after a base64 file was decoded leaks nothing. */
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"d\":{\"content\":"
		"\"AAAA\",\"encoding\":\"base64\"},\"e\":{\"content\":\"A\",\"encoding\":"
		"\"base64\"}}}",
		"invalid_base64", "files.e");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"d\":{\"content\":"
		"\"AAAA\",\"encoding\":\"base64\"},\"e\":7}}",
		"invalid_file_value", "files.e");
}

static void test_invalid_paths(void **state)
{
	static const struct {
		const char *key, *field;
	} cases[] = {
		{ "", "context." },
		{ "/etc/passwd", "context./etc/passwd" },
		{ "a//b", "context.a//b" },
		{ "a/", "context.a/" },
		{ ".", "context.." },
		{ "..", "context..." },
		{ "a/../b", "context.a/../b" },
		{ "../../x", "context.../../x" },
		{ "\\\\x", "context.\\x" },
		{ "a\\n", "context.a\n" },
		{ "a\\u001fb", "context.a\x1f" "b" },
		{ "a\\u007f", "context.a\x7f" },
	};
	char body[300];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"%s\":\"\"}}",
			 cases[i].key);
		refused(body, "invalid_path", cases[i].field);
	}
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"x/./y\":\"\"}}",
		"invalid_path", "files.x/./y");
}

static void test_path_limits(void **state)
{
	struct sb seg = { 0 }, deep = { 0 };
	char body[2000];

	(void)state;
	sb_fill(&seg, 's', 255);
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"%s\":\"\"}}", seg.s);
	accepts(body);
	sb_fill(&seg, 's', 1);
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"%s\":\"\"}}", seg.s);
	{
		/* The field names the raw key in full. */
		char field[sizeof(((struct rb_err *)0)->field)];

		snprintf(field, sizeof(field), "context.%s", seg.s);
		refused(body, "invalid_path", field);
	}
	for (int i = 0; i < 15; i++)
		sb_add(&deep, "d/");
	sb_add(&deep, "f");
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"%s\":\"\"}}", deep.s);
	accepts(body);
	sb_add(&deep, "/g");
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"context\":{\"%s\":\"\"}}", deep.s);
	refused(body, "invalid_path", "context.d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/f/g");
	free(seg.s);
	free(deep.s);
}

static void test_duplicate_and_conflicting_paths(void **state)
{
	struct request req;

	(void)state;
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"a\\\\b\":\"1\","
		"\"a/b\":\"2\"}}",
		"duplicate_path", "files");
	refused("{\"script\":\"x\",\"context\":{\"d/x\":\"1\",\"d\\\\x\":\"2\"}}", "duplicate_path",
		"context");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"a\":\"1\","
		"\"a/b\":\"2\"}}",
		"path_conflict", "files");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"a/b/c\":\"1\","
		"\"a\":\"2\"}}",
		"path_conflict", "files");
	refused("{\"script\":\"x\",\"context\":{\"a/b\":\"1\",\"a\":\"2\"}}", "path_conflict",
		"context");
	/* Not conflicts: a shared directory, a name that merely starts the same. */
	parse_ok("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"a/x\":\"1\","
		 "\"a/y\":\"2\",\"ab\":\"3\",\"a.py\":\"4\"}}",
		 &req);
	assert_int_equal(req.n_files, 5);
	request_free(&req);
	/* The same path in files and in context is two different files. */
	accepts("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\"},"
		"\"context\":{\"main.py\":\"\"}}");
}

static void test_reserved_paths(void **state)
{
	(void)state;
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"input/x.csv\":\"\"}}",
		"reserved_path", "files");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"output/a/b\":\"\"}}",
		"reserved_path", "files");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"output\":\"\"}}",
		"reserved_path", "files");
	refused("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"input\\\\x\":\"\"}}",
		"reserved_path", "files");
	accepts("{\"entry_point\":\"main.py\",\"files\":{\"main.py\":\"\",\"inputs/x\":\"\","
		"\"my_output\":\"\",\"src/input/x\":\"\"}}");
	/* context lands under input/ already: its own "input/" is just a folder. */
	accepts("{\"script\":\"x\",\"context\":{\"input/x\":\"\",\"output\":\"\"}}");
}

/* ---- entry_point and language ---- */

static void test_entry_point(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"files\":{\"src/app.py\":\"\",\"src/lib.py\":\"\"},"
		 "\"entry_point\":\"src\\\\app.py\"}",
		 &req);
	assert_string_equal(req.entry_point, "src/app.py");
	assert_ptr_equal(req.entry_point, req.files[0].path);
	assert_string_equal(request_program_path(&req), "src/app.py");
	assert_int_equal(req.language, LANG_PYTHON);
	request_free(&req);
	parse_ok("{\"files\":{\"a\\\\b.py\":\"\"},\"entry_point\":\"a/b.py\"}", &req);
	assert_string_equal(req.entry_point, "a/b.py");
	request_free(&req);
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"app.py\"}",
		"entry_point_not_found", "entry_point");
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"Main.py\"}",
		"entry_point_not_found", "entry_point");
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"./main.py\"}",
		"entry_point_not_found", "entry_point");
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"/main.py\"}",
		"entry_point_not_found", "entry_point");
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"\"}", "entry_point_not_found",
		"entry_point");
	refused("{\"files\":{\"main.txt\":\"\"},\"entry_point\":\"main.txt\"}",
		"invalid_entry_point", "entry_point");
	refused("{\"files\":{\"main\":\"\"},\"entry_point\":\"main\"}", "invalid_entry_point",
		"entry_point");
	refused("{\"files\":{\"main.PY\":\"\"},\"entry_point\":\"main.PY\"}",
		"invalid_entry_point", "entry_point");
}

static void test_language_inference(void **state)
{
	struct request req;

	(void)state;
	/* .sh without "language": bash is inferred. */
	parse_ok("{\"files\":{\"run.sh\":\"echo hi\"},\"entry_point\":\"run.sh\"}", &req);
	assert_int_equal(req.language, LANG_BASH);
	assert_string_equal(request_program_path(&req), "run.sh");
	request_free(&req);
	parse_ok("{\"files\":{\"run.sh\":\"\"},\"entry_point\":\"run.sh\",\"language\":\"bash\"}",
		 &req);
	assert_int_equal(req.language, LANG_BASH);
	request_free(&req);
	/* An explicit language must match the extension. */
	refused("{\"files\":{\"run.sh\":\"\"},\"entry_point\":\"run.sh\",\"language\":\"python\"}",
		"invalid_entry_point", "entry_point");
	refused("{\"files\":{\"main.py\":\"\"},\"entry_point\":\"main.py\",\"language\":\"bash\"}",
		"invalid_entry_point", "entry_point");
	/* With "script" the name follows the language. */
	parse_ok("{\"script\":\"echo hi\",\"language\":\"bash\"}", &req);
	assert_int_equal(req.language, LANG_BASH);
	assert_string_equal(request_program_path(&req), "main.sh");
	request_free(&req);
	parse_ok("{\"script\":\"print(1)\",\"language\":\"python\"}", &req);
	assert_int_equal(req.language, LANG_PYTHON);
	assert_string_equal(request_program_path(&req), "main.py");
	request_free(&req);
}

static void test_node_languages(void **state)
{
	static const struct {
		const char *entry;
		enum request_language lang;
	} inferred[] = {
		{ "a.js", LANG_JAVASCRIPT }, { "a.mjs", LANG_JAVASCRIPT }, { "src/a.cjs", LANG_JAVASCRIPT },
		{ "a.ts", LANG_TYPESCRIPT }, { "a.mts", LANG_TYPESCRIPT }, { "a.cts", LANG_TYPESCRIPT },
	};
	/* Whole words only; in a string or a comment too (the safe way to err). */
	static const struct {
		const char *script;
		const char *path;
	} module_scripts[] = {
		{ "import fs from 'fs'", "main.mjs" }, { "export const a = 1", "main.mjs" },
		{ "console.log(await 1)", "main.mjs" }, { "if (import.meta.url) 1", "main.mjs" },
		{ "x;import{a}from'b'", "main.mjs" }, { "// we import nothing", "main.mjs" },
		{ "await", "main.mjs" }, { "const important = 1", "main.cjs" },
		{ "reexport(awaited, $import, _export)", "main.cjs" }, { "imports.x", "main.cjs" },
		{ "caf\xC3\xA9import", "main.cjs" },
	};
	char body[200];
	struct request req;

	(void)state;
	for (size_t i = 0; i < N(inferred); i++) {
		snprintf(body, sizeof(body), "{\"files\":{\"%s\":\"1\"},\"entry_point\":\"%s\"}",
			 inferred[i].entry, inferred[i].entry);
		parse_ok(body, &req);
		assert_int_equal(req.language, inferred[i].lang);
		assert_true(LANG_IS_NODE(req.language));
		assert_string_equal(request_program_path(&req), inferred[i].entry);
		request_free(&req);
	}
	/* Script mode's files: CommonJS unless the script says an ES module's
	 * words, a TypeScript file. */
	for (size_t i = 0; i < N(module_scripts); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"%s\",\"language\":\"javascript\"}",
			 module_scripts[i].script);
		parse_ok(body, &req);
		if (strcmp(request_program_path(&req), module_scripts[i].path) != 0)
			fail_msg("%s: %s, not %s", module_scripts[i].script,
				 request_program_path(&req), module_scripts[i].path);
		request_free(&req);
	}
	parse_ok("{\"script\":\"1\",\"language\":\"javascript\"}", &req);
	assert_string_equal(request_program_path(&req), "main.cjs");
	assert_string_equal(request_language_name(req.language), "javascript");
	request_free(&req);
	parse_ok("{\"script\":\"1\",\"language\":\"typescript\"}", &req);
	assert_string_equal(request_program_path(&req), "main.ts");
	request_free(&req);
	/* A language and an entry point of another: refused, both named. */
	refused("{\"files\":{\"a.ts\":\"\"},\"entry_point\":\"a.ts\",\"language\":\"javascript\"}",
		"invalid_entry_point", "entry_point");
	refused("{\"files\":{\"a.js\":\"\"},\"entry_point\":\"a.js\",\"language\":\"typescript\"}",
		"invalid_entry_point", "entry_point");
	refused("{\"files\":{\"a.js\":\"\"},\"entry_point\":\"a.js\",\"language\":\"python\"}",
		"invalid_entry_point", "entry_point");
	refused("{\"files\":{\"a.jsx\":\"\"},\"entry_point\":\"a.jsx\",\"language\":\"javascript\"}",
		"invalid_entry_point", "entry_point");
}

static void test_language_refusals(void **state)
{
	static const char *const values[] = {
		"\"Python\"", "\"python3\"", "\"ruby\"", "\"sh\"", "\"\"", "\"js\"", "\"ts\"",
		"\"node\"", "\"JavaScript\"",
	};
	static const char *const wrong[] = { "1", "null", "true", "[\"python\"]" };
	char body[100];

	(void)state;
	for (size_t i = 0; i < N(values); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"language\":%s}", values[i]);
		refused(body, "invalid_language", "language");
	}
	for (size_t i = 0; i < N(wrong); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"language\":%s}", wrong[i]);
		refused(body, "wrong_type", "language");
	}
}

/* ---- timeout_s ---- */

static void expect_timeout(const char *value, double want, bool clamped)
{
	char body[200];
	struct request req;

	snprintf(body, sizeof(body), "{\"script\":\"x\",\"timeout_s\":%s}", value);
	parse_ok(body, &req);
	if (req.timeout_s != want || req.timeout_clamped != clamped)
		fail_msg("timeout_s %s: got %g (clamped %d), want %g (clamped %d)", value,
			 req.timeout_s, req.timeout_clamped, want, clamped);
	request_free(&req);
}

static void test_timeout(void **state)
{
	(void)state;
	assert_true(cfg.limits.max_timeout_s == 300);
	expect_timeout("10", 10, false);
	expect_timeout("0.5", 0.5, false);
	expect_timeout("1e-3", 0.001, false);
	expect_timeout("300", 300, false);
	expect_timeout("300.5", 300, true);
	expect_timeout("301", 300, true);
	expect_timeout("1e9", 300, true);
	expect_timeout("\"30\"", 30, false);
	expect_timeout("\"2.5\"", 2.5, false);
	expect_timeout("\"1e1\"", 10, false);
	expect_timeout("\" 30\"", 30, false);
	expect_timeout("\"30  \"", 30, false);
	expect_timeout("\"1000\"", 300, true);
	expect_timeout("\"300\"", 300, false);
	/* Too large for a double, still a JSON number above the maximum. */
	expect_timeout("1e400", 300, true);
	expect_timeout("\"1e400\"", 300, true);
}

static void test_timeout_refusals(void **state)
{
	static const char *const values[] = {
		"0", "-1", "-0.5", "0.0", "-1e400", "1e-400", "\"1e-400\"",
		"\"0\"", "\"-5\"", "\"\"", "\" \"", "\"abc\"", "\"10s\"", "\"10 s\"", "\"1,5\"",
		"\"inf\"", "\"Infinity\"", "\"nan\"", "\"NaN\"", "\"0x10\"", "\"-1e400\"",
		"true", "false", "null", "[10]", "{}",
	};
	char body[100];

	(void)state;
	for (size_t i = 0; i < N(values); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"timeout_s\":%s}", values[i]);
		refused(body, "invalid_timeout", "timeout_s");
	}
}

/* ---- stdin, args, dependencies, env, network ---- */

static void test_stdin(void **state)
{
	size_t cap = cfg.limits.max_stdin_bytes;
	struct sb at = { 0 }, over = { 0 };
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"x\",\"stdin\":\"a\\nb\\n\"}", &req);
	assert_string_equal(req.stdin_data, "a\nb\n");
	assert_int_equal(req.stdin_len, 4);
	request_free(&req);
	parse_ok("{\"script\":\"x\",\"stdin\":\"\"}", &req);
	assert_non_null(req.stdin_data);
	assert_int_equal(req.stdin_len, 0);
	request_free(&req);
	assert_int_equal(cap, 10 * MiB);
	sb_add(&at, "{\"script\":\"x\",\"stdin\":\"");
	sb_fill(&at, 'i', cap);
	sb_add(&at, "\"}");
	accepts(at.s);
	sb_add(&over, "{\"script\":\"x\",\"stdin\":\"");
	sb_fill(&over, 'i', cap + 1);
	sb_add(&over, "\"}");
	refused_413(over.s, "stdin_too_large", "stdin");
	free(at.s);
	free(over.s);
}

static char *array_body(const char *field, unsigned n, const char *elem)
{
	struct sb b = { 0 };

	sb_add(&b, "{\"script\":\"x\",\"%s\":[", field);
	for (unsigned i = 0; i < n; i++)
		sb_add(&b, "%s\"%s\"", i ? "," : "", elem);
	sb_add(&b, "]}");
	return b.s;
}

static void test_args(void **state)
{
	struct request req;
	struct sb at = { 0 }, over = { 0 };
	char *s;

	(void)state;
	assert_int_equal(cfg.limits.max_args, 256);
	s = array_body("args", 256, "a");
	parse_ok(s, &req);
	assert_int_equal(req.n_args, 256);
	assert_null(req.args[256]);
	request_free(&req);
	free(s);
	s = array_body("args", 257, "a");
	refused(s, "too_many_args", "args");
	free(s);
	parse_ok("{\"script\":\"x\",\"args\":[]}", &req);
	assert_int_equal(req.n_args, 0);
	assert_non_null(req.args);
	assert_null(req.args[0]);
	request_free(&req);
	parse_ok("{\"script\":\"x\",\"args\":[\"\",\"--x=1\",\"caf\\u00e9\"]}", &req);
	assert_int_equal(req.n_args, 3);
	assert_string_equal(req.args[0], "");
	assert_string_equal(req.args[2], "caf\xC3\xA9");
	request_free(&req);
	/* Bytes: the sum of the args' lengths; the cap is 128 KiB. */
	assert_int_equal(cfg.limits.max_args_bytes, 128 * KiB);
	sb_add(&at, "{\"script\":\"x\",\"args\":[\"");
	sb_fill(&at, 'a', 64 * KiB);
	sb_add(&at, "\",\"");
	sb_fill(&at, 'a', 64 * KiB - 1);
	sb_add(&at, "\",\"a\"]}");
	accepts(at.s);
	sb_add(&over, "{\"script\":\"x\",\"args\":[\"");
	sb_fill(&over, 'a', 64 * KiB);
	sb_add(&over, "\",\"");
	sb_fill(&over, 'a', 64 * KiB);
	sb_add(&over, "\",\"a\"]}");
	refused(over.s, "args_too_large", "args");
	free(at.s);
	free(over.s);
	/* One argument: at most 131071 bytes, the kernel's limit for one execve string. */
	at = (struct sb){0};
	over = (struct sb){0};
	sb_add(&at, "{\"script\":\"x\",\"args\":[\"");
	sb_fill(&at, 'a', 128 * KiB - 1);
	sb_add(&at, "\"]}");
	accepts(at.s);
	sb_add(&over, "{\"script\":\"x\",\"args\":[\"b\",\"");
	sb_fill(&over, 'a', 128 * KiB);
	sb_add(&over, "\"]}");
	refused(over.s, "args_too_large", "args[1]");
	free(at.s);
	free(over.s);
}

static void test_dependencies(void **state)
{
	struct request req;
	char *s;

	(void)state;
	assert_int_equal(cfg.limits.max_dependencies, 15);
	s = array_body("dependencies", 15, "numpy");
	parse_ok(s, &req);
	assert_int_equal(req.n_dependencies, 15);
	assert_string_equal(req.dependencies[14], "numpy");
	assert_null(req.dependencies[15]);
	request_free(&req);
	free(s);
	s = array_body("dependencies", 16, "numpy");
	refused(s, "too_many_dependencies", "dependencies");
	free(s);
	accepts("{\"script\":\"x\",\"dependencies\":[]}");
	accepts("{\"script\":\"x\",\"dependencies\":[\"requests>=2.0\",\"pandas==2.1.*\"]}");
}

static void test_env(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"x\",\"env\":{\"A\":\"1\",\"_b\":\"\",\"lower_9\":\"v w\","
		 "\"path\":\"/not/reserved/lowercase\",\"MY_PATH\":\"x\",\"PYTHO\":\"x\","
		 "\"HOMEDIR\":\"x\"}}",
		 &req);
	assert_int_equal(req.n_env, 7);
	assert_string_equal(req.env_names[2], "lower_9");
	assert_string_equal(req.env_values[2], "v w");
	assert_null(req.env_names[7]);
	request_free(&req);
	parse_ok("{\"script\":\"x\",\"env\":{}}", &req);
	assert_int_equal(req.n_env, 0);
	request_free(&req);
}

static void test_env_names(void **state)
{
	static const char *const invalid[] = {
		"", "1A", "A-B", "A B", "A=B", "A.B", "caf\\u00e9", "$X", "BASH_FUNC_f%%",
	};
	static const char *const invalid_field[] = {
		"env.", "env.1A", "env.A-B", "env.A B", "env.A=B", "env.A.B", "env.caf\xC3\xA9",
		"env.$X", "env.BASH_FUNC_f%%",
	};
	char body[400], name[200];

	(void)state;
	for (size_t i = 0; i < N(invalid); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"env\":{\"%s\":\"1\"}}", invalid[i]);
		refused(body, "invalid_env_name", invalid_field[i]);
	}
	/* At most 128 characters. */
	memset(name, 'N', 128);
	name[128] = '\0';
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"env\":{\"%s\":\"1\"}}", name);
	accepts(body);
	memset(name, 'N', 129);
	name[129] = '\0';
	snprintf(body, sizeof(body), "{\"script\":\"x\",\"env\":{\"%s\":\"1\"}}", name);
	{
		char field[300];

		snprintf(field, sizeof(field), "env.%s", name);
		refused(body, "invalid_env_name", field);
	}
}

static void test_env_reserved(void **state)
{
	static const char *const reserved[] = {
		"PATH", "HOME", "TMPDIR", "ENV", "BASH_ENV", "SHELLOPTS", "IFS", "CDPATH",
		"PS4", "PROMPT_COMMAND", "GCONV_PATH", "LOCPATH", "MPLBACKEND", "OPENSSL_CONF",
		"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHON", "PYTHONIOENCODING",
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_", "RUNBOX_LOG", "RUNBOX_", "MALLOC_ARENA_MAX",
		"GLIBC_TUNABLES", "BASH_FUNC_x", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
		"MKL_NUM_THREADS", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS", "PERL5OPT",
		"NODE_PATH", "NODE_EXTRA_CA_CERTS", "NODE_", "UV_THREADPOOL_SIZE", "UV_USE_IO_URING",
	};
	char body[200], field[100];

	(void)state;
	for (size_t i = 0; i < N(reserved); i++) {
		snprintf(body, sizeof(body), "{\"script\":\"x\",\"env\":{\"%s\":\"1\"}}",
			 reserved[i]);
		snprintf(field, sizeof(field), "env.%s", reserved[i]);
		refused(body, "reserved_env_name", field);
	}
	/* A reserved name is refused whatever its value's type. */
	refused("{\"script\":\"x\",\"env\":{\"PATH\":1}}", "reserved_env_name", "env.PATH");
}

static void test_env_limits(void **state)
{
	struct sb at = { 0 }, over = { 0 }, big = { 0 }, bigger = { 0 };

	(void)state;
	assert_int_equal(cfg.limits.max_env, 64);
	sb_add(&at, "{\"script\":\"x\",\"env\":{");
	for (int i = 0; i < 64; i++)
		sb_add(&at, "%s\"V%d\":\"%d\"", i ? "," : "", i, i);
	sb_add(&at, "}}");
	accepts(at.s);
	sb_add(&over, "{\"script\":\"x\",\"env\":{");
	for (int i = 0; i < 65; i++)
		sb_add(&over, "%s\"V%d\":\"%d\"", i ? "," : "", i, i);
	sb_add(&over, "}}");
	refused(over.s, "too_many_env", "env");
	/* Bytes: names + values; the cap is 128 KiB. */
	assert_int_equal(cfg.limits.max_env_bytes, 128 * KiB);
	sb_add(&big, "{\"script\":\"x\",\"env\":{\"A\":\"");
	sb_fill(&big, 'v', 64 * KiB);
	sb_add(&big, "\",\"B\":\"");
	sb_fill(&big, 'v', 64 * KiB - 3);
	sb_add(&big, "\"}}");
	accepts(big.s);
	sb_add(&bigger, "{\"script\":\"x\",\"env\":{\"A\":\"");
	sb_fill(&bigger, 'v', 64 * KiB);
	sb_add(&bigger, "\",\"B\":\"");
	sb_fill(&bigger, 'v', 64 * KiB - 1);
	sb_add(&bigger, "\"}}");
	refused(bigger.s, "env_too_large", "env");
	free(big.s);
	free(bigger.s);
	/* One NAME=VALUE: at most 131071 bytes. */
	big = (struct sb){0};
	bigger = (struct sb){0};
	sb_add(&big, "{\"script\":\"x\",\"env\":{\"A\":\"");
	sb_fill(&big, 'v', 128 * KiB - 3);
	sb_add(&big, "\"}}");
	accepts(big.s);
	sb_add(&bigger, "{\"script\":\"x\",\"env\":{\"A\":\"");
	sb_fill(&bigger, 'v', 128 * KiB - 2);
	sb_add(&bigger, "\"}}");
	refused(bigger.s, "env_too_large", "env.A");
	free(at.s);
	free(over.s);
	free(big.s);
	free(bigger.s);
}

static void test_network(void **state)
{
	struct request req;

	(void)state;
	parse_ok("{\"script\":\"x\",\"network\":true}", &req);
	assert_true(req.network);
	request_free(&req);
	parse_ok("{\"script\":\"x\",\"network\":false}", &req);
	assert_false(req.network);
	request_free(&req);
}

/* The first failing field, in body order, is the one reported. */
static void test_first_error_wins(void **state)
{
	(void)state;
	refused("{\"stdin\":1,\"script\":2}", "wrong_type", "stdin");
	refused("{\"script\":2,\"stdin\":1}", "wrong_type", "script");
	refused("{\"bogus\":1,\"script\":2}", "unknown_field", "bogus");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full_request),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_nesting),
		cmocka_unit_test(test_body_values),
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_program_rules),
		cmocka_unit_test(test_script_size),
		cmocka_unit_test(test_file_counts),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_total_size),
		cmocka_unit_test(test_file_values),
		cmocka_unit_test(test_file_value_refusals),
		cmocka_unit_test(test_invalid_paths),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_duplicate_and_conflicting_paths),
		cmocka_unit_test(test_reserved_paths),
		cmocka_unit_test(test_entry_point),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_language_inference),
		cmocka_unit_test(test_language_refusals),
		cmocka_unit_test(test_node_languages),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_refusals),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_dependencies),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_names),
		cmocka_unit_test(test_env_reserved),
		cmocka_unit_test(test_env_limits),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_first_error_wins),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
