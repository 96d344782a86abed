/*
 * config: defaults and RUNBOX_* overrides (see config.h).
 */
#define _GNU_SOURCE
#include "contract/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

void config_defaults(struct runbox_config *ret)
{
	struct runbox_limits *l = &ret->limits;

	memset(ret, 0, sizeof(*ret));
	l->max_body_bytes = 32 * MiB;
	l->max_script_bytes = 256 * KiB;
	l->max_file_bytes = 5 * MiB;
	l->max_files_total = 10 * MiB;
	l->max_files = 20;
	l->max_stdin_bytes = 10 * MiB;
	l->max_args = 256;
	l->max_args_bytes = 128 * KiB;
	l->max_env = 64;
	l->max_env_bytes = 128 * KiB;
	l->max_dependencies = 15;
	l->max_dependency_closure = 64;
	l->default_timeout_s = 60;
	l->max_timeout_s = 300;
	l->max_output_bytes = 1 * MiB;
	l->max_artifact_bytes = 10 * MiB;
	l->max_artifact_file_bytes = 5 * MiB;
	l->max_artifacts = 1000;
	l->max_artifact_depth = 16;
	l->mem_bytes = 1 * GiB;
	l->nproc = 64;
	l->fsize_bytes = 64 * MiB;
	l->nofile = 256;
	l->workspace_bytes = 512 * MiB;
	l->min_free_bytes = 64 * MiB;
	l->max_state_bytes = 5 * MiB;
	snprintf(ret->python, sizeof(ret->python), "/usr/bin/python3");
	snprintf(ret->bash, sizeof(ret->bash), "/bin/bash");
	snprintf(ret->search_path, sizeof(ret->search_path), "/usr/local/bin:/usr/bin:/bin");
	snprintf(ret->work_dir, sizeof(ret->work_dir), "/tmp");
	ret->uid = 65534;
	ret->gid = 65534;
	ret->uid_base = 1900000000;
	ret->uid_slots = 256;
	snprintf(ret->state_dir, sizeof(ret->state_dir), "/tmp/runbox-state-%u",
		 (unsigned)geteuid());
	ret->serve.queue = 64;
	ret->serve.max_connections = 256;
	ret->serve.idle_timeout_s = 30;
	ret->serve.request_timeout_s = 60;
	ret->serve.answer_deadline_s = l->max_timeout_s;
	ret->serve.max_header_bytes = 16 * KiB;
	ret->serve.max_pending_body_bytes = 256 * MiB;
	ret->serve.header_timeout_s = 10;
	ret->serve.min_body_rate = 16 * KiB;
	snprintf(ret->index.ca_file, sizeof(ret->index.ca_file),
		 "/etc/ssl/certs/ca-certificates.crt");
	ret->index.ttl_s = 600;
	ret->index.cache_bytes = 2 * GiB;
	ret->index.max_bytes = 256 * MiB;
	ret->serve.mcp_max_sessions = 1000;
	ret->serve.mcp_session_idle_s = 3600;
	ret->sandbox = true;
	ret->cgroup = true;
	ret->log_level = 1;
	ret->blas_threads = 1;
	snprintf(ret->warm_imports, sizeof(ret->warm_imports),
		 "numpy, pandas, matplotlib, matplotlib.pyplot, scipy, scipy.stats, sklearn, PIL, "
		 "PIL.Image, requests");
	ret->warm_max_uses = 1000;
	ret->warm_max_age_s = 3600;
	ret->warm_exercise = true;
	ret->lambda_backoff_ms = 100;
	ret->sessions_max = 64;
	ret->session_ttl_s = 1800;
	ret->sessions_max_bytes = 2 * GiB;
}

enum kind {
	K_SIZE,
	K_UINT,
	K_SECONDS,
	K_PATH,
	K_BOOL,
	K_ID,
	K_LOG,
	K_WORDS,
	K_WARM,
	K_MODULES,
	K_ORIGINS
};

struct knob {
	const char *name;
	enum kind kind;
	size_t offset;
	double min, max;
};

#define LIM(f) offsetof(struct runbox_config, limits.f)
#define CFG(f) offsetof(struct runbox_config, f)
#define SRV(f) offsetof(struct runbox_config, serve.f)
#define IDX(f) offsetof(struct runbox_config, index.f)

