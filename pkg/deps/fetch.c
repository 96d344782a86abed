/*
 * fetch: one libcurl easy handle per request context, reset between
 * transfers (its connection cache stays, so a page, a METADATA file and a
 * wheel from one host share a connection); redirects walked by hand.
 */
#define _GNU_SOURCE
#include "deps/fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "base/sha256.h"
#include "deps/url.h"

#ifndef RUNBOX_VERSION
#define RUNBOX_VERSION "0"
#endif

#define MAX_DISCARD (1024 * 1024) /* body bytes of a redirect or error answer */

struct xfer {
	int fd; /* -1: into buf */
	char *buf;
	size_t len, cap;
	uint64_t limit, got, discarded;
	bool over, write_failed;
	struct sha256 h;
	CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void fetch_host(const char *url, char *out, size_t size)
{
	struct url_parts u;
	bool dflt;

	if (url_parse(url, &u) < 0) {
		snprintf(out, size, "(an unusable URL)");
		return;
	}
	dflt = u.port == (strcmp(u.scheme, "https") == 0 ? 443u : 80u);
	if (dflt)
		snprintf(out, size, "%s", u.host);
	else
		snprintf(out, size, "%s:%u", u.host, u.port);
}

bool fetch_url_ok(const char *url)
{
	struct url_parts u;

	return url_parse(url, &u) == 0;
}

static int fail(struct rb_err *err, enum rb_fault f, const char *code, const char *what,
		const char *url, const char *fmt, const char *detail)
{
	char host[300];

	fetch_host(url, host, sizeof(host));
	return rb_fail(err, f, 0, code, "dependencies",
		       "Fetching %s from the package index failed (host %s): %s%s%s", what, host,
		       fmt, detail && *detail ? ": " : "", detail ? detail : "");
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) { /* a redirect's or an error's body: not the file */
		x->discarded += len;
		return x->discarded > MAX_DISCARD ? 0 : len;
	}
	if (x->got + len > x->limit) {
		x->over = true;
		return 0;
	}
	x->got += len;
	if (x->fd >= 0) {
		sha256_update(&x->h, p, len);
		if (fd_write_all(x->fd, p, len) < 0) {
			x->write_failed = true;
			return 0;
		}
		return len;
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = (x->len + len + 1) * 2;
		char *b = realloc(x->buf, cap);

		if (!b) {
			x->write_failed = true;
			return 0;
		}
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static const struct {
	CURLcode rc;
	const char *code;
	const char *what;
} curl_errors[] = {
    {CURLE_OPERATION_TIMEDOUT, "index_timeout", "it did not answer within the request's time"},
    {CURLE_COULDNT_RESOLVE_HOST, "index_unreachable", "its host name does not resolve"},
    {CURLE_COULDNT_CONNECT, "index_unreachable", "it cannot be reached"},
    {CURLE_GOT_NOTHING, "index_unreachable", "it closed the connection without answering"},
    {CURLE_SEND_ERROR, "index_unreachable", "the connection failed"},
    {CURLE_RECV_ERROR, "download_truncated", "the connection broke during the transfer"},
    {CURLE_PARTIAL_FILE, "download_truncated", "the transfer ended before its declared size"},
    {CURLE_PEER_FAILED_VERIFICATION, "index_tls_failed",
     "its TLS certificate does not verify against the CA bundle (RUNBOX_INDEX_CA)"},
    {CURLE_SSL_CONNECT_ERROR, "index_tls_failed", "the TLS handshake failed"},
    {CURLE_SSL_CACERT_BADFILE, "index_tls_failed",
     "the CA bundle (RUNBOX_INDEX_CA) cannot be read"},
    {CURLE_SSL_CERTPROBLEM, "index_tls_failed", "a certificate is unusable"},
    {CURLE_SSL_CIPHER, "index_tls_failed", "no TLS cipher in common"},
};

/* A libcurl failure as a refusal; curl's own text only when it holds no credentials. */
static int curl_fail(struct fetch_ctx *c, CURLcode rc, const char *errbuf, const char *what,
		     const char *url, struct rb_err *err)
{
	const char *code = "index_unreachable", *why = curl_easy_strerror(rc);
	const char *detail = errbuf[0] ? errbuf : NULL;

	for (size_t i = 0; i < sizeof(curl_errors) / sizeof(curl_errors[0]); i++)
		if (curl_errors[i].rc == rc) {
			code = curl_errors[i].code;
			why = curl_errors[i].what;
		}
	if (detail && c->credentials && c->credentials[0] && strstr(detail, c->credentials))
		detail = NULL;
	if (detail && strchr(detail, '@'))
		detail = NULL; /* it may quote a URL with user:password */
	return fail(err, RB_FAULT_UNAVAILABLE, code, what, url, why, detail);
}

/*
 * The URL handed to libcurl (never with credentials of its own: libcurl
 * would send them anywhere) and the Authorization for it: only on the
 * index's own origin.
 */
static struct curl_slist *auth(struct fetch_ctx *c, CURL *h, const char *url, struct curl_slist *hd,
			       char *url_out, size_t size)
{
	struct url_parts ix, u;
	char line[1100];
	int n;

	if (url_parse(url, &u) < 0) {
		snprintf(url_out, size, "%s", url);
		return hd;
	}
	n = url_format(&u, true, url_out, size);
	if (n < 0 || url_parse(c->index_url, &ix) < 0 || !url_same_origin(&ix, &u))
		return hd;
	if (c->credentials && c->credentials[0] && strchr(c->credentials, ':')) {
		curl_easy_setopt(h, CURLOPT_USERPWD, c->credentials);
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	} else if (c->credentials && c->credentials[0]) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->credentials);
		hd = curl_slist_append(hd, line);
	} else if (ix.userinfo[0]) { /* user:password in RUNBOX_INDEX_URL, percent-encoded */
		char rest[URL_MAX];

		snprintf(rest, sizeof(rest), "%s", url_out + strlen(u.scheme) + 3);
		snprintf(url_out, size, "%s://%s@%s", u.scheme, ix.userinfo, rest);
	}
	return hd;
}

