/*
 * jsonscan: a bounded pre-pass over an untrusted JSON body.
 *
 * cJSON builds a tree of ~64-byte nodes, keeps only NUL-terminated strings
 * and has no notion of duplicate keys.  Before handing it a body we check, in
 * one pass with no allocation, everything that would make that unsafe or
 * ambiguous: syntax (RFC 8259), nesting depth, number of values, invalid
 * UTF-8, "\u0000" escapes and unpaired surrogates.  Duplicate keys are found
 * afterwards on the tree (jsonscan_find_duplicate).  Pure functions.
 */
#ifndef RUNBOX_JSONSCAN_H
#define RUNBOX_JSONSCAN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

struct jsonscan_limits {
	unsigned max_depth;
	size_t max_values;
};

/*
 * Check @n bytes at @s.  On failure fills @err with a request fault and one of
 * the codes invalid_json, invalid_utf8, nul_in_string, nesting_too_deep,
 * too_many_values, not_an_object (the top-level value must be an object).
 */
int jsonscan_check(const char *s, size_t n, const struct jsonscan_limits *lim, struct rb_err *err);

/*
 * Find a key that appears twice in one object anywhere in @root.  Returns 1
 * and writes the dotted path of the duplicate ("env.A") into @ret_path, or 0.
 */
int jsonscan_find_duplicate(const cJSON *root, char *ret_path, size_t size);

#endif
