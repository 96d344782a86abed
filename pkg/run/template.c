/*
 * template: the C half of a warm template (see run/warm.h), built into the
 * shared object the template interpreter loads; never part of runbox.
 *
 * The interpreter imports its modules (run/template.py), then calls
 * runbox_template_serve(), which never returns in the template: it reads
 * one run at a time from its control socket and creates the run's first
 * process.  With a pid namespace that process is the namespace's init and
 * shares the template's memory (no copy of its page tables, as a cold run's
 * init shares runbox's); it enters the run's sandbox through run/child.c's
 * steps and forks the program as pid 2, the one copy of the template's
 * memory a run costs.  Without one the first process is the program itself,
 * a copy.  Either way the program, instead of execve, jumps back to the
 * point where the template waited, in its own copy of the template's
 * stack, and runbox_template_serve() returns 0 there: the interpreter goes
 * on to run the program as its __main__.
 *
 * The template reads only what is not request data (the plan: clone flags,
 * rlimits, the sandbox plan); the program's argv and environment are read
 * by the program's own process, after it is sandboxed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fdio.h"
#include "run/child.h"
#include "run/warm.h"

#define EXPORT __attribute__((visibility("default")))

/* The entry points run/template.py calls through ctypes. */
EXPORT int runbox_template_serve(int ctl, int events);
EXPORT unsigned runbox_template_argc(void);
EXPORT const char *runbox_template_argv(unsigned i);
EXPORT unsigned runbox_template_envc(void);
EXPORT const char *runbox_template_env(unsigned i);
EXPORT unsigned long runbox_template_python(void);
EXPORT int runbox_template_set_main(const char *run_filename, const char *arg0_bytes);
EXPORT void runbox_template_arm_exit(void);
EXPORT int runbox_template_prepare_end(PyObject *modules);
EXPORT void runbox_template_end_ready(int ready);

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#define MAX_KIDS 256

extern char **environ;

/* The memory of one run's start, mapped by the template (see serve_one). */
struct run_mem {
	struct child_arg arg;
	struct launch_spec spec;
	int program_fd;
	struct warm_plan plan;
};

/* A run whose first process is still alive. */
struct kid {
	pid_t pid;
	bool alone;    /* no init: the program itself, whose status the template reports */
	int status_fd; /* alone: the run's status pipe (write end) */
	int life_fd;   /* alone: runbox's lifeline; EOF means the run must end */
	char *stack;   /* an init's stack in the template's memory, unmapped once reaped */
};

static struct kid kids[MAX_KIDS];
static size_t n_kids;
static sigjmp_buf to_python;
/* In the program's copy: what its start used, unmapped before the interpreter goes on. */
static struct run_mem *current;
static char *current_stack;
static char **prog_argv, **prog_envp;
static long start_rss_kb; /* the program's, as it leaves the template: its share of it */
static uint32_t prog_argc, prog_envc;

static size_t run_mem_bytes(void)
{
	size_t page = (size_t)getpagesize();

	return (sizeof(struct run_mem) + page - 1) & ~(page - 1);
}

/* ---- in the program's process: becoming the program ---- */

/* The program's argv and environment, from the memfd only this process reads. */
static int read_program(int fd, struct rb_err *err)
{
	struct warm_program h;
	char *s, *end;

	if (fd_read_exact(fd, &h, sizeof(h)) < 0 || h.bytes > (64u << 20) || h.argc > 4096 ||
	    h.envc > 4096)
		return rb_fail_sys(err, EPROTO, "read the program's arguments");
	s = malloc(h.bytes + 1);
	prog_argv = calloc(h.argc + 1, sizeof(char *));
	prog_envp = calloc(h.envc + 1, sizeof(char *));
	if (!s || !prog_argv || !prog_envp || fd_read_exact(fd, s, h.bytes) < 0)
		return rb_fail_sys(err, ENOMEM, "read the program's arguments");
	s[h.bytes] = '\0';
	end = s + h.bytes;
	s += strlen(s) + 1; /* the interpreter's path: this process is it already */
	for (uint32_t i = 0; i < h.argc + h.envc; i++) {
		if (s >= end)
			return rb_fail_sys(err, EPROTO, "the program's arguments are cut short");
		if (i < h.argc)
			prog_argv[i] = s;
		else
			prog_envp[i - h.argc] = s;
		s += strlen(s) + 1;
	}
	prog_argc = h.argc;
	prog_envc = h.envc;
	return 0;
}

