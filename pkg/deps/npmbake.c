/*
 * npmbake: one pass over TARBALL_DIR's *.tgz in name order (see
 * npmbake.h), then the pre-installed marks, the index, the sweep of stale
 * trees and the table.
 */
#define _GNU_SOURCE
#include "deps/npmbake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/b64.h"
#include "base/fdio.h"
#include "base/sha512.h"
#include "base/tree.h"
#include "deps/npmcache.h"

#define MAX_TARBALLS 4096

struct bake {
	const struct npmbake_opts *o;
	int cache_fd, npm_fd, pkgs_fd, tar_fd;
	cJSON *lock;	 /* "name@version" -> "sha512-..." from package-lock.json */
	cJSON *old;	 /* the previous index.json's "packages", or NULL */
	cJSON *packages; /* the new index's */
	cJSON *skipped;
	struct rb_err *err;
};

static bool is_tarball(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".tgz") == 0 && name[0] != '.';
}

bool npmbake_has_tarballs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d)))
		found = is_tarball(e->d_name);
	if (d)
		closedir(d);
	return found;
}

/* Open (@create: creating, 0755) directory @name: 0 with *ret the fd, or < 0 with *ret -1. */
static int open_dir_at(int at, const char *name, bool create, int *ret, struct rb_err *err)
{
	int fd, r = 0;

	*ret = -1;
	if (create && mkdirat(at, name, 0755) < 0 && errno != EEXIST)
		return rb_fail_sys(err, errno, "create '%s'", name);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rb_fail_sys(err, errno, "open '%s'", name);
	if (create && fchmod(fd, 0755) < 0) {
		r = rb_fail_sys(err, errno, "chmod '%s'", name);
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

/* ---- package-lock.json: the integrity npm recorded ---- */

/* "node_modules/a/node_modules/@s/b" -> "@s/b" */
static const char *lock_key_name(const char *key)
{
	const char *p = strstr(key, "node_modules/"), *last = NULL;

	for (; p; p = strstr(p + 1, "node_modules/"))
		last = p + strlen("node_modules/");
	return last;
}

static void lock_add(cJSON *lock, const char *name, const cJSON *entry)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "version");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(entry, "integrity");
	char key[NPM_NAME_MAX + 100];

	if (!name || !cJSON_IsString(v) || !cJSON_IsString(i))
		return;
	snprintf(key, sizeof(key), "%s@%s", name, v->valuestring);
	if (!cJSON_GetObjectItemCaseSensitive(lock, key))
		cJSON_AddStringToObject(lock, key, i->valuestring);
}

/* lockfileVersion 1: "dependencies", nested. */
static void lock_v1(cJSON *lock, const cJSON *deps, int depth)
{
	for (const cJSON *d = deps ? deps->child : NULL; d && depth < 32; d = d->next) {
		lock_add(lock, d->string, d);
		lock_v1(lock, cJSON_GetObjectItemCaseSensitive(d, "dependencies"), depth + 1);
	}
}

static int load_lock(struct bake *b)
{
	char *text = NULL;
	size_t len = 0;
	int over = 0,
	    fd = openat(b->tar_fd, "package-lock.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = fd < 0 ? -errno : fd_read_capped(fd, 64 << 20, &text, &len, &over);
	cJSON *doc;

	if (fd >= 0)
		close(fd);
	b->lock = cJSON_CreateObject();
	if (r == -ENOENT)
		return 0;
	doc = r >= 0 && !over ? cJSON_ParseWithLength(text, len) : NULL;
	free(text);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return rb_fail(b->err, RB_FAULT_INTERNAL, r < 0 ? -r : 0, "invalid_lock", NULL,
			       "'%s/package-lock.json' cannot be read as JSON", b->o->tar_dir);
	}
	for (const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "packages")
				  ? cJSON_GetObjectItemCaseSensitive(doc, "packages")->child
				  : NULL;
	     p; p = p->next)
		lock_add(b->lock, lock_key_name(p->string), p);
	lock_v1(b->lock, cJSON_GetObjectItemCaseSensitive(doc, "dependencies"), 0);
	cJSON_Delete(doc);
	return 0;
}

