/*
 * mcp: JSON-RPC dispatch, the three tools, and the stdio loop (see mcp.h).
 */
#define _GNU_SOURCE
#include "api/mcp.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp_content.h"
#include "base/jsonscan.h"

#ifndef RUNBOX_VERSION
#define RUNBOX_VERSION "0.1.0"
#endif

enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
};

/* Newest first: the answer to a version we do not know is the newest. */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* The dates compare as strings. */
static bool since(const struct mcp_server *s, const char *version)
{
	return strcmp(s->version, version) >= 0;
}

/* ---- JSON-RPC replies ---- */

/*
 * The request's id, to send back equal (JSON-RPC 2.0 5).  cJSON prints a
 * number with 15 significant digits when that reads back "close enough":
 * 9007199254740991 would come back as 9.00719925474099e+15, the id of
 * another request.  An id is an integer below 2^53 (id_ok): printed whole.
 */
static cJSON *id_copy(const cJSON *id)
{
	char digits[32];

	if (!id)
		return cJSON_CreateNull();
	if (!cJSON_IsNumber(id))
		return cJSON_Duplicate(id, true);
	snprintf(digits, sizeof(digits), "%.0f", id->valuedouble);
	return cJSON_CreateRaw(digits);
}

static char *envelope(const cJSON *id, const char *key, cJSON *value)
{
	cJSON *o = cJSON_CreateObject();
	char *out = NULL;

	if (o && value && cJSON_AddStringToObject(o, "jsonrpc", "2.0") &&
	    cJSON_AddItemToObject(o, "id", id_copy(id)) && cJSON_AddItemToObject(o, key, value)) {
		value = NULL;
		out = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(value);
	cJSON_Delete(o);
	return out;
}

static char *rpc_error(const cJSON *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *rpc_error(const cJSON *id, int code, const char *fmt, ...)
{
	cJSON *e = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e) {
		cJSON_AddNumberToObject(e, "code", code);
		cJSON_AddStringToObject(e, "message", msg);
	}
	return envelope(id, "error", e);
}

/* A handler's outcome: a result, or a JSON-RPC error code and message. */
struct outcome {
	cJSON *result;
	int code;
	char msg[1024];
};

static int fail(struct outcome *o, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct outcome *o, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	o->code = code;
	return -EINVAL;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* ---- the tools ---- */

static const char files_schema[] =
    "{\"type\":\"object\",\"description\":\"Input files for the program: relative path -> "
    "content. Each file is readable (not writable) at ./input/<path>. A value is the text of "
    "the file, or {\\\"content\\\": \\\"<base64>\\\", \\\"encoding\\\": \\\"base64\\\"} for "
    "binary data. At most 20 files, 5 MiB each, 10 MiB in all.\","
    "\"additionalProperties\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\","
    "\"properties\":{\"content\":{\"type\":\"string\"},\"encoding\":{\"type\":\"string\","
    "\"enum\":[\"utf-8\",\"base64\"]}},\"required\":[\"content\"],"
    "\"additionalProperties\":false}]}}";

/* A refusal, whatever refused it: the one shape every tool's outputSchema admits. */
#define REFUSAL_PROPERTIES                                                                         \
	"\"error\":{\"type\":\"string\",\"description\":\"why the call was refused\"},"            \
	"\"code\":{\"type\":\"string\",\"description\":\"a stable snake_case code\"},"             \
	"\"field\":{\"type\":\"string\",\"description\":\"the argument at fault\"}"
#define REFUSAL_REQUIRED "{\"required\":[\"error\",\"code\"]}"

static const char run_output_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"exit_code\":{\"type\":\"integer\",\"description\":\"the program's exit code; 124 on a "
    "timeout, 128+N when killed by signal N\"},"
    "\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"},"
    "\"artifacts\":{\"type\":\"object\",\"description\":\"every file written under ./output/: "
    "path -> text, or {content (base64), encoding: base64} for binary files\"},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"error\",\"timeout\",\"cpu_limit\","
    "\"file_size_limit\",\"memory_limit\",\"blocked_syscall\",\"killed\"]},"
    "\"duration_ms\":{\"type\":\"number\"},"
    "\"timeout_s\":{\"type\":\"number\",\"description\":\"the seconds the program had\"},"
    "\"timeout_clamped\":{\"type\":\"boolean\",\"description\":\"true when that is less "
    "than timeout_s asked for\"},"
    "\"truncated\":{\"type\":\"object\",\"properties\":{\"stdout\":{\"type\":\"boolean\"},"
    "\"stderr\":{\"type\":\"boolean\"}}},"
    "\"omitted_artifacts\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"number\"},\"reason\":{\"type\":"
    "\"string\"}}}},"
    "\"sandbox\":{\"type\":\"object\"},\"dependencies\":{\"type\":\"array\"}," REFUSAL_PROPERTIES
    "},"
    "\"anyOf\":[{\"required\":[\"exit_code\",\"stdout\",\"stderr\",\"artifacts\",\"status\"]}"
    "," REFUSAL_REQUIRED "]}";

static const char packages_output_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"preinstalled\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"}},"
    "\"required\":[\"name\",\"version\"]}},"
    "\"python\":{\"type\":\"string\",\"description\":\"the interpreter's version\"},"
    "\"cache\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"}},"
    "\"required\":[\"name\",\"version\"]}},"
    "\"npm\":{\"type\":\"array\",\"description\":\"npm packages for run_javascript: "
    "preinstalled ones every run can import, the others through `dependencies`\","
    "\"items\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"},"
    "\"preinstalled\":{\"type\":\"boolean\"}},\"required\":[\"name\",\"version\"]}}"
    "," REFUSAL_PROPERTIES "},"
    "\"anyOf\":[{\"required\":[\"preinstalled\",\"cache\"]}," REFUSAL_REQUIRED "]}";

/* The first sentence of the run tools' rules: what carries over between calls. */
static const char one_shot_rule[] =
    "Each call starts from scratch in a fresh, isolated sandbox: no variables, files or "
    "state carry over between calls, and there is no network access. ";

static const char session_rule[] =
    "Files persist between calls of this MCP session: each call starts in a fresh, isolated "
    "sandbox whose working directory holds every file the earlier calls left there (./input/ "
    "and ./output/ included), but variables do not (each call is a new process); "
    "`reset: true` starts from an empty directory instead. Files that stay untouched for %g s "
    "are gone. There is no network access. ";

