/*
 * Unit tests for pkg/run/pyimports: the top-level modules a Python source
 * imports, as the warm templates' choice reads them: every statement form,
 * statements after ';' and one-line blocks, continuations, literal dynamic
 * imports, and what must not count (comments, strings, relative imports,
 * attribute names that merely contain "import").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "run/pyimports.h"

/* The names, comma-joined, into a buffer. */
struct names {
	char buf[512];
	size_t n;
	const char *stop_at; /* a name at which to stop the walk, or NULL */
};

static bool collect(const char *name, size_t len, void *ctx)
{
	struct names *s = ctx;

	s->n += (size_t)snprintf(s->buf + s->n, sizeof(s->buf) - s->n, "%s%.*s", s->n ? "," : "",
				 (int)len, name);
	return s->stop_at && strlen(s->stop_at) == len && memcmp(s->stop_at, name, len) == 0;
}

static const char *imports(const char *src)
{
	static struct names s;

	memset(&s, 0, sizeof(s));
	pyimports_each(src, strlen(src), collect, &s);
	return s.buf;
}

static void test_statement_forms(void **state)
{
	(void)state;
	assert_string_equal(imports("import numpy\n"), "numpy");
	assert_string_equal(imports("import numpy as np, pandas.core.frame as f\n"), "numpy,pandas");
	assert_string_equal(imports("from scipy.stats import norm\n"), "scipy");
	assert_string_equal(imports("from matplotlib import (pyplot,\n  colors)\n"), "matplotlib");
	assert_string_equal(imports("x = 1; import os; from sys import argv\n"), "os,sys");
	assert_string_equal(imports("try: import ujson\nexcept ImportError: import json\n"),
			    "ujson,json");
	assert_string_equal(imports("if True:\n    import a\n\tfrom b import c\n"), "a,b");
	assert_string_equal(imports("import \\\n    sklearn\n"), "sklearn");
	assert_string_equal(imports("def f():\n    import PIL.Image\n"), "PIL");
}

static void test_dynamic_imports_with_a_literal_name(void **state)
{
	(void)state;
	assert_string_equal(imports("m = __import__('pandas')\n"), "pandas");
	assert_string_equal(imports("import importlib\nm = importlib.import_module(\"numpy.linalg\")\n"),
			    "importlib,numpy");
	assert_string_equal(imports("m = importlib.import_module(name)\n"), "");
}

static void test_what_does_not_count(void **state)
{
	(void)state;
	assert_string_equal(imports("# import numpy\n"), "");
	assert_string_equal(imports("s = 'import numpy'\n"), "");
	assert_string_equal(imports("s = \"\"\"\nimport numpy\n\"\"\"\n"), "");
	assert_string_equal(imports("s = f'{x}' ; t = r\"import pandas\"\n"), "");
	assert_string_equal(imports("from . import sibling\nfrom .pkg import x\n"), "");
	assert_string_equal(imports("x.import_data()\nreimport = 1\nimports = 2\n"), "");
	assert_string_equal(imports("d = {'a': 1, 'b': (2)}\nimport os\n"), "os");
	assert_string_equal(imports("print(1,\nimport_)\n"), "");
}

static void test_an_unterminated_string_ends_its_line(void **state)
{
	(void)state;
	assert_string_equal(imports("s = 'open\nimport os\n"), "os");
	assert_string_equal(imports("s = '''never closed\nimport os\n"), "");
}

static void test_the_walk_stops_when_asked(void **state)
{
	struct names s = {.stop_at = "pandas"};
	const char *src = "import numpy\nimport pandas\nimport scipy\n";

	(void)state;
	assert_true(pyimports_each(src, strlen(src), collect, &s));
	assert_string_equal(s.buf, "numpy,pandas");
	memset(&s, 0, sizeof(s));
	assert_false(pyimports_each(src, strlen(src), collect, &s));
	assert_string_equal(s.buf, "numpy,pandas,scipy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statement_forms),
	    cmocka_unit_test(test_dynamic_imports_with_a_literal_name),
	    cmocka_unit_test(test_what_does_not_count),
	    cmocka_unit_test(test_an_unterminated_string_ends_its_line),
	    cmocka_unit_test(test_the_walk_stops_when_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
