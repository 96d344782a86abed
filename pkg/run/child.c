/*
 * child: every step a run's processes take between clone() and execve(),
 * in one ordered table (child_steps below), with the reason for the order.
 *
 * Nothing here allocates: the parent (launch.c) prepared the program's
 * argv and environment, the sandbox plan (compiled BPF, Landlock ruleset,
 * mount list) and the pipes, and a failing step sends its struct rb_err up
 * the close-on-exec report pipe before the process exits.
 */
#define _GNU_SOURCE
#include "run/child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fdio.h"
#include "sandbox/sandbox.h"
#include "syscall_names.h" /* generated from <asm/unistd_64.h> */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Which process of a run a step is for. */
enum role {
	ALONE = 1, /* no pid namespace: the first process is the program itself */
	INIT = 2,  /* pid 1 of the run's pid namespace, which starts the program */
	PID2 = 4,  /* the program, as pid 2 under that init */
};
#define FIRST	(ALONE | INIT) /* the process clone() created, whichever it becomes */
#define PROGRAM (ALONE | PID2)

struct child {
	const struct child_arg *a;
	const struct launch_spec *spec;
	const struct sandbox_plan *plan;
	enum role role;
	size_t at; /* the index in child_steps of the step being taken */
	int slot;  /* where pid 2 leaves the seccomp listener for the init, or -1 */
	/* the init's, once the program is started */
	pid_t program;
	int pidfd;
	int listener;
	int handoff; /* warm: the socket pid 2 sends its listener to the init on */
};

/* Best effort: a parent that is gone cannot be told anything anyway. */
static void write_report(int fd, const struct rb_err *err)
{
	(void)fd_write_all(fd, err, sizeof(*err));
}

/*
 * An init that shares runbox's memory runs beside it, so after its set-up
 * it must not write anything runbox uses: not the heap (no malloc), not
 * errno (runbox's, through the same thread pointer).  These calls return
 * -errno instead of setting it.
 */
#if CHILD_INIT_CAN_SHARE_MEMORY
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

pid_t child_spawn_shared(int (*fn)(void *), void *arg, char *stack, unsigned long flags)
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
	return clone(fn, stack + CHILD_STACK_BYTES, (int)(CLONE_VM | CLONE_VFORK | SIGCHLD | flags),
		     arg);
#endif
}

/*
 * clone3() of a child that shares our memory and runs @fn(@arg) on the
 * stack @ca describes, then exit()s with its value.  glibc has no wrapper
 * that runs a function: the child returns from the system call on its new
 * stack, where only these instructions can go on.  @fn and @arg ride in
 * r8 and r9, which the system call leaves alone.
 */
