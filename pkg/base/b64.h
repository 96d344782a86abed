/*
 * b64: standard-alphabet base64 (RFC 4648 section 4), pure functions.
 */
#ifndef RUNBOX_B64_H
#define RUNBOX_B64_H

#include <stddef.h>

/* Bytes needed to encode @n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n);

/* Encode @n bytes of @in into @out (b64_encoded_len(n) + 1 bytes). */
void b64_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decode @in (@n bytes).  Padding is optional and CR/LF are skipped; any
 * other byte outside the alphabet, misplaced padding or a dangling single
 * character is an error.  @out must hold n / 4 * 3 + 3 bytes.  Returns the
 * decoded length, or -1 with *ret_bad_offset set to the offending byte.
 */
long b64_decode(const char *in, size_t n, unsigned char *out, size_t *ret_bad_offset);

#endif
