/*
 * pyprobe: fork, exec the interpreter, read its stdout (see pyprobe.h).
 */
#define _GNU_SOURCE
#include "deps/pyprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

int pyprobe_json(const char *python, const char *program, cJSON **ret, struct rb_err *err)
{
	char *const argv[] = {(char *)python, "-I", "-c", (char *)program, NULL};
	char *const envp[] = {"LANG=C.UTF-8", "PATH=/usr/bin:/bin", NULL};
	char *out = NULL;
	size_t len = 0;
	int p[2], st = 0;
	pid_t pid;
	cJSON *j;

	if (pipe2(p, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "pipe2");
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(p[1], 1);
		execve(python, argv, envp);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0 || read_all_fd(p[0], &out, &len) < 0) {
		close(p[0]);
		return rb_fail_sys(err, pid < 0 ? errno : ENOMEM, "ask the interpreter '%s'",
				   python);
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	j = cJSON_Parse(out);
	free(out);
	if (!j || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		cJSON_Delete(j);
		return rb_fail_sys(err, EIO,
				   "ask the interpreter '%s': it failed or did not "
				   "answer JSON",
				   python);
	}
	*ret = j;
	return 0;
}
