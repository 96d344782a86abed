/*
 * Unit tests for pkg/deps/resolve over small in-memory indexes: highest version,
 * pre-releases, backtracking, extras, pre-installed packages, cycles, caps,
 * and the errors' codes and wording.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deps/resolve.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const none[] = {NULL};
static const char *const a10_req[] = {"b>=2"};
static const char *const a09_req[] = {"b<2"};
static const char *const c_req[] = {"d"};
static const char *const d_req[] = {"c"}; /* a cycle */
static const char *const fast_req[] = {"c"};
static const char *const e_req[] = {"pip<1"};
static const struct resolve_extra a_extras[] = {{"fast", fast_req, 1}};

static struct resolve_pkg pkgs[] = {
    {"a", "1.0", {0}, false, a10_req, 1, a_extras, 1, 0, false, false},
    {"a", "0.9", {0}, false, a09_req, 1, NULL, 0, 0, false, false},
    {"b", "1.0", {0}, false, none, 0, NULL, 0, 0, false, false},
    {"b", "2.0", {0}, false, none, 0, NULL, 0, 0, false, false},
    {"b", "3.0b1", {0}, false, none, 0, NULL, 0, 0, false, false},
    {"c", "1.0", {0}, false, c_req, 1, NULL, 0, 0, false, false},
    {"d", "1.0", {0}, false, d_req, 1, NULL, 0, 0, false, false},
    {"e", "1.0", {0}, false, e_req, 1, NULL, 0, 0, false, false},
    {"pip", "23.0.1", {0}, true, none, 0, NULL, 0, 0, false, false},
    {"pip", "24.0", {0}, false, none, 0, NULL, 0, 0, false, false}, /* shadowed by the installed one
								     */
};
static const struct resolve_index ix = {pkgs, N(pkgs), NULL};

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pkgs); i++)
		if (version_parse(pkgs[i].version, &pkgs[i].v) < 0)
			return -1;
	return 0;
}

/* Resolve @reqs (NULL-terminated); "a 1.0, b 2.0" of the result into @out. */
static int run(const char *const *reqs, size_t cap, char *out, size_t size, struct rb_err *err)
{
	struct requirement rq[8];
	const char *fields[8] = {"dependencies[0]", "dependencies[1]", "dependencies[2]"};
	struct resolve_result res;
	size_t n = 0, len = 0;
	int r;

	while (reqs[n]) {
		if (requirement_parse(reqs[n], NULL, &rq[n], err) < 0)
			fail_msg("%s: %s", reqs[n], err->msg);
		n++;
	}
	r = resolve_run(&ix, rq, fields, n, cap, &res, err);
	out[0] = '\0';
	for (size_t i = 0; r == 0 && i < res.n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s %s", i ? ", " : "",
					pkgs[res.pkg[i]].name, pkgs[res.pkg[i]].version);
	return r;
}

static void expect(const char *const *reqs, const char *want)
{
	char got[512];
	struct rb_err err;

	if (run(reqs, 64, got, sizeof(got), &err) < 0)
		fail_msg("refused: %s", err.msg);
	assert_string_equal(got, want);
}

static void expect_refused(const char *const *reqs, size_t cap, const char *code,
			   const char *needle)
{
	char got[512];
	struct rb_err err;

	assert_int_equal(run(reqs, cap, got, sizeof(got), &err), -EINVAL);
	assert_string_equal(err.code, code);
	assert_int_equal(err.fault, RB_FAULT_REQUEST);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' not in \"%s\"", needle, err.msg);
}

