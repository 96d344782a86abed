"""Attack-suite harness for runbox (self-contained; ideas from tests/blackbox).

Every test drives the real binary (RUNBOX_BIN, default build/runbox) in
stdin mode with a hostile program or a malformed request and asserts an
exact outcome.  After every test the `rb` fixture checks, whatever the test
itself asserted:

  * runbox still answers the next request normally (`print(42)` -> "42\\n");
  * no process of the attack survives: /proc is scanned for processes whose
    environ, cmdline or cwd holds the per-request marker (put into each
    request's `env`), the per-test work dir, or the canary; under root also
    for any process of the pinned sandbox uid;
  * the private RUNBOX_WORK_DIR is empty (the workspace was removed);
  * files the test placed outside the sandbox (sentinels) are untouched;
  * the canary secret in runbox's own environment (RUNBOX_TEST_CANARY,
    AWS_SECRET_ACCESS_KEY) never appears in any response.

ATTACKS_AS=nobody runs runbox itself as uid/gid 65534 (setpriv, no groups)
with a work dir that user owns: the platform rehearsal for Lambda/Azure.
Expectations that depend on a sandbox layer read the response's "sandbox"
field (see `Layers`) and assert the outcome that layer must produce.
"""

import base64
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
import binary_copy  # noqa: E402
MiB = 1024 * 1024
KiB = 1024
MARK_NAME = "RBATTACK_MARK"
AS = os.environ.get("ATTACKS_AS", "root")
if AS not in ("root", "nobody"):
    raise RuntimeError(f"ATTACKS_AS must be root or nobody, not {AS!r}")
# The unprivileged identity of the second pass: 65534 by default; on a
# machine where other suites run runbox as root with RUNBOX_UID=65534 (whose
# clean-up kill(-1)s every process of that uid) set ATTACKS_UID to a free uid.
NOBODY = int(os.environ.get("ATTACKS_UID", "65534"))
# A sandbox uid no other process on the machine uses, so that any process
# of that uid left after a test is a leftover of this suite.
SANDBOX_UID = 1800000000 + random.randrange(1, 90000000)
# The victim outside the sandbox: the program's own uid when unprivileged.
VICTIM_UID = NOBODY if AS == "nobody" else SANDBOX_UID + 1
STATUSES = {"ok", "error", "timeout", "cpu_limit", "file_size_limit", "memory_limit",
            "blocked_syscall", "killed"}
_MISSING = object()

# Helpers every hostile Python program starts with.  sc() makes a raw
# system call and answers "ok" or the errno name; res() prints one result.
PRELUDE = r'''
import ctypes, errno, os, sys, signal, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def _arg(x):
    if x is None:
        return ctypes.c_void_p(0)
    if isinstance(x, int):
        return ctypes.c_long(x if x < (1 << 63) else x - (1 << 64))
    return x
def sc(nr, *a):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[_arg(x) for x in a])
    if r == -1:
        e = ctypes.get_errno()
        return errno.errorcode.get(e, str(e))
    return "ok"
def eo(fn, *a, **k):
    try:
        fn(*a, **k)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
def res(k, v):
    print(f"{k}={v}", flush=True)
'''


def prog(body):
    """A hostile Python program: PRELUDE + body."""
    return PRELUDE + "\n" + body


def kv(resp):
    """The key=value lines a program printed, as a dict."""
    out = {}
    for line in resp["stdout"].splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def b64(data):
    return base64.b64encode(data).decode("ascii")




def runbox_bin():
    """A private copy of RUNBOX_BIN, executable by the unprivileged user."""
    return binary_copy.snapshot(REPO, "rbatk-bin-")


def pytest_unconfigure(config):
    binary_copy.remove_snapshots()


def short(resp, n=2000):
    s = json.dumps(resp) if not isinstance(resp, str) else resp
    return s if len(s) <= n else s[:n] + "..."


# ---------------------------------------------------------------------------
# Layers: what the response says was applied
# ---------------------------------------------------------------------------

