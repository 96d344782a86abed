/*
 * launch: the fork-and-exec implementation of launch.h.
 *
 * The child's set-up is a flat ladder, in this order, each step one call:
 * its own session (so the whole tree can be signalled), default signal
 * dispositions (runbox ignores SIGPIPE; a program must not inherit that),
 * the standard fds, rlimits, no other fds, the workspace as cwd, then the
 * sandbox layers (which end with seccomp, the last thing before execve).
 */
#define _GNU_SOURCE
#include "run/launch.h"
#include "base/prefault.h"
#include "base/fdio.h"
#include "syscall_names.h" /* generated from <asm/unistd_64.h> */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct pipes {
	int in[2], out[2], err[2], report[2], status[2];
	int life[2]; /* runbox holds the write end: EOF at the read end means runbox died */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_pipes(struct pipes *p)
{
	int *all[] = {&p->in[0],     &p->in[1],	    &p->out[0],	   &p->out[1],
		      &p->err[0],    &p->err[1],    &p->report[0], &p->report[1],
		      &p->status[0], &p->status[1], &p->life[0],   &p->life[1]};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		close_fd(all[i]);
}

static int open_pipes(struct pipes *p, struct rb_err *err)
{
	int *all[] = {p->in, p->out, p->err, p->report, p->status, p->life};

	memset(p, -1, sizeof(*p));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (pipe2(all[i], O_CLOEXEC) < 0) {
			int e = errno;

			close_pipes(p);
			return rb_fail_sys(err, e, "pipe2");
		}
	return 0;
}

/* ---- the child, between fork and exec: no allocation ---- */

static int child_signals(struct rb_err *err)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return rb_fail_sys(err, errno, "sigprocmask");
	return 0;
}

static int child_fds(const struct pipes *p, struct rb_err *err)
{
	if (dup2(p->in[0], 0) < 0 || dup2(p->out[1], 1) < 0 || dup2(p->err[1], 2) < 0)
		return rb_fail_sys(err, errno, "dup2");
	return 0;
}

static int child_rlimits(const struct launch_spec *spec, struct rb_err *err)
{
	for (size_t i = 0; i < spec->n_rlimits; i++)
		if (setrlimit(spec->rlimits[i].resource, &spec->rlimits[i].value) < 0)
			return rb_fail_sys(err, errno, "setrlimit(%d)", spec->rlimits[i].resource);
	return 0;
}

/* Mark every fd above 2 close-on-exec; the ones the sandbox needs until exec stay usable. */
static int child_close_fds(struct rb_err *err)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	for (int fd = 3; fd < 65536; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)err;
	return 0;
}

static int child_setup(const struct launch_spec *spec, const struct pipes *p, struct rb_err *err)
{
	int r;

	if (setsid() < 0)
		return rb_fail_sys(err, errno, "setsid");
	r = child_signals(err);
	if (r < 0)
		return r;
	r = child_fds(p, err);
	if (r < 0)
		return r;
	r = child_rlimits(spec, err);
	if (r < 0)
		return r;
	r = child_close_fds(err);
	if (r < 0)
		return r;
	if (fchdir(spec->cwd_fd) < 0)
		return rb_fail_sys(err, errno, "fchdir to the workspace");
	return 0;
}

/* Best effort: a parent that is gone cannot be told anything anyway. */
static void child_write_report(int fd, const struct rb_err *err)
{
	(void)fd_write_all(fd, err, sizeof(*err));
}

#define SHARED_STACK_BYTES   (256 * 1024)
#define PREFAULT_STACK_BYTES (24 * 1024) /* what the deepest set-up path uses, rounded up */
#define GUARD_BYTES	     4096

/*
 * Start @fn in a child that shares our memory and suspends us until it
 * execs or exits (vfork semantics): no page tables to copy, which on these
 * VMs saves about a millisecond per process.  The child must only make
 * system calls and write its own stack (@stack, SHARED_STACK_BYTES) until
 * then.  Returns its pid.
 */
static pid_t spawn_shared(int (*fn)(void *), void *arg, char *stack, unsigned long flags)
{
#if defined(__SANITIZE_ADDRESS__)
	/*
	 * ASan cannot follow a switch to a stack it did not allocate, and maps
	 * memory for it under the program's RLIMIT_AS: the sanitizer build
	 * pays for a real fork instead.
	 */
	pid_t pid =
	    (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD | CLONE_VFORK | flags, 0, 0, 0, 0);

	(void)stack;
	if (pid == 0)
		_exit(fn(arg));
	return pid;
#else
	return clone(fn, stack + SHARED_STACK_BYTES,
		     (int)(CLONE_VM | CLONE_VFORK | SIGCHLD | flags), arg);
#endif
}

