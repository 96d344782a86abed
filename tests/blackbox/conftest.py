"""Black-box harness for runbox.

The binary comes from RUNBOX_BIN (default build/runbox, relative to the repo
root), so the same suite runs against the static build and the ASan build.

Every test gets a private RUNBOX_WORK_DIR.  After every test the fixture
checks that
  * the work dir is empty (the per-request workspace was removed), and
  * no process started by the test is still alive: each stdin-mode request
    gets a unique marker in its `env`, and /proc/*/environ and
    /proc/*/cmdline are scanned for the markers (and for the per-test canary
    that only runbox's own environment holds) after a short grace period.

runbox's own environment holds a canary secret (RUNBOX_TEST_CANARY and
AWS_SECRET_ACCESS_KEY) that must never appear in any response.
"""

import base64
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
from leftovers import survivors, unclean_workdir  # noqa: E402

MiB = 1024 * 1024
KiB = 1024

# Keys of a response for a program that ran.
RAN_KEYS = {
    "exit_code", "stdout", "stderr", "artifacts", "status", "duration_ms",
    "timeout_s", "timeout_clamped", "start", "truncated", "sandbox", "dependencies",
}
STATUSES = {
    "ok", "error", "timeout", "cpu_limit", "file_size_limit", "memory_limit",
    "blocked_syscall", "killed",
}
MARK_NAME = "RBTEST_MARK"
_MISSING = object()


def runbox_bin():
    b = pathlib.Path(os.environ.get("RUNBOX_BIN", "build/runbox"))
    if not b.is_absolute():
        b = REPO / b
    return b


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: exercises the pre-installed scientific packages (seconds each)")


def b64(data):
    return base64.b64encode(data).decode("ascii")


