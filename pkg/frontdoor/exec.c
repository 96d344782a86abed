/*
 * exec: argument parsing, request building, and writing the answer back
 * onto the local terminal and file system (see exec.h).
 */
#define _GNU_SOURCE
#include "frontdoor/exec.h"

#include <errno.h>
#include <fcntl.h>
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

/* parse_args() printed the help: exit 0 without running anything. */
#define EXEC_HELP (-1)

struct exec_args {
	const char *file;
	const char *out_dir;
	const char *timeout;
	cJSON *deps, *inputs, *args;
};

static const char exec_usage[] =
    "usage: runbox exec [--timeout S] [--dep SPEC]... [--input FILE]... [--out DIR] FILE "
    "[-- ARGS...]\n";

static const char exec_help[] =
    "Run FILE (.sh: bash, anything else: Python) in a fresh sandbox, as a request would.\n"
    "  --timeout S     seconds before it is stopped (default 60, at most the maximum)\n"
    "  --dep SPEC      a dependency from the wheel cache (repeatable)\n"
    "  --input FILE    readable by the program at ./input/<base name> (repeatable)\n"
    "  --out DIR       where the files it writes to ./output/ go (default ./runbox-output)\n"
    "  -- ARGS...      the program's arguments\n"
    "The program's stdout and stderr become runbox's; its stdin is empty.  runbox exits\n"
    "with the program's exit code, 2 when the request is refused, 1 on runbox's own\n"
    "fault (an artifact it could not write, an output it had to cut is said on stderr).\n";

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

/* Option @k of with_value[] (its value from the word itself or the next one). */
static int parse_opt(struct exec_args *a, size_t k, const char *inline_value, char **argv, int *i,
		     int argc)
{
	const char *v = inline_value;

	if (!v && *i + 1 >= argc)
		return usage_error("missing value after", argv[*i]);
	if (!v)
		v = argv[++*i];
	if (k == 0)
		a->timeout = v;
	else if (k == 1)
		a->out_dir = v;
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
		if (!a->file && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			fputs(exec_usage, stdout);
			fputs(exec_help, stdout);
			return EXEC_HELP;
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
	size_t len = 0, n = strlen(a->file), bad = 0;
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
	cJSON_AddStringToObject(req, "script", script);
	cJSON_AddStringToObject(req, "language",
				n > 3 && strcmp(a->file + n - 3, ".sh") == 0 ? "bash" : "python");
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

/* Returns how many artifacts could not be written. */
static int write_artifacts(const cJSON *arts, const char *dir)
{
	int dirfd, failed = 0;

	if (!cJSON_GetArraySize(arts))
		return 0;
	mkdir(dir, 0755);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "runbox exec: cannot open '%s': %s\n", dir, strerror(errno));
		return cJSON_GetArraySize(arts);
	}
	for (const cJSON *a = arts->child; a; a = a->next)
		if (write_artifact(dirfd, a->string, a) < 0) {
			fputs("runbox exec: cannot write artifact '", stderr);
			put_name(stderr, a->string);
			fprintf(stderr, "' into '%s'\n", dir);
			failed++;
		}
	close(dirfd);
	return failed;
}

/* --out must be a directory, or not exist yet: checked before the program runs. */
static int check_out_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 ? errno != ENOENT : !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "runbox exec: --out '%s' is not a directory\n", dir);
		return RUNBOX_EXIT_REFUSED;
	}
	return 0;
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

/* The answer begins {"exit_code":N,"stdout":"...","stderr":"... (response_build). */
static void put_outputs(const char *json)
{
	const char *s = strstr(json, ",\"stdout\":\"");

	if (!s)
		return;
	s = put_literal(stdout, s + strlen(",\"stdout\":\""));
	fflush(stdout);
	if (strncmp(s, ",\"stderr\":\"", strlen(",\"stderr\":\"")) == 0)
		put_literal(stderr, s + strlen(",\"stderr\":\""));
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

static int report(const char *json, const char *out_dir)
{
	cJSON *resp = cJSON_Parse(json);
	const cJSON *omitted;
	int code, failed;

	if (!resp)
		return RUNBOX_EXIT_FAULT;
	put_outputs(json);
	say_truncated(resp);
	failed = write_artifacts(cJSON_GetObjectItem(resp, "artifacts"), out_dir);
	omitted = cJSON_GetObjectItem(resp, "omitted_artifacts");
	for (const cJSON *o = omitted ? omitted->child : NULL; o; o = o->next) {
		fputs("runbox exec: artifact '", stderr);
		put_name(stderr, cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")));
		fprintf(stderr, "' left out: %s\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")));
	}
	code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(resp, "exit_code"));
	cJSON_Delete(resp);
	/* Artifacts lost on the way out: runbox's fault, not the program's success. */
	return failed && code == 0 ? RUNBOX_EXIT_FAULT : code;
}

int exec_main(struct executor *ex, int argc, char **argv)
{
	struct exec_args a = {.out_dir = "runbox-output",
			      .deps = cJSON_CreateArray(),
			      .inputs = cJSON_CreateObject(),
			      .args = cJSON_CreateArray()};
	struct rb_err err = {0};
	char *body = NULL, *json = NULL;
	int status = parse_args(&a, argc, argv), r;

	if (status == 0)
		status = check_out_dir(a.out_dir);
	if (status == 0 && !(body = build_request(&a)))
		status = RUNBOX_EXIT_REFUSED;
	if (body) {
		r = executor_run(ex, body, strlen(body), NULL, &json, &err);
		if (r < 0) {
			fprintf(stderr, "runbox exec: %s%s%s%s\n", err.msg,
				err.field[0] ? " (field " : "", err.field, err.field[0] ? ")" : "");
			status = rb_exit_status(r, &err);
		} else
			status = report(json, a.out_dir);
	}
	cJSON_Delete(a.deps);
	cJSON_Delete(a.inputs);
	cJSON_Delete(a.args);
	free(body);
	free(json);
	return status == EXEC_HELP ? 0 : status;
}
