/*
 * Unit tests for pkg/deps/wheelmeta: METADATA headers and PEP 508 markers,
 * evaluated for a CPython 3.11.2 on Linux x86_64.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps/wheelmeta.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct marker_env linux311 = {
    .python_version = "3.11",
    .python_full_version = "3.11.2",
    .sys_platform = "linux",
    .platform_machine = "x86_64",
    .platform_system = "Linux",
    .platform_release = "6.1.0",
    .platform_version = "#1 SMP",
    .platform_python_implementation = "CPython",
    .os_name = "posix",
    .implementation_name = "cpython",
    .implementation_version = "3.11.2",
    .extra = "",
};

static int eval(const char *m, const char *extra)
{
	struct marker_env e = linux311;
	struct rb_err err;

	e.extra = extra;
	return marker_eval(m, &e, &err);
}

static void test_markers(void **state)
{
	static const struct {
		const char *m;
		int want;
	} cases[] = {
	    {"python_version >= '3.8'", 1},
	    {"python_version < '3.10'", 0},
	    {"python_version > '3.9'", 1}, /* a version compare, not a string one */
	    {"python_full_version == '3.11.*'", 1},
	    {"python_full_version ~= '3.11.0'", 1},
	    {"sys_platform == 'linux'", 1},
	    {"sys_platform == \"win32\"", 0},
	    {"platform_machine in 'x86_64 aarch64'", 1},
	    {"platform_machine not in 'arm64'", 1},
	    {"'linux' in sys_platform", 1},
	    {"os_name == 'nt' or platform_system == 'Linux'", 1},
	    {"os_name == 'nt' or platform_system == 'Linux' and python_version < '3'", 0},
	    {"(os_name == 'nt' or platform_system == 'Linux') and python_version >= '3'", 1},
	    {"implementation_name == 'cpython' and platform_python_implementation != 'PyPy'", 1},
	    {"extra == 'test'", 0},
	    {"  python_version>='3.8'and os_name=='posix'  ", 1},
	    {"platform_release >= '5'", 1},
	    {"os.name == 'posix'", 1},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		if (eval(cases[i].m, "") != cases[i].want)
			fail_msg("marker \"%s\" should be %d", cases[i].m, cases[i].want);
}

static void test_extra_is_normalised(void **state)
{
	(void)state;
	assert_int_equal(eval("extra == 'Fast_Lane'", "fast-lane"), 1);
	assert_int_equal(eval("extra == \"fast.lane\" and python_version >= '3'", "fast-lane"), 1);
	assert_int_equal(eval("extra == 'other'", "fast-lane"), 0);
}

static void test_bad_markers(void **state)
{
	static const char *const bad[] = {
	    "",
	    "python_version",
	    "python_version >= ",
	    "unknown_var == '1'",
	    "python_version >= '3' and",
	    "(python_version >= '3'",
	    "python_version >= '3')",
	    "python_version => '3'",
	    "'unterminated == '3'",
	    "((((((((((((((((((((((((((((((((((python_version > "
	    "'3'))))))))))))))))))))))))))))))))))",
	};
	struct rb_err err;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		if (marker_eval(bad[i], &linux311, &err) != -EINVAL)
			fail_msg("marker \"%s\" was accepted", bad[i]);
		assert_string_equal(err.code, "invalid_marker");
	}
}

static void test_metadata(void **state)
{
	static const char text[] = "Metadata-Version: 2.1\r\n"
				   "Name: Beta.Util\n"
				   "Version: 4.0\n"
				   "Summary: folded\n"
				   "  continuation: with a colon\n"
				   "Requires-Python: >=3.8\n"
				   "Requires-Dist: alpha (>=1.0)\n"
				   "Requires-Dist: gamma; extra == \"fast\"\n"
				   "Provides-Extra: fast\n"
				   "\n"
				   "Name: not a header, the body\n";
	struct wheelmeta m;
	struct rb_err err;

	(void)state;
	assert_int_equal(wheelmeta_parse(text, strlen(text), &m, &err), 0);
	assert_string_equal(m.name, "Beta.Util");
	assert_string_equal(m.version, "4.0");
	assert_string_equal(m.requires_python, ">=3.8");
	assert_int_equal(m.n_requires, 2);
	assert_string_equal(m.requires[0].req, "alpha (>=1.0)");
	assert_string_equal(m.requires[0].marker, "");
	assert_string_equal(m.requires[1].req, "gamma");
	assert_string_equal(m.requires[1].marker, " extra == \"fast\"");
	assert_int_equal(m.n_extras, 1);
	assert_string_equal(m.extras[0], "fast");
	wheelmeta_free(&m);
}

static void test_metadata_refusals(void **state)
{
	static const char *const bad[] = {
	    "Version: 1.0\n",
	    "Name: a\n",
	    "Name: a\nName: b\nVersion: 1\n",
	    "Name: a\nno colon here\nVersion: 1\n",
	    "Name: \nVersion: 1\n",
	};
	struct wheelmeta m;
	struct rb_err err;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		if (wheelmeta_parse(bad[i], strlen(bad[i]), &m, &err) != -EINVAL)
			fail_msg("METADATA %zu was accepted", i);
		assert_string_equal(err.code, "wheel_bad_metadata");
	}
	assert_int_equal(wheelmeta_parse("Name: a\0\nVersion: 1\n", 20, &m, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_markers),	      cmocka_unit_test(test_extra_is_normalised),
	    cmocka_unit_test(test_bad_markers),	      cmocka_unit_test(test_metadata),
	    cmocka_unit_test(test_metadata_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
