/*
 * warm: runs made from a template interpreter that has imported its
 * modules already, in the long-lived front doors (serve, lambda, mcp).
 *
 * The template is a Python interpreter that runbox starts itself (with the
 * scrubbed environment, no credential, no request data) and that imports a
 * configured set of modules, then waits in run/template.c's loop.  It never
 * runs a request's code.  For each run it creates the run's processes as
 * copies of itself, which enter the run's sandbox through the same ordered
 * steps as a cold run (run/child.c) and then, instead of execve, return
 * into the interpreter to run the program.  One run per copy.
 *
 * This module is runbox's side: the manager that starts, watches, replaces
 * and retires the template from the front door's long-lived process, and
 * warm_launch(), which hands one run to it (called by launch.h).  The
 * wire format between the two sides is at the end of this header.
 */
#ifndef RUNBOX_WARM_H
#define RUNBOX_WARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "contract/config.h"
#include "run/launch.h"
#include "sandbox/sandbox.h"

enum warm_state {
	WARM_OFF,      /* not asked for, or not possible here (see warm.why_off) */
	WARM_STARTING, /* a template is importing; runs go cold meanwhile */
	WARM_READY,
	WARM_BROKEN, /* the template failed to start; retried with a back-off */
};

/* What the long-lived process and every process forked from it see. */
struct warm_shared {
	int state; /* enum warm_state */
	pid_t pid; /* the template answering now, 0 for none */
	unsigned generation;
	long vsize_kb; /* its address space when it became ready */
	long rss_kb;
	double ready_s;	    /* how long it took to start */
	double started_at;  /* clock_now() of its start */
	unsigned long uses; /* runs it made */
	unsigned long warm; /* runs answered warm, over every template */
	unsigned long cold; /* runs answered cold */
	unsigned long added_rss_kb_last, added_rss_kb_max;
	unsigned long replaced; /* templates retired or replaced */
	unsigned long failed;	/* warm launches that fell back to cold */
	char why_off[256];
	char imported[2048]; /* comma list of what it imported */
	char toplevel[8192]; /* ",a,b,...,": top-level names of every module it holds */
	char failed_imports[1024];
};

struct warm {
	bool enabled;		    /* RUNBOX_WARM=on and this front door is long-lived */
	struct warm_shared *shared; /* MAP_SHARED, from warm_init() */
	/* the manager's (the long-lived process's) own */
	pid_t pid;     /* the template it started, or 0 */
	int ctl;       /* its control socket, -1 */
	int events;    /* what it says (ready, each use), -1 */
	int errout;    /* its stderr, -1 */
	char dir[640]; /* its private directory */
	double started_at, retry_at;
	unsigned failures;	      /* starts in a row that failed */
	unsigned long seen_fallbacks; /* shared->failed when last looked at */
	pid_t retiring;		      /* the template being replaced, or 0 */
	int retiring_ctl;
	char events_buf[8192];
	size_t events_len;
	const struct runbox_config *cfg;
	pid_t protect[2]; /* runbox's own processes the template's runs must not signal */
};

/*
 * Read the configuration (RUNBOX_WARM and friends are in @cfg) and map the
 * shared page; call in the long-lived process before it forks anything
 * that runs requests.  @long_lived: the front door keeps its process (serve,
 * lambda, mcp); otherwise warm stays off.  @why: when warm cannot work on
 * this platform (no pid namespace and no seccomp to keep runs from
 * signalling the template, ...), NULL when it can.
 */
int warm_init(struct warm *w, const struct runbox_config *cfg, bool long_lived, const char *why,
	      struct rb_err *err);

/*
 * Drive the template from the long-lived process's loop: start it (in the
 * background: this never waits for the imports), read what it says,
 * replace it after RUNBOX_WARM_MAX_USES runs or RUNBOX_WARM_MAX_AGE_S, or
 * at once when it died.  Cheap; call often.
 */
void warm_tick(struct warm *w);

/*
 * The long-lived process reaped @pid with @status: true when it was a
 * template (then the manager forgets it and starts another).
 */
