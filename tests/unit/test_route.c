/*
 * Unit tests for pkg/api/route: the routing table (404/405/401/413 before the
 * body), Content-Type matching, the raw script with its query parameters,
 * the Azure host's envelope in and out, the token check, and the status
 * each executor outcome gets.  Every answer is parsed back with cJSON.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "base/err.h"
#include "api/route.h"

static const struct route_config cfg = {
    .token = NULL,
    .max_body_bytes = 1000,
    .max_script_bytes = 100,
};
static const struct route_config cfg_token = {
    .token = "s3cret",
    .max_body_bytes = 1000,
    .max_script_bytes = 100,
};

#define REQ(m, p, ...) ((struct route_request){.method = (m), .path = (p), __VA_ARGS__})

/* The "code" of an error answer's JSON body. */
static void assert_error_code(const struct route_answer *a, int status, const char *code)
{
	cJSON *j = cJSON_Parse(a->body);

	if (a->status != status)
		fail_msg("status %d, want %d (%s)", a->status, status, a->body);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, code);
	assert_non_null(cJSON_GetObjectItem(j, "error")->valuestring);
	assert_string_equal(a->content_type, "application/json");
	cJSON_Delete(j);
}

static void match_refused(const struct route_config *c, struct route_request rq, int status,
			  const char *code)
{
	struct route_answer a;

	assert_int_equal(route_match(c, &rq, &a), ROUTE_NONE);
	assert_error_code(&a, status, code);
	route_answer_free(&a);
}

static void test_match_routes(void **state)
{
	struct route_answer a = {0};
	struct route_request rq;
	(void)state;

	rq = REQ("POST", "/api/run");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_RUN);
	rq = REQ("POST", "/run");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_AZURE);
	rq = REQ("GET", "/api/health");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_HEALTH);
	rq = REQ("HEAD", "/api/health");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_HEALTH);
	rq = REQ("GET", "/");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_ROOT);
	rq = REQ("GET", "/api/info");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_INFO);
}

static void test_match_refusals(void **state)
{
	struct route_answer a;
	struct route_request rq = REQ("GET", "/api/run");
	(void)state;

	match_refused(&cfg, REQ("POST", "/api/runx"), 404, "not_found");
	match_refused(&cfg, REQ("POST", "/API/RUN"), 404, "not_found");
	match_refused(&cfg, REQ("POST", "/api/health"), 405, "method_not_allowed");
	match_refused(&cfg, REQ("PUT", "/run"), 405, "method_not_allowed");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_NONE);
	assert_string_equal(a.allow, "POST");
	route_answer_free(&a);
}

static void test_content_length_over_cap(void **state)
{
	struct route_header big[] = {{"content-length", "1001"}};
	struct route_header ok[] = {{"Content-Length", "1000"},
				    {"Content-Type", "application/json"}};
	struct route_header huge[] = {{"Content-Length", "99999999999999999999999"}};
	/* Without a JSON type the body is a raw script: its own, smaller cap (100 here). */
	struct route_header raw_ok[] = {{"Content-Length", "100"}};
	struct route_header raw_big[] = {{"Content-Length", "101"}};
	struct route_request rq = REQ("POST", "/api/run", .headers = ok, .n_headers = 2);
	struct route_answer a;
	(void)state;

	match_refused(&cfg, REQ("POST", "/api/run", .headers = big, .n_headers = 1), 413,
		      "body_too_large");
	match_refused(&cfg, REQ("POST", "/api/run", .headers = huge, .n_headers = 1), 413,
		      "body_too_large");
	match_refused(&cfg, REQ("POST", "/api/run", .headers = raw_big, .n_headers = 1), 413,
		      "script_too_large");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_RUN);
	rq = REQ("POST", "/api/run", .headers = raw_ok, .n_headers = 1);
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_RUN);
	/* The envelope carries an escaped body: its cap is larger. */
	rq = REQ("POST", "/run", .headers = big, .n_headers = 1);
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_AZURE);
	assert_true(route_body_cap(&cfg, ROUTE_AZURE) > cfg.max_body_bytes);
}