class Layers:
    def __init__(self, resp):
        sb = resp.get("sandbox") or {}
        self.raw = sb
        self.seccomp = bool(sb.get("seccomp"))
        ll = sb.get("landlock")
        self.landlock_abi = ll.get("abi", 0) if isinstance(ll, dict) else 0
        self.landlock = bool(ll)
        self.landlock_tcp = isinstance(ll, dict) and bool(ll.get("tcp_denied"))
        self.landlock_scoped = isinstance(ll, dict) and bool(ll.get("scoped"))
        ns = sb.get("namespaces") or []
        self.pidns = "pid" in ns
        self.netns = "net" in ns
        self.ipcns = "ipc" in ns
        self.utsns = "uts" in ns
        self.mountns = "mount" in ns
        self.userns = "user" in ns
        # SysV IPC is allowed only in an ipc namespace whose limits runbox
        # sets, which it cannot do from inside a user namespace.
        self.sysv_ipc = self.ipcns and self.pidns and self.mountns and not self.userns
        self.nnp = bool(sb.get("no_new_privs"))
        self.uid_drop = bool(sb.get("uid_drop"))

    def __repr__(self):
        return f"Layers({self.raw})"


def need(cond, reason):
    """Skip (with the reason) when a layer the expectation needs is not in force."""
    if not cond:
        pytest.skip(reason)


# ---------------------------------------------------------------------------
# /proc scanning
# ---------------------------------------------------------------------------

def _read(path, n=1 << 20):
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def proc_uid(pid):
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"Uid:"):
            return int(line.split()[1])
    return None


def proc_scan(needles, uid=None, skip=()):
    """[(pid, uid, cmdline)] of processes holding a needle (environ, cmdline,
    cwd) or, when uid is given, running as that uid."""
    me = os.getpid()
    bneedles = [n.encode() for n in needles if n]
    hits = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in (me,) or int(d) in skip:
            continue
        blob = _read(f"/proc/{d}/environ") + b"\n" + _read(f"/proc/{d}/cmdline")
        try:
            blob += b"\n" + os.readlink(f"/proc/{d}/cwd").encode()
        except OSError:
            pass
        u = proc_uid(d)
        if b"State:\tZ" in _read(f"/proc/{d}/status"):
            continue  # a zombie runs nothing; reaping it is its parent's business
        if any(n in blob for n in bneedles) or (uid is not None and u == uid):
            cmd = _read(f"/proc/{d}/cmdline").replace(b"\0", b" ").decode(errors="replace")
            if u is None and not cmd:
                continue  # gone meanwhile
            hits.append((int(d), u, cmd))
    return hits


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------

