/*
 * Unit tests for pkg/base/b64: RFC 4648 section 10 test vectors both ways, the
 * forgiving parts of the decoder (optional padding, CR/LF skipped) and the
 * strict parts (bad characters, misplaced '=', a dangling character), each
 * with the offset the decoder must report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *enc;
} rfc[] = {
	{ "", "" },	       { "f", "Zg==" },		{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },     { "foob", "Zm9vYg==" },	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* Decode @s, asserting success, into a fresh buffer; returns its length. */
static long decode_ok(const char *s, unsigned char **ret)
{
	size_t n = strlen(s), bad = 12345;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	long len;

	assert_non_null(out);
	len = b64_decode(s, n, out, &bad);
	if (len < 0)
		fail_msg("b64_decode(\"%s\") failed at offset %zu", s, bad);
	*ret = out;
	return len;
}

/* Decode @s, asserting failure at @want_offset. */
static void decode_bad(const char *s, size_t want_offset)
{
	size_t n = strlen(s), bad = 12345;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	long len;

	assert_non_null(out);
	len = b64_decode(s, n, out, &bad);
	free(out);
	if (len != -1)
		fail_msg("b64_decode(\"%s\") = %ld, want -1", s, len);
	if (bad != want_offset)
		fail_msg("b64_decode(\"%s\") bad offset %zu, want %zu", s, bad, want_offset);
}

static void expect_decodes_to(const char *s, const char *plain)
{
	unsigned char *out;
	long len = decode_ok(s, &out);

	if ((size_t)len != strlen(plain) || memcmp(out, plain, (size_t)len) != 0)
		fail_msg("b64_decode(\"%s\") = %ld bytes, want \"%s\"", s, len, plain);
	free(out);
}

static void test_encoded_len(void **state)
{
	(void)state;
	assert_int_equal(b64_encoded_len(0), 0);
	assert_int_equal(b64_encoded_len(1), 4);
	assert_int_equal(b64_encoded_len(2), 4);
	assert_int_equal(b64_encoded_len(3), 4);
	assert_int_equal(b64_encoded_len(4), 8);
	assert_int_equal(b64_encoded_len(6), 8);
	assert_int_equal(b64_encoded_len(7), 12);
}

static void test_encode_rfc_vectors(void **state)
{
	char out[32];

	(void)state;
	for (size_t i = 0; i < N(rfc); i++) {
		size_t n = strlen(rfc[i].plain);

		memset(out, 'X', sizeof(out));
		b64_encode((const unsigned char *)rfc[i].plain, n, out);
		assert_string_equal(out, rfc[i].enc);
		assert_int_equal(strlen(out), b64_encoded_len(n));
	}
}

static void test_decode_rfc_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rfc); i++)
		expect_decodes_to(rfc[i].enc, rfc[i].plain);
}

static void test_decode_padding_optional(void **state)
{
	(void)state;
	expect_decodes_to("Zg", "f");
	expect_decodes_to("Zm8", "fo");
	expect_decodes_to("Zm9vYg", "foob");
	expect_decodes_to("Zm9vYmE", "fooba");
}

static void test_decode_skips_crlf(void **state)
{
	(void)state;
	expect_decodes_to("Zm9v\r\nYmFy", "foobar");
	expect_decodes_to("Zm9v\nYmFy\n", "foobar");
	expect_decodes_to("\r\nZ\rm\n9\r\nv", "foo");
	expect_decodes_to("Zg=\r\n=", "f");
	expect_decodes_to("Zg==\r\n", "f");
	expect_decodes_to("\n\n", "");
}

static void test_decode_high_bits(void **state)
{
	unsigned char *out;
	long len;

	(void)state;
	len = decode_ok("+/+/", &out);
	assert_int_equal(len, 3);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0xbf);
	free(out);
	len = decode_ok("////", &out);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "\xff\xff\xff", 3);
	free(out);
	len = decode_ok("AAAA", &out);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "\0\0\0", 3);
	free(out);
}

