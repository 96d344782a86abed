/*
 * deps: requirement parsing, duplicate detection, and matching against the
 * interpreter's installed distributions (asked once per process, only when
 * a request names dependencies).
 */
#define _GNU_SOURCE
#include "deps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "requirement.h"

/*
 * Prints {"python": version, "packages": {"normalised-name": "version", ...}}
 * for every installed distribution.
 */
static const char list_program[] =
	"import importlib.metadata as m, json, re, platform\n"
	"out = {}\n"
	"for d in m.distributions():\n"
	"    n = d.metadata['Name']\n"
	"    if n: out.setdefault(re.sub(r'[-_.]+', '-', n).lower(), d.version)\n"
	"print(json.dumps({'python': platform.python_version(), 'packages': out}))\n";

static cJSON *listing;	 /* cached for the life of the process */
static cJSON *installed; /* listing's "packages" */

static int read_all_fd(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t r;

		if (len + 1 == cap) {
			char *n = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!n)
				break;
			buf = n;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[len] = '\0';
			*ret = buf;
			*ret_len = len;
			return 0;
		}
		len += (size_t)r;
	}
	free(buf);
	return -ENOMEM;
}

static int list_installed(const char *python, struct rb_err *err)
{
	char *const argv[] = { (char *)python, "-I", "-c", (char *)list_program, NULL };
	char *const envp[] = { "LANG=C.UTF-8", "PATH=/usr/bin:/bin", NULL };
	char *out = NULL;
	size_t len = 0;
	int p[2], st = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return rb_fail_sys(err, errno, "pipe2");
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(p[1], 1);
		execve(python, argv, envp);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0 || read_all_fd(p[0], &out, &len) < 0) {
		close(p[0]);
		return rb_fail_sys(err, pid < 0 ? errno : ENOMEM, "list installed packages");
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	listing = cJSON_Parse(out);
	free(out);
	installed = cJSON_GetObjectItemCaseSensitive(listing, "packages");
	if (!cJSON_IsObject(installed) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		cJSON_Delete(listing);
		listing = installed = NULL;
		return rb_fail_sys(err, EIO, "list the packages installed for '%s'", python);
	}
	return 0;
}

int deps_installed(const char *python, const cJSON **ret_packages, const char **ret_version,
		   struct rb_err *err)
{
	const cJSON *v;
	int r = installed ? 0 : list_installed(python, err);

	if (r < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(listing, "python");
	*ret_packages = installed;
	*ret_version = cJSON_IsString(v) ? v->valuestring : "";
	return 0;
}

static int refuse(struct rb_err *err, const char *code, const char *field, const char *msg,
		  const char *arg1, const char *arg2)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, code, field, msg, arg1, arg2);
}

static int check_one(const struct requirement *rq, const char *field, struct deps_used *u,
		     struct rb_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(installed, rq->name);
	struct version ver;
	char spec[REQUIREMENT_FORMAT_MAX];

	if (!cJSON_IsString(v))
		return refuse(err, "dependency_not_found", field,
			      "Package '%s' is not available: it is not pre-installed%s. "
			      "Use a pre-installed package (see list_packages) or remove it.",
			      rq->name_orig, " and this runbox has no wheel cache");
	requirement_format(rq, spec, sizeof(spec));
	if (version_parse(v->valuestring, &ver) < 0 || !requirement_matches(rq, &ver, true))
		return rb_fail(err, RB_FAULT_REQUEST, 0, "dependency_conflict", field,
			       "'%s' asks for a version the pre-installed %s %s does not "
			       "satisfy; it cannot be replaced. Drop the version constraint.",
			       spec, rq->name, v->valuestring);
	snprintf(u->name, sizeof(u->name), "%s", rq->name);
	snprintf(u->version, sizeof(u->version), "%s", v->valuestring);
	return 0;
}

static int parse_all(const char *const *reqs, size_t n, struct requirement *rq,
		     struct rb_err *err)
{
	char field[48];

	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "dependencies[%zu]", i);
		if (requirement_parse(reqs[i], field, &rq[i], err) < 0) {
			/* One stable code for every malformed requirement. */
			snprintf(err->code, sizeof(err->code), "invalid_dependency");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(rq[i].name, rq[j].name) == 0)
				return refuse(err, "duplicate_dependency", field,
					      "'%s' names the same package as '%s'; list each "
					      "package once.", reqs[i], reqs[j]);
	}
	return 0;
}

int deps_resolve(const char *python, const char *const *reqs, size_t n,
		 struct deps_result *ret, struct rb_err *err)
{
	struct requirement *rq;
	char field[48];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (n == 0)
		return 0;
	rq = calloc(n, sizeof(*rq));
	ret->used = calloc(n, sizeof(*ret->used));
	if (!rq || !ret->used) {
		free(rq);
		return rb_fail_sys(err, ENOMEM, "resolve dependencies");
	}
	r = parse_all(reqs, n, rq, err);
	if (r >= 0 && !installed)
		r = list_installed(python, err);
	for (size_t i = 0; i < n && r >= 0; i++) {
		snprintf(field, sizeof(field), "dependencies[%zu]", i);
		r = check_one(&rq[i], field, &ret->used[i], err);
		ret->n = i + 1;
	}
	free(rq);
	return r;
}

size_t deps_pythonpath(const struct deps_result *r, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		if (!r->used[i].path[0])
			continue;
		len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s",
					len ? ":" : "", r->used[i].path);
	}
	return len < size ? len : 0;
}

cJSON *deps_result_to_json(const struct deps_result *r)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < r->n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", r->used[i].name);
		cJSON_AddStringToObject(o, "version", r->used[i].version);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void deps_result_free(struct deps_result *r)
{
	free(r->used);
	memset(r, 0, sizeof(*r));
}
