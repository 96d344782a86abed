/*
 * warm: the template's manager and the hand-off of a run (see warm.h).
 *
 * The manager lives in the front door's long-lived process (serve's
 * spawner, the Lambda loop, the MCP server).  It writes the template's
 * two files (template.py as sitecustomize, the shared object with
 * template.c) into a private directory under the state directory, starts
 * the interpreter with the scrubbed environment and only its own fds,
 * and reads what it says on a pipe: one JSON line when its imports are
 * done, then a byte per run it made.  A run is handed over by the process
 * that supervises it (a worker), over a SOCK_SEQPACKET socket it inherits.
 */
#define _GNU_SOURCE
#include "run/warm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fdio.h"
#include "base/log.h"
#include "base/tree.h"
#include "contract/request.h"
#include "run/pyimports.h"
#include "sandbox/seccomp_policy.h"
#include "template_files.h" /* generated: template.py and the shared object, as bytes */

/* How long a worker waits for the template's answer before it runs cold. */
#define REPLY_TIMEOUT_MS 2000
/* Back-off after a template that did not start: doubling, at most this. */
#define RETRY_MAX_S 60.0
/* How long a template may take to import before it is given up on. */
#define START_TIMEOUT_S 120.0

extern char **environ;

/*
 * A template's directory whose manager is gone (a runbox killed with its
 * template): warm-<pid>-<n>, removed when no process has that pid, or it
 * is not a runbox any more.
 */
static void sweep_dirs(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char exe[64], target[PATH_MAX];
		long pid;
		ssize_t n;

		if (strncmp(de->d_name, "warm-", 5) != 0)
			continue;
		pid = strtol(de->d_name + 5, NULL, 10);
		snprintf(exe, sizeof(exe), "/proc/%ld/exe", pid);
		n = readlink(exe, target, sizeof(target) - 1);
		if (pid > 0 && n > 0 && (target[n] = '\0', strstr(target, "runbox")))
			continue;
		(void)tree_remove_at(dirfd(d), de->d_name);
	}
	if (d)
		closedir(d);
}

int warm_init(struct warm *w, const struct runbox_config *cfg, bool long_lived, const char *why,
	      struct rb_err *err)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->shared = mmap(NULL, sizeof(*w->shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->shared == MAP_FAILED) {
		w->shared = NULL;
		return rb_fail_sys(err, errno, "map the warm templates' figures");
	}
	memset(w->shared, 0, sizeof(*w->shared));
	if (cfg->warm == RUNBOX_WARM_OFF)
		why = "RUNBOX_WARM=off";
	else if (!long_lived)
		why = "one request per process: nothing to keep warm";
	else if (cfg->warm == RUNBOX_WARM_ON && why) {
		log_msg(LOG_INFO, "degraded", "RUNBOX_WARM=on where a run could reach a template");
		why = NULL;
	}
	w->enabled = why == NULL;
	snprintf(w->shared->why_off, sizeof(w->shared->why_off), "%s", why ? why : "");
	for (int k = 0; k < WARM_KINDS; k++) {
		struct warm_tpl *t = &w->t[k];

		t->kind = (enum warm_kind)k;
		t->shared = &w->shared->t[k];
		t->ctl = t->events = t->errout = t->retiring_ctl = -1;
		/* The stack's template imports something, or is not needed. */
		t->enabled = w->enabled && (k != WARM_STACK ||
					    cfg->warm_imports[strspn(cfg->warm_imports, ", ")]);
		t->shared->state = t->enabled ? WARM_STARTING : WARM_OFF;
		snprintf(t->shared->why_off, sizeof(t->shared->why_off), "%s",
			 t->enabled ? ""
			 : why	    ? why
				    : "RUNBOX_WARM_IMPORTS is empty");
	}
	if (w->enabled)
		sweep_dirs(cfg->state_dir);
	return 0;
}

/* ---- starting a template ---- */

static int write_file(const char *dir, const char *name, const unsigned char *p, size_t n,
		      mode_t mode)
{
	char path[700];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = fd_write_all(fd, p, n);
	close(fd);
	return r;
}

