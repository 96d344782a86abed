/*
 * mcp: runbox as a Model Context Protocol server over stdio (`runbox mcp`).
 *
 * JSON-RPC 2.0, one message a line.  initialize negotiates the protocol
 * version (2024-11-05 to 2025-11-25) and offers the tools capability;
 * tools/list and tools/call serve run_python, run_bash and list_packages;
 * ping answers {}.  Notifications get no reply.  Protocol faults get the
 * JSON-RPC codes: -32700 parse error, -32600 invalid request, -32601 method
 * not found, -32602 invalid params (unknown tool, params of the wrong shape).
 * A request the contract refuses, or a program that failed, is a tool
 * result with isError set, so the model sees why and can correct itself.
 *
 * The protocol half is pure: mcp_handle() takes one line and gives the
 * reply, running tools through the callbacks in struct mcp_server, so unit
 * tests need no executor.
 */
#ifndef RUNBOX_MCP_H
#define RUNBOX_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

/*
 * A run_python or run_bash call whose contract request is ready, held for
 * the caller to run (mcp_begin): a front door that runs it its own way
 * (with progress, on a queue) and then builds the reply with mcp_finish().
 */
struct mcp_pending {
	char *body; /* the contract request (malloc'd); NULL: nothing is pending */
	size_t len;
	cJSON *id;	       /* the request's id (owned) */
	cJSON *progress_token; /* params._meta.progressToken (owned), NULL when none */
};

struct mcp_server {
	char version[16]; /* negotiated protocol version, "" before initialize */
	/* Run one contract request: executor_run()'s convention. */
	int (*run)(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err);
	/* deps_installed(): the interpreter's version and {"name": "version", ...}, owned by
	 * the callee. */
	int (*installed)(void *ctx, const cJSON **ret_packages, const char **ret_version,
			 struct rb_err *err);
	/* deps_cache_list(): the wheel cache's [{"name", "version"}], owned by the caller;
	 * NULL when there is none. */
	int (*cache)(void *ctx, cJSON **ret, struct rb_err *err);
	/* npmdeps_list(): the npm cache's [{"name", "version", "preinstalled"}], owned by the
	 * caller; NULL when there is none.  NULL: JavaScript has no packages here. */
	int (*npm)(void *ctx, cJSON **ret, struct rb_err *err);
	void *ctx;
	double default_timeout_s, max_timeout_s; /* said in the tool descriptions */
	/*
	 * While a method runs: its request's id.  A run callback that was told
	 * the client cancelled that request sets @cancelled, and the request
	 * gets no reply (as MCP asks of a cancelled request).
	 */
	const cJSON *current_id;
	bool cancelled;
	/* While a method runs: its params._meta.progressToken, NULL when it has none. */
	const cJSON *progress_token;
	/* Set by mcp_begin() only: where a tool call's request goes instead of run. */
	struct mcp_pending *defer;
	/*
	 * The run tools keep files between calls in one file session (the run
	 * callback's executor keeps a store): its id, "" before the first call
	 * and after a reset or its end; the TTL said in the descriptions.
	 */
	bool sessions;
	double session_ttl_s;
	char session_id[64];
	char session_note[300]; /* why the session ended, said in this call's result */
};

/*
 * Handle one line (without its newline).  Returns the reply line
 * (malloc'd, without newline), or NULL when none is due (a notification,
 * a response) or on ENOMEM.
 */
char *mcp_handle(struct mcp_server *s, const char *line, size_t n);

/*
 * As mcp_handle(), except that a run_python or run_bash call (not in a
 * batch) that is ready to run is not run: NULL comes back and *ret holds
 * it, to be run by the caller and answered with mcp_finish() (or dropped
 * with mcp_pending_free() when the client cancelled it).  *ret is zeroed
 * first; ret->body is NULL when nothing was held back.
 */
char *mcp_begin(struct mcp_server *s, const char *line, size_t n, struct mcp_pending *ret);

/*
 * The reply line to the call held in @p, whose run answered @json (the
 * contract's answer or refusal, NULL when there is none).  Frees what @p
 * holds.  Returns the malloc'd line, or NULL on ENOMEM.
 */
char *mcp_finish(struct mcp_server *s, struct mcp_pending *p, const char *json);

void mcp_pending_free(struct mcp_pending *p);

/*
 * For a call whose reply is not built (the client cancelled it): what its
 * run's answer @json (NULL: none) says of the file session, kept in
 * s->session_id as mcp_finish() would.
 */
void mcp_take_session(struct mcp_server *s, const char *json);

/* Seconds between two progress notifications of a call that asked for them. */
#define MCP_PROGRESS_PERIOD_S 2.0

/* How a call stands, for its progress notifications. */
struct mcp_progress {
	double progress;  /* increases with each notification (the caller's seconds) */
	double elapsed_s; /* since the call arrived */
	bool queued;	  /* waiting for a run slot */
	double queued_s;  /* of elapsed_s, spent waiting */
	size_t stdout_bytes, stderr_bytes; /* the program's output so far */
};

/*
 * The notifications/progress line for @token (a string or an integer),
 * with a message a person can read and the figures under _meta
 * "runbox/progress".  Returns a malloc'd line, or NULL on ENOMEM.
 */
char *mcp_progress_line(const cJSON *token, const struct mcp_progress *p);

/* The reply to a line over @cap bytes (it was not read whole). */
char *mcp_over_cap_reply(size_t cap);

/*
 * The messages that must not wait behind a running tool call: a ping, which
 * MCP wants answered promptly, and a cancellation.  For MCP_PING *ret_reply
 * is the answer; for MCP_CANCEL *ret_id is the cancelled request's id (the
 * caller deletes it).  Anything else, valid or not, is MCP_IN_TURN and is
 * handled in its turn by mcp_handle().
 */
enum mcp_urgency { MCP_IN_TURN, MCP_PING, MCP_CANCEL };

enum mcp_urgency mcp_urgency(const char *line, size_t n, char **ret_reply, cJSON **ret_id);

/*
 * The progress token of @line when it is a tools/call request that asked
 * for progress (params._meta.progressToken), as a copy the caller
 * deletes; else NULL.
 */
cJSON *mcp_progress_token_of(const char *line, size_t n);

/* Whether runbox speaks protocol version @v (2024-11-05 to 2025-11-25). */
bool mcp_version_known(const char *v);

/* Whether @line is a request (it has a method) whose id is @id. */
bool mcp_is_request(const char *line, size_t n, const cJSON *id);

/* JSON-RPC ids are equal: both strings with the same text, or the same integer. */
bool mcp_same_id(const cJSON *a, const cJSON *b);

#endif
