/*
 * Unit tests for pkg/contract/config: the contract's defaults, every RUNBOX_*
 * override read through a fake getenv table (the process environment is
 * never touched), and malformed values refused with invalid_config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contract/config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* ---- a fake environment ---- */

struct var {
	const char *name, *value;
};

static const struct var *fake_env;
static size_t fake_n;

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < fake_n; i++)
		if (strcmp(fake_env[i].name, name) == 0)
			return fake_env[i].value;
	return NULL;
}

static int apply(const struct var *vars, size_t n, struct runbox_config *cfg,
		 struct rb_err *err)
{
	fake_env = vars;
	fake_n = n;
	config_defaults(cfg);
	return config_from_env(cfg, fake_getenv, err);
}

/* Apply one variable, asserting success. */
static void apply_one_ok(const char *name, const char *value, struct runbox_config *cfg)
{
	struct var v = { name, value };
	struct rb_err err = { 0 };

	if (apply(&v, 1, cfg, &err) != 0)
		fail_msg("%s='%s' refused: %s", name, value, err.msg);
}

static void refused_one(const char *name, const char *value)
{
	struct var v = { name, value };
	struct rb_err err = { 0 };
	struct runbox_config cfg;
	int r = apply(&v, 1, &cfg, &err);

	if (r >= 0)
		fail_msg("%s='%s' accepted", name, value);
	assert_string_equal(err.code, "invalid_config");
	assert_string_equal(err.field, name);
	assert_int_equal(err.fault, RB_FAULT_INTERNAL);
	assert_non_null(strstr(err.msg, name)); /* the message names the variable */
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct runbox_config cfg;
	const struct runbox_limits *l = &cfg.limits;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	assert_int_equal(l->mem_bytes, 1 * GiB);
	assert_int_equal(l->nproc, 64);
	assert_int_equal(l->fsize_bytes, 64 * MiB);
	assert_int_equal(l->nofile, 256);
	assert_true(l->default_timeout_s == 60);
	assert_true(l->max_timeout_s == 300);
	assert_int_equal(l->max_output_bytes, 1 * MiB);
	assert_int_equal(l->max_artifact_bytes, 10 * MiB);
	assert_int_equal(l->max_artifact_file_bytes, 5 * MiB);
	assert_int_equal(l->max_artifacts, 1000);
	assert_int_equal(l->max_body_bytes, 32 * MiB);
	/* The request rules of the contract. */
	assert_int_equal(l->max_script_bytes, 256 * KiB);
	assert_int_equal(l->max_file_bytes, 5 * MiB);
	assert_int_equal(l->max_files_total, 10 * MiB);
	assert_int_equal(l->max_files, 20);
	assert_int_equal(l->max_env, 64);
	assert_int_equal(l->max_dependencies, 15);
	assert_int_equal(l->max_artifact_depth, 16);
	/* The rest of the settings. */
	assert_string_equal(cfg.python, "/usr/bin/python3");
	assert_string_equal(cfg.bash, "/bin/bash");
	assert_string_equal(cfg.work_dir, "/tmp");
	assert_int_equal(cfg.uid, 65534);
	assert_int_equal(cfg.gid, 65534);
	assert_false(cfg.uid_pinned);
	assert_int_equal(cfg.uid_slots, 256);
	assert_string_equal(cfg.require, "");
	assert_true(cfg.sandbox);
	assert_false(cfg.allow_network);
	assert_int_equal(cfg.log_level, 1);
	assert_int_equal(cfg.blas_threads, 1);
}

