/*
 * launch: how a program is started.
 *
 * This is the one small interface between "make a process that runs this
 * program under these limits and this sandbox" and everything around it
 * (supervision, result collection).  Today it forks a fresh child per run;
 * a later pool of pre-forked, pre-imported one-shot workers implements the
 * same call.  The child between fork and exec allocates nothing and reports
 * a failure through a close-on-exec pipe.
 */
#ifndef RUNBOX_LAUNCH_H
#define RUNBOX_LAUNCH_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/err.h"
#include "sandbox/sandbox.h"

struct warm;

struct launch_rlimit {
	int resource;
	struct rlimit value;
};

struct launch_spec {
	const char *path; /* absolute executable */
	char *const *argv;
	char *const *envp;
	int cwd_fd; /* the workspace */
	const struct launch_rlimit *rlimits;
	size_t n_rlimits;
	const struct sandbox_plan *sandbox; /* required; a plan with no layers is fine */
	/*
	 * A warm template to make the run's processes from (run/warm.h), or
	 * NULL.  Only a Python program: its interpreter is the template.
	 * When the template cannot take the run, it starts cold.
	 */
	struct warm *warm;
	int warm_kind; /* enum warm_kind: which of its templates */
};

/*
 * What status_fd carries once the program has ended: its wait status and
 * its peak resident set (ru_maxrss of its main process), written by whoever
 * reaped it (the namespace's init, or a warm template).
 */
struct launch_status {
	int wait_status;
	int max_rss_kb;
	int start_rss_kb; /* what it mapped when it started: a warm copy's share of the template */
};

/* A started program: its pid and the parent's ends of its standard fds. */
struct launched {
	pid_t pid;
	int stdin_fd;	 /* write end, O_NONBLOCK */
	int stdout_fd;	 /* read end, O_NONBLOCK */
	int stderr_fd;	 /* read end, O_NONBLOCK */
	int pidfd;	 /* -1 when the kernel has no pidfd_open */
	int status_fd;	 /* the program's wait status when an init runs it as pid 2 */
	int lifeline_fd; /* held while the run lasts: closing it (runbox dying) ends the init */
	void *child_mem; /* an init's stack in our memory, unmapped by launch_close() */
	/*
	 * Made by a warm template: pid is not our child.  Its end is seen on
	 * pidfd, and the program's wait status comes on status_fd.
	 */
	bool warm;
};

/*
 * Start the program.  On success the caller owns the fds and must reap the
 * pid unless ret->warm (supervise does both).  On failure nothing is left
 * running and @err says which step of the child's set-up failed.
 */
int launch_start(const struct launch_spec *spec, struct launched *ret, struct rb_err *err);

/*
 * Close whatever fds of @l are still open and free what its init ran on
 * (idempotent).  Only once the pid is reaped: the init may share our memory.
 */
void launch_close(struct launched *l);

#endif