static void setup(struct fetch_ctx *c, CURL *h, const char *url, struct xfer *x, double left)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left * 1000) + 1);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "runbox/" RUNBOX_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->limit);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, x->fd < 0 ? "" : NULL);
}

struct hop {
	const char *accept, *what;
	long status;
	char next[URL_MAX]; /* the redirect target, "" when none */
	char ctype[128];
};

static int budget_fail(struct fetch_ctx *c, const struct xfer *x, uint64_t max, const char *what,
		       const char *url, struct rb_err *err)
{
	char host[300];

	fetch_host(url, host, sizeof(host));
	if (x->limit < max)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "index_budget_exceeded", "dependencies",
			       "Fetching %s from the package index (host %s) would pass the "
			       "request's download budget of %llu bytes (RUNBOX_INDEX_MAX_BYTES); "
			       "ask for fewer or smaller packages.",
			       what, host, (unsigned long long)c->budget);
	return fail(err, RB_FAULT_UNAVAILABLE, "index_bad_page", what, url,
		    "the answer is larger than runbox reads", NULL);
}

/* One GET of @url, no redirect followed. */
static int one_get(struct fetch_ctx *c, const char *url, struct xfer *x, uint64_t max,
		   struct hop *hop, struct rb_err *err)
{
	CURL *h = c->curl;
	struct curl_slist *hd = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", real[URL_MAX + 600], accept[300];
	const char *loc = NULL, *ct = NULL;
	double left = c->deadline - clock_now(), t0 = clock_now();
	CURLcode rc;

	if (left <= 0)
		return curl_fail(c, CURLE_OPERATION_TIMEDOUT, "", hop->what, url, err);
	curl_easy_reset(h);
	x->curl = h;
	x->limit = c->fetched >= c->budget	  ? 0
		   : c->budget - c->fetched < max ? c->budget - c->fetched
						  : max;
	setup(c, h, url, x, left);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (hop->accept) {
		snprintf(accept, sizeof(accept), "Accept: %s", hop->accept);
		hd = curl_slist_append(hd, accept);
	}
	hd = auth(c, h, url, hd, real, sizeof(real));
	curl_easy_setopt(h, CURLOPT_URL, real);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	rc = curl_easy_perform(h);
	c->transfers++;
	c->ms += (clock_now() - t0) * 1000;
	c->fetched += x->got + x->discarded;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &hop->status);
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(hop->next, sizeof(hop->next), "%s", loc && hop->status / 100 == 3 ? loc : "");
	snprintf(hop->ctype, sizeof(hop->ctype), "%s", ct ? ct : "");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hd);
	if (x->write_failed)
		return rb_fail_sys(err, errno ? errno : EIO, "store a download from the index");
	if (x->over || rc == CURLE_FILESIZE_EXCEEDED)
		return budget_fail(c, x, max, hop->what, url, err);
	return rc == CURLE_OK ? 0 : curl_fail(c, rc, errbuf, hop->what, url, err);
}

