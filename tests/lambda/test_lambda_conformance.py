"""Lambda as a container's PID 1 and as a client sees it: SIGTERM handled
as the server handles it, a timeout lowered by the remaining time said in
the answer, an answer fitted to the 6 MB limit rather than half of it, and
the HTTP rules of the other front doors on proxy events."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import AS, MARK_NAME, proc_scan

MiB = 1024 * 1024
LAMBDA_LIMIT = 6 * MiB


def ms_from_now(s):
    return int((time.time() + s) * 1000)


def test_the_remaining_time_is_said_in_the_answer(lam):
    resp = lam.run({"script": "import time; time.sleep(60)", "timeout_s": 100},
                   deadline_ms=ms_from_now(4))
    assert resp["status"] == "timeout" and resp["timeout_clamped"] is True, resp
    # What was left, less the margin kept for answering.
    assert 1 <= resp["timeout_s"] <= 2.6, resp["timeout_s"]
    assert f"timed out after {resp['timeout_s']:g} s" in resp["stderr"]
    resp = lam.run({"script": "print(1)", "timeout_s": 5}, deadline_ms=ms_from_now(60))
    assert resp["timeout_s"] == 5 and resp["timeout_clamped"] is False


def test_seven_mib_of_output_keep_about_six(lam_idle):
    lam_idle.start({"RUNBOX_MAX_OUTPUT_BYTES": str(8 * MiB)})
    kind, body, _ = lam_idle.invoke(
        {"script": "import sys\nsys.stdout.write('y' * (7 * 1024 * 1024))"}, timeout=120)
    assert kind == "response" and len(body) <= LAMBDA_LIMIT, len(body)
    assert not lam_idle.api.rejected
    resp = json.loads(body)
    assert resp["truncated"]["stdout"] is True
    assert len(resp["stdout"]) > LAMBDA_LIMIT - 64 * 1024, len(resp["stdout"])


def test_proxy_events_follow_the_http_rules(lam):
    status, _, body = lam.http("POST", "/api/run", "", {"content-type": "text/plain"})
    assert status == 400 and json.loads(body)["code"] == "empty_body"
    status, _, body = lam.http("POST", "/api/run", "print(1)", {"content-type": "text/plain"},
                               query="timeout=1")
    err = json.loads(body)
    assert status == 400 and err["code"] == "unknown_parameter" and err["field"] == "timeout"
    status, _, body = lam.http("POST", "/api/run", json.dumps({"script": "\t"}),
                               {"content-type": "application/json"})
    assert status == 400 and json.loads(body)["code"] == "empty_script"


def test_sigterm_while_waiting_exits_0(lam):
    lam.api.wait_next_calls(1, 30)
    time.sleep(0.2)
    lam.proc.send_signal(signal.SIGTERM)
    assert lam.proc.wait(10) == 0
    assert "lambda_giving_up" not in lam.logs()


def test_sigterm_during_an_invocation_answers_it_first(lam):
    mark = lam.new_mark()
    rid = lam.api.enqueue({"script": "import time; time.sleep(2); print('finished')",
                           "env": {MARK_NAME: mark}})
    deadline = time.monotonic() + 20
    while not proc_scan([mark]):
        assert time.monotonic() < deadline, "the program never started"
        time.sleep(0.05)
    lam.proc.send_signal(signal.SIGTERM)
    kind, body, _ = lam.api.wait_result(rid, 30)
    lam.bodies.append(body)
    assert kind == "response" and json.loads(body)["stdout"] == "finished\n"
    assert lam.proc.wait(10) == 0
    assert "lambda_stopped" in lam.logs()


@pytest.mark.skipif(AS != "root", reason="a pid namespace of its own needs root here")
@pytest.mark.skipif(not shutil.which("unshare"), reason="no unshare(1)")
def test_sigterm_to_pid_1(lam_idle):
    # As PID 1 (a container's runbox), a signal without a handler is ignored.
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--", *lam_idle.argv()]
    env = lam_idle.env()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        lam_idle.api.wait_next_calls(1, 30)
        child = _only_child(proc.pid)
        with open(f"/proc/{child}/status") as fh:
            nspid = [line.split()[-1] for line in fh if line.startswith("NSpid:")]
        assert nspid == ["1"], nspid
        os.kill(child, signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _only_child(pid):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = fh.read().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("unshare started no child")
