/*
 * Unit tests for pkg/contract/response: how an ended program is classified (exit
 * code and status word), how arbitrary bytes become a JSON string literal,
 * and the shape of the ran and refused responses, each parsed back with
 * cJSON and checked key by key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "contract/response.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Wait statuses as waitpid(2) reports them. */
#define EXITED(code) (((code) & 0xff) << 8)
#define SIGNALED(sig) ((sig) & 0x7f)

/* ---- response_classify ---- */

static void classify(int wait_status, bool timed_out, const char *tail, int want_code,
		     const char *want_status)
{
	int code = -999;
	const char *status = NULL;

	response_classify(wait_status, timed_out, tail, strlen(tail), &code, &status);
	assert_non_null(status);
	if (code != want_code || strcmp(status, want_status) != 0)
		fail_msg("classify(0x%x, %d, \"%.40s\") = %d %s, want %d %s", wait_status, timed_out,
			 tail, code, status, want_code, want_status);
}

static void test_classify_exit(void **state)
{
	(void)state;
	classify(EXITED(0), false, "", 0, "ok");
	classify(EXITED(1), false, "", 1, "error");
	classify(EXITED(3), false, "", 3, "error");
	classify(EXITED(2), false, "Traceback ...\nValueError: x\n", 2, "error");
	classify(EXITED(255), false, "", 255, "error");
	/* A program that prints "MemoryError" and still exits 0 is fine. */
	classify(EXITED(0), false, "MemoryError\n", 0, "ok");
}

static void test_classify_signals(void **state)
{
	(void)state;
	classify(SIGNALED(SIGKILL), false, "", 137, "killed");
	classify(SIGNALED(SIGTERM), false, "", 143, "killed");
	classify(SIGNALED(SIGSEGV), false, "", 139, "killed");
	classify(SIGNALED(SIGABRT), false, "", 134, "killed");
	classify(SIGNALED(SIGXCPU), false, "", 128 + SIGXCPU, "cpu_limit");
	classify(SIGNALED(SIGXFSZ), false, "", 128 + SIGXFSZ, "file_size_limit");
	classify(SIGNALED(SIGSYS), false, "", 128 + SIGSYS, "blocked_syscall");
	/* A core-dump flag does not change the answer. */
	classify(SIGNALED(SIGSEGV) | 0x80, false, "", 139, "killed");
	/* The stderr tail is read only for exits, not for signals. */
	classify(SIGNALED(SIGKILL), false, "MemoryError", 137, "killed");
}

static void test_classify_node(void **state)
{
	static const char heap[] =
	    "<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - "
	    "JavaScript heap out of memory\n----- Native stack trace -----\n\n"
	    " 1: 0xb8ced1 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\n"
	    " 2: 0xf06250 v8::Utils::ReportOOMFailure(v8::internal::Isolate*) [node]\n";
	static const char buffer[] =
	    "node:internal/buffer:961\n    super(bufferOrLength, byteOffset, length);\n    ^\n\n"
	    "RangeError: Array buffer allocation failed\n    at new ArrayBuffer (<anonymous>)\n"
	    "    at new Uint8Array (<anonymous>)\n\nNode.js v20.11.1\n";
	static const char wasm[] =
	    "file:///w/main.mjs:2\n\nRangeError: WebAssembly.Memory.grow(): Unable to grow "
	    "instance memory\n    at file:///w/main.mjs:2:22\n\nNode.js v18.20.4\n";
	static const char other[] =
	    "file:///w/main.mjs:1\n\nRangeError: Invalid array length\n    at x\n\nNode.js v20.1.0\n";

	(void)state;
	classify(SIGNALED(SIGABRT), false, heap, 134, "memory_limit");
	classify(SIGNALED(SIGTRAP), false, "\n#\n# Fatal process out of memory: Zone\n#\n", 133,
		 "memory_limit");
	classify(EXITED(1), false, buffer, 1, "memory_limit");
	classify(EXITED(1), false, wasm, 1, "memory_limit");
	/* Node's other RangeErrors are errors; so are its words without its epilogue. */
	classify(EXITED(1), false, other, 1, "error");
	classify(EXITED(1), false, "RangeError: Array buffer allocation failed\nlater line\n", 1,
		 "error");
	/* An abort without V8's words is a signal like any other. */
	classify(SIGNALED(SIGABRT), false, "Assertion failed\n", 134, "killed");
}

