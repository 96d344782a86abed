/*
 * launch: the fork-and-exec implementation of launch.h: the parent's half.
 *
 * It opens the run's pipes, maps what the children run on, creates the
 * first process with clone() (the namespaces of the plan included) and
 * waits for its report: EOF means the program was exec'd; a struct rb_err
 * means a step of its set-up failed.  What the children do, in which order
 * and why, is run/child.c.
 */
#define _GNU_SOURCE
#include "run/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/prefault.h"
#include "run/child.h"
#include "run/warm.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_pipes(struct child_pipes *p)
{
	int *all[] = {&p->in[0],     &p->in[1],	    &p->out[0],	   &p->out[1],
		      &p->err[0],    &p->err[1],    &p->report[0], &p->report[1],
		      &p->status[0], &p->status[1], &p->life[0],   &p->life[1]};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		close_fd(all[i]);
}

static int open_pipes(struct child_pipes *p, struct rb_err *err)
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

#define PREFAULT_STACK_BYTES (24 * 1024) /* what the deepest set-up path uses, rounded up */
#define GUARD_BYTES	     4096

/*
 * What the children of one launch run on, mapped by the parent before any
 * rlimit applies (the init cannot map under RLIMIT_AS when runbox itself,
 * an ASan build, already maps more).  The parent writes @arg before the
 * clone and never again, so an init that shares its memory reads it safely
 * for its whole life; @init_stack is that init's (see start_child).
 */
struct child_mem {
	char program_stack[CHILD_STACK_BYTES];
	char init_stack[CHILD_STACK_BYTES];
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
	prefault_pages(m->program_stack + CHILD_STACK_BYTES - PREFAULT_STACK_BYTES,
		       PREFAULT_STACK_BYTES);
	prefault_pages(m->init_stack + CHILD_STACK_BYTES - PREFAULT_STACK_BYTES,
		       PREFAULT_STACK_BYTES + child_mem_bytes() - offsetof(struct child_mem, arg));
	return m;
}

/*
 * Whether the namespace's init may share runbox's memory.  It never execs,
 * so it outlives the vfork-style sharing of child_spawn_shared(); a copy (fork)
 * costs a millisecond or two on these VMs in page-table copies, copy-on-write
 * faults on both sides and the teardown of the copy, against a one-shot run
 * of some 30 ms.  Not with a user namespace: writing its own maps makes the
 * child dumpable for a moment (see ns_enter_user), and with shared memory
 * that would be runbox's.
 */
static bool init_shares_memory(unsigned long flags)
{
	return CHILD_INIT_CAN_SHARE_MEMORY && (flags & CLONE_NEWPID) && !(flags & CLONE_NEWUSER);
}

/*
 * The same three ways as start_child, with the child created in the run's
 * control group (cgroup v2): nothing to migrate, no lock of the kernel's
 * cgroup tables to wait for.
 */
static pid_t start_in_group(struct child_mem *m, unsigned long flags, bool *shared, int cgroup_fd)
{
	pid_t pid;

	if (!(flags & CLONE_NEWPID))
		return child_clone_into(child_main, &m->arg, m->init_stack,
					flags | CLONE_VFORK |
					    (CHILD_INIT_CAN_SHARE_MEMORY ? CLONE_VM : 0),
					cgroup_fd, NULL);
	pid = child_clone_into(child_main, &m->arg, m->init_stack, flags | (*shared ? CLONE_VM : 0),
			       cgroup_fd, NULL);
	/* A kernel that refuses CLONE_VM with these flags gets a copy. */
	if (pid < 0 && errno == EINVAL && *shared) {
		*shared = false;
		pid = child_clone_into(child_main, &m->arg, m->init_stack, flags, cgroup_fd, NULL);
	}
	return pid;
}

/*
 * Without a pid namespace the child execs the program itself and shares
 * our memory until it does.  With one it becomes the namespace's init and
 * never execs: it runs beside us on its own stack in our memory (then
 * *ret_mem must stay mapped until it is reaped), or gets a copy.
 */
