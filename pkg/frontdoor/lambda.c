/*
 * lambda: the Runtime API over libcurl (see lambda.h).  Everything about
 * what an event means and how an answer looks is in lambda_event.c; this
 * file only moves bytes, keeps time and retries.
 */
#define _GNU_SOURCE
#include "frontdoor/lambda.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api/info.h"
#include "api/lambda_event.h"
#include "api/mcp.h"
#include "api/mcp_http.h"
#include "deps/deps.h"
#include "base/log.h"
#include "contract/response.h"
#include "api/route.h"
#include "run/warm.h"

#define API_PREFIX	 "/2018-06-01/runtime"
#define NEXT_RETRIES	 10
#define BACKOFF_MAX_MULT 50 /* the wait doubles up to this many times the first */
#define POST_TIMEOUT_S	 60L
/* What is left of an output when a 413 forces the last-resort answer. */
#define SHRUNK_OUTPUT_BYTES ((size_t)64 * 1024)

struct client {
	CURL *h;
	char base[300]; /* http://host:port/2018-06-01/runtime */
};

/* One invocation as /next delivered it. */
struct invocation {
	char id[129];
	char trace[1024];
	char deadline[32];
	char *body;
	size_t len, size, cap;
	bool over; /* the event was larger than @cap: not read */
};

/*
 * Stopping on SIGTERM/SIGINT (see lambda.h): @idle while no invocation is
 * in hand, so that the handler may end the process at once; @stopping once
 * a signal came during one, checked after its answer is posted.
 */
static volatile sig_atomic_t idle = 1, stopping;

static void on_stop_signal(int sig)
{
	(void)sig;
	if (idle || stopping)
		_exit(idle ? 0 : 1);
	stopping = 1;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct invocation *inv = userdata;
	size_t n = size * nmemb;

	if (inv->len + n > inv->cap) {
		inv->over = true;
		return 0; /* abort the transfer: an event this big is refused unread */
	}
	if (inv->len + n + 1 > inv->size) {
		size_t want = inv->size ? inv->size : 65536;
		char *nb;

		while (want < inv->len + n + 1)
			want *= 2;
		nb = realloc(inv->body, want);
		if (!nb)
			return 0;
		inv->body = nb;
		inv->size = want;
	}
	memcpy(inv->body + inv->len, p, n);
	inv->len += n;
	inv->body[inv->len] = '\0';
	return n;
}

/* Copy the value of header line @line into @dst when it is header @name. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t size)
{
	size_t k = strlen(name), v;

	if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	v = n < size - 1 ? n : size - 1;
	memcpy(dst, line, v);
	dst[v] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct invocation *inv = userdata;
	size_t n = size * nmemb;

	/* An invocation is arriving: from here a signal lets it finish. */
	idle = 0;
	take_header(p, n, "Lambda-Runtime-Aws-Request-Id", inv->id, sizeof(inv->id));
	take_header(p, n, "Lambda-Runtime-Trace-Id", inv->trace, sizeof(inv->trace));
	take_header(p, n, "Lambda-Runtime-Deadline-Ms", inv->deadline, sizeof(inv->deadline));
	return n;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *userdata)
{
	(void)p;
	(void)userdata;
	return size * nmemb;
}

/*
 * Options every call shares.  The environment is already wiped, but a
 * proxy must not be picked up from anywhere: the Runtime API is local.
 */
static void common(CURL *h, const char *url)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
}

static int client_init(struct client *c, const char *api, struct rb_err *err)
{
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
		return rb_fail_sys(err, EIO, "lambda: curl_global_init failed");
	c->h = curl_easy_init();
	if (!c->h)
		return rb_fail_sys(err, ENOMEM, "lambda: curl_easy_init failed");
	snprintf(c->base, sizeof(c->base), "http://%s" API_PREFIX, api);
	return 0;
}

static void client_free(struct client *c)
{
	curl_easy_cleanup(c->h);
	curl_global_cleanup();
}