/* The lock's "sha512-..." for name@version, base64 only; NULL when it has none. */
static const char *lock_sha512(const struct bake *b, const char *name, const char *version,
			       char *buf, size_t size)
{
	char key[NPM_NAME_MAX + 100];
	const char *i, *s;

	snprintf(key, sizeof(key), "%s@%s", name, version);
	i = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b->lock, key));
	s = i ? strstr(i, "sha512-") : NULL;
	if (!s)
		return NULL;
	snprintf(buf, size, "%.*s", (int)strcspn(s + 7, " "), s + 7);
	return buf;
}

/* ---- one tarball ---- */

/* The file's SHA-512, standard base64, and its size; the fd is left at offset 0. */
static int hash_file(int fd, char out[100], struct rb_err *err)
{
	uint8_t d[SHA512_DIGEST_LEN];
	char buf[65536];
	struct sha512 h;
	ssize_t n;

	sha512_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha512_update(&h, buf, (size_t)n);
	if (n < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return rb_fail_sys(err, errno, "read the tarball");
	sha512_final(&h, d);
	b64_encode(d, sizeof(d), out);
	return 0;
}

static void skip(struct bake *b, const char *file, const struct rb_err *why)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "file", file);
	cJSON_AddStringToObject(s, "code", why->code);
	cJSON_AddStringToObject(s, "reason", why->msg);
	cJSON_AddItemToArray(b->skipped, s);
}

/* The previous index's entry for name@version when it was baked from the same bytes. */
static const cJSON *same_as_before(const struct bake *b, const char *sha)
{
	for (const cJSON *p = b->old ? b->old->child : NULL; p; p = p->next)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "sha512"))
			       ?: "",
			   sha) == 0)
			return p;
	return NULL;
}

static bool baked_already(const struct bake *b, const char *name, const char *version)
{
	for (const cJSON *p = b->packages->child; p; p = p->next)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			   name) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")),
			   version) == 0)
			return true;
	return false;
}

/* The index entry: what the resolver reads, and what the table shows. */
static cJSON *entry_of(const struct npmtar_info *info, const char *sha)
{
	static const char *const keys[] = {"dependencies", "optionalDependencies",
					   "peerDependencies"};
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", info->name);
	cJSON_AddStringToObject(e, "version", info->version);
	cJSON_AddStringToObject(e, "sha512", sha);
	cJSON_AddNumberToObject(e, "files", (double)info->files);
	cJSON_AddNumberToObject(e, "bytes", (double)info->bytes);
	cJSON_AddStringToObject(e, "install_scripts", info->install_scripts);
	cJSON_AddFalseToObject(e, "preinstalled");
	for (size_t k = 0; k < 3; k++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(info->package, keys[k]);
		cJSON *copy = cJSON_CreateObject();

		for (const cJSON *x = d ? d->child : NULL; x; x = x->next)
			if (cJSON_IsString(x) && npm_name_valid(x->string))
				cJSON_AddStringToObject(copy, x->string, x->valuestring);
		cJSON_AddItemToObject(e, keys[k], copy);
	}
	return e;
}

/*
 * Whether @file is what npm calls name@version's tarball: "<name>-<version>.tgz"
 * as the registry serves it, or npm pack's "<scope>-<name>-<version>.tgz".
 */
static bool file_matches(const char *file, const char *name, const char *version)
{
	char packed[NPM_NAME_MAX + 120], served[NPM_NAME_MAX + 120];
	const char *slash = strchr(name, '/');
	char *p;

	snprintf(packed, sizeof(packed), "%s-%s.tgz", name[0] == '@' ? name + 1 : name, version);
	if ((p = strchr(packed, '/')))
		*p = '-';
	snprintf(served, sizeof(served), "%s-%s.tgz", slash ? slash + 1 : name, version);
	return strcmp(file, packed) == 0 || strcmp(file, served) == 0;
}

