/*
 * simpleindex: a tolerant scanner for PEP 503 pages (only <a> start tags
 * and their attributes matter; comments are skipped, entities decoded) and
 * cJSON for PEP 691 pages.
 */
#define _GNU_SOURCE
#include "deps/simpleindex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "deps/url.h"

#define MAX_ATTR 4096

struct builder {
	struct simpleindex_page *p;
	size_t cap;
	const char *page_url;
};

static int bad_page(struct rb_err *err, const char *why)
{
	return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "index_bad_page", NULL,
		       "The package index served a project page runbox cannot read: %s", why);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* "sha256=<64 hex>" (any case) into @out as lowercase; false (and @out untouched) otherwise. */
static bool take_sha256(const char *s, size_t len, char out[65])
{
	if (len != 7 + 64 || strncasecmp(s, "sha256=", 7) != 0)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[7 + i]))
			return false;
	for (size_t i = 0; i < 64; i++)
		out[i] = (char)tolower((unsigned char)s[7 + i]);
	out[64] = '\0';
	return true;
}

static bool hex64(const char *s, char out[65])
{
	char tmp[7 + 65];

	if (!s || strlen(s) != 64)
		return false;
	snprintf(tmp, sizeof(tmp), "sha256=%s", s);
	return take_sha256(tmp, strlen(tmp), out);
}

static int grow(struct builder *b)
{
	struct simpleindex_file *f;
	size_t cap;

	if (b->p->n < b->cap)
		return 0;
	if (b->cap >= SIMPLEINDEX_MAX_FILES)
		return -E2BIG;
	cap = b->cap ? b->cap * 2 : 64;
	f = realloc(b->p->files, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	b->p->files = f;
	b->cap = cap;
	return 0;
}

/* One file: @href as linked, attributes already decoded. */
static int add_file(struct builder *b, const char *href, const char *requires_python, bool yanked,
		    const char *metadata)
{
	char url[URL_MAX], name[512];
	struct url_parts u;
	struct simpleindex_file *f;
	int r;

	if (url_resolve(b->page_url, href, url, sizeof(url)) < 0 || url_parse(url, &u) < 0 ||
	    url_basename(&u, name, sizeof(name)) <= 0)
		return 0; /* not a link runbox could fetch: as if absent */
	if (!ends_with(name, ".whl") || strlen(name) <= 4) {
		b->p->others++;
		return 0;
	}
	r = grow(b);
	if (r < 0)
		return r;
	f = &b->p->files[b->p->n];
	memset(f, 0, sizeof(*f));
	take_sha256(u.fragment, strlen(u.fragment), f->sha256);
	url_format(&u, true, url, sizeof(url));
	f->filename = strdup(name);
	f->url = strdup(url);
	f->requires_python = strdup(requires_python ? requires_python : "");
	f->yanked = yanked;
	f->metadata = metadata && (strcasecmp(metadata, "true") == 0 ||
				   take_sha256(metadata, strlen(metadata), f->metadata_sha256));
	b->p->n++;
	return f->filename && f->url && f->requires_python ? 0 : -ENOMEM;
}

/* ---- HTML ----------------------------------------------------------------- */

static const struct {
	const char *name;
	char c;
} entities[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};

/* Decode @len bytes of an attribute value into @out (character references). */
static void decode(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		const char *semi =
		    s[i] == '&' ? memchr(s + i, ';', len - i < 12 ? len - i : 12) : NULL;
		size_t k, elen = semi ? (size_t)(semi - s - i - 1) : 0;

		if (semi && elen > 1 && s[i + 1] == '#') {
			bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
			unsigned long v = strtoul(s + i + 2 + hex, NULL, hex ? 16 : 10);

			out[n++] = v > 0 && v < 128 ? (char)v : '?';
			i += elen + 1;
			continue;
		}
		for (k = 0; semi && k < sizeof(entities) / sizeof(entities[0]); k++)
			if (strlen(entities[k].name) == elen &&
			    strncmp(s + i + 1, entities[k].name, elen) == 0)
				break;
		if (semi && k < sizeof(entities) / sizeof(entities[0])) {
			out[n++] = entities[k].c;
			i += elen + 1;
			continue;
		}
		out[n++] = s[i];
	}
	out[n] = '\0';
}

struct anchor {
	char href[MAX_ATTR], requires_python[MAX_ATTR], core[MAX_ATTR], distinfo[MAX_ATTR];
	bool has_href, yanked, has_core, has_distinfo;
};

static void keep_attr(struct anchor *a, const char *name, size_t nlen, const char *v, size_t vlen)
{
	static const char *const names[] = {"href", "data-requires-python", "data-core-metadata",
					    "data-dist-info-metadata", "data-yanked"};
	char *dst[] = {a->href, a->requires_python, a->core, a->distinfo, NULL};
	bool *flag[] = {&a->has_href, NULL, &a->has_core, &a->has_distinfo, &a->yanked};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) != nlen || strncasecmp(name, names[i], nlen) != 0)
			continue;
		if (dst[i])
			decode(v, vlen, dst[i], MAX_ATTR);
		if (flag[i])
			*flag[i] = true;
	}
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

