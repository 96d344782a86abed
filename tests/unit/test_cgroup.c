/*
 * Unit tests for pkg/sandbox/cgroup, against the host's real hierarchies
 * (root only; each test says why it is skipped elsewhere): a run's group
 * gets its limits, a process joins it, the memory limit's kills are
 * counted, the process limit binds, what is left in a group is killed when
 * it is removed, and a start sweeps the groups of a dead runbox but never
 * those another live one holds.  On a cgroup v2 hierarchy (even one with
 * no controllers to hand down) a child is created straight into a group,
 * as the run's first process is, on a copy of the stack and on one of its
 * own in shared memory.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run/child.h"
#include "sandbox/cgroup.h"

static struct cgroup_host host;

static int setup(void **state)
{
	(void)state;
	if (geteuid() == 0)
		cgroup_host_open(&host, CGROUP_SERVE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cgroup_host_close(&host);
	return 0;
}

static bool need_groups(void)
{
	if (geteuid() != 0) {
		print_message("skipped: creating control groups needs root here\n");
		return false;
	}
	if (!host.version) {
		print_message("skipped: no usable control groups: %s\n", host.detail);
		return false;
	}
	return true;
}

/* Whether /proc/@pid/cgroup names @name (pid 0: self). */
static bool in_group(pid_t pid, const char *name)
{
	char path[64], buf[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), pid ? "/proc/%d/cgroup" : "/proc/self/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, name) != NULL;
}

/* Fork a child that joins @run and runs @body; its exit status. */
static int in_child(const struct cgroup_run *run, int (*body)(const struct cgroup_run *run))
{
	struct rb_err err;
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(cgroup_run_join(run, &err) < 0 ? 90 : body(run));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int check_joined(const struct cgroup_run *run)
{
	return in_group(0, run->name) ? 0 : 1;
}

static void test_joins_and_removes(void **state)
{
	struct cgroup_limits l = {.memory_bytes = 64 << 20, .pids = 8};
	struct cgroup_run run;
	struct rb_err err;
	char limit[64];
	int fd;

	(void)state;
	if (!need_groups())
		return;
	assert_int_equal(cgroup_run_create(&host, &l, &run, &err), 0);
	assert_true(cgroup_name_is_ours(run.name));
	fd = openat(run.memory_fd, host.version == 2 ? "memory.max" : "memory.limit_in_bytes",
		    O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, limit, sizeof(limit)) > 0);
	close(fd);
	assert_int_equal(strtoull(limit, NULL, 10), 64 << 20);
	assert_int_equal(in_child(&run, check_joined), 0);
	assert_int_equal(cgroup_run_oom_kills(&run), 0);
	assert_int_equal(cgroup_run_remove(&run), 0);
	assert_int_equal(run.n, 0);
	assert_int_equal(cgroup_run_remove(&run), 0); /* idempotent */
}

/* Touch 256 MiB in a group of 64: the kernel kills, and the group counts it. */
static int hog(const struct cgroup_run *run)
{
	size_t n = 256 << 20;
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)run;
	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	return 0;
}

static void test_memory_limit_kills_and_counts(void **state)
{
	struct cgroup_limits l = {.memory_bytes = 64 << 20};
	struct cgroup_run run;
	struct rb_err err;
	int st;

	(void)state;
	if (!need_groups())
		return;
	assert_int_equal(cgroup_run_create(&host, &l, &run, &err), 0);
	st = in_child(&run, hog);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_true(cgroup_run_oom_kills(&run) >= 1);
	assert_int_equal(cgroup_run_remove(&run), 0);
}

/* With pids.max 4 the fifth process of the group cannot be made. */
static int fork_many(const struct cgroup_run *run)
{
	pid_t kids[8];
	int made = 0, refused = 0;

	(void)run;
	for (int i = 0; i < 8; i++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p > 0)
			kids[made++] = p;
		else
			refused++;
	}
	for (int i = 0; i < made; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return made == 3 && refused == 5 ? 0 : 1;
}

