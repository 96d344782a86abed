/*
 * prefault: memory written whole soon after it is mapped: buffers of
 * megabytes (an artifact read from the workspace, its base64, the printed
 * answer), and the few pages of a run's plan and stacks.
 *
 * On the VMs runbox runs on, every fresh 4 KiB page costs a fault of a few
 * microseconds: filling 8 MiB of new memory page by page took 21 ms here,
 * a large share of what a 5 MiB artifact costs.  These buffers are
 * prefaulted in one call, with transparent huge pages asked for where the
 * kernel offers them (0.3 ms for the same 8 MiB).
 */
#ifndef RUNBOX_PREFAULT_H
#define RUNBOX_PREFAULT_H

#include <stddef.h>

/* Below this, malloc() alone: the hints would cost more than the faults. */
#define BIGMEM_MIN_BYTES ((size_t)1 << 20)

/*
 * malloc(@size), prefaulted when it is at least BIGMEM_MIN_BYTES; the
 * caller will write all of it.  Freed with free().  NULL with errno ENOMEM.
 */
void *prefault_alloc(size_t size);

/*
 * Fault in the whole pages inside [@p, @p + @size) in one system call,
 * about a quarter of what faulting them one by one costs here, for memory
 * the caller is about to write: a large struct, the top of a stack.  A hint:
 * nothing happens where the kernel has no MADV_POPULATE_WRITE.
 */
void prefault_pages(void *p, size_t size);

/*
 * The same for @size bytes of the calling thread's stack below the caller's
 * frame, which must lie within the stack's mapping (the kernel maps 128 KiB
 * of a new process's stack at exec).
 */
void prefault_stack(size_t size);

#endif
