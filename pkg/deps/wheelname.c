/*
 * wheelname: file names and tags of wheels (see wheelname.h).
 */
#define _GNU_SOURCE
#include "deps/wheelname.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/requirement.h"

static int bad(struct rb_err *err, const char *filename, const char *what)
{
	return rb_fail(err, RB_FAULT_REQUEST, 0, "wheel_bad_filename", NULL,
		       "'%s' is not a wheel file name: %s (expected "
		       "name-version[-build]-python-abi-platform.whl)",
		       filename, what);
}

/* Tags are lowercase letters, digits, '_' and '.' separators; no empty parts. */
static bool valid_tag(const char *s)
{
	if (!*s || *s == '.' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
			return false;
	return true;
}

static bool valid_dist(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			return false;
	return *s && requirement_valid_name(s);
}

static int split(char *base, char *parts[6], int *ret_n)
{
	int n = 0;

	for (char *p = base;; p++) {
		if (n == 6)
			return -1;
		parts[n++] = p;
		p = strchr(p, '-');
		if (!p)
			break;
		*p = '\0';
	}
	*ret_n = n;
	return 0;
}

static int fill(struct wheel_name *w, char *parts[6], int n, const char *filename,
		struct rb_err *err)
{
	struct version v;
	int at = 2;

	if (!valid_dist(parts[0]))
		return bad(err, filename, "the distribution name is not a valid project name");
	if (version_parse(parts[1], &v) < 0)
		return bad(err, filename, "the version is not a PEP 440 version");
	memset(w, 0, sizeof(*w));
	requirement_normalize_name(parts[0], w->name, sizeof(w->name));
	snprintf(w->version, sizeof(w->version), "%s", parts[1]);
	if (n == 6) {
		if (parts[2][0] < '0' || parts[2][0] > '9' || !valid_tag(parts[2]))
			return bad(err, filename, "the build tag must start with a digit");
		snprintf(w->build, sizeof(w->build), "%s", parts[at++]);
	}
	if (!valid_tag(parts[at]) || !valid_tag(parts[at + 1]) || !valid_tag(parts[at + 2]))
		return bad(err, filename,
			   "a tag holds characters other than letters, digits, "
			   "'_' and '.'");
	snprintf(w->python, sizeof(w->python), "%s", parts[at]);
	snprintf(w->abi, sizeof(w->abi), "%s", parts[at + 1]);
	snprintf(w->platform, sizeof(w->platform), "%s", parts[at + 2]);
	return 0;
}

int wheelname_parse(const char *filename, struct wheel_name *ret, struct rb_err *err)
{
	char base[WHEELNAME_MAX + 1], *parts[6];
	size_t len = strlen(filename);
	struct wheel_name w;
	int n = 0, r;

	if (len > WHEELNAME_MAX)
		return bad(err, "(too long)", "longer than 255 bytes");
	if (len < 5 || strcmp(filename + len - 4, ".whl") != 0)
		return bad(err, filename, "it does not end in .whl");
	memcpy(base, filename, len - 4);
	base[len - 4] = '\0';
	if (split(base, parts, &n) < 0 || n < 5)
		return bad(err, filename, "it needs five or six '-'-separated parts");
	r = fill(&w, parts, n, filename, err);
	if (r < 0)
		return r;
	*ret = w;
	return 0;
}

/* "311" of "cp311" after @prefix; false when not prefix + digits. */
static bool tag_number(const char *tag, const char *prefix, unsigned *ret)
{
	size_t pl = strlen(prefix);
	char *end;
	unsigned long v;

	if (strncmp(tag, prefix, pl) != 0 || tag[pl] < '0' || tag[pl] > '9')
		return false;
	v = strtoul(tag + pl, &end, 10);
	if (*end || v > 1000)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* The minor version of "3Y" (311 -> 11), or -1 when not Python 3. */
static int py3_minor(unsigned n)
{
	if (n == 3)
		return 0; /* py3 */
	if (n >= 30 && n <= 39)
		return (int)(n - 30);
	if (n >= 300 && n <= 399)
		return (int)(n - 300);
	return -1;
}

enum interp { I_NONE, I_CP_EXACT, I_CP_OLDER, I_PY };

static enum interp python_kind(const char *tag, const struct wheel_target *t)
{
	unsigned n;
	int minor;

	if (tag_number(tag, "cp", &n)) {
		minor = py3_minor(n);
		if (n == 3 || minor < 0 || (unsigned)minor > t->py_minor)
			return I_NONE;
		return (unsigned)minor == t->py_minor ? I_CP_EXACT : I_CP_OLDER;
	}
	if (tag_number(tag, "py", &n)) {
		minor = py3_minor(n);
		return minor >= 0 && (unsigned)minor <= t->py_minor ? I_PY : I_NONE;
	}
	return I_NONE;
}

static bool abi_fits(const char *abi, enum interp k, const struct wheel_target *t)
{
	unsigned n;

	if (strcmp(abi, "none") == 0)
		return k != I_NONE;
	if (strcmp(abi, "abi3") == 0)
		return k == I_CP_EXACT || k == I_CP_OLDER;
	return k == I_CP_EXACT && tag_number(abi, "cp", &n) && py3_minor(n) == (int)t->py_minor;
}

/* manylinux_A_B_<machine> and the legacy aliases 1 (2.5), 2010 (2.12), 2014 (2.17). */
static bool manylinux_fits(const char *plat, const struct wheel_target *t)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} legacy[] = {{"manylinux1_", 2, 5}, {"manylinux2010_", 2, 12}, {"manylinux2014_", 2, 17}};
	unsigned a, b;
	int used = 0;

	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		size_t l = strlen(legacy[i].name);

		if (strncmp(plat, legacy[i].name, l) == 0)
			return strcmp(plat + l, t->machine) == 0 &&
			       (t->glibc_major > legacy[i].major ||
				(t->glibc_major == legacy[i].major &&
				 t->glibc_minor >= legacy[i].minor));
	}
	if (sscanf(plat, "manylinux_%u_%u_%n", &a, &b, &used) != 2 || used == 0)
		return false;
	return strcmp(plat + used, t->machine) == 0 &&
	       (t->glibc_major > a || (t->glibc_major == a && t->glibc_minor >= b));
}

