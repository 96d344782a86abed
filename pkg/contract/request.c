/*
 * request: the contract's request rules, one small checker per field,
 * dispatched from a table (see request.h).
 */
#define _GNU_SOURCE
#include "contract/request.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/jsonscan.h"
#include "contract/path.h"

#define MAX_DEPTH  10
#define MAX_VALUES 100000

struct ctx {
	const struct runbox_limits *lim;
	struct request *r;
	struct rb_err *err;
	size_t files_total; /* decoded bytes of files + context */
};

static int refuse(struct ctx *c, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct ctx *c, const char *code, const char *field, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rb_fail(c->err, RB_FAULT_REQUEST, 0, code, field, "%s", msg);
}

static int too_large(struct ctx *c, const char *code, const char *field, const char *what,
		     size_t got, size_t cap)
{
	return rb_fail(c->err, RB_FAULT_TOO_LARGE, 0, code, field,
		       "%s is %zu bytes; the limit is %zu bytes.", what, got, cap);
}

static int wrong_type(struct ctx *c, const char *field, const char *want)
{
	return refuse(c, "wrong_type", field, "Field '%s' must be %s.", field, want);
}

/* ---- file maps: "files" and "context" ---- */

static int decode_base64(struct ctx *c, struct request_file *f, const char *s, const char *field)
{
	size_t n = strlen(s), bad = 0;
	long len;

	f->owned = malloc(n / 4 * 3 + 3);
	if (!f->owned)
		return rb_fail_sys(c->err, ENOMEM, "decode '%s'", field);
	len = b64_decode(s, n, f->owned, &bad);
	if (len < 0)
		return refuse(c, "invalid_base64", field,
			      "Field '%s' is not valid base64 (standard alphabet; padding "
			      "and line breaks are fine): bad character at offset %zu.",
			      field, bad);
	f->data = (const char *)f->owned;
	f->len = (size_t)len;
	return 0;
}

/* A file value: a string, or {"content": string, "encoding": "utf-8"|"base64"}. */
static int file_value(struct ctx *c, struct request_file *f, const cJSON *v, const char *field)
{
	const cJSON *content, *enc;
	char encfield[1200];

	if (cJSON_IsString(v)) {
		f->data = v->valuestring;
		f->len = strlen(v->valuestring);
		return 0;
	}
	content = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "content") : NULL;
	if (!cJSON_IsString(content))
		return refuse(c, "invalid_file_value", field,
			      "Field '%s' must be a string or {\"content\": \"...\", "
			      "\"encoding\": \"utf-8\" | \"base64\"}.",
			      field);
	for (const cJSON *k = v->child; k; k = k->next)
		if (strcmp(k->string, "content") != 0 && strcmp(k->string, "encoding") != 0)
			return refuse(c, "invalid_file_value", field,
				      "Field '%s' has an unknown key '%s'; only 'content' and "
				      "'encoding' are allowed.",
				      field, k->string);
	enc = cJSON_GetObjectItemCaseSensitive(v, "encoding");
	snprintf(encfield, sizeof(encfield), "%s.encoding", field);
	if (enc && (!cJSON_IsString(enc) || (strcmp(enc->valuestring, "utf-8") != 0 &&
					     strcmp(enc->valuestring, "base64") != 0)))
		return refuse(c, "invalid_encoding", encfield,
			      "Field '%s' must be \"utf-8\" or \"base64\".", encfield);
	if (enc && strcmp(enc->valuestring, "base64") == 0)
		return decode_base64(c, f, cJSON_GetStringValue(content), field);
	f->data = cJSON_GetStringValue(content);
	f->len = strlen(f->data);
	return 0;
}

static int check_unique(struct ctx *c, struct request_file *files, size_t n, const char *field)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i != j && strcmp(files[i].path, files[j].path) == 0 && i < j)
				return refuse(c, "duplicate_path", field,
					      "Two keys of '%s' name the same file '%s' once "
					      "'\\' is read as '/'.",
					      field, files[i].path);
			if (i != j && path_is_dir_prefix(files[i].path, files[j].path))
				return refuse(c, "path_conflict", field,
					      "'%s' in '%s' is both a file and the directory of "
					      "'%s'.",
					      files[i].path, field, files[j].path);
		}
	return 0;
}