static void test_empty_environment(void **state)
{
	struct runbox_config cfg, def;
	struct rb_err err = { 0 };
	const struct var blank[] = { { "RUNBOX_MAX_PROCS", "" }, { "RUNBOX_PYTHON", "" } };

	(void)state;
	config_defaults(&def);
	assert_int_equal(apply(NULL, 0, &cfg, &err), 0);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* An empty value is the same as an unset one. */
	assert_int_equal(apply(blank, N(blank), &cfg, &err), 0);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

/* ---- every override ---- */

static void test_size_overrides(void **state)
{
	static const struct {
		const char *name, *value;
		size_t offset, want;
	} cases[] = {
		{ "RUNBOX_MAX_BODY_BYTES", "1048576", offsetof(struct runbox_limits, max_body_bytes),
		  1048576 },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "4096", offsetof(struct runbox_limits, max_output_bytes),
		  4096 },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "0", offsetof(struct runbox_limits, max_output_bytes), 0 },
		{ "RUNBOX_MAX_ARTIFACT_BYTES", "20971520",
		  offsetof(struct runbox_limits, max_artifact_bytes), 20971520 },
		{ "RUNBOX_MAX_ARTIFACT_FILE_BYTES", "1024",
		  offsetof(struct runbox_limits, max_artifact_file_bytes), 1024 },
		{ "RUNBOX_MEMORY_BYTES", "2147483648", offsetof(struct runbox_limits, mem_bytes),
		  2147483648u },
		{ "RUNBOX_MEMORY_BYTES", "16777216", offsetof(struct runbox_limits, mem_bytes),
		  16777216 },
		{ "RUNBOX_MAX_FILE_BYTES", "1000000", offsetof(struct runbox_limits, fsize_bytes),
		  1000000 },
		{ "RUNBOX_MAX_FILE_BYTES", "1e6", offsetof(struct runbox_limits, fsize_bytes),
		  1000000 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct runbox_config cfg;

		apply_one_ok(cases[i].name, cases[i].value, &cfg);
		assert_int_equal(*(size_t *)((char *)&cfg.limits + cases[i].offset), cases[i].want);
	}
}

static void test_count_overrides(void **state)
{
	struct runbox_config cfg;

	(void)state;
	apply_one_ok("RUNBOX_MAX_ARTIFACTS", "50", &cfg);
	assert_int_equal(cfg.limits.max_artifacts, 50);
	apply_one_ok("RUNBOX_MAX_DEPENDENCIES", "0", &cfg);
	assert_int_equal(cfg.limits.max_dependencies, 0);
	apply_one_ok("RUNBOX_MAX_DEPENDENCIES", "30", &cfg);
	assert_int_equal(cfg.limits.max_dependencies, 30);
	apply_one_ok("RUNBOX_MAX_PROCS", "1", &cfg);
	assert_int_equal(cfg.limits.nproc, 1);
	apply_one_ok("RUNBOX_MAX_PROCS", "512", &cfg);
	assert_int_equal(cfg.limits.nproc, 512);
	apply_one_ok("RUNBOX_MAX_OPEN_FILES", "64", &cfg);
	assert_int_equal(cfg.limits.nofile, 64);
	apply_one_ok("RUNBOX_MAX_OPEN_FILES", "1048576", &cfg);
	assert_int_equal(cfg.limits.nofile, 1048576);
	apply_one_ok("RUNBOX_BLAS_THREADS", "4", &cfg);
	assert_int_equal(cfg.blas_threads, 4);
	apply_one_ok("RUNBOX_UID", "4294967294", &cfg);
	assert_int_equal(cfg.uid, 4294967294u);
}

/* The Lambda back-off's first wait may only be made shorter than its 100 ms. */
static void test_lambda_backoff_override(void **state)
{
	struct runbox_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.lambda_backoff_ms, 100);
	apply_one_ok("RUNBOX_LAMBDA_BACKOFF_MS", "1", &cfg);
	assert_int_equal(cfg.lambda_backoff_ms, 1);
	apply_one_ok("RUNBOX_LAMBDA_BACKOFF_MS", "100", &cfg);
	assert_int_equal(cfg.lambda_backoff_ms, 100);
	refused_one("RUNBOX_LAMBDA_BACKOFF_MS", "0");
	refused_one("RUNBOX_LAMBDA_BACKOFF_MS", "101");
	refused_one("RUNBOX_LAMBDA_BACKOFF_MS", "5000");
}

