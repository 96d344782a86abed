/*
 * fuzz_npmspec: libFuzzer target for npmresolve_parse_spec() and semver,
 * which see each string of a JavaScript request's "dependencies".
 *
 * The input is split at its first newline: a spec, and a version.  A spec
 * that parses gives a valid npm name and a range semver reads; a version
 * that parses compares equal to itself, and testing it against the range
 * answers 0 or 1, never an error.  A broken rule is a __builtin_trap().
 * Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deps/npmresolve.h"
#include "deps/semver.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NPM_NAME_MAX + 1], *s = malloc(size + 1), *nl;
	const char *range, *why, *ver;
	struct semver v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	ver = nl ? nl + 1 : "1.2.3";
	if (npmresolve_parse_spec(s, name, &range, &why) == 0) {
		CHECK(npm_name_valid(name));
		CHECK(semver_range_valid(range));
		if (semver_parse(ver, &v) == 0) {
			int r = semver_satisfies(&v, range);

			CHECK(r == 0 || r == 1);
		}
	} else {
		CHECK(why && why[0]);
	}
	if (semver_parse(ver, &v) == 0)
		CHECK(semver_compare(&v, &v) == 0);
	free(s);
	return 0;
}
