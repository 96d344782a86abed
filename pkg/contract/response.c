/*
 * response: cJSON gives the structure; strings that may hold NUL bytes or
 * invalid UTF-8 (the program's output) are encoded here and inserted raw,
 * because cJSON strings stop at the first NUL.
 */
#define _GNU_SOURCE
#include "contract/response.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/b64.h"
#include "base/prefault.h"
#include "base/utf8.h"

static bool has(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(s + i, needle, m) == 0)
			return true;
	return false;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static const char *signal_status(int sig)
{
	switch (sig) {
	case SIGXCPU:
		return "cpu_limit";
	case SIGXFSZ:
		return "file_size_limit";
	case SIGSYS:
		return "blocked_syscall";
	default:
		return "killed";
	}
}

/*
 * Node.js's words for memory it could not get: V8's fatal heap exhaustion
 * (then SIGABRT or SIGTRAP), and the RangeErrors of an ArrayBuffer, a
 * Buffer or a WebAssembly memory that could not be allocated or grown.
 */
/* clang-format off */
static const char *const node_memory_words[] = {
	"JavaScript heap out of memory", "Fatal process out of memory",
	"Fatal process OOM", "RangeError: Array buffer allocation failed",
	"RangeError: WebAssembly.Memory(): could not allocate memory",
	"RangeError: WebAssembly.Memory.grow(): Unable to grow instance memory",
};
/* clang-format on */

static bool node_memory(const char *tail, size_t n)
{
	for (size_t i = 0; i < sizeof(node_memory_words) / sizeof(node_memory_words[0]); i++)
		if (has(tail, n, node_memory_words[i]))
			return true;
	return false;
}

/* The tail's last line: skips trailing blanks, then back to the line start. */
static size_t last_line(const char **tail, size_t n)
{
	size_t start;

	while (n && ((*tail)[n - 1] == '\n' || (*tail)[n - 1] == '\r' || (*tail)[n - 1] == ' '))
		n--;
	for (start = n; start && (*tail)[start - 1] != '\n'; start--)
		;
	*tail += start;
	return n - start;
}

/*
 * Node.js ends an uncaught error with its error line, a stack, a blank
 * line and "Node.js vX.Y.Z": the whole tail (not only the last line) is
 * searched for its memory words then.
 */
static bool node_epilogue(const char *tail, size_t n)
{
	const char *line = tail;
	size_t len = last_line(&line, n);

	return len > 9 && memcmp(line, "Node.js v", 9) == 0;
}

/*
 * A failed exit whose last line of stderr says which limit was hit: an
 * exception named ...MemoryError (Python, numpy), ENOMEM or ENOSPC-like
 * words of the C world, a line ending in EFBIG's message; Node.js's
 * allocation failures above its epilogue.  Only the last line otherwise,
 * so a program that merely mentioned the words earlier is an error.
 */
static const char *exit_status(const char *tail, size_t n)
{
	size_t name;

	if (node_epilogue(tail, n) && node_memory(tail, n))
		return "memory_limit";
	n = last_line(&tail, n);
	for (name = 0; name < n && tail[name] != ':'; name++)
		;
	if (ends_with(tail, name, "MemoryError") || has(tail, n, "Cannot allocate memory") ||
	    has(tail, n, "std::bad_alloc") || has(tail, n, "xmalloc: cannot allocate"))
		return "memory_limit";
	if (ends_with(tail, n, "File too large") || has(tail, n, "[Errno 27]"))
		return "file_size_limit";
	return "error";
}

/*
 * A signal: V8 aborts (SIGABRT, or SIGTRAP for a fatal process OOM) after
 * saying it ran out of memory.
 */
static const char *signal_status_of(int sig, const char *tail, size_t n)
{
	if ((sig == SIGABRT || sig == SIGTRAP) && node_memory(tail, n))
		return "memory_limit";
	return signal_status(sig);
}

