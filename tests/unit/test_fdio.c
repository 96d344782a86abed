/*
 * Unit tests for pkg/base/fdio: whole transfers through a pipe that only ever
 * moves part of a buffer at a time, under a signal storm that interrupts
 * the calls (EINTR), through a non-blocking pipe (EAGAIN), and the errors a caller must see (EOF, a reader gone,
 * a bad fd).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fdio.h"

#define BIG (4u << 20) /* 64 pipe buffers' worth: the writer must block and resume */

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 12));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM every 200 us, without SA_RESTART: reads and writes fail with EINTR. */
static void storm(bool on)
{
	struct sigaction sa = {.sa_handler = on ? on_alarm : SIG_IGN};
	struct itimerval it = {{0, on ? 200 : 0}, {0, on ? 200 : 0}};

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* The reader: takes BIG bytes in odd-sized pieces and checks every byte. */
static int reader(int fd)
{
	unsigned char *buf = malloc(BIG);
	size_t got = 0;

	storm(true);
	while (got < BIG) {
		size_t want = BIG - got < 4093 ? BIG - got : 4093;

		if (!buf || fd_read_exact(fd, buf + got, want) < 0)
			return 1;
		got += want;
	}
	for (size_t i = 0; i < BIG; i++)
		if (buf[i] != pattern(i))
			return 2;
	return 0;
}

/*
 * BIG bytes through a pipe made with @flags to a reader child that starts
 * after @delay_us; the writer under the signal storm when @with_storm.
 */
static void transfer(int flags, unsigned delay_us, bool with_storm)
{
	unsigned char *buf = malloc(BIG);
	int p[2], st;
	pid_t pid;

	assert_non_null(buf);
	for (size_t i = 0; i < BIG; i++)
		buf[i] = pattern(i);
	assert_int_equal(pipe2(p, flags), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		usleep(delay_us);
		_exit(reader(p[0]));
	}
	close(p[0]);
	storm(with_storm);
	assert_int_equal(fd_write_all(p[1], buf, BIG), 0);
	storm(false);
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	free(buf);
}

static void test_whole_transfer_under_signals(void **state)
{
	(void)state;
	transfer(0, 0, true);
}

/* A non-blocking pipe (both ends) and a reader that starts late: EAGAIN waits, not fails. */
static void test_whole_transfer_non_blocking(void **state)
{
	(void)state;
	transfer(O_NONBLOCK, 50000, false);
}

static void test_read_exact_end_of_file(void **state)
{
	char buf[8];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fd_write_all(p[1], "abc", 3), 0);
	close(p[1]);
	assert_int_equal(fd_read_exact(p[0], buf, 5), -EPIPE);
	assert_int_equal(errno, EPIPE);
	close(p[0]);
}

static void test_write_reader_gone(void **state)
{
	int p[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(fd_write_all(p[1], "x", 1), -EPIPE);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

static void test_bad_fd(void **state)
{
	char c = 0;

	(void)state;
	assert_int_equal(fd_write_all(-1, &c, 1), -EBADF);
	assert_int_equal(fd_read_exact(-1, &c, 1), -EBADF);
	/* Nothing to move is done at once, whatever the fd. */
	assert_int_equal(fd_write_all(-1, &c, 0), 0);
	assert_int_equal(fd_read_exact(-1, &c, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_transfer_under_signals),
	    cmocka_unit_test(test_whole_transfer_non_blocking),
	    cmocka_unit_test(test_read_exact_end_of_file),
	    cmocka_unit_test(test_write_reader_gone),
	    cmocka_unit_test(test_bad_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
