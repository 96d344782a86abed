/*
 * cli: which way a request reaches runbox.  Pure: the explicit
 * subcommand wins; plain `runbox` reads the platform from the configuration
 * (AWS_LAMBDA_RUNTIME_API → the Lambda loop, FUNCTIONS_CUSTOMHANDLER_PORT →
 * the HTTP server on that port, neither → one request on stdin).
 */
#ifndef RUNBOX_CLI_H
#define RUNBOX_CLI_H

#include <stdbool.h>

#include "contract/config.h"
#include "base/err.h"

enum frontdoor_kind {
	FRONTDOOR_STDIN,
	FRONTDOOR_LAMBDA,
	FRONTDOOR_SERVE,
	FRONTDOOR_MCP,
	FRONTDOOR_EXEC,
	FRONTDOOR_CHECK,
	FRONTDOOR_BAKE, /* not a door: builds a wheel cache */
};

struct frontdoor {
	enum frontdoor_kind kind;
	bool automatic;	      /* chosen from the environment, not named */
	unsigned port;	      /* FRONTDOOR_SERVE from FUNCTIONS_CUSTOMHANDLER_PORT, else 0 */
	char lambda_api[256]; /* FRONTDOOR_LAMBDA: the validated host:port */
};

/*
 * Choose from @arg (argv[1], NULL when absent) and @cfg.  An unknown
 * subcommand is a request fault (exit 2); a malformed platform variable
 * for the chosen door is invalid_config.  @arg values that are options
 * (--help, --version) are the caller's business, not passed here.
 */
int cli_choose(const char *arg, const struct runbox_config *cfg, struct frontdoor *ret,
	       struct rb_err *err);

/* "stdin", "lambda", ... */
const char *cli_door_name(enum frontdoor_kind kind);

/* The subcommand named @name: 0 with *ret set, or -ENOENT. */
int cli_kind_of(const char *name, enum frontdoor_kind *ret);

/* Validate a Runtime API address: host:port, host a name, IPv4 or [IPv6]. */
int cli_check_lambda_api(const char *api, struct rb_err *err);

/*
 * Whether command-line word @arg is option @name ("--port"), given as
 * "--port" (*ret_inline NULL: the value is the next word) or as
 * "--port=VALUE" (*ret_inline points at VALUE).
 */
bool cli_option(const char *arg, const char *name, const char **ret_inline);

/* Parse a TCP port 1..65535 given as decimal digits only. */
int cli_parse_port(const char *s, const char *name, unsigned *ret, struct rb_err *err);

#endif
