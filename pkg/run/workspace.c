/*
 * workspace: creation with O_EXCL/O_NOFOLLOW relative to held directory fds,
 * and removal that walks the tree by fd, never by path, so a symlink the
 * program planted can only be unlinked, never followed.
 */
#define _GNU_SOURCE
#include "run/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdio.h"
#include "base/tree.h"

/* Make a directory below @dirfd and give it to the program when asked. */
static int make_dir(const struct workspace *ws, int dirfd, const char *name, mode_t mode, bool give)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	if (fchmodat(dirfd, name, mode, 0) < 0)
		return -errno;
	if (give && ws->chown && fchownat(dirfd, name, ws->uid, ws->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Open (creating as needed) the parent directory of relative @path below @base. */
static int open_parent(const struct workspace *ws, int base, const char *path, bool give,
		       mode_t dmode, const char **ret_leaf)
{
	char seg[256];
	const char *p = path, *slash;
	int fd = dup(base), next, r;

	if (fd < 0)
		return -errno;
	while ((slash = strchr(p, '/'))) {
		snprintf(seg, sizeof(seg), "%.*s", (int)(slash - p), p);
		r = make_dir(ws, fd, seg, dmode, give);
		next = r < 0 ? r : openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return r < 0 ? r : -errno;
		fd = next;
		p = slash + 1;
	}
	*ret_leaf = p;
	return fd;
}

static int write_file(const struct workspace *ws, int base, const struct request_file *f, bool give,
		      mode_t fmode, mode_t dmode)
{
	const char *leaf = "";
	int dfd = open_parent(ws, base, f->path, give, dmode, &leaf), fd, r;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fmode);
	r = fd < 0 ? -errno : fd_write_all(fd, f->data, f->len);
	if (r == 0 && give && ws->chown && fchown(fd, ws->uid, ws->gid) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

static int write_program(struct workspace *ws, const struct request *req, struct rb_err *err)
{
	struct request_file main_file = {.data = req->script, .len = req->script_len};
	int r;

	for (size_t i = 0; i < req->n_files; i++) {
		r = write_file(ws, ws->dir_fd, &req->files[i], true, 0644, 0755);
		if (r < 0)
			return rb_fail_sys(err, -r, "write files.%s", req->files[i].path);
	}
	if (!req->script)
		return 0;
	snprintf(main_file.path, sizeof(main_file.path), "%s", request_program_path(req));
	r = write_file(ws, ws->dir_fd, &main_file, true, 0644, 0755);
	if (r < 0)
		return rb_fail_sys(err, -r, "write %s", main_file.path);
	return 0;
}

int workspace_add_file(const struct workspace *ws, const char *path, const char *data, size_t len,
		       mode_t mode)
{
	struct request_file f = {.data = data, .len = len};

	snprintf(f.path, sizeof(f.path), "%s", path);
	return write_file(ws, ws->dir_fd, &f, false, mode, 0755);
}

int workspace_link_packages(const struct workspace *ws, const char *const *names,
			    const char *const *targets, size_t n)
{
	char rel[600];
	int dfd, r = 0;

	if (n && mkdirat(ws->dir_fd, "node_modules", 0755) < 0 && errno != EEXIST)
		return -errno;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *leaf;

		snprintf(rel, sizeof(rel), "node_modules/%s", names[i]);
		dfd = open_parent(ws, ws->dir_fd, rel, false, 0755, &leaf);
		if (dfd < 0)
			return dfd;
		if (symlinkat(targets[i], dfd, leaf) < 0 && errno != EEXIST)
			r = -errno;
		close(dfd);
	}
	return r;
}

/*
 * input/ is read-only for the program: under root it stays root's with
 * read-only modes; otherwise the modes are all we have (the Landlock layer
 * enforces it where the kernel allows).
 */
static int write_context(struct workspace *ws, const struct request *req, struct rb_err *err)
{
	int in_fd, r = 0;

	if (make_dir(ws, ws->dir_fd, "input", 0755, false) < 0)
		return rb_fail_sys(err, errno, "create input/");
	in_fd = openat(ws->dir_fd, "input", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in_fd < 0)
		return rb_fail_sys(err, errno, "open input/");
	for (size_t i = 0; i < req->n_context && r == 0; i++) {
		r = write_file(ws, in_fd, &req->context[i], false, 0444, 0755);
		if (r < 0)
			rb_fail_sys(err, -r, "write context.%s", req->context[i].path);
	}
	close(in_fd);
	if (r == 0 && !ws->chown && fchmodat(ws->dir_fd, "input", 0555, 0) < 0)
		r = rb_fail_sys(err, errno, "chmod input/");
	return r;
}

static int make_layout(struct workspace *ws, struct rb_err *err)
{
	static const char *const dirs[] = {"output", ".home", ".tmp"};
	int r;

	if (ws->chown && fchown(ws->dir_fd, ws->uid, ws->gid) < 0)
		return rb_fail_sys(err, errno, "chown workspace");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		r = make_dir(ws, ws->dir_fd, dirs[i], 0700, true);
		if (r < 0)
			return rb_fail_sys(err, -r, "create %s/", dirs[i]);
	}
	ws->output_fd =
	    openat(ws->dir_fd, "output", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ws->output_fd < 0)
		return rb_fail_sys(err, errno, "open output/");
	return 0;
}

/*
 * Cap what a program can write: a tmpfs of @bytes on the workspace.  The
 * directory underneath belongs to the run's uid too, so that a killed
 * runbox's leftover is recognised by the next holder of its uid slot.
 */
static int mount_quota(struct workspace *ws, size_t bytes, struct rb_err *err)
{
	char opts[96];

	if (ws->chown && chown(ws->path, ws->uid, ws->gid) < 0)
		return rb_fail_sys(err, errno, "chown workspace");
	snprintf(opts, sizeof(opts), "size=%zu,nr_inodes=65536,mode=0700", bytes);
	if (mount("tmpfs", ws->path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return rb_fail_sys(err, errno, "mount the workspace's tmpfs");
	ws->mounted = true;
	return 0;
}

/* A fresh tmpfs of @bytes, mounted nowhere: its mount fd, or -errno. */
static int detached_tmpfs(size_t bytes)
{
	char size[32];
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), m = -1;

	if (fs < 0)
		return -errno;
	snprintf(size, sizeof(size), "%zu", bytes);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) == 0 &&
	    fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "65536", 0) == 0 &&
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) == 0 &&
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = fsmount(fs, FSMOUNT_CLOEXEC,
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	m = m < 0 ? -errno : m;
	close(fs);
	return m;
}