#if defined(__x86_64__)
static long clone3_on_stack(struct clone_args *ca, int (*fn)(void *), void *arg)
{
	register int (*r8)(void *) __asm__("r8") = fn;
	register void *r9 __asm__("r9") = arg;
	long ret;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t" /* the child: the end of its frame chain */
			 "mov %%r9, %%rdi\n\t"
			 "call *%%r8\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[exit], %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n\t"
			 "1:\n\t"
			 : "=a"(ret)
			 : "a"((long)SYS_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r8),
			   "r"(r9), [exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory");
	return ret;
}
#endif

pid_t child_clone_into(int (*fn)(void *), void *arg, char *stack, unsigned long flags,
		       int cgroup_fd, int *ret_pidfd)
{
	struct clone_args ca = {
	    .flags = flags | CLONE_INTO_CGROUP,
	    .pidfd = (unsigned long long)(uintptr_t)ret_pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = (unsigned long long)cgroup_fd,
	};
	long pid;

#if defined(__x86_64__)
	if (flags & CLONE_VM) {
		ca.stack = (unsigned long long)(uintptr_t)stack;
		ca.stack_size = CHILD_STACK_BYTES;
		pid = clone3_on_stack(&ca, fn, arg);
		if (pid < 0) {
			errno = (int)-pid;
			return -1;
		}
		return (pid_t)pid;
	}
#else
	(void)stack;
	ca.flags &= ~(unsigned long long)CLONE_VM; /* no way to run on a stack of ours: a copy */
#endif
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(fn(arg));
	return (pid_t)pid;
}

/* ---- steps 1-7: the program's own process set-up ---- */

static int step_cgroup(struct child *c, struct rb_err *err)
{
	return sandbox_enter_cgroup(c->plan, err);
}

static int step_session(struct child *c, struct rb_err *err)
{
	(void)c;
	if (setsid() < 0)
		return rb_fail_sys(err, errno, "setsid");
	return 0;
}

static int step_signals(struct child *c, struct rb_err *err)
{
	sigset_t none;

	(void)c;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return rb_fail_sys(err, errno, "sigprocmask");
	return 0;
}

static int step_stdio(struct child *c, struct rb_err *err)
{
	const struct child_pipes *p = &c->a->p;

	if (dup2(p->in[0], 0) < 0 || dup2(p->out[1], 1) < 0 || dup2(p->err[1], 2) < 0)
		return rb_fail_sys(err, errno, "dup2");
	return 0;
}

static int step_rlimits(struct child *c, struct rb_err *err)
{
	const struct launch_spec *spec = c->spec;

	for (size_t i = 0; i < spec->n_rlimits; i++)
		if (setrlimit(spec->rlimits[i].resource, &spec->rlimits[i].value) < 0)
			return rb_fail_sys(err, errno, "setrlimit(%d)", spec->rlimits[i].resource);
	return 0;
}

/* Every fd above 2 close-on-exec; the ones later steps need stay usable until then. */
static int step_close_on_exec(struct child *c, struct rb_err *err)
{
	(void)c;
	(void)err;
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	for (int fd = 3; fd < 65536; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static int step_cwd(struct child *c, struct rb_err *err)
{
	if (fchdir(c->spec->cwd_fd) < 0)
		return rb_fail_sys(err, errno, "fchdir to the workspace");
	return 0;
}

/* ---- steps 8-13: the sandbox layers (sandbox/sandbox.h) ---- */

static int step_userns(struct child *c, struct rb_err *err)
{
	return sandbox_enter_userns(c->plan, err);
}

static int step_mounts(struct child *c, struct rb_err *err)
{
	return sandbox_enter_mounts(c->plan, err);
}

static int step_uts_ipc(struct child *c, struct rb_err *err)
{
	int r = sandbox_enter_uts(c->plan, err);

	return r < 0 ? r : sandbox_enter_ipc(c->plan, err);
}

static int step_uid(struct child *c, struct rb_err *err)
{
	return sandbox_enter_uid(c->plan, err);
}

static int step_no_new_privs(struct child *c, struct rb_err *err)
{
	return sandbox_enter_no_new_privs(c->plan, err);
}

static int step_landlock(struct child *c, struct rb_err *err)
{
	return sandbox_enter_landlock(c->plan, err);
}

/* ---- step 14: the init starts the program as pid 2 ---- */

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

static void run_steps(struct child *c, size_t from);

/* pid 2: a copy of the init's state on its own stack, from the step after the fork. */
static int program_main(void *arg)
{
	struct child c = *(const struct child *)arg;

	c.role = PID2;
	run_steps(&c, c.at + 1);
	return 127;
}

/* Receive the fd pid 2 sends on @sock (its seccomp listener); -1 when none came. */
static int receive_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* Send @fd on @sock (best effort: without it the init just cannot name refusals). */
static void send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	(void)sendmsg(sock, &m, MSG_NOSIGNAL);
}

/*
 * Warm: pid 2 must be a copy of the template's memory, which it runs as
 * the program, so it is a real fork, not a child that shares ours until
 * execve.  Its listener comes over a socket, since nothing else is shared.
 */
static int start_program_copy(struct child *c, struct rb_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return rb_fail_sys(err, errno, "socketpair");
	c->program = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
	if (c->program == 0) {
		close(sv[0]);
		c->role = PID2;
		c->handoff = sv[1];
		run_steps(c, c->at + 1);
	}
	close(sv[1]);
	if (c->program < 0) {
		int e = errno;

		close(sv[0]);
		return rb_fail_fork(err, e, "fork the program");
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, c->program, 0);
	c->listener = receive_fd(sv[0]);
	close(sv[0]);
	return 0;
}

static int step_start_program(struct child *c, struct rb_err *err)
{
	if (c->a->become)
		return start_program_copy(c, err);
	c->slot = listener_slot();
	/*
	 * Grow the fd table to hold the slot now, while it is ours alone: grown
	 * later by pid 2's dup3, when the table is shared, the kernel waits for
	 * an RCU grace period first (expand_fdtable), which cost 10 ms and more
	 * of each run.  A table never shrinks, so the close keeps the room.
	 */
	if (c->slot >= 0) {
		(void)dup2(STDERR_FILENO, c->slot);
		close(c->slot); /* whatever held it: only pid 2's listener may be found there */
	}
	/* pid 2 shares the fd table until execve: its listener reaches us there. */
	c->program = child_spawn_shared(program_main, c, c->a->stack, CLONE_FILES);
	if (c->program < 0)
		return rb_fail_fork(err, errno, "fork the program");
	c->pidfd = (int)syscall(SYS_pidfd_open, c->program, 0);
	c->listener = c->slot >= 0 && fcntl(c->slot, F_GETFD) >= 0 ? c->slot : -1;
	return 0;
}

/* ---- steps 15-18 ---- */

static int step_pid2_session(struct child *c, struct rb_err *err)
{
	return step_session(c, err);
}

/*
 * No init to notice runbox dying: have the kernel kill the program then
 * (after the uid drop, which clears it; a parent that is already gone is
 * caught by the getppid check).  Best effort: Lambda refuses
 * PR_SET_PDEATHSIG, and the README says what is lost there.
 */
static int step_parent_death(struct child *c, struct rb_err *err)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != c->a->parent)
		return rb_fail_sys(err, ESRCH, "runbox is gone");
	return 0;
}