/* A directory of the template's own: its two files, its HOME and TMPDIR. */
static int make_dir(const struct warm *w, struct warm_tpl *t)
{
	static unsigned gen;
	const char *sub[] = {"home", "tmp"};
	int r;

	if (snprintf(t->dir, sizeof(t->dir), "%s/warm-%d-%u", w->cfg->state_dir, (int)getpid(),
		     ++gen) >= (int)sizeof(t->dir))
		return -ENAMETOOLONG;
	if (mkdir(t->dir, 0700) < 0)
		return -errno;
	for (size_t i = 0; i < 2; i++) {
		char p[700];

		snprintf(p, sizeof(p), "%s/%s", t->dir, sub[i]);
		if (mkdir(p, 0700) < 0)
			return -errno;
	}
	r = write_file(t->dir, "sitecustomize.py", template_py, template_py_len, 0400);
	if (r >= 0)
		r = write_file(t->dir, "runbox-template.so", template_so, template_so_len, 0500);
	return r;
}

static void remove_dir(char *dir)
{
	char *slash = strrchr(dir, '/');
	int parent;

	if (!dir[0] || !slash)
		return;
	*slash = '\0';
	parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (parent >= 0) {
		(void)tree_remove_at(parent, slash + 1);
		close(parent);
	}
	dir[0] = '\0';
}

/* The modules to import, as a JSON array, from RUNBOX_WARM_IMPORTS' comma list. */
static size_t imports_json(const char *list, char *out, size_t size)
{
	size_t n = 0;

	n += (size_t)snprintf(out + n, size - n, "[");
	for (const char *p = list; *p && n < size;) {
		size_t len = strcspn(p, ", ");

		if (len)
			n += (size_t)snprintf(out + n, size - n, "%s\"%.*s\"", n > 1 ? "," : "",
					      (int)len, p);
		p += len;
		p += strspn(p, ", ");
	}
	if (n < size)
		n += (size_t)snprintf(out + n, size - n, "]");
	return n;
}

/* The template's environment: what a run's would be, and where its files are. */
static void template_env(const struct warm *w, const struct warm_tpl *t, char bufs[][3200],
			 char **envp)
{
	char imports[2200];
	unsigned th = w->cfg->blas_threads;
	size_t n = 0;

	imports_json(t->kind == WARM_STACK ? w->cfg->warm_imports : "", imports, sizeof(imports));
	snprintf(bufs[n++], sizeof(bufs[0]), "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(bufs[n++], sizeof(bufs[0]), "LANG=C.UTF-8");
	snprintf(bufs[n++], sizeof(bufs[0]), "HOME=%s/home", t->dir);
	snprintf(bufs[n++], sizeof(bufs[0]), "TMPDIR=%s/tmp", t->dir);
	snprintf(bufs[n++], sizeof(bufs[0]), "PYTHONIOENCODING=utf-8");
	snprintf(bufs[n++], sizeof(bufs[0]), "PYTHONUNBUFFERED=1");
	snprintf(bufs[n++], sizeof(bufs[0]), "PYTHONDONTWRITEBYTECODE=1");
	snprintf(bufs[n++], sizeof(bufs[0]), "MPLBACKEND=Agg");
	snprintf(bufs[n++], sizeof(bufs[0]), "OPENBLAS_NUM_THREADS=%u", th);
	snprintf(bufs[n++], sizeof(bufs[0]), "OMP_NUM_THREADS=%u", th);
	snprintf(bufs[n++], sizeof(bufs[0]), "MKL_NUM_THREADS=%u", th);
	snprintf(bufs[n++], sizeof(bufs[0]), "PYTHONPATH=%s", t->dir);
	snprintf(bufs[n++], sizeof(bufs[0]),
		 "RUNBOX_TEMPLATE={\"lib\":\"%s/runbox-template.so\",\"ctl\":3,\"events\":4,"
		 "\"exercise\":%s,\"imports\":%s}",
		 t->dir, w->cfg->warm_exercise ? "true" : "false", imports);
	for (size_t i = 0; i < n; i++)
		envp[i] = bufs[i];
	envp[n] = NULL;
}

/*
 * Whether a template is put in a network namespace of its own: as root, so
 * that its imports cannot reach anything.  A run made from it stays there,
 * so a run with the network on cannot start in it.
 */
static bool template_netns_own(void)
{
	return geteuid() == 0;
}

/*
 * In the forked child, before the interpreter: its fds, its limits, and
 * the layers that do not keep it from making a run's processes later.
 * Never returns.
 */
static __attribute__((noreturn)) void exec_template(const struct warm *w, const struct warm_tpl *t,
						    int ctl, int events, int errout, pid_t manager)
{
	char bufs[14][3200], *envp[15], main_py[700];
	char *argv[] = {(char *)w->cfg->python, main_py, NULL};
	struct rlimit core = {0, 0};
	struct rb_err err;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != manager || devnull < 0)
		_exit(120);
	snprintf(main_py, sizeof(main_py), "%s/main.py", t->dir);
	template_env(w, t, bufs, envp);
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(errout, 2) < 0 ||
	    dup2(ctl, 3) < 0 || dup2(events, 4) < 0)
		_exit(121);
	syscall(SYS_close_range, 5U, ~0U, 0);
	setrlimit(RLIMIT_CORE, &core);
	if (chdir(t->dir) < 0)
		_exit(122);
	/* Failing leaves it on the host's network, where runs with the network on
	 * would fit too; they still start cold (template_netns_own), which is
	 * never wrong. */
	if (template_netns_own())
		(void)unshare(CLONE_NEWNET);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    (w->cfg->sandbox && seccomp_policy_load_template(&err) < 0))
		_exit(123);
	execve(w->cfg->python, argv, envp);
	_exit(124);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void back_off(struct warm_tpl *t)
{
	t->failures++;
	t->retry_at = clock_now() + fmin(RETRY_MAX_S, 0.5 * pow(2, t->failures));
	t->shared->state = WARM_BROKEN;
}

