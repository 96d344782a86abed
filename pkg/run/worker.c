/*
 * worker: a single-threaded spawner forks one-shot workers (see worker.h).
 */
#define _GNU_SOURCE
#include "run/worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "run/supervise.h"
#include "run/warm.h"

/* A server thread's request to the spawner; the body memfd and the report pipe ride along. */
struct spawn_msg {
	size_t len; /* bytes of the request in the memfd */
	bool has_opts;
	struct executor_opts opts;
};

/*
 * What comes back on the report pipe: the worker's REC_REPORT (and the
 * JSON after it), then, once the spawner has reaped the worker, REC_EXIT
 * with its wait status; REC_FORK_FAILED with an errno when there was no
 * worker.  A reader that finds REC_EXIT first knows the worker died
 * before it answered.
 */
enum { REC_REPORT = 1, REC_EXIT, REC_FORK_FAILED, REC_PROGRESS };

/*
 * Before its REC_REPORT a worker asked for progress writes REC_PROGRESS
 * records while the program runs, never blocking on them: one the reader
 * has no room for is dropped (the next one says more).
 */
struct report {
	int kind;
	int r; /* REC_REPORT: executor_run's result; REC_EXIT: wait status; else errno */
	struct rb_err err;
	size_t len;		      /* bytes of JSON that follow; 0 when there is none */
	struct run_progress progress; /* REC_PROGRESS */
};

/* One write(2) of at most PIPE_BUF bytes is atomic: records never interleave or tear. */
_Static_assert(sizeof(struct report) <= PIPE_BUF, "a report record must be atomic on a pipe");
#define SESSION_SWEEP_S 5 /* how often the spawner ends expired sessions */

/* The server's end of the spawner's socket, and the spawner. */
static int spawner_sock = -1;
static pid_t spawner_pid;

/*
 * A worker inherits the spawner's socket and the report pipes of the other
 * workers in flight.  Holding them would keep those open for as long as
 * this run lasts (and a program could write a forged report into another
 * run's pipe if one leaked to it); close them all.
 */
static void close_inherited(int keep, int keep2, const struct warm *w)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = d ? dirfd(d) : -1;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		struct stat st;

		if (fd <= STDERR_FILENO || fd == keep || fd == keep2 || fd == self ||
		    fstat(fd, &st) < 0 ||
		    (w && (fd == w->t[WARM_STACK].ctl || fd == w->t[WARM_BARE].ctl)))
			continue;
		if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
			close(fd);
	}
	if (d)
		closedir(d);
}

/* The request, read from its memfd into a NUL-terminated buffer; NULL on failure. */
static char *read_body(int fd, size_t n)
{
	char *b = malloc(n + 1);
	size_t got = 0;

	while (b && got < n) {
		ssize_t r = pread(fd, b + got, n - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return NULL;
		}
		got += (size_t)r;
	}
	if (b)
		b[n] = '\0';
	return b;
}

/* executor_opts.progress in a worker: a record on the report pipe, if it has room. */
static void progress_record(const struct run_progress *p, void *ctx)
{
	int out = *(const int *)ctx;
	struct report rep = {.kind = REC_PROGRESS, .progress = *p};
	ssize_t w;

	/* The spawner's copy shares the flags, but writes only once this worker is gone. */
	fcntl(out, F_SETFL, O_NONBLOCK);
	do
		w = write(out, &rep, sizeof(rep));
	while (w < 0 && errno == EINTR);
	fcntl(out, F_SETFL, 0);
}

/* The worker: never returns. */
static void worker_main(struct executor *ex, pid_t parent, int body_fd, int out, int cancel_fd,
			struct spawn_msg *m)
{
	struct report rep = {.kind = REC_REPORT};
	char *json = NULL, *body;
	sigset_t none;

