/*
 * runbox: run untrusted, AI-generated code for one request and answer JSON.
 *
 * This file only picks the subcommand, sets up the process-wide state every
 * mode shares (non-dumpable, SIGPIPE, the operator's configuration, a clean
 * own environment) and maps the result to an exit status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "deps/bake.h"
#include "deps/bakeindex.h"
#include "deps/deps.h"
#include "deps/npmbake.h"
#include "base/prefault.h"
#include "contract/config.h"
#include "frontdoor/exec.h"
#include "run/executor.h"
#include "api/cli.h"
#include "api/help.h"
#include "frontdoor/lambda.h"
#include "base/log.h"
#include "frontdoor/mcp_stdio.h"
#include "contract/response.h"
#include "sandbox/sandbox.h"
#include "frontdoor/serve.h"
#include "frontdoor/stdin.h"

#ifndef RUNBOX_VERSION
#define RUNBOX_VERSION "0.1.0"
#endif

extern char **environ;

/*
 * A closed fd 0, 1 or 2 would be the next file runbox opens (its state
 * directory, a workspace), and an answer or a log line would be written
 * into it.  Each is pointed at /dev/null instead; stdout read-only, so that
 * an answer nobody can receive is a write error (exit 1), not a success.
 */
static void keep_std_fds(void)
{
	static const int modes[3] = {O_RDONLY, O_RDONLY, O_WRONLY};

	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", modes[fd] | O_CLOEXEC) != fd)
			_exit(RUNBOX_EXIT_FAULT);
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/*
 * After the configuration is read nothing in runbox needs its environment,
 * and a program must never see it: wipe the strings in place (so even
 * /proc/<pid>/environ shows nothing) and empty environ.
 */
static void scrub_environment(void)
{
	for (char **e = environ; e && *e; e++)
		memset(*e, 0, strlen(*e));
	clearenv();
}

/*
 * `runbox check`: probe afresh (never from the cache), print the report and
 * fail when a layer named in RUNBOX_REQUIRE is missing.
 */
static int cmd_check(const struct runbox_config *cfg)
{
	struct node_runtime node;
	struct sandbox_caps caps;
	struct rb_err err = {0};
	unsigned required = 0;
	cJSON *o;
	char *s;
	int r = sandbox_require_parse(cfg->require, &required, &err);

	if (r >= 0)
		r = sandbox_probe(&caps, &err);
	if (r < 0) {
		fprintf(stderr, "runbox: %s\n", err.msg);
		return RUNBOX_EXIT_FAULT;
	}
	sandbox_probe_cgroup(&caps, cfg->cgroup);
	o = sandbox_caps_to_json(&caps);
	r = node_locate(cfg, &node, &err);
	cJSON_AddItemToObject(o, "node",
			      r < 0 ? cJSON_CreateString(err.msg) : node_info_json(&node));
	r = sandbox_caps_check_required(&caps, required, &err);
	cJSON_AddBoolToObject(o, "required_ok", r >= 0);
	if (r < 0)
		cJSON_AddStringToObject(o, "error", err.msg);
	s = cJSON_PrintUnformatted(o);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
	return r < 0 ? RUNBOX_EXIT_FAULT : 0;
}

struct bake_args {
	bool lazy, list, strict;
	const char *index, *requirements;
	const char *npm_preinstall; /* --npm-preinstall NAMES */
	const char *pos[2];
	int npos;
};

/* Whether the options and operands of `runbox bake` go together. */
static bool bake_args_ok(const struct bake_args *a)
{
	if (a->list)
		return a->npos == 1 && !a->lazy && !a->strict && !a->index && !a->requirements &&
		       !a->npm_preinstall;
	if (a->index || a->requirements)
		return a->index && a->requirements && a->npos == 1 && !a->npm_preinstall;
	return a->npos == 2;
}

/* A flag of `runbox bake` (--lazy, --strict, --list): set it; false when @arg is none. */
static bool bake_flag(const char *arg, struct bake_args *a)
{
	const struct {
		const char *name;
		bool *set;
	} flags[] = {{"--lazy", &a->lazy}, {"--strict", &a->strict}, {"--list", &a->list}};

	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
		if (strcmp(arg, flags[k].name) == 0) {
			*flags[k].set = true;
			return true;
		}
	return false;
}

/*
 * An option of `runbox bake` with a value ("--index F" or "--index=F"): the
 * field it fills, with *ret_inline the value after '=' or NULL; NULL when
 * @arg is none.
 */
static const char **bake_valued(const char *arg, struct bake_args *a, const char **ret_inline)
{
	const struct {
		const char *name;
		const char **field;
	} opts[] = {{"--index", &a->index},
		    {"--requirement", &a->requirements},
		    {"-r", &a->requirements},
		    {"--npm-preinstall", &a->npm_preinstall}};

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
		if (cli_option(arg, opts[k].name, ret_inline))
			return opts[k].field;
	return NULL;
}

/* Option @argv[*i] of `runbox bake`, with its value when it takes one; false when unknown. */
static bool bake_option(int argc, char **argv, int *i, struct bake_args *a)
{
	const char *v = NULL, **field;

	if (bake_flag(argv[*i], a))
		return true;
	field = bake_valued(argv[*i], a, &v);
	if (!field || (!v && *i + 1 == argc))
		return false;
	*field = v ? v : argv[++*i];
	return true;
}

/* Options, then operands, of `runbox bake`; false when they do not make sense. */
static bool parse_bake(int argc, char **argv, struct bake_args *a)
{
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] != '-' && a->npos < 2)
			a->pos[a->npos++] = argv[i];
		else if (argv[i][0] != '-' || a->npos || !bake_option(argc, argv, &i, a))
			return false;
	}
	return bake_args_ok(a);
}

