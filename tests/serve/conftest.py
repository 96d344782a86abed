"""Harness for `runbox serve` (the HTTP front door).

Each test starts its own server on 127.0.0.1 with port 0 (the
"serve_listening" log line says which port it got), a private
RUNBOX_WORK_DIR and RUNBOX_STATE_DIR, and stops it at the end.  The binary
comes from RUNBOX_BIN (default build/runbox).  SERVE_AS=nobody runs the
server itself as an unprivileged uid/gid (SERVE_UID, default 65534; setpriv,
no groups) where a test asks for the default identity; tests about the
identity take it as a parameter.

After every test the `serve` fixture checks, whatever the test asserted:
  * the server stopped cleanly on SIGTERM (exit 0) unless the test killed it;
  * no process of the test survives: no process whose environ holds one of
    the markers put into requests, and no worker (a process running this
    runbox binary that is not a live server of the test);
  * the work dir is empty (every workspace was removed), except after a
    SIGKILL of the server, which leaves no one to remove them.

runbox's own environment holds a canary secret that must never appear in a
response body.
"""

import http.client
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import REPO  # noqa: E402,F401

MARK_NAME = "RBSERVE_MARK"
# The unprivileged identity.  Other suites run programs as 65534 that
# kill(-1) every process of their uid (an attack test does exactly that):
# when suites run side by side on one machine, give this one another uid
# with SERVE_UID.
WHO = harness.Identity("SERVE_AS", "SERVE_UID")
AS, NOBODY = WHO.name, WHO.uid
# A sandbox uid base of this session alone (each server has its own state
# directory, so its slots start at the base): servers of suites run side by
# side never run programs as the same uid.
UID_BASE = 1600000000 + random.randrange(0, 390000) * 256


def runbox_bin():
    """A private copy of RUNBOX_BIN: the processes running it are this session's."""
    return harness.snapshot("rbserve-bin-")


def pytest_unconfigure(config):
    harness.remove_snapshots()


def _owned_tmpdir(prefix, user):
    return harness.owned_tmpdir(prefix, NOBODY if user == "nobody" else None)


def proc_environ_has(needles):
    """Pids of processes whose environ holds any of @needles (bytes)."""
    return [h.pid for h in harness.proc_scan(needles, where=("environ",))]


def processes_of_binary(binpath):
    """Pids of processes whose executable is @binpath (servers and workers)."""
    real = os.path.realpath(binpath)
    pids = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            exe = os.readlink(p / "exe")
        except OSError:
            continue
        if exe == real or exe == real + " (deleted)":
            pids.append(int(p.name))
    return pids


def children_of(pid):
    out = []
    try:
        for t in pathlib.Path(f"/proc/{pid}/task").iterdir():
            out += [int(x) for x in (t / "children").read_text().split()]
    except OSError:
        pass
    return out


