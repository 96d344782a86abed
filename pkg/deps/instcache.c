/*
 * instcache: locks, sizes, last uses and index.json of the fetched trees
 * (see instcache.h).
 */
#define _GNU_SOURCE
#include "deps/instcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/tree.h"
#include "deps/wheelcache.h"

#define MAX_TREES 20000 /* trees considered for eviction */

static int open_dir(int at, const char *name, int *ret)
{
	if (mkdirat(at, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	*ret = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*ret < 0)
		return -errno;
	/* Programs' uids read the trees, whatever runbox's umask. */
	return fchmod(*ret, 0755) < 0 ? -errno : 0;
}

int instcache_open(int state_fd, const char *state_dir, struct instcache *ret, struct rb_err *err)
{
	struct instcache c = {.dir_fd = -1, .site_fd = -1, .pages_fd = -1};
	int r;

	if (state_fd < 0)
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "cache_extract_failed", NULL,
			       "Fetching from a package index needs a state directory "
			       "(RUNBOX_STATE_DIR)");
	r = open_dir(state_fd, INSTCACHE_DIR, &c.dir_fd);
	if (r >= 0)
		r = open_dir(c.dir_fd, "site", &c.site_fd);
	if (r >= 0)
		r = open_dir(c.dir_fd, "pages", &c.pages_fd);
	if (r < 0) {
		instcache_close(&c);
		return rb_fail_sys(err, -r, "open '%s/%s'", state_dir, INSTCACHE_DIR);
	}
	snprintf(c.dir, sizeof(c.dir), "%s/%s", state_dir, INSTCACHE_DIR);
	snprintf(c.site, sizeof(c.site), "%s/site", c.dir);
	*ret = c;
	return 0;
}

void instcache_close(struct instcache *c)
{
	int fds[] = {c->dir_fd, c->site_fd, c->pages_fd};

	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	c->dir_fd = c->site_fd = c->pages_fd = -1;
}