static const char common_rules[] =
    "Input files given in "
    "`files` are readable at ./input/<path> (the working directory is the sandbox's root). "
    "To return files (plots, CSV, reports), write them under ./output/ (create subfolders "
    "as you like): every file there comes back in the result, text as text and binary as "
    "base64. Print what you want to read to stdout; stdout and stderr are each cut at 1 MiB. "
    "Timeout: %g s unless `timeout_s` says otherwise, at most %g s.";

static const char session_output_rule[] =
    " With files persisting, ./output/ returns only the files new or changed in this call.";

static const char python_intro[] =
    "Run a Python 3 program and get its stdout, stderr, exit code and output files. "
    "Pre-installed besides the standard library: numpy, pandas, scipy, scikit-learn, "
    "matplotlib (non-interactive: save figures with plt.savefig('output/plot.png')), Pillow, "
    "requests, httpx, beautifulsoup4, PyYAML, toml, python-dateutil, tqdm; list_packages "
    "gives the exact list with versions, and the packages of the wheel cache that `dependencies` "
    "can add (e.g. [\"emoji>=2\"]); nothing else can be installed, there is no pip and no "
    "network. ";

static const char bash_intro[] =
    "Run a bash script and get its stdout, stderr, exit code and output files. The usual "
    "command-line tools of a Debian system are there (coreutils, grep, sed, awk, find, "
    "python3 with the packages of run_python); `args` become $1, $2, ... and `stdin` is its "
    "standard input. ";

static const char javascript_intro[] =
    "Run a JavaScript program on Node.js (or TypeScript with `typescript`: true) and get its "
    "stdout, stderr, exit code and output files. The code runs as CommonJS (main.cjs), or as "
    "an ES module (main.mjs) when it says import, export or await, where `import`, top-level "
    "`await` and require, module, __dirname and __filename all work (TypeScript: main.ts, an "
    "ES module, transpiled with types stripped, not checked). "
    "Pre-installed npm packages and those `dependencies` can add (e.g. [\"lodash@^4\"]) are "
    "listed by list_packages; there is no npm install and no network. ";

static cJSON *run_input_schema(const struct mcp_server *srv, const char *what)
{
	char desc[256];
	cJSON *s = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(s, "properties"), *c;
	bool js = strcmp(what, "JavaScript program") == 0;

	snprintf(desc, sizeof(desc), "The %s, run as %s in the working directory.", what,
		 strcmp(what, "bash script") == 0 ? "main.sh"
		 : js ? "main.cjs or main.mjs (main.ts with `typescript`)"
		      : "main.py");
	c = cJSON_AddObjectToObject(p, "code");
	cJSON_AddStringToObject(c, "type", "string");
	cJSON_AddStringToObject(c, "description", desc);
	if (js)
		cJSON_AddItemToObject(
		    p, "typescript",
		    cJSON_Parse("{\"type\":\"boolean\",\"description\":\"The code is TypeScript "
				"(transpiled per call, types not checked; a syntax error is exit "
				"code 1 with the transpiler's message). Default false.\"}"));
	cJSON_AddItemToObject(p, "files", cJSON_Parse(files_schema));
	cJSON_AddItemToObject(
	    p, "dependencies",
	    cJSON_Parse(js ? "{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
			     "\"description\":\"npm packages with a version range such as "
			     "\\\"lodash@^4.17\\\" or a bare name, from the packages list_packages "
			     "lists; at most 15.\"}"
			   : "{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":"
			     "\"Requirement strings such as \\\"pandas>=2\\\" checked against the "
			     "pre-installed packages before the program runs; at most 15.\"}"));
	cJSON_AddItemToObject(p, "timeout_s",
			      cJSON_Parse("{\"type\":\"number\",\"exclusiveMinimum\":0,"
					  "\"description\":\"Seconds before the program is killed "
					  "(exit code 124, status timeout).\"}"));
	cJSON_AddItemToObject(p, "stdin",
			      cJSON_Parse("{\"type\":\"string\",\"description\":\"Text fed to the "
					  "program's standard input.\"}"));
	cJSON_AddItemToObject(p, "args",
			      cJSON_Parse("{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
					  "\"description\":\"Command-line arguments (sys.argv[1:], "
					  "process.argv.slice(2) or $1...).\"}"));
	if (srv->sessions)
		cJSON_AddItemToObject(
		    p, "reset",
		    cJSON_Parse("{\"type\":\"boolean\",\"description\":\"true: forget the files "
				"of earlier calls and start this one in an empty working "
				"directory.\"}"));
	cJSON_AddItemToObject(s, "required", cJSON_Parse("[\"code\"]"));
	cJSON_AddFalseToObject(s, "additionalProperties");
	cJSON_AddStringToObject(s, "type", "object");
	return s;
}

static cJSON *tool(const struct mcp_server *s, const char *name, const char *title,
		   const char *description, cJSON *input, const char *output)
{
	cJSON *t = cJSON_CreateObject(), *ann;

	cJSON_AddStringToObject(t, "name", name);
	if (since(s, "2025-06-18"))
		cJSON_AddStringToObject(t, "title", title);
	cJSON_AddStringToObject(t, "description", description);
	cJSON_AddItemToObject(t, "inputSchema", input);
	if (since(s, "2025-06-18"))
		cJSON_AddItemToObject(t, "outputSchema", cJSON_Parse(output));
	if (since(s, "2025-03-26")) {
		ann = cJSON_AddObjectToObject(t, "annotations");
		cJSON_AddStringToObject(ann, "title", title);
		cJSON_AddBoolToObject(ann, "readOnlyHint", strcmp(name, "list_packages") == 0);
		cJSON_AddFalseToObject(ann, "destructiveHint");
		cJSON_AddFalseToObject(ann, "idempotentHint");
		cJSON_AddFalseToObject(ann, "openWorldHint");
	}
	return t;
}

