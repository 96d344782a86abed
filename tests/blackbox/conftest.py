"""Black-box harness for runbox.

The binary comes from RUNBOX_BIN (default build/runbox, relative to the repo
root), so the same suite runs against the static build and the ASan build;
the driver and the checks are tests/helpers/harness.py's.

Every test gets a private RUNBOX_WORK_DIR.  After every test the fixture
checks that
  * the work dir is empty (the per-request workspace was removed), and
  * no process started by the test is still alive: each stdin-mode request
    gets a unique marker in its `env`, and /proc/*/environ, cmdline and cwd
    are scanned for the markers (and for the per-test canary that only
    runbox's own environment holds) after a short grace period.

runbox's own environment holds a canary secret (RUNBOX_TEST_CANARY and
AWS_SECRET_ACCESS_KEY) that must never appear in any response.
"""

import base64
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import MISSING as _MISSING, REPO, KiB, MiB, short  # noqa: E402,F401
from harness import served_servers, stdin_only  # noqa: E402,F401 (a fixture; a skip)

# Keys of a response for a program that ran.
RAN_KEYS = {
    "exit_code", "stdout", "stderr", "artifacts", "status", "duration_ms",
    "timeout_s", "timeout_clamped", "start", "truncated", "sandbox", "dependencies",
}
MARK_NAME = "RBTEST_MARK"


def runbox_bin():
    return harness.binary()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: exercises the pre-installed scientific packages (seconds each)")


def b64(data):
    return base64.b64encode(data).decode("ascii")


class Runbox(harness.Runbox):
    """Drives the binary as root; one instance per test.  `watch` holds
    extra strings that no process may hold after the test."""

    mark_name = MARK_NAME

    def __init__(self, workdir):
        self.canary = harness.canary("canary-")
        super().__init__(workdir, env={"RUNBOX_TEST_CANARY": self.canary,
                                       "AWS_SECRET_ACCESS_KEY": self.canary + "-aws"},
                         secrets=[self.canary])
        self.watch = []


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
    assert resp["status"] in harness.STATUSES, resp["status"]
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


def ran(rb, req, env=None, timeout=60, mark=True, status=_MISSING, exit_code=_MISSING):
    rc, resp, err = rb.run(req, env=env, timeout=timeout, mark=mark)
    assert rc == 0, f"exit {rc}, response {short(resp)}\nstderr: {err[-2000:]}"
    check_ran_shape(resp)
    return harness.assert_ran(rc, resp, err, status, exit_code)


def ok(rb, req, **kw):
    """Ran, exit 0, status ok, empty stderr; return the response."""
    resp = ran(rb, req, **kw)
    assert resp["status"] == "ok" and resp["exit_code"] == 0, short(resp)
    return resp


def refused(rb, req, code, field=_MISSING, env=None, timeout=60, mark=True):
    rc, resp, err = rb.run(req, env=env, timeout=timeout, mark=mark)
    return harness.assert_refused(rc, resp, code, field)


# ---------------------------------------------------------------------------
# Fixture
# ---------------------------------------------------------------------------

@pytest.fixture
def rb():
    harness.require(runbox_bin())
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rbbb-", dir="/tmp"))
    os.chmod(workdir, 0o755)
    box = Runbox(workdir)
    box.prepare()
    yield box
    # No process of the test survives (short grace), and the work dir is empty.
    problems = box.leftovers(0.5, needles=box.watch)
    shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        pytest.fail("; ".join(problems))
