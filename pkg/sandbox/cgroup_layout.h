/*
 * cgroup_layout: where this process's control groups are, and what their
 * files say, as pure text handling (no system calls), so that every rule
 * is unit-tested without a kernel that has the hierarchy.
 *
 * Two inputs describe the groups: /proc/self/cgroup (which group of each
 * hierarchy the process is in, relative to its cgroup namespace) and
 * /proc/self/mountinfo (where each hierarchy is mounted, and which part of
 * it the mount shows).  The group runbox runs in is the mount point plus
 * the process's path below the mount's root; runbox creates groups only
 * below it.  On cgroup v1 each controller has its own hierarchy (possibly
 * shared with others: "cpu,cpuacct"); on cgroup v2 one hierarchy holds
 * every controller, and the group's cgroup.controllers says which of them
 * its parent hands down.
 */
#ifndef RUNBOX_CGROUP_LAYOUT_H
#define RUNBOX_CGROUP_LAYOUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* The controllers a run's group uses, in the order reported. */
enum cgroup_controller { CGROUP_MEMORY, CGROUP_PIDS, CGROUP_CPU, CGROUP_CONTROLLERS };

/* "memory", "pids", "cpu". */
const char *cgroup_controller_name(enum cgroup_controller c);

/*
 * Where this process's groups are: for cgroup v2 one directory; for v1 one
 * per controller ("" for a controller with no usable hierarchy).
 */
struct cgroup_layout {
	char v2[PATH_MAX];
	char v1[CGROUP_CONTROLLERS][PATH_MAX];
	char why_not[160]; /* when nothing usable was found: why */
};

/*
 * Fill @ret from the text of /proc/self/cgroup and /proc/self/mountinfo.
 * A hierarchy counts only when it is mounted and the process's group is
 * inside what the mount shows (a path of "/.." means outside its cgroup
 * namespace's view).  Returns 0 (possibly with nothing found: see
 * why_not), never fails on odd lines (skipped).
 */
void cgroup_layout_find(const char *proc_cgroup, const char *mountinfo, struct cgroup_layout *ret);

/* Whether the space-separated @list (cgroup.controllers) names @name. */
bool cgroup_list_has(const char *list, const char *name);

/*
 * The value of the line "KEY VALUE" of a flat keyed file (memory.events,
 * memory.oom_control, cpu.stat) in *ret, or -ENOENT when @key has no line.
 */
int cgroup_keyed_value(const char *text, const char *key, unsigned long long *ret);

/*
 * A memory limit as memory.max (v2) or memory.limit_in_bytes (v1) says it:
 * the bytes, or 0 for none ("max", or v1's "no limit" of nearly 2^63).
 */
unsigned long long cgroup_parse_limit(const char *text);

/*
 * The names runbox gives its groups: "runbox-" and 16 hex digits (made
 * from @id).  Only names of this form are ever swept.  @buf holds at
 * least CGROUP_NAME_BYTES.
 */
#define CGROUP_NAME_BYTES 24
void cgroup_name(unsigned long long id, char *buf);
bool cgroup_name_is_ours(const char *name);

/*
 * The CPU quota of @cpus CPUs (RUNBOX_CPU_QUOTA) as microseconds per
 * @period_us: what cpu.cfs_quota_us (v1) and cpu.max (v2) take.  At least
 * 1000 us, the kernel's minimum.
 */
unsigned long long cgroup_cpu_quota_us(double cpus, unsigned long long period_us);

#endif
