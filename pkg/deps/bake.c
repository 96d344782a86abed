/*
 * bake: the `runbox bake` pass over a wheel directory (see bake.h).
 */
#define _GNU_SOURCE
#include "deps/bake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fdio.h"
#include "deps/target.h"
#include "deps/unpack.h"
#include "deps/requirement.h"
#include "deps/wheelcache.h"
#include "deps/wheelmeta.h"
#include "deps/wheelname.h"
#include "deps/wheelreqs.h"
#include "base/tree.h"

#define MAX_WHEELS 10000

struct bake {
	const struct bake_opts *o;
	struct target tg;
	cJSON *target, *packages, *skipped; /* target: tg.json */
	struct marker_env env;
	struct wheel_target wt;
	struct wheel_limits lim; /* the options', with the stdlib's names reserved */
	const char **stdlib;
	int wheel_dir, cache_fd, site_fd, wheels_fd;
	struct rb_err *err;
};

/* The interpreter's tags, markers and standard library (reserved: no wheel may shadow it). */
static int ask_target(struct bake *b)
{
	int r = target_probe(b->o->python, &b->tg, b->err);

	if (r < 0)
		return r;
	b->target = b->tg.json;
	b->env = b->tg.env;
	b->wt = b->tg.wt;
	b->stdlib = b->tg.stdlib;
	b->lim = b->o->limits;
	b->lim.reserved = b->tg.stdlib;
	b->lim.n_reserved = b->tg.n_stdlib;
	return 0;
}

static void skip(struct bake *b, const char *wheel, const char *code, const char *reason)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "wheel", wheel);
	cJSON_AddStringToObject(s, "code", code);
	cJSON_AddStringToObject(s, "reason", reason);
	cJSON_AddItemToArray(b->skipped, s);
}

static int open_dir_at(int at, const char *name, bool create, int *ret, struct rb_err *err)
{
	if (create && mkdirat(at, name, 0755) < 0 && errno != EEXIST)
		return rb_fail_sys(err, errno, "create directory '%s'", name);
	*ret = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*ret < 0)
		return rb_fail_sys(err, errno, "open directory '%s'", name);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.whl names of the wheel directory, sorted (a stable index). */
static int list_wheels(struct bake *b, char ***ret, size_t *ret_n)
{
	int fd = dup(b->wheel_dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = calloc(MAX_WHEELS, sizeof(*v));
	struct dirent *de;
	size_t n = 0;

	if (!d || !v) {
		if (fd >= 0 && !d)
			close(fd);
		if (d)
			closedir(d);
		free(v);
		return rb_fail_sys(b->err, errno ? errno : ENOMEM, "list '%s'", b->o->wheel_dir);
	}
	while ((de = readdir(d)) && n < MAX_WHEELS) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".whl") == 0 && de->d_name[0] != '.')
			if (!(v[n++] = strdup(de->d_name)))
				n--;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The index entry of a checked wheel: name, version, requirements per extra. */
static int describe(struct bake *b, const struct wheel_name *wn, const char *file, const char *tree,
		    const struct wheel_info *info, cJSON **ret)
{
	struct wheelmeta m;
	cJSON *e = cJSON_CreateObject();
	int r = wheelmeta_parse(info->metadata, info->metadata_len, &m, b->err);

	if (r < 0) {
		cJSON_Delete(e);
		return r;
	}
	cJSON_AddStringToObject(e, "name", wn->name);
	cJSON_AddStringToObject(e, "version", tree + strlen(wn->name) + 1);
	cJSON_AddStringToObject(e, "wheel", file);
	cJSON_AddStringToObject(e, "tree", tree);
	cJSON_AddBoolToObject(e, "lazy", b->o->lazy);
	cJSON_AddNumberToObject(e, "files", (double)info->files);
	cJSON_AddNumberToObject(e, "bytes", (double)info->bytes);
	r = wheelreqs_describe(&m, &b->env, e, b->err);
	wheelmeta_free(&m);
	if (r < 0)
		cJSON_Delete(e);
	else
		*ret = e;
	return r;
}