static void test_is_json(void **state)
{
	(void)state;
	assert_true(route_is_json("application/json"));
	assert_true(route_is_json("Application/JSON"));
	assert_true(route_is_json("application/json; charset=utf-8"));
	assert_true(route_is_json("application/json;charset=UTF-8"));
	assert_true(route_is_json(" application/json "));
	assert_false(route_is_json("application/jsonx"));
	assert_false(route_is_json("text/plain"));
	assert_false(route_is_json("application/x-python"));
	assert_false(route_is_json(""));
	assert_false(route_is_json(NULL));
}

static void test_token(void **state)
{
	struct route_header good[] = {{"authorization", "Bearer s3cret"}};
	struct route_header lower[] = {{"Authorization", "bearer s3cret"}};
	struct route_header bad[] = {{"Authorization", "Bearer s3cre"}};
	struct route_header longer[] = {{"Authorization", "Bearer s3cret1"}};
	struct route_answer a = {0};
	struct route_request rq;
	(void)state;

	assert_true(route_token_ok(NULL, NULL));
	assert_true(route_token_ok("", "anything"));
	assert_false(route_token_ok("s3cret", NULL));
	assert_false(route_token_ok("s3cret", "s3cret"));
	assert_false(route_token_ok("s3cret", "Basic s3cret"));
	/* Whitespace around the value is not part of it (RFC 9110 5.5); inside, it is. */
	assert_true(route_token_ok("s3cret", "Bearer s3cret  "));
	assert_true(route_token_ok("s3cret", "Bearer \ts3cret\t"));
	assert_false(route_token_ok("s3cret", "Bearer s3 cret"));
	assert_false(route_token_ok("s3cret", "Bearer s3cret x"));
	assert_false(route_token_ok("s3cret", "Bearer "));
	match_refused(&cfg_token, REQ("POST", "/api/run"), 401, "unauthorized");
	match_refused(&cfg_token, REQ("POST", "/api/run", .headers = bad, .n_headers = 1), 401,
		      "unauthorized");
	match_refused(&cfg_token, REQ("POST", "/api/run", .headers = longer, .n_headers = 1), 401,
		      "unauthorized");
	match_refused(&cfg_token, REQ("GET", "/api/info"), 401, "unauthorized");
	rq = REQ("POST", "/api/run", .headers = good, .n_headers = 1);
	assert_int_equal(route_match(&cfg_token, &rq, &a), ROUTE_RUN);
	rq = REQ("POST", "/api/run", .headers = lower, .n_headers = 1);
	assert_int_equal(route_match(&cfg_token, &rq, &a), ROUTE_RUN);
	/* The probes stay open: the Azure host sends no token. */
	rq = REQ("GET", "/api/health");
	assert_int_equal(route_match(&cfg_token, &rq, &a), ROUTE_HEALTH);
	rq = REQ("GET", "/");
	assert_int_equal(route_match(&cfg_token, &rq, &a), ROUTE_ROOT);
}

/* route_decide on @rq must give a run of a request whose JSON is @want. */
static void decide_runs(const struct route_config *c, struct route_request rq, const char *want)
{
	struct route_decision d;
	struct route_answer a = {0};
	cJSON *got, *exp;

	if (route_decide(c, &rq, &d, &a) < 0)
		fail_msg("refused: %d %s", a.status, a.body);
	assert_non_null(d.run_body);
	assert_int_equal(d.run_len, strlen(d.run_body));
	got = cJSON_Parse(d.run_body);
	exp = cJSON_Parse(want);
	assert_non_null(exp);
	if (!cJSON_Compare(got, exp, true))
		fail_msg("request %s, want %s", d.run_body, want);
	cJSON_Delete(got);
	cJSON_Delete(exp);
	route_decision_free(&d);
}

static void decide_refused(const struct route_config *c, struct route_request rq, int status,
			   const char *code)
{
	struct route_decision d;
	struct route_answer a = {0};

	assert_true(route_decide(c, &rq, &d, &a) < 0);
	assert_null(d.run_body);
	assert_error_code(&a, status, code);
	route_answer_free(&a);
}

