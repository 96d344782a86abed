/*
 * Unit tests for pkg/base/jsonscan: the bounded pre-pass over a request body
 * (every error code it can give, the depth and value limits at their
 * boundary and one past it) and the duplicate-key search on a cJSON tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonscan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct jsonscan_limits lim = { 10, 1000 };

struct body {
	const char *s;
	size_t n;
};

#define B(lit) { lit, sizeof(lit) - 1 }

static void expect_ok_lim(const char *s, size_t n, const struct jsonscan_limits *l)
{
	struct rb_err err = { 0 };
	int r = jsonscan_check(s, n, l, &err);

	if (r != 0)
		fail_msg("jsonscan_check(%.80s) = %d, %s: %s", s, r, err.code, err.msg);
}

static void expect_code_lim(const char *s, size_t n, const struct jsonscan_limits *l,
			    const char *code)
{
	struct rb_err err = { 0 };
	int r = jsonscan_check(s, n, l, &err);

	if (r >= 0)
		fail_msg("jsonscan_check(%.80s) accepted, want %s", s, code);
	if (strcmp(err.code, code) != 0)
		fail_msg("jsonscan_check(%.80s): code %s (%s), want %s", s, err.code, err.msg, code);
	assert_int_equal(err.fault, RB_FAULT_REQUEST);
	if (strcmp(code, "nul_in_string") != 0 && strcmp(code, "invalid_utf8") != 0)
		assert_string_equal(err.field, ""); /* only a bad string is named by its field */
	assert_true(err.msg[0] != '\0');
}

static void expect_code(const char *s, const char *code)
{
	expect_code_lim(s, strlen(s), &lim, code);
}

/* A bad string is refused naming the field that holds it ("" at the top level). */
static void expect_field(const char *s, const char *code, const char *field)
{
	struct rb_err err = { 0 };

	assert_true(jsonscan_check(s, strlen(s), &lim, &err) < 0);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
}

