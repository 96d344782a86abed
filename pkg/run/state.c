/*
 * state: pack a workspace into a client-kept envelope, and unpack one
 * with every check (see state.h).  libarchive's errors are translated
 * here, keeping its message.
 */
#define _GNU_SOURCE
#include "run/state.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "base/sha256.h"
#include "base/utf8.h"
#include "contract/path.h"
#include "run/nodeargv.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define MAGIC	  "RBST"
#define HEAD_LEN  6 /* magic, version, flags */
#define VERSION	  1
#define F_TAGGED  1

static int invalid(struct rb_err *err, const char *fmt, const char *detail)
{
	char msg[1200];

	snprintf(msg, sizeof(msg), fmt, detail ? detail : "");
	return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_state", "state",
		       "The state was refused: %s. Send the \"state\" string an earlier answer "
		       "returned, unchanged, to the same runbox deployment.",
		       msg);
}

/* ---- the envelope (pure) ---- */

/* The archive inside @data, once its header (and tag, with a key) checked out. */
static int envelope_open(const struct state_opts *o, const unsigned char *data, size_t n,
			 const unsigned char **ret, size_t *ret_len, struct rb_err *err)
{
	uint8_t tag[SHA256_DIGEST_LEN];
	bool tagged;

	if (n < HEAD_LEN || memcmp(data, MAGIC, 4) != 0 || data[4] != VERSION)
		return invalid(err, "it is not a runbox state (no header of this version)", NULL);
	tagged = data[5] & F_TAGGED;
	if (o->key[0] && !tagged)
		return invalid(err,
			       "this runbox authenticates states (RUNBOX_STATE_KEY) and this one "
			       "carries no tag",
			       NULL);
	if (tagged && n < HEAD_LEN + SHA256_DIGEST_LEN)
		return invalid(err, "it is cut short", NULL);
	if (tagged)
		n -= SHA256_DIGEST_LEN;
	if (o->key[0]) {
		sha256_hmac(o->key, strlen(o->key), data, n, tag);
		if (!sha256_equal(tag, data + n))
			return invalid(err,
				       "its tag does not match: it was changed, or made by a "
				       "runbox with another RUNBOX_STATE_KEY",
				       NULL);
	}
	*ret = data + HEAD_LEN;
	*ret_len = n - HEAD_LEN;
	return 0;
}

/* ---- unpacking ---- */

struct unpack {
	const struct state_opts *o;
	struct archive *a;
	int ws_fd;
	bool chown;
	uid_t uid;
	gid_t gid;
	size_t cap, bytes;
	unsigned entries;
	struct rb_err *err;
};

