/*
 * sha512: SHA-512 (FIPS 180-4), written for runbox.
 *
 * npm records a tarball's integrity as "sha512-" and the standard base64
 * of its SHA-512 (Subresource Integrity); `runbox bake` checks each npm
 * tarball against the one a package-lock.json gives.  Pure: no system
 * calls, no allocation.
 */
#ifndef RUNBOX_SHA512_H
#define RUNBOX_SHA512_H

#include <stddef.h>
#include <stdint.h>

#define SHA512_DIGEST_LEN 64

struct sha512 {
	uint64_t h[8];
	uint64_t len;	    /* bytes fed so far (tarballs stay far below 2^61) */
	uint8_t block[128]; /* a partial block */
	size_t fill;	    /* bytes in block */
};

void sha512_init(struct sha512 *s);
void sha512_update(struct sha512 *s, const void *data, size_t len);
/* Finish and write the digest; @s must be initialised again before reuse. */
void sha512_final(struct sha512 *s, uint8_t out[SHA512_DIGEST_LEN]);

#endif
