/*
 * Unit tests for pkg/contract/path: every rule of the contract for the paths a
 * request names, each with the exact reason path_normalize gives, the
 * limits at their boundary and one past it, and the small helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contract/path.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The reasons, as path.c words them. */
#define R_EMPTY "it is empty"
#define R_LONG "it is longer than 1024 bytes"
#define R_ABS "it is absolute (starts with '/')"
#define R_CTRL "it contains a NUL or control character"
#define R_UTF8 "it is not valid UTF-8"
#define R_EMPTYSEG "it has an empty segment (a leading, trailing or doubled '/')"
#define R_SEGLEN "a segment is longer than 255 bytes"
#define R_DOT "it has a '.' or '..' segment"
#define R_DEEP "it is more than 16 segments deep"

static void expect_ok_n(const char *in, size_t n, const char *want)
{
	char out[PATH_MAX_BYTES + 1];
	const char *why = "untouched";

	if (path_normalize(in, n, out, &why) != 0)
		fail_msg("path_normalize(\"%.60s\") refused: %s", in, why);
	assert_string_equal(out, want);
	assert_string_equal(why, "untouched"); /* not set on success */
}

static void expect_ok(const char *in, const char *want)
{
	expect_ok_n(in, strlen(in), want);
}

static void expect_bad_n(const char *in, size_t n, const char *reason)
{
	char out[PATH_MAX_BYTES + 1];
	const char *why = NULL;

	if (path_normalize(in, n, out, &why) != -1)
		fail_msg("path_normalize(\"%.60s\", %zu) accepted as \"%.60s\"", in, n, out);
	assert_non_null(why);
	if (strcmp(why, reason) != 0)
		fail_msg("path_normalize(\"%.60s\", %zu): reason \"%s\", want \"%s\"", in, n, why,
			 reason);
}

static void expect_bad(const char *in, const char *reason)
{
	expect_bad_n(in, strlen(in), reason);
}

/* A string of @n copies of @c (malloc'd). */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_accepts(void **state)
{
	(void)state;
	expect_ok("main.py", "main.py");
	expect_ok("a/b/c.txt", "a/b/c.txt");
	expect_ok("data/caf\xC3\xA9.csv", "data/caf\xC3\xA9.csv");
	expect_ok("...", "...");	 /* only '.' and '..' are special */
	expect_ok(".hidden", ".hidden");
	expect_ok("a/..b/c.", "a/..b/c.");
	expect_ok("with space/x y", "with space/x y");
	expect_ok("~", "~");
}

static void test_backslash_is_slash(void **state)
{
	(void)state;
	expect_ok("a\\b", "a/b");
	expect_ok("a\\b/c\\d.py", "a/b/c/d.py");
	expect_bad("\\a", R_ABS);
	expect_bad("a\\", R_EMPTYSEG);
	expect_bad("a\\\\b", R_EMPTYSEG);
	expect_bad("a\\..\\b", R_DOT);
	expect_bad("..\\x", R_DOT);
}

static void test_literal_backslash_is_a_character(void **state)
{
	char out[PATH_MAX_BYTES + 1];
	const char *why = NULL;

	(void)state;
	assert_int_equal(path_check_literal("x\\y", 3, out, &why), 0);
	assert_string_equal(out, "x\\y");
	assert_int_equal(path_check_literal("\\a", 2, out, &why), 0);
	assert_string_equal(out, "\\a");
	assert_int_equal(path_check_literal("a\x01b", 3, out, &why), -1);
	assert_string_equal(why, R_CTRL);
	assert_int_equal(path_check_literal("a/../b", 6, out, &why), -1);
	assert_string_equal(why, R_DOT);
}

static void test_empty(void **state)
{
	(void)state;
	expect_bad("", R_EMPTY);
}

static void test_absolute(void **state)
{
	(void)state;
	expect_bad("/etc/passwd", R_ABS);
	expect_bad("/", R_ABS);
	expect_bad("//x", R_ABS);
}

static void test_empty_segments(void **state)
{
	(void)state;
	expect_bad("a//b", R_EMPTYSEG);
	expect_bad("a/", R_EMPTYSEG);
	expect_bad("a/b/", R_EMPTYSEG);
}

static void test_dot_segments(void **state)
{
	(void)state;
	expect_bad(".", R_DOT);
	expect_bad("..", R_DOT);
	expect_bad("a/../b", R_DOT);
	expect_bad("a/./b", R_DOT);
	expect_bad("./a", R_DOT);
	expect_bad("../a", R_DOT);
	expect_bad("a/..", R_DOT);
	expect_bad("a/.", R_DOT);
}