/* Open (making as needed) the directory that holds @path's last component. */
static int open_parent(struct unpack *u, const char *path, const char **ret_leaf)
{
	char seg[256];
	const char *p = path, *slash;
	int fd = dup(u->ws_fd), next;

	*ret_leaf = path;
	while (fd >= 0 && (slash = strchr(p, '/'))) {
		snprintf(seg, sizeof(seg), "%.*s", (int)(slash - p), p);
		if (mkdirat(fd, seg, 0755) == 0 && u->chown &&
		    fchownat(fd, seg, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			close(fd);
			return -EPERM;
		}
		next = openat(fd, seg, DIR_FLAGS);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*ret_leaf = p;
	return fd < 0 ? -ENOENT : fd;
}

static int make_dir(struct unpack *u, const char *path, mode_t mode)
{
	const char *leaf;
	int dfd = open_parent(u, path, &leaf), r = 0;
	struct stat st;

	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, leaf, 0700) == 0) {
		if ((u->chown && fchownat(dfd, leaf, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0) ||
		    fchmodat(dfd, leaf, (mode & 0777) | 0700, 0) < 0)
			r = -errno;
	} else if (errno != EEXIST || fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		   !S_ISDIR(st.st_mode)) {
		r = -EEXIST;
	}
	close(dfd);
	return r;
}

/* The entry's data into @fd, counted as read: what a header claims is not trusted. */
static int copy_data(struct unpack *u, int fd)
{
	char buf[65536];

	for (;;) {
		la_ssize_t n = archive_read_data(u->a, buf, sizeof(buf));

		if (n == 0)
			return 0;
		if (n < 0)
			return invalid(u->err, "its archive is damaged (%s)",
				       archive_error_string(u->a));
		u->bytes += (size_t)n;
		if (u->bytes > u->cap)
			return -E2BIG;
		if (fd >= 0 && fd_write_all(fd, buf, (size_t)n) < 0)
			return rb_fail_sys(u->err, errno, "write the state's files");
	}
}

static int make_file(struct unpack *u, const char *path, mode_t mode)
{
	const char *leaf;
	int dfd = open_parent(u, path, &leaf), fd, r;

	if (dfd < 0)
		return invalid(u->err, "a file's directory cannot be made ('%s')", path);
	fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0 && errno != EEXIST)
		return invalid(u->err, "a file cannot be made ('%s')", path);
	/* An existing name: the request's own file wins; the data is still counted. */
	r = copy_data(u, fd);
	if (fd >= 0 && r == 0 && u->chown && fchown(fd, u->uid, u->gid) < 0)
		r = rb_fail_sys(u->err, errno, "chown a state file");
	if (fd >= 0 && r == 0 && fchmod(fd, (mode & 0777) | 0600) < 0)
		r = rb_fail_sys(u->err, errno, "chmod a state file");
	if (fd >= 0)
		close(fd);
	return r;
}

static int entry(struct unpack *u, struct archive_entry *ae)
{
	const char *name = archive_entry_pathname(ae), *why;
	char path[PATH_MAX_BYTES + 1];
	mode_t type = archive_entry_filetype(ae);
	size_t len = name ? strlen(name) : 0;
	int r;

	if (++u->entries > STATE_MAX_ENTRIES)
		return invalid(u->err, "it holds more than 10000 files and directories", NULL);
	while (len > 1 && name[len - 1] == '/')
		len--; /* a directory's trailing slash */
	if (!name || path_check_literal(name, len, path, &why) < 0)
		return invalid(u->err, "a path in it is not allowed (%s)", name ? why : "none");
	if (path_first_segment_is(path, "input"))
		return invalid(u->err,
			       "it holds '%s': input/ is never part of a state (send "
			       "inputs as \"context\")",
			       path);
	if (archive_entry_hardlink(ae) || archive_entry_symlink(ae) ||
	    (type != AE_IFREG && type != AE_IFDIR))
		return invalid(u->err,
			       "'%s' is not a regular file or a directory (links and "
			       "special files are never kept)",
			       path);
	if (type == AE_IFDIR) {
		r = make_dir(u, path, archive_entry_perm(ae));
		return r < 0 ? invalid(u->err, "the directory '%s' cannot be made", path) : 0;
	}
	return make_file(u, path, archive_entry_perm(ae));
}

static int unpack_all(struct unpack *u)
{
	struct archive_entry *ae;

	for (;;) {
		int r = archive_read_next_header(u->a, &ae);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return invalid(u->err, "its archive is damaged (%s)",
				       archive_error_string(u->a));
		r = entry(u, ae);
		if (r == -E2BIG)
			return invalid(u->err,
				       "it unpacks to more bytes than a workspace may hold, or "
				       "more than 100 per compressed byte%s",
				       NULL);
		if (r < 0)
			return r;
	}
}

