/*
 * Unit tests for pkg/api/admission: bodies are counted as they arrive, one
 * address holds at most its share, the server at most its budget, what is
 * given back is given back to the right address however the table's slots
 * collide, and the minimum-rate rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/admission.h"

static struct admission_key v4(const char *s)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	inet_pton(AF_INET, s, &sin.sin_addr);
	return admission_key_of((struct sockaddr *)&sin);
}

static struct admission_key v6(const char *s)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

	inet_pton(AF_INET6, s, &sin6.sin6_addr);
	return admission_key_of((struct sockaddr *)&sin6);
}

static void test_keys(void **state)
{
	struct admission_key a = v4("10.0.0.1"), b = v6("::ffff:10.0.0.1"), c = v6("2001:db8::1");
	struct admission_key none = admission_key_of(NULL);

	(void)state;
	/* A dual-stack socket's IPv4 client is the same client. */
	assert_int_equal(a.len, 4);
	assert_int_equal(b.len, 4);
	assert_memory_equal(a.addr, b.addr, 4);
	assert_int_equal(c.len, 16);
	assert_int_equal(none.len, 0);
}

/* One client may not take more than its share, even when the server has room. */
static void test_client_share(void **state)
{
	struct admission a;
	struct admission_key x = v4("10.0.0.1"), y = v4("10.0.0.2");

	(void)state;
	assert_int_equal(admission_init(&a, 1000, 400, 8), 0);
	assert_int_equal(admission_hold(&a, &x, 300), ADMISSION_OK);
	assert_int_equal(admission_hold(&a, &x, 101), ADMISSION_CLIENT_FULL);
	assert_int_equal(admission_held_by(&a, &x), 300); /* a refusal changes nothing */
	assert_int_equal(admission_hold(&a, &x, 100), ADMISSION_OK);
	assert_int_equal(admission_hold(&a, &y, 400), ADMISSION_OK);
	assert_int_equal(a.held, 800);
	admission_release(&a, &x, 400);
	assert_int_equal(admission_held_by(&a, &x), 0);
	assert_int_equal(admission_held_by(&a, &y), 400);
	assert_int_equal(a.held, 400);
	admission_free(&a);
}

/* The server's budget binds when many clients each stay within their share. */
static void test_server_budget(void **state)
{
	struct admission a;
	struct admission_key k[3] = {v4("10.0.0.1"), v4("10.0.0.2"), v4("10.0.0.3")};

	(void)state;
	assert_int_equal(admission_init(&a, 1000, 400, 8), 0);
	assert_int_equal(admission_hold(&a, &k[0], 400), ADMISSION_OK);
	assert_int_equal(admission_hold(&a, &k[1], 400), ADMISSION_OK);
	assert_int_equal(admission_hold(&a, &k[2], 201), ADMISSION_SERVER_FULL);
	assert_int_equal(admission_hold(&a, &k[2], 200), ADMISSION_OK);
	/* Sizes near SIZE_MAX do not wrap around. */
	assert_int_equal(admission_hold(&a, &k[2], (size_t)-1), ADMISSION_CLIENT_FULL);
	admission_free(&a);
}

/*
 * Many addresses in a small table collide; giving bytes back (and so
 * emptying slots in the middle of a probe run) never loses another's.
 */
static void test_many_clients(void **state)
{
	struct admission a;
	char addr[32];

	(void)state;
	assert_int_equal(admission_init(&a, 1 << 20, 100, 64), 0);
	for (int i = 0; i < 64; i++) {
		struct admission_key k;

		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 7, i);
		k = v4(addr);
		assert_int_equal(admission_hold(&a, &k, (size_t)i + 1), ADMISSION_OK);
	}
	for (int i = 0; i < 64; i += 3) {
		struct admission_key k;

		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 7, i);
		k = v4(addr);
		admission_release(&a, &k, (size_t)i + 1);
	}
	for (int i = 0; i < 64; i++) {
		struct admission_key k;

		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 7, i);
		k = v4(addr);
		assert_int_equal(admission_held_by(&a, &k), i % 3 == 0 ? 0 : (size_t)i + 1);
	}
	admission_free(&a);
}

static void test_too_slow(void **state)
{
	(void)state;
	/* Within the grace period nothing is too slow. */
	assert_false(admission_too_slow(100, 109, 0, 1000, 10));
	/* 5 s after it, 5000 bytes are owed at 1000 B/s. */
	assert_true(admission_too_slow(100, 115, 4999, 1000, 10));
	assert_false(admission_too_slow(100, 115, 5000, 1000, 10));
	/* Rate 0: no rule. */
	assert_false(admission_too_slow(100, 1000, 0, 0, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),	  cmocka_unit_test(test_client_share),
	    cmocka_unit_test(test_server_budget), cmocka_unit_test(test_many_clients),
	    cmocka_unit_test(test_too_slow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