/* The status of @hop as an outcome: 0 done, 1 follow hop->next, < 0 refused. */
static int judge(const char *url, const char *cur, struct hop *hop, bool allow_404,
		 struct rb_err *err)
{
	char msg[160];
	struct url_parts a, b;

	if (hop->status == 200 || (allow_404 && hop->status == 404))
		return 0;
	if (hop->status / 100 == 3 && hop->next[0]) {
		if (url_parse(cur, &a) == 0 && url_parse(hop->next, &b) == 0 &&
		    strcmp(a.scheme, "https") == 0 && strcmp(b.scheme, "http") == 0)
			return fail(err, RB_FAULT_UNAVAILABLE, "index_http_error", hop->what, url,
				    "it redirected from https to plain http, which runbox refuses",
				    NULL);
		return 1;
	}
	snprintf(msg, sizeof(msg), "it answered HTTP %ld%s", hop->status,
		 hop->status == 401 || hop->status == 403 ? " (check RUNBOX_INDEX_TOKEN)" : "");
	return fail(err, RB_FAULT_UNAVAILABLE, "index_http_error", hop->what, url, msg, NULL);
}

/* GET with redirects walked here (see auth()). */
static int get(struct fetch_ctx *c, const char *url, struct xfer *x, uint64_t max, bool allow_404,
	       struct hop *hop, struct rb_err *err)
{
	char cur[URL_MAX];
	int r;

	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return rb_fail_sys(err, EIO, "initialise libcurl");
	if (!c->curl && !(c->curl = curl_easy_init()))
		return rb_fail_sys(err, ENOMEM, "initialise libcurl");
	snprintf(cur, sizeof(cur), "%s", url);
	for (int hops = 0;; hops++) {
		r = one_get(c, cur, x, max, hop, err);
		if (r >= 0)
			r = judge(url, cur, hop, allow_404, err);
		if (r <= 0)
			return r;
		if (hops == FETCH_MAX_REDIRECTS)
			return fail(err, RB_FAULT_UNAVAILABLE, "index_http_error", hop->what, url,
				    "it redirected more than 5 times", NULL);
		snprintf(cur, sizeof(cur), "%s", hop->next);
		x->discarded = 0;
	}
}

int fetch_get(struct fetch_ctx *c, const char *url, const char *accept, size_t max, bool allow_404,
	      const char *what, struct fetch_body *ret, struct rb_err *err)
{
	struct xfer x = {.fd = -1};
	struct hop hop = {.accept = accept, .what = what};
	int r = get(c, url, &x, max, allow_404, &hop, err);

	if (r < 0) {
		free(x.buf);
		return r;
	}
	if (!x.buf && !(x.buf = calloc(1, 1)))
		return rb_fail_sys(err, ENOMEM, "read a download from the index");
	ret->data = x.buf;
	ret->len = x.len;
	ret->status = hop.status;
	snprintf(ret->content_type, sizeof(ret->content_type), "%s", hop.ctype);
	return 0;
}

int fetch_to_file(struct fetch_ctx *c, const char *url, const char *sha256_hex, int fd,
		  const char *what, uint64_t *ret_bytes, struct rb_err *err)
{
	struct xfer x = {.fd = fd};
	struct hop hop = {.what = what};
	uint8_t d[SHA256_DIGEST_LEN];
	char hex[65];
	int r;

	sha256_init(&x.h);
	r = get(c, url, &x, UINT64_MAX, false, &hop, err);
	if (r < 0)
		return r;
	sha256_final(&x.h, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	if (strcmp(hex, sha256_hex) != 0)
		return fail(err, RB_FAULT_UNAVAILABLE, "wheel_hash_mismatch", what, url,
			    "the file's sha256 is not the one the index lists", NULL);
	*ret_bytes = x.got;
	return 0;
}

void fetch_release(struct fetch_ctx *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}
