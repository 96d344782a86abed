/*
 * requirement: parse, order and match Python dependency strings (see
 * requirement.h).
 *
 * The version grammar follows the regular expression of PEP 440's appendix
 * (and of pypa/packaging), written as a small hand scanner so it needs no
 * regex engine and bounds every number.  Matching follows packaging's
 * Specifier rules, which is what pip does when it picks a version.  Character
 * classes are ASCII-only on purpose: <ctype.h> depends on the locale.
 */
#define _GNU_SOURCE
#include "deps/requirement.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
#define EXAMPLE	   "\"requests[socks]>=2.31,<3\""

/* ---- characters ------------------------------------------------------ */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static bool is_sep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_ws(const char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ws((*s)[*len - 1]))
		(*len)--;
}

/* ---- bounded output -------------------------------------------------- */

/* An snprintf cursor: keeps counting past the end so callers learn the size. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static struct out out_init(char *buf, size_t size)
{
	if (size > 0)
		buf[0] = '\0';
	return (struct out){.buf = buf, .size = size};
}

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	bool room = o->len < o->size;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room ? o->size - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static int out_done(const struct out *o)
{
	return o->len < o->size && o->len <= INT_MAX ? (int)o->len : -ENOSPC;
}

/* ---- names ----------------------------------------------------------- */

int requirement_normalize_name(const char *in, char *out, size_t outsz)
{
	char last = '\0';
	size_t n = 0;

	for (; *in; in++) {
		char c = to_lower(*in);

		if (is_sep(c))
			c = '-';

		/* PEP 503: a run of separators becomes one '-' */
		if (c == '-' && last == '-')
			continue;
		if (n + 1 < outsz)
			out[n] = c;
		n++;
		last = c;
	}
	if (outsz > 0)
		out[n < outsz ? n : outsz - 1] = '\0';
	return n < outsz && n <= INT_MAX ? (int)n : -ENOSPC;
}

bool requirement_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || !is_alnum(name[0]) || !is_alnum(name[n - 1]))
		return false;
	return strspn(name, NAME_CHARS) == n;
}

/* ---- version scanning ------------------------------------------------ */

struct scan {
	const char *s;
	size_t len;
	size_t pos;
};

/* The lowercased character @off ahead, or NUL past the end. */
static char peek(const struct scan *sc, size_t off)
{
	if (sc->pos + off >= sc->len)
		return '\0';
	return to_lower(sc->s[sc->pos + off]);
}

