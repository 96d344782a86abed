/*
 * wheelreqs: Requires-Python and Requires-Dist per extra (see wheelreqs.h).
 */
#define _GNU_SOURCE
#include "deps/wheelreqs.h"

#include <stdio.h>
#include <string.h>

#include "deps/requirement.h"

/* The requirements whose marker holds for @extra ("" outside any extra). */
static int requires_for(const struct marker_env *base, const struct wheelmeta *m, const char *extra,
			bool only_extra, cJSON *out, struct rb_err *err)
{
	struct marker_env env = *base;

	for (size_t i = 0; i < m->n_requires; i++) {
		const struct wheelmeta_require *q = &m->requires[i];
		struct requirement rq;
		char canon[REQUIREMENT_FORMAT_MAX], why[sizeof(err->msg)];
		int with, without = 0;

		env.extra = extra;
		with = q->marker[0] ? marker_eval(q->marker, &env, err) : 1;
		env.extra = "";
		if (with > 0 && only_extra && q->marker[0])
			without = marker_eval(q->marker, &env, err);
		if (with < 0 || without < 0) {
			snprintf(why, sizeof(why), "%s", err->msg); /* not read while written */
			return rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_bad_metadata", NULL,
				       "Requires-Dist '%.200s; %.200s': %s", q->req, q->marker,
				       why);
		}
		if (!with || without || (only_extra && !q->marker[0]))
			continue;
		if (requirement_parse(q->req, NULL, &rq, err) < 0) {
			snprintf(why, sizeof(why), "%s", err->msg);
			return rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_bad_metadata", NULL,
				       "Requires-Dist '%.200s' cannot be served from a cache: %s",
				       q->req, why);
		}
		requirement_format(&rq, canon, sizeof(canon));
		cJSON_AddItemToArray(out, cJSON_CreateString(canon));
	}
	return 0;
}

static int python_fits(const struct marker_env *env, const struct wheelmeta *m, struct rb_err *err)
{
	struct version_specset set;
	struct version v;

	if (!m->requires_python[0])
		return 0;
	if (version_specset_parse(m->requires_python, NULL, &set, err) < 0 ||
	    version_parse(env->python_full_version, &v) < 0 ||
	    !version_specset_matches(&set, &v, true))
		return rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_incompatible", NULL,
			       "Requires-Python '%s' does not admit Python %s", m->requires_python,
			       env->python_full_version);
	return 0;
}

int wheelreqs_describe(const struct wheelmeta *m, const struct marker_env *env, cJSON *entry,
		       struct rb_err *err)
{
	cJSON *req = cJSON_AddArrayToObject(entry, "requires");
	cJSON *extras = cJSON_AddObjectToObject(entry, "extras");
	char ename[REQUIREMENT_MAX_LEN + 1];
	int r = python_fits(env, m, err);

	if (r >= 0)
		r = requires_for(env, m, "", false, req, err);
	for (size_t i = 0; r >= 0 && i < m->n_extras; i++) {
		requirement_normalize_name(m->extras[i], ename, sizeof(ename));
		if (!requirement_valid_name(m->extras[i]) ||
		    cJSON_GetObjectItemCaseSensitive(extras, ename))
			continue;
		r = requires_for(env, m, ename, true, cJSON_AddArrayToObject(extras, ename), err);
	}
	return r;
}
