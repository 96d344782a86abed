/*
 * Unit tests for pkg/base/err: a fork or clone that fails because a process
 * limit of the environment is used up is capacity_exhausted (a 503 the
 * client may retry, exit status 75), any other failure an internal fault.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"

static void test_fork_eagain_is_capacity(void **state)
{
	struct rb_err e;

	(void)state;
	assert_int_equal(rb_fail_fork(&e, EAGAIN, "fork the program"), -EAGAIN);
	assert_int_equal(e.fault, RB_FAULT_UNAVAILABLE);
	assert_string_equal(e.code, "capacity_exhausted");
	assert_int_equal(rb_fault_http_status(e.fault), 503);
	assert_int_equal(rb_exit_status(-EAGAIN, &e), RUNBOX_EXIT_TEMPFAIL);
	assert_int_equal(RUNBOX_EXIT_TEMPFAIL, 75);
	/* It says what failed, and what an operator can do. */
	assert_non_null(strstr(e.msg, "fork the program"));
	assert_non_null(strstr(e.msg, "RUNBOX_CONCURRENCY"));
}

static void test_other_fork_failures_are_internal(void **state)
{
	struct rb_err e;

	(void)state;
	assert_int_equal(rb_fail_fork(&e, ENOMEM, "fork the program"), -ENOMEM);
	assert_int_equal(e.fault, RB_FAULT_INTERNAL);
	assert_string_equal(e.code, "internal_error");
	assert_int_equal(rb_exit_status(-ENOMEM, &e), RUNBOX_EXIT_FAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fork_eagain_is_capacity),
	    cmocka_unit_test(test_other_fork_failures_are_internal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