/* POST @body to @base@path; @error_type adds the error header. Returns the status, or < 0. */
static long post(struct client *c, const char *path, const char *body, const char *error_type)
{
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	char url[512], et[160];
	long status = -1;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", c->base, path);
	if (error_type) {
		snprintf(et, sizeof(et), "Lambda-Runtime-Function-Error-Type: %s", error_type);
		hd = curl_slist_append(hd, et);
	}
	common(c->h, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, POST_TIMEOUT_S);
	rc = curl_easy_perform(c->h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	else
		log_msg(LOG_INFO, "lambda_post_failed", curl_easy_strerror(rc));
	curl_slist_free_all(hd);
	return status;
}

/* One GET /next: 0 with an invocation, or < 0 (the caller retries). */
static int next_once(struct client *c, struct invocation *inv)
{
	char url[512];
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s/invocation/next", c->base);
	common(c->h, url);
	/* No CURLOPT_TIMEOUT: an idle instance waits (frozen) in this call. */
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, inv);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, inv);
	rc = curl_easy_perform(c->h);
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_WRITE_ERROR && inv->over && status == 200 && inv->id[0])
		return 0; /* answered with body_too_large */
	if (rc != CURLE_OK || status != 200 || !inv->id[0]) {
		char msg[200];

		snprintf(msg, sizeof(msg), "GET /invocation/next: %s, HTTP %ld%s",
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "answered", status,
			 rc == CURLE_OK && status == 200 ? " without a request id" : "");
		log_msg(LOG_INFO, "lambda_next_failed", msg);
		return -EIO;
	}
	return 0;
}

static void invocation_reset(struct invocation *inv, size_t cap)
{
	free(inv->body);
	memset(inv, 0, sizeof(*inv));
	inv->cap = cap;
}

static void log_retry(int failures, long wait_ms)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddNumberToObject(f, "failures", failures);
	cJSON_AddNumberToObject(f, "retry_in_ms", (double)wait_ms);
	log_event(LOG_INFO, "lambda_next_retry", f);
}

/*
 * /next with the documented backoff, starting at @first_ms; < 0 after
 * NEXT_RETRIES failures in a row.
 */
static int next_invocation(struct client *c, struct invocation *inv, size_t cap, long first_ms)
{
	long wait = first_ms, max = first_ms * BACKOFF_MAX_MULT;

	for (int attempt = 1;; attempt++) {
		invocation_reset(inv, cap);
		/* Nothing in hand: a signal from here on ends the process at once. */
		idle = 1;
		if (stopping)
			return -ECANCELED;
		if (next_once(c, inv) == 0)
			return 0;
		if (attempt == NEXT_RETRIES)
			return -EIO;
		log_retry(attempt, wait);
		sleep_ms(wait);
		wait = wait * 2 > max ? max : wait * 2;
	}
}

/* What goes back: a body for /response, or for /error when @error_type is set. */
struct reply {
	char *body;
	const char *error_type;
};

static void reply_fault(struct reply *rep, const struct rb_err *err)
{
	rep->error_type = lambda_error_type(err);
	rep->body = lambda_error_body(rep->error_type, err->msg);
}

/*
 * A direct invocation: the event is the contract request.  A refusal is a
 * normal answer (the contract's JSON error); only runbox's own faults, and a
 * deadline that leaves no time, go to /error.
 */
static void run_direct(struct executor *ex, const struct invocation *inv,
		       const struct executor_opts *opts, const struct rb_err *late,
		       struct reply *rep)
{
	struct rb_err err = {0};
	char *json = NULL;
	int r;

	if (late) {
		reply_fault(rep, late);
		return;
	}
	if (inv->over) {
		r = rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
			    "The request body is larger than the limit of %zu bytes.",
			    ex->cfg.limits.max_body_bytes);
		json = response_error(&err);
	} else {
		r = executor_run(ex, inv->body ? inv->body : "", inv->len, opts, &json, &err);
	}
	if (r < 0 && (err.fault == RB_FAULT_INTERNAL || err.fault == RB_FAULT_UNAVAILABLE)) {
		free(json);
		reply_fault(rep, &err);
		return;
	}
	rep->body = json;
}