static bool platform_fits(const char *plat, const struct wheel_target *t)
{
	if (strcmp(plat, "any") == 0)
		return true;
	if (strncmp(plat, "linux_", 6) == 0)
		return strcmp(plat + 6, t->machine) == 0;
	return t->glibc_major > 0 && manylinux_fits(plat, t);
}

/* Whether any member of the '.'-set @set satisfies @fits(member). */
/* NOLINTBEGIN(bugprone-macro-parentheses): @member names the loop's variable */
#define ANY_OF(set, member, cond)                                                                  \
	({                                                                                         \
		char copy_[WHEELNAME_MAX + 1], *save_ = NULL;                                      \
		bool found_ = false;                                                               \
		snprintf(copy_, sizeof(copy_), "%s", (set));                                       \
		for (char *member = strtok_r(copy_, ".", &save_); member && !found_;               \
		     member = strtok_r(NULL, ".", &save_))                                         \
			found_ = (cond);                                                           \
		found_;                                                                            \
	})
/* NOLINTEND(bugprone-macro-parentheses) */

static bool pair_fits(const char *py, const struct wheel_name *w, const struct wheel_target *t)
{
	enum interp k = python_kind(py, t);

	return k != I_NONE && ANY_OF(w->abi, abi, abi_fits(abi, k, t));
}

bool wheelname_compatible(const struct wheel_name *w, const struct wheel_target *t, char *why,
			  size_t why_size)
{
	bool ok = ANY_OF(w->python, py, pair_fits(py, w, t)) &&
		  ANY_OF(w->platform, plat, platform_fits(plat, t));

	if (!ok && why_size > 0)
		snprintf(why, why_size,
			 "tags %s-%s-%s do not fit CPython %u.%u on Linux %s (glibc %u.%u): "
			 "it takes cp3%u, abi3, py3 or none, on any, linux_%s or manylinux",
			 w->python, w->abi, w->platform, t->py_major, t->py_minor, t->machine,
			 t->glibc_major, t->glibc_minor, t->py_minor, t->machine);
	return ok;
}