static void test_json_body(void **state)
{
	struct route_header h[] = {{"Content-Type", "application/json; charset=utf-8"}};
	const char *body = "{\"script\":\"print(1)\"}";
	(void)state;

	/* The JSON body is given to the executor as it is; ?code is the platform's key. */
	decide_runs(&cfg,
		    REQ("POST", "/api/run", .query = "code=k3y&", .headers = h, .n_headers = 1,
			.body = body, .body_len = strlen(body)),
		    body);
	/* ?timeout_s shapes a raw script only: with a JSON body it would be ignored. */
	decide_refused(&cfg,
		       REQ("POST", "/api/run", .query = "timeout_s=3", .headers = h, .n_headers = 1,
			   .body = body, .body_len = strlen(body)),
		       400, "unknown_parameter");
}

/* A query parameter runbox does not know is refused, not ignored. */
static void test_unknown_parameter(void **state)
{
	struct route_header h[] = {{"Content-Type", "application/json"}};
	struct route_decision d;
	struct route_answer a = {0};
	struct route_request rq =
	    REQ("POST", "/api/run", .query = "code=x&timeout=1", .body = "1", .body_len = 1);
	cJSON *j;
	(void)state;

	assert_true(route_decide(&cfg, &rq, &d, &a) < 0);
	assert_error_code(&a, 400, "unknown_parameter");
	j = cJSON_Parse(a.body);
	assert_string_equal(cJSON_GetObjectItem(j, "field")->valuestring, "timeout");
	/* The message names the parameters that are known. */
	assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "timeout_s"));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "language"));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "code"));
	cJSON_Delete(j);
	route_answer_free(&a);
	/* Names are compared decoded; a bare name counts too. */
	decide_refused(&cfg,
		       REQ("POST", "/api/run", .query = "tim%65out_s2", .body = "1", .body_len = 1),
		       400, "unknown_parameter");
	decide_refused(&cfg,
		       REQ("POST", "/api/run", .query = "x=1", .headers = h, .n_headers = 1,
			   .body = "{}", .body_len = 2),
		       400, "unknown_parameter");
	decide_refused(&cfg, REQ("POST", "/api/run", .query = "%zz=1", .body = "1", .body_len = 1),
		       400, "invalid_query");
	decide_runs(&cfg,
		    REQ("POST", "/api/run", .query = "tim%65out_s=2", .body = "1", .body_len = 1),
		    "{\"script\":\"1\",\"timeout_s\":2}");
}

/* An empty body is refused whatever its type (a host may drop a chunked body). */
static void test_empty_body(void **state)
{
	struct route_header h[] = {{"Content-Type", "application/json"}};
	(void)state;

	decide_refused(&cfg, REQ("POST", "/api/run", .body = "", .body_len = 0), 400, "empty_body");
	decide_refused(
	    &cfg, REQ("POST", "/api/run", .headers = h, .n_headers = 1, .body = "", .body_len = 0),
	    400, "empty_body");
	decide_refused(&cfg, REQ("POST", "/api/run", .query = "timeout=1", .body = NULL), 400,
		       "empty_body");
}

static void test_raw_script(void **state)
{
	struct route_header h[] = {{"Content-Type", "text/x-python"}};
	const char *body = "print(\"hi\")\n";
	(void)state;

	decide_runs(&cfg, REQ("POST", "/api/run", .body = body, .body_len = strlen(body)),
		    "{\"script\":\"print(\\\"hi\\\")\\n\"}");
	decide_runs(&cfg,
		    REQ("POST", "/api/run", .query = "code=abc&timeout_s=2.5", .headers = h,
			.n_headers = 1, .body = body, .body_len = strlen(body)),
		    "{\"script\":\"print(\\\"hi\\\")\\n\",\"timeout_s\":2.5}");
	decide_runs(&cfg,
		    REQ("POST", "/api/run", .query = "language=ba%73h&timeout_s=1",
			.body = "echo x", .body_len = 6),
		    "{\"script\":\"echo x\",\"timeout_s\":1,\"language\":\"bash\"}");
	/* A JSON number out of a double's range: clamped by the contract, as in a JSON body. */
	decide_runs(&cfg,
		    REQ("POST", "/api/run", .query = "timeout_s=1e999", .body = "1", .body_len = 1),
		    "{\"script\":\"1\",\"timeout_s\":1.7976931348623157e+308}");
}

