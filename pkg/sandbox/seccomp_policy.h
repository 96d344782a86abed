/*
 * seccomp_policy: the system-call policy of a program run.
 *
 * The policy is two parts compiled in the parent with libseccomp, then
 * chained into one classic-BPF filter that the child loads with one call:
 *  - "deny_args": fails chosen argument values of calls the allowlist lets
 *    through (kill at pid -1, fcntl F_SETOWN, ioctl TIOCSTI, socket
 *    families other than AF_UNIX); every call it does not fail goes on to
 *  - "allow": a default-deny allowlist (default ERRNO(EPERM)), with argument
 *    conditions only where they narrow what is allowed (clone without
 *    namespace flags, prlimit64 on pid 0, ...).
 * Two parts because libseccomp cannot say "allow unless the argument is X"
 * in one context without letting the unconditional allow win.  They used to
 * be two stacked filters; chained, the answer is the same (a refusal of the
 * first part is final, as the kernel keeps the most restrictive answer of a
 * stack), and the kernel checks, converts and JIT-compiles one program
 * instead of two, a tenth of a millisecond of every run on these VMs.
 * Every 32-bit argument is compared with a 0xffffffff mask so that bits above
 * 31, which the kernel ignores, cannot smuggle a value past a rule.
 * System calls of another ABI (i386 int 0x80, x32) kill the process (SIGSYS).
 */
#ifndef RUNBOX_SECCOMP_POLICY_H
#define RUNBOX_SECCOMP_POLICY_H

#include <stdbool.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "base/err.h"

#define SECCOMP_POLICY_MAX_INSNS 2048
/* runbox processes a program may be told not to signal (server, spawner, warm template) */
#define SECCOMP_POLICY_MAX_PROTECT 6
/* Bumped whenever struct seccomp_policy changes meaning: part of any cache key. */
#define SECCOMP_POLICY_LAYOUT 2

struct seccomp_policy_options {
	bool allow_network; /* AF_INET/AF_INET6 sockets as well as AF_UNIX */
	bool pid_namespace; /* the program has its own pid namespace */
	bool ipc_namespace; /* SysV IPC is private and limited (ns_sets_ipc_limits): allow it */
	pid_t runbox_pid;   /* never signalled (only without a pid namespace) */
	pid_t runbox_pgid;  /* nor its process group (a shell's job, often not runbox_pid) */
	/*
	 * Other runbox processes a program must not signal either (only
	 * without a pid namespace): the server and the worker spawner of
	 * serve mode, the MCP server whose forked child runbox is.  0: none.
	 */
	pid_t protect[SECCOMP_POLICY_MAX_PROTECT];
};

/*
 * The chained filter: deny_args = insns[0, allow_at), whose "allow" answers
 * jump to allow = insns[allow_at, n_insns).
 */
struct seccomp_policy {
	bool ready;
	bool notify; /* the allowlist's refusals are user-space notifications */
	unsigned short allow_at;
	unsigned short n_insns;
	unsigned n_syscalls; /* system calls on the allowlist, for reporting */
	struct sock_filter insns[SECCOMP_POLICY_MAX_INSNS];
};

/*
 * Whether @p, read back from a cache, is a policy this build can load: a
 * chained program with both parts, ending in a return.
 */
bool seccomp_policy_valid(const struct seccomp_policy *p);

/*
 * Compile the policy for @opt into @ret (in the parent; allocates inside
 * libseccomp and frees before returning).  Returns 0 or a negative errno.
 */
int seccomp_policy_build(struct seccomp_policy *ret, const struct seccomp_policy_options *opt,
			 struct rb_err *err);

/*
 * Load the filter into the calling thread.  Call only between fork and
 * exec, after no_new_privs (or with CAP_SYS_ADMIN): raw system calls only,
 * no allocation.  After it returns, only allowlisted calls work.
 */
int seccomp_policy_load(const struct seccomp_policy *policy, struct rb_err *err);

/*
 * The variant of @policy whose allowlist answers a refused call through a
 * user-space notification instead of EPERM, so that a supervisor can name
 * the call before answering EPERM.  Made in the parent, next to @policy.
 */
void seccomp_policy_to_notify(const struct seccomp_policy *policy, struct seccomp_policy *ret);

/*
 * Load @notify (from seccomp_policy_to_notify) with a notification listener
 * returned in *ret_listener; where the kernel has no listeners, load @plain
 * instead (*ret_listener = -1, refused calls fail with EPERM as usual).
 * Same constraints as seccomp_policy_load(); writes neither policy.
 */
int seccomp_policy_load_notify(const struct seccomp_policy *notify,
			       const struct seccomp_policy *plain, int *ret_listener,
			       struct rb_err *err);

/*
 * Load the filter of a pid namespace's init (not the program's): poll (and
 * restart_syscall), wait4, ioctl, write, close_range and exit only; anything else, or another
 * ABI, kills it (and so the namespace).  Same constraints as
 * seccomp_policy_load().  A few instructions: quick to load, next to the
 * program's filter of hundreds.
 */
int seccomp_policy_load_init(struct rb_err *err);

/*
 * Load the warm template's own filter (run/warm.h): a denylist of what
 * neither the template nor any run's set-up ever needs and what would let
 * a module it imports reach past its process (ptrace, process_vm_*, bpf,
 * perf_event_open, userfaultfd, io_uring, keyrings, kernel modules and
 * kexec, reboot, swap, clocks, handle-based opens); other ABIs kill.
 * Every run made from the template inherits it under its own filter.
 * Call in the template's process before its execve, after no_new_privs.
 */
int seccomp_policy_load_template(struct rb_err *err);

/*
 * Body of the probe child: load @policy and check that forbidden calls fail
 * (socket(AF_INET) with EACCES, ptrace with EPERM, clone3 with ENOSYS,
 * kill(-1) with ESRCH).  Returns an exit status: 0 ok, an errno when the
 * filter could not be loaded, 200 when a forbidden call got through.
 */
int seccomp_policy_probe_child(const struct seccomp_policy *policy);

#endif
