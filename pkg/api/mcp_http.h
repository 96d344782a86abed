/*
 * mcp_http: MCP's Streamable HTTP transport (protocol versions 2025-03-26,
 * 2025-06-18 and 2025-11-25), the rules without the I/O, for `runbox
 * serve` and Lambda events alike.
 *
 * One endpoint, /mcp.  POST carries one JSON-RPC message (or, before
 * 2025-06-18, a batch): a request is answered application/json, or as a
 * text/event-stream when the client accepts one and the server has
 * something to stream first (a tool call's progress); a notification or
 * response gets 202 with no body.  GET would open a stream for messages
 * the server starts: runbox starts none, so GET is 405, which the
 * specification allows.  DELETE ends a session.
 *
 * Sessions (Mcp-Session-Id) hold MCP's own state: the negotiated
 * protocol version and whether the client said notifications/initialized,
 * in a bounded table with an idle time-out, and the id of the file session
 * (run/session.h) its tool calls keep their files in, which the table's
 * owner ends with the MCP session.  Stateless mode, for instances
 * without affinity (Lambda, Azure's MCP profile), keeps none: every POST
 * stands alone, answers are JSON only, and the version comes from the
 * MCP-Protocol-Version header (2025-03-26 when it is missing, as the
 * specification says; an unsupported one is 400).
 *
 * Refusals on /mcp are JSON-RPC error responses with a null id and the
 * HTTP status the specification names (400, 403, 404, 405, 406, 415);
 * data.code is the same stable code the contract would use.
 */
#ifndef RUNBOX_MCP_HTTP_H
#define RUNBOX_MCP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "api/mcp.h"
#include "api/route.h"

/* 128 random bits, in hex. */
#define MCP_SESSION_ID_LEN 32

/* What the headers of a request to /mcp say, once checked. */
struct mcp_http_request {
	bool post;
	char session[MCP_SESSION_ID_LEN + 1]; /* Mcp-Session-Id, "" when absent */
	char version[16];		      /* MCP-Protocol-Version; "2025-03-26" when absent */
	bool version_given;
	bool accepts_sse; /* Accept admits text/event-stream */
};

/*
 * Check the headers of a request route_match() let in to /mcp (Origin and
 * token are its).  GET is 405 (Allow: POST, DELETE, or POST alone when
 * @stateless, which has no DELETE either).  A POST must send
 * Content-Type: application/json (415) and an Accept that admits
 * application/json (406); an MCP-Protocol-Version must be one runbox
 * speaks, and a Mcp-Session-Id of the form runbox gives (400).  Returns 0
 * with *ret, or < 0 with *ret_answer filled.
 */
int mcp_http_check(const struct route_request *rq, bool stateless, struct mcp_http_request *ret,
		   struct route_answer *ret_answer);

/* What one POST body holds. */
enum mcp_http_kind {
	MCP_HTTP_INVALID,      /* not a JSON-RPC message: mcp_handle() says why */
	MCP_HTTP_REQUEST,      /* a request: it gets a reply */
	MCP_HTTP_NOTIFICATION, /* a notification or a response: 202 */
	MCP_HTTP_BATCH,	       /* an array (2025-03-26 and before) */
};

/*
 * The kind of @body, and for a request or notification its method in
 * @ret_method (truncated to @size, "" otherwise).
 */
enum mcp_http_kind mcp_http_kind(const char *body, size_t n, char *ret_method, size_t size);

/*
 * A POST /mcp in stateless mode: @s (its callbacks set, its state unused)
 * answers @rq's message as mcp_handle() does, each tool call through
 * s->run; the version is the header's, an initialize negotiates but is
 * not remembered, and tools work without one.  *ret: the JSON answer, or
 * 202.  Returns 0 (refusals are answers too), or -ENOMEM with a plain 500.
 */
int mcp_http_stateless(struct mcp_server *s, const struct mcp_http_request *h,
		       const struct route_request *rq, struct route_answer *ret);

/* ---- answers ---- */

/*
 * The answer to a message of kind @k whose handling gave @reply (taken
 * over, NULL for none): 202 for a notification or an all-notification
 * batch, 400 with the error for a message that is not JSON-RPC or a
 * notification refused, else 200 with the reply.
 */
int mcp_http_reply(enum mcp_http_kind k, char *reply, struct route_answer *ret);

/* 200 application/json carrying @line (taken over; NULL: out of memory, 500). */
int mcp_http_answer_json(char *line, struct route_answer *ret);

/* 202 Accepted, no body: a notification or response was taken. */
int mcp_http_answer_accepted(struct route_answer *ret);

/*
 * A refusal on /mcp: HTTP @status, a JSON-RPC error response with a null
 * id, @rpc_code and the message, and data.code = @code.
 */
int mcp_http_refuse(struct route_answer *ret, int status, int rpc_code, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * A refusal route.c made for /mcp (its contract error body {error, code}):
 * the same status, as a JSON-RPC error response.  Returns 0 or -ENOMEM.
 */
int mcp_http_rpc_answer(struct route_answer *a);

/*
 * @line as one server-sent event, "event: message\ndata: <line>\n\n"
 * (@line holds no newline: a JSON-RPC message is printed on one line).
 * Returns a malloc'd string and its length, or NULL.
 */
char *mcp_http_sse_event(const char *line, size_t *ret_len);

/* ---- sessions ---- */

struct mcp_session {
	char id[MCP_SESSION_ID_LEN + 1];
	char version[16]; /* negotiated by its initialize */
	bool initialized; /* the client sent notifications/initialized */
	double last_used; /* CLOCK_MONOTONIC seconds */
	unsigned busy;	  /* its requests in progress: never expired or evicted meanwhile */
	/* The file session its tool calls keep files in; "" before the first call. */
	char files[64];
};

/* A bounded table; the caller serialises access to it. */
struct mcp_sessions {
	struct mcp_session *v;
	size_t n, cap;
	double idle_s; /* a session unused this long is gone */
	/*
	 * Called with each session that leaves the table (removed, expired or
	 * evicted), before it goes, so that the owner ends what it holds (its
	 * file session).  NULL: nothing to end.
	 */
	void (*ended)(void *ctx, const struct mcp_session *se);
	void *ended_ctx;
};

/* Room for @cap sessions.  Returns 0 or -ENOMEM. */
int mcp_sessions_init(struct mcp_sessions *t, size_t cap, double idle_s);

void mcp_sessions_free(struct mcp_sessions *t);

/*
 * The live session @id (its last use set to @now), or NULL when it is
 * unknown, ended or expired.  The pointer lasts until the next call that
 * changes the table.
 */
struct mcp_session *mcp_sessions_find(struct mcp_sessions *t, const char *id, double now);

/*
 * A new session with the id @hex (MCP_SESSION_ID_LEN hex digits the caller
 * drew from a random source) and @version.  When the table is full the
 * least recently used session with nothing in progress makes room (its
 * client gets 404 and starts a new one, as MCP says).  NULL when every
 * session is busy.
 */
struct mcp_session *mcp_sessions_add(struct mcp_sessions *t, const char *hex, const char *version,
				     double now);

/* End session @id (t->ended is told).  Returns whether there was one. */
bool mcp_sessions_remove(struct mcp_sessions *t, const char *id);

/* The hex form of @n random bytes into @out (2n + 1 bytes). */
void mcp_session_hex(const unsigned char *bytes, size_t n, char *out);

#endif
