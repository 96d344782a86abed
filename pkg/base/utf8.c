/*
 * utf8: a table-free UTF-8 decoder following Unicode's "maximal subpart"
 * rule, so that invalid output becomes U+FFFD the same way Python would
 * decode it with errors="replace".
 */
#define _GNU_SOURCE
#include "base/utf8.h"

#include <string.h>

/* Bounds of the second byte for each lead byte (Unicode table 3-7). */
static bool second_ok(unsigned char lead, unsigned char b)
{
	if (lead == 0xE0)
		return b >= 0xA0 && b <= 0xBF;
	if (lead == 0xED)
		return b >= 0x80 && b <= 0x9F;
	if (lead == 0xF0)
		return b >= 0x90 && b <= 0xBF;
	if (lead == 0xF4)
		return b >= 0x80 && b <= 0x8F;
	return b >= 0x80 && b <= 0xBF;
}

static size_t expected_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* Length of the valid prefix of the sequence at @s (the maximal subpart). */
static size_t valid_prefix(const unsigned char *s, size_t n, size_t want)
{
	size_t i = 1;

	if (n < 2 || !second_ok(s[0], s[1]))
		return 1;
	for (i = 2; i < want && i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			break;
	return i;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t want = expected_len(s[0]);

	if (want <= 1)
		return want;
	if (valid_prefix(s, n, want) == want && want <= n)
		return want;
	return 0;
}

size_t utf8_trim_cut(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t back = 1; back <= 3 && back <= n; back++) {
		size_t at = n - back, want = expected_len(p[at]);

		if (want > 1) /* the last lead byte: is its sequence cut short? */
			return want > back && valid_prefix(p + at, back, want) == back ? at : n;
		if ((p[at] & 0xC0) != 0x80)
			return n; /* ASCII or an invalid byte: nothing was cut */
	}
	return n;
}

bool utf8_valid(const char *s, size_t n, size_t *ret_bad_offset)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t len;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		len = utf8_seq_len(p + i, n - i);
		if (!len) {
			if (ret_bad_offset)
				*ret_bad_offset = i;
			return false;
		}
		i += len;
	}
	return true;
}

size_t utf8_sanitized_max(size_t n)
{
	return n * 3;
}

size_t utf8_sanitize(const char *in, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0;

	while (i < n) {
		size_t len = p[i] < 0x80 ? 1 : utf8_seq_len(p + i, n - i);

		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
			continue;
		}
		len = expected_len(p[i]) ? valid_prefix(p + i, n - i, expected_len(p[i])) : 1;
		memcpy(out + o, "\xEF\xBF\xBD", 3);
		o += 3;
		i += len;
	}
	out[o] = '\0';
	return o;
}