static void test_classify_timeout(void **state)
{
	(void)state;
	classify(SIGNALED(SIGKILL), true, "", 124, "timeout");
	classify(EXITED(0), true, "", 124, "timeout");
	classify(EXITED(1), true, "MemoryError", 124, "timeout");
	classify(SIGNALED(SIGXCPU), true, "", 124, "timeout");
}

static void test_classify_stderr_tail(void **state)
{
	static const char *const memory[] = {
		"Traceback (most recent call last):\n  File \"main.py\", line 1\nMemoryError\n",
		"MemoryError: Unable to allocate 8.00 GiB for an array\n",
		"numpy.core._exceptions._ArrayMemoryError: Unable to allocate\n... MemoryError",
		"OSError: [Errno 12] Cannot allocate memory\n",
		"terminate called after throwing an instance of 'std::bad_alloc'\n",
		"bash: xmalloc: cannot allocate 100 bytes\n",
	};
	static const char *const fsize[] = {
		"OSError: [Errno 27] File too large\n",
		"head: write error: File too large\n",
	};

	(void)state;
	for (size_t i = 0; i < N(memory); i++)
		classify(EXITED(1), false, memory[i], 1, "memory_limit");
	for (size_t i = 0; i < N(fsize); i++)
		classify(EXITED(1), false, fsize[i], 1, "file_size_limit");
	classify(EXITED(1), false, "memoryerror\n", 1, "error"); /* case matters */
	classify(EXITED(1), false, "Memory", 1, "error");
	/* Only the last line counts, and only as an exception's name or the error's end. */
	classify(EXITED(2), false, "caught MemoryError earlier\nusage: x\n", 2, "error");
	classify(EXITED(1), false, "OSError: [Errno 27] File too large\nretrying failed\n", 1,
		 "error");
	classify(EXITED(1), false, "the file was File too large for me, sorry\n", 1, "error");
	classify(EXITED(1), false, "note: MemoryError handling is off\n", 1, "error");
	classify(EXITED(1), false, "Traceback ...\nMemoryError\n\n  \n", 1, "memory_limit");
}

static void test_classify_only_the_tail(void **state)
{
	size_t n = 10000;
	char *big = malloc(n + 1);
	int code;
	const char *status;

	(void)state;
	assert_non_null(big);
	/* MemoryError at the very start of a long stderr is not in the tail. */
	memset(big, '.', n);
	memcpy(big, "MemoryError", 11);
	big[n] = '\0';
	response_classify(EXITED(1), false, big, n, &code, &status);
	assert_string_equal(status, "error");
	/* At the very end it is. */
	memset(big, '.', n);
	memcpy(big + n - 11, "MemoryError", 11);
	response_classify(EXITED(1), false, big, n, &code, &status);
	assert_string_equal(status, "memory_limit");
	/* The tail is bytes with a length, not a C string: NUL bytes do not stop it. */
	memset(big, '\0', n);
	memcpy(big + n - 11, "MemoryError", 11);
	response_classify(EXITED(1), false, big, n, &code, &status);
	assert_string_equal(status, "memory_limit");
	free(big);
}

static void test_classify_no_stderr(void **state)
{
	int code = -1;
	const char *status = NULL;

	(void)state;
	/* The supervisor may have collected nothing at all. */
	response_classify(EXITED(1), false, NULL, 0, &code, &status);
	assert_int_equal(code, 1);
	assert_string_equal(status, "error");
	response_classify(EXITED(0), false, NULL, 0, &code, &status);
	assert_string_equal(status, "ok");
}

