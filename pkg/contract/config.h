/*
 * config: the operator's settings, read once from RUNBOX_* variables at start.
 *
 * Everything a request may not exceed lives here, with the defaults of the
 * README's contract table.  The request parser and the executor only read
 * this struct; nothing else in runbox looks at the environment.
 */
#ifndef RUNBOX_CONFIG_H
#define RUNBOX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

struct runbox_limits {
	size_t max_body_bytes;	 /* whole request */
	size_t max_script_bytes; /* "script" */
	size_t max_file_bytes;	 /* one decoded file of files/context */
	size_t max_files_total;	 /* files + context, decoded */
	unsigned max_files;	 /* entries in files, and in context */
	size_t max_stdin_bytes;
	unsigned max_args;
	size_t max_args_bytes;
	unsigned max_env;
	size_t max_env_bytes;
	unsigned max_dependencies;
	unsigned max_dependency_closure; /* packages resolved from the cache, <= 256 */
	double default_timeout_s;
	double max_timeout_s;
	size_t max_output_bytes;	/* stdout, and stderr, each */
	size_t max_artifact_bytes;	/* all artifacts, decoded */
	size_t max_artifact_file_bytes; /* one artifact */
	unsigned max_artifacts;
	unsigned max_artifact_depth;
	/* rlimits of the program */
	size_t mem_bytes; /* RLIMIT_AS */
	unsigned nproc;
	size_t fsize_bytes;
	unsigned nofile;
	size_t workspace_bytes; /* tmpfs size of a workspace; 0: on disk */
	size_t min_free_bytes;	/* a workspace on disk needs this much free space to start a run */
	double cpu_quota;	/* CPUs a run's group may use; 0: a fair share, no quota */
	size_t max_state_bytes; /* RUNBOX_STATE_MAX_BYTES: a client-kept state, compressed */
};

/* `runbox serve`: how many runs at once, and what a client may hold. */
struct runbox_serve_limits {
	unsigned concurrency;	  /* runs in parallel; 0: the number of CPUs */
	unsigned queue;		  /* requests waiting for a run slot beyond that */
	unsigned max_connections; /* open client connections */
	double idle_timeout_s;	  /* a silent connection is closed */
	double request_timeout_s; /* a request's headers and body must arrive within it */
	/*
	 * RUNBOX_ANSWER_DEADLINE_S: a run must end within this many seconds of
	 * its request being ready to run, time spent waiting for a run slot
	 * included (a queued run is shortened; one that cannot start in time
	 * is refused).  Defaults to RUNBOX_MAX_TIMEOUT_S.
	 */
	double answer_deadline_s;
	size_t max_header_bytes;       /* request line and headers */
	size_t max_pending_body_bytes; /* request bodies held at once, server-wide */
	/* fair admission (api/admission.h): 0 for the two shares means derived at start */
	double header_timeout_s;	  /* a request head must be complete within it */
	size_t min_body_rate;		  /* bytes a second a body must average; 0: no rule */
	unsigned client_connections;	  /* connections one client address may hold */
	size_t client_pending_body_bytes; /* bodies one client address may hold */
	char token[256];		  /* RUNBOX_TOKEN: the bearer token, "" for none */
	/*
	 * RUNBOX_ALLOWED_ORIGINS: the web origins ("https://app.example.com",
	 * "http://localhost:6274", or "*") whose pages may call this server,
	 * comma-separated; a request with any other Origin header gets 403.
	 * "" (the default): no page at all.  A request with no Origin (not a
	 * browser) passes.
	 */
	char allowed_origins[1024];
	/* MCP over HTTP (POST /mcp): sessions, or none where instances have no affinity. */
	bool mcp_stateless;	   /* RUNBOX_MCP_STATELESS */
	unsigned mcp_max_sessions; /* RUNBOX_MCP_MAX_SESSIONS */
	double mcp_session_idle_s; /* RUNBOX_MCP_SESSION_IDLE_S */
};

