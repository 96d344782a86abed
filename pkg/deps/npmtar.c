/*
 * npmtar: one pass over the tar's entries in order; each file is written
 * as it is read, package.json kept in memory as well.  A refusal after some
 * files were written leaves them for the caller to remove with the
 * temporary directory it extracted into.
 */
#define _GNU_SOURCE
#include "deps/npmtar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/fdio.h"
#include "deps/npmresolve.h"
#include "deps/semver.h"

#define MiB		 (1024ULL * 1024)
#define MAX_NAME_BYTES	 1024
#define MAX_SEGMENTS	 64
#define MAX_PACKAGE_JSON (1 * MiB)
#define TOP_MAX		 256

void npmtar_limits_default(struct npmtar_limits *ret)
{
	ret->max_entries = 20000;
	ret->max_entry_bytes = 256 * MiB;
	ret->max_total_bytes = 1024 * MiB;
	ret->max_ratio = 200;
}

struct pass {
	const struct npmtar_limits *lim;
	struct archive *a;
	int dest_fd;
	uint64_t tar_size, total;
	size_t entries;
	char top[TOP_MAX]; /* the one top directory ("package") */
	char *pkg_json;
	size_t pkg_len;
	bool binding_gyp;
	struct npmtar_info *info;
	struct rb_err *err;
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
static const char *path_problem(const char *path)
{
	size_t len = strlen(path), segs = 0;
	const char *seg = path;

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
		if ((c == seg && *c) || (c - seg == 1 && seg[0] == '.') ||
		    (c - seg == 2 && strncmp(seg, "..", 2) == 0))
			return "a '..', '.' or empty segment";
		if (++segs > MAX_SEGMENTS)
			return "more than 64 segments";
		if (!*c || !c[1])
			break;
		seg = c + 1;
	}
	return NULL;
}

/* The top directory of @path must be the first entry's; returns the rest ("" for the top). */
static int strip_top(struct pass *p, const char *path, const char **ret_rest)
{
	size_t top = strcspn(path, "/");

	if (!p->top[0]) {
		if (top >= TOP_MAX)
			return refuse(p, "npm_bad_package", "the top directory of '%s' is too long",
				      path);
		memcpy(p->top, path, top);
		p->top[top] = '\0';
	}
	if (strlen(p->top) != top || strncmp(path, p->top, top) != 0)
		return refuse(p, "npm_bad_package",
			      "entries under two top directories ('%s' and '%.*s'); npm pack "
			      "puts everything under one ('package/')",
			      p->top, (int)top, path);
	*ret_rest = path + top + (path[top] == '/');
	return 0;
}

/*
 * Open (creating) the directory holding @rel, relative to @root: its fd, with
 * *ret_leaf the last part of @rel, or -errno.
 */
static int open_parent(int root, char *rel, const char **ret_leaf)
{
	int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
	char *seg = rel, *slash;

	*ret_leaf = rel;
	while (fd >= 0 && (slash = strchr(seg, '/')) && slash[1]) {
		int next, e;

		*slash = '\0';
		/* 0755, not the umask's: the program reads it */
		if (mkdirat(fd, seg, 0755) == 0 && fchmodat(fd, seg, 0755, 0) < 0)
			next = -1;
		else
			next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		*slash = '/';
		close(fd);
		if (next < 0)
			return -e;
		fd = next;
		seg = slash + 1;
	}
	*ret_leaf = seg;
	return fd < 0 ? -errno : fd;
}

static int check_sizes(struct pass *p, const char *path, uint64_t size)
{
	if (size > p->lim->max_entry_bytes)
		return refuse(p, "npm_too_large", "'%s' is larger than %llu bytes", path,
			      (unsigned long long)p->lim->max_entry_bytes);
	if (p->total > p->lim->max_total_bytes)
		return refuse(p, "npm_too_large", "the package is larger than %llu bytes unpacked",
			      (unsigned long long)p->lim->max_total_bytes);
	if (p->total > MiB && p->total / (p->tar_size ? p->tar_size : 1) >= p->lim->max_ratio)
		return refuse(p, "npm_bomb",
			      "the tarball (%llu bytes) expands past %u times its size at '%s'",
			      (unsigned long long)p->tar_size, p->lim->max_ratio, path);
	return 0;
}

static int keep_package_json(struct pass *p, const char *data, size_t n)
{
	char *b;

	if (p->pkg_len + n > MAX_PACKAGE_JSON)
		return refuse(p, "npm_bad_package", "package.json is larger than 1 MiB");
	b = realloc(p->pkg_json, p->pkg_len + n + 1);
	if (!b)
		return rb_fail_sys(p->err, ENOMEM, "read package.json");
	memcpy(b + p->pkg_len, data, n);
	p->pkg_len += n;
	b[p->pkg_len] = '\0';
	p->pkg_json = b;
	return 0;
}

