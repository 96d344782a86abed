/*
 * Unit tests for pkg/deps/semver: versions and ranges as node-semver (7)
 * reads them.  The satisfies table was checked against node-semver itself;
 * "latest" (any release) is runbox's own reading of the one dist-tag a
 * request may name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps/semver.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *version, *range;
	int want;
} table[] = {
    {"1.2.3", "1.2.3", 1},
    {"1.2.3", "=1.2.3", 1},
    {"1.2.3", "v1.2.3", 1},
    {"1.2.4", "1.2.3", 0},
    {"1.2.3", "^1.2.3", 1},
    {"1.9.9", "^1.2.3", 1},
    {"2.0.0", "^1.2.3", 0},
    {"2.0.0-beta.1", "^1.2.3", 0},
    {"1.2.4-beta.1", "^1.2.3", 0},
    {"1.2.3-beta.2", "^1.2.3-beta.1", 1},
    {"1.2.3-beta.0", "^1.2.3-beta.1", 0},
    {"0.2.9", "^0.2.3", 1},
    {"0.3.0", "^0.2.3", 0},
    {"0.0.3", "^0.0.3", 1},
    {"0.0.4", "^0.0.3", 0},
    {"0.0.9", "^0.0", 1},
    {"0.1.0", "^0.0", 0},
    {"0.9.0", "^0", 1},
    {"1.0.0", "^0", 0},
    {"1.2.9", "~1.2.3", 1},
    {"1.3.0", "~1.2.3", 0},
    {"1.9.0", "~1", 1},
    {"2.0.0", "~1", 0},
    {"1.2.5", "~>1.2.3", 1},
    {"1.5.0", "1.x", 1},
    {"2.0.0", "1.x", 0},
    {"1.2.7", "1.2.*", 1},
    {"1.3.0", "1.2.*", 0},
    {"5.0.0", "*", 1},
    {"5.0.0-rc.1", "*", 0},
    {"5.0.0", "", 1},
    {"1.2.0", ">=1.2", 1},
    {"1.1.9", ">=1.2", 0},
    {"1.3.0", ">1.2", 1},
    {"1.2.9", ">1.2", 0},
    {"2.0.0", ">1", 1},
    {"1.9.9", ">1", 0},
    {"1.2.4", ">1.2.3", 1},
    {"1.2.3", ">1.2.3", 0},
    {"1.1.9", "<1.2", 1},
    {"1.2.0-rc.1", "<1.2", 0},
    {"1.2.0", "<1.2", 0},
    {"1.2.3", "<1.2.4", 1},
    {"1.2.9", "<=1.2", 1},
    {"1.3.0", "<=1.2", 0},
    {"1.2.3", "<=1.2.3", 1},
    {"1.5.0", ">=1.2.0 <2", 1},
    {"2.0.0", ">=1.2.0 <2", 0},
    {"1.5.0", ">= 1.2.0 < 2", 1},
    {"1.5.0", "1.2 - 2.3.4", 1},
    {"2.3.4", "1.2 - 2.3.4", 1},
    {"2.3.5", "1.2 - 2.3.4", 0},
    {"2.3.9", "1.2.3 - 2.3", 1},
    {"2.4.0", "1.2.3 - 2.3", 0},
    {"1.2.3-alpha.10", "1.2.3-alpha.9 - 1.2.3", 1},
    {"1.2.3-alpha.b", ">1.2.3-alpha.a", 1},
    {"1.2.3+build", "1.2.3", 1},
    {"1.0.0", "<*", 0},
    {"1.0.0", ">*", 0},
    {"1.2.3", "  ^1.2   ", 1},
    {"1.0.0", "^2 || ^1", 1},
    {"3.0.0", "^2 || ^1", 0},
    {"10.0.0", "^9.0.0 || >=10", 1},
    {"9.1.0", "^9.0.0 || >=10", 1},
    {"8.0.0", "^9.0.0 || >=10", 0},
    {"1.2.3", "1.2.3 ||", 1},
    {"3.0.0", "latest", 1},
    {"3.0.0-rc.1", "latest", 0},
};

static void test_satisfies(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(table); i++) {
		struct semver v;

		if (semver_parse(table[i].version, &v) < 0)
			fail_msg("parse %s", table[i].version);
		if (semver_satisfies(&v, table[i].range) != table[i].want)
			fail_msg("%s in '%s': %d, want %d", table[i].version, table[i].range,
				 semver_satisfies(&v, table[i].range), table[i].want);
	}
}

static void test_precedence(void **state)
{
	/* Semantic Versioning 2.0.0, section 11, in ascending order. */
	static const char *const order[] = {
	    "1.0.0-alpha",   "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
	    "1.0.0-beta.11", "1.0.0-betas",   "1.0.0-rc.1",	  "1.0.0",	"1.0.1",
	    "1.9.0",	     "1.10.0",
	};
	struct semver a, b;

	(void)state;
	for (size_t i = 0; i + 1 < N(order); i++) {
		assert_int_equal(semver_parse(order[i], &a), 0);
		assert_int_equal(semver_parse(order[i + 1], &b), 0);
		if (semver_compare(&a, &b) >= 0 || semver_compare(&b, &a) <= 0)
			fail_msg("%s < %s", order[i], order[i + 1]);
	}
	assert_int_equal(semver_parse("1.2.3+build.5", &a), 0);
	assert_int_equal(semver_parse("1.2.3", &b), 0);
	assert_int_equal(semver_compare(&a, &b), 0);
}

static void test_invalid(void **state)
{
	static const char *const versions[] = {
	    "1",	  "1.2",
	    "01.2.3",	  "1.02.3",
	    "1.2.3-",	  "1.2.3-01",
	    "1.2.3-a..b", "1.2.3+",
	    "x.2.3",	  "1.2.3.4",
	    "",		  "1.2.3 ",
	    "a.b.c",	  "99999999999999999999.0.0",
	};
	static const char *const ranges[] = {
	    "git+https://github.com/a/b.git",
	    "file:../x",
	    "npm:lodash@4",
	    "http://x/y.tgz",
	    "^",
	    ">=",
	    "1.2.3 - ",
	    "beta",
	    "workspace:*",
	    "~1.2.3.4",
	    "1.2.3-01",
	};
	struct semver v;

	(void)state;
	for (size_t i = 0; i < N(versions); i++)
		if (semver_parse(versions[i], &v) == 0)
			fail_msg("'%s' parsed as a version", versions[i]);
	for (size_t i = 0; i < N(ranges); i++)
		if (semver_range_valid(ranges[i]))
			fail_msg("'%s' read as a range", ranges[i]);
	assert_int_equal(semver_parse("1.2.3", &v), 0);
	assert_int_equal(semver_satisfies(&v, "file:x"), -22);
	assert_true(semver_range_valid("^1.2.3 || 2.x || >=3 <4 || 1.2 - 1.4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_satisfies),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
