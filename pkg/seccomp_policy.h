/*
 * seccomp_policy: the system-call policy of a program run.
 *
 * The policy is two classic-BPF filters compiled in the parent with
 * libseccomp and stacked in the child:
 *  - "allow": a default-deny allowlist (default ERRNO(EPERM)), with argument
 *    conditions only where they narrow what is allowed (clone without
 *    namespace flags, prlimit64 on pid 0, ...);
 *  - "deny_args": default ALLOW, failing chosen argument values of calls the
 *    allowlist lets through (kill at pid -1, fcntl F_SETOWN, ioctl TIOCSTI,
 *    socket families other than AF_UNIX).
 * Two filters because libseccomp cannot say "allow unless the argument is X"
 * in one filter without letting the unconditional allow win; the kernel runs
 * every stacked filter and keeps the most restrictive answer.
 * Every 32-bit argument is compared with a 0xffffffff mask so that bits above
 * 31, which the kernel ignores, cannot smuggle a value past a rule.
 * System calls of another ABI (i386 int 0x80, x32) kill the process (SIGSYS).
 */
#ifndef RUNBOX_SECCOMP_POLICY_H
#define RUNBOX_SECCOMP_POLICY_H

#include <stdbool.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "err.h"

#define SECCOMP_POLICY_MAX_INSNS 2048

struct seccomp_policy_options {
	bool allow_network; /* AF_INET/AF_INET6 sockets as well as AF_UNIX */
	bool pid_namespace; /* the program has its own pid namespace */
	bool ipc_namespace; /* SysV IPC is private: allow it */
	pid_t runbox_pid;   /* never signalled (only without a pid namespace) */
	pid_t runbox_pgid;  /* nor its process group (a shell's job, often not runbox_pid) */
};

/* Both filters in one fixed buffer: allow = insns[0, n_allow), deny_args after. */
struct seccomp_policy {
	bool ready;
	unsigned short n_allow;
	unsigned short n_deny_args;
	unsigned n_syscalls; /* system calls on the allowlist, for reporting */
	struct sock_filter insns[SECCOMP_POLICY_MAX_INSNS];
};

/*
 * Compile the policy for @opt into @ret (in the parent; allocates inside
 * libseccomp and frees before returning).  Returns 0 or a negative errno.
 */
int seccomp_policy_build(struct seccomp_policy *ret, const struct seccomp_policy_options *opt,
			 struct rb_err *err);

/*
 * Load both filters into the calling thread.  Call only between fork and
 * exec, after no_new_privs (or with CAP_SYS_ADMIN): raw system calls only,
 * no allocation.  After it returns, only allowlisted calls work.
 */
int seccomp_policy_load(const struct seccomp_policy *policy, struct rb_err *err);

/*
 * As seccomp_policy_load(), but the allowlist answers a refused call through
 * a user-space notification listener returned in *ret_listener (-1 where the
 * kernel has none; then calls fail with EPERM as usual), so a supervisor can
 * name the call before answering EPERM.  Rewrites @policy's instructions in
 * place: call it on a copy of the plan (in a forked child).  Same
 * constraints as seccomp_policy_load().
 */
int seccomp_policy_load_notify(struct seccomp_policy *policy, int *ret_listener,
			       struct rb_err *err);

/*
 * Load the filter of a pid namespace's init (not the program's): poll (and
 * restart_syscall), wait4, ioctl, write, close_range and exit only; anything else, or another
 * ABI, kills it (and so the namespace).  Same constraints as
 * seccomp_policy_load().  A few instructions: quick to load, next to the
 * program's two filters of hundreds.
 */
int seccomp_policy_load_init(struct rb_err *err);

/*
 * Body of the probe child: load @policy and check that forbidden calls fail
 * (socket(AF_INET) with EACCES, ptrace with EPERM, clone3 with ENOSYS,
 * kill(-1) with ESRCH).  Returns an exit status: 0 ok, an errno when the
 * filter could not be loaded, 200 when a forbidden call got through.
 */
int seccomp_policy_probe_child(const struct seccomp_policy *policy);

#endif
