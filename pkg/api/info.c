/*
 * info: the `GET /api/info` document (see info.h).
 */
#define _GNU_SOURCE
#include "api/info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "deps/deps.h"
#include "deps/npmdeps.h"
#include "run/warm.h"

#ifndef RUNBOX_VERSION
#define RUNBOX_VERSION "0.1.0"
#endif

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* [{"name", "version"}, ...] sorted by name, from {"name": "version", ...}. */
static cJSON *package_list(const cJSON *map)
{
	int n = cJSON_GetArraySize(map), k = 0;
	const cJSON **items = calloc((size_t)n + 1, sizeof(const cJSON *));
	cJSON *a = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, map)
	{
		if (items && cJSON_IsString(it))
			items[k++] = it;
	}
	if (items)
		qsort(items, (size_t)k, sizeof(const cJSON *), by_name);
	for (int i = 0; i < k; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", items[i]->string);
		cJSON_AddStringToObject(o, "version", items[i]->valuestring);
		cJSON_AddItemToArray(a, o);
	}
	free(items);
	return a;
}

/*
 * The wheel cache's packages (none without RUNBOX_CACHE_DIR).  A cache that
 * cannot be read is reported in the document rather than failing it: info
 * is what an operator looks at to find out why dependencies fail.
 */
static void add_cache_packages(cJSON *root, const struct executor *ex)
{
	struct rb_err err = {0};
	cJSON *list = NULL;

	if (!ex->cfg.cache_dir[0]) {
		cJSON_AddItemToObject(root, "cache_packages", cJSON_CreateArray());
		return;
	}
	if (deps_cache_list(ex->cfg.cache_dir, &list, &err) < 0) {
		cJSON_AddItemToObject(root, "cache_packages", cJSON_CreateArray());
		cJSON_AddStringToObject(root, "cache_error", err.msg);
		return;
	}
	cJSON_AddItemToObject(root, "cache_packages", list);
}

/* The npm cache's packages, [{name, version, preinstalled}], or its error. */
static void add_npm_packages(cJSON *root, const struct executor *ex)
{
	struct rb_err err = {0};
	cJSON *list = NULL;

	if (npmdeps_list(ex->cfg.cache_dir, &list, &err) < 0)
		cJSON_AddStringToObject(root, "npm_cache_error", err.msg);
	cJSON_AddItemToObject(root, "npm_packages", list ? list : cJSON_CreateArray());
}

static cJSON *limits(const struct runbox_limits *l)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "max_body_bytes", (double)l->max_body_bytes);
	cJSON_AddNumberToObject(o, "max_script_bytes", (double)l->max_script_bytes);
	cJSON_AddNumberToObject(o, "max_file_bytes", (double)l->max_file_bytes);
	cJSON_AddNumberToObject(o, "max_files", l->max_files);
	cJSON_AddNumberToObject(o, "max_dependencies", l->max_dependencies);
	cJSON_AddNumberToObject(o, "default_timeout_s", l->default_timeout_s);
	cJSON_AddNumberToObject(o, "max_timeout_s", l->max_timeout_s);
	cJSON_AddNumberToObject(o, "max_output_bytes", (double)l->max_output_bytes);
	cJSON_AddNumberToObject(o, "max_artifact_bytes", (double)l->max_artifact_bytes);
	cJSON_AddNumberToObject(o, "memory_bytes", (double)l->mem_bytes);
	cJSON_AddNumberToObject(o, "max_procs", l->nproc);
	cJSON_AddNumberToObject(o, "max_file_size_bytes", (double)l->fsize_bytes);
	cJSON_AddNumberToObject(o, "workspace_bytes", (double)l->workspace_bytes);
	cJSON_AddNumberToObject(o, "min_free_bytes", (double)l->min_free_bytes);
	cJSON_AddNumberToObject(o, "cpu_quota", l->cpu_quota);
	cJSON_AddNumberToObject(o, "max_state_bytes", (double)l->max_state_bytes);
	return o;
}