static bool have_tree(const struct bake *b, const char *tree)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, b->packages) if (strcmp(
						   cJSON_GetStringValue(
						       cJSON_GetObjectItemCaseSensitive(p, "tree")),
						   tree) == 0) return true;
	return false;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	if (lseek(in, 0, SEEK_SET) < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (fd_write_all(out, buf, (size_t)n) < 0)
			return -errno;
	}
	return 0;
}

/* --lazy: the checked wheel goes to CACHE_DIR/wheels/ (temp file + rename). */
static int store_wheel(struct bake *b, int fd, const char *file)
{
	char tmp[700];
	struct stat st;
	int out, r;

	if (fstatat(b->wheels_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return 0; /* baked before: keep it, so a second bake changes nothing */
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%s", (int)getpid(), file);
	out = openat(b->wheels_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (out < 0)
		return rb_fail_sys(b->err, errno, "create '%s/wheels/%s'", b->o->cache_dir, tmp);
	r = copy_fd(fd, out);
	if (r >= 0 && fsync(out) < 0)
		r = -errno;
	close(out);
	if (r >= 0 && renameat(b->wheels_fd, tmp, b->wheels_fd, file) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(b->wheels_fd, tmp, 0);
		return rb_fail_sys(b->err, -r, "copy '%s' into the cache", file);
	}
	return 0;
}

/*
 * Check the wheel; extract it into site/.tmp-<tree> unless lazy or already
 * there (a tree is renamed in only once complete, so one that exists is).
 */
static int check_wheel(struct bake *b, int fd, const struct wheel_name *wn, const char *tree,
		       struct wheel_info *info, bool *ret_extracted)
{
	char tmp[700];
	struct stat st;
	int dest = -1, r;

	*ret_extracted = false;
	if (!b->o->lazy && fstatat(b->site_fd, tree, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(tmp, sizeof(tmp), ".tmp-%d-%s", (int)getpid(), tree);
		r = tree_remove_at(b->site_fd, tmp); /* an earlier bake's, of the same pid */
		if (r < 0)
			return rb_fail_sys(b->err, -r, "remove the leftover '%s'", tmp);
		r = open_dir_at(b->site_fd, tmp, true, &dest, b->err);
		if (r < 0)
			return r;
		*ret_extracted = true;
	}
	r = wheel_extract(fd, wn, dest, &b->lim, info, b->err);
	if (dest >= 0)
		close(dest);
	return r; /* a failed extraction's tree goes in finish_tree() */
}

static int finish_tree(struct bake *b, const char *tree, bool extracted, bool keep)
{
	char tmp[700];
	int r;

	if (!extracted)
		return 0;
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%s", (int)getpid(), tree);
	if (keep && renameat(b->site_fd, tmp, b->site_fd, tree) < 0) {
		r = errno;
		(void)tree_remove_at(b->site_fd, tmp); /* the rename's failure is the one to tell */
		return rb_fail_sys(b->err, r, "rename the tree of %s into place", tree);
	}
	/* A tree left in the cache is the host's failure, whatever the wheel's was. */
	r = keep ? 0 : tree_remove_at(b->site_fd, tmp);
	return r < 0 ? rb_fail_sys(b->err, -r, "remove the unfinished tree '%s'", tmp) : 0;
}

/* Bytecode for a tree just extracted at site/.tmp-<pid>-<tree> (see unpack.h). */
static int compile_tree(struct bake *b, const char *tree)
{
	char tmp[700], abs[PATH_MAX], dir[PATH_MAX + 800], final[PATH_MAX + 800];
	int fd, r;

	if (!realpath(b->o->cache_dir, abs))
		return rb_fail_sys(b->err, errno, "resolve '%s'", b->o->cache_dir);
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%s", (int)getpid(), tree);
	snprintf(dir, sizeof(dir), "%s/site/%s", abs, tmp);
	snprintf(final, sizeof(final), "%s/site/%s", abs, tree);
	fd = openat(b->site_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rb_fail_sys(b->err, errno, "open '%s'", dir);
	r = unpack_compile(b->o->python, dir, final, fd, stderr, b->err);
	close(fd);
	return r;
}

static int open_wheel(struct bake *b, const char *file, int *ret)
{
	struct stat st;
	int fd = openat(b->wheel_dir, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return rb_fail(b->err, RB_FAULT_REQUEST, 0, "wheel_corrupt", NULL,
			       "it is not a regular file that can be read");
	}
	*ret = fd;
	return 0;
}

/*
 * A package the interpreter has pre-installed is resolved to that
 * installation only (resolve.h): a baked one of the same name is never
 * used.  Marked in the index ("shadowed_by") and said, not refused, so
 * that a wheel directory shared between interpreters still bakes.
 */
static void shadow_check(struct bake *b, cJSON *entry)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "name"));
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(b->target, "preinstalled"), name);

	if (!cJSON_IsString(pre))
		return;
	cJSON_AddStringToObject(entry, "shadowed_by", pre->valuestring);
	if (b->o->note)
		fprintf(b->o->note,
			"runbox bake: warning: %s %s is pre-installed for %s and always wins: the "
			"baked %s %s will never be used (remove its wheel)\n",
			name, pre->valuestring, b->o->python, name,
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "version")));
}

