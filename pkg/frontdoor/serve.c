/*
 * serve: libmicrohttpd glue, run slots, connection deadlines and the
 * server's lifecycle (see serve.h).
 */
#define _GNU_SOURCE
#include "frontdoor/serve.h"
#include "base/clock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/admission.h"
#include "api/cli.h"
#include "api/info.h"
#include "api/mcp.h"
#include "api/mcp_http.h"
#include "deps/deps.h"
#include "run/warm.h"
#include "base/log.h"
#include "contract/response.h"
#include "api/route.h"
#include "run/session.h"
#include "run/supervise.h"
#include "run/worker.h"

#define MAX_HEADERS	 128
#define QUERY_MAX	 4096
#define WATCHDOG_TICK_MS 200
/* A queued run left less than this (or half its deadline) is refused instead. */
#define SERVE_LEAST_RUN_S 1.0
/*
 * MHD's per-connection pool holds the request line and headers (parsed in
 * place) and the read buffer: twice the header cap lets the headers fill
 * half, and a request whose headers overflow it gets MHD's 431.
 */
#define POOL_PER_HEADER_BYTE 2
#define THREAD_STACK_BYTES   (512 * 1024)

/* ---- run slots: RUNBOX_CONCURRENCY running, RUNBOX_QUEUE waiting ---- */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned running, waiting, slots, queue;
	/*
	 * Runs that finished but whose answer is not sent yet: the slot is free
	 * for the next run, yet a drain must wait for them, or stopping the
	 * daemon would close the connection before the answer is written.
	 */
	unsigned answering;
	bool closed; /* shutting down: no new runs */
};

static struct timespec abs_monotonic(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t};

	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	return ts;
}

/*
 * 0 with a slot held (*ret_waited: the seconds spent waiting for it), or
 * -EBUSY when the queue is full or the server stops, or -ETIME when no
 * slot came free before @give_up_at (CLOCK_MONOTONIC seconds).
 */
static int gate_enter(struct gate *g, double give_up_at, double *ret_waited)
{
	double t0 = clock_now();
	struct timespec until = abs_monotonic(give_up_at);
	int r = 0;

	*ret_waited = 0;
	pthread_mutex_lock(&g->mu);
	if (g->closed || (g->running >= g->slots && g->waiting >= g->queue))
		r = -EBUSY;
	if (r == 0 && g->running >= g->slots) {
		g->waiting++;
		while (g->running >= g->slots && !g->closed && r == 0)
			if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT)
				r = -ETIME;
		g->waiting--;
		r = g->closed ? -EBUSY : r;
		*ret_waited = clock_now() - t0;
	}
	if (r == 0)
		g->running++;
	pthread_mutex_unlock(&g->mu);
	return r;
}

/* The run is over; its answer is on the way until gate_answered(). */
static void gate_leave(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->running--;
	g->answering++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_answered(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->answering--;
	pthread_mutex_unlock(&g->mu);
}

static void gate_close(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->closed = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* True when no run is in progress, waiting for a slot or being answered. */
static bool gate_drained(struct gate *g)
{
	bool idle;

	pthread_mutex_lock(&g->mu);
	idle = g->running == 0 && g->waiting == 0 && g->answering == 0;
	pthread_mutex_unlock(&g->mu);
	return idle;
}

/* ---- connection deadlines ---- */

/*
 * libmicrohttpd's own timeout is an idle timeout: a client that sends one
 * byte a second keeps a connection forever.  Each connection therefore has
 * a deadline: its request head must be complete within
 * RUNBOX_HEADER_TIMEOUT_S of the connection (or of the previous answer and
 * the idle time), and the whole request within RUNBOX_REQUEST_TIMEOUT_S of
 * its head; meanwhile its body must keep up RUNBOX_MIN_BODY_BYTES_PER_S.
 * A watchdog thread shuts the socket down when a rule is broken (the
 * connection's thread then sees the error and closes it).  No deadline
 * while a run is in progress.
 */
struct tracked {
	struct tracked *prev, *next;
	int fd;
	double deadline;   /* 0: none */
	double body_since; /* when its body began (its head arrived); 0: no body coming */
	size_t body_got;   /* bytes of that body so far (atomic) */
};

struct tracker {
	pthread_mutex_t mu;
	struct tracked head; /* circular list */
	double request_s, idle_s, header_s;
	double min_rate; /* RUNBOX_MIN_BODY_BYTES_PER_S, after header_s of grace */
	bool stop;
	pthread_t thread;
};

static void tracker_set(struct tracker *t, struct tracked *c, double deadline)
{
	pthread_mutex_lock(&t->mu);
	c->deadline = deadline;
	pthread_mutex_unlock(&t->mu);
}

/* A head arrived: the body (if any) must come within the request time, at the minimum rate. */
static void tracker_head(struct tracker *t, struct tracked *c, bool has_body)
{
	double now = clock_now();

	pthread_mutex_lock(&t->mu);
	c->deadline = now + t->request_s;
	c->body_since = has_body ? now : 0;
	__atomic_store_n(&c->body_got, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->mu);
}

/* No deadline and no rate while a run is in progress or its answer goes out. */
static void tracker_clear(struct tracker *t, struct tracked *c)
{
	pthread_mutex_lock(&t->mu);
	c->deadline = 0;
	c->body_since = 0;
	pthread_mutex_unlock(&t->mu);
}

/* Whether @c broke a rule by @now (called with the lock held). */
static bool overdue(const struct tracker *t, const struct tracked *c, double now)
{
	if (c->deadline > 0 && now > c->deadline)
		return true;
	return c->body_since > 0 &&
	       admission_too_slow(c->body_since, now,
				  __atomic_load_n(&c->body_got, __ATOMIC_RELAXED), t->min_rate,
				  t->header_s);
}

static void *watchdog(void *arg)
{
	struct tracker *t = arg;
	const struct timespec tick = {0, WATCHDOG_TICK_MS * 1000000L};

	for (;;) {
		double now = clock_now();

		pthread_mutex_lock(&t->mu);
		if (t->stop) {
			pthread_mutex_unlock(&t->mu);
			return NULL;
		}
		for (struct tracked *c = t->head.next; c != &t->head; c = c->next)
			if (overdue(t, c, now)) {
				shutdown(c->fd, SHUT_RDWR);
				c->deadline = c->body_since = 0;
			}
		pthread_mutex_unlock(&t->mu);
		nanosleep(&tick, NULL);
	}
}

/* ---- the server ---- */

struct server {
	struct executor *ex;
	struct route_config rc;
	struct gate gate;
	struct tracker tracker;
	char *info;
	size_t info_len;
	/*
	 * Bytes of request bodies received and held, over every connection and
	 * per client address, and how many may be: connections times body caps
	 * would be gigabytes that any client could pin before a token is
	 * checked (the Azure envelope carries its token inside the body).
	 */
	struct admission adm;
	pthread_mutex_t adm_mu;
	size_t max_header_bytes;  /* RUNBOX_MAX_HEADER_BYTES */
	double answer_deadline_s; /* RUNBOX_ANSWER_DEADLINE_S */
	/* MCP over HTTP: the sessions and the tool calls in progress, under mcp_mu. */
	bool mcp_stateless; /* RUNBOX_MCP_STATELESS */
	pthread_mutex_t mcp_mu;
	struct mcp_sessions sessions;
	struct call *calls;
};

/* What lives for one request (MHD's con_cls). */
struct request_state {
	struct tracked *conn;
	enum route_id route;
	struct route_answer early; /* refused on its headers: sent after the body */
	bool refused;
	bool has_body; /* a Content-Length above 0, or a chunked body */
	char *body;
	size_t len, cap, limit;
	struct admission_key client; /* the client's address */
	size_t held;		     /* of server.adm, under client */
	bool over;		     /* over the route's cap: 413 */
	enum admission_verdict full; /* over a budget of bodies: 503 */
	bool answering;		     /* holds the gate's count of answers on the way */
	unsigned answer_holds;	     /* more of them: the runs of an MCP batch */
	bool azure;		     /* POST /run: every answer goes in the host's envelope */
	bool mcp;		     /* /mcp: every refusal is a JSON-RPC error */
};

static struct tracked *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct tracker *t = &((struct server *)cls)->tracker;
	struct tracked *tc = *socket_context;
	const union MHD_ConnectionInfo *i;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		tc = i ? calloc(1, sizeof(*tc)) : NULL;
		if (!tc)
			return; /* untracked: only the idle timeout applies */
		tc->fd = i->connect_fd;
		tc->deadline = clock_now() + t->header_s;
		pthread_mutex_lock(&t->mu);
		tc->next = t->head.next;
		tc->prev = &t->head;
		t->head.next->prev = tc;
		t->head.next = tc;
		pthread_mutex_unlock(&t->mu);
		*socket_context = tc;
		return;
	}
	if (!tc)
		return;
	pthread_mutex_lock(&t->mu);
	tc->prev->next = tc->next;
	tc->next->prev = tc->prev;
	pthread_mutex_unlock(&t->mu);
	free(tc);
	*socket_context = NULL;
}

