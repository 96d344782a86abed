/*
 * child: what a run's processes do between clone() and execve(), in the
 * one order written in child.c.
 *
 * launch.c creates the first process of a run with clone() and hands it a
 * struct child_arg; from there child_main() runs the ordered steps: the
 * program's own set-up, every sandbox layer, and, with a pid namespace, the
 * namespace's init and the program as its pid 2.  Nothing here allocates:
 * the parent prepared everything, and a failing step writes its struct
 * rb_err to the report pipe and exits 127.
 */
#ifndef RUNBOX_CHILD_H
#define RUNBOX_CHILD_H

#include <setjmp.h>
#include <stdbool.h>
#include <sys/types.h>

#include "run/launch.h"

/* The pipes of one run; [0] read end, [1] write end, all O_CLOEXEC. */
struct child_pipes {
	int in[2], out[2], err[2], report[2], status[2];
	int life[2]; /* runbox holds the write end: EOF at the read end means runbox died */
};

/*
 * What the first process of a run is given.  The parent writes it before
 * the clone() and never again: a child that shares the parent's memory
 * reads it safely for its whole life.
 */
struct child_arg {
	const struct launch_spec *spec;
	struct child_pipes p; /* a copy: the parent closes its own ends while the child sets up */
	char *stack;	      /* pid 2's, while it shares the init's memory (CHILD_STACK_BYTES) */
	pid_t parent;	      /* runbox, or the warm template */
	/*
	 * Warm: the run's processes are copies of a template interpreter that
	 * has imported its modules already (run/template.c).  Its program
	 * does not execve: it becomes the program by returning into the
	 * interpreter, through @become, which must not return on success.  The
	 * init, which shares the template's memory, tells the template on
	 * @sync_fd when the program is started and its own set-up is done, and
	 * zeroes what it used of @init_stack first (the template's memory is
	 * copied into every later run's program).
	 */
	int (*become)(const struct child_arg *a, struct rb_err *err);
	int sync_fd;
	char *init_stack; /* the init's (CHILD_STACK_BYTES), warm only */
	void *become_ctx; /* for @become */
};

#define CHILD_STACK_BYTES (256 * 1024)

/*
 * How a program made from a warm template tells its init, at exit(), that
 * it is done and with which status, before the kernel takes its copy of
 * the template's memory apart (tens of milliseconds): a call of this
 * unimplemented system call, which the program's filter refuses and
 * notifies, with CHILD_EXIT_MAGIC and the status as its arguments.  The
 * init then reports that status and ends the namespace.  Only the
 * program's own process is heard (a process it forks ends as any other
 * does); a program that makes the call itself only ends itself early,
 * with a status it chose.
 */
#define CHILD_EXIT_NR	 184 /* tuxcall: not implemented on x86-64 */
#define CHILD_EXIT_MAGIC 0x72756e626f786578ULL

/*
 * Whether a pid namespace's init may run in runbox's own memory: only
 * where it can make raw system calls that leave errno alone (x86-64), and
 * not under ASan, which cannot follow a stack it did not allocate.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define CHILD_INIT_CAN_SHARE_MEMORY 1
#else
#define CHILD_INIT_CAN_SHARE_MEMORY 0
/*
 * Start @fn(@arg) in a child created in the control group of @cgroup_fd
 * (clone3 with CLONE_INTO_CGROUP, cgroup v2) with @flags (CLONE_* and the
 * namespaces; SIGCHLD is its exit signal).  With CLONE_VM it runs on
 * @stack (CHILD_STACK_BYTES) in our memory and exits with @fn's value;
 * without, on a copy of ours, as after fork().  With CLONE_PIDFD its pidfd
 * goes to *@ret_pidfd.  Returns its pid, or -1 with errno.
 */
pid_t child_clone_into(int (*fn)(void *), void *arg, char *stack, unsigned long flags,
		       int cgroup_fd, int *ret_pidfd);

#endif

/*
 * The entry point of the run's first process (clone()'s fn): runs the
 * ordered steps and never returns (it execs the program, or, as a pid
 * namespace's init, exits when the program has ended).
 */
int child_main(void *arg);

/*
 * Start @fn(@arg) in a child that shares our memory and suspends us until
 * it execs or exits (vfork semantics), on @stack (CHILD_STACK_BYTES, its
 * low end a guard page).  Returns its pid, or -1 with errno.
 */
pid_t child_spawn_shared(int (*fn)(void *), void *arg, char *stack, unsigned long flags);

/*
 * Start @fn(@arg) in a child created in the control group of @cgroup_fd
 * (clone3 with CLONE_INTO_CGROUP, cgroup v2) with @flags (CLONE_* and the
 * namespaces; SIGCHLD is its exit signal).  With CLONE_VM it runs on
 * @stack (CHILD_STACK_BYTES) in our memory and exits with @fn's value;
 * without, on a copy of ours, as after fork().  With CLONE_PIDFD its pidfd
 * goes to *@ret_pidfd.  Returns its pid, or -1 with errno.
 */
pid_t child_clone_into(int (*fn)(void *), void *arg, char *stack, unsigned long flags,
		       int cgroup_fd, int *ret_pidfd);

#endif