static bool tree_exists(int site_fd, const char *tree)
{
	struct stat st;

	return fstatat(site_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int lock(int fd, int how)
{
	int r;

	while ((r = flock(fd, how)) < 0 && errno == EINTR)
		;
	return r < 0 ? -errno : 0;
}

int instcache_hold(struct instcache *c, const char *tree, int *ret_lock, struct rb_err *err)
{
	char name[400];
	int fd;

	snprintf(name, sizeof(name), ".lock-%s", tree);
	fd = openat(c->site_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return rb_fail_sys(err, errno, "open the lock of %s", tree);
	/* Converting a lock is not atomic: an eviction may slip in, so look again. */
	for (int tries = 0; tries < 8; tries++) {
		if (lock(fd, LOCK_SH) < 0)
			break;
		if (tree_exists(c->site_fd, tree)) {
			*ret_lock = fd;
			return 1;
		}
		if (lock(fd, LOCK_EX) < 0)
			break;
		if (!tree_exists(c->site_fd, tree)) {
			*ret_lock = fd;
			return 0;
		}
	}
	close(fd);
	return rb_fail_sys(err, errno ? errno : EAGAIN, "lock %s", tree);
}

/* Disk usage of the tree at @fd, in bytes. */
static uint64_t usage(int fd, int depth)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	struct stat st;
	uint64_t n = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		n += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 128) {
			int sub =
			    openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				n += usage(sub, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
	return n;
}

int instcache_installed(struct instcache *c, const char *tree, int lockfd, struct rb_err *err)
{
	char name[400], text[32];
	int t = openat(c->site_fd, tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd;
	uint64_t bytes = t >= 0 ? usage(t, 0) : 0;

	if (t >= 0)
		close(t);
	snprintf(name, sizeof(name), ".used-%s", tree);
	fd = openat(c->site_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0) {
		int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)bytes);

		if (write(fd, text, (size_t)n) != n)
			log_msg(LOG_INFO, "cache_note", "could not record a tree's size");
		close(fd);
	}
	if (lock(lockfd, LOCK_SH) < 0 || !tree_exists(c->site_fd, tree))
		return rb_fail_sys(err, EAGAIN, "keep %s while it is used", tree);
	return 0;
}

void instcache_touch(struct instcache *c, const char *tree)
{
	char name[400];

	snprintf(name, sizeof(name), ".used-%s", tree);
	utimensat(c->site_fd, name, NULL, AT_SYMLINK_NOFOLLOW);
}

struct used {
	char tree[300];
	uint64_t bytes;
	struct timespec when;
};

static int older(const void *a, const void *b)
{
	const struct used *x = a, *y = b;

	if (x->when.tv_sec != y->when.tv_sec)
		return x->when.tv_sec < y->when.tv_sec ? -1 : 1;
	return x->when.tv_nsec < y->when.tv_nsec ? -1 : x->when.tv_nsec > y->when.tv_nsec;
}

/* Every .used-<tree>: its size and last use. */
static size_t list_used(struct instcache *c, struct used *v, size_t max, uint64_t *ret_total)
{
	int fd = fcntl(c->site_fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;

	*ret_total = 0;
	while (d && (de = readdir(d)) && n < max) {
		char text[32] = "";
		struct stat st;
		int f;

		if (strncmp(de->d_name, ".used-", 6) != 0 ||
		    strlen(de->d_name + 6) >= sizeof(v->tree))
			continue;
		f = openat(c->site_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (f < 0 || fstat(f, &st) < 0 || read(f, text, sizeof(text) - 1) < 0) {
			if (f >= 0)
				close(f);
			continue;
		}
		close(f);
		snprintf(v[n].tree, sizeof(v[n].tree), "%s", de->d_name + 6);
		v[n].bytes = strtoull(text, NULL, 10);
		v[n].when = st.st_mtim;
		*ret_total += v[n++].bytes;
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	return n;
}

/* Remove @u's tree when no run holds it. */
static bool evict_one(struct instcache *c, const struct used *u)
{
	char name[400], gone[400];
	int fd;

	snprintf(name, sizeof(name), ".lock-%s", u->tree);
	fd = openat(c->site_fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	snprintf(gone, sizeof(gone), ".evict-%d-%s", (int)getpid(), u->tree);
	if (renameat(c->site_fd, u->tree, c->site_fd, gone) == 0)
		tree_remove_at(c->site_fd, gone);
	snprintf(name, sizeof(name), ".used-%s", u->tree);
	unlinkat(c->site_fd, name, 0);
	close(fd);
	snprintf(name, sizeof(name), "%s: least recently used, over RUNBOX_INDEX_CACHE_BYTES",
		 u->tree);
	log_msg(LOG_INFO, "cache_evicted", name);
	return true;
}

int instcache_evict(struct instcache *c, uint64_t budget)
{
	struct used *v = calloc(MAX_TREES, sizeof(*v));
	uint64_t total;
	size_t n;
	int gone = 0;

	if (!v)
		return -ENOMEM;
	n = list_used(c, v, MAX_TREES, &total);
	qsort(v, n, sizeof(*v), older);
	for (size_t i = 0; i < n && total > budget; i++)
		if (evict_one(c, &v[i])) {
			total -= v[i].bytes;
			gone++;
		}
	free(v);
	return gone;
}

static cJSON *load_index(struct instcache *c, const char *python)
{
	struct wheelcache w;
	struct rb_err e;
	cJSON *root;

	if (wheelcache_load(c->dir, python, &w, &e) == 0) {
		root = w.root;
		w.root = NULL;
		wheelcache_free(&w);
		return root;
	}
	root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "format", WHEELCACHE_FORMAT);
	cJSON_AddStringToObject(root, "python", python);
	cJSON_AddObjectToObject(root, "preinstalled");
	cJSON_AddArrayToObject(root, "packages");
	cJSON_AddArrayToObject(root, "skipped");
	return root;
}

static bool has_tree(const cJSON *pkgs, const char *tree)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, pkgs)
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "tree"));

		if (t && strcmp(t, tree) == 0)
			return true;
	}
	return false;
}

static int write_index(struct instcache *c, cJSON *root)
{
	char *text = cJSON_PrintUnformatted(root), tmp[64];
	size_t len = text ? strlen(text) : 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".index.json.tmp-%d", (int)getpid());
	fd = text ? openat(c->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			   0644)
		  : -1;
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		r = -(errno ? errno : ENOMEM);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(c->dir_fd, tmp, c->dir_fd, WHEELCACHE_INDEX) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(c->dir_fd, tmp, 0);
	free(text);
	return r;
}

int instcache_record(struct instcache *c, const char *python, cJSON *entries, struct rb_err *err)
{
	int fd = openat(c->dir_fd, "index.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	cJSON *root, *pkgs, *e;
	int r;

	if (fd < 0 || lock(fd, LOCK_EX) < 0) {
		if (fd >= 0)
			close(fd);
		cJSON_Delete(entries);
		return rb_fail_sys(err, errno, "lock '%s/index.lock'", c->dir);
	}
	root = load_index(c, python);
	pkgs = cJSON_GetObjectItemCaseSensitive(root, "packages");
	while ((e = cJSON_DetachItemFromArray(entries, 0))) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "tree"));

		if (t && !has_tree(pkgs, t))
			cJSON_AddItemToArray(pkgs, e);
		else
			cJSON_Delete(e);
	}
	r = write_index(c, root);
	cJSON_Delete(root);
	cJSON_Delete(entries);
	close(fd);
	return r < 0 ? rb_fail_sys(err, -r, "write '%s/index.json'", c->dir) : 0;
}
