/*
 * unpack: fork, confine, extract, exec the compiler; then seal and rename
 * (see unpack.h).  The child reports through a pipe: a fixed header (the
 * error, or the sizes and METADATA), then whatever the compiler prints,
 * one JSON line per module it could not compile.
 */
#define _GNU_SOURCE
#include "deps/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "base/log.h"
#include "base/tree.h"

#define MAX_DEPTH 128

/*
 * argv[1]: the tree as written now, argv[2]: where it will be imported
 * from (the name compiled into the code objects).  Prints one JSON line per
 * module that does not compile; exits 0 unless the interpreter itself fails.
 * Paths are made relative by hand, not by os.path.relpath: that calls
 * getcwd(), which fails (EACCES) where the tree's parents are out of the
 * confined child's reach.
 */
static const char compile_program[] =
    "import json, os, py_compile, sys\n"
    "root, final = sys.argv[1], sys.argv[2]\n"
    "mode = py_compile.PycInvalidationMode.UNCHECKED_HASH\n"
    "for d, dirs, files in os.walk(root):\n"
    "    dirs.sort()\n"
    "    for f in sorted(files):\n"
    "        if not f.endswith('.py'): continue\n"
    "        p = os.path.join(d, f); rel = os.path.join(d[len(root):].lstrip('/'), f)\n"
    "        try: py_compile.compile(p, dfile=os.path.join(final, rel), doraise=True,\n"
    "                                invalidation_mode=mode)\n"
    "        except Exception as e:\n"
    "            m = (str(e).strip().splitlines() or [type(e).__name__])[-1][:300]\n"
    "            print(json.dumps({'module': rel, 'error': m}), flush=True)\n";

struct header {
	int ok; /* 1: extracted (info follows), 0: err follows */
	size_t files;
	uint64_t bytes;
	size_t metadata_len;
	struct rb_err err;
};

