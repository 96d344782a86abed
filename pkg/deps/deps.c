/*
 * deps: requirement parsing, duplicate detection, then either resolution
 * against the wheel cache (loaded once per process) or matching against the
 * interpreter's installed distributions (asked once per process, only when
 * a request names dependencies and there is no cache).
 */
#define _GNU_SOURCE
#include "deps/deps.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deps/fetch.h"
#include "deps/indexdeps.h"
#include "deps/instcache.h"
#include "deps/lazywheel.h"
#include "deps/pyprobe.h"
#include "deps/resolve.h"
#include "deps/wheelcache.h"
#include "deps/requirement.h"

/*
 * Prints {"python": version, "packages": {"normalised-name": "version", ...}}
 * for every installed distribution.
 */
static const char list_program[] =
    "import importlib.metadata as m, json, re, platform\n" PYPROBE_VERSION_OF "out = {}\n"
    "for d in m.distributions():\n"
    "    n = d.metadata['Name']\n"
    "    if n: out.setdefault(re.sub(r'[-_.]+', '-', n).lower(), version_of(d))\n"
    "print(json.dumps({'python': platform.python_version(), 'packages': out}))\n";

static cJSON *listing;		/* cached for the life of the process */
static cJSON *installed;	/* listing's "packages" */
static struct wheelcache cache; /* read-only once loaded */
static bool cache_loaded;
/* A server may run requests on several threads: the first loads the index. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int list_installed(const char *python, struct rb_err *err)
{
	int r = pyprobe_json(python, list_program, &listing, err);

	if (r < 0)
		return r;
	installed = cJSON_GetObjectItemCaseSensitive(listing, "packages");
	if (!cJSON_IsObject(installed)) {
		cJSON_Delete(listing);
		listing = installed = NULL;
		return rb_fail_sys(err, EIO, "list the packages installed for '%s'", python);
	}
	return 0;
}

int deps_installed(const char *python, const cJSON **ret_packages, const char **ret_version,
		   struct rb_err *err)
{
	const cJSON *v;
	int r = installed ? 0 : list_installed(python, err);

	if (r < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(listing, "python");
	*ret_packages = installed;
	*ret_version = cJSON_IsString(v) ? v->valuestring : "";
	return 0;
}

static int refuse(struct rb_err *err, const char *code, const char *field, const char *msg,
		  const char *arg1, const char *arg2)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, code, field, msg, arg1, arg2);
}

static int check_one(const struct requirement *rq, const char *field, struct deps_used *u,
		     struct rb_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(installed, rq->name);
	struct version ver;
	char spec[REQUIREMENT_FORMAT_MAX];

	if (!cJSON_IsString(v))
		return refuse(err, "dependency_not_found", field,
			      "Package '%s' is not available: it is not pre-installed%s. "
			      "Use a pre-installed package or remove it.",
			      rq->name_orig, " and this runbox has no wheel cache");
	requirement_format(rq, spec, sizeof(spec));
	if (version_parse(v->valuestring, &ver) < 0 || !requirement_matches(rq, &ver, true))
		return rb_fail(err, RB_FAULT_REQUEST, 0, "dependency_conflict", field,
			       "'%s' asks for a version the pre-installed %s %s does not "
			       "satisfy; it cannot be replaced. Drop the version constraint.",
			       spec, rq->name, v->valuestring);
	snprintf(u->name, sizeof(u->name), "%s", rq->name);
	snprintf(u->version, sizeof(u->version), "%s", v->valuestring);
	u->source = DEPS_PREINSTALLED;
	return 0;
}

static int parse_all(const char *const *reqs, size_t n, struct requirement *rq, struct rb_err *err)
{
	char field[48];

	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "dependencies[%zu]", i);
		if (requirement_parse(reqs[i], field, &rq[i], err) < 0) {
			/* One stable code for every malformed requirement. */
			snprintf(err->code, sizeof(err->code), "invalid_dependency");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(rq[i].name, rq[j].name) == 0)
				return refuse(err, "duplicate_dependency", field,
					      "'%s' names the same package as '%s'; list each "
					      "package once.",
					      reqs[i], reqs[j]);
	}
	return 0;
}