/*
 * What execve would have done, and then the jump back into the
 * interpreter: the environment is the run's, only fds 0-2 stay open (as
 * close-on-exec would have left them), and the process is dumpable again
 * (the uid drop reset it; an exec'd program is dumpable).  All of it runs
 * under the run's seccomp filter, which allows each call.
 */
static int become_program(const struct child_arg *a, struct rb_err *err)
{
	const struct run_mem *rm = a->become_ctx;
	struct rusage ru;
	int r = read_program(rm->program_fd, err);

	if (r < 0)
		return r;
	environ = prog_envp;
	if (syscall(SYS_close_range, 3U, ~0U, 0) < 0)
		return rb_fail_sys(err, errno, "close_range");
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return rb_fail_sys(err, errno, "prctl(PR_SET_DUMPABLE)");
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		start_rss_kb = ru.ru_maxrss; /* as of the fork: what it shares with the template */
	siglongjmp(to_python, 1);
}

/* ---- in the template: its runs ---- */

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* One run's message: the header and its fds; 0 at EOF, -1 for a malformed one. */
static int receive(int ctl, struct warm_msg *m, int *fds, int *ret_n)
{
	union {
		char buf[CMSG_SPACE(WARM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 || errno != EAGAIN ? 0 : -1;
	*ret_n = 0;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		*ret_n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)*ret_n * sizeof(int));
	}
	if ((size_t)n != sizeof(*m) || m->magic != WARM_MAGIC ||
	    m->build != sizeof(struct warm_plan) || m->n_fds != (uint32_t)*ret_n ||
	    *ret_n < WFD_FIXED || (msg.msg_flags & MSG_CTRUNC)) {
		close_fds(fds, *ret_n);
		return -1;
	}
	return 1;
}

