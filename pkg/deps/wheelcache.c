/*
 * wheelcache: index.json in, resolver index out (see wheelcache.h).
 */
#define _GNU_SOURCE
#include "deps/wheelcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int bad_index(struct rb_err *err, const char *dir, const char *what)
{
	return rb_fail(err, RB_FAULT_INTERNAL, EINVAL, "invalid_cache", "RUNBOX_CACHE_DIR",
		       "The wheel cache '%s' is not usable: %s. Bake it again with `runbox bake "
		       "WHEEL_DIR %s`.",
		       dir, what, dir);
}

/* Why @dir's index.json could not be opened (@e): the directory itself first. */
static int no_index(const char *dir, int e, struct rb_err *err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return bad_index(err, dir,
				 errno == ENOENT ? "the directory does not exist"
						 : "the directory cannot be read");
	if (!S_ISDIR(st.st_mode))
		return bad_index(err, dir, "it is not a directory");
	return bad_index(err, dir,
			 e == ENOENT ? "it has no index.json" : "index.json cannot be opened");
}

static int read_index(const char *dir, char **ret, struct rb_err *err)
{
	char path[600];
	struct stat st;
	char *buf;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, WHEELCACHE_INDEX);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return no_index(dir, errno, err);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WHEELCACHE_MAX_INDEX_BYTES) {
		close(fd);
		return bad_index(err, dir, "index.json is not a regular file under 64 MiB");
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return rb_fail_sys(err, buf ? EIO : ENOMEM, "read '%s'", path);
	}
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

static bool str_array(const cJSON *a, size_t *count)
{
	const cJSON *s;

	if (!cJSON_IsArray(a))
		return false;
	cJSON_ArrayForEach(s, a)
	{
		if (!cJSON_IsString(s))
			return false;
		(*count)++;
	}
	return true;
}

/* A tree or wheel name is one plain path segment. */
static bool plain_name(const cJSON *s)
{
	const char *v = s->valuestring;

	return v[0] && v[0] != '.' && !strchr(v, '/') && strlen(v) < 256;
}

/* Count what the flat arrays need, checking each field's type on the way. */
static bool validate(const cJSON *root, size_t *n_pkgs, size_t *n_extras, size_t *n_strs)
{
	const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(root, "packages"), *p, *e;
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "preinstalled");
	static const char *const keys[] = {"name", "version", "tree", "wheel"};

	if (!cJSON_IsArray(pkgs) || !cJSON_IsObject(pre))
		return false;
	cJSON_ArrayForEach(p, pkgs)
	{
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, keys[k])))
				return false;
		if (!plain_name(cJSON_GetObjectItemCaseSensitive(p, "tree")) ||
		    !plain_name(cJSON_GetObjectItemCaseSensitive(p, "wheel")) ||
		    !str_array(cJSON_GetObjectItemCaseSensitive(p, "requires"), n_strs) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "extras")))
			return false;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "extras"))
		{
			if (!str_array(e, n_strs))
				return false;
			(*n_extras)++;
		}
		(*n_pkgs)++;
	}
	cJSON_ArrayForEach(p, pre)
	{
		if (!cJSON_IsString(p))
			return false;
		(*n_pkgs)++;
	}
	return true;
}

static const char **take_strs(const cJSON *a, const char ***at, size_t *ret_n)
{
	const char **start = *at;
	const cJSON *s;

	*ret_n = 0;
	cJSON_ArrayForEach(s, a)
	{
		*(*at)++ = s->valuestring;
		(*ret_n)++;
	}
	return start;
}

static bool fill_pkg(struct wheelcache *c, const cJSON *p, size_t i, struct resolve_extra **ex,
		     const char ***strs)
{
	struct resolve_pkg *pk = &c->pkgs[i];
	const cJSON *e;

	pk->name = cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring;
	pk->version = cJSON_GetObjectItemCaseSensitive(p, "version")->valuestring;
	pk->requires =
	    take_strs(cJSON_GetObjectItemCaseSensitive(p, "requires"), strs, &pk->n_requires);
	pk->extras = *ex;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "extras"))
	{
		(*ex)->name = e->string;
		(*ex)->requires = take_strs(e, strs, &(*ex)->n_requires);
		(*ex)++;
		pk->n_extras++;
	}
	c->entry[i] = p;
	return pk->n_extras <= RESOLVE_MAX_EXTRAS && version_parse(pk->version, &pk->v) == 0;
}

