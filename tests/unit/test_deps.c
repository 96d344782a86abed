/*
 * Unit tests for pkg/deps/deps' cache listing, the call the other front doors
 * (GET /api/info, MCP's list_packages) make, over index.json files written
 * into a temporary directory; and deps_read_dirs().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deps/deps.h"

static char dir[64];

static void write_index(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void unlink_index(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/index.json", dir);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/runbox-unit-deps-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/index.json", dir);
	unlink(path);
	return rmdir(dir);
}

static void test_list(void **state)
{
	cJSON *a = NULL;
	struct rb_err err;
	char *s;

	(void)state;
	write_index("{\"format\": 1, \"python\": \"/usr/bin/python3\", \"preinstalled\": "
		    "{\"numpy\": \"1.24.2\"}, \"packages\": ["
		    "{\"name\": \"alpha\", \"version\": \"1.0\", \"tree\": \"alpha-1.0\", "
		    "\"wheel\": \"alpha-1.0-py3-none-any.whl\", \"requires\": [\"beta\"], "
		    "\"extras\": {\"fast\": [\"gamma\"]}},"
		    "{\"name\": \"beta\", \"version\": \"2.0rc1\", \"tree\": \"beta-2.0rc1\", "
		    "\"wheel\": \"beta-2.0rc1-py3-none-any.whl\", \"requires\": [], "
		    "\"extras\": {}}]}");
	assert_int_equal(deps_cache_list(dir, &a, &err), 0);
	s = cJSON_PrintUnformatted(a);
	assert_string_equal(s, "[{\"name\":\"alpha\",\"version\":\"1.0\"},"
			       "{\"name\":\"beta\",\"version\":\"2.0rc1\"}]");
	free(s);
	cJSON_Delete(a);
}

static void test_list_refusals(void **state)
{
	static const char *const bad[] = {
	    "not json",
	    "{\"format\": 2, \"python\": \"/p\", \"preinstalled\": {}, \"packages\": []}",
	    "{\"format\": 1, \"python\": \"/p\", \"preinstalled\": {}, \"packages\": [{}]}",
	    "{\"format\": 1, \"python\": \"/p\", \"preinstalled\": {}, \"packages\": "
	    "[{\"name\": \"a\", \"version\": \"1\", \"tree\": \"../x\", \"wheel\": \"w\", "
	    "\"requires\": [], \"extras\": {}}]}",
	    "{\"format\": 1, \"python\": \"/p\", \"preinstalled\": {}, \"packages\": "
	    "[{\"name\": \"a\", \"version\": \"not a version\", \"tree\": \"t\", \"wheel\": "
	    "\"w\", \"requires\": [], \"extras\": {}}]}",
	};
	cJSON *a = NULL;
	struct rb_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_index(bad[i]);
		if (deps_cache_list(dir, &a, &err) != -EINVAL)
			fail_msg("index %zu was accepted", i);
		assert_string_equal(err.code, "invalid_cache");
		assert_int_equal(err.fault, RB_FAULT_INTERNAL);
	}
	assert_int_equal(deps_cache_list("/nonexistent-runbox-cache", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "the directory does not exist"));
	/* A directory without an index says that. */
	unlink_index();
	assert_int_equal(deps_cache_list(dir, &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "has no index.json"));
}

static void test_read_dirs(void **state)
{
	struct deps_used used[1] = {{.name = "a", .version = "1", .path = "/c/site/a-1"}};
	struct deps_result r = {.used = used, .n = 1, .uses_lazy = true};
	struct deps_config cfg = {
	    .python = "/usr/bin/python3", .cache_dir = "/c", .state_dir = "/s", .state_fd = -1};
	char bufs[3][600];

	(void)state;
	assert_int_equal(deps_read_dirs(&cfg, &r, bufs, 3), 2);
	assert_string_equal(bufs[0], "/c/site");
	assert_string_equal(bufs[1], "/s/site");
	r.uses_index = true; /* a tree fetched from a package index */
	assert_int_equal(deps_read_dirs(&cfg, &r, bufs, 3), 3);
	assert_string_equal(bufs[2], "/s/index/site");
	r.uses_lazy = r.uses_index = false;
	assert_int_equal(deps_read_dirs(&cfg, &r, bufs, 3), 1);
	r.n = 0;
	assert_int_equal(deps_read_dirs(&cfg, &r, bufs, 3), 0);
	cfg.cache_dir = "";
	r.n = 1;
	assert_int_equal(deps_read_dirs(&cfg, &r, bufs, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_list_refusals),
	    cmocka_unit_test(test_read_dirs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
