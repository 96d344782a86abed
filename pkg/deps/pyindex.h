/*
 * pyindex: a package index ("simple" API, PEP 503 HTML or PEP 691 JSON)
 * as a source of entries for the resolver (resolve.h).
 *
 * The resolver's index here is the local entries the caller gives (the
 * baked cache, the pre-installed packages, what this instance fetched
 * before) followed by the index's, added per name on demand: the project
 * page (cached in the state directory for the TTL, fetched under a lock so
 * that concurrent requests fetch it once) gives per version the wheel that
 * fits the interpreter best.  Files without a sha256, whose
 * Requires-Python excludes the interpreter or whose tags do not fit are
 * left out, and explain() says so.  An entry's requirements are read when
 * the resolver first tries it: from its PEP 658 .metadata file when the
 * index has one (checked against its sha256 when given), else from the
 * whole wheel, which the caller's install() downloads and unpacks.
 */
#ifndef RUNBOX_PYINDEX_H
#define RUNBOX_PYINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/fetch.h"
#include "deps/resolve.h"
#include "deps/target.h"

#define PYINDEX_MAX_PAGE_BYTES	   (64 * 1024 * 1024)
#define PYINDEX_MAX_METADATA_BYTES (1024 * 1024)

struct pyindex_config {
	const char *url;	 /* RUNBOX_INDEX_URL, the index's root */
	const char *credentials; /* RUNBOX_INDEX_TOKEN, or NULL */
	const char *ca_file;	 /* PEM bundle */
	double ttl_s;		 /* how long a cached page is used */
	int pages_fd;		 /* where pages are cached, or -1 */
	double deadline;	 /* clock_now() value */
	uint64_t max_bytes;	 /* download budget of this request */
};

/* An entry from the index (entries before pyindex.first are the caller's). */
struct pyindex_file {
	char *name, *version, *filename, *url;
	char sha256[65];
	bool has_metadata;
	char metadata_sha256[65];
	char *metadata; /* METADATA the entry was resolved with, once described */
	cJSON *desc;	/* {"requires": [...], "extras": {...}}, once described */
	const char **strs;
	struct resolve_extra *extras;
};

struct pyindex_note;

struct pyindex {
	struct pyindex_config cfg;
	struct fetch_ctx fetch;
	/* The interpreter, asked for the first time it is needed. */
	int (*get_target)(void *ctx, const struct target **ret, struct rb_err *err);
	/* Download and unpack entry @i; its METADATA into *ret (free() it). */
	int (*install)(void *ctx, size_t i, char **ret_metadata, struct rb_err *err);
	void *ctx;
	struct resolve_index ix; /* what the resolver reads */
	struct resolve_source src;
	struct resolve_pkg *pkgs;
	size_t n, cap, first;
	struct pyindex_file *files; /* files[i - first] */
	struct pyindex_note *notes;
	size_t n_notes;
};

/* Start with copies of @n_local local entries.  Release with pyindex_free(). */
int pyindex_init(struct pyindex *px, const struct pyindex_config *cfg,
		 const struct resolve_pkg *local, size_t n_local, struct rb_err *err);

void pyindex_free(struct pyindex *px);

/* Entry @i's file, or NULL when @i is a local entry. */
struct pyindex_file *pyindex_file(struct pyindex *px, size_t i);

/* Download entry @i's wheel into @fd, verified against its sha256. */
int pyindex_download(struct pyindex *px, size_t i, int fd, struct rb_err *err);

#endif
