"""Logging: one JSON line per request on stderr, never on stdout."""

import json

from conftest import refused


def log_lines(stderr):
    return [ln for ln in stderr.splitlines() if ln.strip()]


def the_log(stderr):
    lines = log_lines(stderr)
    assert len(lines) == 1, f"expected exactly one log line, got {lines}"
    rec = json.loads(lines[0])
    assert isinstance(rec, dict)
    return rec


def find_key(rec, *words):
    for k in rec:
        kl = k.lower()
        if all(w in kl for w in words):
            return k
    return None


def test_one_log_line_with_required_fields(rb):
    rc, resp, err = rb.run({"script": "import sys\nprint('x')\nsys.exit(3)"})
    assert rc == 0
    rec = the_log(err)
    assert find_key(rec, "id"), rec
    assert find_key(rec, "hash"), rec
    assert rec["exit_code"] == 3
    assert rec["status"] == "error" == resp["status"]
    assert isinstance(rec["duration_ms"], (int, float))


def test_program_stderr_not_in_runbox_stderr(rb):
    rc, resp, err = rb.run({"script": "import sys\nprint('zzz-program-err', file=sys.stderr)\nprint('zzz-out')"})
    assert resp["stderr"] == "zzz-program-err\n"
    assert "zzz-program-err" not in err and "zzz-out" not in err
    the_log(err)


def test_log_has_no_secrets(rb):
    rc, resp, err = rb.run({"script": "print(1)", "env": {"TOKEN": "request-secret-value-123"}})
    the_log(err)
    assert rb.canary not in err
    assert "request-secret-value-123" not in err


def test_log_off_is_silent(rb):
    rc, resp, err = rb.run({"script": "print(1)"}, env={"RUNBOX_LOG": "off"})
    assert rc == 0 and resp["stdout"] == "1\n"
    assert err == ""


def test_log_off_silent_on_refusal(rb):
    rc, resp, err = rb.run(b"{", env={"RUNBOX_LOG": "off"})
    assert rc == 2 and resp["code"] == "invalid_json"
    assert err == ""


def test_refusal_logged_once(rb):
    refused(rb, b"{", "invalid_json")
    rc, resp, err = rb.run({"script": "print(1)", "bogus": 1})
    assert resp["code"] == "unknown_field"
    rec = the_log(err)
    assert "unknown_field" in json.dumps(rec)


def test_timeout_logged(rb):
    rc, resp, err = rb.run({"script": "import time\ntime.sleep(30)", "timeout_s": 0.5})
    rec = the_log(err)
    assert rec["status"] == "timeout" and rec["exit_code"] == 124


def test_hash_stable_and_distinct(rb):
    hashes, ids = [], []
    for script in ("print(1)", "print(1)", "print(2)"):
        rc, resp, err = rb.run({"script": script})
        rec = the_log(err)
        hashes.append(rec[find_key(rec, "hash")])
        ids.append(rec[find_key(rec, "id")])
    assert hashes[0] == hashes[1] != hashes[2]
    assert len(set(ids)) == 3


def test_log_debug_still_one_response_line(rb):
    rc, resp, err = rb.run({"script": "print(1)"}, env={"RUNBOX_LOG": "debug"})
    assert rc == 0 and resp["stdout"] == "1\n"
    for ln in log_lines(err):
        json.loads(ln)


def test_flood_does_not_reach_log(rb):
    rc, resp, err = rb.run({"script": "import sys\nsys.stderr.write('E' * 3000000)\nprint('o' * 100)"})
    assert rc == 0 and resp["truncated"]["stderr"] is True
    the_log(err)
    assert "EEEE" not in err


def test_log_for_killed_program(rb):
    rc, resp, err = rb.run({"script": "import os\nos.kill(os.getpid(), 9)"})
    rec = the_log(err)
    assert rec["status"] == "killed" and rec["exit_code"] == 137
