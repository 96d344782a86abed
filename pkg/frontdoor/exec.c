/*
 * exec: argument parsing, request building, and writing the answer back
 * onto the local terminal and file system (see exec.h).
 */
#define _GNU_SOURCE
#include "frontdoor/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/b64.h"
#include "base/fdio.h"
#include "api/cli.h"
#include "base/utf8.h"

#define MAX_CREATED  32 /* directories of --out runbox may create */
#define LISTED_FILES 10 /* names the closing line lists before "and N more" */

/* --out: the directory, and what of its path runbox created (removed again if unused). */
struct out_dir {
	const char *path;
	char *created[MAX_CREATED];
	size_t n_created;
};

struct exec_args {
	const char *file;
	const char *timeout;
	bool quiet;
	struct out_dir out;
	cJSON *deps, *inputs, *args;
};

static const char exec_usage[] =
    "usage: runbox exec [--timeout S] [--dep SPEC]... [--input FILE]... [--out DIR] [--quiet] "
    "FILE [-- ARGS...]\n       (runbox exec --help says more)\n";

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "runbox exec: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", exec_usage);
	return RUNBOX_EXIT_REFUSED;
}

static char *slurp(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), over = 0;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fd_read_capped(fd, 64u << 20, &buf, ret_len, &over) < 0 || over) {
		free(buf);
		buf = NULL;
		errno = over ? EFBIG : errno;
	}
	close(fd);
	return buf;
}

/* --input FILE: sent as base64 under its base name. */
static int add_input(cJSON *inputs, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len;
	char *data, *b;
	cJSON *o;

	if (cJSON_GetObjectItemCaseSensitive(inputs, base)) {
		fprintf(stderr,
			"runbox exec: two --input files are named '%s'; the program sees "
			"each under its base name, ./input/%s\n",
			base, base);
		return -EEXIST;
	}
	data = slurp(path, &len);
	if (!data) {
		fprintf(stderr, "runbox exec: cannot read --input '%s': %s\n", path,
			strerror(errno));
		return -errno;
	}
	b = malloc(b64_encoded_len(len) + 1);
	o = cJSON_CreateObject();
	if (b && o) {
		b64_encode((unsigned char *)data, len, b);
		cJSON_AddStringToObject(o, "content", b);
		cJSON_AddStringToObject(o, "encoding", "base64");
		cJSON_AddItemToObject(inputs, base, o);
		o = NULL;
	}
	cJSON_Delete(o);
	free(b);
	free(data);
	return 0;
}

/*
 * --timeout: a number of seconds above 0, checked here so that the error
 * names the option (the contract would name its field, timeout_s).
 */
static int check_timeout(const char *v)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(v, &end);
	if (!*v || *end || errno || !(t > 0) || !isfinite(t) || strpbrk(v, "xXnNiI "))
		return usage_error("--timeout takes a number of seconds greater than 0, not",
				   *v ? v : "''");
	return 0;
}

/* FILE's language, by its extension: .sh bash, .js/.mjs/.cjs and .ts/.mts/.cts, else Python. */
static const char *language_of_file(const char *file)
{
	static const char *const exts[][2] = {
	    {".sh", "bash"},	    {".js", "javascript"}, {".mjs", "javascript"},
	    {".cjs", "javascript"}, {".ts", "typescript"}, {".mts", "typescript"},
	    {".cts", "typescript"},
	};
	size_t n = strlen(file);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t m = strlen(exts[i][0]);

		if (n > m && strcmp(file + n - m, exts[i][0]) == 0)
			return exts[i][1];
	}
	return "python";
}

/* Option @k of with_value[] (its value from the word itself or the next one). */
static int parse_opt(struct exec_args *a, size_t k, const char *inline_value, char **argv, int *i,
		     int argc)
{
	const char *v = inline_value;

	if (!v && *i + 1 >= argc)
		return usage_error("missing value after", argv[*i]);
	if (!v)
		v = argv[++*i];
	if (k == 0) {
		a->timeout = v;
		return check_timeout(v);
	}
	if (k == 1)
		a->out.path = v;
	else if (k == 2)
		cJSON_AddItemToArray(a->deps, cJSON_CreateString(v));
	else if (add_input(a->inputs, v) < 0)
		return RUNBOX_EXIT_REFUSED;
	return 0;
}