/* Called once the request line is in (the head's deadline still runs). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct request_state *st = calloc(1, sizeof(*st));

	(void)cls;
	(void)uri;
	if (!st)
		return NULL;
	st->conn = conn_of(c);
	st->client = admission_key_of(i ? i->client_addr : NULL);
	return st;
}

/* Give back what a request's body held of the budgets. */
static void release_body(struct server *s, struct request_state *st)
{
	pthread_mutex_lock(&s->adm_mu);
	admission_release(&s->adm, &st->client, st->held);
	pthread_mutex_unlock(&s->adm_mu);
	st->held = 0;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct request_state *st = *con_cls;

	(void)c;
	(void)toe;
	if (!st)
		return;
	/* Sent, or the connection is gone: either way nothing more to wait for. */
	if (st->answering)
		gate_answered(&s->gate);
	while (st->answer_holds) {
		gate_answered(&s->gate);
		st->answer_holds--;
	}
	/* Keep-alive: the next request may wait the idle time, then its head must come in time. */
	if (st->conn)
		tracker_set(&s->tracker, st->conn,
			    clock_now() + s->tracker.idle_s + s->tracker.header_s);
	route_answer_free(&st->early);
	release_body(s, st);
	free(st->body);
	free(st);
	*con_cls = NULL;
}

/* ---- answering ---- */

/*
 * Send @a; on POST /run (@azure) every answer, whatever refused it, goes
 * inside the host's envelope (route_answer_envelope).
 */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct route_answer *a, bool azure)
{
	static const char oom[] =
	    "{\"error\":\"runbox ran out of memory\",\"code\":\"internal_error\"}";
	struct MHD_Response *res;
	enum MHD_Result ok;
	char retry[16];

	if (azure)
		route_answer_envelope(a);
	if (a->body) {
		res = MHD_create_response_from_buffer_with_free_callback(a->len, a->body, free);
		a->body = NULL; /* the response owns it now */
	} else {
		res = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						      MHD_RESPMEM_PERSISTENT);
	}
	if (!res)
		return MHD_NO;
	if (a->content_type)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
	if (a->session_id[0])
		MHD_add_response_header(res, "Mcp-Session-Id", a->session_id);
	if (a->allow)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, a->allow);
	if (a->status == 401)
		MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (a->retry_after) {
		snprintf(retry, sizeof(retry), "%u", a->retry_after);
		MHD_add_response_header(res, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	ok = MHD_queue_response(c, (unsigned)a->status, res);
	MHD_destroy_response(res);
	return ok;
}

/* Send a refusal made before the route's own handling: on /mcp, as a JSON-RPC error. */
static enum MHD_Result send_refusal(struct MHD_Connection *c, struct request_state *st,
				    struct route_answer *a)
{
	if (st->mcp)
		mcp_http_rpc_answer(a);
	return send_answer(c, a, st->azure);
}

struct collect {
	struct route_header *h;
	size_t n;
	char *query;
	size_t qlen;
	bool query_full;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct collect *col = cls;

	(void)kind;
	if (col->n < MAX_HEADERS)
		col->h[col->n++] = (struct route_header){key, value ? value : ""};
	return MHD_YES;
}

/* Append @s percent-encoded (MHD hands the query over decoded). */
static void query_append(struct collect *col, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-._~", *p);

		if (col->qlen + 4 >= QUERY_MAX) {
			col->query_full = true;
			return;
		}
		if (plain) {
			col->query[col->qlen++] = (char)*p;
			continue;
		}
		col->query[col->qlen++] = '%';
		col->query[col->qlen++] = hex[*p >> 4];
		col->query[col->qlen++] = hex[*p & 15];
	}
	col->query[col->qlen] = '\0';
}

static void query_raw(struct collect *col, char ch)
{
	if (col->qlen + 2 >= QUERY_MAX) {
		col->query_full = true;
		return;
	}
	col->query[col->qlen++] = ch;
	col->query[col->qlen] = '\0';
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct collect *col = cls;

	(void)kind;
	if (col->qlen)
		query_raw(col, '&');
	query_append(col, key);
	if (value) {
		query_raw(col, '=');
		query_append(col, value);
	}
	return MHD_YES;
}

static void collect_request(struct MHD_Connection *c, const char *url, const char *method,
			    struct collect *col, struct route_request *rq)
{
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, col);
	col->query[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, col);
	*rq = (struct route_request){.method = method,
				     .path = route_origin_path(url),
				     .query = col->query,
				     .headers = col->h,
				     .n_headers = col->n};
}

/* 503 busy with Retry-After, saying which of the server's limits was reached. */
static int busy(enum route_id route, const char *why, struct route_answer *a)
{
	struct route_decision d = {.route = route};
	struct rb_err err = {0};

	rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL,
		"runbox %s; retry after the Retry-After seconds.", why);
	return route_answer_refused(&d, &err, a);
}

#define RUNS_FULL                                                                                  \
	"is running as many programs as it may and its queue is full (or it is shutting down)"

/* 503 capacity_exhausted: a body over the server's budget, or over its client's share of it. */
static int bodies_full(const struct server *s, const struct request_state *st,
		       struct route_answer *a)
{
	struct route_decision d = {.route = st->route};
	struct rb_err err = {0};

	if (st->full == ADMISSION_CLIENT_FULL)
		rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "capacity_exhausted", NULL,
			"This client address holds its share of the request bodies runbox holds "
			"at once (RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT, %zu bytes): send fewer "
			"at once, and retry after the Retry-After seconds.",
			s->adm.client_budget);
	else
		rb_fail(
		    &err, RB_FAULT_UNAVAILABLE, 0, "capacity_exhausted", NULL,
		    "runbox holds as many request bodies as it may (RUNBOX_MAX_PENDING_BODY_BYTES, "
		    "%zu bytes); retry after the Retry-After seconds.",
		    s->adm.budget);
	return route_answer_refused(&d, &err, a);
}

/*
 * The least time a run may be left with: a queued request whose answer
 * deadline leaves less is refused rather than started to be killed at once.
 */
static double least_run_s(double deadline_s)
{
	return deadline_s / 2 < SERVE_LEAST_RUN_S ? deadline_s / 2 : SERVE_LEAST_RUN_S;
}

/* 503: the wait for a run slot used up the request's answer deadline. */
static void too_late(enum route_id route, double deadline_s, double waited, struct route_answer *a)
{
	struct route_decision d = {.route = route};
	struct rb_err err = {0};

	rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL,
		"runbox could not start this run within its answer deadline: it waited %.1f s "
		"for a run slot, and every answer must come within %g s "
		"(RUNBOX_ANSWER_DEADLINE_S); retry after the Retry-After seconds.",
		waited, deadline_s);
	route_answer_refused(&d, &err, a);
}

/* Take a run slot, run @d's request in a worker, answer. */
static void run(struct server *s, struct request_state *st, const struct route_decision *d,
		struct route_answer *a)
{
	struct executor_opts opts = {0};
	struct rb_err err = {0};
	double deadline_s = s->answer_deadline_s, waited = 0;
	char *json = NULL;
	int r;

	if (s->ex->unavailable) {
		route_answer_refused(d, &s->ex->unavailable_err, a);
		return;
	}
	if (st->conn)
		tracker_clear(&s->tracker, st->conn);
	r = gate_enter(&s->gate, clock_now() + deadline_s - least_run_s(deadline_s), &waited);
	if (r == -ETIME) {
		too_late(d->route, deadline_s, waited, a);
		return;
	}
	if (r < 0) {
		busy(d->route, RUNS_FULL, a);
		return;
	}
	/* Time spent waiting for the slot counts against the answer deadline. */
	opts.max_timeout_s = deadline_s - waited;
	opts.max_body_bytes = d->wrapped_len;
	r = worker_run(s->ex, d->run_body, d->run_len, &opts, &json, &err);
	gate_leave(&s->gate);
	st->answering = true;
	route_answer_run(d, r, &err, json, a);
}