/* GET /api/info through a proxy event: the same document as the HTTP server's. */
static int lambda_info_answer(const struct executor *ex, struct route_answer *a)
{
	struct rb_err err = {0};
	char *s = NULL;
	int r = info_build(ex, 1, &s, &err);

	if (r == 0)
		r = route_answer_ok("application/json", s, strlen(s), a);
	else
		route_answer_refused(&(struct route_decision){0}, &err, a);
	free(s);
	return r;
}

/* ---- MCP over a proxy event: stateless, JSON answers (api/mcp_http.h) ---- */

struct lambda_mcp {
	struct executor *ex;
	struct executor_opts opts;
};

static int mcp_run(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	struct lambda_mcp *m = ctx;

	return executor_run(m->ex, body, n, &m->opts, ret_json, err);
}

static int mcp_installed(void *ctx, const cJSON **ret_packages, const char **ret_version,
			 struct rb_err *err)
{
	const struct lambda_mcp *m = ctx;

	return deps_installed(m->ex->cfg.python, ret_packages, ret_version, err);
}

static int mcp_cache(void *ctx, cJSON **ret, struct rb_err *err)
{
	const struct lambda_mcp *m = ctx;

	*ret = NULL;
	return m->ex->cfg.cache_dir[0] ? deps_cache_list(m->ex->cfg.cache_dir, ret, err) : 0;
}

/*
 * POST /mcp through a Function URL or API Gateway: every event stands
 * alone (an instance has no affinity), so MCP runs stateless.  The reply
 * carries the answer twice (content blocks and structuredContent): the
 * answer is fitted to half of Lambda's budget.
 */
static void answer_mcp(struct executor *ex, const struct route_request *rq,
		       const struct executor_opts *opts, struct route_answer *a)
{
	struct lambda_mcp m = {.ex = ex, .opts = *opts};
	struct mcp_server s = {
	    .run = mcp_run,
	    .installed = mcp_installed,
	    .cache = mcp_cache,
	    .ctx = &m,
	    .default_timeout_s = ex->cfg.limits.default_timeout_s,
	    .max_timeout_s = ex->cfg.limits.max_timeout_s,
	};
	struct mcp_http_request h;

	m.opts.max_response_bytes /= 2;
	if (mcp_http_check(rq, true, &h, a) == 0)
		mcp_http_stateless(&s, &h, rq, a);
}

/* The decided route of a proxy event, answered. */
static void answer_route(struct executor *ex, const struct route_decision *d,
			 const struct route_request *rq, const struct executor_opts *opts,
			 struct route_answer *a)
{
	struct rb_err err = {0};
	char *json = NULL;
	int r;

	switch (d->route) {
	case ROUTE_RUN:
	case ROUTE_AZURE:
		r = executor_run(ex, d->run_body, d->run_len, opts, &json, &err);
		route_answer_run(d, r, &err, json, a);
		break;
	case ROUTE_HEALTH:
		route_answer_ok("text/plain; charset=utf-8", "OK", 2, a);
		break;
	case ROUTE_INFO:
		lambda_info_answer(ex, a);
		break;
	case ROUTE_MCP:
		answer_mcp(ex, rq, opts, a);
		break;
	default:
		route_answer_ok("text/plain; charset=utf-8", "", 0, a);
		break;
	}
}

/*
 * A proxy event, already parsed into @h (or refused with @bad): routed as
 * the HTTP server routes it, answered as an HTTP response in JSON.
 */