static void test_uid_overrides(void **state)
{
	const struct var both[] = { { "RUNBOX_UID", "1000" }, { "RUNBOX_GID", "1001" } };
	struct runbox_config cfg;
	struct rb_err err = { 0 };

	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.uid_pinned);
	/* RUNBOX_UID alone pins the uid, and the gid follows it. */
	apply_one_ok("RUNBOX_UID", "1000", &cfg);
	assert_true(cfg.uid_pinned);
	assert_int_equal(cfg.uid, 1000);
	assert_int_equal(cfg.gid, 1000);
	assert_int_equal(apply(both, N(both), &cfg, &err), 0);
	assert_true(cfg.uid_pinned);
	assert_int_equal(cfg.uid, 1000);
	assert_int_equal(cfg.gid, 1001);
	/* RUNBOX_GID alone pins nothing. */
	apply_one_ok("RUNBOX_GID", "1001", &cfg);
	assert_false(cfg.uid_pinned);
	assert_int_equal(cfg.gid, 1001);
	assert_int_equal(cfg.uid, 65534);
	apply_one_ok("RUNBOX_UID", "", &cfg);
	assert_false(cfg.uid_pinned);
	/* Per-run uid slots. */
	apply_one_ok("RUNBOX_UID_BASE", "2000000", &cfg);
	assert_int_equal(cfg.uid_base, 2000000);
	assert_false(cfg.uid_pinned);
	apply_one_ok("RUNBOX_UID_SLOTS", "16", &cfg);
	assert_int_equal(cfg.uid_slots, 16);
	refused_one("RUNBOX_UID_BASE", "0");
	refused_one("RUNBOX_UID_SLOTS", "0");
	refused_one("RUNBOX_UID_SLOTS", "65537");
}

static void test_timeout_overrides(void **state)
{
	struct runbox_config cfg;
	struct rb_err err = { 0 };
	const struct var both[] = {
		{ "RUNBOX_DEFAULT_TIMEOUT_S", "5" },
		{ "RUNBOX_MAX_TIMEOUT_S", "600" },
	};
	const struct var inverted[] = {
		{ "RUNBOX_DEFAULT_TIMEOUT_S", "100" },
		{ "RUNBOX_MAX_TIMEOUT_S", "30" },
	};

	(void)state;
	apply_one_ok("RUNBOX_DEFAULT_TIMEOUT_S", "2.5", &cfg);
	assert_true(cfg.limits.default_timeout_s == 2.5);
	assert_true(cfg.limits.max_timeout_s == 300);
	apply_one_ok("RUNBOX_MAX_TIMEOUT_S", "900", &cfg);
	assert_true(cfg.limits.max_timeout_s == 900);
	assert_true(cfg.limits.default_timeout_s == 60);
	assert_int_equal(apply(both, N(both), &cfg, &err), 0);
	assert_true(cfg.limits.default_timeout_s == 5);
	assert_true(cfg.limits.max_timeout_s == 600);
	/* A default above the maximum is brought down to it. */
	assert_int_equal(apply(inverted, N(inverted), &cfg, &err), 0);
	assert_true(cfg.limits.default_timeout_s == 30);
	assert_true(cfg.limits.max_timeout_s == 30);
	apply_one_ok("RUNBOX_MAX_TIMEOUT_S", "10", &cfg);
	assert_true(cfg.limits.default_timeout_s == 10);
}

static void test_path_overrides(void **state)
{
	struct runbox_config cfg;
	char long_ok[256], too_long[257];

	(void)state;
	apply_one_ok("RUNBOX_PYTHON", "/opt/python/bin/python3.12", &cfg);
	assert_string_equal(cfg.python, "/opt/python/bin/python3.12");
	apply_one_ok("RUNBOX_BASH", "/usr/bin/bash", &cfg);
	assert_string_equal(cfg.bash, "/usr/bin/bash");
	apply_one_ok("RUNBOX_WORK_DIR", "/var/tmp/runbox", &cfg);
	assert_string_equal(cfg.work_dir, "/var/tmp/runbox");
	/* Shorter than the buffer: 255 bytes fit, 256 do not. */
	long_ok[0] = '/';
	memset(long_ok + 1, 'p', 254);
	long_ok[255] = '\0';
	apply_one_ok("RUNBOX_PYTHON", long_ok, &cfg);
	assert_string_equal(cfg.python, long_ok);
	too_long[0] = '/';
	memset(too_long + 1, 'p', 255);
	too_long[256] = '\0';
	refused_one("RUNBOX_PYTHON", too_long);
	refused_one("RUNBOX_BASH", too_long);
}

