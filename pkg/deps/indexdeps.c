/*
 * indexdeps: two resolutions (the instance's entries, then with the
 * index), then each chosen package made importable (see indexdeps.h).
 */
#define _GNU_SOURCE
#include "deps/indexdeps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/tree.h"
#include "deps/instcache.h"
#include "deps/pyindex.h"
#include "deps/target.h"
#include "deps/unpack.h"
#include "deps/wheel.h"
#include "deps/wheelname.h"

#define MAX_PREINSTALLED 4096 /* distributions the interpreter lists, at most */

enum origin { FROM_CACHE, FROM_TARGET, FROM_KNOWN };

struct ictx {
	const struct deps_config *cfg;
	const struct wheelcache *cache;
	struct instcache ic;
	struct wheelcache known;
	bool known_loaded, tg_loaded;
	struct target tg;
	struct wheel_limits lim;
	struct pyindex px;
	struct resolve_pkg *local;
	enum origin *origin;
	size_t *idx, n_local;
	cJSON *recorded; /* new index.json entries */
	bool installed;	 /* a tree was added: evict past the budget */
	struct {
		char tree[600];
		double ms;
	} done[64]; /* trees this request installed, and how long each took */
	size_t n_done;
	struct rb_err *err;
};

static int get_target(void *ctx, const struct target **ret, struct rb_err *err)
{
	struct ictx *x = ctx;
	int r;

	if (!x->tg_loaded) {
		r = target_cached(x->cfg->python, x->ic.dir_fd, "target.json", &x->tg, err);
		if (r < 0)
			return r;
		x->tg_loaded = true;
		wheel_limits_default(&x->lim);
		x->lim.reserved = x->tg.stdlib;
		x->lim.n_reserved = x->tg.n_stdlib;
	}
	*ret = &x->tg;
	return 0;
}

/* "name-version-<12 hex of the sha256>": one tree per file, whatever its source. */
static void tree_name(const char *name, const char *version, const char *sha, char *out,
		      size_t size)
{
	struct version v;
	char ver[256];

	if (version_parse(version, &v) == 0)
		version_format(&v, ver, sizeof(ver));
	else
		snprintf(ver, sizeof(ver), "%s", version);
	snprintf(out, size, "%s-%s-%.12s", name, ver, sha);
}