static void test_raw_script_refused(void **state)
{
	char big[101];
	(void)state;

	memset(big, 'x', sizeof(big));
	decide_refused(&cfg, REQ("POST", "/api/run", .body = big, .body_len = sizeof(big)), 413,
		       "script_too_large");
	decide_refused(
	    &cfg, REQ("POST", "/api/run", .query = "timeout_s=soon", .body = "1", .body_len = 1),
	    400, "invalid_timeout");
	/* Only what a JSON number may be: no hex, blanks, inf/nan, bare dots. */
	static const char *const not_numbers[] = {
	    "timeout_s=0x10", "timeout_s=%205", "timeout_s=inf", "timeout_s=nan", "timeout_s=1.",
	    "timeout_s=.5",   "timeout_s=+3",	"timeout_s=01",	 "timeout_s=1e",  "timeout_s="};

	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++)
		decide_refused(
		    &cfg,
		    REQ("POST", "/api/run", .query = not_numbers[i], .body = "1", .body_len = 1),
		    400, "invalid_timeout");
	decide_refused(
	    &cfg, REQ("POST", "/api/run", .query = "timeout_s=%zz", .body = "1", .body_len = 1),
	    400, "invalid_query");
	decide_refused(
	    &cfg, REQ("POST", "/api/run", .query = "timeout_s=%00", .body = "1", .body_len = 1),
	    400, "invalid_query");
	decide_refused(&cfg, REQ("POST", "/api/run", .body = "a\0b", .body_len = 3), 400,
		       "invalid_script");
	decide_refused(&cfg, REQ("POST", "/api/run", .body = "\xff", .body_len = 1), 400,
		       "invalid_script");
}

static void test_body_over_cap(void **state)
{
	static char body[1001];
	struct route_header h[] = {{"Content-Type", "application/json"}};
	(void)state;

	memset(body, ' ', sizeof(body));
	decide_refused(&cfg,
		       REQ("POST", "/api/run", .headers = h, .n_headers = 1, .body = body,
			   .body_len = sizeof(body)),
		       413, "body_too_large");
}

/* ---- the Azure envelope ---- */

static void envelope_runs(const char *env, const char *want)
{
	decide_runs(&cfg, REQ("POST", "/run", .body = env, .body_len = strlen(env)), want);
}

/* An envelope refusal: outer 200, inner @status with the JSON error @code. */
static void envelope_refused(const struct route_config *c, const char *env, int status,
			     const char *code)
{
	struct route_request rq = REQ("POST", "/run", .body = env, .body_len = strlen(env));
	struct route_decision d;
	struct route_answer a = {0}, inner = {0};
	cJSON *j, *res;

	assert_true(route_decide(c, &rq, &d, &a) < 0);
	assert_int_equal(a.status, 200);
	j = cJSON_Parse(a.body);
	res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Outputs"), "res");
	assert_non_null(res);
	inner.status = (int)cJSON_GetObjectItem(res, "statusCode")->valuedouble;
	inner.body = cJSON_GetObjectItem(res, "body")->valuestring;
	inner.content_type =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "headers"), "Content-Type")->valuestring;
	assert_error_code(&inner, status, code);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "Logs")));
	/* Never null (the host logs that as a missing value): the status, as text. */
	assert_int_equal(atoi(cJSON_GetObjectItem(j, "ReturnValue")->valuestring), status);
	cJSON_Delete(j);
	route_answer_free(&a);
}

