/*
 * mcp_stdio: the stdio loop of `runbox mcp` (see mcp_stdio.h).
 */
#define _GNU_SOURCE
#include "frontdoor/mcp_stdio.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deps/deps.h"
#include "deps/npmdeps.h"
#include "base/clock.h"
#include "base/fdio.h"
#include "base/log.h"
#include "api/mcp.h"
#include "contract/response.h"
#include "run/supervise.h"
#include "run/warm.h"

/* A ping or a cancellation is a short line: longer ones are not parsed while a call runs. */
#define URGENT_MAX ((size_t)64 * 1024)

struct reader {
	char *buf;
	size_t len, cap;
	size_t kept; /* while a call runs: bytes of whole lines looked at and left for their turn */
	bool skipping; /* inside a line over the cap: dropped up to its newline */
	bool eof, failed;
};

struct stdio_loop {
	struct mcp_server s;
	struct executor *ex;
	struct reader rd;
	double t0; /* the server's start: progress values count seconds from it */
	/* While a call runs: its start, its program's figures so far, the next notification. */
	double call_t0, next_tick;
	struct run_progress last;
};

/* A reply that cannot be written (the client is gone) ends the server: see out_gone. */
static bool out_gone;

static void write_line(const char *s)
{
	if (fd_write_all(STDOUT_FILENO, s, strlen(s)) < 0 ||
	    fd_write_all(STDOUT_FILENO, "\n", 1) < 0)
		out_gone = true;
}

/* One read(2) of stdin into the free end of the buffer. */
static void fill(struct reader *rd)
{
	ssize_t r;

	do
		r = read(STDIN_FILENO, rd->buf + rd->len, rd->cap - rd->len);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		rd->len += (size_t)r;
	else
		rd->eof = true, rd->failed = r < 0;
}

/* Remove @n bytes at @at from the buffer. */
static void cut(struct reader *rd, size_t at, size_t n)
{
	memmove(rd->buf + at, rd->buf + at + n, rd->len - at - n);
	rd->len -= n;
}

/* ---- while a tool call runs ---- */

/*
 * The client cancelled @id: the running call (close its cancel pipe: its
 * supervisor stops the program), or a request still waiting in the buffer
 * (dropped).  An id that matches neither was answered already: ignored.
 */
static void cancel(struct stdio_loop *L, const cJSON *id, int *cancel_w)
{
	struct reader *rd = &L->rd;

	if (L->s.current_id && mcp_same_id(id, L->s.current_id)) {
		if (*cancel_w >= 0)
			close(*cancel_w);
		*cancel_w = -1;
		L->s.cancelled = true;
		log_msg(LOG_INFO, "cancelled", "the client cancelled the running tool call");
		return;
	}
	for (size_t at = 0; at < rd->kept;) {
		size_t n =
		    (size_t)((char *)memchr(rd->buf + at, '\n', rd->kept - at) - rd->buf) - at;

		if (mcp_is_request(rd->buf + at, n, id)) {
			cut(rd, at, n + 1);
			rd->kept -= n + 1;
			log_msg(LOG_INFO, "cancelled",
				"the client cancelled a request before its turn");
			return;
		}
		at += n + 1;
	}
}

/* Answer pings and act on cancellations among the lines not looked at yet. */
static void scan(struct stdio_loop *L, int *cancel_w)
{
	struct reader *rd = &L->rd;
	char *nl;

	while ((nl = memchr(rd->buf + rd->kept, '\n', rd->len - rd->kept))) {
		size_t at = rd->kept, n = (size_t)(nl - rd->buf) - at;
		enum mcp_urgency u = MCP_IN_TURN;
		char *reply = NULL;
		cJSON *id = NULL;

		if (n <= URGENT_MAX)
			u = mcp_urgency(rd->buf + at, n, &reply, &id);
		if (u == MCP_IN_TURN) {
			rd->kept = at + n + 1;
			continue;
		}
		cut(rd, at, n + 1);
		if (u == MCP_PING)
			write_line(reply);
		else
			cancel(L, id, cancel_w);
		free(reply);
		cJSON_Delete(id);
	}
	/* At EOF a last line needs no newline (as in turn): a cancellation there counts too. */
	if (rd->eof && rd->len > rd->kept && rd->len - rd->kept <= URGENT_MAX) {
		char *reply = NULL;
		cJSON *id = NULL;
		enum mcp_urgency u =
		    mcp_urgency(rd->buf + rd->kept, rd->len - rd->kept, &reply, &id);

		if (u != MCP_IN_TURN)
			rd->len = rd->kept;
		if (u == MCP_PING)
			write_line(reply);
		else if (u == MCP_CANCEL)
			cancel(L, id, cancel_w);
		free(reply);
		cJSON_Delete(id);
	}
}