/* A run of digits: -ENOENT when there is none, -ERANGE past UINT64_MAX. */
static int scan_number(struct scan *sc, uint64_t *ret)
{
	size_t start = sc->pos;
	uint64_t n = 0;

	while (is_digit(peek(sc, 0))) {
		uint64_t d = (uint64_t)(peek(sc, 0) - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
		sc->pos++;
	}
	if (sc->pos == start)
		return -ENOENT;
	*ret = n;
	return 0;
}

struct word {
	const char *text;
	int value;
};

/* Longer spellings first, as in PEP 440's regular expression. */
/* clang-format off */
static const struct word pre_words[] = {
	{ "alpha", VERSION_PRE_ALPHA }, { "a", VERSION_PRE_ALPHA },
	{ "beta", VERSION_PRE_BETA },	{ "b", VERSION_PRE_BETA },
	{ "preview", VERSION_PRE_RC },	{ "pre", VERSION_PRE_RC },
	{ "rc", VERSION_PRE_RC },	{ "c", VERSION_PRE_RC },
	{ NULL, 0 },
};
/* clang-format on */
static const struct word post_words[] = {{"post", 1}, {"rev", 1}, {"r", 1}, {NULL, 0}};
static const struct word dev_words[] = {{"dev", 1}, {NULL, 0}};

static const struct word *accept_word(struct scan *sc, const struct word *w)
{
	for (; w->text; w++) {
		size_t i = 0;

		while (w->text[i] && peek(sc, i) == w->text[i])
			i++;
		if (!w->text[i]) {
			sc->pos += i;
			return w;
		}
	}
	return NULL;
}

/*
 * "[sep]label[sep][N]": 1 and the label's value when present, 0 with nothing
 * consumed when absent.  A missing number is 0 ("1.0a" is "1.0a0").
 */
static int labelled(struct scan *sc, const struct word *words, int *ret_value, uint64_t *ret_n)
{
	size_t save = sc->pos;
	const struct word *w;
	int r;

	if (is_sep(peek(sc, 0)))
		sc->pos++;
	w = accept_word(sc, words);
	if (!w) {
		sc->pos = save;
		return 0;
	}
	*ret_value = w->value;
	*ret_n = 0;
	/* the separator before the number belongs to the next part when no number follows */
	if (is_sep(peek(sc, 0)) && is_digit(peek(sc, 1)))
		sc->pos++;
	r = scan_number(sc, ret_n);
	return r == -ERANGE ? r : 1;
}

static int parse_epoch(struct scan *sc, struct version *v)
{
	size_t save = sc->pos;
	uint64_t n;
	int r;

	r = scan_number(sc, &n);
	if (r == 0 && peek(sc, 0) == '!') {
		v->epoch = n;
		sc->pos++;
		return 0;
	}
	/* not an epoch: rescan the digits as the first release segment */
	sc->pos = save;
	return r == -ERANGE ? r : 0;
}

static int parse_release(struct scan *sc, struct version *v)
{
	int r;

	for (;;) {
		if (v->nrelease == VERSION_MAX_RELEASE)
			return -E2BIG;
		r = scan_number(sc, &v->release[v->nrelease]);
		if (r < 0)
			return r == -ENOENT ? -EINVAL : r;
		v->nrelease++;
		if (peek(sc, 0) != '.' || !is_digit(peek(sc, 1)))
			return 0;
		sc->pos++;
	}
}

static int parse_pre(struct scan *sc, struct version *v)
{
	int kind = 0;
	int r;

	r = labelled(sc, pre_words, &kind, &v->pre);
	if (r > 0)
		v->pre_kind = (enum version_pre)kind;
	return r < 0 ? r : 0;
}

static int parse_post(struct scan *sc, struct version *v)
{
	int value = 0;
	int r;

	/* "1.0-1" is PEP 440's implicit spelling of 1.0.post1 */
	if (peek(sc, 0) == '-' && is_digit(peek(sc, 1))) {
		sc->pos++;
		v->has_post = true;
		return scan_number(sc, &v->post);
	}
	r = labelled(sc, post_words, &value, &v->post);
	v->has_post = r > 0;
	return r < 0 ? r : 0;
}

static int parse_dev(struct scan *sc, struct version *v)
{
	int value = 0;
	int r;

	r = labelled(sc, dev_words, &value, &v->dev);
	v->has_dev = r > 0;
	return r < 0 ? r : 0;
}

/* "+abc.5": alphanumeric segments, normalised to lowercase joined by '.'. */
static int parse_local(struct scan *sc, struct version *v)
{
	bool seg_start = true;
	size_t n = 0;

	if (peek(sc, 0) != '+')
		return 0;
	for (sc->pos++; sc->pos < sc->len; sc->pos++) {
		char c = peek(sc, 0);

		if (is_sep(c) && !seg_start)
			c = '.';
		else if (!is_alnum(c))
			return -EINVAL;
		seg_start = c == '.';
		if (n + 1 >= VERSION_MAX_LOCAL)
			return -E2BIG;
		v->local[n++] = c;
	}
	return seg_start ? -EINVAL : 0; /* empty, or ends with a separator */
}

static int parse_version(const char *s, size_t len, struct version *ret)
{
	static int (*const parts[])(struct scan *, struct version *) = {
	    parse_epoch, parse_release, parse_pre, parse_post, parse_dev, parse_local,
	};
	struct version v = {.pre_kind = VERSION_PRE_NONE};
	struct scan sc;
	int r;

	trim(&s, &len);
	sc = (struct scan){.s = s, .len = len};
	if (peek(&sc, 0) == 'v')
		sc.pos++;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		r = parts[i](&sc, &v);
		if (r < 0)
			return r;
	}
	if (sc.pos != sc.len)
		return -EINVAL;
	*ret = v;
	return 0;
}

int version_parse(const char *s, struct version *ret)
{
	return parse_version(s, strlen(s), ret);
}

bool version_is_prerelease(const struct version *v)
{
	return v->pre_kind != VERSION_PRE_NONE || v->has_dev;
}

/* ---- version order --------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static uint64_t release_at(const struct version *v, size_t i)
{
	return i < v->nrelease ? v->release[i] : 0;
}

static int cmp_epoch(const struct version *a, const struct version *b)
{
	return cmp_u64(a->epoch, b->epoch);
}

/* Trailing zeros do not count: 1.0 == 1.0.0. */
static int cmp_release(const struct version *a, const struct version *b)
{
	size_t n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;

	for (size_t i = 0; i < n; i++) {
		int r = cmp_u64(release_at(a, i), release_at(b, i));

		if (r)
			return r;
	}
	return 0;
}

