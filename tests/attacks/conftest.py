"""Attack-suite harness for runbox (driver and checks: tests/helpers/harness.py).

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
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import MISSING as _MISSING, KiB, MiB, STATUSES, short  # noqa: E402,F401
from harness import served_servers, stdin_only  # noqa: E402,F401 (a fixture; a skip)

MARK_NAME = "RBATTACK_MARK"
# The unprivileged identity of the second pass: 65534 by default; on a
# machine where other suites run runbox as root with RUNBOX_UID=65534 (whose
# clean-up kill(-1)s every process of that uid) set ATTACKS_UID to a free uid.
WHO = harness.Identity("ATTACKS_AS", "ATTACKS_UID")
AS, NOBODY = WHO.name, WHO.uid
# A sandbox uid no other process on the machine uses, so that any process
# of that uid left after a test is a leftover of this suite.
SANDBOX_UID = 1800000000 + random.randrange(1, 90000000)
# The victim outside the sandbox: the program's own uid when unprivileged.
VICTIM_UID = NOBODY if AS == "nobody" else SANDBOX_UID + 1

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
    return harness.snapshot("rbatk-bin-")


def pytest_unconfigure(config):
    harness.remove_snapshots()


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


def proc_scan(needles, uid=None, skip=()):
    """[Hit(pid, uid, cmd)] of processes holding a needle (environ, cmdline,
    cwd) or, when uid is given, running as that uid."""
    return harness.proc_scan(needles, uid=uid, skip=skip)


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------

class Runbox(harness.Runbox):
    """runbox as ATTACKS_AS says, programs as a sandbox uid of this session
    alone when root.  `sentinels` are (path, bytes) outside the sandbox that
    must stay as they are, `helpers` pids of the test's own processes (not
    leftovers), `host_globs` host paths an attack must not have created."""

    mark_name = MARK_NAME
    mark_prefix = "rbatk"
    timeout = 30
    ensure_ascii = True

    def __init__(self, workdir):
        self.canary = harness.canary("canary-")
        env = {"RUNBOX_TEST_CANARY": self.canary, "AWS_SECRET_ACCESS_KEY": self.canary + "-aws"}
        if AS == "root":
            env["RUNBOX_UID"] = env["RUNBOX_GID"] = str(SANDBOX_UID)
        super().__init__(workdir, binpath=runbox_bin(), prefix=WHO.argv([]), env=env,
                         secrets=[self.canary], cwd=workdir)
        self.sentinels = []
        self.helpers = []
        self.cleanup_dirs = []
        self.host_globs = []


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
    return harness.assert_ran(rc, resp, err, status, exit_code), Layers(resp)


def ok(rb, req, **kw):
    return ran(rb, req, status="ok", exit_code=0, **kw)


def refused(rb, req, code, field=_MISSING, timeout=30):
    rc, resp, err = rb.run(req, timeout=timeout, mark=False)
    if field is not _MISSING:
        want = field

        def field(got):
            # runbox shortens a long path in "field": accept a prefix of 100+ bytes
            return got == want or (isinstance(got, str) and len(got) >= 100 and want.startswith(got))
    return harness.assert_refused(rc, resp, code, field)


def py(body, **kw):
    """A Python request running PRELUDE + body."""
    req = {"script": prog(body)}
    req.update(kw)
    return req


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

_owned_tmpdir = WHO.tmpdir


@pytest.fixture
def rb():
    workdir = _owned_tmpdir("rbatk-")
    box = Runbox(workdir)
    box.prepare()
    yield box
    # 1) the attack left no process behind (short grace for the reaper).
    uid = SANDBOX_UID if AS == "root" else None
    problems = box.survivor_problems(1.0, [str(workdir)], uid=uid, skip=box.helpers)
    # 2) runbox answers the next request normally.
    if not problems:
        try:
            rc, resp, err = box.run({"script": "print(42)", "timeout_s": 10}, timeout=30)
            if rc != 0 or resp.get("status") != "ok" or resp.get("stdout") != "42\n":
                problems.append(f"follow-up print(42) failed: exit {rc} {short(resp)}")
        except AssertionError as e:
            problems.append(f"follow-up print(42) failed: {e}")
    # 3) the work dir is empty (and a server's, with RUNBOX_VIA=serve).
    problems += box.workdir_problems()
    # 4) sentinels outside the sandbox are intact.
    for path, content in box.sentinels:
        got = harness.read_bytes(path) if os.path.isfile(path) else None
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
        harness.setpriv(VICTIM_UID) + ["/bin/sleep", "60"],
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
    return [f"attacks: runbox={harness.binary()} as={AS} unprivileged_uid={NOBODY} "
            f"sandbox_uid(root)={SANDBOX_UID}"]