	/* Dies with the spawner, which dies with the server. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "runbox-worker", 0, 0, 0); /* not the spawner's name, in ps */
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN); /* a program that left its stdin unread: EPIPE, not death */
	body = read_body(body_fd, m->len);
	close(body_fd);
	if (!body)
		_exit(1);
	/* The warm templates' sockets stay: this run may be made there. */
	close_inherited(out, cancel_fd, ex->warm);
	/* Not inherited across fork: the executor's orphan sweep needs it here. */
	ex->subreaper = supervise_become_subreaper() == 0;
	ex->cancel_fd = cancel_fd;
	if (m->has_opts && m->opts.progress_period_s > 0) {
		m->opts.progress = progress_record;
		m->opts.progress_ctx = &out;
	}
	rep.r = executor_run(ex, body, m->len, m->has_opts ? &m->opts : NULL, &json, &rep.err);
	rep.len = json ? strlen(json) : 0;
	if (fd_write_all(out, &rep, sizeof(rep)) == 0 && rep.len)
		fd_write_all(out, json, rep.len);
	_exit(0);
}

/* ---- the spawner ---- */

struct child {
	pid_t pid;
	int out; /* the spawner's copy of the report pipe */
};

struct children {
	struct child *v;
	size_t n, cap;
	pid_t sweeper; /* the session sweep's child while it runs, else 0 */
};

static int children_add(struct children *c, pid_t pid, int out)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct child *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct child){pid, out};
	return 0;
}

/* A tiny record on a pipe no worker writes to any more: never blocks the spawner. */
static void send_record(int out, int kind, int r)
{
	struct report rep = {.kind = kind, .r = r};

	fcntl(out, F_SETFL, O_NONBLOCK);
	fd_write_all(out, &rep, sizeof(rep));
	close(out);
}

/* Reap every worker that ended and tell its reader how; a template is the manager's. */
static void reap(struct executor *ex, struct children *c)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (ex->warm && warm_reaped(ex->warm, pid, status))
			continue;
		if (pid == c->sweeper) {
			c->sweeper = 0;
			continue;
		}
		for (size_t i = 0; i < c->n; i++)
			if (c->v[i].pid == pid) {
				send_record(c->v[i].out, REC_EXIT, status);
				c->v[i] = c->v[--c->n];
				break;
			}
	}
}

/* Receive one request with exactly three fds (body, report pipe, cancel pipe); -1 at EOF. */
static int receive(int sock, struct spawn_msg *m, int ret_fds[3])
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int fds[3] = {-1, -1, -1};

	if (n == 0 || (n < 0 && errno != EINTR))
		return -1;
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(3 * sizeof(int)))
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	if ((size_t)n != sizeof(*m) || fds[2] < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return 0; /* not a request (only the server talks here): ignored */
	}
	memcpy(ret_fds, fds, sizeof(fds));
	return 1;
}

static void spawn_one(struct executor *ex, struct children *c, struct spawn_msg *m,
		      const int fds[3])
{
	pid_t self = getpid();
	pid_t pid = fork();
	int out = fds[1];

	if (pid == 0)
		worker_main(ex, self, fds[0], out, fds[2], m);
	close(fds[0]);
	close(fds[2]); /* the worker's: here it would keep a cancelled run's pipe open */
	if (pid < 0 || children_add(c, pid, out) < 0) {
		if (pid < 0)
			send_record(out, REC_FORK_FAILED, errno);
		else
			close(out); /* its reader gets EOF once the worker is done */
	}
}

/*
 * Idle sessions past their TTL go within a few seconds, not at the next
 * call.  In a child of its own, one at a time: removing a large tree takes
 * time the spawner's loop owes to the requests it forks.
 */
static void sweep_sessions(const struct executor *ex, struct children *c, double *last)
{
	pid_t pid;

	if (!ex->sessions.dir[0] || c->sweeper || clock_now() - *last < SESSION_SWEEP_S)
		return;
	*last = clock_now();
	if (!session_store_has_work(&ex->sessions))
		return;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_NAME, "runbox-sweep", 0, 0, 0);
		close_range(3, ~0U, 0); /* the spawner's sockets and pipes are not its to hold */
		session_store_sweep(&ex->sessions);
		_exit(0);
	}
	if (pid > 0)
		c->sweeper = pid;
}