/* dev of a final (1.0.dev1) < a < b < rc < final, post or not */
static int pre_rank(const struct version *v)
{
	if (v->pre_kind == VERSION_PRE_NONE && !v->has_post && v->has_dev)
		return 0;
	if (v->pre_kind == VERSION_PRE_NONE)
		return 4;
	return (int)v->pre_kind;
}

static int cmp_pre(const struct version *a, const struct version *b)
{
	int ra = pre_rank(a), rb = pre_rank(b);

	if (ra != rb)
		return (ra > rb) - (ra < rb);
	return a->pre_kind == VERSION_PRE_NONE ? 0 : cmp_u64(a->pre, b->pre);
}

/* No post-release sorts before any post-release. */
static int cmp_post(const struct version *a, const struct version *b)
{
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	return a->has_post ? cmp_u64(a->post, b->post) : 0;
}

/* A dev release sorts before the same version without one. */
static int cmp_dev(const struct version *a, const struct version *b)
{
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	return a->has_dev ? cmp_u64(a->dev, b->dev) : 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static void strip_zeros(const char **s, size_t *n)
{
	while (*n > 1 && **s == '0') {
		(*s)++;
		(*n)--;
	}
}

/* Numbers by value (without overflow: by digits), above any text segment. */
static int cmp_local_segment(const char *a, size_t na, const char *b, size_t nb)
{
	bool da = all_digits(a, na), db = all_digits(b, nb);
	int r;

	if (da != db)
		return da ? 1 : -1;
	if (da) {
		strip_zeros(&a, &na);
		strip_zeros(&b, &nb);
		if (na != nb)
			return na > nb ? 1 : -1;
	}
	r = memcmp(a, b, na < nb ? na : nb);
	if (r)
		return r > 0 ? 1 : -1;
	return (na > nb) - (na < nb);
}

/* No label < any label; then segment by segment, a prefix sorting first. */
static int cmp_local(const struct version *a, const struct version *b)
{
	const char *pa = a->local, *pb = b->local;

	if (!*pa || !*pb)
		return (*pa != '\0') - (*pb != '\0');
	for (;;) {
		size_t na = strcspn(pa, "."), nb = strcspn(pb, ".");
		int r = cmp_local_segment(pa, na, pb, nb);

		if (r)
			return r;
		pa += na;
		pb += nb;
		if (!*pa || !*pb)
			return (*pa != '\0') - (*pb != '\0');
		pa++;
		pb++;
	}
}

/* The sort key of PEP 440, most significant first; local must stay last. */
static int (*const version_keys[])(const struct version *, const struct version *) = {
    cmp_epoch, cmp_release, cmp_pre, cmp_post, cmp_dev, cmp_local,
};
#define NKEYS (sizeof(version_keys) / sizeof(version_keys[0]))

static int compare_keys(const struct version *a, const struct version *b, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++) {
		int r = version_keys[i](a, b);

		if (r)
			return r;
	}
	return 0;
}

int version_compare(const struct version *a, const struct version *b)
{
	return compare_keys(a, b, NKEYS);
}

/* Comparison that ignores local labels, as most operators do. */
static int compare_public(const struct version *a, const struct version *b)
{
	return compare_keys(a, b, NKEYS - 1);
}

/* ---- formatting ------------------------------------------------------ */

/* Numeric local segments lose leading zeros, as in packaging: "+abc.007" is "+abc.7". */
static void put_local(struct out *o, const char *local)
{
	for (const char *p = local; *p;) {
		size_t n = strcspn(p, ".");
		const char *seg = p;

		if (all_digits(seg, n))
			strip_zeros(&seg, &n);
		put(o, "%s%.*s", p == local ? "+" : ".", (int)n, seg);
		p = seg + n;
		p += *p == '.';
	}
}

static void put_version(struct out *o, const struct version *v)
{
	/* clang-format off */
	static const char *const pre[] = {
		[VERSION_PRE_ALPHA] = "a", [VERSION_PRE_BETA] = "b", [VERSION_PRE_RC] = "rc",
	};

	if (v->epoch)
		put(o, "%llu!", (unsigned long long)v->epoch);
	for (size_t i = 0; i < v->nrelease; i++)
		put(o, "%s%llu", i ? "." : "", (unsigned long long)v->release[i]);
	if (v->pre_kind != VERSION_PRE_NONE)
		put(o, "%s%llu", pre[v->pre_kind], (unsigned long long)v->pre);
	if (v->has_post)
		put(o, ".post%llu", (unsigned long long)v->post);
	if (v->has_dev)
		put(o, ".dev%llu", (unsigned long long)v->dev);
	put_local(o, v->local);
}