/* ---- progress ---- */

/* executor_opts.progress in the run's child: a record on the progress pipe, if it has room. */
static void child_progress(const struct run_progress *p, void *ctx)
{
	ssize_t w;

	do
		w = write(*(const int *)ctx, p, sizeof(*p));
	while (w < 0 && errno == EINTR);
}

static void send_progress(struct stdio_loop *L, const cJSON *token, bool queued)
{
	double now = clock_now();
	struct mcp_progress p = {
	    .progress = now - L->t0,
	    .elapsed_s = now - L->call_t0,
	    .queued = queued,
	    .stdout_bytes = queued ? 0 : L->last.stdout_bytes,
	    .stderr_bytes = queued ? 0 : L->last.stderr_bytes,
	};
	char *line;

	/* A call waiting behind this one: its wait so far is this call's time. */
	if (queued)
		p.queued_s = p.elapsed_s;
	line = mcp_progress_line(token, &p);
	if (line)
		write_line(line);
	free(line);
}

/*
 * Every MCP_PROGRESS_PERIOD_S: the running call's progress, when it asked for
 * it, and that of each call waiting in the buffer behind it that asked.
 */
static void tick(struct stdio_loop *L)
{
	struct reader *rd = &L->rd;

	if (clock_now() < L->next_tick)
		return;
	L->next_tick = clock_now() + MCP_PROGRESS_PERIOD_S;
	if (L->s.progress_token)
		send_progress(L, L->s.progress_token, false);
	for (size_t at = 0; at < rd->kept;) {
		size_t n =
		    (size_t)((char *)memchr(rd->buf + at, '\n', rd->kept - at) - rd->buf) - at;
		cJSON *token = n <= URGENT_MAX ? mcp_progress_token_of(rd->buf + at, n) : NULL;

		if (token)
			send_progress(L, token, true);
		cJSON_Delete(token);
		at += n + 1;
	}
}

/* Take the child's progress records: the newest counts. */
static void take_progress(struct stdio_loop *L, int fd)
{
	struct run_progress p;

	while (read(fd, &p, sizeof(p)) == (ssize_t)sizeof(p))
		L->last = p;
}

/* The run's child: one executor_run, its answer on @out.  Never returns. */
static __attribute__((noreturn)) void run_child(struct executor *ex, const char *body, size_t n,
						const int fds[3], pid_t server)
{
	struct rb_err err = {0};
	struct executor_opts opts = {.progress = child_progress,
				     .progress_ctx = (void *)&fds[2],
				     .progress_period_s = MCP_PROGRESS_PERIOD_S / 2};
	char *json = NULL;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), out = fds[0], cancel_r = fds[1];

	/* With the server gone nobody waits for the run: it dies, and through launch's
	 * lifeline its program's tree. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != server)
		_exit(1);
	/* stdin and stdout are the client's, read and written by the server alone. */
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		_exit(1);
	ex->cancel_fd = cancel_r;
	ex->protect[0] = server; /* the program must not be able to end the server */
	/* Not inherited across fork: the executor's orphan sweep needs it here. */
	ex->subreaper = supervise_become_subreaper() == 0;
	executor_run(ex, body, n, &opts, &json, &err);
	_exit(json && fd_write_all(out, json, strlen(json)) == 0 ? 0 : 1);
}

static int tick_ms(const struct stdio_loop *L)
{
	double ms = (L->next_tick - clock_now()) * 1000.0;

	return ms < 0 ? 0 : (int)ms + 1;
}

/*
 * Read the child's answer while answering pings, taking cancellations and
 * sending progress.
 */
