/*
 * Unit tests for pkg/deps/npmresolve and npmcache_parse: specs, the
 * closure one version per name with backtracking, the pre-installed set
 * after the request's choice, optional and peer dependencies, each
 * refusal's code and words, and an index that is malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deps/npmcache.h"
#include "deps/npmresolve.h"

/* The index as index.json spells it. */
static const char index_json[] =
    "{\"format\":1,\"packages\":["
    "{\"name\":\"helper\",\"version\":\"1.2.0\"},"
    "{\"name\":\"helper\",\"version\":\"1.5.0\"},"
    "{\"name\":\"helper\",\"version\":\"2.0.0\"},"
    "{\"name\":\"app-a\",\"version\":\"1.0.0\",\"dependencies\":{\"helper\":\"^1\"}},"
    "{\"name\":\"app-b\",\"version\":\"1.0.0\",\"dependencies\":{\"helper\":\"^2\"}},"
    "{\"name\":\"bt\",\"version\":\"2.0.0\",\"dependencies\":{\"helper\":\"^2\"}},"
    "{\"name\":\"bt\",\"version\":\"1.0.0\",\"dependencies\":{\"helper\":\"1.x\"}},"
    "{\"name\":\"opt\",\"version\":\"1.0.0\",\"optionalDependencies\":{\"gone\":\"1\"},"
    "\"peerDependencies\":{\"helper\":\"^2\"}},"
    "{\"name\":\"deep\",\"version\":\"1.0.0\",\"dependencies\":{\"app-a\":\"1\",\"lost\":\"^3\"}},"
    "{\"name\":\"pre\",\"version\":\"1.0.0\",\"preinstalled\":true,"
    "\"dependencies\":{\"helper\":\"^2\"}},"
    "{\"name\":\"@s/t\",\"version\":\"0.1.0\",\"preinstalled\":true}]}";

static struct npmcache cache;

static int setup(void **state)
{
	struct rb_err err = {0};

	(void)state;
	if (npmcache_parse(index_json, strlen(index_json), &cache, &err) < 0)
		fail_msg("parse: %s", err.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	npmcache_free(&cache);
	return 0;
}

/* "name@version,..." of a result, in the order chosen. */
static void chosen(const struct npm_result *r, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s@%s", i ? "," : "",
				      cache.ix.pkgs[r->pkg[i]].name,
				      cache.ix.pkgs[r->pkg[i]].version);
}

static int run(const char *const *names, const char *const *ranges, size_t n, char *out,
	       size_t size, struct rb_err *err)
{
	struct npm_want w[8];
	struct npm_result r;
	char fields[8][40];
	int rc;

	for (size_t i = 0; i < n; i++) {
		snprintf(fields[i], sizeof(fields[i]), "dependencies[%zu]", i);
		w[i] = (struct npm_want){names[i], ranges[i], fields[i]};
	}
	rc = npmresolve_run(&cache.ix, w, n, 64, &r, err);
	if (rc >= 0)
		chosen(&r, out, size);
	return rc;
}

static void expect(const char *const *names, const char *const *ranges, size_t n, const char *want)
{
	struct rb_err err = {0};
	char got[512];

	if (run(names, ranges, n, got, sizeof(got), &err) < 0)
		fail_msg("refused: %s", err.msg);
	if (strcmp(got, want) != 0)
		fail_msg("chose %s, want %s", got, want);
}

static void refused(const char *const *names, const char *const *ranges, size_t n, const char *code,
		    const char *field, const char *words)
{
	struct rb_err err = {0};
	char got[512];

	if (run(names, ranges, n, got, sizeof(got), &err) >= 0)
		fail_msg("chose %s, want %s", got, code);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
	if (!strstr(err.msg, words))
		fail_msg("'%s' does not say '%s'", err.msg, words);
}

