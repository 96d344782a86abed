/*
 * Unit tests for pkg/run/nodeargv (the argv of a Node.js program, its
 * module format, its heap size, its prelude) and node_support_status of
 * pkg/run/node (Node.js's release schedule).  Pure: no node is run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "contract/config.h"
#include "contract/request.h"
#include "run/node.h"
#include "run/nodeargv.h"

#define MiB ((size_t)1024 * 1024)

static struct runbox_config cfg;

static void parse(const char *body, struct request *req)
{
	struct rb_err err = {0};

	config_defaults(&cfg);
	if (request_parse(body, strlen(body), &cfg.limits, req, &err) < 0)
		fail_msg("parse %s: %s", body, err.msg);
}

static size_t build(const struct request *req, bool links, char **argv, size_t max,
		    struct nodeargv_bufs *b)
{
	struct nodeargv_in in = {
	    .node = "/usr/bin/node",
	    .esbuild = "/usr/bin/esbuild",
	    .req = req,
	    .mem_bytes = 1024 * MiB,
	    .keep_symlinks = links,
	    .prelude = "/w/.home/.runbox-prelude.cjs",
	};

	return nodeargv_build(&in, b, argv, max);
}

static void test_javascript_argv(void **state)
{
	struct nodeargv_bufs b;
	struct request req;
	char *argv[40];
	size_t n;

	(void)state;
	parse("{\"script\":\"1\",\"language\":\"javascript\",\"args\":[\"a\",\"-b\"]}", &req);
	n = build(&req, false, argv, 40, &b);
	assert_int_equal(n, 7);
	assert_string_equal(argv[0], "/usr/bin/node");
	assert_string_equal(argv[1], "--max-old-space-size=768");
	assert_string_equal(argv[2], "-r");
	assert_string_equal(argv[3], "/w/.home/.runbox-prelude.cjs");
	assert_string_equal(argv[4], "./main.cjs");
	assert_string_equal(argv[5], "a");
	assert_string_equal(argv[6], "-b");
	assert_null(argv[7]);
	request_free(&req);
	/* A script with ES module syntax runs as an ES module. */
	parse("{\"script\":\"const m = await import('x')\",\"language\":\"javascript\"}", &req);
	n = build(&req, false, argv, 40, &b);
	assert_string_equal(argv[4], "./main.mjs");
	request_free(&req);
	/* Linked packages: node keeps their link paths. */
	parse("{\"files\":{\"-x.cjs\":\"1\"},\"entry_point\":\"-x.cjs\"}", &req);
	n = build(&req, true, argv, 40, &b);
	assert_int_equal(n, 7);
	assert_string_equal(argv[2], "--preserve-symlinks");
	assert_string_equal(argv[3], "--preserve-symlinks-main");
	assert_string_equal(argv[6], "./-x.cjs");
	request_free(&req);
}

static void test_typescript_argv(void **state)
{
	struct nodeargv_bufs b;
	struct request req;
	char *argv[40];
	size_t n;

	(void)state;
	parse("{\"files\":{\"src/app.ts\":\"1\"},\"entry_point\":\"src/app.ts\",\"args\":[\"z\"]}",
	      &req);
	n = build(&req, false, argv, 40, &b);
	assert_int_equal(n, 15);
	assert_string_equal(argv[0], "/bin/sh");
	assert_string_equal(argv[1], "-c");
	/* The paths are positional parameters, never part of the script. */
	assert_null(strstr(argv[2], "app.ts"));
	assert_non_null(strstr(argv[2], "--sourcemap=inline"));
	assert_string_equal(argv[4], "/usr/bin/esbuild");
	assert_string_equal(argv[5], "./src/app.ts");
	assert_string_equal(argv[6], "./src/.app.ts.runbox.cjs");
	assert_string_equal(argv[7], "cjs");
	assert_string_equal(argv[8], "/usr/bin/node");
	assert_string_equal(argv[10], "--enable-source-maps");
	assert_string_equal(argv[13], "./src/.app.ts.runbox.cjs");
	assert_string_equal(argv[14], "z");
	request_free(&req);
	parse("{\"script\":\"1\",\"language\":\"typescript\"}", &req);
	build(&req, false, argv, 40, &b);
	assert_string_equal(argv[6], "./.main.ts.runbox.mjs");
	assert_string_equal(argv[7], "esm");
	request_free(&req);
}

