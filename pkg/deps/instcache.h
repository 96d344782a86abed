/*
 * instcache: the per-instance cache of wheels fetched from a package index,
 * below RUNBOX_STATE_DIR/index/:
 *
 *   index.json    what was fetched, in the wheel cache's format (wheelcache.h)
 *                 plus each file's URL and sha256; written under index.lock
 *   target.json   the interpreter's description (target.h)
 *   pages/        project pages, kept for RUNBOX_INDEX_TTL_S
 *   site/<name>-<version>-<sha256 prefix>/   the trees (unpack.h)
 *   site/.lock-<tree>   flock: exclusive while a tree is installed, shared
 *                 while a run uses it (held until the run ends)
 *   site/.used-<tree>   its size in bytes; its mtime is the last use
 *
 * Trees no run holds are evicted, least recently used first, when the
 * trees take more than RUNBOX_INDEX_CACHE_BYTES; index.json keeps their
 * entries, so a later request resolves without the index and downloads the
 * wheel again by its URL and sha256.
 */
#ifndef RUNBOX_INSTCACHE_H
#define RUNBOX_INSTCACHE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"

#define INSTCACHE_DIR "index" /* below the state directory */

struct instcache {
	int dir_fd, site_fd, pages_fd;
	char dir[600];	/* state_dir/index: the "cache dir" of its index.json */
	char site[700]; /* state_dir/index/site */
};

/* Open (creating) the directories.  Release with instcache_close(). */
int instcache_open(int state_fd, const char *state_dir, struct instcache *ret, struct rb_err *err);

void instcache_close(struct instcache *c);

/*
 * Hold @tree for a run.  Returns 1 with a shared lock in *ret_lock when the
 * tree exists; 0 with an exclusive lock when it does not: the caller
 * installs it and calls instcache_installed().  Close *ret_lock to release.
 */
int instcache_hold(struct instcache *c, const char *tree, int *ret_lock, struct rb_err *err);

/* After installing @tree under the exclusive @lock: record its size, share the lock. */
int instcache_installed(struct instcache *c, const char *tree, int lock, struct rb_err *err);

/* The tree was used now (for least-recently-used eviction). */
void instcache_touch(struct instcache *c, const char *tree);

/*
 * Remove the least recently used trees no run holds until all take at
 * most @budget bytes.  Returns how many were removed.
 */
int instcache_evict(struct instcache *c, uint64_t budget);

/* Add @entries (an array, taken) to index.json unless their trees are there. */
int instcache_record(struct instcache *c, const char *python, cJSON *entries, struct rb_err *err);

#endif