static int fail(struct rb_err *err, int errnum, const char *tree, const char *what)
{
	(void)tree; /* the caller's message names it */
	return rb_fail(err, RB_FAULT_INTERNAL, errnum ? errnum : EIO, "cache_extract_failed", NULL,
		       "%s%s%s", what, errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

/* Replace the child with the interpreter compiling @dir (stdout is the report). */
static void exec_compiler(const char *python, const char *dir, const char *final)
{
	char *argv[] = {(char *)python, "-I",		"-c", (char *)compile_program,
			(char *)dir,	(char *) final, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};

	execve(python, argv, envp);
}

static void child_limits(const struct unpack_job *job)
{
	double left = job->deadline - clock_now();
	rlim_t cpu = (rlim_t)(left > 0 ? ceil(left) : 1) + 1;
	struct rlimit rl[] = {{cpu, cpu}, {4ULL << 30, 4ULL << 30}};

	setrlimit(RLIMIT_CPU, &rl[0]);
#if !defined(__SANITIZE_ADDRESS__) /* its shadow memory is reserved address space */
	setrlimit(RLIMIT_AS, &rl[1]);
#else
	(void)rl[1];
#endif
}

/* The child: confine, extract, report, compile.  Never returns. */
static void child(int out, int dest_fd, const char *dir, const char *final,
		  const struct unpack_job *job)
{
	struct header h = {0};
	struct wheel_info info = {0};
	int r = 0;

	child_limits(job);
	if (job->confiner && job->confiner->confine)
		r = job->confiner->confine(job->confiner->ctx, dir, &h.err);
	if (r >= 0)
		r = wheel_extract(job->wheel_fd, job->wn, dest_fd, job->lim, &info, &h.err);
	h.ok = r >= 0;
	h.files = info.files;
	h.bytes = info.bytes;
	h.metadata_len = info.metadata_len;
	if (fd_write_all(out, &h, sizeof(h)) < 0 ||
	    (h.ok && fd_write_all(out, info.metadata, info.metadata_len) < 0))
		_exit(1);
	if (!h.ok || !job->python)
		_exit(h.ok ? 0 : 1);
	/* The compiler works from the tree: no path above it needs to be searchable. */
	if (dup2(out, STDOUT_FILENO) < 0 || fchdir(dest_fd) < 0)
		_exit(1);
	(void)dir;
	exec_compiler(job->python, ".", final);
	_exit(127);
}

/* Read exactly @n bytes by @deadline. */
static int read_by(int fd, void *p, size_t n, double deadline)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = {fd, POLLIN, 0};
		double left = deadline - clock_now();
		ssize_t k;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return -errno;
		k = read(fd, (char *)p + got, n - got);
		if (k == 0)
			return -EPIPE;
		if (k < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		got += k > 0 ? (size_t)k : 0;
	}
	return 0;
}

/* Log the compiler's report, line by line, until it exits or the deadline. */
static int drain_report(int fd, const char *tree, double deadline)
{
	char buf[4096] = {0}, msg[sizeof(buf) + 300];
	size_t len = 0;

	for (;;) {
		int r = read_by(fd, buf + len, 1, deadline);

		if (r == -EPIPE)
			return 0;
		if (r < 0)
			return r;
		if (buf[len] != '\n' && len + 2 < sizeof(buf)) {
			len++;
			continue;
		}
		buf[len] = '\0';
		snprintf(msg, sizeof(msg), "%s: not compiled, it will be compiled at import: %s",
			 tree, buf);
		log_msg(LOG_INFO, "bytecode_skipped", msg);
		len = 0;
	}
}

struct parent {
	pid_t pid;
	int fd;
	const char *tree;
	double deadline;
};

static int wait_child(struct parent *p, bool compiled, struct rb_err *err)
{
	int status = 0, r;

	while ((r = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return fail(err, errno, p->tree, "wait for the unpacking process");
	if (compiled && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%s: the interpreter could not compile it (status %d)",
			 p->tree, status);
		log_msg(LOG_INFO, "bytecode_skipped", msg);
	}
	return 0;
}

/* Read the child's header and METADATA, then its report; kill it past the deadline. */
static int collect(struct parent *p, struct wheel_info *ret, struct rb_err *err)
{
	struct header h = {0};
	char *meta = NULL;
	int r = read_by(p->fd, &h, sizeof(h), p->deadline);

	if (r >= 0 && h.ok && h.metadata_len <= 16 * 1024 * 1024) {
		meta = malloc(h.metadata_len + 1);
		r = meta ? read_by(p->fd, meta, h.metadata_len, p->deadline) : -ENOMEM;
	} else if (r >= 0 && h.ok) {
		r = -E2BIG;
	}
	if (r >= 0 && h.ok)
		r = drain_report(p->fd, p->tree, p->deadline);
	if (r < 0)
		kill(p->pid, SIGKILL);
	wait_child(p, r >= 0 && h.ok, err);
	if (r < 0 || !h.ok) {
		free(meta);
		if (r == -ETIMEDOUT)
			return fail(err, 0, p->tree, "it took longer than the request's time");
		if (r < 0)
			return fail(err, -r, p->tree, "the unpacking process failed");
		*err = h.err; /* the wheel's own refusal, or the confiner's */
		return -EINVAL;
	}
	meta[h.metadata_len] = '\0';
	*ret = (struct wheel_info){meta, h.metadata_len, h.files, h.bytes};
	return 0;
}

static int seal_at(int dirfd, int depth, bool chown_self, struct rb_err *err, const char *tree);

/* One entry of a tree being sealed: only directories and single-link regular files. */
static int seal_entry(int dirfd, const char *name, int depth, bool chown_self, struct rb_err *err,
		      const char *tree)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errno, tree, "inspect what was extracted");
	if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && st.st_nlink == 1))
		return fail(err, 0, tree, "the unpacking process left a link or special file");
	if (chown_self && fchownat(dirfd, name, geteuid(), getegid(), AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errno, tree, "take ownership of the tree");
	if (fchmodat(dirfd, name,
		     S_ISDIR(st.st_mode)   ? 0755
		     : (st.st_mode & 0111) ? 0555
					   : 0444,
		     0) < 0)
		return fail(err, errno, tree, "make the tree read-only");
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (depth >= MAX_DEPTH)
		return fail(err, 0, tree, "it nests too deep");
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errno, tree, "open a directory of the tree");
	r = seal_at(fd, depth + 1, chown_self, err, tree);
	close(fd);
	return r;
}

static int seal_at(int dirfd, int depth, bool chown_self, struct rb_err *err, const char *tree)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return fail(err, errno, tree, "read a directory of the tree");
	}
	while (r >= 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = seal_entry(dirfd, de->d_name, depth, chown_self, err, tree);
	closedir(d);
	return r;
}

