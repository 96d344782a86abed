/*
 * bigmem: prefaulted large buffers (see bigmem.h).
 */
#define _GNU_SOURCE
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; bookworm's headers may lack it */
#endif

#define HUGE_BYTES ((uintptr_t)2 << 20)

void *bigmem_alloc(size_t size)
{
	char *p = malloc(size ? size : 1);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start, end, hs, he;

	if (!p || size < BIGMEM_MIN_BYTES)
		return p;
	/* Only whole pages inside the allocation: malloc's own header stays untouched. */
	start = ((uintptr_t)p + page - 1) & ~(page - 1);
	end = ((uintptr_t)p + size) & ~(page - 1);
	if (end <= start)
		return p;
	hs = (start + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
	he = end & ~(HUGE_BYTES - 1);
	/* Hints only: a kernel without THP or MADV_POPULATE_WRITE faults as usual. */
	if (he > hs)
		madvise((void *)hs, he - hs, MADV_HUGEPAGE);
	madvise((void *)start, end - start, MADV_POPULATE_WRITE);
	return p;
}
