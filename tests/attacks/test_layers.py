"""The layers a run reports must be the ones this machine offers ("nothing
degrades silently"); the other attack tests read them to pick
their expectations, so a layer missing here must fail, not skip."""

import subprocess

import pytest

from conftest import AS, NOBODY, kv, ok, py, short


def _unprivileged_userns_works():
    r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
                        "unshare", "--user", "--map-current-user", "--pid", "--net", "--ipc", "--uts",
                        "--mount", "--fork", "true"], capture_output=True)
    return r.returncode == 0


def test_layers_applied(rb):
    resp, L = ok(rb, {"script": "print(1)"})
    sb = resp["sandbox"]
    assert sb["enabled"] is True and sb["seccomp"] is True and sb["no_new_privs"] is True, sb
    assert L.landlock_abi >= 6 and L.landlock_tcp and L.landlock_scoped, sb
    assert sb["network"] is False
    if AS == "root":
        assert sb["uid_drop"] is True
        assert sorted(sb["namespaces"]) == ["ipc", "mount", "net", "pid", "uts"], sb
    else:
        assert sb["uid_drop"] is False
        if _unprivileged_userns_works():
            # this kernel gives unprivileged users user namespaces: runbox must use them
            assert sorted(sb["namespaces"]) == ["ipc", "mount", "net", "pid", "user", "uts"], (
                f"unprivileged user namespaces work here but runbox applied {sb['namespaces']}")
        else:
            assert sb["namespaces"] == [], sb


def test_program_identity(rb):
    resp, L = ok(rb, {"script": "import os\nprint(os.getresuid(), os.getresgid(), os.getgroups())\n"
                                "print(open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])\n"
                                "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])"})
    lines = resp["stdout"].splitlines()
    assert lines[1:] == ["1", "0000000000000000"], resp["stdout"]
    assert "(0, " not in lines[0]


def test_without_landlock_the_mounts_are_read_only(rb):
    # As root with namespaces but no Landlock (refused by an outer filter),
    # the mount namespace re-mounts the host read-only: it is then what keeps
    # the program's writes in the workspace and the private /tmp.
    import copy
    import pathlib
    import shutil
    sim = pathlib.Path(__file__).resolve().parents[2] / "build" / "platform_sim"
    if AS != "root" or not sim.exists():
        pytest.skip("needs root and build/platform_sim (built by make test)")
    # The same runbox, started under the simulator (a server of its own
    # with RUNBOX_VIA=serve), with a state dir of its own.
    state = rb.workdir.parent / (rb.workdir.name + "-state-nolandlock")
    nolandlock = copy.copy(rb)
    nolandlock.prefix = [str(sim), "--no-landlock", "--"] + rb.prefix
    nolandlock.env_base = dict(rb.env_base, RUNBOX_STATE_DIR=str(state))
    try:
        resp, _ = ok(nolandlock, py("for p in ['/etc/rbx', '/var/tmp/rbx', 'w', '/tmp/w']:\n"
                                    "    res(p, eo(lambda: open(p, 'w').close()))\n"))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    assert resp["sandbox"]["landlock"] is False and "mount" in resp["sandbox"]["namespaces"], resp
    assert kv(resp) == {"/etc/rbx": "EROFS", "/var/tmp/rbx": "EROFS", "w": "ok", "/tmp/w": "ok"}, short(resp)
