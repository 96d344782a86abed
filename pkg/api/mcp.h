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
};

/*
 * Handle one line (without its newline).  Returns the reply line
 * (malloc'd, without newline), or NULL when none is due (a notification,
 * a response) or on ENOMEM.
 */
char *mcp_handle(struct mcp_server *s, const char *line, size_t n);

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

/* Whether @line is a request (it has a method) whose id is @id. */
bool mcp_is_request(const char *line, size_t n, const cJSON *id);

/* JSON-RPC ids are equal: both strings with the same text, or the same integer. */
bool mcp_same_id(const cJSON *a, const cJSON *b);

#endif