static void test_envelope_in(void **state)
{
	(void)state;
	/* The host sends header values as arrays, query values as strings. */
	envelope_runs("{\"Data\":{\"req\":{\"Url\":\"http://x/api/run\",\"Method\":\"POST\","
		      "\"Query\":{},\"Headers\":{\"Content-Type\":[\"application/json\"]},"
		      "\"Params\":{},\"Body\":\"{\\\"script\\\":\\\"print(1)\\\"}\"}},"
		      "\"Metadata\":{}}",
		      "{\"script\":\"print(1)\"}");
	envelope_runs("{\"Data\":{\"req\":{\"Method\":\"POST\",\"Query\":{\"timeout_s\":\"4\"},"
		      "\"Headers\":{\"Content-Type\":\"text/plain\"},\"Body\":\"print(2)\"}}}",
		      "{\"script\":\"print(2)\",\"timeout_s\":4}");
	/* The host serialises Query as a JSON string; "code" is the function key. */
	envelope_runs("{\"Data\":{\"req\":{\"Method\":\"POST\","
		      "\"Query\":\"{\\\"code\\\":\\\"k\\\",\\\"timeout_s\\\":\\\"3\\\"}\","
		      "\"Headers\":{\"Content-Type\":[\"text/plain\"]},\"Body\":\"print(3)\"}}}",
		      "{\"script\":\"print(3)\",\"timeout_s\":3}");
	/* application/octet-stream and multipart bodies arrive base64-encoded. */
	envelope_runs("{\"Data\":{\"req\":{\"Method\":\"POST\",\"Query\":\"{}\","
		      "\"Headers\":{\"Content-Type\":[\"Application/Octet-Stream; x=1\"]},"
		      "\"Body\":\"cHJpbnQoNCk=\"}}}",
		      "{\"script\":\"print(4)\"}");
	envelope_runs("{\"Data\":{\"req\":{\"Method\":\"POST\","
		      "\"Headers\":{\"Content-Type\":[\"multipart/form-data; boundary=b\"]},"
		      "\"Body\":\"cHJpbnQoNSk=\"}}}",
		      "{\"script\":\"print(5)\"}");
	/* ... and text bodies as they are, even when they look like base64. */
	envelope_runs("{\"Data\":{\"req\":{\"Method\":\"POST\","
		      "\"Headers\":{\"Content-Type\":[\"text/plain\"]},\"Body\":\"cHJpbnQoNCk\"}}}",
		      "{\"script\":\"cHJpbnQoNCk\"}");
	/* A Body sent as a parsed JSON object is the JSON request. */
	envelope_runs(
	    "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Body\":{\"script\":\"print(6)\"}}}}",
	    "{\"script\":\"print(6)\"}");
}

static void test_envelope_refused(void **state)
{
	struct route_request rq = REQ("POST", "/run", .body = "nope", .body_len = 4);
	struct route_decision d;
	struct route_answer a = {0};
	(void)state;

	/* Even a broken envelope is answered in one: the host fails any other answer. */
	(void)rq;
	(void)d;
	(void)a;
	envelope_refused(&cfg, "nope", 400, "invalid_envelope");
	envelope_refused(&cfg, "{\"Data\":{}}", 400, "invalid_envelope");
	envelope_refused(&cfg, "[1]", 400, "invalid_envelope");
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Body\":\"\\u0000\"}}}", 400, "nul_in_string");
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Query\":7}}}", 400,
			 "invalid_envelope");
	/* No Body (the host leaves it out for a chunked request), null or "": empty_body. */
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Method\":\"POST\"}}}", 400, "empty_body");
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Body\":null}}}", 400,
			 "empty_body");
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Body\":\"\"}}}", 400,
			 "empty_body");
	envelope_refused(&cfg,
			 "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Query\":{\"timeout\":\"1\"},"
			 "\"Body\":\"1\"}}}",
			 400, "unknown_parameter");
	envelope_refused(&cfg,
			 "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Headers\":{\"Content-Type\":"
			 "[\"application/octet-stream\"]},\"Body\":\"not base64!\"}}}",
			 400, "invalid_envelope");
	envelope_refused(&cfg, "{\"Data\":{\"req\":{\"Method\":\"GET\",\"Body\":\"\"}}}", 405,
			 "method_not_allowed");
	envelope_refused(&cfg,
			 "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Query\":{\"timeout_s\":\"x\"},"
			 "\"Body\":\"1\"}}}",
			 400, "invalid_timeout");
	envelope_refused(&cfg_token, "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Body\":\"1\"}}}",
			 401, "unauthorized");
}

