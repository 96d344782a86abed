"""RUNBOX_VIA=serve: the black-box suites' requests sent to `runbox serve`.

harness.Runbox drives runbox in stdin mode, one process per request.  With
RUNBOX_VIA=serve it hands each request to a long-lived `runbox serve`
instead, with warm templates on, and gives back what stdin mode would:
the answer's JSON and the exit status stdin mode documents for it (200:
0, a refusal 4xx: 2, a fault 5xx: 1; cmd/runbox/README.md's exit statuses
against its HTTP statuses).

A server is started on first use, per pytest session, for each distinct
runbox environment and argv prefix (setpriv, a platform simulator): the
suite's usual one, and one more for each per-request environment a test
gives (a smaller RUNBOX_MAX_OUTPUT_BYTES, RUNBOX_ALLOW_NETWORK=1, ...).
It runs as the identity the suite runs runbox as (the prefix, and the
owner of the suite's work dir for its own work and state dirs), listens on
a free loopback port, and is used once its templates are ready
(/api/info's "warm").  The session's usual server lives until the session
ends; the others until the test that asked for them ends (at most
EXTRA_SERVERS of them stay up across tests, the oldest going first).  A
server is stopped with SIGTERM and checked: exit 0, no process of its
binary left, its work dir empty, no sanitizer report in its log.

What a request logs (the third value of Runbox.run) is the server's log
lines written while it was in flight, and the first run/refused/fault line
after it if none came in that time.
"""
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# RUNBOX_* that name a place of one runbox process; each server gets its own.
PER_INSTANCE = ("RUNBOX_WORK_DIR", "RUNBOX_STATE_DIR")
# The servers kept up across tests, besides each session's usual one.
EXTRA_SERVERS = 2
# The log events that end a request's lines.
REQUEST_EVENTS = ('"event": "run"', '"event": "refused"', '"event": "fault"',
                  '"event":"run"', '"event":"refused"', '"event":"fault"')
# A refusal is exit 2 in stdin mode, a fault exit 1, capacity_exhausted 75.
EXIT_OF_CLASS = {2: 0, 4: 2, 5: 1}
EXIT_OF_CODE = {"capacity_exhausted": 75}