static int parse_args(struct exec_args *a, int argc, char **argv)
{
	static const char *const with_value[] = {"--timeout", "--out", "--dep", "--input"};
	int i, r;

	for (i = 0; i < argc; i++) {
		const char *inline_value = NULL;
		bool known = false;
		size_t k;

		if (strcmp(argv[i], "--") == 0 && a->file)
			break;
		if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			a->quiet = true;
			continue;
		}
		for (k = 0; k < 4 && !known; k++)
			known = cli_option(argv[i], with_value[k], &inline_value);
		if (known) {
			r = parse_opt(a, k - 1, inline_value, argv, &i, argc);
			if (r)
				return r;
		} else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("unknown option", argv[i]);
		else if (a->file)
			return usage_error("more than one FILE; put program arguments after --:",
					   argv[i]);
		else
			a->file = argv[i];
	}
	if (!a->file)
		return usage_error("no FILE to run", NULL);
	for (i++; i < argc; i++)
		cJSON_AddItemToArray(a->args, cJSON_CreateString(argv[i]));
	return 0;
}

static char *build_request(const struct exec_args *a)
{
	size_t len = 0, bad = 0;
	char *script = slurp(a->file, &len), *body = NULL;
	cJSON *req = cJSON_CreateObject();

	if (!script) {
		fprintf(stderr, "runbox exec: cannot read '%s': %s\n", a->file, strerror(errno));
		cJSON_Delete(req);
		return NULL;
	}
	if (!utf8_valid(script, len, &bad) || memchr(script, '\0', len)) {
		fprintf(stderr, "runbox exec: '%s' is not UTF-8 text (byte %zu)\n", a->file,
			memchr(script, '\0', len)
			    ? (size_t)((char *)memchr(script, '\0', len) - script)
			    : bad);
		cJSON_Delete(req);
		free(script);
		return NULL;
	}
	if (script[strspn(script, " \t\r\n\f\v")] == '\0') {
		fprintf(stderr,
			"runbox exec: '%s' holds no program: it is empty or only white "
			"space\n",
			a->file);
		cJSON_Delete(req);
		free(script);
		return NULL;
	}
	cJSON_AddStringToObject(req, "script", script);
	cJSON_AddStringToObject(req, "language", language_of_file(a->file));
	if (a->timeout)
		cJSON_AddStringToObject(req, "timeout_s", a->timeout);
	cJSON_AddItemReferenceToObject(req, "dependencies", a->deps);
	cJSON_AddItemReferenceToObject(req, "context", a->inputs);
	cJSON_AddItemReferenceToObject(req, "args", a->args);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	free(script);
	return body;
}

/*
 * An artifact's key is the collector's '/'-separated path below output/: a
 * name may hold any byte but '/' and NUL, a '\' included.  Refused (defence
 * in depth: the keys are runbox's own) when a segment could leave the dir.
 */
static bool key_ok(const char *key)
{
	for (const char *seg = key;;) {
		size_t n = strcspn(seg, "/");

		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!seg[n])
			return true;
		seg += n + 1;
	}
}

/* Write one artifact below @dirfd, creating directories, never following links. */
static int write_artifact(int dirfd, const char *key, const cJSON *v)
{
	const char *content = cJSON_IsString(v)
				  ? v->valuestring
				  : cJSON_GetStringValue(cJSON_GetObjectItem(v, "content"));
	char *path = key_ok(key) ? strdup(key) : NULL, *p, *slash;
	unsigned char *bin = NULL;
	size_t len = content ? strlen(content) : 0, bad;
	int fd = path && content ? dup(dirfd) : -1, next, out, r;

	if (fd < 0) {
		free(path);
		return -EINVAL;
	}
	for (p = path; (slash = strchr(p, '/')); p = slash + 1) {
		*slash = '\0';
		mkdirat(fd, p, 0755);
		next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0) {
			free(path);
			return -errno;
		}
		fd = next;
	}
	if (!cJSON_IsString(v) && (bin = malloc(len / 4 * 3 + 3))) {
		long n = b64_decode(content, len, bin, &bad);

		len = n < 0 ? 0 : (size_t)n;
		content = (const char *)bin;
	}
	out = openat(fd, p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	/* A short write (a full disk) is a lost artifact, not a quiet truncation. */
	r = out < 0 ? -errno : fd_write_all(out, content, len);
	if (out >= 0 && close(out) < 0 && r == 0)
		r = -errno;
	free(bin);
	free(path);
	close(fd);
	return r;
}