/*
 * The spawner's loop: fork a worker per request, reap them, report their
 * end; and keep the warm template going (it is the spawner's child, and
 * every worker it forks inherits the socket to it).  Returns when the
 * server closes its end (or dies: PDEATHSIG).
 */
static void spawner_main(struct executor *ex, int sock, pid_t server)
{
	struct children c = {0};
	struct pollfd pfd[2 + WARM_POLL_FDS];
	double swept = clock_now();
	sigset_t chld;
	int sfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != server)
		_exit(1);
	prctl(PR_SET_NAME, "runbox-spawner", 0, 0, 0);
	/* Without a pid namespace a program could name these: its seccomp filter refuses them. */
	ex->protect[0] = server;
	ex->protect[1] = getpid();
	signal(SIGPIPE, SIG_IGN); /* a reader that left: its REC_EXIT goes nowhere */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(1);
	pfd[0] = (struct pollfd){.fd = sock, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (;;) {
		struct signalfd_siginfo si;
		struct spawn_msg m;
		int fds[3], r, wfd[WARM_POLL_FDS], n = ex->warm ? warm_poll_fds(ex->warm, wfd) : 0;

		for (int i = 0; i < WARM_POLL_FDS; i++)
			pfd[2 + i] = (struct pollfd){.fd = i < n ? wfd[i] : -1, .events = POLLIN};
		if (poll(pfd, 2 + WARM_POLL_FDS,
			 (ex->warm && ex->warm->enabled) || ex->sessions.dir[0] ? 1000 : -1) < 0 &&
		    errno != EINTR)
			_exit(1);
		sweep_sessions(ex, &c, &swept);
		if (pfd[1].revents) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			reap(ex, &c);
		}
		if (ex->warm)
			warm_tick(ex->warm);
		if (!pfd[0].revents)
			continue;
		r = receive(sock, &m, fds);
		if (r < 0)
			_exit(0);
		if (r > 0)
			spawn_one(ex, &c, &m, fds);
	}
}

int worker_spawner_start(struct executor *ex, struct rb_err *err)
{
	pid_t server = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return rb_fail_sys(err, errno, "create the spawner's socket");
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		spawner_main(ex, sv[1], server);
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return rb_fail_sys(err, errno, "fork the spawner");
	}
	spawner_sock = sv[0];
	spawner_pid = pid;
	return 0;
}

bool worker_spawner_gone(void)
{
	return spawner_pid > 0 && waitpid(spawner_pid, NULL, WNOHANG) == spawner_pid;
}

/* ---- a server thread's side ---- */

static int worker_died(int status, struct rb_err *err)
{
	if (WIFSIGNALED(status))
		return rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
			       "The worker process running this request was killed by signal %d "
			       "before it answered.",
			       WTERMSIG(status));
	return rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
		       "The worker process running this request exited with status %d before "
		       "it answered.",
		       WEXITSTATUS(status));
}

/* The request in a memfd the worker reads (the socket carries only its fd). */
static int body_memfd(const char *body, size_t n)
{
	int fd = memfd_create("runbox-request", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fd_write_all(fd, body, n) < 0) {
		int e = errno ? errno : EIO;

		close(fd);
		return -e;
	}
	return fd;
}

static int send_request(const struct spawn_msg *m, int body_fd, int out, int cancel_fd)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {(void *)m, sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int fds[3] = {body_fd, out, cancel_fd};
	ssize_t w;

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	do
		w = sendmsg(spawner_sock, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)sizeof(*m) ? 0 : -(errno ? errno : EIO);
}

/* The rest of a REC_REPORT: its JSON.  executor_run's result, or a fault in @err. */
static int read_answer(int fd, const struct report *rep, char **ret_json, struct rb_err *err)
{
	char *json;

	*err = rep->err;
	if (!rep->len)
		return rep->r;
	json = malloc(rep->len + 1);
	if (!json || fd_read_exact(fd, json, rep->len) < 0) {
		free(json);
		return rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
			       "The worker process running this request died while it answered.");
	}
	json[rep->len] = '\0';
	*ret_json = json;
	return rep->r;
}

