/*
 * artifacts: a walk in two passes.  The first lists every entry with its
 * lstat-like type and size (bounded by count and depth); the second, in
 * sorted order, opens each regular file with O_NOFOLLOW|O_NONBLOCK, checks
 * the fstat of the opened fd and reads it within the budgets.
 */
#define _GNU_SOURCE
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigmem.h"
#include "utf8.h"

/* 16 levels of 255-byte names and their slashes, and more for too_deep ones. */
#define ARTIFACT_PATH_MAX 8192

/* Entries beyond the count limit are still listed, up to this many, as omitted. */
#define MAX_LISTED_OMISSIONS 1000

struct walk {
	const struct artifact_limits *lim;
	struct artifact_list *out;
	size_t cap;
	struct rb_err *err;
};

static int push(struct walk *w, const char *path, size_t size, const char *omitted)
{
	struct artifact *a;

	if (w->out->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		struct artifact *n = realloc(w->out->items, cap * sizeof(*n));

		if (!n)
			return rb_fail_sys(w->err, ENOMEM, "list artifacts");
		w->out->items = n;
		w->cap = cap;
	}
	a = &w->out->items[w->out->n];
	memset(a, 0, sizeof(*a));
	a->path = strdup(path);
	if (!a->path)
		return rb_fail_sys(w->err, ENOMEM, "list artifacts");
	w->out->n++;
	a->size = size;
	a->omitted = omitted;
	return 0;
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

	if (!why && !name_valid)
		why = "invalid_name";
	/* Which files are too many is decided in path order, after the walk (keep_first). */
	if (w->out->n >= w->lim->max_count + MAX_LISTED_OMISSIONS)
		return 0;
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
	return w->out->n < w->lim->max_count + MAX_LISTED_OMISSIONS
		   ? push(w, clean, (size_t)st->st_size, "too_deep")
		   : 0;
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
		return w->out->n < w->lim->max_count + MAX_LISTED_OMISSIONS
			   ? push(w, path, 0, "unreadable")
			   : 0;
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
		return w->out->n < w->lim->max_count + MAX_LISTED_OMISSIONS
			   ? push(w, prefix, 0, "unreadable")
			   : 0;
	}
	while (r >= 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = visit(w, dirfd, de->d_name, prefix, depth);
	closedir(d);
	return r;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct artifact *)a)->path, ((const struct artifact *)b)->path);
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
	a->data = bigmem_alloc(a->size);
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

/*
 * The first max_count files in path order are kept, the rest are
 * too_many_files: the same end the byte budget keeps, whatever order the
 * directory listed them in.
 */
static void keep_first(struct artifact_list *l, size_t max_count)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!l->items[i].omitted && ++kept > max_count)
			l->items[i].omitted = "too_many_files";
}

int artifacts_collect(int output_fd, const struct artifact_limits *lim, struct artifact_list *ret,
		      struct rb_err *err)
{
	struct walk w = {.lim = lim, .out = ret, .err = err};
	int r;

	memset(ret, 0, sizeof(*ret));
	r = walk_dir(&w, output_fd, "", 1);
	if (r < 0) {
		artifacts_free(ret);
		return r;
	}
	if (ret->n)
		qsort(ret->items, ret->n, sizeof(*ret->items), by_path);
	keep_first(ret, lim->max_count);
	read_all(output_fd, ret, lim);
	return 0;
}

void artifacts_free(struct artifact_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].data);
		free(l->items[i].path);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
