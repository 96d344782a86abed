/*
 * prefault: prefaulted large buffers (see prefault.h).
 */
#define _GNU_SOURCE
#include "base/prefault.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; bookworm's headers may lack it */
#endif

#define HUGE_BYTES ((uintptr_t)2 << 20)

/* Only whole pages inside the range: a neighbour (malloc's header) is left alone. */
static bool inner_pages(const void *p, size_t size, uintptr_t *start, uintptr_t *end)
{
	uintptr_t page = (uintptr_t)getpagesize();

	*start = ((uintptr_t)p + page - 1) & ~(page - 1);
	*end = ((uintptr_t)p + size) & ~(page - 1);
	return *end > *start;
}

void prefault_pages(void *p, size_t size)
{
	uintptr_t start, end;

	/* A hint: a kernel without MADV_POPULATE_WRITE faults as usual. */
	if (inner_pages(p, size, &start, &end))
		madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

void prefault_stack(size_t size)
{
	char here;
	uintptr_t top = (uintptr_t)&here & ~((uintptr_t)getpagesize() - 1);

	madvise((void *)(top - size), size, MADV_POPULATE_WRITE);
}

void *prefault_alloc(size_t size)
{
	char *p = malloc(size ? size : 1);
	uintptr_t start, end, hs, he;

	if (!p || size < BIGMEM_MIN_BYTES || !inner_pages(p, size, &start, &end))
		return p;
	hs = (start + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
	he = end & ~(HUGE_BYTES - 1);
	/* Hints only: a kernel without THP faults in small pages. */
	if (he > hs)
		madvise((void *)hs, he - hs, MADV_HUGEPAGE);
	madvise((void *)start, end - start, MADV_POPULATE_WRITE);
	return p;
}
