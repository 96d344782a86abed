/*
 * Unit tests for pkg/state's uid slots: a slot is held while its lock fd is
 * open, and the mark a holder puts on it before making a workspace on the
 * host outlives a holder that dies, so that the next one knows to reap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

static int open_state(char *dir)
{
	struct rb_err err;
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(rmdir(dir), 0); /* state_dir_open makes it, mode 0700 */
	assert_int_equal(state_dir_open(dir, &fd, &err), 0);
	return fd;
}

static void remove_state(const char *dir)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_slot_held_while_open(void **state)
{
	char dir[] = "/tmp/rbstate-XXXXXX";
	int dfd = open_state(dir), a, b;
	unsigned slot;
	struct rb_err err;

	(void)state;
	assert_int_equal(state_slot_claim(dfd, 1, &slot, &a, &err), 0);
	assert_int_equal(slot, 0);
	assert_int_not_equal(state_slot_claim(dfd, 1, &slot, &b, &err), 0);
	close(a);
	assert_int_equal(state_slot_claim(dfd, 1, &slot, &b, &err), 0);
	close(b);
	close(dfd);
	remove_state(dir);
}

static void test_mark_outlives_its_holder(void **state)
{
	char dir[] = "/tmp/rbstate-XXXXXX";
	int dfd = open_state(dir), fd;
	unsigned slot;
	struct rb_err err;

	(void)state;
	assert_int_equal(state_slot_claim(dfd, 1, &slot, &fd, &err), 0);
	assert_false(state_slot_marked(fd)); /* a new slot has nothing to reap */
	assert_int_equal(state_slot_mark(fd), 0);
	assert_true(state_slot_marked(fd));
	close(fd); /* the holder dies with its mark set */
	assert_int_equal(state_slot_claim(dfd, 1, &slot, &fd, &err), 0);
	assert_true(state_slot_marked(fd));
	state_slot_unmark(fd); /* reaped */
	assert_false(state_slot_marked(fd));
	close(fd);
	assert_int_equal(state_slot_claim(dfd, 1, &slot, &fd, &err), 0);
	assert_false(state_slot_marked(fd));
	close(fd);
	close(dfd);
	remove_state(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_held_while_open),
		cmocka_unit_test(test_mark_outlives_its_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