static void test_bool_overrides(void **state)
{
	static const struct {
		const char *value;
		bool want;
	} words[] = {
		{ "0", false }, { "1", true }, { "off", false }, { "on", true },
		{ "false", false }, { "true", true }, { "no", false }, { "yes", true },
	};
	struct runbox_config cfg;

	(void)state;
	for (size_t i = 0; i < N(words); i++) {
		apply_one_ok("RUNBOX_SANDBOX", words[i].value, &cfg);
		assert_int_equal(cfg.sandbox, words[i].want);
		apply_one_ok("RUNBOX_ALLOW_NETWORK", words[i].value, &cfg);
		assert_int_equal(cfg.allow_network, words[i].want);
	}
}

static void test_log_overrides(void **state)
{
	struct runbox_config cfg;

	(void)state;
	apply_one_ok("RUNBOX_LOG", "off", &cfg);
	assert_int_equal(cfg.log_level, 0);
	apply_one_ok("RUNBOX_LOG", "info", &cfg);
	assert_int_equal(cfg.log_level, 1);
	apply_one_ok("RUNBOX_LOG", "debug", &cfg);
	assert_int_equal(cfg.log_level, 2);
}

static void test_many_at_once(void **state)
{
	const struct var vars[] = {
		{ "RUNBOX_MEMORY_BYTES", "536870912" }, { "RUNBOX_MAX_PROCS", "32" },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "65536" }, { "RUNBOX_LOG", "off" },
		{ "RUNBOX_SANDBOX", "off" },		{ "RUNBOX_WORK_DIR", "/srv/w" },
		{ "UNRELATED", "ignored" },		{ "RUNBOX_UNKNOWN_KNOB", "ignored" },
	};
	struct runbox_config cfg;
	struct rb_err err = { 0 };

	(void)state;
	assert_int_equal(apply(vars, N(vars), &cfg, &err), 0);
	assert_int_equal(cfg.limits.mem_bytes, 512 * MiB);
	assert_int_equal(cfg.limits.nproc, 32);
	assert_int_equal(cfg.limits.max_output_bytes, 64 * KiB);
	assert_int_equal(cfg.log_level, 0);
	assert_false(cfg.sandbox);
	assert_string_equal(cfg.work_dir, "/srv/w");
	/* Untouched ones keep their defaults. */
	assert_int_equal(cfg.limits.nofile, 256);
	assert_int_equal(cfg.limits.max_body_bytes, 32 * MiB);
}

/* ---- fair sharing: control groups, the disk, HTTP clients ---- */