/* Every operator knob, its type and its sane range. */
/* clang-format off */
static const struct knob knobs[] = {
	{ "RUNBOX_MAX_BODY_BYTES", K_SIZE, LIM(max_body_bytes), 1024, 1024.0 * MiB },
	{ "RUNBOX_MAX_OUTPUT_BYTES", K_SIZE, LIM(max_output_bytes), 0, 256.0 * MiB },
	{ "RUNBOX_MAX_ARTIFACT_BYTES", K_SIZE, LIM(max_artifact_bytes), 0, 1024.0 * MiB },
	{ "RUNBOX_MAX_ARTIFACT_FILE_BYTES", K_SIZE, LIM(max_artifact_file_bytes), 0,
	  1024.0 * MiB },
	{ "RUNBOX_MAX_ARTIFACTS", K_UINT, LIM(max_artifacts), 0, 100000 },
	{ "RUNBOX_MAX_DEPENDENCIES", K_UINT, LIM(max_dependencies), 0, 1000 },
	{ "RUNBOX_MAX_DEPENDENCY_CLOSURE", K_UINT, LIM(max_dependency_closure), 1, 256 },
	{ "RUNBOX_DEFAULT_TIMEOUT_S", K_SECONDS, LIM(default_timeout_s), 0.001, 86400 },
	{ "RUNBOX_MAX_TIMEOUT_S", K_SECONDS, LIM(max_timeout_s), 0.001, 86400 },
	{ "RUNBOX_MEMORY_BYTES", K_SIZE, LIM(mem_bytes), 16.0 * MiB, 1024.0 * GiB },
	{ "RUNBOX_MAX_PROCS", K_UINT, LIM(nproc), 1, 100000 },
	{ "RUNBOX_MAX_FILE_BYTES", K_SIZE, LIM(fsize_bytes), 0, 1024.0 * GiB },
	{ "RUNBOX_MAX_OPEN_FILES", K_UINT, LIM(nofile), 64, 1048576 },
	{ "RUNBOX_WORKSPACE_BYTES", K_SIZE, LIM(workspace_bytes), 0, 1024.0 * GiB },
	{ "RUNBOX_MIN_FREE_BYTES", K_SIZE, LIM(min_free_bytes), 0, 1024.0 * GiB },
	{ "RUNBOX_CPU_QUOTA", K_SECONDS, LIM(cpu_quota), 0.01, 4096 },
	{ "RUNBOX_STATE_MAX_BYTES", K_SIZE, LIM(max_state_bytes), 1024, 1024.0 * MiB },
	{ "RUNBOX_STATE_KEY", K_WORDS, CFG(state_key), 0,
	  sizeof(((struct runbox_config *)0)->state_key) },
	{ "RUNBOX_SESSIONS_MAX", K_UINT, CFG(sessions_max), 0, 100000 },
	{ "RUNBOX_SESSION_TTL_S", K_SECONDS, CFG(session_ttl_s), 1, 30.0 * 86400 },
	{ "RUNBOX_SESSIONS_MAX_BYTES", K_SIZE, CFG(sessions_max_bytes), 0, 1024.0 * GiB },
	{ "RUNBOX_BLAS_THREADS", K_UINT, CFG(blas_threads), 1, 1024 },
	/* Only shorter than the default: the tests' way past the back-off's wait. */
	{ "RUNBOX_LAMBDA_BACKOFF_MS", K_UINT, CFG(lambda_backoff_ms), 1, 100 },
	{ "RUNBOX_PYTHON", K_PATH, CFG(python), 0, sizeof(((struct runbox_config *)0)->python) },
	{ "RUNBOX_BASH", K_PATH, CFG(bash), 0, sizeof(((struct runbox_config *)0)->bash) },
	{ "RUNBOX_NODE", K_PATH, CFG(node), 0, sizeof(((struct runbox_config *)0)->node) },
	{ "RUNBOX_ESBUILD", K_PATH, CFG(esbuild), 0,
	  sizeof(((struct runbox_config *)0)->esbuild) },
	{ "RUNBOX_WORK_DIR", K_PATH, CFG(work_dir), 0,
	  sizeof(((struct runbox_config *)0)->work_dir) },
	{ "RUNBOX_UID", K_ID, CFG(uid), 1, 4294967294.0 },
	{ "RUNBOX_UID_BASE", K_ID, CFG(uid_base), 1, 4294901759.0 },
	{ "RUNBOX_UID_SLOTS", K_UINT, CFG(uid_slots), 1, 65536 },
	{ "RUNBOX_STATE_DIR", K_PATH, CFG(state_dir), 0,
	  sizeof(((struct runbox_config *)0)->state_dir) },
	{ "RUNBOX_CACHE_DIR", K_PATH, CFG(cache_dir), 0,
	  sizeof(((struct runbox_config *)0)->cache_dir) },
	{ "RUNBOX_REQUIRE", K_WORDS, CFG(require), 0,
	  sizeof(((struct runbox_config *)0)->require) },
	{ "RUNBOX_GID", K_ID, CFG(gid), 1, 4294967294.0 },
	{ "RUNBOX_SANDBOX", K_BOOL, CFG(sandbox), 0, 1 },
	{ "RUNBOX_CGROUP", K_BOOL, CFG(cgroup), 0, 1 },
	{ "RUNBOX_ALLOW_NETWORK", K_BOOL, CFG(allow_network), 0, 1 },
	{ "RUNBOX_LOG", K_LOG, CFG(log_level), 0, 2 },
	{ "RUNBOX_CONCURRENCY", K_UINT, SRV(concurrency), 0, 4096 },
	{ "RUNBOX_QUEUE", K_UINT, SRV(queue), 0, 100000 },
	{ "RUNBOX_MAX_CONNECTIONS", K_UINT, SRV(max_connections), 1, 65536 },
	{ "RUNBOX_IDLE_TIMEOUT_S", K_SECONDS, SRV(idle_timeout_s), 1, 3600 },
	{ "RUNBOX_REQUEST_TIMEOUT_S", K_SECONDS, SRV(request_timeout_s), 1, 3600 },
	{ "RUNBOX_ANSWER_DEADLINE_S", K_SECONDS, SRV(answer_deadline_s), 0.001, 86400 },
	{ "RUNBOX_MAX_HEADER_BYTES", K_SIZE, SRV(max_header_bytes), 1024, 1.0 * MiB },
	{ "RUNBOX_MAX_PENDING_BODY_BYTES", K_SIZE, SRV(max_pending_body_bytes), 1.0 * MiB,
	  1024.0 * GiB },
	{ "RUNBOX_HEADER_TIMEOUT_S", K_SECONDS, SRV(header_timeout_s), 1, 3600 },
	{ "RUNBOX_MIN_BODY_BYTES_PER_S", K_SIZE, SRV(min_body_rate), 0, 1024.0 * MiB },
	{ "RUNBOX_MAX_CONNECTIONS_PER_CLIENT", K_UINT, SRV(client_connections), 1, 65536 },
	{ "RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT", K_SIZE, SRV(client_pending_body_bytes),
	  1.0 * MiB, 1024.0 * GiB },
	{ "RUNBOX_TOKEN", K_WORDS, SRV(token), 0,
	  sizeof(((struct runbox_config *)0)->serve.token) },
	{ "RUNBOX_ALLOWED_ORIGINS", K_ORIGINS, SRV(allowed_origins), 0,
	  sizeof(((struct runbox_config *)0)->serve.allowed_origins) },
	{ "RUNBOX_MCP_STATELESS", K_BOOL, SRV(mcp_stateless), 0, 1 },
	{ "RUNBOX_MCP_MAX_SESSIONS", K_UINT, SRV(mcp_max_sessions), 1, 1000000 },
	{ "RUNBOX_MCP_SESSION_IDLE_S", K_SECONDS, SRV(mcp_session_idle_s), 1, 30.0 * 86400 },
	{ "RUNBOX_WARM", K_WARM, CFG(warm), 0, 1 },
	{ "RUNBOX_WARM_IMPORTS", K_MODULES, CFG(warm_imports), 0,
	  sizeof(((struct runbox_config *)0)->warm_imports) },
	{ "RUNBOX_WARM_MAX_USES", K_UINT, CFG(warm_max_uses), 1, 1000000 },
	{ "RUNBOX_WARM_MAX_AGE_S", K_SECONDS, CFG(warm_max_age_s), 1, 30.0 * 86400 },
	{ "RUNBOX_WARM_EXERCISE", K_BOOL, CFG(warm_exercise), 0, 1 },
	{ "RUNBOX_INDEX_URL", K_WORDS, IDX(url), 0,
	  sizeof(((struct runbox_config *)0)->index.url) },
	{ "RUNBOX_INDEX_TOKEN", K_WORDS, IDX(token), 0,
	  sizeof(((struct runbox_config *)0)->index.token) },
	{ "RUNBOX_INDEX_CA", K_PATH, IDX(ca_file), 0,
	  sizeof(((struct runbox_config *)0)->index.ca_file) },
	{ "RUNBOX_INDEX_TTL_S", K_SECONDS, IDX(ttl_s), 0, 30 * 86400 },
	{ "RUNBOX_INDEX_CACHE_BYTES", K_SIZE, IDX(cache_bytes), 0, 1024.0 * GiB },
	{ "RUNBOX_INDEX_MAX_BYTES", K_SIZE, IDX(max_bytes), 1.0 * MiB, 64.0 * GiB },
};
/* clang-format on */

