/*
 * seccomp_policy: compiling the allowlist and the argument denylist with
 * libseccomp in the parent, loading them with raw system calls in the child.
 *
 * The allowlist was built by tracing real workloads (strace -f of numpy,
 * pandas, scipy, scikit-learn, matplotlib, Pillow, threads, multiprocessing
 * with fork, subprocess, asyncio, sqlite3, tempfile, ctypes and bash
 * pipelines of coreutils) and adding the neighbours of each traced call
 * (e.g. preadv next to pread64).  What is left out is left out on purpose:
 * see the comment above each table.
 */
#define _GNU_SOURCE
#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LOW32	      0xffffffffULL

/*
 * Allowed without conditions.  Not here, so failing with EPERM: ptrace,
 * process_vm_*, setsid/setpgid (but see session_calls), set*id, the mount family and the new mount
 * API, unshare/setns, keyctl/add_key/request_key, bpf, perf_event_open,
 * userfaultfd, io_uring_*, Linux AIO, clock/time setting, module/kexec/reboot,
 * open_by_handle_at/name_to_handle_at, acct, swapon/swapoff, chroot,
 * pivot_root, quotactl, lookup_dcookie, vhangup, syslog, iopl/ioperm,
 * modify_ldt, memfd_create (no executing code from memory), execveat,
 * vmsplice, kcmp, pidfd_getfd, process_madvise, fanotify, landlock_*,
 * seccomp, statmount/listmount, sync/syncfs, inotify (Landlock does not
 * check watches: it would show activity in directories the program cannot read).
 */
/* clang-format off */
static const char *const allowed[] = {
	/* files and directories */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
	"lseek", "dup", "dup2", "dup3", "pipe", "pipe2", "stat", "fstat", "lstat", "newfstatat",
	"statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
	"getdents64", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
	"chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "fsync", "fdatasync",
	"sync_file_range", "fallocate", "fadvise64", "readahead", "sendfile", "copy_file_range",
	"splice", "tee", "utime", "utimes", "utimensat", "futimesat", "statfs", "fstatfs",
	"getcwd", "chdir", "fchdir", "umask", "flock", "fcntl", "ioctl", "getxattr",
	"lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "setxattr",
	"lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock",
	"mlock2", "munlock", "mlockall", "munlockall", "membarrier", "get_mempolicy",
	"set_mempolicy", "mbind", "pkey_alloc", "pkey_free", "pkey_mprotect",
	/* processes and threads (clone, kill, prlimit64 are conditional below) */
	"fork", "vfork", "execve", "exit", "exit_group", "wait4", "waitid", "kill", "tkill",
	"tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal",
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	"getresgid", "getgroups", "getpgrp", "getpgid", "getsid", "set_tid_address",
	"set_robust_list", "futex", "rseq", "arch_prctl", "prctl", "capget", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler",
	"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	"sched_getattr", "getpriority", "setpriority", "getrlimit", "setrlimit", "getrusage",
	"times", "sysinfo", "uname", "getrandom", "getcpu", "restart_syscall", "ioprio_get",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
	"rt_sigtimedwait", "sigaltstack", "alarm", "pause", "signalfd", "signalfd4",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* waiting */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* sockets (socket and socketpair are conditional below) */
	"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4",
	"getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "shutdown", "getsockopt", "setsockopt",
};
/* clang-format on */

/* Newer than libseccomp 2.5's tables: x86_64 numbers. */
/* clang-format off */
static const int allowed_numbers[] = {
	449, /* futex_waitv */
	451, /* cachestat */
	452, /* fchmodat2 */
	453, /* map_shadow_stack */
	454, /* futex_wake */
	455, /* futex_wait */
	456, /* futex_requeue */
	462, /* mseal */
};
/* clang-format on */

/*
 * SysV IPC and POSIX message queues: only when the run has its own ipc
 * namespace, where they die with it; in the host's they would outlive the
 * run and be seen by the next one.
 */
/* clang-format off */
static const char *const sysv_ipc[] = {
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
};
/* clang-format on */