/* The METADATA of the tree @site_fd/@tree (its one .dist-info). */
static char *tree_metadata(int site_fd, const char *tree)
{
	int fd = openat(site_fd, tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), m = -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char path[600], *buf = NULL;
	ssize_t n = -1;

	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 10 && strcmp(de->d_name + l - 10, ".dist-info") == 0) {
			snprintf(path, sizeof(path), "%s/METADATA", de->d_name);
			m = openat(fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
	}
	buf = m >= 0 ? malloc(PYINDEX_MAX_METADATA_BYTES + 1) : NULL;
	if (buf)
		n = read(m, buf, PYINDEX_MAX_METADATA_BYTES);
	if (buf && n >= 0)
		buf[n] = '\0';
	if (m >= 0)
		close(m);
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct file {
	const char *name, *version, *filename, *url, *sha256;
	const char *want_metadata; /* the .metadata it was resolved with, or NULL */
};

/* Context for a failed check or unpacking (a failed transfer names its file already). */
static int install_fail(struct rb_err *err, const struct file *f)
{
	char why[sizeof(err->msg)], code[sizeof(err->code)];

	if (strncmp(err->code, "index_", 6) == 0 || strcmp(err->code, "wheel_hash_mismatch") == 0 ||
	    strcmp(err->code, "download_truncated") == 0)
		return -EIO;
	snprintf(why, sizeof(why), "%s", err->msg);
	snprintf(code, sizeof(code), "%s", err->code);
	return rb_fail(err, err->fault, err->errnum, code, "dependencies",
		       "Installing %s %s from the package index failed: %s", f->name, f->version,
		       why);
}

/* Download @f to an unnamed file and unpack it as @tree (its lock held exclusively). */
static int install(struct ictx *x, const struct file *f, const char *tree, char **ret_meta,
		   struct rb_err *err)
{
	const struct target *tg;
	struct wheel_name wn;
	struct wheel_info info = {0};
	struct unpack_job job = {.python = x->cfg->python,
				 .site = x->ic.site,
				 .deadline = x->cfg->deadline,
				 .confiner = x->cfg->confiner};
	uint64_t bytes;
	int fd, r = get_target(x, &tg, err);

	if (r < 0)
		return r;
	if (wheelname_parse(f->filename, &wn, err) < 0)
		return install_fail(err, f);
	fd = openat(x->ic.site_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return rb_fail_sys(err, errno, "create a file for %s", f->filename);
	r = fetch_to_file(&x->px.fetch, f->url, f->sha256, fd, f->filename, &bytes, err);
	job.wheel_fd = fd;
	job.wn = &wn;
	job.lim = &x->lim;
	if (r >= 0 && lseek(fd, 0, SEEK_SET) == 0)
		r = unpack_tree(x->ic.site_fd, tree, &job, &info, err);
	close(fd);
	if (r < 0)
		return install_fail(err, f);
	if (f->want_metadata && (!info.metadata || strcmp(f->want_metadata, info.metadata) != 0)) {
		tree_remove_at(x->ic.site_fd, tree);
		free(info.metadata);
		return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "index_metadata_mismatch",
			       "dependencies",
			       "The package index's metadata file of %s is not the METADATA inside "
			       "the wheel",
			       f->filename);
	}
	*ret_meta = info.metadata;
	x->installed = true;
	return 0;
}

/*
 * Make @f's tree exist and hold it: 0 with a shared lock in *ret_lock and,
 * when @ret_meta, its METADATA.  *ret_ms: the download and unpacking time,
 * < 0 when the tree was there.
 */
static int ensure(struct ictx *x, const struct file *f, int *ret_lock, char **ret_meta,
		  double *ret_ms, struct rb_err *err)
{
	char tree[600], *meta = NULL;
	double t0 = clock_now();
	int lockfd = -1, r;

	tree_name(f->name, f->version, f->sha256, tree, sizeof(tree));
	*ret_ms = -1;
	r = instcache_hold(&x->ic, tree, &lockfd, err);
	if (r == 0) {
		r = install(x, f, tree, &meta, err);
		if (r >= 0)
			r = instcache_installed(&x->ic, tree, lockfd, err);
		*ret_ms = (clock_now() - t0) * 1000;
		if (r >= 0 && x->n_done < sizeof(x->done) / sizeof(x->done[0])) {
			snprintf(x->done[x->n_done].tree, sizeof(x->done[0].tree), "%s", tree);
			x->done[x->n_done++].ms = *ret_ms;
		}
	} else if (r > 0 && ret_meta && !(meta = tree_metadata(x->ic.site_fd, tree))) {
		r = rb_fail_sys(err, EIO, "read the METADATA of %s", tree);
	}
	for (size_t k = 0; r >= 0 && *ret_ms < 0 && k < x->n_done; k++)
		if (strcmp(x->done[k].tree, tree) == 0)
			*ret_ms = x->done[k].ms; /* installed earlier in this request */
	if (r < 0) {
		if (lockfd >= 0)
			close(lockfd);
		free(meta);
		return r;
	}
	instcache_touch(&x->ic, tree);
	*ret_lock = lockfd;
	if (ret_meta)
		*ret_meta = meta;
	else
		free(meta);
	return 0;
}

static struct file file_of(struct pyindex_file *pf)
{
	return (struct file){pf->name, pf->version, pf->filename,
			     pf->url,  pf->sha256,  pf->has_metadata ? pf->metadata : NULL};
}

/* pyindex's describe() of an entry without a .metadata file: the whole wheel. */
static int install_cb(void *ctx, size_t i, char **ret_metadata, struct rb_err *err)
{
	struct ictx *x = ctx;
	struct file f = file_of(pyindex_file(&x->px, i));
	int lockfd = -1;
	double ms;
	int r = ensure(x, &f, &lockfd, ret_metadata, &ms, err);

	if (lockfd >= 0)
		close(lockfd); /* taken again if it is chosen */
	return r;
}

/* ---- the entries on the instance ---------------------------------------- */

static bool have_local(const struct ictx *x, const struct resolve_pkg *p)
{
	for (size_t i = 0; i < x->n_local; i++)
		if (x->local[i].name && strcmp(x->local[i].name, p->name) == 0 &&
		    version_compare(&x->local[i].v, &p->v) == 0)
			return true;
	return false;
}

static void add_local(struct ictx *x, const struct resolve_pkg *p, unsigned tier, enum origin o,
		      size_t idx)
{
	x->local[x->n_local] = *p;
	x->local[x->n_local].tier = tier;
	x->origin[x->n_local] = o;
	x->idx[x->n_local++] = idx;
}

/* The target's pre-installed packages, when there is no baked cache to list them. */
static int add_preinstalled(struct ictx *x, struct resolve_pkg *pre, size_t *n_pre,
			    struct rb_err *err)
{
	const struct target *tg;
	const cJSON *p;
	int r = get_target(x, &tg, err);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(p, tg->preinstalled)
	{
		struct resolve_pkg pk = {
		    .name = p->string, .version = p->valuestring, .preinstalled = true};

		if (cJSON_IsString(p) && version_parse(p->valuestring, &pk.v) == 0)
			if (*n_pre < MAX_PREINSTALLED)
				pre[(*n_pre)++] = pk;
	}
	return 0;
}

static int gather(struct ictx *x, struct rb_err *err)
{
	size_t cap = (x->cache ? x->cache->ix.n : 0) + MAX_PREINSTALLED, n_pre = 0;
	struct resolve_pkg *pre = NULL;
	int r = 0;

	x->known_loaded = wheelcache_load(x->ic.dir, x->cfg->python, &x->known, err) == 0;
	if (x->known_loaded)
		cap += x->known.ix.n;
	x->local = calloc(cap, sizeof(*x->local));
	x->origin = calloc(cap, sizeof(*x->origin));
	x->idx = calloc(cap, sizeof(*x->idx));
	pre = x->cache ? NULL : calloc(MAX_PREINSTALLED, sizeof(*pre));
	if (!x->local || !x->origin || !x->idx || (!x->cache && !pre)) {
		free(pre);
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	}
	for (size_t i = 0; r >= 0 && x->cache && i < x->cache->ix.n; i++)
		add_local(x, &x->cache->pkgs[i], 0, FROM_CACHE, i);
	if (r >= 0 && !x->cache)
		r = add_preinstalled(x, pre, &n_pre, err);
	for (size_t i = 0; r >= 0 && i < n_pre; i++)
		add_local(x, &pre[i], 0, FROM_TARGET, i);
	for (size_t i = 0; r >= 0 && x->known_loaded && i < x->known.ix.n; i++)
		if (!have_local(x, &x->known.pkgs[i]))
			add_local(x, &x->known.pkgs[i], 1, FROM_KNOWN, i);
	free(pre); /* the entries point into the target's JSON, not into @pre */
	return r;
}

/* ---- resolve, then install ---------------------------------------------- */

static int resolve(struct ictx *x, const struct requirement *rq, const char *const *fields,
		   size_t n, struct resolve_result *res, const struct resolve_index **ret_ix,
		   struct rb_err *err)
{
	static const struct resolve_index empty;
	struct resolve_index local = {x->local, x->n_local, NULL};
	struct pyindex_config pc = {
	    .url = x->cfg->index->url,
	    .credentials = x->cfg->index->credentials,
	    .ca_file = x->cfg->index->ca_file,
	    .ttl_s = x->cfg->index->ttl_s,
	    .pages_fd = x->ic.pages_fd,
	    .deadline = x->cfg->deadline,
	    .max_bytes = x->cfg->index->max_bytes,
	};
	int r = pyindex_init(&x->px, &pc, x->local, x->n_local, err);

	*ret_ix = &empty;
	if (r < 0)
		return r;
	x->px.get_target = get_target;
	x->px.install = install_cb;
	x->px.ctx = x;
	r = resolve_run(&local, rq, fields, n, x->cfg->max_closure, res, err);
	if (r >= 0) {
		*ret_ix = &x->px.ix; /* its first n_local entries are these */
		return 0;
	}
	if (err->fault != RB_FAULT_REQUEST)
		return r;
	r = resolve_run(&x->px.ix, rq, fields, n, x->cfg->max_closure, res, err);
	*ret_ix = &x->px.ix;
	return r;
}

static cJSON *entry_json(const struct file *f, const char *tree, const cJSON *desc)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", f->name);
	cJSON_AddStringToObject(e, "version", f->version);
	cJSON_AddStringToObject(e, "wheel", f->filename);
	cJSON_AddStringToObject(e, "tree", tree);
	cJSON_AddBoolToObject(e, "lazy", false);
	cJSON_AddStringToObject(e, "url", f->url);
	cJSON_AddStringToObject(e, "sha256", f->sha256);
	cJSON_AddItemToObject(
	    e, "requires", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(desc, "requires"), 1));
	cJSON_AddItemToObject(e, "extras",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(desc, "extras"), 1));
	return e;
}

