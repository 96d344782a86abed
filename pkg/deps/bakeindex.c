/*
 * bakeindex: requirements file -> resolution -> wheel directory -> bake
 * (see bakeindex.h).
 */
#define _GNU_SOURCE
#include "deps/bakeindex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/tree.h"
#include "deps/fetch.h"
#include "deps/pyindex.h"
#include "deps/requirement.h"
#include "deps/resolve.h"
#include "deps/target.h"
#include "deps/wheel.h"
#include "deps/wheelmeta.h"
#include "deps/wheelname.h"

#define MAX_LINES     1000
#define MAX_REQ_BYTES (1024 * 1024)
#define BAKE_SECONDS  3600.0 /* the whole resolution and download */

struct bi {
	const struct bake_opts *b;
	const struct bakeindex_opts *o;
	struct target tg;
	struct pyindex px;
	struct requirement *rq;
	char (*fields)[48];
	const char **fp;
	size_t n;
	char dir[PATH_MAX]; /* the temporary wheel directory */
	int dir_fd;
};

static int get_target(void *ctx, const struct target **ret, struct rb_err *err)
{
	(void)err;
	*ret = &((struct bi *)ctx)->tg;
	return 0;
}

/* Download entry @i into the wheel directory (once). */
static int download(struct bi *x, size_t i, int *ret_fd, struct rb_err *err)
{
	struct pyindex_file *f = pyindex_file(&x->px, i);
	int fd = openat(x->dir_fd, f->filename, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0644);

	if (fd < 0 && errno == EEXIST) {
		*ret_fd = openat(x->dir_fd, f->filename, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		return *ret_fd < 0 ? rb_fail_sys(err, errno, "open '%s'", f->filename) : 0;
	}
	if (fd < 0)
		return rb_fail_sys(err, errno, "create '%s/%s'", x->dir, f->filename);
	if (pyindex_download(&x->px, i, fd, err) < 0) {
		close(fd);
		unlinkat(x->dir_fd, f->filename, 0);
		return -EIO;
	}
	fprintf(x->b->out, "fetched  %s\n", f->filename);
	*ret_fd = fd;
	return 0;
}

/* An entry without a .metadata file: its METADATA from the downloaded wheel (checked). */
static int install(void *ctx, size_t i, char **ret_metadata, struct rb_err *err)
{
	struct bi *x = ctx;
	struct wheel_name wn;
	struct wheel_info info = {0};
	struct wheel_limits lim;
	int fd = -1, r = download(x, i, &fd, err);

	if (r < 0)
		return r;
	wheel_limits_default(&lim);
	r = wheelname_parse(pyindex_file(&x->px, i)->filename, &wn, err);
	if (r >= 0 && lseek(fd, 0, SEEK_SET) == 0)
		r = wheel_extract(fd, &wn, -1, &lim, &info, err);
	close(fd);
	if (r >= 0)
		*ret_metadata = info.metadata;
	return r;
}

/* One logical line: its requirement, or nothing; markers evaluated. */
static int take_line(struct bi *x, char *line, size_t lineno, struct rb_err *err)
{
	char *marker = strchr(line, ';'), *end;
	int keep = 1;

	while (*line == ' ' || *line == '\t')
		line++;
	for (end = line + strlen(line); end > line && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	if (!*line)
		return 0;
	snprintf(x->fields[x->n], sizeof(x->fields[x->n]), "%s line %zu", "requirements", lineno);
	if (*line == '-')
		return rb_fail(err, RB_FAULT_REQUEST, 0, "invalid_dependency", x->fields[x->n],
			       "'%s' at line %zu of '%s': pip's options are not read here; list "
			       "one requirement a line",
			       line, lineno, x->o->requirements);
	if (marker) {
		*marker = '\0';
		keep = marker_eval(marker + 1, &x->tg.env, err);
		if (keep < 0)
			return rb_wrap(err, -EINVAL, x->fields[x->n]);
	}
	if (!keep)
		return 0;
	if (x->n == MAX_LINES)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "too_many_dependencies", NULL,
			       "'%s' lists more than %d requirements", x->o->requirements,
			       MAX_LINES);
	if (requirement_parse(line, x->fields[x->n], &x->rq[x->n], err) < 0)
		return rb_wrap(err, -EINVAL, x->o->requirements);
	x->fp[x->n] = x->fields[x->n];
	x->n++;
	return 0;
}

static int read_requirements(struct bi *x, struct rb_err *err)
{
	FILE *f = fopen(x->o->requirements, "re");
	char *text = calloc(1, MAX_REQ_BYTES + 1), *save = NULL, *line;
	size_t len = f && text ? fread(text, 1, MAX_REQ_BYTES, f) : 0, lineno = 0;
	int r = 0;

	if (f)
		(void)fclose(f); /* read only: nothing to lose */
	if (!f || !text) {
		free(text);
		return rb_fail(err, RB_FAULT_REQUEST, errno, "invalid_dependency", NULL,
			       "cannot read the requirements file '%s': %s", x->o->requirements,
			       strerror(errno ? errno : ENOMEM));
	}
	text[len] = '\0';
	for (char *c = text; (c = strstr(c, "\\\n"));) /* a continued line */
		memmove(c, c + 2, strlen(c + 2) + 1);
	for (line = strtok_r(text, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash && (hash == line || hash[-1] == ' ' || hash[-1] == '\t'))
			*hash = '\0';
		r = take_line(x, line, lineno, err);
	}
	free(text);
	return r;
}

static int make_dir(struct bi *x, struct rb_err *err)
{
	if (mkdir(x->b->cache_dir, 0755) < 0 && errno != EEXIST)
		return rb_fail_sys(err, errno, "create the cache '%s'", x->b->cache_dir);
	snprintf(x->dir, sizeof(x->dir), "%s/.index-wheels-%d", x->b->cache_dir, (int)getpid());
	if (mkdir(x->dir, 0755) < 0)
		return rb_fail_sys(err, errno, "create '%s'", x->dir);
	x->dir_fd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return x->dir_fd < 0 ? rb_fail_sys(err, errno, "open '%s'", x->dir) : 0;
}

static int prepare(struct bi *x, struct rb_err *err)
{
	struct pyindex_config pc = {x->o->url, x->o->credentials,	   x->o->ca_file, 0,
				    -1,	       clock_now() + BAKE_SECONDS, 64ULL << 30};
	struct resolve_pkg *pre = calloc(4096, sizeof(*pre));
	const cJSON *p, *list;
	size_t n = 0;
	int r = pre ? target_probe(x->b->python, &x->tg, err) : rb_fail_sys(err, ENOMEM, "bake");

	list = r >= 0 ? x->tg.preinstalled : NULL;
	cJSON_ArrayForEach(p, list)
	{
		struct resolve_pkg pk = {
		    .name = p->string, .version = p->valuestring, .preinstalled = true};

		if (n < 4096 && cJSON_IsString(p) && version_parse(p->valuestring, &pk.v) == 0)
			pre[n++] = pk;
	}
	if (r >= 0)
		r = pyindex_init(&x->px, &pc, pre, n, err);
	free(pre);
	x->px.get_target = get_target;
	x->px.install = install;
	x->px.ctx = x;
	x->rq = calloc(MAX_LINES, sizeof(*x->rq));
	x->fields = calloc(MAX_LINES, sizeof(*x->fields));
	x->fp = calloc(MAX_LINES, sizeof(*x->fp));
	if (r >= 0 && (!x->rq || !x->fields || !x->fp))
		r = rb_fail_sys(err, ENOMEM, "bake");
	return r;
}

/* Resolve and download the closure into x->dir. */
static int fetch_closure(struct bi *x, struct rb_err *err)
{
	struct resolve_result *res = malloc(sizeof(*res));
	int r = res ? resolve_run(&x->px.ix, x->rq, x->fp, x->n, 256, res, err)
		    : rb_fail_sys(err, ENOMEM, "bake");

	for (size_t k = 0; r >= 0 && res && k < res->n; k++) {
		int fd = -1;

		if (!pyindex_file(&x->px, res->pkg[k]))
			continue; /* pre-installed */
		r = download(x, res->pkg[k], &fd, err);
		if (r >= 0)
			close(fd);
	}
	free(res);
	return r;
}

int bakeindex_run(const struct bake_opts *b, const struct bakeindex_opts *o, struct rb_err *err)
{
	struct bi x = {.b = b, .o = o, .dir_fd = -1};
	struct bake_opts bo = *b;
	int r = prepare(&x, err);

	if (r >= 0)
		r = read_requirements(&x, err);
	if (r >= 0)
		r = make_dir(&x, err);
	if (r >= 0)
		r = fetch_closure(&x, err);
	bo.wheel_dir = x.dir;
	if (r >= 0)
		r = bake_run(&bo, err);
	if (x.dir_fd >= 0) {
		close(x.dir_fd);
		tree_remove_at(AT_FDCWD, x.dir);
	}
	pyindex_free(&x.px);
	target_free(&x.tg);
	free(x.rq);
	free(x.fields);
	free(x.fp);
	return r;
}
