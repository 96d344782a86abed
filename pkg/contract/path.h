/*
 * path: validation and normalisation of the relative paths a request names
 * (keys of "files" and "context", "entry_point").  Pure functions.
 */
#ifndef RUNBOX_PATH_H
#define RUNBOX_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define PATH_MAX_BYTES	 1024
#define PATH_MAX_SEGMENT 255
#define PATH_MAX_DEPTH	 16

/*
 * Normalise @in (a '\' is read as '/') into @out (PATH_MAX_BYTES + 1 bytes)
 * and validate it: relative, valid UTF-8, no empty, "." or ".." segment, no
 * control character, segment and total length and depth within bounds.
 * Returns 0, or -1 with a reason (a static string naming the rule) in
 * *ret_reason.
 */
int path_normalize(const char *in, size_t n, char *out, const char **ret_reason);

/*
 * As path_normalize, but for a name the file system made: a '\\' is a
 * character of the name, never a separator ("x" and "x\\y" are two files
 * of one directory).
 */
int path_check_literal(const char *in, size_t n, char *out, const char **ret_reason);

/* Number of '/'-separated segments of a normalised path. */
unsigned path_depth(const char *p);

/* True when normalised @prefix is a proper directory prefix of @p ("a" of "a/b"). */
bool path_is_dir_prefix(const char *prefix, const char *p);

/* The first segment of normalised @p equals @seg. */
bool path_first_segment_is(const char *p, const char *seg);

#endif
