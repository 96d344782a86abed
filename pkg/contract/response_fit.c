/*
 * response_fit: measure, then leave out, then cut (see response_fit.h).
 * Builds are repeated rather than estimated: the measure is exact, and the
 * slow path only runs for answers of megabytes that did not fit.
 */
#define _GNU_SOURCE
#include "contract/response_fit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OMIT_REASON "response_too_large"

static size_t measure(response_cost_fn cost, const char *json)
{
	size_t len = strlen(json);

	return cost ? cost(json, len) : len;
}

/* response_build() on a copy of @o whose owned JSON items are duplicates. */
static char *build(const struct run_outcome *o, const struct artifact_list *arts)
{
	struct run_outcome c = *o;

	c.artifacts = arts;
	c.sandbox = o->sandbox ? cJSON_Duplicate(o->sandbox, true) : NULL;
	c.dependencies = o->dependencies ? cJSON_Duplicate(o->dependencies, true) : NULL;
	c.extra = o->extra ? cJSON_Duplicate(o->extra, true) : NULL;
	if ((o->sandbox && !c.sandbox) || (o->dependencies && !c.dependencies) ||
	    (o->extra && !c.extra)) {
		cJSON_Delete(c.sandbox);
		cJSON_Delete(c.dependencies);
		cJSON_Delete(c.extra);
		return NULL;
	}
	return response_build(&c);
}

/* The answer with no output and only @a, as measured; (size_t)-1 on ENOMEM. */
static size_t alone(const struct artifact *a, response_cost_fn cost)
{
	struct run_outcome empty = {.status = "ok", .out = "", .err = ""};
	struct artifact_list l = {.items = (struct artifact *)a, .n = a ? 1 : 0};
	char *json = build(&empty, &l);
	size_t c = json ? measure(cost, json) : (size_t)-1;

	free(json);
	return c;
}

/*
 * Cut the outputs until the answer without artifacts fits: each pass takes
 * the excess off the end of the longer one.  A byte cut takes at least one
 * byte off the answer (more where it was escaped), so a pass overshoots by
 * at most the escaping of the bytes cut, and the answer keeps as much of
 * the output as fits rather than half of it.
 */
static char *cut_outputs(struct run_outcome *o, const struct artifact_list *arts, size_t max,
			 response_cost_fn cost)
{
	char *json = build(o, arts);
	size_t m;

	while (json && (m = measure(cost, json)) > max && (o->out_len || o->err_len)) {
		size_t over = m - max, *len = o->out_len >= o->err_len ? &o->out_len : &o->err_len;

		free(json);
		*len = *len > over ? *len - over : 0;
		if (len == &o->out_len)
			o->out_truncated = true;
		else
			o->err_truncated = true;
		json = build(o, arts);
	}
	if (json && measure(cost, json) > max) {
		free(json);
		json = NULL;
	}
	return json;
}

/*
 * Put back, in path order, every artifact that still fits the room left.
 * An artifact costs what the answer with it alone has over the answer with
 * none, plus its comma.
 */
static void readmit(struct artifact_list *l, const struct artifact_list *orig, size_t room,
		    response_cost_fn cost)
{
	size_t none = alone(NULL, cost);

	for (size_t i = 0; i < l->n && none != (size_t)-1; i++) {
		size_t c;

		if (orig->items[i].omitted)
			continue;
		c = alone(&orig->items[i], cost);
		if (c == (size_t)-1)
			return;
		c = c - none + 1;
		if (c <= room) {
			l->items[i].omitted = NULL;
			room -= c;
		}
	}
}

static char *fit_slow(const struct run_outcome *o, size_t max, response_cost_fn cost)
{
	const struct artifact_list *orig = o->artifacts;
	struct artifact_list l = {.n = orig ? orig->n : 0};
	struct run_outcome c = *o;
	char *json = NULL;
	size_t base;

	l.items = l.n ? malloc(l.n * sizeof(*l.items)) : NULL;
	if (l.n && !l.items)
		return NULL;
	for (size_t i = 0; i < l.n; i++) {
		l.items[i] = orig->items[i];
		if (!l.items[i].omitted)
			l.items[i].omitted = OMIT_REASON;
	}
	json = cut_outputs(&c, &l, max, cost);
	if (json && orig && l.n) {
		base = measure(cost, json);
		readmit(&l, orig, max - base, cost);
		free(json);
		json = build(&c, &l);
		/* The per-artifact costs add up exactly; this only guards the arithmetic. */
		for (size_t i = l.n; json && measure(cost, json) > max && i-- > 0;) {
			if (l.items[i].omitted)
				continue;
			l.items[i].omitted = OMIT_REASON;
			free(json);
			json = build(&c, &l);
		}
	}
	free(l.items);
	return json;
}

char *response_build_fitted(const struct run_outcome *o, size_t max, response_cost_fn cost)
{
	char *json = build(o, o->artifacts);

	if (!json || measure(cost, json) <= max)
		return json;
	free(json);
	return fit_slow(o, max, cost);
}