static void start(const struct warm *w, struct warm_tpl *t)
{
	int ctl[2] = {-1, -1}, ev[2] = {-1, -1}, eo[2] = {-1, -1}, r;
	pid_t manager = getpid();

	r = make_dir(w, t);
	if (r < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    pipe2(ev, O_CLOEXEC) < 0 || pipe2(eo, O_CLOEXEC) < 0) {
		log_msg(LOG_INFO, "warm", "could not prepare a template (state directory?)");
		goto fail;
	}
	t->pid = fork();
	if (t->pid == 0)
		exec_template(w, t, ctl[1], ev[1], eo[1], manager);
	if (t->pid < 0)
		goto fail;
	close(ctl[1]);
	close(ev[1]);
	close(eo[1]);
	fcntl(ev[0], F_SETFL, O_NONBLOCK);
	fcntl(eo[0], F_SETFL, O_NONBLOCK);
	t->ctl = ctl[0];
	t->events = ev[0];
	t->errout = eo[0];
	t->events_len = 0;
	t->started_at = clock_now();
	if (t->shared->state != WARM_READY)
		t->shared->state = WARM_STARTING;
	return;
fail:
	t->pid = 0;
	for (int i = 0; i < 2; i++) {
		close_fd(&ctl[i]);
		close_fd(&ev[i]);
		close_fd(&eo[i]);
	}
	remove_dir(t->dir);
	back_off(t);
}

/* ---- what a template says ---- */

/* Copy the comma list of JSON array @a's strings into @out. */
static void join_strings(const cJSON *a, char *out, size_t size)
{
	const cJSON *e;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(e, a) if (cJSON_IsString(e) && n < size) n +=
	    (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", e->valuestring);
}

/* ",a,b,c,": names one strstr() can find whole; too many to fit leaves "" (nothing fits). */
static void join_names(const cJSON *a, char *out, size_t size)
{
	const cJSON *e;
	size_t n = 1;

	snprintf(out, size, ",");
	cJSON_ArrayForEach(e, a)
	{
		if (!cJSON_IsString(e))
			continue;
		n += (size_t)snprintf(out + n, size > n ? size - n : 0, "%s,", e->valuestring);
		if (n >= size) {
			out[0] = '\0';
			return;
		}
	}
}

/* A replacement is ready: the one it replaces goes once the runs it holds are made. */
static void let_retire(struct warm_tpl *t)
{
	if (t->retiring_ctl >= 0)
		close_fd(&t->retiring_ctl);
}

static void on_ready(struct warm_tpl *t, const cJSON *j)
{
	struct warm_shared_tpl *s = t->shared;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (cJSON_IsString(err)) {
		log_msg(LOG_INFO, "warm", err->valuestring);
		snprintf(s->why_off, sizeof(s->why_off), "%s", err->valuestring);
		t->enabled = false; /* it exits: nothing a restart would change */
		s->state = WARM_OFF;
		return;
	}
	let_retire(t);
	join_strings(cJSON_GetObjectItemCaseSensitive(j, "imported"), s->imported,
		     sizeof(s->imported));
	join_strings(cJSON_GetObjectItemCaseSensitive(j, "failed"), s->failed_imports,
		     sizeof(s->failed_imports));
	join_names(cJSON_GetObjectItemCaseSensitive(j, "toplevel"), s->toplevel,
		   sizeof(s->toplevel));
	join_names(cJSON_GetObjectItemCaseSensitive(j, "chosen"), s->chosen, sizeof(s->chosen));
	s->rss_kb = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "rss_kb"));
	s->vsize_kb = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "vsize_kb"));
	s->ready_s = clock_now() - t->started_at;
	s->uses = 0;
	s->why_off[0] = '\0';
	s->pid = t->pid;
	s->state = WARM_READY;
	t->failures = 0;
	if (s->failed_imports[0])
		log_msg(LOG_INFO, "warm_import_failed", s->failed_imports);
	log_msg(LOG_INFO, "warm_ready",
		t->kind == WARM_STACK ? s->imported : "(the interpreter alone)");
}

