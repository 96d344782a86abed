/*
 * npmtar: read one npm package tarball (`npm pack` output: a gzip'd tar
 * whose entries share one top directory, "package/") with libarchive,
 * check every entry before trusting it, and extract it through dirfds with
 * the top directory stripped, as npm does.
 *
 * Checks, each a refusal with its own code (RB_FAULT_REQUEST):
 *  - npm_corrupt: libarchive cannot read it as a (gzip'd) tar;
 *  - npm_unsafe_path: an absolute path, a ".." or empty segment, a
 *    backslash or control character in an entry name;
 *  - npm_special_entry: a symlink, hardlink, device, fifo or socket entry,
 *    or a setuid/setgid/sticky bit (npm pack never writes them);
 *  - npm_too_large: more entries than max_entries, an entry over
 *    max_entry_bytes, all entries over max_total_bytes;
 *  - npm_bomb: more than max_ratio uncompressed bytes per byte of the
 *    tarball (past the first MiB);
 *  - npm_duplicate_entry: two entries that land on the same path;
 *  - npm_bad_package: entries under more than one top directory, no
 *    package.json there, or one whose name or version is not npm's.
 * Files are written 0444 (0555 when executable), directories 0755.
 */
#ifndef RUNBOX_NPMTAR_H
#define RUNBOX_NPMTAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"

struct npmtar_limits {
	size_t max_entries;
	uint64_t max_entry_bytes;
	uint64_t max_total_bytes;
	unsigned max_ratio;
};

/* 20000 entries, 256 MiB per entry, 1 GiB in all, ratio 200. */
void npmtar_limits_default(struct npmtar_limits *ret);

struct npmtar_info {
	cJSON *package;		    /* package.json, parsed; cJSON_Delete() it */
	const char *name, *version; /* in @package */
	size_t files;		    /* regular files */
	uint64_t bytes;		    /* their size */
	/*
	 * The install scripts npm would run (preinstall, install, postinstall,
	 * or a binding.gyp's implicit `node-gyp rebuild`), comma-separated;
	 * "" for none.  runbox never runs them.
	 */
	char install_scripts[64];
};

/*
 * Check the tarball open on @tar_fd (a regular file, read from offset 0);
 * when @dest_fd >= 0 also extract it into that (empty) directory.  On
 * failure @dest_fd may hold a partial tree: the caller removes it.  @ret
 * is filled only on success.
 */
int npmtar_extract(int tar_fd, int dest_fd, const struct npmtar_limits *lim,
		   struct npmtar_info *ret, struct rb_err *err);

#endif
