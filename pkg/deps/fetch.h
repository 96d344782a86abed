/*
 * fetch: HTTP(S) GETs from a package index with libcurl, by runbox itself
 * (the program's network stays off).
 *
 * Certificates are always verified, against the CA bundle named in the
 * options (the system's, or RUNBOX_INDEX_CA); there is no switch to turn
 * that off.  Redirects are followed here, not by libcurl, so that the
 * index's credentials go only to URLs of the index's own origin: a file
 * host or a redirect target elsewhere never sees them, and an https URL
 * never redirects to http.  Environment proxies are ignored (runbox's
 * environment is scrubbed at start).  Every transfer ends by the request's
 * deadline and counts against its byte budget.
 *
 * Failures are RB_FAULT_UNAVAILABLE (the index failed; the request may be
 * retried) with one code each, naming the URL's host, never credentials:
 * index_timeout, index_unreachable, index_tls_failed, index_http_error,
 * download_truncated; or RB_FAULT_REQUEST index_budget_exceeded.
 */
#ifndef RUNBOX_FETCH_H
#define RUNBOX_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define FETCH_MAX_REDIRECTS 5

struct fetch_ctx {
	const char *index_url;	 /* its origin is the only one credentials go to */
	const char *credentials; /* RUNBOX_INDEX_TOKEN: "user:password" (Basic) or a token
				    (Bearer); NULL or "": only the URL's own user:password */
	const char *ca_file;	 /* PEM bundle */
	double deadline;	 /* clock_now() value at which every transfer stops */
	uint64_t budget;	 /* bytes this request may still download */
	uint64_t fetched;	 /* bytes downloaded so far */
	unsigned transfers;	 /* GETs made */
	double ms;		 /* time spent in transfers */
	void *curl;		 /* one handle, kept for its connections; fetch_release() */
};

struct fetch_body {
	char *data; /* NUL-terminated; free() it */
	size_t len;
	char content_type[128];
	long status; /* 200, or 404 when @allow_404 and the index said so */
};

/*
 * GET @url into memory, at most @max bytes.  @accept is the Accept header
 * (NULL: none).  A 404 is returned as status 404 (not an error) when
 * @allow_404.  @what names the package in messages ("'numpy'").
 */
int fetch_get(struct fetch_ctx *c, const char *url, const char *accept, size_t max, bool allow_404,
	      const char *what, struct fetch_body *ret, struct rb_err *err);

/*
 * GET @url into @fd (a new, empty regular file), checking the body's
 * sha256 against @sha256_hex (64 lowercase hex digits): a mismatch is
 * RB_FAULT_UNAVAILABLE "wheel_hash_mismatch".  Returns 0 with the size in
 * *ret_bytes.
 */
int fetch_to_file(struct fetch_ctx *c, const char *url, const char *sha256_hex, int fd,
		  const char *what, uint64_t *ret_bytes, struct rb_err *err);

/* Close the connections @c holds (its counters stay). */
void fetch_release(struct fetch_ctx *c);

/* "host[:port]" of @url, for messages (never its credentials). */
void fetch_host(const char *url, char *out, size_t size);

/* Whether the index URL is usable (http or https, a host): for the start-up check. */
bool fetch_url_ok(const char *url);

#endif