/* Whether @dir holds a wheel (*.whl). */
static bool has_wheels(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d)))
		found =
		    strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".whl") == 0;
	if (d)
		closedir(d);
	return found;
}

/*
 * The wheels of DIR into the wheel cache, its npm tarballs into the npm
 * cache: the number skipped, or < 0 with @err filled.
 */
static int bake_dir(const struct bake_opts *o, const char *preinstall, struct rb_err *err)
{
	struct npmbake_opts n = {.tar_dir = o->wheel_dir,
				 .cache_dir = o->cache_dir,
				 .preinstall = preinstall,
				 .out = stdout,
				 .note = stderr};
	bool npm = npmbake_has_tarballs(o->wheel_dir);
	int skipped = 0, r = 0;

	if (preinstall && !npm)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "usage", NULL,
			       "--npm-preinstall needs npm tarballs (*.tgz) in '%s'", o->wheel_dir);
	if (!npm || has_wheels(o->wheel_dir))
		r = skipped = bake_run(o, err);
	npmtar_limits_default(&n.limits);
	if (r >= 0 && npm) {
		r = npmbake_run(&n, err);
		skipped += r > 0 ? r : 0;
	}
	return r < 0 ? r : skipped;
}

/* `runbox bake --list`: the npm cache's table, then the wheel cache's; either may be absent. */
static int list_caches(const char *cache_dir, struct rb_err *err)
{
	char index[1024];
	int npm = npmbake_list(cache_dir, stdout, err);

	snprintf(index, sizeof(index), "%s/index.json", cache_dir);
	if (npm < 0 || (npm == 0 && access(index, F_OK) < 0 && errno == ENOENT))
		return npm < 0 ? npm : 0;
	return bake_list(cache_dir, stdout, err);
}

/*
 * `runbox bake [--lazy] [--strict] [--npm-preinstall NAMES] DIR CACHE_DIR`
 * (DIR holds wheels and npm tarballs), `runbox bake [--lazy] [--strict]
 * --index URL -r requirements.txt CACHE_DIR` and `runbox bake --list
 * CACHE_DIR`.  With --strict a skipped wheel or tarball makes the exit
 * status 2.
 */
static int cmd_bake(const struct runbox_config *cfg, int argc, char **argv)
{
	struct bake_opts o = {.python = cfg->python, .out = stdout, .note = stderr};
	struct bakeindex_opts io = {.credentials = cfg->index.token, .ca_file = cfg->index.ca_file};
	struct bake_args a = {0};
	struct rb_err err = {0};
	int r;

	if (!parse_bake(argc, argv, &a)) {
		fprintf(stderr,
			"runbox: bake needs WHEEL_DIR CACHE_DIR (WHEEL_DIR may hold npm tarballs "
			"too), --index URL -r FILE CACHE_DIR, or --list CACHE_DIR\n%s",
			help_for(FRONTDOOR_BAKE));
		return RUNBOX_EXIT_REFUSED;
	}
	wheel_limits_default(&o.limits);
	o.lazy = a.lazy;
	o.wheel_dir = a.pos[0];
	o.cache_dir = a.pos[a.npos - 1];
	io.url = a.index;
	io.requirements = a.requirements;
	if (a.list)
		r = list_caches(a.pos[0], &err);
	else if (a.index && deps_index_check(a.index, &err) < 0)
		r = -EINVAL;
	else
		r = a.index ? bakeindex_run(&o, &io, &err) : bake_dir(&o, a.npm_preinstall, &err);
	if (r < 0) {
		fprintf(stderr, "runbox: bake: %s\n", err.msg);
		return err.fault == RB_FAULT_REQUEST ? RUNBOX_EXIT_REFUSED : RUNBOX_EXIT_FAULT;
	}
	/* The table first, then why the exit status is 2; a table not written is a fault. */
	if (fflush(stdout) != 0) {
		fprintf(stderr, "runbox: bake: cannot write the table: %s\n", strerror(errno));
		return RUNBOX_EXIT_FAULT;
	}
	if (a.strict && r > 0) {
		fprintf(stderr, "runbox: bake: %d %s%s skipped (--strict); the table says why\n", r,
			!a.index && npmbake_has_tarballs(o.wheel_dir) ? "package" : "wheel",
			r == 1 ? " was" : "s were");
		return RUNBOX_EXIT_REFUSED;
	}
	return 0;
}

