/*
 * namespaces: preparing the namespaces of a run in the parent, entering
 * them in the child.  See namespaces.h.  Everything called in the child uses
 * raw system calls and the fixed data of struct ns_plan.
 */
#define _GNU_SOURCE
#include "sandbox/namespaces.h"
#include "sandbox/mountinfo.h"

#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	  (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_TMP_BYTES (64UL << 20)
#define TMP_INODES	  65536

static const struct {
	const char *name;
	const char *proc; /* under /proc/self/ns */
	unsigned long flag;
} kinds[NS_KIND_COUNT] = {
    [NS_USER] = {"user", "user", CLONE_NEWUSER}, [NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [NS_NET] = {"net", "net", CLONE_NEWNET},	 [NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", "uts", CLONE_NEWUTS},	 [NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
};

const char *ns_kind_name(enum ns_kind kind)
{
	return kind < NS_KIND_COUNT ? kinds[kind].name : "?";
}

unsigned long ns_kind_flag(enum ns_kind kind)
{
	return kind < NS_KIND_COUNT ? kinds[kind].flag : 0;
}

/* --- in the parent --------------------------------------------------- */

/* Per-mount options worth keeping on a read-only remount (locked in a userns). */
static unsigned long preserved_flags(const char *opts)
{
	static const struct {
		const char *opt;
		unsigned long flag;
	} table[] = {
	    {"nosuid", MS_NOSUID},	     {"nodev", MS_NODEV},
	    {"noexec", MS_NOEXEC},	     {"noatime", MS_NOATIME},
	    {"nodiratime", MS_NODIRATIME},   {"relatime", MS_RELATIME},
	    {"strictatime", MS_STRICTATIME},
	};
	unsigned long flags = 0;
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", opts);
	for (char *save = NULL, *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ARRAY_SIZE(table); i++)
			if (strcmp(o, table[i].opt) == 0)
				flags |= table[i].flag;
	return flags;
}

static int add_mount(struct ns_plan *p, size_t *used, char *path, const char *opts,
		     struct rb_err *err)
{
	size_t len;

	mountinfo_unescape(path);
	len = strlen(path) + 1;
	if (p->n_mounts >= NS_MAX_MOUNTS || *used + len > sizeof(p->mount_paths))
		return rb_fail(err, RB_FAULT_INTERNAL, E2BIG, "internal_error", NULL,
			       "namespaces: more than %d mount points (or %zu bytes of paths) "
			       "to make read-only",
			       NS_MAX_MOUNTS, sizeof(p->mount_paths));
	memcpy(p->mount_paths + *used, path, len);
	p->mounts[p->n_mounts].path_off = (unsigned short)*used;
	p->mounts[p->n_mounts].flags = preserved_flags(opts);
	p->n_mounts++;
	*used += len;
	return 0;
}

/* Every mount point of /proc/self/mountinfo, to be remounted read-only. */
static int read_mounts(struct ns_plan *p, struct rb_err *err)
{
	char line[4096 + 512], path[4096], opts[256];
	size_t used = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r = 0;

	if (!f)
		return rb_fail_sys(err, errno, "namespaces: open /proc/self/mountinfo");
	while (r == 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s %255s", path, opts) != 2) {
			r = rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
				    "namespaces: unexpected mountinfo line");
			break;
		}
		r = add_mount(p, &used, path, opts, err);
	}
	(void)fclose(f); /* read only: nothing to lose */
	return r;
}

static unsigned long wanted_flags(const struct ns_options *opt)
{
	unsigned long flags = 0;

	for (int k = NS_PID; k < NS_KIND_COUNT; k++) {
		if (k == NS_NET && opt->allow_network)
			continue;
		if (opt->available[k])
			flags |= kinds[k].flag;
	}
	/* Not root: the other namespaces need a user namespace to own them. */
	if (!opt->as_root)
		flags = opt->available[NS_USER] && flags ? flags | CLONE_NEWUSER : 0;
	return flags;
}

/*
 * The parent of @tree, when the run (another uid than runbox's) could not
 * pass it to reach the tree and the private /tmp does not make a fresh path
 * to it anyway: a mask for the child (see ns_plan.masks).  Never "/".
 */
static void add_mask(struct ns_plan *p, const char *tree)
{
	char parent[PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(parent, sizeof(parent), "%s", tree);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent || strncmp(parent, "/tmp/", 5) == 0)
		return;
	*slash = '\0';
	if (stat(parent, &st) < 0 || (st.st_mode & S_IXOTH))
		return;
	for (int i = 0; i < p->n_masks; i++)
		if (strcmp(p->masks[i], parent) == 0)
			return;
	memcpy(p->masks[p->n_masks++], parent, strlen(parent) + 1);
}

