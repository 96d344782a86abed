/*
 * fuzz_simpleindex: libFuzzer target for what runbox reads from a package
 * index it does not control: a project page, as PEP 503 HTML or PEP 691
 * JSON (the first byte picks which), and the links in it (url_resolve).
 *
 * Invariants: parsing either succeeds or fails with code "index_bad_page"
 * (or out of memory); every file it keeps is a ".whl" with an absolute
 * http(s) URL that url_parse accepts and holds no credentials, a sha256
 * that is empty or 64 lowercase hex digits, and the counts stay within
 * SIMPLEINDEX_MAX_FILES.  A broken rule is a __builtin_trap().  Built and
 * run by tests/fuzz/run.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "deps/simpleindex.h"
#include "deps/url.h"

#include "fuzz.h"

static void check_hex(const char *h)
{
	size_t n = strlen(h);

	CHECK(n == 0 || (n == 64 && strspn(h, "0123456789abcdef") == 64));
}

static void check_file(const struct simpleindex_file *f)
{
	struct url_parts u;
	size_t n = strlen(f->filename);

	CHECK(n > 4 && strcasecmp(f->filename + n - 4, ".whl") == 0);
	CHECK(url_parse(f->url, &u) == 0 && u.userinfo[0] == '\0' && u.fragment[0] == '\0');
	check_hex(f->sha256);
	check_hex(f->metadata_sha256);
	CHECK(f->requires_python != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct simpleindex_page p;
	struct rb_err err;
	char out[URL_MAX], *s;
	int r;

	if (size < 1)
		return 0;
	r = simpleindex_parse((const char *)data + 1, size - 1,
			      data[0] & 1 ? SIMPLEINDEX_JSON : SIMPLEINDEX_HTML,
			      "https://u:p@idx.example/simple/pkg/", &p, &err);
	CHECK(r == 0 || !strcmp(err.code, "index_bad_page") || r == -ENOMEM);
	for (size_t i = 0; r == 0 && i < p.n; i++)
		check_file(&p.files[i]);
	if (r == 0) {
		CHECK(p.n + p.others <= 2 * SIMPLEINDEX_MAX_FILES);
		simpleindex_free(&p);
	}
	/* The same bytes as one link. */
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	r = url_resolve("https://idx.example/simple/pkg/", s, out, sizeof(out));
	if (r >= 0) {
		struct url_parts u;

		CHECK((size_t)r == strlen(out) && url_parse(out, &u) == 0);
	}
	free(s);
	return 0;
}