static __attribute__((noreturn)) void exec_program(const struct launch_spec *spec,
						   const struct pipes *p, struct rb_err *err)
{
	execve(spec->path, spec->argv, spec->envp);
	rb_fail_sys(err, errno, "execve '%s'", spec->path);
	child_write_report(p->report[1], err);
	_exit(127);
}

/*
 * pid 1 of the run's pid namespace.  The kernel ignores signals a process
 * sends to its own namespace's init, so the program must not be pid 1 or
 * os.kill(os.getpid(), SIGTERM) and abort() would not behave as they do by
 * hand.  This init forks the program as pid 2, reaps every orphan, and when
 * the program ends reports its wait status on the status pipe and exits,
 * which makes the kernel kill whatever is left in the namespace.
 */
struct child_arg {
	const struct launch_spec *spec;
	/* A copy: the parent closes its own ends while the child sets up. */
	struct pipes p;
	char *stack;  /* the program's until it execs (SHARED_STACK_BYTES) */
	pid_t parent; /* runbox */
};

/*
 * What the children of one launch run on, mapped by the parent before any
 * rlimit applies (the init cannot map under RLIMIT_AS when runbox itself,
 * an ASan build, already maps more).  The parent writes @arg before the
 * clone and never again, so an init that shares its memory reads it safely
 * for its whole life; @init_stack is that init's (see start_child).
 */
struct child_mem {
	char program_stack[SHARED_STACK_BYTES];
	char init_stack[SHARED_STACK_BYTES];
	struct child_arg arg;
};

/* The mapping's length: whole pages. */
static size_t child_mem_bytes(void)
{
	size_t page = (size_t)getpagesize();

	return (sizeof(struct child_mem) + page - 1) & ~(page - 1);
}

static struct child_mem *child_mem_alloc(void)
{
	struct child_mem *m = mmap(NULL, child_mem_bytes(), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	/* A guard page at the low end of each stack: an overflow faults, not corrupts. */
	if (mprotect(m->program_stack, GUARD_BYTES, PROT_NONE) < 0 ||
	    mprotect(m->init_stack, GUARD_BYTES, PROT_NONE) < 0) {
		munmap(m, sizeof(*m));
		return NULL;
	}
	/*
	 * The pages the children will use, in two calls: the top of each stack,
	 * and @arg up to the end of the mapping (whole pages of it).
	 */
	prefault_pages(m->program_stack + SHARED_STACK_BYTES - PREFAULT_STACK_BYTES,
		       PREFAULT_STACK_BYTES);
	prefault_pages(m->init_stack + SHARED_STACK_BYTES - PREFAULT_STACK_BYTES,
		       PREFAULT_STACK_BYTES + child_mem_bytes() - offsetof(struct child_mem, arg));
	return m;
}

/*
 * An init that shares runbox's memory runs beside it, so after its set-up
 * it must not write anything runbox uses: not the heap (no malloc), not
 * errno (runbox's, through the same thread pointer).  These calls return
 * -errno instead of setting it.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define INIT_CAN_SHARE_MEMORY 1
static long raw_call(long nr, long a1, long a2, long a3, long a4)
{
	register long r10 __asm__("r10") = a4;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
#define INIT_CAN_SHARE_MEMORY 0
static long raw_call(long nr, long a1, long a2, long a3, long a4)
{
	long r = syscall(nr, a1, a2, a3, a4);

	return r < 0 ? -errno : r; /* a forked init: errno is its own */
}
#endif

/* _exit() without a sanitizer's interceptor, whose calls the init's filter kills. */
static __attribute__((noreturn)) void raw_exit(int code)
{
	for (;;)
		raw_call(SYS_exit_group, code, 0, 0, 0);
}

/*
 * Where pid 2 leaves the seccomp notification fd for the init: the highest
 * fd its RLIMIT_NOFILE allows, which nothing else uses.
 */
static int listener_slot(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 8)
		return -1;
	return (int)(rl.rlim_cur > 1024 ? 1023 : rl.rlim_cur - 1);
}

/*
 * pid 2: its own session and group inside the namespace, as by hand.  It
 * shares the init's fd table until execve (CLONE_FILES), which is how the
 * seccomp listener it creates reaches the init.
 */
