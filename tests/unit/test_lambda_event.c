/*
 * Unit tests for pkg/api/lambda_event: which events are proxy events, how each
 * payload version becomes a route request, the Runtime API's answer shapes,
 * the deadline cap and the 413 last resort.
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

#include "api/lambda_event.h"

#define MiB ((size_t)1024 * 1024)

static int parse(const char *ev, struct lambda_http *h, struct rb_err *err)
{
	return lambda_event_parse(ev, strlen(ev), MiB, h, err);
}

static void test_direct_events(void **state)
{
	static const char *const direct[] = {
	    "{\"script\":\"print(1)\"}",
	    "not json",
	    "[1,2]",
	    "",
	    "{\"requestContext\":{\"accountId\":\"1\"}}", /* no http: not a proxy event */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
		struct lambda_http h;
		struct rb_err err = {0};

		assert_int_equal(parse(direct[i], &h, &err), 0);
		assert_int_equal(h.kind, LAMBDA_EVENT_DIRECT);
		assert_null(h.root);
	}
}

static void test_v2_event(void **state)
{
	const char *ev = "{\"version\":\"2.0\",\"rawPath\":\"/api/run\",\"rawQueryString\":"
			 "\"timeout_s=5&x=%20\",\"headers\":{\"content-type\":\"text/plain\","
			 "\"x-n\":\"1\"},\"requestContext\":{\"http\":{\"method\":\"POST\"}},"
			 "\"body\":\"cHJpbnQoMSk=\",\"isBase64Encoded\":true}";
	struct lambda_http h;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(parse(ev, &h, &err), 0);
	assert_int_equal(h.kind, LAMBDA_EVENT_HTTP_V2);
	assert_string_equal(h.rq.method, "POST");
	assert_string_equal(h.rq.path, "/api/run");
	assert_string_equal(h.rq.query, "timeout_s=5&x=%20");
	assert_int_equal(h.rq.n_headers, 2);
	assert_string_equal(route_header(&h.rq, "Content-Type"), "text/plain");
	assert_int_equal(h.rq.body_len, 8);
	assert_memory_equal(h.rq.body, "print(1)", 8);
	lambda_http_free(&h);
}

static void test_v1_event(void **state)
{
	const char *ev =
	    "{\"resource\":\"/{proxy+}\",\"path\":\"/api/run\",\"httpMethod\":\"POST\","
	    "\"headers\":{\"Content-Type\":\"application/json\"},"
	    "\"queryStringParameters\":{\"timeout_s\":\"2\"},"
	    "\"multiValueQueryStringParameters\":{\"timeout_s\":[\"2\"],"
	    "\"q\":[\"a b\",\"c&d\"]},"
	    "\"requestContext\":{\"stage\":\"prod\"},"
	    "\"body\":\"{\\\"script\\\":\\\"print(2)\\\"}\",\"isBase64Encoded\":false}";
	struct lambda_http h;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(parse(ev, &h, &err), 0);
	assert_int_equal(h.kind, LAMBDA_EVENT_HTTP_V1);
	assert_string_equal(h.rq.method, "POST");
	assert_string_equal(h.rq.path, "/api/run");
	/* Decoded values are percent-encoded again for the router. */
	assert_string_equal(h.rq.query, "timeout_s=2&q=a%20b&q=c%26d");
	assert_string_equal(h.rq.body, "{\"script\":\"print(2)\"}");
	lambda_http_free(&h);
}

static void test_v1_single_query_and_null_body(void **state)
{
	const char *ev = "{\"path\":\"/api/health\",\"httpMethod\":\"GET\",\"headers\":null,"
			 "\"queryStringParameters\":{\"a\":\"1\"},\"body\":null}";
	struct lambda_http h;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(parse(ev, &h, &err), 0);
	assert_string_equal(h.rq.query, "a=1");
	assert_int_equal(h.rq.body_len, 0);
	assert_int_equal(h.rq.n_headers, 0);
	lambda_http_free(&h);
}