static cJSON *tools_list(const struct mcp_server *s)
{
	cJSON *r = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(r, "tools"), *none;
	char rules[2048], desc[3072];
	int n = s->sessions ? snprintf(rules, sizeof(rules), session_rule, s->session_ttl_s)
			    : snprintf(rules, sizeof(rules), "%s", one_shot_rule);

	n += snprintf(rules + n, sizeof(rules) - (size_t)n, common_rules, s->default_timeout_s,
		      s->max_timeout_s);
	if (s->sessions)
		snprintf(rules + n, sizeof(rules) - (size_t)n, "%s", session_output_rule);
	snprintf(desc, sizeof(desc), "%s%s", python_intro, rules);
	cJSON_AddItemToArray(a, tool(s, "run_python", "Run Python", desc,
				     run_input_schema(s, "Python program"), run_output_schema));
	snprintf(desc, sizeof(desc), "%s%s", bash_intro, rules);
	cJSON_AddItemToArray(a, tool(s, "run_bash", "Run bash", desc,
				     run_input_schema(s, "bash script"), run_output_schema));
	snprintf(desc, sizeof(desc), "%s%s", javascript_intro, rules);
	cJSON_AddItemToArray(a, tool(s, "run_javascript", "Run JavaScript or TypeScript", desc,
				     run_input_schema(s, "JavaScript program"), run_output_schema));
	none =
	    cJSON_Parse("{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}");
	cJSON_AddItemToArray(a, tool(s, "list_packages", "List Python packages",
				     "List the Python packages installed in the sandbox, with "
				     "their versions: what run_python can import and what "
				     "`dependencies` can name. Takes no arguments.",
				     none, packages_output_schema));
	return r;
}

/* ---- tool results ---- */

/*
 * A tool result: a text block, then @blocks' items (taken over, may be
 * NULL), and @structured (taken over) when the version has it.
 */
static cJSON *tool_result(const struct mcp_server *s, const char *text, cJSON *blocks,
			  cJSON *structured, bool is_error)
{
	cJSON *r = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(r, "content"), *t;
	char *json;

	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", "text");
	cJSON_AddStringToObject(t, "text", text);
	cJSON_AddItemToArray(content, t);
	while (blocks && blocks->child)
		cJSON_AddItemToArray(content, cJSON_DetachItemViaPointer(blocks, blocks->child));
	cJSON_Delete(blocks);
	if (structured && since(s, "2025-06-18")) {
		cJSON_AddItemToObject(r, "structuredContent", structured);
	} else if (structured) {
		/* Before structured content, the full answer rides along as JSON text. */
		json = cJSON_PrintUnformatted(structured);
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "type", "text");
		cJSON_AddStringToObject(t, "text", json ? json : "{}");
		cJSON_AddItemToArray(content, t);
		free(json);
		cJSON_Delete(structured);
	}
	cJSON_AddBoolToObject(r, "isError", is_error);
	return r;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A refusal {error, code, field} as a tool error, its text saying all three. */
static cJSON *refusal_result(const struct mcp_server *s, cJSON *refusal)
{
	char msg[3500];

	snprintf(msg, sizeof(msg), "runbox refused the request: %s (code %s%s%s)",
		 str(refusal, "error"), str(refusal, "code"),
		 *str(refusal, "field") ? ", argument " : "", str(refusal, "field"));
	return tool_result(s, msg, NULL, refusal, true);
}

static cJSON *tool_error(const struct mcp_server *s, const char *code, const char *field,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A refusal decided here, not by the contract: the same shape as the contract's. */
static cJSON *tool_error(const struct mcp_server *s, const char *code, const char *field,
			 const char *fmt, ...)
{
	cJSON *refusal = cJSON_CreateObject();
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!refusal || !cJSON_AddStringToObject(refusal, "error", msg) ||
	    !cJSON_AddStringToObject(refusal, "code", code) ||
	    (field && !cJSON_AddStringToObject(refusal, "field", field))) {
		cJSON_Delete(refusal);
		return tool_result(s, msg, NULL, NULL, true);
	}
	return refusal_result(s, refusal);
}

static void put_section(FILE *f, const char *name, const cJSON *resp, const char *trunc_key)
{
	const char *text = str(resp, name);
	bool cut = cJSON_IsTrue(get(get(resp, "truncated"), trunc_key));

	if (!*text)
		return;
	fprintf(f, "\n--- %s%s ---\n%s", name, cut ? " (cut at the cap)" : "", text);
	if (text[strlen(text) - 1] != '\n')
		fputc('\n', f);
}

/* The files: each named with how the model gets it (mcp_content.h), its blocks in @blocks. */
static void put_artifacts(FILE *f, const cJSON *resp, cJSON *blocks)
{
	const cJSON *a, *arts = get(resp, "artifacts"), *om = get(resp, "omitted_artifacts");

	if (cJSON_GetArraySize(arts) > 0 || cJSON_GetArraySize(om) > 0)
		fprintf(f, "\n--- files written to ./output/ ---\n");
	mcp_content_artifacts(arts, blocks, f);
	for (a = cJSON_IsArray(om) ? om->child : NULL; a; a = a->next)
		fprintf(f, "%s: left out (%s)\n", str(a, "path"), str(a, "reason"));
}

/*
 * What a model reads first: how it ended, the output, the files (their
 * blocks in @blocks), and @note, why the session's files are gone ("" when
 * they are not).
 */
static char *ran_text(const cJSON *resp, cJSON *blocks, const char *note)
{
	const cJSON *code = get(resp, "exit_code"), *ms = get(resp, "duration_ms");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "exit code %d (%s) after %.0f ms\n", cJSON_IsNumber(code) ? code->valueint : -1,
		str(resp, "status"), cJSON_IsNumber(ms) ? ms->valuedouble : 0.0);
	if (cJSON_IsTrue(get(resp, "timeout_clamped")))
		fprintf(f, "(timeout_s was lowered to %g s, the most this runbox allows)\n",
			cJSON_GetNumberValue(get(resp, "timeout_s")));
	put_section(f, "stdout", resp, "stdout");
	put_section(f, "stderr", resp, "stderr");
	put_artifacts(f, resp, blocks);
	if (*note)
		fprintf(f, "\n%s The next call starts in an empty working directory.\n", note);
	/* The stream's errors (out of memory) show at the close: no half text. */
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static const struct {
	const char *field, *arg;
} words[] = {{"script", "code"}, {"context", "files"}};

/* The contract's name @from ends a field path there: at the end, or before '.', '[' or a quote. */
static bool name_ends(const char *p)
{
	return *p == '\0' || *p == '.' || *p == '[' || *p == '\'';
}

