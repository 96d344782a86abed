/*
 * target: what the configured interpreter is, for choosing and checking
 * wheels: its PEP 508 marker environment, its glibc, its standard
 * library's module names (which no wheel may shadow) and its pre-installed
 * distributions.  Asked once (pyprobe.h) by `runbox bake`, and by runbox
 * the first time it consults a package index, which keeps the answer in
 * its state directory for as long as the interpreter file is unchanged.
 */
#ifndef RUNBOX_TARGET_H
#define RUNBOX_TARGET_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "deps/wheelmeta.h"
#include "deps/wheelname.h"

struct target {
	cJSON *json;		/* the interpreter's answer; every string below points into it */
	struct marker_env env;	/* env.extra is "" */
	struct wheel_target wt; /* tags */
	const char **stdlib;	/* sorted */
	size_t n_stdlib;
	const cJSON *preinstalled; /* {"normalised-name": "version"} */
};

/* Ask @python.  Release with target_free(). */
int target_probe(const char *python, struct target *ret, struct rb_err *err);

/*
 * As target_probe(), but reuse @state_fd/@name when it was written for the
 * same interpreter file (path, inode, size, mtime), and write it otherwise
 * (through a temporary file and a rename).
 */
int target_cached(const char *python, int state_fd, const char *name, struct target *ret,
		  struct rb_err *err);

void target_free(struct target *t);

#endif