/*
 * Allowed only in the program's own pid namespace: subprocess's
 * start_new_session, bash's setsid and job control need them, and there a
 * new session or group escapes nothing, since the whole namespace dies with
 * its init.  Without one, runbox's first way to end the tree is the
 * program's process group, which these would leave.
 */
static const char *const session_calls[] = {"setsid", "setpgid"};

/* clone() may not create namespaces or reparent the child to escape the tree. */
#define CLONE_FORBIDDEN                                                                            \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_PARENT)

/* fcntl commands that redirect SIGIO/SIGURG to a chosen process. */
static const unsigned fcntl_denied[] = {F_SETOWN, F_SETSIG, F_SETOWN_EX};

/* ioctl requests that push input into a terminal, change its discipline, or
 * steal or hang up a console, and the socket twins of F_SETOWN. */
/* clang-format off */
static const unsigned ioctl_denied[] = {
	TIOCSTI, TIOCLINUX, TIOCSETD, TIOCCONS, TIOCSCTTY, TIOCVHANGUP, TIOCSIG,
	TIOCSPGRP, FIOSETOWN, SIOCSPGRP,
};
/* clang-format on */

static int fail_seccomp(struct rb_err *err, int r, const char *what)
{
	return rb_fail(err, RB_FAULT_INTERNAL, -r, "internal_error", NULL, "seccomp: %s: %s", what,
		       strerror(-r));
}

static int add_allowed(scmp_filter_ctx ctx, const struct seccomp_policy_options *opt,
		       unsigned *ret_count, struct rb_err *err)
{
	unsigned n = 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		/* socket/socketpair/clone/prlimit64 get conditions elsewhere */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return fail_seccomp(err, r, allowed[i]);
		n++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(allowed_numbers); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_numbers[i], 0);
		if (r < 0)
			return fail_seccomp(err, r, "allow by number");
		n++;
	}
	for (size_t i = 0; opt->pid_namespace && i < ARRAY_SIZE(session_calls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				     seccomp_syscall_resolve_name(session_calls[i]), 0);
		if (r < 0)
			return fail_seccomp(err, r, session_calls[i]);
		n++;
	}
	for (size_t i = 0; opt->ipc_namespace && i < ARRAY_SIZE(sysv_ipc); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(sysv_ipc[i]),
				     0);
		if (r < 0)
			return fail_seccomp(err, r, sysv_ipc[i]);
		n++;
	}
	*ret_count = n;
	return 0;
}

/* Allowed only with some argument values. */
static int add_conditional(scmp_filter_ctx ctx, struct rb_err *err)
{
	struct {
		const char *name;
		int nr;
		struct scmp_arg_cmp cmp;
		uint32_t action;
	} rules[] = {
	    {"clone", SCMP_SYS(clone), SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_FORBIDDEN, 0),
	     SCMP_ACT_ALLOW},
	    {"prlimit64", SCMP_SYS(prlimit64), SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, 0),
	     SCMP_ACT_ALLOW},
	    {"personality", SCMP_SYS(personality),
	     SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, 0xffffffffULL), SCMP_ACT_ALLOW},
	    {"personality", SCMP_SYS(personality), SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, 0),
	     SCMP_ACT_ALLOW},
	    {"mknod", SCMP_SYS(mknod), SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFIFO),
	     SCMP_ACT_ALLOW},
	    {"mknodat", SCMP_SYS(mknodat), SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFIFO),
	     SCMP_ACT_ALLOW},
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		r = seccomp_rule_add(ctx, rules[i].action, rules[i].nr, 1, rules[i].cmp);
		if (r < 0)
			return fail_seccomp(err, r, rules[i].name);
	}
	/* glibc falls back to clone() when clone3 says ENOSYS; clone3 passes its
	 * flags in memory, where no filter can read them. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return fail_seccomp(err, r, "clone3");
	/*
	 * io_uring stays refused, as a kernel without it: libuv (Node.js) then
	 * uses epoll and its thread pool without a word, where a refusal would
	 * be named on the stderr of every Node program that reads a file.
	 */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	if (r < 0)
		return fail_seccomp(err, r, "io_uring_setup");
	return 0;
}