static void dispatch(struct server *s, struct request_state *st, const struct route_request *rq,
		     struct route_answer *a)
{
	struct route_decision d = {0};

	if (st->route == ROUTE_HEALTH || st->route == ROUTE_ROOT) {
		route_answer_ok("text/plain; charset=utf-8", "OK", 2, a);
		return;
	}
	if (st->route == ROUTE_INFO) {
		char *live = info_live(s->info, s->ex);

		if (live)
			route_answer_ok("application/json", live, strlen(live), a);
		else
			route_answer_ok("application/json", s->info, s->info_len, a);
		free(live);
		return;
	}
	if (route_prepare(&s->rc, st->route, rq, &d, a) < 0)
		return;
	run(s, st, &d, a);
	route_decision_free(&d);
}

/* ---- MCP over HTTP: POST, DELETE /mcp (api/mcp_http.h) ---- */

/* ---- sessions (api/mcp_http.h): the protocol state and its files, under mcp_mu ---- */

/*
 * An MCP session left the table (DELETE, idle, evicted): its files go with
 * it.  One a tool call still holds is ended by that call's session_files()
 * when it is over.  Called under mcp_mu: the removal does not wait.
 */
static void session_ended(void *ctx, const struct mcp_session *se)
{
	const struct server *s = ctx;

	if (se->files[0])
		session_remove(&s->ex->sessions, se->files);
}

/*
 * A tool call of MCP session @id that started from file session @before
 * ended with @after (mcp.h's session_id after its answer): the session
 * keeps @after when it still holds @before; else (it ended meanwhile, or a
 * concurrent call such as a reset changed it first) @after is ended, even
 * when it is @before, so that no file session outlives what names it.  A
 * file session replaced (a reset, a session that ended) is ended too.  An
 * end while this call's worker still holds the session is carried out as
 * the worker lets it go (session_remove).
 */
static void session_files(struct server *s, const char *id, const char *before, const char *after)
{
	struct mcp_session *se;

	if (!id[0])
		return;
	pthread_mutex_lock(&s->mcp_mu);
	se = mcp_sessions_find(&s->sessions, id, clock_now());
	if (se && strcmp(se->files, before) == 0) {
		if (before[0] && strcmp(before, after) != 0)
			session_remove(&s->ex->sessions, before);
		snprintf(se->files, sizeof(se->files), "%s", after);
	} else if (after[0]) {
		session_remove(&s->ex->sessions, after);
	}
	pthread_mutex_unlock(&s->mcp_mu);
}

/*
 * The session @h names, for a POST that is not an initialize: its protocol
 * state into @ms, and busy while the request lasts (session_leave).
 * Returns 0, or < 0 with *a: 400 without the header or with another
 * protocol version than the session's, 404 for a session that is gone.
 */
static int session_enter(struct server *s, const struct mcp_http_request *h, struct mcp_server *ms,
			 struct route_answer *a)
{
	struct mcp_session *se;
	int r = 0;

	if (!h->session[0])
		return mcp_http_refuse(
		    a, 400, -32600, "missing_session",
		    "This server keeps MCP sessions: send the Mcp-Session-Id "
		    "header the initialize answer carried, or initialize first.");
	pthread_mutex_lock(&s->mcp_mu);
	se = mcp_sessions_find(&s->sessions, h->session, clock_now());
	if (!se)
		r = mcp_http_refuse(a, 404, -32001, "session_not_found",
				    "No session '%s' here (it ended, expired or was never "
				    "made): initialize again, without Mcp-Session-Id.",
				    h->session);
	else if (h->version_given && strcmp(h->version, se->version) != 0)
		r = mcp_http_refuse(a, 400, -32600, "unsupported_protocol_version",
				    "MCP-Protocol-Version '%s' is not the version this session "
				    "negotiated, %s.",
				    h->version, se->version);
	if (r == 0 && se) {
		snprintf(ms->version, sizeof(ms->version), "%s", se->version);
		snprintf(ms->session_id, sizeof(ms->session_id), "%s", se->files);
		se->busy++;
	}
	pthread_mutex_unlock(&s->mcp_mu);
	return r;
}

static void session_leave(struct server *s, const char *id)
{
	struct mcp_session *se;

	pthread_mutex_lock(&s->mcp_mu);
	se = mcp_sessions_find(&s->sessions, id, clock_now());
	if (se && se->busy)
		se->busy--;
	pthread_mutex_unlock(&s->mcp_mu);
}

/* notifications/initialized: the session's client is ready. */
static void session_initialized(struct server *s, const char *id)
{
	struct mcp_session *se;

	pthread_mutex_lock(&s->mcp_mu);
	se = mcp_sessions_find(&s->sessions, id, clock_now());
	if (se)
		se->initialized = true;
	pthread_mutex_unlock(&s->mcp_mu);
}

/* A new session of @version: its id in @ret_id.  Returns 0, or < 0 with *a (503). */
static int session_create(struct server *s, const char *version, char *ret_id,
			  struct route_answer *a)
{
	unsigned char bytes[MCP_SESSION_ID_LEN / 2];
	bool made;

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return mcp_http_refuse(a, 500, -32603, "internal_error",
				       "runbox could not draw a session id: %s.", strerror(errno));
	mcp_session_hex(bytes, sizeof(bytes), ret_id);
	pthread_mutex_lock(&s->mcp_mu);
	made = mcp_sessions_add(&s->sessions, ret_id, version, clock_now()) != NULL;
	pthread_mutex_unlock(&s->mcp_mu);
	if (made)
		return 0;
	return mcp_http_refuse(a, 503, -32000, "busy",
			       "runbox holds as many MCP sessions as it may "
			       "(RUNBOX_MCP_MAX_SESSIONS), each with a call in progress; retry "
			       "after the Retry-After seconds.");
}

/*
 * A tool call of POST /mcp, from its arrival to its answer, on serve's run
 * slots and queue like any run.  It is stepped (call_step) rather than
 * waited for, so that an event-stream answer can send progress between
 * steps; a JSON answer steps it to its end at once.  In session mode it is
 * registered under its session and request id while it lasts, for
 * notifications/cancelled.
 */
enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_DONE };

struct call {
	struct call *prev, *next; /* in server.calls, under mcp_mu */
	struct server *s;
	enum call_state state;
	char session[MCP_SESSION_ID_LEN + 1]; /* "": not registered */
	struct mcp_server ms;		      /* the session's protocol state, for the answer */
	char files_before[64];		      /* the file session it started from */
	struct mcp_pending pending;	      /* what to run, its id and progress token */
	double t0, give_up_at, ran_at;	      /* arrival; the latest start; the start */
	struct worker_job job;		      /* while running */
	struct run_progress last;	      /* the program's figures so far */
	bool cancelled;			      /* atomic: notifications/cancelled came */
	bool left;			      /* gate_leave'd: its answer is on the way */
	int r;				      /* CALL_DONE: the run's result, its JSON, its error */
	char *json;
	struct rb_err err;
	/* An event-stream answer: the event being sent, and the next progress. */
	char *out;
	size_t out_len, out_at;
	double next_tick;
	bool ended; /* the answer's last event is out */
};

/* 1: a slot is held; 0: queued (counted as waiting); -EBUSY: the queue is full or closing. */
static int gate_join(struct gate *g)
{
	int r = 1;

	pthread_mutex_lock(&g->mu);
	if (g->closed || (g->running >= g->slots && g->waiting >= g->queue))
		r = -EBUSY;
	else if (g->running >= g->slots)
		g->waiting++, r = 0;
	else
		g->running++;
	pthread_mutex_unlock(&g->mu);
	return r;
}

/*
 * A queued caller waits until @until: 1 with a slot, 0 still queued, or,
 * no longer queued, -EBUSY (closing) or -ECANCELED (*@cancelled was set).
 */