static void test_control_chars(void **state)
{
	static const char *const cases[] = {
		"a\nb", "a\rb", "a\tb", "\x01", "x/\x1f", "a\x7f", "\x1b[31m",
		/* C1 controls: U+0080, U+0085 (NEL), U+009F */
		"a\xC2\x80" "b", "a\xC2\x85" "b", "\xC2\x9F",
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		expect_bad(cases[i], R_CTRL);
	/* Their neighbours are letters: U+00A0 is fine, and so is é (0xC3 0xA9). */
	expect_ok("a\xC2\xA0" "b", "a\xC2\xA0" "b");
	expect_ok("caf\xC3\xA9", "caf\xC3\xA9");
}

static void test_nul_inside(void **state)
{
	(void)state;
	/* n counts the NUL: the path is not silently cut at it. */
	expect_bad_n("a\0b", 3, R_CTRL);
	expect_bad_n("main.py\0.txt", 12, R_CTRL);
	expect_bad_n("a\0", 2, R_CTRL);
	expect_bad_n("\0", 1, R_CTRL);
	/* And with n stopping before it, the prefix alone is judged. */
	expect_ok_n("a\0b", 1, "a");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect_bad("caf\xE9", R_UTF8); /* Latin-1 */
	expect_bad("\xC0\xAE\xC0\xAE/x", R_UTF8); /* overlong ".." */
	expect_bad("a/\xED\xA0\x80", R_UTF8);
	expect_bad("\xF4\x90\x80\x80", R_UTF8);
	expect_bad("x\xE2\x82", R_UTF8);
}

static void test_segment_length(void **state)
{
	char *seg255 = repeat('s', 255), *seg256 = repeat('s', 256);
	char buf[600];

	(void)state;
	expect_ok(seg255, seg255);
	expect_bad(seg256, R_SEGLEN);
	snprintf(buf, sizeof(buf), "dir/%s/x", seg255);
	expect_ok(buf, buf);
	snprintf(buf, sizeof(buf), "dir/%s/x", seg256);
	expect_bad(buf, R_SEGLEN);
	snprintf(buf, sizeof(buf), "dir/%s", seg256);
	expect_bad(buf, R_SEGLEN);
	/* Bytes, not characters: 128 two-byte characters are 256 bytes. */
	buf[0] = '\0';
	for (int i = 0; i < 127; i++)
		strcat(buf, "\xC3\xA9");
	strcat(buf, "e");
	expect_ok(buf, buf); /* 255 bytes */
	strcat(buf, "e");
	expect_bad(buf, R_SEGLEN); /* 256 bytes */
	free(seg255);
	free(seg256);
}

static void test_total_length(void **state)
{
	char *s255 = repeat('a', 255), *s254 = repeat('b', 254);
	char buf[1100];

	(void)state;
	/* 255+1+255+1+255+1+254+1+1 = 1024 */
	snprintf(buf, sizeof(buf), "%s/%s/%s/%s/x", s255, s255, s255, s254);
	assert_int_equal(strlen(buf), 1024);
	expect_ok(buf, buf);
	/* 255*4 + 4 + 1 = 1025 */
	snprintf(buf, sizeof(buf), "%s/%s/%s/%s/x", s255, s255, s255, s255);
	assert_int_equal(strlen(buf), 1025);
	expect_bad(buf, R_LONG);
	free(s255);
	free(s254);
}

static void test_depth(void **state)
{
	char buf[100] = "";

	(void)state;
	for (int i = 0; i < 15; i++)
		strcat(buf, "d/");
	strcat(buf, "f");
	assert_int_equal(path_depth(buf), 16);
	expect_ok(buf, buf);
	strcat(buf, "/g");
	expect_bad(buf, R_DEEP);
	/* Backslashes count as separators for the depth too. */
	strcpy(buf, "");
	for (int i = 0; i < 16; i++)
		strcat(buf, "d\\");
	strcat(buf, "f");
	expect_bad(buf, R_DEEP);
}

static void test_rule_order(void **state)
{
	char *big = repeat('/', 2000);

	(void)state;
	/* Length is judged before the other rules, so huge input is cheap. */
	expect_bad(big, R_LONG);
	/* A control character is named before a later ".." segment is. */
	expect_bad("a/\x01/../b", R_CTRL);
	free(big);
}

static void test_path_depth(void **state)
{
	(void)state;
	assert_int_equal(path_depth("a"), 1);
	assert_int_equal(path_depth("a/b"), 2);
	assert_int_equal(path_depth("a/b/c.txt"), 3);
}

static void test_is_dir_prefix(void **state)
{
	(void)state;
	assert_true(path_is_dir_prefix("a", "a/b"));
	assert_true(path_is_dir_prefix("a", "a/b/c"));
	assert_true(path_is_dir_prefix("a/b", "a/b/c"));
	assert_false(path_is_dir_prefix("a", "ab"));
	assert_false(path_is_dir_prefix("a", "ab/c"));
	assert_false(path_is_dir_prefix("a", "a"));
	assert_false(path_is_dir_prefix("a/b", "a"));
	assert_false(path_is_dir_prefix("b", "a/b"));
	assert_false(path_is_dir_prefix("a/b", "a/bc/d"));
}

static void test_first_segment_is(void **state)
{
	(void)state;
	assert_true(path_first_segment_is("input", "input"));
	assert_true(path_first_segment_is("input/x.csv", "input"));
	assert_true(path_first_segment_is("output/a/b", "output"));
	assert_false(path_first_segment_is("inputs/x", "input"));
	assert_false(path_first_segment_is("inpu", "input"));
	assert_false(path_first_segment_is("a/input", "input"));
	assert_false(path_first_segment_is("Input/x", "input"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_backslash_is_slash),
		cmocka_unit_test(test_literal_backslash_is_a_character),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_empty_segments),
		cmocka_unit_test(test_dot_segments),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_nul_inside),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_segment_length),
		cmocka_unit_test(test_total_length),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_rule_order),
		cmocka_unit_test(test_path_depth),
		cmocka_unit_test(test_is_dir_prefix),
		cmocka_unit_test(test_first_segment_is),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
