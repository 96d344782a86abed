/*
 * sandbox: the kernel layers around one program run.
 *
 * Three phases, so that the child between fork and exec allocates nothing:
 *  - sandbox_probe() finds out once per process what this kernel and platform
 *    allow (each layer tried in a forked child, never assumed);
 *  - sandbox_plan_prepare() builds, in the parent, everything one run needs
 *    (uid, clone flags, later the compiled BPF program and Landlock ruleset);
 *  - sandbox_plan_enter() applies the layers in the child, in one fixed order.
 */
#ifndef RUNBOX_SANDBOX_H
#define RUNBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "err.h"

struct sandbox_config {
	bool enabled;	    /* false only with RUNBOX_SANDBOX=off (benchmarks) */
	bool allow_network; /* operator allowed it and the request asked for it */
	bool drop_uid;	    /* runbox runs as root: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	const char *workspace; /* absolute path of this run's workspace */
	const char *python;    /* absolute path of the interpreter */
	size_t tmp_bytes;      /* size cap of a private /tmp, when one is mounted */
};

/* What the kernel and platform give, found by sandbox_probe(). */
struct sandbox_caps {
	bool probed;
	bool can_setuid;
};

/* Everything one run needs, prepared in the parent. */
struct sandbox_plan {
	struct sandbox_config cfg;
	struct sandbox_caps caps;
	unsigned long clone_flags; /* namespaces to create with clone() */
	bool uid_dropped;	   /* the run drops to cfg.uid/cfg.gid */
};

/* Probe once per process; later calls return the cached result. */
int sandbox_probe(struct sandbox_caps *ret, struct rb_err *err);

/* Prepare a run.  Release with sandbox_plan_release(), also on failure. */
int sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_caps *caps,
			 const struct sandbox_config *cfg, struct rb_err *err);

/*
 * Apply every layer, in order, in the child after its fds, rlimits and cwd
 * are set.  Call only between fork and exec: it does not allocate.
 */
int sandbox_plan_enter(const struct sandbox_plan *plan, struct rb_err *err);

void sandbox_plan_release(struct sandbox_plan *plan);

/* The "sandbox" object of a response: the layers applied to this run. */
cJSON *sandbox_plan_to_json(const struct sandbox_plan *plan);

#endif
