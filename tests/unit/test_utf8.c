/*
 * Unit tests for pkg/base/utf8: which sequences are valid (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequence) and how sanitising replaces each maximal invalid subpart with
 * one U+FFFD, the way Python's errors="replace" does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/utf8.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD "\xEF\xBF\xBD"

struct bytes {
	const char *s;
	size_t n; /* explicit, so that NUL bytes can be in the case */
};

#define B(lit) { lit, sizeof(lit) - 1 }

static void test_seq_len_valid(void **state)
{
	static const struct {
		struct bytes b;
		size_t len;
	} cases[] = {
		{ B("A"), 1 },
		{ B("\x7f"), 1 },
		{ B("\xC2\x80"), 2 },		  /* U+0080, the smallest 2-byte */
		{ B("\xDF\xBF"), 2 },		  /* U+07FF */
		{ B("\xE0\xA0\x80"), 3 },	  /* U+0800, the smallest 3-byte */
		{ B("\xED\x9F\xBF"), 3 },	  /* U+D7FF, just below the surrogates */
		{ B("\xEE\x80\x80"), 3 },	  /* U+E000, just above them */
		{ B("\xEF\xBF\xBD"), 3 },	  /* U+FFFD */
		{ B("\xEF\xBF\xBF"), 3 },	  /* U+FFFF */
		{ B("\xF0\x90\x80\x80"), 4 },	  /* U+10000 */
		{ B("\xF4\x8F\xBF\xBF"), 4 },	  /* U+10FFFF */
		{ B("\xC3\xA9zzz"), 2 },	  /* only the first sequence counts */
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		size_t got = utf8_seq_len((const unsigned char *)cases[i].b.s, cases[i].b.n);

		if (got != cases[i].len)
			fail_msg("case %zu: utf8_seq_len = %zu, want %zu", i, got, cases[i].len);
	}
}

static void test_seq_len_invalid(void **state)
{
	static const struct bytes cases[] = {
		B("\x80"),		/* a lone continuation byte */
		B("\xBF"),
		B("\xC0\x80"),		/* overlong NUL */
		B("\xC1\xBF"),		/* overlong U+007F */
		B("\xE0\x80\x80"),	/* overlong 3-byte */
		B("\xE0\x9F\xBF"),	/* overlong U+07FF */
		B("\xF0\x80\x80\x80"),	/* overlong 4-byte */
		B("\xF0\x8F\xBF\xBF"),	/* overlong U+FFFF */
		B("\xED\xA0\x80"),	/* U+D800, a surrogate */
		B("\xED\xBF\xBF"),	/* U+DFFF */
		B("\xF4\x90\x80\x80"),	/* U+110000 */
		B("\xF5\x80\x80\x80"),	/* lead bytes that can never start a sequence */
		B("\xF8\x88\x80\x80\x80"),
		B("\xFE"),
		B("\xFF"),
		B("\xC3"),		/* truncated */
		B("\xE2\x82"),
		B("\xF0\x9F\x98"),
		B("\xC3\x41"),		/* continuation replaced by ASCII */
		B("\xE2\x41\x82"),
		B("\xE2\x82\x41"),
		B("\xF0\x9F\x98\x41"),
		B("\xC3\xC3\xA9"),
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		size_t got = utf8_seq_len((const unsigned char *)cases[i].s, cases[i].n);

		if (got != 0)
			fail_msg("case %zu: utf8_seq_len = %zu, want 0", i, got);
	}
}

static void test_seq_len_respects_n(void **state)
{
	/* The bytes are there but @n says they are not available. */
	static const unsigned char euro[] = "\xE2\x82\xAC";

	(void)state;
	assert_int_equal(utf8_seq_len(euro, 3), 3);
	assert_int_equal(utf8_seq_len(euro, 2), 0);
	assert_int_equal(utf8_seq_len(euro, 1), 0);
}

static void test_valid(void **state)
{
	static const struct bytes cases[] = {
		B(""),
		B("hello"),
		B("\0"),
		B("a\0b"),
		B("caf\xC3\xA9"),
		B("\xE2\x82\xAC 5"),
		B("\xF0\x9F\x98\x80 grin"),
		B("\xF4\x8F\xBF\xBF"),
		B("\xED\x9F\xBF\xEE\x80\x80"),
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		size_t bad = 9999;

		if (!utf8_valid(cases[i].s, cases[i].n, &bad))
			fail_msg("case %zu: refused at %zu", i, bad);
		assert_int_equal(bad, 9999); /* untouched on success */
	}
	assert_true(utf8_valid("x", 1, NULL));
}

