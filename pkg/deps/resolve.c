/*
 * resolve: a chronological backtracking resolver (see resolve.h).
 *
 * Requirements wait in a queue.  Each step takes the next one: a name
 * already chosen must satisfy it (else this branch fails); a new name tries
 * its versions from the highest down, each time queueing the chosen
 * version's own requirements and carrying on.  A failed branch undoes its
 * choices and queue entries.  The error kept is the one found deepest in
 * the queue: the furthest any branch got, which names the real clash.
 */
#define _GNU_SOURCE
#include "deps/resolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	const char *req;	       /* a package's requirement string, or */
	const struct requirement *top; /* one of the request's, parsed */
	int parent;		       /* chosen[] index that asked, -1: the request */
	size_t field;		       /* index of the request's entry it came from */
};

struct chosen {
	size_t pkg;
	size_t via;	 /* queue index that chose it */
	uint64_t extras; /* bit i: pkg's extras[i] is queued */
};

struct state {
	const struct resolve_index *ix;
	const char *const *fields;
	size_t max_closure;
	struct pending *q;
	size_t qlen, qcap;
	struct chosen chosen[256];
	size_t n_chosen;
	unsigned long steps;
	bool have_err, oom, too_long; /* too_long: the queue hit RESOLVE_MAX_QUEUE */
	bool fatal;		      /* a source's callback failed: fatal_err ends the run */
	size_t err_depth;
	struct rb_err *err;
	struct rb_err fatal_err;
};

/* Whether the search must stop (not just try the next candidate). */
static bool stopped(const struct state *st)
{
	return st->oom || st->too_long || st->fatal;
}

unsigned resolve_name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[101];

	if (la > 100 || lb > 100)
		return 100;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* "b 1.0 <- a 2.0 <- dependencies[0]": who pulled queue entry @qi in. */
static void chain(const struct state *st, size_t qi, char *buf, size_t size)
{
	size_t len = 0;
	int hops = 0;

	buf[0] = '\0';
	for (int p = st->q[qi].parent; p >= 0 && hops < 6; hops++) {
		const struct resolve_pkg *pk = &st->ix->pkgs[st->chosen[p].pkg];

		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s %s <- ",
					pk->name, pk->version);
		qi = st->chosen[p].via;
		p = st->q[qi].parent;
	}
	if (len < size)
		snprintf(buf + len, size - len, "%s", st->fields[st->q[qi].field]);
}

/* Keep this error when it was found deeper than the one kept so far. */
static int record(struct state *st, size_t qi, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int record(struct state *st, size_t qi, const char *code, const char *fmt, ...)
{
	char msg[sizeof(st->err->msg)];
	va_list ap;

	if (st->have_err && qi <= st->err_depth)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rb_fail(st->err, RB_FAULT_REQUEST, 0, code, st->fields[st->q[qi].field], "%s", msg);
	st->have_err = true;
	st->err_depth = qi;
	return -EINVAL;
}

/* "1.0, 2.0" of every version of @name in the index, highest first. */
static void versions_of(const struct state *st, const char *name, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < st->ix->n; i++)
		if (strcmp(st->ix->pkgs[i].name, name) == 0)
			len +=
			    (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s%s",
					     len ? ", " : "", st->ix->pkgs[i].version,
					     st->ix->pkgs[i].preinstalled ? " (pre-installed)"
					     : st->ix->pkgs[i].yanked ? " (yanked: pin it with ==)"
								      : "");
}

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