static int parse_number(const char *name, const char *v, const struct knob *k, double *ret,
			struct rb_err *err)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < k->min || d > k->max)
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", name,
			       "%s='%s' is not a number from %.15g to %.15g", name, v, k->min,
			       k->max);
	*ret = d;
	return 0;
}

static int parse_word(const char *name, const char *v, const char *const *words, int n, int *ret,
		      struct rb_err *err)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0) {
			*ret = i;
			return 0;
		}
	return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", name,
		       "%s='%s' is not one of the accepted values", name, v);
}

/*
 * A comma (or space) separated list of dotted Python module names; empty
 * items are allowed ("numpy, pandas,").  Nothing else may reach the
 * template's configuration.
 */
static bool module_list_valid(const char *v)
{
	bool start = true;

	for (const char *p = v; *p; p++) {
		if (*p == ',' || *p == ' ') {
			if (!start && p[-1] == '.')
				return false;
			start = true;
		} else if (*p == '.') {
			if (start || p[1] == '.' || p[1] == '\0' || p[1] == ',' || p[1] == ' ')
				return false;
			start = false;
		} else if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (!start && *p >= '0' && *p <= '9')) {
			start = false;
		} else {
			return false;
		}
	}
	return true;
}

/* One origin as a browser sends it: http or https, a host, an optional port, no path. */
static bool origin_valid(const char *o, size_t n)
{
	size_t skip = n > 7 && strncmp(o, "http://", 7) == 0	? 7
		      : n > 8 && strncmp(o, "https://", 8) == 0 ? 8
								: 0;

	if (n == 1 && *o == '*')
		return true;
	if (!skip)
		return false;
	for (size_t i = skip; i < n; i++)
		if (!isalnum((unsigned char)o[i]) && !strchr(".-[]:", o[i]))
			return false;
	return true;
}

