/*
 * cgroup: one control group per run, below the group runbox runs in, so
 * that the run's whole process tree shares one memory limit, one process
 * limit and one fair share of the CPU, whatever uid it has and however
 * many sessions it makes.
 *
 * At start, cgroup_host_open() finds runbox's own groups (cgroup_layout.h),
 * decides between cgroup v2 (one hierarchy, the controllers runbox's group
 * hands down) and v1 (a hierarchy per controller), sweeps the groups a
 * killed runbox left, and proves it can make a group with limits (made and
 * removed).  On v2 a group with processes cannot hand controllers down, so
 * runbox first moves itself into a leaf group of its own.
 *
 * Per run, cgroup_run_create() makes a group with the run's limits in
 * every hierarchy; the run's first process joins it (v2: clone3 creates it
 * there, CLONE_INTO_CGROUP; v1: its first step writes "0" to the group's
 * `tasks` file, which moves the one thread without the global lock that
 * writing to cgroup.procs takes); cgroup_run_remove() kills what is left
 * and removes the group.
 *
 * Ownership across processes: every group runbox makes is named
 * "runbox-<16 hex digits>" and held with flock() on its directory by the
 * process that made it, for as long as it lives.  A sweep removes only
 * groups of that name whose lock it can take: their maker is gone, so two
 * runbox processes never remove each other's live groups, whatever pid
 * namespaces they are in.
 */
#ifndef RUNBOX_CGROUP_H
#define RUNBOX_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"
#include "sandbox/cgroup_layout.h"

#define CGROUP_BIT(c) (1U << (c))

/* One hierarchy runbox makes groups in: its own group there, and what it controls. */
struct cgroup_hier {
	int parent_fd;	      /* the group runbox runs in (v2: its parent, once runbox moved) */
	unsigned controllers; /* CGROUP_BIT()s of the controllers a run's group gets here */
};

struct cgroup_host {
	int version;	      /* 1 or 2; 0: runs get no group */
	unsigned controllers; /* CGROUP_BIT()s of every controller in use */
	struct cgroup_hier h[CGROUP_CONTROLLERS];
	int n;
	bool clone_into; /* v2: clone3(CLONE_INTO_CGROUP) works */
	int self_fd;	 /* v2: runbox's own leaf, held (locked) while runbox lives; or -1 */
	char self_name[CGROUP_NAME_BYTES];
	int swept;	 /* groups left by a runbox that died, removed at start */
	char detail[96]; /* what was found, or why there are no groups */
};

/* What a run's group bounds; 0 leaves that controller's limit unset. */
struct cgroup_limits {
	size_t memory_bytes; /* the run's memory, its page cache and tmpfs pages included */
	unsigned pids;	     /* processes and threads */
	double cpus;	     /* a CPU quota in CPUs (0.5: half of one); 0: a fair share only */
};

struct cgroup_run {
	char name[CGROUP_NAME_BYTES];
	int version;
	unsigned controllers;
	int n;
	int parent_fd[CGROUP_CONTROLLERS]; /* borrowed from the host */
	int dir_fd[CGROUP_CONTROLLERS];	   /* per hierarchy, locked with flock() */
	int join_fd[CGROUP_CONTROLLERS];   /* what the first process writes "0" to, or -1 */
	int n_join;
	int into_fd;   /* v2: the group's directory for CLONE_INTO_CGROUP, or -1 */
	int memory_fd; /* the directory that holds the memory controller's files, or -1 */
};

/* Why cgroup_host_open is called. */
enum cgroup_mode {
	CGROUP_PROBE, /* `runbox check`: look, and make one group to prove it; move nothing */
	CGROUP_SERVE, /* a runbox that runs programs: also sweep, and on v2 move into a leaf */
};

/*
 * Find and prepare the groups (see above).  Never fails: without usable
 * groups @h->version is 0 and @h->detail says why.  Release with
 * cgroup_host_close().
 */
void cgroup_host_open(struct cgroup_host *h, enum cgroup_mode mode);
void cgroup_host_close(struct cgroup_host *h);

/*
 * Make a run's group with @limits in every hierarchy of @h.  Returns 0, or
 * a negative errno with @err (nothing left behind).  Release with
 * cgroup_run_remove(), also on failure (then a no-op).
 */
int cgroup_run_create(const struct cgroup_host *h, const struct cgroup_limits *limits,
		      struct cgroup_run *ret, struct rb_err *err);

/*
 * In the run's first process, before it makes any other (call only
 * between clone and exec; no allocation): join the run's group where
 * clone3 did not create the process in it, by writing "0" to each of the
 * @n fds of @join_fds (a cgroup_run's join_fd, handed on as they are or
 * passed to another process).
 */
int cgroup_join(const int *join_fds, int n, struct rb_err *err);
int cgroup_run_join(const struct cgroup_run *run, struct rb_err *err);

/*
 * Set the run's memory limit to @bytes (a warm run's: the limit plus the
 * template's pages it may come to own), swap kept at none beyond it.
 * Returns 0, or a negative errno; nothing to do without a memory group.
 */
int cgroup_run_set_memory(const struct cgroup_run *run, size_t bytes);

/* How many of the run's processes the kernel killed for its memory limit (0 when unknown). */
unsigned long long cgroup_run_oom_kills(const struct cgroup_run *run);

/*
 * Kill whatever is left in the group, remove it, close its fds.
 * Idempotent.  Returns 0, or -EBUSY when a group could not be removed in
 * time (its lock is then dropped: the next sweep takes it).
 */
int cgroup_run_remove(struct cgroup_run *run);

/*
 * The memory limit of the group runbox runs in (a container's limit, for
 * one), or 0 when it has none or it cannot be read.
 */
unsigned long long cgroup_own_memory_limit(void);

/* A zeroed run that owns nothing (fds -1). */
void cgroup_run_init(struct cgroup_run *run);

#endif
