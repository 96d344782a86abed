/*
 * wheel: one pass over the zip's entries in central-directory order; each
 * file is hashed while it is written, and RECORD (usually the last entry)
 * is checked against every hash once the pass is over.  A refusal after
 * some files were written leaves them for the caller to remove with the
 * temporary directory it extracted into.
 */
#define _GNU_SOURCE
#include "deps/wheel.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/fdio.h"
#include "deps/requirement.h"
#include "base/sha256.h"
#include "deps/wheelmeta.h"

#define MiB		 (1024ULL * 1024)
#define MAX_NAME_BYTES	 1024
#define MAX_SEGMENTS	 64
#define MAX_RECORD_BYTES (16 * MiB)

void wheel_limits_default(struct wheel_limits *ret)
{
	ret->max_entries = 20000;
	ret->max_entry_bytes = 512 * MiB;
	ret->max_total_bytes = 2048 * MiB;
	ret->max_ratio = 200;
	ret->reserved = NULL;
	ret->n_reserved = 0;
}

struct entry {
	char *path; /* as in the zip */
	char *out;  /* where it lands in the tree; NULL: not extracted */
	uint8_t digest[SHA256_DIGEST_LEN];
	uint64_t size;
	bool is_dir, recorded;
};

struct pass {
	const struct wheel_name *wn;
	const struct wheel_limits *lim;
	struct archive *a;
	int dest_fd;
	uint64_t wheel_size, total;
	struct entry *e;
	size_t n, cap;
	char distinfo[256]; /* "name-1.0.dist-info" */
	char *metadata, *record;
	size_t metadata_len, record_len;
	struct rb_err *err;
	int last_fd;			   /* the directory of the last file written */
	char last_dir[MAX_NAME_BYTES + 1]; /* its path below dest_fd */
	char buf[65536];
};

static int refuse(struct pass *p, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct pass *p, const char *code, const char *fmt, ...)
{
	char msg[1500];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rb_fail(p->err, RB_FAULT_REQUEST, 0, code, NULL, "%s", msg);
}

/* Entry names: relative, '/'-separated, no "", "." or ".." segment. */
static const char *path_problem(const char *path, bool *ret_is_dir)
{
	size_t len = strlen(path), segs = 0;
	const char *seg = path;

	*ret_is_dir = len > 0 && path[len - 1] == '/';
	if (len == 0 || len > MAX_NAME_BYTES)
		return "an empty or too long name";
	if (path[0] == '/')
		return "an absolute path";
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return "a backslash or control character";
	for (const char *c = path;; c++) {
		if (*c != '/' && *c)
			continue;
		if ((c == seg && !(*c == '\0' && *ret_is_dir)) || (c - seg == 1 && seg[0] == '.') ||
		    (c - seg == 2 && strncmp(seg, "..", 2) == 0))
			return "a '..', '.' or empty segment";
		if (++segs > MAX_SEGMENTS)
			return "more than 64 segments";
		if (!*c || (c[1] == '\0' && *ret_is_dir))
			break;
		seg = c + 1;
	}
	return NULL;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t l = strlen(suffix);

	return len >= l && memcmp(s + len - l, suffix, l) == 0;
}

