/*
 * worker: fork, run once, report through a pipe (see worker.h).
 */
#define _GNU_SOURCE
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise.h"

/* What a worker writes before the JSON answer. */
struct report {
	int r;
	struct rb_err err;
	size_t len; /* bytes of JSON that follow; 0 when there is none */
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * The worker inherits every socket and pipe the server had at fork time:
 * other clients' connections, other workers' report pipes.  Holding them
 * would keep those open for as long as this run lasts; close them all.
 */
static void close_inherited(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = d ? dirfd(d) : -1;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		struct stat st;

		if (fd <= STDERR_FILENO || fd == keep || fd == self || fstat(fd, &st) < 0)
			continue;
		if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
			close(fd);
	}
	if (d)
		closedir(d);
}

/* The worker: never returns. */
static void worker_main(struct executor *ex, pid_t parent, int out, const char *body, size_t n,
			const struct executor_opts *opts)
{
	struct report rep = {0};
	char *json = NULL;
	sigset_t none;

	/* Dies with the server thread that waits for it; a server already gone is caught here. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	close_inherited(out);
	/* Not inherited across fork: the executor's orphan sweep needs it here. */
	ex->subreaper = supervise_become_subreaper() == 0;
	rep.r = executor_run(ex, body, n, opts, &json, &rep.err);
	rep.len = json ? strlen(json) : 0;
	if (write_all(out, &rep, sizeof(rep)) == 0 && rep.len)
		write_all(out, json, rep.len);
	_exit(0);
}

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

/* Read the report and the JSON that follows it. */
static int read_report(int fd, struct report *rep, char **ret_json)
{
	char *json;

	if (read_all(fd, rep, sizeof(*rep)) < 0)
		return -1;
	if (!rep->len)
		return 0;
	json = malloc(rep->len + 1);
	if (!json || read_all(fd, json, rep->len) < 0) {
		free(json);
		return -1;
	}
	json[rep->len] = '\0';
	*ret_json = json;
	return 0;
}

int worker_run(struct executor *ex, const char *body, size_t n, const struct executor_opts *opts,
	       char **ret_json, struct rb_err *err)
{
	struct report rep = {0};
	pid_t parent = getpid(), pid;
	int p[2], status = 0, got;

	*ret_json = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "create the worker's pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		worker_main(ex, parent, p[1], body, n, opts);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return rb_fail_sys(err, errno, "fork a worker");
	}
	got = read_report(p[0], &rep, ret_json);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < 0)
		return worker_died(status, err);
	*err = rep.err;
	return rep.r;
}
