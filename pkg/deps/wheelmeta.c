/*
 * wheelmeta: METADATA headers and PEP 508 markers (see wheelmeta.h).
 */
#define _GNU_SOURCE
#include "deps/wheelmeta.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/requirement.h"

/* ---- markers: a recursive-descent parser that evaluates as it goes ---- */

struct mp {
	const char *s;
	const struct marker_env *env;
	struct rb_err *err;
	int depth;
	bool failed;
};

#define MARKER_MAX_DEPTH 32
#define MARKER_MAX_VALUE 256

static void skip_ws(struct mp *p)
{
	while (*p->s == ' ' || *p->s == '\t')
		p->s++;
}

static bool fail(struct mp *p, const char *what)
{
	if (!p->failed)
		rb_fail(p->err, RB_FAULT_REQUEST, 0, "invalid_marker", NULL,
			"not a PEP 508 marker: %s at '%.40s'", what, p->s);
	p->failed = true;
	return false;
}

/* A keyword such as "and" followed by a non-identifier character. */
static bool keyword(struct mp *p, const char *kw)
{
	size_t l = strlen(kw);

	skip_ws(p);
	if (strncmp(p->s, kw, l) != 0 || isalnum((unsigned char)p->s[l]) || p->s[l] == '_')
		return false;
	p->s += l;
	return true;
}

static const char *env_value(const struct marker_env *e, const char *name)
{
	const struct {
		const char *name;
		const char *value;
	} vars[] = {
	    {"python_version", e->python_version},
	    {"python_full_version", e->python_full_version},
	    {"sys_platform", e->sys_platform},
	    {"platform_machine", e->platform_machine},
	    {"platform_system", e->platform_system},
	    {"platform_release", e->platform_release},
	    {"platform_version", e->platform_version},
	    {"platform_python_implementation", e->platform_python_implementation},
	    {"os_name", e->os_name},
	    {"os.name", e->os_name},
	    {"sys.platform", e->sys_platform},
	    {"implementation_name", e->implementation_name},
	    {"implementation_version", e->implementation_version},
	    {"extra", e->extra},
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strcmp(name, vars[i].name) == 0)
			return vars[i].value ? vars[i].value : "";
	return NULL;
}

/* A quoted string or a variable; @ret_is_extra says it was "extra". */
static bool value(struct mp *p, char out[MARKER_MAX_VALUE], bool *ret_is_extra)
{
	const char *v;
	size_t n = 0;

	skip_ws(p);
	*ret_is_extra = false;
	if (*p->s == '"' || *p->s == '\'') {
		char q = *p->s++;
		const char *end = strchr(p->s, q);

		if (!end || end - p->s >= MARKER_MAX_VALUE)
			return fail(p, "an unterminated or too long string");
		memcpy(out, p->s, (size_t)(end - p->s));
		out[end - p->s] = '\0';
		p->s = end + 1;
		return true;
	}
	while ((isalnum((unsigned char)p->s[n]) || p->s[n] == '_' || p->s[n] == '.') &&
	       n < MARKER_MAX_VALUE - 1)
		n++;
	memcpy(out, p->s, n);
	out[n] = '\0';
	v = n ? env_value(p->env, out) : NULL;
	if (!v)
		return fail(p, "an unknown variable");
	*ret_is_extra = strcmp(out, "extra") == 0;
	p->s += n;
	snprintf(out, MARKER_MAX_VALUE, "%s", v);
	return true;
}

static const char *const ops[] = {"===", "==", "!=", "<=", ">=", "~=", "<", ">", "not in", "in"};

static int op(struct mp *p)
{
	skip_ws(p);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i]);

		if (strncmp(p->s, ops[i], l) == 0) {
			if (isalpha((unsigned char)ops[i][0]) && isalnum((unsigned char)p->s[l]))
				continue;
			p->s += l;
			return (int)i;
		}
	}
	fail(p, "a missing comparison operator");
	return -1;
}

/* PEP 440 comparison when the right side is a specifier's version. */
static int version_cmp(const char *l, const char *opname, const char *r, bool *ret_ok)
{
	char spec[MARKER_MAX_VALUE + 4];
	struct version_specset set;
	struct version v;
	struct rb_err ignored;

	*ret_ok = false;
	snprintf(spec, sizeof(spec), "%s%s", opname, r);
	if (version_parse(l, &v) < 0 || version_specset_parse(spec, NULL, &set, &ignored) < 0)
		return 0;
	*ret_ok = true;
	return version_specset_matches(&set, &v, true);
}

static bool compare(const char *l, int o, const char *r)
{
	bool ok = false;
	int c;

	if (o == 8)
		return strstr(r, l) == NULL;
	if (o == 9)
		return strstr(r, l) != NULL;
	if (o == 0)
		return strcmp(l, r) == 0;
	c = version_cmp(l, ops[o], r, &ok);
	if (ok)
		return c;
	c = strcmp(l, r);
	switch (o) {
	case 1:
		return c == 0;
	case 2:
		return c != 0;
	case 3:
		return c <= 0;
	case 4:
		return c >= 0;
	case 6:
		return c < 0;
	case 7:
		return c > 0;
	default:
		return false; /* ~= on something that is not a version */
	}
}

static bool expr_or(struct mp *p);

static bool atom(struct mp *p)
{
	char l[MARKER_MAX_VALUE], r[MARKER_MAX_VALUE];
	bool lx, rx, v;
	int o;

	skip_ws(p);
	if (*p->s == '(') {
		if (++p->depth > MARKER_MAX_DEPTH)
			return fail(p, "parentheses nested too deep");
		p->s++;
		v = expr_or(p);
		skip_ws(p);
		if (*p->s != ')')
			return fail(p, "a missing ')'");
		p->s++;
		p->depth--;
		return v;
	}
	if (!value(p, l, &lx) || (o = op(p)) < 0 || !value(p, r, &rx))
		return false;
	if (lx || rx) { /* extra names compare normalised */
		requirement_normalize_name(l, l, sizeof(l));
		requirement_normalize_name(r, r, sizeof(r));
	}
	return compare(l, o, r);
}