static int program_main(void *arg)
{
	const struct child_arg *a = arg;
	struct rb_err err = {0};
	int listener = -1, slot = listener_slot();

	if (setsid() < 0)
		rb_fail_sys(&err, errno, "setsid");
	else if (sandbox_plan_enter_seccomp_notify(a->spec->sandbox, &listener, &err) >= 0) {
		if (listener >= 0 && slot >= 0 && listener != slot &&
		    dup3(listener, slot, O_CLOEXEC) == slot)
			close(listener);
		exec_program(a->spec, &a->p, &err);
	}
	child_write_report(a->p.report[1], &err);
	_exit(127);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd but the @n in @keep (ascending; negative entries ignored). */
static void close_all_except(const int *keep, int n)
{
	unsigned from = 0;

	for (int i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > from)
			raw_call(SYS_close_range, from, (long)keep[i] - 1, 0, 0);
		from = (unsigned)keep[i] + 1;
	}
	raw_call(SYS_close_range, from, ~0U, 0, 0);
}

/* Append @s to @buf (of @size, NUL-terminated, holding *@len bytes), truncating. */
static void append(char *buf, size_t size, size_t *len, const char *s)
{
	while (*s && *len + 1 < size)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

/*
 * "runbox: the sandbox refused system call NAME (NR): ..." for @nr, with
 * neither stdio nor malloc (see raw_call).  Returns its length.
 */
static size_t refused_line(char *buf, size_t size, int nr)
{
	const size_t n_names = sizeof(syscall_names) / sizeof(syscall_names[0]);
	const char *name = (unsigned)nr < n_names && syscall_names[nr] ? syscall_names[nr] : "?";
	char digits[12], *d = digits + sizeof(digits) - 1;
	unsigned v = (unsigned)nr;
	size_t len = 0;

	*d = '\0';
	do
		*--d = (char)('0' + v % 10);
	while ((v /= 10) && d > digits);
	append(buf, size, &len, "runbox: the sandbox refused system call ");
	append(buf, size, &len, name);
	append(buf, size, &len, " (");
	append(buf, size, &len, d);
	append(buf, size, &len, "): Operation not permitted\n");
	return len;
}

/*
 * Answer one refused call: EPERM, as the allowlist would have, and name it
 * once on the program's stderr so the reason is not a guess.
 */
static void answer_refused(int listener, unsigned char *named, int *lines)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	char line[160];
	size_t n;
	int nr;

	memset(&req, 0, sizeof(req));
	if (raw_call(SYS_ioctl, listener, (long)SECCOMP_IOCTL_NOTIF_RECV, (long)&req, 0) < 0)
		return;
	resp = (struct seccomp_notif_resp){.id = req.id, .error = -EPERM};
	raw_call(SYS_ioctl, listener, (long)SECCOMP_IOCTL_NOTIF_SEND, (long)&resp, 0);
	nr = req.data.nr;
	if (nr < 0 || nr >= 512 || (named[nr / 8] & (1u << (nr % 8))) || *lines >= 32)
		return;
	named[nr / 8] |= (unsigned char)(1u << (nr % 8));
	(*lines)++;
	n = refused_line(line, sizeof(line), nr);
	if (raw_call(SYS_write, STDERR_FILENO, (long)line, (long)n, 0) < 0)
		*lines = 32; /* stderr is gone: stop naming */
}

/*
 * Reap everything; answer refused calls; return when the program ends.  If
 * runbox itself dies (its end of @life closes), exit at once: the kernel
 * then kills everything left in the namespace.
 */
static int init_loop(pid_t program, int pidfd, int listener, int life)
{
	unsigned char named[64] = {0};
	int lines = 0, st = 0;

	for (;;) {
		struct pollfd p[3] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = listener, .events = POLLIN},
				      {.fd = life, .events = POLLIN}};
		pid_t r;

		/* The timeout reaps orphans that die while nothing else happens. */
		if (raw_call(SYS_poll, (long)p, 3, 50, 0) > 0 && (p[1].revents & POLLIN))
			answer_refused(listener, named, &lines);
		if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			listener = -1;
		if (p[2].revents)
			raw_exit(125);
		while ((r = (pid_t)raw_call(SYS_wait4, -1, (long)&st, WNOHANG, 0)) > 0)
			if (r == program)
				return st;
		if (r == -ECHILD)
			return st;
	}
}