/* ---- response_json_string ---- */

struct bytes {
	const char *s;
	size_t n;
};

#define B(lit) { lit, sizeof(lit) - 1 }

static void test_json_string(void **state)
{
	static const struct {
		struct bytes in;
		const char *want;
	} cases[] = {
		{ B(""), "\"\"" },
		{ B("hello"), "\"hello\"" },
		{ B("say \"hi\""), "\"say \\\"hi\\\"\"" },
		{ B("C:\\dir"), "\"C:\\\\dir\"" },
		{ B("a\nb"), "\"a\\nb\"" },
		{ B("\r\t\b\f"), "\"\\r\\t\\b\\f\"" },
		{ B("\x01\x1f"), "\"\\u0001\\u001f\"" },
		{ B("\x1b[31m"), "\"\\u001b[31m\"" },
		{ B("\x7f"), "\"\\u007f\"" },
		{ B("a\0b"), "\"a\\u0000b\"" },
		{ B("\0"), "\"\\u0000\"" },
		{ B("/"), "\"/\"" },
		{ B("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"" },
		{ B("bad\xFF"), "\"bad\xEF\xBF\xBD\"" },
		{ B("\xC0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"" },
		{ B("a\xE0\xA0"), "\"a\xEF\xBF\xBD\"" },
		{ B("\xED\xA0\x80\n"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\\n\"" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char *got = response_json_string(cases[i].in.s, cases[i].in.n);

		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, got, cases[i].want);
		free(got);
	}
}

static void test_json_string_roundtrip(void **state)
{
	char in[256], *lit;
	cJSON *v;

	(void)state;
	/* Every byte value: the literal must parse, and ASCII must come back unchanged. */
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	lit = response_json_string(in, sizeof(in));
	assert_non_null(lit);
	v = cJSON_Parse(lit);
	assert_non_null(v);
	assert_true(cJSON_IsString(v));
	/* cJSON stops at the \u0000, so compare from byte 1 with a second literal. */
	cJSON_Delete(v);
	free(lit);
	lit = response_json_string(in + 1, 127);
	v = cJSON_Parse(lit);
	assert_non_null(v);
	assert_int_equal(strlen(v->valuestring), 127);
	assert_memory_equal(v->valuestring, in + 1, 127);
	cJSON_Delete(v);
	free(lit);
}

/* ---- response_build ---- */

static cJSON *parse_checked(char *json)
{
	cJSON *root;

	assert_non_null(json);
	assert_null(strchr(json, '\n')); /* one line */
	root = cJSON_Parse(json);
	if (!root)
		fail_msg("response does not parse: %s", json);
	free(json);
	return root;
}

static const char *const ran_keys[] = {
	"exit_code", "stdout", "stderr", "artifacts", "status",
	"duration_ms", "timeout_s", "timeout_clamped", "truncated", "sandbox", "dependencies",
};

static cJSON *build(const struct run_outcome *o)
{
	return parse_checked(response_build(o));
}

static void test_build_minimal(void **state)
{
	struct run_outcome o = {
		.exit_code = 0, .status = "ok", .out = "4\n", .out_len = 2, .err = "",
		.err_len = 0, .duration_ms = 12.4, .timeout_s = 59.99951,
	};
	cJSON *root = build(&o), *t;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < N(ran_keys); i++)
		if (!cJSON_HasObjectItem(root, ran_keys[i]))
			fail_msg("key %s missing", ran_keys[i]);
	for (cJSON *c = root->child; c; c = c->next)
		n++;
	assert_int_equal(n, N(ran_keys)); /* and no omitted_artifacts */
	assert_int_equal(cJSON_GetObjectItem(root, "exit_code")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(root, "stdout")->valuestring, "4\n");
	assert_string_equal(cJSON_GetObjectItem(root, "stderr")->valuestring, "");
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(root, "artifacts")));
	assert_null(cJSON_GetObjectItem(root, "artifacts")->child);
	assert_string_equal(cJSON_GetObjectItem(root, "status")->valuestring, "ok");
	assert_true(cJSON_GetObjectItem(root, "duration_ms")->valuedouble == 12);
	/* The effective timeout, to the millisecond, and whether a cap lowered it. */
	assert_true(cJSON_GetObjectItem(root, "timeout_s")->valuedouble == 60);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "timeout_clamped")));
	t = cJSON_GetObjectItem(root, "truncated");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(t, "stdout")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(t, "stderr")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(root, "sandbox")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(root, "dependencies")));
	cJSON_Delete(root);
}

