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
 * Run `@python -I -c @program` and parse what it prints.  Returns 0 with
 * *ret (caller frees with cJSON_Delete), or a runbox fault when it cannot
 * start, fails or prints something that is not JSON.
 */
int pyprobe_json(const char *python, const char *program, cJSON **ret, struct rb_err *err);

#endif
