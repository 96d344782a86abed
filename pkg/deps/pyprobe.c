/*
 * pyprobe: fork, exec the interpreter, read its stdout (see pyprobe.h).
 */
#define _GNU_SOURCE
#include "deps/pyprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_all_fd(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t r;

		if (len + 1 == cap) {
			char *n = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!n)
				break;
			buf = n;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[len] = '\0';
			*ret = buf;
			*ret_len = len;
			return 0;
		}
		len += (size_t)r;
	}
	free(buf);
	return -ENOMEM;
}

/* The child: exec the interpreter, or report exec's errno on @errfd (close-on-exec). */
static void run_child(const char *python, char *const argv[], char *const envp[], int out,
		      int errfd)
{
	int devnull = open("/dev/null", O_RDWR), e;

	dup2(devnull, 0);
	dup2(out, 1);
	execve(python, argv, envp);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* The errno exec failed with in the child, or 0 when it ran the interpreter. */
static int exec_errno(int errfd)
{
	int e = 0;
	ssize_t n;

	do
		n = read(errfd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(e) ? e : 0;
}

int pyprobe_json(const char *python, const char *program, cJSON **ret, struct rb_err *err)
{
	char *const argv[] = {(char *)python, "-I", "-c", (char *)program, NULL};
	char *const envp[] = {"LANG=C.UTF-8", "PATH=/usr/bin:/bin", NULL};
	char *out = NULL;
	size_t len = 0;
	int p[2], e[2], st = 0, ee;
	pid_t pid;
	cJSON *j;

	if (pipe2(p, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "pipe2");
	if (pipe2(e, O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return rb_fail_sys(err, errno, "pipe2");
	}
	pid = fork();
	if (pid == 0)
		run_child(python, argv, envp, p[1], e[1]);
	close(p[1]);
	close(e[1]);
	if (pid < 0) {
		int fe = errno;

		close(p[0]);
		close(e[0]);
		return rb_fail_fork(err, fe, "start the interpreter to ask it");
	}
	if (read_all_fd(p[0], &out, &len) < 0) {
		close(p[0]);
		close(e[0]);
		return rb_fail_sys(err, ENOMEM, "ask the interpreter '%s'", python);
	}
	close(p[0]);
	ee = exec_errno(e[0]);
	close(e[0]);
	waitpid(pid, &st, 0);
	if (ee) {
		free(out);
		return rb_fail(err, RB_FAULT_INTERNAL, ee, "invalid_config", "RUNBOX_PYTHON",
			       "cannot run the interpreter '%s' (RUNBOX_PYTHON): %s", python,
			       strerror(ee));
	}
	j = cJSON_Parse(out);
	free(out);
	if (!j || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		cJSON_Delete(j);
		return rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
			       "ask the interpreter '%s' (RUNBOX_PYTHON): it %s", python,
			       !WIFEXITED(st)	      ? "was killed by a signal"
			       : WEXITSTATUS(st) != 0 ? "failed"
						      : "did not answer JSON");
	}
	*ret = j;
	return 0;
}