/* The value after an attribute's '=': quoted or not; returns where it ends. */
static const char *scan_value(const char *p, const char *end, const char **ret_v, size_t *ret_len)
{
	const char *close;

	p = skip_space(p, end);
	if (p < end && (*p == '"' || *p == '\'')) {
		close = memchr(p + 1, *p, (size_t)(end - p - 1));
		*ret_v = p + 1;
		*ret_len = close ? (size_t)(close - p - 1) : (size_t)(end - p - 1);
		return close ? close + 1 : end;
	}
	for (*ret_v = p; p < end && !isspace((unsigned char)*p) && *p != '>'; p++)
		;
	*ret_len = (size_t)(p - *ret_v);
	return p;
}

/* Attributes of a start tag from @p to its '>'; returns where it ends. */
static const char *scan_attrs(const char *p, const char *end, struct anchor *a)
{
	while (p < end && *p != '>') {
		const char *name, *v = "";
		size_t nlen, vlen = 0;

		while (p < end && (isspace((unsigned char)*p) || *p == '/'))
			p++;
		name = p;
		while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
			p++;
		nlen = (size_t)(p - name);
		p = skip_space(p, end);
		if (p < end && *p == '=')
			p = scan_value(p + 1, end, &v, &vlen);
		if (nlen)
			keep_attr(a, name, nlen, v, vlen);
		else if (p < end && *p != '>')
			p++;
	}
	return p;
}

static int parse_html(struct builder *b, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	struct anchor *a = malloc(sizeof(*a));
	int r = a ? 0 : -ENOMEM;

	while (r >= 0 && (p = memchr(p, '<', (size_t)(end - p)))) {
		if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
			const char *c = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);

			p = c ? c + 3 : end;
			continue;
		}
		if (end - p < 3 || (p[1] | 0x20) != 'a' || !isspace((unsigned char)p[2])) {
			p++;
			continue;
		}
		memset(a, 0, sizeof(*a));
		p = scan_attrs(p + 2, end, a);
		if (a->has_href)
			r = add_file(b, a->href, a->requires_python, a->yanked,
				     a->has_core       ? a->core
				     : a->has_distinfo ? a->distinfo
						       : NULL);
	}
	free(a);
	return r;
}

/* ---- JSON ----------------------------------------------------------------- */

static const char *metadata_of(const cJSON *f, char *buf)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "core-metadata");

	if (!m)
		m = cJSON_GetObjectItemCaseSensitive(f, "dist-info-metadata");
	if (cJSON_IsTrue(m))
		return "true";
	if (cJSON_IsObject(m)) {
		const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "sha256"));

		if (h && strlen(h) == 64) {
			snprintf(buf, 72, "sha256=%s", h);
			return buf;
		}
		return "true";
	}
	return NULL;
}

static int json_file(struct builder *b, const cJSON *f)
{
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "url"));
	const char *rp =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "requires-python"));
	const cJSON *y = cJSON_GetObjectItemCaseSensitive(f, "yanked");
	const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(f, "hashes"), "sha256"));
	char mbuf[80], href[URL_MAX + 80];
	size_t at;
	int r;

	if (!url || strlen(url) >= URL_MAX)
		return 0;
	/* The JSON hash stands where HTML puts its fragment. */
	snprintf(href, sizeof(href), "%.*s", (int)strcspn(url, "#"), url);
	at = strlen(href);
	if (hex64(h, mbuf))
		snprintf(href + at, sizeof(href) - at, "#sha256=%s", mbuf);
	r = add_file(b, href, rp, cJSON_IsTrue(y) || cJSON_IsString(y), metadata_of(f, mbuf));
	return r;
}

static int parse_json(struct builder *b, const char *s, size_t len, struct rb_err *err)
{
	cJSON *root = cJSON_ParseWithLength(s, len), *f;
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
	int r = 0;

	if (!root || !cJSON_IsArray(files)) {
		cJSON_Delete(root);
		return bad_page(err, root ? "its JSON has no \"files\" array" : "it is not JSON");
	}
	cJSON_ArrayForEach(f, files)
	{
		if (r >= 0 && cJSON_IsObject(f))
			r = json_file(b, f);
	}
	cJSON_Delete(root);
	return r;
}

int simpleindex_parse(const char *body, size_t len, enum simpleindex_format fmt,
		      const char *page_url, struct simpleindex_page *ret, struct rb_err *err)
{
	struct simpleindex_page p = {0};
	struct builder b = {&p, 0, page_url};
	int r =
	    fmt == SIMPLEINDEX_JSON ? parse_json(&b, body, len, err) : parse_html(&b, body, len);

	if (r == -ENOMEM)
		r = rb_fail_sys(err, ENOMEM, "read the package index's page");
	else if (r == -E2BIG)
		r = bad_page(err, "it lists more than 100000 files");
	if (r < 0) {
		simpleindex_free(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void simpleindex_free(struct simpleindex_page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->files[i].filename);
		free(p->files[i].url);
		free(p->files[i].requires_python);
	}
	free(p->files);
	memset(p, 0, sizeof(*p));
}