/* Stream one file's data: count it, write it (@out_fd >= 0), keep package.json. */
static int copy_data(struct pass *p, const char *path, bool is_pkg_json, int out_fd)
{
	uint64_t size = 0;
	int r = 0;

	for (;;) {
		la_ssize_t n = archive_read_data(p->a, p->buf, sizeof(p->buf));

		if (n == 0)
			return 0;
		if (n < 0)
			return refuse(p, "npm_corrupt", "reading '%s' failed: %s", path,
				      archive_error_string(p->a));
		size += (uint64_t)n;
		p->total += (uint64_t)n;
		r = check_sizes(p, path, size);
		if (r >= 0 && out_fd >= 0 && (r = fd_write_all(out_fd, p->buf, (size_t)n)) < 0)
			r = rb_fail_sys(p->err, -r, "write '%s'", path);
		if (r >= 0 && is_pkg_json)
			r = keep_package_json(p, p->buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

static int extract_file(struct pass *p, const char *rel, mode_t mode)
{
	char buf[MAX_NAME_BYTES + 1];
	const char *leaf;
	bool pkg = strcmp(rel, "package.json") == 0;
	mode_t m = (mode & 0111) ? 0555 : 0444;
	int dir, fd, r;

	if (p->dest_fd < 0)
		return copy_data(p, rel, pkg, -1);
	snprintf(buf, sizeof(buf), "%s", rel);
	dir = open_parent(p->dest_fd, buf, &leaf);
	if (dir == -ENOTDIR || dir == -EEXIST || dir == -ELOOP)
		return refuse(p, "npm_duplicate_entry", "'%s' is both a file and a directory", rel);
	if (dir < 0)
		return rb_fail_sys(p->err, -dir, "create the directory of '%s'", rel);
	fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m);
	r = fd < 0 ? -errno : 0;
	close(dir);
	if (r == -EEXIST || r == -EISDIR)
		return refuse(p, "npm_duplicate_entry", "two entries land on '%s'", rel);
	if (r < 0)
		return rb_fail_sys(p->err, -r, "create '%s'", rel);
	if (fchmod(fd, m) < 0) /* not the umask's */
		r = rb_fail_sys(p->err, errno, "chmod '%s'", rel);
	if (r >= 0)
		r = copy_data(p, rel, pkg, fd);
	if (close(fd) < 0 && r >= 0)
		r = rb_fail_sys(p->err, errno, "write '%s'", rel);
	return r;
}

static int make_dir(struct pass *p, const char *rel)
{
	char buf[MAX_NAME_BYTES + 2];
	const char *leaf;
	int fd;

	if (p->dest_fd < 0 || !rel[0])
		return 0;
	snprintf(buf, sizeof(buf), "%s%s", rel, rel[strlen(rel) - 1] == '/' ? "" : "/");
	fd = open_parent(p->dest_fd, buf, &leaf);
	if (fd == -ENOTDIR || fd == -EEXIST || fd == -ELOOP)
		return refuse(p, "npm_duplicate_entry", "'%s' is both a file and a directory", rel);
	if (fd < 0)
		return rb_fail_sys(p->err, -fd, "create directory '%s'", rel);
	close(fd);
	return 0;
}

static const char *entry_name(struct archive_entry *ae)
{
	const char *s = archive_entry_pathname_utf8(ae);

	return s ? s : archive_entry_pathname(ae);
}

/* Only regular files and directories, without special mode bits. */
static int check_type(struct pass *p, struct archive_entry *ae, const char *path)
{
	mode_t type = archive_entry_filetype(ae), mode = archive_entry_perm(ae);

	if (archive_entry_hardlink(ae) || archive_entry_symlink(ae) ||
	    (type != AE_IFREG && type != AE_IFDIR))
		return refuse(p, "npm_special_entry",
			      "'%s' is a link or special file; npm packages hold only files and "
			      "directories",
			      path);
	if (mode & (S_ISUID | S_ISGID | S_ISVTX))
		return refuse(p, "npm_special_entry", "'%s' has a setuid, setgid or sticky bit",
			      path);
	return 0;
}

static int one_entry(struct pass *p, struct archive_entry *ae)
{
	const char *path = entry_name(ae), *why, *rel = "";
	int r;

	if (!path)
		return refuse(p, "npm_unsafe_path", "an entry has no name");
	why = path_problem(path);
	if (why)
		return refuse(p, "npm_unsafe_path", "'%.300s' has %s", path, why);
	r = check_type(p, ae, path);
	if (r >= 0)
		r = strip_top(p, path, &rel);
	if (r < 0)
		return r;
	if (++p->entries > p->lim->max_entries)
		return refuse(p, "npm_too_large", "more than %zu entries", p->lim->max_entries);
	if (archive_entry_filetype(ae) == AE_IFDIR)
		return make_dir(p, rel);
	if (!rel[0])
		return refuse(p, "npm_bad_package", "'%s' is a file at the top", path);
	p->binding_gyp = p->binding_gyp || strcmp(rel, "binding.gyp") == 0;
	p->info->files++;
	r = extract_file(p, rel, archive_entry_perm(ae));
	return r;
}

static int read_entries(struct pass *p)
{
	struct archive_entry *ae;
	int r;

	for (;;) {
		r = archive_read_next_header(p->a, &ae);
		if (r == ARCHIVE_EOF)
			return p->entries ? 0
					  : refuse(p, "npm_corrupt", "the tarball holds no entry");
		if (r != ARCHIVE_OK)
			return refuse(p, "npm_corrupt", "not a readable tar: %s",
				      archive_error_string(p->a));
		r = one_entry(p, ae);
		if (r < 0)
			return r;
	}
}

/* The scripts npm would run at install, by name. */
static void install_scripts(struct pass *p)
{
	static const char *const hooks[] = {"preinstall", "install", "postinstall"};
	const cJSON *scripts = cJSON_GetObjectItemCaseSensitive(p->info->package, "scripts");
	char *out = p->info->install_scripts;
	size_t n = 0, size = sizeof(p->info->install_scripts);

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(scripts, hooks[i])))
			n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
					      n ? "," : "", hooks[i]);
	if (p->binding_gyp && !strstr(out, "install"))
		snprintf(out + n, n < size ? size - n : 0, "%sbinding.gyp", n ? "," : "");
}

