/*
 * bake: turn a directory of wheels into a cache runbox serves dependencies
 * from (`runbox bake`), and list what a cache holds (`runbox bake --list`).
 *
 * Each wheel is checked (wheelname.h for its name and tags against the
 * interpreter, asked once; wheel.h for its contents) and extracted once
 * into CACHE_DIR/site/<name>-<version>/ through a temporary directory and a
 * rename, or with --lazy checked and copied to CACHE_DIR/wheels/ for
 * extraction on first use (lazywheel.h).  Its METADATA's Requires-Dist are
 * evaluated for the interpreter, per extra.  CACHE_DIR/index.json is written
 * through a temporary file and a rename, and only when its content changes:
 * a second bake of the same inputs changes nothing.
 */
#ifndef RUNBOX_BAKE_H
#define RUNBOX_BAKE_H

#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"
#include "deps/wheel.h"

struct bake_opts {
	const char *python; /* the interpreter the cache is for */
	const char *wheel_dir;
	const char *cache_dir;
	bool lazy;
	struct wheel_limits limits;
	FILE *out;  /* the table of what was baked and skipped */
	FILE *note; /* warnings and hints for the operator (stderr) */
};

/*
 * Bake.  Wheels that do not fit or fail a check are skipped (listed with a
 * code and reason in the table and in index.json's "skipped"); that is not
 * an error.  A wheel of a package the interpreter has pre-installed is
 * baked but can never be used (the pre-installed one always wins): said
 * in the table ("shadowed") and on @o->note.  A WHEEL_DIR without wheels,
 * or a wheel skipped for its platform or Python, gets on @o->note the
 * pip download line that fetches wheels for this interpreter.
 * Returns the number of wheels skipped (>= 0), or a runbox fault: a
 * missing or unreadable WHEEL_DIR, an unwritable CACHE_DIR, an interpreter
 * that cannot run or does not answer (named with RUNBOX_PYTHON).
 */
int bake_run(const struct bake_opts *o, struct rb_err *err);

/* Print the table of a baked cache's packages and skipped wheels. */
int bake_list(const char *cache_dir, FILE *out, struct rb_err *err);

#endif