int state_extract(const struct state_opts *o, int ws_fd, const unsigned char *data, size_t n,
		  bool chown, uid_t uid, gid_t gid, struct rb_err *err)
{
	struct unpack u = {
	    .o = o, .ws_fd = ws_fd, .chown = chown, .uid = uid, .gid = gid, .err = err};
	const unsigned char *arc = NULL;
	size_t len = 0;
	int r = envelope_open(o, data, n, &arc, &len, err);

	if (r < 0)
		return r;
	u.cap = (size_t)STATE_MAX_RATIO * len + ((size_t)1 << 20);
	if (u.cap > o->max_extract)
		u.cap = o->max_extract;
	u.a = archive_read_new();
	if (!u.a)
		return rb_fail_sys(err, ENOMEM, "read the state");
	if (archive_read_support_filter_gzip(u.a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(u.a) != ARCHIVE_OK ||
	    archive_read_open_memory(u.a, arc, len) != ARCHIVE_OK)
		r = invalid(err, "its archive cannot be read (%s)", archive_error_string(u.a));
	else
		r = unpack_all(&u);
	archive_read_free(u.a);
	return r;
}

/* ---- packing ---- */

/*
 * Packing walks the workspace twice: a survey (names, entries, bytes as
 * stat says, no data read) and then the archive.  The survey applies the
 * rules extraction applies, so a state runbox returns is one it takes
 * back, and it refuses a workspace whose files (a sparse file counts at
 * its size) could not be unpacked before reading a byte of them.
 */
struct pack {
	const struct state_opts *o;
	struct archive *a;
	bool survey;
	unsigned char *buf;
	size_t len, cap;
	bool over;
	char rel[4096];
	int depth;
	unsigned entries;
	size_t bytes; /* the files' sizes, summed by the survey */
	struct rb_err *err;
};

static la_ssize_t put(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct pack *k = ctx;

	(void)a;
	if (k->len + n > k->cap) {
		k->over = true;
		archive_set_error(a, E2BIG, "over RUNBOX_STATE_MAX_BYTES");
		return -1;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return (la_ssize_t)n;
}

/* A workspace that could be packed but not unpacked: said with the path at fault. */
static int unkeepable(struct pack *k, const char *why)
{
	size_t n = strnlen(k->rel, 1100);
	char *shown = malloc(utf8_sanitized_max(n) + 1);
	int r;

	if (shown) /* a name that is not UTF-8 is shown with U+FFFD where it is not */
		utf8_sanitize(k->rel, n, shown);
	r = rb_fail(k->err, RB_FAULT_REQUEST, EINVAL, "state_path_not_allowed", "return_state",
		    "The workspace cannot be kept as a state: '%s' is refused (%s). Rename or "
		    "remove it before the call ends.",
		    shown ? shown : "?", why);
	free(shown);
	return r;
}

/* The survey's checks of the entry at k->rel: path rules, entries, bytes. */
static int survey_entry(struct pack *k, const struct stat *st)
{
	char norm[PATH_MAX_BYTES + 1];
	const char *why;

	if (strlen(k->rel) > PATH_MAX_BYTES)
		return unkeepable(k, "it is longer than 1024 bytes");
	if (path_check_literal(k->rel, strlen(k->rel), norm, &why) < 0)
		return unkeepable(k, why);
	if (++k->entries > STATE_MAX_ENTRIES)
		return rb_fail(k->err, RB_FAULT_TOO_LARGE, EFBIG, "state_too_large", "return_state",
			       "The workspace holds more than %d files and directories, more than "
			       "a state may hold ('%.1100s' is one too many).",
			       STATE_MAX_ENTRIES, k->rel);
	if (S_ISREG(st->st_mode))
		k->bytes += (size_t)st->st_size;
	if (k->bytes > k->o->max_extract)
		return rb_fail(k->err, RB_FAULT_TOO_LARGE, EFBIG, "state_too_large", "return_state",
			       "The workspace's files hold more than the %zu bytes a workspace may "
			       "hold (a sparse file counts at its size; '%.1100s' passed it): a "
			       "state of them could not be unpacked. Remove what the next call "
			       "does not need.",
			       k->o->max_extract, k->rel);
	return 0;
}

/* A header libarchive did not write whole (ARCHIVE_WARN too: it changed something). */
static int header(struct pack *k, struct archive_entry *ae)
{
	int r = archive_write_header(k->a, ae);

	if (r == ARCHIVE_OK)
		return 0;
	if (r == ARCHIVE_WARN && !k->over) {
		char why[600];

		snprintf(why, sizeof(why), "libarchive cannot write it as it is: %s",
			 archive_error_string(k->a) ? archive_error_string(k->a)
						    : "no reason given");
		return unkeepable(k, why);
	}
	return -EIO;
}

static int past_deadline(struct pack *k)
{
	if (!k->o->deadline || clock_now() < k->o->deadline)
		return 0;
	return rb_fail(k->err, RB_FAULT_TOO_LARGE, ETIMEDOUT, "state_timeout", "return_state",
		       "Packing the workspace into a state took longer than the call's "
		       "timeout_s (at '%.1100s'): keep fewer or smaller files.",
		       k->rel);
}

static int pack_data(struct pack *k, int fd, off_t size)
{
	char buf[65536];
	int r = 0;

	for (off_t left = size; r == 0 && left > 0;) {
		ssize_t n = read(fd, buf, (size_t)left < sizeof(buf) ? (size_t)left : sizeof(buf));

		if (n <= 0) { /* shrank: zeros, as the header promised the size */
			n = (ssize_t)((size_t)left < sizeof(buf) ? (size_t)left : sizeof(buf));
			memset(buf, 0, (size_t)n);
		}
		if (archive_write_data(k->a, buf, (size_t)n) != n)
			r = -EIO;
		left -= n;
		if (r == 0)
			r = past_deadline(k);
	}
	return r;
}

static int pack_dir(struct pack *k, int dfd);

/* One file's header and data; its size from fstat of what was opened. */
static int pack_file(struct pack *k, int dfd, const char *name)
{
	struct archive_entry *ae = NULL;
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return 0; /* swapped for something else: not kept */
	}
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, k->rel);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, st.st_mode & 0777);
	archive_entry_set_size(ae, st.st_size);
	archive_entry_set_mtime(ae, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	r = header(k, ae);
	if (r == 0)
		r = pack_data(k, fd, st.st_size);
	archive_entry_free(ae);
	close(fd);
	return r;
}