int version_format(const struct version *v, char *out, size_t outsz)
{
	struct out o = out_init(out, outsz);

	put_version(&o, v);
	return out_done(&o);
}

/* ---- specifiers ------------------------------------------------------ */

static bool same_release_prefix(const struct version *spec, size_t n, const struct version *v)
{
	if (v->epoch != spec->epoch)
		return false;
	for (size_t i = 0; i < n; i++)
		if (release_at(v, i) != spec->release[i])
			return false;
	return true;
}

/* Same epoch and release: 1.0rc1, 1.0.post2 and 1.0+abc share 1.0's base. */
static bool same_base(const struct version *a, const struct version *b)
{
	return cmp_epoch(a, b) == 0 && cmp_release(a, b) == 0;
}

/* A local label counts only when the specifier names one. */
static bool match_eq(const struct version_spec *sp, const struct version *v)
{
	if (sp->wildcard)
		return same_release_prefix(&sp->version, sp->version.nrelease, v);
	if (sp->version.local[0])
		return version_compare(v, &sp->version) == 0;
	return compare_public(v, &sp->version) == 0;
}

static bool match_ne(const struct version_spec *sp, const struct version *v)
{
	return !match_eq(sp, v);
}

static bool match_le(const struct version_spec *sp, const struct version *v)
{
	return compare_public(v, &sp->version) <= 0;
}

static bool match_ge(const struct version_spec *sp, const struct version *v)
{
	return compare_public(v, &sp->version) >= 0;
}

/* ~=1.4.5 is >=1.4.5 and ==1.4.*: the last release number may grow. */
static bool match_compat(const struct version_spec *sp, const struct version *v)
{
	return match_ge(sp, v) && same_release_prefix(&sp->version, sp->version.nrelease - 1, v);
}

/* <1.0 must not let 1.0rc1 in: a pre-release of V is not "less than V". */
static bool match_lt(const struct version_spec *sp, const struct version *v)
{
	if (version_compare(v, &sp->version) >= 0)
		return false;
	return version_is_prerelease(&sp->version) || !version_is_prerelease(v) ||
	       !same_base(v, &sp->version);
}

/* >1.0 must not let 1.0.post1 or 1.0+abc in: they are still 1.0. */
static bool match_gt(const struct version_spec *sp, const struct version *v)
{
	if (version_compare(v, &sp->version) <= 0)
		return false;
	if (!same_base(v, &sp->version))
		return true;
	if (v->has_post && !sp->version.has_post)
		return false;
	return v->local[0] == '\0';
}

static const struct op_info {
	const char *text;
	bool (*match)(const struct version_spec *, const struct version *);
	bool exact;	 /* allows ".*" and "+local" */
	/*
	 * Naming a pre-release here lets pre-releases match, as in packaging
	 * since pypa/packaging#788 (< and > count too); "!=1.0a1" asks for
	 * nothing, so it does not.
	 */
	bool pre_opt_in;
} ops[] = {
	/* two-character operators first so "<=" is not read as "<" */
	[VERSION_OP_EQ] = { "==", match_eq, true, true },
	[VERSION_OP_NE] = { "!=", match_ne, true, false },
	[VERSION_OP_LE] = { "<=", match_le, false, true },
	[VERSION_OP_GE] = { ">=", match_ge, false, true },
	[VERSION_OP_COMPAT] = { "~=", match_compat, false, true },
	[VERSION_OP_LT] = { "<", match_lt, false, true },
	[VERSION_OP_GT] = { ">", match_gt, false, true },
};
/* clang-format on */
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static bool names_prerelease(const struct version_spec *sp)
{
	return ops[sp->op].pre_opt_in && !sp->wildcard && version_is_prerelease(&sp->version);
}

bool version_specset_matches(const struct version_specset *set, const struct version *v,
			     bool allow_prereleases)
{
	for (size_t i = 0; i < set->nspecs && !allow_prereleases; i++)
		allow_prereleases = names_prerelease(&set->specs[i]);
	if (version_is_prerelease(v) && !allow_prereleases)
		return false;
	for (size_t i = 0; i < set->nspecs; i++)
		if (!ops[set->specs[i].op].match(&set->specs[i], v))
			return false;
	return true;
}

