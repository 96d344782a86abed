"""The image's entrypoint in stdin mode, through a pipe: `echo REQ | <engine>
run -i IMAGE` answers one JSON line, with runbox's documented exit statuses,
as the image's user, with the image's serverless defaults, and `runbox check`
reports honestly what the container's default profile allows."""

import json

import pytest

from conftest import IMAGE, IMAGE_UID, engine, request, run_image


def test_a_request_through_a_pipe():
    status, resp, _ = request({"script": "import sys; print(2 + 2); print(sys.version_info[:2])"})
    assert status == 0
    assert resp["exit_code"] == 0 and resp["status"] == "ok"
    assert resp["stdout"] == "4\n(3, 11)\n"
    assert resp["artifacts"] == {}


def test_exactly_one_json_line_on_stdout_and_logs_on_stderr():
    p = run_image(input=json.dumps({"script": "print('x')"}))
    assert p.returncode == 0
    assert p.stdout.count("\n") == 1 and p.stdout.endswith("}\n")
    events = [json.loads(line)["event"] for line in p.stderr.splitlines()]
    assert "run" in events


def test_program_failure_is_exit_0_with_its_code():
    status, resp, _ = request({"script": "import sys; sys.exit(3)"})
    assert status == 0
    assert resp["exit_code"] == 3 and resp["status"] == "error"


def test_refused_request_is_exit_2():
    status, resp, _ = request({"script": 5})
    assert status == 2
    assert resp["code"] == "wrong_type" and resp["field"] == "script"


def test_bash_and_artifacts():
    status, resp, _ = request({"language": "bash",
                               "script": "echo hi > output/a.txt; id -u; printf '%s' \"$1\"",
                               "args": ["arg"]})
    assert status == 0
    assert resp["stdout"] == f"{IMAGE_UID}\narg"
    assert resp["artifacts"] == {"a.txt": "hi\n"}


LIMITS_SCRIPT = ("import os, resource\n"
                 "print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0],"
                 " resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
                 "print(os.getcwd().startswith('/tmp/runbox-'))\n"
                 "print(os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'))\n")


