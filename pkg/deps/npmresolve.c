/*
 * npmresolve: a depth-first search over a queue of pending ranges, as
 * resolve.c does for Python: each range either fits the version already
 * chosen for its name or chooses one, highest first, queueing its
 * dependencies; a dead end undoes the choice and tries the next version.
 * The deepest failure found is the one reported.
 */
#define _GNU_SOURCE
#include "deps/npmresolve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/resolve.h"

struct pending {
	const char *name, *range;
	enum npm_dep_kind kind;
	int parent;	   /* index into chosen[], -1 for a want */
	const char *field; /* the want it comes from */
};

struct chosen {
	size_t pkg;
	size_t via; /* the queue entry that chose it */
};

struct state {
	const struct npm_index *ix;
	struct pending *q;
	size_t qlen, qcap;
	struct chosen chosen[NPMRESOLVE_MAX_CLOSURE];
	size_t n_chosen, max_closure;
	unsigned long steps;
	bool oom, too_long, too_many, have_err;
	size_t err_depth;
	struct rb_err *err;
};

bool npm_name_valid(const char *name)
{
	const char *slash = name[0] == '@' ? strchr(name, '/') : NULL,
		   *base = slash ? slash + 1 : name;
	size_t n = strlen(name);

	if (n == 0 || n > NPM_NAME_MAX || (name[0] == '@' && (!slash || slash == name + 1)))
		return false;
	if (base[0] == '\0' || base[0] == '.' || base[0] == '_' || strchr(base, '/'))
		return false;
	for (const char *c = name + (slash ? 1 : 0); *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-._~", *c) || (c == slash)))
			return false;
	return !(slash && (name[1] == '.' || name[1] == '_'));
}

/* "b 1.0.0 <- a 2.0.0 <- dependencies[0]": who pulled queue entry @qi in. */
static void chain(const struct state *st, size_t qi, char *buf, size_t size)
{
	size_t len = 0;
	int hops = 0;

	buf[0] = '\0';
	for (int p = st->q[qi].parent; p >= 0 && hops < 6; hops++) {
		const struct npm_pkg *pk = &st->ix->pkgs[st->chosen[p].pkg];

		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s %s <- ",
					pk->name, pk->version);
		qi = st->chosen[p].via;
		p = st->q[qi].parent;
	}
	if (len < size)
		snprintf(buf + len, size - len, "%s", st->q[qi].field);
}

/* Keep this error when it was found deeper than the one kept so far. */
static int record(struct state *st, size_t qi, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int record(struct state *st, size_t qi, const char *code, const char *fmt, ...)
{
	char msg[sizeof(st->err->msg)];
	va_list ap;

	if (st->have_err && qi <= st->err_depth)
		return -EINVAL; /* the first at a depth: the highest version's */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rb_fail(st->err, RB_FAULT_REQUEST, 0, code, st->q[qi].field, "%s", msg);
	st->have_err = true;
	st->err_depth = qi;
	return -EINVAL;
}

/* "4.17.21, 4.17.20" of every version of @name, highest first. */
static void versions_of(const struct state *st, const char *name, char *buf, size_t size)
{
	const struct npm_pkg *last = NULL;
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		const struct npm_pkg *best = NULL;

		for (size_t i = 0; i < st->ix->n; i++) {
			const struct npm_pkg *p = &st->ix->pkgs[i];

			if (strcmp(p->name, name) == 0 &&
			    (!last || semver_compare(&p->v, &last->v) < 0) &&
			    (!best || semver_compare(&p->v, &best->v) > 0))
				best = p;
		}
		if (!best || len >= size)
			return;
		len +=
		    (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", best->version);
		last = best;
	}
}

/* Up to three names of the index closest to @name, or "none close". */
static void closest_names(const struct state *st, const char *name, char *buf, size_t size)
{
	const char *best[3] = {0};
	unsigned dist[3] = {100, 100, 100};

	for (size_t i = 0; i < st->ix->n; i++) {
		const char *n = st->ix->pkgs[i].name;
		unsigned d = resolve_name_distance(name, n);

		if (strstr(n, name) || strstr(name, n))
			d = d < 2 ? d : 2;
		for (int k = 0; k < 3; k++) {
			if (best[k] && strcmp(best[k], n) == 0)
				break;
			if (d < dist[k]) {
				memmove(best + k + 1, best + k, (size_t)(2 - k) * sizeof(best[0]));
				memmove(dist + k + 1, dist + k, (size_t)(2 - k) * sizeof(dist[0]));
				best[k] = n;
				dist[k] = d;
				break;
			}
		}
	}
	snprintf(buf, size, "%s%s%s%s%s", best[0] && dist[0] <= 4 ? best[0] : "none close",
		 best[1] && dist[1] <= 4 ? ", " : "", best[1] && dist[1] <= 4 ? best[1] : "",
		 best[2] && dist[2] <= 4 ? ", " : "", best[2] && dist[2] <= 4 ? best[2] : "");
}

static int push(struct state *st, const char *name, const char *range, enum npm_dep_kind kind,
		int parent, const char *field)
{
	/* solve() recurses once per queue entry: the bound on the queue is the bound on the stack.
	 */
	if (st->qlen == NPMRESOLVE_MAX_QUEUE) {
		st->too_long = true;
		return -E2BIG;
	}
	if (st->qlen == st->qcap) {
		size_t cap = st->qcap ? st->qcap * 2 : 64;
		struct pending *q = realloc(st->q, cap * sizeof(*q));

		if (!q) {
			st->oom = true;
			return -ENOMEM;
		}
		st->q = q;
		st->qcap = cap;
	}
	st->q[st->qlen++] = (struct pending){name, range, kind, parent, field};
	return 0;
}

static int find_chosen(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->n_chosen; i++)
		if (strcmp(st->ix->pkgs[st->chosen[i].pkg].name, name) == 0)
			return (int)i;
	return -1;
}

