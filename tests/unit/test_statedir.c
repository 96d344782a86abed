/*
 * Unit tests for pkg/sandbox/statedir's uid slots: a slot is held while its lock fd is
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

#include "sandbox/statedir.h"

static int open_state(char *dir)
{
	struct rb_err err;
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(rmdir(dir), 0); /* statedir_open makes it, mode 0700 */
	assert_int_equal(statedir_open(dir, &fd, &err), 0);
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
	assert_int_equal(statedir_slot_claim(dfd, 1, &slot, &a, &err), 0);
	assert_int_equal(slot, 0);
	assert_int_not_equal(statedir_slot_claim(dfd, 1, &slot, &b, &err), 0);
	close(a);
	assert_int_equal(statedir_slot_claim(dfd, 1, &slot, &b, &err), 0);
	close(b);
	close(dfd);
	remove_state(dir);
}

/* The lowest free slot, so that a quiet machine keeps reusing known-clean ones. */
static void test_lowest_free_slot_first(void **state)
{
	char dir[] = "/tmp/rbstate-XXXXXX";
	int dfd = open_state(dir), fd[3];
	unsigned slot;
	struct rb_err err;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(statedir_slot_claim(dfd, 256, &slot, &fd[i], &err), 0);
		assert_int_equal(slot, i);
	}
	close(fd[1]);
	assert_int_equal(statedir_slot_claim(dfd, 256, &slot, &fd[1], &err), 0);
	assert_int_equal(slot, 1);
	for (unsigned i = 0; i < 3; i++)
		close(fd[i]);
	assert_int_equal(statedir_slot_claim(dfd, 256, &slot, &fd[0], &err), 0);
	assert_int_equal(slot, 0);
	close(fd[0]);
	close(dfd);
	remove_state(dir);
}

static void test_mark_outlives_its_holder(void **state)
{
	char dir[] = "/tmp/rbstate-XXXXXX", where[64];
	int dfd = open_state(dir), fd;
	unsigned slot;
	struct rb_err err;

	(void)state;
	assert_int_equal(statedir_slot_claim(dfd, 1, &slot, &fd, &err), 0);
	/* Never written: a new slot, or one of a runbox from before marks. */
	assert_int_equal(statedir_slot_state(fd, where, sizeof(where)), SLOT_UNKNOWN);
	statedir_slot_unmark(fd);
	assert_int_equal(statedir_slot_state(fd, where, sizeof(where)), SLOT_CLEAN);
	assert_int_equal(statedir_slot_mark(fd, "/srv/work"), 0);
	close(fd); /* the holder dies with its mark set */
	assert_int_equal(statedir_slot_claim(dfd, 1, &slot, &fd, &err), 0);
	assert_int_equal(statedir_slot_state(fd, where, sizeof(where)), SLOT_MARKED);
	assert_string_equal(where, "/srv/work");
	statedir_slot_unmark(fd); /* reaped */
	assert_int_equal(statedir_slot_state(fd, where, sizeof(where)), SLOT_CLEAN);
	/* A shorter mark after a longer one leaves no tail of the old. */
	assert_int_equal(statedir_slot_mark(fd, "/a/much/longer/work/dir"), 0);
	assert_int_equal(statedir_slot_mark(fd, "/tmp"), 0);
	assert_int_equal(statedir_slot_state(fd, where, sizeof(where)), SLOT_MARKED);
	assert_string_equal(where, "/tmp");
	assert_int_not_equal(statedir_slot_mark(fd, "relative"), 0);
	close(fd);
	close(dfd);
	remove_state(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_held_while_open),
		cmocka_unit_test(test_lowest_free_slot_first),
		cmocka_unit_test(test_mark_outlives_its_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
