/*
 * mcp_stdio: the MCP server's stdio loop (`runbox mcp`), around the
 * protocol half in mcp.h.
 *
 * Messages are handled in the order they arrive, one at a time, so a
 * client that reads its replies in order gets them in order.  A tool call
 * runs in a forked child while this process keeps reading: a ping is
 * answered at once, and notifications/cancelled stops the call it names
 * (its program's tree is killed as at a timeout, and the request gets no
 * reply) or drops a request still waiting for its turn.  Everything else
 * waits for its turn.  At EOF the calls already received still run and are
 * answered; then the loop returns.  A reply that cannot be written (the
 * client is gone) ends the loop at once, with status 1.
 */
#ifndef RUNBOX_MCP_STDIO_H
#define RUNBOX_MCP_STDIO_H

#include "run/executor.h"

/* Serve stdin/stdout until EOF; returns the exit status. */
int mcp_main(struct executor *ex);

#endif