/* ---- answers ---- */

static void test_answer_run(void **state)
{
	struct route_decision plain = {.route = ROUTE_RUN},
			      az = {.route = ROUTE_AZURE, .azure = true};
	struct rb_err err = {0};
	struct route_answer a;
	cJSON *j, *res;
	(void)state;

	assert_int_equal(route_answer_run(&plain, 0, &err, strdup("{\"exit_code\":3}"), &a), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"exit_code\":3}");
	route_answer_free(&a);

	rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "sandbox_unavailable", NULL, "no landlock");
	route_answer_run(&plain, -EINVAL, &err, strdup("{\"error\":\"no landlock\"}"), &a);
	assert_int_equal(a.status, 503);
	assert_int_equal(a.retry_after, ROUTE_RETRY_AFTER_S);
	route_answer_free(&a);

	rb_fail(&err, RB_FAULT_TOO_LARGE, 0, "file_too_large", "files", "big");
	route_answer_run(&plain, -EINVAL, &err, NULL, &a);
	assert_error_code(&a, 413, "file_too_large");
	route_answer_free(&a);

	rb_fail(&err, RB_FAULT_INTERNAL, 0, "internal_error", NULL, "oops");
	route_answer_run(&az, -EIO, &err,
			 strdup("{\"error\":\"oops\",\"code\":\"internal_error\"}"), &a);
	assert_int_equal(a.status, 200);
	j = cJSON_Parse(a.body);
	res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Outputs"), "res");
	assert_int_equal((int)cJSON_GetObjectItem(res, "statusCode")->valuedouble, 500);
	assert_string_equal(cJSON_GetObjectItem(res, "body")->valuestring,
			    "{\"error\":\"oops\",\"code\":\"internal_error\"}");
	cJSON_Delete(j);
	route_answer_free(&a);
}

static void test_answer_refused_envelope_retry(void **state)
{
	struct route_decision az = {.route = ROUTE_AZURE, .azure = true};
	struct rb_err err = {0};
	struct route_answer a;
	cJSON *j, *hdr;
	(void)state;

	rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL, "queue full");
	route_answer_refused(&az, &err, &a);
	assert_int_equal(a.status, 200);
	j = cJSON_Parse(a.body);
	hdr = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Outputs"), "res"),
				  "headers");
	assert_string_equal(cJSON_GetObjectItem(hdr, "Retry-After")->valuestring, "1");
	cJSON_Delete(j);
	route_answer_free(&a);
}

/* What a server refuses on its own (a full queue, a 405) is wrapped once, at the end. */
static void test_answer_envelope(void **state)
{
	struct route_decision plain = {.route = ROUTE_NONE};
	struct rb_err err = {0};
	struct route_answer a;
	cJSON *j, *res;
	(void)state;

	rb_fail(&err, RB_FAULT_UNAVAILABLE, 0, "busy", NULL, "queue full");
	route_answer_refused(&plain, &err, &a);
	assert_int_equal(a.status, 503);
	assert_int_equal(route_answer_envelope(&a), 0);
	assert_int_equal(route_answer_envelope(&a), 0); /* not twice */
	assert_int_equal(a.status, 200);
	assert_int_equal(a.retry_after, 0);
	j = cJSON_Parse(a.body);
	res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Outputs"), "res");
	assert_int_equal((int)cJSON_GetObjectItem(res, "statusCode")->valuedouble, 503);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(res, "headers"), "Retry-After")->valuestring,
	    "1");
	assert_string_equal(cJSON_GetObjectItem(j, "ReturnValue")->valuestring, "503");
	assert_non_null(strstr(cJSON_GetObjectItem(res, "body")->valuestring, "\"busy\""));
	cJSON_Delete(j);
	route_answer_free(&a);
	assert_true(route_is_azure_path("/run"));
	assert_true(route_is_azure_path("http://127.0.0.1:9/run"));
	assert_false(route_is_azure_path("/api/run"));
	assert_false(route_is_azure_path("/run/x"));
}

