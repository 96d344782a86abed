/*
 * pyimports: a small tokenizer over a Python source (see pyimports.h).
 *
 * It walks the text once, skipping comments and string literals (single,
 * triple-quoted, with prefixes), and looks at the words that begin a
 * logical statement: after a line start, a ';' or a ':' that opens a
 * one-line block.  Nothing is allocated.
 */
#include "run/pyimports.h"

#include <string.h>

struct scan {
	const char *p, *end;
	bool (*fn)(const char *, size_t, void *);
	void *ctx;
};

static bool is_ident(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

/* Skip blanks and backslash-newline continuations on the current statement. */
static void blanks(struct scan *s)
{
	while (s->p < s->end) {
		if (*s->p == ' ' || *s->p == '\t' || *s->p == '\f')
			s->p++;
		else if (*s->p == '\\' && s->p + 1 < s->end && s->p[1] == '\n')
			s->p += 2;
		else
			break;
	}
}

/* Whether the word at s->p is @w (then it is consumed). */
static bool word(struct scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0 ||
	    (s->p + n < s->end && is_ident(s->p[n])))
		return false;
	s->p += n;
	return true;
}

/* A dotted name at s->p: its first part's length (0 for none); the whole is consumed. */
static size_t dotted(struct scan *s, const char **ret_start)
{
	size_t first = 0;

	blanks(s);
	*ret_start = s->p;
	while (s->p < s->end && is_ident(*s->p))
		s->p++;
	first = (size_t)(s->p - *ret_start);
	while (first && s->p < s->end && *s->p == '.') {
		s->p++;
		while (s->p < s->end && is_ident(*s->p))
			s->p++;
	}
	return first;
}

/* `import a.b as c, d` after the word import; true when fn said stop. */
static bool import_list(struct scan *s)
{
	for (;;) {
		const char *name;
		size_t len = dotted(s, &name);

		if (!len)
			return false;
		if (s->fn(name, len, s->ctx))
			return true;
		blanks(s);
		if (word(s, "as")) {
			blanks(s);
			while (s->p < s->end && is_ident(*s->p))
				s->p++;
			blanks(s);
		}
		if (s->p >= s->end || *s->p != ',')
			return false;
		s->p++;
	}
}

/* `from a.b import ...`: the module is a's; a relative one (from .x) is the program's own. */
static bool from_import(struct scan *s)
{
	const char *name;
	size_t len;

	blanks(s);
	if (s->p < s->end && *s->p == '.')
		return false;
	len = dotted(s, &name);
	return len && s->fn(name, len, s->ctx);
}

/* At a statement's start: an import statement, and what it names. */
static bool statement(struct scan *s)
{
	blanks(s);
	if (word(s, "import"))
		return import_list(s);
	if (word(s, "from"))
		return from_import(s);
	return false;
}

/* The length of the string literal at s->p (its quote there), or 0 when it never ends. */
static size_t string_len(const struct scan *s)
{
	const char *p = s->p, q = *p;
	bool triple = s->end - p >= 3 && p[1] == q && p[2] == q;
	size_t open = triple ? 3 : 1;

	for (p += open; p < s->end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (!triple && *p == '\n')
			return (size_t)(p - s->p); /* an unterminated line: up to its end */
		if (*p == q && (!triple || (s->end - p >= 3 && p[1] == q && p[2] == q)))
			return (size_t)(p - s->p) + open;
	}
	return (size_t)(s->end - s->p);
}

/* __import__("x") and import_module("x"): a literal module name. */
static bool dynamic_import(struct scan *s)
{
	static const char *const calls[] = {"__import__", "import_module"};

	for (size_t i = 0; i < 2; i++) {
		const char *save = s->p, *name;
		size_t len;

		if (!word(s, calls[i]))
			continue;
		blanks(s);
		if (s->p >= s->end || *s->p != '(') {
			s->p = save + strlen(calls[i]);
			return false;
		}
		s->p++;
		blanks(s);
		if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
			return false;
		s->p++;
		len = dotted(s, &name);
		return len && s->fn(name, len, s->ctx);
	}
	return false;
}

/* Past a comment, to the newline that ends it. */
static void skip_comment(struct scan *s)
{
	while (s->p < s->end && *s->p != '\n')
		s->p++;
}

bool pyimports_each(const char *src, size_t n, bool (*fn)(const char *name, size_t len, void *ctx),
		    void *ctx)
{
	struct scan s = {src, src + n, fn, ctx};
	bool at_start = true;
	int depth = 0; /* brackets: a newline inside them does not end the statement */

	while (s.p < s.end) {
		char c;

		if (at_start && depth == 0 && statement(&s))
			return true;
		at_start = false;
		if (s.p >= s.end)
			break;
		c = *s.p;
		if (c == '#') {
			skip_comment(&s);
		} else if (c == '"' || c == '\'') {
			s.p += string_len(&s);
		} else if (c == '\n') {
			s.p++;
			at_start = depth == 0;
		} else if (c == ';' || (c == ':' && depth == 0)) {
			s.p++;
			at_start = true;
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
			s.p++;
		} else if (c == ')' || c == ']' || c == '}') {
			depth -= depth > 0;
			s.p++;
		} else if (is_ident(c)) {
			const char *w = s.p;

			if (dynamic_import(&s))
				return true;
			if (s.p == w)
				while (s.p < s.end && is_ident(*s.p))
					s.p++;
		} else {
			s.p++;
		}
	}
	return false;
}