static bool expr_and(struct mp *p)
{
	bool v = atom(p);

	while (!p->failed && keyword(p, "and"))
		v = atom(p) && v;
	return v;
}

static bool expr_or(struct mp *p)
{
	bool v = expr_and(p);

	while (!p->failed && keyword(p, "or"))
		v = expr_and(p) || v;
	return v;
}

int marker_eval(const char *m, const struct marker_env *env, struct rb_err *err)
{
	struct mp p = {.s = m, .env = env, .err = err};
	bool v = expr_or(&p);

	skip_ws(&p);
	if (!p.failed && *p.s)
		fail(&p, "unexpected text");
	return p.failed ? -EINVAL : v;
}

/* ---- METADATA ---------------------------------------------------------- */

static int bad_meta(struct rb_err *err, const char *what)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_bad_metadata", NULL,
		       "METADATA is not valid core metadata: %s", what);
}

/* One header line (with its continuation lines folded) as name and value. */
static char *take_value(const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
		len--;
	return strndup(v, len);
}

static int add_require(struct wheelmeta *m, char *v, struct rb_err *err)
{
	char *semi = strchr(v, ';');
	struct wheelmeta_require *q;

	if (m->n_requires >= WHEELMETA_MAX_REQUIRES)
		return bad_meta(err, "more than 256 Requires-Dist");
	if (!m->requires && !(m->requires = calloc(WHEELMETA_MAX_REQUIRES, sizeof(*q))))
		return -ENOMEM;
	q = &m->requires[m->n_requires];
	q->marker = strdup(semi ? semi + 1 : "");
	if (semi)
		*semi = '\0';
	q->req = take_value(v, strlen(v));
	if (!q->req || !q->marker)
		return -ENOMEM;
	m->n_requires++;
	return 0;
}

static int set_once(char **slot, const char *v, const char *header, struct rb_err *err)
{
	char what[64];

	if (*slot) {
		snprintf(what, sizeof(what), "%s appears twice", header);
		return bad_meta(err, what);
	}
	*slot = take_value(v, strlen(v));
	return *slot ? 0 : -ENOMEM;
}

static int header(struct wheelmeta *m, const char *name, char *v, struct rb_err *err)
{
	if (strcasecmp(name, "Name") == 0)
		return set_once(&m->name, v, "Name", err);
	if (strcasecmp(name, "Version") == 0)
		return set_once(&m->version, v, "Version", err);
	if (strcasecmp(name, "Requires-Python") == 0)
		return set_once(&m->requires_python, v, "Requires-Python", err);
	if (strcasecmp(name, "Requires-Dist") == 0)
		return add_require(m, v, err);
	if (strcasecmp(name, "Provides-Extra") == 0) {
		if (m->n_extras >= WHEELMETA_MAX_EXTRAS)
			return bad_meta(err, "more than 64 Provides-Extra");
		m->extras[m->n_extras] = take_value(v, strlen(v));
		return m->extras[m->n_extras++] ? 0 : -ENOMEM;
	}
	return 0;
}

/* strtok_r skips empty lines: end the text where the headers end. */
static void cut_body(char *s)
{
	char *a = strstr(s, "\n\n"), *b = strstr(s, "\n\r\n");
	char *p = a && (!b || a < b) ? a : b;

	if (p)
		p[1] = '\0';
}

/* Lines up to the first empty one; "Name: value" each, folded lines skipped. */
static int parse_lines(char *text, struct wheelmeta *m, struct rb_err *err)
{
	char *save = NULL;
	int r = 0;

	for (char *line = strtok_r(text, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon;

		if (line[0] == '\0' || strcmp(line, "\r") == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			continue; /* a folded line of a header we do not read (Description) */
		colon = strchr(line, ':');
		if (!colon)
			return bad_meta(err, "a header line without ':'");
		*colon = '\0';
		r = header(m, line, colon + 1, err);
	}
	return r;
}

int wheelmeta_parse(const char *text, size_t len, struct wheelmeta *ret, struct rb_err *err)
{
	struct wheelmeta m = {0};
	char *copy;
	int r;

	if (len > WHEELMETA_MAX_BYTES)
		return bad_meta(err, "larger than 1 MiB");
	if (memchr(text, '\0', len))
		return bad_meta(err, "it holds a NUL byte");
	copy = strndup(text, len);
	if (!copy)
		return rb_fail_sys(err, ENOMEM, "parse METADATA");
	cut_body(copy);
	r = parse_lines(copy, &m, err);
	free(copy);
	if (r >= 0 && (!m.name || !m.version || !*m.name || !*m.version))
		r = bad_meta(err, "Name or Version is missing");
	if (r == -ENOMEM)
		rb_fail_sys(err, ENOMEM, "parse METADATA");
	if (r < 0) {
		wheelmeta_free(&m);
		return r;
	}
	if (!m.requires_python)
		m.requires_python = strdup("");
	*ret = m;
	return 0;
}

void wheelmeta_free(struct wheelmeta *m)
{
	for (size_t i = 0; i < m->n_requires; i++) {
		free(m->requires[i].req);
		free(m->requires[i].marker);
	}
	free(m->requires);
	for (size_t i = 0; i < m->n_extras; i++)
		free(m->extras[i]);
	free(m->name);
	free(m->version);
	free(m->requires_python);
	memset(m, 0, sizeof(*m));
}
