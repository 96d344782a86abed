"""Load: wrk (Debian's) against `runbox serve` on loopback, bounded by a
number of requests, at more connections than RUNBOX_CONCURRENCY.

Two shapes: with a queue deep enough for every connection, every request
must run (200 only); with a shallow one, every response must be a clean run
or the contract's 503 "busy" with Retry-After, and no socket may fail.
Afterwards the server must be as it was: no worker or program left, every
workspace removed (the fixture checks both), the same open fds, and its
resident memory grown by at most RSS_BOUND_KB over a warmed-up start.
"""

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import children_of

LUA = pathlib.Path(__file__).with_name("load.lua")
# Per connection thread glibc may keep a malloc arena and a cached stack;
# a few MiB covers them.  A leak of even 1 KiB per request would exceed it.
RSS_BOUND_KB = 4096


def asan_build(binpath):
    """The ASan build: its allocator's quarantine holds freed memory (256 MB
    by default), so RSS says nothing about leaks there; LeakSanitizer does,
    at the server's exit, which the fixture requires to be 0."""
    with open(binpath, "rb") as f:
        return b"__asan_init" in f.read()


def spawner_fds(s):
    """Open fds of the server's spawner (it holds one per worker in flight)."""
    sp = children_of(s.pid)
    assert len(sp) == 1, f"the server's children should be its spawner alone: {sp}"
    return len(os.listdir(f"/proc/{sp[0]}/fd"))


def wrk(port, threads, conns, per_thread, min_ok=0, busy_delay_ms=0, limit_s=120):
    """Run wrk until every thread has its count (then SIGINT, which makes wrk
    print its summary at once); @limit_s bounds the whole run."""
    exe = shutil.which("wrk")
    assert exe, "wrk is not installed (Debian package wrk, in tests/packages.txt)"
    done = tempfile.mkdtemp(prefix="rbserve-wrk-")
    env = dict(os.environ, RB_REQUESTS_PER_THREAD=str(per_thread),
               RB_MIN_OK_PER_THREAD=str(min_ok), RB_BUSY_DELAY_MS=str(busy_delay_ms),
               RB_DONE_DIR=done)
    p = subprocess.Popen([exe, f"-t{threads}", f"-c{conns}", f"-d{limit_s}s", "--timeout",
                          "60s", "-s", str(LUA), f"http://127.0.0.1:{port}/api/run"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + limit_s
    while len(os.listdir(done)) < threads and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    finished = len(os.listdir(done)) >= threads
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    shutil.rmtree(done, ignore_errors=True)
    line = [l for l in out.splitlines() if l.startswith("RESULT")]
    assert line, out + err
    r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line[0])}
    assert finished, f"wrk did not reach its counts within {limit_s} s: {r}"
    return r


def settle(s):
    """Until the server has no worker and its fd count stops moving."""
    deadline = time.monotonic() + 30
    while s.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not s.worker_pids(), "workers left after the load"
    time.sleep(0.5)


@pytest.mark.parametrize("shape", ["queued", "overload"])
def test_load(serve, shape):
    if shape == "queued":
        env = {"RUNBOX_CONCURRENCY": "2", "RUNBOX_QUEUE": "8"}
        threads, conns, per_thread, min_ok, delay = 2, 6, 150, 0, 0
    else:
        env = {"RUNBOX_CONCURRENCY": "2", "RUNBOX_QUEUE": "2"}
        threads, conns, per_thread, min_ok, delay = 2, 12, 2500, 25, 5
    s = serve.start(env=env)
    wrk(s.port, 2, 4, 10)  # warm up: threads, arenas, the first forks
    settle(s)
    rss0, fds0, sfds0 = s.rss_kb(), s.fd_count(), spawner_fds(s)

    r = wrk(s.port, threads, conns, per_thread, min_ok, delay)
    settle(s)
    total = threads * per_thread
    ok, busy = r.get("200", 0), r.get("503", 0)
    others = {k: v for k, v in r.items() if k.isdigit() and k not in ("200", "503")}
    assert not others, f"responses other than 200 and 503: {r}"
    assert r.get("bad", 0) == 0, f"a 200 that did not run print(1), or an unclean 503: {r}"
    for e in ("connect", "read", "write", "timeout"):
        assert r[e] == 0, f"socket errors ({e}): {r}"
    assert ok + busy >= total, r
    if shape == "queued":
        assert busy == 0, f"503s although the queue holds every connection: {r}"
    else:
        assert ok >= threads * min_ok and busy > 0, r
    rss1, fds1, sfds1 = s.rss_kb(), s.fd_count(), spawner_fds(s)
    assert fds1 == fds0, f"fds {fds0} -> {fds1}"
    assert sfds1 == sfds0, f"spawner fds {sfds0} -> {sfds1}"
    assert asan_build(s.bin) or rss1 - rss0 <= RSS_BOUND_KB, f"RSS {rss0} -> {rss1} kB after {ok + busy:.0f} requests"
    print(f"\nload {shape}: {ok:.0f} ran, {busy:.0f} busy; RSS {rss0} -> {rss1} kB; "
          f"p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms")
