/*
 * wheel: read one wheel (a zip) with libarchive, check every entry before
 * trusting it, and extract it into a directory through dirfds.
 *
 * Checks, each a refusal with its own code (RB_FAULT_REQUEST):
 *  - wheel_corrupt: libarchive cannot read it as a zip;
 *  - wheel_unsafe_path: an absolute path, a ".." or empty segment, a
 *    backslash or control character in an entry name;
 *  - wheel_special_entry: a symlink, hardlink, device, fifo or socket
 *    entry, or a setuid/setgid/sticky bit;
 *  - wheel_too_large: more entries than max_entries, an entry over
 *    max_entry_bytes, all entries over max_total_bytes;
 *  - wheel_zip_bomb: more than max_ratio uncompressed bytes per byte of
 *    the wheel file (past the first MiB);
 *  - wheel_duplicate_entry: two entries that land on the same path;
 *  - wheel_record_mismatch: RECORD missing, a file not in RECORD or with
 *    another sha256 or size, RECORD listing a file the wheel lacks;
 *  - wheel_bad_metadata: no single <name>.dist-info with METADATA, or
 *    METADATA that does not parse (wheelmeta.h);
 *  - wheel_metadata_mismatch: METADATA's Name or Version is not the file
 *    name's.
 * "<dist>.data/purelib/" and "platlib/" are mapped to the tree's root;
 * "scripts", "headers" and "data" are checked but not extracted.  Files are
 * written 0444 (0555 when the wheel marks them executable).
 */
#ifndef RUNBOX_WHEEL_H
#define RUNBOX_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "deps/wheelname.h"

struct wheel_limits {
	size_t max_entries;
	uint64_t max_entry_bytes;
	uint64_t max_total_bytes;
	unsigned max_ratio;
	/*
	 * Sorted top-level module names no entry may claim (the standard
	 * library's: the trees come before it on the import path), or NULL.
	 */
	const char *const *reserved;
	size_t n_reserved;
};

/* 20000 entries, 512 MiB per entry, 2 GiB in all, ratio 200, nothing reserved. */
void wheel_limits_default(struct wheel_limits *ret);

struct wheel_info {
	char *metadata; /* METADATA's text, NUL-terminated; free() it */
	size_t metadata_len;
	size_t files;	/* regular files in the wheel */
	uint64_t bytes; /* their uncompressed size */
};

/*
 * Check the wheel open on @wheel_fd (a regular file, read from offset 0)
 * whose file name parsed as @wn; when @dest_fd >= 0 also extract it into
 * that (empty) directory.  On failure @dest_fd may hold a partial tree: the
 * caller removes it.  @ret is filled only on success.
 */
int wheel_extract(int wheel_fd, const struct wheel_name *wn, int dest_fd,
		  const struct wheel_limits *lim, struct wheel_info *ret, struct rb_err *err);

#endif