def _proc_scan(needles):
    """Return [(pid, cmdline)] of processes whose environ or cmdline holds a needle."""
    me = os.getpid()
    hits = []
    bneedles = [n.encode() for n in needles]
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        blob = b""
        for f in ("environ", "cmdline"):
            try:
                with open(f"/proc/{d}/{f}", "rb") as fh:
                    blob += fh.read() + b"\n"
            except OSError:
                pass
        if any(n in blob for n in bneedles):
            try:
                with open(f"/proc/{d}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmd = "?"
            hits.append((int(d), cmd))
    return hits


class Runbox:
    """Drives the binary; one instance per test."""

    def __init__(self, workdir):
        self.bin = runbox_bin()
        self.workdir = workdir
        self.canary = "canary-" + uuid.uuid4().hex
        self.marks = []          # markers put into requests' env
        self.watch = []          # extra strings to look for in cmdlines
        self.last_elapsed = None
        self.last_stdout = None

    # -- environment of runbox itself -----------------------------------
    def base_env(self, extra=None):
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RUNBOX_WORK_DIR": str(self.workdir),
            "RUNBOX_LOG": "info",
            "RUNBOX_TEST_CANARY": self.canary,
            "AWS_SECRET_ACCESS_KEY": self.canary + "-aws",
        }
        if extra:
            env.update(extra)
        return env

    def new_mark(self):
        m = "rbmark" + uuid.uuid4().hex
        self.marks.append(m)
        return m

    def _maybe_mark(self, req):
        if not isinstance(req, dict):
            return req
        env = req.get("env", _MISSING)
        if env is _MISSING:
            env = {}
        if not isinstance(env, dict) or len(env) >= 64 or MARK_NAME in env:
            return req
        req = dict(req)
        env = dict(env)
        env[MARK_NAME] = self.new_mark()
        req["env"] = env
        return req

    # -- stdin mode ---------------------------------------------------------
    def run(self, req, env=None, timeout=60, mark=True):
        """Run one request; return (exit_status, response_dict, stderr_text)."""
        if mark:
            req = self._maybe_mark(req)
        if isinstance(req, (bytes, bytearray)):
            body = bytes(req)
        else:
            body = json.dumps(req, ensure_ascii=False).encode("utf-8")
        t0 = time.monotonic()
        p = subprocess.Popen(
            [str(self.bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.base_env(env), cwd=str(self.workdir.parent),
            start_new_session=True)
        try:
            out, err = p.communicate(body, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise AssertionError(
                f"runbox did not answer within {timeout}s; stdout={out[:500]!r} stderr={err[-2000:]!r}")
        self.last_elapsed = time.monotonic() - t0
        self.last_stdout = out
        errtext = err.decode("utf-8", errors="replace")
        check_sanitizers(errtext)
        assert self.canary.encode() not in out, "runbox's own environment leaked into the response"
        assert out.endswith(b"\n") and out.count(b"\n") == 1, (
            f"stdout is not exactly one line (exit {p.returncode}): {out[:1000]!r}\nstderr: {errtext[-3000:]}")
        try:
            resp = json.loads(out)
        except ValueError as e:
            raise AssertionError(f"stdout is not JSON ({e}): {out[:1000]!r}\nstderr: {errtext[-3000:]}")
        return p.returncode, resp, errtext

    # -- command line -------------------------------------------------------
    def cli(self, args, cwd=None, env=None, timeout=60, stdin=b""):
        t0 = time.monotonic()
        p = subprocess.Popen(
            [str(self.bin)] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.base_env(env),
            cwd=str(cwd or self.workdir.parent), start_new_session=True)
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise AssertionError(f"runbox {args} did not finish within {timeout}s")
        self.last_elapsed = time.monotonic() - t0
        assert self.canary.encode() not in out
        check_sanitizers(err.decode("utf-8", errors="replace"))
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer", "UndefinedBehaviorSanitizer")


def check_sanitizers(stderr_text):
    """Under the ASan/UBSan build, any sanitizer report on runbox's stderr fails the test."""
    for m in SANITIZER_MARKS:
        assert m not in stderr_text, f"sanitizer report on runbox's stderr:\n{stderr_text[-4000:]}"


# ---------------------------------------------------------------------------
# Response helpers
# ---------------------------------------------------------------------------

def check_ran_shape(resp):
    keys = set(resp)
    assert RAN_KEYS <= keys, f"missing keys {RAN_KEYS - keys} in {short(resp)}"
    extra = keys - RAN_KEYS - {"omitted_artifacts"}
    assert not extra, f"unexpected keys {extra}"
    assert isinstance(resp["exit_code"], int) and not isinstance(resp["exit_code"], bool)
    assert isinstance(resp["stdout"], str) and isinstance(resp["stderr"], str)
    assert isinstance(resp["artifacts"], dict)
    assert resp["status"] in STATUSES, resp["status"]
    assert isinstance(resp["duration_ms"], (int, float)) and resp["duration_ms"] >= 0
    assert isinstance(resp["timeout_s"], (int, float)) and resp["timeout_s"] > 0
    assert isinstance(resp["timeout_clamped"], bool)
    assert isinstance(resp["truncated"], dict)
    assert set(resp["truncated"]) == {"stdout", "stderr"}
    assert all(isinstance(v, bool) for v in resp["truncated"].values())
    assert isinstance(resp["sandbox"], dict)
    assert isinstance(resp["dependencies"], list)
    for d in resp["dependencies"]:
        assert isinstance(d, dict) and {"name", "version", "source"} <= set(d), d
        assert d["source"] in ("preinstalled", "cache", "index"), d
        assert set(d) - {"name", "version", "source"} <= ({"fetch_ms"} if d["source"] == "index"
                                                          else set()), d
    if "omitted_artifacts" in resp:
        om = resp["omitted_artifacts"]
        assert isinstance(om, list) and om, "omitted_artifacts present but empty"
        for e in om:
            assert set(e) == {"path", "size", "reason"}, e
    # status is consistent with the exit code for the plain cases
    if resp["status"] == "ok":
        assert resp["exit_code"] == 0
    if resp["status"] == "timeout":
        assert resp["exit_code"] == 124
    if resp["status"] == "error":
        assert resp["exit_code"] != 0


def short(resp, n=1500):
    s = json.dumps(resp)
    return s if len(s) <= n else s[:n] + "..."


def ran(rb, req, env=None, timeout=60, mark=True, status=_MISSING, exit_code=_MISSING):
    rc, resp, err = rb.run(req, env=env, timeout=timeout, mark=mark)
    assert rc == 0, f"exit {rc}, response {short(resp)}\nstderr: {err[-2000:]}"
    check_ran_shape(resp)
    if status is not _MISSING:
        assert resp["status"] == status, f"status {resp['status']!r} != {status!r}: {short(resp)}"
    if exit_code is not _MISSING:
        assert resp["exit_code"] == exit_code, f"exit_code {resp['exit_code']} != {exit_code}: {short(resp)}"
    return resp


def ok(rb, req, **kw):
    """Ran, exit 0, status ok, empty stderr; return the response."""
    resp = ran(rb, req, **kw)
    assert resp["status"] == "ok" and resp["exit_code"] == 0, short(resp)
    return resp


def refused(rb, req, code, field=_MISSING, env=None, timeout=60, mark=True):
    rc, resp, err = rb.run(req, env=env, timeout=timeout, mark=mark)
    assert "code" in resp, f"expected refusal {code!r}, got {short(resp)}"
    assert resp["code"] == code, f"code {resp['code']!r} != {code!r}: {short(resp)}"
    assert rc == 2, f"exit {rc} for refusal {code}"
    assert set(resp) <= {"error", "code", "field"}, f"unexpected keys in refusal {set(resp)}"
    assert isinstance(resp["error"], str) and resp["error"].strip()
    if field is not _MISSING:
        if callable(field):
            assert "field" in resp and field(resp["field"]), f"bad field in {short(resp)}"
        else:
            assert resp.get("field") == field, f"field {resp.get('field')!r} != {field!r}: {short(resp)}"
    return resp


# ---------------------------------------------------------------------------
# Fixture
# ---------------------------------------------------------------------------

@pytest.fixture
def rb():
    binpath = runbox_bin()
    if not os.access(binpath, os.X_OK):
        pytest.fail(f"runbox binary not found at {binpath} (build it with make, or set RUNBOX_BIN)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rbbb-", dir="/tmp"))
    os.chmod(workdir, 0o755)
    box = Runbox(workdir)
    yield box
    # No process of the test survives (short grace), and the work dir is empty.
    problems = survivors(_proc_scan, box.marks + box.watch + [box.canary], 0.5)
    problems += unclean_workdir(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        pytest.fail("; ".join(problems))