void response_classify(int wait_status, bool timed_out, const char *err_tail, size_t err_len,
		       int *ret_exit_code, const char **ret_status)
{
	/* V8's native stack trace follows its out-of-memory line: a longer tail. */
	size_t keep = err_len < 4096 ? err_len : 4096;
	const char *tail = err_tail + err_len - keep;

	if (timed_out) {
		*ret_exit_code = 124;
		*ret_status = "timeout";
	} else if (WIFSIGNALED(wait_status)) {
		*ret_exit_code = 128 + WTERMSIG(wait_status);
		*ret_status = signal_status_of(WTERMSIG(wait_status), tail, keep);
	} else {
		*ret_exit_code = WEXITSTATUS(wait_status);
		*ret_status = *ret_exit_code == 0 ? "ok" : exit_status(tail, keep);
	}
}

/* Bytes the JSON escape of @c takes (1, 2 or 6). */
static size_t escaped_len(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
		return 2;
	return c < 0x20 || c == 0x7f ? 6 : 1;
}

static size_t escape_one(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *simple = NULL;

	switch (c) {
	case '"':
		simple = "\\\"";
		break;
	case '\\':
		simple = "\\\\";
		break;
	case '\n':
		simple = "\\n";
		break;
	case '\r':
		simple = "\\r";
		break;
	case '\t':
		simple = "\\t";
		break;
	case '\b':
		simple = "\\b";
		break;
	case '\f':
		simple = "\\f";
		break;
	default:
		break;
	}
	if (simple) {
		memcpy(out, simple, 2);
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(out, "\\u00", 4); /* NOLINT(bugprone-not-null-terminated-result): bytes */
		out[4] = hex[c >> 4];
		out[5] = hex[c & 15];
		return 6;
	}
	out[0] = (char)c;
	return 1;
}

/*
 * The literal of @n bytes of valid UTF-8, sized exactly first: artifacts
 * run to megabytes, and on these VMs every fresh page costs a fault.
 */
static char *literal_of_valid(const char *s, size_t n)
{
	size_t len = 2, o = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += escaped_len((unsigned char)s[i]);
	out = prefault_alloc(len + 1);
	if (!out)
		return NULL;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++)
		o += escape_one((unsigned char)s[i], out + o);
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

char *response_json_string(const char *s, size_t n)
{
	char *clean, *out;
	size_t len;

	if (utf8_valid(s, n, NULL))
		return literal_of_valid(s, n);
	clean = malloc(utf8_sanitized_max(n) + 1);
	if (!clean)
		return NULL;
	len = utf8_sanitize(s, n, clean);
	out = literal_of_valid(clean, len);
	free(clean);
	return out;
}

/* A raw JSON item that takes @lit over instead of copying it. */
static cJSON *raw_taking(char *lit)
{
	cJSON *raw = lit ? cJSON_CreateRaw("") : NULL;

	if (!raw) {
		free(lit);
		return NULL;
	}
	free(raw->valuestring);
	raw->valuestring = lit;
	return raw;
}

static bool add_raw_string(cJSON *obj, const char *key, const char *s, size_t n)
{
	cJSON *raw = raw_taking(response_json_string(s, n));

	return raw && cJSON_AddItemToObject(obj, key, raw);
}

/* "<base64>" with its quotes, encoded straight into its final buffer. */
static char *base64_literal(const unsigned char *data, size_t n)
{
	size_t len = b64_encoded_len(n);
	char *lit = prefault_alloc(len + 3);

	if (!lit)
		return NULL;
	lit[0] = '"';
	b64_encode(data, n, lit + 1);
	lit[len + 1] = '"';
	lit[len + 2] = '\0';
	return lit;
}

