/*
 * jsonscan: a recursive-descent validator whose recursion is bounded by the
 * depth limit (see jsonscan.h).
 */
#define _GNU_SOURCE
#include "base/jsonscan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* Where the scan is, to name the field of a bad string: a key or an index per level. */
#define PATH_LEVELS 16

struct level {
	size_t key_at, key_len; /* the raw key's bytes (an object's member) */
	size_t index;		/* an array's element */
	bool object;
};

struct scan {
	const unsigned char *s;
	size_t n, i;
	unsigned depth;
	size_t values;
	const struct jsonscan_limits *lim;
	struct rb_err *err;
	struct level path[PATH_LEVELS];
};

static int value(struct scan *sc);

/*
 * The dotted path of the value being scanned ("env.A", "args[1]"), as the
 * contract names fields; keys as sent (escapes unexpanded).  Empty at the
 * top level.
 */
static const char *field_path(const struct scan *sc, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned d = 0; d < sc->depth && d < PATH_LEVELS && o < size; d++) {
		const struct level *l = &sc->path[d];
		int w = l->object ? snprintf(buf + o, size - o, "%s%.*s", o ? "." : "",
					     (int)(l->key_len > 200 ? 200 : l->key_len),
					     (const char *)sc->s + l->key_at)
				  : snprintf(buf + o, size - o, "[%zu]", l->index);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	return buf[0] ? buf : NULL;
}

static int fail(struct scan *sc, const char *code, const char *what)
{
	return rb_fail(sc->err, RB_FAULT_REQUEST, 0, code, NULL,
		       "Invalid JSON in request body. Found %s at byte %zu.", what, sc->i);
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]) && sc->s[sc->i])
		sc->i++;
}

static bool eat(struct scan *sc, char c)
{
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == (unsigned char)c) {
		sc->i++;
		return true;
	}
	return false;
}

static int hex4(struct scan *sc, unsigned *ret)
{
	unsigned v = 0;

	if (sc->n - sc->i < 4)
		return fail(sc, "invalid_json", "a truncated \\u escape");
	for (int k = 0; k < 4; k++) {
		unsigned char c = sc->s[sc->i++];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			return fail(sc, "invalid_json", "a bad \\u escape");
		v = v << 4 | (unsigned)d;
	}
	*ret = v;
	return 0;
}

