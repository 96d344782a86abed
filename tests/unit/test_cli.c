/*
 * Unit tests for pkg/api/cli: explicit subcommands win, plain runbox
 * follows the platform's variables, and malformed ones are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contract/config.h"
#include "api/cli.h"

static struct runbox_config cfg_with(const char *api, const char *port)
{
	struct runbox_config c;

	config_defaults(&c);
	snprintf(c.lambda_api, sizeof(c.lambda_api), "%s", api ? api : "");
	snprintf(c.handler_port, sizeof(c.handler_port), "%s", port ? port : "");
	return c;
}

static void test_auto_stdin(void **state)
{
	struct runbox_config c = cfg_with(NULL, NULL);
	struct frontdoor f;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(cli_choose(NULL, &c, &f, &err), 0);
	assert_int_equal(f.kind, FRONTDOOR_STDIN);
	assert_true(f.automatic);
}

static void test_auto_lambda_wins_over_port(void **state)
{
	struct runbox_config c = cfg_with("127.0.0.1:9001", "7071");
	struct frontdoor f;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(cli_choose(NULL, &c, &f, &err), 0);
	assert_int_equal(f.kind, FRONTDOOR_LAMBDA);
	assert_string_equal(f.lambda_api, "127.0.0.1:9001");
	assert_string_equal(cli_door_name(f.kind), "lambda");
}

static void test_auto_serve(void **state)
{
	struct runbox_config c = cfg_with(NULL, "7071");
	struct frontdoor f;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(cli_choose(NULL, &c, &f, &err), 0);
	assert_int_equal(f.kind, FRONTDOOR_SERVE);
	assert_int_equal(f.port, 7071);
}

static void test_explicit_overrides(void **state)
{
	static const struct {
		const char *arg;
		enum frontdoor_kind kind;
	} cases[] = {
	    {"stdin", FRONTDOOR_STDIN}, {"mcp", FRONTDOOR_MCP},	    {"serve", FRONTDOOR_SERVE},
	    {"exec", FRONTDOOR_EXEC},	{"check", FRONTDOOR_CHECK}, {"lambda", FRONTDOOR_LAMBDA},
	    {"bake", FRONTDOOR_BAKE},
	};
	struct runbox_config c = cfg_with("localhost:9001", "7071");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frontdoor f;
		struct rb_err err = {0};

		assert_int_equal(cli_choose(cases[i].arg, &c, &f, &err), 0);
		assert_int_equal(f.kind, cases[i].kind);
		assert_false(f.automatic);
	}
}

static void test_unknown_command(void **state)
{
	struct runbox_config c = cfg_with(NULL, NULL);
	struct frontdoor f;
	struct rb_err err = {0};

	(void)state;
	assert_true(cli_choose("lambada", &c, &f, &err) < 0);
	assert_int_equal(err.fault, RB_FAULT_REQUEST);
	assert_string_equal(err.code, "unknown_command");
	assert_non_null(strstr(err.msg, "'lambada'"));
}

static void test_lambda_needs_api(void **state)
{
	struct runbox_config c = cfg_with(NULL, NULL);
	struct frontdoor f;
	struct rb_err err = {0};

	(void)state;
	assert_true(cli_choose("lambda", &c, &f, &err) < 0);
	assert_string_equal(err.code, "invalid_config");
	assert_string_equal(err.field, "AWS_LAMBDA_RUNTIME_API");
}

static void test_bad_api_addresses(void **state)
{
	static const char *const bad[] = {
	    "127.0.0.1",	   "127.0.0.1:",   ":9001",	    "127.0.0.1:0",
	    "127.0.0.1:65536",	   "host/path:80", "user@host:80",  "a b:80",
	    "127.0.0.1:80/x",	   "[]:80",	   "127.0.0.1:+80", "h:80?q",
	    "http://127.0.0.1:80",
	};
	static const char *const good[] = {"127.0.0.1:9001", "localhost:1", "[::1]:65535",
					   "runtime.local:8080"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rb_err err = {0};

		if (cli_check_lambda_api(bad[i], &err) >= 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(err.code, "invalid_config");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rb_err err = {0};

		if (cli_check_lambda_api(good[i], &err) < 0)
			fail_msg("refused '%s': %s", good[i], err.msg);
	}
}

static void test_bad_ports(void **state)
{
	static const char *const bad[] = {"0", "65536", "-1", "80a", " 80", "", "123456", "8.0"};
	unsigned port = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rb_err err = {0};

		if (cli_parse_port(bad[i], "P", &port, &err) >= 0)
			fail_msg("accepted port '%s'", bad[i]);
	}
	{
		struct runbox_config c = cfg_with(NULL, "http");
		struct frontdoor f;
		struct rb_err err = {0};

		assert_true(cli_choose(NULL, &c, &f, &err) < 0);
		assert_string_equal(err.field, "FUNCTIONS_CUSTOMHANDLER_PORT");
	}
}

/* The platform variables come through config_from_env, before the wipe. */
static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "AWS_LAMBDA_RUNTIME_API") == 0)
		return "127.0.0.1:9001";
	if (strcmp(name, "FUNCTIONS_CUSTOMHANDLER_PORT") == 0)
		return "7071";
	return NULL;
}

static void test_config_reads_platform(void **state)
{
	struct runbox_config c;
	struct rb_err err = {0};

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_from_env(&c, fake_getenv, &err), 0);
	assert_string_equal(c.lambda_api, "127.0.0.1:9001");
	assert_string_equal(c.handler_port, "7071");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_stdin),
	    cmocka_unit_test(test_auto_lambda_wins_over_port),
	    cmocka_unit_test(test_auto_serve),
	    cmocka_unit_test(test_explicit_overrides),
	    cmocka_unit_test(test_unknown_command),
	    cmocka_unit_test(test_lambda_needs_api),
	    cmocka_unit_test(test_bad_api_addresses),
	    cmocka_unit_test(test_bad_ports),
	    cmocka_unit_test(test_config_reads_platform),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
