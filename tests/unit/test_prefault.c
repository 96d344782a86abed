/*
 * Unit tests for pkg/base/prefault: every size gives memory that holds what is
 * written to all of it, below the threshold, at it and across unaligned
 * megabytes (the hints must never cover malloc's own bookkeeping); a
 * prefault covers exactly the whole pages inside its range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/prefault.h"

static void fill_and_check(size_t size)
{
	unsigned char *p = prefault_alloc(size);

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
		big[i] = prefault_alloc((2u << 20) + (size_t)i * 4099);
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

/*
 * prefault_pages() makes the whole pages inside its range resident (where
 * the kernel has MADV_POPULATE_WRITE) and leaves the partial pages at its
 * ends alone: they may belong to a neighbour.
 */
static void test_prefault_whole_pages_only(void **state)
{
	const size_t page = (size_t)getpagesize(), n = 16;
	unsigned char *m = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char vec[16];

	(void)state;
	assert_true(m != MAP_FAILED);
	if (madvise(m, page, MADV_POPULATE_WRITE) < 0) {
		munmap(m, n * page);
		skip(); /* a kernel before 5.14 */
	}
	munmap(m, n * page);
	m = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	prefault_pages(m + 100, 10 * page); /* whole pages 1..9 inside */
	assert_int_equal(mincore(m, n * page, vec), 0);
	assert_false(vec[0] & 1);
	for (size_t i = 1; i < 10; i++)
		assert_true(vec[i] & 1);
	assert_false(vec[10] & 1);
	for (size_t i = 0; i < n * page; i++)
		assert_int_equal(m[i], 0);
	munmap(m, n * page);
}

/* Prefaulting the stack below the caller leaves the caller's frame intact. */
static void test_prefault_stack(void **state)
{
	volatile char frame[256];

	(void)state;
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (char)i;
	prefault_stack(48 * 1024);
	for (size_t i = 0; i < sizeof(frame); i++)
		assert_int_equal(frame[i], (char)i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_prefault_whole_pages_only),
		cmocka_unit_test(test_prefault_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