/*
 * Warm: the program does not execve, which would have cleared the
 * capabilities a process keeps in the user namespace it made (as root the
 * uid drop cleared them already).  Cleared here, as execve would.
 */
static int step_no_caps(struct child *c, struct rb_err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	if (!c->a->become)
		return 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return rb_fail_sys(err, errno, "capset");
	return 0;
}

static int step_seccomp(struct child *c, struct rb_err *err)
{
	int listener = -1, r;

	switch (c->role) {
	case ALONE:
		return sandbox_enter_seccomp(c->plan, err);
	case INIT:
		return sandbox_enter_init_seccomp(c->plan, err);
	case PID2:
		r = sandbox_enter_seccomp_notify(c->plan, &listener, err);
		if (r < 0)
			return r;
		if (c->handoff >= 0) {
			if (listener >= 0)
				send_fd(c->handoff, listener);
			close(c->handoff);
			c->handoff = -1;
			if (listener >= 0)
				close(listener);
		} else if (listener >= 0 && c->slot >= 0 && listener != c->slot &&
			   dup3(listener, c->slot, O_CLOEXEC) == c->slot)
			close(listener);
		return 0;
	}
	return 0;
}

/* ---- step 19: execve, or the init's loop ---- */

static int step_exec(struct child *c, struct rb_err *err)
{
	execve(c->spec->path, c->spec->argv, c->spec->envp);
	return rb_fail_sys(err, errno, "execve '%s'", c->spec->path);
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
 * once on the program's stderr so the reason is not a guess.  Returns 1
 * with *ret_status when it was the program's process (@program) saying it
 * is exiting (see CHILD_EXIT_NR), else 0.
 */
static int answer_refused(int listener, pid_t program, unsigned char *named, int *lines,
			  struct launch_status *ret_status)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	char line[160];
	size_t n;
	int nr;

	memset(&req, 0, sizeof(req));
	if (raw_call(SYS_ioctl, listener, (long)SECCOMP_IOCTL_NOTIF_RECV, (long)&req, 0) < 0)
		return 0;
	resp = (struct seccomp_notif_resp){.id = req.id, .error = -EPERM};
	raw_call(SYS_ioctl, listener, (long)SECCOMP_IOCTL_NOTIF_SEND, (long)&resp, 0);
	nr = req.data.nr;
	if (nr == CHILD_EXIT_NR && req.data.args[0] == CHILD_EXIT_MAGIC &&
	    (pid_t)req.pid == program) {
		ret_status->wait_status = (int)((req.data.args[1] & 0xff) << 8); /* W_EXITCODE */
		ret_status->max_rss_kb = (int)req.data.args[2];
		ret_status->start_rss_kb = (int)req.data.args[3];
		return 1;
	}
	if (nr < 0 || nr >= 512 || (named[nr / 8] & (1u << (nr % 8))) || *lines >= 32)
		return 0;
	named[nr / 8] |= (unsigned char)(1u << (nr % 8));
	(*lines)++;
	n = refused_line(line, sizeof(line), nr);
	if (raw_call(SYS_write, STDERR_FILENO, (long)line, (long)n, 0) < 0)
		*lines = 32; /* stderr is gone: stop naming */
	return 0;
}

