/*
 * cgroup_layout: the text rules of control groups (see cgroup_layout.h).
 */
#define _GNU_SOURCE
#include "sandbox/cgroup_layout.h"
#include "sandbox/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const controller_names[CGROUP_CONTROLLERS] = {
    [CGROUP_MEMORY] = "memory",
    [CGROUP_PIDS] = "pids",
    [CGROUP_CPU] = "cpu",
};

const char *cgroup_controller_name(enum cgroup_controller c)
{
	return (unsigned)c < CGROUP_CONTROLLERS ? controller_names[c] : "?";
}

/* Whether the @sep-separated @list holds @name as one of its words. */
static bool word_in(const char *list, size_t len, const char *name, const char *sep)
{
	size_t n = strlen(name);

	for (size_t at = 0; at < len;) {
		size_t w = strcspn(list + at, sep);

		if (at + w > len)
			w = len - at;
		if (w == n && memcmp(list + at, name, n) == 0)
			return true;
		at += w + 1;
	}
	return false;
}

bool cgroup_list_has(const char *list, const char *name)
{
	return word_in(list, strlen(list), name, " \t\n");
}

/* One line of @text at *@at: its bounds, and *@at past it; false at the end. */
static bool next_line(const char *text, size_t *at, const char **ret, size_t *ret_len)
{
	const char *s = text + *at, *nl;

	if (!*s)
		return false;
	nl = strchr(s, '\n');
	*ret = s;
	*ret_len = nl ? (size_t)(nl - s) : strlen(s);
	*at += *ret_len + (nl ? 1 : 0);
	return true;
}

/*
 * The group path of the /proc/self/cgroup line for @controller (NULL: the
 * v2 line "0::PATH"), copied to @buf; false when there is none.
 */
static bool own_path(const char *proc_cgroup, const char *controller, char *buf, size_t size)
{
	const char *line;
	size_t at = 0, len;

	while (next_line(proc_cgroup, &at, &line, &len)) {
		const char *c1 = memchr(line, ':', len), *c2;
		size_t clen;

		if (!c1 || !(c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line))))
			continue;
		clen = (size_t)(c2 - c1 - 1);
		if (controller ? !word_in(c1 + 1, clen, controller, ",")
			       : (clen != 0 || c1 != line + 1 || line[0] != '0'))
			continue;
		len -= (size_t)(c2 + 1 - line);
		if (len == 0 || len >= size || c2[1] != '/')
			return false;
		memcpy(buf, c2 + 1, len);
		buf[len] = '\0';
		return true;
	}
	return false;
}

/* The fields of one mountinfo line that matter here. */
struct mount_line {
	char root[PATH_MAX], point[PATH_MAX], fstype[32], super[512];
};

static bool parse_mount(const char *line, size_t len, struct mount_line *m)
{
	char buf[3 * PATH_MAX], *dash;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	dash = strstr(buf, " - ");
	if (!dash)
		return false;
	*dash = '\0';
	if (sscanf(buf, "%*s %*s %*s %4095s %4095s", m->root, m->point) != 2 ||
	    sscanf(dash + 3, "%31s %*s %511s", m->fstype, m->super) != 2)
		return false;
	mountinfo_unescape(m->root);
	mountinfo_unescape(m->point);
	return true;
}

/*
 * @own (a group path) seen through a mount of @root at @point, into @buf:
 * false when the group is not inside what the mount shows.
 */
static bool join(const struct mount_line *m, const char *own, char *buf, size_t size)
{
	size_t rlen = strlen(m->root);
	const char *rest;
	int n;

	if (strcmp(m->root, "/") == 0)
		rest = own;
	else if (strncmp(own, m->root, rlen) == 0 && (own[rlen] == '/' || own[rlen] == '\0'))
		rest = own + rlen;
	else
		return false;
	if (strcmp(rest, "/") == 0 || !*rest)
		rest = "";
	/* "/.." : the group is outside the process's cgroup namespace. */
	if (strstr(rest, "/../") || (strlen(rest) >= 3 && !strcmp(rest + strlen(rest) - 3, "/..")))
		return false;
	n = snprintf(buf, size, "%s%s", m->point, rest);
	return n > 0 && (size_t)n < size;
}

/*
 * The first mount of type @fstype (with @controller among its options, for
 * v1) through which @own is visible, as a directory in @buf.
 */
static bool find_mount(const char *mountinfo, const char *fstype, const char *controller,
		       const char *own, char *buf, size_t size)
{
	static struct mount_line m; /* large: not on the stack of a caller's caller */
	const char *line;
	size_t at = 0, len;

	while (next_line(mountinfo, &at, &line, &len)) {
		if (!parse_mount(line, len, &m) || strcmp(m.fstype, fstype) != 0)
			continue;
		if (controller && !word_in(m.super, strlen(m.super), controller, ","))
			continue;
		if (join(&m, own, buf, size))
			return true;
	}
	return false;
}

void cgroup_layout_find(const char *proc_cgroup, const char *mountinfo, struct cgroup_layout *ret)
{
	char own[PATH_MAX];
	bool any = false;

	memset(ret, 0, sizeof(*ret));
	if (own_path(proc_cgroup, NULL, own, sizeof(own)) &&
	    find_mount(mountinfo, "cgroup2", NULL, own, ret->v2, sizeof(ret->v2)))
		any = true;
	for (int c = 0; c < CGROUP_CONTROLLERS; c++) {
		if (!own_path(proc_cgroup, controller_names[c], own, sizeof(own)))
			continue;
		if (find_mount(mountinfo, "cgroup", controller_names[c], own, ret->v1[c],
			       sizeof(ret->v1[c])))
			any = true;
		else
			ret->v1[c][0] = '\0';
	}
	if (!any)
		snprintf(ret->why_not, sizeof(ret->why_not),
			 "no cgroup hierarchy is mounted where this process's groups are visible");
}

int cgroup_keyed_value(const char *text, const char *key, unsigned long long *ret)
{
	size_t klen = strlen(key), at = 0, len;
	const char *line;

	while (next_line(text, &at, &line, &len)) {
		char *end;

		if (len <= klen || memcmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		errno = 0;
		*ret = strtoull(line + klen + 1, &end, 10);
		if (errno || end == line + klen + 1)
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

unsigned long long cgroup_parse_limit(const char *text)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return 0;
	return v >= (1ULL << 62) ? 0 : v;
}

void cgroup_name(unsigned long long id, char *buf)
{
	snprintf(buf, CGROUP_NAME_BYTES, "runbox-%016llx", id);
}

bool cgroup_name_is_ours(const char *name)
{
	if (strncmp(name, "runbox-", 7) != 0 || strlen(name) != 7 + 16)
		return false;
	return strspn(name + 7, "0123456789abcdef") == 16;
}

unsigned long long cgroup_cpu_quota_us(double cpus, unsigned long long period_us)
{
	double q = cpus * (double)period_us;

	return q < 1000 ? 1000 : (unsigned long long)(q + 0.5);
}
