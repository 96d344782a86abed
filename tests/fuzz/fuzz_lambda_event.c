/*
 * fuzz_lambda_event: libFuzzer target for what a Lambda invocation's
 * payload goes through before the executor: lambda_event_parse() (any bytes
 * Lambda hands over), the proxy answer built around a body, and the 413
 * last resort lambda_shrink_response().
 *
 * Invariants: a proxy event that parses has a method, a path starting with
 * '/', a query string and a body within the cap; every answer runbox would
 * post is JSON that parses back; a refusal names a stable code.  A broken
 * rule is a __builtin_trap(), so libFuzzer keeps the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/lambda_event.h"

#include "fuzz.h"

#define MAX_BODY 4096

static void check_json(char *s)
{
	cJSON *o = s ? cJSON_Parse(s) : NULL;

	CHECK(o != NULL);
	cJSON_Delete(o);
	free(s);
}

static void check_proxy(const struct lambda_http *h)
{
	struct route_answer a = {.status = 200, .content_type = "text/plain"};

	CHECK(h->rq.method && *h->rq.method);
	CHECK(h->rq.path && h->rq.path[0] == '/');
	CHECK(h->rq.query != NULL);
	CHECK(h->rq.body_len <= MAX_BODY);
	CHECK(h->rq.n_headers <= 200);
	for (size_t i = 0; i < h->rq.n_headers; i++)
		CHECK(h->rq.headers[i].name && h->rq.headers[i].value);
	/* The body, whatever its bytes, goes back as a proxy response. */
	a.body = (char *)h->rq.body;
	a.len = h->rq.body_len;
	check_json(lambda_proxy_response(&a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lambda_http h;
	struct rb_err err = {0};
	char *copy = malloc(size + 1), *s;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (lambda_event_parse(copy, size, MAX_BODY, &h, &err) >= 0) {
		if (h.kind != LAMBDA_EVENT_DIRECT)
			check_proxy(&h);
		lambda_http_free(&h);
	} else {
		CHECK(h.kind != LAMBDA_EVENT_DIRECT);
		CHECK(strcmp(err.code, "invalid_event") == 0 ||
		      strcmp(err.code, "body_too_large") == 0 ||
		      strcmp(err.code, "internal_error") == 0 || err.errnum == 12);
		CHECK(h.root == NULL);
	}
	s = lambda_shrink_response(copy, 16);
	if (s)
		check_json(s);
	free(copy);
	return 0;
}
