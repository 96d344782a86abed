/*
 * pyindex: pages, entries and their requirements from a package index
 * (see pyindex.h).
 */
#define _GNU_SOURCE
#include "deps/pyindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "deps/simpleindex.h"
#include "deps/url.h"
#include "deps/wheelmeta.h"
#include "deps/wheelname.h"
#include "deps/wheelreqs.h"

#define ACCEPT                                                                                     \
	"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "         \
	"text/html;q=0.01"
#define MAX_ENTRIES 200000

/* What one name's page held, for explain(). */
struct pyindex_note {
	char name[REQUIREMENT_MAX_LEN + 1];
	const char *code;
	char why[700];
};

struct tally {
	size_t wheels, no_hash, python, fit, others;
	char platforms[400]; /* tags the index offers that do not fit */
	char requires_python[128];
};

static const char *explain(void *ctx, const char *name, const char **ret_code)
{
	struct pyindex *px = ctx;

	for (size_t i = 0; i < px->n_notes; i++)
		if (strcmp(px->notes[i].name, name) == 0 && px->notes[i].code) {
			*ret_code = px->notes[i].code;
			return px->notes[i].why;
		}
	return NULL;
}

/* ---- pages -------------------------------------------------------------- */

static void page_url(const struct pyindex *px, const char *name, char *out, size_t size)
{
	size_t n = strlen(px->cfg.url);

	snprintf(out, size, "%s%s%s/", px->cfg.url, n && px->cfg.url[n - 1] == '/' ? "" : "/",
		 name);
}

/* A cached page: "<format>\n<body>", fresh for the TTL. */
static int read_cached(struct pyindex *px, const char *name, struct fetch_body *ret)
{
	struct stat st;
	int fd = openat(px->cfg.pages_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf;

	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PYINDEX_MAX_PAGE_BYTES ||
	    difftime(time(NULL), st.st_mtime) >= px->cfg.ttl_s ||
	    !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ESTALE;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size ||
	    !memchr(buf, '\n', (size_t)st.st_size)) {
		close(fd);
		free(buf);
		return -ESTALE;
	}
	close(fd);
	buf[st.st_size] = '\0';
	ret->data = buf;
	ret->len = (size_t)st.st_size;
	ret->status = 200;
	return 0;
}

