/*
 * nodeargv: how a JavaScript or TypeScript program is started, as data.
 * Pure: a request and the limits in, an argv out.
 *
 * JavaScript: `node [flags] -r PRELUDE FILE ARGS...`.  TypeScript: one POSIX shell
 * step inside the run's sandbox that transpiles with esbuild (bundling the
 * entry point with the .ts files it imports, packages left to Node, an
 * inline source map) into a hidden file next to the entry point and, when
 * that worked, execs node on it with --enable-source-maps, so a stack
 * trace names the user's .ts file and line.  A syntax error is esbuild's
 * message and exit status 1.
 *
 * Memory (see cmd/runbox/README.md, "memory_limit"): V8 reserves far more
 * address space than it uses, so a Node program's rlimit is RLIMIT_DATA
 * (the private writable memory it commits) rather than RLIMIT_AS, and V8's
 * old generation is capped below it (--max-old-space-size, three quarters
 * of the limit) so that a JavaScript heap hog ends with V8's own "heap out
 * of memory" before the kernel refuses a page.
 */
#ifndef RUNBOX_NODEARGV_H
#define RUNBOX_NODEARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "contract/request.h"

/* Which module system a TypeScript program is transpiled to. */
enum nodeargv_format { NODEARGV_ESM, NODEARGV_CJS };

struct nodeargv_in {
	const char *node;    /* absolute */
	const char *esbuild; /* absolute; for typescript */
	const struct request *req;
	size_t mem_bytes;    /* the run's memory limit */
	bool keep_symlinks;  /* the run has a tree of linked packages */
	const char *prelude; /* the prelude's path (nodeargv_prelude), for -r */
};

/* Strings argv points into: keep them as long as argv. */
struct nodeargv_bufs {
	char heap[48];
	char entry[1100]; /* "./" + the entry point, for esbuild */
	char out[1100];	  /* the transpiled file */
	char prelude[1100];
};

/*
 * Fill @argv (at most @max entries, the NULL included) for @in; returns the
 * number of entries before the NULL.  The request's args come last; all of
 * them fit when @max >= NODEARGV_MAX_FIXED + 1 + n_args.
 */
#define NODEARGV_MAX_FIXED 20
size_t nodeargv_build(const struct nodeargv_in *in, struct nodeargv_bufs *b, char **argv,
		      size_t max);

/*
 * TypeScript's module system: .mts ES module, .cts CommonJS; a .ts entry
 * point in files mode follows the nearest package.json among the files
 * ("type": "module", else CommonJS, as Node and tsc read it); script mode
 * (main.ts) is an ES module.
 */
enum nodeargv_format nodeargv_ts_format(const struct request *req);

/*
 * --max-old-space-size for a memory limit of @mem_bytes, in MiB: three
 * quarters of it, at least 16.
 */
size_t nodeargv_heap_mib(size_t mem_bytes);

/*
 * The prelude node loads before the program (-r), into @buf: stdout and
 * stderr made blocking, so that what a program wrote before
 * process.exit() is not dropped; with @commonjs_globals (a script run as
 * an ES module), CommonJS's require, module, exports, __filename and
 * __dirname as globals too, so that a script that mixes the two styles
 * runs.  Returns its length (at most NODEARGV_PRELUDE_MAX - 1).
 */
#define NODEARGV_PRELUDE_MAX 1024
size_t nodeargv_prelude(bool commonjs_globals, char *buf, size_t size);

/* Where the executor writes it, relative to the workspace. */
#define NODEARGV_PRELUDE_PATH ".home/.runbox-prelude.cjs"

#endif
