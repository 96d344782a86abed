/*
 * Unit tests for pkg/contract/response_fit: an answer over the budget loses its
 * last artifacts first, then output, always stays valid JSON within the
 * budget as measured, and an answer that fits is left exactly as it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/lambda_event.h"
#include "contract/response_fit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static unsigned char big_a[3000], big_b[3000], big_c[3000];

static struct artifact items[] = {
    {.path = "a.bin", .data = big_a, .size = sizeof(big_a)},
    {.path = "b.txt", .data = big_b, .size = sizeof(big_b)},
    {.path = "c.bin", .data = big_c, .size = sizeof(big_c)},
    {.path = "d.big", .data = NULL, .size = 99999999, .omitted = "file_too_large"},
};
static struct artifact_list list = {items, N(items)};

static void fill(void)
{
	for (size_t i = 0; i < sizeof(big_a); i++) {
		big_a[i] = (unsigned char)i;
		big_b[i] = 'a' + i % 26;
		big_c[i] = (unsigned char)(255 - i % 256);
	}
}

static struct run_outcome outcome(const char *out)
{
	items[0].size = items[1].size = items[2].size = 3000;
	struct run_outcome o = {
	    .status = "ok", .out = out, .out_len = strlen(out), .err = "", .artifacts = &list};

	o.sandbox = cJSON_CreateObject();
	cJSON_AddBoolToObject(o.sandbox, "seccomp", 1);
	o.dependencies = cJSON_CreateArray();
	return o;
}

static void release(struct run_outcome *o)
{
	cJSON_Delete(o->sandbox);
	cJSON_Delete(o->dependencies);
}

static const char *omitted_reason(const cJSON *root, const char *path)
{
	const cJSON *e;

	cJSON_ArrayForEach(
	    e,
	    cJSON_GetObjectItem(
		root, "omitted_artifacts")) if (strcmp(cJSON_GetObjectItem(e, "path")->valuestring,
						       path) ==
						0) return cJSON_GetObjectItem(e, "reason")
	    ->valuestring;
	return NULL;
}

static void test_fits_unchanged(void **state)
{
	struct run_outcome o = outcome("hi\n"), o2 = outcome("hi\n");
	char *fitted = response_build_fitted(&o, 1 << 20, NULL), *plain;

	(void)state;
	plain = response_build(&o2); /* takes o2's JSON items */
	assert_string_equal(fitted, plain);
	assert_non_null(o.sandbox); /* not taken over */
	release(&o);
	free(fitted);
	free(plain);
}

static void test_last_artifacts_go_first(void **state)
{
	struct run_outcome o = outcome("hi\n");
	char *full = response_build_fitted(&o, 1 << 20, NULL);
	size_t max = strlen(full) - 3000; /* room for a.bin and b.txt, not c.bin */
	char *s = response_build_fitted(&o, max, NULL);
	cJSON *root = cJSON_Parse(s), *arts = cJSON_GetObjectItem(root, "artifacts");

	(void)state;
	assert_true(strlen(s) <= max);
	assert_non_null(cJSON_GetObjectItem(arts, "a.bin"));
	assert_non_null(cJSON_GetObjectItem(arts, "b.txt"));
	assert_null(cJSON_GetObjectItem(arts, "c.bin"));
	assert_string_equal(omitted_reason(root, "c.bin"), "response_too_large");
	assert_string_equal(omitted_reason(root, "d.big"), "file_too_large");
	assert_string_equal(cJSON_GetObjectItem(root, "stdout")->valuestring, "hi\n");
	assert_false(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "truncated"), "stdout")));
	cJSON_Delete(root);
	free(s);
	free(full);
	release(&o);
}