int ns_plan_prepare(struct ns_plan *ret, const struct ns_options *opt, struct rb_err *err)
{
	size_t tmp = opt->tmp_bytes ? opt->tmp_bytes : DEFAULT_TMP_BYTES;

	memset(ret, 0, sizeof(*ret));
	if (!opt->enabled)
		return 0;
	ret->clone_flags = wanted_flags(opt);
	snprintf(ret->uid_map, sizeof(ret->uid_map), "%u %u 1\n", (unsigned)opt->uid,
		 (unsigned)opt->uid);
	snprintf(ret->gid_map, sizeof(ret->gid_map), "%u %u 1\n", (unsigned)opt->gid,
		 (unsigned)opt->gid);
	snprintf(ret->tmpfs_opts, sizeof(ret->tmpfs_opts), "size=%zu,nr_inodes=%d,mode=1777", tmp,
		 TMP_INODES);
	/* A detached workspace exists only where a mount namespace attaches it. */
	if (opt->workspace_detached && !(ret->clone_flags & CLONE_NEWNS))
		return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "internal_error", NULL,
			       "namespaces: a detached workspace needs a mount namespace");
	if (!(ret->clone_flags & CLONE_NEWNS))
		return 0;
	ret->workspace_detached = opt->workspace_detached;
	ret->workspace_fd = opt->workspace_fd;
	if (!opt->workspace || opt->workspace[0] != '/' ||
	    strlen(opt->workspace) >= sizeof(ret->workspace))
		return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "internal_error", NULL,
			       "namespaces: the workspace must be an absolute path");
	memcpy(ret->workspace, opt->workspace, strlen(opt->workspace) + 1);
	for (int i = 0; i < NS_MAX_RO_BINDS && opt->ro_binds[i]; i++) {
		if (!realpath(opt->ro_binds[i], ret->ro_binds[ret->n_ro_binds]))
			return rb_fail_sys(err, errno, "namespaces: resolve \"%s\"",
					   opt->ro_binds[i]);
		if (opt->as_root)
			add_mask(ret, ret->ro_binds[ret->n_ro_binds]);
		ret->n_ro_binds++;
	}
	return opt->readonly_remounts ? read_mounts(ret, err) : 0;
}

/* --- in the child: raw system calls and fixed data only ---------------- */

static int write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * runbox is non-dumpable, and so is a child it forks: its /proc/self files
 * then belong to root and it cannot write its own maps.  It becomes
 * dumpable for the three writes only (as bubblewrap does), then not again.
 */
static int write_maps(const char *uid_map, const char *gid_map)
{
	int r;

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -errno;
	/* setgroups must be denied before an unprivileged gid_map is accepted. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r >= 0)
		r = write_file("/proc/self/uid_map", uid_map);
	if (r >= 0 && gid_map)
		r = write_file("/proc/self/gid_map", gid_map);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return r;
}

int ns_enter_user(const struct ns_plan *plan, struct rb_err *err)
{
	int r;

	if (!(plan->clone_flags & CLONE_NEWUSER))
		return 0;
	r = write_maps(plan->uid_map, plan->gid_map);
	if (r < 0)
		return rb_fail_sys(err, -r, "namespaces: write the uid and gid maps");
	return 0;
}

/*
 * The new user namespace gives runbox every capability over what its uid
 * owns; it needs only CAP_SYS_ADMIN (to mount and unmount workspaces).  The
 * rest go, so that it reads and kills no more than before (a program's
 * mode-0000 file stays unreadable to it, as the README says).
 */
static int keep_sys_admin_only(struct rb_err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	d[CAP_SYS_ADMIN / 32].effective = d[CAP_SYS_ADMIN / 32].permitted = 1U
									    << (CAP_SYS_ADMIN % 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return rb_fail_sys(err, errno, "namespaces: keep only CAP_SYS_ADMIN");
	return 0;
}

int ns_unshare_own(struct rb_err *err)
{
	char uid_map[48], gid_map[48];
	int r;

	/* Read before: in the new namespace, until the maps exist, these are the overflow ids. */
	snprintf(uid_map, sizeof(uid_map), "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
	snprintf(gid_map, sizeof(gid_map), "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return rb_fail_sys(err, errno, "namespaces: unshare a user and mount namespace");
	r = write_maps(uid_map, gid_map);
	if (r < 0)
		return rb_fail_sys(err, -r, "namespaces: write runbox's own uid and gid maps");
	return keep_sys_admin_only(err);
}

/* "/proc/self/fd/<fd>" without stdio. */
static void fd_path(char buf[32], int fd)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + fd % 10);
		fd /= 10;
	} while (fd > 0 && n < (int)sizeof(digits));
	memcpy(buf, "/proc/self/fd/", sizeof("/proc/self/fd/"));
	for (size_t at = strlen(buf); n > 0; at++)
		buf[at] = digits[--n], buf[at + 1] = '\0';
}

/* Every mount point read-only, keeping the flags a user namespace locks. */
static int remount_readonly(const struct ns_plan *plan, struct rb_err *err)
{
	for (int i = 0; i < plan->n_mounts; i++) {
		const char *path = plan->mount_paths + plan->mounts[i].path_off;
		unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | plan->mounts[i].flags;

		if (mount(NULL, path, NULL, flags, NULL) == 0)
			continue;
		/* Gone, or under a directory the run cannot reach anyway. */
		if (errno == ENOENT || errno == EACCES)
			continue;
		return rb_fail_sys(err, errno, "namespaces: remount \"%s\" read-only", path);
	}
	return 0;
}

/*
 * noexec: what the program writes can neither be execve()d nor mapped
 * executable (Landlock's execute right alone is bypassed by running the
 * file through the dynamic loader).
 */
static int mount_tmpfs(const struct ns_plan *plan, const char *path, struct rb_err *err)
{
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, plan->tmpfs_opts) < 0)
		return rb_fail_sys(err, errno, "namespaces: mount a private tmpfs on %s", path);
	return 0;
}