/*
 * In @item's string, the field @from becomes @to: at the start (a "field"
 * value), or wherever it is quoted ('context', 'context.a.csv') in a message.
 */
static void reword(cJSON *item, const char *from, const char *to, bool quoted)
{
	char buf[4096];
	const char *s, *p;
	size_t o = 0, n = strlen(from);

	if (!cJSON_IsString(item))
		return;
	s = item->valuestring;
	for (p = s; *p && o < sizeof(buf) - 1;) {
		bool here =
		    quoted ? (p[0] == '\'' && strncmp(p + 1, from, n) == 0 && name_ends(p + 1 + n))
			   : (p == s && strncmp(p, from, n) == 0 && name_ends(p + n));

		if (here) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", quoted ? "'" : "",
					      to);
			p += n + quoted;
			if (o >= sizeof(buf) - 1)
				break;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o < sizeof(buf) ? o : sizeof(buf) - 1] = '\0';
	if (*p)
		return; /* too long to reword: left as it was */
	cJSON_SetValuestring(item, buf);
}

/* The contract names what the tool calls code and files: say it in the tool's words. */
static void tool_words(cJSON *resp)
{
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		reword(cJSON_GetObjectItemCaseSensitive(resp, "field"), words[i].field,
		       words[i].arg, false);
		reword(cJSON_GetObjectItemCaseSensitive(resp, "error"), words[i].field,
		       words[i].arg, true);
	}
}

static void session_take(struct mcp_server *s, cJSON *resp);

static cJSON *run_result(struct mcp_server *s, const char *json)
{
	cJSON *resp = json ? cJSON_Parse(json) : NULL, *blocks;
	char *text;
	bool failed;
	cJSON *r;

	s->session_note[0] = '\0';
	session_take(s, resp);
	if (!resp)
		return tool_error(s, "internal_error", NULL,
				  "runbox could not build its answer (out of memory).");
	if (!get(resp, "exit_code")) {
		tool_words(resp);
		return refusal_result(s, resp);
	}
	failed = strcmp(str(resp, "status"), "ok") != 0;
	blocks = cJSON_CreateArray();
	text = ran_text(resp, blocks, s->session_note);
	r = tool_result(s, text ? text : "", blocks, resp, failed);
	free(text);
	return r;
}

/* run_python / run_bash arguments → the contract request. */
static const struct {
	const char *arg, *field;
} arg_map[] = {
    {"code", "script"},		{"files", "context"}, {"dependencies", "dependencies"},
    {"timeout_s", "timeout_s"}, {"stdin", "stdin"},   {"args", "args"},
};

/*
 * cJSON prints an infinity (what a JSON number such as 1e400 parses to) as
 * null, which would change the request; the largest double keeps its
 * meaning (the contract clamps a timeout), as the other front doors do.
 */
static void finite_numbers(cJSON *v)
{
	if (cJSON_IsNumber(v) && isinf(v->valuedouble))
		cJSON_SetNumberValue(v, copysign(DBL_MAX, v->valuedouble));
	for (cJSON *c = v->child; c; c = c->next)
		finite_numbers(c);
}

/* What a run tool runs: its language, and the words its messages use. */
struct run_tool {
	const char *name, *language, *what;
	bool typescript_arg; /* takes the `typescript` boolean */
};

/* clang-format off */
static const struct run_tool run_tools[] = {
	{ "run_python", NULL, "Python program", false }, /* the contract's default */
	{ "run_bash", "bash", "bash script", false },
	{ "run_javascript", "javascript", "JavaScript or TypeScript program", true },
};
/* clang-format on */

/* run_javascript's `typescript`: a boolean that picks the language. */
static int typescript_arg(const cJSON *a, cJSON *req, struct rb_err *why)
{
	if (!cJSON_IsBool(a))
		return rb_fail(why, RB_FAULT_REQUEST, 0, "wrong_type", "typescript",
			       "`typescript` must be true or false.");
	cJSON_ReplaceItemInObject(
	    req, "language", cJSON_CreateString(cJSON_IsTrue(a) ? "typescript" : "javascript"));
	return 0;
}

/*
 * The arguments that are no contract field: `typescript` (run_javascript)
 * and `reset` (with sessions, read by session_arg).  Returns 1 when @a is
 * one of them and fine, 0 when it is none, -EINVAL with @why.
 */
static int tool_arg(const cJSON *a, const struct run_tool *t, bool sessions, cJSON *req,
		    struct rb_err *why)
{
	if (t->typescript_arg && strcmp(a->string, "typescript") == 0)
		return typescript_arg(a, req, why) < 0 ? -EINVAL : 1;
	if (!sessions || strcmp(a->string, "reset") != 0)
		return 0;
	if (!cJSON_IsBool(a))
		return rb_fail(why, RB_FAULT_REQUEST, 0, "wrong_type", "reset",
			       "`reset` must be true or false.");
	return 1;
}

static int map_args(const cJSON *args, const struct run_tool *t, bool sessions, cJSON *req,
		    struct rb_err *why)
{
	const cJSON *a, *code = get(args, "code");
	cJSON *copy;
	size_t i;
	int r;

	if (t->language)
		cJSON_AddStringToObject(req, "language", t->language);
	for (a = args ? args->child : NULL; a; a = a->next) {
		r = tool_arg(a, t, sessions, req, why);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		for (i = 0; i < sizeof(arg_map) / sizeof(arg_map[0]); i++)
			if (strcmp(a->string, arg_map[i].arg) == 0)
				break;
		if (i == sizeof(arg_map) / sizeof(arg_map[0]))
			return rb_fail(why, RB_FAULT_REQUEST, 0, "unknown_field", a->string,
				       "Unknown argument '%.200s'. The arguments are code, files, "
				       "dependencies, timeout_s, stdin%s%s and args.",
				       a->string, t->typescript_arg ? ", typescript" : "",
				       sessions ? ", reset" : "");
		copy = cJSON_Duplicate(a, true);
		if (copy)
			finite_numbers(copy);
		cJSON_AddItemToObject(req, arg_map[i].field, copy);
	}
	if (!cJSON_IsString(code))
		return rb_fail(why, RB_FAULT_REQUEST, 0, code ? "wrong_type" : "missing_program",
			       "code", "`code` is required: the %s to run, as a string.", t->what);
	return 0;
}

