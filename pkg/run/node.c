/*
 * node: finding Node.js and esbuild, asking their versions, and Node's
 * upstream support status (see node.h).
 */
#define _GNU_SOURCE
#include "run/node.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

static bool executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The first @name in the ':'-separated @search (absolute directories only). */
static bool find_on_path(const char *search, const char *name, char *buf, size_t size)
{
	const char *p = search;

	while (*p) {
		size_t len = strcspn(p, ":");
		int n = snprintf(buf, size, "%.*s/%s", (int)len, p, name);

		if (p[0] == '/' && n > 0 && (size_t)n < size && executable_file(buf))
			return true;
		p += len + (p[len] == ':');
	}
	buf[0] = '\0';
	return false;
}

/* RUNBOX_@var if set (it must be executable), else @name on PATH. */
static int locate_one(const char *given, const char *var, const char *name, const char *search,
		      char *buf, size_t size, struct rb_err *err)
{
	char msg[400];

	if (given[0]) {
		if (!executable_file(given))
			return rb_fail(err, RB_FAULT_INTERNAL, errno, "invalid_config", var,
				       "%s='%s' is not an executable file.", var, given);
		snprintf(buf, size, "%s", given);
		return 0;
	}
	if (find_on_path(search, name, buf, size))
		return 0;
	snprintf(msg, sizeof(msg), "no %s on PATH (%.300s) and %s is unset: %s", name, search, var,
		 strcmp(name, "node") == 0 ? "javascript and typescript requests are refused"
					   : "typescript requests are refused");
	log_msg(LOG_INFO, "degraded", msg);
	return 0;
}

/* "N" or "Y": the kernel.ignore_rlimit_data boot parameter. */
static bool data_limit_enforced(void)
{
	char c = 'N';
	int fd = open("/sys/module/kernel/parameters/ignore_rlimit_data", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 'N';
		close(fd);
	}
	return c != 'Y' && c != 'y' && c != '1';
}

int node_locate(const struct runbox_config *cfg, struct node_runtime *ret, struct rb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	r = locate_one(cfg->node, "RUNBOX_NODE", "node", cfg->search_path, ret->node,
		       sizeof(ret->node), err);
	if (r >= 0)
		r = locate_one(cfg->esbuild, "RUNBOX_ESBUILD", "esbuild", cfg->search_path,
			       ret->esbuild, sizeof(ret->esbuild), err);
	ret->data_limit_enforced = data_limit_enforced();
	if (r >= 0 && ret->node[0] && !ret->data_limit_enforced)
		log_msg(LOG_INFO, "degraded",
			"the kernel ignores RLIMIT_DATA (booted with ignore_rlimit_data): a "
			"JavaScript program's memory outside V8's heap is not bounded");
	return r;
}

int node_check_language(const struct node_runtime *rt, enum request_language lang,
			struct rb_err *err)
{
	if (LANG_IS_NODE(lang) && !rt->node[0])
		return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "language_unavailable", "language",
			       "This runbox cannot run %s: it has no Node.js (the operator sets "
			       "RUNBOX_NODE or puts node on runbox's PATH).",
			       request_language_name(lang));
	if (lang == LANG_TYPESCRIPT && !rt->esbuild[0])
		return rb_fail(err, RB_FAULT_UNAVAILABLE, 0, "language_unavailable", "language",
			       "This runbox cannot run typescript: it has no esbuild to transpile "
			       "it (the operator sets RUNBOX_ESBUILD or puts esbuild on "
			       "runbox's PATH).");
	return 0;
}

/* Read what @prog --version prints (first line, at most @size - 1 bytes), within 10 s. */
static bool ask_version(const char *prog, char *buf, size_t size)
{
	int fds[2];
	size_t used = 0;
	double deadline = clock_now() + 10;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(devnull, 2);
		execl(prog, prog, "--version", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && used + 1 < size && clock_now() < deadline) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t n = poll(&p, 1, 1000) > 0 ? read(fds[0], buf + used, size - 1 - used) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 && (p.revents & (POLLHUP | POLLERR | POLLIN)))
			break;
		used += n > 0 ? (size_t)n : 0;
	}
	close(fds[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	buf[used] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return used > 0;
}

const char *node_version(const struct node_runtime *rt)
{
	static char version[64];
	static bool asked;

	if (!asked && rt->node[0])
		asked = ask_version(rt->node, version, sizeof(version));
	return asked ? version : NULL;
}

static const char *esbuild_version(const struct node_runtime *rt)
{
	static char version[64];
	static bool asked;

	if (!asked && rt->esbuild[0])
		asked = ask_version(rt->esbuild, version, sizeof(version));
	return asked ? version : NULL;
}

/*
 * Node.js's release schedule (github.com/nodejs/Release): when each major
 * became active LTS (odd majors never do), entered maintenance, and
 * reaches its end of life.
 */
struct node_release {
	int major;
	const char *lts, *maintenance, *eol;
};

/* clang-format off */
static const struct node_release releases[] = {
	{ 16, "2021-10-26", "2022-10-18", "2023-09-11" },
	{ 17, NULL, "2022-04-01", "2022-06-01" },
	{ 18, "2022-10-25", "2023-10-18", "2025-04-30" },
	{ 19, NULL, "2023-04-01", "2023-06-01" },
	{ 20, "2023-10-24", "2024-10-22", "2026-04-30" },
	{ 21, NULL, "2024-04-01", "2024-06-01" },
	{ 22, "2024-10-29", "2025-10-21", "2027-04-30" },
	{ 23, NULL, "2025-04-01", "2025-06-01" },
	{ 24, "2025-10-28", "2026-10-20", "2028-04-30" },
	{ 25, NULL, "2026-04-01", "2026-06-01" },
};
/* clang-format on */

/* "YYYY-MM-DD" as a comparable number YYYYMMDD. */
static long day_number(const char *date)
{
	return strtol(date, NULL, 10) * 10000 + strtol(date + 5, NULL, 10) * 100 +
	       strtol(date + 8, NULL, 10);
}

const char *node_support_status(const char *version, time_t now, const char **ret_end)
{
	struct tm tm;
	long today;
	int major = atoi(version && version[0] == 'v' ? version + 1 : version ? version : "");

	*ret_end = "";
	gmtime_r(&now, &tm);
	today = (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++) {
		const struct node_release *r = &releases[i];

		if (r->major != major)
			continue;
		*ret_end = r->eol;
		if (today >= day_number(r->eol))
			return "end of life";
		if (today >= day_number(r->maintenance))
			return r->lts ? "maintenance LTS" : "maintenance";
		if (r->lts && today >= day_number(r->lts))
			return "active LTS";
		return "current";
	}
	return "unknown";
}

cJSON *node_info_json(const struct node_runtime *rt)
{
	cJSON *o = cJSON_CreateObject();
	const char *v = node_version(rt), *eb = esbuild_version(rt), *end = "";

	if (!o)
		return NULL;
	cJSON_AddItemToObject(o, "path",
			      rt->node[0] ? cJSON_CreateString(rt->node) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "version", v ? cJSON_CreateString(v) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "support",
				v ? node_support_status(v, time(NULL), &end) : "unavailable");
	cJSON_AddItemToObject(o, "end_of_life",
			      end[0] ? cJSON_CreateString(end) : cJSON_CreateNull());
	cJSON_AddItemToObject(
	    o, "esbuild", rt->esbuild[0] ? cJSON_CreateString(rt->esbuild) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "esbuild_version",
			      eb ? cJSON_CreateString(eb) : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "memory_data_limit", rt->data_limit_enforced);
	return o;
}
