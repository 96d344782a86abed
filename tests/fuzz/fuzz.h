/*
 * What every fuzz target shares: libFuzzer's entry point and CHECK, which
 * turns a broken invariant into a crash libFuzzer records.
 */
#ifndef RUNBOX_FUZZ_H
#define RUNBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

#endif