/*
 * The MCP session's file session: the first call (or one with reset)
 * opens a new one, later calls name it.  Its id stays here, never shown to
 * the model; a session that ended (idle past its TTL, evicted, over a cap)
 * is said once and the next call starts afresh.
 */
static void session_arg(const struct mcp_server *s, const cJSON *args, cJSON *req)
{
	if (!s->sessions)
		return;
	if (!s->session_id[0] || cJSON_IsTrue(get(args, "reset")))
		cJSON_AddTrueToObject(req, "session");
	else
		cJSON_AddStringToObject(req, "session", s->session_id);
}

static void session_take(struct mcp_server *s, cJSON *resp)
{
	const cJSON *sess = get(resp, "session");

	if (!s->sessions || !resp)
		return;
	if (strcmp(str(resp, "code"), "session_not_found") == 0) {
		s->session_id[0] = '\0';
		cJSON_ReplaceItemInObjectCaseSensitive(
		    resp, "error",
		    cJSON_CreateString("The files of earlier calls are gone (they were untouched "
				       "longer than the time files are kept, or made room for "
				       "others). Call again: the next call starts in an empty "
				       "working directory."));
		return;
	}
	if (!sess)
		return;
	snprintf(s->session_id, sizeof(s->session_id), "%s",
		 *str(sess, "ended") ? "" : str(sess, "id"));
	/* said to the model, in place of the id */
	snprintf(s->session_note, sizeof(s->session_note), "%s", str(sess, "ended"));
	cJSON_DeleteItemFromObjectCaseSensitive(resp, "session");
}

/*
 * A run tool's call: the arguments become a contract request, which runs
 * through s->run, or, under mcp_begin(), is handed to its caller to run
 * (NULL comes back: call_method then sends nothing).
 */
static cJSON *call_run(struct mcp_server *s, const cJSON *args, const struct run_tool *t)
{
	cJSON *req = cJSON_CreateObject(), *r;
	struct rb_err err = {0};
	char *body, *json = NULL;

	if (!req)
		return tool_error(s, "internal_error", NULL, "out of memory");
	if (map_args(args, t, s->sessions, req, &err) < 0) {
		cJSON_Delete(req);
		return tool_error(s, err.code, err.field[0] ? err.field : NULL, "%s", err.msg);
	}
	session_arg(s, args, req);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!body)
		return tool_error(s, "internal_error", NULL, "out of memory");
	if (s->defer) {
		s->defer->body = body;
		s->defer->len = strlen(body);
		return NULL;
	}
	s->run(s->ctx, body, strlen(body), &json, &err);
	free(body);
	r = run_result(s, json);
	free(json);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* The wheel cache's packages, [{name, version}]; an unreadable cache is said in the text. */
static cJSON *mcp_cache_packages(const struct mcp_server *s, struct rb_err *err)
{
	cJSON *list = NULL;

	if (!s->cache || s->cache(s->ctx, &list, err) < 0 || !list)
		return cJSON_CreateArray();
	return list;
}

/* The npm packages, pre-installed first, into @out's "npm" and the text. */
static void put_npm(const struct mcp_server *s, FILE *f, cJSON *out)
{
	struct rb_err err = {0};
	cJSON *npm = NULL;

	if (s->npm && s->npm(s->ctx, &npm, &err) < 0)
		fprintf(f, "The npm cache cannot be used: %s\n", err.msg);
	if (!npm)
		npm = cJSON_CreateArray();
	for (int pre = 1; pre >= 0; pre--) {
		fprintf(f, "%s",
			cJSON_GetArraySize(npm) == 0 || !pre
			    ? ""
			    : "npm packages every run_javascript can import:\n");
		if (!pre && cJSON_GetArraySize(npm) > 0)
			fprintf(f, "npm packages `dependencies` can add to run_javascript:\n");
		for (const cJSON *p = npm->child; p; p = p->next)
			if (cJSON_IsTrue(get(p, "preinstalled")) == pre)
				fprintf(f, "%s %s\n", str(p, "name"), str(p, "version"));
	}
	if (cJSON_GetArraySize(npm) == 0)
		fprintf(f, "No npm packages: run_javascript has Node.js's own modules only.\n");
	cJSON_AddItemToObject(out, "npm", npm);
}

static cJSON *call_list_packages(const struct mcp_server *s, const cJSON *args)
{
	struct rb_err err = {0};
	const cJSON *inst = NULL, *p;
	const char *pyver = "";
	const cJSON **v;
	cJSON *out, *pre, *cache;
	char *text = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	if (cJSON_GetArraySize(args) > 0)
		return tool_error(s, "unknown_field", args->child->string,
				  "list_packages takes no arguments, and '%.200s' is one.",
				  args->child->string);
	if (s->installed(s->ctx, &inst, &pyver, &err) < 0 || !inst)
		return tool_error(s, "internal_error", NULL,
				  "runbox could not list the packages: %s", err.msg);
	v = calloc((size_t)cJSON_GetArraySize(inst) + 1, sizeof(const cJSON *));
	f = open_memstream(&text, &len);
	if (!v || !f) {
		free(v);
		if (f)
			(void)fclose(f); /* nothing written yet */
		free(text);
		return tool_error(s, "internal_error", NULL, "out of memory");
	}
	for (p = inst->child; p; p = p->next)
		if (cJSON_IsString(p))
			v[n++] = p;
	qsort(v, n, sizeof(const cJSON *), by_name);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "python", pyver);
	pre = cJSON_AddArrayToObject(out, "preinstalled");
	fprintf(f, "Python %s. Pre-installed packages (%zu), importable by run_python:\n", pyver,
		n);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", v[i]->string);
		cJSON_AddStringToObject(o, "version", v[i]->valuestring);
		cJSON_AddItemToArray(pre, o);
		fprintf(f, "%s %s\n", v[i]->string, v[i]->valuestring);
	}
	cache = mcp_cache_packages(s, &err);
	cJSON_AddItemToObject(out, "cache", cache);
	if (err.msg[0])
		fprintf(f, "The wheel cache cannot be used: %s\n", err.msg);
	else if (cJSON_GetArraySize(cache) == 0)
		fprintf(f, "No wheel cache: nothing else can be installed.\n");
	else
		fprintf(f, "In the wheel cache, installable through `dependencies`:\n");
	for (p = cache ? cache->child : NULL; p; p = p->next)
		fprintf(f, "%s %s\n", str(p, "name"), str(p, "version"));
	put_npm(s, f, out);
	free(v);
	if (fclose(f) != 0) { /* the stream's errors (out of memory) show at the close */
		free(text);
		cJSON_Delete(out);
		return tool_error(s, "internal_error", NULL, "out of memory");
	}
	p = tool_result(s, text ? text : "", NULL, out, false);
	free(text);
	return (cJSON *)p;
}

