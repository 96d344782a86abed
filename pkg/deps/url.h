/*
 * url: the few URL operations a package index needs, on absolute http and
 * https URLs: split one into its parts, resolve a link of an index page
 * against the page's URL (RFC 3986 section 5.2), compare origins (scheme,
 * host and port: credentials go to the index's own origin only), and drop
 * credentials and fragments from what is shown in messages.
 *
 * Pure: no system calls, no allocation.
 */
#ifndef RUNBOX_URL_H
#define RUNBOX_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_MAX 2048 /* bytes of a URL runbox fetches, with its NUL */

struct url_parts {
	char scheme[8];	     /* "http" or "https", lowercase */
	char userinfo[512];  /* "user:password" as written, "" when none */
	char host[256];	     /* lowercase; an IPv6 address keeps its brackets */
	unsigned port;	     /* explicit, or the scheme's default */
	char path[URL_MAX];  /* from the first '/' up to '?' or '#', "/" when empty */
	char query[URL_MAX]; /* with its '?', "" when none */
	char fragment[512];  /* without its '#', "" when none */
};

/*
 * Split absolute URL @url.  Returns 0, or -EINVAL when it is not an http or
 * https URL with a host (or holds whitespace or control characters), or
 * -ENAMETOOLONG when a part does not fit.
 */
int url_parse(const char *url, struct url_parts *ret);

/*
 * Resolve @ref (absolute, "//host/p", "/p", "p", "../p", "?q" or "#f")
 * against absolute @base into @out.  Returns the length, -EINVAL or
 * -ENAMETOOLONG.
 */
int url_resolve(const char *base, const char *ref, char *out, size_t size);

/* Whether @a and @b have the same scheme, host and port. */
bool url_same_origin(const struct url_parts *a, const struct url_parts *b);

/*
 * @u as "scheme://host[:port]path[?query]": no credentials, no fragment.
 * Returns the length, or -ENAMETOOLONG (then @out holds a cut string).
 */
int url_format(const struct url_parts *u, bool with_query, char *out, size_t size);

/*
 * The last path segment of @u, percent-decoded ("" when it ends in '/'):
 * its length, or -EINVAL when decoding would put a '/', '\' or control
 * character into it, or -ENAMETOOLONG.
 */
int url_basename(const struct url_parts *u, char *out, size_t size);

#endif