static int deny_value(scmp_filter_ctx ctx, int nr, unsigned arg, uint64_t value, int errnum)
{
	struct scmp_arg_cmp cmp = {arg, SCMP_CMP_MASKED_EQ, LOW32, value & LOW32};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(errnum), nr, 1, &cmp);
}

/*
 * Signals: never to every process (-1), never to pid 1 (the host's init, or
 * in a pid namespace runbox's init that supervises the program), and without
 * a pid namespace never to runbox or its process group (inside one, the
 * host's processes are out of reach anyway).  ESRCH, as if there were no
 * such process, since EPERM is the allowlist's answer.
 */
static int deny_signals(scmp_filter_ctx ctx, const struct seccomp_policy_options *opt)
{
	int64_t pids[5 + 2 * SECCOMP_POLICY_MAX_PROTECT] = {-1, 1};
	size_t n = 2;
	int r;

	if (!opt->pid_namespace && opt->runbox_pid > 1) {
		pids[n++] = opt->runbox_pid;
		pids[n++] = -(int64_t)opt->runbox_pid;
		if (opt->runbox_pgid > 1 && opt->runbox_pgid != opt->runbox_pid)
			pids[n++] = -(int64_t)opt->runbox_pgid;
		for (size_t i = 0; i < SECCOMP_POLICY_MAX_PROTECT; i++)
			if (opt->protect[i] > 1 && opt->protect[i] != opt->runbox_pid) {
				pids[n++] = opt->protect[i];
				pids[n++] = -(int64_t)opt->protect[i];
			}
		/*
		 * A pidfd can come from open("/proc/<pid>") of any process, so
		 * its pid cannot be checked: without a pid namespace, no
		 * pidfd_send_signal at all (kill() serves every real need).
		 */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ESRCH), SCMP_SYS(pidfd_send_signal), 0);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t v = (uint64_t)pids[i];

		if ((r = deny_value(ctx, SCMP_SYS(kill), 0, v, ESRCH)) < 0 ||
		    (r = deny_value(ctx, SCMP_SYS(tkill), 0, v, ESRCH)) < 0 ||
		    (r = deny_value(ctx, SCMP_SYS(tgkill), 0, v, ESRCH)) < 0 ||
		    (r = deny_value(ctx, SCMP_SYS(rt_sigqueueinfo), 0, v, ESRCH)) < 0 ||
		    (r = deny_value(ctx, SCMP_SYS(rt_tgsigqueueinfo), 0, v, ESRCH)) < 0 ||
		    (r = deny_value(ctx, SCMP_SYS(pidfd_open), 0, v, ESRCH)) < 0)
			return r;
	}
	return 0;
}

/*
 * Socket families: every family below 64 other than the allowed ones fails
 * with EACCES; the kernel itself refuses families >= AF_MAX (< 64).
 */
