/*
 * utf8: validation and sanitising of byte strings, pure functions.
 */
#ifndef RUNBOX_UTF8_H
#define RUNBOX_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length of the valid UTF-8 sequence at @s (at most @n bytes available), or
 * 0 when it is not valid (overlong forms, surrogates, > U+10FFFF refused).
 */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* True when all @n bytes are valid UTF-8; *ret_bad_offset is set when not. */
bool utf8_valid(const char *s, size_t n, size_t *ret_bad_offset);

/*
 * @n, less a valid but unfinished sequence at the very end: where a cap cut
 * a character in two, its first bytes are dropped rather than turned into
 * U+FFFD (which would also make the text longer than the cap).
 */
size_t utf8_trim_cut(const char *s, size_t n);

/* Upper bound of the sanitised size of @n bytes. */
size_t utf8_sanitized_max(size_t n);

/*
 * Copy @n bytes of @in to @out, replacing each maximal invalid subpart with
 * U+FFFD, and NUL-terminate.  @out holds utf8_sanitized_max(n) + 1 bytes.
 * NUL bytes are kept (JSON escapes them).  Returns the length written.
 */
size_t utf8_sanitize(const char *in, size_t n, char *out);

#endif