static cJSON *artifact_value(const struct artifact *a)
{
	const char *s = (const char *)a->data;
	cJSON *o, *content;

	if (!memchr(s, '\0', a->size) && utf8_valid(s, a->size, NULL))
		return raw_taking(literal_of_valid(s, a->size));
	o = cJSON_CreateObject();
	content = o ? raw_taking(base64_literal(a->data, a->size)) : NULL;
	if (!content || !cJSON_AddItemToObject(o, "content", content) ||
	    !cJSON_AddStringToObject(o, "encoding", "base64")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* An upper bound of the printed size: the raw literals plus generous room for the rest. */
static size_t print_bound(const cJSON *item)
{
	size_t n = 64;

	for (const cJSON *c = item; c; c = c->next) {
		n += (c->string ? strlen(c->string) * 6 + 8 : 0) + 32;
		if (cJSON_IsRaw(c) || cJSON_IsString(c))
			n += strlen(c->valuestring) * (cJSON_IsString(c) ? 6 : 1) + 8;
		if (c->child)
			n += print_bound(c->child);
	}
	return n;
}

/* Print into one buffer of the right size: no reallocation of megabytes. */
static char *print_once(const cJSON *root)
{
	size_t size = print_bound(root);
	char *buf = prefault_alloc(size);

	if (buf && !cJSON_PrintPreallocated((cJSON *)root, buf, (int)size, false)) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/*
 * What response_stream() leaves in place of the artifacts object: a byte no
 * printed item can hold (every string escapes the control characters).
 */
#define ARTIFACTS_MARK "\x01"

/* The "artifacts" object, or with @mark only its place (see response_stream). */
static bool add_artifacts(cJSON *root, const struct artifact_list *l, bool mark)
{
	cJSON *arts = mark ? cJSON_CreateRaw(ARTIFACTS_MARK) : cJSON_CreateObject(),
	      *omitted = NULL;

	if (!arts || !cJSON_AddItemToObject(root, "artifacts", arts)) {
		cJSON_Delete(arts);
		return false;
	}
	for (size_t i = 0; l && i < l->n; i++) {
		const struct artifact *a = &l->items[i];
		cJSON *v, *o;

		if (!a->omitted && mark)
			continue;
		if (!a->omitted) {
			v = artifact_value(a);
			if (!v || !cJSON_AddItemToObject(arts, a->path, v))
				return false;
			continue;
		}
		if (!omitted && !(omitted = cJSON_CreateArray()))
			return false;
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(omitted, o))
			return false;
		cJSON_AddStringToObject(o, "path", a->path);
		cJSON_AddNumberToObject(o, "size", (double)a->size);
		cJSON_AddStringToObject(o, "reason", a->omitted);
	}
	return omitted ? cJSON_AddItemToObject(root, "omitted_artifacts", omitted) : true;
}

/* Seconds as a client reads them: to the millisecond, no binary fraction digits. */
static double timeout_value(double s)
{
	return (double)(long long)(s * 1000 + 0.5) / 1000;
}

static bool fill(cJSON *root, const struct run_outcome *o, bool mark)
{
	cJSON *trunc;

	if (!cJSON_AddNumberToObject(root, "exit_code", o->exit_code) ||
	    !add_raw_string(root, "stdout", o->out,
			    o->out_truncated ? utf8_trim_cut(o->out, o->out_len) : o->out_len) ||
	    !add_raw_string(root, "stderr", o->err,
			    o->err_truncated ? utf8_trim_cut(o->err, o->err_len) : o->err_len) ||
	    !add_artifacts(root, o->artifacts, mark) ||
	    !cJSON_AddStringToObject(root, "status", o->status) ||
	    !cJSON_AddNumberToObject(root, "duration_ms",
				     (double)(long long)(o->duration_ms + 0.5)) ||
	    !cJSON_AddNumberToObject(root, "timeout_s", timeout_value(o->timeout_s)) ||
	    !cJSON_AddBoolToObject(root, "timeout_clamped", o->timeout_clamped) ||
	    (o->start && !cJSON_AddStringToObject(root, "start", o->start)))
		return false;
	trunc = cJSON_AddObjectToObject(root, "truncated");
	if (!trunc || !cJSON_AddBoolToObject(trunc, "stdout", o->out_truncated) ||
	    !cJSON_AddBoolToObject(trunc, "stderr", o->err_truncated))
		return false;
	return true;
}

static char *build(const struct run_outcome *o, bool mark)
{
	cJSON *root = cJSON_CreateObject(), *sb = o->sandbox, *deps = o->dependencies,
	      *extra = o->extra;
	char *out = NULL;

	if (!sb)
		sb = cJSON_CreateObject();
	if (!deps)
		deps = cJSON_CreateArray();
	if (root && fill(root, o, mark) && sb && deps) {
		cJSON_AddItemToObject(root, "sandbox", sb);
		cJSON_AddItemToObject(root, "dependencies", deps);
		while (extra && extra->child) {
			cJSON *m = cJSON_DetachItemViaPointer(extra, extra->child);

			cJSON_AddItemToObject(root, m->string, m);
		}
		sb = deps = NULL;
		out = print_once(root);
	}
	cJSON_Delete(sb);
	cJSON_Delete(deps);
	cJSON_Delete(extra);
	cJSON_Delete(root);
	return out;
}

char *response_build(const struct run_outcome *o)
{
	return build(o, false);
}

/* Pieces for response_stream's sink, gathered into one buffer. */
struct chunker {
	response_put_fn put;
	void *ctx;
	int r; /* the first failure of put */
	size_t len;
	char buf[65536];
};

static void flush(struct chunker *c)
{
	if (c->len && c->r >= 0)
		c->r = c->put(c->ctx, c->buf, c->len);
	c->len = 0;
}

static void emit(struct chunker *c, const char *p, size_t n)
{
	while (n && c->r >= 0) {
		size_t take = sizeof(c->buf) - c->len < n ? sizeof(c->buf) - c->len : n;

		memcpy(c->buf + c->len, p, take);
		c->len += take;
		p += take;
		n -= take;
		if (c->len == sizeof(c->buf))
			flush(c);
	}
}

/*
 * @n bytes of valid UTF-8 as a JSON literal.  @key: as cJSON prints keys
 * (DEL as it is), so a streamed answer is byte for byte a built one.
 */
static void emit_literal(struct chunker *c, const unsigned char *s, size_t n, bool key)
{
	emit(c, "\"", 1);
	for (size_t i = 0; i < n && c->r >= 0; i++) {
		if (sizeof(c->buf) - c->len < 6)
			flush(c);
		if (key && s[i] == 0x7f)
			c->buf[c->len++] = (char)s[i];
		else
			c->len += escape_one(s[i], c->buf + c->len);
	}
	emit(c, "\"", 1);
}

/* Base64 straight into the buffer (b64_encode also writes a NUL: the - 1). */
static void emit_base64(struct chunker *c, const unsigned char *s, size_t n)
{
	emit(c, "{\"content\":\"", 12);
	while (n && c->r >= 0) {
		/* Whole groups of three (room is a multiple): '=' only at the very end. */
		size_t room = (sizeof(c->buf) - c->len - 1) / 4 * 3, take = n < room ? n : room;

		if (!take) {
			flush(c);
			continue;
		}
		b64_encode(s, take, c->buf + c->len);
		c->len += b64_encoded_len(take);
		s += take;
		n -= take;
	}
	emit(c, "\",\"encoding\":\"base64\"}", 22);
}

static void emit_artifacts(struct chunker *c, const struct artifact_list *l)
{
	bool first = true;

	emit(c, "{", 1);
	for (size_t i = 0; l && i < l->n; i++) {
		const struct artifact *a = &l->items[i];
		const char *s = (const char *)a->data;

		if (a->omitted)
			continue;
		if (!first)
			emit(c, ",", 1);
		first = false;
		emit_literal(c, (const unsigned char *)a->path, strlen(a->path), true);
		emit(c, ":", 1);
		if (!memchr(s, '\0', a->size) && utf8_valid(s, a->size, NULL))
			emit_literal(c, a->data, a->size, false);
		else
			emit_base64(c, a->data, a->size);
	}
	emit(c, "}", 1);
}

int response_stream(const struct run_outcome *o, response_put_fn put, void *ctx)
{
	char *frame = build(o, true), *mark = frame ? strchr(frame, ARTIFACTS_MARK[0]) : NULL;
	struct chunker *c = mark ? malloc(sizeof(*c)) : NULL;
	int r;

	if (!c) {
		free(frame);
		return -ENOMEM;
	}
	c->put = put;
	c->ctx = ctx;
	c->r = 0;
	c->len = 0;
	emit(c, frame, (size_t)(mark - frame));
	emit_artifacts(c, o->artifacts);
	emit(c, mark + 1, strlen(mark + 1));
	flush(c);
	r = c->r;
	free(c);
	free(frame);
	return r;
}

char *response_error(const struct rb_err *err)
{
	cJSON *root = cJSON_CreateObject();
	char *out = NULL;

	/* A message cut to fit its buffer may end inside a UTF-8 sequence. */
	if (root && add_raw_string(root, "error", err->msg, strlen(err->msg)) &&
	    cJSON_AddStringToObject(root, "code", err->code[0] ? err->code : "internal_error") &&
	    (!err->field[0] || add_raw_string(root, "field", err->field, strlen(err->field))))
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}
