/*
 * semver: versions and ranges (see semver.h).  A range is read into
 * comparator sets one `||` alternative at a time, each partial version
 * expanded as node-semver expands it, and tested at once: nothing is kept.
 */
#define _GNU_SOURCE
#include "deps/semver.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGE 1024

/* A comparator: an operator and a version. */
enum op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct comparator {
	enum op op;
	struct semver v;
};

/* A partial version: "1", "1.2", "1.x", "*"; -1 for a missing or wild part. */
struct partial {
	long long major, minor, patch;
	char pre[SEMVER_PRE_MAX];
};

static bool ident_ok(const char *s, size_t n, bool numeric_no_zero)
{
	bool digits = true;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		digits = digits && isdigit((unsigned char)s[i]);
	}
	return !(numeric_no_zero && digits && n > 1 && s[0] == '0');
}

/* Dot-separated identifiers; prerelease numbers without leading zeros. */
static bool idents_ok(const char *s, size_t n, bool pre)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++)
		if (i == n || s[i] == '.') {
			if (!ident_ok(s + start, i - start, pre))
				return false;
			start = i + 1;
		}
	return true;
}

/* A number part: digits without a leading zero, or (@wild) x, X or *. -2 on error. */
static long long number(const char **p, bool wild)
{
	const char *s = *p;
	long long n = 0;

	if (wild && (*s == 'x' || *s == 'X' || *s == '*')) {
		*p = s + 1;
		return -1;
	}
	if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
		return -2;
	while (isdigit((unsigned char)*s)) {
		if (n > 100000000000LL)
			return -2;
		n = n * 10 + (*s++ - '0');
	}
	*p = s;
	return n;
}

/* "-pre" and "+build" after the numbers, up to @end. */
static int tail(const char *p, const char *end, char *pre)
{
	const char *plus = memchr(p, '+', (size_t)(end - p));
	const char *pend = plus ? plus : end;

	pre[0] = '\0';
	if (plus && !idents_ok(plus + 1, (size_t)(end - plus - 1), false))
		return -EINVAL;
	if (p == pend)
		return 0;
	if (*p != '-' || (size_t)(pend - p - 1) >= SEMVER_PRE_MAX ||
	    !idents_ok(p + 1, (size_t)(pend - p - 1), true))
		return -EINVAL;
	memcpy(pre, p + 1, (size_t)(pend - p - 1));
	pre[pend - p - 1] = '\0';
	return 0;
}

/* A partial version in [s, end): "1", "1.2", "v1.2.x", "1.2.3-rc.1". */
static int parse_partial(const char *s, const char *end, struct partial *ret)
{
	long long *parts[3] = {&ret->major, &ret->minor, &ret->patch};
	const char *p = s;
	int i = 0;

	ret->major = ret->minor = ret->patch = -1;
	ret->pre[0] = '\0';
	if (p < end && (*p == 'v' || *p == '='))
		p++;
	for (; i < 3 && p < end; i++) {
		*parts[i] = number(&p, true);
		if (*parts[i] < -1)
			return -EINVAL;
		if (p < end && *p == '.' && i < 2)
			p++;
		else
			break;
	}
	/* A prerelease only after three numbers. */
	if (p < end && (ret->patch < 0 || *p != '-') && *p != '+')
		return -EINVAL;
	return tail(p, end, ret->pre);
}

int semver_parse(const char *s, struct semver *ret)
{
	struct partial pv;

	if (parse_partial(s, s + strlen(s), &pv) < 0 || pv.major < 0 || pv.minor < 0 ||
	    pv.patch < 0)
		return -EINVAL;
	*ret = (struct semver){(unsigned long long)pv.major, (unsigned long long)pv.minor,
			       (unsigned long long)pv.patch, ""};
	memcpy(ret->pre, pv.pre, sizeof(ret->pre));
	return 0;
}

static int cmp_num(unsigned long long a, unsigned long long b)
{
	return a < b ? -1 : a > b;
}

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

/*
 * One prerelease identifier, @a of length @la against @b of length @lb:
 * numbers by value (no leading zeros: the longer is the larger) and below
 * words, words in ASCII order, a prefix below the longer word.
 */
static int cmp_ident(const char *a, size_t la, const char *b, size_t lb)
{
	bool na = strspn(a, "0123456789") >= la, nb = strspn(b, "0123456789") >= lb;
	int c;

	if (na && nb)
		return la != lb ? (la < lb ? -1 : 1) : sign(strncmp(a, b, la));
	if (na || nb)
		return na ? -1 : 1;
	c = strncmp(a, b, la < lb ? la : lb);
	return c ? sign(c) : (la < lb ? -1 : la > lb);
}