/* Where @path lands: "x.data/purelib/a/b" -> "a/b"; NULL when not extracted. */
static int map_path(struct pass *p, const char *path, char **ret)
{
	const char *slash = strchr(path, '/');
	size_t top = slash ? (size_t)(slash - path) : strlen(path);

	*ret = NULL;
	if (slash && ends_with(path, top, ".dist-info")) {
		if (!p->distinfo[0] && top < sizeof(p->distinfo))
			memcpy(p->distinfo, path, top);
		else if (strncmp(p->distinfo, path, top) != 0 || p->distinfo[top])
			return refuse(p, "wheel_bad_metadata",
				      "the wheel has two .dist-info directories ('%s' and '%.*s')",
				      p->distinfo, (int)top, path);
	}
	if (slash && ends_with(path, top, ".data")) {
		const char *sub = slash + 1;

		if ((strncmp(sub, "purelib/", 8) == 0 || strncmp(sub, "platlib/", 8) == 0) &&
		    sub[8]) {
			const char *in = strchr(sub + 8, '/');

			/* Only the wheel's own .dist-info may describe the tree. */
			if (in && ends_with(sub + 8, (size_t)(in - sub - 8), ".dist-info"))
				return refuse(p, "wheel_bad_metadata",
					      "'%s' would add a second .dist-info to the tree",
					      path);
			*ret = strdup(sub + 8);
		}
		return *ret || !((strncmp(sub, "purelib/", 8) == 0 ||
				  strncmp(sub, "platlib/", 8) == 0) &&
				 sub[8])
			   ? 0
			   : -ENOMEM;
	}
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/* Open (creating) the directory holding @rel, relative to @root. */
static int open_parent(int root, char *rel, const char **ret_leaf)
{
	int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
	char *seg = rel, *slash;
	bool created;

	if (fd < 0)
		return -errno;
	while (fd >= 0 && (slash = strchr(seg, '/')) && slash[1]) {
		int next;

		*slash = '\0';
		created = mkdirat(fd, seg, 0755) == 0;
		if (!created && errno != EEXIST) {
			int e = errno;

			*slash = '/';
			close(fd);
			return -e;
		}
		next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* 0755 whatever the umask: the program's uid must read the tree. */
		if (next >= 0 && created)
			fchmod(next, 0755);
		*slash = '/';
		close(fd);
		fd = next < 0 ? -errno : next;
		seg = slash + 1;
	}
	*ret_leaf = seg;
	return fd;
}

/* Keep METADATA and RECORD of the .dist-info in memory while passing. */
static char **kept_buffer(struct pass *p, const char *path, size_t **ret_len)
{
	size_t l = strlen(p->distinfo);

	if (!l || strncmp(path, p->distinfo, l) != 0 || path[l] != '/')
		return NULL;
	if (strcmp(path + l + 1, "METADATA") == 0) {
		*ret_len = &p->metadata_len;
		return &p->metadata;
	}
	if (strcmp(path + l + 1, "RECORD") == 0) {
		*ret_len = &p->record_len;
		return &p->record;
	}
	return NULL;
}

static int keep(char **buf, size_t *len, const char *data, size_t n)
{
	char *b;

	if (*len + n > MAX_RECORD_BYTES)
		return -E2BIG;
	b = realloc(*buf, *len + n + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + *len, data, n);
	*len += n;
	b[*len] = '\0';
	*buf = b;
	return 0;
}

static int check_sizes(struct pass *p, const struct entry *e)
{
	if (e->size > p->lim->max_entry_bytes)
		return refuse(p, "wheel_too_large", "'%s' is larger than %llu bytes uncompressed",
			      e->path, (unsigned long long)p->lim->max_entry_bytes);
	if (p->total > p->lim->max_total_bytes)
		return refuse(p, "wheel_too_large",
			      "the wheel is larger than %llu bytes "
			      "uncompressed",
			      (unsigned long long)p->lim->max_total_bytes);
	if (p->total > MiB && p->total / (p->wheel_size ? p->wheel_size : 1) >= p->lim->max_ratio)
		return refuse(p, "wheel_zip_bomb",
			      "the wheel (%llu bytes) expands past %u times its size at '%s'",
			      (unsigned long long)p->wheel_size, p->lim->max_ratio, e->path);
	return 0;
}

/* Stream one file's data: hash it, count it, write it where it lands. */
static int copy_data(struct pass *p, struct entry *e, int out_fd)
{
	char *buf = p->buf;
	struct sha256 h;
	size_t *klen = NULL;
	char **kbuf = kept_buffer(p, e->path, &klen);
	int r = 0;

	sha256_init(&h);
	for (;;) {
		la_ssize_t n = archive_read_data(p->a, buf, sizeof(p->buf));

		if (n == 0)
			break;
		if (n < 0)
			return refuse(p, "wheel_corrupt", "reading '%s' failed: %s", e->path,
				      archive_error_string(p->a));
		sha256_update(&h, buf, (size_t)n);
		e->size += (uint64_t)n;
		p->total += (uint64_t)n;
		r = check_sizes(p, e);
		if (r >= 0 && out_fd >= 0)
			r = fd_write_all(out_fd, buf, (size_t)n);
		if (r >= 0 && kbuf)
			r = keep(kbuf, klen, buf, (size_t)n);
		if (r == -E2BIG)
			r = refuse(p, "wheel_too_large", "'%s' is larger than 16 MiB", e->path);
		if (r < 0)
			return r;
	}
	sha256_final(&h, e->digest);
	return 0;
}

static int make_out_dir(struct pass *p, const struct entry *e)
{
	char rel[MAX_NAME_BYTES + 2];
	const char *leaf;
	int fd;

	snprintf(rel, sizeof(rel), "%s/", e->out);
	fd = open_parent(p->dest_fd, rel, &leaf);
	if (fd == -ENOTDIR || fd == -ELOOP)
		return refuse(p, "wheel_duplicate_entry", "'%s' is both a file and a directory",
			      e->path);
	if (fd < 0)
		return rb_fail_sys(p->err, -fd, "create directory '%s'", e->out);
	close(fd);
	return 0;
}

/*
 * The directory that will hold @rel (opened, and created, below dest_fd).
 * Wheels list a directory's files together: the last one is kept open, so
 * most files cost one openat() instead of a walk from the root.
 */
static int parent_of(struct pass *p, char *rel, const char **ret_leaf)
{
	const char *slash = strrchr(rel, '/');
	size_t len = slash ? (size_t)(slash - rel) : 0;
	int fd;

	*ret_leaf = slash ? slash + 1 : rel;
	if (p->last_fd >= 0 && strlen(p->last_dir) == len && memcmp(p->last_dir, rel, len) == 0)
		return p->last_fd;
	fd = open_parent(p->dest_fd, rel, ret_leaf);
	if (fd < 0)
		return fd;
	if (p->last_fd >= 0)
		close(p->last_fd);
	p->last_fd = fd;
	memcpy(p->last_dir, rel, len);
	p->last_dir[len] = '\0';
	return fd;
}

static int extract_file(struct pass *p, struct entry *e, mode_t mode)
{
	char rel[MAX_NAME_BYTES + 1];
	const char *leaf;
	int dir, fd, r;

	if (!e->out || p->dest_fd < 0)
		return copy_data(p, e, -1);
	snprintf(rel, sizeof(rel), "%s", e->out);
	dir = parent_of(p, rel, &leaf);
	if (dir < 0)
		return dir == -ENOTDIR || dir == -EEXIST
			   ? refuse(p, "wheel_duplicate_entry",
				    "'%s' is both a file and a "
				    "directory",
				    e->path)
			   : rb_fail_sys(p->err, -dir, "create the directory of '%s'", e->out);
	fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    (mode & 0111) ? 0555 : 0444);
	r = fd < 0 ? -errno : 0;
	if (r == 0 && fchmod(fd, (mode & 0111) ? 0555 : 0444) < 0) { /* not the umask's */
		r = -errno;
		close(fd);
	}
	if (r == -EEXIST || r == -EISDIR)
		return refuse(p, "wheel_duplicate_entry", "two entries land on '%s'", e->out);
	if (r < 0)
		return rb_fail_sys(p->err, -r, "create '%s'", e->out);
	r = copy_data(p, e, fd);
	if (r >= 0 && close(fd) < 0)
		return rb_fail_sys(p->err, errno, "write '%s'", e->out);
	if (r < 0)
		close(fd);
	return r;
}