static char *wait_for_answer(struct stdio_loop *L, int fd, int prog, int *cancel_w)
{
	size_t len = 0, cap = 65536;
	char *json = malloc(cap + 1);

	L->rd.kept = 0;
	L->call_t0 = clock_now();
	L->next_tick = L->call_t0 + MCP_PROGRESS_PERIOD_S;
	L->last = (struct run_progress){0};
	scan(L, cancel_w); /* lines that came with the call */
	while (json) {
		struct pollfd p[3] = {
		    {.fd = fd, .events = POLLIN},
		    {.fd = L->rd.eof || L->rd.len == L->rd.cap ? -1 : STDIN_FILENO,
		     .events = POLLIN},
		    {.fd = prog, .events = POLLIN},
		};
		ssize_t r;

		if (poll(p, 3, tick_ms(L)) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN)
			take_progress(L, prog);
		if (p[2].revents & POLLHUP)
			prog = -1;
		if (p[1].revents) {
			fill(&L->rd);
			scan(L, cancel_w);
		}
		tick(L);
		if (!p[0].revents)
			continue;
		if (len == cap) {
			char *bigger = realloc(json, cap * 2 + 1);

			if (!bigger)
				break;
			json = bigger;
			cap *= 2;
		}
		r = read(fd, json + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			json[len] = '\0';
			return json;
		}
		len += (size_t)r;
	}
	free(json);
	return NULL;
}

static char *died(int status)
{
	struct rb_err err = {0};
	char *json;

	if (WIFSIGNALED(status))
		rb_fail(&err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
			"The process running this call was killed by signal %d before it answered.",
			WTERMSIG(status));
	else
		rb_fail(&err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
			"The process running this call ended with status %d before it answered.",
			WEXITSTATUS(status));
	json = response_error(&err);
	return json;
}

/* Reap what is ours to reap; the warm template, when it ended, is its manager's to replace. */
static void reap_orphans(struct executor *ex)
{
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (ex->warm)
			warm_reaped(ex->warm, p, st);
}

/*
 * mcp_server's run callback: the executor runs in a child, so that this
 * process keeps reading stdin (see mcp_stdio.h).  A cancelled call's answer
 * is dropped (mcp_server.cancelled); the protocol half then sends none.
 */
static int run_cb(void *ctx, const char *body, size_t n, char **ret_json, struct rb_err *err)
{
	struct stdio_loop *L = ctx;
	int res[2] = {-1, -1}, cancel_p[2] = {-1, -1}, prog[2] = {-1, -1}, st = 0, r = 0;
	pid_t self = getpid(), pid = -1;
	char *json = NULL;

	if (L->ex->warm)
		warm_tick(L->ex->warm);
	if (pipe2(res, O_CLOEXEC) < 0 || pipe2(cancel_p, O_CLOEXEC) < 0 ||
	    pipe2(prog, O_CLOEXEC | O_NONBLOCK) < 0 || (pid = fork()) < 0)
		r = rb_fail_fork(err, errno, "start the process for a tool call");
	if (pid == 0) {
		close(res[0]);
		close(cancel_p[1]);
		close(prog[0]);
		run_child(L->ex, body, n, (const int[3]){res[1], cancel_p[0], prog[1]}, self);
	}
	for (int i = 0; i < 2; i++) {
		int *w = i ? &prog[1] : &res[1];

		if (*w >= 0)
			close(*w);
		*w = -1;
	}
	if (cancel_p[0] >= 0)
		close(cancel_p[0]);
	if (pid > 0) {
		json = wait_for_answer(L, res[0], prog[0], &cancel_p[1]);
		/* Its answer could not be read (out of memory): it must not wait on a full pipe. */
		if (!json)
			kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		/* A child that died mid-run left its orphans to us (a subreaper). */
		reap_orphans(L->ex);
	}
	if (res[0] >= 0)
		close(res[0]);
	if (prog[0] >= 0)
		close(prog[0]);
	if (cancel_p[1] >= 0)
		close(cancel_p[1]);
	if (pid > 0 && (!json || !json[0] || st != 0)) {
		free(json);
		json = died(st);
	}
	*ret_json = r < 0 ? response_error(err) : json;
	return r;
}

static int installed_cb(void *ctx, const cJSON **ret_packages, const char **ret_version,
			struct rb_err *err)
{
	const struct stdio_loop *L = ctx;

	return deps_installed(L->ex->cfg.python, ret_packages, ret_version, err);
}

static int cache_cb(void *ctx, cJSON **ret, struct rb_err *err)
{
	const struct stdio_loop *L = ctx;

	*ret = NULL;
	return L->ex->cfg.cache_dir[0] ? deps_cache_list(L->ex->cfg.cache_dir, ret, err) : 0;
}

