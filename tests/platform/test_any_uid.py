"""Unprivileged runbox under a uid that is not the overflow uid.

Inside a fresh user namespace, before its map is written, geteuid() answers
the overflow uid (65534).  A map built from it only works when runbox
happens to run as 65534 (nobody, as most tests do), so this runs runbox as
an arbitrary uid, as a container image's own user (10001) would."""

import json
import os
import subprocess
import tempfile

import pytest

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
    work = tempfile.mkdtemp(prefix="rb-anyuid-", dir="/tmp")
    os.chown(work, uid, uid)
    try:
        p = as_uid(uid, ["stdin"], json.dumps(
            {"script": "import os; print(os.getuid(), os.getpid())"}).encode(),
            {"RUNBOX_WORK_DIR": work, "RUNBOX_STATE_DIR": work + "/state"})
        resp = json.loads(p.stdout)
        assert resp["stdout"] == f"{uid} 2\n", resp  # pid 2: the run's own pid namespace
        assert resp["sandbox"]["namespaces"] == ["user", "pid", "net", "ipc", "uts", "mount"]
        assert os.listdir(work) in ([], ["state"])
    finally:
        subprocess.run(["rm", "-rf", work])
