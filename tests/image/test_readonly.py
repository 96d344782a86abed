"""The image on a read-only root file system, as Lambda runs it (only /tmp
writable), and with /tmp missing, full, or too small for what a program
writes. runbox needs nothing writable outside /tmp; without a writable /tmp
it refuses every request with one clear JSON error instead of failing
half-way; a full /tmp is the program's ENOSPC or the same clear error, and
nothing of a request is left behind either way."""

import json

import pytest

from conftest import IS_PODMAN, request

# Lambda: read-only root, a 512 MB writable /tmp. `--tmpfs` is explicit so
# docker (whose --read-only adds no tmpfs) behaves the same as podman.
LAMBDA_LIKE = ["--read-only", "--tmpfs", "/tmp:rw,size=512m"]
# No writable place at all: podman's --read-only adds tmpfs mounts on /tmp,
# /var/tmp and /run unless told not to.
NO_TMP = ["--read-only"] + (["--read-only-tmpfs=false"] if IS_PODMAN else [])


def test_read_only_root_runs_programs_and_returns_artifacts():
    script = ("import os\nopen('output/r.txt', 'w').write('ok')\n"
              "for p in ('/etc/x', '/usr/local/x', '/opt/runbox/cache/x', '/x'):\n"
              "    try:\n        open(p, 'w')\n    except OSError as e:\n        print(p, e.errno)\n")
    status, resp, _ = request({"script": script}, opts=LAMBDA_LIKE)
    assert status == 0 and resp["status"] == "ok", resp
    assert resp["artifacts"] == {"r.txt": "ok"}
    # EROFS: the kernel checks the read-only mount before Landlock's hook
    assert resp["stdout"] == "".join(f"{p} 30\n" for p in ("/etc/x", "/usr/local/x", "/opt/runbox/cache/x", "/x"))


def test_read_only_root_runs_the_stack():
    script = "import numpy, pandas, matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.savefig('output/p.png'); print('ok')"
    status, resp, _ = request({"script": script}, opts=LAMBDA_LIKE)
    assert status == 0 and resp["stdout"] == "ok\n", resp
    assert "p.png" in resp["artifacts"]


def test_no_writable_tmp_is_one_clear_error():
    status, resp, stderr = request({"script": "print(1)"}, opts=NO_TMP)
    assert status == 1
    assert resp == {"error": "create a workspace under '/tmp': Read-only file system",
                    "code": "internal_error"}
    # and the log says why the state directory could not be made either
    assert "runbox-state" in stderr


def test_program_filling_tmp_gets_enospc_and_nothing_is_left(idle_small_tmp):
    box = idle_small_tmp
    script = "open('big', 'wb').write(b'x' * (16 << 20))"
    p = box.exec("/usr/local/bin/runbox", input=json.dumps({"script": script}), env={"RUNBOX_LOG": "off"})
    resp = json.loads(p.stdout)
    assert p.returncode == 0
    assert resp["status"] == "error" and resp["exit_code"] == 1
    assert resp["stderr"].endswith("OSError: [Errno 28] No space left on device\n")
    assert _tmp_listing(box) == ["runbox-state-10001"]
    # the next request has the space back
    p = box.exec("/usr/local/bin/runbox", input=json.dumps({"script": "print(1)"}), env={"RUNBOX_LOG": "off"})
    assert json.loads(p.stdout)["stdout"] == "1\n"


def test_full_tmp_is_one_clear_error_and_then_recovers(idle_small_tmp):
    box = idle_small_tmp
    p = box.exec("sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=4096 2>/dev/null; df -k /tmp | tail -1")
    assert " 100% " in p.stdout, p.stdout
    p = box.exec("/usr/local/bin/runbox", input=json.dumps({"script": "print(1)"}), env={"RUNBOX_LOG": "off"})
    assert p.returncode == 1
    resp = json.loads(p.stdout)
    assert resp["code"] == "internal_error"
    assert "No space left on device" in resp["error"]
    assert sorted(_tmp_listing(box)) == ["fill", "runbox-state-10001"]
    box.exec("rm", "/tmp/fill")
    p = box.exec("/usr/local/bin/runbox", input=json.dumps({"script": "print(1)"}), env={"RUNBOX_LOG": "off"})
    assert p.returncode == 0 and json.loads(p.stdout)["stdout"] == "1\n"


def _tmp_listing(box):
    return box.exec("ls", "-A", "/tmp").stdout.split()


@pytest.fixture
def idle_small_tmp(container):
    """Read-only root and a 4 MiB /tmp, idle, for `exec`."""
    return container("infinity", entrypoint="/bin/sleep",
                     opts=NO_TMP + ["--tmpfs", "/tmp:rw,size=4m,mode=1777"])