/* Extract into pkgs/.tmp-<pid>, check, then rename into its tree. */
static int extract_checked(struct bake *b, int fd, const char *file, const char *sha, cJSON **ret)
{
	char tmp[64], tree[NPM_NAME_MAX + 120], want[120];
	struct npmtar_info info = {0};
	const char *lock;
	int dest, r;

	snprintf(tmp, sizeof(tmp), ".tmp-%d", (int)getpid());
	tree_remove_at(b->pkgs_fd, tmp);
	r = open_dir_at(b->pkgs_fd, tmp, true, &dest, b->err);
	if (r >= 0) {
		r = npmtar_extract(fd, dest, &b->o->limits, &info, b->err);
		close(dest);
	}
	lock = r >= 0 ? lock_sha512(b, info.name, info.version, want, sizeof(want)) : NULL;
	if (r >= 0 && !file_matches(file, info.name, info.version))
		r = rb_fail(b->err, RB_FAULT_REQUEST, 0, "npm_name_mismatch", NULL,
			    "its package.json says %s@%s, which npm would name '%s-%s.tgz'",
			    info.name, info.version, info.name, info.version);
	else if (lock && strcmp(lock, sha) != 0)
		r = rb_fail(b->err, RB_FAULT_REQUEST, 0, "npm_integrity_mismatch", NULL,
			    "%s@%s: its sha512 is %s, package-lock.json says %s", info.name,
			    info.version, sha, lock);
	else if (r >= 0 && baked_already(b, info.name, info.version))
		r = rb_fail(b->err, RB_FAULT_REQUEST, 0, "npm_duplicate", NULL,
			    "%s@%s is already baked from another tarball", info.name, info.version);
	if (r >= 0) {
		npmcache_tree(info.name, info.version, tree, sizeof(tree));
		tree_remove_at(b->npm_fd, tree);
		if (renameat(b->pkgs_fd, tmp, b->npm_fd, tree) < 0)
			r = rb_fail_sys(b->err, errno, "rename '%s' into place", tree);
	}
	if (r >= 0)
		*ret = entry_of(&info, sha);
	if (info.package)
		cJSON_Delete(info.package);
	tree_remove_at(b->pkgs_fd, tmp);
	return r;
}

/*
 * The previous bake's entry for the tarball with SHA-512 @sha, copied, when
 * its tree is still in place and its name@version not yet baked this time:
 * the tarball need not be extracted again.  NULL otherwise.
 */
static cJSON *reuse_before(const struct bake *b, const char *sha)
{
	const cJSON *before = same_as_before(b, sha);
	const char *name, *version;
	char tree[NPM_NAME_MAX + 120];
	cJSON *entry;

	if (!before)
		return NULL;
	/* npmcache_load checked both on the old index. */
	name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(before, "name"));
	version = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(before, "version"));
	npmcache_tree(name, version, tree, sizeof(tree));
	if (faccessat(b->npm_fd, tree, F_OK, AT_SYMLINK_NOFOLLOW) != 0 ||
	    baked_already(b, name, version))
		return NULL;
	entry = cJSON_Duplicate(before, true);
	cJSON_ReplaceItemInObject(entry, "preinstalled", cJSON_CreateFalse());
	return entry;
}

/*
 * Bake tarball @fd (named @file): its entry goes into the index, or, when the
 * tarball itself is at fault, into the skipped list.  < 0 only for a runbox fault.
 */
static int bake_fd(struct bake *b, int fd, const char *file)
{
	char sha[100];
	cJSON *entry = NULL;
	int r = hash_file(fd, sha, b->err);

	if (r < 0)
		return r;
	entry = reuse_before(b, sha);
	if (!entry)
		r = extract_checked(b, fd, file, sha, &entry);
	if (r < 0 && b->err->fault != RB_FAULT_REQUEST)
		return r;
	if (r < 0)
		skip(b, file, b->err);
	else
		cJSON_AddItemToArray(b->packages, entry);
	return 0;
}