static void reply(int fd, pid_t pid, int pidfd, const char *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct warm_reply r = {.pid = pid};
	struct iovec iov = {&r, sizeof(r)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	snprintf(r.msg, sizeof(r.msg), "%s", msg ? msg : "");
	if (pid > 0 && pidfd >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
	}
	(void)sendmsg(fd, &m, MSG_NOSIGNAL);
}

/* The plan from its memfd into @rm, with the template's own fd numbers put in. */
static int load_plan(struct run_mem *rm, const int *fds, int n)
{
	struct warm_plan *p = &rm->plan;
	struct sandbox_plan *sb = &p->sandbox;

	if (fd_read_exact(fds[WFD_PLAN], p, sizeof(*p)) < 0 || p->n_rlimits > 8 ||
	    p->ruleset_index >= n || p->workspace_index >= n || p->cgroup_into_index >= n ||
	    sb->n_cgroup_join < 0 || sb->n_cgroup_join > CGROUP_CONTROLLERS)
		return -EPROTO;
	sb->landlock.ruleset_fd = p->ruleset_index >= WFD_FIXED ? fds[p->ruleset_index] : -1;
	sb->ns.workspace_fd = p->workspace_index >= WFD_FIXED ? fds[p->workspace_index] : -1;
	sb->cgroup_into_fd = p->cgroup_into_index >= WFD_FIXED ? fds[p->cgroup_into_index] : -1;
	for (int i = 0; i < sb->n_cgroup_join; i++) {
		if (p->cgroup_join_index[i] < WFD_FIXED || p->cgroup_join_index[i] >= n)
			return -EPROTO;
		sb->cgroup_join_fds[i] = fds[p->cgroup_join_index[i]];
	}
	memset(&sb->cfg.read_paths, 0, sizeof(sb->cfg.read_paths));
	sb->cfg.workspace = sb->cfg.python = NULL;
	sb->clone_flags = p->clone_flags;
	rm->spec = (struct launch_spec){
	    .cwd_fd = fds[WFD_CWD],
	    .rlimits = p->rlimits,
	    .n_rlimits = p->n_rlimits,
	    .sandbox = sb,
	};
	rm->program_fd = fds[WFD_PROGRAM];
	rm->arg = (struct child_arg){
	    .spec = &rm->spec,
	    .p = {.in = {fds[WFD_STDIN], -1},
		  .out = {-1, fds[WFD_STDOUT]},
		  .err = {-1, fds[WFD_STDERR]},
		  .report = {-1, fds[WFD_REPORT]},
		  .status = {-1, fds[WFD_STATUS]},
		  .life = {fds[WFD_LIFE], -1}},
	    .parent = getpid(),
	    .become = become_program,
	    .sync_fd = -1,
	    .become_ctx = rm,
	};
	return 0;
}

static char *map_stack(void)
{
	char *s = mmap(NULL, CHILD_STACK_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (s == MAP_FAILED)
		return NULL;
	if (mprotect(s, 4096, PROT_NONE) < 0) {
		munmap(s, CHILD_STACK_BYTES);
		return NULL;
	}
	return s;
}

/*
 * The run's first process.  Without a pid namespace it is the program: a
 * copy of the template (a plain clone on this very stack).  With one it is
 * the namespace's init, on a stack of its own in the template's memory; the
 * template waits on @sync until it has forked the program and finished its
 * own set-up, so that the program's copy of the template's memory is taken
 * while the template stands still in serve_one().
 */
static pid_t start_first(struct run_mem *rm, char *stack, int *ret_pidfd)
{
	unsigned long flags = rm->plan.clone_flags;
	int cgroup_fd = rm->plan.sandbox.cgroup_into_fd;
	pid_t pid;

	/* cgroup v2: created in the run's group, as a cold run's first process is. */
	if (cgroup_fd >= 0)
		return child_clone_into(child_main, &rm->arg, stack,
					flags | CLONE_PIDFD | (stack ? CLONE_VM : 0), cgroup_fd,
					ret_pidfd);
	if (!stack) {
		pid = (pid_t)syscall(SYS_clone, SIGCHLD | flags | CLONE_PIDFD, 0, ret_pidfd, 0, 0);
		if (pid == 0)
			_exit(child_main(&rm->arg));
		return pid;
	}
	return clone(child_main, stack + CHILD_STACK_BYTES,
		     (int)(CLONE_VM | CLONE_PIDFD | SIGCHLD | flags), &rm->arg, ret_pidfd);
}

static void add_kid(pid_t pid, bool alone, const int *fds, char *stack)
{
	if (n_kids == MAX_KIDS)
		return; /* its end is still seen by runbox; only the reaping waits */
	kids[n_kids++] = (struct kid){
	    .pid = pid,
	    .alone = alone,
	    .status_fd = alone ? fcntl(fds[WFD_STATUS], F_DUPFD_CLOEXEC, 3) : -1,
	    .life_fd = alone ? fcntl(fds[WFD_LIFE], F_DUPFD_CLOEXEC, 3) : -1,
	    .stack = stack,
	};
}

enum { SERVED, IN_PROGRAM, STOP };

/*
 * Start the run's first process and, for an init, wait until it has forked
 * the program.  Returns its pid (or -1 with errno) in the template, and 0
 * in the program's copy, which comes back here through become_program():
 * this frame is the one the template stands still in while the program's
 * copy of its memory is taken, so it is whole in that copy.
 */
static pid_t start_run(struct run_mem *rm, char *stack, int sync_rd, int *ret_pidfd)
{
	pid_t pid;
	char c;

	if (sigsetjmp(to_python, 0))
		return 0;
	pid = start_first(rm, stack, ret_pidfd);
	if (rm->arg.sync_fd >= 0)
		close(rm->arg.sync_fd);
	if (pid > 0 && sync_rd >= 0)
		while (read(sync_rd, &c, 1) < 0 && errno == EINTR)
			;
	return pid;
}

/* What a run's start left in the template: its fds, its plan (and, on failure, the stack). */
static void forget_run(struct run_mem *rm, char *stack, int *fds, int n, int sync_rd)
{
	if (rm != MAP_FAILED)
		munmap(rm, run_mem_bytes());
	if (stack)
		munmap(stack, CHILD_STACK_BYTES);
	if (sync_rd >= 0)
		close(sync_rd);
	close_fds(fds, n);
	current = NULL;
}

/* Make one run's first process; IN_PROGRAM in the program's own copy. */
static int serve_one(int ctl, int events)
{
	int fds[WARM_MAX_FDS], n = 0, pidfd = -1, sync[2] = {-1, -1}, r;
	struct warm_msg m;
	struct run_mem *rm;
	char *stack = NULL;
	pid_t pid;

	r = receive(ctl, &m, fds, &n);
	if (r <= 0)
		return r == 0 ? STOP : SERVED;
	/* runbox gave up on this run while it waited here (its lifeline is closed): drop it. */
	if (poll(&(struct pollfd){.fd = fds[WFD_LIFE], .events = POLLIN}, 1, 0) != 0) {
		close_fds(fds, n);
		return SERVED;
	}
	rm =
	    mmap(NULL, run_mem_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rm == MAP_FAILED || load_plan(rm, fds, n) < 0 ||
	    ((rm->plan.clone_flags & CLONE_NEWPID) &&
	     (!(stack = map_stack()) || pipe2(sync, O_CLOEXEC) < 0))) {
		reply(fds[WFD_REPLY], -ENOMEM, -1, "the template could not map a run's start");
		forget_run(rm, stack, fds, n, sync[0]);
		return SERVED;
	}
	rm->arg.sync_fd = sync[1];
	rm->arg.init_stack = stack;
	current = rm;
	current_stack = stack;
	pid = start_run(rm, stack, sync[0], &pidfd);
	if (pid == 0)
		return IN_PROGRAM;
	reply(fds[WFD_REPLY], pid > 0 ? pid : -errno, pidfd,
	      pid > 0 ? NULL : "the template could not start a run");
	if (pid > 0) {
		add_kid(pid, stack == NULL, fds, stack);
		stack = NULL; /* the kid's now, until it is reaped */
		(void)write(events, "u", 1);
	}
	if (pidfd >= 0)
		close(pidfd);
	forget_run(rm, stack, fds, n, sync[0]);
	return SERVED;
}

/* Reap every ended run; report a lone program's status as its init would. */
static void reap_kids(void)
{
	struct rusage ru;
	int ws;
	pid_t pid;

	while ((pid = wait4(-1, &ws, WNOHANG, &ru)) > 0)
		for (size_t i = 0; i < n_kids; i++) {
			struct kid *k = &kids[i];

			if (k->pid != pid)
				continue;
			struct launch_status st = {ws, (int)ru.ru_maxrss, 0};

			if (k->alone && fd_write_all(k->status_fd, &st, sizeof(st)) < 0)
				(void)0; /* runbox is gone: nobody to tell */
			if (k->status_fd >= 0)
				close(k->status_fd);
			if (k->life_fd >= 0)
				close(k->life_fd);
			if (k->stack)
				munmap(k->stack, CHILD_STACK_BYTES);
			kids[i] = kids[--n_kids];
			break;
		}
}

/* A lone program whose runbox is gone (its lifeline closed) is ended with its group. */
static void end_orphaned(const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n_kids; k++)
			if (p[i].revents && kids[k].life_fd == p[i].fd) {
				kill(-kids[k].pid, SIGKILL);
				kill(kids[k].pid, SIGKILL);
				close(kids[k].life_fd);
				kids[k].life_fd = -1;
			}
}

static bool lone_kids(void)
{
	for (size_t i = 0; i < n_kids; i++)
		if (kids[i].alone)
			return true;
	return false;
}

/* In the program's copy: drop what the start left of the template's loop. */
static void leave_template(void)
{
	if (current)
		munmap(current, run_mem_bytes());
	if (current_stack)
		munmap(current_stack, CHILD_STACK_BYTES);
	current = NULL;
	current_stack = NULL;
	memset(kids, 0, sizeof(kids));
	n_kids = 0;
}

/*
 * The template's loop.  Returns 0 in a run's program (which the interpreter
 * then runs), 1 in the template when its control socket is closed by every
 * holder and no lone program of its is left, -1 when it cannot go on.
 */
EXPORT int runbox_template_serve(int ctl, int events)
{
	sigset_t chld;
	int sfd;
	bool open_ctl = true;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return -1;
	while (open_ctl || lone_kids()) {
		struct pollfd p[2 + MAX_KIDS];
		struct signalfd_siginfo si;
		size_t n = 0;

		p[n++] = (struct pollfd){.fd = open_ctl ? ctl : -1, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (size_t i = 0; i < n_kids; i++)
			if (kids[i].life_fd >= 0)
				p[n++] = (struct pollfd){.fd = kids[i].life_fd, .events = POLLIN};
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			reap_kids();
		}
		end_orphaned(p + 2, n - 2);
		if (!p[0].revents)
			continue;
		switch (serve_one(ctl, events)) {
		case IN_PROGRAM:
			close(sfd); /* closed already by close_range: harmless */
			leave_template();
			return 0;
		case STOP:
			open_ctl = false;
			break;
		}
	}
	return 1;
}

/* ---- in the program's process, for the interpreter (run/template.py) ---- */

EXPORT unsigned runbox_template_argc(void)
{
	return prog_argc;
}

EXPORT const char *runbox_template_argv(unsigned i)
{
	return i < prog_argc ? prog_argv[i] : NULL;
}

EXPORT unsigned runbox_template_envc(void)
{
	return prog_envc;
}

EXPORT const char *runbox_template_env(unsigned i)
{
	return i < prog_envc ? prog_envp[i] : NULL;
}

/* ---- in the program's process: its end ---- */

/*
 * What the program's process knows about how its interpreter will end,
 * for end_now().  @pid is the program's own (a process it forks inherits
 * all of this and must neither report for it nor skip anything).
 */
static struct {
	pid_t pid;
	unsigned long thread;	/* the main thread's ident */
	PyObject *default_hook; /* sys.__excepthook__ */
	bool raised;		/* __main__ raised, and the default hook printed it */
	bool unsure;		/* an end whose status the interpreter alone knows */
	bool ready;		/* at exit, __main__ had come back and the streams were flushed */
} fin;

/*
 * At exit(), once the interpreter is done and before the kernel takes the
 * process apart: flush C's streams, close the standard fds (the reader's
 * EOF), and tell the init the status (see CHILD_EXIT_NR).  Where no init
 * listens, the call just fails and the exit goes on as usual.
 */
static void exit_early(int status, void *arg)
{
	struct rusage ru = {0};

	(void)arg;
	if (getpid() != fin.pid)
		return; /* a process the program forked: its end is not the run's */
	fflush(NULL);
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	getrusage(RUSAGE_SELF, &ru);
	syscall(CHILD_EXIT_NR, CHILD_EXIT_MAGIC, (unsigned long)status & 0xff,
		(unsigned long)ru.ru_maxrss, (unsigned long)start_rss_kb);
}

/*
 * "sys.excepthook" is raised when the interpreter prints an exception that
 * nothing caught.  With no Python frame running in the main thread, that
 * is __main__'s own end (a SystemExit never gets here: the interpreter
 * exits for it before raising this event), and the status will be 1 if the
 * hook is the default one, which cannot exit differently; the status of a
 * KeyboardInterrupt, or of an end through another hook, stays the
 * interpreter's to decide.
 */
static void note_uncaught(PyObject *args)
{
	PyObject *type;

	if (PyEval_GetFrame() != NULL || PyThread_get_thread_ident() != fin.thread)
		return;
	if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) != 4) {
		fin.unsure = true;
		return;
	}
	type = PyTuple_GET_ITEM(args, 1);
	if (PyTuple_GET_ITEM(args, 0) != fin.default_hook || !PyType_Check(type) ||
	    PyType_IsSubtype((PyTypeObject *)type, (PyTypeObject *)PyExc_KeyboardInterrupt))
		fin.unsure = true;
	else
		fin.raised = true;
}