/*
 * A name as a terminal may show it: C0 controls, DEL and the C1 controls
 * (U+0080-U+009F, 0xC2 0x80-0x9F in UTF-8) as \xNN, never raw.
 */
static void put_name(FILE *f, const char *name)
{
	for (const unsigned char *c = (const unsigned char *)name; c && *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)
			fprintf(f, "\\xc2\\x%02x", *++c);
		else
			fputc(*c, f);
}

/*
 * Write every artifact into @out's directory (made before the run).
 * Returns how many could not be written; *ret_written lists the names
 * that were (a JSON array the caller frees).
 */
static int write_artifacts(const cJSON *arts, const struct out_dir *out, cJSON **ret_written)
{
	int dirfd, failed = 0;

	*ret_written = cJSON_CreateArray();
	if (!cJSON_GetArraySize(arts))
		return 0;
	dirfd = open(out->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "runbox exec: cannot open '%s': %s\n", out->path, strerror(errno));
		return cJSON_GetArraySize(arts);
	}
	for (const cJSON *a = arts->child; a; a = a->next)
		if (write_artifact(dirfd, a->string, a) < 0) {
			fputs("runbox exec: cannot write artifact '", stderr);
			put_name(stderr, a->string);
			fprintf(stderr, "' into '%s'\n", out->path);
			failed++;
		} else {
			cJSON_AddItemToArray(*ret_written, cJSON_CreateString(a->string));
		}
	close(dirfd);
	return failed;
}

/* One directory of --out's path: made (and remembered) when missing. */
static int make_one(struct out_dir *o, char *path)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		if (strcmp(path, o->path) == 0)
			fprintf(stderr, "runbox exec: --out '%s' is not a directory\n", path);
		else
			fprintf(stderr, "runbox exec: --out '%s': '%s' is not a directory\n",
				o->path, path);
		return RUNBOX_EXIT_REFUSED;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "runbox exec: --out '%s': cannot create '%s': %s\n", o->path, path,
			strerror(errno));
		return RUNBOX_EXIT_REFUSED;
	}
	if (o->n_created < MAX_CREATED)
		o->created[o->n_created++] = strdup(path);
	return 0; /* NOLINT(clang-analyzer-unix.Malloc): out_dir_tidy() frees the copy */
}

/*
 * --out is made, parent directories included, and checked writable before
 * the program runs: a run is not thrown away at the end for a directory
 * that cannot hold its files.  What was made is removed after a run that
 * wrote nothing (out_dir_tidy).
 */
static int out_dir_prepare(struct out_dir *o)
{
	char *path = strdup(o->path), *p;
	int r = path ? 0 : RUNBOX_EXIT_FAULT;

	for (p = path ? strchr(path + 1, '/') : NULL; r == 0 && p; p = strchr(p + 1, '/')) {
		*p = '\0';
		r = make_one(o, path);
		*p = '/';
	}
	if (r == 0)
		r = make_one(o, path);
	if (r == 0 && access(o->path, W_OK | X_OK) < 0) {
		fprintf(stderr, "runbox exec: --out '%s' cannot be written: %s\n", o->path,
			strerror(errno));
		r = RUNBOX_EXIT_REFUSED;
	}
	free(path);
	return r;
}

/* Remove what out_dir_prepare made, deepest first, when it stayed empty (@keep false). */
static void out_dir_tidy(struct out_dir *o, bool keep)
{
	while (o->n_created) {
		char *d = o->created[--o->n_created];

		if (!keep)
			rmdir(d); /* only ever an empty directory */
		free(d);
	}
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v = v << 4 | (unsigned)(c >= 'a'   ? c - 'a' + 10
					: c >= 'A' ? c - 'A' + 10
						   : c - '0');
	}
	return v;
}