/* Seal @site_fd/@tmp (the tree's top directory included). */
static int seal(int site_fd, const char *tmp, bool chown_self, struct rb_err *err, const char *tree)
{
	return seal_entry(site_fd, tmp, 0, chown_self, err, tree);
}

static int make_tmp(int site_fd, const char *tmp, const struct unpack_job *job, int *ret,
		    const char *tree, struct rb_err *err)
{
	const struct unpack_confiner *c = job->confiner;
	int r = tree_remove_at(site_fd, tmp), fd;

	if (r == -ELOOP || r == -ENOTDIR)
		unlinkat(site_fd, tmp, 0); /* a planted link is removed, never followed */
	if (mkdirat(site_fd, tmp, 0755) < 0)
		return fail(err, errno, tree, "create its temporary directory");
	fd = openat(site_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0755) < 0 ||
	    (c && c->chown_tree && fchown(fd, c->uid, c->gid) < 0)) {
		r = errno;
		if (fd >= 0)
			close(fd);
		tree_remove_at(site_fd, tmp);
		return fail(err, r, tree, "prepare its temporary directory");
	}
	*ret = fd;
	return 0;
}

static int spawn(const struct unpack_job *job, int dest, const char *dir, const char *final,
		 struct parent *p, const char *tree, struct rb_err *err)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return fail(err, errno, tree, "create a pipe");
	p->pid = fork();
	if (p->pid == 0) {
		close(pipefd[0]);
		child(pipefd[1], dest, dir, final, job);
	}
	close(pipefd[1]);
	if (p->pid < 0) {
		close(pipefd[0]);
		return fail(err, errno, tree, "fork the unpacking process");
	}
	p->fd = pipefd[0];
	return 0;
}

int unpack_tree(int site_fd, const char *tree, const struct unpack_job *job, struct wheel_info *ret,
		struct rb_err *err)
{
	char tmp[400], dir[1200], final[1200];
	struct parent p = {.tree = tree, .deadline = job->deadline};
	int dest = -1, r;

	snprintf(tmp, sizeof(tmp), ".tmp-%s", tree);
	snprintf(dir, sizeof(dir), "%s/%s", job->site, tmp);
	snprintf(final, sizeof(final), "%s/%s", job->site, tree);
	if (unlinkat(site_fd, tree, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return fail(err, errno, tree, "clear its place");
	r = make_tmp(site_fd, tmp, job, &dest, tree, err);
	if (r < 0)
		return r;
	r = spawn(job, dest, dir, final, &p, tree, err);
	close(dest);
	if (r >= 0) {
		r = collect(&p, ret, err);
		close(p.fd);
	}
	if (r >= 0)
		r = seal(site_fd, tmp, geteuid() == 0, err, tree);
	if (r >= 0 && renameat(site_fd, tmp, site_fd, tree) < 0)
		r = fail(err, errno, tree, "rename it into place");
	if (r < 0) {
		tree_remove_at(site_fd, tmp);
		if (ret->metadata && r < 0)
			free(ret->metadata), ret->metadata = NULL;
	}
	return r;
}

int unpack_compile(const char *python, const char *dir, const char *final, int dir_fd, FILE *report,
		   struct rb_err *err)
{
	int pipefd[2], status = 0;
	pid_t pid;
	FILE *in;
	char line[4096];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "create a pipe");
	pid = fork();
	if (pid == 0) {
		if (dup2(pipefd[1], STDOUT_FILENO) >= 0)
			exec_compiler(python, dir, final);
		_exit(127);
	}
	close(pipefd[1]);
	in = pid > 0 ? fdopen(pipefd[0], "r") : NULL;
	while (in && fgets(line, sizeof(line), in))
		fprintf(report, "bytecode: %s: not compiled (compiled at import instead): %s",
			final, line);
	if (in)
		(void)fclose(in); /* read only: nothing to lose */
	else
		close(pipefd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return rb_fail_sys(err, pid < 0 ? errno : EIO, "compile '%s' with '%s' (status %d)",
				   dir, python, status);
	return seal_at(dir_fd, 0, false, err, final) < 0 ? -EIO : 0;
}