static int deny_families(scmp_filter_ctx ctx, const struct seccomp_policy_options *opt)
{
	int r;

	for (unsigned family = 0; family < 64; family++) {
		if (family == AF_UNIX)
			continue;
		if (opt->allow_network && (family == AF_INET || family == AF_INET6))
			continue;
		r = deny_value(ctx, SCMP_SYS(socket), 0, family, EACCES);
		if (r < 0)
			return r;
		r = deny_value(ctx, SCMP_SYS(socketpair), 0, family, EACCES);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_denied_args(scmp_filter_ctx ctx, const struct seccomp_policy_options *opt,
			   struct rb_err *err)
{
	int r;

	r = deny_signals(ctx, opt);
	if (r < 0)
		return fail_seccomp(err, r, "signal rules");
	r = deny_families(ctx, opt);
	if (r < 0)
		return fail_seccomp(err, r, "socket rules");
	for (size_t i = 0; i < ARRAY_SIZE(fcntl_denied); i++) {
		r = deny_value(ctx, SCMP_SYS(fcntl), 1, fcntl_denied[i], EPERM);
		if (r < 0)
			return fail_seccomp(err, r, "fcntl rules");
	}
	for (size_t i = 0; i < ARRAY_SIZE(ioctl_denied); i++) {
		r = deny_value(ctx, SCMP_SYS(ioctl), 1, ioctl_denied[i], EPERM);
		if (r < 0)
			return fail_seccomp(err, r, "ioctl rules");
	}
	return 0;
}

/* Write the compiled filter of @ctx into insns[*at, ...); *at moves past it. */
static int export_filter(scmp_filter_ctx ctx, struct seccomp_policy *p, unsigned *at,
			 struct rb_err *err)
{
	size_t room = (SECCOMP_POLICY_MAX_INSNS - *at) * sizeof(struct sock_filter);
	int fd = memfd_create("runbox-seccomp", MFD_CLOEXEC);
	ssize_t n;
	int r;

	if (fd < 0)
		return rb_fail_sys(err, errno, "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		close(fd);
		return fail_seccomp(err, r, "export");
	}
	n = pread(fd, &p->insns[*at], room, 0);
	r = errno;
	if (n >= 0 && lseek(fd, 0, SEEK_END) > (off_t)room)
		n = -1, r = E2BIG;
	close(fd);
	if (n < 0 || n % sizeof(struct sock_filter) != 0)
		return rb_fail_sys(err, n < 0 ? r : EIO, "seccomp: read the compiled filter");
	*at += (unsigned)(n / sizeof(struct sock_filter));
	return 0;
}

/* A context for the native ABI whose other ABIs kill the whole process. */
static int new_context(scmp_filter_ctx *ret, uint32_t default_action, struct rb_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(default_action);
	int r;

	if (!ctx)
		return rb_fail_sys(err, ENOMEM, "seccomp: seccomp_init");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* we set it ourselves */
	/*
	 * A binary tree of system call numbers instead of a chain: the kernel
	 * runs the filter for every number when it loads it (to cache the
	 * calls that are always allowed), and calls it does not cache walk it.
	 */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		seccomp_release(ctx);
		return fail_seccomp(err, r, "attributes");
	}
	*ret = ctx;
	return 0;
}

static int build_allow(struct seccomp_policy *p, const struct seccomp_policy_options *opt,
		       unsigned *at, struct rb_err *err)
{
	scmp_filter_ctx ctx;
	int r = new_context(&ctx, SCMP_ACT_ERRNO(EPERM), err);

	if (r < 0)
		return r;
	r = add_allowed(ctx, opt, &p->n_syscalls, err);
	if (r >= 0)
		r = add_conditional(ctx, err);
	if (r >= 0)
		r = export_filter(ctx, p, at, err);
	seccomp_release(ctx);
	return r;
}

static int build_deny_args(struct seccomp_policy *p, const struct seccomp_policy_options *opt,
			   unsigned *at, struct rb_err *err)
{
	scmp_filter_ctx ctx;
	int r = new_context(&ctx, SCMP_ACT_ALLOW, err);

	if (r < 0)
		return r;
	r = add_denied_args(ctx, opt, err);
	if (r >= 0)
		r = export_filter(ctx, p, at, err);
	seccomp_release(ctx);
	return r;
}

/*
 * Make deny_args = insns[0, allow_at) go on to the allowlist where it would
 * allow: each "return ALLOW" becomes a jump to allow_at.  Classic BPF jumps
 * only forward, which this is, and the kernel's cache of always-allowed
 * calls follows unconditional jumps: plain calls still skip the filter.
 */
static void chain(struct seccomp_policy *p)
{
	for (unsigned i = 0; i < p->allow_at; i++) {
		struct sock_filter *f = &p->insns[i];

		if (f->code == (BPF_RET | BPF_K) && f->k == SECCOMP_RET_ALLOW)
			*f = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, p->allow_at - i - 1, 0,
							  0);
	}
}

static int compile(struct seccomp_policy *ret, const struct seccomp_policy_options *opt,
		   struct rb_err *err)
{
	unsigned at = 0;
	int r;

	ret->ready = ret->notify = false;
	r = build_deny_args(ret, opt, &at, err);
	if (r < 0)
		return r;
	ret->allow_at = (unsigned short)at;
	r = build_allow(ret, opt, &at, err);
	if (r < 0)
		return r;
	ret->n_insns = (unsigned short)at;
	chain(ret);
	ret->ready = true;
	return 0;
}

