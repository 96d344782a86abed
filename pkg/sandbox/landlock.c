/*
 * landlock: the ruleset built in the parent, applied in the child.
 * See landlock.h.  Bookworm's <linux/landlock.h> stops at ABI 2 (and lacks
 * the net and scope fields of the ruleset attribute), so everything newer is
 * defined here.
 */
#define _GNU_SOURCE
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL		    (1ULL << 1)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* The ruleset attribute as of ABI 6 (the kernel accepts a shorter size). */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define ACCESS_FS_ABI1                                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                              \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define ACCESS_FS_ALL                                                                              \
	(ACCESS_FS_ABI1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE |                 \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* The rights that make sense on a file (not a directory). */
#define ACCESS_FILE                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define ACCESS_RO                                                                                  \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/*
 * Writable places are not executable: a program may not write a binary and
 * execve it (the same reason memfd_create is refused).  Interpreters read
 * their scripts, which needs no execute right.
 */
#define ACCESS_RW (ACCESS_FS_ALL & ~LANDLOCK_ACCESS_FS_EXECUTE)
#define ACCESS_DEV_RW                                                                              \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct path_rule {
	const char *path;
	uint64_t access;
};

/* What the interpreter, numpy, matplotlib, Pillow and bash read. */
/* clang-format off */
static const struct path_rule system_rules[] = {
	{ "/usr", ACCESS_RO },	       { "/lib", ACCESS_RO },
	{ "/lib64", ACCESS_RO },       { "/lib32", ACCESS_RO },
	{ "/bin", ACCESS_RO },	       { "/sbin", ACCESS_RO },
	{ "/etc", ACCESS_RO },
	/* CPU and NUMA topology (BLAS, os.cpu_count); not the rest of the host's sysfs */
	{ "/sys/devices/system/cpu", ACCESS_RO }, { "/sys/devices/system/node", ACCESS_RO },
	{ "/var/cache/fontconfig", ACCESS_RO },
	{ "/dev/null", ACCESS_DEV_RW }, { "/dev/zero", ACCESS_DEV_RW },
	{ "/dev/full", ACCESS_DEV_RW }, { "/dev/random", LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/urandom", LANDLOCK_ACCESS_FS_READ_FILE },
};
/* clang-format on */

/* Mounted by the child in its own namespace: only it can name their inodes. */
/* clang-format off */
static const struct path_rule private_mount_rules[] = {
	{ "/tmp", ACCESS_RW },
	{ "/dev/shm", ACCESS_RW },
	{ "/proc", ACCESS_RO },
};
/* clang-format on */

/* Without a mount namespace: the host's /proc, and /dev/shm for semaphores. */
/* clang-format off */
static const struct path_rule shared_mount_rules[] = {
	{ "/dev/shm", ACCESS_RW },
	{ "/proc", ACCESS_RO },
};
/* clang-format on */

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -errno : (int)abi;
}

/* Drop what @abi does not know: the ladder of samples/landlock/sandboxer.c. */
static void attr_for_abi(struct ruleset_attr *attr, int abi, bool allow_network)
{
	attr->handled_access_fs = ACCESS_FS_ALL;
	attr->handled_access_net =
	    allow_network ? 0 : LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
	attr->scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	switch (abi) {
	case 1:
		attr->handled_access_fs &= ~LANDLOCK_ACCESS_FS_REFER;
		__attribute__((fallthrough));
	case 2:
		attr->handled_access_fs &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
		__attribute__((fallthrough));
	case 3:
		attr->handled_access_net = 0;
		__attribute__((fallthrough));
	case 4:
		attr->handled_access_fs &= ~LANDLOCK_ACCESS_FS_IOCTL_DEV;
		__attribute__((fallthrough));
	case 5:
		attr->scoped = 0;
		__attribute__((fallthrough));
	default:
		break;
	}
}

/*
 * Add one path to @ruleset_fd.  Raw system calls only: also used in the
 * child.  A path that does not exist is skipped (returns 0).
 */
/* Add the file or directory open at @fd to @ruleset_fd. */
static int add_fd(int ruleset_fd, uint64_t handled, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr attr;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	attr.allowed_access = access & handled;
	if (!S_ISDIR(st.st_mode))
		attr.allowed_access &= ACCESS_FILE;
	attr.parent_fd = fd;
	if (attr.allowed_access &&
	    syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) < 0)
		return -errno;
	return 0;
}

static int add_path(int ruleset_fd, uint64_t handled, const char *path, uint64_t access)
{
	int fd = open(path, O_PATH | O_CLOEXEC), r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = add_fd(ruleset_fd, handled, fd, access);
	close(fd);
	return r;
}