static void test_choices(void **state)
{
	(void)state;
	expect((const char *const[]){"a", NULL}, "a 1.0, b 2.0");
	expect((const char *const[]){"b", NULL}, "b 2.0");
	expect((const char *const[]){"b>2", NULL}, "b 3.0b1");
	expect((const char *const[]){"b>=3.0a1", NULL}, "b 3.0b1");
	expect((const char *const[]){"a", "b<2", NULL}, "a 0.9, b 1.0");
	expect((const char *const[]){"a[fast]", NULL}, "a 1.0, b 2.0, c 1.0, d 1.0");
	expect((const char *const[]){"c", NULL}, "c 1.0, d 1.0");
	expect((const char *const[]){"pip", NULL}, "pip 23.0.1");
	expect((const char *const[]){"PIP>=23", "b==1.0", NULL}, "pip 23.0.1, b 1.0");
	/* A pre-installed package's extras are the interpreter's: taken as asked. */
	expect((const char *const[]){"pip[anything]", NULL}, "pip 23.0.1");
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refused((const char *const[]){"aa", NULL}, 64, "dependency_not_found",
		       "'aa' (required by dependencies[0]) is not in the wheel cache or "
		       "pre-installed; closest names there: a");
	expect_refused((const char *const[]){"b>=4", NULL}, 64, "dependency_not_found",
		       "available: 1.0, 2.0, 3.0b1");
	expect_refused((const char *const[]){"a==1.0", "b<2", NULL}, 64, "dependency_conflict",
		       "conflicts with");
	expect_refused((const char *const[]){"a[slow]", NULL}, 64, "dependency_not_found",
		       "a 1.0 has no extra 'slow'");
	expect_refused((const char *const[]){"e", NULL}, 64, "dependency_conflict",
		       "'pip<1' (required by e 1.0 <- dependencies[0]) asks for a version the "
		       "pre-installed pip 23.0.1 does not satisfy");
	expect_refused((const char *const[]){"pip>=24", NULL}, 64, "dependency_conflict",
		       "pre-installed");
	expect_refused((const char *const[]){"a[fast]", NULL}, 3, "too_many_dependencies",
		       "more than 3 packages");
}

/* More versions than the candidate list holds: the highest still wins. */
static void test_many_versions(void **state)
{
	static struct resolve_pkg many[100];
	static char names[100][16];
	struct resolve_index mix = {many, 100, NULL};
	struct requirement rq;
	struct resolve_result res;
	struct rb_err err;
	const char *field = "dependencies[0]";

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "1.%d", i);
		many[i] = (struct resolve_pkg){.name = "z", .version = names[i]};
		assert_int_equal(version_parse(names[i], &many[i].v), 0);
	}
	assert_int_equal(requirement_parse("z", NULL, &rq, &err), 0);
	assert_int_equal(resolve_run(&mix, &rq, &field, 1, 64, &res, &err), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(many[res.pkg[0]].version, "1.99");
	assert_int_equal(requirement_parse("z<1.5", NULL, &rq, &err), 0);
	assert_int_equal(resolve_run(&mix, &rq, &field, 1, 64, &res, &err), 0);
	assert_string_equal(many[res.pkg[0]].version, "1.4");
}

/*
 * One package whose requirements fill the queue past its cap.  solve()
 * recursed once per queued requirement with 2 KiB frames, so 60000 of them
 * overflowed the stack (a SIGSEGV) before the cap existed.
 */
static void test_queue_cap(void **state)
{
	static const char *reqs[60000];
	static struct resolve_pkg wide[2];
	struct resolve_index wix = {wide, 2, NULL};
	struct requirement rq;
	struct resolve_result res;
	struct rb_err err;
	const char *field = "dependencies[0]";

	(void)state;
	for (size_t i = 0; i < N(reqs); i++)
		reqs[i] = "leaf";
	wide[0] = (struct resolve_pkg){.name = "wide", .version = "1.0", .requires = reqs};
	wide[1] = (struct resolve_pkg){.name = "leaf", .version = "1.0"};
	assert_int_equal(version_parse("1.0", &wide[0].v), 0);
	assert_int_equal(version_parse("1.0", &wide[1].v), 0);
	assert_int_equal(requirement_parse("wide", NULL, &rq, &err), 0);
	wide[0].n_requires = 1000; /* under the cap: resolves */
	assert_int_equal(resolve_run(&wix, &rq, &field, 1, 64, &res, &err), 0);
	assert_int_equal(res.n, 2);
	wide[0].n_requires = N(reqs);
	assert_int_equal(resolve_run(&wix, &rq, &field, 1, 64, &res, &err), -EINVAL);
	assert_string_equal(err.code, "too_many_dependencies");
	assert_int_equal(err.fault, RB_FAULT_REQUEST);
	assert_non_null(strstr(err.msg, "more than 4096"));
}

