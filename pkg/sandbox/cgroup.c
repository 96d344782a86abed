/*
 * cgroup: the system calls of per-run control groups (see cgroup.h); the
 * text rules are cgroup_layout.c's.
 */
#define _GNU_SOURCE
#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/sched.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define MOUNTINFO_MAX	(1 << 20)
#define CPU_PERIOD_US	100000ULL
#define REMOVE_TRIES	200 /* rmdir attempts, 1 ms apart at first, 10 ms later */
#define KILL_ROUNDS	64  /* v1: read-and-kill rounds, for a tree that forks as it dies */
#define PROCS_BUF_BYTES 8192

/* ---- small file helpers ---- */

/* Read @name below @dirfd into @buf (NUL-terminated); bytes read or -errno. */
static ssize_t read_at(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	n = n < 0 ? -errno : (ssize_t)got;
	close(fd);
	buf[got] = '\0';
	return n;
}

/* Write @text to @name below @dirfd in one write(); 0 or -errno. */
static int write_at(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	n = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return (int)n;
}

/* A whole file by path, malloc'd and NUL-terminated; NULL on failure. */
static char *slurp(const char *path, size_t max)
{
	char *buf = malloc(max);
	ssize_t n;

	if (!buf)
		return NULL;
	n = read_at(AT_FDCWD, path, buf, max);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static unsigned long long new_id(void)
{
	unsigned long long id;
	struct timespec ts;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == (ssize_t)sizeof(id))
		return id;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((unsigned long long)getpid() << 32) ^ (unsigned long long)ts.tv_nsec ^
	       (unsigned long long)ts.tv_sec << 20;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* ---- killing and removing one group ---- */

/* SIGKILL every process listed in the group's cgroup.procs; how many were listed. */
static int kill_listed(int dirfd)
{
	char buf[PROCS_BUF_BYTES];
	int n = 0;

	if (read_at(dirfd, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return 0;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		n++;
	}
	return n;
}

/* Everything in the group, dead: cgroup.kill where the kernel has it, else one by one. */
static void kill_group(int dirfd, int version)
{
	if (version == 2 && write_at(dirfd, "cgroup.kill", "1") == 0)
		return;
	for (int round = 0; round < KILL_ROUNDS && kill_listed(dirfd) > 0; round++)
		;
}

/*
 * rmdir @name below @parent_fd, waiting for its last processes to exit
 * (a group with processes is busy); 0 or -errno.
 */
static int remove_group(int parent_fd, const char *name, int dirfd, int version)
{
	for (int i = 0; i < REMOVE_TRIES; i++) {
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		kill_group(dirfd, version);
		pause_ms(i < 20 ? 1 : 10);
	}
	return -EBUSY;
}

/*
 * The groups named as runbox names them whose lock can be taken: left by
 * a runbox that died.  Returns how many were removed.
 */
static int sweep(int parent_fd, int version)
{
	int dfd = openat(parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		int fd;

		if (!cgroup_name_is_ours(de->d_name))
			continue;
		fd = openat(parent_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Held: its maker lives (or another sweeper has it). */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    remove_group(parent_fd, de->d_name, fd, version) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	return n;
}

/* ---- one group in one hierarchy ---- */

/*
 * Make @name below @parent_fd and hold it: its directory fd, locked, or
 * -EEXIST when the name is taken or a sweeper removed it before the lock
 * (the caller picks another name), or -errno.
 */
static int make_held(int parent_fd, const char *name)
{
	int fd;

	if (mkdirat(parent_fd, name, 0755) < 0)
		return -errno;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EEXIST : -errno;
	/* A sweep that came between mkdir and flock holds it, or has removed it. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || faccessat(fd, "cgroup.procs", F_OK, 0) < 0) {
		close(fd);
		return -EEXIST;
	}
	return fd;
}

/* ---- a run's group ---- */

void cgroup_run_init(struct cgroup_run *run)
{
	memset(run, 0, sizeof(*run));
	for (int i = 0; i < CGROUP_CONTROLLERS; i++)
		run->dir_fd[i] = run->join_fd[i] = run->parent_fd[i] = -1;
	run->into_fd = run->memory_fd = -1;
}

static int make_everywhere(const struct cgroup_host *h, struct cgroup_run *run)
{
	cgroup_name(new_id(), run->name);
	for (run->n = 0; run->n < h->n; run->n++) {
		int fd = make_held(h->h[run->n].parent_fd, run->name);

		if (fd < 0)
			return fd;
		run->parent_fd[run->n] = h->h[run->n].parent_fd;
		run->dir_fd[run->n] = fd;
		if (h->h[run->n].controllers & CGROUP_BIT(CGROUP_MEMORY))
			run->memory_fd = fd;
	}
	return 0;
}

/* One limit: the file it goes to in v1 and in v2, and whether ENOENT is fine. */
struct limit_file {
	const char *v1, *v2;
	enum cgroup_controller c;
	bool optional; /* swap accounting may be off */
};

static const struct limit_file limit_files[] = {
    {"memory.limit_in_bytes", "memory.max", CGROUP_MEMORY, false},
    /* No swap beyond the limit: the limit is the run's memory, not its RAM. */
    {"memory.memsw.limit_in_bytes", "memory.swap.max", CGROUP_MEMORY, true},
    {"pids.max", "pids.max", CGROUP_PIDS, false},
    {"cpu.cfs_quota_us", "cpu.max", CGROUP_CPU, false},
};

/* The text of limit @f for @l, "" when that limit is unset. */
static void limit_text(const struct limit_file *f, const struct cgroup_limits *l, int version,
		       char *buf, size_t size)
{
	buf[0] = '\0';
	if (f->c == CGROUP_MEMORY && l->memory_bytes)
		snprintf(buf, size, "%zu",
			 f->optional && version == 2 ? (size_t)0 : l->memory_bytes);
	else if (f->c == CGROUP_PIDS && l->pids)
		snprintf(buf, size, "%u", l->pids);
	else if (f->c == CGROUP_CPU && l->cpus > 0 && version == 2)
		snprintf(buf, size, "%llu %llu", cgroup_cpu_quota_us(l->cpus, CPU_PERIOD_US),
			 CPU_PERIOD_US);
	else if (f->c == CGROUP_CPU && l->cpus > 0)
		snprintf(buf, size, "%llu", cgroup_cpu_quota_us(l->cpus, CPU_PERIOD_US));
}

static int set_limits(const struct cgroup_host *h, const struct cgroup_limits *l,
		      const struct cgroup_run *run, struct rb_err *err)
{
	for (int i = 0; i < run->n; i++)
		for (size_t k = 0; k < sizeof(limit_files) / sizeof(limit_files[0]); k++) {
			const struct limit_file *f = &limit_files[k];
			const char *file = h->version == 2 ? f->v2 : f->v1;
			char text[64];
			int r;

			if (!(h->h[i].controllers & CGROUP_BIT(f->c)))
				continue;
			limit_text(f, l, h->version, text, sizeof(text));
			if (!text[0])
				continue;
			r = write_at(run->dir_fd[i], file, text);
			if (r < 0 && !(f->optional && r == -ENOENT))
				return rb_fail_sys(err, -r, "cgroup: write %s = %s", file, text);
		}
	return 0;
}

/* What the run's first process writes to join the group, where clone3 does not put it there. */
static int open_join(const struct cgroup_host *h, struct cgroup_run *run, struct rb_err *err)
{
	/* v1: `tasks` moves the one thread that writes, without the global lock of cgroup.procs. */
	const char *file = h->version == 2 ? "cgroup.procs" : "tasks";

	if (h->version == 2 && h->clone_into) {
		run->into_fd = run->dir_fd[0];
		return 0;
	}
	for (int i = 0; i < run->n; i++) {
		run->join_fd[i] = openat(run->dir_fd[i], file, O_WRONLY | O_CLOEXEC);
		if (run->join_fd[i] < 0)
			return rb_fail_sys(err, errno, "cgroup: open %s", file);
		run->n_join++;
	}
	return 0;
}

int cgroup_run_create(const struct cgroup_host *h, const struct cgroup_limits *limits,
		      struct cgroup_run *ret, struct rb_err *err)
{
	int r = -EEXIST;

	cgroup_run_init(ret);
	ret->version = h->version;
	ret->controllers = h->controllers;
	if (!h->version)
		return 0;
	for (int attempt = 0; attempt < 4 && r == -EEXIST; attempt++) {
		r = make_everywhere(h, ret);
		if (r == -EEXIST)
			cgroup_run_remove(ret);
		ret->version = h->version;
		ret->controllers = h->controllers;
	}
	if (r < 0)
		r = rb_fail_sys(err, -r, "cgroup: create the run's group");
	if (r >= 0)
		r = set_limits(h, limits, ret, err);
	if (r >= 0)
		r = open_join(h, ret, err);
	if (r < 0)
		cgroup_run_remove(ret);
	return r;
}

int cgroup_join(const int *join_fds, int n, struct rb_err *err)
{
	for (int i = 0; i < n; i++)
		if (write(join_fds[i], "0", 1) != 1)
			return rb_fail_sys(err, errno, "join the run's control group");
	return 0;
}

int cgroup_run_join(const struct cgroup_run *run, struct rb_err *err)
{
	return cgroup_join(run->join_fd, run->n_join, err);
}

int cgroup_run_set_memory(const struct cgroup_run *run, size_t bytes)
{
	char text[32];
	int r;

	if (run->memory_fd < 0)
		return 0;
	snprintf(text, sizeof(text), "%zu", bytes);
	if (run->version == 2)
		return write_at(run->memory_fd, "memory.max", text);
	/* v1 keeps memsw >= memory: raising, memsw goes first; lowering, last. */
	r = write_at(run->memory_fd, "memory.limit_in_bytes", text);
	if (r == -EINVAL && write_at(run->memory_fd, "memory.memsw.limit_in_bytes", text) == 0)
		return write_at(run->memory_fd, "memory.limit_in_bytes", text);
	if (r == 0)
		(void)write_at(run->memory_fd, "memory.memsw.limit_in_bytes", text);
	return r;
}

unsigned long long cgroup_run_oom_kills(const struct cgroup_run *run)
{
	char buf[1024];
	unsigned long long n = 0;

	if (run->memory_fd < 0)
		return 0;
	if (read_at(run->memory_fd, run->version == 2 ? "memory.events" : "memory.oom_control", buf,
		    sizeof(buf)) <= 0)
		return 0;
	return cgroup_keyed_value(buf, "oom_kill", &n) == 0 ? n : 0;
}

int cgroup_run_remove(struct cgroup_run *run)
{
	int r = 0;

	for (int i = 0; i < CGROUP_CONTROLLERS; i++)
		close_fd(&run->join_fd[i]);
	for (int i = 0; i < run->n; i++) {
		if (run->dir_fd[i] < 0)
			continue;
		if (remove_group(run->parent_fd[i], run->name, run->dir_fd[i], run->version) < 0)
			r = -EBUSY;
		close_fd(&run->dir_fd[i]);
	}
	run->n = run->n_join = 0;
	run->into_fd = run->memory_fd = -1;
	return r;
}

/* ---- finding the groups at start ---- */

static void host_reset(struct cgroup_host *h)
{
	memset(h, 0, sizeof(*h));
	h->self_fd = -1;
	for (int i = 0; i < CGROUP_CONTROLLERS; i++)
		h->h[i].parent_fd = -1;
}

static bool has_needed(unsigned controllers)
{
	unsigned need = CGROUP_BIT(CGROUP_MEMORY) | CGROUP_BIT(CGROUP_PIDS);

	return (controllers & need) == need;
}

/* "memory, pids, cpu" of @controllers. */
static void controller_list(unsigned controllers, char *buf, size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int c = 0; c < CGROUP_CONTROLLERS && at < size; c++)
		if (controllers & CGROUP_BIT(c))
			at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? ", " : "",
					       cgroup_controller_name((enum cgroup_controller)c));
}

/* v1: a hierarchy per controller; controllers mounted together share one. */
static int open_v1(struct cgroup_host *h, const struct cgroup_layout *lay)
{
	int first[CGROUP_CONTROLLERS] = {0}; /* for each hierarchy, a controller it has */

	for (int c = 0; c < CGROUP_CONTROLLERS; c++) {
		int i = 0, fd;

		if (!lay->v1[c][0])
			continue;
		while (i < h->n && strcmp(lay->v1[first[i]], lay->v1[c]) != 0)
			i++;
		if (i == h->n) {
			fd = open(lay->v1[c], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				continue;
			first[h->n] = c;
			h->h[h->n++] = (struct cgroup_hier){fd, 0};
		}
		h->h[i].controllers |= CGROUP_BIT(c);
		h->controllers |= CGROUP_BIT(c);
	}
	if (!has_needed(h->controllers))
		return -ENOENT;
	h->version = 1;
	return 0;
}

/*
 * Move this process into a leaf group of its own below @g: on v2 a group
 * that hands controllers down may hold no process.
 */
static int take_leaf(struct cgroup_host *h, int g)
{
	char name[CGROUP_NAME_BYTES];
	int fd = -EEXIST, r;

	for (int attempt = 0; attempt < 4 && fd == -EEXIST; attempt++) {
		cgroup_name(new_id(), name);
		fd = make_held(g, name);
	}
	if (fd < 0)
		return fd;
	r = write_at(fd, "cgroup.procs", "0");
	if (r < 0) {
		close(fd);
		unlinkat(g, name, AT_REMOVEDIR);
		return r;
	}
	h->self_fd = fd;
	memcpy(h->self_name, name, sizeof(name));
	return 0;
}

/* Back into @g, and the leaf removed: for when the controllers cannot be handed down. */
static void leave_leaf(struct cgroup_host *h, int g)
{
	if (h->self_fd < 0)
		return;
	if (write_at(g, "cgroup.procs", "0") == 0)
		unlinkat(g, h->self_name, AT_REMOVEDIR);
	close_fd(&h->self_fd);
}

/* Enable the controllers of @h in @g's cgroup.subtree_control (cpu is optional). */
static int hand_down(struct cgroup_host *h, int g)
{
	char have[256], cmd[32];
	ssize_t n = read_at(g, "cgroup.subtree_control", have, sizeof(have));
	int r;

	if (n < 0)
		return (int)n;
	for (int c = 0; c < CGROUP_CONTROLLERS; c++) {
		const char *name = cgroup_controller_name((enum cgroup_controller)c);

		if (!(h->controllers & CGROUP_BIT(c)) || cgroup_list_has(have, name))
			continue;
		snprintf(cmd, sizeof(cmd), "+%s", name);
		r = write_at(g, "cgroup.subtree_control", cmd);
		if (r == 0)
			continue;
		if (c != CGROUP_CPU)
			return r;
		h->controllers &= ~CGROUP_BIT(c);
	}
	h->h[0].controllers = h->controllers;
	return 0;
}

/*
 * v2: the controllers runbox's group has, handed down to the groups it
 * makes.  Runbox moves into a leaf first, unless its group is the
 * hierarchy's root (which has no cgroup.type and may hold processes).
 */
static int open_v2(struct cgroup_host *h, const struct cgroup_layout *lay, enum cgroup_mode mode)
{
	char list[256];
	int g, r = 0;

	if (!lay->v2[0] || (g = open(lay->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -ENOENT;
	if (read_at(g, "cgroup.controllers", list, sizeof(list)) < 0)
		list[0] = '\0';
	for (int c = 0; c < CGROUP_CONTROLLERS; c++)
		if (cgroup_list_has(list, cgroup_controller_name((enum cgroup_controller)c)))
			h->controllers |= CGROUP_BIT(c);
	if (!has_needed(h->controllers)) {
		close(g);
		h->controllers = 0;
		return -ENOENT;
	}
	h->h[0] = (struct cgroup_hier){g, h->controllers};
	h->n = 1;
	h->version = 2;
	if (mode == CGROUP_SERVE && faccessat(g, "cgroup.type", F_OK, 0) == 0)
		r = take_leaf(h, g);
	if (r >= 0 && mode == CGROUP_SERVE)
		r = hand_down(h, g);
	if (r < 0) {
		leave_leaf(h, g);
		snprintf(h->detail, sizeof(h->detail), "v2: cannot hand memory and pids down: %s",
			 strerror(-r));
	}
	return r;
}

/* A fork-like clone3 into the group of @dirfd: whether the kernel has CLONE_INTO_CGROUP. */
static bool clone_into_works(int dirfd)
{
	struct clone_args ca = {
	    .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (unsigned)dirfd};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return false;
	while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
		;
	return true;
}

/* Make and remove one group: proof that runs will get theirs. */
static int prove(struct cgroup_host *h)
{
	struct cgroup_limits none = {0};
	struct cgroup_run run;
	struct rb_err err;
	int r = cgroup_run_create(h, &none, &run, &err);

	if (r >= 0 && h->version == 2)
		h->clone_into = clone_into_works(run.dir_fd[0]);
	cgroup_run_remove(&run);
	if (r < 0)
		snprintf(h->detail, sizeof(h->detail),
			 "v%d: cannot create a group below runbox's: %s", h->version, strerror(-r));
	return r;
}

static void host_drop(struct cgroup_host *h)
{
	for (int i = 0; i < h->n; i++)
		close_fd(&h->h[i].parent_fd);
	h->n = 0;
	h->version = 0;
	h->controllers = 0;
}

/* The limit in file @name of directory @dir, 0 when none or unreadable. */
static unsigned long long limit_in(const char *dir, const char *name)
{
	char buf[64];
	int fd;

	if (!dir[0] || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	if (read_at(fd, name, buf, sizeof(buf)) <= 0)
		buf[0] = '\0';
	close(fd);
	return cgroup_parse_limit(buf);
}

unsigned long long cgroup_own_memory_limit(void)
{
	static struct cgroup_layout lay;
	char *pc = slurp("/proc/self/cgroup", 16384),
	     *mi = slurp("/proc/self/mountinfo", MOUNTINFO_MAX);
	unsigned long long limit = 0;

	if (pc && mi) {
		cgroup_layout_find(pc, mi, &lay);
		limit = limit_in(lay.v2, "memory.max");
		if (!limit)
			limit = limit_in(lay.v1[CGROUP_MEMORY], "memory.limit_in_bytes");
	}
	free(pc);
	free(mi);
	return limit;
}

void cgroup_host_open(struct cgroup_host *h, enum cgroup_mode mode)
{
	static struct cgroup_layout lay; /* 16 KiB; runbox opens its groups once */
	char *pc = slurp("/proc/self/cgroup", 16384),
	     *mi = slurp("/proc/self/mountinfo", MOUNTINFO_MAX);
	char list[64];

	host_reset(h);
	if (!pc || !mi) {
		snprintf(h->detail, sizeof(h->detail),
			 "cannot read /proc/self/cgroup or mountinfo");
		goto out;
	}
	cgroup_layout_find(pc, mi, &lay);
	if (open_v2(h, &lay, mode) < 0) {
		char v2_why[sizeof(h->detail)];

		snprintf(v2_why, sizeof(v2_why), "%s", h->detail);
		host_drop(h);
		if (open_v1(h, &lay) < 0) {
			snprintf(h->detail, sizeof(h->detail), "%s",
				 v2_why[0] ? v2_why
				 : lay.v2[0]
				     ? "no memory and pids controllers for runbox's group"
				     : "no cgroup hierarchy with memory and pids controllers");
			host_drop(h);
			goto out;
		}
	}
	for (int i = 0; mode == CGROUP_SERVE && i < h->n; i++)
		h->swept += sweep(h->h[i].parent_fd, h->version);
	if (prove(h) < 0) {
		host_drop(h);
		goto out;
	}
	controller_list(h->controllers, list, sizeof(list));
	snprintf(h->detail, sizeof(h->detail), "v%d: %s", h->version, list);
out:
	free(pc);
	free(mi);
}

void cgroup_host_close(struct cgroup_host *h)
{
	host_drop(h);
	/* Runbox's own leaf stays (it is in it); the next start sweeps it. */
	close_fd(&h->self_fd);
}