static const char *entry_name(struct archive_entry *ae)
{
	const char *s = archive_entry_pathname_utf8(ae);

	return s ? s : archive_entry_pathname(ae);
}

static int check_type(struct pass *p, struct archive_entry *ae, const char *path)
{
	mode_t type = archive_entry_filetype(ae);

	if (archive_entry_hardlink(ae) || archive_entry_symlink(ae) || type == AE_IFLNK)
		return refuse(p, "wheel_special_entry",
			      "'%s' is a link; wheels hold only "
			      "regular files and directories",
			      path);
	if (type != AE_IFREG && type != AE_IFDIR)
		return refuse(p, "wheel_special_entry", "'%s' is a device, fifo or socket", path);
	if (archive_entry_mode(ae) & 07000)
		return refuse(p, "wheel_special_entry", "'%s' has a setuid, setgid or sticky bit",
			      path);
	return 0;
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/*
 * The module an extracted entry makes importable at the top of the tree:
 * "json/x.py" -> "json", "typing.py" -> "typing", "_x.cpython-311.so" ->
 * "_x".  Refused when it is reserved: on PYTHONPATH the tree would shadow
 * the standard library's module of that name for every program using it.
 */
static int check_shadowing(struct pass *p, const struct entry *e)
{
	char top[MAX_NAME_BYTES + 1];
	const char *slash;
	size_t len;

	if (!e->out || !p->lim->reserved)
		return 0;
	slash = strchr(e->out, '/');
	len = slash ? (size_t)(slash - e->out) : strlen(e->out);
	memcpy(top, e->out, len);
	top[len] = '\0';
	if (!slash && !e->is_dir)
		top[strcspn(top, ".")] = '\0';
	if (!bsearch(top, p->lim->reserved, p->lim->n_reserved, sizeof(char *), cmp_name))
		return 0;
	return refuse(p, "wheel_shadows_stdlib",
		      "'%s' would shadow the standard library's '%s' module (dependency trees "
		      "come before the standard library on the import path)",
		      e->path, top);
}

static int add_entry(struct pass *p, struct archive_entry *ae)
{
	const char *path = entry_name(ae), *why;
	struct entry *e;
	bool is_dir;
	int r;

	if (!path)
		return refuse(p, "wheel_unsafe_path", "entry %zu has a name that is not UTF-8",
			      p->n);
	why = path_problem(path, &is_dir);
	if (why)
		return refuse(p, "wheel_unsafe_path", "entry '%s' has %s", path, why);
	r = check_type(p, ae, path);
	if (r < 0)
		return r;
	if (p->n == p->lim->max_entries)
		return refuse(p, "wheel_too_large", "the wheel has more than %zu entries",
			      p->lim->max_entries);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct entry *ne = realloc(p->e, cap * sizeof(*ne));

		if (!ne)
			return rb_fail_sys(p->err, ENOMEM, "read the wheel");
		p->e = ne;
		p->cap = cap;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	e->is_dir = is_dir || archive_entry_filetype(ae) == AE_IFDIR;
	p->n++;
	r = e->path ? map_path(p, path, &e->out) : -ENOMEM;
	if (r == -ENOMEM)
		return rb_fail_sys(p->err, ENOMEM, "read the wheel");
	if (r >= 0)
		r = check_shadowing(p, e);
	if (r < 0)
		return r;
	if (archive_entry_size_is_set(ae) &&
	    (uint64_t)archive_entry_size(ae) > p->lim->max_entry_bytes)
		return refuse(p, "wheel_too_large", "'%s' declares %lld bytes uncompressed", path,
			      (long long)archive_entry_size(ae));
	if (e->is_dir)
		return e->out && p->dest_fd >= 0 ? make_out_dir(p, e) : 0;
	return extract_file(p, e, archive_entry_mode(ae));
}

static int read_entries(struct pass *p)
{
	struct archive_entry *ae;
	int r;

	for (;;) {
		r = archive_read_next_header(p->a, &ae);
		if (r == ARCHIVE_EOF)
			return p->n ? 0 : refuse(p, "wheel_corrupt", "the wheel has no entries");
		if (r < ARCHIVE_WARN)
			return refuse(p, "wheel_corrupt", "not a readable zip: %s",
				      archive_error_string(p->a));
		r = add_entry(p, ae);
		if (r < 0)
			return r;
	}
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static int cmp_out(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a,
			   *y = *(const struct entry *const *)b;

	return strcmp(x->out, y->out);
}

/* Two entries landing on one path (also when only checking, not extracting). */
static int check_duplicates(struct pass *p)
{
	const struct entry **v = calloc(p->n + 1, sizeof(const struct entry *));
	size_t m = 0;
	int r = 0;

	if (!v)
		return rb_fail_sys(p->err, ENOMEM, "check the wheel");
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].out && !p->e[i].is_dir)
			v[m++] = &p->e[i];
	qsort(v, m, sizeof(const struct entry *), cmp_out);
	for (size_t i = 1; i < m && r >= 0; i++)
		if (strcmp(v[i]->out, v[i - 1]->out) == 0)
			r = refuse(p, "wheel_duplicate_entry", "two entries land on '%s'",
				   v[i]->out);
	free(v);
	return r;
}