static int one_file(struct ctx *c, struct request_file *f, const cJSON *item, const char *name)
{
	char field[sizeof(c->err->field)];
	const char *why;
	int r;

	snprintf(field, sizeof(field), "%s.%s", name, item->string);
	if (path_normalize(item->string, strlen(item->string), f->path, &why) < 0)
		return refuse(c, "invalid_path", field,
			      "The path '%s' in '%s' is not allowed: %s. Paths are relative, "
			      "'/'-separated, at most 16 segments and 1024 bytes.",
			      item->string, name, why);
	r = file_value(c, f, item, field);
	if (r < 0)
		return r;
	if (f->len > c->lim->max_file_bytes)
		return too_large(c, "file_too_large", field, "The file", f->len,
				 c->lim->max_file_bytes);
	c->files_total += f->len;
	if (c->files_total > c->lim->max_files_total)
		return too_large(c, "total_size_too_large", name,
				 "The files of 'files' and 'context' together", c->files_total,
				 c->lim->max_files_total);
	return 0;
}

static int file_map(struct ctx *c, const cJSON *v, const char *name, struct request_file **ret,
		    size_t *ret_n)
{
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
	int r;

	if (!cJSON_IsObject(v))
		return wrong_type(c, name, "an object mapping paths to file contents");
	if (n > c->lim->max_files)
		return refuse(c, "too_many_files", name,
			      "'%s' has %zu files; at most %u are allowed.", name, n,
			      c->lim->max_files);
	*ret = calloc(n ? n : 1, sizeof(**ret));
	if (!*ret)
		return rb_fail_sys(c->err, ENOMEM, "parse '%s'", name);
	for (const cJSON *item = v->child; item; item = item->next) {
		*ret_n = ++i;
		r = one_file(c, &(*ret)[i - 1], item, name);
		if (r < 0)
			return r;
	}
	return check_unique(c, *ret, n, name);
}

static int f_files(struct ctx *c, const cJSON *v)
{
	int r = file_map(c, v, "files", &c->r->files, &c->r->n_files);

	if (r < 0)
		return r;
	if (c->r->n_files == 0)
		return refuse(c, "empty_files", "files",
			      "'files' is empty; give at least the entry point's file.");
	for (size_t i = 0; i < c->r->n_files; i++)
		if (path_first_segment_is(c->r->files[i].path, "input") ||
		    path_first_segment_is(c->r->files[i].path, "output") ||
		    path_first_segment_is(c->r->files[i].path, ".home") ||
		    path_first_segment_is(c->r->files[i].path, ".tmp"))
			return refuse(
			    c, "reserved_path", "files",
			    "'%s' is under input/, output/, .home/ or .tmp/, which runbox "
			    "manages; put input files in 'context' instead.",
			    c->r->files[i].path);
	return 0;
}

static int f_context(struct ctx *c, const cJSON *v)
{
	return file_map(c, v, "context", &c->r->context, &c->r->n_context);
}

/* ---- scalar fields ---- */

static int f_script(struct ctx *c, const cJSON *v)
{
	if (!cJSON_IsString(v))
		return wrong_type(c, "script", "a string holding the program");
	c->r->script = v->valuestring;
	c->r->script_len = strlen(v->valuestring);
	if (c->r->script_len > c->lim->max_script_bytes)
		return too_large(c, "script_too_large", "script", "'script'", c->r->script_len,
				 c->lim->max_script_bytes);
	/* Nothing to run is a mistake (a dropped body, an unset variable), not a success. */
	if (c->r->script[strspn(c->r->script, " \t\r\n\f\v")] == '\0')
		return refuse(c, "empty_script", "script",
			      "Script cannot be empty. 'script' holds %s; give the program's code.",
			      c->r->script_len ? "only white space" : "nothing");
	return 0;
}

static int f_entry_point(struct ctx *c, const cJSON *v)
{
	if (!cJSON_IsString(v))
		return wrong_type(c, "entry_point", "a string naming a key of 'files'");
	c->r->entry_point = v->valuestring;
	return 0;
}

