/*
 * Unit tests for pkg/bigmem: every size gives memory that holds what is
 * written to all of it, below the threshold, at it and across unaligned
 * megabytes (the hints must never cover malloc's own bookkeeping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bigmem.h"

static void fill_and_check(size_t size)
{
	unsigned char *p = bigmem_alloc(size);

	assert_non_null(p);
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 31 + 7);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(p[i], (unsigned char)(i * 31 + 7));
	free(p);
}

static void test_sizes(void **state)
{
	const size_t sizes[] = { 0, 1, 4095, 65536, BIGMEM_MIN_BYTES - 1, BIGMEM_MIN_BYTES,
				 (3u << 20) + 5, (5u << 20) + 4097 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		fill_and_check(sizes[i]);
}

/* Big and small allocations interleaved: the heap stays consistent. */
static void test_interleaved(void **state)
{
	void *small[16], *big[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		big[i] = bigmem_alloc((2u << 20) + (size_t)i * 4099);
		assert_non_null(big[i]);
		memset(big[i], 0xa5, (2u << 20) + (size_t)i * 4099);
		for (int j = 0; j < 4; j++) {
			small[i * 4 + j] = malloc(100 + (size_t)j);
			assert_non_null(small[i * 4 + j]);
		}
	}
	for (int i = 0; i < 4; i++)
		free(big[i]);
	for (int i = 0; i < 16; i++)
		free(small[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_interleaved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
