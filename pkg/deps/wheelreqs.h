/*
 * wheelreqs: what a wheel needs, from its METADATA, for one interpreter:
 * Requires-Python checked, and Requires-Dist with their markers evaluated
 * once for the base package and once per extra, in the form the wheel
 * cache's index stores ("requires": [...], "extras": {"x": [...]}).  Used by
 * `runbox bake` and for wheels found on a package index.  Pure.
 */
#ifndef RUNBOX_WHEELREQS_H
#define RUNBOX_WHEELREQS_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/wheelmeta.h"

/*
 * Add "requires" and "extras" to @entry.  A Requires-Python that does not
 * admit @env's python_full_version is RB_FAULT_REQUEST "wheel_incompatible";
 * a marker or requirement runbox cannot serve is "wheel_bad_metadata".
 */
int wheelreqs_describe(const struct wheelmeta *m, const struct marker_env *env, cJSON *entry,
		       struct rb_err *err);

#endif
