"""Workload suite harness (driver and checks: tests/helpers/harness.py).

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
import sys
import tempfile
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import short  # noqa: E402,F401

MARK = "RBWORK_MARK"


def runbox_bin():
    return harness.binary()


class Runbox(harness.Runbox):
    mark_name = MARK
    mark_prefix = "rbworkmark"
    timeout = 90

    def __init__(self, workdir):
        self.canary = "rbwork-canary-" + uuid.uuid4().hex
        super().__init__(workdir, env={"RUNBOX_TEST_CANARY": self.canary}, log="off",
                         secrets=[self.canary], cwd=None)

    def check(self):
        p = self.cli(["check"])
        return p.returncode, json.loads(p.stdout)


def ok(rb, req, stdout, artifacts=None, **kw):
    """Run; exit 0, status ok, empty stderr, exactly `stdout`."""
    rc, resp, err = rb.run(req, **kw)
    harness.assert_ran(rc, resp, err, status="ok", exit_code=0)
    assert resp["stderr"] == "", short(resp)
    assert resp["stdout"] == stdout, f"stdout {resp['stdout']!r} != {stdout!r}"
    if artifacts is not None:
        assert sorted(resp["artifacts"]) == sorted(artifacts), short(resp)
    return resp


@pytest.fixture
def rb():
    harness.require(runbox_bin())
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rbwork-", dir="/tmp"))
    os.chmod(workdir, 0o755)
    box = Runbox(workdir)
    yield box
    problems = box.leftovers(1.0)
    shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        pytest.fail("; ".join(problems))
