/*
 * pyprobe: ask the configured interpreter a question and read its answer as
 * JSON (the installed distributions, the marker environment of a bake).
 * The interpreter runs isolated (-I), with a fixed minimal environment and
 * /dev/null as stdin; its stdout is read up to 64 MiB.
 */
#ifndef RUNBOX_PYPROBE_H
#define RUNBOX_PYPROBE_H

#include <cjson/cJSON.h>

#include "base/err.h"

/*
 * Python source defining version_of(d): the version a program sees of an
 * installed distribution @d (importlib.metadata's).  Where that is the
 * placeholder 0.0.0 (Debian builds kiwisolver and mpmath without the
 * version their build tools would have written), the version its
 * top-level module reports (__version__) instead, as `import kiwisolver;
 * kiwisolver.__version__` tells a program: only then is anything
 * imported, its output kept out of the probe's answer.
 */
#define PYPROBE_VERSION_OF                                                                         \
	"import contextlib, importlib, io\n"                                                       \
	"def version_of(d):\n"                                                                     \
	"    v = d.version\n"                                                                      \
	"    if v not in ('0.0.0', '0.0', '0'):\n"                                                 \
	"        return v\n"                                                                       \
	"    for top in (d.read_text('top_level.txt') or '').split():\n"                           \
	"        try:\n"                                                                           \
	"            with contextlib.redirect_stdout(io.StringIO()):\n"                            \
	"                mv = getattr(importlib.import_module(top), '__version__', None)\n"        \
	"        except BaseException:\n"                                                          \
	"            continue\n"                                                                   \
	"        if isinstance(mv, str) and mv and mv[0].isdigit():\n"                             \
	"            return mv\n"                                                                  \
	"    return v\n"

/*
 * Run `@python -I -c @program` and parse what it prints.  Returns 0 with
 * *ret (caller frees with cJSON_Delete), or a runbox fault when it cannot
 * start (invalid_config naming RUNBOX_PYTHON and exec's reason), fails or
 * prints something that is not JSON.
 */
int pyprobe_json(const char *python, const char *program, cJSON **ret, struct rb_err *err);

#endif