static cJSON *serve_limits(const struct runbox_serve_limits *s, unsigned concurrency)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "concurrency", concurrency);
	cJSON_AddNumberToObject(o, "queue", s->queue);
	cJSON_AddNumberToObject(o, "max_connections", s->max_connections);
	cJSON_AddNumberToObject(o, "idle_timeout_s", s->idle_timeout_s);
	cJSON_AddNumberToObject(o, "request_timeout_s", s->request_timeout_s);
	cJSON_AddNumberToObject(o, "answer_deadline_s", s->answer_deadline_s);
	cJSON_AddNumberToObject(o, "max_header_bytes", (double)s->max_header_bytes);
	cJSON_AddNumberToObject(o, "max_pending_body_bytes", (double)s->max_pending_body_bytes);
	cJSON_AddNumberToObject(o, "header_timeout_s", s->header_timeout_s);
	cJSON_AddNumberToObject(o, "min_body_bytes_per_s", (double)s->min_body_rate);
	cJSON_AddNumberToObject(o, "max_connections_per_client", s->client_connections);
	cJSON_AddNumberToObject(o, "max_pending_body_bytes_per_client",
				(double)s->client_pending_body_bytes);
	cJSON_AddBoolToObject(o, "token_required", s->token[0] != '\0');
	cJSON_AddStringToObject(o, "allowed_origins", s->allowed_origins);
	cJSON_AddBoolToObject(o, "mcp_stateless", s->mcp_stateless);
	cJSON_AddNumberToObject(o, "mcp_max_sessions", s->mcp_max_sessions);
	cJSON_AddNumberToObject(o, "mcp_session_idle_s", s->mcp_session_idle_s);
	return o;
}

/* What a client may keep between calls: file sessions here, and states anywhere. */
static cJSON *sessions(const struct runbox_config *cfg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "max", cfg->sessions_max);
	cJSON_AddNumberToObject(o, "ttl_s", cfg->session_ttl_s);
	cJSON_AddNumberToObject(o, "max_bytes", (double)cfg->sessions_max_bytes);
	cJSON_AddBoolToObject(o, "state_authenticated", cfg->state_key[0] != '\0');
	return o;
}

/* The layers a run gets: available ones, unless the operator turned the sandbox off. */
static cJSON *layers(const struct executor *ex)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *in_force = cJSON_AddArrayToObject(o, "in_force");

	cJSON_AddBoolToObject(o, "enabled", ex->cfg.sandbox);
	for (int l = 0; l < SANDBOX_LAYER_COUNT && ex->cfg.sandbox; l++) {
		const struct sandbox_layer_cap *c = &ex->caps.layer[l];

		/* As root a run drops to a uid of its own and needs no user namespace. */
		if (l == SANDBOX_LAYER_USERNS && ex->root)
			continue;
		if (l == SANDBOX_LAYER_UID_DROP
			? ex->root
			: c->available && c->self_test != SANDBOX_SELF_TEST_FAILED)
			cJSON_AddItemToArray(in_force, cJSON_CreateString(sandbox_layer_name(
							   (enum sandbox_layer)l)));
	}
	cJSON_AddItemToObject(o, "probe", sandbox_caps_to_json(&ex->caps));
	cJSON_AddBoolToObject(o, "required_missing", ex->unavailable);
	return o;
}

char *info_live(const char *static_json, const struct executor *ex)
{
	cJSON *root = cJSON_Parse(static_json);
	char *out = NULL;

	if (root && ex->warm && cJSON_AddItemToObject(root, "warm", warm_to_json(ex->warm)))
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

/* The languages this runbox runs: Python and bash always, the others where Node.js is. */
static cJSON *languages(const struct executor *ex)
{
	static const enum request_language all[] = {LANG_PYTHON, LANG_BASH, LANG_JAVASCRIPT,
						    LANG_TYPESCRIPT};
	cJSON *a = cJSON_CreateArray();
	struct rb_err ignored;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (node_check_language(&ex->node, all[i], &ignored) >= 0)
			cJSON_AddItemToArray(a, cJSON_CreateString(request_language_name(all[i])));
	return a;
}

int info_build(const struct executor *ex, unsigned concurrency, char **ret_json, struct rb_err *err)
{
	const cJSON *pkgs = NULL;
	const char *pyver = NULL;
	cJSON *root, *interp;
	int r = deps_installed(ex->cfg.python, &pkgs, &pyver, err);

	if (r < 0)
		return rb_wrap(err, r, "info");
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "runbox", RUNBOX_VERSION);
	interp = cJSON_AddObjectToObject(root, "interpreter");
	cJSON_AddStringToObject(interp, "path", ex->cfg.python);
	cJSON_AddStringToObject(interp, "version", pyver);
	cJSON_AddItemToObject(root, "packages", package_list(pkgs));
	add_cache_packages(root, ex);
	cJSON_AddItemToObject(root, "languages", languages(ex));
	cJSON_AddItemToObject(root, "node", node_info_json(&ex->node));
	add_npm_packages(root, ex);
	cJSON_AddItemToObject(root, "limits", limits(&ex->cfg.limits));
	cJSON_AddItemToObject(root, "serve", serve_limits(&ex->cfg.serve, concurrency));
	cJSON_AddItemToObject(root, "sessions", sessions(&ex->cfg));
	cJSON_AddItemToObject(root, "sandbox", layers(ex));
	*ret_json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return *ret_json ? 0 : rb_fail_sys(err, ENOMEM, "info: build the document");
}