static void test_build_fields(void **state)
{
	cJSON *sb = cJSON_CreateObject(), *deps = cJSON_CreateArray();
	struct run_outcome o = {
		.exit_code = 137, .status = "killed", .out = "a\0b\xFF", .out_len = 4,
		.out_truncated = true, .err = "Killed\n", .err_len = 7, .duration_ms = 12.5,
		.timeout_s = 2.5, .timeout_clamped = true,
	};
	cJSON *root, *t;

	(void)state;
	cJSON_AddStringToObject(sb, "landlock", "v3");
	cJSON_AddItemToArray(deps, cJSON_CreateString("numpy"));
	o.sandbox = sb;
	o.dependencies = deps;
	root = build(&o); /* takes over sb and deps: ASan reports a double free or leak otherwise */
	assert_int_equal(cJSON_GetObjectItem(root, "exit_code")->valueint, 137);
	assert_string_equal(cJSON_GetObjectItem(root, "status")->valuestring, "killed");
	/* cJSON stops at the NUL; check the raw encoding separately below. */
	assert_string_equal(cJSON_GetObjectItem(root, "stdout")->valuestring, "a");
	assert_string_equal(cJSON_GetObjectItem(root, "stderr")->valuestring, "Killed\n");
	assert_true(cJSON_GetObjectItem(root, "duration_ms")->valuedouble == 13);
	assert_true(cJSON_GetObjectItem(root, "timeout_s")->valuedouble == 2.5);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "timeout_clamped")));
	t = cJSON_GetObjectItem(root, "truncated");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(t, "stdout")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(t, "stderr")));
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(root, "sandbox"), "landlock")->valuestring,
		"v3");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "dependencies"), 0)
				    ->valuestring,
			    "numpy");
	cJSON_Delete(root);
}

static void test_build_raw_output_encoding(void **state)
{
	struct run_outcome o = {
		.exit_code = 1, .status = "error", .out = "a\0b\xFF\"", .out_len = 5,
		.err = "\x1b[0m\n", .err_len = 5,
	};
	char *json = response_build(&o);

	(void)state;
	assert_non_null(json);
	assert_non_null(strstr(json, "\"stdout\":\"a\\u0000b\xEF\xBF\xBD\\\"\""));
	assert_non_null(strstr(json, "\"stderr\":\"\\u001b[0m\\n\""));
	cJSON_Delete(parse_checked(json));
}