enum worker_event worker_next(struct worker_job *job, int timeout_ms,
			      struct run_progress *ret_progress, int *ret_r, char **ret_json,
			      struct rb_err *err)
{
	struct pollfd p = {.fd = job->fd, .events = POLLIN};
	struct report rep;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return WORKER_WAITING;
	*ret_json = NULL;
	if (fd_read_exact(job->fd, &rep, sizeof(rep)) < 0)
		*ret_r = rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
				 "The process that starts runbox's workers is gone.");
	else if (rep.kind == REC_PROGRESS)
		return *ret_progress = rep.progress, WORKER_PROGRESS;
	else if (rep.kind == REC_EXIT)
		*ret_r = worker_died(rep.r, err);
	else if (rep.kind != REC_REPORT)
		*ret_r = rb_fail_fork(err, rep.r, "fork a worker for the request");
	else
		*ret_r = read_answer(job->fd, &rep, ret_json, err);
	return WORKER_DONE;
}

/* The run's pipes: the report's, and the one whose closing cancels it. */
static int job_pipes(struct worker_job *job, int ret_ends[2], struct rb_err *err)
{
	int rep[2], cancel[2], e;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "create the worker's pipe");
	if (pipe2(cancel, O_CLOEXEC) < 0) {
		e = errno;
		close(rep[0]);
		close(rep[1]);
		return rb_fail_sys(err, e, "create the worker's pipe");
	}
	job->fd = rep[0];
	job->cancel_w = cancel[1];
	ret_ends[0] = rep[1];
	ret_ends[1] = cancel[0];
	return 0;
}

int worker_start(const char *body, size_t n, const struct executor_opts *opts,
		 struct worker_job *job, struct rb_err *err)
{
	struct spawn_msg m = {.len = n, .has_opts = opts != NULL};
	int ends[2] = {-1, -1}, body_fd, r;

	job->fd = job->cancel_w = -1;
	if (opts)
		m.opts = *opts;
	m.opts.deliver = NULL; /* a pointer into this process: meaningless in the worker */
	m.opts.deliver_ctx = NULL;
	m.opts.sink = NULL; /* the answer comes back whole, through the pipe */
	m.opts.progress = NULL;
	m.opts.progress_ctx = NULL;
	if (spawner_sock < 0)
		return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "internal_error", NULL,
			       "runbox's worker spawner was not started.");
	body_fd = body_memfd(body, n);
	if (body_fd < 0)
		return rb_fail_sys(err, -body_fd, "hold the request for its worker");
	r = job_pipes(job, ends, err);
	if (r >= 0) {
		r = send_request(&m, body_fd, ends[0], ends[1]);
		close(ends[0]);
		close(ends[1]);
		if (r < 0) {
			worker_end(job);
			r = rb_fail_sys(err, -r, "ask the spawner for a worker");
		}
	}
	close(body_fd);
	return r;
}

void worker_cancel(struct worker_job *job)
{
	if (job->cancel_w >= 0)
		close(job->cancel_w);
	job->cancel_w = -1;
}

void worker_end(struct worker_job *job)
{
	worker_cancel(job);
	if (job->fd >= 0)
		close(job->fd);
	job->fd = -1;
}

int worker_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
	       char **ret_json, struct rb_err *err)
{
	struct worker_job job;
	struct run_progress p;
	int r = 0;

	(void)ex; /* the spawner holds its own copy, taken before the first thread */
	*ret_json = NULL;
	if (worker_start(body, n, opts, &job, err) < 0)
		return -EIO;
	while (worker_next(&job, -1, &p, &r, ret_json, err) != WORKER_DONE)
		if (opts && opts->progress)
			opts->progress(&p, opts->progress_ctx);
	worker_end(&job);
	return r;
}