class Runbox:
    def __init__(self, workdir):
        self.bin = runbox_bin()
        self.workdir = workdir
        self.canary = "canary-" + uuid.uuid4().hex
        self.marks = []
        self.sentinels = []       # (path, expected bytes) outside the sandbox
        self.helpers = []         # pids of test-side helper processes (not leftovers)
        self.cleanup_dirs = []
        self.host_globs = []      # host paths an attack must not have created
        self.last_elapsed = None
        self.last_pid = None
        self.responses = []

    def base_env(self, extra=None):
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RUNBOX_WORK_DIR": str(self.workdir),
            "RUNBOX_LOG": "info",
            "RUNBOX_TEST_CANARY": self.canary,
            "AWS_SECRET_ACCESS_KEY": self.canary + "-aws",
        }
        if AS == "root":
            env["RUNBOX_UID"] = str(SANDBOX_UID)
            env["RUNBOX_GID"] = str(SANDBOX_UID)
        if extra:
            env.update(extra)
        return env

    def new_mark(self):
        m = "rbatk" + uuid.uuid4().hex
        self.marks.append(m)
        return m

    def _mark(self, req):
        if not isinstance(req, dict):
            return req
        env = req.get("env", {})
        if not isinstance(env, dict) or len(env) >= 64 or MARK_NAME in env:
            return req
        req = dict(req)
        req["env"] = dict(env, **{MARK_NAME: self.new_mark()})
        return req

    def argv(self):
        if AS == "nobody":
            return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    "--", str(self.bin)]
        return [str(self.bin)]

    def run(self, req, env=None, timeout=30, mark=True):
        """Run one request.  `req` may be a callable taking runbox's pid (to
        aim an attack at it) and returning the request.  Returns
        (exit status, response, runbox's stderr)."""
        t0 = time.monotonic()
        p = subprocess.Popen(self.argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.base_env(env),
                             cwd=str(self.workdir), start_new_session=True)
        self.last_pid = p.pid
        if callable(req):
            req = req(p.pid)
        if mark:
            req = self._mark(req)
        body = req if isinstance(req, (bytes, bytearray)) else json.dumps(req).encode()
        try:
            out, err = p.communicate(bytes(body), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise AssertionError(f"runbox did not answer within {timeout}s: {out[:500]!r} "
                                 f"{err[-1500:]!r}")
        self.last_elapsed = time.monotonic() - t0
        errtext = err.decode("utf-8", errors="replace")
        assert self.canary.encode() not in out, f"CANARY LEAKED into the response: {out[:3000]!r}"
        assert out.endswith(b"\n") and out.count(b"\n") == 1, (
            f"stdout is not one JSON line (exit {p.returncode}): {out[:1000]!r}\n{errtext[-2000:]}")
        try:
            resp = json.loads(out)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {out[:1000]!r}\n{errtext[-2000:]}")
        self.responses.append(resp)
        return p.returncode, resp, errtext


def check_ran(resp):
    for k in ("exit_code", "stdout", "stderr", "artifacts", "status", "duration_ms",
              "truncated", "sandbox"):
        assert k in resp, f"missing {k!r} in {short(resp)}"
    assert resp["status"] in STATUSES, short(resp)


def ran(rb, req, status=_MISSING, exit_code=_MISSING, timeout=30, env=None):
    """The program ran (runbox exit 0); check status/exit_code when given.
    Returns (response, Layers)."""
    rc, resp, err = rb.run(req, env=env, timeout=timeout)
    assert rc == 0, f"runbox exit {rc}: {short(resp)}\nstderr: {err[-2000:]}"
    check_ran(resp)
    if status is not _MISSING:
        assert resp["status"] == status, f"status {resp['status']!r} != {status!r}: {short(resp)}"
    if exit_code is not _MISSING:
        assert resp["exit_code"] == exit_code, (
            f"exit_code {resp['exit_code']} != {exit_code}: {short(resp)}")
    return resp, Layers(resp)


def ok(rb, req, **kw):
    return ran(rb, req, status="ok", exit_code=0, **kw)


def refused(rb, req, code, field=_MISSING, timeout=30):
    rc, resp, err = rb.run(req, timeout=timeout, mark=False)
    assert resp.get("code") == code, f"expected refusal {code!r}, got {short(resp)}"
    assert rc == 2, f"runbox exit {rc} for refusal {code}"
    assert set(resp) <= {"error", "code", "field"}, short(resp)
    assert isinstance(resp["error"], str) and resp["error"].strip()
    if field is not _MISSING:
        got = resp.get("field")
        # runbox shortens a long path in "field": accept a prefix of 100+ bytes
        assert got == field or (isinstance(got, str) and len(got) >= 100 and field.startswith(got)), (
            f"field {got!r} != {field!r}")
    return resp


def py(body, **kw):
    """A Python request running PRELUDE + body."""
    req = {"script": prog(body)}
    req.update(kw)
    return req


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

def _owned_tmpdir(prefix, mode=0o755):
    d = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    os.chmod(d, mode)
    return d


@pytest.fixture
def rb():
    binpath = runbox_bin()
    if not os.access(binpath, os.X_OK):
        pytest.fail(f"runbox binary not found at {binpath} (make, or set RUNBOX_BIN)")
    workdir = _owned_tmpdir("rbatk-")
    box = Runbox(workdir)
    yield box
    problems = []
    # 1) the attack left no process behind (short grace for the reaper).
    needles = box.marks + [box.canary, str(workdir)]
    uid = SANDBOX_UID if AS == "root" else None
    deadline = time.monotonic() + 1.0
    hits = proc_scan(needles, uid, skip=box.helpers)
    while hits and time.monotonic() < deadline:
        time.sleep(0.05)
        hits = proc_scan(needles, uid, skip=box.helpers)
    if hits:
        problems.append(f"processes outlived the response: {hits}")
        for pid, _, _ in hits:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    # 2) runbox answers the next request normally.
    if not problems:
        try:
            rc, resp, err = box.run({"script": "print(42)", "timeout_s": 10}, timeout=30)
            if rc != 0 or resp.get("status") != "ok" or resp.get("stdout") != "42\n":
                problems.append(f"follow-up print(42) failed: exit {rc} {short(resp)}")
        except AssertionError as e:
            problems.append(f"follow-up print(42) failed: {e}")
    # 3) the work dir is empty.
    left = sorted(os.listdir(workdir))
    if left:
        problems.append(f"work dir not cleaned: {left}")
    # 4) sentinels outside the sandbox are intact.
    for path, content in box.sentinels:
        got = _read(path) if os.path.isfile(path) else None
        if got != content:
            problems.append(f"sentinel {path} changed: {got!r}")
    # 5) nothing created on the host outside the workspace (and clean it up)
    import glob
    for pattern in box.host_globs:
        found = glob.glob(pattern)
        if found:
            problems.append(f"the attack left files on the host: {found}")
            for f in found:
                try:
                    os.unlink(f)
                except OSError:
                    pass
    # 6) the canary never appeared (also checked per response).
    for r in box.responses:
        if box.canary in json.dumps(r):
            problems.append("canary leaked")
    shutil.rmtree(workdir, ignore_errors=True)
    for d in box.cleanup_dirs:
        shutil.rmtree(d, ignore_errors=True)
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def sentinel(rb):
    """A directory outside the sandbox, owned by runbox's own user, holding
    one file; the fixture checks after the test that it is untouched."""
    d = _owned_tmpdir("rbatk-sentinel-")
    f = d / "keep.txt"
    f.write_bytes(b"sentinel\n")
    if AS == "nobody":
        os.chown(f, NOBODY, NOBODY)
    rb.sentinels.append((str(f), b"sentinel\n"))
    rb.cleanup_dirs.append(d)
    return d


class _Server:
    """A listener on 127.0.0.1 (TCP and UDP, same port number) that records
    every connection or datagram it gets."""

    def __init__(self):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp6 = None
        try:
            self.tcp6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            self.tcp6.bind(("::1", self.port))
            self.tcp6.listen(16)
        except OSError:
            self.tcp6 = None
        self.abstract_name = "rbatk-" + uuid.uuid4().hex
        self.unix_abs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix_abs.bind("\0" + self.abstract_name)
        self.unix_abs.listen(16)
        self.unix_absdg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.unix_absdg.bind("\0" + self.abstract_name + "-dg")
        self.sockdir = _owned_tmpdir("rbatk-sock-", 0o777)
        self.unix_path = str(self.sockdir / "s")
        self.unix_pathsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix_pathsock.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.unix_pathsock.listen(16)
        self.events = []
        self.stop = False
        self.threads = []
        for s, kind in ((self.tcp, "tcp"), (self.tcp6, "tcp6"), (self.unix_abs, "abstract"),
                        (self.unix_pathsock, "unixpath")):
            if s is not None:
                t = threading.Thread(target=self._accept, args=(s, kind), daemon=True)
                t.start()
                self.threads.append(t)
        for s, kind in ((self.udp, "udp"), (self.unix_absdg, "abstract-dgram")):
            t = threading.Thread(target=self._dgram, args=(s, kind), daemon=True)
            t.start()

    def _accept(self, s, kind):
        s.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = s.accept()
                self.events.append(kind)
                c.close()
            except OSError:
                continue

    def _dgram(self, s, kind):
        s.settimeout(0.2)
        while not self.stop:
            try:
                s.recvfrom(65536)
                self.events.append(kind)
            except OSError:
                continue

    def close(self):
        self.stop = True
        time.sleep(0.25)
        for s in (self.tcp, self.udp, self.tcp6, self.unix_abs, self.unix_absdg, self.unix_pathsock):
            if s is not None:
                s.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture
def victim(rb):
    """A long-running process outside the sandbox, of another uid (in the
    unprivileged pass the same uid as runbox and its program), holding a
    secret in its environment.  Yields (pid, secret)."""
    secret = "victim-secret-" + uuid.uuid4().hex
    p = subprocess.Popen(
        ["setpriv", f"--reuid={VICTIM_UID}", f"--regid={VICTIM_UID}", "--clear-groups", "--",
         "/bin/sleep", "60"],
        env={"VICTIM_SECRET": secret, "PATH": "/usr/bin:/bin"}, cwd="/",
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rb.helpers.append(p.pid)
    time.sleep(0.05)
    yield p.pid, secret
    alive = p.poll() is None
    p.kill()
    p.wait()
    assert alive, "the victim process outside the sandbox was killed"
    for r in rb.responses:
        assert secret not in json.dumps(r), "the victim's secret leaked into a response"


def pytest_report_header(config):
    return [f"attacks: runbox={runbox_bin()} as={AS} unprivileged_uid={NOBODY} "
            f"sandbox_uid(root)={SANDBOX_UID}"]
