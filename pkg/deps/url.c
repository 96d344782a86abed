/*
 * url: parse, resolve, compare (see url.h).  Resolution merges paths and
 * removes dot segments as RFC 3986 section 5.2 says; anything but http and
 * https is refused, so an index page cannot point runbox at file:// or
 * another protocol.
 */
#define _GNU_SOURCE
#include "deps/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int copy_part(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int parse_port(const char *s, size_t len, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "user:pw@host:port" of length @len into @ret. */
static int parse_authority(const char *a, size_t len, struct url_parts *ret)
{
	const char *at = memrchr(a, '@', len), *host = at ? at + 1 : a, *colon;
	size_t hlen = len - (size_t)(host - a);
	int r = at ? copy_part(ret->userinfo, sizeof(ret->userinfo), a, (size_t)(at - a)) : 0;

	if (r < 0)
		return r;
	if (hlen && host[0] == '[') {
		const char *close = memchr(host, ']', hlen);

		if (!close)
			return -EINVAL;
		colon = close + 1 < host + hlen && close[1] == ':' ? close + 1 : NULL;
		if (!colon && close + 1 != host + hlen)
			return -EINVAL;
	} else {
		colon = memchr(host, ':', hlen);
	}
	if (colon && parse_port(colon + 1, hlen - (size_t)(colon + 1 - host), &ret->port) < 0)
		return -EINVAL;
	if (colon)
		hlen = (size_t)(colon - host);
	if (hlen == 0)
		return -EINVAL;
	r = copy_part(ret->host, sizeof(ret->host), host, hlen);
	for (char *c = ret->host; r >= 0 && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return r;
}

int url_parse(const char *url, struct url_parts *ret)
{
	const char *rest, *end, *q, *h;
	size_t alen;
	int r;

	memset(ret, 0, sizeof(*ret));
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return -EINVAL;
	if (strncasecmp(url, "https://", 8) == 0) {
		strcpy(ret->scheme, "https");
		ret->port = 443;
		rest = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		strcpy(ret->scheme, "http");
		ret->port = 80;
		rest = url + 7;
	} else {
		return -EINVAL;
	}
	alen = strcspn(rest, "/?#");
	r = parse_authority(rest, alen, ret);
	if (r < 0)
		return r;
	rest += alen;
	h = strchr(rest, '#');
	end = h ? h : rest + strlen(rest);
	q = memchr(rest, '?', (size_t)(end - rest));
	r = copy_part(ret->path, sizeof(ret->path), rest, (size_t)((q ? q : end) - rest));
	if (r >= 0 && !ret->path[0])
		strcpy(ret->path, "/");
	if (r >= 0 && q)
		r = copy_part(ret->query, sizeof(ret->query), q, (size_t)(end - q));
	if (r >= 0 && h)
		r = copy_part(ret->fragment, sizeof(ret->fragment), h + 1, strlen(h + 1));
	return r;
}

/* RFC 3986 5.2.4, in place: "/a/b/../c/./d" -> "/a/c/d". */
static void remove_dots(char *path)
{
	char *in = path, *out = path;

	while (*in) {
		if (strncmp(in, "/./", 3) == 0 || strcmp(in, "/.") == 0) {
			in += 2;
			*in == '\0' ? (void)(*out++ = '/') : (void)0;
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			bool last = in[3] == '\0';

			in += 3;
			while (out > path && *--out != '/')
				;
			if (last)
				*out++ = '/';
		} else {
			do
				*out++ = *in++;
			while (*in && *in != '/');
		}
	}
	*out = '\0';
	if (!path[0])
		memcpy(path, "/", 2);
}

/* The path of @ref merged with @base's directory (5.2.3), into @out. */
static int merge_path(const char *base, const char *ref, size_t reflen, char *out, size_t size)
{
	const char *slash = strrchr(base, '/');
	size_t dlen = slash ? (size_t)(slash - base) + 1 : 1;

	if (dlen + reflen >= size)
		return -ENAMETOOLONG;
	if (slash)
		memcpy(out, base, dlen);
	else
		out[0] = '/';
	memcpy(out + dlen, ref, reflen);
	out[dlen + reflen] = '\0';
	return 0;
}

/* Whether @ref starts with "scheme:" (RFC 3986 3.1). */
static bool has_scheme(const char *ref)
{
	size_t n = 0;

	if (!isalpha((unsigned char)ref[0]))
		return false;
	while (isalnum((unsigned char)ref[n]) || ref[n] == '+' || ref[n] == '-' || ref[n] == '.')
		n++;
	return ref[n] == ':';
}

/* @b without credentials, with @path and @tail ("?q#f") in place of its own. */
static int join(const struct url_parts *b, const char *path, const char *tail, char *out,
		size_t size)
{
	struct url_parts u = *b;
	int n;

	if (snprintf(u.path, sizeof(u.path), "%s", path) >= (int)sizeof(u.path))
		return -ENAMETOOLONG;
	n = url_format(&u, false, out, size);
	if (n < 0 || (size_t)n + strlen(tail) >= size)
		return -ENAMETOOLONG;
	memcpy(out + n, tail, strlen(tail) + 1);
	return n + (int)strlen(tail);
}

static int resolve(const char *base, const char *ref, char *out, size_t size);

int url_resolve(const char *base, const char *ref, char *out, size_t size)
{
	struct url_parts check;
	int r = resolve(base, ref, out, size);

	/* What comes out is a URL runbox would fetch, or nothing (a link with spaces). */
	return r >= 0 && url_parse(out, &check) < 0 ? -EINVAL : r;
}

static int resolve(const char *base, const char *ref, char *out, size_t size)
{
	struct url_parts b;
	char path[URL_MAX], tail[URL_MAX + 600];
	size_t plen = strcspn(ref, "?#");
	int r;

	if (has_scheme(ref) || (ref[0] == '/' && ref[1] == '/')) {
		if (url_parse(base, &b) < 0)
			return -EINVAL;
		r = snprintf(out, size, "%s%s%s", has_scheme(ref) ? "" : b.scheme,
			     has_scheme(ref) ? "" : ":", ref);
		if (r < 0 || (size_t)r >= size)
			return -ENAMETOOLONG;
		if (url_parse(out, &b) < 0)
			return -EINVAL; /* only http and https, with a host */
		return join(&b, b.path, ref + strcspn(ref, "?#"), out, size);
	}
	if (url_parse(base, &b) < 0)
		return -EINVAL;
	if (plen == 0) { /* "?q" or "#f": the base's path (and query, for "#f") */
		snprintf(path, sizeof(path), "%s", b.path);
		snprintf(tail, sizeof(tail), "%s%s", ref[0] == '#' ? b.query : "", ref);
		return join(&b, path, tail, out, size);
	}
	r = ref[0] == '/' ? copy_part(path, sizeof(path), ref, plen)
			  : merge_path(b.path, ref, plen, path, sizeof(path));
	if (r < 0)
		return r;
	remove_dots(path);
	return join(&b, path, ref + plen, out, size);
}

bool url_same_origin(const struct url_parts *a, const struct url_parts *b)
{
	return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 &&
	       a->port == b->port;
}

int url_format(const struct url_parts *u, bool with_query, char *out, size_t size)
{
	bool dflt = (strcmp(u->scheme, "https") == 0 && u->port == 443) ||
		    (strcmp(u->scheme, "http") == 0 && u->port == 80);
	char port[8] = "";
	int r;

	if (!dflt)
		snprintf(port, sizeof(port), ":%u", u->port);
	r = snprintf(out, size, "%s://%s%s%s%s", u->scheme, u->host, port, u->path,
		     with_query ? u->query : "");
	return r >= 0 && (size_t)r < size ? r : -ENAMETOOLONG;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c)    ? c - '0'
	       : isxdigit((unsigned char)c) ? (c | 0x20) - 'a' + 10
					    : -1;
}

int url_basename(const struct url_parts *u, char *out, size_t size)
{
	const char *s = strrchr(u->path, '/');
	size_t n = 0;

	for (s = s ? s + 1 : u->path; *s; s++) {
		char c = *s;

		if (c == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
			/* A name, never a path: no '/', '\\' or control character decoded into it.
			 */
			if (c == '/' || c == '\\' || (unsigned char)c < 0x20 || c == 0x7f)
				return -EINVAL;
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = '\0';
	return (int)n;
}