static void test_fair_sharing_settings(void **state)
{
	struct runbox_config cfg;
	const struct var blank = { "RUNBOX_MAX_PROCS", "" };
	struct rb_err err = { 0 };

	(void)state;
	config_defaults(&cfg);
	assert_true(cfg.cgroup);
	assert_false(cfg.nproc_set); /* runbox may size the process limit */
	assert_int_equal(cfg.limits.min_free_bytes, 64 * MiB);
	assert_true(cfg.limits.cpu_quota == 0); /* an equal share, no cap */
	assert_true(cfg.serve.header_timeout_s == 10);
	assert_int_equal(cfg.serve.min_body_rate, 16 * KiB);
	/* 0: derived by serve from the totals (a quarter, or all behind one host). */
	assert_int_equal(cfg.serve.client_connections, 0);
	assert_int_equal(cfg.serve.client_pending_body_bytes, 0);

	apply_one_ok("RUNBOX_MAX_PROCS", "64", &cfg);
	assert_true(cfg.nproc_set); /* given, even at the default: never sized */
	assert_int_equal(apply(&blank, 1, &cfg, &err), 0);
	assert_false(cfg.nproc_set);
	apply_one_ok("RUNBOX_CGROUP", "off", &cfg);
	assert_false(cfg.cgroup);
	apply_one_ok("RUNBOX_CPU_QUOTA", "0.5", &cfg);
	assert_true(cfg.limits.cpu_quota == 0.5);
	apply_one_ok("RUNBOX_MIN_FREE_BYTES", "0", &cfg);
	assert_int_equal(cfg.limits.min_free_bytes, 0);
	apply_one_ok("RUNBOX_HEADER_TIMEOUT_S", "2.5", &cfg);
	assert_true(cfg.serve.header_timeout_s == 2.5);
	apply_one_ok("RUNBOX_MIN_BODY_BYTES_PER_S", "0", &cfg);
	assert_int_equal(cfg.serve.min_body_rate, 0);
	apply_one_ok("RUNBOX_MAX_CONNECTIONS_PER_CLIENT", "8", &cfg);
	assert_int_equal(cfg.serve.client_connections, 8);
	apply_one_ok("RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT", "1048576", &cfg);
	assert_int_equal(cfg.serve.client_pending_body_bytes, 1 * MiB);

	refused_one("RUNBOX_CGROUP", "auto");
	refused_one("RUNBOX_CPU_QUOTA", "0");	  /* a run with no CPU at all */
	refused_one("RUNBOX_CPU_QUOTA", "0.001"); /* under the kernel's 1 ms a 100 ms period */
	refused_one("RUNBOX_CPU_QUOTA", "-1");
	refused_one("RUNBOX_CPU_QUOTA", "4097");
	refused_one("RUNBOX_MIN_FREE_BYTES", "-1");
	refused_one("RUNBOX_HEADER_TIMEOUT_S", "0");
	refused_one("RUNBOX_MIN_BODY_BYTES_PER_S", "fast");
	refused_one("RUNBOX_MAX_CONNECTIONS_PER_CLIENT", "0");
	refused_one("RUNBOX_MAX_CONNECTIONS_PER_CLIENT", "65537");
	refused_one("RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT", "1000"); /* under 1 MiB */
}

/* ---- malformed values ---- */

static void test_malformed_numbers(void **state)
{
	static const struct var cases[] = {
		{ "RUNBOX_MAX_BODY_BYTES", "abc" },
		{ "RUNBOX_MAX_BODY_BYTES", "10MB" },
		{ "RUNBOX_MAX_BODY_BYTES", "1023" },	    /* below the minimum */
		{ "RUNBOX_MAX_BODY_BYTES", "-1" },
		{ "RUNBOX_MAX_BODY_BYTES", "2e9" },	    /* above 1 GiB */
		{ "RUNBOX_MAX_OUTPUT_BYTES", "-1" },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "1 " },	    /* trailing space */
		{ "RUNBOX_MAX_OUTPUT_BYTES", "inf" },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "nan" },
		{ "RUNBOX_MAX_OUTPUT_BYTES", "1e999" },
		{ "RUNBOX_MAX_ARTIFACT_BYTES", "x" },
		{ "RUNBOX_MAX_ARTIFACT_FILE_BYTES", "-5" },
		{ "RUNBOX_MAX_ARTIFACTS", "100001" },
		{ "RUNBOX_MAX_ARTIFACTS", "many" },
		{ "RUNBOX_MAX_DEPENDENCIES", "1001" },
		{ "RUNBOX_DEFAULT_TIMEOUT_S", "0" },
		{ "RUNBOX_DEFAULT_TIMEOUT_S", "-1" },
		{ "RUNBOX_DEFAULT_TIMEOUT_S", "60s" },
		{ "RUNBOX_MAX_TIMEOUT_S", "0" },
		{ "RUNBOX_MAX_TIMEOUT_S", "86401" },
		{ "RUNBOX_MEMORY_BYTES", "1048576" },	    /* below 16 MiB */
		{ "RUNBOX_MEMORY_BYTES", "1G" },
		{ "RUNBOX_MAX_PROCS", "0" },
		{ "RUNBOX_MAX_PROCS", "100001" },
		{ "RUNBOX_MAX_FILE_BYTES", "-1" },
		{ "RUNBOX_MAX_OPEN_FILES", "63" },
		{ "RUNBOX_MAX_OPEN_FILES", "1048577" },
		{ "RUNBOX_BLAS_THREADS", "0" },
		{ "RUNBOX_BLAS_THREADS", "1025" },
		{ "RUNBOX_UID", "0" },			    /* never root */
		{ "RUNBOX_GID", "0" },
		{ "RUNBOX_UID", "-1" },
		{ "RUNBOX_UID", "4294967295" },
		{ "RUNBOX_UID", "nobody" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		refused_one(cases[i].name, cases[i].value);
}

