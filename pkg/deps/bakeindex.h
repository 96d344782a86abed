/*
 * bakeindex: `runbox bake --index URL -r requirements.txt CACHE_DIR`: the
 * closure of a requirements file resolved against a package index with the
 * same resolver and checks requests get (pyindex.h), its wheels downloaded
 * (each verified against the index's sha256) into a temporary directory
 * beside the cache, then baked from there (bake.h) and the directory
 * removed.  Builds an image's cache without pip.
 *
 * The requirements file holds one requirement a line, as a request's
 * "dependencies" entries, optionally followed by "; marker" (evaluated for
 * the interpreter); '#' starts a comment and a trailing '\' continues a
 * line.  pip's options (-r, -e, --hash, --index-url, ...) are refused with
 * the line's number.
 */
#ifndef RUNBOX_BAKEINDEX_H
#define RUNBOX_BAKEINDEX_H

#include "base/err.h"
#include "deps/bake.h"

struct bakeindex_opts {
	const char *url;	 /* the index */
	const char *credentials; /* RUNBOX_INDEX_TOKEN, or NULL */
	const char *ca_file;
	const char *requirements; /* the file */
};

/*
 * Resolve, download, bake (@b's wheel_dir is ignored).  A requirement that
 * cannot be resolved is a request fault (exit 2) naming its line; a failed
 * download a runbox fault.
 */
int bakeindex_run(const struct bake_opts *b, const struct bakeindex_opts *o, struct rb_err *err);

#endif
