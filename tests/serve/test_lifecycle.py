"""The server's life: a clean stop on SIGTERM/SIGINT that lets the runs in
progress answer, and nothing left running when it is SIGKILLed, whether it
runs as root or as an unprivileged user."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import MARK_NAME, children_of, proc_environ_has, processes_of_binary

# A program that leaves a daemonised grandchild and a plain child behind,
# all sleeping, all carrying the marker in their environment.
DAEMONS = r"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
if os.fork() == 0:
    time.sleep(600)
print('started', flush=True)
time.sleep(600)
"""


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_runs_in_progress_answer(serve, sig):
    s = serve.start()
    out = {}

    def go():
        out["r"] = s.run({"script": "import time; time.sleep(2); print('done')"})

    t = threading.Thread(target=go)
    t.start()
    _wait(lambda: s.worker_pids(), 10, "the run never started")
    time.sleep(0.3)
    s.proc.send_signal(sig)
    t.join(30)
    assert out["r"].ran()["stdout"] == "done\n", out["r"].body
    assert s.proc.wait(30) == 0
    assert any('"serve_stopped"' in line for line in s.stderr_lines)
    with pytest.raises(OSError):
        s.request("GET", "/api/health", timeout=2)


def test_a_stopping_server_refuses_new_clients_at_once(serve):
    # Draining, it no longer listens: a new client is refused, not held on a
    # backlog nobody accepts until the server exits.
    s = serve.start()
    t = threading.Thread(target=lambda: s.run({"script": "import time; time.sleep(3)"}))
    t.start()
    _wait(lambda: s.worker_pids(), 10, "the run never started")
    s.proc.send_signal(signal.SIGTERM)
    _wait(lambda: any('"serve_stopping"' in line for line in s.stderr_lines), 10,
          "the server never said it was stopping")
    time.sleep(0.2)
    began = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", s.port), timeout=5).close()
    assert time.monotonic() - began < 1
    assert s.proc.poll() is None  # still draining the run in progress
    t.join(30)
    assert s.proc.wait(30) == 0


def test_second_signal_exits_at_once(serve):
    s = serve.start()
    marker = s.mark()
    t = threading.Thread(target=lambda: _swallow(lambda: s.run(
        {"script": "import time; time.sleep(600)", "env": {MARK_NAME: marker}})),
        daemon=True)
    t.start()
    _wait(lambda: proc_environ_has([marker.encode()]), 15, "the program never started")
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert s.proc.poll() is None, "the server stopped while a run was in progress"
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) != 0
    s.killed = True  # its workspace stays; nothing may keep running (checked by the fixture)


@pytest.mark.parametrize("user", ["root", "nobody"])
def test_sigkill_leaves_no_worker_or_program(serve, user):
    s = serve.start(user=user, env={"RUNBOX_CONCURRENCY": "2"})
    marks = [s.mark() for _ in range(2)]
    for m in marks:
        threading.Thread(target=lambda m=m: _swallow(lambda: s.run(
            {"script": DAEMONS, "env": {MARK_NAME: m}})), daemon=True).start()
    # Each program and its sleeping child are up (the setsid() child is
    # refused by seccomp and exits, as soon as the init has answered).
    _wait(lambda: len(proc_environ_has([m.encode() for m in marks])) >= 4, 20,
          "the programs never started their descendants")
    workers = s.worker_pids()
    assert len(workers) == 2
    # Named for what they are in ps, not after the spawner they forked from.
    assert {open(f"/proc/{w}/comm").read().strip() for w in workers} == {"runbox-worker"}
    s.kill()
    _wait(lambda: not proc_environ_has([m.encode() for m in marks]), 10,
          "a program outlived the SIGKILLed server")
    _wait(lambda: not [p for p in workers if os.path.exists(f"/proc/{p}")], 10,
          "a worker outlived the SIGKILLed server")
    assert not [p for p in processes_of_binary(s.bin)
                if b"serve" in open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")]


def test_spawner_death_stops_the_server(serve):
    # The spawner cannot be forked again from a process with threads: a
    # server without one could only answer 500, so it exits for its
    # supervisor to restart it, and the run in flight dies with the spawner.
    s = serve.start()
    m = s.mark()
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=s.run({"script": DAEMONS, "env": {MARK_NAME: m}})))
    t.start()
    # The program and its sleeping child (the setsid() child is refused by
    # seccomp and may already be a zombie, whose environ reads empty).
    _wait(lambda: len(proc_environ_has([m.encode()])) >= 2, 20, "the program never started")
    spawners = children_of(s.pid)
    assert len(spawners) == 1, spawners
    s.stale_ok = True  # the killed worker cannot remove its workspace
    os.kill(spawners[0], signal.SIGKILL)
    t.join(20)
    j = out["r"].error(500, "internal_error")
    assert "killed by signal 9" in j["error"] or "gone" in j["error"], j
    assert s.proc.wait(20) == 1
    s.killed = True  # it stopped by itself; nothing to SIGTERM
    assert "the worker spawner died" in "".join(s.stderr_lines)
    _wait(lambda: not proc_environ_has([m.encode()]), 10, "a program outlived its spawner")


def _swallow(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the server is killed under it on purpose
        pass


def test_usage_errors():
    from conftest import runbox_bin
    for args, want in ((["--port", "70000"], "--port takes a number"),
                       (["--bogus", "1"], "unknown option"),
                       (["--port"], "missing value"),
                       (["--port=+80"], "--port takes a number"),
                       (["--port= 80"], "--port takes a number"),
                       (["--portx=1"], "unknown option"),
                       (["--host", "no.such.host.invalid", "--port", "0"], "Cannot listen")):
        p = subprocess.run([str(runbox_bin()), "serve", *args], capture_output=True, timeout=30,
                           env={"RUNBOX_LOG": "off", "PATH": "/usr/bin:/bin"})
        assert p.returncode != 0 and want in p.stderr.decode(), (args, p.stderr)


def test_options_with_equals_and_help():
    """--port=P and --host=H as GNU tools take them; `serve --help` prints the usage."""
    from conftest import runbox_bin
    p = subprocess.run([str(runbox_bin()), "serve", "--help"], capture_output=True, timeout=30)
    assert p.returncode == 0 and b"runbox serve [--host H] [--port P]" in p.stdout
    p = subprocess.Popen([str(runbox_bin()), "serve", "--host=127.0.0.1", "--port=0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env={"RUNBOX_LOG": "info", "PATH": "/usr/bin:/bin"})
    try:
        for raw in p.stderr:
            if b'"serve_listening"' in raw:
                assert json.loads(raw)["port"] > 0
                break
        else:
            raise AssertionError("runbox serve --host=... --port=0 did not listen")
    finally:
        p.terminate()
        p.wait(timeout=30)
