/*
 * nodeargv: the argv of a Node.js program (see nodeargv.h).
 */
#define _GNU_SOURCE
#include "run/nodeargv.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#define MiB ((size_t)1024 * 1024)

/*
 * The prelude, a CommonJS file node loads (-r) before the program.  Node
 * writes to a pipe without blocking and drops what is still queued when
 * the program calls process.exit(): stdout and stderr are made blocking,
 * so everything written is in the answer.  A script run as an ES module
 * also gets CommonJS's names as globals; a program's own declaration
 * of any of them (the usual `const __dirname = ...` of ES modules)
 * shadows the global without a clash.
 */
static const char prelude_stdio[] =
    "\"use strict\";\n"
    "for (const s of [process.stdout, process.stderr])\n"
    "\tif (s._handle && s._handle.setBlocking) s._handle.setBlocking(true);\n";

/* Worker threads load the prelude too: the globals are the main file's. */
static const char prelude_globals[] =
    "if (require(\"worker_threads\").isMainThread) {\n"
    "\tconst { createRequire } = require(\"module\"), { dirname } = require(\"path\");\n"
    "\tconst f = process.argv[1], r = createRequire(f);\n"
    "\tconst m = { id: \".\", path: dirname(f), filename: f, loaded: true, exports: {},\n"
    "\t\t    children: [], paths: [] };\n"
    "\tr.main = m;\n"
    "\tObject.assign(globalThis, { require: r, module: m, exports: m.exports,\n"
    "\t\t\t\t   __filename: f, __dirname: dirname(f) });\n"
    "}\n";

size_t nodeargv_prelude(bool commonjs_globals, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s", prelude_stdio, commonjs_globals ? prelude_globals : "");

	return n < 0 ? 0 : (size_t)n;
}

/*
 * The TypeScript step, run by /bin/sh with the paths as its positional
 * parameters (never pasted into the script): esbuild IN OUT FORMAT, then
 * node's whole argv.  esbuild's own exit status (1 on a syntax error)
 * ends the run when it fails.
 */
static const char ts_script[] =
    "e=$1 in=$2 out=$3 f=$4; shift 4; "
    "\"$e\" \"$in\" --bundle --platform=node --format=\"$f\" --packages=external "
    "--sourcemap=inline --log-level=error --outfile=\"$out\" || exit; "
    "exec \"$@\"";

size_t nodeargv_heap_mib(size_t mem_bytes)
{
	size_t mib = mem_bytes / MiB * 3 / 4;

	return mib < 16 ? 16 : mib;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "type" of the package.json at @path among the request's files: 1 module, 0 other, -1 none. */
static int package_type(const struct request *req, const char *path)
{
	for (size_t i = 0; i < req->n_files; i++) {
		const cJSON *type;
		cJSON *pj;
		int module;

		if (strcmp(req->files[i].path, path) != 0)
			continue;
		pj = cJSON_ParseWithLength(req->files[i].data, req->files[i].len);
		type = cJSON_GetObjectItemCaseSensitive(pj, "type");
		module = cJSON_IsString(type) && strcmp(type->valuestring, "module") == 0;
		cJSON_Delete(pj);
		return module;
	}
	return -1;
}

enum nodeargv_format nodeargv_ts_format(const struct request *req)
{
	const char *entry = req->entry_point;
	char dir[1100];
	char *slash;

	if (!entry || ends_with(entry, ".mts"))
		return NODEARGV_ESM;
	if (ends_with(entry, ".cts"))
		return NODEARGV_CJS;
	/* The nearest package.json, from the entry point's directory up. */
	snprintf(dir, sizeof(dir), "%s", entry);
	while ((slash = strrchr(dir, '/'))) {
		char pj[1120];
		int t;

		*slash = '\0';
		snprintf(pj, sizeof(pj), "%s/package.json", dir);
		t = package_type(req, pj);
		if (t >= 0)
			return t ? NODEARGV_ESM : NODEARGV_CJS;
	}
	return package_type(req, "package.json") == 1 ? NODEARGV_ESM : NODEARGV_CJS;
}

/* "src/main.ts" -> "./src/.main.ts.runbox.mjs": beside it, so __dirname is the same. */
static void transpiled_path(const char *entry, enum nodeargv_format f, char *buf, size_t size)
{
	const char *base = strrchr(entry, '/');
	int dirlen = base ? (int)(base - entry) + 1 : 0;

	snprintf(buf, size, "./%.*s.%s.runbox.%s", dirlen, entry, base ? base + 1 : entry,
		 f == NODEARGV_ESM ? "mjs" : "cjs");
}

/* node, its flags, the file it runs.  Returns the count written. */
static size_t node_part(const struct nodeargv_in *in, struct nodeargv_bufs *b, const char *file,
			char **argv)
{
	size_t n = 0;

	snprintf(b->heap, sizeof(b->heap), "--max-old-space-size=%zu",
		 nodeargv_heap_mib(in->mem_bytes));
	argv[n++] = (char *)in->node;
	argv[n++] = b->heap;
	if (in->req->language == LANG_TYPESCRIPT)
		argv[n++] = "--enable-source-maps";
	if (in->keep_symlinks) {
		/* A linked package's own dependencies resolve from where it is linked. */
		argv[n++] = "--preserve-symlinks";
		argv[n++] = "--preserve-symlinks-main";
	}
	argv[n++] = "-r";
	argv[n++] = (char *)in->prelude;
	argv[n++] = (char *)file;
	return n;
}

size_t nodeargv_build(const struct nodeargv_in *in, struct nodeargv_bufs *b, char **argv,
		      size_t max)
{
	const struct request *req = in->req;
	const char *prog = request_program_path(req);
	size_t n = 0;

	if (req->language == LANG_TYPESCRIPT) {
		enum nodeargv_format f = nodeargv_ts_format(req);

		snprintf(b->entry, sizeof(b->entry), "./%s", prog);
		transpiled_path(prog, f, b->out, sizeof(b->out));
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = (char *)ts_script;
		argv[n++] = "sh";
		argv[n++] = (char *)in->esbuild;
		argv[n++] = b->entry;
		argv[n++] = b->out;
		argv[n++] = f == NODEARGV_ESM ? "esm" : "cjs";
		n += node_part(in, b, b->out, argv + n);
	} else {
		/* "./": an entry point named "-x.js" is a file, not a flag. */
		snprintf(b->entry, sizeof(b->entry), "./%s", prog);
		n += node_part(in, b, b->entry, argv + n);
	}
	for (size_t i = 0; i < req->n_args && n + 1 < max; i++)
		argv[n++] = (char *)req->args[i];
	argv[n] = NULL;
	return n;
}