def _comm(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def workers_of(pid):
    """The workers of server @pid: the children of its spawner (see worker.h)
    named runbox-worker (the spawner's other child is the warm template)."""
    out = []
    for c in children_of(pid):
        if _comm(c) == "runbox-spawner":
            out += [w for w in children_of(c) if _comm(w) == "runbox-worker"]
    return out


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {self.body[:500]!r}")

    def error(self, status, code):
        """Assert a contract JSON error with @status and @code."""
        assert self.status == status, (self.status, self.body[:800])
        assert self.headers.get("content-type") == "application/json"
        j = self.json()
        assert j.get("code") == code, j
        assert isinstance(j.get("error"), str) and j["error"], j
        return j

    def ran(self):
        assert self.status == 200, (self.status, self.body[:800])
        j = self.json()
        assert "exit_code" in j, j
        return j


class Server:
    def __init__(self, suite, env=None, user=None, args=(), prefix=()):
        self.suite = suite
        self.user = user or AS
        self.bin = runbox_bin()
        self.workdir = _owned_tmpdir("rbserve-work-", self.user)
        self.statedir = _owned_tmpdir("rbserve-state-", self.user)
        self.canary = "canary-" + uuid.uuid4().hex
        e = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RUNBOX_WORK_DIR": str(self.workdir),
            "RUNBOX_STATE_DIR": str(self.statedir / "state"),
            "RUNBOX_LOG": "info",
            "RUNBOX_TEST_CANARY": self.canary,
            "RUNBOX_UID_BASE": str(UID_BASE),
        }
        e.update(env or {})
        argv = [str(self.bin), "serve", "--host", "127.0.0.1", "--port", "0", *args]
        if self.user == "nobody":
            argv = harness.setpriv(NOBODY) + argv
        argv = list(prefix) + argv  # e.g. a command that puts it into a group, then execs it
        self.stderr_lines = []
        self.listening = threading.Event()
        self.port = None
        self.killed = False
        self.stale_ok = False  # a worker was killed: its workspace stays
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e, cwd=str(self.workdir))
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()
        if not self.listening.wait(30):
            self.proc.kill()
            raise AssertionError("runbox serve did not start:\n" + self.log_text())

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr_lines.append(line)
            if '"serve_listening"' in line and self.port is None:
                self.port = json.loads(line)["port"]
                self.listening.set()

    def log_text(self):
        return "".join(self.stderr_lines[-60:])

    def logged(self, needle, timeout=15):
        """Whether a line containing needle reaches the log within timeout.

        A run's log line is written about when its answer is, and the reader
        thread sees it later still, so a test that has its answer waits."""
        deadline = time.monotonic() + timeout
        while True:
            if any(needle in line for line in list(self.stderr_lines)):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def server_pid(self):
        """The runbox process itself (setpriv execs it, so it is the same pid)."""
        return self.proc.pid

    def conn(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, chunked=False,
                timeout=60):
        own = conn is None
        c = conn or self.conn(timeout)
        h = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        if chunked:
            data = body or b""
            body = iter([data[i:i + 7] for i in range(0, len(data), 7)] or [b""])
            c.request(method, path, body=body, headers=h, encode_chunked=True)
        else:
            c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if own:
            c.close()
        assert self.canary.encode() not in data, "CANARY LEAKED into a response"
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    def mark(self):
        m = "rbs" + uuid.uuid4().hex
        self.suite.marks.append(m)
        return m

    def run(self, req, conn=None, chunked=False, headers=None, path="/api/run"):
        """POST a JSON request (a marker is added to its env)."""
        if isinstance(req, dict):
            req = dict(req)
            req["env"] = dict(req.get("env", {}))
            req["env"].setdefault(MARK_NAME, self.mark())
        body = json.dumps(req) if not isinstance(req, (str, bytes)) else req
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", path, body, h, conn=conn, chunked=chunked)

    def rss_kb(self):
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def worker_pids(self):
        return workers_of(self.pid)

    def run_in_background(self, script):
        """Start a run of @script on another thread and wait until its
        worker exists; returns (thread, out): out["r"] is its Reply once
        the thread has ended."""
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.run({"script": script})))
        t.start()
        deadline = time.monotonic() + 10
        while not self.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        return t, out

    def kill(self):
        self.killed = True
        self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("runbox serve did not stop on SIGTERM:\n" + self.log_text())
        self.reader.join(5)
        return rc


class Suite:
    def __init__(self):
        self.servers = []
        self.marks = []

    def start(self, env=None, user=None, args=(), prefix=()):
        s = Server(self, env=env, user=user, args=args, prefix=prefix)
        self.servers.append(s)
        return s

    def check_clean(self):
        problems = []
        for s in self.servers:
            if not s.killed:
                rc = s.stop()
                if rc != 0:
                    problems.append(f"server exited {rc} on SIGTERM:\n{s.log_text()}")
        deadline = time.monotonic() + 5
        while True:
            left = proc_environ_has([m.encode() for m in self.marks])
            workers = [p for s in self.servers for p in processes_of_binary(s.bin)
                       if _is_serve_process(p)]
            if not left and not workers or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if left:
            problems.append(f"processes of the test still alive: {left}")
        if workers:
            problems.append(f"runbox serve processes still alive: {workers}")
        for p in left + workers:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        for s in self.servers:
            if not s.killed and not s.stale_ok:
                stale = list(s.workdir.iterdir())
                if stale:
                    problems.append(f"work dir not empty: {stale}")
            shutil.rmtree(s.workdir, ignore_errors=True)
            shutil.rmtree(s.statedir, ignore_errors=True)
        assert not problems, "\n".join(problems)


def _is_serve_process(pid):
    try:
        return b"serve" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


@pytest.fixture
def serve():
    suite = Suite()
    yield suite
    suite.check_clean()


def raw_exchange(port, data, timeout=10, read_for=None):
    """Send raw bytes, read until the server closes (or @read_for seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    end = time.monotonic() + (read_for or timeout)
    try:
        while time.monotonic() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out