/* package.json: an object with npm's name and a semver version. */
static int check_package(struct pass *p)
{
	const cJSON *name, *version;
	struct semver v;

	if (!p->pkg_json)
		return refuse(p, "npm_bad_package", "no package.json in '%s/'", p->top);
	p->info->package = cJSON_ParseWithLength(p->pkg_json, p->pkg_len);
	name = cJSON_GetObjectItemCaseSensitive(p->info->package, "name");
	version = cJSON_GetObjectItemCaseSensitive(p->info->package, "version");
	if (!cJSON_IsObject(p->info->package))
		return refuse(p, "npm_bad_package", "package.json is not a JSON object");
	if (!cJSON_IsString(name) || !npm_name_valid(name->valuestring))
		return refuse(p, "npm_bad_package",
			      "package.json's \"name\" is not an npm package name");
	if (!cJSON_IsString(version) || semver_parse(version->valuestring, &v) < 0)
		return refuse(p, "npm_bad_package",
			      "package.json's \"version\" of %s is not a semantic version",
			      name->valuestring);
	p->info->name = name->valuestring;
	p->info->version = version->valuestring;
	install_scripts(p);
	return 0;
}

int npmtar_extract(int tar_fd, int dest_fd, const struct npmtar_limits *lim,
		   struct npmtar_info *ret, struct rb_err *err)
{
	struct pass *p = calloc(1, sizeof(*p));
	struct npmtar_info info = {0};
	struct stat st;
	int r;

	if (!p)
		return rb_fail_sys(err, ENOMEM, "read a tarball");
	*p = (struct pass){.lim = lim, .dest_fd = dest_fd, .info = &info, .err = err};
	p->tar_size = fstat(tar_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	p->a = archive_read_new();
	if (!p->a)
		r = rb_fail_sys(err, ENOMEM, "read a tarball");
	else if (archive_read_support_filter_gzip(p->a) != ARCHIVE_OK ||
		 archive_read_support_filter_none(p->a) != ARCHIVE_OK ||
		 archive_read_support_format_tar(p->a) != ARCHIVE_OK ||
		 archive_read_open_fd(p->a, tar_fd, 65536) != ARCHIVE_OK)
		r = refuse(p, "npm_corrupt", "not a readable tar: %s", archive_error_string(p->a));
	else
		r = read_entries(p);
	if (r >= 0)
		r = check_package(p);
	info.bytes = p->total;
	if (p->a)
		archive_read_free(p->a);
	free(p->pkg_json);
	free(p);
	if (r < 0) {
		cJSON_Delete(info.package);
		return r;
	}
	*ret = info;
	return 0;
}
