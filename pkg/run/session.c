/*
 * session: the store of file sessions, and the copies in and out of a
 * run's workspace (see session.h).  Every walk goes through directory fds
 * with O_NOFOLLOW and fstat on what was opened: the workspace side is what
 * a program shaped, the store side is runbox's alone.
 */
#define _GNU_SOURCE
#include "run/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/tree.h"
#include "run/nodeargv.h"

#define DIR_FLAGS    (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define STORE_PREFIX "runbox-sessions-"
#define MAX_DEPTH    64
#define TRASH	     "trash"   /* sessions ended, removed outside the store's lock */
#define DROPPED	     "dropped" /* in a session: ended while a call held it */

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The store's name for a session: the SHA-256 of its id, never the id. */
static void key_of(const char *id, char key[SESSION_KEY_LEN + 1])
{
	struct sha256 h;
	uint8_t d[SHA256_DIGEST_LEN];

	sha256_init(&h);
	sha256_update(&h, id, strlen(id));
	sha256_final(&h, d);
	hex(d, sizeof(d), key);
}

static bool is_key(const char *name)
{
	if (strlen(name) != SESSION_KEY_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* A dup'd directory fd shares its offset with the original: read it from the start. */
static DIR *opendir_at_start(int fd)
{
	DIR *d = fdopendir(fd);

	if (d)
		rewinddir(d);
	return d;
}

/* ---- the store ---- */

/* Stores a killed runbox left: nobody holds their "alive" lock any more. */
static void sweep_stale(const char *parent)
{
	int pfd = open(parent, DIR_FLAGS), fd;
	struct dirent *de;
	struct stat st;
	DIR *d = pfd >= 0 ? fdopendir(pfd) : NULL;

	if (!d) {
		if (pfd >= 0)
			close(pfd);
		return;
	}
	while ((de = readdir(d))) {
		char path[300];

		if (strncmp(de->d_name, STORE_PREFIX, strlen(STORE_PREFIX)) != 0 ||
		    fstatat(pfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		snprintf(path, sizeof(path), "%s/alive", de->d_name);
		fd = openat(pfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue; /* a live runbox's */
		}
		if (fd >= 0)
			close(fd);
		tree_remove_at(pfd, de->d_name);
	}
	closedir(d);
}

int session_store_open(struct session_store *st, const struct runbox_config *cfg,
		       struct rb_err *err)
{
	char alive[700];
	int fd;

	memset(st, 0, sizeof(*st));
	sweep_stale(cfg->work_dir);
	snprintf(st->dir, sizeof(st->dir), "%s/" STORE_PREFIX "XXXXXX", cfg->work_dir);
	if (!mkdtemp(st->dir)) {
		int e = errno;

		st->dir[0] = '\0';
		return rb_fail_sys(
		    err, e,
		    "create the session store under '%s' (no file sessions: each call "
		    "starts from scratch)",
		    cfg->work_dir);
	}
	snprintf(alive, sizeof(alive), "%s/alive", st->dir);
	/* Held shared for the front door's life (its children inherit the hold). */
	fd = open(alive, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_SH) < 0) {
		int e = errno;

		session_store_close(st);
		return rb_fail_sys(err, e, "create the session store's lock");
	}
	snprintf(alive, sizeof(alive), "%s/" TRASH, st->dir);
	if (mkdir(alive, 0700) < 0) {
		int e = errno;

		session_store_close(st);
		return rb_fail_sys(err, e, "create the session store's trash");
	}
	st->max = cfg->sessions_max;
	st->ttl_s = cfg->session_ttl_s;
	st->max_bytes = cfg->sessions_max_bytes;
	st->cap_bytes = cfg->limits.workspace_bytes ? cfg->limits.workspace_bytes : 512u << 20;
	st->cap_files = 65536; /* the inodes of a workspace's tmpfs */
	return 0;
}

void session_store_close(struct session_store *st)
{
	char *slash;
	int parent;

	if (!st->dir[0])
		return;
	slash = strrchr(st->dir, '/');
	*slash = '\0';
	parent = open(st->dir[0] ? st->dir : "/", DIR_FLAGS);
	*slash = '/';
	if (parent >= 0) {
		tree_remove_at(parent, slash + 1);
		close(parent);
	}
	st->dir[0] = '\0';
}

double session_expires_in(const struct session_store *st)
{
	return st->ttl_s;
}

/* The store's own lock: sessions are made, evicted and their bytes summed under it. */
static int store_lock(const struct session_store *st)
{
	char path[700];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", st->dir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			return -e;
		}
	return fd;
}

/* What a session's meta file says: its bytes and files, or that a save was cut short. */
struct meta {
	bool broken;
	size_t bytes;
	unsigned files;
	double mtime; /* CLOCK_REALTIME seconds of its last use */
};

static int meta_read(int dir_fd, struct meta *m)
{
	char buf[64] = {0};
	struct stat st;
	int fd = openat(dir_fd, "meta", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (fstat(fd, &st) == 0)
		m->mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	close(fd);
	m->broken =
	    n <= 0 || sscanf(buf, "%zu %u", &m->bytes, &m->files) != 2 || strstr(buf, "saving");
	return 0;
}

/*
 * Write the meta file (and with it the time of last use).  @saving: a save
 * is under way, the bytes it will keep reserved (the store's budget counts
 * them while the copy runs outside the store's lock); a worker killed
 * before the final write leaves it so, and the session is never offered
 * again.
 */
static int meta_write(int dir_fd, const struct meta *m, bool saving)
{
	char buf[64];
	int fd =
		openat(dir_fd, "meta", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600),
	    n = snprintf(buf, sizeof(buf), "%zu %u%s\n", m->bytes, m->files,
			 saving ? " saving" : ""),
	    r;

	if (fd < 0)
		return -errno;
	r = fd_write_all(fd, buf, (size_t)n);
	close(fd);
	return r;
}

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Move session @key into the trash: one rename, quick under the store's
 * lock; its files are removed by session_empty_trash, outside it.  A
 * session that cannot be moved is removed in place.
 */
static void discard(int store_fd, const char *key)
{
	static unsigned n;
	char to[sizeof(TRASH) + SESSION_KEY_LEN + 32];

	snprintf(to, sizeof(to), TRASH "/%s.%d.%u", key, (int)getpid(), n++);
	if (renameat(store_fd, key, store_fd, to) < 0 && errno != ENOENT)
		tree_remove_at(store_fd, key);
}

static void empty_trash(int store_fd)
{
	int fd = openat(store_fd, TRASH, DIR_FLAGS);
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			tree_remove_at(dirfd(d), de->d_name);
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
}

void session_empty_trash(const struct session_store *st)
{
	int store_fd;

	if (!st->dir[0])
		return;
	store_fd = open(st->dir, DIR_FLAGS);
	if (store_fd >= 0) {
		empty_trash(store_fd);
		close(store_fd);
	}
}

/* Move session @key to the trash if no call holds it; true when it is gone. */
static bool evict(int store_fd, const char *key)
{
	char path[SESSION_KEY_LEN + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", key);
	fd = openat(store_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return false;
	}
	/* Held while it goes: a call that opened the lock before finds it gone from the store. */
	discard(store_fd, key);
	if (fd >= 0)
		close(fd);
	return true;
}

struct entry {
	char key[SESSION_KEY_LEN + 1];
	struct meta m;
};

static int by_age(const void *a, const void *b)
{
	double x = ((const struct entry *)a)->m.mtime, y = ((const struct entry *)b)->m.mtime;

	return x < y ? -1 : x > y;
}

/* Every session of the store, oldest use first; malloc'd, *ret_n of them. */
static struct entry *list_sessions(int store_fd, size_t *ret_n)
{
	int fd = dup(store_fd);
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct entry *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		int dfd;

		if (!is_key(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		memcpy(v[n].key, de->d_name, SESSION_KEY_LEN + 1); /* is_key: exactly that long */
		dfd = openat(store_fd, de->d_name, DIR_FLAGS);
		if (dfd < 0 || meta_read(dfd, &v[n].m) < 0)
			v[n].m = (struct meta){.broken = true};
		if (dfd >= 0)
			close(dfd);
		n++;
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (v)
		qsort(v, n, sizeof(*v), by_age);
	*ret_n = n;
	return v;
}

/*
 * Under the store's lock: end idle sessions past their TTL, then the least
 * recently used idle ones while @n_more more would pass RUNBOX_SESSIONS_MAX
 * or @bytes_more more bytes RUNBOX_SESSIONS_MAX_BYTES (@self is spared).
 * Returns 0 when it fits, -ENOSPC when it cannot.
 */
static int make_room(const struct session_store *st, int store_fd, unsigned n_more,
		     size_t bytes_more, const char *self)
{
	size_t n, count = 0, bytes = bytes_more;
	struct entry *v = list_sessions(store_fd, &n);
	double now = now_real();
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		bool self_i = self && strcmp(v[i].key, self) == 0;

		if (!self_i && now - v[i].m.mtime > st->ttl_s && evict(store_fd, v[i].key)) {
			v[i].key[0] = '\0';
			continue;
		}
		count += !self_i;
		bytes += self_i ? 0 : v[i].m.bytes;
	}
	for (size_t i = 0; i < n && (count + n_more > st->max || bytes > st->max_bytes); i++) {
		if (!v[i].key[0] || (self && strcmp(v[i].key, self) == 0))
			continue;
		if (evict(store_fd, v[i].key)) {
			count--;
			bytes -= v[i].m.bytes;
			log_msg(LOG_INFO, "session_evicted",
				"the least recently used idle session was ended to make room");
		}
	}
	if (count + n_more > st->max || bytes > st->max_bytes)
		r = -ENOSPC;
	free(v);
	return r;
}

void session_store_sweep(const struct session_store *st)
{
	int store_fd, lk;

	if (!st->dir[0])
		return;
	store_fd = open(st->dir, DIR_FLAGS);
	lk = store_fd >= 0 ? store_lock(st) : -1;
	if (lk >= 0) {
		make_room(st, store_fd, 0, 0, NULL);
		close(lk);
	}
	if (store_fd >= 0) {
		empty_trash(store_fd);
		close(store_fd);
	}
}

/* Whether directory @fd (consumed) has an entry other than "." , ".." and @skip. */
static bool dir_has_entries(int fd, const char *const *skip, size_t n_skip)
{
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct dirent *de;
	bool found = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && (de = readdir(d))) {
		found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
		for (size_t i = 0; found && i < n_skip; i++)
			found = strcmp(de->d_name, skip[i]) != 0;
	}
	closedir(d);
	return found;
}

bool session_store_has_work(const struct session_store *st)
{
	static const char *const own[] = {"alive", "lock", TRASH};
	int store_fd;
	bool work;

	if (!st->dir[0])
		return false;
	store_fd = open(st->dir, DIR_FLAGS);
	if (store_fd < 0)
		return false;
	work = dir_has_entries(openat(store_fd, TRASH, DIR_FLAGS), NULL, 0) ||
	       dir_has_entries(dup(store_fd), own, sizeof(own) / sizeof(own[0]));
	close(store_fd);
	return work;
}

/* ---- taking a session ---- */

static int not_found(struct rb_err *err)
{
	return rb_fail(err, RB_FAULT_NOT_FOUND, ENOENT, "session_not_found", "session",
		       "No session has this id: it never existed, it was idle longer than its "
		       "time to live, it was evicted to make room, or the server restarted. "
		       "Start a new session with \"session\": true (and send its files again).");
}

static void session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = s->dir_fd = -1;
}

/* Open the session directory and its lock, created by this call when @create. */
static int open_dir(int store_fd, struct session *s, bool create)
{
	if (create && mkdirat(store_fd, s->key, 0700) < 0)
		return -errno;
	s->dir_fd = openat(store_fd, s->key, DIR_FLAGS);
	if (s->dir_fd < 0)
		return -errno;
	s->lock_fd =
	    openat(s->dir_fd, "lock",
		   O_RDWR | (create ? O_CREAT | O_EXCL : 0) | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return -errno;
	if (create && (flock(s->lock_fd, LOCK_EX) < 0 || mkdirat(s->dir_fd, "tree", 0700) < 0))
		return -errno;
	if (create)
		return meta_write(s->dir_fd, &(struct meta){0}, false);
	return 0;
}

static int create_new(const struct session_store *st, int store_fd, struct session *s,
		      struct rb_err *err)
{
	uint8_t rnd[SESSION_ID_LEN / 2];
	int lk, r;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return rb_fail_sys(err, errno, "getrandom");
	hex(rnd, sizeof(rnd), s->id);
	key_of(s->id, s->key);
	lk = store_lock(st);
	if (lk < 0)
		return rb_fail_sys(err, -lk, "lock the session store");
	r = make_room(st, store_fd, 1, 0, NULL);
	if (r < 0) {
		close(lk);
		return rb_fail(
		    err, RB_FAULT_UNAVAILABLE, 0, "sessions_full", "session",
		    "This runbox holds as many sessions as it may (RUNBOX_SESSIONS_MAX=%u) "
		    "and every one is in use; retry later.",
		    st->max);
	}
	r = open_dir(store_fd, s, true);
	close(lk);
	s->created = true;
	return r < 0 ? rb_fail_sys(err, -r, "create a session") : 0;
}

/* Wait for the session's lock until @deadline; then check it was not removed meanwhile. */
static int take_lock(struct session *s, double deadline, struct rb_err *err)
{
	struct stat held, now;
	double start = clock_now();

	while (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		s->waited_s = clock_now() - start;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return rb_fail_sys(err, errno, "lock the session");
		if (clock_now() >= deadline)
			return rb_fail(err, RB_FAULT_CONFLICT, EBUSY, "session_busy", "session",
				       "Another call is using this session and did not end within "
				       "this call's timeout_s; calls on one session run one at a "
				       "time. Retry when it has answered.");
		usleep(5000);
	}
	if (fstat(s->lock_fd, &held) < 0 || held.st_nlink == 0 ||
	    fstatat(s->dir_fd, "lock", &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_ino != held.st_ino)
		return not_found(err);
	return 0;
}

/* Whether the store still names the directory @s holds (an eviction renames it away). */
static bool still_named(int store_fd, const struct session *s)
{
	struct stat held, now;

	return fstat(s->dir_fd, &held) == 0 &&
	       fstatat(store_fd, s->key, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	       held.st_ino == now.st_ino && held.st_dev == now.st_dev;
}

static int take_existing(const struct session_store *st, int store_fd, const char *id,
			 double deadline, struct session *s, struct rb_err *err)
{
	struct meta m;
	int r;

	snprintf(s->id, sizeof(s->id), "%s", id);
	key_of(id, s->key);
	if (strlen(id) != SESSION_ID_LEN)
		return not_found(err);
	r = open_dir(store_fd, s, false);
	if (r < 0)
		return r == -ENOENT ? not_found(err) : rb_fail_sys(err, -r, "open the session");
	r = take_lock(s, deadline, err);
	if (r < 0)
		return r;
	if (!still_named(store_fd, s))
		return not_found(err); /* evicted into the trash while this call waited */
	if (faccessat(s->dir_fd, DROPPED, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		discard(store_fd, s->key); /* ended while the last call held it */
		return not_found(err);
	}
	/* Past its TTL (not yet swept), or a save cut short by a killed worker: gone. */
	if (meta_read(s->dir_fd, &m) < 0 || m.broken || now_real() - m.mtime > st->ttl_s) {
		discard(store_fd, s->key);
		return not_found(err);
	}
	s->bytes = m.bytes;
	return 0;
}

int session_acquire(const struct session_store *st, const char *id, double deadline,
		    struct session *ret, struct rb_err *err)
{
	int store_fd = open(st->dir, DIR_FLAGS), r;

	session_init(ret);
	if (store_fd < 0)
		return rb_fail_sys(err, errno, "open the session store");
	r = id ? take_existing(st, store_fd, id, deadline, ret, err)
	       : create_new(st, store_fd, ret, err);
	close(store_fd);
	snprintf(ret->short_key, sizeof(ret->short_key), "%.8s", ret->key);
	if (r < 0)
		session_release(st, ret, ret->created);
	return r;
}

/*
 * Remove session @key unless a call holds it; with @mark, first mark it
 * dropped, so that the call holding it removes it when it lets go (the
 * mark comes before the try: a holder checks after letting go, and one of
 * the two sees the other).  Returns 0, or -EBUSY when a call held it.
 */
static int remove_key(int store_fd, const char *key, bool mark)
{
	char path[SESSION_KEY_LEN + sizeof(DROPPED) + 2];
	int fd;

	snprintf(path, sizeof(path), "%s/" DROPPED, key);
	if (mark) {
		fd = openat(store_fd, path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return 0; /* no such session */
		close(fd);
	} else if (faccessat(store_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		return 0; /* not marked */
	}
	snprintf(path, sizeof(path), "%s/lock", key);
	fd = openat(store_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	discard(store_fd, key);
	close(fd);
	return 0;
}

void session_release(const struct session_store *st, struct session *s, bool drop)
{
	int store_fd = s->dir_fd >= 0 ? open(st->dir, DIR_FLAGS) : -1;

	if (store_fd >= 0 && (drop || s->ended))
		discard(store_fd, s->key);
	for (size_t i = 0; i < s->n_seen; i++)
		free(s->seen[i].path);
	free(s->seen);
	s->seen = NULL;
	s->n_seen = s->cap_seen = 0;
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* the next call's turn */
	s->dir_fd = s->lock_fd = -1;
	/* Ended by another while this call held it: gone now, unless the next call took it. */
	if (store_fd >= 0) {
		remove_key(store_fd, s->key, false);
		close(store_fd);
	}
}

int session_remove(const struct session_store *st, const char *id)
{
	char key[SESSION_KEY_LEN + 1];
	int store_fd, r;

	if (strlen(id) != SESSION_ID_LEN)
		return 0;
	key_of(id, key);
	store_fd = open(st->dir, DIR_FLAGS);
	if (store_fd < 0)
		return 0;
	r = remove_key(store_fd, key, true);
	close(store_fd);
	return r;
}

/* ---- copies ---- */

/*
 * Open @name below @dir; a mode that shuts its owner out (a program may
 * chmod 000 its own files) is lifted for the open and put back: not root,
 * runbox is that owner, and the mode is the file's to keep.
 */
static int open_anyway(int dir, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dir, name, flags), e;

	if (fd >= 0 || errno != EACCES || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISLNK(st.st_mode) ||
	    fchmodat(dir, name, (st.st_mode & 07777) | (S_ISDIR(st.st_mode) ? 0700 : 0600), 0) <
		0) {
		return fd >= 0 ? fd : -1;
	}
	fd = openat(dir, name, flags);
	e = errno;
	if (fchmodat(dir, name, st.st_mode & 07777, 0) < 0 && fd >= 0) {
		close(fd);
		fd = -1;
	}
	errno = e;
	return fd;
}

static int copy_bytes(int in, int out, size_t size)
{
	off_t off = 0;

	while ((size_t)off < size) {
		ssize_t n = sendfile(out, in, &off, size - (size_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank: what there was */
	}
	return 0;
}

/*
 * Copy the regular file @name of @from_dir into @to_dir (made with O_EXCL:
 * an existing name is -EEXIST), with its mode (no set-id bits) and times.
 * Fills @ret_st with the new file's stat.
 */
static int copy_file(int from_dir, const char *name, int to_dir, bool own, uid_t uid, gid_t gid,
		     struct stat *ret_st)
{
	struct stat st;
	int in = open_anyway(from_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out,
	    r;

	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return -EINVAL;
	}
	out = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	r = copy_bytes(in, out, (size_t)st.st_size);
	if (r == 0 && own && fchown(out, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(out, st.st_mode & 0777) < 0)
		r = -errno;
	if (r == 0 && futimens(out, (struct timespec[]){st.st_atim, st.st_mtim}) < 0)
		r = -errno;
	if (r == 0 && fstat(out, ret_st) < 0)
		r = -errno;
	close(out);
	close(in);
	return r;
}

static int seen_add(struct session *s, const char *path, const struct stat *st)
{
	if (s->n_seen == s->cap_seen) {
		size_t cap = s->cap_seen ? s->cap_seen * 2 : 64;
		struct session_seen *v = realloc(s->seen, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->seen = v;
		s->cap_seen = cap;
	}
	s->seen[s->n_seen].path = strdup(path);
	if (!s->seen[s->n_seen].path)
		return -ENOMEM;
	s->seen[s->n_seen].ino = st->st_ino;
	s->seen[s->n_seen++].ctime = st->st_ctim;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct session_seen *)a)->path,
		      ((const struct session_seen *)b)->path);
}

/* One walk's state: where it is, and what it counted. */
struct walk {
	struct session *s;
	char rel[4096];
	size_t rel_len;
	int depth;
	bool own;
	uid_t uid;
	gid_t gid;
	size_t bytes; /* save: what the workspace holds */
	unsigned files;
	const struct session_store *st;
	bool measure_only;
};

/* Append @name to the walk's relative path; false when it does not fit. */
static bool push(struct walk *w, const char *name, size_t *ret_old)
{
	size_t n = strlen(name), need = w->rel_len + (w->rel_len ? 1 : 0) + n;

	if (need >= sizeof(w->rel))
		return false;
	*ret_old = w->rel_len;
	if (w->rel_len)
		w->rel[w->rel_len++] = '/';
	memcpy(w->rel + w->rel_len, name, n + 1);
	w->rel_len += n;
	return true;
}

static void pop(struct walk *w, size_t old)
{
	w->rel_len = old;
	w->rel[old] = '\0';
}

static int restore_dir(struct walk *w, int from, int to);

static int restore_entry(struct walk *w, int from, int to, const char *name)
{
	bool own = w->own && strcmp(w->rel, "input") != 0 && strncmp(w->rel, "input/", 6) != 0;
	struct stat st, made;
	int a, b, r;

	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		r = copy_file(from, name, to, own, w->uid, w->gid, &made);
		if (r == -EEXIST)
			return 0; /* the request's own file wins */
		return r < 0 ? r : seen_add(w->s, w->rel, &made);
	}
	if (!S_ISDIR(st.st_mode) || w->depth >= MAX_DEPTH)
		return 0;
	made.st_mode = 0;
	if (mkdirat(to, name, 0700) == 0) {
		made.st_mode = st.st_mode & 0777; /* set once its entries are in */
		if (own && fchownat(to, name, w->uid, w->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	} else if (errno != EEXIST)
		return -errno;
	a = open_anyway(from, name, DIR_FLAGS);
	b = open_anyway(to, name, DIR_FLAGS);
	r = a < 0 || b < 0 ? (b < 0 && errno == ENOTDIR ? 0 : -errno) : 0;
	if (r == 0 && a >= 0 && b >= 0) {
		w->depth++;
		r = restore_dir(w, a, b);
		w->depth--;
	}
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (r == 0 && made.st_mode && fchmodat(to, name, made.st_mode, 0) < 0)
		r = -errno;
	return r;
}

static int restore_dir(struct walk *w, int from, int to)
{
	int fd = dup(from), r = 0;
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	while (r == 0 && (de = readdir(d))) {
		size_t old;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !push(w, de->d_name, &old))
			continue;
		r = restore_entry(w, from, to, de->d_name);
		pop(w, old);
	}
	closedir(d);
	return r;
}

int session_restore(struct session *s, int ws_fd, bool chown, uid_t uid, gid_t gid,
		    struct rb_err *err)
{
	struct walk w = {.s = s, .own = chown, .uid = uid, .gid = gid};
	int tree = openat(s->dir_fd, "tree", DIR_FLAGS), r;

	if (tree < 0)
		return rb_fail_sys(err, errno, "open the session's files");
	/* Not root: input/ is read-only by its mode, which binds its owner too. */
	r = !chown && fchmodat(ws_fd, "input", 0755, 0) < 0 ? -errno : 0;
	if (r == 0)
		r = restore_dir(&w, tree, ws_fd);
	if (!chown && fchmodat(ws_fd, "input", 0555, 0) < 0 && r == 0)
		r = -errno;
	close(tree);
	if (r < 0)
		return rb_fail_sys(err, -r, "copy the session's files into the workspace");
	if (s->n_seen)
		qsort(s->seen, s->n_seen, sizeof(*s->seen), by_path);
	return 0;
}

static const struct session_seen *seen_find(const struct session *s, const char *path)
{
	struct session_seen key = {.path = (char *)path};

	return s->n_seen ? bsearch(&key, s->seen, s->n_seen, sizeof(*s->seen), by_path) : NULL;
}

bool session_unchanged(const struct session *s, const char *path, const struct stat *st)
{
	const struct session_seen *e = seen_find(s, path);

	return e && S_ISREG(st->st_mode) && e->ino == st->st_ino &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* ---- copying back ---- */

static int save_dir(struct walk *w, int from, int to);

/* Make @name in the store a directory (removing what else was there) and walk it. */
static int save_subdir(struct walk *w, int from, int to, const char *name, mode_t mode)
{
	struct stat st;
	bool lifted;
	int a, b, r;

	if (!w->measure_only) {
		if (fstatat(to, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
			unlinkat(to, name, 0);
		if (mkdirat(to, name, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (fchmodat(to, name, (mode & 0777) | 0700, 0) < 0)
			return -errno;
	}
	/* A directory its owner cannot search (chmod 000): searchable for the walk (not root). */
	lifted = (mode & 0700) != 0700 && fchmodat(from, name, (mode & 07777) | 0700, 0) == 0;
	a = openat(from, name, DIR_FLAGS);
	b = w->measure_only ? -1 : openat(to, name, DIR_FLAGS);
	r = a < 0 || (!w->measure_only && b < 0) ? -errno : 0;
	if (r == 0) {
		w->depth++;
		r = save_dir(w, a, b);
		w->depth--;
	}
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (lifted && fchmodat(from, name, mode & 07777, 0) < 0 && r == 0)
		r = -errno;
	return r == -ENOTDIR || r == -ELOOP ? 0 : r;
}

static int save_entry(struct walk *w, int from, int to, const char *name)
{
	struct stat st, made;
	int r;

	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !(S_ISDIR(st.st_mode) && w->depth < MAX_DEPTH))
		return 0; /* links, fifos, sockets, devices are not kept */
	/* runbox's own file, written afresh for each Node run: not the program's to keep */
	if (S_ISREG(st.st_mode) && strcmp(w->rel, NODEARGV_PRELUDE_PATH) == 0)
		return 0;
	w->files++;
	if (S_ISDIR(st.st_mode))
		return save_subdir(w, from, to, name, st.st_mode);
	w->bytes += (size_t)st.st_size;
	if (w->bytes > w->st->cap_bytes || w->files > w->st->cap_files)
		return -E2BIG;
	if (w->measure_only || session_unchanged(w->s, w->rel, &st))
		return 0;
	if (unlinkat(to, name, 0) < 0 && errno == EISDIR)
		tree_remove_at(to, name);
	r = copy_file(from, name, to, false, 0, 0, &made);
	return r == -EINVAL ? 0 : r; /* swapped for a non-file: not kept */
}

/* Remove from the store what the workspace no longer has (or has as another type). */
static void prune(int from, int to)
{
	int fd = dup(to);
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct dirent *de;
	struct stat a, b;

	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(to, de->d_name, &b, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (fstatat(from, de->d_name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT))
			continue;
		if (S_ISDIR(b.st_mode))
			tree_remove_at(to, de->d_name);
		else
			unlinkat(to, de->d_name, 0);
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
}

static int save_dir(struct walk *w, int from, int to)
{
	int fd = dup(from), r = 0;
	DIR *d = fd >= 0 ? opendir_at_start(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	while (r == 0 && (de = readdir(d))) {
		size_t old;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !push(w, de->d_name, &old))
			continue;
		r = save_entry(w, from, to, de->d_name);
		pop(w, old);
	}
	closedir(d);
	if (r == 0 && !w->measure_only)
		prune(from, to);
	return r;
}

static void end_session(struct session *s, const char *fmt, size_t n)
{
	s->ended = true;
	snprintf(s->ended_why, sizeof(s->ended_why), fmt, n);
}

/*
 * Measure (the workspace is still: every process of the run is gone), then
 * under the store's lock make room and reserve the bytes in the meta file,
 * so two saves cannot both pass the budget; the copy runs after the lock
 * is let go.
 */
static int save_into(const struct session_store *st, struct session *s, int ws_fd, int store_fd,
		     int tree)
{
	struct walk w = {.s = s, .st = st, .measure_only = true};
	struct meta m;
	int r = save_dir(&w, ws_fd, -1), lk, room;

	if (r == -E2BIG) {
		end_session(s,
			    "The session ended: its files passed the cap of one session (%zu bytes "
			    "or 65536 files and directories).",
			    st->cap_bytes);
		return 0;
	}
	if (r < 0)
		return r;
	m = (struct meta){.bytes = w.bytes, .files = w.files};
	lk = store_lock(st);
	if (lk < 0)
		return lk;
	room = make_room(st, store_fd, 0, w.bytes, s->key);
	r = room == 0 ? meta_write(s->dir_fd, &m, true) : 0;
	close(lk);
	if (room < 0) {
		end_session(s,
			    "The session ended: the files of all sessions together would pass "
			    "RUNBOX_SESSIONS_MAX_BYTES (%zu bytes).",
			    st->max_bytes);
		return 0;
	}
	w = (struct walk){.s = s, .st = st};
	if (r == 0)
		r = save_dir(&w, ws_fd, tree);
	if (r == 0)
		r = meta_write(s->dir_fd, &(struct meta){.bytes = w.bytes, .files = w.files},
			       false);
	return r;
}

int session_save(const struct session_store *st, struct session *s, int ws_fd, struct rb_err *err)
{
	int store_fd = open(st->dir, DIR_FLAGS), tree = openat(s->dir_fd, "tree", DIR_FLAGS), r;

	r = store_fd >= 0 && tree >= 0 ? save_into(st, s, ws_fd, store_fd, tree) : -errno;
	if (tree >= 0)
		close(tree);
	if (store_fd >= 0)
		close(store_fd);
	if (r < 0) {
		s->ended = true; /* half copied: never offered again */
		return rb_fail_sys(err, -r, "keep the session's files");
	}
	return 0;
}
