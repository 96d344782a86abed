/*
 * target: the interpreter's self-description (see target.h).
 */
#define _GNU_SOURCE
#include "deps/target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deps/pyprobe.h"

#define MAX_TARGET_BYTES (4 * 1024 * 1024)

/* The marker environment, glibc and installed distributions of the interpreter. */
static const char target_program[] =
    "import json, os, platform, re, sys, importlib.metadata as m\n" PYPROBE_VERSION_OF "pre = {}\n"
    "for d in m.distributions():\n"
    "    n = d.metadata['Name']\n"
    "    if n: pre.setdefault(re.sub(r'[-_.]+', '-', n).lower(), version_of(d))\n"
    "try: libc = os.confstr('CS_GNU_LIBC_VERSION') or ''\n"
    "except Exception: libc = ''\n"
    "iv = sys.implementation.version\n"
    "print(json.dumps({'markers': {\n"
    "  'python_version': '%d.%d' % sys.version_info[:2],\n"
    "  'python_full_version': platform.python_version(),\n"
    "  'sys_platform': sys.platform, 'platform_machine': platform.machine(),\n"
    "  'platform_system': platform.system(), 'platform_release': platform.release(),\n"
    "  'platform_version': platform.version(),\n"
    "  'platform_python_implementation': platform.python_implementation(),\n"
    "  'os_name': os.name, 'implementation_name': sys.implementation.name,\n"
    "  'implementation_version': '%d.%d.%d' % tuple(iv[:3])},\n"
    "  'glibc': libc.split()[1] if libc.startswith('glibc ') else '',\n"
    "  'stdlib': sorted(getattr(sys, 'stdlib_module_names', sys.builtin_module_names)),\n"
    "  'preinstalled': dict(sorted(pre.items()))}, sort_keys=True))\n";

static const char *marker(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "markers"), key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fill @t's views of @t->json. */
static int interpret(const char *python, struct target *t, struct rb_err *err)
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(t->json, "stdlib"), *n;
	const char *glibc =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t->json, "glibc"));
	const cJSON *root = t->json;

	t->env = (struct marker_env){
	    marker(root, "python_version"),
	    marker(root, "python_full_version"),
	    marker(root, "sys_platform"),
	    marker(root, "platform_machine"),
	    marker(root, "platform_system"),
	    marker(root, "platform_release"),
	    marker(root, "platform_version"),
	    marker(root, "platform_python_implementation"),
	    marker(root, "os_name"),
	    marker(root, "implementation_name"),
	    marker(root, "implementation_version"),
	    "",
	};
	t->preinstalled = cJSON_GetObjectItemCaseSensitive(root, "preinstalled");
	if (!cJSON_IsArray(names) || !cJSON_IsObject(t->preinstalled))
		return rb_fail_sys(err, EINVAL, "'%s' did not list its standard library", python);
	t->stdlib = calloc((size_t)cJSON_GetArraySize(names) + 1, sizeof(*t->stdlib));
	if (!t->stdlib)
		return rb_fail_sys(err, ENOMEM, "list the standard library");
	cJSON_ArrayForEach(n, names)
	{
		if (cJSON_IsString(n))
			t->stdlib[t->n_stdlib++] = n->valuestring;
	}
	qsort(t->stdlib, t->n_stdlib, sizeof(*t->stdlib), cmp_str_ptr);
	if (sscanf(t->env.python_version, "%u.%u", &t->wt.py_major, &t->wt.py_minor) != 2 ||
	    t->wt.py_major != 3)
		return rb_fail_sys(err, EINVAL, "'%s' is not a Python 3 interpreter", python);
	snprintf(t->wt.machine, sizeof(t->wt.machine), "%s", t->env.platform_machine);
	if (glibc && sscanf(glibc, "%u.%u", &t->wt.glibc_major, &t->wt.glibc_minor) != 2)
		return rb_fail_sys(err, EINVAL, "'%s' reports glibc '%s', not a version", python,
				   glibc);
	return 0;
}

int target_probe(const char *python, struct target *ret, struct rb_err *err)
{
	struct target t = {0};
	int r = pyprobe_json(python, target_program, &t.json, err);

	if (r >= 0)
		r = interpret(python, &t, err);
	if (r < 0) {
		target_free(&t);
		return r;
	}
	*ret = t;
	return 0;
}

/* "python inode size mtime": the key a stored answer is valid for. */
static int key_of(const char *python, char *buf, size_t size)
{
	struct stat st;

	if (stat(python, &st) < 0)
		return -errno;
	snprintf(buf, size, "%s %lu %lld %lld.%09ld", python, (unsigned long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return 0;
}

static cJSON *load(int dirfd, const char *name, const char *key)
{
	char *buf = malloc(MAX_TARGET_BYTES + 1);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 && buf ? read(fd, buf, MAX_TARGET_BYTES) : -1;
	cJSON *j = NULL;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		j = cJSON_Parse(buf);
	}
	free(buf);
	if (j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "key")) ?: "",
			key) != 0) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

static void store(int dirfd, const char *name, cJSON *j, const char *key)
{
	char tmp[300], *text;
	int fd;

	cJSON_AddStringToObject(j, "key", key);
	text = cJSON_PrintUnformatted(j);
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%d", name, (int)getpid());
	fd = text ? openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)
		  : -1;
	if (fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0)
		renameat(dirfd, tmp, dirfd, name);
	else if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	free(text);
}

int target_cached(const char *python, int state_fd, const char *name, struct target *ret,
		  struct rb_err *err)
{
	char key[700];
	struct target t = {0};
	int r;

	if (state_fd < 0 || key_of(python, key, sizeof(key)) < 0)
		return target_probe(python, ret, err);
	t.json = load(state_fd, name, key);
	if (!t.json) {
		r = target_probe(python, ret, err);
		if (r >= 0)
			store(state_fd, name, ret->json, key);
		return r;
	}
	r = interpret(python, &t, err);
	if (r < 0) {
		target_free(&t);
		return r;
	}
	*ret = t;
	return 0;
}

void target_free(struct target *t)
{
	cJSON_Delete(t->json);
	free(t->stdlib);
	memset(t, 0, sizeof(*t));
}
