/*
 * statedir: runbox's private state directory (RUNBOX_STATE_DIR).
 *
 * It holds what outlives one runbox process on this machine: the cached
 * result of the sandbox probe (valid for one boot, one uid, one runbox
 * version) and the lock files that hand out per-run uid slots, so that
 * concurrent runbox processes never run two programs as the same uid.
 * The directory must belong to runbox's euid with mode 0700; anything else
 * there is refused rather than trusted.
 */
#ifndef RUNBOX_STATEDIR_H
#define RUNBOX_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Open (creating with mode 0700) and verify the state directory. */
int statedir_open(const char *path, int *ret_fd, struct rb_err *err);

/*
 * A small binary cache entry, valid only for @key (boot id, euid, version...).
 * statedir_cache_load returns 1 and fills @buf when a valid entry of exactly
 * @size bytes exists, 0 otherwise.  statedir_cache_store writes atomically.
 */
int statedir_cache_load(int dirfd, const char *name, const char *key, void *buf, size_t size);
int statedir_cache_store(int dirfd, const char *name, const char *key, const void *buf,
			 size_t size);
void statedir_cache_drop(int dirfd, const char *name);

/* The kernel's boot id, so that caches die with the boot. */
void statedir_boot_id(char *buf, size_t size);

/*
 * Claim the lowest free slot in [0, @nslots) by taking an exclusive flock on
 * its lock file; the slot stays claimed until *ret_lock_fd is closed (also
 * when the process dies).
 */
int statedir_slot_claim(int dirfd, unsigned nslots, unsigned *ret_slot, int *ret_lock_fd,
			struct rb_err *err);

/*
 * A slot's lock file also says whether its holder has something on the
 * host file system to clean up: before making a workspace directory the
 * holder marks the slot with the directory it goes in, and unmarks it once
 * the workspace is gone.  A slot claimed while marked was left so by a
 * holder that died: the new holder reaps under the recorded directory and
 * unmarks only when that worked.  Runs whose workspace exists only in their
 * own mount namespace never mark, and then nothing is scanned.  A lock file
 * never written in this format (a new slot, or one of a runbox from before
 * marks) is SLOT_UNKNOWN: scanned once, then clean.
 */
enum slot_state { SLOT_CLEAN, SLOT_MARKED, SLOT_UNKNOWN };

/* Returns 0 or -errno (the caller goes on: the slot then says nothing). */
int statedir_slot_mark(int lock_fd, const char *dir);
void statedir_slot_unmark(int lock_fd);
/* SLOT_MARKED fills @dir (NUL-terminated, cut to @size). */
enum slot_state statedir_slot_state(int lock_fd, char *dir, size_t size);

#endif