/*
 * An empty /run hides the host's UNIX sockets there (the system bus, the
 * journal, container engines): connect() to a socket file is checked by
 * no layer but its mode, and network namespaces only separate abstract ones.
 */
static int hide_run(struct rb_err *err)
{
	struct stat st;

	if (stat("/run", &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
		  "size=4k,nr_inodes=16,mode=0755") < 0)
		return rb_fail_sys(err, errno, "namespaces: hide the host's /run");
	return 0;
}

/* mkdir -p of the workspace's path, in the fresh tmpfs it may now be under. */
static void make_path(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		(void)mkdir(buf, 0755); /* EEXIST, or EROFS where it exists anyway */
		buf[i] = path[i];
	}
}

/*
 * The workspace back, read-write, at its own path (over the private /tmp);
 * a detached one is attached there (its nosuid, nodev, noexec set when it
 * was made).
 */
static int bind_workspace(const struct ns_plan *plan, int ws_fd, struct rb_err *err)
{
	unsigned long rw = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char src[32];

	make_path(plan->workspace);
	if (plan->workspace_detached) {
		if (move_mount(ws_fd, "", AT_FDCWD, plan->workspace, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return rb_fail_sys(err, errno, "namespaces: attach the workspace");
		return 0;
	}
	fd_path(src, ws_fd);
	if (mount(src, plan->workspace, NULL, MS_BIND, NULL) < 0)
		return rb_fail_sys(err, errno, "namespaces: bind the workspace back");
	if (mount(NULL, plan->workspace, NULL, rw, NULL) < 0)
		return rb_fail_sys(err, errno, "namespaces: make the workspace writable");
	return 0;
}

/* The flags a user namespace locks on the source mount, kept on the bind. */
static unsigned long locked_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/*
 * The dependency trees back at their own paths, read-only: when runbox is
 * not root the program has runbox's uid, and only this (and Landlock) keeps
 * it from writing, chmod()ing or renaming in them.
 */
static int bind_readonly(const struct ns_plan *plan, const int *fds, struct rb_err *err)
{
	char src[32];

	for (int i = 0; i < plan->n_ro_binds; i++) {
		unsigned long ro =
		    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(fds[i]);

		fd_path(src, fds[i]);
		make_path(plan->ro_binds[i]);
		if (mount(src, plan->ro_binds[i], NULL, MS_BIND, NULL) < 0)
			return rb_fail_sys(err, errno, "namespaces: bind \"%s\"",
					   plan->ro_binds[i]);
		if (mount(NULL, plan->ro_binds[i], NULL, ro, NULL) < 0)
			return rb_fail_sys(err, errno, "namespaces: make \"%s\" read-only",
					   plan->ro_binds[i]);
	}
	return 0;
}

/* A /proc of the new pid namespace: no other process is visible. */
static int mount_proc(const struct ns_plan *plan, struct rb_err *err)
{
	if (!(plan->clone_flags & CLONE_NEWPID))
		return 0;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return rb_fail_sys(err, errno, "namespaces: mount a fresh /proc");
	/* Best effort: no executable memfd in this pid namespace (Linux >= 6.3). */
	(void)write_file("/proc/sys/vm/memfd_noexec", "2");
	return 0;
}

/*
 * A small tmpfs on each mask (see ns_plan.masks), before the workspace and
 * the trees are bound under it; read-only once they are.
 */
static int mount_masks(const struct ns_plan *plan, bool readonly, struct rb_err *err)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	for (int i = 0; i < plan->n_masks; i++) {
		int r = readonly ? mount(NULL, plan->masks[i], NULL,
					 MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL)
				 : mount("tmpfs", plan->masks[i], "tmpfs", flags,
					 "size=64k,nr_inodes=64,mode=0755");

		if (r < 0)
			return rb_fail_sys(err, errno, "namespaces: mask \"%s\"", plan->masks[i]);
	}
	return 0;
}

static int setup_mounts(const struct ns_plan *plan, int ws_fd, const int *ro_fds,
			struct rb_err *err)
{
	int r;

	r = remount_readonly(plan, err);
	if (r < 0)
		return r;
	r = mount_tmpfs(plan, "/tmp", err);
	if (r < 0)
		return r;
	r = mount_tmpfs(plan, "/dev/shm", err);
	if (r < 0)
		return r;
	r = hide_run(err);
	if (r < 0)
		return r;
	r = mount_masks(plan, false, err);
	if (r < 0)
		return r;
	r = bind_workspace(plan, ws_fd, err);
	if (r < 0)
		return r;
	r = bind_readonly(plan, ro_fds, err);
	if (r < 0)
		return r;
	r = mount_masks(plan, true, err);
	if (r < 0)
		return r;
	return mount_proc(plan, err);
}

int ns_enter_mounts(const struct ns_plan *plan, struct rb_err *err)
{
	int ws_fd, r, ro_fds[NS_MAX_RO_BINDS], n = plan->n_ro_binds;

	if (!(plan->clone_flags & CLONE_NEWNS))
		return 0;
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rb_fail_sys(err, errno, "namespaces: make / private");
	/* Hold the workspace before the private /tmp hides it. */
	ws_fd = plan->workspace_detached ? dup(plan->workspace_fd)
					 : open(plan->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ws_fd < 0)
		return rb_fail_sys(err, errno, "namespaces: open the workspace");
	for (int i = 0; i < n; i++) {
		ro_fds[i] = open(plan->ro_binds[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ro_fds[i] < 0)
			return rb_fail_sys(err, errno, "namespaces: open \"%s\"",
					   plan->ro_binds[i]);
	}
	r = setup_mounts(plan, ws_fd, ro_fds, err);
	close(ws_fd);
	for (int i = 0; i < n; i++)
		close(ro_fds[i]);
	if (r < 0)
		return r;
	/* The old cwd is the read-only copy under the private /tmp. */
	if (chdir(plan->workspace) < 0)
		return rb_fail_sys(err, errno, "namespaces: chdir into the workspace");
	return 0;
}

/*
 * A new ipc namespace starts with SysV limits sized for a whole machine,
 * and a segment outlives every process that attached it: memory no
 * RLIMIT_AS counts, held until the namespace ends.  shm_rmid_forced ends a
 * segment with its last attachment (what it holds is then always in some
 * process's address space, under that process's RLIMIT_AS); the counts of
 * segments, message queues and semaphores are cut to what a program
 * reasonably uses (message queues live in kernel memory: 32 of 16 KiB).
 * Written through the fresh /proc of the pid namespace.
 */
bool ns_sets_ipc_limits(unsigned long clone_flags)
{
	unsigned long need = CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS;

	/*
	 * In a user namespace the ipc sysctls belong to its uid 0, which runbox
	 * does not map (the program keeps its own uid): not writable there.
	 */
	return (clone_flags & need) == need && !(clone_flags & CLONE_NEWUSER);
}

int ns_enter_ipc(const struct ns_plan *plan, struct rb_err *err)
{
	static const struct {
		const char *path, *value;
	} limits[] = {
	    {"/proc/sys/kernel/shm_rmid_forced", "1"},
	    {"/proc/sys/kernel/shmmni", "64"},
	    {"/proc/sys/kernel/msgmni", "32"},
	    {"/proc/sys/kernel/sem", "250 8000 32 32"},
	};
	int r;

	if (!ns_sets_ipc_limits(plan->clone_flags))
		return 0;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		r = write_file(limits[i].path, limits[i].value);
		if (r < 0)
			return rb_fail_sys(err, -r, "namespaces: write %s", limits[i].path);
	}
	return 0;
}

int ns_enter_uts(const struct ns_plan *plan, struct rb_err *err)
{
	if (!(plan->clone_flags & CLONE_NEWUTS))
		return 0;
	if (sethostname("runbox", 6) < 0 || setdomainname("runbox", 6) < 0)
		return rb_fail_sys(err, errno, "namespaces: set the host name");
	return 0;
}

/* --- probe children -------------------------------------------------- */

static ino_t ns_inode(const char *name)
{
	char path[64];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "/proc/self/ns/%s", name) >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * A run's pid namespace comes with a fresh /proc.  The kernel refuses that
 * mount in a user namespace when the /proc we can see has paths masked by
 * over-mounts (container engines mask /proc/kcore, /proc/keys, ...): then
 * the layer is unusable, and the probe must say so rather than every run
 * failing.
 */
static int fresh_proc_mountable(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errno;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return NS_PROBE_NO_FRESH_PROC;
	return 0;
}

static int probe_pid(void)
{
	pid_t outer = getpid();
	long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	int status;

	if (child < 0)
		return errno;
	if (child == 0) {
		if (getpid() != 1 || kill(outer, 0) == 0 || errno != ESRCH)
			_exit(200);
		_exit(fresh_proc_mountable());
	}
	if (waitpid((pid_t)child, &status, 0) < 0 || !WIFEXITED(status))
		return 200;
	return WEXITSTATUS(status);
}

/* Route lookup only: connect() on a datagram socket sends nothing. */
static int probe_net(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(53)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 200;
	addr.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1, TEST-NET-1 */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno != ENETUNREACH)
		return 200;
	return 0;
}