static void test_closure(void **state)
{
	(void)state;
	/* Highest first; the pre-installed after, each where it fits. */
	expect((const char *[]){"app-a"}, (const char *[]){""}, 1,
	       "app-a@1.0.0,helper@1.5.0,@s/t@0.1.0");
	expect((const char *[]){"helper"}, (const char *[]){"~1.2"}, 1, "helper@1.2.0,@s/t@0.1.0");
	/* Nothing asked: the pre-installed set alone, with its own closure. */
	expect(NULL, NULL, 0, "pre@1.0.0,helper@2.0.0,@s/t@0.1.0");
	/* bt 2.0.0 clashes with app-a's helper: bt 1.0.0 instead. */
	expect((const char *[]){"app-a", "bt"}, (const char *[]){"", ""}, 2,
	       "app-a@1.0.0,bt@1.0.0,helper@1.5.0,@s/t@0.1.0");
	/* An optional dependency the cache lacks, a peer that clashes: both left out. */
	expect((const char *[]){"app-a", "opt"}, (const char *[]){"", ""}, 2,
	       "app-a@1.0.0,opt@1.0.0,helper@1.5.0,@s/t@0.1.0");
}

static void test_refusals(void **state)
{
	(void)state;
	refused((const char *[]){"helpr"}, (const char *[]){""}, 1, "dependency_not_found",
		"dependencies[0]",
		"No package 'helpr' in the npm cache (required by "
		"dependencies[0]); closest names: helper");
	refused((const char *[]){"helper"}, (const char *[]){"^3"}, 1, "dependency_not_found",
		"dependencies[0]",
		"matches none of the cached versions of helper: 2.0.0, 1.5.0, 1.2.0.");
	refused((const char *[]){"app-a", "app-b"}, (const char *[]){"", ""}, 2,
		"dependency_conflict", "dependencies[1]",
		"'helper@^2' (required by app-b 1.0.0 <- dependencies[1]) conflicts with helper "
		"1.5.0, chosen for app-a 1.0.0 <- dependencies[0]");
	refused((const char *[]){"deep"}, (const char *[]){""}, 1, "dependency_not_found",
		"dependencies[0]",
		"No package 'lost' in the npm cache (required by deep 1.0.0 <- "
		"dependencies[0])");
}

static void test_specs(void **state)
{
	static const struct {
		const char *spec, *name, *range;
	} ok[] = {
	    {"lodash", "lodash", ""},
	    {"lodash@^4.17", "lodash", "^4.17"},
	    {"@types/node@20", "@types/node", "20"},
	    {"@scope/x", "@scope/x", ""},
	    {"zod@latest", "zod", "latest"},
	    {"a@>=1 <2 || 3.x", "a", ">=1 <2 || 3.x"},
	};
	static const char *const bad[] = {
	    "",
	    "@",
	    "@scope",
	    "x@^",
	    "git+https://github.com/a/b.git",
	    "github:a/b",
	    "file:../x",
	    "a@npm:b@1",
	    "https://x/y.tgz",
	    "a/b",
	    ".hidden",
	    "_under",
	    "a b",
	    "x@beta",
	};
	char name[NPM_NAME_MAX + 1];
	const char *range, *why;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (npmresolve_parse_spec(ok[i].spec, name, &range, &why) < 0)
			fail_msg("'%s': %s", ok[i].spec, why);
		assert_string_equal(name, ok[i].name);
		assert_string_equal(range, ok[i].range);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (npmresolve_parse_spec(bad[i], name, &range, &why) == 0)
			fail_msg("'%s' parsed", bad[i]);
}

static void test_bad_index(void **state)
{
	static const char *const bad[] = {
	    "{\"format\":2,\"packages\":[]}",
	    "{\"format\":1}",
	    "{\"format\":1,\"packages\":[{\"name\":\"../x\",\"version\":\"1.0.0\"}]}",
	    "{\"format\":1,\"packages\":[{\"name\":\"x\",\"version\":\"1.0\"}]}",
	    "{\"format\":1,\"packages\":[{\"name\":\"x\",\"version\":\"1.0.0\","
	    "\"dependencies\":{\"a/b/c\":\"1\"}}]}",
	    "{\"format\":1,\"packages\":[{\"name\":\"x\",\"version\":\"1.0.0\","
	    "\"dependencies\":[\"a\"]}]}",
	    "not json",
	};
	struct npmcache c;
	struct rb_err err;
	char tree[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (npmcache_parse(bad[i], strlen(bad[i]), &c, &err) == 0)
			fail_msg("index %zu parsed", i);
		assert_string_equal(err.code, "invalid_cache");
	}
	npmcache_tree("@types/node", "20.1.0", tree, sizeof(tree));
	assert_string_equal(tree, "pkgs/@types+node@20.1.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_closure),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_specs),
	    cmocka_unit_test(test_bad_index),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
