"""Refusals keep runbox's codes and fields and open with CodeRunner's words,
so that a client written for CodeRunner keeps matching its messages; and a
timeout a cap lowered is said in the answer."""

import pytest

from conftest import ok, ran, refused

SLEEPER = "import time\ntime.sleep(30)"


@pytest.mark.parametrize("body, code, field, words", [
    (b'{"script": "print(1)"', "invalid_json", None, "Invalid JSON in request body."),
    (b'{"script": "print(1)",}', "invalid_json", None, "Invalid JSON in request body."),
    ({"script": "print(1)", "files": {"main.py": "print(2)"}, "entry_point": "main.py"},
     "conflicting_fields", "files", "Cannot use both 'files' and 'script' in the same request."),
    ({"script": ""}, "empty_script", "script", "Script cannot be empty."),
    ({"script": "\n\t  \r\n"}, "empty_script", "script", "Script cannot be empty."),
    ({"files": {"main.py": "print(2)"}, "entry_point": "app.py"}, "entry_point_not_found",
     "entry_point", "Entry point 'app.py' not found in files."),
    (b'{"script": "print(\xff)"}', "invalid_utf8", "script",
     "Request body must be valid UTF-8 text."),
    ({"script": "print(1)", "timeout_s": 0}, "invalid_timeout", "timeout_s",
     "`timeout_s` must be > 0."),
    ({"script": "print(1)", "timeout_s": -3}, "invalid_timeout", "timeout_s",
     "`timeout_s` must be > 0."),
    ({"script": "print(1)", "timeout_s": "-1"}, "invalid_timeout", "timeout_s",
     "`timeout_s` must be > 0."),
])
def test_refusals_open_with_coderunners_words(rb, body, code, field, words):
    resp = refused(rb, body, code, mark=False)
    assert resp.get("field") == field, resp
    assert resp["error"].startswith(words), resp["error"]


def test_an_empty_body_is_refused(rb):
    resp = refused(rb, b"", "empty_body")
    assert "empty" in resp["error"]


def test_timeout_in_every_answer(rb):
    resp = ok(rb, {"script": "print(1)", "timeout_s": 2.5})
    assert resp["timeout_s"] == 2.5 and resp["timeout_clamped"] is False
    resp = ok(rb, {"script": "print(1)"}, env={"RUNBOX_DEFAULT_TIMEOUT_S": "7"})
    assert resp["timeout_s"] == 7 and resp["timeout_clamped"] is False


def test_timeout_lowered_by_the_maximum_is_said(rb):
    resp = ran(rb, {"script": SLEEPER, "timeout_s": 100}, env={"RUNBOX_MAX_TIMEOUT_S": "1"},
               status="timeout", exit_code=124)
    assert resp["timeout_s"] == 1 and resp["timeout_clamped"] is True
    # Asking for exactly the maximum is not lowered.
    resp = ok(rb, {"script": "print(1)", "timeout_s": 1}, env={"RUNBOX_MAX_TIMEOUT_S": "1"})
    assert resp["timeout_s"] == 1 and resp["timeout_clamped"] is False