/*
 * "cpython.PyInterpreterState_Clear", in the main interpreter while it
 * finalizes, is raised once everything a program can see of its end is
 * over: atexit functions, the flush of sys.stdout and sys.stderr, the
 * teardown of the program's modules with their finalizers, and the
 * clearing of sys and builtins.  What follows (the interpreter's own
 * state, and the clearing of every interned string) writes to objects the
 * template made, and every page written is copied first: tens of
 * milliseconds spent on nothing anyone sees.  When the status is certain
 * the process exits here with it, as Py_RunMain would have; exit() still
 * runs C's exit functions.
 */
static void end_now(void)
{
	if (!fin.ready || fin.unsure || getpid() != fin.pid || !_Py_IsFinalizing() ||
	    PyInterpreterState_Get() != PyInterpreterState_Main())
		return;
	exit(fin.raised ? 1 : 0);
}

static int watch_end(const char *event, PyObject *args, void *data)
{
	(void)data;
	if (fin.pid == 0)
		return 0; /* the template */
	if (event[0] == 's' && strcmp(event, "sys.excepthook") == 0) {
		note_uncaught(args);
	} else if (event[0] == 'c' && strcmp(event, "cpython.PyInterpreterState_Clear") == 0) {
		end_now();
	}
	return 0;
}