/*
 * Compiling takes about a millisecond and depends only on the options, so
 * each option set is compiled once per process and copied afterwards.
 */
#define CACHE_SLOTS 8

static struct {
	struct seccomp_policy_options opt;
	struct seccomp_policy policy;
} cache[CACHE_SLOTS];
static unsigned cache_used;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same_options(const struct seccomp_policy_options *a,
			 const struct seccomp_policy_options *b)
{
	return a->allow_network == b->allow_network && a->pid_namespace == b->pid_namespace &&
	       a->ipc_namespace == b->ipc_namespace && a->runbox_pid == b->runbox_pid &&
	       a->runbox_pgid == b->runbox_pgid && a->protect[0] == b->protect[0] &&
	       a->protect[1] == b->protect[1];
}

int seccomp_policy_build(struct seccomp_policy *ret, const struct seccomp_policy_options *opt,
			 struct rb_err *err)
{
	int r = 0;

	pthread_mutex_lock(&cache_lock);
	for (unsigned i = 0; i < cache_used; i++) {
		if (same_options(&cache[i].opt, opt)) {
			*ret = cache[i].policy;
			goto unlock;
		}
	}
	r = compile(ret, opt, err);
	if (r >= 0 && cache_used < CACHE_SLOTS) {
		cache[cache_used].opt = *opt;
		cache[cache_used].policy = *ret;
		cache_used++;
	}
unlock:
	pthread_mutex_unlock(&cache_lock);
	return r;
}

static int load_one(const struct sock_filter *insns, unsigned short len)
{
	struct sock_fprog prog = {.len = len, .filter = (struct sock_filter *)insns};

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* The last instruction of a part: a return, or (deny_args) its jump to the allowlist. */
static bool ends_part(const struct sock_filter *f)
{
	return BPF_CLASS(f->code) == BPF_RET || (f->code == (BPF_JMP | BPF_JA) && f->k == 0);
}

bool seccomp_policy_valid(const struct seccomp_policy *p)
{
	return p->ready && !p->notify && p->allow_at > 0 && p->n_insns > p->allow_at &&
	       p->n_insns <= SECCOMP_POLICY_MAX_INSNS && ends_part(&p->insns[p->allow_at - 1]) &&
	       BPF_CLASS(p->insns[p->n_insns - 1].code) == BPF_RET;
}

void seccomp_policy_to_notify(const struct seccomp_policy *policy, struct seccomp_policy *ret)
{
	const uint32_t eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

	*ret = *policy;
	ret->notify = policy->ready;
	/* The allowlist's default answer only: deny_args' own EPERMs stay. */
	for (unsigned i = ret->allow_at; i < ret->n_insns; i++)
		if (ret->insns[i].code == (BPF_RET | BPF_K) && ret->insns[i].k == eperm)
			ret->insns[i].k = SECCOMP_RET_USER_NOTIF;
}

int seccomp_policy_load_notify(const struct seccomp_policy *notify,
			       const struct seccomp_policy *plain, int *ret_listener,
			       struct rb_err *err)
{
	struct sock_fprog prog = {.len = notify->n_insns,
				  .filter = (struct sock_filter *)notify->insns};
	long fd;

	*ret_listener = -1;
	if (notify->notify) {
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			     &prog);
		if (fd >= 0) {
			*ret_listener = (int)fd;
			return 0;
		}
	}
	/* No listeners on this kernel: refused calls just fail with EPERM. */
	return seccomp_policy_load(plain, err);
}

int seccomp_policy_load(const struct seccomp_policy *policy, struct rb_err *err)
{
	if (!policy->ready)
		return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "internal_error", NULL,
			       "seccomp: the policy was not compiled");
	if (load_one(policy->insns, policy->n_insns) < 0)
		return rb_fail_sys(err, errno, "seccomp: load the filter");
	return 0;
}

