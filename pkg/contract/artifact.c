/*
 * artifact: releasing a collected list (see artifact.h).
 */
#include "contract/artifact.h"

#include <stdlib.h>
#include <string.h>

void artifact_list_free(struct artifact_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].data);
		free(l->items[i].path);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