static void expect_format(const char *files, const char *entry, enum nodeargv_format want)
{
	char body[600];
	struct request req;

	snprintf(body, sizeof(body), "{\"files\":{%s},\"entry_point\":\"%s\"}", files, entry);
	parse(body, &req);
	if (nodeargv_ts_format(&req) != want)
		fail_msg("%s: format %d, want %d", body, nodeargv_ts_format(&req), want);
	request_free(&req);
}

static void test_typescript_format(void **state)
{
	(void)state;
	expect_format("\"a.ts\":\"\"", "a.ts", NODEARGV_CJS);
	expect_format("\"a.mts\":\"\"", "a.mts", NODEARGV_ESM);
	expect_format("\"a.cts\":\"\",\"package.json\":\"{\\\"type\\\":\\\"module\\\"}\"", "a.cts",
		      NODEARGV_CJS);
	expect_format("\"a.ts\":\"\",\"package.json\":\"{\\\"type\\\":\\\"module\\\"}\"", "a.ts",
		      NODEARGV_ESM);
	/* The nearest package.json wins; one that does not parse says CommonJS. */
	expect_format("\"s/a.ts\":\"\",\"s/package.json\":\"{}\","
		      "\"package.json\":\"{\\\"type\\\":\\\"module\\\"}\"",
		      "s/a.ts", NODEARGV_CJS);
	expect_format("\"s/t/a.ts\":\"\",\"package.json\":\"{\\\"type\\\":\\\"module\\\"}\"",
		      "s/t/a.ts", NODEARGV_ESM);
	expect_format("\"a.ts\":\"\",\"package.json\":\"not json\"", "a.ts", NODEARGV_CJS);
}

static void test_heap_and_prelude(void **state)
{
	char buf[NODEARGV_PRELUDE_MAX];
	size_t n;

	(void)state;
	assert_int_equal(nodeargv_heap_mib(1024 * MiB), 768);
	assert_int_equal(nodeargv_heap_mib(256 * MiB), 192);
	assert_int_equal(nodeargv_heap_mib(16 * MiB), 16);
	n = nodeargv_prelude(false, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "setBlocking(true)"));
	assert_null(strstr(buf, "createRequire"));
	n = nodeargv_prelude(true, buf, sizeof(buf));
	assert_true(n < NODEARGV_PRELUDE_MAX - 1);
	assert_non_null(strstr(buf, "createRequire"));
	assert_non_null(strstr(buf, "isMainThread"));
}

static time_t day(int y, int m, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};

	return timegm(&tm);
}

static void test_support_status(void **state)
{
	const char *end;

	(void)state;
	assert_string_equal(node_support_status("v18.20.4", day(2025, 4, 29), &end),
			    "maintenance LTS");
	assert_string_equal(end, "2025-04-30");
	assert_string_equal(node_support_status("v18.20.4", day(2025, 4, 30), &end), "end of life");
	assert_string_equal(node_support_status("v20.11.1", day(2024, 1, 1), &end), "active LTS");
	assert_string_equal(node_support_status("v22.0.0", day(2024, 5, 1), &end), "current");
	assert_string_equal(node_support_status("v23.1.0", day(2025, 5, 1), &end), "maintenance");
	assert_string_equal(node_support_status("v99.0.0", day(2025, 5, 1), &end), "unknown");
	assert_string_equal(end, "");
	assert_string_equal(node_support_status("", day(2025, 5, 1), &end), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_javascript_argv),   cmocka_unit_test(test_typescript_argv),
	    cmocka_unit_test(test_typescript_format), cmocka_unit_test(test_heap_and_prelude),
	    cmocka_unit_test(test_support_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