static void test_malformed_words(void **state)
{
	static const struct var cases[] = {
		{ "RUNBOX_SANDBOX", "maybe" },	     { "RUNBOX_SANDBOX", "ON" },
		{ "RUNBOX_SANDBOX", "2" },	     { "RUNBOX_SANDBOX", " on" },
		{ "RUNBOX_ALLOW_NETWORK", "enabled" }, { "RUNBOX_LOG", "warn" },
		{ "RUNBOX_LOG", "INFO" },	     { "RUNBOX_LOG", "3" },
		{ "RUNBOX_PYTHON", "python3" },	     /* not absolute */
		{ "RUNBOX_BASH", "bin/bash" },	     { "RUNBOX_WORK_DIR", "./tmp" },
		{ "RUNBOX_WORK_DIR", "~/work" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		refused_one(cases[i].name, cases[i].value);
}

static void test_first_bad_value_stops(void **state)
{
	const struct var vars[] = {
		{ "RUNBOX_MAX_PROCS", "zero" },
		{ "RUNBOX_LOG", "loud" },
	};
	struct runbox_config cfg;
	struct rb_err err = { 0 };

	(void)state;
	assert_true(apply(vars, N(vars), &cfg, &err) < 0);
	assert_string_equal(err.code, "invalid_config");
	/* Knobs are read in table order; both are bad, one is reported. */
	assert_true(strcmp(err.field, "RUNBOX_MAX_PROCS") == 0 ||
		    strcmp(err.field, "RUNBOX_LOG") == 0);
}

static void test_origins_and_mcp(void **state)
{
	static const char *const bad[] = { "evil.example", "http://a.example/path", "ftp://a",
					   "http://", "https://a b" };
	struct runbox_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.serve.allowed_origins, "");
	assert_false(cfg.serve.mcp_stateless);
	assert_int_equal(cfg.serve.mcp_max_sessions, 1000);
	apply_one_ok("RUNBOX_ALLOWED_ORIGINS", "https://a.example, http://[::1]:6274,*", &cfg);
	assert_string_equal(cfg.serve.allowed_origins, "https://a.example, http://[::1]:6274,*");
	for (size_t i = 0; i < N(bad); i++)
		refused_one("RUNBOX_ALLOWED_ORIGINS", bad[i]);
	apply_one_ok("RUNBOX_MCP_STATELESS", "1", &cfg);
	assert_true(cfg.serve.mcp_stateless);
	apply_one_ok("RUNBOX_MCP_SESSION_IDLE_S", "60", &cfg);
	assert_true(cfg.serve.mcp_session_idle_s == 60);
	refused_one("RUNBOX_MCP_MAX_SESSIONS", "0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_environment),
		cmocka_unit_test(test_size_overrides),
		cmocka_unit_test(test_count_overrides),
		cmocka_unit_test(test_lambda_backoff_override),
		cmocka_unit_test(test_uid_overrides),
		cmocka_unit_test(test_timeout_overrides),
		cmocka_unit_test(test_path_overrides),
		cmocka_unit_test(test_bool_overrides),
		cmocka_unit_test(test_log_overrides),
		cmocka_unit_test(test_origins_and_mcp),
		cmocka_unit_test(test_many_at_once),
		cmocka_unit_test(test_fair_sharing_settings),
		cmocka_unit_test(test_malformed_numbers),
		cmocka_unit_test(test_malformed_words),
		cmocka_unit_test(test_first_bad_value_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