static int npm_cb(void *ctx, cJSON **ret, struct rb_err *err)
{
	const struct stdio_loop *L = ctx;

	*ret = NULL;
	return L->ex->cfg.cache_dir[0] ? npmdeps_list(L->ex->cfg.cache_dir, ret, err) : 0;
}

/* ---- in turn ---- */

static void on_line(struct stdio_loop *L, char *line, size_t n)
{
	char *reply;

	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (L->rd.skipping) {
		L->rd.skipping = false;
		reply = mcp_over_cap_reply(L->rd.cap);
	} else {
		reply = n ? mcp_handle(&L->s, line, n) : NULL;
	}
	if (reply)
		write_line(reply);
	free(reply);
}

/*
 * The first @n bytes of the buffer, taken out of it: a tool call reads more
 * of stdin into the buffer while its line is handled.  The buffer itself
 * becomes the line, and the rest moves to a fresh one, so a line of
 * megabytes is not copied; NULL when out of memory.
 */
static char *take_line(struct reader *rd, size_t n)
{
	size_t rest = rd->len - n - 1;
	char *fresh = malloc(rd->cap), *line = rd->buf;

	if (!fresh) {
		line = malloc(n + 1);
		if (line)
			memcpy(line, rd->buf, n);
		cut(rd, 0, n + 1);
		return line;
	}
	memcpy(fresh, rd->buf + n + 1, rest);
	rd->buf = fresh;
	rd->len = rest;
	return line;
}

/* Hand every complete line in the buffer to on_line, in order; keep the rest. */
static void drain(struct stdio_loop *L)
{
	struct reader *rd = &L->rd;
	char *nl;

	while (!out_gone && (nl = memchr(rd->buf, '\n', rd->len))) {
		size_t n = (size_t)(nl - rd->buf);
		char *line = take_line(rd, n);

		if (line)
			on_line(L, line, n);
		else
			log_msg(LOG_INFO, "mcp_dropped", "out of memory: a message was dropped");
		free(line);
	}
	if (rd->len == rd->cap) { /* a line over the cap: drop what is there */
		rd->skipping = true;
		rd->len = 0;
	}
}

int mcp_main(struct executor *ex)
{
	static struct warm warm;
	struct rb_err err = {0};
	struct stdio_loop L = {
	    .s = {.run = run_cb, .installed = installed_cb, .cache = cache_cb, .npm = npm_cb},
	    .ex = ex,
	    .rd = {.cap = ex->cfg.limits.max_body_bytes * 2 + ((size_t)1 << 20)},
	};

	if (warm_init(&warm, &ex->cfg, true, executor_warm_why(ex), &err) < 0) {
		fprintf(stderr, "runbox mcp: %s\n", err.msg);
		return 1;
	}
	ex->warm = &warm;
	warm_tick(&warm); /* starts it: it imports while the client says hello */
	L.t0 = clock_now();
	/* This MCP session's files, kept across its tool calls (RUNBOX_SESSIONS_MAX=0: none). */
	if (ex->cfg.sessions_max && session_store_open(&ex->sessions, &ex->cfg, &err) < 0)
		log_msg(LOG_INFO, "degraded", err.msg); /* the tools say calls start from scratch */
	L.s.sessions = ex->sessions.dir[0] != '\0';
	L.s.session_ttl_s = ex->cfg.session_ttl_s;
	L.s.ctx = &L;
	L.s.default_timeout_s = ex->cfg.limits.default_timeout_s;
	L.s.max_timeout_s = ex->cfg.limits.max_timeout_s;
	L.rd.buf = malloc(L.rd.cap);
	if (!L.rd.buf)
		return 1;
	while (!L.rd.eof && !out_gone) {
		fill(&L.rd);
		drain(&L);
	}
	if (L.rd.len && !out_gone) /* a last line without its newline */
		on_line(&L, L.rd.buf, L.rd.len);
	free(L.rd.buf);
	warm_stop(&warm);
	session_store_close(&ex->sessions);
	if (out_gone)
		log_msg(LOG_INFO, "mcp_stopped",
			"a reply could not be written: the client is gone");
	return L.rd.failed || out_gone ? 1 : 0;
}