static int gate_wait(struct gate *g, double until, const bool *cancelled)
{
	struct timespec ts = abs_monotonic(until);
	int r = 0;

	pthread_mutex_lock(&g->mu);
	while (g->running >= g->slots && !g->closed &&
	       !__atomic_load_n(cancelled, __ATOMIC_ACQUIRE) && r == 0)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
			r = -ETIME;
	if (g->closed || __atomic_load_n(cancelled, __ATOMIC_ACQUIRE)) {
		g->waiting--;
		r = g->closed ? -EBUSY : -ECANCELED;
	} else if (g->running < g->slots) {
		g->waiting--;
		g->running++;
		r = 1;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&g->mu);
	return r;
}

/* A queued caller gives up its place. */
static void gate_quit(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->waiting--;
	pthread_mutex_unlock(&g->mu);
}

/* The place gate_join() gave (@joined: 1 a slot, 0 queued), given back unused. */
static void gate_give_back(struct gate *g, int joined)
{
	if (joined > 0) {
		gate_leave(g);
		gate_answered(g);
	} else if (joined == 0) {
		gate_quit(g);
	}
}

/* Wake the queued callers (one of them was cancelled). */
static void gate_kick(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void calls_add(struct server *s, struct call *k)
{
	if (!k->session[0])
		return;
	pthread_mutex_lock(&s->mcp_mu);
	k->next = s->calls;
	k->prev = NULL;
	if (s->calls)
		s->calls->prev = k;
	s->calls = k;
	pthread_mutex_unlock(&s->mcp_mu);
}

static void calls_remove(struct server *s, struct call *k)
{
	if (!k->session[0])
		return;
	pthread_mutex_lock(&s->mcp_mu);
	if (k->prev)
		k->prev->next = k->next;
	else
		s->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&s->mcp_mu);
}

/*
 * notifications/cancelled for @id of @session: a queued call leaves the
 * queue, a running one is stopped; either way it gets no reply.  An id
 * that matches nothing was answered already: ignored.
 */
static void calls_cancel(struct server *s, const char *session, const cJSON *id)
{
	bool found = false;

	pthread_mutex_lock(&s->mcp_mu);
	for (struct call *k = s->calls; k; k = k->next) {
		if (strcmp(k->session, session) != 0 || !mcp_same_id(k->pending.id, id))
			continue;
		__atomic_store_n(&k->cancelled, true, __ATOMIC_RELEASE);
		worker_cancel(&k->job);
		found = true;
	}
	pthread_mutex_unlock(&s->mcp_mu);
	if (found) {
		gate_kick(&s->gate);
		log_msg(LOG_INFO, "cancelled", "an MCP client cancelled a tool call");
	}
}

static void call_done(struct call *k, int r, char *json)
{
	k->state = CALL_DONE;
	k->r = r;
	/* A worker that died said nothing: its fault is the answer. */
	k->json = json || r == -ECANCELED ? json : response_error(&k->err);
}

/* The run is over: its slot is free, its answer on the way (gate_answered when sent). */
static void call_leave(struct call *k)
{
	gate_leave(&k->s->gate);
	k->left = true;
}

/* A slot is held: start the worker, with what is left of the answer deadline. */
static void call_start(struct call *k)
{
	struct server *s = k->s;
	struct executor_opts opts = {.progress_period_s = MCP_PROGRESS_PERIOD_S / 2};
	struct worker_job job;

	k->ran_at = clock_now();
	opts.max_timeout_s = s->answer_deadline_s - (k->ran_at - k->t0);
	if (worker_start(k->pending.body, k->pending.len, &opts, &job, &k->err) < 0) {
		call_leave(k);
		call_done(k, -EIO, response_error(&k->err));
		return;
	}
	pthread_mutex_lock(&s->mcp_mu);
	k->job = job;
	if (__atomic_load_n(&k->cancelled, __ATOMIC_ACQUIRE))
		worker_cancel(&k->job);
	pthread_mutex_unlock(&s->mcp_mu);
	k->state = CALL_RUNNING;
}

/* The answer deadline went by in the queue, or the server closes: the run's refusal. */
static void call_refused(struct call *k, int r)
{
	double waited = clock_now() - k->t0;

	if (r == -ETIME)
		rb_fail(&k->err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL,
			"runbox could not start this run within its answer deadline: it waited "
			"%.1f s for a run slot, and every answer must come within %g s "
			"(RUNBOX_ANSWER_DEADLINE_S); retry later.",
			waited, k->s->answer_deadline_s);
	else
		rb_fail(&k->err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL, "runbox %s.", RUNS_FULL);
	call_done(k, -EBUSY, response_error(&k->err));
}

/* Queued: wait for a slot until @until. */
static void step_queued(struct call *k, double until)
{
	int r =
	    gate_wait(&k->s->gate, until < k->give_up_at ? until : k->give_up_at, &k->cancelled);

	if (r > 0)
		call_start(k);
	else if (r == -ECANCELED)
		call_done(k, -ECANCELED, NULL);
	else if (r < 0)
		call_refused(k, r);
	else if (clock_now() >= k->give_up_at) {
		gate_quit(&k->s->gate);
		call_refused(k, -ETIME);
	}
}

/* Running: take the worker's records until @until. */
static void step_running(struct call *k, double until)
{
	struct server *s = k->s;
	double ms = (until - clock_now()) * 1000.0;
	struct run_progress p;
	char *json = NULL;
	int r = 0;

	switch (worker_next(&k->job, ms > 0 ? (int)ms + 1 : 0, &p, &r, &json, &k->err)) {
	case WORKER_PROGRESS:
		k->last = p;
		return;
	case WORKER_WAITING:
		return;
	case WORKER_DONE:
		break;
	}
	pthread_mutex_lock(&s->mcp_mu);
	worker_end(&k->job);
	pthread_mutex_unlock(&s->mcp_mu);
	call_leave(k);
	call_done(k, r, json);
}

/* Move @k on until @until, or until its state changes or a record comes. */
static void call_step(struct call *k, double until)
{
	if (k->state == CALL_QUEUED)
		step_queued(k, until);
	else if (k->state == CALL_RUNNING)
		step_running(k, until);
}

/*
 * A call of @session for @p (taken over), its place on the gate taken
 * (@joined: 1 running, 0 queued).  NULL when out of memory.
 */
static struct call *call_new(struct server *s, const char *session, const struct mcp_server *ms,
			     struct mcp_pending *p, int joined)
{
	struct call *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->s = s;
	/* Its protocol state only: the callbacks' context is the request's, gone before it. */
	k->ms = *ms;
	k->ms.ctx = NULL;
	k->ms.run = NULL;
	snprintf(k->files_before, sizeof(k->files_before), "%s", ms->session_id);
	k->pending = *p;
	memset(p, 0, sizeof(*p));
	k->job.fd = k->job.cancel_w = -1;
	k->t0 = clock_now();
	k->give_up_at = k->t0 + s->answer_deadline_s - least_run_s(s->answer_deadline_s);
	k->next_tick = k->t0 + MCP_PROGRESS_PERIOD_S;
	snprintf(k->session, sizeof(k->session), "%s", session);
	calls_add(s, k);
	if (joined > 0)
		call_start(k);
	return k;
}

/*
 * Out of the registry, its place on the gate given back; a run still going
 * (its answer is not wanted any more) is stopped.  The struct itself stays
 * for the caller to free, after reading k->left.
 */
static void call_free(struct call *k)
{
	calls_remove(k->s, k);
	if (k->state == CALL_QUEUED)
		gate_quit(&k->s->gate);
	if (k->state == CALL_RUNNING) {
		worker_cancel(&k->job);
		while (k->state == CALL_RUNNING)
			step_running(k, clock_now() + 60);
	}
	mcp_pending_free(&k->pending);
	free(k->json);
	free(k->out);
	k->json = k->out = NULL;
}

/*
 * The reply line of a finished call; NULL when it was cancelled (no reply
 * is due).  What its run did to the session's files stands either way.
 */
static char *call_reply(struct call *k)
{
	char *line = NULL;

	if (k->r == -ECANCELED || __atomic_load_n(&k->cancelled, __ATOMIC_ACQUIRE))
		mcp_take_session(&k->ms, k->json);
	else
		line = mcp_finish(&k->ms, &k->pending, k->json);
	session_files(k->s, k->session, k->files_before, k->ms.session_id);
	return line;
}

/* ---- the event-stream answer ---- */

