/*
 * Unit tests for pkg/deps/requirement: PEP 503 names, PEP 440 versions and
 * specifiers, and the PEP 508 subset a request may send.  Most cases are
 * tables; the specifier tables are pypa/packaging's own test cases, so this
 * module agrees with what pip does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deps/requirement.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct version parse_ok(const char *s)
{
	struct version v;
	int r = version_parse(s, &v);

	if (r < 0)
		fail_msg("version_parse(\"%s\") = %d", s, r);
	return v;
}

static int cmp(const char *a, const char *b)
{
	struct version va = parse_ok(a), vb = parse_ok(b);

	return version_compare(&va, &vb);
}

/* ---- names ----------------------------------------------------------- */

static void test_normalize_name(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Django", "django" },
		{ "zope.interface", "zope-interface" },
		{ "Foo__Bar", "foo-bar" },
		{ "foo-_-.bar", "foo-bar" },
		{ "A.B_C-D", "a-b-c-d" },
		{ "ruamel.yaml.clib", "ruamel-yaml-clib" },
		{ "x", "x" },
		{ "", "" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int r = requirement_normalize_name(cases[i].in, out, sizeof(out));

		assert_string_equal(out, cases[i].out);
		assert_int_equal(r, (int)strlen(cases[i].out));
	}
}

