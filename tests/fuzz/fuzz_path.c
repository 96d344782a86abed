/*
 * fuzz_path: libFuzzer target for path_normalize(), which sees the keys of
 * "files" and "context" and "entry_point" straight from a request.
 *
 * Besides memory errors (ASan/UBSan), it checks what every caller relies on
 * when the call succeeds: the result is idempotent, has no empty ("//"), "."
 * or ".." segment, no '\', is relative, valid UTF-8 without control bytes, at
 * most 16 segments deep and 1024 bytes long.  A broken rule is a
 * __builtin_trap(), so libFuzzer keeps the input.  Built and run by
 * tests/fuzz/run.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "contract/path.h"
#include "base/utf8.h"

#include "fuzz.h"

/* Name the broken rule, then trap so libFuzzer saves the input. */

/*
 * Each segment is non-empty, not "." or "..", at most PATH_MAX_SEGMENT bytes;
 * each proper prefix ending before a '/' is a directory prefix of @p.
 */
static void check_segments(const char *p, size_t len)
{
	char prefix[PATH_MAX_BYTES + 1];
	size_t start = 0;
	unsigned depth = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t n;

		if (i < len && p[i] != '/')
			continue;
		n = i - start;
		CHECK(n > 0);
		CHECK(n <= PATH_MAX_SEGMENT);
		CHECK(!(n == 1 && p[start] == '.'));
		CHECK(!(n == 2 && p[start] == '.' && p[start + 1] == '.'));
		if (i < len) {
			memcpy(prefix, p, i);
			prefix[i] = '\0';
			CHECK(path_is_dir_prefix(prefix, p));
		}
		depth++;
		start = i + 1;
	}
	CHECK(depth == path_depth(p));
	CHECK(depth <= PATH_MAX_DEPTH);
	CHECK(!path_is_dir_prefix(p, p));
}

static void check_normalised(const char *out, size_t in_len)
{
	char again[PATH_MAX_BYTES + 1];
	const char *why = NULL;
	size_t len = strlen(out);

	/* no byte is dropped or added: a NUL or control byte is refused */
	CHECK(len == in_len);
	CHECK(len > 0 && len <= PATH_MAX_BYTES);
	CHECK(out[0] != '/');
	CHECK(strstr(out, "//") == NULL);
	CHECK(strchr(out, '\\') == NULL);
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	CHECK(utf8_valid(out, len, NULL));
	check_segments(out, len);

	memset(again, 'X', sizeof(again));
	CHECK(path_normalize(out, len, again, &why) == 0);
	CHECK(strcmp(again, out) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PATH_MAX_BYTES + 1];
	const char *why = NULL;

	/* @data is exactly @size bytes with no NUL after it: ASan sees over-reads */
	if (path_normalize((const char *)data, size, out, &why) < 0) {
		CHECK(why != NULL && why[0] != '\0');
		return 0;
	}
	check_normalised(out, size);
	return 0;
}