bool requirement_matches(const struct requirement *r, const struct version *v,
			 bool allow_prereleases)
{
	return version_specset_matches(&r->specset, v, allow_prereleases);
}

static bool bad_wildcard_op(const struct version_spec *sp)
{
	return sp->wildcard && !ops[sp->op].exact;
}

static bool bad_wildcard_version(const struct version_spec *sp)
{
	const struct version *v = &sp->version;

	return sp->wildcard &&
	       (v->pre_kind != VERSION_PRE_NONE || v->has_post || v->has_dev || v->local[0]);
}

static bool bad_local(const struct version_spec *sp)
{
	return sp->version.local[0] && !ops[sp->op].exact;
}

static bool bad_compat(const struct version_spec *sp)
{
	return sp->op == VERSION_OP_COMPAT && sp->version.nrelease < 2;
}

/* PEP 440's limits on which version may follow which operator. */
static const struct spec_rule {
	bool (*broken)(const struct version_spec *sp);
	const char *reason;
} spec_rules[] = {
    {bad_wildcard_op, "\".*\" is only allowed after == and !="},
    {bad_wildcard_version, "\".*\" may only follow release numbers, as in ==1.4.*"},
    {bad_local, "a local version label (+...) is only allowed after == and !="},
    {bad_compat, "~= needs at least two release numbers, as in ~=1.4"},
};

/* Why a version did not parse, by the errno of version_parse(). */
static const char *version_problem(int r)
{
	if (r == -ERANGE)
		return "a number in its version is larger than 18446744073709551615";
	if (r == -E2BIG)
		return "its version has more than 16 release numbers or too long a local label";
	return "its version is not a PEP 440 version such as 1.0, 2.1rc1 or 1.0.post2";
}

static int spec_fail(struct rb_err *err, const char *field, const char *s, size_t len,
		     const char *reason)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, REQUIREMENT_CODE_SPECIFIER, field,
		       "version specifier \"%.*s\" is not valid: %s", (int)len, s, reason);
}

/* The operator at the start of @s, or -1. */
static int scan_op(const char *s, size_t len, size_t *ret_oplen)
{
	for (size_t i = 0; i < NOPS; i++) {
		size_t n = strlen(ops[i].text);

		if (len >= n && memcmp(s, ops[i].text, n) == 0) {
			*ret_oplen = n;
			return (int)i;
		}
	}
	return -1;
}

/* One clause, already trimmed and not empty. */
static int parse_spec(const char *s, size_t len, const char *field, struct version_spec *ret,
		      struct rb_err *err)
{
	struct version_spec sp = {.op = VERSION_OP_EQ};
	const char *v;
	size_t oplen = 0, vlen;
	int op, r;

	if (len >= 3 && memcmp(s, "===", 3) == 0)
		return spec_fail(err, field, s, len,
				 "arbitrary equality (===) is not accepted, use ==");
	op = scan_op(s, len, &oplen);
	if (op < 0)
		return spec_fail(err, field, s, len,
				 "it must start with one of ==, !=, <, <=, >, >=, ~=");
	sp.op = (enum version_op)op;
	v = s + oplen;
	vlen = len - oplen;
	trim(&v, &vlen);
	if (vlen == 0)
		return spec_fail(err, field, s, len,
				 "a version must follow the operator, as in >=1.0");
	if (vlen > 2 && memcmp(v + vlen - 2, ".*", 2) == 0) {
		sp.wildcard = true;
		vlen -= 2;
	}
	r = parse_version(v, vlen, &sp.version);
	if (r < 0)
		return spec_fail(err, field, s, len, version_problem(r));
	for (size_t i = 0; i < sizeof(spec_rules) / sizeof(spec_rules[0]); i++)
		if (spec_rules[i].broken(&sp))
			return spec_fail(err, field, s, len, spec_rules[i].reason);
	*ret = sp;
	return 0;
}

static int parse_specset(const char *s, size_t len, const char *field, struct version_specset *ret,
			 struct rb_err *err)
{
	struct version_specset set = {.nspecs = 0};
	size_t start = 0;
	int r;

