/*
 * Unit tests for pkg/base/sha512: the FIPS 180-4 / NIST example vectors,
 * the million-'a' vector fed in odd-sized pieces, and a message whose
 * padding takes a second block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/sha512.h"

static void hex(const uint8_t d[SHA512_DIGEST_LEN], char out[129])
{
	for (int i = 0; i < SHA512_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const char *msg, size_t len, const char *want)
{
	struct sha512 s;
	uint8_t d[SHA512_DIGEST_LEN];
	char h[129];

	sha512_init(&s);
	sha512_update(&s, msg, len);
	sha512_final(&s, d);
	hex(d, h);
	assert_string_equal(h, want);
}

static void test_vectors(void **state)
{
	static const char zeros[239] = {0};

	(void)state;
	check(
	    "", 0,
	    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318"
	    "d2877eec2f63b931bd47417a81a538327af927da3e");
	check(
	    "abc", 3,
	    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c"
	    "23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	check(
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnop"
	    "q"
	    "rlmnopqrsmnopqrstnopqrstu",
	    112,
	    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99"
	    "dec4b5433ac7d329eeb6dd26545e96e55b874be909");
	check(
	    zeros, sizeof(zeros),
	    "5ab1250bc60e105fc71ab84c4866822778e8a40fda48be703be283d1acf7959933ec3024e196c8f4cb5480"
	    "12786f692eb210899323060f28254d3d47a7018205");
}

static void test_million_a_in_pieces(void **state)
{
	static char a[1000];
	struct sha512 s;
	uint8_t d[SHA512_DIGEST_LEN];
	char h[129];
	size_t done = 0, step = 1;

	(void)state;
	memset(a, 'a', sizeof(a));
	sha512_init(&s);
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;

		sha512_update(&s, a, n);
		done += n;
		step = step % 991 + 7; /* at most 997, within a */
	}
	sha512_final(&s, d);
	hex(d, h);
	assert_string_equal(h, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0"
			       "ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_million_a_in_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
