/*
 * Unit tests for pkg/api/help: every subcommand has a text of its own that
 * opens with its synopsis and ends with an example, and --help after a
 * subcommand counts only before "--".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/cli.h"
#include "api/help.h"

static void test_each_command_has_its_own(void **state)
{
	static const enum frontdoor_kind kinds[] = {
	    FRONTDOOR_STDIN, FRONTDOOR_LAMBDA, FRONTDOOR_SERVE, FRONTDOOR_MCP,
	    FRONTDOOR_EXEC,  FRONTDOOR_CHECK,  FRONTDOOR_BAKE,
	};
	char want[64];
	(void)state;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *t = help_for(kinds[i]);

		snprintf(want, sizeof(want), "usage: runbox %s", cli_door_name(kinds[i]));
		if (strncmp(t, want, strlen(want)) != 0)
			fail_msg("the help of %s opens with '%.40s'", want, t);
		assert_non_null(strstr(t, "\nExample"));
		for (size_t j = 0; j < i; j++)
			assert_ptr_not_equal(t, help_for(kinds[j]));
	}
	assert_ptr_equal(help_for((enum frontdoor_kind)99), help_usage());
}

static void test_asked(void **state)
{
	char *with[] = {"--port", "1", "-h"};
	char *after[] = {"x.py", "--", "--help"};
	char *none[] = {"x.py", "--helpx"};
	(void)state;

	assert_true(help_asked(3, with));
	assert_false(help_asked(3, after));
	assert_false(help_asked(2, none));
	assert_false(help_asked(0, NULL));
	assert_true(help_is_flag("--help") && help_is_flag("-h") && !help_is_flag("help"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_command_has_its_own),
	    cmocka_unit_test(test_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