/* The next event of @k's stream into k->out: progress, or at the end its reply. */
static void next_event(struct call *k)
{
	struct mcp_progress p;
	char *line;

	while (k->state != CALL_DONE && clock_now() < k->next_tick)
		call_step(k, k->next_tick);
	if (k->state == CALL_DONE) {
		line = call_reply(k);
		k->ended = true;
	} else {
		double now = clock_now();

		p = (struct mcp_progress){
		    .progress = now - k->t0,
		    .elapsed_s = now - k->t0,
		    .queued = k->state == CALL_QUEUED,
		    .queued_s = (k->state == CALL_QUEUED ? now : k->ran_at) - k->t0,
		    .stdout_bytes = k->last.stdout_bytes,
		    .stderr_bytes = k->last.stderr_bytes,
		};
		line = mcp_progress_line(k->pending.progress_token, &p);
		k->next_tick = now + MCP_PROGRESS_PERIOD_S;
	}
	free(k->out);
	k->out = line ? mcp_http_sse_event(line, &k->out_len) : NULL;
	k->out_at = 0;
	free(line);
}

/*
 * libmicrohttpd's reader of the stream, called in the connection's own
 * thread: it blocks until the next event (a progress notification at
 * least every MCP_PROGRESS_PERIOD_S), and ends the stream after the reply.
 */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct call *k = cls;
	size_t n;

	(void)pos;
	while (!k->out || k->out_at == k->out_len) {
		if (k->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		next_event(k);
	}
	n = k->out_len - k->out_at < max ? k->out_len - k->out_at : max;
	memcpy(buf, k->out + k->out_at, n);
	k->out_at += n;
	return (ssize_t)n;
}

/* The stream is over (sent, or the client left): the call and its slot go. */
static void sse_free(void *cls)
{
	struct call *k = cls;
	struct server *s = k->s;
	bool left;

	session_leave(s, k->session);
	call_free(k);
	left = k->left;
	free(k);
	/* Its run's answer was on the way until now (see gate.answering). */
	if (left)
		gate_answered(&s->gate);
}

/* ---- the protocol's callbacks ---- */

/* What a callback needs: the server, the request (its answer holds), the session. */
struct mcp_ctx {
	struct server *s;
	struct request_state *st;
	const char *session; /* "" in stateless mode */
	struct mcp_server *ms;
};

/*
 * mcp_server.run for what runs in turn within one request (a batch, and
 * every call in stateless mode): the same slots, queue and deadline, to
 * its end.  A call the client cancelled (in a session) gets no reply.
 */
static int mcp_run_cb(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	struct mcp_ctx *c = ctx;
	struct mcp_pending p = {.body = malloc(n + 1), .len = n};
	int joined = gate_join(&c->s->gate), r;
	struct call *k;

	p.id = c->ms->current_id ? cJSON_Duplicate(c->ms->current_id, true) : NULL;
	if (p.body)
		memcpy(p.body, body, n), p.body[n] = '\0';
	k = joined >= 0 && p.body && p.id ? call_new(c->s, c->session, c->ms, &p, joined) : NULL;
	if (!k) {
		mcp_pending_free(&p);
		gate_give_back(&c->s->gate, joined);
		r = joined < 0 ? rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL, "runbox %s.",
					 RUNS_FULL)
			       : rb_fail_sys(err, ENOMEM, "hold a tool call");
		*ret_json = response_error(err);
		return r;
	}
	while (k->state != CALL_DONE)
		call_step(k, clock_now() + 3600);
	c->ms->cancelled = k->r == -ECANCELED || __atomic_load_n(&k->cancelled, __ATOMIC_ACQUIRE);
	*ret_json = k->json;
	*err = k->err;
	r = k->r;
	k->json = NULL;
	call_free(k);
	c->st->answer_holds += k->left ? 1 : 0;
	free(k);
	return r;
}

static pthread_mutex_t installed_mu = PTHREAD_MUTEX_INITIALIZER;

static int installed_cb(void *ctx, const cJSON **ret_packages, const char **ret_version,
			struct rb_err *err)
{
	const struct mcp_ctx *c = ctx;
	int r;

	/* Listed once, when the server started (info_build): this reads the cache. */
	pthread_mutex_lock(&installed_mu);
	r = deps_installed(c->s->ex->cfg.python, ret_packages, ret_version, err);
	pthread_mutex_unlock(&installed_mu);
	return r;
}

static int cache_cb(void *ctx, cJSON **ret, struct rb_err *err)
{
	const struct mcp_ctx *c = ctx;

	*ret = NULL;
	return c->s->ex->cfg.cache_dir[0] ? deps_cache_list(c->s->ex->cfg.cache_dir, ret, err) : 0;
}

/* The protocol half for one request: this server's tools, in @c's session's version. */
static void mcp_server_for(struct server *s, struct mcp_ctx *c, struct mcp_server *ret)
{
	*ret = (struct mcp_server){
	    .run = mcp_run_cb,
	    .installed = installed_cb,
	    .cache = cache_cb,
	    .ctx = c,
	    .default_timeout_s = s->ex->cfg.limits.default_timeout_s,
	    .max_timeout_s = s->ex->cfg.limits.max_timeout_s,
	    /* Each MCP session keeps its files; a stateless POST stands alone. */
	    .sessions = !s->mcp_stateless && s->ex->sessions.dir[0] != '\0',
	    .session_ttl_s = s->ex->cfg.session_ttl_s,
	};
	c->ms = ret;
}

/* ---- the requests ---- */

/* Queue @a on @c, with its Mcp-Session-Id. */
static enum MHD_Result mcp_send(struct MHD_Connection *c, struct route_answer *a)
{
	return send_answer(c, a, false);
}

/* DELETE /mcp: the session ends (its calls in progress still answer). */
static enum MHD_Result mcp_delete(struct server *s, struct MHD_Connection *c,
				  const struct mcp_http_request *h)
{
	struct route_answer a = {0};
	bool gone;

	if (!h->session[0]) {
		mcp_http_refuse(&a, 400, -32600, "missing_session",
				"DELETE /mcp ends the session its Mcp-Session-Id header names; "
				"there is none.");
		return mcp_send(c, &a);
	}
	pthread_mutex_lock(&s->mcp_mu);
	gone = mcp_sessions_remove(&s->sessions, h->session);
	pthread_mutex_unlock(&s->mcp_mu);
	if (!gone) {
		mcp_http_refuse(&a, 404, -32001, "session_not_found",
				"No session '%s' here (it ended or expired).", h->session);
		return mcp_send(c, &a);
	}
	mcp_http_answer_accepted(&a);
	a.status = 204;
	return mcp_send(c, &a);
}

/* A cancelled call over plain JSON: the HTTP answer must say something. */
static void cancelled_answer(const struct mcp_pending *p, struct route_answer *a)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");

	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddItemToObject(o, "id", cJSON_Duplicate(p->id, true));
	cJSON_AddNumberToObject(e, "code", -32800);
	cJSON_AddStringToObject(e, "message", "The client cancelled this request.");
	mcp_http_answer_json(cJSON_PrintUnformatted(o), a);
	cJSON_Delete(o);
}

/* An event stream for @k: progress while it waits and runs, then its reply. */
static enum MHD_Result sse_answer(struct MHD_Connection *c, struct call *k)
{
	struct MHD_Response *res =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, k, sse_free);
	enum MHD_Result ok;

	if (!res) {
		sse_free(k);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ok = MHD_queue_response(c, 200, res);
	MHD_destroy_response(res);
	return ok;
}

/*
 * A tool call held by mcp_begin(): onto the gate (503 when the queue is
 * full), then an event stream when it asked for progress and the client
 * takes one, else run to its end and answered as JSON.
 */
static enum MHD_Result tool_call(struct server *s, struct request_state *st,
				 struct MHD_Connection *c, const struct mcp_http_request *h,
				 struct mcp_server *ms, struct mcp_pending *p)
{
	struct route_answer a = {0};
	struct call *k;
	char *reply;
	int joined = gate_join(&s->gate);

