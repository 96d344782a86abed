/*
 * artifacts: a walk in two passes.  The first lists every entry with its
 * lstat-like type and size (bounded by count and depth); the second, in
 * sorted order, opens each regular file with O_NOFOLLOW|O_NONBLOCK, checks
 * the fstat of the opened fd and reads it within the budgets.
 */
#define _GNU_SOURCE
#include "run/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/prefault.h"
#include "base/utf8.h"

/* 16 levels of 255-byte names and their slashes, and more for too_deep ones. */
#define ARTIFACT_PATH_MAX 8192

/* At most this many omitted entries are listed: the first in path order. */
#define MAX_LISTED_OMISSIONS 1000

/* Entries as the walk finds them, in no order. */
struct pool {
	struct artifact *items;
	size_t n, cap;
};

/*
 * The walk keeps two pools whatever the directory's size: the files it may
 * return (at most max_count, the first in path order) and the omissions it
 * lists (at most MAX_LISTED_OMISSIONS).  Each is cut back to its bound once
 * it holds twice as many, so no file that belongs in the answer is lost to
 * the order the directory happened to list it in.
 */
struct walk {
	const struct artifact_limits *lim;
	struct pool cand, omit;
	struct rb_err *err;
};

static int pool_add(struct pool *p, struct artifact *a, struct rb_err *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct artifact *n = realloc(p->items, cap * sizeof(*n));

		if (!n) {
			free(a->path);
			return rb_fail_sys(err, ENOMEM, "list artifacts");
		}
		p->items = n;
		p->cap = cap;
	}
	p->items[p->n++] = *a;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct artifact *)a)->path, ((const struct artifact *)b)->path);
}

/* Keep the first @keep of @p in path order; move the rest to @spill as @why, or drop them. */
static int pool_trim(struct pool *p, size_t keep, struct pool *spill, const char *why,
		     struct rb_err *err)
{
	int r = 0;

	if (p->n <= keep)
		return 0;
	qsort(p->items, p->n, sizeof(*p->items), by_path);
	for (size_t i = keep; i < p->n; i++) {
		if (spill && r >= 0) {
			p->items[i].omitted = why;
			r = pool_add(spill, &p->items[i], err);
		} else {
			free(p->items[i].path);
		}
	}
	p->n = keep;
	return r;
}

static int push(struct walk *w, const char *path, size_t size, const char *omitted)
{
	size_t max_count = w->lim->max_count;
	struct artifact a = {.path = strdup(path), .size = size, .omitted = omitted};
	int r;

	if (!a.path)
		return rb_fail_sys(w->err, ENOMEM, "list artifacts");
	r = pool_add(omitted ? &w->omit : &w->cand, &a, w->err);
	if (r >= 0 && w->cand.n >= 2 * max_count + 1)
		r = pool_trim(&w->cand, max_count, &w->omit, "too_many_files", w->err);
	if (r >= 0 && w->omit.n >= 2 * MAX_LISTED_OMISSIONS)
		r = pool_trim(&w->omit, MAX_LISTED_OMISSIONS, NULL, NULL, w->err);
	return r;
}

/*
 * A name that is not UTF-8 cannot be a JSON key: the file is listed as
 * omitted under its name with U+FFFD for the bad bytes.
 */
static bool name_ok(const char *name)
{
	return utf8_valid(name, strlen(name), NULL);
}

static const char *type_reason(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "symlink";
	if (!S_ISREG(st->st_mode))
		return "not_regular_file";
	if (st->st_nlink > 1)
		return "hardlink";
	return NULL;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, unsigned depth);

/*
 * A file, or a directory whose name cannot be a JSON key (not descended).
 * Its type's reason comes first; a regular file with a bad name is listed
 * as invalid_name under its name with U+FFFD for the bad bytes.
 */
/*
 * noinline, as push_too_deep(): their 12 KiB buffers must not join visit()'s
 * frame, which recurses, and each fresh stack page costs a fault.
 */
static __attribute__((noinline)) int visit_leaf(struct walk *w, const char *path,
						const struct stat *st, bool name_valid)
{
	char clean[ARTIFACT_PATH_MAX * 3];
	const char *why = S_ISDIR(st->st_mode) ? "invalid_name" : type_reason(st);

	if (!why && name_valid && w->lim->skip && w->lim->skip(w->lim->skip_ctx, path, st))
		return 0;
	if (!why && !name_valid)
		why = "invalid_name";
	if (!name_valid) {
		utf8_sanitize(path, strlen(path), clean);
		path = clean;
	}
	return push(w, path, S_ISREG(st->st_mode) ? (size_t)st->st_size : 0, why);
}

static __attribute__((noinline)) int push_too_deep(struct walk *w, const char *path,
						   const struct stat *st)
{
	char clean[ARTIFACT_PATH_MAX * 3];

	utf8_sanitize(path, strlen(path), clean);
	return push(w, clean, (size_t)st->st_size, "too_deep");
}