/*
 * In the template: keep the copies of module dicts that the interpreter
 * holds for single-phase extension modules (PyModuleDef.m_base.m_copy)
 * for good.  Its teardown frees them, which writes to every object in
 * them; pinned, each costs a program one reference count.  Nothing can
 * see them.  Then watch for the program's end (see end_now).  0, or -1
 * with a Python exception set.
 */
EXPORT int runbox_template_prepare_end(PyObject *modules)
{
	PyObject *it = PyObject_GetIter(modules), *m;

	if (!it)
		return -1;
	while ((m = PyIter_Next(it))) {
		PyModuleDef *def = PyModule_Check(m) ? PyModule_GetDef(m) : NULL;

		if (def && def->m_base.m_copy)
			Py_INCREF(def->m_base.m_copy);
		Py_DECREF(m);
	}
	Py_DECREF(it);
	if (PyErr_Occurred())
		return -1;
	return PySys_AddAuditHook(watch_end, NULL);
}

/* In the program's process, its interpreter ready: report its exit early. */
EXPORT void runbox_template_arm_exit(void)
{
	fin.pid = getpid();
	fin.thread = PyThread_get_thread_ident();
	fin.default_hook = PySys_GetObject("__excepthook__");
	Py_XINCREF(fin.default_hook);
	on_exit(exit_early, NULL);
}