static void put_utf8(FILE *f, unsigned cp)
{
	if (cp < 0x80) {
		fputc((int)cp, f);
	} else if (cp < 0x800) {
		fputc((int)(0xc0 | cp >> 6), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else if (cp < 0x10000) {
		fputc((int)(0xe0 | cp >> 12), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else {
		fputc((int)(0xf0 | cp >> 18), f);
		fputc((int)(0x80 | (cp >> 12 & 0x3f)), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	}
}

/*
 * Write the JSON string literal at @s (after its opening quote) to @f as the
 * bytes it stands for, NULs included: cJSON's strings end at the first NUL a
 * program printed.  The literal is runbox's own (valid, every escape whole).
 * Returns the character after its closing quote.
 */
static const char *put_literal(FILE *f, const char *s)
{
	static const char plain[] = "\"\\/bfnrt", as[] = "\"\\/\b\f\n\r\t";

	for (; *s && *s != '"'; s++) {
		const char *e;
		unsigned cp;

		if (*s != '\\') {
			fputc(*s, f);
		} else if (*++s != 'u') {
			e = strchr(plain, *s);
			fputc(e ? as[e - plain] : *s, f);
		} else {
			cp = hex4(s + 1);
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && s[1] == '\\' && s[2] == 'u') {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s + 3) - 0xdc00);
				s += 6;
			}
			put_utf8(f, cp);
		}
	}
	return *s ? s + 1 : s;
}

/*
 * The answer begins {"exit_code":N,"stdout":"...","stderr":"... (response_build).
 * Returns < 0 (and says so) when the program's stdout could not be written.
 */
static int put_outputs(const char *json)
{
	const char *s = strstr(json, ",\"stdout\":\"");
	int e;

	if (!s)
		return 0;
	s = put_literal(stdout, s + strlen(",\"stdout\":\""));
	/* The stream's error is sticky: one check after the flush covers every write. */
	e = fflush(stdout) != 0 ? errno : ferror(stdout) ? EIO : 0;
	if (e)
		fprintf(stderr, "runbox exec: cannot write the program's stdout: %s\n",
			strerror(e));
	if (strncmp(s, ",\"stderr\":\"", strlen(",\"stderr\":\"")) == 0)
		put_literal(stderr, s + strlen(",\"stderr\":\""));
	return e ? -e : 0;
}

/* Output past RUNBOX_MAX_OUTPUT_BYTES was dropped: say so, the terminal shows no flag. */
static void say_truncated(const cJSON *resp)
{
	const cJSON *t = cJSON_GetObjectItem(resp, "truncated");

	for (int i = 0; i < 2; i++) {
		const char *which = i ? "stderr" : "stdout";

		if (cJSON_IsTrue(cJSON_GetObjectItem(t, which)))
			fprintf(stderr,
				"runbox exec: the program's %s was cut at the output cap "
				"(RUNBOX_MAX_OUTPUT_BYTES)\n",
				which);
	}
}

/*
 * The closing line (unless --quiet): where the files went, by name, so
 * that nobody has to look for them.
 */
static void say_written(const struct exec_args *a, const cJSON *written)
{
	int n = cJSON_GetArraySize(written), i = 0;

	if (a->quiet)
		return;
	if (!n) {
		fputs("runbox: the program wrote no files to ./output/\n", stderr);
		return;
	}
	fprintf(stderr, "runbox: %d file%s in %s/: ", n, n == 1 ? "" : "s", a->out.path);
	for (const cJSON *w = written->child; w && i < LISTED_FILES; w = w->next, i++) {
		fputs(i ? ", " : "", stderr);
		put_name(stderr, w->valuestring);
	}
	if (n > LISTED_FILES)
		fprintf(stderr, " and %d more", n - LISTED_FILES);
	fputc('\n', stderr);
}

static void say_omitted(const cJSON *resp)
{
	const cJSON *omitted = cJSON_GetObjectItem(resp, "omitted_artifacts");

	for (const cJSON *o = omitted ? omitted->child : NULL; o; o = o->next) {
		fputs("runbox exec: artifact '", stderr);
		put_name(stderr, cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")));
		fprintf(stderr, "' left out: %s\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")));
	}
}

static int report(struct exec_args *a, const char *json)
{
	cJSON *resp = cJSON_Parse(json), *written = NULL;
	int code, failed, lost;

	if (!resp)
		return RUNBOX_EXIT_FAULT;
	lost = put_outputs(json) < 0;
	say_truncated(resp);
	if (cJSON_IsTrue(cJSON_GetObjectItem(resp, "timeout_clamped")))
		fprintf(stderr,
			"runbox exec: --timeout was lowered to %g s, the most this runbox allows "
			"(RUNBOX_MAX_TIMEOUT_S)\n",
			cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "timeout_s")));
	failed = write_artifacts(cJSON_GetObjectItem(resp, "artifacts"), &a->out, &written);
	say_omitted(resp);
	out_dir_tidy(&a->out, cJSON_GetArraySize(written) || failed);
	say_written(a, written);
	code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "exit_code"));
	cJSON_Delete(written);
	cJSON_Delete(resp);
	/* Output or artifacts lost on the way out: runbox's fault, not the program's success. */
	return (failed || lost) && code == 0 ? RUNBOX_EXIT_FAULT : code;
}