/*
 * Reap everything; answer refused calls; return when the program ends.  If
 * runbox itself dies (its end of @life closes), exit at once: the kernel
 * then kills everything left in the namespace.
 */
static struct launch_status init_loop(pid_t program, int pidfd, int listener, int life)
{
	unsigned char named[64] = {0};
	struct launch_status st = {0, 0, 0};
	struct rusage ru;
	int lines = 0, ws = 0;

	for (;;) {
		struct pollfd p[3] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = listener, .events = POLLIN},
				      {.fd = life, .events = POLLIN}};
		pid_t r;

		/* The timeout reaps orphans that die while nothing else happens. */
		if (raw_call(SYS_poll, (long)p, 3, 50, 0) > 0 && (p[1].revents & POLLIN) &&
		    answer_refused(listener, program, named, &lines, &st))
			return st;
		if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			listener = -1;
		if (p[2].revents)
			raw_exit(125);
		while ((r = (pid_t)raw_call(SYS_wait4, -1, (long)&ws, WNOHANG, (long)&ru)) > 0)
			if (r == program)
				return (struct launch_status){ws, (int)ru.ru_maxrss, 0};
		if (r == -ECHILD)
			return (struct launch_status){ws, 0, 0};
	}
}

/*
 * Warm: the init shares the template's memory, which every later run's
 * program gets a copy of.  What its set-up left on its stack (this run's
 * paths, uid, fds) is zeroed before the template may fork again, and the
 * template is told it may (then it unmaps the plan this init read).
 */
static void __attribute__((noinline)) release_template(struct child *c)
{
	uintptr_t low = (uintptr_t)c->a->init_stack + 4096;	      /* above the guard page */
	uintptr_t high = (uintptr_t)__builtin_frame_address(0) - 512; /* below memset's frame */

	if (low < high)
		memset((void *)low, 0, high - low);
	(void)raw_call(SYS_write, c->a->sync_fd, (long)"+", 1, 0);
}

/*
 * The init holds nothing else: a pipe end kept here would hide the
 * program's EOF on stdin, or keep stdout open after it is gone; stderr
 * stays, for naming refused calls.  Closing the report pipe lets runbox go
 * on: from here an init that shares its memory uses raw_call() only.
 */
static int step_init_loop(struct child *c, struct rb_err *err)
{
	const int status = c->a->p.status[1], life = c->a->p.life[0];
	int keep[5] = {STDERR_FILENO, status, c->pidfd, c->listener, life};
	struct launch_status st;

	(void)err;
	/* Warm: nothing of c->a may be read after this, the template unmaps it. */
	if (c->a->become)
		release_template(c);
	qsort(keep, 5, sizeof(keep[0]), cmp_int);
	close_all_except(keep, 5);
	st = init_loop(c->program, c->pidfd, c->listener, life);
	if (raw_call(SYS_write, status, (long)&st, sizeof(st), 0) != sizeof(st))
		raw_exit(126);
	raw_exit(0);
}

static int step_last(struct child *c, struct rb_err *err)
{
	if (c->role == INIT)
		return step_init_loop(c, err);
	return c->a->become ? c->a->become(c->a, err) : step_exec(c, err);
}