static int parse_timeout_string(struct ctx *c, const char *s, double *ret)
{
	char *end;

	errno = 0;
	*ret = strtod(s, &end);
	while (end != s && (*end == ' '))
		end++;
	/* Too large to represent is still a number above the maximum: clamped below. */
	if (end == s || *end || (errno && !(errno == ERANGE && *ret > 1)) || strpbrk(s, "xXpPnNiI"))
		return refuse(c, "invalid_timeout", "timeout_s",
			      "'timeout_s' is '%s'; it must be a number of seconds greater than 0.",
			      s);
	return 0;
}

static int f_timeout(struct ctx *c, const cJSON *v)
{
	double t;
	int r;

	if (cJSON_IsNumber(v))
		t = v->valuedouble;
	else if (cJSON_IsString(v)) {
		r = parse_timeout_string(c, v->valuestring, &t);
		if (r < 0)
			return r;
	} else
		return refuse(c, "invalid_timeout", "timeout_s",
			      "'timeout_s' must be a number of seconds greater than 0.");
	/* 1e999 is a JSON number too (cJSON reads it as inf): clamped like any large value. */
	if (!(t > 0))
		return refuse(c, "invalid_timeout", "timeout_s",
			      "`timeout_s` must be > 0. It is %g (a larger value than %g is "
			      "lowered to %g).",
			      t, c->lim->max_timeout_s, c->lim->max_timeout_s);
	c->r->timeout_clamped = t > c->lim->max_timeout_s;
	c->r->timeout_s = c->r->timeout_clamped ? c->lim->max_timeout_s : t;
	return 0;
}

/*
 * The languages: the contract's name, the file script mode writes, and
 * the entry points' extensions (the first is the one a refusal suggests).
 * Script mode's JavaScript is an ES module (see cmd/runbox/README.md).
 */
struct language {
	const char *name;
	enum request_language lang;
	const char *script_path;
	const char *exts[4]; /* NULL ends */
};

/* clang-format off */
static const struct language languages[] = {
	{ "python", LANG_PYTHON, "main.py", { ".py" } },
	{ "bash", LANG_BASH, "main.sh", { ".sh" } },
	{ "javascript", LANG_JAVASCRIPT, "main.cjs", { ".js", ".mjs", ".cjs" } },
	{ "typescript", LANG_TYPESCRIPT, "main.ts", { ".ts", ".mts", ".cts" } },
};
/* clang-format on */

#define N_LANGUAGES (sizeof(languages) / sizeof(languages[0]))

static const struct language *language_of(enum request_language l)
{
	for (size_t i = 0; i < N_LANGUAGES; i++)
		if (languages[i].lang == l)
			return &languages[i];
	return &languages[0];
}

const char *request_language_name(enum request_language l)
{
	return language_of(l)->name;
}

static int f_language(struct ctx *c, const cJSON *v)
{
	static const char allowed[] = "\"python\", \"bash\", \"javascript\" or \"typescript\"";

	if (!cJSON_IsString(v))
		return wrong_type(c, "language",
				  "one of the strings \"python\", \"bash\", "
				  "\"javascript\" or \"typescript\"");
	for (size_t i = 0; i < N_LANGUAGES; i++)
		if (strcmp(v->valuestring, languages[i].name) == 0) {
			c->r->language = languages[i].lang;
			return 0;
		}
	return refuse(c, "invalid_language", "language", "'language' is '%.100s'; it must be %s.",
		      v->valuestring, allowed);
}

static int f_stdin(struct ctx *c, const cJSON *v)
{
	if (!cJSON_IsString(v))
		return wrong_type(c, "stdin", "a string");
	c->r->stdin_data = v->valuestring;
	c->r->stdin_len = strlen(v->valuestring);
	if (c->r->stdin_len > c->lim->max_stdin_bytes)
		return too_large(c, "stdin_too_large", "stdin", "'stdin'", c->r->stdin_len,
				 c->lim->max_stdin_bytes);
	return 0;
}

static int f_network(struct ctx *c, const cJSON *v)
{
	if (!cJSON_IsBool(v))
		return wrong_type(c, "network", "true or false");
	c->r->network = cJSON_IsTrue(v);
	return 0;
}