	if (joined < 0) {
		mcp_pending_free(p);
		session_leave(s, h->session);
		mcp_http_refuse(&a, 503, -32000, "busy",
				"runbox %s; retry after the Retry-After "
				"seconds.",
				RUNS_FULL);
		return mcp_send(c, &a);
	}
	k = call_new(s, h->session, ms, p, joined);
	if (!k) {
		gate_give_back(&s->gate, joined);
		mcp_pending_free(p);
		session_leave(s, h->session);
		return MHD_NO;
	}
	if (k->pending.progress_token && h->accepts_sse)
		return sse_answer(c, k);
	while (k->state != CALL_DONE)
		call_step(k, clock_now() + 3600);
	reply = call_reply(k);
	if (reply)
		mcp_http_answer_json(reply, &a);
	else if (h->accepts_sse) /* cancelled: a stream that ends with no reply */
		route_answer_ok("text/event-stream", "", 0, &a);
	else
		cancelled_answer(&k->pending, &a);
	call_free(k);
	st->answering = k->left;
	free(k);
	session_leave(s, h->session);
	return mcp_send(c, &a);
}

/* What a notification changes: the session's state, or a call's fate. */
static void notification(struct server *s, const char *session, const struct route_request *rq)
{
	cJSON *msg = cJSON_ParseWithLength(rq->body, rq->body_len);
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "method"));
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");

	if (m && strcmp(m, "notifications/initialized") == 0)
		session_initialized(s, session);
	else if (m && strcmp(m, "notifications/cancelled") == 0)
		calls_cancel(s, session, cJSON_GetObjectItemCaseSensitive(params, "requestId"));
	cJSON_Delete(msg);
}

/* POST /mcp with sessions. */
static enum MHD_Result mcp_post(struct server *s, struct request_state *st,
				struct MHD_Connection *c, const struct route_request *rq,
				const struct mcp_http_request *h)
{
	struct mcp_ctx ctx = {.s = s, .st = st, .session = h->session};
	struct route_answer a = {0};
	struct mcp_pending p = {0};
	struct mcp_server ms;
	char method[64], sid[MCP_SESSION_ID_LEN + 1], files[64], *reply;
	enum mcp_http_kind kind = mcp_http_kind(rq->body, rq->body_len, method, sizeof(method));
	bool init = kind == MCP_HTTP_REQUEST && strcmp(method, "initialize") == 0;

	mcp_server_for(s, &ctx, &ms);
	if (init && h->session[0]) {
		mcp_http_refuse(&a, 400, -32600, "invalid_session",
				"initialize starts a new session: send it without Mcp-Session-Id.");
		return mcp_send(c, &a);
	}
	if (!init && kind != MCP_HTTP_INVALID && session_enter(s, h, &ms, &a) < 0)
		return mcp_send(c, &a);
	if (kind == MCP_HTTP_NOTIFICATION)
		notification(s, h->session, rq);
	snprintf(files, sizeof(files), "%s", ms.session_id);
	reply = mcp_begin(&ms, rq->body, rq->body_len, &p);
	if (p.body)
		return tool_call(s, st, c, h, &ms, &p);
	/* A batch's tool calls ran in turn, on ms. */
	session_files(s, init ? "" : h->session, files, ms.session_id);
	if (init && ms.version[0] && session_create(s, ms.version, sid, &a) < 0) {
		free(reply);
		return mcp_send(c, &a);
	}
	mcp_http_reply(kind, reply, &a);
	if (init && ms.version[0])
		snprintf(a.session_id, sizeof(a.session_id), "%s", sid);
	if (!init && kind != MCP_HTTP_INVALID)
		session_leave(s, h->session);
	return mcp_send(c, &a);
}

static enum MHD_Result mcp_request(struct server *s, struct request_state *st,
				   struct MHD_Connection *c, const struct route_request *rq)
{
	struct mcp_ctx ctx = {.s = s, .st = st, .session = ""};
	struct mcp_http_request h;
	struct route_answer a = {0};
	struct mcp_server ms;

	if (mcp_http_check(rq, s->mcp_stateless, &h, &a) < 0)
		return mcp_send(c, &a);
	if (!h.post)
		return mcp_delete(s, c, &h);
	/* The request is in: what it runs (a call, a batch's calls) has no deadline and no rate. */
	if (st->conn)
		tracker_clear(&s->tracker, st->conn);
	if (!s->mcp_stateless)
		return mcp_post(s, st, c, rq, &h);
	mcp_server_for(s, &ctx, &ms);
	mcp_http_stateless(&ms, &h, rq, &a);
	return mcp_send(c, &a);
}

/*
 * Count @n more bytes of a body as they arrive, if the server's budget and
 * the client's share allow; else the body is read and dropped and answered
 * 503 at its end.
 */
static bool hold(struct server *s, struct request_state *st, size_t n)
{
	enum admission_verdict v;

	pthread_mutex_lock(&s->adm_mu);
	v = admission_hold(&s->adm, &st->client, n);
	pthread_mutex_unlock(&s->adm_mu);
	if (v != ADMISSION_OK) {
		st->full = v;
		return false;
	}
	st->held += n;
	return true;
}

/*
 * Keep what fits under the cap; past it, read and drop, and answer 413 at
 * the end.  Past the server's budget of bodies, the same with 503.
 */
static int take_body(struct server *s, struct request_state *st, const char *data, size_t n)
{
	/* Every byte counts towards the minimum rate, kept or not. */
	if (st->conn)
		__atomic_add_fetch(&st->conn->body_got, n, __ATOMIC_RELAXED);
	if (!st->limit)
		return 0; /* a route that reads no body (GET) ignores one */
	if (st->full || st->over || st->len + n > st->limit) {
		st->over = !st->full;
		return 0;
	}
	if (!hold(s, st, n))
		return 0;
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 16384;
		char *b;

		while (cap < st->len + n + 1)
			cap *= 2;
		b = realloc(st->body, cap);
		if (!b)
			return -ENOMEM;
		st->body = b;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
	st->body[st->len] = '\0';
	return 0;
}

/*
 * How the body is framed must be unambiguous (RFC 9112 6.1, 6.3): two
 * Content-Length headers, Content-Length with Transfer-Encoding, or a
 * transfer coding other than chunked.  libmicrohttpd takes the first
 * Content-Length (and leaves the rest of the bytes to be read as the next
 * request) and waits for the close on an unknown coding: a proxy in front
 * that frames the body the other way would smuggle a request past it.
 */
struct framing {
	size_t n_cl, n_te;
	const char *te;
	const char *bad_name; /* a field name that is not an RFC 9110 token */
	size_t bytes;	      /* of every header line, with ": " and CRLF */
};

/* RFC 9110 5.6.2: a field name is a token (libmicrohttpd keeps "Content-Length " as one). */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* Every header, not only the MAX_HEADERS that route.c gets: a smuggler pads. */
static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;

	(void)kind;
	f->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	if (!f->bad_name && !is_token(key))
		f->bad_name = key;
	if (strcasecmp(key, "Content-Length") == 0)
		f->n_cl++;
	if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->n_te++;
		f->te = value ? value : "";
	}
	return MHD_YES;
}

/* A query argument's share of the request line: its name, '=', its value and a separator. */
static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	*(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 2;
	return MHD_YES;
}

/*
 * libmicrohttpd's pool holds up to twice RUNBOX_MAX_HEADER_BYTES (see
 * POOL_PER_HEADER_BYTE) before it answers its own HTML 431: between the two
 * the cap is kept here, with the contract's JSON.  Sizes as decoded, a close
 * lower bound of what was sent.
 */
static int header_size_error(struct MHD_Connection *c, const char *url, const char *method,
			     const char *version, size_t headers, size_t cap, struct rb_err *err)
{
	size_t n = strlen(method) + strlen(url) + strlen(version) + 4 + headers + 2;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_arg, &n);
	if (n <= cap)
		return 0;
	return rb_fail(err, RB_FAULT_HEADERS, 0, "headers_too_large", NULL,
		       "The request line and headers are about %zu bytes; the limit is %zu bytes "
		       "(RUNBOX_MAX_HEADER_BYTES).",
		       n, cap);
}

