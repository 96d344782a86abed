/*
 * deps: turn a request's "dependencies" into what the program can import.
 *
 * Each requirement is parsed (requirement.h) and satisfied by a package the
 * interpreter already has, when its installed version matches.  The result
 * lists what was used and, for packages served from a wheel cache, the
 * directories to put on the program's import path.
 */
#ifndef RUNBOX_DEPS_H
#define RUNBOX_DEPS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

struct deps_used {
	char name[201];
	char version[80];
	char path[512]; /* "" when pre-installed */
};

struct deps_result {
	struct deps_used *used;
	size_t n;
};

/*
 * Resolve @n requirement strings for the interpreter @python.  Refusals are
 * request faults with codes invalid_dependency, duplicate_dependency,
 * dependency_not_found and dependency_conflict.
 */
int deps_resolve(const char *python, const char *const *reqs, size_t n,
		 struct deps_result *ret, struct rb_err *err);

/*
 * The interpreter's version and its installed distributions as
 * {"normalised-name": "version"}, asked once per process and cached (a
 * process that forks workers asks first, and every worker inherits it).
 * The results stay owned by deps; never free them.
 */
int deps_installed(const char *python, const cJSON **ret_packages, const char **ret_version,
		   struct rb_err *err);

/* Write the ':'-joined import path into @buf; returns its length (0: none). */
size_t deps_pythonpath(const struct deps_result *r, char *buf, size_t size);

/* [{"name", "version"}, ...] */
cJSON *deps_result_to_json(const struct deps_result *r);

void deps_result_free(struct deps_result *r);

#endif