/*
 * "session": true opens a new file session, a string names one (looked up
 * by the server, never here: an id of the wrong shape is simply unknown),
 * false is none.
 */
static int f_session(struct ctx *c, const cJSON *v)
{
	if (cJSON_IsBool(v)) {
		c->r->session_new = cJSON_IsTrue(v);
		return 0;
	}
	if (!cJSON_IsString(v))
		return wrong_type(c, "session", "true (a new session) or a session id string");
	if (strlen(v->valuestring) > REQUEST_SESSION_ID_MAX)
		return rb_fail(
		    c->err, RB_FAULT_NOT_FOUND, 0, "session_not_found", "session",
		    "No session has this id (ids are at most %d characters). Start a new "
		    "session with \"session\": true.",
		    REQUEST_SESSION_ID_MAX);
	c->r->session_id = v->valuestring;
	return 0;
}

/* "state": a client-kept workspace, base64 (checked and extracted by the executor). */
static int f_state(struct ctx *c, const cJSON *v)
{
	size_t n;

	if (!cJSON_IsString(v))
		return wrong_type(c, "state", "the \"state\" string an earlier answer returned");
	n = strlen(v->valuestring);
	if (n / 4 * 3 > c->lim->max_state_bytes + 2)
		return too_large(c, "state_too_large", "state", "'state' (decoded)", n / 4 * 3,
				 c->lim->max_state_bytes);
	c->r->state = calloc(1, sizeof(*c->r->state));
	if (!c->r->state)
		return rb_fail_sys(c->err, ENOMEM, "parse 'state'");
	return decode_base64(c, c->r->state, v->valuestring, "state");
}

static int f_return_state(struct ctx *c, const cJSON *v)
{
	if (!cJSON_IsBool(v))
		return wrong_type(c, "return_state", "true or false");
	c->r->return_state = cJSON_IsTrue(v);
	return 0;
}

/* An array of strings into a NULL-terminated vector pointing into the tree. */
static int string_array(struct ctx *c, const cJSON *v, const char *name, const char ***ret,
			size_t *ret_n)
{
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
	char field[64];

	if (!cJSON_IsArray(v))
		return wrong_type(c, name, "an array of strings");
	*ret = calloc(n + 1, sizeof(**ret));
	if (!*ret)
		return rb_fail_sys(c->err, ENOMEM, "parse '%s'", name);
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		snprintf(field, sizeof(field), "%s[%zu]", name, i);
		if (!cJSON_IsString(e))
			return wrong_type(c, field, "a string");
		(*ret)[i] = e->valuestring;
	}
	*ret_n = n;
	return 0;
}

/*
 * The kernel's limit on one string of an execve (MAX_ARG_STRLEN, 32 pages,
 * its NUL included): a longer argument or NAME=VALUE would fail the exec.
 */
#define MAX_EXEC_STRING (32 * 4096 - 1)

static int f_args(struct ctx *c, const cJSON *v)
{
	size_t total = 0;
	int r;

	if (cJSON_IsArray(v) && (size_t)cJSON_GetArraySize(v) > c->lim->max_args)
		return refuse(c, "too_many_args", "args", "'args' has %d entries; at most %u.",
			      cJSON_GetArraySize(v), c->lim->max_args);
	r = string_array(c, v, "args", &c->r->args, &c->r->n_args);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->r->n_args; i++) {
		size_t len = strlen(c->r->args[i]);
		char field[32];

		snprintf(field, sizeof(field), "args[%zu]", i);
		if (len > MAX_EXEC_STRING)
			return refuse(c, "args_too_large", field,
				      "'%s' holds %zu bytes; one argument is at most %d bytes (the "
				      "kernel's limit for one string of a program's arguments).",
				      field, len, MAX_EXEC_STRING);
		total += len;
	}
	if (total > c->lim->max_args_bytes)
		return refuse(c, "args_too_large", "args", "'args' holds %zu bytes; at most %zu.",
			      total, c->lim->max_args_bytes);
	return 0;
}