	trim(&s, &len);
	while (len > 0) {
		const char *clause = s + start;
		size_t end = start, clen;

		while (end < len && s[end] != ',')
			end++;
		clen = end - start;
		trim(&clause, &clen);
		if (clen == 0)
			return rb_fail(err, RB_FAULT_REQUEST, 0, REQUIREMENT_CODE_SPECIFIER, field,
				       "version specifiers \"%.*s\" have an empty clause; separate "
				       "clauses with single commas, as in >=1.0,<2",
				       (int)len, s);
		if (set.nspecs == VERSION_MAX_SPECIFIERS)
			return rb_fail(err, RB_FAULT_REQUEST, 0, REQUIREMENT_CODE_SPECIFIER, field,
				       "version specifiers \"%.*s\" have more than %d clauses",
				       (int)len, s, VERSION_MAX_SPECIFIERS);
		r = parse_spec(clause, clen, field, &set.specs[set.nspecs], err);
		if (r < 0)
			return r;
		set.nspecs++;
		if (end == len)
			break;
		start = end + 1;
	}
	*ret = set;
	return 0;
}

static void put_specset(struct out *o, const struct version_specset *set)
{
	for (size_t i = 0; i < set->nspecs; i++) {
		const struct version_spec *sp = &set->specs[i];

		put(o, "%s%s", i ? "," : "", ops[sp->op].text);
		put_version(o, &sp->version);
		if (sp->wildcard)
			put(o, ".*");
	}
}

int version_specset_format(const struct version_specset *set, char *out, size_t outsz)
{
	struct out o = out_init(out, outsz);

	put_specset(&o, set);
	return out_done(&o);
}

/* ---- screening a request's string ------------------------------------ */

/*
 * The checks below run before the grammar so that a refusal names the real
 * problem ("a URL") rather than the first character the grammar trips on.
 * They see a string known to be at most REQUIREMENT_MAX_LEN bytes.
 */

static int refuse(struct rb_err *err, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct rb_err *err, const char *code, const char *field, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rb_fail(err, RB_FAULT_REQUEST, 0, code, field, "%s", msg);
}

/* Control bytes would garble logs and messages, so they are never echoed. */
static int screen_control(const char *s, const char *field, struct rb_err *err)
{
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(err, REQUIREMENT_CODE_INVALID, field,
				      "dependency contains the control character 0x%02x at byte "
				      "%zu; only printable ASCII is accepted",
				      c, i);
	}
	return 0;
}

static bool has_marker(const char *s)
{
	return strchr(s, ';') != NULL;
}

static bool has_url(const char *s)
{
	return strchr(s, '@') || strchr(s, ':');
}

/* pip reads "x.whl" or "pkg-1.0.tar.gz" as a file, so those are paths too. */
static bool has_path(const char *s)
{
	static const char *const archives[] = {".whl", ".zip", ".tar", ".tgz",
					       ".gz",  ".bz2", ".xz",  ".egg"};
	const char *p = skip_ws(s);
	size_t len = strlen(p);

	trim(&p, &len);
	if (strchr(s, '/') || strchr(s, '\\') || *p == '.' || *p == '~')
		return true;
	for (size_t i = 0; i < sizeof(archives) / sizeof(archives[0]); i++) {
		size_t n = strlen(archives[i]), j = 0;

		while (j < n && len >= n && to_lower(p[len - n + j]) == archives[i][j])
			j++;
		if (j == n)
			return true;
	}
	return false;
}

static bool has_option(const char *s)
{
	return *skip_ws(s) == '-';
}

/* Things pip accepts that would let a request pick code or sources. */
static const struct foreign {
	bool (*found)(const char *s);
	const char *what;
} foreign[] = {
    {has_marker, "an environment marker (;)"},
    {has_url, "a URL (@ or :)"},
    {has_path, "a file path or archive"},
    {has_option, "a pip option (-)"},
};

static int screen_foreign(const char *s, const char *field, struct rb_err *err)
{
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (foreign[i].found(s))
			return refuse(err, REQUIREMENT_CODE_INVALID, field,
				      "dependency \"%s\" is refused because it contains %s: "
				      "environment markers, URLs, file paths and pip options are "
				      "not accepted, only a package name with optional [extras] "
				      "and version specifiers such as " EXAMPLE,
				      s, foreign[i].what);
	return 0;
}

/* What PEP 508 needs without markers or URLs; shell metacharacters are not in it. */
static int screen_charset(const char *s, const char *field, struct rb_err *err)
{
	static const char allowed[] = NAME_CHARS " \t[](),<>=!~*+";

	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80)
			return refuse(err, REQUIREMENT_CODE_INVALID, field,
				      "dependency contains the non-ASCII byte 0x%02x at byte %zu; "
				      "package names and versions are ASCII, as in " EXAMPLE,
				      c, i);
		if (!strchr(allowed, c))
			return refuse(err, REQUIREMENT_CODE_INVALID, field,
				      "dependency \"%s\" contains '%c', which is not allowed; a "
				      "dependency is a package name with optional [extras] and "
				      "version specifiers such as " EXAMPLE,
				      s, c);
	}
	return 0;
}