/* Allow system call @nr, else fall through to the next test. */
#define ALLOW_NR(nr)                                                                               \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                           \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int seccomp_policy_load_init(struct rb_err *err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    /* x32 numbers carry bit 30: they match none of these. */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    ALLOW_NR(__NR_poll),
	    /* how the kernel resumes a poll() stopped by SIGSTOP or a tracer */
	    ALLOW_NR(__NR_restart_syscall),
	    ALLOW_NR(__NR_wait4),
	    ALLOW_NR(__NR_ioctl),
	    ALLOW_NR(__NR_write),
	    ALLOW_NR(__NR_close_range),
	    ALLOW_NR(__NR_exit_group),
	    ALLOW_NR(__NR_exit),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};

	if (load_one(f, (unsigned short)(sizeof(f) / sizeof(f[0]))) < 0)
		return rb_fail_sys(err, errno, "seccomp: load the init's filter");
	return 0;
}

/*
 * Refuse system call @nr, else fall through to the next test.  With
 * SECCOMP_RET_TRACE: no tracer is ever attached (the template is not
 * dumpable), so the call fails with ENOSYS; and in a run made from the
 * template, whose own filter refuses these calls too, the run's answer
 * (EPERM, or a notification its init names on stderr) takes precedence,
 * as it would cold.
 */
#define DENY_NR(nr)                                                                                \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                           \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE)

int seccomp_policy_load_template(struct rb_err *err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    /* x32 numbers carry bit 30 */
	    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    DENY_NR(__NR_ptrace),
	    DENY_NR(__NR_process_vm_readv),
	    DENY_NR(__NR_process_vm_writev),
	    DENY_NR(__NR_bpf),
	    DENY_NR(__NR_perf_event_open),
	    DENY_NR(__NR_userfaultfd),
	    DENY_NR(__NR_io_uring_setup),
	    DENY_NR(__NR_io_uring_enter),
	    DENY_NR(__NR_io_uring_register),
	    DENY_NR(__NR_keyctl),
	    DENY_NR(__NR_add_key),
	    DENY_NR(__NR_request_key),
	    DENY_NR(__NR_init_module),
	    DENY_NR(__NR_finit_module),
	    DENY_NR(__NR_delete_module),
	    DENY_NR(__NR_kexec_load),
	    DENY_NR(__NR_kexec_file_load),
	    DENY_NR(__NR_reboot),
	    DENY_NR(__NR_swapon),
	    DENY_NR(__NR_swapoff),
	    DENY_NR(__NR_acct),
	    DENY_NR(__NR_settimeofday),
	    DENY_NR(__NR_clock_settime),
	    DENY_NR(__NR_clock_adjtime),
	    DENY_NR(__NR_adjtimex),
	    DENY_NR(__NR_open_by_handle_at),
	    DENY_NR(__NR_name_to_handle_at),
	    DENY_NR(__NR_iopl),
	    DENY_NR(__NR_ioperm),
	    DENY_NR(__NR_pidfd_getfd),
	    DENY_NR(__NR_kcmp),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	if (load_one(f, (unsigned short)(sizeof(f) / sizeof(f[0]))) < 0)
		return rb_fail_sys(err, errno, "seccomp: load the template's filter");
	return 0;
}

/* One forbidden call and the errno it must fail with. */
static bool refused(long r, int errnum)
{
	return r == -1 && errno == errnum;
}

int seccomp_policy_probe_child(const struct seccomp_policy *policy)
{
	struct rb_err err;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	if (seccomp_policy_load(policy, &err) < 0)
		return err.errnum > 0 ? err.errnum : 201;
	if (!refused(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), EACCES) ||
	    !refused(syscall(SYS_socket, 0x100000000UL | AF_INET, SOCK_STREAM, 0), EACCES) ||
	    !refused(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0), EPERM) ||
	    !refused(syscall(SYS_clone3, NULL, 0), ENOSYS) ||
	    !refused(syscall(SYS_io_uring_setup, 1, NULL), ENOSYS) ||
	    !refused(syscall(SYS_kill, -1, 0), ESRCH) ||
	    !refused(syscall(SYS_unshare, CLONE_NEWNS), EPERM))
		return 200;
	if (syscall(SYS_getpid) <= 0)
		return 200;
	return 0;
}