static int f_dependencies(struct ctx *c, const cJSON *v)
{
	if (cJSON_IsArray(v) && (size_t)cJSON_GetArraySize(v) > c->lim->max_dependencies)
		return refuse(c, "too_many_dependencies", "dependencies",
			      "'dependencies' has %d entries; at most %u are allowed.",
			      cJSON_GetArraySize(v), c->lim->max_dependencies);
	return string_array(c, v, "dependencies", &c->r->dependencies, &c->r->n_dependencies);
}

/* ---- env ---- */

/*
 * Names the program may not set: they change how the interpreter, the shell
 * or the dynamic loader behaves (NODE_* includes NODE_OPTIONS, NODE_PATH,
 * NODE_EXTRA_CA_CERTS; UV_* libuv's thread pool and io_uring), or they are
 * runbox's own.
 */
/* clang-format off */
static const char *const reserved_names[] = {
	"PATH",	       "HOME",	      "TMPDIR",	      "ENV",	       "BASH_ENV",
	"SHELLOPTS",   "BASHOPTS",    "IFS",	      "CDPATH",	       "GLOBIGNORE",
	"PS4",	       "PROMPT_COMMAND", "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES",
	"LOCALDOMAIN", "LOCPATH",     "NLSPATH",      "RESOLV_HOST_CONF", "RES_OPTIONS",
	"TZDIR",       "OPENSSL_CONF", "OPENSSL_ENGINES", "PERL5LIB", "PERL5OPT",
	"MPLBACKEND",
};
/* clang-format on */
/* clang-format off */
static const char *const reserved_prefixes[] = {
	"PYTHON", "LD_", "RUNBOX_", "MALLOC_", "GLIBC_", "BASH_FUNC_", "DYLD_",
	"OPENBLAS_", "OMP_", "MKL_", "GOMP_", "KMP_", "NODE_", "UV_",
};
/* clang-format on */

static bool env_name_reserved(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(reserved_prefixes) / sizeof(reserved_prefixes[0]); i++)
		if (strncmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
			return true;
	return false;
}

static bool env_name_valid(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static int env_entry(struct ctx *c, const cJSON *e, size_t *total)
{
	char field[200];

	snprintf(field, sizeof(field), "env.%.150s", e->string);
	if (!env_name_valid(e->string) || strlen(e->string) > 128)
		return refuse(c, "invalid_env_name", field,
			      "Environment variable name '%.150s' is not valid: use "
			      "[A-Za-z_][A-Za-z0-9_]*, at most 128 characters.",
			      e->string);
	if (env_name_reserved(e->string))
		return refuse(c, "reserved_env_name", field,
			      "Environment variable '%s' is reserved: it changes how the "
			      "interpreter, shell or loader behaves, or belongs to runbox.",
			      e->string);
	if (!cJSON_IsString(e))
		return wrong_type(c, field, "a string");
	if (strlen(e->string) + 1 + strlen(e->valuestring) > MAX_EXEC_STRING)
		return refuse(c, "env_too_large", field,
			      "'%s' is %zu bytes as NAME=VALUE; one variable is at most %d bytes "
			      "(the kernel's limit for one string of a program's environment).",
			      field, strlen(e->string) + 1 + strlen(e->valuestring),
			      MAX_EXEC_STRING);
	*total += strlen(e->string) + strlen(e->valuestring);
	return 0;
}

static int f_env(struct ctx *c, const cJSON *v)
{
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0, total = 0;
	int r;

	if (!cJSON_IsObject(v))
		return wrong_type(c, "env", "an object mapping names to string values");
	if (n > c->lim->max_env)
		return refuse(c, "too_many_env", "env", "'env' has %zu variables; at most %u.", n,
			      c->lim->max_env);
	c->r->env_names = calloc(n + 1, sizeof(char *));
	c->r->env_values = calloc(n + 1, sizeof(char *));
	if (!c->r->env_names || !c->r->env_values)
		return rb_fail_sys(c->err, ENOMEM, "parse 'env'");
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		r = env_entry(c, e, &total);
		if (r < 0)
			return r;
		c->r->env_names[i] = e->string;
		c->r->env_values[i] = e->valuestring;
	}
	c->r->n_env = n;
	if (total > c->lim->max_env_bytes)
		return refuse(c, "env_too_large", "env", "'env' holds %zu bytes; at most %zu.",
			      total, c->lim->max_env_bytes);
	return 0;
}