static void test_pids_limit_binds(void **state)
{
	struct cgroup_limits l = {.pids = 4};
	struct cgroup_run run;
	struct rb_err err;
	int st;

	(void)state;
	if (!need_groups())
		return;
	assert_int_equal(cgroup_run_create(&host, &l, &run, &err), 0);
	/* The child itself and 3 more are the group's 4. */
	st = in_child(&run, fork_many);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(cgroup_run_remove(&run), 0);
}

/* A process left in the group (a daemon of the run) is killed when it goes. */
static void test_remove_kills_what_is_left(void **state)
{
	struct cgroup_limits l = {.pids = 8};
	struct cgroup_run run;
	struct rb_err err;
	pid_t pid;

	(void)state;
	if (!need_groups())
		return;
	assert_int_equal(cgroup_run_create(&host, &l, &run, &err), 0);
	pid = fork();
	if (pid == 0) {
		if (cgroup_run_join(&run, &err) < 0)
			_exit(90);
		setsid();
		for (;;)
			pause();
	}
	while (!in_group(pid, run.name))
		usleep(1000);
	assert_int_equal(cgroup_run_remove(&run), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(kill(pid, 0), -1);
}

/* The directory of a group by name in hierarchy @i of the host, or -1. */
static int group_dir(int i, const char *name)
{
	return openat(host.h[i].parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Close this process's hold on @run (its locked directories and join fds). */
static void let_go(struct cgroup_run *run)
{
	for (int i = 0; i < CGROUP_CONTROLLERS; i++) {
		if (run->dir_fd[i] >= 0)
			close(run->dir_fd[i]);
		if (run->join_fd[i] >= 0)
			close(run->join_fd[i]);
		run->dir_fd[i] = run->join_fd[i] = -1;
	}
}

/*
 * A group a dead runbox left (nobody holds its lock) with a process still
 * in it is swept at the next start; a group a live runbox holds is not.
 */
static void test_sweep_takes_only_unheld_groups(void **state)
{
	struct cgroup_run dead, live;
	struct cgroup_host again;
	struct cgroup_limits l = {0};
	struct rb_err err;
	int p[2], ready[2], fd;
	pid_t holder, orphan;
	char c;

	(void)state;
	if (!need_groups())
		return;
	assert_int_equal(cgroup_run_create(&host, &l, &live, &err), 0);
	assert_int_equal(cgroup_run_create(&host, &l, &dead, &err), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(ready), 0);
	/* Another "runbox", alive: it holds @live's locks (the same open directories). */
	holder = fork();
	if (holder == 0) {
		let_go(&dead);
		close(ready[0]);
		close(ready[1]);
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	/* What a dead runbox's run left: a process in @dead, holding nothing. */
	orphan = fork();
	if (orphan == 0) {
		if (cgroup_run_join(&dead, &err) < 0)
			_exit(90);
		let_go(&dead);
		let_go(&live);
		close(ready[0]);
		close(ready[1]); /* in the group, holding nothing */
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 0);
	close(ready[0]);
	assert_true(in_group(orphan, dead.name));
	let_go(&dead);
	let_go(&live);
	cgroup_host_open(&again, CGROUP_SERVE);
	assert_true(again.swept >= 1);
	assert_int_equal(waitpid(orphan, NULL, 0), orphan);
	for (int i = 0; i < host.n; i++) {
		assert_int_equal(group_dir(i, dead.name), -1);
		fd = group_dir(i, live.name);
		assert_true(fd >= 0);
		close(fd);
	}
	cgroup_host_close(&again);
	/* The holder ends: now @live is swept too. */
	close(p[1]);
	assert_int_equal(waitpid(holder, NULL, 0), holder);
	cgroup_host_open(&again, CGROUP_SERVE);
	for (int i = 0; i < host.n; i++)
		assert_int_equal(group_dir(i, live.name), -1);
	cgroup_host_close(&again);
}

/* ---- cgroup v2: a child made in its group (clone3 CLONE_INTO_CGROUP) ---- */

static struct cgroup_host v2;

/* A v2 "host" on the unified hierarchy as it is, controllers or not. */
static bool open_v2(void)
{
	static struct cgroup_layout lay;
	char pc[4096], *mi = malloc(1 << 20);
	int fd = open("/proc/self/cgroup", O_RDONLY), m = open("/proc/self/mountinfo", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, pc, sizeof(pc) - 1) : -1, k = 0, r;

	pc[n > 0 ? n : 0] = '\0';
	while (m >= 0 && mi && (r = read(m, mi + k, (1 << 20) - 1 - (size_t)k)) > 0)
		k += r;
	if (mi)
		mi[k] = '\0';
	if (fd >= 0)
		close(fd);
	if (m >= 0)
		close(m);
	memset(&lay, 0, sizeof(lay));
	if (mi)
		cgroup_layout_find(pc, mi, &lay);
	free(mi);
	memset(&v2, 0, sizeof(v2));
	v2.self_fd = -1;
	if (geteuid() != 0 || !lay.v2[0]) {
		print_message(
		    "skipped: needs root and a cgroup v2 hierarchy showing this process\n");
		return false;
	}
	v2.h[0].parent_fd = open(lay.v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	v2.n = 1;
	v2.version = 2;
	v2.clone_into = true;
	return v2.h[0].parent_fd >= 0;
}

static const struct cgroup_run *target;
static volatile int shared_answer = -1;

static int report_group(void *arg)
{
	(void)arg;
	return in_group(0, target->name) ? 0 : 1;
}

/*
 * On a stack of its own, sharing our memory: no instrumented call (the
 * sanitizers cannot follow the switch); the answer through our memory.
 */
__attribute__((no_sanitize("address", "undefined"))) static int report_shared(void *arg)
{
	static char buf[4096];
	const char *want = arg;
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/cgroup", O_RDONLY);
	long n = fd >= 0 ? syscall(SYS_read, fd, buf, sizeof(buf) - 1) : -1;

	shared_answer = 1;
	for (long i = 0; n > 0 && i < n; i++) {
		long j = 0;

		while (want[j] && i + j < n && buf[i + j] == want[j])
			j++;
		if (!want[j]) {
			shared_answer = 0;
			break;
		}
	}
	return 0;
}

static void test_v2_child_created_in_group(void **state)
{
	struct cgroup_limits none = {0};
	struct cgroup_run run;
	struct rb_err err;
	char *stack;
	pid_t pid;
	int st;

	(void)state;
	if (!open_v2())
		return;
	assert_int_equal(cgroup_run_create(&v2, &none, &run, &err), 0);
	assert_true(run.into_fd >= 0);
	assert_int_equal(run.n_join, 0);
	target = &run;
	/* A copy of our stack, as the run's init gets when it cannot share our memory. */
	pid = child_clone_into(report_group, NULL, NULL, 0, run.into_fd, NULL);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* On a stack of its own in our memory, as the run's first process without ASan. */
	stack = mmap(NULL, CHILD_STACK_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(stack != MAP_FAILED);
	pid = child_clone_into(report_shared, run.name, stack, CLONE_VM | CLONE_VFORK, run.into_fd,
			       NULL);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(shared_answer, 0);
	munmap(stack, CHILD_STACK_BYTES);
	assert_int_equal(cgroup_run_remove(&run), 0);
	close(v2.h[0].parent_fd);
}

static int wait_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* cgroup.kill ends a group's processes when it is removed. */
static void test_v2_remove_kills(void **state)
{
	struct cgroup_limits none = {0};
	struct cgroup_run run;
	struct rb_err err;
	pid_t pid;

	(void)state;
	if (!open_v2())
		return;
	assert_int_equal(cgroup_run_create(&v2, &none, &run, &err), 0);
	pid = child_clone_into(wait_forever, NULL, NULL, 0, run.into_fd, NULL);
	assert_true(pid > 0);
	assert_true(in_group(pid, run.name));
	assert_int_equal(cgroup_run_remove(&run), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(v2.h[0].parent_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_joins_and_removes),
	    cmocka_unit_test(test_memory_limit_kills_and_counts),
	    cmocka_unit_test(test_pids_limit_binds),
	    cmocka_unit_test(test_remove_kills_what_is_left),
	    cmocka_unit_test(test_sweep_takes_only_unheld_groups),
	    cmocka_unit_test(test_v2_child_created_in_group),
	    cmocka_unit_test(test_v2_remove_kills),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