static void test_build_artifacts(void **state)
{
	static unsigned char text[] = "caf\xC3\xA9\n", bin[] = { 0x89, 'P', 'N', 'G', 0, 1 },
			     nul[] = "a\0b", empty[1] = { 0 }, latin1[] = "caf\xE9";
	struct artifact items[] = {
		{ .path = "a.txt", .data = text, .size = sizeof(text) - 1 },
		{ .path = "img/plot.png", .data = bin, .size = sizeof(bin) },
		{ .path = "nul.txt", .data = nul, .size = 3 },
		{ .path = "empty", .data = empty, .size = 0 },
		{ .path = "latin1.txt", .data = latin1, .size = sizeof(latin1) - 1 },
	};
	struct artifact_list list = { items, N(items) };
	struct run_outcome o = { .status = "ok", .out = "", .err = "", .artifacts = &list };
	cJSON *root = build(&o), *arts, *v;

	(void)state;
	assert_false(cJSON_HasObjectItem(root, "omitted_artifacts"));
	arts = cJSON_GetObjectItem(root, "artifacts");
	assert_int_equal(cJSON_GetArraySize(arts), 5);
	v = cJSON_GetObjectItem(arts, "a.txt");
	assert_true(cJSON_IsString(v));
	assert_string_equal(v->valuestring, "caf\xC3\xA9\n");
	v = cJSON_GetObjectItem(arts, "img/plot.png");
	assert_true(cJSON_IsObject(v));
	assert_int_equal(cJSON_GetArraySize(v), 2);
	assert_string_equal(cJSON_GetObjectItem(v, "content")->valuestring, "iVBORwAB");
	assert_string_equal(cJSON_GetObjectItem(v, "encoding")->valuestring, "base64");
	v = cJSON_GetObjectItem(arts, "nul.txt");
	assert_true(cJSON_IsObject(v));
	assert_string_equal(cJSON_GetObjectItem(v, "content")->valuestring, "YQBi");
	assert_string_equal(cJSON_GetObjectItem(v, "encoding")->valuestring, "base64");
	v = cJSON_GetObjectItem(arts, "empty");
	assert_true(cJSON_IsString(v));
	assert_string_equal(v->valuestring, "");
	v = cJSON_GetObjectItem(arts, "latin1.txt");
	assert_true(cJSON_IsObject(v));
	assert_string_equal(cJSON_GetObjectItem(v, "content")->valuestring, "Y2Fm6Q==");
	cJSON_Delete(root);
}

static void test_build_artifact_special_chars(void **state)
{
	static unsigned char text[] = "\"quoted\"\t\\";
	struct artifact items[] = {
		{ .path = "we\"ird\\name.txt", .data = text, .size = sizeof(text) - 1 },
	};
	struct artifact_list list = { items, N(items) };
	struct run_outcome o = { .status = "ok", .out = "", .err = "", .artifacts = &list };
	cJSON *root = build(&o), *v;

	(void)state;
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "artifacts"), "we\"ird\\name.txt");
	assert_non_null(v);
	assert_string_equal(v->valuestring, "\"quoted\"\t\\");
	cJSON_Delete(root);
}

static void test_build_omitted_artifacts(void **state)
{
	static unsigned char small[] = "ok";
	struct artifact items[] = {
		{ .path = "big.bin", .size = 20u << 20, .omitted = "over the per-file budget" },
		{ .path = "keep.txt", .data = small, .size = 2 },
		{ .path = "link", .size = 0, .omitted = "not a regular file" },
	};
	struct artifact_list list = { items, N(items) };
	struct run_outcome o = { .status = "ok", .out = "", .err = "", .artifacts = &list };
	cJSON *root = build(&o), *om, *e;

	(void)state;
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "artifacts")), 1);
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(root, "artifacts"), "keep.txt")->valuestring,
		"ok");
	om = cJSON_GetObjectItem(root, "omitted_artifacts");
	assert_true(cJSON_IsArray(om));
	assert_int_equal(cJSON_GetArraySize(om), 2);
	e = cJSON_GetArrayItem(om, 0);
	assert_int_equal(cJSON_GetArraySize(e), 3);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "big.bin");
	assert_true(cJSON_GetObjectItem(e, "size")->valuedouble == 20971520.0);
	assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring,
			    "over the per-file budget");
	e = cJSON_GetArrayItem(om, 1);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "link");
	assert_true(cJSON_GetObjectItem(e, "size")->valuedouble == 0);
	assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring, "not a regular file");
	cJSON_Delete(root);
}

