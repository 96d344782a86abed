"""The image on a read-only root file system, as Lambda runs it (only /tmp
writable), and with /tmp missing, full, or too small for what a program
writes. runbox needs nothing writable outside /tmp; without a writable /tmp
it refuses every request with one clear JSON error instead of failing
half-way. A workspace on /tmp's file system (where runbox cannot make it a
size-capped tmpfs) starts only while /tmp has RUNBOX_MIN_FREE_BYTES free; a
program that fills /tmp gets ENOSPC; nothing of a request is left behind
either way."""

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
    # A workspace that is a directory on /tmp cannot be made.
    status, resp, stderr = request({"script": "print(1)"}, opts=NO_TMP,
                                   env={"RUNBOX_WORKSPACE_BYTES": "0"})
    assert status == 1
    assert resp == {"error": "create a workspace under '/tmp': Read-only file system",
                    "code": "internal_error"}
    # and the log says why the state directory could not be made either
    assert "runbox-state" in stderr
    # Where runbox may take a user namespace, a workspace is a detached tmpfs
    # that only the run's mount namespace attaches: nothing on /tmp is needed.
    status, resp, _ = request({"script": "print(1)"}, opts=NO_TMP)
    if status == 1:
        assert resp["code"] == "internal_error" and "Read-only" in resp["error"], resp
    else:
        assert status == 0 and resp["stdout"] == "1\n", resp
        assert {"user", "mount"} <= set(resp["sandbox"]["namespaces"]), resp


# A workspace on /tmp's own file system, as where runbox cannot take a user
# namespace (Docker's default profile, Azure, Lambda), and a free-space floor
# the 4 MiB /tmp below can meet.
ON_DISK = {"RUNBOX_LOG": "off", "RUNBOX_WORKSPACE_BYTES": "0",
           "RUNBOX_MIN_FREE_BYTES": str(1 << 20)}


def _run(box, script, env):
    p = box.exec("/usr/local/bin/runbox", input=json.dumps({"script": script}), env=env)
    return p.returncode, json.loads(p.stdout)


def test_program_filling_tmp_gets_enospc_and_nothing_is_left(idle_small_tmp):
    box = idle_small_tmp
    rc, resp = _run(box, "open('big', 'wb').write(b'x' * (16 << 20))", ON_DISK)
    assert rc == 0
    assert resp["status"] == "error" and resp["exit_code"] == 1
    assert resp["stderr"].endswith("OSError: [Errno 28] No space left on device\n")
    assert _tmp_listing(box) == ["runbox-state-10001"]
    # the next request has the space back
    rc, resp = _run(box, "print(1)", ON_DISK)
    assert resp["stdout"] == "1\n"


def test_full_tmp_refuses_runs_until_there_is_room(idle_small_tmp):
    box = idle_small_tmp
    p = box.exec("sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=4096 2>/dev/null; df -k /tmp | tail -1")
    assert " 100% " in p.stdout, p.stdout
    # Below the floor: no room now, retry later (exit 75), and nothing made.
    rc, resp = _run(box, "print(1)", ON_DISK)
    assert rc == 75 and resp["code"] == "capacity_exhausted", resp
    assert "RUNBOX_MIN_FREE_BYTES" in resp["error"], resp
    # Without a floor, the workspace cannot be written: one clear error.
    rc, resp = _run(box, "print(1)", {**ON_DISK, "RUNBOX_MIN_FREE_BYTES": "0"})
    assert rc == 1 and resp["code"] == "internal_error", resp
    assert "No space left on device" in resp["error"]
    assert sorted(_tmp_listing(box)) == ["fill", "runbox-state-10001"]
    box.exec("rm", "/tmp/fill")
    rc, resp = _run(box, "print(1)", ON_DISK)
    assert rc == 0 and resp["stdout"] == "1\n"


def test_workspace_tmpfs_where_runbox_may_take_a_user_namespace(idle_small_tmp):
    # Where the engine lets runbox take a user namespace, each workspace is a
    # tmpfs of RUNBOX_WORKSPACE_BYTES: a program fills its own, not /tmp.
    box = idle_small_tmp
    env = {"RUNBOX_LOG": "off", "RUNBOX_WORKSPACE_BYTES": str(8 << 20)}
    script = ("import errno\nn = 0\ntry:\n    with open('big', 'wb') as f:\n"
              "        for _ in range(16):\n            f.write(b'x' * (1 << 20)); f.flush(); n += 1\n"
              "    print(n, 'none')\nexcept OSError as e:\n    print(n, errno.errorcode[e.errno])\n")
    rc, resp = _run(box, script, env)
    assert rc == 0, resp
    ns = resp["sandbox"]["namespaces"]
    if "user" not in ns or "mount" not in ns:
        pytest.skip("this engine gives runbox no user namespace: workspaces are on /tmp")
    mib, why = resp["stdout"].split()
    assert why == "ENOSPC" and int(mib) < 8, resp
    # /tmp (4 MiB, less than the workspace's cap) was never what held it.
    assert _tmp_listing(box) == ["runbox-state-10001"]


def _tmp_listing(box):
    return box.exec("ls", "-A", "/tmp").stdout.split()


@pytest.fixture
def idle_small_tmp(container):
    """Read-only root and a 4 MiB /tmp, idle, for `exec`."""
    return container("infinity", entrypoint="/bin/sleep",
                     opts=NO_TMP + ["--tmpfs", "/tmp:rw,size=4m,mode=1777"])