static int probe_mount(void)
{
	struct stat before, after;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || stat("/tmp", &before) < 0)
		return 200;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0)
		return errno;
	if (stat("/tmp", &after) < 0 || after.st_dev == before.st_dev)
		return 200;
	return 0;
}

static int probe_isolation(enum ns_kind kind)
{
	switch (kind) {
	case NS_PID:
		return probe_pid();
	case NS_NET:
		return probe_net();
	case NS_MOUNT:
		return probe_mount();
	case NS_UTS:
		return sethostname("runbox-probe", 12) < 0 ? errno : 0;
	default:
		return 0;
	}
}

int ns_probe_child_all(void)
{
	ino_t before[NS_KIND_COUNT];
	unsigned long flags = 0;
	unsigned euid = (unsigned)geteuid();
	char map[48];
	int r;

	for (int k = 0; k < NS_KIND_COUNT; k++) {
		flags |= kinds[k].flag;
		before[k] = ns_inode(kinds[k].proc);
	}
	if (unshare((int)flags) < 0)
		return errno;
	snprintf(map, sizeof(map), "%u %u 1\n", euid, euid);
	if ((r = write_maps(map, NULL)) < 0)
		return -r;
	for (int k = 0; k < NS_KIND_COUNT; k++)
		if (k != NS_PID && ns_inode(kinds[k].proc) == before[k])
			return 200;
	for (int k = 0; k < NS_KIND_COUNT; k++)
		if ((r = probe_isolation((enum ns_kind)k)) != 0)
			return r;
	return 0;
}

int ns_probe_child(enum ns_kind kind, bool as_root)
{
	unsigned long flags = kinds[kind].flag;
	ino_t before = ns_inode(kinds[kind].proc);
	/* Inside the new namespace, before the map, geteuid() is the overflow uid. */
	unsigned euid = (unsigned)geteuid();
	char map[48];
	int r;

	if (!as_root)
		flags |= CLONE_NEWUSER;
	if (unshare((int)flags) < 0)
		return errno;
	/* Root would need CAP_SETFCAP in the parent namespace to map uid 0. */
	if ((flags & CLONE_NEWUSER) && !as_root) {
		snprintf(map, sizeof(map), "%u %u 1\n", euid, euid);
		if ((r = write_maps(map, NULL)) < 0)
			return -r;
	}
	/* A pid namespace applies to children: /proc/self/ns/pid stays. */
	if (kind != NS_PID && ns_inode(kinds[kind].proc) == before)
		return 200;
	return probe_isolation(kind);
}