/* One wheel: baked into b->packages, or skipped with its code and reason. */
static int bake_one(struct bake *b, const char *file)
{
	struct wheel_name wn;
	struct wheel_info info = {0};
	struct version v;
	char tree[600], ver[256], why[512];
	cJSON *entry = NULL;
	bool extracted = false;
	int fd = -1, r;

	r = wheelname_parse(file, &wn, b->err);
	if (r >= 0 && !wheelname_compatible(&wn, &b->wt, why, sizeof(why)))
		r = rb_fail(b->err, RB_FAULT_REQUEST, 0, "wheel_incompatible", NULL, "%s", why);
	if (r >= 0) {
		version_parse(wn.version, &v);
		version_format(&v, ver, sizeof(ver));
		snprintf(tree, sizeof(tree), "%s-%s", wn.name, ver);
		if (have_tree(b, tree))
			r = rb_fail(b->err, RB_FAULT_REQUEST, 0, "wheel_duplicate", NULL,
				    "another wheel of %s %s was baked already", wn.name, ver);
	}
	if (r >= 0)
		r = open_wheel(b, file, &fd);
	if (r >= 0)
		r = check_wheel(b, fd, &wn, tree, &info, &extracted);
	if (r >= 0)
		r = describe(b, &wn, file, tree, &info, &entry);
	if (r >= 0 && extracted)
		r = compile_tree(b, tree);
	if (r >= 0 && b->o->lazy)
		r = store_wheel(b, fd, file);
	if (fd >= 0)
		close(fd);
	free(info.metadata);
	if (finish_tree(b, tree, extracted, r >= 0) < 0)
		r = -EIO; /* b->err says why: the cache, not the wheel, failed */
	if (r >= 0) {
		shadow_check(b, entry);
		cJSON_AddItemToArray(b->packages, entry);
	} else {
		cJSON_Delete(entry);
	}
	if (r >= 0)
		return 0;
	if (b->err->fault == RB_FAULT_REQUEST)
		skip(b, file, b->err->code, b->err->msg);
	else
		return r; /* the cache or the host failed, not the wheel */
	return 0;
}

/* Whether @path already holds exactly @text (then nothing is rewritten). */
static bool same_content(int dirfd, const char *name, const char *text)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 2);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 && buf ? read(fd, buf, len + 1) : -1;
	bool same = n == (ssize_t)len && memcmp(buf, text, len) == 0;

	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

static int write_index(struct bake *b, cJSON *root)
{
	char *text = cJSON_Print(root), tmp[64];
	size_t len;
	int fd, r = 0;

	if (!text)
		return rb_fail_sys(b->err, ENOMEM, "render index.json");
	len = strlen(text);
	text[len++] = '\n'; /* cJSON_Print's NUL becomes the final newline */
	text = realloc(text, len + 1);
	text[len] = '\0';
	if (same_content(b->cache_fd, WHEELCACHE_INDEX, text)) {
		free(text);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), ".index.json.tmp-%d", (int)getpid());
	fd = openat(b->cache_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r >= 0 && renameat(b->cache_fd, tmp, b->cache_fd, WHEELCACHE_INDEX) < 0)
		r = -errno;
	free(text);
	if (r < 0) {
		unlinkat(b->cache_fd, tmp, 0);
		return rb_fail_sys(b->err, -r ? -r : EIO, "write '%s/index.json'", b->o->cache_dir);
	}
	fsync(b->cache_fd);
	return 0;
}

