/*
 * fuzz_request: libFuzzer target for request_parse(), the first code that
 * sees an untrusted request body.
 *
 * Each input is parsed twice: with the contract's defaults
 * (config_defaults()) and with tiny limits, so that every "too large" and
 * "too many" branch is reachable from short inputs.  On success it checks
 * what the executor relies on and __builtin_trap()s when a rule is broken:
 * every file path is already normalised, distinct, neither a directory of
 * another nor under input/ or output/; sizes and counts are within the
 * limits; exactly one of script and files is given, and entry_point is one of
 * files[].path with the language's extension; the timeout is in (0, max].
 * Every byte a pointer covers is read once, so ASan sees a dangling one.
 * Built and run by tests/fuzz/run.sh.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "contract/config.h"
#include "base/err.h"
#include "contract/path.h"
#include "contract/request.h"

#include "fuzz.h"

/* Name the broken rule, then trap so libFuzzer saves the input. */

static volatile unsigned char sink;

/* Read every byte of [p, p+n) so that ASan checks it. */
static void touch(const char *p, size_t n)
{
	unsigned char x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= (unsigned char)p[i];
	sink = x;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* One map of files: normalised, distinct, no file is another's directory. */
static size_t check_files(const struct request_file *f, size_t n,
			  const struct runbox_limits *lim)
{
	char again[PATH_MAX_BYTES + 1];
	const char *why;
	size_t total = 0;

	CHECK(n <= lim->max_files);
	CHECK(n == 0 || f != NULL);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(f[i].path, sizeof(f[i].path));

		CHECK(len < sizeof(f[i].path));
		CHECK(path_normalize(f[i].path, len, again, &why) == 0);
		CHECK(strcmp(again, f[i].path) == 0);
		CHECK(path_depth(f[i].path) <= PATH_MAX_DEPTH);
		CHECK(f[i].data != NULL || f[i].len == 0);
		CHECK(f[i].len <= lim->max_file_bytes);
		if (f[i].owned)
			CHECK(f[i].data == (const char *)f[i].owned);
		touch(f[i].data, f[i].len);
		total += f[i].len;
		for (size_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			CHECK(strcmp(f[i].path, f[j].path) != 0);
			CHECK(!path_is_dir_prefix(f[i].path, f[j].path));
		}
	}
	return total;
}

static void check_program(const struct request *r)
{
	const char *ext = r->language == LANG_BASH ? ".sh" : ".py";
	bool found = false;

	CHECK((r->script != NULL) != (r->n_files > 0));
	if (r->script) {
		CHECK(r->entry_point == NULL);
		CHECK(strlen(r->script) == r->script_len);
		return;
	}
	CHECK(r->entry_point != NULL);
	for (size_t i = 0; i < r->n_files; i++) {
		found |= r->entry_point == r->files[i].path;
		CHECK(!path_first_segment_is(r->files[i].path, "input"));
		CHECK(!path_first_segment_is(r->files[i].path, "output"));
	}
	CHECK(found);
	CHECK(ends_with(r->entry_point, ext));
	CHECK(strcmp(request_program_path(r), r->entry_point) == 0);
}

static void check_strings(const char *const *v, size_t n, size_t max_n)
{
	CHECK(n <= max_n);
	CHECK(n == 0 || v != NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i] != NULL);
		touch(v[i], strlen(v[i]));
	}
	if (v)
		CHECK(v[n] == NULL);
}

static void check_env(const struct request *r, const struct runbox_limits *lim)
{
	size_t total = 0;

	CHECK(r->n_env <= lim->max_env);
	for (size_t i = 0; i < r->n_env; i++) {
		CHECK(r->env_names[i] && r->env_values[i]);
		CHECK(env_name_ok(r->env_names[i]) && strlen(r->env_names[i]) <= 128);
		CHECK(strncmp(r->env_names[i], "LD_", 3) != 0);
		CHECK(strncmp(r->env_names[i], "RUNBOX_", 7) != 0);
		CHECK(strcmp(r->env_names[i], "PATH") != 0);
		total += strlen(r->env_names[i]) + strlen(r->env_values[i]); /* as for args */
	}
	CHECK(total <= lim->max_env_bytes);
}

static void check_request(const struct request *r, const struct runbox_limits *lim)
{
	size_t total, args = 0;

	CHECK(r->root != NULL);
	CHECK(r->script_len <= lim->max_script_bytes);
	total = check_files(r->files, r->n_files, lim);
	total += check_files(r->context, r->n_context, lim);
	CHECK(total <= lim->max_files_total);
	check_program(r);
	check_strings(r->dependencies, r->n_dependencies, lim->max_dependencies);
	check_strings(r->args, r->n_args, lim->max_args);
	/* the string bytes alone, whether or not the parser counts terminators */
	for (size_t i = 0; i < r->n_args; i++)
		args += strlen(r->args[i]);
	CHECK(args <= lim->max_args_bytes);
	check_env(r, lim);
	CHECK(isfinite(r->timeout_s) && r->timeout_s > 0 && r->timeout_s <= lim->max_timeout_s);
	CHECK(r->language == LANG_PYTHON || r->language == LANG_BASH);
	CHECK(r->stdin_len <= lim->max_stdin_bytes);
	if (r->stdin_data)
		CHECK(strlen(r->stdin_data) == r->stdin_len);
}

static void parse_once(const uint8_t *data, size_t size, const struct runbox_limits *lim)
{
	struct request req;
	struct rb_err err;
	int r;

	memset(&err, 0, sizeof(err));
	r = request_parse((const char *)data, size, lim, &req, &err);
	if (r < 0) {
		CHECK(err.fault != RB_FAULT_NONE && err.code[0] != '\0');
		/* "on failure *ret holds nothing to free" */
		CHECK(req.root == NULL && req.files == NULL && req.context == NULL);
		CHECK(req.args == NULL && req.env_names == NULL && req.dependencies == NULL);
		return;
	}
	check_request(&req, lim);
	request_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct runbox_limits defaults, tiny;
	static bool ready;

	if (!ready) {
		struct runbox_config cfg;

		config_defaults(&cfg);
		defaults = cfg.limits;
		tiny = cfg.limits;
		tiny.max_body_bytes = 4096;
		tiny.max_script_bytes = 16;
		tiny.max_file_bytes = 16;
		tiny.max_files_total = 24;
		tiny.max_files = 3;
		tiny.max_stdin_bytes = 8;
		tiny.max_args = 2;
		tiny.max_args_bytes = 8;
		tiny.max_env = 2;
		tiny.max_env_bytes = 16;
		tiny.max_dependencies = 2;
		tiny.max_timeout_s = 5;
		tiny.default_timeout_s = 2; /* config_from_env() clamps it to the max */
		ready = true;
	}
	parse_once(data, size, &defaults);
	parse_once(data, size, &tiny);
	return 0;
}