/* A request field in the words of exec's own command line. */
static void flag_words(const struct exec_args *a, const char *field, char *buf, size_t size)
{
	const char *idx = strchr(field, '[');
	const cJSON *dep = idx ? cJSON_GetArrayItem(a->deps, atoi(idx + 1)) : NULL;

	if (strncmp(field, "dependencies", 12) == 0 && cJSON_IsString(dep))
		snprintf(buf, size, "--dep '%s'", cJSON_GetStringValue(dep));
	else if (strncmp(field, "dependencies", 12) == 0)
		snprintf(buf, size, "--dep");
	else if (strncmp(field, "context.", 8) == 0)
		snprintf(buf, size, "--input '%s'", field + 8);
	else if (strcmp(field, "context") == 0)
		snprintf(buf, size, "--input");
	else if (strncmp(field, "args", 4) == 0)
		snprintf(buf, size, "the program's arguments (after --)");
	else if (strcmp(field, "timeout_s") == 0)
		snprintf(buf, size, "--timeout");
	else if (strcmp(field, "script") == 0 || strcmp(field, "language") == 0)
		snprintf(buf, size, "'%s'", a->file);
	else
		snprintf(buf, size, "%s", field);
}

/*
 * A refusal, said in exec's words: the option at fault first, and every
 * "dependencies[N]" of the message (a chain of requirements names one)
 * as the --dep it came from.
 */
static void say_refusal(const struct exec_args *a, const struct rb_err *err)
{
	char words[1200], msg[sizeof(err->msg) + 512];
	const char *m = err->msg, *hit;
	size_t o = 0;

	msg[0] = '\0';
	while ((hit = strstr(m, "dependencies[")) && o < sizeof(msg) - 1) {
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%.*s", (int)(hit - m), m);
		flag_words(a, hit, words, sizeof(words));
		if (o < sizeof(msg))
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s", words);
		m = strchr(hit, ']') ? strchr(hit, ']') + 1 : hit + 13;
	}
	if (o < sizeof(msg))
		snprintf(msg + o, sizeof(msg) - o, "%s", m);
	flag_words(a, err->field, words, sizeof(words));
	fprintf(stderr, "runbox exec: %s%s%s\n", words, words[0] ? ": " : "", msg);
}

int exec_main(struct executor *ex, int argc, char **argv)
{
	struct exec_args a = {.out.path = "runbox-output",
			      .deps = cJSON_CreateArray(),
			      .inputs = cJSON_CreateObject(),
			      .args = cJSON_CreateArray()};
	struct rb_err err = {0};
	char *body = NULL, *json = NULL;
	int status = parse_args(&a, argc, argv), r;

	if (status == 0 && !(body = build_request(&a)))
		status = RUNBOX_EXIT_REFUSED;
	if (status == 0)
		status = out_dir_prepare(&a.out);
	if (status == 0) {
		r = executor_run(ex, body, strlen(body), NULL, &json, &err);
		if (r < 0) {
			say_refusal(&a, &err);
			status = rb_exit_status(r, &err);
		} else
			status = report(&a, json);
	}
	out_dir_tidy(&a.out, false);
	cJSON_Delete(a.deps);
	cJSON_Delete(a.inputs);
	cJSON_Delete(a.args);
	free(body);
	free(json);
	return status;
}