struct field {
	const char *name;
	int (*parse)(struct ctx *c, const cJSON *v);
};

/* clang-format off */
static const struct field fields[] = {
	{ "script", f_script },	     { "files", f_files },
	{ "entry_point", f_entry_point }, { "context", f_context },
	{ "dependencies", f_dependencies }, { "timeout_s", f_timeout },
	{ "language", f_language },  { "stdin", f_stdin },
	{ "args", f_args },	     { "env", f_env },
	{ "network", f_network },    { "session", f_session },
	{ "state", f_state },	     { "return_state", f_return_state },
};
/* clang-format on */

static int dispatch(struct ctx *c, const cJSON *item)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, item->string) == 0)
			return fields[i].parse(c, item);
	return refuse(c, "unknown_field", item->string,
		      "Unknown field '%.100s'. Known fields: script, files, entry_point, "
		      "context, dependencies, timeout_s, language, stdin, args, env, network, "
		      "session, state, return_state.",
		      item->string);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The language whose extensions @path has, or NULL. */
static const struct language *language_by_extension(const char *path)
{
	for (size_t i = 0; i < N_LANGUAGES; i++)
		for (size_t e = 0; e < 4 && languages[i].exts[e]; e++)
			if (ends_with(path, languages[i].exts[e]))
				return &languages[i];
	return NULL;
}

/* "'.js', '.mjs' or '.cjs'" */
static void extension_list(const struct language *l, char *buf, size_t size)
{
	size_t n = 0, used = 0;

	while (n < 4 && l->exts[n])
		n++;
	buf[0] = '\0';
	for (size_t e = 0; e < n && used < size; e++)
		used += (size_t)snprintf(buf + used, size - used, "%s'%s'",
					 e == 0 ? "" : (e + 1 == n ? " or " : ", "), l->exts[e]);
}

static int entry_extension_matches(struct ctx *c, const char *norm)
{
	const struct language *l = language_of(c->r->language), *by_ext;
	char exts[64];

	if (language_by_extension(norm) == l)
		return 0;
	extension_list(l, exts, sizeof(exts));
	by_ext = language_by_extension(norm);
	if (by_ext)
		return refuse(c, "invalid_entry_point", "entry_point",
			      "'entry_point' '%s' must end in %s for language %s; '%s' is a %s "
			      "file (give \"language\": \"%s\", or leave 'language' out).",
			      norm, exts, l->name, norm, by_ext->name, by_ext->name);
	return refuse(c, "invalid_entry_point", "entry_point",
		      "'entry_point' '%s' must end in %s for language %s.", norm, exts, l->name);
}

static int check_entry_point(struct ctx *c, bool language_given)
{
	struct request *r = c->r;
	char norm[PATH_MAX_BYTES + 1];
	const struct language *by_ext;
	const char *why;

	if (!r->entry_point)
		return refuse(
		    c, "missing_entry_point", "entry_point",
		    "'files' needs 'entry_point' naming the file to run, e.g. \"main.py\".");
	if (path_normalize(r->entry_point, strlen(r->entry_point), norm, &why) < 0)
		return refuse(c, "entry_point_not_found", "entry_point",
			      "Entry point '%s' not found in files: it is not a valid path (%s).",
			      r->entry_point, why);
	/* Without 'language', the entry point's extension says it. */
	by_ext = language_by_extension(norm);
	if (!language_given && by_ext)
		r->language = by_ext->lang;
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, norm) == 0) {
			r->entry_point = r->files[i].path;
			return entry_extension_matches(c, norm);
		}
	return refuse(c, "entry_point_not_found", "entry_point",
		      "Entry point '%s' not found in files. It must be one of the keys of "
		      "'files'.",
		      norm);
}