/*
 * Seven packages of eight versions each, then a requirement none of the
 * 8^7 combinations satisfies: chronological backtracking would try them
 * all; the step cap refuses it instead.
 */
static void test_backtracking_is_bounded(void **state)
{
	static struct resolve_pkg p[7 * 8 + 1];
	static char names[7][16], versions[8][16];
	static const char *const last_req[] = {"p0>100"};
	struct resolve_index bix = {p, N(p), NULL};
	struct requirement rq[8];
	const char *fields[8] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};
	struct resolve_result res;
	struct rb_err err;

	(void)state;
	for (int i = 0; i < 7; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i);
		for (int v = 0; v < 8; v++) {
			snprintf(versions[v], sizeof(versions[v]), "%d.0", v + 1);
			p[i * 8 + v] =
			    (struct resolve_pkg){.name = names[i], .version = versions[v]};
			assert_int_equal(version_parse(versions[v], &p[i * 8 + v].v), 0);
		}
		assert_int_equal(requirement_parse(names[i], NULL, &rq[i], &err), 0);
	}
	p[56] = (struct resolve_pkg){
	    .name = "last", .version = "1.0", .requires = last_req, .n_requires = 1};
	assert_int_equal(version_parse("1.0", &p[56].v), 0);
	assert_int_equal(requirement_parse("last", NULL, &rq[7], &err), 0);
	assert_int_equal(resolve_run(&bix, rq, fields, 8, 64, &res, &err), -EINVAL);
	assert_string_equal(err.code, "dependency_conflict");
	assert_non_null(strstr(err.msg, "gave up after 100000 tries"));
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(resolve_name_distance("numpy", "numpy"), 0);
	assert_int_equal(resolve_name_distance("nunpy", "numpy"), 1);
	assert_int_equal(resolve_name_distance("", "abc"), 3);
	assert_int_equal(resolve_name_distance("requests", "request"), 1);
}

/* ---- tiers, yanked entries and a source ---------------------------------- */

/* A source with one more version of "t" and of "u"; counts its calls. */
struct fake {
	struct resolve_pkg pkgs[8];
	size_t n;
	int expands, describes, fail_expand;
	struct resolve_index ix;
	struct resolve_source src;
};

static const char *const t3_req[] = {"u>=2"};

static int fake_expand(void *ctx, const char *name, struct rb_err *err)
{
	struct fake *f = ctx;

	f->expands++;
	if (f->fail_expand)
		return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "index_unreachable", NULL, "down");
	if (strcmp(name, "t") == 0) {
		f->pkgs[f->n] =
		    (struct resolve_pkg){.name = "t", .version = "3.0", .tier = 2, .pending = true};
		version_parse("3.0", &f->pkgs[f->n++].v);
	} else if (strcmp(name, "u") == 0) {
		f->pkgs[f->n] = (struct resolve_pkg){.name = "u", .version = "2.0", .tier = 2};
		version_parse("2.0", &f->pkgs[f->n++].v);
	} else {
		return 0;
	}
	f->ix.n = f->n;
	return 1;
}

static int fake_describe(void *ctx, size_t i, struct rb_err *err)
{
	struct fake *f = ctx;

	(void)err;
	f->describes++;
	f->pkgs[i].requires = t3_req;
	f->pkgs[i].n_requires = 1;
	f->pkgs[i].pending = false;
	return 0;
}

static const char *fake_explain(void *ctx, const char *name, const char **ret_code)
{
	(void)ctx;
	*ret_code = "no_compatible_wheel";
	return strcmp(name, "sdist") == 0 ? "only sdists" : NULL;
}