/* One CSV field of RECORD (a quoted one may hold ',' and '""'); advances *s. */
static char *csv_field(char **s)
{
	char *in = *s, *out = *s, *start = *s;

	if (*in == '"') {
		for (in++; *in; in++) {
			if (*in == '"' && in[1] == '"')
				*out++ = *in++;
			else if (*in == '"')
				break;
			else
				*out++ = *in;
		}
		if (*in == '"')
			in++;
	} else {
		while (*in && *in != ',')
			*out++ = *in++;
	}
	*s = *in == ',' ? in + 1 : in;
	*out = '\0';
	return start;
}

static bool is_record_file(const struct pass *p, const char *path)
{
	size_t l = strlen(p->distinfo);

	return strncmp(path, p->distinfo, l) == 0 && path[l] == '/' &&
	       (strcmp(path + l + 1, "RECORD") == 0 || strcmp(path + l + 1, "RECORD.jws") == 0 ||
		strcmp(path + l + 1, "RECORD.p7s") == 0);
}

static int check_row(struct pass *p, const char *path, const char *hash, const char *size)
{
	struct entry key = {.path = (char *)path}, *e;
	char want[SHA256_B64URL_LEN + 1];

	e = bsearch(&key, p->e, p->n, sizeof(*p->e), cmp_path);
	if (!e || e->is_dir)
		return refuse(p, "wheel_record_mismatch",
			      "RECORD lists '%s', which the wheel does not hold", path);
	e->recorded = true;
	if (is_record_file(p, path))
		return 0;
	if (strncmp(hash, "sha256=", 7) != 0)
		return refuse(p, "wheel_record_mismatch",
			      "RECORD gives '%s' no sha256 hash (only sha256 is checked)", path);
	sha256_b64url(e->digest, want);
	if (strcmp(hash + 7, want) != 0)
		return refuse(p, "wheel_record_mismatch", "'%s' has sha256 %s but RECORD says %s",
			      path, want, hash + 7);
	if (strtoull(size, NULL, 10) != e->size || !*size)
		return refuse(p, "wheel_record_mismatch", "'%s' has %llu bytes but RECORD says %s",
			      path, (unsigned long long)e->size, size);
	return 0;
}

