"""RUNBOX_ANSWER_DEADLINE_S (by default RUNBOX_MAX_TIMEOUT_S): time spent
waiting for a run slot counts against it.  A queued run is shortened so
that its answer still comes in time, and says so (timeout_clamped, the
effective timeout_s); one that cannot start in time is answered 503 with
Retry-After when its time is up, not when a slot frees."""

import threading
import time

SLEEPER = "import time\ntime.sleep(60)"


def background(s, req, out, key):
    def go():
        t0 = time.monotonic()
        out[key] = s.run(req)
        out[key + "_s"] = time.monotonic() - t0
    t = threading.Thread(target=go)
    t.start()
    return t


def wait_workers(s, n, timeout=15):
    deadline = time.monotonic() + timeout
    while len(s.worker_pids()) < n:
        assert time.monotonic() < deadline, f"{n} runs never started"
        time.sleep(0.05)


def test_a_queued_run_is_shortened_to_the_deadline(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "2",
                         "RUNBOX_MAX_TIMEOUT_S": "6"})
    out = {}
    first = background(s, {"script": SLEEPER, "timeout_s": 2}, out, "a")
    wait_workers(s, 1)
    second = background(s, {"script": SLEEPER, "timeout_s": 6}, out, "b")
    first.join(60)
    second.join(60)
    a, b = out["a"].ran(), out["b"].ran()
    assert a["status"] == "timeout" and a["timeout_s"] == 2 and a["timeout_clamped"] is False
    # The second waited about 2 s of its 6: it ran about 4, and said so.
    assert b["status"] == "timeout" and b["timeout_clamped"] is True, b
    assert 3 <= b["timeout_s"] < 5.5, b["timeout_s"]
    assert f"timed out after {b['timeout_s']:g} s" in b["stderr"], b["stderr"]
    # Its answer came within the deadline (and the second or so an answer takes).
    assert out["b_s"] < 6 + 1.5, out["b_s"]


def test_a_run_that_cannot_start_in_time_is_503_at_its_deadline(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "2",
                         "RUNBOX_MAX_TIMEOUT_S": "30", "RUNBOX_ANSWER_DEADLINE_S": "3"})
    out = {}
    first = background(s, {"script": SLEEPER, "timeout_s": 3}, out, "a")
    wait_workers(s, 1)
    time.sleep(0.5)
    t0 = time.monotonic()
    r = s.run({"script": "print('late')"})
    waited = time.monotonic() - t0
    j = r.error(503, "busy")
    assert r.headers["retry-after"] == "1"
    assert "RUNBOX_ANSWER_DEADLINE_S" in j["error"], j
    # Refused when its time was up (3 s less the 1 s a run needs at least),
    # before the running program's 3 s were over.
    assert 1 <= waited < 2.5 + 1, waited
    first.join(60)
    assert out["a"].ran()["status"] == "timeout"


def test_the_deadline_caps_a_run_that_did_not_wait(serve):
    s = serve.start(env={"RUNBOX_MAX_TIMEOUT_S": "30", "RUNBOX_ANSWER_DEADLINE_S": "1.5"})
    j = s.run({"script": SLEEPER, "timeout_s": 20}).ran()
    assert j["status"] == "timeout" and j["timeout_s"] == 1.5 and j["timeout_clamped"] is True
    j = s.run({"script": "print(1)", "timeout_s": 1}).ran()
    assert j["timeout_s"] == 1 and j["timeout_clamped"] is False
    info = s.request("GET", "/api/info").json()
    assert info["serve"]["answer_deadline_s"] == 1.5


def test_the_deadline_follows_the_maximum_timeout(serve):
    s = serve.start(env={"RUNBOX_MAX_TIMEOUT_S": "40"})
    info = s.request("GET", "/api/info").json()
    assert info["serve"]["answer_deadline_s"] == 40
    # Asking for exactly the maximum, without waiting, is not lowered.
    j = s.run({"script": "print(1)", "timeout_s": 40}).ran()
    assert j["timeout_s"] == 40 and j["timeout_clamped"] is False
    j = s.run({"script": "print(1)", "timeout_s": 400}).ran()
    assert j["timeout_s"] == 40 and j["timeout_clamped"] is True