static void run_proxy(struct executor *ex, const struct lambda_http *h, const struct rb_err *bad,
		      const struct executor_opts *opts, const struct rb_err *late,
		      struct reply *rep)
{
	/* RUNBOX_TOKEN guards a Function URL (auth type NONE) as it guards serve. */
	struct route_config rc = {.token = ex->cfg.serve.token,
				  .max_body_bytes = ex->cfg.limits.max_body_bytes,
				  .max_script_bytes = ex->cfg.limits.max_script_bytes,
				  .allowed_origins = ex->cfg.serve.allowed_origins};
	struct route_decision d = {0};
	struct route_answer a = {0};
	struct executor_opts o = *opts;

	o.response_cost = lambda_proxy_cost;
	if (bad)
		route_answer_refused(&d, bad, &a);
	else if (late)
		route_answer_refused(&d, late, &a);
	else if (route_decide(&rc, &h->rq, &d, &a) == 0)
		answer_route(ex, &d, &h->rq, &o, &a);
	/* Every refusal on /mcp is a JSON-RPC error, as on the HTTP server. */
	if (h && h->rq.path && strcmp(h->rq.path, "/mcp") == 0)
		mcp_http_rpc_answer(&a);
	rep->body = lambda_proxy_response(&a);
	route_answer_free(&a);
	route_decision_free(&d);
}

/*
 * Send @rep.  A 413 means the Runtime API's limit is below what was fitted:
 * one more try with every artifact left out and the output cut, and if even
 * that is refused, the invocation ends as an error that says so rather
 * than never being answered.
 */
static long send_reply(struct client *c, const struct invocation *inv, const struct reply *rep)
{
	char path[200], *small, *eb;
	long st;

	snprintf(path, sizeof(path), "/invocation/%s/%s", inv->id,
		 rep->error_type ? "error" : "response");
	st = post(c, path, rep->body, rep->error_type);
	if (st != 413 || rep->error_type)
		return st;
	log_msg(LOG_INFO, "lambda_response_too_large", "answering without artifacts");
	small = lambda_shrink_response(rep->body, SHRUNK_OUTPUT_BYTES);
	if (small)
		st = post(c, path, small, NULL);
	free(small);
	if (st != 413 && small)
		return st;
	snprintf(path, sizeof(path), "/invocation/%s/error", inv->id);
	eb = lambda_error_body("Runtime.ResponseTooLarge",
			       "The Runtime API refused the answer as too large even without "
			       "artifacts and with the output cut.");
	st = eb ? post(c, path, eb, "Runtime.ResponseTooLarge") : -1;
	free(eb);
	return st;
}

static void log_invocation(const struct invocation *inv, bool proxy, const struct reply *rep,
			   long status, long long t0)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "aws_request_id", inv->id);
	cJSON_AddStringToObject(f, "trace_id", inv->trace);
	cJSON_AddStringToObject(f, "kind", proxy ? "proxy" : "direct");
	cJSON_AddStringToObject(f, "answer", rep->error_type ? rep->error_type : "response");
	cJSON_AddNumberToObject(f, "response_bytes", rep->body ? (double)strlen(rep->body) : 0);
	cJSON_AddNumberToObject(f, "runtime_api_status", (double)status);
	cJSON_AddNumberToObject(f, "duration_ms", (double)(now_ms() - t0));
	log_event(LOG_INFO, "invocation", f);
}

/*
 * The options Lambda imposes: the answer fits 6 MB, and the program ends in
 * time for runbox to answer.  Returns false (with @late filled) when the
 * deadline leaves no time at all.
 */
static bool lambda_opts(const struct invocation *inv, long long now, struct executor_opts *ret,
			struct rb_err *late)
{
	long long deadline = lambda_parse_deadline(inv->deadline);
	double cap = lambda_timeout_cap(deadline, now);

	ret->max_response_bytes = LAMBDA_MAX_RESPONSE_BYTES - LAMBDA_RESPONSE_MARGIN;
	ret->max_timeout_s = cap > 0 ? cap : 0;
	if (!deadline || cap > 0)
		return true;
	rb_fail(late, RB_FAULT_UNAVAILABLE, 0, "deadline_exceeded", NULL,
		"The invocation's deadline leaves no time to run the program (%lld ms left, "
		"%.1f s are kept for answering).",
		deadline - now, LAMBDA_DEADLINE_MARGIN_S);
	return false;
}

