/*
 * npmbake: turn a directory of npm package tarballs (`npm pack` output)
 * into the npm cache runbox serves JavaScript dependencies from, the
 * counterpart of the wheel cache (`runbox bake`), and list it.
 *
 * Each .tgz of TARBALL_DIR is checked (npmtar.h: paths, links, sizes, bombs,
 * package.json's name and version) and, when TARBALL_DIR holds a
 * package-lock.json that names the package at that version, against the
 * lock's sha512 `integrity`.  It is extracted once into
 * CACHE_DIR/npm/pkgs/<name>@<version>/ (files read-only) through a
 * temporary directory and a rename; a package already there with the same
 * sha512 is kept as it is.  Install scripts are recorded, never run.
 * CACHE_DIR/npm/index.json, written through a temporary file and a rename
 * and only when its content changes, lists exactly this bake's packages;
 * trees of packages no longer listed are removed.
 */
#ifndef RUNBOX_NPMBAKE_H
#define RUNBOX_NPMBAKE_H

#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"
#include "deps/npmtar.h"

struct npmbake_opts {
	const char *tar_dir;
	const char *cache_dir;
	/* Comma-separated names every JavaScript run gets without asking; NULL: none. */
	const char *preinstall;
	struct npmtar_limits limits;
	FILE *out;  /* the table of what was baked and skipped */
	FILE *note; /* warnings for the operator (stderr) */
};

/*
 * Bake.  Tarballs that fail a check are skipped (listed with a code and
 * reason in the table and in index.json's "skipped"); that is not an error.
 * Returns the number skipped (>= 0), or a runbox fault: an unreadable
 * TARBALL_DIR or package-lock.json, an unwritable CACHE_DIR, a name in
 * @preinstall that no tarball provides.
 */
int npmbake_run(const struct npmbake_opts *o, struct rb_err *err);

/* Print the table of a baked npm cache; 0 printed, 1 no npm cache, or a fault. */
int npmbake_list(const char *cache_dir, FILE *out, struct rb_err *err);

/* Whether @dir holds a *.tgz file (what `runbox bake` bakes as npm packages). */
bool npmbake_has_tarballs(const char *dir);

#endif
