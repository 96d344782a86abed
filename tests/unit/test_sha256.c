/*
 * Unit tests for pkg/base/sha256: the FIPS 180-4 / NIST example vectors, the
 * million-'a' vector fed in odd-sized pieces, and the RECORD encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/sha256.h"

static void hex(const uint8_t d[SHA256_DIGEST_LEN], char out[65])
{
	for (int i = 0; i < SHA256_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const char *msg, size_t len, const char *want)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_LEN];
	char h[65];

	sha256_init(&s);
	sha256_update(&s, msg, len);
	sha256_final(&s, d);
	hex(d, h);
	assert_string_equal(h, want);
}

static void test_vectors(void **state)
{
	(void)state;
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
	      "klmnopqrlmnopqrsmnopqrstnopqrstu",
	      112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	/* 55, 56 and 64 bytes: the padding's edge cases. */
	check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55,
	      "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
	      "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_million_a_in_pieces(void **state)
{
	static char chunk[997];
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_LEN];
	char h[65];
	size_t left = 1000000;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	for (size_t step = 1; left > 0; step = step * 7 % 997 + 1) {
		size_t n = step < left ? step : left;

		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex(d, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
static void test_hmac(void **state)
{
	uint8_t key[131], d[SHA256_DIGEST_LEN], e[SHA256_DIGEST_LEN];
	char h[65];
	const char *big = "Test Using Larger Than Block-Size Key - Hash Key First";

	(void)state;
	memset(key, 0x0b, 20);
	sha256_hmac(key, 20, "Hi There", 8, d);
	hex(d, h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	sha256_hmac("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex(d, h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, sizeof(key));
	sha256_hmac(key, sizeof(key), big, strlen(big), d);
	hex(d, h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	memcpy(e, d, sizeof(d));
	assert_true(sha256_equal(d, e));
	e[31] ^= 1;
	assert_false(sha256_equal(d, e));
}

static void test_b64url(void **state)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_LEN];
	char b[SHA256_B64URL_LEN + 1];

	(void)state;
	sha256_init(&s);
	sha256_final(&s, d);
	sha256_b64url(d, b);
	/* python3 -c "import base64,hashlib; print(base64.urlsafe_b64encode(
	 * hashlib.sha256(b'').digest()).rstrip(b'='))" */
	assert_string_equal(b, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	assert_int_equal(strlen(b), SHA256_B64URL_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_million_a_in_pieces),
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_hmac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