static int framing_error(struct MHD_Connection *c, struct framing *ret, struct rb_err *err)
{
	struct framing f = {0};

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
	*ret = f;
	/* RFC 9112 5.1: whitespace before the colon MUST get a 400 (a smuggler's trick). */
	if (f.bad_name)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_http", NULL,
			       "The header field name '%.64s' is not a token: no whitespace or "
			       "separators may come before its colon.",
			       f.bad_name);
	if (f.n_cl > 1 || (f.n_cl && f.n_te))
		return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_http", NULL,
			       "The request carries %s: its body's length is ambiguous; send one "
			       "Content-Length or Transfer-Encoding: chunked.",
			       f.n_te ? "both Content-Length and Transfer-Encoding"
				      : "more than one Content-Length");
	if (f.n_te > 1 || (f.te && strcasecmp(f.te, "chunked") != 0))
		return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_http", NULL,
			       "The only transfer coding runbox reads is 'chunked', not '%.64s'.",
			       f.te);
	return 0;
}

/*
 * HTTP/1.1 or a later 1.x, which RFC 9110 2.5 has a server of 1.1 serve as
 * 1.1 (libmicrohttpd does; another major version gets its own 505).
 */
static bool is_http_1_1_or_later(const char *version)
{
	const char *minor = version + 7;

	if (strncmp(version, "HTTP/1.", 7) != 0 || !*minor ||
	    strspn(minor, "0123456789") != strlen(minor))
		return false;
	return strspn(minor, "0") != strlen(minor);
}

/* RFC 9112 3.2: an HTTP/1.1 request without Host gets a 400 (libmicrohttpd lets it by). */
static int host_error(struct MHD_Connection *c, const char *version, struct rb_err *err)
{
	if (!is_http_1_1_or_later(version) ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
		return 0;
	return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_http", NULL,
		       "An HTTP/1.1 request must carry a Host header.");
}

static void first_call(struct server *s, struct request_state *st, struct MHD_Connection *c,
		       const char *url, const char *method, const char *version)
{
	struct route_header h[MAX_HEADERS];
	char query[QUERY_MAX];
	struct collect col = {.h = h, .query = query};
	struct route_request rq;
	const char *cl;

	struct rb_err err = {0};
	struct route_decision plain = {.route = ROUTE_NONE};
	struct framing fr;

	collect_request(c, url, method, &col, &rq);
	cl = route_header(&rq, "Content-Length");
	st->has_body = (cl && strcmp(cl, "0") != 0) || route_header(&rq, "Transfer-Encoding");
	st->azure = route_is_azure_path(url);
	st->mcp = strcmp(route_origin_path(url), "/mcp") == 0;
	if (framing_error(c, &fr, &err) < 0 || host_error(c, version, &err) < 0 ||
	    header_size_error(c, url, method, version, fr.bytes, s->max_header_bytes, &err) < 0) {
		/* Answered at once, and the connection closes: its next bytes mean nothing. */
		st->refused = st->has_body = true;
		route_answer_refused(&plain, &err, &st->early);
		return;
	}
	st->route = route_match(&s->rc, &rq, &st->early);
	st->refused = st->route == ROUTE_NONE;
	st->limit = route_body_cap(&s->rc, st->route);
	/* route_match refused a length over the cap; the rest is held as it arrives. */
	if (st->conn)
		tracker_head(&s->tracker, st->conn, st->has_body && !st->refused);
}

static enum MHD_Result last_call(struct server *s, struct request_state *st,
				 struct MHD_Connection *c, const char *url, const char *method)
{
	struct route_header h[MAX_HEADERS];
	char query[QUERY_MAX];
	struct collect col = {.h = h, .query = query};
	struct route_answer a = {0};
	struct route_request rq;
	struct rb_err err = {0};
	struct route_decision plain = {.route = st->route};

	if (st->refused)
		return send_refusal(c, st, &st->early);
	collect_request(c, url, method, &col, &rq);
	rq.body = st->body ? st->body : "";
	rq.body_len = st->len;
	if (st->over) {
		rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
			"The request body is larger than the limit of %zu bytes.", st->limit);
		route_answer_refused(&plain, &err, &a);
	} else if (st->full) {
		bodies_full(s, st, &a);
	} else if (col.query_full) {
		rb_fail(&err, RB_FAULT_REQUEST, 0, "invalid_query", NULL,
			"The query string is longer than %d bytes.", QUERY_MAX - 4);
		route_answer_refused(&plain, &err, &a);
	} else if (st->route == ROUTE_MCP) {
		return mcp_request(s, st, c, &rq);
	} else {
		dispatch(s, st, &rq, &a);
	}
	return send_refusal(c, st, &a);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct request_state *st = *con_cls;

	if (!st)
		return MHD_NO; /* out of memory in on_request_line */
	if (!st->route && !st->refused) {
		first_call(s, st, c, url, method, version);
		/*
		 * A refusal on the headers alone is answered without reading the
		 * body (the connection then closes); without a body it waits for
		 * the last call, which keeps the connection alive.
		 */
		if (st->refused && st->has_body)
			return send_refusal(c, st, &st->early);
		return MHD_YES;
	}
	if (*upload_data_size) {
		int r = take_body(s, st, upload_data, *upload_data_size);

		*upload_data_size = 0;
		return r < 0 ? MHD_NO : MHD_YES;
	}
	return last_call(s, st, c, url, method);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_msg(LOG_DEBUG, "http", msg);
}

/* ---- start, wait, stop ---- */

static unsigned cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

static int resolve(const char *host, unsigned port, struct sockaddr_storage *ret,
		   struct rb_err *err)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char portstr[16];
	int r;

	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &ai);
	if (r != 0)
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", "--host",
			       "Cannot listen on '%s': %s.", host, gai_strerror(r));
	memcpy(ret, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static struct MHD_Daemon *start_daemon(struct server *s, const struct sockaddr_storage *addr,
				       unsigned port)
{
	const struct runbox_serve_limits *l = &s->ex->cfg.serve;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT, l->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->client_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)l->idle_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, l->max_header_bytes * POOL_PER_HEADER_BYTE,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_BYTES, MHD_OPTION_URI_LOG_CALLBACK,
	    on_request_line, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
	    MHD_OPTION_END);
}

static void log_listening(struct MHD_Daemon *d, const char *host, unsigned slots,
			  const struct runbox_serve_limits *l)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "host", host);
	cJSON_AddNumberToObject(f, "port", i ? i->port : 0);
	cJSON_AddNumberToObject(f, "concurrency", slots);
	cJSON_AddNumberToObject(f, "queue", l->queue);
	cJSON_AddNumberToObject(f, "max_connections", l->max_connections);
	cJSON_AddBoolToObject(f, "token", l->token[0] != '\0');
	log_event(LOG_INFO, "serve_listening", f);
}

/*
 * First signal: stop listening and taking runs, let the runs in progress
 * answer.  A second signal during that wait ends the server at once.
 * SIGCHLD is the spawner's death: the same, then returns -ECHILD (its
 * workers are dead, their runs answer 500), so that whatever supervises the
 * server restarts it rather than keep one that can only answer 500.
 */
static int wait_and_drain(struct server *s, struct MHD_Daemon *d, const sigset_t *sigs,
			  MHD_socket *ret_listen)
{
	const struct timespec tick = {0, 100 * 1000000L};
	int sig, r = 0;

	for (;;) {
		while (sigwait(sigs, &sig) != 0)
			;
		if (sig != SIGCHLD)
			break;
		if (worker_spawner_gone()) {
			r = -ECHILD;
			break;
		}
	}
	if (r < 0)
		log_msg(LOG_INFO, "serve_stopping",
			"the worker spawner died (its runs answer 500): exiting so that the server "
			"is restarted");
	else
		log_msg(LOG_INFO, "serve_stopping",
			"signal received: finishing the runs in progress");
	/*
	 * The listening socket is handed back to us: shut down, so that a new
	 * client is refused at once instead of waiting out the drain on a
	 * backlog nobody accepts; closed once libmicrohttpd's threads are gone.
	 */
	*ret_listen = MHD_quiesce_daemon(d);
	if (*ret_listen != MHD_INVALID_SOCKET)
		shutdown(*ret_listen, SHUT_RDWR);
	gate_close(&s->gate);
	while (!gate_drained(&s->gate)) {
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig > 0 && sig != SIGCHLD) {
			log_msg(LOG_INFO, "serve_stopped", "second signal: exiting now");
			_exit(1);
		}
	}
	return r;
}

/*
 * The budget of bodies held at once, and one client address's shares of it
 * and of the connections: a quarter of each unless set, but never less
 * than one body of the largest kind.  Behind the Azure Functions host every
 * request comes from the host's one address: there per-address shares are
 * the front end's job, and one client may hold it all.  The values in force
 * go back into @cfg, for /api/info.
 */