static int add_table(const struct landlock_plan *p, const struct path_rule *rules, size_t n,
		     const char **ret_failed)
{
	for (size_t i = 0; i < n; i++) {
		int r = add_path(p->ruleset_fd, p->handled_fs, rules[i].path, rules[i].access);

		if (r < 0) {
			*ret_failed = rules[i].path;
			return r;
		}
	}
	return 0;
}

/* The interpreter's prefix: /usr for /usr/bin/python3.11. */
static int add_python_prefix(const struct landlock_plan *p, const char *python, struct rb_err *err)
{
	char real[PATH_MAX];
	int r;

	if (!python || !realpath(python, real))
		return python ? rb_fail_sys(err, errno, "landlock: resolve \"%s\"", python) : 0;
	r = add_path(p->ruleset_fd, p->handled_fs, dirname(dirname(real)), ACCESS_RO);
	if (r < 0)
		return rb_fail_sys(err, -r, "landlock: add the interpreter's prefix");
	return 0;
}

static int add_parent_rules(const struct landlock_plan *p, const struct landlock_options *opt,
			    struct rb_err *err)
{
	const char *failed = "";
	int r;

	r = add_table(p, system_rules, ARRAY_SIZE(system_rules), &failed);
	if (r >= 0 && !opt->private_mounts)
		r = add_table(p, shared_mount_rules, ARRAY_SIZE(shared_mount_rules), &failed);
	if (r >= 0) {
		failed = opt->workspace;
		r = opt->workspace_detached
			? add_fd(p->ruleset_fd, p->handled_fs, opt->workspace_fd, ACCESS_RW)
			: add_path(p->ruleset_fd, p->handled_fs, opt->workspace, ACCESS_RW);
	}
	for (size_t i = 0; r >= 0 && i < LANDLOCK_MAX_EXTRA_PATHS && opt->read_paths[i]; i++) {
		failed = opt->read_paths[i];
		r = add_path(p->ruleset_fd, p->handled_fs, failed, ACCESS_RO);
	}
	if (r < 0)
		return rb_fail_sys(err, -r, "landlock: add a rule for \"%s\"", failed);
	return add_python_prefix(p, opt->python, err);
}

int landlock_plan_prepare(struct landlock_plan *ret, const struct landlock_options *opt,
			  struct rb_err *err)
{
	struct ruleset_attr attr;
	int abi = landlock_abi(), r;

	memset(ret, 0, sizeof(*ret));
	ret->ruleset_fd = -1;
	if (abi < 0)
		return rb_fail(err, RB_FAULT_UNAVAILABLE, -abi, "sandbox_unavailable", NULL,
			       "landlock: not supported by this kernel (%s); hint: boot with "
			       "lsm=...,landlock",
			       strerror(-abi));
	attr_for_abi(&attr, abi, opt->allow_network);
	/* ABI < 4 knows only the first field, < 6 the first two. */
	r = (int)syscall(SYS_landlock_create_ruleset, &attr,
			 abi < 4   ? sizeof(uint64_t)
			 : abi < 6 ? 2 * sizeof(uint64_t)
				   : sizeof(attr),
			 0);
	if (r < 0)
		return rb_fail_sys(err, errno, "landlock: create the ruleset (ABI %d)", abi);
	ret->ruleset_fd = r;
	ret->abi = abi;
	ret->handled_fs = attr.handled_access_fs;
	ret->net_restricted = attr.handled_access_net != 0;
	ret->scoped = attr.scoped != 0;
	ret->private_mounts = opt->private_mounts;
	r = add_parent_rules(ret, opt, err);
	if (r < 0) {
		landlock_plan_release(ret);
		return r;
	}
	ret->enabled = true;
	return 0;
}

int landlock_plan_enter(const struct landlock_plan *plan, struct rb_err *err)
{
	const char *failed = "";
	int r = 0;

	if (!plan->enabled)
		return 0;
	if (plan->private_mounts)
		r = add_table(plan, private_mount_rules, ARRAY_SIZE(private_mount_rules), &failed);
	if (r < 0)
		return rb_fail_sys(err, -r, "landlock: add a rule for \"%s\"", failed);
	if (syscall(SYS_landlock_restrict_self, plan->ruleset_fd, 0) < 0)
		return rb_fail_sys(err, errno, "landlock: restrict_self");
	close(plan->ruleset_fd);
	return 0;
}

void landlock_plan_release(struct landlock_plan *plan)
{
	if (plan->ruleset_fd >= 0)
		close(plan->ruleset_fd);
	plan->ruleset_fd = -1;
	plan->enabled = false;
}

int landlock_probe_child(void)
{
	struct ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_WRITE_FILE};
	int fd;

	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(uint64_t), 0);
	if (fd < 0)
		return errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		return errno;
	if (open("/dev/null", O_WRONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 200;
	return 0;
}