def sized_procs(memory, runs=1):
    """The process limit runbox sizes where runs get no memory control group:
    as many processes of RUNBOX_MEMORY_BYTES (1 GiB here) as @memory holds
    for @runs runs, from 8 to 64."""
    return max(8, min(64, memory // (runs << 30)))


def nproc_is(resp, got, n):
    """RLIMIT_NPROC gives the run n processes: n (and the pid namespace's init) with a user
    namespace of the run's own; else n on top of the tasks of runbox's uid, which the
    kernel counts with the run's (cmd/runbox/README.md, RUNBOX_MAX_PROCS)."""
    ns = resp["sandbox"]["namespaces"]
    if "user" in ns:
        return got == n + ("pid" in ns)
    return n < got <= n + 64


def test_the_image_defaults_reach_the_program_limits():
    status, resp, _ = request({"script": LIMITS_SCRIPT})
    assert status == 0
    as_, fsize, nproc, cwd, total = resp["stdout"].split()
    assert (int(as_), int(fsize), cwd) == (1 << 30, 64 << 20, "True"), resp
    if not resp["sandbox"]["cgroup"]:
        # The image leaves the process limit to runbox: sized to the machine.
        assert nproc_is(resp, int(nproc), sized_procs(int(total))), resp


def test_the_process_limit_fits_the_containers_memory():
    # A container with a memory limit: the process limit is sized to it, not
    # to the host's memory, so that a run's worst case fits the instance.
    status, resp, _ = request({"script": LIMITS_SCRIPT}, opts=["--memory", "16g"])
    assert status == 0
    if resp["sandbox"]["cgroup"]:
        pytest.skip("runs get control groups of their own in this engine's containers")
    total = int(resp["stdout"].split()[-1])
    assert nproc_is(resp, int(resp["stdout"].split()[2]), sized_procs(min(total, 16 << 30))), resp
    # What an operator sets is what a run gets.
    status, resp, _ = request({"script": LIMITS_SCRIPT}, opts=["--memory", "16g"],
                              env={"RUNBOX_MAX_PROCS": "40"})
    assert status == 0 and nproc_is(resp, int(resp["stdout"].split()[2]), 40), resp


def test_timeout_kills_the_program():
    status, resp, _ = request({"script": "import time; time.sleep(30)", "timeout_s": 1})
    assert status == 0
    assert resp["status"] == "timeout" and resp["exit_code"] == 124


def test_image_metadata():
    p = engine("image", "inspect", IMAGE)
    assert p.returncode == 0, p.stderr
    cfg = json.loads(p.stdout)[0]["Config"]
    assert cfg["Entrypoint"] == ["/usr/local/bin/runbox"]
    assert cfg["User"] == f"{IMAGE_UID}:{IMAGE_UID}"
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["RUNBOX_WORK_DIR"] == "/tmp"
    assert env["RUNBOX_CACHE_DIR"] == "/opt/runbox/cache"


def test_runbox_is_the_static_build():
    p = run_image("-c", "head -c 4 /usr/local/bin/runbox | od -An -c; /usr/local/bin/runbox --version",
                  entrypoint="/bin/sh")
    assert p.returncode == 0, p.stderr
    assert "E   L   F" in p.stdout and "runbox" in p.stdout
    # a static binary has no program interpreter: ldd says so
    p = run_image("-c", "ldd /usr/local/bin/runbox 2>&1 || true", entrypoint="/bin/sh")
    assert "not a dynamic executable" in p.stdout


def test_check_reports_what_the_container_gives():
    p = run_image("check")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["root"] is False
    assert rep["seccomp"]["self_test"] == "ok"
    assert rep["no_new_privs"]["self_test"] == "ok"
    assert rep["uid_drop"]["available"] is False
    # Unprivileged user namespaces work in the engine's default container,
    # and with them net, ipc and mount namespaces; a pid namespace does not,
    # because its fresh /proc cannot be mounted over a /proc whose paths the
    # engine masks, and runbox says exactly that.
    for ns in ("userns", "netns", "ipcns", "mountns"):
        assert rep[ns]["available"] is True and rep[ns]["self_test"] == "ok", rep[ns]
    assert rep["pidns"]["available"] is False
    assert "fresh /proc" in rep["pidns"]["detail"]
    # ... and each run names exactly what was applied.
    status, resp, stderr = request({"script": "print(1)"})
    assert status == 0 and resp["stdout"] == "1\n"
    names = {"userns": "user", "pidns": "pid", "netns": "net", "ipcns": "ipc", "utsns": "uts",
             "mountns": "mount"}
    assert resp["sandbox"]["namespaces"] == [n for k, n in names.items() if rep[k]["available"]]
    assert resp["sandbox"]["seccomp"] is True
    degraded = [json.loads(line) for line in stderr.splitlines() if '"degraded"' in line]
    assert any("pidns" in d["message"] for d in degraded)


def test_require_seccomp_is_met_and_require_a_namespace_is_refused():
    status, resp, _ = request({"script": "print(1)"}, env={"RUNBOX_REQUIRE": "seccomp,no_new_privs"})
    assert status == 0 and resp["stdout"] == "1\n"
    status, resp, _ = request({"script": "print(1)"}, env={"RUNBOX_REQUIRE": "seccomp,pidns"})
    assert status == 1
    assert resp["code"] == "sandbox_unavailable"


def test_network_is_refused_to_a_program():
    script = ("import socket\ntry:\n    socket.create_connection(('10.0.2.2', 80), timeout=2)\n"
              "except OSError as e:\n    print(type(e).__name__, e.errno)")
    status, resp, _ = request({"script": script})
    assert status == 0
    assert resp["stdout"] == "PermissionError 13\n"