static int solve(struct state *st, size_t qi);

/* The next range names a package already chosen. */
static __attribute__((noinline)) int against_chosen(struct state *st, size_t qi, int c)
{
	const struct pending *pd = &st->q[qi];
	const struct npm_pkg *pk = &st->ix->pkgs[st->chosen[c].pkg];
	char by[600], first[600];

	if (semver_satisfies(&pk->v, pd->range) == 1 || pd->kind != NPM_DEP_REQUIRED)
		return solve(st, qi + 1);
	chain(st, qi, by, sizeof(by));
	chain(st, st->chosen[c].via, first, sizeof(first));
	return record(st, qi, "dependency_conflict",
		      "'%s@%s' (required by %s) conflicts with %s %s, chosen for %s; no version "
		      "in the cache satisfies both, and runbox installs one version of each "
		      "package",
		      pd->name, pd->range, by, pk->name, pk->version, first);
}

/* Nothing in the cache fits queue entry @qi: say what there is. */
static __attribute__((noinline)) int not_found(struct state *st, size_t qi, bool name_known)
{
	const struct pending *pd = &st->q[qi];
	char by[600], have[600];

	chain(st, qi, by, sizeof(by));
	if (!name_known) {
		closest_names(st, pd->name, have, sizeof(have));
		return record(st, qi, "dependency_not_found",
			      "No package '%s' in the npm cache (required by %s); closest names: "
			      "%s.",
			      pd->name, by, have);
	}
	versions_of(st, pd->name, have, sizeof(have));
	return record(st, qi, "dependency_not_found",
		      "'%s@%s' (required by %s) matches none of the cached versions of %s: %s.",
		      pd->name, pd->range, by, pd->name, have);
}

/* Choose the index's @i for queue entry @qi, queue its dependencies, go on. */
static int try_candidate(struct state *st, size_t qi, size_t i)
{
	const struct npm_pkg *pk = &st->ix->pkgs[i];
	size_t qmark = st->qlen;
	int c = (int)st->n_chosen, r = 0;

	if (st->n_chosen == st->max_closure) {
		st->too_many = true;
		return -E2BIG;
	}
	st->chosen[st->n_chosen++] = (struct chosen){i, qi};
	for (size_t d = 0; d < pk->n_deps && r >= 0; d++)
		r = push(st, pk->deps[d].name, pk->deps[d].range, pk->deps[d].kind, c,
			 st->q[qi].field);
	if (r >= 0)
		r = solve(st, qi + 1);
	if (r < 0) {
		st->n_chosen--;
		st->qlen = qmark;
	}
	return r;
}

/* The next fitting version of @name below @below (NULL: the highest), or -1. */
static long next_candidate(const struct state *st, const struct pending *pd,
			   const struct semver *below)
{
	long best = -1;

	for (size_t i = 0; i < st->ix->n; i++) {
		const struct npm_pkg *p = &st->ix->pkgs[i];

		if (strcmp(p->name, pd->name) != 0 || semver_satisfies(&p->v, pd->range) != 1 ||
		    (below && semver_compare(&p->v, below) >= 0))
			continue;
		if (best < 0 || semver_compare(&p->v, &st->ix->pkgs[best].v) > 0)
			best = (long)i;
	}
	return best;
}

static bool name_known(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->ix->n; i++)
		if (strcmp(st->ix->pkgs[i].name, name) == 0)
			return true;
	return false;
}

static int solve(struct state *st, size_t qi)
{
	const struct pending *pd;
	const struct semver *below = NULL;
	bool tried = false;
	int c, r = -EINVAL;
	long i;

	if (qi == st->qlen)
		return 0;
	pd = &st->q[qi];
	if (!semver_range_valid(pd->range)) {
		char by[600];

		if (pd->kind != NPM_DEP_REQUIRED)
			return solve(st, qi + 1);
		chain(st, qi, by, sizeof(by));
		return record(st, qi, "dependency_not_found",
			      "'%s@%s' (required by %s) is not a version range; the npm cache "
			      "serves registry versions only, not URLs, git or file: specs.",
			      pd->name, pd->range, by);
	}
	c = find_chosen(st, pd->name);
	if (c >= 0)
		return against_chosen(st, qi, c);
	while ((i = next_candidate(st, pd, below)) >= 0) {
		if (++st->steps > NPMRESOLVE_MAX_STEPS)
			return -E2BIG;
		r = try_candidate(st, qi, (size_t)i);
		if (r >= 0 || r == -ENOMEM || st->too_long || st->too_many)
			return r;
		below = &st->ix->pkgs[i].v;
		tried = true;
	}
	if (tried)
		return r; /* every fitting version led to a failure, already recorded */
	if (pd->kind != NPM_DEP_REQUIRED)
		return solve(st, qi + 1);
	return not_found(st, qi, name_known(st, pd->name));
}