static __attribute__((noreturn)) void init_main(const struct child_arg *a)
{
	const struct launch_spec *spec = a->spec;
	const struct pipes *p = &a->p;
	struct rb_err err = {0};
	int slot = listener_slot(), keep[5], pidfd, listener, st, status_fd = p->status[1];
	pid_t program;

	/*
	 * Grow the fd table to hold the slot now, while it is ours alone: grown
	 * later by pid 2's dup3, when the table is shared, the kernel waits for
	 * an RCU grace period first (expand_fdtable), which cost 10 ms and more
	 * of each run.  A table never shrinks, so the close keeps the room.
	 */
	if (slot >= 0) {
		(void)dup2(STDERR_FILENO, slot);
		close(slot); /* whatever held it: only pid 2's listener may be found there */
	}
	program = spawn_shared(program_main, (void *)a, a->stack, CLONE_FILES);
	if (program < 0) {
		rb_fail_sys(&err, errno, "fork the program");
		child_write_report(p->report[1], &err);
		_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, program, 0);
	listener = slot >= 0 && fcntl(slot, F_GETFD) >= 0 ? slot : -1;
	/* Its own small filter, after the last call the filter does not allow. */
	if (sandbox_plan_enter_init_seccomp(spec->sandbox, &err) < 0) {
		child_write_report(p->report[1], &err);
		_exit(127);
	}
	/*
	 * Hold nothing else: a pipe end kept here would hide the program's EOF
	 * on stdin, or keep stdout open after it is gone.  stderr stays, for
	 * naming refused calls.  Closing the report pipe lets runbox go on:
	 * from here an init that shares its memory uses raw_call() only.
	 */
	keep[0] = STDERR_FILENO;
	keep[1] = p->status[1];
	keep[2] = pidfd;
	keep[3] = listener;
	keep[4] = p->life[0];
	qsort(keep, 5, sizeof(keep[0]), cmp_int);
	close_all_except(keep, 5);
	st = init_loop(program, pidfd, listener, p->life[0]);
	if (raw_call(SYS_write, status_fd, (long)&st, sizeof(st), 0) != sizeof(st))
		raw_exit(126);
	raw_exit(0);
}

static int child_main(void *arg)
{
	const struct launch_spec *spec = ((const struct child_arg *)arg)->spec;
	const struct pipes *p = &((const struct child_arg *)arg)->p;
	bool init = spec->sandbox->clone_flags & CLONE_NEWPID;
	struct rb_err err = {0};
	int r = child_setup(spec, p, &err);

	/* With an init, seccomp binds after the fork, in both processes. */
	if (r >= 0)
		r = sandbox_plan_enter_base(spec->sandbox, &err);
	if (r >= 0 && init)
		init_main(arg);
	/*
	 * No init to notice runbox dying: have the kernel kill the program
	 * then (set after the uid drop, which clears it; a parent that is
	 * already gone is caught by the getppid check).  Best effort: Lambda
	 * refuses PR_SET_PDEATHSIG, and the README says what is lost there.
	 */
	if (r >= 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (r >= 0 && getppid() != ((const struct child_arg *)arg)->parent)
		r = rb_fail_sys(&err, ESRCH, "runbox is gone");
	if (r >= 0)
		r = sandbox_plan_enter_seccomp(spec->sandbox, &err);
	if (r >= 0)
		exec_program(spec, p, &err);
	child_write_report(p->report[1], &err);
	_exit(127);
}

/* ---- the parent ---- */

/*
 * Whether the namespace's init may share runbox's memory.  It never execs,
 * so it outlives the vfork-style sharing of spawn_shared(); a copy (fork)
 * costs a millisecond or two on these VMs in page-table copies, copy-on-write
 * faults on both sides and the teardown of the copy, against a one-shot run
 * of some 30 ms.  Not with a user namespace: writing its own maps makes the
 * child dumpable for a moment (see ns_enter_user), and with shared memory
 * that would be runbox's.
 */
static bool init_shares_memory(unsigned long flags)
{
	return INIT_CAN_SHARE_MEMORY && (flags & CLONE_NEWPID) && !(flags & CLONE_NEWUSER);
}

/*
 * Without a pid namespace the child execs the program itself and shares
 * our memory until it does.  With one it becomes the namespace's init and
 * never execs: it runs beside us on its own stack in our memory (then
 * *ret_mem must stay mapped until it is reaped), or gets a copy.
 */
static pid_t start_child(const struct launch_spec *spec, const struct pipes *p,
			 struct child_mem **ret_mem)
{
	unsigned long flags = spec->sandbox->clone_flags;
	struct child_mem *m = child_mem_alloc();
	bool shared = init_shares_memory(flags);
	pid_t pid;
	int e;

	*ret_mem = NULL;
	if (!m)
		return -1;
	m->arg = (struct child_arg){spec, *p, m->program_stack, getpid()};
	if (!(flags & CLONE_NEWPID)) {
		pid = spawn_shared(child_main, &m->arg, m->init_stack, flags);
	} else {
		pid = shared ? clone(child_main, m->init_stack + SHARED_STACK_BYTES,
				     (int)(CLONE_VM | SIGCHLD | flags), &m->arg)
			     : -1;
		/* A kernel that refuses CLONE_VM with these flags gets a fork. */
		if (shared && pid < 0 && errno == EINVAL)
			shared = false;
		if (!shared && (pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD | flags, 0,
						     0, 0, 0)) == 0)
			_exit(child_main(&m->arg));
	}
	e = errno;
	if (pid > 0 && shared)
		*ret_mem = m;
	else
		munmap(m, sizeof(*m)); /* the child has exec'd, or has a copy */
	errno = e;
	return pid;
}