/* Without a cache: each requirement against the installed distributions. */
static int resolve_installed(const char *python, const struct requirement *rq, size_t n,
			     struct deps_result *ret, struct rb_err *err)
{
	char field[48];
	int r = installed ? 0 : list_installed(python, err);

	for (size_t i = 0; i < n && r >= 0; i++) {
		snprintf(field, sizeof(field), "dependencies[%zu]", i);
		r = check_one(&rq[i], field, &ret->used[i], err);
		ret->n = i + 1;
	}
	return r;
}

int deps_cached_tree(const struct deps_config *cfg, const struct wheelcache *c, size_t i,
		     struct deps_used *u, bool *uses_lazy, struct rb_err *err)
{
	const char *tree = wheelcache_str(c, i, "tree");
	struct wheel_limits lim;
	struct lazywheel_src src = {cfg->state_dir, cfg->cache_dir, &lim,
				    cfg->python,    cfg->deadline,  cfg->confiner};

	u->source = c->pkgs[i].preinstalled ? DEPS_PREINSTALLED : DEPS_CACHE;
	if (c->pkgs[i].preinstalled)
		return 0;
	if (!wheelcache_lazy(c, i)) {
		if ((size_t)snprintf(u->path, sizeof(u->path), "%s/site/%s", cfg->cache_dir,
				     tree) >= sizeof(u->path))
			return rb_fail_sys(err, ENAMETOOLONG,
					   "the tree '%s' under RUNBOX_CACHE_DIR", tree);
		return 0;
	}
	*uses_lazy = true;
	wheel_limits_default(&lim);
	return lazywheel_ensure(cfg->state_fd, &src, wheelcache_str(c, i, "wheel"), tree, u->path,
				sizeof(u->path), err);
}

static bool has_index(const struct deps_config *cfg)
{
	return cfg->index && cfg->index->url && cfg->index->url[0];
}

static int load_cache(const struct deps_config *cfg, struct rb_err *err)
{
	int r = 0;

	pthread_mutex_lock(&cache_lock);
	if (!cache_loaded) {
		r = wheelcache_load(cfg->cache_dir, cfg->python, &cache, err);
		cache_loaded = r >= 0;
	}
	pthread_mutex_unlock(&cache_lock);
	return r;
}

static int resolve_cached(const struct deps_config *cfg, const struct requirement *rq, size_t n,
			  struct deps_result *ret, struct rb_err *err)
{
	struct resolve_result *res = malloc(sizeof(*res));
	char(*fields)[40] = calloc(n, sizeof(*fields));
	const char **fp = calloc(n, sizeof(*fp));
	bool cached = cfg->cache_dir && cfg->cache_dir[0];
	int r = res && fields && fp ? 0 : rb_fail_sys(err, ENOMEM, "resolve dependencies");

	if (r >= 0 && cached)
		r = load_cache(cfg, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		snprintf(fields[i], sizeof(fields[i]), "dependencies[%zu]", i);
		fp[i] = fields[i];
	}
	if (r >= 0 && has_index(cfg)) {
		r = indexdeps_resolve(cfg, cached ? &cache : NULL, rq, fp, n, ret, err);
		res->n = 0;
	} else if (r >= 0) {
		r = resolve_run(&cache.ix, rq, fp, n, cfg->max_closure, res, err);
	}
	for (size_t k = 0; r >= 0 && k < res->n; k++) {
		const struct resolve_pkg *pk = &cache.pkgs[res->pkg[k]];
		struct deps_used *u = &ret->used[k];

		snprintf(u->name, sizeof(u->name), "%s", pk->name);
		snprintf(u->version, sizeof(u->version), "%s", pk->version);
		r = deps_cached_tree(cfg, &cache, res->pkg[k], u, &ret->uses_lazy, err);
		ret->n = k + 1;
	}
	free(res);
	free(fields);
	free(fp);
	return r;
}