/* A \u escape, with the surrogate-pair rule; sc->i is after the 'u'. */
static int unicode_escape(struct scan *sc)
{
	unsigned cp, lo;

	if (hex4(sc, &cp) < 0)
		return -1;
	if (cp == 0) {
		char field[256];

		return rb_fail(sc->err, RB_FAULT_REQUEST, 0, "nul_in_string",
			       field_path(sc, field, sizeof(field)),
			       "Strings may not contain NUL (\\u0000, at byte %zu); send "
			       "binary content as {\"content\": <base64>, \"encoding\": "
			       "\"base64\"}.",
			       sc->i);
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail(sc, "invalid_json", "an unpaired low surrogate escape");
	if (cp < 0xD800 || cp > 0xDBFF)
		return 0;
	if (sc->n - sc->i < 2 || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u')
		return fail(sc, "invalid_json", "an unpaired high surrogate escape");
	sc->i += 2;
	if (hex4(sc, &lo) < 0)
		return -1;
	if (lo < 0xDC00 || lo > 0xDFFF)
		return fail(sc, "invalid_json", "an unpaired high surrogate escape");
	return 0;
}

static int escape(struct scan *sc)
{
	unsigned char c;

	if (sc->i >= sc->n)
		return fail(sc, "invalid_json", "an unterminated string");
	c = sc->s[sc->i++];
	if (c == 'u')
		return unicode_escape(sc);
	if (!strchr("\"\\/bfnrt", c) || !c)
		return fail(sc, "invalid_json", "a bad escape");
	return 0;
}

static int string(struct scan *sc)
{
	sc->i++; /* the opening quote */
	while (sc->i < sc->n) {
		unsigned char c = sc->s[sc->i];
		size_t len;

		if (c == '"') {
			sc->i++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "invalid_json", "a raw control character in a string");
		if (c == '\\') {
			sc->i++;
			if (escape(sc) < 0)
				return -1;
			continue;
		}
		len = c < 0x80 ? 1 : utf8_seq_len(sc->s + sc->i, sc->n - sc->i);
		if (!len) {
			char field[256];

			return rb_fail(sc->err, RB_FAULT_REQUEST, 0, "invalid_utf8",
				       field_path(sc, field, sizeof(field)),
				       "Request body must be valid UTF-8 text. Byte %zu is not.",
				       sc->i);
		}
		sc->i += len;
	}
	return fail(sc, "invalid_json", "an unterminated string");
}

static size_t digits(struct scan *sc)
{
	size_t start = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i - start;
}

static int number(struct scan *sc)
{
	size_t start;

	if (sc->s[sc->i] == '-')
		sc->i++;
	start = sc->i;
	if (!digits(sc) || (sc->s[start] == '0' && sc->i - start > 1))
		return fail(sc, "invalid_json", "a malformed number");
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		if (!digits(sc))
			return fail(sc, "invalid_json", "a malformed number");
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		if (!digits(sc))
			return fail(sc, "invalid_json", "a malformed number");
	}
	return 0;
}

static int literal(struct scan *sc)
{
	static const char *const words[] = {"true", "false", "null"};

	for (int k = 0; k < 3; k++) {
		size_t len = strlen(words[k]);

		if (sc->n - sc->i >= len && memcmp(sc->s + sc->i, words[k], len) == 0) {
			sc->i += len;
			return 0;
		}
	}
	return fail(sc, "invalid_json", "an unexpected character");
}

/* Members of an object or elements of an array, after the opening bracket. */
static int members(struct scan *sc, bool object)
{
	char close = object ? '}' : ']';
	size_t index = 0;
	int r;

	if (++sc->depth > sc->lim->max_depth)
		return rb_fail(sc->err, RB_FAULT_REQUEST, 0, "nesting_too_deep", NULL,
			       "The request nests objects and arrays more than %u deep.",
			       sc->lim->max_depth);
	if (eat(sc, close))
		goto done;
	do {
		struct level *l = sc->depth <= PATH_LEVELS ? &sc->path[sc->depth - 1] : NULL;
		size_t key_at;

		skip_ws(sc);
		if (object) {
			if (sc->i >= sc->n || sc->s[sc->i] != '"')
				return fail(sc, "invalid_json",
					    "an object key that is not a string");
			key_at = sc->i + 1;
			/* A bad key is named by its object: this level is not set yet. */
			sc->depth--;
			r = string(sc);
			sc->depth++;
			if (r < 0)
				return -1;
			if (l)
				*l = (struct level){key_at, sc->i - 1 - key_at, 0, true};
			if (!eat(sc, ':'))
				return fail(sc, "invalid_json", "a missing ':'");
		} else if (l) {
			*l = (struct level){0, 0, index++, false};
		}
		if (value(sc) < 0)
			return -1;
	} while (eat(sc, ','));
	if (!eat(sc, close))
		return fail(sc, "invalid_json",
			    object ? "a missing ',' or '}'" : "a missing ',' or ']'");
done:
	sc->depth--;
	return 0;
}

static int value(struct scan *sc)
{
	unsigned char c;

	skip_ws(sc);
	if (sc->i >= sc->n)
		return fail(sc, "invalid_json", "an unexpected end");
	if (++sc->values > sc->lim->max_values)
		return rb_fail(sc->err, RB_FAULT_REQUEST, 0, "too_many_values", NULL,
			       "The request holds more than %zu JSON values.", sc->lim->max_values);
	c = sc->s[sc->i];
	if (c == '{' || c == '[') {
		sc->i++;
		return members(sc, c == '{');
	}
	if (c == '"')
		return string(sc);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(sc);
	return literal(sc);
}

int jsonscan_check(const char *s, size_t n, const struct jsonscan_limits *lim, struct rb_err *err)
{
	struct scan sc = {.s = (const unsigned char *)s, .n = n, .lim = lim, .err = err};
	size_t bad;

	if (!utf8_valid(s, n, &bad)) {
		/* Inside a string, the scan up to the byte names its field. */
		struct rb_err where = {0};
		struct scan probe = sc;

		probe.err = &where;
		skip_ws(&probe);
		if (value(&probe) >= 0 || strcmp(where.code, "invalid_utf8") != 0)
			where.field[0] = '\0';
		return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_utf8",
			       where.field[0] ? where.field : NULL,
			       "Request body must be valid UTF-8 text. Byte %zu is not.", bad);
	}
	skip_ws(&sc);
	if (sc.i < n && s[sc.i] != '{' && s[sc.i] != '[' && s[sc.i] != '"' && s[sc.i] != '-' &&
	    !(s[sc.i] >= '0' && s[sc.i] <= '9') && !strchr("tfn", s[sc.i]))
		return fail(&sc, "invalid_json", "an unexpected character");
	if (value(&sc) < 0)
		return -1;
	skip_ws(&sc);
	if (sc.i != n)
		return fail(&sc, "invalid_json", "trailing data after the top-level value");
	skip_ws(&sc);
	sc.i = 0;
	skip_ws(&sc);
	if (s[sc.i] != '{')
		return rb_fail(err, RB_FAULT_REQUEST, 0, "not_an_object", NULL,
			       "The request must be a JSON object such as "
			       "{\"script\": \"print(1)\"}.");
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Sort the keys of one object and look for neighbours that are equal. */
static const char *duplicate_in(const cJSON *obj)
{
	size_t n = 0, k = 0;
	const cJSON *c;
	const cJSON **keys;
	const char *dup = NULL;

	for (c = obj->child; c; c = c->next)
		n++;
	if (n < 2)
		return NULL;
	keys = malloc(n * sizeof(const cJSON *));
	if (!keys)
		return NULL;
	for (c = obj->child; c; c = c->next)
		keys[k++] = c;
	qsort(keys, n, sizeof(const cJSON *), cmp_keys);
	for (k = 1; k < n && !dup; k++)
		if (strcmp(keys[k - 1]->string, keys[k]->string) == 0)
			dup = keys[k]->string;
	free(keys);
	return dup;
}

static int find_dup(const cJSON *node, char *path, size_t size, size_t len)
{
	const char *dup;

	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return 0;
	if (cJSON_IsObject(node) && (dup = duplicate_in(node))) {
		snprintf(path + len, size - len, "%s%s", len ? "." : "", dup);
		return 1;
	}
	for (const cJSON *c = node->child; c; c = c->next) {
		size_t l = len;

		if (c->string)
			l += (size_t)snprintf(path + len, size - len, "%s%s", len ? "." : "",
					      c->string);
		if (l >= size)
			l = size - 1;
		if (find_dup(c, path, size, l))
			return 1;
		path[len] = '\0';
	}
	return 0;
}

int jsonscan_find_duplicate(const cJSON *root, char *ret_path, size_t size)
{
	ret_path[0] = '\0';
	return find_dup(root, ret_path, size, 0);
}
