/*
 * simpleindex: one project page of a "simple" package index, as PEP 503
 * (HTML: an <a> per file) or PEP 691 (JSON: a "files" array) serves it,
 * turned into the list of its wheels.
 *
 * For each file: its name (the URL's last path segment, percent-decoded,
 * as installers read it), its URL resolved against the page's URL, the
 * sha256 the index gives (the "#sha256=" fragment or "hashes"), its
 * Requires-Python (PEP 503 data-requires-python, PEP 691
 * "requires-python"), whether it is yanked (PEP 592) and whether its
 * METADATA is served beside it (PEP 658 data-dist-info-metadata, renamed by
 * PEP 714 to data-core-metadata; "core-metadata" in JSON), with that
 * file's sha256 when given.  Files that are not wheels are only counted.
 *
 * Pure: no system calls; the result is allocated.
 */
#ifndef RUNBOX_SIMPLEINDEX_H
#define RUNBOX_SIMPLEINDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define SIMPLEINDEX_MAX_FILES 100000

enum simpleindex_format { SIMPLEINDEX_HTML, SIMPLEINDEX_JSON };

struct simpleindex_file {
	char *filename;	       /* "pkg-1.0-py3-none-any.whl" */
	char *url;	       /* absolute http(s), without fragment or credentials */
	char sha256[65];       /* lowercase hex, "" when the index gives none */
	char *requires_python; /* "" when none */
	bool yanked;
	bool metadata;		  /* url + ".metadata" holds its METADATA */
	char metadata_sha256[65]; /* "" when not given */
};

struct simpleindex_page {
	struct simpleindex_file *files; /* wheels only */
	size_t n;
	size_t others; /* files that are not wheels (sdists, eggs) */
};

/*
 * Parse page @body (@len bytes, not NUL-terminated) fetched from @page_url.
 * Links that do not resolve to an http(s) URL are skipped.  A page that is
 * not what @fmt says (JSON that does not parse, no "files" array) is a
 * request-independent fault: RB_FAULT_UNAVAILABLE, code "index_bad_page".
 * Release with simpleindex_free().
 */
int simpleindex_parse(const char *body, size_t len, enum simpleindex_format fmt,
		      const char *page_url, struct simpleindex_page *ret, struct rb_err *err);

void simpleindex_free(struct simpleindex_page *p);

#endif
