/*
 * sha256: SHA-256 (FIPS 180-4), written for runbox.
 *
 * The static binary has no libcrypto; the wheel cache needs SHA-256 only to
 * check each file of a wheel against its RECORD (the hashes there are
 * urlsafe base64 without padding, see sha256_b64url()), name a file
 * session by its id, and authenticate a client-kept state (HMAC).  Pure: no system
 * calls, no allocation.
 */
#ifndef RUNBOX_SHA256_H
#define RUNBOX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_B64URL_LEN 43 /* urlsafe base64 of a digest, no '=' padding */

struct sha256 {
	uint32_t h[8];
	uint64_t len;	   /* bytes fed so far */
	uint8_t block[64]; /* a partial block */
	size_t fill;	   /* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Finish and write the digest; @s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST_LEN]);

/* HMAC-SHA-256 (RFC 2104) of @n bytes of @data under @key (@key_len bytes, any length). */
void sha256_hmac(const void *key, size_t key_len, const void *data, size_t n,
		 uint8_t out[SHA256_DIGEST_LEN]);

/* Compare two digests in time independent of where they differ; true when equal. */
int sha256_equal(const uint8_t a[SHA256_DIGEST_LEN], const uint8_t b[SHA256_DIGEST_LEN]);

/* The digest as RECORD spells it: urlsafe base64, no padding, NUL-terminated. */
void sha256_b64url(const uint8_t digest[SHA256_DIGEST_LEN], char out[SHA256_B64URL_LEN + 1]);

#endif
