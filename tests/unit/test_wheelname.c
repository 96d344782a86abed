/*
 * Unit tests for pkg/deps/wheelname: file names per the wheel spec and which
 * tags CPython 3.11 on glibc 2.36 x86_64 accepts (pip's packaging.tags).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps/wheelname.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct wheel_target t311 = {3, 11, "x86_64", 2, 36};

static void test_parse(void **state)
{
	struct wheel_name w;
	struct rb_err err;

	(void)state;
	assert_int_equal(wheelname_parse("Beta.Util-4.0-py3-none-any.whl", &w, &err), 0);
	assert_string_equal(w.name, "beta-util");
	assert_string_equal(w.version, "4.0");
	assert_string_equal(w.build, "");
	assert_string_equal(w.python, "py3");
	assert_int_equal(
	    wheelname_parse("pkg-1.0-2b-cp311-cp311-manylinux_2_17_x86_64.whl", &w, &err), 0);
	assert_string_equal(w.build, "2b");
	assert_string_equal(w.platform, "manylinux_2_17_x86_64");
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
	    "pkg-1.0-py3-none-any.zip",	  "pkg-1.0-py3-none.whl",	   "pkg-py3-none-any.whl",
	    "pkg-1.0-x-py3-none-any.whl", "pkg-1.0-1-2-py3-none-any.whl",  "-1.0-py3-none-any.whl",
	    "pkg-1.0-py3-none-a/y.whl",	  "pkg-one-py3-none-any.whl",	   ".whl",
	    "pk g-1.0-py3-none-any.whl",  "pkg-1.0-py3..py2-none-any.whl",
	};
	struct wheel_name w;
	struct rb_err err;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		if (wheelname_parse(bad[i], &w, &err) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_string_equal(err.code, "wheel_bad_filename");
	}
}

static bool fits(const char *file)
{
	struct wheel_name w;
	struct rb_err err;
	char why[512];

	if (wheelname_parse(file, &w, &err) < 0)
		fail_msg("%s: %s", file, err.msg);
	return wheelname_compatible(&w, &t311, why, sizeof(why));
}

static void test_compatible(void **state)
{
	static const char *const yes[] = {
	    "a-1-py3-none-any.whl",
	    "a-1-py2.py3-none-any.whl",
	    "a-1-py311-none-any.whl",
	    "a-1-py38-none-any.whl",
	    "a-1-cp311-cp311-linux_x86_64.whl",
	    "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
	    "a-1-cp311-cp311-manylinux1_x86_64.whl",
	    "a-1-cp311-cp311-manylinux2010_x86_64.whl",
	    "a-1-cp37-abi3-manylinux_2_28_x86_64.whl",
	    "a-1-cp311-abi3-manylinux_2_36_x86_64.whl",
	    "a-1-cp311-none-any.whl",
	    "a-1-py3-none-manylinux_2_5_x86_64.whl",
	};
	static const char *const no[] = {
	    "a-1-py2-none-any.whl",
	    "a-1-cp310-cp310-linux_x86_64.whl",
	    "a-1-cp312-cp312-linux_x86_64.whl",
	    "a-1-cp312-abi3-linux_x86_64.whl",
	    "a-1-cp311-cp311-win_amd64.whl",
	    "a-1-cp311-cp311-macosx_11_0_arm64.whl",
	    "a-1-cp311-cp311-manylinux_2_17_aarch64.whl",
	    "a-1-cp311-cp311-manylinux_2_39_x86_64.whl",
	    "a-1-cp311-cp311-musllinux_1_1_x86_64.whl",
	    "a-1-pp39-pypy39_pp73-manylinux_2_17_x86_64.whl",
	    "a-1-py312-none-any.whl",
	    "a-1-py3-abi3-any.whl",
	    "a-1-cp311-cp310-linux_x86_64.whl",
	    "a-1-cp27-cp27mu-manylinux1_x86_64.whl",
	};

	(void)state;
	for (size_t i = 0; i < N(yes); i++)
		if (!fits(yes[i]))
			fail_msg("'%s' should fit CPython 3.11", yes[i]);
	for (size_t i = 0; i < N(no); i++)
		if (fits(no[i]))
			fail_msg("'%s' should not fit CPython 3.11", no[i]);
}

static void test_no_glibc_no_manylinux(void **state)
{
	struct wheel_target musl = {3, 11, "x86_64", 0, 0};
	struct wheel_name w;
	struct rb_err err;
	char why[512];

	(void)state;
	assert_int_equal(wheelname_parse("a-1-cp311-cp311-manylinux1_x86_64.whl", &w, &err), 0);
	assert_false(wheelname_compatible(&w, &musl, why, sizeof(why)));
	assert_non_null(strstr(why, "manylinux1_x86_64"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_compatible),
	    cmocka_unit_test(test_no_glibc_no_manylinux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
