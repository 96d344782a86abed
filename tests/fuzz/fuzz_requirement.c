/*
 * fuzz_requirement: libFuzzer target for requirement_parse(), which sees each
 * string of a request's "dependencies".
 *
 * On success it checks the canonical form is stable: requirement_format()
 * fits in REQUIREMENT_FORMAT_MAX as requirement.h promises, parsing that form
 * again gives the same normalised name, extras and number of clauses, and
 * formatting the result gives the same text.  Each clause's version survives
 * version_format() then version_parse() unchanged in PEP 440 order.  On
 * failure the error is a request fault with a code.  A broken rule is a
 * __builtin_trap().  Built and run by tests/fuzz/run.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "deps/requirement.h"

#include "fuzz.h"

/* Name the broken rule, then trap so libFuzzer saves the input. */

static void check_versions(const struct version_specset *set)
{
	char buf[REQUIREMENT_FORMAT_MAX];

	for (size_t i = 0; i < set->nspecs; i++) {
		const struct version *v = &set->specs[i].version;
		struct version again;
		int n = version_format(v, buf, sizeof(buf));

		CHECK(n > 0 && (size_t)n < sizeof(buf));
		CHECK(version_parse(buf, &again) == 0);
		CHECK(version_compare(v, &again) == 0);
		CHECK(version_compare(&again, v) == 0);
	}
}

static void check_round_trip(const struct requirement *req)
{
	static struct requirement again; /* ~3 KiB: keep it off the stack */
	char text[REQUIREMENT_FORMAT_MAX], text2[REQUIREMENT_FORMAT_MAX];
	struct rb_err err;
	int n = requirement_format(req, text, sizeof(text));

	CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
	/* the canonical form may outgrow the input limit (see requirement.h) */
	if ((size_t)n > REQUIREMENT_MAX_LEN)
		return;
	memset(&err, 0, sizeof(err));
	CHECK(requirement_parse(text, "fuzz", &again, &err) == 0);
	CHECK(strcmp(again.name, req->name) == 0);
	CHECK(again.nextras == req->nextras);
	for (size_t i = 0; i < req->nextras; i++)
		CHECK(strcmp(again.extras[i], req->extras[i]) == 0);
	CHECK(again.specset.nspecs == req->specset.nspecs);
	CHECK(requirement_format(&again, text2, sizeof(text2)) == n);
	CHECK(strcmp(text, text2) == 0);
}

static void check_success(const struct requirement *req)
{
	char norm[REQUIREMENT_MAX_LEN + 1];

	CHECK(requirement_valid_name(req->name_orig));
	CHECK(requirement_normalize_name(req->name_orig, norm, sizeof(norm)) >= 0);
	CHECK(strcmp(norm, req->name) == 0);
	CHECK(req->nextras <= REQUIREMENT_MAX_EXTRAS);
	CHECK(req->specset.nspecs <= VERSION_MAX_SPECIFIERS);
	for (size_t i = 0; i < req->nextras; i++)
		for (size_t j = i + 1; j < req->nextras; j++)
			CHECK(strcmp(req->extras[i], req->extras[j]) != 0);
	check_versions(&req->specset);
	check_round_trip(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct requirement req;
	struct rb_err err;
	char *s = malloc(size + 1);
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&err, 0, sizeof(err));
	r = requirement_parse(s, "dependencies[0]", &req, &err);
	if (r == 0)
		check_success(&req);
	else
		CHECK(r == -EINVAL && err.fault == RB_FAULT_REQUEST && err.code[0] != '\0');
	free(s);
	return 0;
}