static void test_invalid_with_offset(void **state)
{
	static const struct {
		struct bytes b;
		size_t bad;
	} cases[] = {
		{ B("\x80"), 0 },
		{ B("abc\x80"), 3 },
		{ B("ab\xC0\x80"), 2 },
		{ B("x\xE0\x80\x80"), 1 },
		{ B("\xC3\xA9\xED\xA0\x80"), 2 },
		{ B("1234\xF4\x90\x80\x80"), 4 },
		{ B("ok\xE2\x82"), 2 },		   /* truncated at the end */
		{ B("\xF0\x9F\x98\x80\xF0\x9F\x98"), 4 },
		{ B("a\0b\xFF"), 3 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		size_t bad = 9999;

		if (utf8_valid(cases[i].b.s, cases[i].b.n, &bad))
			fail_msg("case %zu: accepted", i);
		if (bad != cases[i].bad)
			fail_msg("case %zu: bad offset %zu, want %zu", i, bad, cases[i].bad);
		assert_false(utf8_valid(cases[i].b.s, cases[i].b.n, NULL));
	}
}

static void test_sanitized_max(void **state)
{
	(void)state;
	assert_int_equal(utf8_sanitized_max(0), 0);
	/* Worst case: every byte is its own invalid subpart. */
	assert_true(utf8_sanitized_max(1) >= 3);
	assert_true(utf8_sanitized_max(100) >= 300);
}

static void check_sanitize(size_t i, struct bytes in, struct bytes want)
{
	char *out = malloc(utf8_sanitized_max(in.n) + 1);
	size_t len;

	assert_non_null(out);
	len = utf8_sanitize(in.s, in.n, out);
	if (len != want.n || memcmp(out, want.s, want.n) != 0)
		fail_msg("case %zu: sanitized to %zu bytes, want %zu", i, len, want.n);
	assert_int_equal(out[len], '\0');
	assert_true(len <= utf8_sanitized_max(in.n));
	assert_true(utf8_valid(out, len, NULL));
	free(out);
}

static void test_sanitize(void **state)
{
	static const struct {
		struct bytes in, want;
	} cases[] = {
		{ B(""), B("") },
		{ B("plain ascii"), B("plain ascii") },
		{ B("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), B("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") },
		{ B("a\0b"), B("a\0b") },			 /* NUL kept */
		{ B("\0\0"), B("\0\0") },
		{ B("a\xE0\xA0"), B("a" FFFD) },		 /* truncated: one maximal subpart */
		{ B("\xF0\x90\x80\x41"), B(FFFD "A") },
		{ B("\xC0\x80"), B(FFFD FFFD) },		 /* C0 is never valid */
		{ B("\xE0\x80\x80"), B(FFFD FFFD FFFD) },	 /* overlong: E0 80 breaks at 80 */
		{ B("\xED\xA0\x80"), B(FFFD FFFD FFFD) },	 /* surrogate */
		{ B("\xF4\x90\x80\x80"), B(FFFD FFFD FFFD FFFD) }, /* > U+10FFFF */
		{ B("\xF5\x80"), B(FFFD FFFD) },
		{ B("\x80\x80\x80"), B(FFFD FFFD FFFD) },
		{ B("\xFF"), B(FFFD) },
		{ B("\xC3"), B(FFFD) },
		{ B("\xC3\x41"), B(FFFD "A") },
		{ B("\xE2\x82\x41"), B(FFFD "A") },
		{ B("\xE2\x41\x82"), B(FFFD "A" FFFD) },
		{ B("\xF0\x9F\x98"), B(FFFD) },
		{ B("\xF0\x9F\x98\xF0\x9F\x98\x80"), B(FFFD "\xF0\x9F\x98\x80") },
		{ B("x\xC3\xC3\xA9y"), B("x" FFFD "\xC3\xA9y") },
		{ B("\xE0\xA0\0"), B(FFFD "\0") },
		/* The Unicode 6.0 / WHATWG example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
		{ B("a\xF1\x80\x80\xE1\x80\xC2" "b\x80" "c\x80\xBF" "d"),
		  B("a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d") },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		check_sanitize(i, cases[i].in, cases[i].want);
}

static void test_sanitize_all_invalid_worst_case(void **state)
{
	char in[256], *out = malloc(utf8_sanitized_max(sizeof(in)) + 1);
	size_t len;

	(void)state;
	assert_non_null(out);
	memset(in, 0x80, sizeof(in));
	len = utf8_sanitize(in, sizeof(in), out);
	assert_int_equal(len, 3 * sizeof(in));
	for (size_t i = 0; i < sizeof(in); i++)
		assert_memory_equal(out + 3 * i, FFFD, 3);
	free(out);
}

static void test_trim_cut(void **state)
{
	static const struct {
		const char *s;
		size_t n, want;
	} cases[] = {
	    {"abc", 3, 3},
	    {"ab\xC3", 3, 2},	      /* é cut after its lead byte */
	    {"ab\xC3\xA9", 4, 4},	      /* é whole */
	    {"a\xE2\x82", 3, 1},	      /* € cut after two of three bytes */
	    {"a\xE2", 2, 1},		      /* ... after one */
	    {"\xF0\x9F\x98", 3, 0},   /* an emoji cut after three of four */
	    {"\xF0\x9F\x98\x80", 4, 4}, /* whole */
	    {"a\xFF", 2, 2},		      /* not a cut: invalid, sanitised as usual */
	    {"a\xE0\x80", 3, 3},	      /* an invalid second byte: not a cut either */
	    {"a\x80\x80\x80", 4, 4},     /* continuation bytes without a lead */
	    {"", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(utf8_trim_cut(cases[i].s, cases[i].n), cases[i].want);
}

static void test_sanitize_every_single_byte(void **state)
{
	char out[8];

	(void)state;
	for (int c = 0; c < 256; c++) {
		char in = (char)c;
		size_t len = utf8_sanitize(&in, 1, out);

		if (c < 0x80) {
			assert_int_equal(len, 1);
			assert_int_equal((unsigned char)out[0], c);
		} else {
			assert_int_equal(len, 3);
			assert_memory_equal(out, FFFD, 3);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_len_valid),
		cmocka_unit_test(test_seq_len_invalid),
		cmocka_unit_test(test_seq_len_respects_n),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid_with_offset),
		cmocka_unit_test(test_sanitized_max),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_all_invalid_worst_case),
		cmocka_unit_test(test_sanitize_every_single_byte),
		cmocka_unit_test(test_trim_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
