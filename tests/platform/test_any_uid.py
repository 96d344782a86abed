"""Unprivileged runbox under a uid that is not the overflow uid.

Inside a fresh user namespace, before its map is written, geteuid() answers
the overflow uid (65534).  A map built from it only works when runbox
happens to run as 65534 (nobody, as most tests do), so this runs runbox as
an arbitrary uid, as a container image's own user (10001) would."""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import harness
from conftest import NS_LAYERS

BIN = os.path.abspath(os.environ.get("RUNBOX_BIN", "build/runbox"))


def as_uid(uid, args, stdin=b"", env=None):
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           "env", "-i", *[f"{k}={v}" for k, v in (env or {}).items()],
                           BIN, *args], input=stdin, capture_output=True, timeout=60)


@pytest.mark.parametrize("uid", [10001, 64123])
def test_namespaces_for_any_unprivileged_uid(uid):
    p = as_uid(uid, ["check"])
    report = json.loads(p.stdout)
    for layer in NS_LAYERS:
        assert report[layer]["available"], (layer, report[layer])
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rb-anyuid-", dir="/tmp"))
    os.chmod(tmp, 0o755)
    work, state = tmp / "work", tmp / "state"
    for d in (work, state):
        d.mkdir(mode=0o700)
        os.chown(d, uid, uid)
    rb = harness.Runbox(work, prefix=harness.setpriv(uid), args=["stdin"],
                        env={"RUNBOX_STATE_DIR": str(state)}, cwd=tmp)
    try:
        rc, resp, err = rb.run({"script": "import os; print(os.getuid(), os.getpid())"})
        assert rc == 0, (resp, err[-1500:])
        assert resp["stdout"] == f"{uid} 2\n", resp  # pid 2: the run's own pid namespace
        assert resp["sandbox"]["namespaces"] == ["user", "pid", "net", "ipc", "uts", "mount"]
        problems = rb.leftovers(1.0)
        assert not problems, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