static int screen_size(const char *s, const char *field, struct rb_err *err)
{
	size_t len = s ? strnlen(s, REQUIREMENT_MAX_LEN + 1) : 0;

	if (len > REQUIREMENT_MAX_LEN)
		return refuse(err, REQUIREMENT_CODE_TOO_LONG, field,
			      "dependency is longer than %d bytes; give just a package name with "
			      "optional [extras] and version specifiers",
			      REQUIREMENT_MAX_LEN);
	if (*skip_ws(s ? s : "") == '\0')
		return refuse(
		    err, REQUIREMENT_CODE_INVALID, field,
		    "dependency is empty; give a package name such as \"numpy\" or " EXAMPLE);
	return 0;
}

/* In this order: size first so later checks may scan, control bytes before echoing. */
static int (*const screens[])(const char *s, const char *field, struct rb_err *err) = {
    screen_size,
    screen_control,
    screen_foreign,
    screen_charset,
};

static int screen(const char *s, const char *field, struct rb_err *err)
{
	for (size_t i = 0; i < sizeof(screens) / sizeof(screens[0]); i++) {
		int r = screens[i](s, field, err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the PEP 508 subset ---------------------------------------------- */

static int parse_name(const char **p, const char *s, const char *field, struct requirement *req,
		      struct rb_err *err)
{
	size_t n = strspn(*p, NAME_CHARS);

	if (n == 0)
		return refuse(err, REQUIREMENT_CODE_NAME, field,
			      "dependency \"%s\" does not start with a package name; write it as "
			      "name, name[extra] or name>=1.0",
			      s);
	memcpy(req->name_orig, *p, n);
	req->name_orig[n] = '\0';
	if (!requirement_valid_name(req->name_orig))
		return refuse(
		    err, REQUIREMENT_CODE_NAME, field,
		    "\"%s\" in dependency \"%s\" is not a valid package name: use letters, digits, "
		    "'-', '_' and '.', starting and ending with a letter or digit",
		    req->name_orig, s);
	requirement_normalize_name(req->name_orig, req->name, sizeof(req->name));
	*p += n;
	return 0;
}

static int extras_syntax(const char *s, const char *field, struct rb_err *err)
{
	return refuse(err, REQUIREMENT_CODE_NAME, field,
		      "extras in dependency \"%s\" must be names separated by commas inside [], as "
		      "in requests[socks,security]",
		      s);
}

static int parse_extra(const char **p, const char *s, const char *field, struct requirement *req,
		       struct rb_err *err)
{
	char orig[REQUIREMENT_MAX_LEN + 1], norm[REQUIREMENT_MAX_LEN + 1];
	size_t n = strspn(*p, NAME_CHARS);

	if (n == 0)
		return extras_syntax(s, field, err);
	memcpy(orig, *p, n);
	orig[n] = '\0';
	*p += n;
	if (!requirement_valid_name(orig))
		return refuse(
		    err, REQUIREMENT_CODE_NAME, field,
		    "extra \"%s\" in dependency \"%s\" is not a valid name: use letters, digits, "
		    "'-', '_' and '.', starting and ending with a letter or digit",
		    orig, s);
	/* PEP 685: extras compare normalised, so "Foo_Bar" and "foo-bar" are one */
	requirement_normalize_name(orig, norm, sizeof(norm));
	for (size_t i = 0; i < req->nextras; i++)
		if (strcmp(req->extras[i], norm) == 0)
			return 0;
	if (req->nextras == REQUIREMENT_MAX_EXTRAS)
		return refuse(err, REQUIREMENT_CODE_NAME, field,
			      "dependency \"%s\" names more than %d extras", s,
			      REQUIREMENT_MAX_EXTRAS);
	memcpy(req->extras[req->nextras++], norm, sizeof(norm));
	return 0;
}

/* "[a, b]" with *p on the '['; leaves *p after the ']'. */
static int parse_extras(const char **p, const char *s, const char *field, struct requirement *req,
			struct rb_err *err)
{
	const char *q = skip_ws(*p + 1);
	int r;

	/* PEP 508 allows an empty list, "name[]" */
	if (*q == ']') {
		*p = q + 1;
		return 0;
	}
	for (;;) {
		r = parse_extra(&q, s, field, req, err);
		if (r < 0)
			return r;
		q = skip_ws(q);
		if (*q == ']')
			break;
		if (*q != ',')
			return extras_syntax(s, field, err);
		q = skip_ws(q + 1);
	}
	*p = q + 1;
	return 0;
}

/* What follows the name and extras: nothing, "(spec,...)" or "spec,...". */
static int parse_versionspec(const char *p, const char *s, const char *field,
			     struct version_specset *ret, struct rb_err *err)
{
	size_t len = strlen(p);

	trim(&p, &len);
	if (len == 0)
		return 0;
	if (*p == '(') {
		if (p[len - 1] != ')')
			return refuse(err, REQUIREMENT_CODE_INVALID, field,
				      "dependency \"%s\" has an unclosed parenthesis; write name "
				      "(>=1.0) or name>=1.0",
				      s);
		p++;
		len -= 2;
		trim(&p, &len);
		if (len == 0)
			return refuse(err, REQUIREMENT_CODE_SPECIFIER, field,
				      "dependency \"%s\" has empty parentheses; put version "
				      "specifiers inside, as in name (>=1.0)",
				      s);
		return parse_specset(p, len, field, ret, err);
	}
	if (strchr("<>=!~", *p))
		return parse_specset(p, len, field, ret, err);
	if (is_digit(*p))
		return refuse(
		    err, REQUIREMENT_CODE_SPECIFIER, field,
		    "the version in dependency \"%s\" needs an operator before it, as in name==1.0",
		    s);
	return refuse(err, REQUIREMENT_CODE_INVALID, field,
		      "dependency \"%s\" has \"%.*s\" after the package name where version "
		      "specifiers or [extras] were expected, as in " EXAMPLE,
		      s, (int)len, p);
}

/*
 * Normalising can create what the screen refuses in the raw string: a local
 * label "1+a-egg" becomes "1+a.egg", which an installer reads as a file.
 * The canonical form is what gets handed on, so it must pass the screen too.
 */
static int screen_canonical(const struct requirement *req, const char *s, const char *field,
			    struct rb_err *err)
{
	char canon[REQUIREMENT_FORMAT_MAX];

	if (requirement_format(req, canon, sizeof(canon)) < 0)
		return rb_fail(err, RB_FAULT_REQUEST, 0, REQUIREMENT_CODE_TOO_LONG, field,
			       "The dependency is too long once normalised.");
	(void)s;
	return screen(canon, field, err);
}

int requirement_parse(const char *s, const char *field, struct requirement *ret, struct rb_err *err)
{
	struct requirement req = {.nextras = 0};
	const char *p;
	int r;

	r = screen(s, field, err);
	if (r < 0)
		return r;
	p = skip_ws(s);
	r = parse_name(&p, s, field, &req, err);
	if (r < 0)
		return r;
	p = skip_ws(p);
	if (*p == '[') {
		r = parse_extras(&p, s, field, &req, err);
		if (r < 0)
			return r;
	}
	r = parse_versionspec(p, s, field, &req.specset, err);
	if (r < 0)
		return r;
	r = screen_canonical(&req, s, field, err);
	if (r < 0)
		return r;
	*ret = req;
	return 0;
}

int requirement_format(const struct requirement *r, char *out, size_t outsz)
{
	struct out o = out_init(out, outsz);

	put(&o, "%s", r->name);
	for (size_t i = 0; i < r->nextras; i++)
		put(&o, "%s%s", i ? "," : "[", r->extras[i]);
	if (r->nextras)
		put(&o, "]");
	put_specset(&o, &r->specset);
	return out_done(&o);
}

int version_specset_parse(const char *s, const char *field, struct version_specset *ret,
			  struct rb_err *err)
{
	size_t len = s ? strnlen(s, REQUIREMENT_MAX_LEN + 1) : 0;

	/* the same bounds as a dependency, since messages echo @s */
	if (len > REQUIREMENT_MAX_LEN)
		return refuse(err, REQUIREMENT_CODE_SPECIFIER, field,
			      "version specifiers are longer than %d bytes", REQUIREMENT_MAX_LEN);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x7f || ((unsigned char)s[i] < 0x20 && s[i] != '\t'))
			return refuse(err, REQUIREMENT_CODE_SPECIFIER, field,
				      "version specifiers contain the byte 0x%02x at byte %zu; "
				      "only printable ASCII is accepted",
				      (unsigned char)s[i], i);
	return parse_specset(s ? s : "", len, field, ret, err);
}
