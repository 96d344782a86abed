/*
 * landlock: best-effort file-system and network confinement by Landlock ABI.
 *
 * The parent asks the kernel for its ABI, handles only the rights that ABI
 * knows (a fall-through ladder, as in the kernel's samples/landlock/
 * sandboxer.c), opens the allowed paths with O_PATH and adds them to a
 * ruleset.  The child adds the few paths that only exist in its own mount
 * namespace (the private /tmp, /dev/shm and the fresh /proc), then restricts
 * itself with the ruleset fd: raw system calls, no allocation.
 *
 * Read and execute: the interpreter's prefix, /usr, /lib*, /bin, /sbin, /etc,
 * /proc, /sys, a few device nodes.  Read and write: the workspace, the
 * private /tmp and /dev/shm.  With ABI >= 4 and no network allowed, TCP bind
 * and connect are denied; with ABI >= 6 abstract UNIX sockets and signals are
 * scoped to the sandbox.
 */
#ifndef RUNBOX_LANDLOCK_H
#define RUNBOX_LANDLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define LANDLOCK_MAX_EXTRA_PATHS 4

struct landlock_options {
	const char *workspace;	 /* read/write */
	bool workspace_detached; /* then the rule is on workspace_fd, not the path */
	int workspace_fd;
	const char *python; /* its prefix (dir of dir of the real path) is read/exec */
	const char *read_paths[LANDLOCK_MAX_EXTRA_PATHS]; /* more read/exec dirs, NULL ends */
	bool allow_network;				  /* do not restrict TCP */
	bool private_mounts; /* the child mounts its own /tmp, /dev/shm, /proc */
};

struct landlock_plan {
	bool enabled;
	int abi;	     /* the kernel's Landlock ABI, 0 when none */
	int ruleset_fd;	     /* -1 when none; owned by the plan */
	uint64_t handled_fs; /* the rights this ABI lets us handle */
	bool net_restricted; /* TCP bind/connect denied (ABI >= 4) */
	bool scoped;	     /* abstract UNIX sockets and signals scoped (ABI >= 6) */
	bool private_mounts;
};

/* The kernel's Landlock ABI (>= 1), or a negative errno when unsupported. */
int landlock_abi(void);

/*
 * Build the ruleset in the parent.  On success @ret owns ruleset_fd
 * (O_CLOEXEC); release it with landlock_plan_release().  Returns 0, or a
 * negative errno with @err filled (-EOPNOTSUPP when the kernel has none).
 */
int landlock_plan_prepare(struct landlock_plan *ret, const struct landlock_options *opt,
			  struct rb_err *err);

/*
 * Restrict the calling thread.  Call only between fork and exec, after
 * no_new_privs and after the child's mounts: raw system calls only.  Closes
 * the ruleset fd in the child.
 */
int landlock_plan_enter(const struct landlock_plan *plan, struct rb_err *err);

void landlock_plan_release(struct landlock_plan *plan);

/*
 * Body of the probe child: handle file writes with no rule, restrict, and
 * check that opening /dev/null for writing fails with EACCES.  Returns an
 * exit status: 0 ok, an errno when Landlock could not be applied, 200 when
 * the write was allowed.
 */
int landlock_probe_child(void);

#endif