/* ---- methods ---- */

static int m_initialize(struct mcp_server *s, const cJSON *params, struct outcome *o)
{
	const cJSON *want = get(params, "protocolVersion");
	const char *chosen = versions[0];
	cJSON *r, *caps, *info;

	if (!cJSON_IsString(want))
		return fail(o, RPC_INVALID_PARAMS,
			    "initialize needs params.protocolVersion (a string such as \"%s\")",
			    versions[0]);
	if (s->version[0])
		return fail(o, RPC_INVALID_REQUEST, "initialize was already done (version %s)",
			    s->version);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(want->valuestring, versions[i]) == 0)
			chosen = versions[i];
	snprintf(s->version, sizeof(s->version), "%s", chosen);
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "protocolVersion", chosen);
	caps = cJSON_AddObjectToObject(r, "capabilities");
	cJSON_AddFalseToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged");
	info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", "runbox");
	if (since(s, "2025-06-18"))
		cJSON_AddStringToObject(info, "title", "runbox sandboxed code runner");
	cJSON_AddStringToObject(info, "version", RUNBOX_VERSION);
	cJSON_AddStringToObject(r, "instructions",
				"run_python, run_bash and run_javascript run code in a fresh "
				"sandbox per call "
				"(no network, nothing kept between calls). Give input files in "
				"`files` (read them from ./input/), write result files to "
				"./output/ to get them back. list_packages says what Python "
				"and npm packages are installed.");
	o->result = r;
	return 0;
}

static int m_ping(struct mcp_server *s, const cJSON *params, struct outcome *o)
{
	(void)s;
	(void)params;
	o->result = cJSON_CreateObject();
	return 0;
}

static int m_tools_list(struct mcp_server *s, const cJSON *params, struct outcome *o)
{
	const cJSON *cursor = get(params, "cursor");

	if (cursor && !cJSON_IsNull(cursor))
		return fail(o, RPC_INVALID_PARAMS, "invalid cursor: the tool list has one page");
	o->result = tools_list(s);
	return 0;
}

static int m_tools_call(struct mcp_server *s, const cJSON *params, struct outcome *o)
{
	const cJSON *name = get(params, "name"), *args = get(params, "arguments");

	if (!cJSON_IsString(name))
		return fail(o, RPC_INVALID_PARAMS, "tools/call needs params.name (a string)");
	if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args))
		return fail(o, RPC_INVALID_PARAMS, "params.arguments must be an object");
	if (cJSON_IsNull(args))
		args = NULL;
	for (size_t i = 0; i < sizeof(run_tools) / sizeof(run_tools[0]); i++)
		if (strcmp(name->valuestring, run_tools[i].name) == 0) {
			o->result = call_run(s, args, &run_tools[i]);
			return 0;
		}
	if (strcmp(name->valuestring, "list_packages") != 0)
		return fail(o, RPC_INVALID_PARAMS,
			    "Unknown tool '%.200s'; the tools are run_python, run_bash, "
			    "run_javascript and list_packages",
			    name->valuestring);
	o->result = call_list_packages(s, args);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct mcp_server *s, const cJSON *params, struct outcome *o);
	bool needs_init; /* refused before initialize */
} methods[] = {
    {"initialize", m_initialize, false},
    {"ping", m_ping, false},
    {"tools/list", m_tools_list, true},
    {"tools/call", m_tools_call, true},
};

/* An id is a string or an integer; MCP forbids null. */
static bool id_ok(const cJSON *id)
{
	return cJSON_IsString(id) ||
	       (cJSON_IsNumber(id) && id->valuedouble == floor(id->valuedouble) &&
		fabs(id->valuedouble) < 9007199254740992.0);
}

/* params._meta.progressToken when it is one (a string or an integer), else NULL. */
static const cJSON *progress_token(const cJSON *params)
{
	const cJSON *t = get(get(params, "_meta"), "progressToken");

	return id_ok(t) ? t : NULL;
}

/* The call mcp_begin() holds back: its id and progress token go with it. */
static char *hold(struct mcp_server *s, const cJSON *id)
{
	struct mcp_pending *p = s->defer;

	p->id = cJSON_Duplicate(id, true);
	p->progress_token = s->progress_token ? cJSON_Duplicate(s->progress_token, true) : NULL;
	if (!p->id || (s->progress_token && !p->progress_token))
		mcp_pending_free(p); /* out of memory: no reply, as for any reply on ENOMEM */
	s->progress_token = NULL;
	return NULL;
}

static char *call_method(struct mcp_server *s, const cJSON *id, const char *method,
			 const cJSON *params)
{
	struct outcome o = {0};
	int r;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(method, methods[i].name) != 0)
			continue;
		if (methods[i].needs_init && !s->version[0])
			return rpc_error(id, RPC_INVALID_REQUEST,
					 "The session is not initialized: send initialize first");
		s->current_id = id;
		s->progress_token = progress_token(params);
		s->cancelled = false;
		r = methods[i].fn(s, params, &o);
		s->current_id = NULL;
		if (s->defer && s->defer->body)
			return hold(s, id);
		s->progress_token = NULL;
		if (s->cancelled) {
			cJSON_Delete(o.result);
			return NULL;
		}
		if (r < 0)
			return rpc_error(id, o.code, "%s", o.msg);
		if (!o.result)
			return rpc_error(id, RPC_INTERNAL_ERROR, "out of memory");
		return envelope(id, "result", o.result);
	}
	return rpc_error(id, RPC_METHOD_NOT_FOUND, "Method not found: '%.200s'", method);
}

