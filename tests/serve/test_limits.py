"""Run slots and their queue (503 + Retry-After when full), and what a slow
or greedy client may hold: request deadlines, the idle timeout, the
connection cap."""

import json
import socket
import threading
import time

from conftest import raw_exchange


def _background_run(s, script, out, key):
    def go():
        out[key] = s.run({"script": script})
    t = threading.Thread(target=go)
    t.start()
    return t


def _wait_running(s, n, timeout=15):
    """Until @n workers run (the spawner's children)."""
    deadline = time.monotonic() + timeout
    while len(s.worker_pids()) < n:
        assert time.monotonic() < deadline, f"{n} runs never started"
        time.sleep(0.05)


def test_queue_full_is_503(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "1"})
    out = {}
    a = _background_run(s, "import time; time.sleep(3); print('a')", out, "a")
    _wait_running(s, 1)
    b = _background_run(s, "print('b')", out, "b")  # waits in the queue
    time.sleep(0.5)
    t0 = time.monotonic()
    r = s.run({"script": "print('c')"})
    j = r.error(503, "busy")
    assert r.headers["retry-after"] == "1"
    assert "Retry-After" in j["error"]
    assert time.monotonic() - t0 < 2, "a 503 must not wait for a slot"
    a.join(30)
    b.join(30)
    assert out["a"].ran()["stdout"] == "a\n"
    assert out["b"].ran()["stdout"] == "b\n"
    # Slots are given back.
    assert s.run({"script": "print('d')"}).ran()["stdout"] == "d\n"


def test_runs_in_parallel_up_to_concurrency(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_QUEUE": "0"})
    out = {}
    t0 = time.monotonic()
    ts = [_background_run(s, "import time; time.sleep(2)", out, i) for i in range(2)]
    for t in ts:
        t.join(30)
    assert all(out[i].ran()["exit_code"] == 0 for i in range(2))
    assert time.monotonic() - t0 < 3.9, "two runs with two slots did not overlap"


def test_slow_body_is_cut_at_the_request_deadline(serve):
    s = serve.start(env={"RUNBOX_REQUEST_TIMEOUT_S": "2", "RUNBOX_CONCURRENCY": "1",
                         "RUNBOX_QUEUE": "0"})
    c = socket.create_connection(("127.0.0.1", s.port), timeout=15)
    c.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n{")
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < 12:
        try:
            c.sendall(b" ")
            time.sleep(0.3)
        except OSError:
            closed = True
            break
        c.settimeout(0.01)
        try:
            if c.recv(100) == b"":
                closed = True
                break
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            closed = True
            break
    elapsed = time.monotonic() - t0
    assert closed, "a trickled body kept its connection past the request deadline"
    assert elapsed < 5, elapsed
    # The only run slot was never taken: a normal request runs at once.
    assert s.run({"script": "print(1)"}).ran()["stdout"] == "1\n"


def test_slow_headers_are_cut_at_the_deadline(serve):
    s = serve.start(env={"RUNBOX_HEADER_TIMEOUT_S": "2", "RUNBOX_IDLE_TIMEOUT_S": "30"})
    c = socket.create_connection(("127.0.0.1", s.port), timeout=15)
    c.sendall(b"GET /api/health HTTP/1.1\r\n")
    t0 = time.monotonic()
    closed = False
    for _ in range(40):
        try:
            c.sendall(b"X")
        except OSError:
            closed = True
            break
        time.sleep(0.25)
    assert closed and time.monotonic() - t0 < 5, "trickled headers were not cut"


def test_idle_connection_is_closed(serve):
    s = serve.start(env={"RUNBOX_IDLE_TIMEOUT_S": "1"})
    t0 = time.monotonic()
    out = raw_exchange(s.port, b"", timeout=10)
    assert out == b"" and time.monotonic() - t0 < 4


def test_a_run_longer_than_the_idle_timeout_is_answered(serve):
    s = serve.start(env={"RUNBOX_IDLE_TIMEOUT_S": "1"})
    c = s.conn()
    j = s.run({"script": "import time; time.sleep(2.5); print('late')"}, conn=c).ran()
    assert j["stdout"] == "late\n"
    c.close()


def test_connection_cap(serve):
    s = serve.start(env={"RUNBOX_MAX_CONNECTIONS": "3", "RUNBOX_MAX_CONNECTIONS_PER_CLIENT": "3",
                         "RUNBOX_IDLE_TIMEOUT_S": "30"})
    held = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(3)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    extra.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        got = extra.recv(100)
    except OSError:
        got = b""
    assert got == b"", f"a connection over the cap was served: {got!r}"
    for h in held:
        h.close()
    time.sleep(0.3)
    assert s.request("GET", "/api/health").status == 200


def test_client_that_disconnects_mid_run(serve):
    # The run finishes (its output goes nowhere), its slot comes back, its
    # workspace is removed and no process of it stays (the fixture checks).
    s = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "1"})
    m = s.mark()
    body = json.dumps({"script": "import time; time.sleep(2); print('done')",
                       "env": {"RBSERVE_MARK": m}}).encode()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    _wait_running(s, 1)
    sock.close()
    # The next run gets the slot once the first is over, and answers.
    assert s.run({"script": "print(2)"}).ran()["stdout"] == "2\n"


def _answer(sock):
    got = b""
    try:
        while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    return got


def test_bodies_held_at_once_are_budgeted(serve):
    # Connections times body caps would let any client pin gigabytes before
    # its token is looked at (the Azure envelope carries it in the body).
    # Bodies count as they arrive, against the server's budget (one client
    # may hold all of it here: its share is set to the whole budget).
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "65536",
                         "RUNBOX_MAX_PENDING_BODY_BYTES": "1048576",
                         "RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT": "1048576"})
    part = b"x" * (300 * 1024)
    head = (b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(part) + 1000))
    held = []
    for _ in range(3):   # 900 KiB of 1 MiB: held, waiting for the rest
        h = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        h.sendall(head + part)
        held.append(h)
    time.sleep(0.5)
    # What it sends does not fit: read and dropped, and refused at its end.
    extra = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    extra.sendall(head + part + b"y" * 1000)
    got = _answer(extra)
    extra.close()
    # On POST /run the 503 travels in the Azure host's envelope.
    assert got.startswith(b"HTTP/1.1 200") and b'"statusCode":503' in got, got[:300]
    assert b'"Retry-After":"1"' in got and b'\\"code\\":\\"capacity_exhausted\\"' in got, got[:600]
    assert b"RUNBOX_MAX_PENDING_BODY_BYTES" in got
    for h in held:
        h.close()
    time.sleep(0.5)
    # What they held is given back: runs go on.
    assert s.run({"script": "print(3)"}).ran()["stdout"] == "3\n"
    for _ in range(3):
        h = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        h.sendall(head + part)
        held.append(h)
    time.sleep(0.5)
    assert s.run({"script": "print(4)"}).ran()["stdout"] == "4\n"
    # A chunked body is counted the same way, and answered 503 once it ends.
    extra = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    extra.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(4):
        extra.sendall(b"%x\r\n" % (64 * 1024) + b"y" * (64 * 1024) + b"\r\n")
    extra.sendall(b"0\r\n\r\n")
    got = _answer(extra)
    extra.close()
    assert got.startswith(b"HTTP/1.1 200") and b'"statusCode":503' in got, got[:300]
    assert b'\\"code\\":\\"capacity_exhausted\\"' in got, got[:300]
    for h in held:
        h.close()