/* RUNBOX_ALLOWED_ORIGINS: origins separated by commas and blanks. */
static bool origin_list_valid(const char *v)
{
	while (*v) {
		size_t n;

		v += strspn(v, ", ");
		n = strcspn(v, ", ");
		if (n && !origin_valid(v, n))
			return false;
		v += n;
	}
	return true;
}

static int apply_knob(struct runbox_config *cfg, const struct knob *k, const char *v,
		      struct rb_err *err)
{
	static const char *const bools[] = {"0", "1", "off", "on", "false", "true", "no", "yes"};
	static const char *const levels[] = {"off", "info", "debug"};
	char *p = (char *)cfg + k->offset;
	double d = 0;
	int w = 0, r = 0;

	switch (k->kind) {
	case K_WORDS:
		if (strlen(v) >= (size_t)k->max)
			return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", k->name,
				       "%s is too long", k->name);
		snprintf(p, (size_t)k->max, "%s", v);
		return 0;
	case K_PATH:
		if (v[0] != '/' || strlen(v) >= (size_t)k->max)
			return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", k->name,
				       "%s='%s' must be an absolute path shorter than %.0f bytes",
				       k->name, v, k->max);
		snprintf(p, (size_t)k->max, "%s", v);
		return 0;
	case K_BOOL:
		r = parse_word(k->name, v, bools, 8, &w, err);
		if (r >= 0)
			*(bool *)p = w % 2 == 1;
		return r;
	case K_WARM:
		r = parse_word(k->name, v, bools, 8, &w, err);
		if (r >= 0)
			*(int *)p = w % 2 == 1 ? RUNBOX_WARM_ON : RUNBOX_WARM_OFF;
		return r;
	case K_MODULES:
		if (strlen(v) >= (size_t)k->max || !module_list_valid(v))
			return rb_fail(
			    err, RB_FAULT_INTERNAL, 0, "invalid_config", k->name,
			    "%s='%s' must be Python module names separated by commas "
			    "(e.g. 'numpy, pandas, matplotlib.pyplot'), at most %.0f bytes",
			    k->name, v, k->max - 1);
		snprintf(p, (size_t)k->max, "%s", v);
		return 0;
	case K_ORIGINS:
		if (strlen(v) >= (size_t)k->max || !origin_list_valid(v))
			return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", k->name,
				       "%s='%.200s' must be web origins such as "
				       "'https://app.example.com, http://localhost:6274' (scheme, "
				       "host and port, no path) or '*', separated by commas",
				       k->name, v);
		snprintf(p, (size_t)k->max, "%s", v);
		return 0;
	case K_LOG:
		r = parse_word(k->name, v, levels, 3, &w, err);
		if (r >= 0)
			*(int *)p = w;
		return r;
	default:
		break;
	}
	r = parse_number(k->name, v, k, &d, err);
	if (r < 0)
		return r;
	if (k->kind == K_SIZE)
		*(size_t *)p = (size_t)d;
	else if (k->kind == K_SECONDS)
		*(double *)p = d;
	else
		*(unsigned *)p = (unsigned)d;
	return 0;
}

