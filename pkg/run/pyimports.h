/*
 * pyimports: which top-level modules a Python source imports, read from
 * its text: `import a.b, c as d`, `from a.b import x` (not relative ones),
 * and a literal name given to __import__() or importlib.import_module().
 * Statements on one line with `;`, continued lines and indented blocks
 * count; comments and the text of strings do not.  Pure: it picks which
 * warm template a program starts in, so a name it misses only costs that
 * program the import it would have paid cold, and a name it finds wrongly
 * only a larger template to copy.
 */
#ifndef RUNBOX_PYIMPORTS_H
#define RUNBOX_PYIMPORTS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Call @fn(@name, @len, @ctx) for each top-level module name @src (of @n
 * bytes) imports, in order (a name may come more than once); stop and
 * return true as soon as @fn returns true, else return false.
 */
bool pyimports_each(const char *src, size_t n, bool (*fn)(const char *name, size_t len, void *ctx),
		    void *ctx);

#endif