static pid_t start_child(const struct launch_spec *spec, const struct child_pipes *p,
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
	m->arg = (struct child_arg){
	    .spec = spec, .p = *p, .stack = m->program_stack, .parent = getpid(), .sync_fd = -1};
	if (spec->sandbox->cgroup_into_fd >= 0) {
		pid = start_in_group(m, flags, &shared, spec->sandbox->cgroup_into_fd);
	} else if (!(flags & CLONE_NEWPID)) {
		pid = child_spawn_shared(child_main, &m->arg, m->init_stack, flags);
	} else {
		pid = shared ? clone(child_main, m->init_stack + CHILD_STACK_BYTES,
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

/* Read the child's set-up report: EOF means execve succeeded (warm: the program started). */
static int read_report(int fd, pid_t pid, bool ours, struct rb_err *err)
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
	if (ours)
		waitpid(pid, NULL, 0); /* a template reaps its own */
	if (got != sizeof(child_err))
		return rb_fail_sys(err, EIO, "the program's set-up failed without a report");
	*err = child_err;
	err->msg[sizeof(err->msg) - 1] = '\0';
	return rb_wrap(err, -(err->errnum ? err->errnum : EIO), "start the program");
}

static void keep_parent_ends(const struct child_pipes *p, struct launched *ret)
{
	ret->stdin_fd = p->in[1];
	ret->stdout_fd = p->out[0];
	ret->stderr_fd = p->err[0];
	fcntl(ret->stdin_fd, F_SETFL, O_NONBLOCK);
	fcntl(ret->stdout_fd, F_SETFL, O_NONBLOCK);
	fcntl(ret->stderr_fd, F_SETFL, O_NONBLOCK);
	if (ret->pidfd < 0)
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

/*
 * The run's first process from the warm template, when it takes the run:
 * 1, or 0 when it does not (the caller starts it cold), or < 0.
 */
static int start_warm(const struct launch_spec *spec, const struct child_pipes *p,
		      struct launched *ret, struct rb_err *err)
{
	struct warm_fds fds = {p->in[0],     p->out[1],	   p->err[1],
			       p->report[1], p->status[1], p->life[0]};
	int r = warm_start_first(spec->warm, (enum warm_kind)spec->warm_kind, spec, &fds, &ret->pid,
				 &ret->pidfd, err);

	if (r == -EAGAIN)
		return 0;
	ret->warm = r >= 0;
	return r < 0 ? r : 1;
}

int launch_start(const struct launch_spec *spec, struct launched *ret, struct rb_err *err)
{
	struct child_mem *mem = NULL;
	struct child_pipes p;
	pid_t pid;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->stdin_fd = ret->stdout_fd = ret->stderr_fd = ret->pidfd = ret->status_fd = -1;
	ret->lifeline_fd = -1;
	r = open_pipes(&p, err);
	if (r < 0)
		return r;
	r = spec->warm ? start_warm(spec, &p, ret, err) : 0;
	/*
	 * A template that did not take the run may hold copies of these pipes
	 * in its socket's queue: a cold start gets pipes of its own, and the
	 * closed lifeline tells a template that wakes up late to drop the run.
	 */
	if (r <= 0 && spec->warm) {
		close_pipes(&p);
		if (r == 0)
			r = open_pipes(&p, err);
	}
	if (r < 0)
		return r;
	pid = r > 0 ? ret->pid : start_child(spec, &p, &mem);
	if (pid < 0) {
		r = rb_fail_fork(err, errno, "start a run's first process");
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
	r = read_report(p.report[0], pid, !ret->warm, err);
	close_fd(&p.report[0]);
	if (r < 0) {
		close_pipes(&p);
		release_child_mem(ret); /* read_report reaped the child */
		close_fd(&ret->pidfd);
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