/* RUNBOX_WARM: unset (on where runs cannot reach the template), on, off. */
enum runbox_warm { RUNBOX_WARM_DEFAULT, RUNBOX_WARM_ON, RUNBOX_WARM_OFF };
/* The package index runbox fetches dependencies from (RUNBOX_INDEX_*). */
struct runbox_index {
	char url[1024];	    /* RUNBOX_INDEX_URL, "" for none */
	char token[1024];   /* RUNBOX_INDEX_TOKEN: "user:password" (Basic) or a token (Bearer) */
	char ca_file[512];  /* RUNBOX_INDEX_CA, else the system's bundle */
	double ttl_s;	    /* project pages reused this long */
	size_t cache_bytes; /* disk budget of the fetched trees */
	size_t max_bytes;   /* download budget of one request */
};

struct runbox_config {
	struct runbox_limits limits;
	struct runbox_index index;
	struct runbox_serve_limits serve;
	char python[256]; /* interpreter, absolute */
	char bash[256];
	/*
	 * RUNBOX_NODE, RUNBOX_ESBUILD: Node.js for "javascript" and
	 * "typescript", esbuild for "typescript"'s transpiling; "" (unset): the
	 * first found on @search_path.
	 */
	char node[256];
	char esbuild[256];
	char search_path[1024]; /* runbox's own PATH, where node and esbuild are looked for */
	char work_dir[512];	/* parent of the per-request workspaces */
	uid_t uid;		/* RUNBOX_UID/GID: one pinned uid/gid for every run */
	gid_t gid;
	bool uid_pinned; /* RUNBOX_UID was set: no per-run uid slots */
	uid_t uid_base;	 /* otherwise run k of the machine gets uid_base + slot */
	unsigned uid_slots;
	char state_dir[512];
	char cache_dir[512]; /* RUNBOX_CACHE_DIR: the baked wheel cache; "" for none */
	char require[256];   /* RUNBOX_REQUIRE, parsed by the sandbox module */
	bool sandbox;	     /* RUNBOX_SANDBOX=off turns the kernel layers off */
	bool cgroup;	     /* RUNBOX_CGROUP=off: no control group per run */
	bool nproc_set;	     /* RUNBOX_MAX_PROCS was given (not sized by runbox) */
	bool allow_network;
	int log_level; /* 0 off, 1 info, 2 debug */
	bool log_set;  /* RUNBOX_LOG was given (runbox exec logs only then) */
	unsigned blas_threads;
	/* Warm templates (run/warm.h) of the long-lived front doors. */
	int warm;		 /* enum runbox_warm */
	char warm_imports[1024]; /* modules, comma-separated */
	unsigned warm_max_uses;	 /* runs one template makes before it is replaced */
	double warm_max_age_s;	 /* seconds one template serves before it is replaced */
	bool warm_exercise;	 /* first uses of what it imports (one Agg figure, ...) */
	/* File sessions of the long-lived front doors (run/session.h). */
	unsigned sessions_max;	   /* RUNBOX_SESSIONS_MAX: sessions at once */
	double session_ttl_s;	   /* RUNBOX_SESSION_TTL_S: an idle session ends after it */
	size_t sessions_max_bytes; /* RUNBOX_SESSIONS_MAX_BYTES: all sessions' files together */
	char state_key[256];	   /* RUNBOX_STATE_KEY: authenticates client-kept states; "" none */
	/* What the platform says about the front door (auto mode, api/cli.h). */
	char lambda_api[256];  /* AWS_LAMBDA_RUNTIME_API: host:port, "" when unset */
	char handler_port[16]; /* FUNCTIONS_CUSTOMHANDLER_PORT as given, "" when unset */
	/* `runbox lambda`: the first wait after a failed /next (frontdoor/lambda.h). */
	unsigned lambda_backoff_ms;
};

/* Defaults of the contract. */
void config_defaults(struct runbox_config *ret);

/*
 * Overlay the RUNBOX_* variables found through @getenv_fn (getenv in
 * production, a table in tests).  A malformed value is a runbox fault: the
 * operator must hear about it rather than get a silent default.
 */
int config_from_env(struct runbox_config *cfg, const char *(*getenv_fn)(const char *),
		    struct rb_err *err);

#endif
