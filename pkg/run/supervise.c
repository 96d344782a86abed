/*
 * supervise: a poll loop over the program's pipes and its pidfd, a hard
 * deadline, and a kill of the whole tree (its session, its uid when it has
 * one of its own, and every orphan reparented to runbox as subreaper).
 */
#define _GNU_SOURCE
#include "run/supervise.h"
#include "base/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long pipes may stay open after the tree is killed (an escaped holder). */
#define DRAIN_GRACE_S 0.5
/* How long a warm run's status may lag its end (the template reaps, then reports). */
#define STATUS_WAIT_MS 2000
/* Poll period when the kernel has no pidfd. */
#define FALLBACK_TICK_MS 10

int supervise_become_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static int capture_init(struct capture *c, size_t cap, struct rb_err *err)
{
	c->cap = cap;
	c->len = 0;
	c->truncated = false;
	c->data = malloc(cap + 1);
	if (!c->data)
		return rb_fail_sys(err, ENOMEM, "allocate an output buffer");
	c->data[0] = '\0';
	return 0;
}

/*
 * Where bytes past the cap are read and dropped, shared by every drain (its
 * contents are never read).  Not on the stack: with stack-clash protection
 * a 64 KiB frame touches sixteen fresh pages on every run, each a fault of
 * several microseconds on these VMs; in .bss a page is touched only once a
 * program goes over its cap.
 */
static char sink[65536];

/* Read what is there; past the cap, read and drop.  Returns 1 on EOF. */
static int drain(int fd, struct capture *c)
{
	for (;;) {
		size_t room = c->cap - c->len;
		char *dst = room ? c->data + c->len : sink;
		ssize_t r = read(fd, dst, room ? room : sizeof(sink));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0; /* EAGAIN */
		if (r == 0)
			return 1;
		c->total += (size_t)r;
		if (room)
			c->len += (size_t)r;
		else
			c->truncated = true;
	}
}

struct loop {
	struct launched *l;
	const struct supervise_opts *o;
	struct supervise_result *res;
	size_t stdin_off;
	bool exited, killed;
	double deadline, drain_until;
	double start, next_progress; /* next_progress: 0 when no one asked */
};

static void kill_tree(struct loop *s);

static void feed_stdin(struct loop *s)
{
	while (s->stdin_off < s->o->stdin_len) {
		ssize_t w = write(s->l->stdin_fd, s->o->stdin_data + s->stdin_off,
				  s->o->stdin_len - s->stdin_off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0)
			break; /* EPIPE: the program closed its stdin */
		s->stdin_off += (size_t)w;
	}
	close(s->l->stdin_fd);
	s->l->stdin_fd = -1;
}

/*
 * A run a warm template made is not our child: its end shows on its pidfd,
 * and the program's status comes on the status pipe, from the namespace's
 * init or, without one, from the template once it has reaped the program
 * (a moment later: waited for, within a bound).  True once it has ended.
 */