bool warm_reaped(struct warm *w, pid_t pid, int status);

/* Fds the owner polls to call warm_tick() when they are readable: up to 2. */
int warm_poll_fds(const struct warm *w, int *ret_fds);

/* Stop the template (the front door is going away). */
void warm_stop(struct warm *w);

/* Whether a run may be made warm now (a template is ready). */
bool warm_ready(const struct warm *w);

struct request;
/*
 * Whether a Python run would start in the template exactly as it would
 * cold.  Not when something the template fixed at its start would differ:
 * an environment variable read at import (the locale, LANG/LC_*, NPY_*,
 * MPL*, or one named after a module it imported: SKLEARN_*, ...), a
 * matplotlibrc among the files, or a dependency tree in @dep_paths that
 * holds a module of a name the template imported (another version of it).
 * *ret_why says which, for the log.
 */
bool warm_fits(const struct warm *w, const struct request *req, const char *const *dep_paths,
	       size_t n_deps, const char **ret_why);

/* How much address space every copy of the ready template starts with. */
size_t warm_template_vsize(const struct warm *w);

/* The child's ends of a run's pipes (launch.c's), which the template hands on. */
struct warm_fds {
	int in, out, err, report, status, life;
};

/*
 * Hand one run to the template: it creates the run's first process, which
 * enters @spec's sandbox through run/child.c's steps (the address-space
 * limit raised by what the template maps already).  Sets *ret_pid and
 * *ret_pidfd of that process, which is not our child: its end is seen on
 * the pidfd and its status on the status pipe.  -EAGAIN when no process of
 * the run was made (no template ready, none answering): the caller runs it
 * cold instead.  Other failures fill @err.
 */
int warm_start_first(struct warm *w, const struct launch_spec *spec, const struct warm_fds *c,
		     pid_t *ret_pid, int *ret_pidfd, struct rb_err *err);

/* Count a run's start in /api/info's figures. */
void warm_count(struct warm *w, bool warm, long added_rss_kb);

/* The "warm" object of /api/info.  Caller owns the result. */
cJSON *warm_to_json(const struct warm *w);

/* ---- the wire between runbox and the template (run/template.c) ---- */

#define WARM_MAGIC   0x72627721u /* "rbw!" */
#define WARM_MAX_FDS 16

/* The fds of one run's message, in this order. */
enum warm_fd {
	WFD_REPLY,   /* where the template answers: the run's first pid and a pidfd */
	WFD_PLAN,    /* memfd: struct warm_plan */
	WFD_PROGRAM, /* memfd: struct warm_program and its strings (request data) */
	WFD_STDIN,   /* the child's ends of the run's pipes */
	WFD_STDOUT,
	WFD_STDERR,
	WFD_REPORT,
	WFD_STATUS,
	WFD_LIFE,
	WFD_CWD, /* the workspace */
	WFD_FIXED,
	/* then the plan's own fds (Landlock ruleset, detached workspace), see warm_plan */
};

struct warm_msg {
	uint32_t magic;
	uint32_t n_fds;
	uint64_t build; /* sizeof the plan: both sides must be one build */
};

/*
 * Everything the run's first process needs but request data, read by the
 * template (which must never see request data).  The plan's fds are
 * message fd indices here; the template puts its own fd numbers in.
 */
struct warm_plan {
	unsigned long clone_flags;
	size_t n_rlimits;
	struct launch_rlimit rlimits[8];
	int ruleset_index;   /* -1 for none */
	int workspace_index; /* -1 for none */
	struct sandbox_plan sandbox;
};

/*
 * The program: the interpreter's path, argv and environment, as strings
 * after this header (path, argv[0..argc), envp[0..envc), each with its
 * NUL).  Only the run's program process reads it.
 */
struct warm_program {
	uint32_t argc, envc;
	uint64_t bytes; /* of the strings that follow */
};

/* What the template answers on WFD_REPLY (with the pidfd as SCM_RIGHTS when pid > 0). */
struct warm_reply {
	int32_t pid; /* the run's first process, or -errno */
	int32_t pad;
	char msg[256];
};

#endif