/*
 * The platform's own variables, copied verbatim: frontdoor.c validates them,
 * and only when the front door they select is the one being started.
 */
static int platform_from_env(struct runbox_config *cfg, const char *(*getenv_fn)(const char *),
			     struct rb_err *err)
{
	const char *api = getenv_fn("AWS_LAMBDA_RUNTIME_API");
	const char *port = getenv_fn("FUNCTIONS_CUSTOMHANDLER_PORT");

	if (api && strlen(api) >= sizeof(cfg->lambda_api))
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config",
			       "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_RUNTIME_API is too long");
	if (port && strlen(port) >= sizeof(cfg->handler_port))
		return rb_fail(
		    err, RB_FAULT_INTERNAL, 0, "invalid_config", "FUNCTIONS_CUSTOMHANDLER_PORT",
		    "FUNCTIONS_CUSTOMHANDLER_PORT='%.20s...' is not a port number", port);
	snprintf(cfg->lambda_api, sizeof(cfg->lambda_api), "%s", api ? api : "");
	snprintf(cfg->handler_port, sizeof(cfg->handler_port), "%s", port ? port : "");
	return 0;
}

int config_from_env(struct runbox_config *cfg, const char *(*getenv_fn)(const char *),
		    struct rb_err *err)
{
	const char *tmpdir = getenv_fn("TMPDIR"), *path = getenv_fn("PATH");

	/* First, so that a bad knob can still be reported to the platform. */
	if (platform_from_env(cfg, getenv_fn, err) < 0)
		return -EINVAL;

	/* Workspaces go where temporary files go, unless the operator says otherwise. */
	if (tmpdir && tmpdir[0] == '/' && strlen(tmpdir) < sizeof(cfg->work_dir))
		snprintf(cfg->work_dir, sizeof(cfg->work_dir), "%s", tmpdir);
	/* Where RUNBOX_NODE and RUNBOX_ESBUILD are looked for when unset. */
	if (path && *path && strlen(path) < sizeof(cfg->search_path))
		snprintf(cfg->search_path, sizeof(cfg->search_path), "%s", path);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		const char *v = getenv_fn(knobs[i].name);
		int r;

		if (!v || !*v)
			continue;
		r = apply_knob(cfg, &knobs[i], v, err);
		if (r < 0)
			return r;
	}
	cfg->uid_pinned = getenv_fn("RUNBOX_UID") && *getenv_fn("RUNBOX_UID");
	cfg->nproc_set = getenv_fn("RUNBOX_MAX_PROCS") && *getenv_fn("RUNBOX_MAX_PROCS");
	if (cfg->uid_pinned && !(getenv_fn("RUNBOX_GID") && *getenv_fn("RUNBOX_GID")))
		cfg->gid = cfg->uid;
	if (cfg->limits.default_timeout_s > cfg->limits.max_timeout_s)
		cfg->limits.default_timeout_s = cfg->limits.max_timeout_s;
	/* Unless set on its own, the answer deadline follows the longest timeout. */
	if (!getenv_fn("RUNBOX_ANSWER_DEADLINE_S") || !*getenv_fn("RUNBOX_ANSWER_DEADLINE_S"))
		cfg->serve.answer_deadline_s = cfg->limits.max_timeout_s;
	cfg->log_set = getenv_fn("RUNBOX_LOG") && *getenv_fn("RUNBOX_LOG");
	return 0;
}