static bool ended_elsewhere(struct loop *s, int flags)
{
	struct pollfd p = {.fd = s->l->pidfd, .events = POLLIN};
	struct launch_status st;
	int r;

	do
		r = poll(&p, 1, flags & WNOHANG ? 0 : -1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return false;
	s->res->wait_status = W_EXITCODE(0, SIGKILL); /* what no report means: it was killed */
	p = (struct pollfd){.fd = s->l->status_fd, .events = POLLIN};
	if (poll(&p, 1, STATUS_WAIT_MS) == 1 &&
	    read(s->l->status_fd, &st, sizeof(st)) == sizeof(st)) {
		s->res->wait_status = st.wait_status;
		s->res->max_rss_kb = st.max_rss_kb;
		s->res->start_rss_kb = st.start_rss_kb;
	}
	return true;
}

static void reap_main(struct loop *s, int flags)
{
	struct launch_status ls;
	struct rusage ru;
	int st;
	pid_t r;

	if (s->exited)
		return;
	if (s->l->warm) {
		if (!ended_elsewhere(s, flags))
			return;
		s->exited = true;
		kill_tree(s);
		s->drain_until = clock_now() + DRAIN_GRACE_S;
		return;
	}
	do
		r = wait4(s->l->pid, &st, flags, &ru);
	while (r < 0 && errno == EINTR);
	if (r != s->l->pid)
		return;
	s->exited = true;
	s->res->wait_status = st;
	s->res->max_rss_kb = (int)ru.ru_maxrss;
	/* Under a pid-namespace init, the program's own status comes through a pipe. */
	if (s->l->status_fd >= 0 && read(s->l->status_fd, &ls, sizeof(ls)) == sizeof(ls)) {
		s->res->wait_status = ls.wait_status;
		s->res->max_rss_kb = ls.max_rss_kb;
	}
	kill_tree(s);
	s->drain_until = clock_now() + DRAIN_GRACE_S;
}

/* Build the pollfd set; returns how many. */
static nfds_t poll_set(struct loop *s, struct pollfd *p)
{
	nfds_t n = 0;

	p[n++] = (struct pollfd){.fd = s->l->stdout_fd, .events = POLLIN};
	p[n++] = (struct pollfd){.fd = s->l->stderr_fd, .events = POLLIN};
	p[n++] = (struct pollfd){.fd = s->l->stdin_fd, .events = POLLOUT};
	p[n++] = (struct pollfd){.fd = s->exited ? -1 : s->l->pidfd, .events = POLLIN};
	p[n++] = (struct pollfd){.fd = s->exited ? -1 : s->o->cancel_fd, .events = POLLIN};
	return n;
}

static int poll_timeout_ms(const struct loop *s)
{
	double until = s->exited ? s->drain_until : s->deadline;
	double ms;

	if (!s->exited && s->next_progress > 0 && s->next_progress < until)
		until = s->next_progress;
	ms = (until - clock_now()) * 1000.0;

	if (ms < 0)
		ms = 0;
	if (!s->exited && s->l->pidfd < 0 && ms > FALLBACK_TICK_MS)
		ms = FALLBACK_TICK_MS;
	return (int)ms + 1;
}

static bool pipes_open(const struct loop *s)
{
	return s->l->stdout_fd >= 0 || s->l->stderr_fd >= 0;
}

static void on_ready(struct loop *s, const struct pollfd *p)
{
	if (p[0].revents && drain(s->l->stdout_fd, &s->res->out)) {
		close(s->l->stdout_fd);
		s->l->stdout_fd = -1;
	}
	if (p[1].revents && drain(s->l->stderr_fd, &s->res->err)) {
		close(s->l->stderr_fd);
		s->l->stderr_fd = -1;
	}
	if (p[2].revents)
		feed_stdin(s);
	if (p[3].revents || s->l->pidfd < 0)
		reap_main(s, WNOHANG);
	if (p[4].revents && !s->exited) {
		s->res->cancelled = true;
		kill_tree(s);
		reap_main(s, 0);
	}
}

static void on_deadline(struct loop *s)
{
	s->res->timed_out = true;
	kill_tree(s);
	reap_main(s, 0);
}

/* Tell the caller how the run stands, when its period has passed. */
static void report_progress(struct loop *s)
{
	double now = clock_now();
	struct run_progress p;

	if (!s->o->progress || s->exited || s->next_progress <= 0 || now < s->next_progress)
		return;
	p = (struct run_progress){.elapsed_s = now - s->start,
				  .stdout_bytes = s->res->out.total,
				  .stderr_bytes = s->res->err.total};
	s->o->progress(&p, s->o->progress_ctx);
	s->next_progress = now + s->o->progress_period_s;
}

static void loop_run(struct loop *s)
{
	struct pollfd p[5];

	if (s->o->stdin_len == 0)
		feed_stdin(s);
	/* Done when the program has ended and its pipes are closed (or given up on). */
	while (!s->exited || (pipes_open(s) && clock_now() < s->drain_until)) {
		nfds_t n = poll_set(s, p);
		int r = poll(p, n, poll_timeout_ms(s));

		if (r > 0)
			on_ready(s, p);
		if (!s->exited && clock_now() >= s->deadline)
			on_deadline(s);
		if (!s->exited && !pipes_open(s))
			reap_main(s, WNOHANG);
		report_progress(s);
	}
}

int supervise_run(struct launched *l, const struct supervise_opts *opts,
		  struct supervise_result *ret, struct rb_err *err)
{
	struct loop s = {.l = l, .o = opts, .res = ret};
	double start = clock_now();
	int r;

	memset(ret, 0, sizeof(*ret));
	r = capture_init(&ret->out, opts->max_output_bytes, err);
	if (r >= 0)
		r = capture_init(&ret->err, opts->max_output_bytes, err);
	if (r < 0) {
		kill_tree(&s);
		reap_main(&s, 0);
		launch_close(l);
		return r;
	}
	s.deadline = start + opts->timeout_s;
	s.start = start;
	if (opts->progress && opts->progress_period_s > 0)
		s.next_progress = start + opts->progress_period_s;
	loop_run(&s);
	if (!s.killed)
		kill_tree(&s);
	launch_close(l);
	ret->duration_ms = (clock_now() - start) * 1000.0;
	ret->out.data[ret->out.len] = '\0';
	ret->err.data[ret->err.len] = '\0';
	return 0;
}

void supervise_result_free(struct supervise_result *r)
{
	free(r->out.data);
	free(r->err.data);
	r->out.data = r->err.data = NULL;
}

/* ---- killing the tree ---- */

static int kill_uid_child(void *arg)
{
	uid_t uid = *(const uid_t *)arg;

	/* Raw calls: this child shares runbox's memory (see kill_uid). */
	if (syscall(SYS_setresuid, uid, uid, uid) == 0)
		syscall(SYS_kill, -1, SIGKILL);
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * Kill every process of @uid from a child that switched to it: kill(-1)
 * reaches exactly the processes that uid may signal, and the kernel holds
 * the task list while it does, so a fork bomb cannot outrun it.  The child
 * shares runbox's memory and suspends it until done (CLONE_VM|CLONE_VFORK):
 * a plain fork costs a millisecond here, this a few microseconds.
 */
static void kill_uid(uid_t uid)
{
	static const size_t size = 64 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	pid_t pid;

	if (stack == MAP_FAILED)
		return;
#if defined(__SANITIZE_ADDRESS__)
	/* ASan cannot follow a switch to a stack it did not allocate. */
	pid = fork();
	if (pid == 0)
		kill_uid_child(&uid);
#else
	pid = clone(kill_uid_child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &uid);
#endif
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	munmap(stack, size);
}

/* Kill and reap each pid listed in @buf, except @keep and @spare's; returns how many. */
static int kill_listed(char *buf, pid_t keep, const pid_t *spare)
{
	int found = 0;

	for (char *p = buf, *end; *p; p = end) {
		pid_t pid = (pid_t)strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid <= 0 || pid == keep || pid == spare[0] || pid == spare[1] ||
		    pid == spare[2] || pid == spare[3])
			continue;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		found++;
	}
	return found;
}

/*
 * Kill and reap the orphans reparented to runbox (it is a subreaper), found
 * in each of its threads' /proc children lists.  Returns how many.
 */
static int sweep_orphans(pid_t keep, const pid_t *spare)
{
	char path[300], buf[4096];
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* A full buffer may end inside a pid: drop it; the caller sweeps again. */
		if ((size_t)n == sizeof(buf) - 1 && strrchr(buf, ' '))
			*strrchr(buf, ' ') = '\0';
		found += kill_listed(buf, keep, spare);
	}
	closedir(d);
	return found;
}