static void print_table(FILE *out, const cJSON *root)
{
	const cJSON *packages = cJSON_GetObjectItemCaseSensitive(root, "packages"), *p;
	int shadowed = 0;

	cJSON_ArrayForEach(p, packages)
	{
		shadowed += cJSON_GetObjectItemCaseSensitive(p, "shadowed_by") != NULL;
	}

	fprintf(out, "%-8s %-32s %-16s %s\n", "STATUS", "NAME", "VERSION", "DETAIL");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "packages"))
	{
		const char *pre =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "shadowed_by"));

		fprintf(out, "%-8s %-32s %-16s %s, %.0f files, %.0f bytes",
			pre ? "shadowed" : "baked",
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")),
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "lazy"))
			    ? "lazy (extracted on first use)"
			    : "extracted",
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "files")),
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "bytes")));
		if (pre)
			fprintf(out, "; never used: the pre-installed %s wins", pre);
		fputc('\n', out);
	}
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "skipped"))
	    fprintf(out, "%-8s %s\n         %s: %s\n", "skipped",
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "wheel")),
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "code")),
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "reason")));
	fprintf(out, "%d baked, %d skipped", cJSON_GetArraySize(packages),
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "skipped")));
	if (shadowed)
		fprintf(out, " (%d of the baked shadowed by pre-installed packages)", shadowed);
	fputc('\n', out);
}

static int open_dirs(struct bake *b)
{
	int r;

	b->wheel_dir = open(b->o->wheel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->wheel_dir < 0 && errno == ENOENT)
		return rb_fail(b->err, RB_FAULT_INTERNAL, ENOENT, "no_wheel_dir", NULL,
			       "the wheel directory '%s' does not exist", b->o->wheel_dir);
	if (b->wheel_dir < 0)
		return rb_fail_sys(b->err, errno, "open the wheel directory '%s'", b->o->wheel_dir);
	if (mkdir(b->o->cache_dir, 0755) < 0 && errno != EEXIST)
		return rb_fail_sys(b->err, errno, "create the cache '%s'", b->o->cache_dir);
	r = open_dir_at(AT_FDCWD, b->o->cache_dir, false, &b->cache_fd, b->err);
	if (r >= 0)
		r = open_dir_at(b->cache_fd, "site", true, &b->site_fd, b->err);
	if (r >= 0)
		r = open_dir_at(b->cache_fd, "wheels", true, &b->wheels_fd, b->err);
	return r;
}

static cJSON *index_root(struct bake *b)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddNumberToObject(root, "format", WHEELCACHE_FORMAT);
	cJSON_AddStringToObject(root, "python", b->o->python);
	cJSON_AddItemToObject(
	    root, "target",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b->target, "markers"), true));
	cJSON_AddItemToObject(
	    root, "glibc",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b->target, "glibc"), true));
	cJSON_AddItemToObject(
	    root, "preinstalled",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b->target, "preinstalled"), true));
	cJSON_AddItemToObject(root, "packages", b->packages);
	cJSON_AddItemToObject(root, "skipped", b->skipped);
	b->packages = b->skipped = NULL;
	return root;
}

static void bake_close(struct bake *b)
{
	int fds[] = {b->wheel_dir, b->cache_fd, b->site_fd, b->wheels_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	target_free(&b->tg);
	cJSON_Delete(b->packages);
	cJSON_Delete(b->skipped);
}

/*
 * --platform options for pip download: pip takes each as it is (a
 * manylinux_2_36 wheel only for manylinux_2_36), so the levels wheels are
 * commonly built for, up to this glibc: manylinux2014 (pip adds 2010 and
 * 1 to it), then 2_24, 2_28, 2_31, 2_34 and the interpreter's own.
 */
static void platform_flags(const struct bake *b, char *buf, size_t size)
{
	static const unsigned levels[] = {24, 28, 31, 34};
	const struct wheel_target *t = &b->wt;
	size_t o;

	if (!t->glibc_major) {
		snprintf(buf, size, "--platform linux_%s", t->machine);
		return;
	}
	o = (size_t)snprintf(buf, size, "--platform manylinux2014_%s", t->machine);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]) && o < size; i++)
		if (t->glibc_major == 2 && levels[i] < t->glibc_minor)
			o += (size_t)snprintf(buf + o, size - o, " --platform manylinux_2_%u_%s",
					      levels[i], t->machine);
	if (o < size && (t->glibc_major > 2 || t->glibc_minor > 17))
		snprintf(buf + o, size - o, " --platform manylinux_%u_%u_%s", t->glibc_major,
			 t->glibc_minor, t->machine);
}