static void handle(struct executor *ex, struct client *c, const struct invocation *inv)
{
	struct executor_opts opts = {0};
	long long t0 = now_ms();
	struct rb_err late = {0}, bad = {0};
	struct reply rep = {0};
	struct lambda_http h = {0};
	bool in_time = lambda_opts(inv, t0, &opts, &late), proxy;
	long st = -1;
	int pr = 0;

	/* An event too large to read is refused as a direct one: its kind is unknown. */
	if (!inv->over && inv->body)
		pr = lambda_event_parse(inv->body, inv->len, ex->cfg.limits.max_body_bytes, &h,
					&bad);
	proxy = h.kind != LAMBDA_EVENT_DIRECT;
	/* For runbox's own log lines only: the program's environment is built from scratch. */
	if (inv->trace[0])
		setenv("_X_AMZN_TRACE_ID", inv->trace, 1);
	if (proxy)
		run_proxy(ex, &h, pr < 0 ? &bad : NULL, &opts, in_time ? NULL : &late, &rep);
	else
		run_direct(ex, inv, &opts, in_time ? NULL : &late, &rep);
	if (rep.body)
		st = send_reply(c, inv, &rep);
	log_invocation(inv, proxy, &rep, st, t0);
	unsetenv("_X_AMZN_TRACE_ID");
	lambda_http_free(&h);
	free(rep.body);
}

int lambda_main(struct executor *ex, const char *api)
{
	static struct warm warm;
	struct client c = {0};
	struct invocation inv = {0};
	struct rb_err err = {0};
	/* An event wraps the request: room for base64 and escaping around the cap. */
	size_t cap = ex->cfg.limits.max_body_bytes * 2 + ((size_t)1 << 20);

	if (client_init(&c, api, &err) < 0) {
		fprintf(stderr, "runbox: %s\n", err.msg);
		lambda_init_error(api, &err);
		return 1;
	}
	if (warm_init(&warm, &ex->cfg, true, executor_warm_why(ex), &err) < 0) {
		fprintf(stderr, "runbox: %s\n", err.msg);
		lambda_init_error(api, &err);
		return 1;
	}
	ex->warm = &warm;
	warm_tick(&warm); /* starts it: it imports while the first event is awaited */
	/* The template dies with runbox (PR_SET_PDEATHSIG): a signal may end it at once. */
	catch_stop_signals();
	log_msg(LOG_INFO, "lambda_ready", api);
	for (;;) {
		warm_tick(&warm);
		if (next_invocation(&c, &inv, cap, ex->cfg.lambda_backoff_ms) < 0)
			break;
		idle = 0;
		if (!lambda_request_id_ok(inv.id)) {
			log_msg(LOG_INFO, "lambda_bad_request_id",
				"an id that cannot go into a URL");
			continue;
		}
		handle(ex, &c, &inv);
	}
	if (stopping)
		log_msg(LOG_INFO, "lambda_stopped",
			"signal received: the invocation in hand was "
			"answered; exiting");
	else
		log_msg(LOG_INFO, "lambda_giving_up", "the Runtime API failed 10 times in a row");
	warm_stop(&warm);
	invocation_reset(&inv, 0);
	client_free(&c);
	return stopping ? 0 : 1;
}

int lambda_init_error(const char *api, const struct rb_err *err)
{
	struct client c = {0};
	struct rb_err e2 = {0};
	const char *type =
	    err->fault == RB_FAULT_UNAVAILABLE ? "Runtime.SandboxUnavailable" : "Runtime.InitError";
	char *body = lambda_error_body(type, err->msg);
	long st = -1;

	if (body && client_init(&c, api, &e2) >= 0) {
		st = post(&c, "/init/error", body, type);
		client_free(&c);
	}
	free(body);
	return st == 202 ? 0 : -EIO;
}
