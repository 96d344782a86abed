/*
 * artifact: the files a program left in ./output/, as the contract carries
 * them: a path, its bytes, or the reason it was left out.  run/artifacts.h
 * collects them; contract/response.h encodes them.
 */
#ifndef RUNBOX_ARTIFACT_H
#define RUNBOX_ARTIFACT_H

#include <stddef.h>

struct artifact {
	char *path;	     /* relative, '/'-separated, malloc'd */
	unsigned char *data; /* NULL when omitted */
	size_t size;
	const char *omitted; /* reason, or NULL when included */
};

struct artifact_list {
	struct artifact *items; /* sorted by path */
	size_t n;
};

/* Free every item and its bytes, and zero @l (idempotent). */
void artifact_list_free(struct artifact_list *l);

#endif