static struct file known_file(const struct ictx *x, size_t k)
{
	const cJSON *e = x->known.entry[k];

	return (struct file){
	    x->known.pkgs[k].name,
	    x->known.pkgs[k].version,
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "wheel")),
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "url")),
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sha256")),
	    NULL,
	};
}

/* Make chosen entry @i importable; fills @u. */
static int place(struct ictx *x, size_t i, struct deps_used *u, struct deps_result *ret,
		 struct rb_err *err)
{
	struct pyindex_file *pf = pyindex_file(&x->px, i);
	struct file f;
	char tree[600];
	int r;

	if (!pf && x->origin[i] == FROM_TARGET)
		return 0;
	if (!pf && x->origin[i] == FROM_CACHE) {
		u->source = x->cache->pkgs[x->idx[i]].preinstalled ? DEPS_PREINSTALLED : DEPS_CACHE;
		return deps_cached_tree(x->cfg, x->cache, x->idx[i], u, &ret->uses_lazy, err);
	}
	f = pf ? file_of(pf) : known_file(x, x->idx[i]);
	if (!f.filename || !f.url || !f.sha256 || strlen(f.sha256) != 64)
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "cache_extract_failed", NULL,
			       "%s in '%s/index.json' has no wheel URL or sha256; remove the file",
			       f.name, x->ic.dir);
	r = ensure(x, &f, &u->lock_fd, NULL, &u->fetch_ms, err);
	if (r < 0)
		return r;
	tree_name(f.name, f.version, f.sha256, tree, sizeof(tree));
	if ((size_t)snprintf(u->path, sizeof(u->path), "%s/%s", x->ic.site, tree) >=
	    sizeof(u->path))
		return rb_fail_sys(err, ENAMETOOLONG, "the path of %s", tree);
	u->source = DEPS_INDEX;
	ret->uses_index = true;
	if (pf && pf->desc)
		cJSON_AddItemToArray(x->recorded, entry_json(&f, tree, pf->desc));
	return 0;
}

