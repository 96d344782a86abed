"""Workload suite harness (self-contained; ideas from tests/blackbox).

Real programs that must pass under the FULL sandbox with the default limits:
runbox runs as root with every layer its probe finds, no RUNBOX_* limit is
overridden.  Each test gives an exact expectation on stdout and status "ok".

After every test the `rb` fixture checks that the private RUNBOX_WORK_DIR is
empty and that no process carrying the request's marker (put into the
request's env) survived the response.  runbox's own environment holds a
canary that must never appear in a response.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
from leftovers import survivors, unclean_workdir  # noqa: E402
MARK = "RBWORK_MARK"


def runbox_bin():
    b = pathlib.Path(os.environ.get("RUNBOX_BIN", "build/runbox"))
    return b if b.is_absolute() else REPO / b


def short(resp, n=3000):
    s = json.dumps(resp)
    return s if len(s) <= n else s[:n] + "..."


def proc_hits(needles):
    me = os.getpid()
    hits = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        blob = b""
        for f in ("environ", "cmdline"):
            try:
                with open(f"/proc/{d}/{f}", "rb") as fh:
                    blob += fh.read()
            except OSError:
                pass
        if any(n.encode() in blob for n in needles):
            hits.append(int(d))
    return hits


class Runbox:
    def __init__(self, workdir):
        self.bin = runbox_bin()
        self.workdir = workdir
        self.canary = "rbwork-canary-" + uuid.uuid4().hex
        self.marks = []

    def env(self, extra=None):
        e = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RUNBOX_WORK_DIR": str(self.workdir),
            "RUNBOX_LOG": "off",
            "RUNBOX_TEST_CANARY": self.canary,
        }
        e.update(extra or {})
        return e

    def run(self, req, env=None, timeout=90):
        req = dict(req)
        m = "rbworkmark" + uuid.uuid4().hex
        self.marks.append(m)
        req["env"] = dict(req.get("env", {}), **{MARK: m})
        p = subprocess.Popen([str(self.bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env(env), start_new_session=True)
        try:
            out, err = p.communicate(json.dumps(req).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise AssertionError(f"runbox did not answer within {timeout}s")
        assert self.canary.encode() not in out, "runbox's environment leaked into a response"
        assert out.endswith(b"\n") and out.count(b"\n") == 1, (out[:2000], err[-2000:])
        return p.returncode, json.loads(out), err.decode(errors="replace")

    def check(self):
        p = subprocess.run([str(self.bin), "check"], capture_output=True, env=self.env(),
                           timeout=60)
        return p.returncode, json.loads(p.stdout)


def ok(rb, req, stdout, artifacts=None, **kw):
    """Run; exit 0, status ok, empty stderr, exactly `stdout`."""
    rc, resp, err = rb.run(req, **kw)
    assert rc == 0, f"runbox exit {rc}: {short(resp)}\n{err[-2000:]}"
    assert resp.get("status") == "ok" and resp.get("exit_code") == 0, short(resp)
    assert resp["stderr"] == "", short(resp)
    assert resp["stdout"] == stdout, f"stdout {resp['stdout']!r} != {stdout!r}"
    if artifacts is not None:
        assert sorted(resp["artifacts"]) == sorted(artifacts), short(resp)
    return resp


@pytest.fixture
def rb():
    if not os.access(runbox_bin(), os.X_OK):
        pytest.fail(f"runbox binary not found at {runbox_bin()} (run make)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rbwork-", dir="/tmp"))
    os.chmod(workdir, 0o755)
    box = Runbox(workdir)
    yield box
    problems = survivors(proc_hits, box.marks + [box.canary], 1.0)
    problems += unclean_workdir(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        pytest.fail("; ".join(problems))