/* What it says: a 'u' for each run it made, and JSON lines (ready, or why it cannot be). */
static void read_events(struct warm_tpl *t)
{
	ssize_t n;

	while (t->events >= 0 && t->events_len < sizeof(t->events_buf) - 1 &&
	       (n = read(t->events, t->events_buf + t->events_len,
			 sizeof(t->events_buf) - 1 - t->events_len)) > 0)
		t->events_len += (size_t)n;
	while (t->events_len) {
		char *nl;
		cJSON *j;

		if (t->events_buf[0] == 'u') {
			__atomic_add_fetch(&t->shared->uses, 1, __ATOMIC_RELAXED);
			memmove(t->events_buf, t->events_buf + 1, --t->events_len);
			continue;
		}
		nl = memchr(t->events_buf, '\n', t->events_len);
		if (!nl) {
			if (t->events_len == sizeof(t->events_buf) - 1)
				t->events_len = 0; /* a line that long is not one of ours */
			return;
		}
		*nl = '\0';
		j = cJSON_Parse(t->events_buf);
		if (j)
			on_ready(t, j);
		cJSON_Delete(j);
		t->events_len -= (size_t)(nl + 1 - t->events_buf);
		memmove(t->events_buf, nl + 1, t->events_len);
	}
}

/* Its stderr (a failing import's traceback), logged a piece at a time. */
static void read_errout(struct warm_tpl *t)
{
	char buf[2048];
	ssize_t n;

	while (t->errout >= 0 && (n = read(t->errout, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		log_msg(LOG_DEBUG, "warm_stderr", buf);
	}
}

/* Start a replacement; the running one serves until the replacement is ready. */
static void retire(struct warm *w, struct warm_tpl *t, const char *why)
{
	log_msg(LOG_INFO, "warm_replace", why);
	w->shared->replaced++;
	t->retiring = t->pid;
	t->retiring_ctl = t->ctl;
	memcpy(t->retiring_dir, t->dir, sizeof(t->retiring_dir));
	t->ctl = -1;
	close_fd(&t->events);
	close_fd(&t->errout);
	t->pid = 0;
	t->dir[0] = '\0';
	start(w, t);
}

/* The manager forgets template @t that ended (and starts another). */
static void ended(struct warm *w, struct warm_tpl *t, int status)
{
	char why[128];

	snprintf(why, sizeof(why), "a template ended (wait status %d): starting another", status);
	log_msg(LOG_INFO, "warm_died", why);
	if (t->shared->state == WARM_READY && t->shared->pid == t->pid) {
		t->shared->state = WARM_STARTING;
		w->shared->replaced++;
	} else if (t->enabled) {
		back_off(t);
	}
	t->shared->pid = 0;
	t->pid = 0;
	close_fd(&t->ctl);
	close_fd(&t->events);
	close_fd(&t->errout);
	remove_dir(t->dir);
}

static bool tpl_reaped(struct warm *w, struct warm_tpl *t, pid_t pid, int status)
{
	if (pid == t->retiring) {
		t->retiring = 0;
		close_fd(&t->retiring_ctl);
		remove_dir(t->retiring_dir);
		return true;
	}
	if (pid != t->pid)
		return false;
	ended(w, t, status);
	return true;
}

bool warm_reaped(struct warm *w, pid_t pid, int status)
{
	if (!w->enabled || pid <= 0)
		return false;
	for (int k = 0; k < WARM_KINDS; k++)
		if (tpl_reaped(w, &w->t[k], pid, status)) {
			warm_tick(w);
			return true;
		}
	return false;
}

static void tick_one(struct warm *w, struct warm_tpl *t, bool wedged)
{
	struct warm_shared_tpl *s = t->shared;
	int st;

	/* An owner without a reaping loop of its own (Lambda, MCP) learns of its end here. */
	if (t->retiring > 0 && waitpid(t->retiring, &st, WNOHANG) == t->retiring)
		tpl_reaped(w, t, t->retiring, st);
	if (t->pid > 0 && waitpid(t->pid, &st, WNOHANG) == t->pid)
		ended(w, t, st);
	read_events(t);
	read_errout(t);
	if (!t->enabled)
		return;
	if (!t->pid && clock_now() >= t->retry_at)
		start(w, t);
	if (!t->pid)
		return;
	if ((s->state != WARM_READY && clock_now() - t->started_at > START_TIMEOUT_S) ||
	    (wedged && s->state == WARM_READY && s->pid == t->pid)) {
		log_msg(LOG_INFO, "warm_replace",
			wedged ? "a template stopped answering"
			       : "a template took too long to start");
		kill(t->pid, SIGKILL); /* its end starts the next one */
		return;
	}
	if (s->state == WARM_READY && s->pid == t->pid && !t->retiring &&
	    (s->uses >= w->cfg->warm_max_uses ||
	     clock_now() - t->started_at >= w->cfg->warm_max_age_s))
		retire(w, t,
		       s->uses >= w->cfg->warm_max_uses ? "RUNBOX_WARM_MAX_USES reached"
							: "RUNBOX_WARM_MAX_AGE_S reached");
}

void warm_tick(struct warm *w)
{
	bool wedged;

	if (!w->enabled)
		return;
	/* A worker found a template not answering (stopped, wedged): it is replaced. */
	wedged = w->shared->failed != w->seen_fallbacks;
	w->seen_fallbacks = w->shared->failed;
	for (int k = 0; k < WARM_KINDS; k++)
		tick_one(w, &w->t[k], wedged);
}

int warm_poll_fds(const struct warm *w, int *ret_fds)
{
	int n = 0;

	for (int k = 0; w->enabled && k < WARM_KINDS; k++) {
		if (w->t[k].events >= 0)
			ret_fds[n++] = w->t[k].events;
		if (w->t[k].errout >= 0)
			ret_fds[n++] = w->t[k].errout;
	}
	return n;
}

static void kill_wait(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

void warm_stop(struct warm *w)
{
	if (!w->enabled)
		return;
	for (int k = 0; k < WARM_KINDS; k++) {
		struct warm_tpl *t = &w->t[k];

		kill_wait(&t->pid);
		kill_wait(&t->retiring);
		close_fd(&t->ctl);
		close_fd(&t->retiring_ctl);
		close_fd(&t->events);
		close_fd(&t->errout);
		remove_dir(t->dir);
		remove_dir(t->retiring_dir);
	}
	w->enabled = false;
}

bool warm_ready(const struct warm *w, enum warm_kind kind)
{
	const struct warm_tpl *t = w ? &w->t[kind] : NULL;

	return t && w->enabled && t->enabled && t->ctl >= 0 && t->shared->state == WARM_READY &&
	       t->shared->pid == t->pid;
}

bool warm_is_template(const struct warm *w, pid_t pid)
{
	for (int k = 0; w && pid > 0 && k < WARM_KINDS; k++)
		if (w->t[k].pid == pid || w->t[k].retiring == pid)
			return true;
	return false;
}

/* Whether @name (of @len bytes) is one of template @t's top-level modules. */
static bool template_holds(const struct warm_tpl *t, const char *name, size_t len)
{
	char key[260];

	if (len == 0 || len > 250)
		return false;
	snprintf(key, sizeof(key), ",%.*s,", (int)len, name);
	return !t->shared->toplevel[0] || strstr(t->shared->toplevel, key);
}

/* Environment variables a module reads when it is imported, which the template did already. */
static bool read_at_import(const struct warm_tpl *t, const char *name)
{
	static const char *const fixed[] = {"LANG", "LANGUAGE",	  "LC_",  "NPY_",
					    "MPL",  "MATPLOTLIB", "KMP_", "TZDIR"};
	char module[260];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strncmp(name, fixed[i], strlen(fixed[i])) == 0)
			return true;
	/* FOO_BAR: a module named foo (SKLEARN_ASSUME_FINITE, JOBLIB_..., PANDAS_...) */
	while (name[n] && name[n] != '_' && n < sizeof(module) - 1) {
		module[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
		n++;
	}
	return name[n] == '_' && template_holds(t, module, n);
}

/* A dependency tree that holds a top-level module the template imported. */
static bool tree_shadows(const struct warm_tpl *t, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool hit = false;

	if (!d)
		return true; /* unknown: cold is always right */
	while (!hit && (de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strcspn(name, ".");

		if (name[0] == '.' || strstr(name, ".dist-info") || strstr(name, ".data"))
			continue;
		hit = template_holds(t, name, len);
	}
	closedir(d);
	return hit;
}

/*
 * One of the modules the operator named for the stack's template (a
 * top-level name of RUNBOX_WARM_IMPORTS that imported): what makes its copy
 * worth its size.  Other modules it happens to hold (csv, json, ...) cost
 * a bare copy less than a copy of the stack costs.
 */
static bool stack_import(const char *name, size_t len, void *ctx)
{
	const struct warm_shared_tpl *s = ((const struct warm *)ctx)->t[WARM_STACK].shared;
	char key[260];

	if (len == 0 || len > 250)
		return false;
	snprintf(key, sizeof(key), ",%.*s,", (int)len, name);
	return strstr(s->chosen, key) != NULL;
}

/* Whether the program's source (every .py it brings) imports one of the stack's modules. */
static bool wants_stack(const struct warm *w, const struct request *req)
{
	if (req->script)
		return pyimports_each(req->script, strlen(req->script), stack_import, (void *)w);
	for (size_t i = 0; i < req->n_files; i++) {
		size_t n = strlen(req->files[i].path);

		if (n >= 3 && strcmp(req->files[i].path + n - 3, ".py") == 0 &&
		    pyimports_each(req->files[i].data, req->files[i].len, stack_import, (void *)w))
			return true;
	}
	return false;
}

/* Whether template @t would start the run as cold would; *ret_why says why not. */
static bool faithful(const struct warm_tpl *t, const struct request *req,
		     const char *const *dep_paths, size_t n_deps, const char **ret_why)
{
	for (size_t i = 0; i < req->n_env; i++)
		if (read_at_import(t, req->env_names[i])) {
			*ret_why = "an environment variable read at import";
			return false;
		}
	for (size_t i = 0; i < req->n_files; i++)
		if (strcmp(req->files[i].path, "matplotlibrc") == 0) {
			*ret_why = "a matplotlibrc among the files";
			return false;
		}
	for (size_t i = 0; i < n_deps; i++)
		if (dep_paths[i][0] && tree_shadows(t, dep_paths[i])) {
			*ret_why = "a dependency holds a module the template imported";
			return false;
		}
	return true;
}

bool warm_fits(const struct warm *w, const struct request *req, const char *const *dep_paths,
	       size_t n_deps, enum warm_kind *ret_kind, const char **ret_why)
{
	const struct warm_tpl *stack = &w->t[WARM_STACK], *bare = &w->t[WARM_BARE];

	*ret_why = NULL;
	if (req->language != LANG_PYTHON) {
		*ret_why = "not a Python program";
		return false;
	}
	if (req->network && template_netns_own()) {
		*ret_why = "the network is on";
		return false;
	}
	*ret_kind = (warm_ready(w, WARM_STACK) && wants_stack(w, req)) || !warm_ready(w, WARM_BARE)
			? WARM_STACK
			: WARM_BARE;
	if (!warm_ready(w, *ret_kind)) {
		*ret_why = "no template ready";
		return false;
	}
	return faithful(*ret_kind == WARM_STACK ? stack : bare, req, dep_paths, n_deps, ret_why);
}

size_t warm_template_vsize(const struct warm *w, enum warm_kind kind)
{
	return (size_t)w->t[kind].shared->vsize_kb * 1024;
}

size_t warm_template_rss(const struct warm *w, enum warm_kind kind)
{
	return (size_t)w->t[kind].shared->rss_kb * 1024;
}

void warm_count(struct warm *w, bool warm, long added_rss_kb)
{
	struct warm_shared *s;

	if (!w || !w->shared)
		return;
	s = w->shared;
	__atomic_add_fetch(warm ? &s->warm : &s->cold, 1, __ATOMIC_RELAXED);
	if (warm && added_rss_kb >= 0) {
		s->added_rss_kb_last = (unsigned long)added_rss_kb;
		if ((unsigned long)added_rss_kb > s->added_rss_kb_max)
			s->added_rss_kb_max = (unsigned long)added_rss_kb;
	}
}

/* ---- handing a run over (in the worker) ---- */

static int memfd_with(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fd_write_all(fd, a, alen) < 0 || (blen && fd_write_all(fd, b, blen) < 0) ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* The plan, with its fds as indices into the message's fds. */
static int plan_memfd(const struct launch_spec *spec, size_t extra_as, int *fds, int *n)
{
	struct warm_plan *p = calloc(1, sizeof(*p));
	const struct sandbox_plan *sb = spec->sandbox;
	int fd;

	if (!p)
		return -ENOMEM;
	p->clone_flags = sb->clone_flags;
	p->n_rlimits = spec->n_rlimits > 8 ? 8 : spec->n_rlimits;
	memcpy(p->rlimits, spec->rlimits, p->n_rlimits * sizeof(p->rlimits[0]));
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].resource == RLIMIT_AS &&
		    p->rlimits[i].value.rlim_cur != RLIM_INFINITY) {
			p->rlimits[i].value.rlim_cur += extra_as;
			p->rlimits[i].value.rlim_max += extra_as;
		}
	p->sandbox = *sb;
	p->ruleset_index = p->workspace_index = -1;
	if (sb->landlock.ruleset_fd >= 0) {
		p->ruleset_index = *n;
		fds[(*n)++] = sb->landlock.ruleset_fd;
	}
	if (sb->ns.workspace_fd >= 0) {
		p->workspace_index = *n;
		fds[(*n)++] = sb->ns.workspace_fd;
	}
	p->cgroup_into_index = -1;
	if (sb->cgroup_into_fd >= 0) {
		p->cgroup_into_index = *n;
		fds[(*n)++] = sb->cgroup_into_fd;
	}
	for (int i = 0; i < sb->n_cgroup_join; i++) {
		p->cgroup_join_index[i] = *n;
		fds[(*n)++] = sb->cgroup_join_fds[i];
	}
	fd = memfd_with("runbox-plan", p, sizeof(*p), NULL, 0);
	free(p);
	return fd;
}

/* The program (request data): the interpreter, argv, envp. */
static int program_memfd(const struct launch_spec *spec)
{
	struct warm_program h = {0};
	size_t total = strlen(spec->path) + 1;
	char *s, *at;
	int fd;

	for (h.argc = 0; spec->argv[h.argc]; h.argc++)
		total += strlen(spec->argv[h.argc]) + 1;
	for (h.envc = 0; spec->envp[h.envc]; h.envc++)
		total += strlen(spec->envp[h.envc]) + 1;
	h.bytes = total;
	s = at = malloc(total);
	if (!s)
		return -ENOMEM;
	at = stpcpy(at, spec->path) + 1;
	for (uint32_t i = 0; i < h.argc; i++)
		at = stpcpy(at, spec->argv[i]) + 1;
	for (uint32_t i = 0; i < h.envc; i++)
		at = stpcpy(at, spec->envp[i]) + 1;
	fd = memfd_with("runbox-program", &h, sizeof(h), s, total);
	free(s);
	return fd;
}

static int send_msg(int ctl, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(WARM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct warm_msg m = {
	    .magic = WARM_MAGIC, .n_fds = (uint32_t)n, .build = sizeof(struct warm_plan)};
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
	return sendmsg(ctl, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -errno;
}

/* The template's answer: the run's first pid and its pidfd. */
static int read_reply(int fd, struct warm_reply *r, int *ret_pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {r, sizeof(*r)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct cmsghdr *cm;
	ssize_t n;

	*ret_pidfd = -1;
	if (poll(&p, 1, REPLY_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(*r))
		return -EPROTO;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(ret_pidfd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

int warm_start_first(struct warm *w, enum warm_kind kind, const struct launch_spec *spec,
		     const struct warm_fds *c, pid_t *ret_pid, int *ret_pidfd, struct rb_err *err)
{
	int fds[WARM_MAX_FDS], n = WFD_FIXED, sv[2] = {-1, -1}, r, plan = -1, program = -1;
	struct warm_reply rep;

	*ret_pid = -1;
	*ret_pidfd = -1;
	if (!warm_ready(w, kind))
		return -EAGAIN;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -EAGAIN;
	plan = plan_memfd(spec, warm_template_vsize(w, kind), fds, &n);
	program = program_memfd(spec);
	r = plan < 0 || program < 0 ? -EAGAIN : 0;
	if (r == 0) {
		fds[WFD_REPLY] = sv[1];
		fds[WFD_PLAN] = plan;
		fds[WFD_PROGRAM] = program;
		fds[WFD_STDIN] = c->in;
		fds[WFD_STDOUT] = c->out;
		fds[WFD_STDERR] = c->err;
		fds[WFD_REPORT] = c->report;
		fds[WFD_STATUS] = c->status;
		fds[WFD_LIFE] = c->life;
		fds[WFD_CWD] = spec->cwd_fd;
		r = send_msg(w->t[kind].ctl, fds, n) < 0 ? -EAGAIN : 0;
	}
	close_fd(&sv[1]);
	close_fd(&plan);
	close_fd(&program);
	if (r == 0)
		r = read_reply(sv[0], &rep, ret_pidfd);
	close_fd(&sv[0]);
	if (r < 0) {
		__atomic_add_fetch(&w->shared->failed, 1, __ATOMIC_RELAXED);
		log_msg(LOG_INFO, "warm_fallback",
			r == -ETIMEDOUT ? "the template did not answer in time: running cold"
					: "the template is gone: running cold");
		return -EAGAIN;
	}
	if (rep.pid <= 0) {
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		return rb_fail_sys(err, rep.pid < 0 ? -rep.pid : EIO, "%s", rep.msg);
	}
	*ret_pid = rep.pid;
	return 0;
}

static cJSON *tpl_json(const struct warm *w, const struct warm_tpl *t)
{
	static const char *const states[] = {"off", "starting", "ready", "broken"};
	const struct warm_shared_tpl *s = t->shared;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "state", states[s->state & 3]);
	if (s->why_off[0])
		cJSON_AddStringToObject(o, "reason", s->why_off);
	cJSON_AddStringToObject(o, "imports", s->imported);
	cJSON_AddStringToObject(o, "failed_imports", s->failed_imports);
	cJSON_AddNumberToObject(o, "pid", s->pid);
	cJSON_AddNumberToObject(o, "rss_kb", (double)s->rss_kb);
	cJSON_AddNumberToObject(o, "vsize_kb", (double)s->vsize_kb);
	cJSON_AddNumberToObject(o, "start_ms", floor(s->ready_s * 1000.0));
	cJSON_AddNumberToObject(o, "uses", (double)s->uses);
	(void)w;
	return o;
}

cJSON *warm_to_json(const struct warm *w)
{
	const struct warm_shared *s = w->shared;
	cJSON *o = cJSON_CreateObject();

	if (!o || !s)
		return o;
	cJSON_AddStringToObject(o, "state", w->enabled ? "on" : "off");
	if (s->why_off[0])
		cJSON_AddStringToObject(o, "reason", s->why_off);
	cJSON_AddItemToObject(o, "stack", tpl_json(w, &w->t[WARM_STACK]));
	cJSON_AddItemToObject(o, "bare", tpl_json(w, &w->t[WARM_BARE]));
	cJSON_AddNumberToObject(o, "max_uses", (double)w->cfg->warm_max_uses);
	cJSON_AddNumberToObject(o, "max_age_s", w->cfg->warm_max_age_s);
	cJSON_AddNumberToObject(o, "runs_warm", (double)s->warm);
	cJSON_AddNumberToObject(o, "runs_cold", (double)s->cold);
	cJSON_AddNumberToObject(o, "fallbacks", (double)s->failed);
	cJSON_AddNumberToObject(o, "templates_replaced", (double)s->replaced);
	cJSON_AddNumberToObject(o, "added_rss_kb_last", (double)s->added_rss_kb_last);
	cJSON_AddNumberToObject(o, "added_rss_kb_max", (double)s->added_rss_kb_max);
	return o;
}