static int pack_subdir(struct pack *k, int dfd, const char *name, const struct stat *st)
{
	struct archive_entry *ae;
	int sub, r = 0;

	if (!k->survey) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, k->rel);
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, st->st_mode & 0777);
		archive_entry_set_mtime(ae, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		r = header(k, ae);
		archive_entry_free(ae);
	}
	sub = r == 0 ? openat(dfd, name, DIR_FLAGS) : -1;
	if (sub >= 0) {
		k->depth++;
		r = pack_dir(k, sub);
		k->depth--;
		close(sub);
	}
	return r;
}

static int pack_entry(struct pack *k, int dfd, const char *name)
{
	struct stat st;
	int r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/* runbox's own file, written afresh for each Node run: not the program's to keep */
	if (S_ISREG(st.st_mode) && strcmp(k->rel, NODEARGV_PRELUDE_PATH) == 0)
		return 0;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0; /* links, fifos, sockets, devices are not kept */
	if (k->survey && (r = survey_entry(k, &st)) < 0)
		return r;
	if (S_ISREG(st.st_mode))
		return k->survey ? 0 : pack_file(k, dfd, name);
	return pack_subdir(k, dfd, name, &st);
}

static int pack_dir(struct pack *k, int dfd)
{
	int fd = dup(dfd), r = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t old = strlen(k->rel);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	rewinddir(d);
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (k->depth == 0 && strcmp(de->d_name, "input") == 0))
			continue;
		snprintf(k->rel + old, sizeof(k->rel) - old, "%s%s", old ? "/" : "", de->d_name);
		if (old + strlen(de->d_name) + 2 > sizeof(k->rel))
			r = unkeepable(k, "it is longer than 1024 bytes");
		else
			r = pack_entry(k, dfd, de->d_name);
		k->rel[old] = '\0';
	}
	closedir(d);
	return r;
}