/* The start of /proc/<pid>/@what, NUL-terminated; false when it is gone. */
static bool read_proc(const char *pid, const char *what, char *buf, size_t size)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * From /proc/<pid>/status: the real uid (not the owner of the /proc files: a
 * process that makes itself non-dumpable has them owned by root, whatever
 * its uid, and would hide from a sweep that looked there), and whether it
 * is dead: a zombie with no thread left.  A main thread that called
 * pthread_exit() leaves the process a "zombie" whose other threads still
 * run; that one is alive, and a kill ends it.
 */
static bool proc_status(const char *pid, uid_t *ret_uid, bool *ret_dead)
{
	char buf[4096], *uid, *state, *threads;

	if (!read_proc(pid, "status", buf, sizeof(buf)) || !(uid = strstr(buf, "\nUid:")) ||
	    !(state = strstr(buf, "\nState:")) || !(threads = strstr(buf, "\nThreads:")))
		return false;
	*ret_uid = (uid_t)strtoul(uid + 5, NULL, 10);
	state += 7;
	while (*state == ' ' || *state == '\t')
		state++;
	*ret_dead = *state == 'Z' && strtoul(threads + 9, NULL, 10) <= 1;
	return true;
}

unsigned supervise_uid_tasks(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;
	char buf[4096], *u, *t;

	if (!d)
		return 0;
	/* RLIMIT_NPROC counts by real uid, the first of "Uid:", threads included. */
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
		    read_proc(de->d_name, "status", buf, sizeof(buf)) &&
		    (u = strstr(buf, "\nUid:")) && (t = strstr(buf, "\nThreads:")) &&
		    (uid_t)strtoul(u + 5, NULL, 10) == uid)
			n += (unsigned)strtoul(t + 9, NULL, 10);
	closedir(d);
	return n;
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks), or 0 when it is gone. */
static unsigned long long start_ticks(const char *pid)
{
	char buf[1024], *p;
	unsigned long long t = 0;

	if (!read_proc(pid, "stat", buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

unsigned long long supervise_now_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * (unsigned long long)hz +
	       (unsigned long long)ts.tv_nsec / (1000000000ULL / (unsigned long long)hz);
}

/* Processes a sweep has already sent SIGKILL (pid and start time). */
struct swept {
	struct {
		pid_t pid;
		unsigned long long start;
	} v[256];
	size_t n;
};

/* True the first time @pid (started at @start) is seen; remembered while there is room. */
static bool first_kill(struct swept *sw, pid_t pid, unsigned long long start)
{
	for (size_t i = 0; i < sw->n; i++)
		if (sw->v[i].pid == pid && sw->v[i].start == start)
			return false;
	if (sw->n < sizeof(sw->v) / sizeof(sw->v[0])) {
		sw->v[sw->n].pid = pid;
		sw->v[sw->n].start = start;
		sw->n++;
	}
	return true;
}

/* What one pass of kill_own_uid_since() saw. */
struct pass {
	int fresh; /* processes killed that no earlier pass had */
	int live;  /* processes of the run alive when looked at (killed now) */
	/*
	 * Traces of processes that may have been the run's: listed but gone
	 * before a look, or zombies of the uid that started after the run.
	 * An incarnation of a chain of forks leaves one: its successor may
	 * have been born after the listing, under a pid the listing had
	 * passed (pids wrap).
	 */
	int traces;
};

static struct pass kill_own_uid_pass(unsigned long long since, struct swept *sw)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	struct pass p = {0, 0, 0};

	if (!d)
		return p;
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		unsigned long long t;
		uid_t uid;
		bool dead;

		if (pid <= 1 || pid == self)
			continue;
		t = start_ticks(de->d_name);
		if (t == 0 || !proc_status(de->d_name, &uid, &dead)) {
			p.traces++;
			continue;
		}
		if (t < since || uid != geteuid())
			continue;
		if (dead) {
			p.traces++;
			continue;
		}
		p.live++;
		if (kill(pid, SIGKILL) == 0 && first_kill(sw, pid, t))
			p.fresh++;
	}
	closedir(d);
	return p;
}