static void test_build_large_output(void **state)
{
	size_t n = 1 << 20;
	char *out = malloc(n);
	struct run_outcome o = { .status = "ok", .err = "", .out_truncated = true };
	cJSON *root;

	(void)state;
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i % 251); /* control bytes, NULs and invalid UTF-8 */
	o.out = out;
	o.out_len = n;
	root = build(&o);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(root, "stdout")));
	cJSON_Delete(root);
	free(out);
}

/* ---- response_error ---- */

static void test_error(void **state)
{
	struct rb_err err = { 0 };
	cJSON *root;

	(void)state;
	rb_fail(&err, RB_FAULT_REQUEST, 0, "wrong_type", "script", "Field '%s' must be a %s.",
		"script", "string");
	root = parse_checked(response_error(&err));
	assert_int_equal(cJSON_GetArraySize(root), 3);
	assert_string_equal(cJSON_GetObjectItem(root, "error")->valuestring,
			    "Field 'script' must be a string.");
	assert_string_equal(cJSON_GetObjectItem(root, "code")->valuestring, "wrong_type");
	assert_string_equal(cJSON_GetObjectItem(root, "field")->valuestring, "script");
	cJSON_Delete(root);
}

static void test_error_without_field(void **state)
{
	struct rb_err err = { 0 };
	cJSON *root;

	(void)state;
	rb_fail(&err, RB_FAULT_REQUEST, 0, "invalid_json", NULL, "Not JSON.");
	root = parse_checked(response_error(&err));
	assert_int_equal(cJSON_GetArraySize(root), 2);
	assert_false(cJSON_HasObjectItem(root, "field"));
	assert_string_equal(cJSON_GetObjectItem(root, "code")->valuestring, "invalid_json");
	cJSON_Delete(root);
	/* An empty code still gives a code. */
	memset(&err, 0, sizeof(err));
	snprintf(err.msg, sizeof(err.msg), "boom");
	root = parse_checked(response_error(&err));
	assert_string_equal(cJSON_GetObjectItem(root, "code")->valuestring, "internal_error");
	assert_string_equal(cJSON_GetObjectItem(root, "error")->valuestring, "boom");
	cJSON_Delete(root);
}

static void test_error_escaping(void **state)
{
	struct rb_err err = { 0 };
	cJSON *root;

	(void)state;
	/* User-controlled text in the message and field: quotes, control bytes, bad UTF-8. */
	rb_fail(&err, RB_FAULT_REQUEST, 0, "invalid_path", "files.a\"\n\xFF",
		"The path 'a\"\n\xFF' is not allowed.");
	root = parse_checked(response_error(&err));
	assert_string_equal(cJSON_GetObjectItem(root, "error")->valuestring,
			    "The path 'a\"\n\xEF\xBF\xBD' is not allowed.");
	assert_string_equal(cJSON_GetObjectItem(root, "field")->valuestring,
			    "files.a\"\n\xEF\xBF\xBD");
	cJSON_Delete(root);
	/* A message cut inside a UTF-8 sequence still gives valid JSON. */
	memset(&err, 0, sizeof(err));
	snprintf(err.code, sizeof(err.code), "x");
	memset(err.msg, 'a', sizeof(err.msg) - 2);
	err.msg[sizeof(err.msg) - 2] = '\xE2';
	err.msg[sizeof(err.msg) - 1] = '\0';
	root = parse_checked(response_error(&err));
	assert_int_equal(strlen(cJSON_GetObjectItem(root, "error")->valuestring),
			 sizeof(err.msg) - 2 + 3);
	cJSON_Delete(root);
}

/* ---- response_stream ---- */

/* A sink that gathers the pieces, checks their size, and can fail on one. */
struct gather {
	char *buf;
	size_t len;
	unsigned calls, fail_at; /* fail_at: the call that fails (0: none) */
};

static int gather_put(void *ctx, const char *p, size_t n)
{
	struct gather *g = ctx;

	assert_true(n > 0 && n <= 65536);
	if (++g->calls == g->fail_at)
		return -EPIPE;
	g->buf = realloc(g->buf, g->len + n + 1);
	assert_non_null(g->buf);
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	g->buf[g->len] = '\0';
	return 0;
}

