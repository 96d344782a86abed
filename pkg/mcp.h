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

#include "err.h"
#include "executor.h"

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
	void *ctx;
	double default_timeout_s, max_timeout_s; /* said in the tool descriptions */
};

/*
 * Handle one line (without its newline).  Returns the reply line
 * (malloc'd, without newline), or NULL when none is due (a notification,
 * a response) or on ENOMEM.
 */
char *mcp_handle(struct mcp_server *s, const char *line, size_t n);

/* Serve stdin/stdout until EOF; returns the exit status. */
int mcp_main(struct executor *ex);

#endif
