/*
 * path: one pass over the bytes, checking each rule of the contract, so the
 * reason a path is refused can be named precisely.
 */
#define _GNU_SOURCE
#include "contract/path.h"

#include <string.h>

#include "base/utf8.h"

/* Check one segment [s, s+len). */
static const char *check_segment(const char *s, size_t len)
{
	if (len == 0)
		return "it has an empty segment (a leading, trailing or doubled '/')";
	if (len > PATH_MAX_SEGMENT)
		return "a segment is longer than 255 bytes";
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "it has a '.' or '..' segment";
	return NULL;
}

static const char *check_bytes(const char *in, size_t n)
{
	if (n == 0)
		return "it is empty";
	if (n > PATH_MAX_BYTES)
		return "it is longer than 1024 bytes";
	if (in[0] == '/')
		return "it is absolute (starts with '/')";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i],
			      next = i + 1 < n ? (unsigned char)in[i + 1] : 0;

		/* C0, DEL, and C1 (U+0080-U+009F: 0xC2 0x80-0x9F in UTF-8) */
		if (c < 0x20 || c == 0x7f || (c == 0xC2 && next >= 0x80 && next <= 0x9F))
			return "it contains a NUL or control character";
	}
	if (!utf8_valid(in, n, NULL))
		return "it is not valid UTF-8";
	return NULL;
}

/* Check @in into @out; a '\\' becomes '/' when @backslash_is_slash. */
static int normalize(const char *in, size_t n, char *out, bool backslash_is_slash,
		     const char **ret_reason)
{
	const char *why = check_bytes(in, n);
	size_t start = 0;
	unsigned depth = 0;

	if (why) {
		*ret_reason = why;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = backslash_is_slash && in[i] == '\\' ? '/' : in[i];
	out[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (i < n && out[i] != '/')
			continue;
		why = check_segment(out + start, i - start);
		if (!why && ++depth > PATH_MAX_DEPTH)
			why = "it is more than 16 segments deep";
		if (why) {
			*ret_reason = why;
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

int path_normalize(const char *in, size_t n, char *out, const char **ret_reason)
{
	if (n > 0 && in[0] == '\\') {
		*ret_reason = "it is absolute (starts with '/')";
		return -1;
	}
	return normalize(in, n, out, true, ret_reason);
}

int path_check_literal(const char *in, size_t n, char *out, const char **ret_reason)
{
	return normalize(in, n, out, false, ret_reason);
}

unsigned path_depth(const char *p)
{
	unsigned d = 1;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

bool path_is_dir_prefix(const char *prefix, const char *p)
{
	size_t n = strlen(prefix);

	return strncmp(prefix, p, n) == 0 && p[n] == '/';
}

bool path_first_segment_is(const char *p, const char *seg)
{
	size_t n = strlen(seg);

	return strncmp(p, seg, n) == 0 && (p[n] == '/' || p[n] == '\0');
}