def exit_status(http_status, answer):
    """The stdin-mode exit status of @answer, given with @http_status."""
    if http_status != 200 and answer.get("code") in EXIT_OF_CODE:
        return EXIT_OF_CODE[answer["code"]]
    return EXIT_OF_CLASS.get(http_status // 100, 1)


# Environment variables a template's modules read at import (run/warm.c):
# a run that sets one starts cold, as it must.
READ_AT_IMPORT = ("LANG", "LANGUAGE", "LC_", "NPY_", "MPL", "MATPLOTLIB", "KMP_", "TZDIR")


def warm_covers(req, warm):
    """Whether @req is a Python program that a ready template runs as a
    cold interpreter would, so that it must start warm: no dependencies, no
    matplotlibrc among its files, no network (as root a template has a
    network namespace of its own, without one), and no env variable a
    template's modules may have read at import (a name in READ_AT_IMPORT, or
    FOO_... for a module foo of the standard library or of the stack's
    imports)."""
    if not isinstance(req, dict) or req.get("dependencies") or req.get("network"):
        return False
    lang = req.get("language")
    entry = req.get("entry_point")
    if lang not in (None, "python") or (lang is None and isinstance(entry, str)
                                         and entry.endswith(".sh")):
        return False
    if isinstance(req.get("files"), dict) and "matplotlibrc" in req["files"]:
        return False
    env = req.get("env") or {}
    if not isinstance(env, dict):
        return False
    stack = {m.strip().split(".")[0] for m in warm["stack"]["imports"].split(",") if m.strip()}
    modules = set(sys.stdlib_module_names) | stack
    for name in env:
        if name.startswith(READ_AT_IMPORT) or ("_" in name and
                                               name.split("_")[0].lower() in modules):
            return False
    return True


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key_of(prefix, env):
    """What tells two servers apart: the argv prefix and the environment
    without its per-instance places."""
    return (tuple(prefix), tuple(sorted((k, v) for k, v in env.items() if k not in PER_INSTANCE)))



def _left_in(workdir):
    """What is left in a server's work dir: its entries but the session store,
    and the sessions in the store (directories named by a SHA-256)."""
    out = []
    for n in sorted(os.listdir(workdir)):
        if not n.startswith("runbox-sessions-"):
            out.append(n)
            continue
        store = os.path.join(workdir, n)
        out += [f"{n}/{k}" for k in sorted(os.listdir(store)) if len(k) == 64]
    return out

class Server:
    """One `runbox serve` run as @prefix with @env; @uid owns its dirs."""

    alone = None  # see Pool.get

    def __init__(self, binpath, prefix, env, uid, warm_expected=True, start_timeout=180):
        self.bin = pathlib.Path(binpath)
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="rbvia-", dir="/tmp"))
        os.chmod(self.home, 0o755)
        self.workdir = self.home / "work"
        self.workdir.mkdir(mode=0o755)
        os.chown(self.workdir, uid, uid)
        self.env = dict(env, RUNBOX_WORK_DIR=str(self.workdir))
        if "RUNBOX_STATE_DIR" in env:
            state = self.home / "state"
            state.mkdir(mode=0o700)
            os.chown(state, uid, uid)
            self.env["RUNBOX_STATE_DIR"] = str(state)
        self.token = env.get("RUNBOX_TOKEN")
        self.warm_expected = warm_expected
        self.lines = []
        self.lock = threading.Lock()
        self.port = free_port()
        argv = list(prefix) + [str(self.bin), "serve", "--host", "127.0.0.1",
                               "--port", str(self.port)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=self.env, cwd=str(self.home),
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            self._wait_up(start_timeout)
            self.warm = self._wait_warm(start_timeout)
            self.start_log = self.log_text(10 ** 6)
        except BaseException:
            self.kill()
            raise

    def _read(self):
        for raw in self.proc.stderr:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace"))

    def log_text(self, n=80):
        with self.lock:
            return "".join(self.lines[-n:])

    def _wait_up(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"runbox serve exited {self.proc.returncode} at start:\n"
                                     + self.log_text())
            try:
                if self.get("/api/health", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, "runbox serve never answered:\n" + self.log_text()
            time.sleep(0.05)

    def info(self):
        status, body = self.get("/api/info")
        assert status == 200, (status, body[:500])
        return json.loads(body)

    def _wait_warm(self, timeout):
        """/api/info's warm once both templates are ready (warm expected),
        or as it is (warm off, which must then say why)."""
        deadline = time.monotonic() + timeout
        while True:
            w = self.info()["warm"]
            if not self.warm_expected:
                assert w["state"] == "off" and w.get("reason"), w
                return w
            assert w["state"] == "on", f"warm is off on the served runbox: {w}"
            if all(w[k]["state"] == "ready" and w[k]["pid"] for k in ("stack", "bare")):
                return w
            assert time.monotonic() < deadline, f"the templates never became ready: {w}"
            time.sleep(0.2)

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path, headers=self.headers())
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def post(self, body, timeout):
        """POST @body to /api/run; returns (HTTP status, body bytes, log lines)."""
        with self.lock:
            first = len(self.lines)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(self.headers(), **{"Content-Type": "application/json"})
        try:
            try:
                c.request("POST", "/api/run", body=body, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused on its Content-Length, before the body was read
            r = c.getresponse()
            status, data = r.status, r.read()
        finally:
            c.close()
        return status, data, self._lines_since(first)

    def _lines_since(self, first, grace=1.0):
        deadline = time.monotonic() + grace
        while True:
            with self.lock:
                got = self.lines[first:]
            if any(e in line for line in got for e in REQUEST_EVENTS) or \
                    time.monotonic() > deadline or self.proc.poll() is not None:
                return "".join(got)
            time.sleep(0.01)

    def pids(self):
        """The server and every process below it."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                for t in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{t}/children") as f:
                        todo += [int(x) for x in f.read().split()]
            except OSError:
                pass
        return out

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(10)
        shutil.rmtree(self.home, ignore_errors=True)

    def stop(self, timeout=60):
        """SIGTERM, then the server's own leftover checks; returns the problems."""
        problems = []
        below = [p for p in self.pids() if p != self.proc.pid]
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            problems.append(f"runbox serve did not stop on SIGTERM within {timeout} s")
        self.reader.join(5)
        if rc not in (0, None):
            problems.append(f"runbox serve exited {rc} on SIGTERM")
        deadline = time.monotonic() + 5
        left = below
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in below if _alive(p)]
        if left:
            problems.append(f"processes of the server outlived it: {left}")
        stale = sorted(os.listdir(self.workdir))
        if stale:
            problems.append(f"the server's work dir is not empty: {stale}")
        log = self.log_text(10 ** 6)
        from harness import SANITIZER_MARKS
        problems += [f"sanitizer report in the server's log:\n{log[-4000:]}"
                     for m in SANITIZER_MARKS if m in log][:1]
        if problems:
            problems.append("its log:\n" + self.log_text())
        self.kill()
        return problems


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


class Pool:
    """The servers of one pytest session, by key_of()."""

    def __init__(self):
        self.servers = {}
        self.usual = {}      # prefix -> key of the first server started with it
        self.order = []      # keys of the extra servers, oldest first
        self.problems = []

    def get(self, binpath, prefix, env, uid, warm_expected, alone=None):
        """The server for @prefix and @env, started if need be.  @alone
        "uid": it may share its uid with no other server (where a run's
        clean-up kills every process of runbox's uid, as under the Lambda
        profile); "prefix": with no server started another way (the runs of
        one uid share its RLIMIT_NPROC).  Those servers are stopped first,
        and such a server is stopped before another kind starts."""
        key = key_of(prefix, env)

        def clash(k, s):
            if k == key:
                return False
            if "uid" in (alone, s.alone):
                return True
            return bool(alone or s.alone) and k[0] != key[0]
        others = [k for k, s in self.servers.items() if clash(k, s)]
        for k in others:
            self.problems += self.servers.pop(k).stop()
            self.order = [o for o in self.order if o != k]
        s = self.servers.get(key)
        if s is not None and s.proc.poll() is not None:
            self.problems.append(f"runbox serve died (exit {s.proc.returncode}):\n{s.log_text()}")
            del self.servers[key]
            s = None
        if s is None:
            self.usual.setdefault(tuple(prefix), key)
            if key != self.usual[tuple(prefix)]:
                self.order.append(key)
            s = self.servers[key] = Server(binpath, prefix, env, uid, warm_expected)
            s.alone = alone
        return s

    def trim(self):
        """Stop the oldest extra servers beyond EXTRA_SERVERS; returns the problems."""
        problems = []
        while len(self.order) > EXTRA_SERVERS:
            key = self.order.pop(0)
            s = self.servers.pop(key, None)
            if s is not None:
                problems += s.stop()
        return problems

    def holders(self):
        """The servers themselves: their environment is runbox's own."""
        return [s.proc.pid for s in self.servers.values()]

    def workdir_problems(self, grace):
        """Workspaces a server has not removed @grace seconds after the test.  The
        server's own session store (runbox-sessions-*, there for its whole life)
        is no workspace; a file session left in it is (a request that kept one)."""
        deadline = time.monotonic() + grace
        while True:
            left = [(s.workdir, n) for s in self.servers.values()
                    for n in [_left_in(s.workdir)] if n]
            if not left or time.monotonic() > deadline:
                return [f"a server's work dir not cleaned: {w}: {n}" for w, n in left]
            time.sleep(0.05)

    def stop_all(self):
        problems = list(self.problems)
        for s in self.servers.values():
            problems += s.stop()
        self.servers.clear()
        self.order.clear()
        return problems


POOL = Pool()