static void test_valid_bodies(void **state)
{
	static const struct body cases[] = {
		B("{}"),
		B(" \t\r\n{ } \t\r\n"),
		B("{\"script\":\"print(1)\"}"),
		B("{\"a\":1,\"b\":-2.5e+10,\"c\":0,\"d\":-0,\"e\":1E-3,\"f\":0.125}"),
		B("{\"t\":true,\"f\":false,\"n\":null}"),
		B("{\"arr\":[1,\"two\",[],{},[[]],{\"x\":[null]}]}"),
		B("{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uFFFD\"}"),
		B("{\"pair\":\"\\ud83d\\ude00\"}"), /* a surrogate pair is fine */
		B("{\"utf8\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}"),
		B("{\"\":\"\"}"),
		B("{ \"a\" : [ 1 , 2 ] , \"b\" : { } }"),
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_ok_lim(cases[i].s, cases[i].n, &lim);
}

static void test_invalid_json(void **state)
{
	static const char *const cases[] = {
		"",			      /* nothing at all */
		"   ",
		"{} x",			      /* trailing garbage */
		"{}{}",
		"{}]",
		"{\"a\":1 \"b\":2}",	      /* missing comma */
		"[1 2]",
		"{\"a\":1,}",		      /* trailing comma */
		"[1,]",
		"{,}",
		"{\"a\" 1}",		      /* missing colon */
		"{a:1}",		      /* unquoted key */
		"{1:1}",
		"{'a':1}",
		"{\"a\":\"\\x\"}",	      /* bad escape */
		"{\"a\":\"\\U0041\"}",
		"{\"a\":\"\\u12G4\"}",
		"{\"a\":\"\\u12\"}",	      /* truncated \u */
		"{\"a\":01}",		      /* leading zero */
		"{\"a\":-01}",
		"{\"a\":00}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":1e}",
		"{\"a\":1e+}",
		"{\"a\":+1}",
		"{\"a\":-}",
		"{\"a\":0x10}",
		"{\"a\":NaN}",
		"{\"a\":Infinity}",
		"{\"a\":\"\\ud800\"}",	      /* lone high surrogate */
		"{\"a\":\"\\ud800x\"}",
		"{\"a\":\"\\ud800\\u0041\"}", /* high surrogate + non-low */
		"{\"a\":\"\\udc00\"}",	      /* lone low surrogate */
		"{\"a\":\"\\ude00\\ud83d\"}", /* pair in the wrong order */
		"{\"a\":\"x\x01y\"}",	      /* raw control characters */
		"{\"a\":\"x\ny\"}",
		"{\"a\":\"x\ty\"}",
		"{\"a\":\"x\x1fy\"}",
		"{\"a\":\"unterminated}",
		"{\"a\":tru}",
		"{\"a\":True}",
		"{\"a\":nul}",
		"{\"a\":1",		      /* unterminated object */
		"{\"a\":[1}",
		"{\"a\":",
		"{\"a\"",
		"{",
		"{\x0b}",		      /* vertical tab is not JSON whitespace */
		"{\f}",
		"\xEF\xBB\xBF{}",	      /* a BOM is not whitespace either */
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_code(cases[i], "invalid_json");
}

static void test_raw_nul_is_invalid(void **state)
{
	static const struct body cases[] = {
		B("{\"a\":\"x\0y\"}"),
		B("{}\0"),
		B("{\0}"),
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_code_lim(cases[i].s, cases[i].n, &lim, "invalid_json");
}

static void test_invalid_utf8(void **state)
{
	static const char *const cases[] = {
		"{\"a\":\"caf\xE9\"}",
		"{\"a\xFF\":1}",
		"{\"a\":\"\xC0\x80\"}",
		"{\"a\":\"\xED\xA0\x80\"}",
		"{\"a\":\"\xF4\x90\x80\x80\"}",
		"{\"a\":\"\xE2\x82\"}",
		"{} \x80",
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_code(cases[i], "invalid_utf8");
}

static void test_nul_in_string(void **state)
{
	(void)state;
	expect_code("{\"a\":\"x\\u0000y\"}", "nul_in_string");
	expect_code("{\"a\\u0000\":1}", "nul_in_string");
	expect_code("{\"files\":{\"f\":{\"content\":\"\\u0000\"}}}", "nul_in_string");
	expect_ok_lim("{\"a\":\"\\u0001\"}", 14, &lim); /* other escapes are fine */
	expect_field("{\"a\":\"x\\u0000y\"}", "nul_in_string", "a");
	expect_field("{\"a\\u0000\":1}", "nul_in_string", ""); /* a key: named by its object */
	expect_field("{\"env\":{\"A\\u0000\":\"1\"}}", "nul_in_string", "env");
	expect_field("{\"files\":{\"f\":{\"content\":\"\\u0000\"}}}", "nul_in_string",
		     "files.f.content");
	expect_field("{\"args\":[\"a\",[\"b\",\"\\u0000\"]]}", "nul_in_string", "args[1][1]");
	expect_field("{\"env\":{\"A\":\"\xff\"}}", "invalid_utf8", "env.A");
	expect_field("{\"a\":1}\xff", "invalid_utf8", ""); /* outside any string */
}

/* @depth nested arrays inside the top-level object: total depth + 1. */
static char *nested(unsigned depth, char open, char close)
{
	size_t n = 2 * depth + 8;
	char *s = malloc(n), *p = s;

	assert_non_null(s);
	p += sprintf(p, "{\"a\":");
	for (unsigned i = 0; i < depth; i++)
		*p++ = open;
	for (unsigned i = 0; i < depth; i++)
		*p++ = close;
	*p++ = '}';
	*p = '\0';
	return s;
}

static void test_nesting(void **state)
{
	struct jsonscan_limits l = { 10, 100000 };
	char *at = nested(9, '[', ']'), *over = nested(10, '[', ']');

	(void)state;
	expect_ok_lim(at, strlen(at), &l); /* 1 object + 9 arrays = 10 */
	expect_code_lim(over, strlen(over), &l, "nesting_too_deep");
	free(at);
	free(over);
	/* Objects count the same as arrays. */
	expect_ok_lim("{\"a\":{\"b\":{}}}", 14, &(struct jsonscan_limits){ 3, 100 });
	expect_code_lim("{\"a\":{\"b\":{\"c\":{}}}}", 20, &(struct jsonscan_limits){ 3, 100 },
			"nesting_too_deep");
	/* Depth is a maximum, not a total: siblings do not add up. */
	expect_ok_lim("{\"a\":[[]],\"b\":[[]],\"c\":[[]]}", 28, &(struct jsonscan_limits){ 3, 100 });
	/* Very deep input is refused without deep recursion. */
	over = nested(100000, '[', ']');
	expect_code_lim(over, strlen(over), &l, "nesting_too_deep");
	free(over);
	/* And unbalanced deep input too. */
	over = nested(100000, '[', ' ');
	expect_code_lim(over, strlen(over), &l, "nesting_too_deep");
	free(over);
}

static void test_too_many_values(void **state)
{
	const struct jsonscan_limits l = { 10, 4 };

	(void)state;
	/* The object itself, then one value per member. */
	expect_ok_lim("{\"a\":1,\"b\":2,\"c\":3}", 19, &l);
	expect_code_lim("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &l, "too_many_values");
	expect_ok_lim("{\"a\":[1,2]}", 11, &l);
	expect_code_lim("{\"a\":[1,2,3]}", 13, &l, "too_many_values");
}

static void test_not_an_object(void **state)
{
	static const char *const cases[] = {
		"[]", "[{\"script\":\"x\"}]", "\"x\"", "1", "-1.5", "true", "false", "null", " [ ] ",
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_code(cases[i], "not_an_object");
}

static void test_syntax_before_shape(void **state)
{
	(void)state;
	/* A broken non-object is a syntax error first. */
	expect_code("[1,", "invalid_json");
	expect_code("\"x", "invalid_json");
	expect_code("1 2", "invalid_json");
}

/* Parse @json (which must be valid) and look for a duplicate. */
static void expect_dup(const char *json, const char *want)
{
	cJSON *root = cJSON_Parse(json);
	char path[160] = "garbage";
	int r;

	assert_non_null(root);
	r = jsonscan_find_duplicate(root, path, sizeof(path));
	if (want) {
		if (r != 1)
			fail_msg("no duplicate found in %s, want \"%s\"", json, want);
		assert_string_equal(path, want);
	} else {
		if (r != 0)
			fail_msg("duplicate \"%s\" found in %s", path, json);
		assert_string_equal(path, "");
	}
	cJSON_Delete(root);
}

static void test_find_duplicate(void **state)
{
	(void)state;
	expect_dup("{\"a\":1,\"a\":2}", "a");
	expect_dup("{\"b\":0,\"a\":1,\"c\":3,\"a\":2}", "a");
	expect_dup("{\"env\":{\"X\":\"1\",\"X\":\"2\"}}", "env.X");
	expect_dup("{\"script\":\"x\",\"env\":{\"A\":\"1\",\"B\":\"2\",\"A\":\"3\"}}", "env.A");
	expect_dup("{\"files\":{\"a.py\":{\"content\":\"x\",\"content\":\"y\"}}}",
		   "files.a.py.content");
	expect_dup("{\"args\":[{\"k\":1,\"k\":2}]}", "args.k");
	expect_dup("{\"a\":{\"b\":{\"c\":{\"d\":1,\"d\":2}}}}", "a.b.c.d");
	expect_dup("{\"a\":{\"a\":1}}", NULL);
	expect_dup("{\"a\":1,\"A\":2}", NULL); /* keys are case-sensitive */
	expect_dup("{\"x\":{\"k\":1},\"y\":{\"k\":1}}", NULL);
	expect_dup("{\"a\":[1,1,1]}", NULL);
	expect_dup("{}", NULL);
	expect_dup("{\"a\":1}", NULL);
}

static void test_find_duplicate_long_path(void **state)
{
	char key[300], json[800], path[16];
	cJSON *root;

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"%s\":{\"x\":1,\"x\":2}}", key);
	root = cJSON_Parse(json);
	assert_non_null(root);
	/* A path longer than the buffer is cut, not overflowed. */
	assert_int_equal(jsonscan_find_duplicate(root, path, sizeof(path)), 1);
	assert_true(strlen(path) < sizeof(path));
	assert_memory_equal(path, "kkkkkkkkkkkkkkk", strlen(path));
	cJSON_Delete(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_bodies),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_raw_nul_is_invalid),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_nul_in_string),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_syntax_before_shape),
		cmocka_unit_test(test_find_duplicate),
		cmocka_unit_test(test_find_duplicate_long_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
