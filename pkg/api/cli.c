/*
 * cli: the subcommand table and auto mode (see cli.h).
 */
#define _GNU_SOURCE
#include "api/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
static const char *const names[] = {
    [FRONTDOOR_STDIN] = "stdin", [FRONTDOOR_LAMBDA] = "lambda", [FRONTDOOR_SERVE] = "serve",
    [FRONTDOOR_MCP] = "mcp",	 [FRONTDOOR_EXEC] = "exec",	[FRONTDOOR_CHECK] = "check",
    [FRONTDOOR_BAKE] = "bake",
};
/* clang-format on */

const char *cli_door_name(enum frontdoor_kind kind)
{
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

int cli_parse_port(const char *s, const char *name, unsigned *ret, struct rb_err *err)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		goto bad;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v == 0 || v > 65535)
		goto bad;
	*ret = (unsigned)v;
	return 0;
bad:
	return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config", name,
		       "%s='%s' is not a TCP port from 1 to 65535", name, s);
}

/* The host part: a DNS name or IPv4 address, or an IPv6 address in brackets. */
static bool host_ok(const char *h, size_t n)
{
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		return n > 2 && strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
			    h[i]))
			return false;
	return true;
}

int cli_check_lambda_api(const char *api, struct rb_err *err)
{
	const char *colon = strrchr(api, ':');
	unsigned port;

	/* Goes into a URL as is: anything but host:port could redirect it. */
	if (!colon || !host_ok(api, (size_t)(colon - api)))
		return rb_fail(err, RB_FAULT_INTERNAL, 0, "invalid_config",
			       "AWS_LAMBDA_RUNTIME_API",
			       "AWS_LAMBDA_RUNTIME_API='%s' is not host:port", api);
	return cli_parse_port(colon + 1, "AWS_LAMBDA_RUNTIME_API", &port, err);
}

bool cli_option(const char *arg, const char *name, const char **ret_inline)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0 || (arg[n] && arg[n] != '='))
		return false;
	*ret_inline = arg[n] ? arg + n + 1 : NULL;
	return true;
}

int cli_kind_of(const char *arg, enum frontdoor_kind *ret)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0) {
			*ret = (enum frontdoor_kind)i;
			return 0;
		}
	return -ENOENT;
}

int cli_choose(const char *arg, const struct runbox_config *cfg, struct frontdoor *ret,
	       struct rb_err *err)
{
	struct frontdoor f = {.kind = FRONTDOOR_STDIN};

	if (arg && cli_kind_of(arg, &f.kind) < 0)
		return rb_fail(err, RB_FAULT_REQUEST, 0, "unknown_command", NULL,
			       "unknown command '%s' (try runbox --help)", arg);
	if (!arg) {
		f.automatic = true;
		if (cfg->lambda_api[0])
			f.kind = FRONTDOOR_LAMBDA;
		else if (cfg->handler_port[0])
			f.kind = FRONTDOOR_SERVE;
	}
	if (f.kind == FRONTDOOR_LAMBDA) {
		if (!cfg->lambda_api[0])
			return rb_fail(
			    err, RB_FAULT_INTERNAL, 0, "invalid_config", "AWS_LAMBDA_RUNTIME_API",
			    "runbox lambda needs AWS_LAMBDA_RUNTIME_API (set by Lambda)");
		if (cli_check_lambda_api(cfg->lambda_api, err) < 0)
			return -EINVAL;
		snprintf(f.lambda_api, sizeof(f.lambda_api), "%s", cfg->lambda_api);
	}
	if (f.kind == FRONTDOOR_SERVE && cfg->handler_port[0] &&
	    cli_parse_port(cfg->handler_port, "FUNCTIONS_CUSTOMHANDLER_PORT", &f.port, err) < 0)
		return -EINVAL;
	*ret = f;
	return 0;
}