/* The final refusal when the search gave up rather than failed. */
static int gave_up(struct state *st, int r)
{
	if (st->oom || r == -ENOMEM)
		return rb_fail_sys(st->err, ENOMEM, "resolve dependencies");
	if (st->too_long || st->steps > NPMRESOLVE_MAX_STEPS)
		return rb_fail(st->err, RB_FAULT_REQUEST, 0, "too_many_dependencies",
			       "dependencies",
			       "The dependencies need more checks than runbox makes (%d ranges "
			       "at once, %d tries); ask for fewer packages.",
			       NPMRESOLVE_MAX_QUEUE, NPMRESOLVE_MAX_STEPS);
	if (st->too_many && !st->have_err)
		return rb_fail(st->err, RB_FAULT_REQUEST, 0, "too_many_dependencies",
			       "dependencies",
			       "The dependencies need more than %zu packages; this runbox installs "
			       "at most %zu.",
			       st->max_closure, st->max_closure);
	return r;
}

/* Solve the queue from @from with what is chosen so far; on failure restore both. */
static int solve_more(struct state *st, size_t from)
{
	size_t chosen = st->n_chosen;
	int r = solve(st, from);

	if (r < 0) {
		st->n_chosen = chosen;
		st->qlen = from;
	}
	return r;
}

/*
 * The pre-installed packages, each with its closure, after the request's:
 * one that clashes with the request's choice is left out, and so is its
 * failure.
 */
static void add_preinstalled(struct state *st)
{
	struct rb_err ignored;
	struct rb_err *keep = st->err;

	st->err = &ignored;
	for (size_t i = 0; i < st->ix->n; i++) {
		const struct npm_pkg *p = &st->ix->pkgs[i];
		size_t from = st->qlen;

		if (!p->preinstalled || find_chosen(st, p->name) >= 0)
			continue;
		st->have_err = st->too_many = false;
		if (push(st, p->name, p->version, NPM_DEP_REQUIRED, -1,
			 "the pre-installed packages") < 0)
			break;
		if (solve_more(st, from) == 0)
			continue;
		if (st->oom || st->too_long)
			break;
	}
	st->err = keep;
}

int npmresolve_run(const struct npm_index *ix, const struct npm_want *wants, size_t n,
		   size_t max_closure, struct npm_result *ret, struct rb_err *err)
{
	struct state *st = calloc(1, sizeof(*st));
	int r = 0;

	if (!st)
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	st->ix = ix;
	st->err = err;
	st->max_closure =
	    max_closure < NPMRESOLVE_MAX_CLOSURE ? max_closure : NPMRESOLVE_MAX_CLOSURE;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = push(st, wants[i].name, wants[i].range, NPM_DEP_REQUIRED, -1, wants[i].field);
	if (r >= 0)
		r = solve(st, 0);
	if (r < 0)
		r = gave_up(st, r);
	ret->n_asked = st->n_chosen;
	if (r >= 0)
		add_preinstalled(st);
	if (r >= 0) {
		ret->n = st->n_chosen;
		for (size_t i = 0; i < st->n_chosen; i++)
			ret->pkg[i] = st->chosen[i].pkg;
	}
	free(st->q);
	free(st);
	return r;
}

/* A spec npm would fetch from elsewhere than the registry: a URL, git, a file, an alias. */
static bool foreign_spec(const char *s)
{
	static const char *const words[] = {"://",   "git+", "git@",	   "github:", "file:",
					    "link:", "npm:", "workspace:", "http:",   "https:"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(s, words[i]))
			return true;
	return strchr(s, '/') && s[0] != '@';
}

int npmresolve_parse_spec(const char *spec, char *name, const char **ret_range,
			  const char **ret_why)
{
	const char *at = strchr(spec + (spec[0] == '@'), '@');
	size_t len = at ? (size_t)(at - spec) : strlen(spec);

	*ret_range = at ? at + 1 : "";
	if (foreign_spec(spec)) {
		*ret_why = "it names a URL, git, a file or an alias; the npm cache serves "
			   "registry versions only";
		return -EINVAL;
	}
	if (len == 0 || len > NPM_NAME_MAX) {
		*ret_why = "it has no package name";
		return -EINVAL;
	}
	memcpy(name, spec, len);
	name[len] = '\0';
	if (!npm_name_valid(name)) {
		*ret_why = "the name is not an npm package name";
		return -EINVAL;
	}
	if (!semver_range_valid(*ret_range)) {
		*ret_why = "what follows '@' is not a version range (e.g. ^4.17, ~1.2.3, >=2 <3, "
			   "1.x, latest)";
		return -EINVAL;
	}
	return 0;
}