/* Prerelease precedence: identifiers left to right; more identifiers rank above fewer. */
static int cmp_pre(const char *a, const char *b)
{
	if (!*a || !*b)
		return !*a - !*b; /* a release is above its prereleases */
	while (*a && *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		int c = cmp_ident(a, la, b, lb);

		if (c)
			return c;
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

int semver_compare(const struct semver *a, const struct semver *b)
{
	int c = cmp_num(a->major, b->major);

	if (!c)
		c = cmp_num(a->minor, b->minor);
	if (!c)
		c = cmp_num(a->patch, b->patch);
	return c ? c : cmp_pre(a->pre, b->pre);
}

static bool test_one(const struct semver *v, const struct comparator *c)
{
	int r = semver_compare(v, &c->v);

	switch (c->op) {
	case OP_EQ:
		return r == 0;
	case OP_LT:
		return r < 0;
	case OP_LE:
		return r <= 0;
	case OP_GT:
		return r > 0;
	default:
		return r >= 0;
	}
}

/* A comparator set being tested: every comparator must hold. */
struct set {
	const struct semver *v;
	bool ok;
	bool pre_allowed; /* a comparator names a prerelease of v's major.minor.patch */
};

static void add(struct set *st, enum op op, unsigned long long ma, unsigned long long mi,
		unsigned long long pa, const char *pre)
{
	struct comparator c = {op, {ma, mi, pa, ""}};

	snprintf(c.v.pre, sizeof(c.v.pre), "%s", pre);
	st->ok = st->ok && test_one(st->v, &c);
	if (pre[0] && ma == st->v->major && mi == st->v->minor && pa == st->v->patch)
		st->pre_allowed = true;
}

/* ">=" of a partial's lowest version. */
static void add_low(struct set *st, const struct partial *p)
{
	if (p->major >= 0)
		add(st, OP_GE, (unsigned long long)p->major,
		    p->minor < 0 ? 0 : (unsigned long long)p->minor,
		    p->patch < 0 ? 0 : (unsigned long long)p->patch, p->patch < 0 ? "" : p->pre);
}

/* The version just above a partial ("1.2" -> "<1.3.0-0"), or its own "<="." */
static void add_high(struct set *st, const struct partial *p, bool inclusive)
{
	if (p->major < 0)
		return;
	if (p->minor < 0)
		add(st, OP_LT, (unsigned long long)p->major + 1, 0, 0, "0");
	else if (p->patch < 0)
		add(st, OP_LT, (unsigned long long)p->major, (unsigned long long)p->minor + 1, 0,
		    "0");
	else
		add(st, inclusive ? OP_LE : OP_LT, (unsigned long long)p->major,
		    (unsigned long long)p->minor, (unsigned long long)p->patch, p->pre);
}

/* "<1.2" is "<1.2.0-0", below every 1.2 prerelease; "<*" matches nothing. */
static void below(struct set *st, const struct partial *p)
{
	if (p->major < 0) {
		st->ok = false;
		return;
	}
	add(st, OP_LT, (unsigned long long)p->major,
	    p->minor < 0 ? 0 : (unsigned long long)p->minor,
	    p->patch < 0 ? 0 : (unsigned long long)p->patch, p->patch < 0 ? "0" : p->pre);
}

/* ">1.2" is ">=1.3.0", ">1" is ">=2.0.0", ">1.2.3" itself; ">*" matches nothing. */
static void above(struct set *st, const struct partial *p)
{
	struct partial q = {.patch = 0};

	if (p->major < 0) {
		st->ok = false;
		return;
	}
	if (p->patch >= 0) {
		add(st, OP_GT, (unsigned long long)p->major, (unsigned long long)p->minor,
		    (unsigned long long)p->patch, p->pre);
		return;
	}
	q.major = p->minor < 0 ? p->major + 1 : p->major;
	q.minor = p->minor < 0 ? 0 : p->minor + 1;
	add_low(st, &q);
}

static void caret(struct set *st, const struct partial *p)
{
	unsigned long long ma = (unsigned long long)p->major,
			   mi = p->minor < 0 ? 0 : (unsigned long long)p->minor;

	if (p->major < 0)
		return;
	add_low(st, p);
	if (ma > 0 || p->minor < 0)
		add(st, OP_LT, ma + 1, 0, 0, "0");
	else if (mi > 0 || p->patch < 0)
		add(st, OP_LT, 0, mi + 1, 0, "0");
	else
		add(st, OP_LT, 0, 0, (unsigned long long)p->patch + 1, "0");
}

static void tilde(struct set *st, const struct partial *p)
{
	struct partial up = *p;

	add_low(st, p);
	if (p->minor >= 0)
		up.patch = -1;
	add_high(st, &up, false);
}

/* One comparator token: an operator and a partial version. */
static int comparator(struct set *st, const char *s, const char *end)
{
	static const struct {
		const char *text;
		enum op op;
	} ops[] = {{">=", OP_GE}, {"<=", OP_LE}, {">", OP_GT}, {"<", OP_LT}, {"=", OP_EQ}};
	struct partial p;
	size_t k = 0, len = 0;
	char first = *s;

	if (first == '^' || first == '~')
		s += 1 + (first == '~' && s[1] == '>');
	else
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (strncmp(s, ops[k].text, (len = strlen(ops[k].text))) == 0)
				break;
	if (k < sizeof(ops) / sizeof(ops[0]) && first != '^' && first != '~')
		s += len;
	while (s < end && *s == ' ')
		s++;
	/* An operator needs a version: "^" alone is no range. */
	if (s == end || parse_partial(s, end, &p) < 0)
		return -EINVAL;
	if (first == '^')
		caret(st, &p);
	else if (first == '~')
		tilde(st, &p);
	else if (k == sizeof(ops) / sizeof(ops[0]) || ops[k].op == OP_EQ) {
		add_low(st, &p);
		add_high(st, &p, true);
	} else if (ops[k].op == OP_GE)
		add_low(st, &p);
	else if (ops[k].op == OP_LT)
		below(st, &p);
	else if (ops[k].op == OP_GT)
		above(st, &p);
	else
		add_high(st, &p, true);
	return 0;
}

/* One alternative between "||": comparators, or "A - B". */
static int alternative(struct set *st, const char *s, const char *end)
{
	const char *hy = NULL;

	for (const char *p = s; p + 2 < end; p++)
		if (p[0] == ' ' && p[1] == '-' && p[2] == ' ')
			hy = p;
	if (hy) {
		struct partial lo, hi;
		const char *b = hy + 3;

		while (b < end && *b == ' ')
			b++;
		if (s == hy || b == end || parse_partial(s, hy, &lo) < 0 ||
		    parse_partial(b, end, &hi) < 0)
			return -EINVAL;
		add_low(st, &lo);
		add_high(st, &hi, true);
		return 0;
	}
	while (s < end) {
		const char *e = s;
		int r;

		/* An operator may be followed by spaces before its version. */
		while (e < end && strchr("<>=~^", *e))
			e++;
		while (e < end && *e == ' ')
			e++;
		while (e < end && *e != ' ')
			e++;
		r = comparator(st, s, e);
		if (r < 0)
			return r;
		for (s = e; s < end && *s == ' '; s++)
			;
	}
	return 0;
}

/* A copy of @range with runs of white space made one space, trimmed. */
static int normalise(const char *range, char *buf)
{
	size_t n = 0;

	for (const char *p = range; *p; p++) {
		bool sp = isspace((unsigned char)*p);

		if (n >= MAX_RANGE - 1)
			return -EINVAL;
		if (sp && (n == 0 || buf[n - 1] == ' '))
			continue;
		buf[n++] = sp ? ' ' : *p;
	}
	if (n && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return 0;
}

/* Test @v against @range; @v NULL only checks the syntax. */
static int check(const struct semver *v, const char *range)
{
	static const struct semver zero = {0, 0, 0, ""};
	/*
	 * Zeroed whole: the scanners below stop at `end`, which lies at or
	 * before the string's end, and reading the buffer must not depend on
	 * that being seen (a static analyzer cannot relate strlen to it).
	 */
	char buf[MAX_RANGE] = "";
	const char *p = buf;
	bool any = false;

	if (normalise(range, buf) < 0)
		return -EINVAL;
	if (strcmp(buf, "latest") == 0)
		buf[0] = '\0';
	for (;;) {
		const char *bar = strstr(p, "||"), *end = bar ? bar : p + strlen(p);
		struct set st = {v ? v : &zero, true, false};

		while (p < end && *p == ' ')
			p++;
		while (end > p && end[-1] == ' ')
			end--;
		if (alternative(&st, p, end) < 0)
			return -EINVAL;
		if (v && st.ok && (!v->pre[0] || st.pre_allowed))
			any = true;
		if (!bar)
			return any;
		p = bar + 2;
	}
}

int semver_satisfies(const struct semver *v, const char *range)
{
	return check(v, range);
}

bool semver_range_valid(const char *range)
{
	return check(NULL, range) >= 0;
}