static void test_smaller_later_artifact_still_fits(void **state)
{
	struct run_outcome o = outcome("");
	char *none, *s;
	cJSON *root;
	size_t max;

	(void)state;
	items[1].size = 10; /* b.txt is small: it fits even though c.bin does not */
	{
		struct artifact_list empty = {0};
		struct run_outcome e = o;

		e.artifacts = &empty;
		none = response_build_fitted(&e, 1 << 20, NULL);
	}
	/* a.bin's base64 (4000) and b.txt, the omitted entries take room too; not c.bin */
	max = strlen(none) + 4500 + 300;
	s = response_build_fitted(&o, max, NULL);
	root = cJSON_Parse(s);
	assert_true(strlen(s) <= max);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "artifacts"), "a.bin"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "artifacts"), "b.txt"));
	assert_string_equal(omitted_reason(root, "c.bin"), "response_too_large");
	cJSON_Delete(root);
	free(s);
	free(none);
	release(&o);
}

static void test_output_cut_last(void **state)
{
	static char out[20000];
	struct run_outcome o;
	char *s;
	cJSON *root;

	(void)state;
	memset(out, 'x', sizeof(out) - 1);
	o = outcome(out);
	s = response_build_fitted(&o, 8000, NULL);
	root = cJSON_Parse(s);
	assert_non_null(root);
	assert_true(strlen(s) <= 8000);
	assert_null(cJSON_GetObjectItem(root, "artifacts")->child);
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "truncated"), "stdout")));
	assert_true(strlen(cJSON_GetObjectItem(root, "stdout")->valuestring) > 1000);
	assert_string_equal(omitted_reason(root, "a.bin"), "response_too_large");
	cJSON_Delete(root);
	free(s);
	release(&o);
}

/*
 * The output is cut to what the budget leaves, not to half: 7 parts of
 * output into a budget of 6 keep close to 6, however the budget compares.
 */
static void test_output_fills_the_budget(void **state)
{
	static char out[70000];
	struct run_outcome o;
	char *s;
	cJSON *root;
	size_t kept;

	(void)state;
	memset(out, 'y', sizeof(out) - 1);
	o = outcome(out);
	o.artifacts = NULL;
	s = response_build_fitted(&o, 60000, NULL);
	assert_non_null(s);
	assert_true(strlen(s) <= 60000);
	root = cJSON_Parse(s);
	kept = strlen(cJSON_GetObjectItem(root, "stdout")->valuestring);
	if (kept < 60000 - 1000)
		fail_msg("kept %zu bytes of output in an answer of %zu of 60000", kept, strlen(s));
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "truncated"), "stdout")));
	cJSON_Delete(root);
	free(s);
	release(&o);
}

/* Measured as a proxy body, quotes and backslashes count twice. */
static void test_proxy_cost(void **state)
{
	static char out[6000];
	struct run_outcome o;
	char *s, *plain;
	cJSON *a, *b;

	(void)state;
	memset(out, '"', sizeof(out) - 1);
	o = outcome(out);
	s = response_build_fitted(&o, 15000, lambda_proxy_cost);
	plain = response_build_fitted(&o, 15000, NULL);
	assert_non_null(s);
	assert_true(lambda_proxy_cost(s, strlen(s)) <= 15000);
	assert_true(strlen(plain) <= 15000);
	/* Each '"' is 2 bytes in the JSON and 4 in a proxy body: only plain keeps it all. */
	a = cJSON_Parse(s);
	b = cJSON_Parse(plain);
	assert_int_equal(strlen(cJSON_GetObjectItem(b, "stdout")->valuestring), 5999);
	assert_true(strlen(cJSON_GetObjectItem(a, "stdout")->valuestring) < 3500);
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(s);
	free(plain);
	release(&o);
}

static void test_impossible_budget(void **state)
{
	struct run_outcome o = outcome("hi");

	(void)state;
	assert_null(response_build_fitted(&o, 50, NULL));
	release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fits_unchanged),
	    cmocka_unit_test(test_last_artifacts_go_first),
	    cmocka_unit_test(test_smaller_later_artifact_still_fits),
	    cmocka_unit_test(test_output_cut_last),
	    cmocka_unit_test(test_output_fills_the_budget),
	    cmocka_unit_test(test_proxy_cost),
	    cmocka_unit_test(test_impossible_budget),
	};

	fill();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
