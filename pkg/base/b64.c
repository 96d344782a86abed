/*
 * b64: base64 encode and strict-but-forgiving decode (see b64.h).
 */
#define _GNU_SOURCE
#include "base/b64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = alphabet[v >> 18 & 63];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = alphabet[v >> 6 & 63];
		*out++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*out++ = alphabet[v >> 18 & 63];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/* The 6-bit value of @c, or -1. */
static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Flush a group of @k sextets (2..4) into bytes; returns bytes written. */
static size_t flush(uint32_t acc, int k, unsigned char *out)
{
	acc <<= 6 * (4 - k);
	out[0] = (unsigned char)(acc >> 16);
	if (k > 2)
		out[1] = (unsigned char)(acc >> 8);
	if (k > 3)
		out[2] = (unsigned char)acc;
	return (size_t)k - 1;
}

long b64_decode(const char *in, size_t n, unsigned char *out, size_t *ret_bad_offset)
{
	size_t o = 0, pad_at = 0;
	uint32_t acc = 0;
	int k = 0, pads = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int s = sextet(c);

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=' && k >= 2 && pads < 4 - k) {
			if (!pads)
				pad_at = i;
			pads++;
			continue;
		}
		if (s < 0 || pads) {
			*ret_bad_offset = pads && s >= 0 ? pad_at : i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)s;
		if (++k == 4) {
			o += flush(acc, 4, out + o);
			acc = 0;
			k = 0;
		}
	}
	if (k == 1 || (pads && pads != 4 - k)) {
		*ret_bad_offset = n;
		return -1;
	}
	if (k)
		o += flush(acc, k, out + o);
	return (long)o;
}
