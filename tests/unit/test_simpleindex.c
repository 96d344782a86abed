/*
 * Unit tests for pkg/deps/simpleindex: PEP 503 HTML and PEP 691 JSON
 * project pages, hashes, yanked files, Requires-Python and PEP 658/714
 * metadata attributes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps/simpleindex.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_html(void **state)
{
	static const char page[] =
	    "<!DOCTYPE html><html><body><!-- <a href='ghost-1.0-py3-none-any.whl'> -->\n"
	    "<a href=\"../../f/pkg-1.0-py3-none-any.whl#sha256=" H64 "\" "
	    "data-requires-python=\"&gt;=3.8\" data-core-metadata=\"sha256=" H64 "\">x</a>\n"
	    "<A HREF=pkg-1.1.tar.gz>sdist</A>\n"
	    "<a data-yanked='' href='pkg-0.9-py3-none-any.whl#md5=00'>y</a>\n"
	    "<a href=\"pkg-0.8-py3-none-any.whl\" data-dist-info-metadata=\"true\">m</a>\n"
	    "<a href=\"file:///etc/passwd.whl\">no</a></body></html>";
	struct simpleindex_page p;
	struct rb_err err;

	(void)state;
	assert_int_equal(simpleindex_parse(page, strlen(page), SIMPLEINDEX_HTML,
					   "https://idx.example/simple/pkg/", &p, &err),
			 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.others, 1);
	assert_string_equal(p.files[0].filename, "pkg-1.0-py3-none-any.whl");
	assert_string_equal(p.files[0].url, "https://idx.example/f/pkg-1.0-py3-none-any.whl");
	assert_string_equal(p.files[0].sha256, H64);
	assert_string_equal(p.files[0].requires_python, ">=3.8");
	assert_true(p.files[0].metadata);
	assert_string_equal(p.files[0].metadata_sha256, H64);
	assert_false(p.files[0].yanked);
	assert_true(p.files[1].yanked);
	assert_string_equal(p.files[1].sha256, ""); /* md5 is not a sha256 */
	assert_true(p.files[2].metadata);	    /* the PEP 658 name still counts */
	assert_string_equal(p.files[2].metadata_sha256, "");
	simpleindex_free(&p);
}

static void test_json(void **state)
{
	static const char page[] =
	    "{\"meta\":{\"api-version\":\"1.1\"},\"name\":\"pkg\",\"files\":["
	    "{\"filename\":\"pkg-1.0-py3-none-any.whl\",\"url\":\"https://files.example/p/"
	    "pkg-1.0-py3-none-any.whl\",\"hashes\":{\"sha256\":\"" H64 "\"},"
	    "\"requires-python\":\">=3.7\",\"yanked\":\"broken\","
	    "\"core-metadata\":{\"sha256\":\"" H64 "\"}},"
	    "{\"filename\":\"pkg-0.9-py3-none-any.whl\",\"url\":\"pkg-0.9-py3-none-any.whl\","
	    "\"hashes\":{},\"yanked\":false,\"dist-info-metadata\":true},"
	    "{\"filename\":\"pkg-1.0.tar.gz\",\"url\":\"pkg-1.0.tar.gz\",\"hashes\":{}}]}";
	struct simpleindex_page p;
	struct rb_err err;

	(void)state;
	assert_int_equal(simpleindex_parse(page, strlen(page), SIMPLEINDEX_JSON,
					   "https://idx.example/simple/pkg/", &p, &err),
			 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.others, 1);
	assert_string_equal(p.files[0].url, "https://files.example/p/pkg-1.0-py3-none-any.whl");
	assert_string_equal(p.files[0].sha256, H64);
	assert_true(p.files[0].yanked);
	assert_string_equal(p.files[0].requires_python, ">=3.7");
	assert_string_equal(p.files[0].metadata_sha256, H64);
	assert_string_equal(p.files[1].url,
			    "https://idx.example/simple/pkg/pkg-0.9-py3-none-any.whl");
	assert_false(p.files[1].yanked);
	assert_true(p.files[1].metadata);
	assert_string_equal(p.files[1].sha256, "");
	simpleindex_free(&p);
	assert_int_equal(
	    simpleindex_parse("{\"files\":3}", 11, SIMPLEINDEX_JSON, "https://x/", &p, &err),
	    -EINVAL);
	assert_string_equal(err.code, "index_bad_page");
	assert_int_equal(simpleindex_parse("<html", 5, SIMPLEINDEX_JSON, "https://x/", &p, &err),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