/* response_stream() of @o must be response_build()'s line, byte for byte. */
static void same_as_built(const struct run_outcome *o)
{
	struct gather g = { 0 };
	char *built = response_build(o);

	assert_non_null(built);
	assert_int_equal(response_stream(o, gather_put, &g), 0);
	assert_int_equal(g.len, strlen(built));
	if (memcmp(g.buf, built, g.len) != 0)
		fail_msg("streamed and built answers differ");
	free(built);
	free(g.buf);
}

static void test_stream_is_the_built_answer(void **state)
{
	/* Sizes around the 64 KiB pieces and the three-byte groups of base64. */
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 49151, 49152, 49153, 65535, 65536, 65537,
					200000, 1 << 20 };
	static unsigned char text[] = "caf\xC3\xA9 \"q\" \\ \t\x01\x7f\n";
	unsigned char *bin = malloc(1 << 20), *esc = malloc(1 << 20);

	(void)state;
	assert_non_null(bin);
	assert_non_null(esc);
	for (size_t i = 0; i < 1 << 20; i++) {
		bin[i] = (unsigned char)(i * 7 + (i >> 9)); /* NULs and invalid UTF-8 */
		esc[i] = "a\"\\\n\x02b"[i % 6]; /* text whose escapes straddle the pieces */
	}
	for (size_t i = 0; i < N(sizes); i++) {
		struct artifact items[] = {
			{ .path = "a/bin", .data = bin, .size = sizes[i] },
			{ .path = "big", .size = 20u << 20, .omitted = "file_too_large" },
			{ .path = "esc.txt", .data = esc, .size = sizes[i] },
			{ .path = "t\"\x7f\\.txt", .data = text, .size = sizeof(text) - 1 },
		};
		struct artifact_list list = { items, N(items) };
		struct run_outcome o = { .exit_code = 3, .status = "error", .out = "a\0b\xFF",
					 .out_len = 4, .err = "x\n", .err_len = 2,
					 .artifacts = &list };

		same_as_built(&o);
		list.n = 0; /* and no artifacts at all */
		same_as_built(&o);
	}
	free(bin);
	free(esc);
}

static void test_stream_stops_at_a_failed_put(void **state)
{
	unsigned char *bin = calloc(1, 1 << 20);
	struct artifact items[] = { { .path = "zeros", .data = bin, .size = 1 << 20 } };
	struct artifact_list list = { items, N(items) };
	struct run_outcome o = { .status = "ok", .out = "", .err = "", .artifacts = &list };
	struct gather g = { .fail_at = 2 };

	(void)state;
	assert_non_null(bin);
	assert_int_equal(response_stream(&o, gather_put, &g), -EPIPE);
	assert_int_equal(g.calls, 2); /* nothing more was handed over after the failure */
	free(g.buf);
	free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_exit),
		cmocka_unit_test(test_classify_signals),
		cmocka_unit_test(test_classify_timeout),
		cmocka_unit_test(test_classify_node),
		cmocka_unit_test(test_classify_stderr_tail),
		cmocka_unit_test(test_classify_only_the_tail),
		cmocka_unit_test(test_classify_no_stderr),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_string_roundtrip),
		cmocka_unit_test(test_build_minimal),
		cmocka_unit_test(test_build_fields),
		cmocka_unit_test(test_build_raw_output_encoding),
		cmocka_unit_test(test_build_artifacts),
		cmocka_unit_test(test_build_artifact_special_chars),
		cmocka_unit_test(test_build_omitted_artifacts),
		cmocka_unit_test(test_build_large_output),
		cmocka_unit_test(test_stream_is_the_built_answer),
		cmocka_unit_test(test_stream_stops_at_a_failed_put),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_error_without_field),
		cmocka_unit_test(test_error_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
