/*
 * npmdeps: specs → npmresolve → the trees to link (see npmdeps.h).
 */
#define _GNU_SOURCE
#include "deps/npmdeps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/npmcache.h"
#include "deps/npmresolve.h"

/* The cache of this process, read on first use (a server reads it before forking workers). */
static struct npmcache cache;
static char cache_of[512];
static bool loaded;

static int load(const char *cache_dir, struct rb_err *err)
{
	int r;

	if (loaded && strcmp(cache_of, cache_dir) == 0)
		return 0;
	if (loaded)
		npmcache_free(&cache);
	loaded = false;
	r = cache_dir[0] ? npmcache_load(cache_dir, &cache, err) : 0;
	if (r < 0)
		return r;
	snprintf(cache_of, sizeof(cache_of), "%s", cache_dir);
	loaded = true;
	return 0;
}

/* Parse every spec; a name asked for twice is refused. */
static int parse_specs(const char *const *specs, size_t n, struct npm_want *w,
		       char (*names)[NPM_NAME_MAX + 1], char (*fields)[40], struct rb_err *err)
{
	const char *why;

	for (size_t i = 0; i < n; i++) {
		snprintf(fields[i], sizeof(fields[i]), "dependencies[%zu]", i);
		if (npmresolve_parse_spec(specs[i], names[i], &w[i].range, &why) < 0)
			return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_dependency", fields[i],
				       "'%s' in 'dependencies' is not an npm package spec such as "
				       "\"lodash\" or \"lodash@^4.17\": %s.",
				       specs[i], why);
		w[i].name = names[i];
		w[i].field = fields[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return rb_fail(err, RB_FAULT_REQUEST, 0, "duplicate_dependency",
					       fields[i],
					       "'%s' is asked for twice in 'dependencies' (also as "
					       "'%s'); give each package once.",
					       names[i], specs[j]);
	}
	return 0;
}

static int fill(const struct deps_config *cfg, const struct npm_result *res,
		struct deps_result *ret, struct rb_err *err)
{
	ret->used = calloc(res->n ? res->n : 1, sizeof(*ret->used));
	if (!ret->used)
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	for (size_t i = 0; i < res->n; i++)
		ret->used[i].lock_fd = -1; /* nothing of the npm cache is fetched or locked */
	for (size_t i = 0; i < res->n; i++) {
		const struct npm_pkg *p = &cache.ix.pkgs[res->pkg[i]];
		struct deps_used *u = &ret->used[i];
		char tree[NPM_NAME_MAX + 120];

		npmcache_tree(p->name, p->version, tree, sizeof(tree));
		if (strlen(p->name) >= sizeof(u->name) ||
		    strlen(p->version) >= sizeof(u->version) ||
		    (size_t)snprintf(u->path, sizeof(u->path), "%s/%s/%s", cfg->cache_dir,
				     NPMCACHE_DIR, tree) >= sizeof(u->path))
			return rb_fail(err, RB_FAULT_INTERNAL, ENAMETOOLONG, "invalid_cache", NULL,
				       "The npm cache's path of %s@%s is too long.", p->name,
				       p->version);
		snprintf(u->name, sizeof(u->name), "%s", p->name);
		snprintf(u->version, sizeof(u->version), "%s", p->version);
		u->source = i < res->n_asked ? DEPS_CACHE : DEPS_PREINSTALLED;
		u->fetch_ms = -1;
	}
	ret->n = res->n;
	return 0;
}

/* Dependencies asked of a runbox without an npm cache. */
static int no_cache(const char *const *specs, struct rb_err *err)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, "dependency_not_found", "dependencies[0]",
		       "This runbox has no npm cache (the operator bakes one with `runbox bake` "
		       "and sets RUNBOX_CACHE_DIR): '%s' cannot be installed.",
		       specs[0]);
}

int npmdeps_resolve(const struct deps_config *cfg, const char *const *specs, size_t n,
		    struct deps_result *ret, size_t *ret_asked, struct rb_err *err)
{
	char(*names)[NPM_NAME_MAX + 1] = calloc(n ? n : 1, sizeof(*names));
	char(*fields)[40] = calloc(n ? n : 1, sizeof(*fields));
	struct npm_want *w = calloc(n ? n : 1, sizeof(*w));
	struct npm_result *res = calloc(1, sizeof(*res));

	*ret_asked = 0;
	int r = names && fields && w && res ? 0 : rb_fail_sys(err, ENOMEM, "resolve dependencies");

	memset(ret, 0, sizeof(*ret));
	if (r >= 0)
		r = parse_specs(specs, n, w, names, fields, err);
	if (r >= 0)
		r = load(cfg->cache_dir ? cfg->cache_dir : "", err);
	if (r >= 0 && n && !cache.ix.n)
		r = no_cache(specs, err);
	if (r >= 0 && (n || cache.ix.n))
		r = npmresolve_run(&cache.ix, w, n, cfg->max_closure, res, err);
	*ret_asked = r >= 0 ? res->n_asked : 0;
	if (r >= 0 && res->n)
		r = fill(cfg, res, ret, err);
	free(names);
	free(fields);
	free(w);
	free(res);
	if (r < 0)
		deps_result_free(ret);
	return r;
}

int npmdeps_list(const char *cache_dir, cJSON **ret, struct rb_err *err)
{
	int r = load(cache_dir ? cache_dir : "", err);

	*ret = cJSON_CreateArray();
	if (r < 0 || !*ret)
		return r < 0 ? r : rb_fail_sys(err, ENOMEM, "list the npm cache");
	for (size_t i = 0; i < cache.ix.n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", cache.ix.pkgs[i].name);
		cJSON_AddStringToObject(o, "version", cache.ix.pkgs[i].version);
		cJSON_AddBoolToObject(o, "preinstalled", cache.ix.pkgs[i].preinstalled);
		cJSON_AddItemToArray(*ret, o);
	}
	return 0;
}

size_t npmdeps_read_dir(const struct deps_config *cfg, const struct deps_result *r, char *buf,
			size_t size)
{
	int n;

	if (!r->n || !cfg->cache_dir || !cfg->cache_dir[0])
		return 0;
	n = snprintf(buf, size, "%s/%s/pkgs", cfg->cache_dir, NPMCACHE_DIR);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
