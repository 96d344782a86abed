/*
 * fuzz_wheelmeta: libFuzzer target for what `runbox bake` reads from a wheel
 * it does not trust yet: the file name (wheelname_parse and the tag check),
 * METADATA (wheelmeta_parse) and each Requires-Dist marker (marker_eval).
 *
 * The first byte picks the parser, the rest is its input.  Invariants: a
 * refusal is a request fault with a code; a parsed name is PEP 503
 * normalised; a parsed METADATA has a non-empty Name and Version and at most
 * WHEELMETA_MAX_REQUIRES requirements; a marker is 0, 1 or -EINVAL.  A broken
 * rule is a __builtin_trap().  Built and run by tests/fuzz/run.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "deps/requirement.h"
#include "deps/wheelmeta.h"
#include "deps/wheelname.h"

#include "fuzz.h"

static const struct marker_env env = {
    "3.11", "3.11.2",  "linux", "x86_64",  "Linux",  "6.1",
    "#1",   "CPython", "posix", "cpython", "3.11.2", "",
};

static void check_refusal(const struct rb_err *err)
{
	CHECK(err->fault == RB_FAULT_REQUEST && err->code[0]);
}

static void fuzz_name(const char *s)
{
	static const struct wheel_target t = {3, 11, "x86_64", 2, 36};
	struct wheel_name w;
	struct rb_err err;
	char norm[WHEELNAME_MAX + 1], why[512];

	if (wheelname_parse(s, &w, &err) < 0) {
		check_refusal(&err);
		return;
	}
	CHECK(requirement_normalize_name(w.name, norm, sizeof(norm)) >= 0);
	CHECK(strcmp(norm, w.name) == 0);
	if (!wheelname_compatible(&w, &t, why, sizeof(why)))
		CHECK(why[0]);
}

static void fuzz_meta(const char *s, size_t len)
{
	struct wheelmeta m;
	struct rb_err err;

	if (wheelmeta_parse(s, len, &m, &err) < 0) {
		check_refusal(&err);
		return;
	}
	CHECK(m.name[0] && m.version[0] && m.n_requires <= WHEELMETA_MAX_REQUIRES);
	for (size_t i = 0; i < m.n_requires; i++) {
		int r =
		    marker_eval(m.requires[i].marker[0] ? m.requires[i].marker : "os_name=='posix'",
				&env, &err);

		CHECK(r == 0 || r == 1 || r == -EINVAL);
	}
	wheelmeta_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	struct rb_err err;
	int r;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_name(s);
		break;
	case 1:
		r = marker_eval(s, &env, &err);
		CHECK(r == 0 || r == 1 || (r == -EINVAL && !strcmp(err.code, "invalid_marker")));
		break;
	default:
		fuzz_meta(s, size - 1);
		break;
	}
	free(s);
	return 0;
}