static void fake_init(struct fake *f)
{
	static const char *const vers[] = {"1.0", "2.0"};

	memset(f, 0, sizeof(*f));
	/* t 1.0 in the cache (tier 0), t 2.0 fetched before (tier 1), y 2.0 yanked. */
	for (int i = 0; i < 2; i++) {
		f->pkgs[i] =
		    (struct resolve_pkg){.name = "t", .version = vers[i], .tier = (unsigned)i};
		version_parse(vers[i], &f->pkgs[i].v);
	}
	f->pkgs[2] = (struct resolve_pkg){.name = "y", .version = "1.0"};
	f->pkgs[3] = (struct resolve_pkg){.name = "y", .version = "2.0", .yanked = true};
	version_parse("1.0", &f->pkgs[2].v);
	version_parse("2.0", &f->pkgs[3].v);
	f->n = 4;
	f->src = (struct resolve_source){fake_expand, fake_describe, fake_explain, f};
	f->ix = (struct resolve_index){f->pkgs, f->n, &f->src};
}

static int run_fake(struct fake *f, const char *req, char *out, size_t size, struct rb_err *err)
{
	struct requirement rq;
	const char *fields[] = {"dependencies[0]"};
	struct resolve_result res;
	size_t len = 0;
	int r;

	assert_int_equal(requirement_parse(req, NULL, &rq, err), 0);
	r = resolve_run(&f->ix, &rq, fields, 1, 64, &res, err);
	out[0] = '\0';
	for (size_t i = 0; r == 0 && i < res.n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s %s", i ? ", " : "",
					f->pkgs[res.pkg[i]].name, f->pkgs[res.pkg[i]].version);
	return r;
}

static void test_tiers_and_source(void **state)
{
	struct fake f;
	struct rb_err err;
	char got[256];

	(void)state;
	fake_init(&f);
	/* The cache's version wins over a higher one fetched before: nothing is asked. */
	assert_int_equal(run_fake(&f, "t", got, sizeof(got), &err), 0);
	assert_string_equal(got, "t 1.0");
	assert_int_equal(f.expands, 0);
	assert_int_equal(run_fake(&f, "t>1", got, sizeof(got), &err), 0);
	assert_string_equal(got, "t 2.0");
	assert_int_equal(f.expands, 0);
	/* Only what is not on the instance is looked up, and described when tried. */
	assert_int_equal(run_fake(&f, "t>2", got, sizeof(got), &err), 0);
	assert_string_equal(got, "t 3.0, u 2.0");
	assert_int_equal(f.expands, 2);
	assert_int_equal(f.describes, 1);
	/* A yanked entry only when pinned with ==. */
	assert_int_equal(run_fake(&f, "y", got, sizeof(got), &err), 0);
	assert_string_equal(got, "y 1.0");
	assert_int_equal(run_fake(&f, "y==2.0", got, sizeof(got), &err), 0);
	assert_string_equal(got, "y 2.0");
	assert_int_equal(run_fake(&f, "y>1", got, sizeof(got), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "yanked"));
	/* The source's reason, with its code. */
	assert_int_equal(run_fake(&f, "sdist", got, sizeof(got), &err), -EINVAL);
	assert_string_equal(err.code, "no_compatible_wheel");
	assert_non_null(strstr(err.msg, "only sdists"));
	/* A failing source ends the resolution with its own error. */
	fake_init(&f);
	f.fail_expand = 1;
	assert_int_equal(run_fake(&f, "t>5", got, sizeof(got), &err), -EINVAL);
	assert_string_equal(err.code, "index_unreachable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tiers_and_source), cmocka_unit_test(test_choices),
	    cmocka_unit_test(test_refusals),	     cmocka_unit_test(test_many_versions),
	    cmocka_unit_test(test_queue_cap),	     cmocka_unit_test(test_backtracking_is_bounded),
	    cmocka_unit_test(test_distance),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