static bool js_word_char(unsigned char ch)
{
	return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
	       ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

/*
 * Whether a JavaScript script says one of the words only an ES module may
 * use at its top level (import, export, await), as whole words anywhere:
 * in a string or a comment too.  Node's own rule for a .js file that no
 * package.json types (run it as CommonJS unless it has ES module syntax)
 * needs a parser; this errs one way only: a CommonJS script that says one
 * of the words runs as an ES module, whose prelude defines CommonJS's
 * names, and runs the same; an ES module never runs as CommonJS.
 */
static bool js_says_module_words(const char *s, size_t n)
{
	static const char *const words[] = {"import", "export", "await"};

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && js_word_char((unsigned char)s[i - 1]))
			continue;
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			size_t len = strlen(words[w]);

			if (n - i >= len && memcmp(s + i, words[w], len) == 0 &&
			    (n - i == len || !js_word_char((unsigned char)s[i + len])))
				return true;
		}
	}
	return false;
}

/* Rules that involve more than one field. */
static int check_program(struct ctx *c, bool language_given)
{
	struct request *r = c->r;

	if (r->script && r->files)
		return refuse(c, "conflicting_fields", "files",
			      "Cannot use both 'files' and 'script' in the same request. Give "
			      "either 'script' or 'files' with 'entry_point'.");
	if (!r->script && !r->files)
		return refuse(c, "missing_program", "script",
			      "The request has no program: give 'script' (the code to run) or "
			      "'files' with 'entry_point'.");
	if (r->script && r->entry_point)
		return refuse(c, "unexpected_entry_point", "entry_point",
			      "'entry_point' goes with 'files'; with 'script' the program is "
			      "always main.py (main.sh, main.cjs or main.mjs, main.ts by "
			      "'language').");
	if (r->state && (r->session_new || r->session_id))
		return refuse(
		    c, "conflicting_fields", "state",
		    "Cannot use both 'state' and 'session': a session's files are kept by "
		    "the server, a state's by the client. Send one of them.");
	if (r->files)
		return check_entry_point(c, language_given);
	r->script_is_module =
	    r->language == LANG_TYPESCRIPT ||
	    (r->language == LANG_JAVASCRIPT && js_says_module_words(r->script, r->script_len));
	return 0;
}

static int parse_tree(struct ctx *c)
{
	char dup[160];
	int r;

	if (jsonscan_find_duplicate(c->r->root, dup, sizeof(dup)))
		return refuse(c, "duplicate_key", dup, "The key '%s' appears twice in one object.",
			      dup);
	for (const cJSON *item = c->r->root->child; item; item = item->next) {
		r = dispatch(c, item);
		if (r < 0)
			return r;
	}
	return check_program(c, cJSON_GetObjectItemCaseSensitive(c->r->root, "language") != NULL);
}

int request_parse(const char *body, size_t n, const struct runbox_limits *lim, struct request *ret,
		  struct rb_err *err)
{
	static const struct jsonscan_limits jl = {MAX_DEPTH, MAX_VALUES};
	struct ctx c = {.lim = lim, .r = ret, .err = err};
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->timeout_s = lim->default_timeout_s;
	if (n > lim->max_body_bytes)
		return rb_fail(err, RB_FAULT_TOO_LARGE, 0, "body_too_large", NULL,
			       "The request body is %zu bytes; the limit is %zu bytes.", n,
			       lim->max_body_bytes);
	if (n == 0)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "empty_body", NULL,
			       "The request body is empty; send a JSON object such as "
			       "{\"script\": \"print(1)\"}.");
	r = jsonscan_check(body, n, &jl, err);
	if (r < 0)
		return r;
	ret->root = cJSON_ParseWithLength(body, n);
	if (!ret->root)
		return rb_fail_sys(err, ENOMEM, "parse the request");
	r = parse_tree(&c);
	if (r < 0)
		request_free(ret);
	return r;
}

static void free_files(struct request_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].owned);
	free(f);
}

void request_free(struct request *r)
{
	free_files(r->files, r->n_files);
	free_files(r->context, r->n_context);
	free_files(r->state, r->state ? 1 : 0);
	free(r->dependencies);
	free(r->args);
	free(r->env_names);
	free(r->env_values);
	cJSON_Delete(r->root);
	memset(r, 0, sizeof(*r));
}

const char *request_program_path(const struct request *r)
{
	if (r->entry_point)
		return r->entry_point;
	if (r->language == LANG_JAVASCRIPT && r->script_is_module)
		return "main.mjs";
	return language_of(r->language)->script_path;
}