/*
 * The line that fetches wheels this interpreter can use: its platforms,
 * Python version and implementation, binary wheels only.
 */
static void download_hint(const struct bake *b)
{
	const char *impl = strcmp(b->env.implementation_name, "pypy") == 0 ? "pp" : "cp";
	char platforms[512], libc[32] = "no glibc";

	if (!b->o->note)
		return;
	platform_flags(b, platforms, sizeof(platforms));
	if (b->wt.glibc_major)
		snprintf(libc, sizeof(libc), "glibc %u.%u", b->wt.glibc_major, b->wt.glibc_minor);
	fprintf(b->o->note,
		"runbox bake: wheels for %s (Python %s on %s, %s) come from, for example:\n"
		"  python3 -m pip download --only-binary=:all: %s --python-version %u.%u "
		"--implementation %s --dest '%s' PACKAGE...\n",
		b->o->python, b->env.python_full_version, b->wt.machine, libc, platforms,
		b->wt.py_major, b->wt.py_minor, impl, b->o->wheel_dir);
}

/* Whether a wheel was skipped for its platform, ABI or Python version. */
static bool skipped_for_target(const cJSON *skipped)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, skipped)
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "code")),
			   "wheel_incompatible") == 0)
			return true;
	}
	return false;
}

static int bake_wheels(struct bake *b, char **wheels, size_t n)
{
	int r = 0;

	if (n == 0 && b->o->note)
		fprintf(b->o->note,
			"runbox bake: '%s' holds no wheels (*.whl): the cache will hold none\n",
			b->o->wheel_dir);
	for (size_t i = 0; r >= 0 && i < n; i++)
		if ((r = bake_one(b, wheels[i])) < 0)
			rb_wrap(b->err, r, wheels[i]);
	if (r >= 0 && (n == 0 || skipped_for_target(b->skipped)))
		download_hint(b);
	return r;
}

int bake_run(const struct bake_opts *o, struct rb_err *err)
{
	struct bake b = {
	    .o = o, .err = err, .wheel_dir = -1, .cache_fd = -1, .site_fd = -1, .wheels_fd = -1};
	char **wheels = NULL;
	size_t n = 0;
	cJSON *root = NULL;
	int r, skipped = 0;

	umask(022); /* the trees must be readable by the programs' uids */
	b.packages = cJSON_CreateArray();
	b.skipped = cJSON_CreateArray();
	/* The interpreter first: a missing WHEEL_DIR then comes with the way to fill it. */
	r = ask_target(&b);
	if (r >= 0)
		r = open_dirs(&b);
	if (r < 0 && strcmp(err->code, "no_wheel_dir") == 0)
		download_hint(&b);
	if (r >= 0)
		r = list_wheels(&b, &wheels, &n);
	if (r >= 0)
		r = bake_wheels(&b, wheels, n);
	if (r >= 0) {
		skipped = cJSON_GetArraySize(b.skipped);
		root = index_root(&b);
		r = write_index(&b, root);
	}
	if (r >= 0)
		print_table(o->out, root);
	for (size_t i = 0; i < n; i++)
		free(wheels[i]);
	free(wheels);
	cJSON_Delete(root);
	bake_close(&b);
	return r < 0 ? r : skipped;
}

int bake_list(const char *cache_dir, FILE *out, struct rb_err *err)
{
	struct wheelcache c;
	int r = wheelcache_load(cache_dir, NULL, &c, err);

	if (r < 0)
		return r;
	fprintf(out, "cache %s, baked for %s\n", cache_dir,
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c.root, "python")));
	print_table(out, c.root);
	wheelcache_free(&c);
	return 0;
}
