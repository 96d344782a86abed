/*
 * warm: runs made from a template interpreter that is started already, in
 * the long-lived front doors (serve, lambda, mcp).
 *
 * A template is a Python interpreter that runbox starts itself (with the
 * scrubbed environment, no credential, no request data), that imports a
 * configured set of modules and then waits in run/template.c's loop.  It
 * never runs a request's code.  For each run it creates the run's
 * processes as copies of itself, which enter the run's sandbox through the
 * same ordered steps as a cold run (run/child.c) and then, instead of
 * execve, return into the interpreter to run the program.  One run per copy.
 *
 * There are two: the stack's template, with RUNBOX_WARM_IMPORTS imported,
 * for programs whose source imports one of those modules, and a bare one
 * with nothing imported for every other program.  A copy costs in
 * proportion to what is copied: a print(1) should not pay for pandas.
 *
 * This module is runbox's side: the manager that starts, watches, replaces
 * and retires the templates from the front door's long-lived process, and
 * warm_start_first(), which hands one run to one (called by launch.c).  The
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
	WARM_OFF,      /* not asked for, or not possible here (see why_off) */
	WARM_STARTING, /* importing; its runs go cold meanwhile */
	WARM_READY,
	WARM_BROKEN, /* it failed to start; retried with a back-off */
};

/* The two templates: what they import, and so which programs they serve. */
enum warm_kind {
	WARM_STACK, /* RUNBOX_WARM_IMPORTS */
	WARM_BARE,  /* nothing: the interpreter alone */
	WARM_KINDS,
};

/* One template's figures, seen by the manager and every process forked from it. */
struct warm_shared_tpl {
	int state;     /* enum warm_state */
	pid_t pid;     /* the template answering now, 0 for none */
	long vsize_kb; /* its address space when it became ready */
	long rss_kb;
	double ready_s;	    /* how long it took to start */
	unsigned long uses; /* runs it made */
	char why_off[256];
	char imported[2048]; /* comma list of what it imported */
	char toplevel[8192]; /* ",a,b,...,": top-level names of every module it holds */
	char chosen[2048];   /* ",a,b,...,": top-level names of the modules it was told to import */
	char failed_imports[1024];
};

struct warm_shared {
	struct warm_shared_tpl t[WARM_KINDS];
	unsigned long warm; /* runs answered warm, over every template */
	unsigned long cold; /* runs answered cold */
	unsigned long added_rss_kb_last, added_rss_kb_max;
	unsigned long replaced; /* templates retired or replaced */
	unsigned long failed;	/* warm launches that fell back to cold */
	char why_off[256];	/* why warm is off altogether */
};

/* The manager's own view of one template (the long-lived process's). */
struct warm_tpl {
	enum warm_kind kind;
	bool enabled;
	struct warm_shared_tpl *shared;
	pid_t pid;     /* the template it started, or 0 */
	int ctl;       /* its control socket, -1 */
	int events;    /* what it says (ready, each use), -1 */
	int errout;    /* its stderr, -1 */
	char dir[640]; /* its private directory */
	double started_at, retry_at;
	unsigned failures; /* starts in a row that failed */
	pid_t retiring;	   /* the template being replaced, or 0 */
	int retiring_ctl;
	char retiring_dir[640];
	char events_buf[8192];
	size_t events_len;
};

struct warm {
	bool enabled;		    /* warm runs can happen in this process */
	struct warm_shared *shared; /* MAP_SHARED, from warm_init() */
	struct warm_tpl t[WARM_KINDS];
	unsigned long seen_fallbacks; /* shared->failed when last looked at */
	const struct runbox_config *cfg;
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
 * Drive the templates from the long-lived process's loop: start them (in
 * the background: this never waits for the imports), read what they say,
 * replace one after RUNBOX_WARM_MAX_USES runs or RUNBOX_WARM_MAX_AGE_S, or
 * at once when it died or stopped answering.  Cheap; call often.
 */
void warm_tick(struct warm *w);

/*
 * The long-lived process reaped @pid with @status: true when it was a
 * template (then the manager forgets it and starts another).
 */
bool warm_reaped(struct warm *w, pid_t pid, int status);

/* Fds the owner polls to call warm_tick() when they are readable: up to WARM_POLL_FDS. */
#define WARM_POLL_FDS (2 * WARM_KINDS)
int warm_poll_fds(const struct warm *w, int *ret_fds);

/* Stop the templates (the front door is going away). */
void warm_stop(struct warm *w);

/* Whether template @kind can take a run now. */
bool warm_ready(const struct warm *w, enum warm_kind kind);

struct request;
/*
 * Which template a Python run should start in (*ret_kind), when one can
 * start it exactly as a cold interpreter would: the stack's template when
 * the program's source imports one of its modules, else the bare one (or
 * the stack's, if only that one is ready).  Not when something a template
 * fixed at its start would differ: an environment variable read at import
 * (the locale, LANG/LC_*, NPY_*, MPL*, or one named after a module it
 * imported: SKLEARN_*, ...), a matplotlibrc among the files, or a
 * dependency tree in @dep_paths that holds a module of a name the template
 * imported (another version of it); nor, as root, a run with the network
 * on, which a template's network namespace would leave without one.
 * False with *ret_why saying why.
 */
bool warm_fits(const struct warm *w, const struct request *req, const char *const *dep_paths,
	       size_t n_deps, enum warm_kind *ret_kind, const char **ret_why);

/* How much address space every copy of template @kind starts with. */
size_t warm_template_vsize(const struct warm *w, enum warm_kind kind);

/*
 * How much memory the ready template has resident: the most a copy of it
 * can come to own by writing to the pages it shares.
 */
size_t warm_template_rss(const struct warm *w, enum warm_kind kind);

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
int warm_start_first(struct warm *w, enum warm_kind kind, const struct launch_spec *spec,
		     const struct warm_fds *c, pid_t *ret_pid, int *ret_pidfd, struct rb_err *err);

/* Whether @pid is one of the templates (a child of ours no run's sweep may take). */
bool warm_is_template(const struct warm *w, pid_t pid);

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
	/*
	 * then the plan's own fds (Landlock ruleset, detached workspace, the
	 * run's control groups), see warm_plan
	 */
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
	int ruleset_index;			   /* -1 for none */
	int workspace_index;			   /* -1 for none */
	int cgroup_into_index;			   /* -1 for none */
	int cgroup_join_index[CGROUP_CONTROLLERS]; /* the first n_cgroup_join of them */
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
