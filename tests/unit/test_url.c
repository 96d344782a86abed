/*
 * Unit tests for pkg/deps/url: parsing, RFC 3986 resolution of an index
 * page's links, origins, and what is shown of a URL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps/url.h"

static void resolves(const char *base, const char *ref, const char *want)
{
	char out[URL_MAX];
	int r = url_resolve(base, ref, out, sizeof(out));

	if (!want) {
		assert_true(r < 0);
		return;
	}
	assert_int_equal(r, (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_resolve(void **state)
{
	const char *b = "https://u:p@idx.example/simple/pkg/";

	(void)state;
	resolves(b, "pkg-1.0.whl", "https://idx.example/simple/pkg/pkg-1.0.whl");
	resolves(b, "../../files/a.whl#sha256=ab", "https://idx.example/files/a.whl#sha256=ab");
	resolves(b, "/x/./y/../a.whl?q=1", "https://idx.example/x/a.whl?q=1");
	resolves(b, "//files.example/a.whl", "https://files.example/a.whl");
	resolves(b, "http://other:8080/a.whl", "http://other:8080/a.whl");
	resolves(b, "#frag", "https://idx.example/simple/pkg/#frag");
	resolves(b, "../../../../a.whl", "https://idx.example/a.whl");
	/* Other schemes are never followed. */
	resolves(b, "file:///etc/passwd", NULL);
	resolves(b, "javascript:alert(1)", NULL);
	resolves(b, "ftp://x/a.whl", NULL);
	resolves("not a url", "a.whl", NULL);
}

static void test_parse_and_origin(void **state)
{
	struct url_parts a, b;
	char out[URL_MAX];

	(void)state;
	assert_int_equal(url_parse("HTTPS://User:Pw@Idx.Example:443/simple/?x#y", &a), 0);
	assert_string_equal(a.scheme, "https");
	assert_string_equal(a.host, "idx.example");
	assert_string_equal(a.userinfo, "User:Pw");
	assert_int_equal(a.port, 443);
	assert_string_equal(a.path, "/simple/");
	assert_string_equal(a.query, "?x");
	assert_string_equal(a.fragment, "y");
	assert_int_equal(url_parse("https://idx.example/other", &b), 0);
	assert_true(url_same_origin(&a, &b));
	assert_int_equal(url_parse("http://idx.example/", &b), 0);
	assert_false(url_same_origin(&a, &b)); /* another scheme */
	assert_int_equal(url_parse("https://idx.example:8443/", &b), 0);
	assert_false(url_same_origin(&a, &b)); /* another port */
	/* Shown without credentials or fragment. */
	assert_true(url_format(&a, true, out, sizeof(out)) > 0);
	assert_string_equal(out, "https://idx.example/simple/?x");
	assert_int_equal(url_parse("http://[::1]:8080/a%2Bb-1.0.whl", &b), 0);
	assert_string_equal(b.host, "[::1]");
	assert_int_equal(url_basename(&b, out, sizeof(out)), 11);
	assert_string_equal(out, "a+b-1.0.whl");
	/* A decoded name never becomes a path. */
	assert_int_equal(url_parse("http://x/a%2F..%2F..%2Fetc%2Fx.whl", &b), 0);
	assert_int_equal(url_basename(&b, out, sizeof(out)), -EINVAL);
	assert_int_equal(url_parse("http://x/a%00.whl", &b), 0);
	assert_int_equal(url_basename(&b, out, sizeof(out)), -EINVAL);
	assert_int_equal(url_parse("http://x/ a", &b), -EINVAL);
	assert_int_equal(url_parse("http:///a", &b), -EINVAL);
	assert_int_equal(url_parse("http://x:0/", &b), -EINVAL);
	assert_int_equal(url_parse("http://x:99999/", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_parse_and_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