static int bake_one(struct bake *b, const char *file)
{
	struct rb_err why = {0};
	struct stat st;
	int fd = openat(b->tar_fd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rb_fail(&why, RB_FAULT_REQUEST, 0, "npm_unreadable", NULL,
			"not a readable regular file");
		skip(b, file, &why);
		r = 0;
	} else
		r = bake_fd(b, fd, file);
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- the whole bake ---- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int only_tarballs(const struct dirent *e)
{
	return is_tarball(e->d_name);
}

static int bake_all(struct bake *b)
{
	struct dirent **list = NULL;
	int n = scandirat(b->tar_fd, ".", &list, only_tarballs, by_name), r = 0;

	if (n < 0)
		return rb_fail_sys(b->err, errno, "list '%s'", b->o->tar_dir);
	if (n > MAX_TARBALLS)
		r = rb_fail(b->err, RB_FAULT_INTERNAL, E2BIG, "too_many_tarballs", NULL,
			    "'%s' holds %d tarballs; at most %d", b->o->tar_dir, n, MAX_TARBALLS);
	for (int i = 0; i < n && r >= 0; i++)
		r = bake_one(b, list[i]->d_name);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return r;
}

/* The highest baked version of @name, or NULL. */
static cJSON *highest(const struct bake *b, const char *name)
{
	cJSON *best = NULL;
	struct semver v, bv;

	for (cJSON *p = b->packages->child; p; p = p->next) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			   name) != 0 ||
		    semver_parse(
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")), &v) <
			0)
			continue;
		if (!best || semver_compare(&v, &bv) > 0) {
			best = p;
			bv = v;
		}
	}
	return best;
}

static int mark_preinstalled(struct bake *b)
{
	const char *p = b->o->preinstall;

	while (p && *p) {
		size_t len = strcspn(p, ", ");
		char name[NPM_NAME_MAX + 1];
		cJSON *pkg;

		if (len && len <= NPM_NAME_MAX) {
			memcpy(name, p, len);
			name[len] = '\0';
			pkg = highest(b, name);
			if (!pkg)
				return rb_fail(
				    b->err, RB_FAULT_INTERNAL, 0, "invalid_config", NULL,
				    "--npm-preinstall names '%s', which no tarball of '%s' "
				    "provides",
				    name, b->o->tar_dir);
			cJSON_ReplaceItemInObject(pkg, "preinstalled", cJSON_CreateTrue());
		}
		p += len + (p[len] != '\0');
	}
	return 0;
}

/* Remove the trees of pkgs/ the new index does not list (and leftovers of a killed bake). */
static void sweep(struct bake *b)
{
	struct dirent **list = NULL;
	int n = scandirat(b->pkgs_fd, ".", &list, NULL, NULL);

	for (int i = 0; i < n; i++) {
		const char *d = list[i]->d_name;
		char tree[NPM_NAME_MAX + 120];
		bool keep = false;

		for (cJSON *p = b->packages->child; p && !keep && d[0] != '.'; p = p->next) {
			npmcache_tree(
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")),
			    tree, sizeof(tree));
			keep = strcmp(tree + 5, d) == 0;
		}
		if (!keep && strcmp(d, ".") != 0 && strcmp(d, "..") != 0)
			tree_remove_at(b->pkgs_fd, d);
		free(list[i]);
	}
	free(list);
}

/* index.json through a temporary file and a rename, only when it changes. */
static int write_index(struct bake *b)
{
	cJSON *root = cJSON_CreateObject();
	char *text, *old = NULL;
	size_t len, old_len = 0;
	int over = 0, fd, r = 0;

	cJSON_AddNumberToObject(root, "format", NPMCACHE_FORMAT);
	cJSON_AddItemReferenceToObject(root, "packages", b->packages);
	cJSON_AddItemReferenceToObject(root, "skipped", b->skipped);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return rb_fail_sys(b->err, ENOMEM, "render the npm index");
	len = strlen(text);
	fd = openat(b->npm_fd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fd_read_capped(fd, len + 1, &old, &old_len, &over) >= 0 && !over &&
	    old_len == len && memcmp(old, text, len) == 0)
		len = 0; /* the same: nothing to write */
	if (fd >= 0)
		close(fd);
	free(old);
	fd = len ? openat(b->npm_fd, ".index.json.tmp",
			  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444)
		 : -2;
	if (fd == -1 || (fd >= 0 && (fd_write_all(fd, text, len) < 0 || fsync(fd) < 0)))
		r = rb_fail_sys(b->err, errno, "write '%s/npm/index.json'", b->o->cache_dir);
	if (fd >= 0)
		close(fd);
	if (r >= 0 && fd >= 0 &&
	    renameat(b->npm_fd, ".index.json.tmp", b->npm_fd, "index.json") < 0)
		r = rb_fail_sys(b->err, errno, "write '%s/npm/index.json'", b->o->cache_dir);
	free(text);
	return r;
}

