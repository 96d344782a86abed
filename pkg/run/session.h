/*
 * session: file sessions kept by a long-lived front door (serve, mcp).
 *
 * A session is a directory tree kept between calls in a store only runbox
 * can reach (a directory of its own under RUNBOX_WORK_DIR, mode 0700, made
 * when the front door starts and removed when it stops).  A call does not
 * run in the store: its workspace is made fresh as for a one-shot run (a
 * size-capped tmpfs as root), the session's files are copied in before the
 * program starts (the request's own files win), and what the program left
 * is copied back after every process of the run is gone, regular files and
 * directories only, never following a link.  So a session call gets every
 * layer a one-shot run gets, and its files are reachable by nothing else.
 *
 * Ids are 128 bits from getrandom(), sent to the client once; the store
 * knows a session only by the SHA-256 of its id, and logs show a short
 * hash of that.  One call at a time holds a session (an flock); the store
 * itself is locked while sessions are made, evicted (moved into its trash)
 * or their bytes summed and reserved; files are neither copied nor removed
 * under that lock.
 */
#ifndef RUNBOX_SESSION_H
#define RUNBOX_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/err.h"
#include "contract/config.h"

#define SESSION_ID_LEN	32 /* hex characters of a 128-bit id */
#define SESSION_KEY_LEN 64 /* hex characters of its SHA-256 */

/* Where a front door keeps its sessions, and their limits; dir "" when it keeps none. */
struct session_store {
	char dir[600];
	unsigned max;	    /* sessions at once */
	double ttl_s;	    /* idle seconds before a session ends */
	size_t max_bytes;   /* all sessions' files together */
	size_t cap_bytes;   /* one session's files */
	unsigned cap_files; /* one session's files and directories */
};

/*
 * Make a fresh store under cfg->work_dir (and remove those a killed runbox
 * left there: their lock is held by nobody).  Call in the front door before
 * it forks anything that runs requests.  Returns 0, or -errno with @err.
 */
int session_store_open(struct session_store *st, const struct runbox_config *cfg,
		       struct rb_err *err);

/*
 * End the idle sessions past their TTL now, so their files do not wait for
 * the next call to go, and empty the trash (the spawner runs it every few
 * seconds in a short-lived child of its own, never in its loop).
 */
void session_store_sweep(const struct session_store *st);

/*
 * Whether the store holds anything a sweep could end or remove: a session,
 * or ended sessions' files in its trash.  A cheap look (two directory
 * reads), so that no sweep is started for an empty store: its child would
 * be one more task of runbox's uid while a run may count with them.
 */
bool session_store_has_work(const struct session_store *st);

/*
 * Remove the files of the sessions that ended: ending one (eviction, TTL,
 * a drop) only moves it into the store's trash, one rename, so that no
 * call waits on the store's lock while a tree is removed.  Call outside
 * any lock, where a wait harms no one (a worker after its answer, the
 * sweep's own child).
 */
void session_empty_trash(const struct session_store *st);

/* Remove the store and every session in it (the front door stops). */
void session_store_close(struct session_store *st);

/* A file recorded when restored: unchanged while its inode and ctime are. */
struct session_seen {
	char *path; /* relative to the workspace, malloc'd */
	ino_t ino;
	struct timespec ctime;
};

/* One call's hold of a session; released by session_release(). */
struct session {
	int lock_fd; /* flock held for the call */
	int dir_fd;  /* <store>/<key> */
	char id[SESSION_ID_LEN + 1];
	char key[SESSION_KEY_LEN + 1];
	char short_key[9]; /* for logs */
	bool created;	   /* by this call: removed again if the call is refused */
	bool ended;	   /* dropped by session_save (over a cap): said in the answer */
	double waited_s;   /* while another call held it */
	size_t bytes;	   /* its files' bytes when taken (as its last save counted them) */
	char ended_why[256];
	struct session_seen *seen;
	size_t n_seen, cap_seen;
};

/*
 * Make a new session (@id NULL) or take the one @id names, waiting until
 * @deadline (CLOCK_MONOTONIC seconds) while another call holds it.  Fills
 * @ret (release it with session_release).  Errors: session_not_found
 * (unknown, expired or evicted id), session_busy (still held at the
 * deadline), sessions_full (every session is in use), internal faults.
 */
int session_acquire(const struct session_store *st, const char *id, double deadline,
		    struct session *ret, struct rb_err *err);

/*
 * Copy the session's files into the workspace @ws_fd, skipping what is
 * there already (the request's program and files win).  When @chown, what
 * is copied belongs to @uid/@gid except under input/, which stays root's
 * as a one-shot run's input/ does.  Records each file for session_save and
 * session_unchanged.  Returns 0, or -errno with @err (-ENOSPC or -EDQUOT
 * when the workspace filled up: the caller says so as the request's fault).
 */
int session_restore(struct session *s, int ws_fd, bool chown, uid_t uid, gid_t gid,
		    struct rb_err *err);

/* Whether @path (relative to the workspace), of stat @st, is the file restored, untouched since. */
bool session_unchanged(const struct session *s, const char *path, const struct stat *st);

/*
 * Copy back what the program left in @ws_fd (call only once every process
 * of the run is gone): new and changed regular files and directories; what
 * it removed is removed.  Over the session's caps or, after evicting idle
 * sessions, over the store's, the session is ended (s->ended, s->ended_why)
 * and 0 returned: the call's answer stands.  < 0 only for a fault.
 */
int session_save(const struct session_store *st, struct session *s, int ws_fd, struct rb_err *err);

/* Let the session go (and remove it if @drop, or if it ended).  Idempotent. */
void session_release(const struct session_store *st, struct session *s, bool drop);

/*
 * End session @id now, its files removed; when a call holds it, it is
 * marked, and removed as that call lets it go (no later call takes it).
 * An unknown id is no fault.  Returns 0, or -EBUSY when a call held it.
 */
int session_remove(const struct session_store *st, const char *id);

/* The session's "session" answer object's values: its id and the seconds it lives idle. */
double session_expires_in(const struct session_store *st);

#endif