/* Found by fuzz_lambda_event: isBase64Encoded without a body crashed. */
static void test_base64_flag_without_body(void **state)
{
	const char *ev = "{\"rawPath\":\"/api/run\",\"requestContext\":{\"http\":{\"method\":"
			 "\"POST\"}},\"isBase64Encoded\":true}";
	struct lambda_http h;
	struct rb_err err = {0};

	(void)state;
	assert_int_equal(parse(ev, &h, &err), 0);
	assert_int_equal(h.rq.body_len, 0);
	assert_string_equal(h.rq.body, "");
	lambda_http_free(&h);
}

static void test_malformed_proxy_events(void **state)
{
	static const struct {
		const char *ev, *code;
	} bad[] = {
	    {"{\"httpMethod\":5,\"path\":\"/\"}", "invalid_event"},
	    {"{\"httpMethod\":\"GET\"}", "invalid_event"},
	    {"{\"httpMethod\":\"GET\",\"path\":\"x\"}", "invalid_event"},
	    {"{\"rawPath\":\"/\",\"requestContext\":{\"http\":{}}}", "invalid_event"},
	    {"{\"rawPath\":\"/\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},"
	     "\"body\":{}}",
	     "invalid_event"},
	    {"{\"rawPath\":\"/\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},"
	     "\"body\":\"!!!\",\"isBase64Encoded\":true}",
	     "invalid_event"},
	    {"{\"rawPath\":\"/\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},"
	     "\"isBase64Encoded\":\"yes\"}",
	     "invalid_event"},
	    {"{\"rawPath\":\"/\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},"
	     "\"headers\":[1]}",
	     "invalid_event"},
	    /* An array's members have no names to put in the query. */
	    {"{\"httpMethod\":\"POST\",\"path\":\"/api/run\",\"queryStringParameters\":[\"1\"]}",
	     "invalid_event"},
	    {"{\"httpMethod\":\"POST\",\"path\":\"/api/run\","
	     "\"multiValueQueryStringParameters\":[[\"1\"]]}",
	     "invalid_event"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lambda_http h;
		struct rb_err err = {0};

		if (parse(bad[i].ev, &h, &err) >= 0)
			fail_msg("accepted %s", bad[i].ev);
		assert_string_equal(err.code, bad[i].code);
		assert_int_equal(err.fault, RB_FAULT_REQUEST);
		assert_int_not_equal(h.kind, LAMBDA_EVENT_DIRECT);
		assert_null(h.root);
	}
}

static void test_body_cap(void **state)
{
	const char *ev = "{\"rawPath\":\"/api/run\",\"requestContext\":{\"http\":{\"method\":"
			 "\"POST\"}},\"body\":\"0123456789\"}";
	struct lambda_http h;
	struct rb_err err = {0};

	(void)state;
	assert_true(lambda_event_parse(ev, strlen(ev), 9, &h, &err) < 0);
	assert_string_equal(err.code, "body_too_large");
	assert_int_equal(err.fault, RB_FAULT_TOO_LARGE);
	assert_int_equal(lambda_event_parse(ev, strlen(ev), 10, &h, &err), 0);
	lambda_http_free(&h);
}

static void test_proxy_response(void **state)
{
	struct route_answer a = {.status = 503,
				 .content_type = "application/json",
				 .retry_after = 1,
				 .allow = "GET, HEAD",
				 .body = "{\"error\":\"x\\\"y\"}",
				 .len = 16};
	char *s = lambda_proxy_response(&a);
	cJSON *o = cJSON_Parse(s), *hd = cJSON_GetObjectItem(o, "headers");

	(void)state;
	assert_int_equal(cJSON_GetObjectItem(o, "statusCode")->valueint, 503);
	assert_string_equal(cJSON_GetObjectItem(hd, "Content-Type")->valuestring,
			    "application/json");
	assert_string_equal(cJSON_GetObjectItem(hd, "Retry-After")->valuestring, "1");
	assert_string_equal(cJSON_GetObjectItem(hd, "Allow")->valuestring, "GET, HEAD");
	assert_string_equal(cJSON_GetObjectItem(o, "body")->valuestring, a.body);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "isBase64Encoded")));
	/* The cost function predicts the size of the body's literal exactly. */
	assert_int_equal(lambda_proxy_cost(a.body, a.len),
			 strlen("\"{\\\"error\\\":\\\"x\\\\\\\"y\\\"}\""));
	cJSON_Delete(o);
	free(s);
}