static int push(struct state *st, const char *req, const struct requirement *top, int parent,
		size_t field)
{
	/*
	 * solve() recurses once per queue entry: the bound on the queue is the
	 * bound on the stack.  A baked cache allows 64 packages of 256
	 * requirements each, enough to overflow it without this.
	 */
	if (st->qlen == RESOLVE_MAX_QUEUE) {
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
	st->q[st->qlen++] = (struct pending){req, top, parent, field};
	return 0;
}

/* Parse queue entry @qi (package requirements are parsed only when used). */
static int parse_at(struct state *st, size_t qi, struct requirement *rq)
{
	char by[600];
	struct rb_err e;

	if (st->q[qi].top) {
		*rq = *st->q[qi].top;
		return 0;
	}
	if (requirement_parse(st->q[qi].req, NULL, rq, &e) == 0)
		return 0;
	chain(st, qi, by, sizeof(by));
	return record(st, qi, "dependency_not_found",
		      "'%s' (required by %s) cannot be resolved: %s", st->q[qi].req, by, e.msg);
}

/* Queue the requirements of @extras of chosen[@c] not queued yet. */
static int push_extras(struct state *st, size_t qi, size_t c, const struct requirement *rq)
{
	const struct resolve_pkg *pk = &st->ix->pkgs[st->chosen[c].pkg];
	char by[600];

	/*
	 * A pre-installed package's extras are not in the index: what they
	 * need is the interpreter's business, as its other dependencies are.
	 */
	if (pk->preinstalled)
		return 0;
	for (size_t e = 0; e < rq->nextras; e++) {
		size_t k = 0;

		while (k < pk->n_extras && strcmp(pk->extras[k].name, rq->extras[e]) != 0)
			k++;
		if (k == pk->n_extras) {
			chain(st, qi, by, sizeof(by));
			return record(st, qi, "dependency_not_found",
				      "%s %s has no extra '%s' (asked for by %s)", pk->name,
				      pk->version, rq->extras[e], by);
		}
		if (st->chosen[c].extras & (1ULL << k))
			continue;
		st->chosen[c].extras |= 1ULL << k;
		for (size_t i = 0; i < pk->extras[k].n_requires; i++)
			if (push(st, pk->extras[k].requires[i], NULL, (int)c, st -> q[qi].field) <
			    0)
				return -E2BIG;
	}
	return 0;
}

static int solve(struct state *st, size_t qi);

/* Out of line: its buffers stay off the recursion's stack frames. */
static __attribute__((noinline)) int conflict(struct state *st, size_t qi, size_t c,
					      const struct requirement *rq)
{
	const struct resolve_pkg *pk = &st->ix->pkgs[st->chosen[c].pkg];
	char by[600], first[600], spec[REQUIREMENT_FORMAT_MAX];

	chain(st, qi, by, sizeof(by));
	chain(st, st->chosen[c].via, first, sizeof(first));
	requirement_format(rq, spec, sizeof(spec));
	return record(st, qi, "dependency_conflict",
		      "'%s' (required by %s) conflicts with %s %s%s, chosen for %s; "
		      "no version in the cache satisfies both",
		      spec, by, pk->name, pk->version,
		      pk->preinstalled ? " (pre-installed, cannot be replaced)" : "", first);
}

/* The next requirement names a package already chosen. */
static int check_chosen(struct state *st, size_t qi, size_t c, const struct requirement *rq)
{
	const struct resolve_pkg *pk = &st->ix->pkgs[st->chosen[c].pkg];
	size_t qlen = st->qlen;
	uint64_t extras = st->chosen[c].extras;
	int r;

	if (!requirement_matches(rq, &pk->v, true))
		return conflict(st, qi, c, rq);
	r = push_extras(st, qi, c, rq);
	if (r >= 0)
		r = solve(st, qi + 1);
	if (r < 0) {
		st->qlen = qlen;
		st->chosen[c].extras = extras;
	}
	return r;
}

/* A pending entry's requirements, from the source; < 0 when it cannot be used. */
static __attribute__((noinline)) int describe(struct state *st, size_t qi, size_t pkg)
{
	const struct resolve_source *src = st->ix->src;
	struct rb_err e;
	char by[600], why[sizeof(e.msg)];
	int r = src && src->describe ? src->describe(src->ctx, pkg, &e) : 1;

	if (r == 0)
		return 0;
	if (r < 0) {
		st->fatal = true;
		st->fatal_err = e;
		return -EINVAL;
	}
	snprintf(why, sizeof(why), "%s", src ? e.msg : "its requirements are unknown");
	chain(st, qi, by, sizeof(by));
	return record(st, qi, "dependency_not_found", "%s %s (required by %s) cannot be used: %s",
		      st->ix->pkgs[pkg].name, st->ix->pkgs[pkg].version, by, why);
}

/* Choose index entry @pkg for queue entry @qi, then go on. */
static int try_candidate(struct state *st, size_t qi, size_t pkg, const struct requirement *rq)
{
	const struct resolve_pkg *pk = &st->ix->pkgs[pkg];
	size_t qlen = st->qlen, c = st->n_chosen;
	int r = 0;

	if (pk->pending && describe(st, qi, pkg) < 0)
		return -EINVAL;
	pk = &st->ix->pkgs[pkg]; /* describe() may have moved the array */
	st->chosen[st->n_chosen++] = (struct chosen){pkg, qi, 0};
	for (size_t i = 0; !pk->preinstalled && i < pk->n_requires && r >= 0; i++)
		r = push(st, pk->requires[i], NULL, (int)c, st -> q[qi].field);
	if (r >= 0)
		r = push_extras(st, qi, c, rq);
	if (r >= 0)
		r = solve(st, qi + 1);
	if (r < 0) {
		st->qlen = qlen;
		st->n_chosen = c;
	}
	return r;
}

/* Whether entry @a is tried before entry @b: lower tier, then higher version. */
static bool before(const struct state *st, size_t a, size_t b)
{
	const struct resolve_pkg *x = &st->ix->pkgs[a], *y = &st->ix->pkgs[b];

	return x->tier != y->tier ? x->tier < y->tier : version_compare(&x->v, &y->v) > 0;
}

/* Insert index entry @i into @out (best first), keeping the best @cap. */
static void insert_sorted(const struct state *st, size_t *out, size_t *n, size_t cap, size_t i)
{
	size_t at;

	if (*n < cap)
		at = (*n)++;
	else if (before(st, i, out[cap - 1]))
		at = cap - 1; /* full: the worst one drops out */
	else
		return;
	while (at > 0 && before(st, i, out[at - 1])) {
		out[at] = out[at - 1];
		at--;
	}
	out[at] = i;
}

/* Whether @rq pins exactly @v with == (what lets a yanked file be chosen). */
static bool pinned(const struct requirement *rq, const struct version *v)
{
	for (size_t i = 0; i < rq->specset.nspecs; i++)
		if (rq->specset.specs[i].op == VERSION_OP_EQ && !rq->specset.specs[i].wildcard &&
		    version_compare(&rq->specset.specs[i].version, v) == 0)
			return true;
	return false;
}

/*
 * Index entries of @name from entry @from on satisfying @rq, best first
 * (the best @cap of them).  Pre-releases only when nothing else fits, as
 * pip does.
 */
static size_t candidates(const struct state *st, const struct requirement *rq, size_t from,
			 size_t *out, size_t cap, bool *ret_any_name)
{
	size_t n = 0;
	bool pre = false, installed = false;

	/* A pre-installed package is the only candidate of its name. */
	for (size_t i = 0; i < st->ix->n && !installed; i++)
		installed =
		    st->ix->pkgs[i].preinstalled && strcmp(st->ix->pkgs[i].name, rq->name) == 0;
	*ret_any_name = false;
	for (int pass = 0; pass < 2 && n == 0; pass++, pre = true)
		for (size_t i = from; i < st->ix->n; i++) {
			const struct resolve_pkg *pk = &st->ix->pkgs[i];

			if (strcmp(pk->name, rq->name) != 0 || (installed && !pk->preinstalled))
				continue;
			*ret_any_name = true;
			if (pk->yanked && !pinned(rq, &pk->v))
				continue;
			if (requirement_matches(rq, &pk->v, pre || pk->preinstalled))
				insert_sorted(st, out, &n, cap, i);
		}
	return n;
}

static __attribute__((noinline)) int refuse_missing(struct state *st, size_t qi,
						    const struct requirement *rq, bool any)
{
	char by[600], spec[REQUIREMENT_FORMAT_MAX], have[600];

	const struct resolve_source *src = st->ix->src;
	const char *code = NULL,
		   *why = src && src->explain ? src->explain(src->ctx, rq->name, &code) : NULL;

	chain(st, qi, by, sizeof(by));
	requirement_format(rq, spec, sizeof(spec));
	if (why && !any)
		return record(st, qi, code, "'%s' (required by %s) cannot be served: %s", spec, by,
			      why);
	if (!any) {
		closest_names(st, rq->name, have, sizeof(have));
		return record(st, qi, "dependency_not_found",
			      "'%s' (required by %s) is not %sin the wheel cache or pre-installed; "
			      "closest names there: %s",
			      spec, by, src ? "on the package index, " : "", have);
	}
	for (size_t i = 0; i < st->ix->n; i++)
		if (st->ix->pkgs[i].preinstalled && strcmp(st->ix->pkgs[i].name, rq->name) == 0)
			return record(st, qi, "dependency_conflict",
				      "'%s' (required by %s) asks for a version the pre-installed "
				      "%s %s does not satisfy; pre-installed packages cannot be "
				      "replaced",
				      spec, by, rq->name, st->ix->pkgs[i].version);
	versions_of(st, rq->name, have, sizeof(have));
	return record(st, qi, "dependency_not_found",
		      "no version of %s satisfies '%s' (required by %s); available: %s", rq->name,
		      spec, by, have);
}

static __attribute__((noinline)) int refuse_closure(struct state *st, size_t qi,
						    const struct requirement *rq)
{
	char by[600];

	chain(st, qi, by, sizeof(by));
	return record(st, qi, "too_many_dependencies",
		      "the dependencies need more than %zu packages (the closure cap) "
		      "when adding %s (required by %s)",
		      st->max_closure, rq->name, by);
}

/* Try @n candidates in order: 0 when one leads to a full resolution. */
static int try_all(struct state *st, size_t qi, const struct requirement *rq, const size_t *cand,
		   size_t n)
{
	if (n && st->n_chosen >= st->max_closure)
		return refuse_closure(st, qi, rq);
	for (size_t i = 0; i < n; i++) {
		int r = try_candidate(st, qi, cand[i], rq);

		if (r >= 0 || stopped(st))
			return r;
	}
	return -EINVAL;
}

/* Ask the source for @name's entries; how many were added (< 0 ends the run). */
static int expand(struct state *st, const char *name)
{
	const struct resolve_source *src = st->ix->src;
	int r;

	for (size_t i = 0; i < st->ix->n; i++)
		if (st->ix->pkgs[i].preinstalled && strcmp(st->ix->pkgs[i].name, name) == 0)
			return 0; /* nothing replaces a pre-installed package */
	r = src->expand(src->ctx, name, &st->fatal_err);
	st->fatal = r < 0;
	return r;
}

static int choose_new(struct state *st, size_t qi, const struct requirement *rq)
{
	size_t cand[64], n, m = 0, from;
	bool any, more = false;
	int r, added;

	n = candidates(st, rq, 0, cand, 64, &any);
	r = try_all(st, qi, rq, cand, n);
	if (r >= 0 || stopped(st))
		return r;
	from = st->ix->n;
	added = st->ix->src ? expand(st, rq->name) : 0;
	if (added < 0)
		return -EINVAL;
	if (added > 0) {
		m = candidates(st, rq, from, cand, 64, &more);
		r = try_all(st, qi, rq, cand, m);
		if (r >= 0 || stopped(st))
			return r;
	}
	return n + m ? -EINVAL : refuse_missing(st, qi, rq, any || more);
}

static int solve(struct state *st, size_t qi)
{
	struct requirement *rq;
	int r;

	if (qi == st->qlen)
		return 0;
	if (++st->steps > RESOLVE_MAX_STEPS) {
		st->have_err = false;
		return record(st, qi, "dependency_conflict",
			      "resolution gave up after %d tries: the cache's versions leave too "
			      "many combinations; pin versions in the request",
			      RESOLVE_MAX_STEPS);
	}
	rq = malloc(sizeof(*rq));
	if (!rq || parse_at(st, qi, rq) < 0) {
		st->oom = !rq;
		free(rq);
		return -EINVAL;
	}
	r = -1;
	for (size_t c = 0; c < st->n_chosen && r == -1; c++)
		if (strcmp(st->ix->pkgs[st->chosen[c].pkg].name, rq->name) == 0)
			r = check_chosen(st, qi, c, rq);
	if (r == -1)
		r = choose_new(st, qi, rq);
	free(rq);
	return r;
}

int resolve_run(const struct resolve_index *ix, const struct requirement *reqs,
		const char *const *fields, size_t n, size_t max_closure, struct resolve_result *ret,
		struct rb_err *err)
{
	struct state *st = calloc(1, sizeof(*st));
	int r = 0;

	if (!st)
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	st->ix = ix;
	st->fields = fields;
	st->max_closure = max_closure < 256 ? max_closure : 256;
	st->err = err;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = push(st, NULL, &reqs[i], -1, i);
	if (r >= 0)
		r = solve(st, 0);
	if (st->fatal)
		*err = st->fatal_err;
	else if (st->oom)
		r = rb_fail_sys(err, ENOMEM, "resolve dependencies");
	else if (st->too_long)
		r = rb_fail(err, RB_FAULT_REQUEST, 0, "too_many_dependencies", "dependencies",
			    "The dependencies' requirements need more than %d checks at once; "
			    "ask for fewer packages.",
			    RESOLVE_MAX_QUEUE);
	if (r >= 0) {
		ret->n = st->n_chosen;
		for (size_t i = 0; i < st->n_chosen; i++)
			ret->pkg[i] = st->chosen[i].pkg;
	}
	free(st->q);
	free(st);
	return r < 0 ? -EINVAL : 0;
}