/*
 * Idle threads held while a sweep runs.  RLIMIT_NPROC counts every task of
 * a uid, threads included, and the program's limit (soft and hard) is
 * @nproc: with this many more tasks of runbox's uid, no process the run
 * left can fork or clone any more.  A chain of forks (each incarnation
 * gone before a scan reaches it) then stands still to be killed.
 */
#define FILL_MAX 1024

struct nproc_fill {
	pthread_t t[FILL_MAX];
	int n;
	int pipe[2];
};

static void *fill_wait(void *arg)
{
	char c;

	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void fill_start(struct nproc_fill *f, unsigned nproc)
{
	sigset_t all, old;
	pthread_attr_t a;

	f->n = 0;
	f->pipe[0] = f->pipe[1] = -1;
	if (pipe2(f->pipe, O_CLOEXEC) < 0 || pthread_attr_init(&a) != 0)
		return;
	pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN);
	/* No signal meant for runbox may land on one of them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while ((unsigned)f->n < nproc && f->n < FILL_MAX &&
	       pthread_create(&f->t[f->n], &a, fill_wait, &f->pipe[0]) == 0)
		f->n++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
}

static void fill_stop(struct nproc_fill *f)
{
	if (f->pipe[1] >= 0)
		close(f->pipe[1]); /* every read returns 0 */
	for (int i = 0; i < f->n; i++)
		pthread_join(f->t[i], NULL);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
}

/*
 * The degraded platforms' last resort (see supervise_opts).  A first pass;
 * when it saw anything of the run (alive, or a trace: see struct pass),
 * the uid is filled so that nothing can
 * fork, and once what was under way has settled, passes go on until one
 * finds nothing alive, or three in a row find only processes already
 * killed (dying, perhaps held in the kernel).  Without the fill a scan
 * loses that race: each incarnation is gone before the scan looks at it.
 */
static void kill_own_uid_since(unsigned long long since, unsigned nproc)
{
	static struct nproc_fill fill; /* 8 KiB of thread ids: not on the run's stack */
	struct swept sw = {.n = 0};
	struct pass p = kill_own_uid_pass(since, &sw);
	int quiet = 0;

	if (!p.live && !p.traces)
		return;
	fill_start(&fill, nproc);
	/* A fork already under way when the fill completed ends within microseconds. */
	usleep(1000);
	for (int round = 0; round < 256 && quiet < 3; round++) {
		p = kill_own_uid_pass(since, &sw);
		if (!p.live)
			break;
		quiet = p.fresh ? 0 : quiet + 1;
		if (!p.fresh)
			usleep(1000);
	}
	fill_stop(&fill);
}

static void kill_tree(struct loop *s)
{
	pid_t pid = s->l->pid;

	kill(-pid, SIGKILL); /* its session and process group */
	if (!s->exited)
		kill(pid, SIGKILL);
	if (s->exited && s->o->pid_namespace) {
		s->killed = true;
		return;
	}
	if (s->o->kill_uid)
		kill_uid(s->o->uid);
	if (s->o->kill_own_uid_since_start)
		kill_own_uid_since(s->o->since_ticks, s->o->nproc);
	for (int round = 0; round < 64 && sweep_orphans(s->exited ? -1 : pid, s->o->keep_pids) > 0;
	     round++)
		;
	s->killed = true;
}