static char *dispatch(struct mcp_server *s, const cJSON *msg)
{
	const cJSON *id = get(msg, "id"), *method = get(msg, "method"),
		    *params = get(msg, "params");
	const cJSON *good_id = id_ok(id) ? id : NULL;

	if (!cJSON_IsObject(msg))
		return rpc_error(NULL, RPC_INVALID_REQUEST, "A message must be a JSON object");
	if (!method && (get(msg, "result") || get(msg, "error")) && good_id)
		return NULL; /* a response: runbox sends no requests, nothing to match */
	if (strcmp(str(msg, "jsonrpc"), "2.0") != 0)
		return rpc_error(good_id, RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
	if (!cJSON_IsString(method))
		return rpc_error(good_id, RPC_INVALID_REQUEST, "\"method\" must be a string");
	if (id && !good_id)
		return rpc_error(NULL, RPC_INVALID_REQUEST,
				 "\"id\" must be a string or an integer (not null)");
	if (params && !cJSON_IsObject(params))
		return id ? rpc_error(id, RPC_INVALID_PARAMS, "\"params\" must be an object")
			  : NULL;
	if (!id)
		return NULL; /* notifications/initialized, cancelled, ...: nothing to answer */
	return call_method(s, id, cJSON_GetStringValue(method), params);
}

/*
 * What cJSON lets through but a request may not hold: a string with
 * \u0000 (cJSON would cut it there, and a shorter program would run),
 * invalid UTF-8, an unpaired surrogate.  The contract refuses these in a
 * body; here they must be caught on the line itself, before the arguments
 * are rebuilt into one.
 */
static bool bad_strings(const char *line, size_t n, struct rb_err *err)
{
	static const struct jsonscan_limits lim = {.max_depth = 1000, .max_values = (size_t)-1};

	if (jsonscan_check(line, n, &lim, err) >= 0)
		return false;
	return strcmp(err->code, "nul_in_string") == 0 || strcmp(err->code, "invalid_utf8") == 0 ||
	       strcmp(err->code, "invalid_json") == 0;
}

/* A request with such strings: a tool call is refused as a tool result, anything else as bad
 * params. */
static char *refuse_strings(struct mcp_server *s, const cJSON *msg, const struct rb_err *e)
{
	const cJSON *id = get(msg, "id");
	cJSON *refusal, *result;
	char *json;

	if (strcmp(e->code, "invalid_json") == 0) /* what cJSON let through: "id": 01, ... */
		return rpc_error(NULL, RPC_PARSE_ERROR, "Parse error: %s", e->msg);
	/* The id itself: cJSON cut it, so echoing it would name another request. */
	if (strcmp(e->field, "id") == 0)
		return rpc_error(NULL, RPC_INVALID_REQUEST, "\"id\" is not a usable string: %s",
				 e->msg);
	if (!cJSON_IsObject(msg) || !id_ok(id) || strcmp(str(msg, "jsonrpc"), "2.0") != 0 ||
	    !cJSON_IsString(get(msg, "method")))
		return dispatch(s, msg); /* not a request: answered (or not) as usual */
	/* In a tool's arguments it is the tool's refusal; anywhere else, bad params. */
	if (strcmp(str(msg, "method"), "tools/call") != 0 || !s->version[0] ||
	    strncmp(e->field, "params.arguments.", 17) != 0)
		return rpc_error(id, RPC_INVALID_PARAMS, "%s", e->msg);
	refusal = cJSON_CreateObject();
	cJSON_AddStringToObject(refusal, "error", e->msg);
	cJSON_AddStringToObject(refusal, "code", e->code);
	/* The line's path to the string, in the tool's words: the argument. */
	if (e->field[17])
		cJSON_AddStringToObject(refusal, "field", e->field + 17);
	json = cJSON_PrintUnformatted(refusal);
	cJSON_Delete(refusal);
	result = run_result(s, json);
	free(json);
	return envelope(id, "result", result);
}

/*
 * JSON-RPC batches: MCP 2025-03-26 says a server MUST take them, and
 * 2025-06-18 removed them; 2024-11-05 defers to JSON-RPC 2.0, which has
 * them.  Before initialize there is no version yet, and initialize itself
 * may not be batched.
 */
static bool batches_allowed(const struct mcp_server *s)
{
	return s->version[0] && strcmp(s->version, "2025-06-18") < 0;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	char *bigger;

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		bigger = realloc(*buf, *cap);
		if (!bigger)
			return false;
		*buf = bigger;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return true;
}

/*
 * Each member handled in order as a message of its own; the replies as one
 * array, and no line at all when every member was a notification.
 */
static char *batch(struct mcp_server *s, const cJSON *msg)
{
	struct mcp_pending *defer = s->defer;
	size_t len = 0, cap = 0;
	char *out = NULL, *reply;
	bool ok = true;

	if (!batches_allowed(s))
		return s->version[0]
			   ? rpc_error(NULL, RPC_INVALID_REQUEST,
				       "JSON-RPC batches are not part of MCP protocol version %s: "
				       "send one message a line",
				       s->version)
			   : rpc_error(NULL, RPC_INVALID_REQUEST,
				       "A JSON-RPC batch cannot come before initialize");
	if (!msg->child)
		return rpc_error(NULL, RPC_INVALID_REQUEST, "A JSON-RPC batch must not be empty");
	s->defer = NULL; /* a batch's calls run in turn, and their replies go as one */
	for (const cJSON *m = msg->child; m && ok; m = m->next) {
		reply = dispatch(s, m);
		if (reply)
			ok = append(&out, &len, &cap, len ? "," : "[") &&
			     append(&out, &len, &cap, reply);
		free(reply);
	}
	s->defer = defer;
	if (ok && len)
		ok = append(&out, &len, &cap, "]");
	if (!ok) {
		free(out);
		return rpc_error(NULL, RPC_INTERNAL_ERROR, "out of memory");
	}
	return out;
}

char *mcp_handle(struct mcp_server *s, const char *line, size_t n)
{
	const char *end = NULL;
	cJSON *msg = cJSON_ParseWithLengthOpts(line, n, &end, false);
	struct rb_err e = {0};
	bool bad;
	char *out;

	while (msg && end < line + n && strchr(" \t\r", *end))
		end++;
	if (!msg || end != line + n) {
		cJSON_Delete(msg);
		return rpc_error(NULL, RPC_PARSE_ERROR,
				 "Parse error: the line is not one JSON value");
	}
	bad = bad_strings(line, n, &e);
	/*
	 * An invalid string refuses the line before any batch is looked at, and any
	 * other refusal of a single message comes after: one answer at two points.
	 */
	if (bad && strcmp(e.code, "invalid_json") == 0)
		out = refuse_strings(s, msg, &e); /* NOLINT(bugprone-branch-clone) */
	else if (cJSON_IsArray(msg) && bad && batches_allowed(s)) /* cJSON cut a member's string */
		out = rpc_error(NULL, RPC_INVALID_REQUEST,
				"A member of the batch (%s) is refused: %s", e.field, e.msg);
	else if (cJSON_IsArray(msg))
		out = batch(s, msg);
	else if (bad)
		out = refuse_strings(s, msg, &e);
	else
		out = dispatch(s, msg);
	cJSON_Delete(msg);
	return out;
}

char *mcp_begin(struct mcp_server *s, const char *line, size_t n, struct mcp_pending *ret)
{
	char *reply;

	memset(ret, 0, sizeof(*ret));
	s->defer = ret;
	reply = mcp_handle(s, line, n);
	s->defer = NULL;
	return reply;
}

void mcp_take_session(struct mcp_server *s, const char *json)
{
	cJSON *resp = json ? cJSON_Parse(json) : NULL;

	session_take(s, resp);
	cJSON_Delete(resp);
}

char *mcp_finish(struct mcp_server *s, struct mcp_pending *p, const char *json)
{
	cJSON *result = run_result(s, json);
	char *line = result ? envelope(p->id, "result", result) : NULL;

	mcp_pending_free(p);
	return line;
}

void mcp_pending_free(struct mcp_pending *p)
{
	free(p->body);
	cJSON_Delete(p->id);
	cJSON_Delete(p->progress_token);
	memset(p, 0, sizeof(*p));
}

static void progress_message(const struct mcp_progress *p, char *buf, size_t size)
{
	if (p->queued)
		snprintf(buf, size, "queued: waiting %.0f s so far for its turn to run",
			 p->queued_s);
	else
		snprintf(buf, size,
			 "running for %.0f s: %zu bytes of stdout and %zu of stderr so far",
			 p->elapsed_s - p->queued_s, p->stdout_bytes, p->stderr_bytes);
}

/* Seconds to the millisecond: a reader gains nothing from fifteen digits. */
static double ms(double s)
{
	return round(s * 1000) / 1000;
}

char *mcp_progress_line(const cJSON *token, const struct mcp_progress *p)
{
	cJSON *n = cJSON_CreateObject(), *params, *fig;
	char msg[256], *out = NULL;

	progress_message(p, msg, sizeof(msg));
	cJSON_AddStringToObject(n, "jsonrpc", "2.0");
	cJSON_AddStringToObject(n, "method", "notifications/progress");
	params = cJSON_AddObjectToObject(n, "params");
	fig = cJSON_AddObjectToObject(cJSON_AddObjectToObject(params, "_meta"), "runbox/progress");
	if (fig && cJSON_AddItemToObject(params, "progressToken", id_copy(token)) &&
	    cJSON_AddNumberToObject(params, "progress", ms(p->progress)) &&
	    cJSON_AddStringToObject(params, "message", msg) &&
	    cJSON_AddStringToObject(fig, "state", p->queued ? "queued" : "running") &&
	    cJSON_AddNumberToObject(fig, "elapsed_s", ms(p->elapsed_s)) &&
	    cJSON_AddNumberToObject(fig, "queued_s", ms(p->queued_s)) &&
	    cJSON_AddNumberToObject(fig, "stdout_bytes", (double)p->stdout_bytes) &&
	    cJSON_AddNumberToObject(fig, "stderr_bytes", (double)p->stderr_bytes))
		out = cJSON_PrintUnformatted(n);
	cJSON_Delete(n);
	return out;
}

char *mcp_over_cap_reply(size_t cap)
{
	return rpc_error(NULL, RPC_INVALID_REQUEST, "The message is over %zu bytes", cap);
}

/* ---- what may not wait for its turn ---- */

bool mcp_same_id(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcmp(a->valuestring, b->valuestring) == 0;
	return id_ok(a) && id_ok(b) && cJSON_IsNumber(a) && cJSON_IsNumber(b) &&
	       a->valuedouble == b->valuedouble;
}

/* A well-formed message: an object with "jsonrpc": "2.0" and a string method. */
static cJSON *parse_message(const char *line, size_t n)
{
	cJSON *msg = cJSON_ParseWithLength(line, n);

	if (msg && (!cJSON_IsObject(msg) || strcmp(str(msg, "jsonrpc"), "2.0") != 0 ||
		    !cJSON_IsString(get(msg, "method")))) {
		cJSON_Delete(msg);
		msg = NULL;
	}
	return msg;
}

enum mcp_urgency mcp_urgency(const char *line, size_t n, char **ret_reply, cJSON **ret_id)
{
	cJSON *msg = parse_message(line, n);
	const cJSON *id = get(msg, "id"), *params = get(msg, "params");
	enum mcp_urgency u = MCP_IN_TURN;

	*ret_reply = NULL;
	*ret_id = NULL;
	if (msg && id_ok(id) && strcmp(str(msg, "method"), "ping") == 0 &&
	    (!params || cJSON_IsObject(params))) {
		*ret_reply = envelope(id, "result", cJSON_CreateObject());
		u = *ret_reply ? MCP_PING : MCP_IN_TURN;
	} else if (msg && !id && strcmp(str(msg, "method"), "notifications/cancelled") == 0 &&
		   id_ok(get(params, "requestId"))) {
		*ret_id = cJSON_Duplicate(get(params, "requestId"), true);
		u = *ret_id ? MCP_CANCEL : MCP_IN_TURN;
	}
	cJSON_Delete(msg);
	return u;
}

bool mcp_is_request(const char *line, size_t n, const cJSON *id)
{
	cJSON *msg = parse_message(line, n);
	bool yes = msg && mcp_same_id(get(msg, "id"), id);

	cJSON_Delete(msg);
	return yes;
}

cJSON *mcp_progress_token_of(const char *line, size_t n)
{
	cJSON *msg = parse_message(line, n), *token = NULL;
	const cJSON *t;

	if (msg && id_ok(get(msg, "id")) && strcmp(str(msg, "method"), "tools/call") == 0) {
		t = progress_token(get(msg, "params"));
		token = t ? cJSON_Duplicate(t, true) : NULL;
	}
	cJSON_Delete(msg);
	return token;
}

bool mcp_version_known(const char *v)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(v, versions[i]) == 0)
			return true;
	return false;
}