/*
 * The whole order, from clone() to execve().  Each step needs what the ones
 * before it left:
 *
 *  1. join the run's control groups (where clone3 did not create the
 *     process in them already): first, so that every process and page of
 *     the run is counted to it from here on, pid 2 and the later steps' own
 *     (the private /tmp's pages) included, and before 11, as the writes are
 *     checked against the credentials of the fds runbox opened for it.
 *  2. setsid: the run is its own session and process group, so that runbox
 *     can end the whole tree with one kill() of the group, and it holds no
 *     controlling terminal of runbox's.
 *  3. default signal dispositions, empty mask: runbox ignores SIGPIPE; a
 *     program must start as it would by hand.
 *  4. fds 0-2 from the run's pipes.
 *  5. rlimits, before any layer: they bind every later step and every
 *     process the run makes (RLIMIT_NPROC, where no pids group bounds the
 *     run, counts against the uid of step 11, the run's own), and raising a
 *     hard limit needs a privilege the later steps give up.
 *  6. every other fd close-on-exec, so the program starts with 0-2 only; the
 *     fds the next steps use (the workspace, the Landlock ruleset, the report
 *     pipe) stay usable until execve.
 *  7. cwd = the workspace, by its fd: no path the program could race.
 *  8. user namespace maps (unprivileged runbox): until they are written the
 *     child's uid is unmapped, and the mount points it creates in 9 could be
 *     owned by nobody.
 *  9. mounts, then 10. host name and SysV IPC limits, while the child still
 *     holds CAP_SYS_ADMIN (as root, or in its user namespace), which the uid
 *     drop takes away.  The fresh /proc of the pid namespace is mounted here
 *     too, which is why the first process, not pid 2, is its init.
 * 11. the uid drop (as root): needs CAP_SETUID and ends every capability,
 *     so nothing privileged can follow it; it also clears the parent-death
 *     signal (hence 16 after it) and resets "dumpable" (set again to 0).
 * 12. no_new_privs: Landlock and seccomp require it of an unprivileged
 *     process, and it keeps a setuid binary from undoing 11.
 * 13. Landlock, before seccomp, because the filter refuses the landlock_*
 *     calls and the opens it needs.
 * 14. (a pid namespace) the init starts the program as pid 2 and goes on at
 *     18: the kernel ignores signals a process sends to its own namespace's
 *     init, so a program that is pid 1 could not os.kill() itself or abort().
 *     Everything above binds pid 2 already.
 * 15. (pid 2) its own session inside the namespace, as by hand.
 * 16. (no init) the parent-death signal, after 11 which clears it, and a
 *     check that runbox is still there: nothing else would end the program
 *     if runbox died.
 * 17. (warm) no capabilities: a program that is not exec'd keeps those it
 *     has in its own user namespace, which execve would have cleared.
 *     Before seccomp, which refuses capset.
 * 18. seccomp, last, because it refuses mount, setresuid, prctl tricks and
 *     landlock_*: the program's filter; for pid 2 the same filter with its
 *     refusals notified to the init, which names them on stderr; for the
 *     init a filter of its own that allows only what its loop calls.
 * 19. execve (warm: the return into the template's interpreter, with what
 *     execve would have done: the run's environment, fds 0-2 only,
 *     dumpable); the init instead closes all but what its loop needs and
 *     reaps until the program ends.
 */
static const struct {
	unsigned who;
	int (*fn)(struct child *c, struct rb_err *err);
} child_steps[] = {
    {FIRST, step_cgroup},		 /* 1 */
    {FIRST, step_session},		 /* 2 */
    {FIRST, step_signals},		 /* 3 */
    {FIRST, step_stdio},		 /* 4 */
    {FIRST, step_rlimits},		 /* 5 */
    {FIRST, step_close_on_exec},	 /* 6 */
    {FIRST, step_cwd},			 /* 7 */
    {FIRST, step_userns},		 /* 8 */
    {FIRST, step_mounts},		 /* 9 */
    {FIRST, step_uts_ipc},		 /* 10 */
    {FIRST, step_uid},			 /* 11 */
    {FIRST, step_no_new_privs},		 /* 12 */
    {FIRST, step_landlock},		 /* 13 */
    {INIT, step_start_program},		 /* 14 */
    {PID2, step_pid2_session},		 /* 15 */
    {ALONE, step_parent_death},		 /* 16 */
    {PROGRAM, step_no_caps},		 /* 17 */
    {ALONE | INIT | PID2, step_seccomp}, /* 18 */
    {ALONE | INIT | PID2, step_last},	 /* 19 */
};

static __attribute__((noreturn)) void run_steps(struct child *c, size_t from)
{
	struct rb_err err = {0};

	for (c->at = from; c->at < sizeof(child_steps) / sizeof(child_steps[0]); c->at++) {
		if (!(child_steps[c->at].who & c->role))
			continue;
		if (child_steps[c->at].fn(c, &err) < 0)
			break;
	}
	write_report(c->a->p.report[1], &err);
	_exit(127);
}

int child_main(void *arg)
{
	const struct child_arg *a = arg;
	struct child c = {
	    .a = a,
	    .spec = a->spec,
	    .plan = a->spec->sandbox,
	    .role = (a->spec->sandbox->clone_flags & CLONE_NEWPID) ? INIT : ALONE,
	    .slot = -1,
	    .program = -1,
	    .pidfd = -1,
	    .listener = -1,
	    .handoff = -1,
	};

	run_steps(&c, 0);
}