static int check_record(struct pass *p)
{
	char *save = NULL;
	int r = 0;

	if (!p->record)
		return refuse(p, "wheel_record_mismatch", "the wheel has no %s/RECORD",
			      p->distinfo[0] ? p->distinfo : "<name>.dist-info");
	qsort(p->e, p->n, sizeof(*p->e), cmp_path);
	for (char *line = strtok_r(p->record, "\r\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *path = csv_field(&line), *hash = csv_field(&line), *size = csv_field(&line);

		r = check_row(p, path, hash, size);
	}
	for (size_t i = 0; i < p->n && r >= 0; i++)
		if (!p->e[i].is_dir && !p->e[i].recorded && !is_record_file(p, p->e[i].path))
			r = refuse(p, "wheel_record_mismatch", "'%s' is not listed in RECORD",
				   p->e[i].path);
	return r;
}

/* The .dist-info directory is "<name>-<version>.dist-info" of the file name's project. */
static int check_distinfo_name(struct pass *p)
{
	char dir[sizeof(p->distinfo)], name[256];
	char *dash;
	struct version have, want;

	snprintf(dir, sizeof(dir), "%s", p->distinfo);
	if (strlen(dir) <= strlen(".dist-info"))
		return refuse(p, "wheel_bad_metadata", "the wheel has no <name>.dist-info");
	dir[strlen(dir) - strlen(".dist-info")] = '\0';
	dash = strrchr(dir, '-');
	if (dash)
		*dash = '\0';
	if (dash)
		requirement_normalize_name(dir, name, sizeof(name));
	if (!dash || strcmp(name, p->wn->name) != 0 || version_parse(dash + 1, &have) < 0 ||
	    version_parse(p->wn->version, &want) < 0 || version_compare(&have, &want) != 0)
		return refuse(p, "wheel_metadata_mismatch",
			      "its metadata directory is '%s' but the file name says %s %s",
			      p->distinfo, p->wn->name, p->wn->version);
	return 0;
}

static int check_metadata(struct pass *p)
{
	struct wheelmeta m;
	struct version have, want;
	char name[256];
	int r;

	if (!p->metadata)
		return refuse(p, "wheel_bad_metadata", "the wheel has no %s/METADATA",
			      p->distinfo[0] ? p->distinfo : "<name>.dist-info");
	r = check_distinfo_name(p);
	if (r < 0)
		return r;
	r = wheelmeta_parse(p->metadata, p->metadata_len, &m, p->err);
	if (r < 0)
		return r;
	requirement_normalize_name(m.name, name, sizeof(name));
	if (strcmp(name, p->wn->name) != 0 || version_parse(m.version, &have) < 0 ||
	    version_parse(p->wn->version, &want) < 0 || version_compare(&have, &want) != 0)
		r = refuse(p, "wheel_metadata_mismatch",
			   "METADATA says %s %s but the file name says %s %s", m.name, m.version,
			   p->wn->name, p->wn->version);
	wheelmeta_free(&m);
	return r;
}

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->e[i].path);
		free(p->e[i].out);
	}
	free(p->e);
	free(p->metadata);
	free(p->record);
	if (p->last_fd >= 0)
		close(p->last_fd);
	if (p->a)
		archive_read_free(p->a);
}