static void test_error_body(void **state)
{
	char *s = lambda_error_body("Runtime.SandboxUnavailable", "no \"seccomp\"\n");
	cJSON *o = cJSON_Parse(s);
	struct rb_err e = {.fault = RB_FAULT_UNAVAILABLE};

	(void)state;
	assert_string_equal(cJSON_GetObjectItem(o, "errorMessage")->valuestring,
			    "no \"seccomp\"\n");
	assert_string_equal(cJSON_GetObjectItem(o, "errorType")->valuestring,
			    "Runtime.SandboxUnavailable");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "stackTrace")), 0);
	assert_int_equal(cJSON_GetArraySize(o), 3);
	assert_string_equal(lambda_error_type(&e), "Runtime.SandboxUnavailable");
	e.fault = RB_FAULT_INTERNAL;
	assert_string_equal(lambda_error_type(&e), "Runtime.InternalError");
	snprintf(e.code, sizeof(e.code), "deadline_exceeded");
	assert_string_equal(lambda_error_type(&e), "Runtime.DeadlineExceeded");
	/* A process limit of the environment used up: a type of its own, not an internal error. */
	rb_fail_fork(&e, EAGAIN, "fork the program");
	assert_string_equal(lambda_error_type(&e), "Runtime.CapacityExhausted");
	cJSON_Delete(o);
	free(s);
}

static void test_deadline(void **state)
{
	(void)state;
	assert_true(lambda_timeout_cap(0, 1000) == 0);
	assert_true(lambda_timeout_cap(11000, 1000) == 10.0 - LAMBDA_DEADLINE_MARGIN_S);
	assert_true(lambda_timeout_cap(1000, 2000) < 0);
	assert_true(lambda_timeout_cap(2000, 1000) < 0); /* 1 s left is inside the margin */
	assert_true(lambda_parse_deadline("1795396852325") == 1795396852325LL);
	assert_true(lambda_parse_deadline("") == 0);
	assert_true(lambda_parse_deadline("12a") == 0);
	assert_true(lambda_parse_deadline("-5") == 0);
	assert_true(lambda_parse_deadline(NULL) == 0);
	assert_true(lambda_parse_deadline("99999999999999999999") == 0);
}

static void test_request_ids(void **state)
{
	(void)state;
	assert_true(lambda_request_id_ok("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
	assert_false(lambda_request_id_ok(""));
	assert_false(lambda_request_id_ok("../../init/error"));
	assert_false(lambda_request_id_ok("a b"));
	assert_false(lambda_request_id_ok("a?b"));
}

static void test_shrink(void **state)
{
	const char *ran =
	    "{\"exit_code\":0,\"stdout\":\"0123456789\",\"stderr\":\"\xc3\xa9\xc3\xa9\","
	    "\"artifacts\":{\"a.txt\":\"hello\",\"b.bin\":{\"content\":\"AAAA\","
	    "\"encoding\":\"base64\"}},\"status\":\"ok\",\"truncated\":{\"stdout\":"
	    "false,\"stderr\":false}}";
	char *s = lambda_shrink_response(ran, 3);
	cJSON *o = cJSON_Parse(s), *om = cJSON_GetObjectItem(o, "omitted_artifacts");

	(void)state;
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "stdout")->valuestring, "012");
	/* Cut on a character boundary: 3 bytes of "éé" keep one é. */
	assert_string_equal(cJSON_GetObjectItem(o, "stderr")->valuestring, "\xc3\xa9");
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "truncated"), "stdout")));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "artifacts"), "a.txt"));
	assert_int_equal(cJSON_GetArraySize(om), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(om, 0), "reason")->valuestring,
			    "response_too_large");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(om, 1), "size")->valueint, 3);
	cJSON_Delete(o);
	free(s);
	assert_null(lambda_shrink_response("{\"error\":\"x\",\"code\":\"y\"}", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct_events),
	    cmocka_unit_test(test_v2_event),
	    cmocka_unit_test(test_v1_event),
	    cmocka_unit_test(test_v1_single_query_and_null_body),
	    cmocka_unit_test(test_base64_flag_without_body),
	    cmocka_unit_test(test_malformed_proxy_events),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_proxy_response),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_request_ids),
	    cmocka_unit_test(test_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