static bool build(struct wheelcache *c, size_t n_pkgs, size_t n_extras, size_t n_strs)
{
	const cJSON *p;
	size_t i = 0;
	struct resolve_extra *ex;
	const char **strs;

	c->pkgs = calloc(n_pkgs + 1, sizeof(*c->pkgs));
	c->entry = calloc(n_pkgs + 1, sizeof(const cJSON *));
	c->extras = calloc(n_extras + 1, sizeof(*c->extras));
	c->strs = calloc(n_strs + 1, sizeof(*c->strs));
	if (!c->pkgs || !c->entry || !c->extras || !c->strs)
		return false;
	ex = c->extras;
	strs = c->strs;
	cJSON_ArrayForEach(
	    p, cJSON_GetObjectItemCaseSensitive(
		   c->root, "packages")) if (!fill_pkg(c, p, i++, &ex, &strs)) return false;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c->root, "preinstalled"))
	{
		c->pkgs[i].name = p->string;
		c->pkgs[i].version = p->valuestring;
		c->pkgs[i].preinstalled = true;
		if (version_parse(p->valuestring, &c->pkgs[i].v) < 0)
			i--; /* a distribution with a non-PEP 440 version cannot be asked for */
		i++;
	}
	c->ix.pkgs = c->pkgs;
	c->ix.n = i;
	return true;
}

static int check_python(const cJSON *root, const char *dir, const char *python, struct rb_err *err)
{
	const cJSON *py = cJSON_GetObjectItemCaseSensitive(root, "python");
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	char what[400];

	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != WHEELCACHE_FORMAT)
		return bad_index(err, dir, "index.json has another format than this runbox reads");
	if (!cJSON_IsString(py))
		return bad_index(err, dir, "index.json names no interpreter");
	if (python && strcmp(py->valuestring, python) != 0) {
		snprintf(what, sizeof(what),
			 "it was baked for the interpreter '%.150s', runbox runs '%.150s' "
			 "(RUNBOX_PYTHON)",
			 py->valuestring, python);
		return bad_index(err, dir, what);
	}
	return 0;
}

int wheelcache_load(const char *cache_dir, const char *python, struct wheelcache *ret,
		    struct rb_err *err)
{
	struct wheelcache c = {0};
	size_t n_pkgs = 0, n_extras = 0, n_strs = 0;
	char *text = NULL;
	int r = read_index(cache_dir, &text, err);

	if (r < 0)
		return r;
	c.root = cJSON_Parse(text);
	free(text);
	if (!c.root)
		return bad_index(err, cache_dir, "index.json is not JSON");
	r = check_python(c.root, cache_dir, python, err);
	if (r >= 0 && !validate(c.root, &n_pkgs, &n_extras, &n_strs))
		r = bad_index(err, cache_dir, "a field of index.json has the wrong type");
	if (r >= 0 && !build(&c, n_pkgs, n_extras, n_strs))
		r = bad_index(err, cache_dir,
			      "a version in index.json is not PEP 440, a package has "
			      "more than 64 extras, or out of memory");
	if (r < 0) {
		wheelcache_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void wheelcache_free(struct wheelcache *c)
{
	cJSON_Delete(c->root);
	free(c->pkgs);
	free(c->entry);
	free(c->extras);
	free(c->strs);
	memset(c, 0, sizeof(*c));
}

const char *wheelcache_str(const struct wheelcache *c, size_t i, const char *key)
{
	const cJSON *v = c->entry[i] ? cJSON_GetObjectItemCaseSensitive(c->entry[i], key) : NULL;

	return cJSON_IsString(v) ? cJSON_GetStringValue(v) : "";
}

bool wheelcache_lazy(const struct wheelcache *c, size_t i)
{
	return c->entry[i] && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->entry[i], "lazy"));
}