static void write_cached(struct pyindex *px, const char *name, const struct fetch_body *b)
{
	char tmp[REQUIREMENT_MAX_LEN + 40];
	int fd;

	snprintf(tmp, sizeof(tmp), ".tmp-%d-%s", (int)getpid(), name);
	fd = openat(px->cfg.pages_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return;
	if (write(fd, b->data, b->len) == (ssize_t)b->len && close(fd) == 0)
		renameat(px->cfg.pages_fd, tmp, px->cfg.pages_fd, name);
	else
		close(fd);
	unlinkat(px->cfg.pages_fd, tmp, 0);
}

/* Fetch the page and put "json\n" or "html\n" before its body (404: an empty page). */
static int fetch_page(struct pyindex *px, const char *name, struct fetch_body *ret,
		      struct rb_err *err)
{
	char url[URL_MAX], what[REQUIREMENT_MAX_LEN + 8];
	struct fetch_body b;
	bool json;
	int r;

	page_url(px, name, url, sizeof(url));
	snprintf(what, sizeof(what), "'%s'", name);
	r = fetch_get(&px->fetch, url, ACCEPT, PYINDEX_MAX_PAGE_BYTES, true, what, &b, err);
	if (r < 0)
		return r;
	json = strncasecmp(b.content_type, "application/vnd.pypi.simple.v1+json", 35) == 0 ||
	       strncasecmp(b.content_type, "application/json", 16) == 0;
	ret->data = malloc(b.len + 6);
	if (!ret->data) {
		free(b.data);
		return rb_fail_sys(err, ENOMEM, "read the index's page");
	}
	ret->len = (size_t)sprintf(ret->data, "%s\n",
				   b.status == 404 ? "none"
				   : json	   ? "json"
						   : "html");
	memcpy(ret->data + ret->len, b.data, b.len + 1);
	ret->len += b.len;
	ret->status = b.status;
	free(b.data);
	return 0;
}

/* The page of @name, from the state directory or the index (once, under a lock). */
static int get_page(struct pyindex *px, const char *name, struct fetch_body *ret,
		    struct rb_err *err)
{
	char lock[REQUIREMENT_MAX_LEN + 8];
	int fd = -1, r;

	if (px->cfg.pages_fd < 0)
		return fetch_page(px, name, ret, err);
	if (read_cached(px, name, ret) == 0)
		return 0;
	snprintf(lock, sizeof(lock), ".lock-%s", name);
	fd = openat(px->cfg.pages_fd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	r = read_cached(px, name, ret) == 0 ? 0 : fetch_page(px, name, ret, err);
	if (r >= 0)
		write_cached(px, name, ret);
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- entries ------------------------------------------------------------ */

static int grow(struct pyindex *px)
{
	size_t cap = px->cap ? px->cap * 2 : 64;
	struct resolve_pkg *p;
	struct pyindex_file *f;

	if (px->n < px->cap)
		return 0;
	if (cap > MAX_ENTRIES)
		return -E2BIG;
	p = realloc(px->pkgs, cap * sizeof(*p));
	if (p)
		px->pkgs = p;
	f = p ? realloc(px->files, (cap - px->first) * sizeof(*f)) : NULL;
	if (!f)
		return -ENOMEM;
	px->files = f;
	px->cap = cap;
	px->ix.pkgs = px->pkgs;
	return 0;
}

static void tally_platform(struct tally *t, const struct wheel_name *wn)
{
	char tag[3 * WHEELNAME_MAX + 3];
	size_t len = strlen(t->platforms);

	snprintf(tag, sizeof(tag), "%s-%s-%s", wn->python, wn->abi, wn->platform);
	if (strstr(t->platforms, tag) || len + strlen(tag) + 8 >= sizeof(t->platforms))
		return;
	/* Fits: checked above. */
	snprintf(t->platforms + len, sizeof(t->platforms) - len, "%s%.*s", len ? ", " : "",
		 (int)(sizeof(t->platforms) - len - 3), tag);
}

/* Whether file @f (of project @name) can be an entry; counts why not in @t. */
static bool usable(const struct target *tg, const char *name, const struct simpleindex_file *f,
		   struct wheel_name *wn, struct tally *t)
{
	struct rb_err e;
	struct version_specset set;
	struct version py;

	if (wheelname_parse(f->filename, wn, &e) < 0 || strcmp(wn->name, name) != 0)
		return false;
	t->wheels++;
	if (!wheelname_compatible(wn, &tg->wt, NULL, 0)) {
		tally_platform(t, wn);
		return false;
	}
	t->fit++;
	if (f->requires_python[0] &&
	    (version_specset_parse(f->requires_python, NULL, &set, &e) < 0 ||
	     version_parse(tg->env.python_full_version, &py) < 0 ||
	     !version_specset_matches(&set, &py, true))) {
		t->python++;
		snprintf(t->requires_python, sizeof(t->requires_python), "%s", f->requires_python);
		return false;
	}
	if (!f->sha256[0]) {
		t->no_hash++;
		return false;
	}
	return true;
}

/* An entry for @f unless a local one or an earlier file has its version. */
static int add_entry(struct pyindex *px, const struct simpleindex_file *f,
		     const struct wheel_name *wn, size_t from)
{
	struct version v;
	struct pyindex_file *pf;
	int r;

	if (version_parse(wn->version, &v) < 0)
		return 0;
	for (size_t i = 0; i < px->n; i++)
		if (strcmp(px->pkgs[i].name, wn->name) == 0 &&
		    version_compare(&px->pkgs[i].v, &v) == 0) {
			/* a binary wheel of a version is preferred to its pure one */
			if (i < from || strcmp(wn->abi, "none") == 0)
				return 0;
			pf = &px->files[i - px->first];
			free(pf->filename);
			free(pf->url);
			pf->filename = strdup(f->filename);
			pf->url = strdup(f->url);
			snprintf(pf->sha256, sizeof(pf->sha256), "%s", f->sha256);
			pf->has_metadata = f->metadata;
			snprintf(pf->metadata_sha256, sizeof(pf->metadata_sha256), "%s",
				 f->metadata_sha256);
			px->pkgs[i].yanked = f->yanked;
			return pf->filename && pf->url ? 0 : -ENOMEM;
		}
	r = grow(px);
	if (r < 0)
		return r;
	pf = &px->files[px->n - px->first];
	memset(pf, 0, sizeof(*pf));
	pf->name = strdup(wn->name);
	pf->version = strdup(wn->version);
	pf->filename = strdup(f->filename);
	pf->url = strdup(f->url);
	snprintf(pf->sha256, sizeof(pf->sha256), "%s", f->sha256);
	pf->has_metadata = f->metadata;
	snprintf(pf->metadata_sha256, sizeof(pf->metadata_sha256), "%s", f->metadata_sha256);
	px->pkgs[px->n] = (struct resolve_pkg){.name = pf->name,
					       .version = pf->version,
					       .v = v,
					       .tier = 2,
					       .yanked = f->yanked,
					       .pending = true};
	px->n++;
	px->ix.n = px->n;
	return pf->name && pf->version && pf->filename && pf->url ? 1 : -ENOMEM;
}

/* Say why nothing of @t could be used. */
static void note_reason(struct pyindex_note *note, const struct tally *t, const struct target *tg)
{
	if (t->no_hash) {
		note->code = "wheel_hash_missing";
		snprintf(note->why, sizeof(note->why),
			 "the package index lists no sha256 for its wheels, and runbox installs "
			 "only files it can verify");
	} else if (t->python) {
		note->code = "no_compatible_wheel";
		snprintf(note->why, sizeof(note->why),
			 "its wheels' Requires-Python ('%s') excludes Python %s",
			 t->requires_python, tg->env.python_full_version);
	} else if (t->wheels) {
		note->code = "no_compatible_wheel";
		snprintf(note->why, sizeof(note->why),
			 "no wheel fits this interpreter (CPython %u.%u, %s, glibc %u.%u); the "
			 "package index offers: %s",
			 tg->wt.py_major, tg->wt.py_minor, tg->wt.machine, tg->wt.glibc_major,
			 tg->wt.glibc_minor, t->platforms);
	} else if (t->others) {
		note->code = "no_compatible_wheel";
		snprintf(note->why, sizeof(note->why),
			 "the package index has only source distributions of it, and runbox "
			 "installs wheels only (it never builds a package)");
	}
}

static int add_page(struct pyindex *px, const char *name, const struct fetch_body *b,
		    const struct target *tg, struct pyindex_note *note, struct rb_err *err)
{
	struct simpleindex_page page;
	struct tally t = {0};
	struct wheel_name wn;
	char url[URL_MAX];
	size_t from = px->n;
	int added = 0, r;

	if (strncmp(b->data, "none\n", 5) == 0)
		return 0;
	page_url(px, name, url, sizeof(url));
	r = simpleindex_parse(b->data + 5, b->len - 5,
			      strncmp(b->data, "json", 4) == 0 ? SIMPLEINDEX_JSON
							       : SIMPLEINDEX_HTML,
			      url, &page, err);
	if (r < 0)
		return r;
	t.others = page.others;
	for (size_t i = 0; i < page.n && r >= 0; i++)
		if (usable(tg, name, &page.files[i], &wn, &t))
			added += (r = add_entry(px, &page.files[i], &wn, from)) > 0;
	simpleindex_free(&page);
	if (r == -ENOMEM || r == -E2BIG)
		return rb_fail_sys(err, -r, "list the package index's files of '%s'", name);
	if (!added)
		note_reason(note, &t, tg);
	return added;
}

static int expand(void *ctx, const char *name, struct rb_err *err)
{
	struct pyindex *px = ctx;
	struct pyindex_note *note;
	struct fetch_body b = {0};
	const struct target *tg;
	int r;

	for (size_t i = 0; i < px->n_notes; i++)
		if (strcmp(px->notes[i].name, name) == 0)
			return 0;
	note = realloc(px->notes, (px->n_notes + 1) * sizeof(*note));
	if (!note)
		return rb_fail_sys(err, ENOMEM, "look up '%s'", name);
	px->notes = note;
	note = &px->notes[px->n_notes++];
	memset(note, 0, sizeof(*note));
	snprintf(note->name, sizeof(note->name), "%s", name);
	r = px->get_target(px->ctx, &tg, err);
	if (r >= 0)
		r = get_page(px, name, &b, err);
	if (r >= 0)
		r = add_page(px, name, &b, tg, note, err);
	free(b.data);
	return r;
}

/* ---- requirements ------------------------------------------------------- */

/* Entry @i, known to be the index's. */
static struct pyindex_file *file_at(struct pyindex *px, size_t i)
{
	return &px->files[i - px->first];
}

/* A METADATA file kept in the pages directory, named by its wheel's sha256 (immutable). */
static char *read_kept(struct pyindex *px, const char *name)
{
	int fd = openat(px->cfg.pages_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = fd >= 0 ? malloc(PYINDEX_MAX_METADATA_BYTES + 1) : NULL;
	ssize_t n = buf ? read(fd, buf, PYINDEX_MAX_METADATA_BYTES) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int fetch_metadata(struct pyindex *px, size_t i, char **ret, struct rb_err *err);

/* The METADATA of entry @i: kept, or fetched once under a lock and kept. */
static int get_metadata(struct pyindex *px, size_t i, char **ret, struct rb_err *err)
{
	char name[80], lock[90];
	struct fetch_body b;
	int fd, r;

	if (px->cfg.pages_fd < 0)
		return fetch_metadata(px, i, ret, err);
	snprintf(name, sizeof(name), "meta-%s", file_at(px, i)->sha256);
	snprintf(lock, sizeof(lock), ".lock-%s", name);
	if ((*ret = read_kept(px, name)))
		return 0;
	fd = openat(px->cfg.pages_fd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	r = (*ret = read_kept(px, name)) ? 0 : fetch_metadata(px, i, ret, err);
	if (r >= 0) {
		b = (struct fetch_body){.data = *ret, .len = strlen(*ret)};
		write_cached(px, name, &b);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

static int fetch_metadata(struct pyindex *px, size_t i, char **ret, struct rb_err *err)
{
	struct pyindex_file *f = file_at(px, i);
	char url[URL_MAX + 16], what[600], hex[65];
	struct fetch_body b;
	uint8_t d[SHA256_DIGEST_LEN];
	struct sha256 h;
	int r;

	snprintf(url, sizeof(url), "%s.metadata", f->url);
	snprintf(what, sizeof(what), "the metadata of %s", f->filename);
	r = fetch_get(&px->fetch, url, NULL, PYINDEX_MAX_METADATA_BYTES, false, what, &b, err);
	if (r < 0)
		return r;
	sha256_init(&h);
	sha256_update(&h, b.data, b.len);
	sha256_final(&h, d);
	for (size_t k = 0; k < sizeof(d); k++)
		snprintf(hex + 2 * k, 3, "%02x", d[k]);
	if (f->metadata_sha256[0] && strcmp(hex, f->metadata_sha256) != 0) {
		free(b.data);
		return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "wheel_hash_mismatch", "dependencies",
			       "The metadata file of %s from the package index does not have the "
			       "sha256 the index lists for it",
			       f->filename);
	}
	*ret = b.data;
	return 0;
}

/* The flat arrays the resolver reads, over f->desc. */
static int point_at(struct resolve_pkg *pk, struct pyindex_file *f)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(f->desc, "requires"), *e, *s;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(f->desc, "extras");
	size_t n = (size_t)cJSON_GetArraySize(req), k = 0, x = 0;

	cJSON_ArrayForEach(e, ex) n += (size_t)cJSON_GetArraySize(e);
	f->strs = calloc(n + 1, sizeof(*f->strs));
	f->extras = calloc((size_t)cJSON_GetArraySize(ex) + 1, sizeof(*f->extras));
	if (!f->strs || !f->extras || cJSON_GetArraySize(ex) > RESOLVE_MAX_EXTRAS)
		return -ENOMEM;
	pk->requires = f->strs;
	cJSON_ArrayForEach(s, req) f->strs[k++] = s->valuestring;
	pk->n_requires = k;
	cJSON_ArrayForEach(e, ex)
	{
		f->extras[x] = (struct resolve_extra){e->string, f->strs + k, 0};
		cJSON_ArrayForEach(s, e) f->strs[k++] = s->valuestring, f->extras[x].n_requires++;
		x++;
	}
	pk->extras = f->extras;
	pk->n_extras = x;
	return 0;
}

/* Parse @text as entry @i's METADATA; 1 (unusable, @err says why) when it does not fit. */
static int interpret(struct pyindex *px, size_t i, const struct target *tg, char *text,
		     struct rb_err *err)
{
	struct pyindex_file *f = file_at(px, i);
	struct wheelmeta m;
	struct version v;
	char name[REQUIREMENT_MAX_LEN + 1];
	int r = wheelmeta_parse(text, strlen(text), &m, err);

	if (r < 0)
		return 1;
	requirement_normalize_name(m.name, name, sizeof(name));
	if (strcmp(name, f->name) != 0 || version_parse(m.version, &v) < 0 ||
	    version_compare(&v, &px->pkgs[i].v) != 0)
		r = rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_metadata_mismatch", NULL,
			    "its metadata says %s %s", m.name, m.version);
	f->desc = r >= 0 ? cJSON_CreateObject() : NULL;
	if (r >= 0)
		r = f->desc ? wheelreqs_describe(&m, &tg->env, f->desc, err) : -ENOMEM;
	wheelmeta_free(&m);
	if (r >= 0 && point_at(&px->pkgs[i], f) < 0)
		r = rb_fail_sys(err, ENOMEM, "describe %s", f->filename);
	if (r < 0 && err->fault != RB_FAULT_REQUEST)
		return r;
	if (r < 0)
		return 1;
	f->metadata = text;
	px->pkgs[i].pending = false;
	return 0;
}

static int describe(void *ctx, size_t i, struct rb_err *err)
{
	struct pyindex *px = ctx;
	struct pyindex_file *f = pyindex_file(px, i);
	const struct target *tg;
	char *text = NULL;
	int r = f ? px->get_target(px->ctx, &tg, err) : 1;

	if (r == 0)
		r = f->has_metadata ? get_metadata(px, i, &text, err)
				    : px->install(px->ctx, i, &text, err);
	if (r == 0)
		r = interpret(px, i, tg, text, err);
	if (r != 0)
		free(text);
	return r;
}

/* ---- the rest ----------------------------------------------------------- */

int pyindex_init(struct pyindex *px, const struct pyindex_config *cfg,
		 const struct resolve_pkg *local, size_t n_local, struct rb_err *err)
{
	memset(px, 0, sizeof(*px));
	px->cfg = *cfg;
	px->fetch = (struct fetch_ctx){.index_url = cfg->url,
				       .credentials = cfg->credentials,
				       .ca_file = cfg->ca_file,
				       .deadline = cfg->deadline,
				       .budget = cfg->max_bytes};
	px->cap = n_local + 64;
	px->pkgs = calloc(px->cap, sizeof(*px->pkgs));
	px->files = calloc(64, sizeof(*px->files));
	if (!px->pkgs || !px->files) {
		pyindex_free(px);
		return rb_fail_sys(err, ENOMEM, "prepare the package index");
	}
	memcpy(px->pkgs, local, n_local * sizeof(*local));
	px->n = px->first = n_local;
	px->src = (struct resolve_source){expand, describe, explain, px};
	px->ix = (struct resolve_index){px->pkgs, px->n, &px->src};
	return 0;
}

struct pyindex_file *pyindex_file(struct pyindex *px, size_t i)
{
	return i >= px->first && i < px->n ? &px->files[i - px->first] : NULL;
}

int pyindex_download(struct pyindex *px, size_t i, int fd, struct rb_err *err)
{
	struct pyindex_file *f = file_at(px, i);
	uint64_t bytes;
	char what[600];

	snprintf(what, sizeof(what), "%s", f->filename);
	return fetch_to_file(&px->fetch, f->url, f->sha256, fd, what, &bytes, err);
}

void pyindex_free(struct pyindex *px)
{
	for (size_t i = px->first; px->files && i < px->n; i++) {
		struct pyindex_file *f = &px->files[i - px->first];

		free(f->name);
		free(f->version);
		free(f->filename);
		free(f->url);
		free(f->metadata);
		cJSON_Delete(f->desc);
		free(f->strs);
		free(f->extras);
	}
	fetch_release(&px->fetch);
	free(px->pkgs);
	free(px->files);
	free(px->notes);
	memset(px, 0, sizeof(*px));
}