static int admission_setup(struct server *s, struct runbox_config *cfg)
{
	struct runbox_serve_limits *l = &cfg->serve;
	size_t largest = route_body_cap(&s->rc, ROUTE_AZURE);
	size_t budget = l->max_pending_body_bytes > largest ? l->max_pending_body_bytes : largest;
	bool one_front_end = cfg->handler_port[0] != '\0';

	if (!l->client_connections)
		l->client_connections = one_front_end		  ? l->max_connections
					: l->max_connections >= 4 ? l->max_connections / 4
								  : 1;
	if (!l->client_pending_body_bytes)
		l->client_pending_body_bytes = one_front_end ? budget : budget / 4;
	if (l->client_pending_body_bytes < largest)
		l->client_pending_body_bytes = largest;
	if (l->client_pending_body_bytes > budget)
		l->client_pending_body_bytes = budget;
	pthread_mutex_init(&s->adm_mu, NULL);
	return admission_init(&s->adm, budget, l->client_pending_body_bytes, l->max_connections);
}

static int server_init(struct server *s, struct executor *ex, unsigned *ret_slots,
		       struct rb_err *err)
{
	const struct runbox_serve_limits *l = &ex->cfg.serve;
	pthread_condattr_t ca;

	memset(s, 0, sizeof(*s));
	s->ex = ex;
	s->rc = (struct route_config){.token = l->token,
				      .max_body_bytes = ex->cfg.limits.max_body_bytes,
				      .max_script_bytes = ex->cfg.limits.max_script_bytes,
				      .allowed_origins = l->allowed_origins};

	s->max_header_bytes = l->max_header_bytes;
	s->answer_deadline_s =
	    l->answer_deadline_s > 0 ? l->answer_deadline_s : ex->cfg.limits.max_timeout_s;
	*ret_slots = l->concurrency ? l->concurrency : cpu_count();
	if (*ret_slots > 1 && executor_runs_alone(ex)) {
		log_msg(LOG_INFO, "degraded",
			"no subreaper, no uid of its own and no pid namespace: a run's clean-up "
			"kills every process of runbox's uid started after it, so runs go one "
			"at a time (RUNBOX_CONCURRENCY is 1 here)");
		*ret_slots = 1;
	}
	if (*ret_slots > 1 && executor_runs_share_nproc(ex)) {
		log_msg(LOG_INFO, "degraded",
			"no uid, user namespace or pids group of a run's own: every run's "
			"processes count in one RLIMIT_NPROC, which runs at once could not "
			"share fairly, so runs go one at a time (RUNBOX_CONCURRENCY is 1 here)");
		*ret_slots = 1;
	}
	executor_size_limits(ex, *ret_slots);
	if (admission_setup(s, &ex->cfg) < 0)
		return rb_fail_sys(err, ENOMEM, "allocate the admission table");
	pthread_mutex_init(&s->gate.mu, NULL);
	/* Waits end at a deadline on the clock deadlines are measured on. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->gate.cv, &ca);
	pthread_condattr_destroy(&ca);
	s->gate.slots = *ret_slots;
	s->gate.queue = l->queue;
	pthread_mutex_init(&s->tracker.mu, NULL);
	s->tracker.head.next = s->tracker.head.prev = &s->tracker.head;
	s->tracker.request_s = l->request_timeout_s;
	s->tracker.idle_s = l->idle_timeout_s;
	s->tracker.header_s = l->header_timeout_s;
	s->tracker.min_rate = (double)l->min_body_rate;
	s->mcp_stateless = l->mcp_stateless;
	pthread_mutex_init(&s->mcp_mu, NULL);
	if (mcp_sessions_init(&s->sessions, l->mcp_max_sessions, l->mcp_session_idle_s) < 0)
		return rb_fail_sys(err, ENOMEM, "allocate the MCP session table");
	s->sessions.ended = session_ended;
	s->sessions.ended_ctx = s;
	if (info_build(ex, *ret_slots, &s->info, err) < 0)
		return -EIO;
	s->info_len = strlen(s->info);
	return 0;
}

int serve_main(struct executor *ex, const char *host, unsigned port)
{
	static struct server s;
	static struct warm warm;
	struct sockaddr_storage addr = {0};
	struct rb_err err = {0};
	struct MHD_Daemon *d;
	sigset_t sigs;
	unsigned slots;
	MHD_socket listen_fd = MHD_INVALID_SOCKET;
	int stopped, r;

	/*
	 * The server runs no program itself: its workers are the subreapers.
	 * An orphan of a worker that died goes to the system's reaper rather
	 * than pile up as a zombie here (it dies anyway: launch ties it to the
	 * worker's life).
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	if (server_init(&s, ex, &slots, &err) < 0 || resolve(host, port, &addr, &err) < 0) {
		fprintf(stderr, "runbox serve: %s\n", err.msg);
		return RUNBOX_EXIT_FAULT;
	}
	/* Blocked in every thread (they inherit the mask); only sigwait takes them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD); /* the spawner's death */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* The spawner keeps the warm template: its figures are shared with us. */
	if (warm_init(&warm, &ex->cfg, true, executor_warm_why(ex), &err) < 0) {
		fprintf(stderr, "runbox serve: %s\n", err.msg);
		return RUNBOX_EXIT_FAULT;
	}
	ex->warm = &warm;
	/* Sessions' files: kept by this server alone, gone when it stops (RUNBOX_SESSIONS_MAX=0:
	 * none). */
	if (ex->cfg.sessions_max && session_store_open(&ex->sessions, &ex->cfg, &err) < 0)
		log_msg(LOG_INFO, "degraded", err.msg); /* "session" is refused, as with none */
	/* Before libmicrohttpd's first thread: the spawner must be forked single-threaded. */
	if (worker_spawner_start(ex, &err) < 0) {
		fprintf(stderr, "runbox serve: %s\n", err.msg);
		return RUNBOX_EXIT_FAULT;
	}
	d = start_daemon(&s, &addr, port);
	if (!d) {
		fprintf(stderr,
			"runbox serve: cannot listen on %s port %u (in use, or not an "
			"address of this machine)\n",
			host, port);
		return RUNBOX_EXIT_FAULT;
	}
	/* Without it no request or idle timeout holds: not a server to run. */
	r = pthread_create(&s.tracker.thread, NULL, watchdog, &s.tracker);
	if (r != 0) {
		fprintf(stderr, "runbox serve: cannot start the timeout watchdog: %s\n",
			strerror(r));
		MHD_stop_daemon(d);
		return RUNBOX_EXIT_FAULT;
	}
	log_listening(d, host, slots, &ex->cfg.serve);
	stopped = wait_and_drain(&s, d, &sigs, &listen_fd);
	MHD_stop_daemon(d);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	pthread_mutex_lock(&s.tracker.mu);
	s.tracker.stop = true;
	pthread_mutex_unlock(&s.tracker.mu);
	pthread_join(s.tracker.thread, NULL);
	free(s.info);
	session_store_close(&ex->sessions);
	if (stopped < 0)
		return RUNBOX_EXIT_FAULT;
	log_msg(LOG_INFO, "serve_stopped", "every run answered; exiting");
	return 0;
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr,
		"runbox serve: %s '%s'\nusage: runbox serve [--host H] [--port P]  "
		"(defaults: %s, %u)\n",
		msg, arg, SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT);
	return RUNBOX_EXIT_REFUSED;
}

int serve_cmd(struct executor *ex, int argc, char **argv)
{
	const char *host = SERVE_DEFAULT_HOST;
	unsigned long port = SERVE_DEFAULT_PORT;

	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		bool is_host = cli_option(argv[i], "--host", &v);
		char *end;

		if (!is_host && !cli_option(argv[i], "--port", &v))
			return usage_error("unknown option", argv[i]);
		if (!v && i + 1 >= argc)
			return usage_error("missing value after", argv[i]);
		if (!v)
			v = argv[++i];
		if (is_host) {
			host = v;
			continue;
		}
		errno = 0;
		port = strtoul(v, &end, 10);
		if (errno || *end || end == v || !isdigit((unsigned char)*v) || port > 65535)
			return usage_error("--port takes a number from 0 to 65535, not", v);
	}
	return serve_main(ex, host, (unsigned)port);
}
