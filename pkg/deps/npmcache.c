/*
 * npmcache: index.json → struct npm_index (see npmcache.h).
 */
#define _GNU_SOURCE
#include "deps/npmcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdio.h"

static const char *const dep_keys[] = {"dependencies", "optionalDependencies", "peerDependencies"};
static const enum npm_dep_kind dep_kinds[] = {NPM_DEP_REQUIRED, NPM_DEP_OPTIONAL, NPM_DEP_PEER};

void npmcache_tree(const char *name, const char *version, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "pkgs/%s@%s", name, version);
	char *slash = strchr(buf + 5, '/');

	if (slash && n < size)
		*slash = '+';
}

static int bad(struct rb_err *err, const char *what, size_t i)
{
	return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_cache", NULL,
		       "The npm cache's index.json is malformed (%s of package %zu); bake it "
		       "again with `runbox bake`.",
		       what, i);
}

/* The dependencies of package @i: objects of name → range. */
static int count_deps(const cJSON *p, size_t i, size_t *total, struct rb_err *err)
{
	for (size_t k = 0; k < 3; k++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, dep_keys[k]);

		if (d && !cJSON_IsObject(d))
			return bad(err, dep_keys[k], i);
		for (const cJSON *e = d ? d->child : NULL; e; e = e->next) {
			if (!cJSON_IsString(e) || !npm_name_valid(e->string))
				return bad(err, dep_keys[k], i);
			(*total)++;
		}
	}
	return 0;
}

static int one_package(struct npmcache *c, const cJSON *p, size_t i, size_t *dep_at,
		       struct rb_err *err)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(p, "version");
	struct npm_pkg *pk = &c->pkgs[i];

	if (!cJSON_IsString(name) || !npm_name_valid(name->valuestring))
		return bad(err, "name", i);
	if (!cJSON_IsString(version) || semver_parse(version->valuestring, &pk->v) < 0)
		return bad(err, "version", i);
	pk->name = name->valuestring;
	pk->version = version->valuestring;
	pk->preinstalled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "preinstalled"));
	pk->deps = c->deps + *dep_at;
	for (size_t k = 0; k < 3; k++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, dep_keys[k]);

		for (const cJSON *e = d ? d->child : NULL; e; e = e->next)
			c->deps[(*dep_at)++] =
			    (struct npm_dep){e->string, e->valuestring, dep_kinds[k]};
	}
	pk->n_deps = (size_t)(c->deps + *dep_at - pk->deps);
	return 0;
}

int npmcache_parse(const char *json, size_t len, struct npmcache *ret, struct rb_err *err)
{
	const cJSON *pkgs, *p;
	size_t n, total = 0, i = 0, at = 0;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->root = cJSON_ParseWithLength(json, len);
	pkgs = cJSON_GetObjectItemCaseSensitive(ret->root, "packages");
	if (!cJSON_IsObject(ret->root) || !cJSON_IsArray(pkgs) ||
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ret->root, "format")) !=
		NPMCACHE_FORMAT) {
		npmcache_free(ret);
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_cache", NULL,
			       "The npm cache's index.json is not one runbox reads (format %d); "
			       "bake it again with `runbox bake`.",
			       NPMCACHE_FORMAT);
	}
	n = (size_t)cJSON_GetArraySize(pkgs);
	for (p = pkgs->child; p && r >= 0; p = p->next, i++)
		r = cJSON_IsObject(p) ? count_deps(p, i, &total, err) : bad(err, "entry", i);
	ret->pkgs = calloc(n ? n : 1, sizeof(*ret->pkgs));
	ret->deps = calloc(total ? total : 1, sizeof(*ret->deps));
	if (r >= 0 && (!ret->pkgs || !ret->deps))
		r = rb_fail_sys(err, ENOMEM, "load the npm cache");
	for (p = pkgs->child, i = 0; p && r >= 0; p = p->next, i++)
		r = one_package(ret, p, i, &at, err);
	if (r < 0) {
		npmcache_free(ret);
		return r;
	}
	ret->ix = (struct npm_index){ret->pkgs, n};
	return 0;
}

int npmcache_load(const char *cache_dir, struct npmcache *ret, struct rb_err *err)
{
	char path[1024], *buf = NULL;
	size_t len = 0;
	int fd, over = 0, r;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), "%s/%s", cache_dir, NPMCACHE_INDEX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	r = fd < 0 ? -errno : fd_read_capped(fd, NPMCACHE_MAX_INDEX_BYTES, &buf, &len, &over);
	if (fd >= 0)
		close(fd);
	if (r < 0 || over)
		r = rb_fail(err, RB_FAULT_INTERNAL, r < 0 ? -r : EFBIG, "invalid_cache", NULL,
			    "Cannot read the npm cache's index '%s'%s.", path,
			    over ? ": larger than 64 MiB" : "");
	else
		r = npmcache_parse(buf, len, ret, err);
	free(buf);
	return r;
}

void npmcache_free(struct npmcache *c)
{
	cJSON_Delete(c->root);
	free(c->pkgs);
	free(c->deps);
	memset(c, 0, sizeof(*c));
}