int deps_resolve(const struct deps_config *cfg, const char *const *reqs, size_t n,
		 struct deps_result *ret, struct rb_err *err)
{
	bool cached = (cfg->cache_dir && cfg->cache_dir[0]) || has_index(cfg);
	size_t cap = cached ? 256 : n;
	struct requirement *rq;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (n == 0)
		return 0;
	rq = calloc(n, sizeof(*rq));
	ret->used = calloc(cap, sizeof(*ret->used));
	if (!rq || !ret->used) {
		free(rq);
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	}
	for (size_t i = 0; i < cap; i++) {
		ret->used[i].lock_fd = -1;
		ret->used[i].fetch_ms = -1;
	}
	r = parse_all(reqs, n, rq, err);
	if (r >= 0)
		r = cached ? resolve_cached(cfg, rq, n, ret, err)
			   : resolve_installed(cfg->python, rq, n, ret, err);
	free(rq);
	return r;
}

size_t deps_read_dirs(const struct deps_config *cfg, const struct deps_result *r, char bufs[][600],
		      size_t max)
{
	size_t n = 0;

	if (r->n == 0)
		return 0;
	if (cfg->cache_dir && cfg->cache_dir[0] && n < max)
		snprintf(bufs[n++], 600, "%s/site", cfg->cache_dir);
	if (r->uses_lazy && n < max)
		snprintf(bufs[n++], 600, "%s/%s", cfg->state_dir, LAZY_SITE);
	if (r->uses_index && n < max)
		snprintf(bufs[n++], 600, "%s/%s/site", cfg->state_dir, INSTCACHE_DIR);
	return n;
}

int deps_cache_list(const char *cache_dir, cJSON **ret, struct rb_err *err)
{
	struct wheelcache c;
	cJSON *a;
	int r = wheelcache_load(cache_dir, NULL, &c, err);

	if (r < 0)
		return r;
	a = cJSON_CreateArray();
	for (size_t i = 0; a && i < c.ix.n; i++) {
		cJSON *o = c.pkgs[i].preinstalled ? NULL : cJSON_CreateObject();

		if (!o)
			continue;
		cJSON_AddStringToObject(o, "name", c.pkgs[i].name);
		cJSON_AddStringToObject(o, "version", c.pkgs[i].version);
		cJSON_AddItemToArray(a, o);
	}
	wheelcache_free(&c);
	if (!a)
		return rb_fail_sys(err, ENOMEM, "list the cache");
	*ret = a;
	return 0;
}

int deps_index_check(const char *url, struct rb_err *err)
{
	if (fetch_url_ok(url))
		return 0;
	return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", "RUNBOX_INDEX_URL",
		       "RUNBOX_INDEX_URL is not an http:// or https:// URL with a host (a PEP 503 "
		       "or PEP 691 simple index, such as https://pypi.org/simple/).");
}

size_t deps_pythonpath(const struct deps_result *r, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		if (!r->used[i].path[0])
			continue;
		len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s",
					len ? ":" : "", r->used[i].path);
	}
	return len < size ? len : 0;
}

cJSON *deps_result_to_json(const struct deps_result *r)
{
	static const char *const sources[] = {
	    [DEPS_PREINSTALLED] = "preinstalled", [DEPS_CACHE] = "cache", [DEPS_INDEX] = "index"};
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < r->n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", r->used[i].name);
		cJSON_AddStringToObject(o, "version", r->used[i].version);
		cJSON_AddStringToObject(o, "source", sources[r->used[i].source]);
		if (r->used[i].fetch_ms >= 0)
			cJSON_AddNumberToObject(o, "fetch_ms",
						(double)(long long)(r->used[i].fetch_ms * 10) / 10);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void deps_result_free(struct deps_result *r)
{
	for (size_t i = 0; r->used && i < r->n; i++)
		if (r->used[i].lock_fd >= 0)
			close(r->used[i].lock_fd);
	free(r->used);
	memset(r, 0, sizeof(*r));
}