static void test_decode_bad_characters(void **state)
{
	(void)state;
	decode_bad("Zm9v!", 4);
	decode_bad("!Zm9v", 0);
	decode_bad("Zm 9v", 2);	   /* a space is not a line break */
	decode_bad("Zm9v\tYmFy", 4); /* nor is a tab */
	decode_bad("Zm-9", 2);	   /* the URL-safe alphabet is refused */
	decode_bad("Zm_9", 2);
	decode_bad("Zm9\x80", 3);  /* a non-ASCII byte */
	decode_bad("Zm9vYm\xc3\xa9", 6);
}

static void test_decode_nul_inside(void **state)
{
	unsigned char out[16];
	size_t bad = 0;

	(void)state;
	assert_int_equal(b64_decode("Zm\0v", 4, out, &bad), -1);
	assert_int_equal(bad, 2);
}

static void test_decode_misplaced_padding(void **state)
{
	(void)state;
	decode_bad("=", 0);	     /* padding with no data */
	decode_bad("====", 0);
	decode_bad("Z===", 1);	     /* '=' after one sextet */
	decode_bad("Zm9v=", 4);	     /* '=' after a full group */
	decode_bad("Zm9v====", 4);
	decode_bad("Zg===", 4);	     /* one '=' too many */
	decode_bad("Zm8==", 4);
	decode_bad("Zg==Zg==", 2);   /* data after padding: reported at the first '=' */
	decode_bad("Zm8=Zm8=", 3);
	decode_bad("Zg=A", 2);
	decode_bad("Zg=", 3);	     /* half the padding: reported at the end */
	decode_bad("Zm9vYg=", 7);
}

static void test_decode_dangling_char(void **state)
{
	(void)state;
	decode_bad("Z", 1);
	decode_bad("Zm9vY", 5);
	decode_bad("Zm9vY\r\n", 7);
	decode_bad("Zm9vYmFyZ", 9);
}

static void test_roundtrip_all_bytes(void **state)
{
	unsigned char in[256], *out;
	char *enc;
	long len;

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	/* Every length 0..256 so every tail shape (0, 1, 2 leftover bytes) is hit. */
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t bad = 0;

		enc = malloc(b64_encoded_len(n) + 1);
		out = malloc(b64_encoded_len(n) / 4 * 3 + 3);
		assert_non_null(enc);
		assert_non_null(out);
		b64_encode(in + (256 - n), n, enc);
		assert_int_equal(strlen(enc), b64_encoded_len(n));
		len = b64_decode(enc, strlen(enc), out, &bad);
		assert_int_equal(len, (long)n);
		assert_memory_equal(out, in + (256 - n), n);
		free(enc);
		free(out);
	}
}

static void test_roundtrip_all_bytes_wrapped(void **state)
{
	unsigned char in[256], out[256 / 4 * 3 + 3 + 256];
	char enc[400], wrapped[800];
	size_t o = 0, bad = 0;
	long len;

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	b64_encode(in, sizeof(in), enc);
	/* MIME-style: 76 characters a line, CRLF between lines. */
	for (size_t i = 0; enc[i]; i++) {
		if (i && i % 76 == 0) {
			wrapped[o++] = '\r';
			wrapped[o++] = '\n';
		}
		wrapped[o++] = enc[i];
	}
	len = b64_decode(wrapped, o, out, &bad);
	assert_int_equal(len, 256);
	assert_memory_equal(out, in, 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoded_len),
		cmocka_unit_test(test_encode_rfc_vectors),
		cmocka_unit_test(test_decode_rfc_vectors),
		cmocka_unit_test(test_decode_padding_optional),
		cmocka_unit_test(test_decode_skips_crlf),
		cmocka_unit_test(test_decode_high_bits),
		cmocka_unit_test(test_decode_bad_characters),
		cmocka_unit_test(test_decode_nul_inside),
		cmocka_unit_test(test_decode_misplaced_padding),
		cmocka_unit_test(test_decode_dangling_char),
		cmocka_unit_test(test_roundtrip_all_bytes),
		cmocka_unit_test(test_roundtrip_all_bytes_wrapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