static void test_normalize_name_space(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(requirement_normalize_name("abcdefg", out, sizeof(out)), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(requirement_normalize_name("abcdefgh", out, sizeof(out)), -ENOSPC);
	assert_string_equal(out, "abcdefg");
	/* collapsing happens before the size check */
	assert_int_equal(requirement_normalize_name("a____b", out, 4), 3);
	assert_string_equal(out, "a-b");
	assert_int_equal(requirement_normalize_name("a", out, 0), -ENOSPC);
}

static void test_valid_name(void **state)
{
	static const char *const good[] = { "a", "A1", "foo-bar", "foo.bar_baz", "1a",
					     "x.y.z", "Z9" };
	static const char *const bad[] = { "", "-a", "a-", ".a", "a.", "_a", "a b", "a@b",
					   "a/b", "é" };

	(void)state;
	for (size_t i = 0; i < N(good); i++)
		if (!requirement_valid_name(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);
	for (size_t i = 0; i < N(bad); i++)
		if (requirement_valid_name(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
}

/* ---- versions -------------------------------------------------------- */

static const struct {
	const char *in, *out;
} normalisation_cases[] = {
	{ "1.0", "1.0" },
	{ "v1.0", "1.0" },
	{ "V1.0", "1.0" },
	{ " 1.0\t", "1.0" },
	{ "01.002.0003", "1.2.3" },
	{ "0!1.0", "1.0" },
	{ "1!2.0", "1!2.0" },
	{ "1.0alpha1", "1.0a1" },
	{ "1.0-a1", "1.0a1" },
	{ "1.0_a_1", "1.0a1" },
	{ "1.0.a.1", "1.0a1" },
	{ "1.0a", "1.0a0" },
	{ "1.0beta2", "1.0b2" },
	{ "1.0B2", "1.0b2" },
	{ "1.0c1", "1.0rc1" },
	{ "1.0pre1", "1.0rc1" },
	{ "1.0preview1", "1.0rc1" },
	{ "1.0RC1", "1.0rc1" },
	{ "1.0-1", "1.0.post1" },
	{ "1.0post", "1.0.post0" },
	{ "1.0-post-2", "1.0.post2" },
	{ "1.0r4", "1.0.post4" },
	{ "1.0-rev4", "1.0.post4" },
	{ "1.0dev", "1.0.dev0" },
	{ "1.0-dev-2", "1.0.dev2" },
	{ "1.0_DEV_2", "1.0.dev2" },
	{ "1.0a1-1", "1.0a1.post1" },
	{ "1.0RC1.POST2.DEV3", "1.0rc1.post2.dev3" },
	{ "1.0+Ubuntu-1", "1.0+ubuntu.1" },
	{ "1.0+abc_5.X", "1.0+abc.5.x" },
	{ "1.0+007.0.a00", "1.0+7.0.a00" },
	{ "1.0a.post1", "1.0a0.post1" },
	{ "2022.01.01", "2022.1.1" },
	{ "18446744073709551615", "18446744073709551615" },
	{ "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16" },
};

static void test_version_normalisation(void **state)
{
	char out[128];

	(void)state;
	for (size_t i = 0; i < N(normalisation_cases); i++) {
		struct version v = parse_ok(normalisation_cases[i].in);
		int r = version_format(&v, out, sizeof(out));

		if (r < 0 || strcmp(out, normalisation_cases[i].out) != 0)
			fail_msg("\"%s\" formats as \"%s\", want \"%s\"", normalisation_cases[i].in, out,
				 normalisation_cases[i].out);
	}
}

static const struct {
	const char *in;
	int r;
} refused_versions[] = {
	{ "", -EINVAL },
	{ "   ", -EINVAL },
	{ "v", -EINVAL },
	{ "abc", -EINVAL },
	{ "1.", -EINVAL },
	{ ".1", -EINVAL },
	{ "1..0", -EINVAL },
	{ "1.0.*", -EINVAL },
	{ "1!", -EINVAL },
	{ "!1", -EINVAL },
	{ "1.0abc", -EINVAL },
	{ "1.0a1a1", -EINVAL },
	{ "1.0 1", -EINVAL },
	{ "1.0-", -EINVAL },
	{ "1.0+", -EINVAL },
	{ "1.0+a..b", -EINVAL },
	{ "1.0+a-", -EINVAL },
	{ "1.0+abc/", -EINVAL },
	{ "1.0+a+b", -EINVAL },
	{ "1.0.post1.post2", -EINVAL },
	{ "1.0.dev1a1", -EINVAL },
	{ "vv1.0", -EINVAL },
	{ "18446744073709551616", -ERANGE },
	{ "1.0a99999999999999999999", -ERANGE },
	{ "99999999999999999999!1.0", -ERANGE },
	{ "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", -E2BIG },
	{ "1.0+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -E2BIG },
};

static void test_version_refused(void **state)
{
	struct version v;

	(void)state;
	for (size_t i = 0; i < N(refused_versions); i++) {
		int r = version_parse(refused_versions[i].in, &v);

		if (r != refused_versions[i].r)
			fail_msg("version_parse(\"%s\") = %d, want %d", refused_versions[i].in, r, refused_versions[i].r);
	}
}

/* Every earlier entry sorts strictly before every later one. */
static void assert_ascending(const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int r = cmp(list[i], list[j]);
			int want = (i > j) - (i < j);

			if ((r > 0) - (r < 0) != want)
				fail_msg("compare(%s, %s) = %d, want %d", list[i], list[j], r, want);
		}
}

static void test_version_order_pep440(void **state)
{
	/* the example of PEP 440's "Summary of permitted suffixes and relative ordering" */
	static const char *const pep[] = {
		"1.dev0",	 "1.0.dev456",	  "1.0a1",	  "1.0a2.dev456",	  "1.0a12.dev456",
		"1.0a12",	 "1.0b1.dev456",  "1.0b2",		  "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1",		  "1.0",
		"1.0+abc.5",	 "1.0+abc.7",	  "1.0+5",		  "1.0.post456.dev34",
		"1.0.post456",	 "1.0.15",	  "1.1.dev1",
	};

	(void)state;
	assert_ascending(pep, N(pep));
}

static void test_version_order_more(void **state)
{
	static const char *const list[] = {
		"0.9",	      "1.0.dev0",   "1.0.dev1",	   "1.0a0",    "1.0a1.dev1",
		"1.0a1",      "1.0a1.post1", "1.0b1",	   "1.0rc1",   "1.0",
		"1.0+abc",    "1.0+abc.z",  "1.0+abc.1",   "1.0+2",    "1.0+10",
		"1.0+10.a",   "1.0.post0",  "1.0.post1.dev1", "1.0.post1", "1.0.1",
		"1.1",	      "2",	    "10",	   "18446744073709551615", "1!0.1",
		"2!0",
	};

	(void)state;
	assert_ascending(list, N(list));
}

static void test_version_equal(void **state)
{
	static const char *const pairs[][2] = {
		{ "1.0", "1.0.0" },	      { "1", "1.0.0.0.0" },	  { "1.0a1", "1.0alpha1" },
		{ "1.0rc1", "1.0c1" },	      { "1.0rc1", "1.0pre1" },	  { "1.0.post0", "1.0-0" },
		{ "1.0+ABC", "1.0+abc" },     { "1.0+a-b", "1.0+a.b" },	  { "1.0+01", "1.0+1" },
		{ "0!1.0", "1.0" },	      { "v1.0", "1.0" },	  { "1.0a", "1.0a0" },
	};

	(void)state;
	for (size_t i = 0; i < N(pairs); i++)
		if (cmp(pairs[i][0], pairs[i][1]) != 0)
			fail_msg("%s should equal %s", pairs[i][0], pairs[i][1]);
}

static void test_version_is_prerelease(void **state)
{
	static const struct {
		const char *v;
		bool pre;
	} cases[] = {
		{ "1.0", false },	     { "1.0a1", true },	      { "1.0rc1", true },
		{ "1.0.dev1", true },	     { "1.0.post1", false },  { "1.0.post1.dev1", true },
		{ "1.0+abc", false },	     { "1.0b1.post1", true },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct version v = parse_ok(cases[i].v);

		if (version_is_prerelease(&v) != cases[i].pre)
			fail_msg("version_is_prerelease(%s) != %d", cases[i].v, cases[i].pre);
	}
}

static void test_version_format_space(void **state)
{
	struct version v = parse_ok("1!2.0rc1.post3.dev4+abc.5");
	char out[32];

	(void)state;
	assert_int_equal(version_format(&v, out, sizeof(out)), 25);
	assert_string_equal(out, "1!2.0rc1.post3.dev4+abc.5");
	assert_int_equal(version_format(&v, out, 25), -ENOSPC);
	assert_int_equal(strlen(out), 24);
	assert_int_equal(version_format(&v, out, 26), 25);
}

/* ---- specifiers ------------------------------------------------------ */

struct match_case {
	const char *version, *spec;
	bool want;
};

static bool spec_matches(const char *spec, const char *version, bool allow_pre)
{
	struct version_specset set;
	struct rb_err err = { 0 };
	struct version v = parse_ok(version);

	if (version_specset_parse(spec, "spec", &set, &err) < 0)
		fail_msg("version_specset_parse(\"%s\"): %s", spec, err.msg);
	return version_specset_matches(&set, &v, allow_pre);
}

static void check_matches(const struct match_case *cases, size_t n, bool allow_pre)
{
	for (size_t i = 0; i < n; i++)
		if (spec_matches(cases[i].spec, cases[i].version, allow_pre) != cases[i].want)
			fail_msg("\"%s\" in \"%s\" (allow_prereleases=%d) should be %s",
				 cases[i].version, cases[i].spec, allow_pre,
				 cases[i].want ? "true" : "false");
}

/* pypa/packaging tests/test_specifiers.py, which checks with prereleases=True */
static const struct match_case packaging_cases[] = {
	{ "2.0", "==2", true },
	{ "2.0", "==2.0", true },
	{ "2.0", "==2.0.0", true },
	{ "2.0+deadbeef", "==2", true },
	{ "2.0+deadbeef", "==2.0", true },
	{ "2.0+deadbeef", "==2.0.0", true },
	{ "2.0+deadbeef", "==2+deadbeef", true },
	{ "2.0+deadbeef", "==2.0+deadbeef", true },
	{ "2.0+deadbeef", "==2.0.0+deadbeef", true },
	{ "2.0+deadbeef.0", "==2.0.0+deadbeef.00", true },
	{ "2.dev1", "==2.*", true },
	{ "2a1", "==2.*", true },
	{ "2a1.post1", "==2.*", true },
	{ "2b1", "==2.*", true },
	{ "2b1.dev1", "==2.*", true },
	{ "2c1", "==2.*", true },
	{ "2c1.post1.dev1", "==2.*", true },
	{ "2c1.post1.dev1", "==2.0.*", true },
	{ "2rc1", "==2.*", true },
	{ "2rc1", "==2.0.*", true },
	{ "2", "==2.*", true },
	{ "2", "==2.0.*", true },
	{ "2", "==0!2.*", true },
	{ "0!2", "==2.*", true },
	{ "2.0", "==2.*", true },
	{ "2.0.0", "==2.*", true },
	{ "2.1+local.version", "==2.1.*", true },
	{ "2.1", "!=2", true },
	{ "2.1", "!=2.0", true },
	{ "2.0.1", "!=2", true },
	{ "2.0.1", "!=2.0", true },
	{ "2.0.1", "!=2.0.0", true },
	{ "2.0", "!=2.0+deadbeef", true },
	{ "2.0", "!=3.*", true },
	{ "2.1", "!=2.0.*", true },
	{ "2.0", ">=2", true },
	{ "2.0", ">=2.0", true },
	{ "2.0", ">=2.0.0", true },
	{ "2.0.post1", ">=2", true },
	{ "2.0.post1.dev1", ">=2", true },
	{ "3", ">=2", true },
	{ "2.0", "<=2", true },
	{ "2.0", "<=2.0", true },
	{ "2.0", "<=2.0.0", true },
	{ "2.0.dev1", "<=2", true },
	{ "2.0a1", "<=2", true },
	{ "2.0a1.dev1", "<=2", true },
	{ "2.0b1", "<=2", true },
	{ "2.0b1.post1", "<=2", true },
	{ "2.0c1", "<=2", true },
	{ "2.0c1.post1.dev1", "<=2", true },
	{ "2.0rc1", "<=2", true },
	{ "1", "<=2", true },
	{ "3", ">2", true },
	{ "2.1", ">2.0", true },
	{ "2.0.1", ">2", true },
	{ "2.1.post1", ">2", true },
	{ "2.1+local.version", ">2", true },
	{ "1", "<2", true },
	{ "2.0", "<2.1", true },
	{ "2.0.dev0", "<2.1", true },
	{ "1", "~=1.0", true },
	{ "1.0.1", "~=1.0", true },
	{ "1.1", "~=1.0", true },
	{ "1.9999999", "~=1.0", true },
	{ "1.1", "~=1.0a1", true },
	{ "2022.01.01", "~=2022.01.01", true },
	{ "2!1.0", "~=2!1.0", true },
	{ "2!1.0", "==2!1.*", true },
	{ "2!1.0", "==2!1.0", true },
	{ "2!1.0", "!=1.0", true },
	{ "1.0", "!=2!1.0", true },
	{ "1.0", "<=2!0.1", true },
	{ "2!1.0", ">=2.0", true },
	{ "1.0", "<2!0.1", true },
	{ "2!1.0", ">2.0", true },
	{ "2.0.5", ">2.0dev", true },
	{ "2.1", "==2", false },
	{ "2.1", "==2.0", false },
	{ "2.1", "==2.0.0", false },
	{ "2.0", "==2.0+deadbeef", false },
	{ "2.0", "==3.*", false },
	{ "2.1", "==2.0.*", false },
	{ "2.0", "!=2", false },
	{ "2.0", "!=2.0", false },
	{ "2.0", "!=2.0.0", false },
	{ "2.0+deadbeef", "!=2", false },
	{ "2.0+deadbeef", "!=2.0", false },
	{ "2.0+deadbeef", "!=2.0.0", false },
	{ "2.0+deadbeef", "!=2+deadbeef", false },
	{ "2.0+deadbeef", "!=2.0+deadbeef", false },
	{ "2.0+deadbeef", "!=2.0.0+deadbeef", false },
	{ "2.0+deadbeef.0", "!=2.0.0+deadbeef.00", false },
	{ "2.dev1", "!=2.*", false },
	{ "2a1", "!=2.*", false },
	{ "2a1.post1", "!=2.*", false },
	{ "2b1", "!=2.*", false },
	{ "2b1.dev1", "!=2.*", false },
	{ "2c1", "!=2.*", false },
	{ "2c1.post1.dev1", "!=2.*", false },
	{ "2c1.post1.dev1", "!=2.0.*", false },
	{ "2rc1", "!=2.*", false },
	{ "2rc1", "!=2.0.*", false },
	{ "2", "!=2.*", false },
	{ "2", "!=2.0.*", false },
	{ "2.0", "!=2.*", false },
	{ "2.0.0", "!=2.*", false },
	{ "2.0.dev1", ">=2", false },
	{ "2.0a1", ">=2", false },
	{ "2.0a1.dev1", ">=2", false },
	{ "2.0b1", ">=2", false },
	{ "2.0b1.post1", ">=2", false },
	{ "2.0c1", ">=2", false },
	{ "2.0c1.post1.dev1", ">=2", false },
	{ "2.0rc1", ">=2", false },
	{ "1", ">=2", false },
	{ "2.0.post1", "<=2", false },
	{ "2.0.post1.dev1", "<=2", false },
	{ "3", "<=2", false },
	{ "1", ">2", false },
	{ "2.0.dev1", ">2", false },
	{ "2.0a1", ">2", false },
	{ "2.0a1.post1", ">2", false },
	{ "2.0b1", ">2", false },
	{ "2.0b1.dev1", ">2", false },
	{ "2.0c1", ">2", false },
	{ "2.0c1.post1.dev1", ">2", false },
	{ "2.0rc1", ">2", false },
	{ "2.0", ">2", false },
	{ "2.0.post1", ">2", false },
	{ "2.0.post1.dev1", ">2", false },
	{ "2.0+local.version", ">2", false },
	{ "2.0.dev1", "<2", false },
	{ "2.0a1", "<2", false },
	{ "2.0a1.post1", "<2", false },
	{ "2.0b1", "<2", false },
	{ "2.0b2.dev1", "<2", false },
	{ "2.0c1", "<2", false },
	{ "2.0c1.post1.dev1", "<2", false },
	{ "2.0rc1", "<2", false },
	{ "2.0", "<2", false },
	{ "2.post1", "<2", false },
	{ "2.post1.dev1", "<2", false },
	{ "3", "<2", false },
	{ "2.0", "~=1.0", false },
	{ "1.1.0", "~=1.0.0", false },
	{ "1.1.post1", "~=1.0.0", false },
	{ "1.0", "~=2!1.0", false },
	{ "2!1.0", "~=1.0", false },
	{ "2!1.0", "==1.0", false },
	{ "1.0", "==2!1.0", false },
	{ "2!1.0", "==1.*", false },
	{ "1.0", "==2!1.*", false },
	{ "2!1.0", "!=2!1.0", false },
};

static void test_specifiers_packaging(void **state)
{
	(void)state;
	check_matches(packaging_cases, N(packaging_cases), true);
}

/* PEP 440's special cases for < and >, which hold even with pre-releases allowed. */
static void test_specifiers_exclusive(void **state)
{
	static const struct match_case cases[] = {
		{ "1.0rc1", "<1.0", false },	   { "1.0.dev1", "<1.0", false },
		{ "0.9rc1", "<1.0", true },	   { "1.0a1", "<1.0rc1", true },
		{ "1.0rc1", "<1.0rc1", false },	   { "1.0.post1", ">1.0", false },
		{ "1.0+abc", ">1.0", false },	   { "1.0.post1+abc", ">1.0", false },
		{ "1.0.post2", ">1.0.post1", true }, { "1.0.1", ">1.0", true },
		{ "1.0.post1", ">=1.0", true },	   { "1.0+abc", ">=1.0", true },
		{ "1.0+abc", "<=1.0", true },	   { "1.0+abc", "==1.0", true },
		{ "1.0+abc", "==1.0+abd", false }, { "1.0+abc", "!=1.0", false },
		{ "1.0+abc", "!=1.0+abd", true },
	};

	(void)state;
	check_matches(cases, N(cases), true);
}

/* ~=2.2 is >=2.2,==2.*; ~=1.4.5 is >=1.4.5,==1.4.*: check them side by side. */
static void test_specifiers_compatible(void **state)
{
	static const char *const pairs[][2] = {
		{ "~=2.2", ">=2.2,==2.*" },
		{ "~=1.4.5", ">=1.4.5,==1.4.*" },
		{ "~=2.2.post3", ">=2.2.post3,==2.*" },
		{ "~=1.4.5a4", ">=1.4.5a4,==1.4.*" },
		{ "~=1!1.4.5", ">=1!1.4.5,==1!1.4.*" },
	};
	static const char *const versions[] = {
		"1.0",	 "1.4",	  "1.4.4", "1.4.5a3", "1.4.5a4", "1.4.5", "1.4.5.post1", "1.4.6",
		"1.4.99", "1.5",  "2.1",   "2.2a1",   "2.2",	 "2.2.post2", "2.2.post3", "2.2.1",
		"2.3",	 "2.99",  "3.0",   "1!1.4.5", "1!1.4.9", "1!1.5",  "1.4.5+local",
	};

	(void)state;
	for (size_t i = 0; i < N(pairs); i++)
		for (size_t j = 0; j < N(versions); j++)
			for (int pre = 0; pre < 2; pre++) {
				bool a = spec_matches(pairs[i][0], versions[j], pre);
				bool b = spec_matches(pairs[i][1], versions[j], pre);

				if (a != b)
					fail_msg("%s in \"%s\" is %d but in \"%s\" is %d",
						 versions[j], pairs[i][0], a, pairs[i][1], b);
			}
	assert_true(spec_matches("~=2.2", "2.9", false));
	assert_false(spec_matches("~=2.2", "3.0", false));
	assert_true(spec_matches("~=1.4.5", "1.4.9", false));
	assert_false(spec_matches("~=1.4.5", "1.5.0", false));
}

static void test_specifiers_wildcard(void **state)
{
	static const struct match_case cases[] = {
		{ "1.4", "==1.4.*", true },	  { "1.4.0", "==1.4.*", true },
		{ "1.4.17", "==1.4.*", true },	  { "1.4.17.post1", "==1.4.*", true },
		{ "1.5", "==1.4.*", false },	  { "1.40", "==1.4.*", false },
		{ "1", "==1.0.*", true },	  { "1.1", "==1.0.*", false },
		{ "1.4.1", "!=1.4.*", false },	  { "1.5", "!=1.4.*", true },
		{ "2.0+local", "==2.*", true },	  { "1!2.0", "==2.*", false },
	};

	(void)state;
	check_matches(cases, N(cases), false);
}

static void test_specifiers_prereleases(void **state)
{
	static const struct {
		const char *spec, *version;
		bool allow, want;
	} cases[] = {
		{ ">=1.0", "2.0.dev1", false, false },
		{ ">=1.0", "2.0.dev1", true, true },
		{ ">=2.0.dev1", "2.0a1", false, true },
		{ "==2.0.*", "2.0a1.dev1", false, false },
		{ "==2.0.*", "2.0a1.dev1", true, true },
		{ "<=2.0", "1.0.dev1", false, false },
		{ "<=2.0.dev1", "1.0a1", false, true },
		{ "", "1.0a1", false, false },
		{ "", "1.0a1", true, true },
		{ "", "1.0.post1", false, true },
		/* one clause naming a pre-release opens the whole set */
		{ ">=1.0a1,<2", "1.5b1", false, true },
		{ "!=1.0a1", "1.0b1", false, false },
		{ "!=1.0a1", "1.0b1", true, true },
		{ "==1.0rc1", "1.0rc1", false, true },
		{ "~=1.0a1", "1.0b1", false, true },
		{ ">1.0a1", "1.0b1", false, true },
		{ "<2.0a1", "1.9a1", false, true },
		{ ">=1.0", "1.0.post1.dev1", false, false },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		if (spec_matches(cases[i].spec, cases[i].version, cases[i].allow) != cases[i].want)
			fail_msg("\"%s\" in \"%s\" (allow=%d) should be %d", cases[i].version,
				 cases[i].spec, cases[i].allow, cases[i].want);
}

static void test_specset_format(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ ">=1.0", ">=1.0" },
		{ " >= 1.0 , < 2 ", ">=1.0,<2" },
		{ "==1.4.*,!=1.4.2", "==1.4.*,!=1.4.2" },
		{ "~=v1.0-ALPHA-1", "~=1.0a1" },
		{ "==1.0+Local_Thing", "==1.0+local.thing" },
		{ "<=1!2.0.post1.dev2", "<=1!2.0.post1.dev2" },
	};
	struct version_specset set;
	struct rb_err err = { 0 };
	char out[64];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		assert_int_equal(version_specset_parse(cases[i].in, "f", &set, &err), 0);
		assert_int_equal(version_specset_format(&set, out, sizeof(out)),
				 (int)strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(version_specset_parse(">=1.0,<2", "f", &set, &err), 0);
	assert_int_equal(version_specset_format(&set, out, 8), -ENOSPC);
	assert_int_equal(version_specset_format(&set, out, 9), 8);
}

static void test_specset_limits(void **state)
{
	char s[REQUIREMENT_MAX_LEN + 2];
	struct version_specset set;
	struct rb_err err = { 0 };
	size_t n = 0;

	(void)state;
	for (int i = 0; i < VERSION_MAX_SPECIFIERS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s!=%d", i ? "," : "", i);
	assert_int_equal(version_specset_parse(s, "f", &set, &err), 0);
	assert_int_equal(set.nspecs, VERSION_MAX_SPECIFIERS);
	snprintf(s + n, sizeof(s) - n, ",!=99");
	assert_int_equal(version_specset_parse(s, "f", &set, &err), -EINVAL);
	assert_string_equal(err.code, REQUIREMENT_CODE_SPECIFIER);
	assert_non_null(strstr(err.msg, "more than 16"));

	memset(s, '1', sizeof(s) - 1);
	s[0] = '=';
	s[1] = '=';
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(version_specset_parse(s, "f", &set, &err), -EINVAL);
	assert_string_equal(err.code, REQUIREMENT_CODE_SPECIFIER);
	assert_int_equal(version_specset_parse(">=1\n", "f", &set, &err), -EINVAL);
	assert_int_equal(version_specset_parse(NULL, "f", &set, &err), 0);
	assert_int_equal(set.nspecs, 0);
}

/* ---- requirements ---------------------------------------------------- */

static void test_requirement_accepted(void **state)
{
	static const struct {
		const char *in, *name_orig, *canonical;
		size_t nextras;
	} cases[] = {
		{ "numpy", "numpy", "numpy", 0 },
		{ "  numpy  ", "numpy", "numpy", 0 },
		{ "Django", "Django", "django", 0 },
		{ "zope.interface>=5", "zope.interface", "zope-interface>=5", 0 },
		{ "requests[socks]", "requests", "requests[socks]", 1 },
		{ "requests [ socks , Security ]", "requests", "requests[socks,security]", 2 },
		{ "requests[socks,SOCKS,so_cks]", "requests", "requests[socks,so-cks]", 2 },
		{ "pkg[]", "pkg", "pkg", 0 },
		{ "name>=1.0,<2", "name", "name>=1.0,<2", 0 },
		{ "name (>=1.0)", "name", "name>=1.0", 0 },
		{ "name(>=1.0, <2.0)", "name", "name>=1.0,<2.0", 0 },
		{ "name[x] ( >= 1.0 , != 1.5.* )", "name", "name[x]>=1.0,!=1.5.*", 1 },
		{ "name\t==\t1.0", "name", "name==1.0", 0 },
		{ "name~=1.4.5", "name", "name~=1.4.5", 0 },
		{ "name==1.0+local", "name", "name==1.0+local", 0 },
		{ "Foo_Bar.baz==v1.0RC1", "Foo_Bar.baz", "foo-bar-baz==1.0rc1", 0 },
		{ "a", "a", "a", 0 },
		{ "1", "1", "1", 0 },
	};
	struct requirement req;
	struct rb_err err = { 0 };
	char out[REQUIREMENT_MAX_LEN + 1];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		if (requirement_parse(cases[i].in, "dependencies[0]", &req, &err) != 0)
			fail_msg("\"%s\" refused: %s: %s", cases[i].in, err.code, err.msg);
		assert_string_equal(req.name_orig, cases[i].name_orig);
		assert_int_equal(req.nextras, cases[i].nextras);
		assert_true(requirement_format(&req, out, sizeof(out)) >= 0);
		assert_string_equal(out, cases[i].canonical);
	}
}

static void test_requirement_matches(void **state)
{
	struct requirement req;
	struct rb_err err = { 0 };
	struct version v;

	(void)state;
	assert_int_equal(requirement_parse("numpy>=1.26,<2", "d", &req, &err), 0);
	v = parse_ok("1.26.4");
	assert_true(requirement_matches(&req, &v, false));
	v = parse_ok("2.0.0");
	assert_false(requirement_matches(&req, &v, false));
	v = parse_ok("2.0.0rc1");
	assert_false(requirement_matches(&req, &v, true));
	v = parse_ok("1.27.0b1");
	assert_false(requirement_matches(&req, &v, false));
	assert_true(requirement_matches(&req, &v, true));
	assert_int_equal(requirement_parse("numpy", "d", &req, &err), 0);
	v = parse_ok("0.0.1");
	assert_true(requirement_matches(&req, &v, false));
}

struct refusal {
	const char *in, *code, *needle;
};

static void check_refusals(const struct refusal *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct requirement req = { .name = "untouched" };
		struct rb_err err = { 0 };
		int r = requirement_parse(cases[i].in, "dependencies[2]", &req, &err);

		if (r != -EINVAL || strcmp(err.code, cases[i].code) != 0)
			fail_msg("\"%s\": r=%d code=\"%s\", want \"%s\"", cases[i].in, r, err.code,
				 cases[i].code);
		assert_int_equal(err.fault, RB_FAULT_REQUEST);
		assert_string_equal(err.field, "dependencies[2]");
		assert_string_equal(req.name, "untouched");
		if (cases[i].needle && !strstr(err.msg, cases[i].needle))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].in, err.msg,
				 cases[i].needle);
	}
}

static void test_requirement_refuses_foreign(void **state)
{
	static const struct refusal cases[] = {
		{ "name @ https://example.com/x.whl", REQUIREMENT_CODE_INVALID, "URLs" },
		{ "name@git+https://github.com/a/b", REQUIREMENT_CODE_INVALID, "a URL" },
		{ "https://evil.example/pkg.tar.gz", REQUIREMENT_CODE_INVALID, "URLs" },
		{ "file:pkg", REQUIREMENT_CODE_INVALID, "URL" },
		{ "name; python_version < \"3.8\"", REQUIREMENT_CODE_INVALID, "environment markers" },
		{ "name>=1.0;os_name=='nt'", REQUIREMENT_CODE_INVALID, "environment marker" },
		{ "./local/pkg", REQUIREMENT_CODE_INVALID, "file path" },
		{ "/abs/pkg", REQUIREMENT_CODE_INVALID, "file path" },
		{ "..", REQUIREMENT_CODE_INVALID, "file path" },
		{ "~user", REQUIREMENT_CODE_INVALID, "file path" },
		{ "C:\\pkg", REQUIREMENT_CODE_INVALID, NULL },
		{ "pkg\\sub", REQUIREMENT_CODE_INVALID, "file path" },
		{ "numpy-1.26.0-cp311-none-any.whl", REQUIREMENT_CODE_INVALID, "archive" },
		{ "pkg-1.0.tar.gz", REQUIREMENT_CODE_INVALID, "archive" },
		{ "pkg.ZIP", REQUIREMENT_CODE_INVALID, "archive" },
		{ "-r requirements.txt", REQUIREMENT_CODE_INVALID, "pip option" },
		{ "--index-url=x", REQUIREMENT_CODE_INVALID, "pip option" },
		{ " -e .", REQUIREMENT_CODE_INVALID, NULL },
	};

	(void)state;
	check_refusals(cases, N(cases));
}

static void test_requirement_refuses_bytes(void **state)
{
	static const struct refusal cases[] = {
		{ "", REQUIREMENT_CODE_INVALID, "empty" },
		{ "   \t", REQUIREMENT_CODE_INVALID, "empty" },
		{ NULL, REQUIREMENT_CODE_INVALID, "empty" },
		{ "numpy\n", REQUIREMENT_CODE_INVALID, "control character 0x0a" },
		{ "num\rpy", REQUIREMENT_CODE_INVALID, "control character" },
		{ "numpy\x1b[31m", REQUIREMENT_CODE_INVALID, "control character 0x1b" },
		{ "numpy\x7f", REQUIREMENT_CODE_INVALID, "control character" },
		{ "nümpy", REQUIREMENT_CODE_INVALID, "non-ASCII" },
		{ "numpy|sh", REQUIREMENT_CODE_INVALID, "'|'" },
		{ "numpy&&id", REQUIREMENT_CODE_INVALID, "'&'" },
		{ "numpy$(id)", REQUIREMENT_CODE_INVALID, "'$'" },
		{ "numpy`id`", REQUIREMENT_CODE_INVALID, "'`'" },
		{ "numpy>out", REQUIREMENT_CODE_SPECIFIER, NULL },
		{ "numpy'", REQUIREMENT_CODE_INVALID, "'''" },
		{ "numpy\"", REQUIREMENT_CODE_INVALID, NULL },
		{ "numpy#x", REQUIREMENT_CODE_INVALID, "'#'" },
		{ "numpy{a}", REQUIREMENT_CODE_INVALID, NULL },
		{ "numpy?", REQUIREMENT_CODE_INVALID, NULL },
		{ "numpy%", REQUIREMENT_CODE_INVALID, NULL },
	};

	(void)state;
	check_refusals(cases, N(cases));
}

static void test_requirement_refuses_names(void **state)
{
	static const struct refusal cases[] = {
		{ ">=1.0", REQUIREMENT_CODE_NAME, "package name" },
		{ "[extra]", REQUIREMENT_CODE_NAME, NULL },
		{ "_private", REQUIREMENT_CODE_NAME, "not a valid package name" },
		{ "name_", REQUIREMENT_CODE_NAME, "not a valid package name" },
		{ "name.>=1", REQUIREMENT_CODE_NAME, NULL },
		{ "name[", REQUIREMENT_CODE_NAME, "extras" },
		{ "name[a", REQUIREMENT_CODE_NAME, "extras" },
		{ "name[a,]", REQUIREMENT_CODE_NAME, "extras" },
		{ "name[,a]", REQUIREMENT_CODE_NAME, "extras" },
		{ "name[a b]", REQUIREMENT_CODE_NAME, "extras" },
		{ "name[_a]", REQUIREMENT_CODE_NAME, "extra \"_a\"" },
		{ "name[a-]", REQUIREMENT_CODE_NAME, "extra" },
		{ "name[a,b,c,d,e,f,g,h,i]", REQUIREMENT_CODE_NAME, "more than 8 extras" },
		{ "name bar", REQUIREMENT_CODE_INVALID, "\"bar\"" },
		{ "name[a][b]", REQUIREMENT_CODE_INVALID, NULL },
		{ "name)", REQUIREMENT_CODE_INVALID, NULL },
		{ "name (>=1.0", REQUIREMENT_CODE_INVALID, "parenthesis" },
	};

	(void)state;
	check_refusals(cases, N(cases));
}

static void test_requirement_refuses_specifiers(void **state)
{
	static const struct refusal cases[] = {
		{ "name==", REQUIREMENT_CODE_SPECIFIER, "must follow the operator" },
		{ "name>=abc", REQUIREMENT_CODE_SPECIFIER, "PEP 440" },
		{ "name~=1", REQUIREMENT_CODE_SPECIFIER, "two release numbers" },
		{ "name=>1.0", REQUIREMENT_CODE_SPECIFIER, "must start with one of" },
		{ "name=1.0", REQUIREMENT_CODE_SPECIFIER, "must start with one of" },
		{ "name==1.0.*.*", REQUIREMENT_CODE_SPECIFIER, "PEP 440" },
		{ "name===1.0", REQUIREMENT_CODE_SPECIFIER, "===" },
		{ "name>=1.*", REQUIREMENT_CODE_SPECIFIER, "only allowed after == and !=" },
		{ "name~=1.*", REQUIREMENT_CODE_SPECIFIER, "only allowed after == and !=" },
		{ "name==1.0a1.*", REQUIREMENT_CODE_SPECIFIER, "release numbers" },
		{ "name==1.0+abc.*", REQUIREMENT_CODE_SPECIFIER, NULL },
		{ "name>=1.0+abc", REQUIREMENT_CODE_SPECIFIER, "local version" },
		{ "name~=1.0+abc", REQUIREMENT_CODE_SPECIFIER, "local version" },
		{ "name>=1.0,", REQUIREMENT_CODE_SPECIFIER, "empty clause" },
		{ "name>=1.0,,<2", REQUIREMENT_CODE_SPECIFIER, "empty clause" },
		{ "name>=1.0 <2", REQUIREMENT_CODE_SPECIFIER, "PEP 440" },
		{ "name 1.0", REQUIREMENT_CODE_SPECIFIER, "operator" },
		{ "name()", REQUIREMENT_CODE_SPECIFIER, "empty parentheses" },
		{ "name((>=1))", REQUIREMENT_CODE_SPECIFIER, NULL },
		{ "name>=99999999999999999999", REQUIREMENT_CODE_SPECIFIER, "larger than" },
		{ "name>=1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", REQUIREMENT_CODE_SPECIFIER,
		  "more than 16" },
		{ "name>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1,>=1",
		  REQUIREMENT_CODE_SPECIFIER, "more than 16 clauses" },
	};

	(void)state;
	check_refusals(cases, N(cases));
}

static void test_requirement_length(void **state)
{
	char s[REQUIREMENT_MAX_LEN + 2];
	struct requirement req;
	struct rb_err err = { 0 };

	(void)state;
	memset(s, 'a', REQUIREMENT_MAX_LEN);
	s[REQUIREMENT_MAX_LEN] = '\0';
	assert_int_equal(requirement_parse(s, "d", &req, &err), 0);
	assert_int_equal(strlen(req.name), REQUIREMENT_MAX_LEN);
	s[REQUIREMENT_MAX_LEN] = 'a';
	s[REQUIREMENT_MAX_LEN + 1] = '\0';
	assert_int_equal(requirement_parse(s, "d", &req, &err), -EINVAL);
	assert_string_equal(err.code, REQUIREMENT_CODE_TOO_LONG);
	assert_int_equal(err.fault, RB_FAULT_REQUEST);
	/* the message must not echo 200 bytes of the request back */
	assert_null(strstr(err.msg, "aaaa"));
}

static void test_requirement_field_null(void **state)
{
	struct requirement req;
	struct rb_err err = { 0 };

	(void)state;
	assert_int_equal(requirement_parse("a;b", NULL, &req, &err), -EINVAL);
	assert_string_equal(err.field, "");
	assert_string_equal(err.code, REQUIREMENT_CODE_INVALID);
}

static void test_requirement_format_space(void **state)
{
	struct requirement req;
	struct rb_err err = { 0 };
	char out[64];

	(void)state;
	assert_int_equal(requirement_parse("Foo[b,a]>=1,<2", "d", &req, &err), 0);
	assert_int_equal(requirement_format(&req, out, sizeof(out)), 14);
	assert_string_equal(out, "foo[b,a]>=1,<2");
	assert_int_equal(requirement_format(&req, out, 14), -ENOSPC);
	assert_string_equal(out, "foo[b,a]>=1,<");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_name),
		cmocka_unit_test(test_normalize_name_space),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_version_normalisation),
		cmocka_unit_test(test_version_refused),
		cmocka_unit_test(test_version_order_pep440),
		cmocka_unit_test(test_version_order_more),
		cmocka_unit_test(test_version_equal),
		cmocka_unit_test(test_version_is_prerelease),
		cmocka_unit_test(test_version_format_space),
		cmocka_unit_test(test_specifiers_packaging),
		cmocka_unit_test(test_specifiers_exclusive),
		cmocka_unit_test(test_specifiers_compatible),
		cmocka_unit_test(test_specifiers_wildcard),
		cmocka_unit_test(test_specifiers_prereleases),
		cmocka_unit_test(test_specset_format),
		cmocka_unit_test(test_specset_limits),
		cmocka_unit_test(test_requirement_accepted),
		cmocka_unit_test(test_requirement_matches),
		cmocka_unit_test(test_requirement_refuses_foreign),
		cmocka_unit_test(test_requirement_refuses_bytes),
		cmocka_unit_test(test_requirement_refuses_names),
		cmocka_unit_test(test_requirement_refuses_specifiers),
		cmocka_unit_test(test_requirement_length),
		cmocka_unit_test(test_requirement_field_null),
		cmocka_unit_test(test_requirement_format_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