/*
 * From the program's last atexit function: whether __main__ came back
 * (returned, or raised what the hook printed) rather than exiting through
 * SystemExit or Py_Exit(), and whether sys.stdout and sys.stderr flushed
 * cleanly, as the interpreter's next step, the flush whose failure makes
 * the status 120, will then find them.
 */
EXPORT void runbox_template_end_ready(int ready)
{
	fin.ready = ready != 0;
}

/* The CPython version this object was built for (PY_VERSION_HEX). */
EXPORT unsigned long runbox_template_python(void)
{
	return PY_VERSION_HEX;
}

/*
 * Make the interpreter run the program as __main__ once site
 * initialisation is over, as `python3 @arg0` from the workspace would: the
 * interpreter reads the script from its configuration then (run_filename,
 * made absolute at start as @run_filename is; argv[0] for sys.path[0]),
 * where the template's own name was put at its start.  The strings are the
 * raw allocator's, which the configuration is freed with.  0, or -1.  Call
 * with the GIL held.
 */
EXPORT int runbox_template_set_main(const char *run_filename, const char *arg0_bytes)
{
	PyConfig *c = (PyConfig *)_Py_GetConfig();
	wchar_t *run = Py_DecodeLocale(run_filename, NULL),
		*arg0 = Py_DecodeLocale(arg0_bytes, NULL);

	if (!c || !run || !arg0 || c->argv.length < 1) {
		PyMem_RawFree(run);
		PyMem_RawFree(arg0);
		return -1;
	}
	c->run_filename = run;
	c->argv.items[0] = arg0;
	return 0;
}