/*
 * A fault before any request ran: said on stderr, as the JSON answer in
 * stdin mode, and to the Runtime API's init/error under Lambda.
 */
static int fault(const struct frontdoor *fd, const struct rb_err *err)
{
	char *json = fd->kind == FRONTDOOR_STDIN ? response_error(err) : NULL;

	fprintf(stderr, "runbox: %s\n", err->msg);
	if (json)
		printf("%s\n", json);
	free(json);
	if (fd->kind == FRONTDOOR_LAMBDA && fd->lambda_api[0])
		lambda_init_error(fd->lambda_api, err);
	return RUNBOX_EXIT_FAULT;
}

/* Subcommands that take no arguments refuse extra ones rather than ignore them. */
static bool extra_args(const struct frontdoor *fd, int argc)
{
	return fd->kind != FRONTDOOR_EXEC && fd->kind != FRONTDOOR_SERVE &&
	       fd->kind != FRONTDOOR_BAKE && argc > 2;
}

static int run_door(const struct frontdoor *fd, struct executor *ex, int argc, char **argv)
{
	switch (fd->kind) {
	case FRONTDOOR_EXEC:
		return exec_main(ex, argc - 2, argv + 2);
	case FRONTDOOR_LAMBDA:
		return lambda_main(ex, fd->lambda_api);
	case FRONTDOOR_MCP:
		return mcp_main(ex);
	case FRONTDOOR_SERVE:
		/* Azure's host talks to its custom handler on loopback only. */
		return fd->automatic ? serve_main(ex, "127.0.0.1", fd->port)
				     : serve_cmd(ex, argc - 2, argv + 2);
	default:
		return stdin_run(ex);
	}
}

/*
 * --help and --version need no configuration and no platform: `runbox
 * --help`, `runbox help [COMMAND]` and `runbox COMMAND ... --help` print
 * and exit 0.  Returns -1 when the command line asks for neither.
 */
static int help_or_version(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	enum frontdoor_kind kind;
	bool named;

	if (!cmd)
		return -1;
	if (strcmp(cmd, "--version") == 0) {
		printf("runbox %s\n", RUNBOX_VERSION);
		return 0;
	}
	if (help_is_flag(cmd) || (strcmp(cmd, "help") == 0 && argc == 2)) {
		fputs(help_usage(), stdout);
		return 0;
	}
	named = strcmp(cmd, "help") == 0;
	if (!named && !help_asked(argc - 2, argv + 2))
		return -1;
	if (cli_kind_of(named ? argv[2] : cmd, &kind) < 0) {
		if (!named)
			return -1; /* an unknown command: said as such below */
		fprintf(stderr, "runbox: no command '%s'\n%s", argv[2], help_usage());
		return RUNBOX_EXIT_REFUSED;
	}
	fputs(help_for(kind), stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct runbox_config cfg;
	struct rb_err err = {0}, cerr = {0};
	struct frontdoor fd = {.kind = FRONTDOOR_STDIN};
	static struct executor ex;
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int cr;

	cr = help_or_version(argc, argv);
	if (cr >= 0)
		return cr;
	keep_std_fds();
	/* The stack a run goes down to (about 32 KiB), faulted in by one call. */
	prefault_stack(48 * 1024);
	/* A same-uid program must not read runbox's memory or environ. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * runbox means the modes it asks for (a program's input 0444 for its own
	 * uid, the cache 0755/0444): an operator's umask 077 would hide them.
	 */
	umask(022);
	config_defaults(&cfg);
	cr = config_from_env(&cfg, env_lookup, &cerr);
	/* Credentials and every other variable are gone before anything runs. */
	scrub_environment();
	if (cli_choose(cmd, &cfg, &fd, &err) < 0) {
		fprintf(stderr, "runbox: %s\n%s", err.msg,
			err.fault == RB_FAULT_REQUEST ? help_usage() : "");
		return err.fault == RB_FAULT_REQUEST ? RUNBOX_EXIT_REFUSED : RUNBOX_EXIT_FAULT;
	}
	if (cr < 0)
		return fault(&fd, &cerr);
	if (extra_args(&fd, argc)) {
		fprintf(stderr, "runbox: '%s' takes no arguments\n%s", cmd, help_for(fd.kind));
		return RUNBOX_EXIT_REFUSED;
	}
	/* runbox exec is a command for people: its log lines only when asked for. */
	log_set_level(fd.kind == FRONTDOOR_EXEC && !cfg.log_set ? 0 : cfg.log_level);
	if (fd.kind == FRONTDOOR_CHECK)
		return cmd_check(&cfg);
	if (fd.kind == FRONTDOOR_BAKE)
		return cmd_bake(&cfg, argc - 2, argv + 2);
	if (executor_init(&ex, &cfg, &err) < 0)
		return fault(&fd, &err);
	return run_door(&fd, &ex, argc, argv);
}