static void print_table(FILE *out, const cJSON *packages, const cJSON *skipped)
{
	int pre = 0;

	fprintf(out, "%-8s %-32s %-16s %s\n", "STATUS", "NAME", "VERSION", "DETAIL");
	for (const cJSON *p = packages ? packages->child : NULL; p; p = p->next) {
		const char *scripts =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "install_scripts"));
		bool is_pre = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "preinstalled"));

		pre += is_pre;
		fprintf(out, "%-8s %-32s %-16s %.0f files, %.0f bytes%s%s%s\n", "npm",
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")),
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "files")),
			cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "bytes")),
			is_pre ? "; pre-installed" : "",
			scripts && *scripts ? "; install scripts never run: " : "",
			scripts && *scripts ? scripts : "");
	}
	for (const cJSON *s = skipped ? skipped->child : NULL; s; s = s->next)
		fprintf(out, "%-8s %s\n         %s: %s\n", "skipped",
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "file")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "code")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "reason")));
	fprintf(out, "%d npm packages baked (%d pre-installed), %d skipped\n",
		cJSON_GetArraySize(packages), pre, cJSON_GetArraySize(skipped));
}

/* Say once what a package with install scripts means here. */
static void note_scripts(const struct bake *b)
{
	for (const cJSON *p = b->packages->child; p; p = p->next) {
		const char *s =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "install_scripts"));

		if (s && *s)
			fprintf(
			    b->o->note,
			    "runbox bake: %s@%s has install scripts (%s); runbox never runs "
			    "them, so a package that needs one (a native addon) will not work\n",
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name")),
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")),
			    s);
	}
}

static void load_old(struct bake *b)
{
	struct npmcache c;
	struct rb_err ignored;

	if (npmcache_load(b->o->cache_dir, &c, &ignored) < 0 || !c.root)
		return;
	b->old = cJSON_DetachItemFromObjectCaseSensitive(c.root, "packages");
	npmcache_free(&c);
}

static void release(struct bake *b)
{
	int fds[] = {b->cache_fd, b->npm_fd, b->pkgs_fd, b->tar_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cJSON_Delete(b->lock);
	cJSON_Delete(b->old);
	cJSON_Delete(b->packages);
	cJSON_Delete(b->skipped);
}

int npmbake_run(const struct npmbake_opts *o, struct rb_err *err)
{
	struct bake b = {
	    .o = o, .cache_fd = -1, .npm_fd = -1, .pkgs_fd = -1, .tar_fd = -1, .err = err};
	int r;

	b.packages = cJSON_CreateArray();
	b.skipped = cJSON_CreateArray();
	b.tar_fd = open(o->tar_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = b.tar_fd < 0 ? rb_fail_sys(err, errno, "open '%s'", o->tar_dir) : 0;
	if (r >= 0 && mkdir(o->cache_dir, 0755) < 0 && errno != EEXIST)
		r = rb_fail_sys(err, errno, "create '%s'", o->cache_dir);
	if (r >= 0)
		r = open_dir_at(AT_FDCWD, o->cache_dir, false, &b.cache_fd, err);
	if (r >= 0)
		r = open_dir_at(b.cache_fd, NPMCACHE_DIR, true, &b.npm_fd, err);
	if (r >= 0)
		r = open_dir_at(b.npm_fd, "pkgs", true, &b.pkgs_fd, err);
	if (r >= 0)
		r = load_lock(&b);
	if (r >= 0) {
		load_old(&b);
		r = bake_all(&b);
	}
	if (r >= 0)
		r = mark_preinstalled(&b);
	if (r >= 0)
		r = write_index(&b);
	if (r >= 0) {
		sweep(&b);
		print_table(o->out, b.packages, b.skipped);
		note_scripts(&b);
		r = cJSON_GetArraySize(b.skipped);
	}
	release(&b);
	return r;
}

int npmbake_list(const char *cache_dir, FILE *out, struct rb_err *err)
{
	struct npmcache c;
	int r = npmcache_load(cache_dir, &c, err);

	if (r < 0)
		return r;
	if (!c.root)
		return 1;
	fprintf(out, "npm cache %s/%s\n", cache_dir, NPMCACHE_DIR);
	print_table(out, cJSON_GetObjectItemCaseSensitive(c.root, "packages"),
		    cJSON_GetObjectItemCaseSensitive(c.root, "skipped"));
	npmcache_free(&c);
	return 0;
}