/* Read the child's set-up report: EOF means execve succeeded. */
static int read_report(int fd, pid_t pid, struct rb_err *err)
{
	struct rb_err child_err;
	size_t got = 0;

	while (got < sizeof(child_err)) {
		ssize_t r = read(fd, (char *)&child_err + got, sizeof(child_err) - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == 0)
		return 0;
	waitpid(pid, NULL, 0);
	if (got != sizeof(child_err))
		return rb_fail_sys(err, EIO, "the program's set-up failed without a report");
	*err = child_err;
	err->msg[sizeof(err->msg) - 1] = '\0';
	return rb_wrap(err, -(err->errnum ? err->errnum : EIO), "start the program");
}

static void keep_parent_ends(const struct pipes *p, struct launched *ret)
{
	ret->stdin_fd = p->in[1];
	ret->stdout_fd = p->out[0];
	ret->stderr_fd = p->err[0];
	fcntl(ret->stdin_fd, F_SETFL, O_NONBLOCK);
	fcntl(ret->stdout_fd, F_SETFL, O_NONBLOCK);
	fcntl(ret->stderr_fd, F_SETFL, O_NONBLOCK);
	ret->pidfd = (int)syscall(SYS_pidfd_open, ret->pid, 0);
	if (ret->pidfd >= 0)
		fcntl(ret->pidfd, F_SETFD, FD_CLOEXEC);
}

/* The children's memory, once the init that runs on it is reaped. */
static void release_child_mem(struct launched *l)
{
	if (l->child_mem)
		munmap(l->child_mem, sizeof(struct child_mem));
	l->child_mem = NULL;
}

int launch_start(const struct launch_spec *spec, struct launched *ret, struct rb_err *err)
{
	struct child_mem *mem;
	struct pipes p;
	pid_t pid;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->stdin_fd = ret->stdout_fd = ret->stderr_fd = ret->pidfd = ret->status_fd = -1;
	ret->lifeline_fd = -1;
	r = open_pipes(&p, err);
	if (r < 0)
		return r;
	pid = start_child(spec, &p, &mem);
	if (pid < 0) {
		r = rb_fail_sys(err, errno, "clone");
		close_pipes(&p);
		return r;
	}
	ret->pid = pid;
	ret->child_mem = mem;
	close_fd(&p.in[0]);
	close_fd(&p.out[1]);
	close_fd(&p.err[1]);
	close_fd(&p.report[1]);
	close_fd(&p.status[1]);
	close_fd(&p.life[0]);
	r = read_report(p.report[0], pid, err);
	close_fd(&p.report[0]);
	if (r < 0) {
		close_pipes(&p);
		release_child_mem(ret); /* read_report reaped the child */
		return r;
	}
	keep_parent_ends(&p, ret);
	ret->status_fd = p.status[0];
	ret->lifeline_fd = p.life[1];
	return 0;
}

void launch_close(struct launched *l)
{
	release_child_mem(l);
	close_fd(&l->stdin_fd);
	close_fd(&l->stdout_fd);
	close_fd(&l->stderr_fd);
	close_fd(&l->pidfd);
	close_fd(&l->status_fd);
	close_fd(&l->lifeline_fd);
}