static int too_large(const struct pack *k, struct rb_err *err)
{
	return rb_fail(
	    err, RB_FAULT_TOO_LARGE, E2BIG, "state_too_large", "return_state",
	    "The workspace does not fit in a state of RUNBOX_STATE_MAX_BYTES (%zu bytes, "
	    "compressed): remove what the next call does not need, or keep files with a "
	    "session where the server offers them.",
	    k->o->max_bytes);
}

/* Header before, tag after: the archive written between them in k->buf. */
static int seal(struct pack *k, unsigned char **ret, size_t *ret_len, struct rb_err *err)
{
	bool tag = k->o->key[0] != '\0';

	if (k->len + (tag ? SHA256_DIGEST_LEN : 0) > k->o->max_bytes)
		return too_large(k, err);
	memcpy(k->buf, MAGIC, 4);
	k->buf[4] = VERSION;
	k->buf[5] = tag ? F_TAGGED : 0;
	if (tag) {
		sha256_hmac(k->o->key, strlen(k->o->key), k->buf, k->len, k->buf + k->len);
		k->len += SHA256_DIGEST_LEN;
	}
	*ret = k->buf;
	*ret_len = k->len;
	k->buf = NULL;
	return 0;
}

/* Extraction's cap of bytes per compressed byte, checked before a state is given out. */
static int check_ratio(const struct pack *k, struct rb_err *err)
{
	size_t arc = k->len - HEAD_LEN;

	if (k->bytes <= (size_t)STATE_MAX_RATIO * arc + ((size_t)1 << 20))
		return 0;
	return rb_fail(err, RB_FAULT_TOO_LARGE, EFBIG, "state_too_large", "return_state",
		       "The workspace's files (%zu bytes) compress to %zu bytes, more than %d "
		       "to 1 beyond the first MiB: a state of them would be refused as a "
		       "bomb. Remove what the next call does not need.",
		       k->bytes, arc, STATE_MAX_RATIO);
}

/* The archive itself, into k->buf after the header's room. */
static int pack_archive(struct pack *k, int ws_fd, struct rb_err *err)
{
	int r = 0;
	const char *why;

	if (archive_write_add_filter_gzip(k->a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(k->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(k->a, 1) != ARCHIVE_OK ||
	    archive_write_open(k->a, k, NULL, put, NULL) != ARCHIVE_OK)
		r = -EIO;
	if (r == 0)
		r = pack_dir(k, ws_fd);
	if (archive_write_close(k->a) != ARCHIVE_OK && r == 0)
		r = -EIO;
	if (k->over)
		return too_large(k, err);
	if (r != -EIO)
		return r;
	why = archive_error_string(k->a);
	return rb_fail(err, RB_FAULT_INTERNAL, EIO, "internal_error", NULL,
		       "Packing the state failed%s%s%s: %s.", k->rel[0] ? " at '" : "", k->rel,
		       k->rel[0] ? "'" : "", why ? why : "the archive could not be written");
}

int state_pack(const struct state_opts *o, int ws_fd, unsigned char **ret, size_t *ret_len,
	       struct rb_err *err)
{
	struct pack k = {.o = o, .cap = o->max_bytes, .len = HEAD_LEN, .err = err, .survey = true};
	int r;

	*ret = NULL;
	r = pack_dir(&k, ws_fd);
	if (r < 0)
		return r == -ENOMEM ? rb_fail_sys(err, ENOMEM, "survey the workspace") : r;
	k.survey = false;
	k.rel[0] = '\0';
	k.buf = malloc(o->max_bytes + SHA256_DIGEST_LEN);
	k.a = k.buf ? archive_write_new() : NULL;
	if (!k.a) {
		free(k.buf);
		return rb_fail_sys(err, ENOMEM, "pack the state");
	}
	r = pack_archive(&k, ws_fd, err);
	archive_write_free(k.a);
	if (r == 0)
		r = check_ratio(&k, err);
	if (r == 0)
		r = seal(&k, ret, ret_len, err);
	free(k.buf);
	return r;
}