static int open_archive(struct pass *p, int wheel_fd)
{
	struct stat st;

	if (fstat(wheel_fd, &st) < 0)
		return rb_fail_sys(p->err, errno, "stat the wheel");
	p->wheel_size = (uint64_t)st.st_size;
	p->a = archive_read_new();
	if (!p->a)
		return rb_fail_sys(p->err, ENOMEM, "read the wheel");
	/* The central directory, as pip's zipfile reads it, not local headers. */
	if (archive_read_support_format_zip_seekable(p->a) != ARCHIVE_OK ||
	    archive_read_open_fd(p->a, wheel_fd, 65536) != ARCHIVE_OK)
		return refuse(p, "wheel_corrupt", "not a readable zip: %s",
			      archive_error_string(p->a));
	return 0;
}

int wheel_extract(int wheel_fd, const struct wheel_name *wn, int dest_fd,
		  const struct wheel_limits *lim, struct wheel_info *ret, struct rb_err *err)
{
	struct pass p = {.wn = wn, .lim = lim, .dest_fd = dest_fd, .err = err, .last_fd = -1};
	size_t files = 0;
	/*
	 * Zip names flagged UTF-8 are converted to the locale's charset; in the
	 * C locale every non-ASCII name would fail, so this thread reads the
	 * wheel in C.UTF-8 (built into glibc since 2.35; without it, as before).
	 */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	int r = open_archive(&p, wheel_fd);

	if (r >= 0)
		r = read_entries(&p);
	if (r >= 0)
		r = check_duplicates(&p);
	if (r >= 0)
		r = check_record(&p);
	if (r >= 0)
		r = check_metadata(&p);
	if (r >= 0) {
		for (size_t i = 0; i < p.n; i++)
			files += !p.e[i].is_dir;
		*ret = (struct wheel_info){p.metadata, p.metadata_len, files, p.total};
		p.metadata = NULL;
	}
	pass_free(&p);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return r;
}