static int visit(struct walk *w, int dirfd, const char *name, const char *prefix, unsigned depth)
{
	char path[ARTIFACT_PATH_MAX];
	struct stat st;
	int fd, r;

	snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* vanished: nothing to report */
	if (depth > w->lim->max_depth)
		return push_too_deep(w, path, &st);
	if (!S_ISDIR(st.st_mode) || !name_ok(name))
		return visit_leaf(w, path, &st, name_ok(name));
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return push(w, path, 0, "unreadable");
	r = walk_dir(w, fd, path, depth + 1);
	close(fd);
	return r;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, unsigned depth)
{
	int fd = dup(dirfd), r = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return rb_fail_sys(w->err, errno, "dup");
	d = fdopendir(fd);
	if (d)
		rewinddir(d); /* a dup shares the offset a previous walk left at the end */
	if (!d) {
		close(fd);
		return push(w, prefix, 0, "unreadable");
	}
	while (r >= 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = visit(w, dirfd, de->d_name, prefix, depth);
	closedir(d);
	return r;
}

/* Read one regular file, re-checking what was opened. */
static const char *read_one(int output_fd, struct artifact *a, size_t budget)
{
	int fd = openat(output_fd, a->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	const char *why = NULL;

	if (fd < 0)
		return errno == ELOOP ? "symlink" : "unreadable";
	if (fstat(fd, &st) < 0 || (why = type_reason(&st))) {
		close(fd);
		return why ? why : "unreadable";
	}
	a->size = (size_t)st.st_size;
	if (a->size > budget) {
		close(fd);
		return NULL; /* the caller names the budget */
	}
	a->data = prefault_alloc(a->size);
	while (a->data && got < a->size) {
		ssize_t r = read(fd, a->data + got, a->size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	a->size = got; /* a file that shrank meanwhile */
	return a->data ? NULL : "unreadable";
}

/*
 * Paths below output/ may contain intermediate components that are symlinks
 * planted after the walk; opening with O_NOFOLLOW only guards the last one.
 * The walk saw only real directories, and the program is gone, so the tree
 * cannot change any more between walk and read.
 */
static void read_all(int output_fd, struct artifact_list *l, const struct artifact_limits *lim)
{
	size_t total = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct artifact *a = &l->items[i];
		const char *why;

		if (a->omitted)
			continue;
		if (a->size > lim->max_file) {
			a->omitted = "file_too_large";
			continue;
		}
		if (total + a->size > lim->max_total) {
			a->omitted = "total_budget_exceeded";
			continue;
		}
		why = read_one(output_fd, a,
			       lim->max_file < lim->max_total - total ? lim->max_file
								      : lim->max_total - total);
		if (!why && !a->data)
			why = a->size > lim->max_file ? "file_too_large" : "total_budget_exceeded";
		a->omitted = why;
		if (!why)
			total += a->size;
	}
}

static void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i].path);
	free(p->items);
}

/* Both pools cut to their bounds, in one list sorted by path: *ret takes their entries. */
static int merge(struct walk *w, struct artifact_list *ret)
{
	size_t n;
	int r = pool_trim(&w->cand, w->lim->max_count, &w->omit, "too_many_files", w->err);

	if (r >= 0)
		r = pool_trim(&w->omit, MAX_LISTED_OMISSIONS, NULL, NULL, w->err);
	if (r < 0)
		return r;
	n = w->cand.n + w->omit.n;
	ret->items = n ? malloc(n * sizeof(*ret->items)) : NULL;
	if (n && !ret->items)
		return rb_fail_sys(w->err, ENOMEM, "list artifacts");
	ret->n = n;
	if (ret->items && w->cand.n)
		memcpy(ret->items, w->cand.items, w->cand.n * sizeof(*ret->items));
	if (ret->items && w->omit.n)
		memcpy(ret->items + w->cand.n, w->omit.items, w->omit.n * sizeof(*ret->items));
	free(w->cand.items);
	free(w->omit.items);
	memset(&w->cand, 0, sizeof(w->cand));
	memset(&w->omit, 0, sizeof(w->omit));
	if (ret->n)
		qsort(ret->items, ret->n, sizeof(*ret->items), by_path);
	return 0;
}

int artifacts_collect(int output_fd, const struct artifact_limits *lim, struct artifact_list *ret,
		      struct rb_err *err)
{
	struct walk w = {.lim = lim, .err = err};
	int r;

	memset(ret, 0, sizeof(*ret));
	r = walk_dir(&w, output_fd, "", 1);
	if (r >= 0)
		r = merge(&w, ret);
	if (r < 0) {
		pool_free(&w.cand);
		pool_free(&w.omit);
		artifact_list_free(ret);
		return r;
	}
	read_all(output_fd, ret, lim);
	return 0;
}