static void test_origin_path(void **state)
{
	(void)state;
	assert_string_equal(route_origin_path("/api/run"), "/api/run");
	assert_string_equal(route_origin_path("http://x/api/health"), "/api/health");
	assert_string_equal(route_origin_path("HTTPS://h.example:8080/api/run"), "/api/run");
	assert_string_equal(route_origin_path("http://x"), "/");
	assert_string_equal(route_origin_path("http://x/"), "/");
	assert_string_equal(route_origin_path("*"), "*");
	assert_string_equal(route_origin_path("ftp://x/api/run"), "ftp://x/api/run");
}

/* RUNBOX_ALLOWED_ORIGINS: a web page's request is refused on every route unless listed. */
static void test_origins(void **state)
{
	static const char *const routes[][2] = {
	    {"POST", "/api/run"}, {"POST", "/run"}, {"POST", "/mcp"}, {"GET", "/api/info"}};
	struct route_config c = cfg;
	struct route_header evil[] = {{"Origin", "http://evil.example"}};
	struct route_answer a = {0};
	struct route_request rq;
	(void)state;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		match_refused(&cfg,
			      REQ(routes[i][0], routes[i][1], .headers = evil, .n_headers = 1), 403,
			      "origin_not_allowed");
	/* No Origin: not a browser. */
	rq = REQ("POST", "/api/run");
	assert_int_equal(route_match(&cfg, &rq, &a), ROUTE_RUN);
	c.allowed_origins = "https://app.example, http://localhost:6274";
	assert_true(route_origin_ok(c.allowed_origins, "https://app.example"));
	assert_true(route_origin_ok(c.allowed_origins, "HTTP://LOCALHOST:6274"));
	assert_true(route_origin_ok(c.allowed_origins, NULL));
	assert_false(route_origin_ok(c.allowed_origins, "https://app.example:8443"));
	assert_false(route_origin_ok(c.allowed_origins, "https://app.exampl"));
	assert_false(route_origin_ok(c.allowed_origins, "null"));
	assert_false(route_origin_ok(c.allowed_origins, ""));
	assert_false(route_origin_ok("", "http://x"));
	assert_true(route_origin_ok("*", "http://x"));
	rq = REQ("POST", "/mcp", .headers = evil, .n_headers = 1);
	c.allowed_origins = "http://evil.example";
	assert_int_equal(route_match(&c, &rq, &a), ROUTE_MCP);
}

/* The Azure host forwards the browser's headers: the inner Origin counts. */
static void test_origin_in_the_envelope(void **state)
{
	static const char env[] = "{\"Data\":{\"req\":{\"Method\":\"POST\",\"Headers\":{\"Origin\":"
				  "[\"http://evil.example\"]},\"Body\":\"print(1)\"}}}";
	(void)state;
	envelope_refused(&cfg, env, 403, "origin_not_allowed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_routes),
	    cmocka_unit_test(test_match_refusals),
	    cmocka_unit_test(test_content_length_over_cap),
	    cmocka_unit_test(test_is_json),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_json_body),
	    cmocka_unit_test(test_raw_script),
	    cmocka_unit_test(test_raw_script_refused),
	    cmocka_unit_test(test_body_over_cap),
	    cmocka_unit_test(test_envelope_in),
	    cmocka_unit_test(test_envelope_refused),
	    cmocka_unit_test(test_unknown_parameter),
	    cmocka_unit_test(test_empty_body),
	    cmocka_unit_test(test_origin_path),
	    cmocka_unit_test(test_answer_run),
	    cmocka_unit_test(test_answer_refused_envelope_retry),
	    cmocka_unit_test(test_answer_envelope),
	    cmocka_unit_test(test_origins),
	    cmocka_unit_test(test_origin_in_the_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