static void ictx_free(struct ictx *x)
{
	pyindex_free(&x->px);
	if (x->known_loaded)
		wheelcache_free(&x->known);
	if (x->tg_loaded)
		target_free(&x->tg);
	instcache_close(&x->ic);
	free(x->local);
	free(x->origin);
	free(x->idx);
	cJSON_Delete(x->recorded);
}

int indexdeps_resolve(const struct deps_config *cfg, const struct wheelcache *cache,
		      const struct requirement *rq, const char *const *fields, size_t n,
		      struct deps_result *ret, struct rb_err *err)
{
	struct ictx x = {.cfg = cfg, .cache = cache, .recorded = cJSON_CreateArray(), .err = err};
	struct resolve_result *res = malloc(sizeof(*res));
	const struct resolve_index *ix;
	double t0 = clock_now();
	int r = res && x.recorded ? 0 : rb_fail_sys(err, ENOMEM, "resolve dependencies");

	if (r >= 0)
		r = instcache_open(cfg->state_fd, cfg->state_dir, &x.ic, err);
	if (r >= 0)
		r = gather(&x, err);
	if (r >= 0)
		r = resolve(&x, rq, fields, n, res, &ix, err);
	for (size_t k = 0; r >= 0 && res && k < res->n; k++) {
		const struct resolve_pkg *pk = &ix->pkgs[res->pkg[k]];
		struct deps_used *u = &ret->used[k];

		snprintf(u->name, sizeof(u->name), "%s", pk->name);
		snprintf(u->version, sizeof(u->version), "%s", pk->version);
		u->source = DEPS_PREINSTALLED;
		r = place(&x, res->pkg[k], u, ret, err);
		ret->n = k + 1;
	}
	if (r >= 0 && cJSON_GetArraySize(x.recorded) > 0) {
		instcache_record(&x.ic, cfg->python, x.recorded,
				 err); /* a lost entry is refetched */
		x.recorded = NULL;
	}
	if (x.installed)
		instcache_evict(&x.ic, cfg->index->cache_bytes);
	ret->index_ms = x.px.fetch.transfers || x.installed ? (clock_now() - t0) * 1000 : 0;
	free(res);
	ictx_free(&x);
	return r;
}