bool workspace_can_detach(void)
{
	int m = detached_tmpfs(4096);

	if (m < 0)
		return false;
	close(m);
	return true;
}

/*
 * The detached workspace: its tmpfs, and a name under @parent no other run
 * has (mkdtemp's random part, without creating anything).
 */
static int create_detached(struct workspace *ws, const char *parent, size_t bytes,
			   struct rb_err *err)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6];
	char name[7];
	struct stat st;

	/* As with a directory: a work dir that is not there is the operator's error. */
	errno = ENOTDIR;
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
		return rb_fail_sys(err, errno, "create a workspace under '%s'", parent);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return rb_fail_sys(err, errno, "getrandom");
	for (size_t i = 0; i < sizeof(rnd); i++)
		name[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	name[6] = '\0';
	ws->mount_fd = detached_tmpfs(bytes);
	if (ws->mount_fd < 0)
		return rb_fail_sys(err, -ws->mount_fd, "make the workspace's tmpfs");
	snprintf(ws->path, sizeof(ws->path), "%s/runbox-%s", parent, name);
	ws->dir_fd = openat(ws->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ws->dir_fd < 0)
		return rb_fail_sys(err, errno, "open the workspace's tmpfs");
	return 0;
}

/* A directory under @parent, with a tmpfs of @quota_bytes on it unless 0. */
static int create_dir(struct workspace *ws, const char *parent, size_t quota_bytes,
		      struct rb_err *err)
{
	int r = 0;

	snprintf(ws->path, sizeof(ws->path), "%s/runbox-XXXXXX", parent);
	if (!mkdtemp(ws->path)) {
		r = rb_fail_sys(err, errno, "create a workspace under '%s'", parent);
		ws->path[0] = '\0';
		return r;
	}
	if (quota_bytes)
		r = mount_quota(ws, quota_bytes, err);
	if (r >= 0)
		ws->dir_fd = open(ws->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r >= 0 && ws->dir_fd < 0)
		r = rb_fail_sys(err, errno, "open workspace '%s'", ws->path);
	return r;
}

int workspace_create(struct workspace *ret, const char *parent, const struct request *req,
		     bool chown, uid_t uid, gid_t gid, enum workspace_kind kind, size_t quota_bytes,
		     struct rb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->dir_fd = ret->output_fd = ret->mount_fd = -1;
	ret->chown = chown;
	ret->uid = uid;
	ret->gid = gid;
	ret->detached = kind == WORKSPACE_DETACHED;
	if (ret->detached)
		r = create_detached(ret, parent, quota_bytes, err);
	else
		r = create_dir(ret, parent, kind == WORKSPACE_MOUNTED ? quota_bytes : 0, err);
	if (r >= 0)
		r = make_layout(ret, err);
	if (r >= 0)
		r = write_program(ret, req, err);
	if (r >= 0)
		r = write_context(ret, req, err);
	if (r < 0) {
		struct rb_err ignored;

		workspace_remove(ret, &ignored);
	}
	return r;
}

int workspace_remove(struct workspace *ws, struct rb_err *err)
{
	char *slash;
	int parent, r = 0;

	if (ws->output_fd >= 0)
		close(ws->output_fd);
	if (ws->dir_fd >= 0)
		close(ws->dir_fd);
	ws->output_fd = ws->dir_fd = -1;
	/* Detached: the last reference to its tmpfs goes, and with it everything. */
	if (ws->detached) {
		if (ws->mount_fd >= 0)
			close(ws->mount_fd);
		ws->mount_fd = -1;
		ws->path[0] = '\0';
	}
	if (!ws->path[0])
		return 0;
	/* A tmpfs goes with everything in it; nothing to walk. */
	if (ws->mounted && umount2(ws->path, MNT_DETACH) < 0)
		return rb_fail_sys(err, errno, "unmount workspace '%s'", ws->path);
	ws->mounted = false;
	slash = strrchr(ws->path, '/');
	*slash = '\0';
	parent = open(ws->path[0] ? ws->path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (parent < 0)
		return rb_fail_sys(err, errno, "open the parent of '%s'", ws->path);
	r = tree_remove_at(parent, slash + 1);
	close(parent);
	if (r < 0)
		return rb_fail_sys(err, -r, "remove workspace '%s'", ws->path);
	ws->path[0] = '\0';
	return 0;
}

int workspace_reap_stale(const char *parent, uid_t uid)
{
	int dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0, failed = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (dirfd < 0)
		return errno == ENOENT ? 0 : -errno; /* no work dir: nothing left in it */
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "runbox-", 7) != 0 ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != uid)
			continue;
		if (tree_remove_at(dirfd, de->d_name) == 0)
			n++;
		else
			failed = -EIO;
	}
	closedir(d);
	return failed ? failed : n;
}
