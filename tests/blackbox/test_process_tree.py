"""Process tree: hard deadline, grandchildren holding pipes, daemons, cleanup.

The fixture checks after every test that no process carrying the request's
marker survives; these tests additionally track processes that wiped their
environment via a unique sleep duration in their command line (pids printed
by the program may be pid-namespace pids, so they are not used).
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import ok, ran, stdin_only


def unique_sleep(rb):
    # a sleep duration nobody else uses, to find the process by its cmdline
    s = f"{random.randint(500, 900)}.{random.randint(10**6, 10**7 - 1)}"
    rb.watch.append(s)
    return s


def pids_from(stdout):
    return [int(x) for x in stdout.split() if x.isdigit()]


def test_grandchild_holding_pipes_main_exits(rb):
    s = unique_sleep(rb)
    script = (f"import subprocess, os\np = subprocess.Popen(['sleep', '{s}'])\n"
              "print(p.pid, flush=True)\nprint('main done')")
    resp = ran(rb, {"script": script, "timeout_s": 2}, timeout=30)
    assert rb.last_elapsed < 3.5, rb.last_elapsed
    assert "main done" in resp["stdout"]


def test_grandchild_holding_pipes_main_sleeps(rb):
    s = unique_sleep(rb)
    script = (f"import subprocess, time\np = subprocess.Popen(['sleep', '{s}'])\n"
              "print(p.pid, flush=True)\ntime.sleep(60)")
    resp = ran(rb, {"script": script, "timeout_s": 1}, status="timeout", exit_code=124, timeout=30)
    assert rb.last_elapsed < 2.5


def test_bash_background_job_holding_pipes(rb):
    s = unique_sleep(rb)
    resp = ran(rb, {"script": f"sleep {s} &\necho $!\necho bye", "language": "bash", "timeout_s": 2}, timeout=30)
    assert rb.last_elapsed < 3.5
    assert resp["stdout"].endswith("bye\n")


def test_setsid_double_fork_daemon_killed(rb):
    s = unique_sleep(rb)
    script = (
        "import os, sys, signal\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):\n"
        "            signal.signal(sig, signal.SIG_IGN)\n"
        "        print(os.getpid(), flush=True)\n"
        "        fd = os.open('/dev/null', os.O_RDWR)\n"
        "        for i in (0, 1, 2):\n"
        "            os.dup2(fd, i)\n"
        f"        os.execve('/bin/sleep', ['sleep', '{s}'], {{}})\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "import time\ntime.sleep(0.3)\nprint('parent done')\n")
    resp = ran(rb, {"script": script, "timeout_s": 3}, timeout=30)
    assert resp["stdout"].endswith("parent done\n")
    assert rb.last_elapsed < 4.5


def test_setsid_daemon_keeping_pipes(rb):
    s = unique_sleep(rb)
    script = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        print(os.getpid(), flush=True)\n"
        f"        os.execv('/bin/sleep', ['sleep', '{s}'])\n"
        "    os._exit(0)\n"
        "os.wait()\nimport time\ntime.sleep(0.3)\n")
    resp = ran(rb, {"script": script, "timeout_s": 2}, timeout=30)
    assert rb.last_elapsed < 3.5


def test_bash_setsid_nohup_disown(rb):
    s1, s2 = unique_sleep(rb), unique_sleep(rb)
    script = (f"setsid sleep {s1} >/dev/null 2>&1 < /dev/null &\n"
              f"nohup sleep {s2} >/dev/null 2>&1 &\ndisown\n"
              "(trap '' HUP TERM; exec sleep 777.777 ) &\n"
              "echo started")
    rb.watch.append("777.777")
    resp = ran(rb, {"script": script, "language": "bash", "timeout_s": 2}, timeout=30)
    assert resp["stdout"] == "started\n"
    assert rb.last_elapsed < 3.5


def test_many_children_all_killed(rb):
    s = unique_sleep(rb)
    script = ("import subprocess\nps = [subprocess.Popen(['sleep', '%s']) for _ in range(40)]\n"
              "print(' '.join(str(p.pid) for p in ps), flush=True)\nimport time\ntime.sleep(60)") % s
    resp = ran(rb, {"script": script, "timeout_s": 1.5}, status="timeout", exit_code=124, timeout=30)
    assert len(pids_from(resp["stdout"])) == 40


def test_forking_loop_until_timeout(rb):
    # a program that keeps forking short-lived children until the deadline
    script = ("import os, time\n"
              "while True:\n"
              "    try:\n"
              "        if os.fork() == 0:\n"
              "            time.sleep(0.2)\n"
              "            os._exit(0)\n"
              "    except OSError:\n"
              "        time.sleep(0.01)\n"
              "    try:\n"
              "        while os.waitpid(-1, os.WNOHANG)[0]:\n"
              "            pass\n"
              "    except ChildProcessError:\n"
              "        pass\n")
    ran(rb, {"script": script, "timeout_s": 1}, status="timeout", exit_code=124, timeout=30)
    assert rb.last_elapsed < 3


def test_exit_with_children_still_running_has_program_exit_code(rb):
    s = unique_sleep(rb)
    script = (f"import subprocess, sys\nsubprocess.Popen(['sleep', '{s}'], stdout=subprocess.DEVNULL, "
              "stderr=subprocess.DEVNULL)\nsys.exit(3)")
    resp = ran(rb, {"script": script, "timeout_s": 5}, timeout=30)
    assert resp["exit_code"] == 3 and resp["status"] == "error"
    assert rb.last_elapsed < 3


def test_response_time_independent_of_timeout_when_program_exits(rb):
    t0 = time.monotonic()
    ok(rb, {"script": "print(1)", "timeout_s": 300})
    assert time.monotonic() - t0 < 3


def test_workspace_removed_with_planted_symlinks(rb, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    os.chmod(tmp_path, 0o755)
    os.chmod(victim, 0o777)
    os.chmod(victim / "keep.txt", 0o666)
    script = ("import os\n"
              f"os.symlink({str(victim)!r}, 'link_dir')\n"
              f"os.symlink({str(victim / 'keep.txt')!r}, 'link_file')\n"
              f"os.symlink({str(victim)!r}, 'output/out_link')\n"
              "os.makedirs('deep/a/b')\n"
              f"os.symlink({str(victim)!r}, 'deep/a/b/l')\n"
              "os.makedirs('locked/inner')\nopen('locked/inner/f','w').write('x')\nos.chmod('locked/inner', 0)\n"
              "os.chmod('locked', 0)\n"
              "print('planted')")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "planted\n"
    assert (victim / "keep.txt").read_text() == "precious"
    assert sorted(os.listdir(victim)) == ["keep.txt"]


def test_workspace_removed_after_deep_tree(rb):
    script = ("import os\np = '.'\nfor i in range(200):\n    p = os.path.join(p, 'd')\n    os.mkdir(p)\n"
              "open(os.path.join(p, 'f'), 'w').write('x')\nprint('ok')")
    assert ok(rb, {"script": script})["stdout"] == "ok\n"


def test_answer_comes_before_a_slow_workspace_removal(rb):
    # 20000 directories in a workspace on disk take a second or more to
    # remove; the answer must not wait for that (its deadline is the
    # program's timeout), but runbox exits only once all of it is gone.
    stdin_only("when runbox exits, against when it answers, is stdin mode's")
    script = ("import os\nfor i in range(20000):\n    os.mkdir(f'd{i}')\nprint('made')")
    env = rb.base_env({"RUNBOX_WORKSPACE_BYTES": "0"})
    p = subprocess.Popen([str(rb.bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, cwd=str(rb.workdir.parent),
                         start_new_session=True)
    p.stdin.write(json.dumps({"script": script, "timeout_s": 60}).encode())
    p.stdin.close()
    line = p.stdout.readline()
    still_removing = p.poll() is None and os.listdir(rb.workdir) != []
    resp = json.loads(line)
    assert resp["stdout"] == "made\n", resp
    assert p.wait(timeout=120) == 0
    assert still_removing, "the answer came only after the workspace was removed"
    assert os.listdir(rb.workdir) == []


def test_workspace_removed_after_refusal(rb):
    from conftest import refused
    refused(rb, {"script": "print(1)", "context": {"a": "x", "../b": "y"}}, "invalid_path", "context.../b")


def test_concurrent_requests_are_isolated(rb):
    # several requests at once (runbox processes, or runs of one server):
    # each answers for its own program, with its own workspace and artifacts
    import concurrent.futures
    reqs = []
    for i in range(4):
        mark = rb.new_mark()
        script = (f"import os, time\nopen('output/me.txt','w').write('{i}')\n"
                  "time.sleep(0.8)\n"
                  "print(os.environ['RBTEST_MARK'][-6:], os.path.realpath(os.getcwd()))")
        reqs.append((i, mark, {"script": script, "timeout_s": 10, "env": {"RBTEST_MARK": mark}}))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda r: rb.run(r[2], timeout=30), reqs))
    cwds = set()
    for (i, mark, _), (rc, resp, _) in zip(reqs, answers):
        assert rc == 0, resp
        assert resp["status"] == "ok", resp
        tail, cwd = resp["stdout"].split()
        assert tail == mark[-6:]
        assert resp["artifacts"] == {"me.txt": str(i)}
        cwds.add(cwd)
    assert len(cwds) == 4


def test_stopped_program_times_out(rb):
    script = "import os, signal\nprint('stopping', flush=True)\nos.kill(os.getpid(), signal.SIGSTOP)\nprint('resumed')"
    resp = ran(rb, {"script": script, "timeout_s": 1}, status="timeout", exit_code=124, timeout=30)
    assert resp["stdout"] == "stopping\n"
    assert rb.last_elapsed < 2.5


def test_stopped_grandchild_is_killed(rb):
    s = unique_sleep(rb)
    script = (f"import subprocess, signal\np = subprocess.Popen(['sleep', '{s}'])\n"
              "p.send_signal(signal.SIGSTOP)\nprint('done')")
    resp = ran(rb, {"script": script, "timeout_s": 2}, timeout=30)
    assert resp["stdout"] == "done\n"
    assert rb.last_elapsed < 3.5


def test_stale_workspace_of_a_killed_runbox_is_removed(rb, tmp_path):
    # A runbox SIGKILLed while its workspace is a directory on the host
    # (RUNBOX_SANDBOX=off keeps it there) leaves it behind, with its uid
    # slot marked; the next run that takes that slot removes it (README,
    # "How a program runs").  Slot 0 is the only slot here, in a state
    # directory of the test's own, which no other runbox holds a slot of.
    stdin_only("the test SIGKILLs the runbox process of one request")
    base = 1900000000 + 123456
    state = str(tmp_path / "state")
    env = rb.base_env({"RUNBOX_UID_BASE": str(base), "RUNBOX_UID_SLOTS": "1",
                       "RUNBOX_SANDBOX": "off", "RUNBOX_STATE_DIR": state})
    body = json.dumps({"script": "import os, time\nos.makedirs('output/deep')\n"
                       "open('output/deep/f.txt', 'w').write('x')\nprint('up', flush=True)\n"
                       "time.sleep(60)", "timeout_s": 90}).encode()
    p = subprocess.Popen([str(rb.bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, cwd=str(rb.workdir.parent),
                         start_new_session=True)
    p.stdin.write(body)
    p.stdin.close()
    deadline = time.monotonic() + 30
    stale = []
    while time.monotonic() < deadline:
        stale = [d for d in rb.workdir.iterdir()
                 if d.name.startswith("runbox-") and (d / "output" / "deep" / "f.txt").exists()]
        if stale:
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    p.stdout.close()
    assert stale, "the program never wrote its file"
    assert stale[0].exists(), "a SIGKILLed runbox cannot have removed its workspace"
    resp = ok(rb, {"script": "import os\nprint(os.getuid())"},
              env={"RUNBOX_UID_BASE": str(base), "RUNBOX_UID_SLOTS": "1",
                   "RUNBOX_STATE_DIR": state})
    assert resp["stdout"] == f"{base}\n"
    assert not stale[0].exists()


def test_workspace_left_before_slots_were_marked_is_removed(rb, tmp_path):
    # A slot whose lock file was never written with a mark (a new state dir,
    # or one kept from a runbox that predates marks) is scanned once: a
    # workspace of its uid left in the work dir goes.
    import os as _os
    stdin_only("the test gives runbox a state dir of its own, which is one process's place")
    base = 1900000000 + 123456
    stale = rb.workdir / "runbox-stale1"
    (stale / "output" / "deep").mkdir(parents=True)
    (stale / "output" / "deep" / "f.txt").write_text("x")
    for root, dirs, files in _os.walk(stale):
        for n in dirs + files:
            _os.lchown(_os.path.join(root, n), base, base)
    _os.lchown(stale, base, base)
    env = {"RUNBOX_UID_BASE": str(base), "RUNBOX_UID_SLOTS": "1",
           "RUNBOX_STATE_DIR": str(tmp_path / "state")}
    resp = ok(rb, {"script": "import os\nprint(os.getuid())"}, env=env)
    assert resp["stdout"] == f"{base}\n"
    assert not stale.exists()
    assert (tmp_path / "state" / "slot-0.lock").read_text() == "-"


def test_check_reports_every_layer(rb):
    import json as _json
    r = rb.cli(["check"])
    assert r.returncode == 0, r.stderr
    rep = _json.loads(r.stdout)
    for layer in ("seccomp", "landlock", "pidns", "netns", "ipcns", "utsns", "mountns",
                  "no_new_privs", "uid_drop"):
        assert rep[layer]["available"] is True and rep[layer]["self_test"] == "ok", (layer, rep)
    assert rep["required_ok"] is True
    r = rb.cli(["check"], env={"RUNBOX_REQUIRE": "seccomp,nonsense"})
    assert r.returncode == 1


def _children(pid):
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def test_stopping_the_init_does_not_end_the_run(rb):
    # runbox's init (pid 1 of the run's namespace) waits in poll(); after a
    # SIGSTOP/SIGCONT the kernel resumes that call through restart_syscall,
    # which its own seccomp filter must allow, or the run dies as a
    # "blocked_syscall" that the program never made.
    import json as _json
    import subprocess
    import time
    stdin_only("the test finds the run's init among the children of the runbox of one request")
    need_init = ok(rb, {"script": "import os\nprint(os.getpid())"})
    if need_init["stdout"] != "2\n":
        pytest.skip("no pid namespace here: no init to stop")
    p = subprocess.Popen([str(rb.bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=rb.base_env(),
                         cwd=str(rb.workdir.parent))
    p.stdin.write(_json.dumps({"script": "import time\ntime.sleep(1.5)\nprint('done')"}).encode())
    p.stdin.close()
    deadline = time.monotonic() + 10
    inits = []
    while not inits and time.monotonic() < deadline:
        time.sleep(0.05)
        inits = _children(p.pid)
    assert inits, "runbox started no init"
    time.sleep(0.3)
    for sig in (signal.SIGSTOP, signal.SIGCONT):
        os.kill(inits[0], sig)
        time.sleep(0.2)
    resp = _json.loads(p.stdout.read())
    p.wait(30)
    assert resp["status"] == "ok" and resp["stdout"] == "done\n", resp


def test_work_dir_with_dotdot_leaves_nothing_outside_tmp(rb):
    # "/tmp/../var/tmp/x" starts with /tmp/ but is not under the run's private
    # /tmp: the workspace must not be made (and left) on the host's /var/tmp.
    import shutil
    import tempfile
    outside = tempfile.mkdtemp(prefix="rbbb-outside-", dir="/var/tmp")
    try:
        os.chmod(outside, 0o755)
        resp = ok(rb, {"script": "import os\nprint(os.getcwd())"},
                  env={"RUNBOX_WORK_DIR": "/tmp/.." + outside})
        assert "runbox-" in resp["stdout"]
        assert os.listdir(outside) == [], os.listdir(outside)
    finally:
        shutil.rmtree(outside, ignore_errors=True)


@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_an_answer_that_cannot_be_written_is_a_fault(rb, stdout):
    # exit 1 and a line on stderr, never a silent 0; with fd 1 closed runbox
    # must not write its answer into whatever it opened next.
    stdin_only("the answer's stdout is stdin mode's")
    body = json.dumps({"script": "print(1)"}).encode()
    out = open("/dev/full", "wb") if stdout == "full" else None
    kw = {"stdout": out} if out else {"pass_fds": (), "close_fds": True}
    argv = [str(rb.bin)] if out else ["sh", "-c", 'exec "$0" >&-', str(rb.bin)]
    p = subprocess.run(argv, input=body, stderr=subprocess.PIPE, env=rb.base_env(),
                       cwd=str(rb.workdir.parent), timeout=60, **kw)
    if out:
        out.close()
    assert p.returncode == 1, p.stderr[-2000:]
    assert b"could not write the answer to stdout" in p.stderr
    assert os.listdir(rb.workdir) == []


def test_a_reader_gone_in_the_middle_of_a_streamed_answer(rb):
    # Megabytes of artifacts are written as they are encoded: a reader that
    # stops after the first bytes must get runbox's exit 1, not a runbox
    # killed by SIGPIPE with its workspace left behind.
    stdin_only("the answer's stdout is stdin mode's")
    body = json.dumps({"script": "import os\nos.makedirs('output', exist_ok=True)\n"
                                 "open('output/b.bin','wb').write(os.urandom(4 << 20))"}).encode()
    r, w = os.pipe()
    p = subprocess.Popen([str(rb.bin)], stdin=subprocess.PIPE, stdout=w, stderr=subprocess.PIPE,
                         env=rb.base_env(), cwd=str(rb.workdir.parent))
    os.close(w)
    p.stdin.write(body)
    p.stdin.close()
    assert os.read(r, 64).startswith(b'{"exit_code":0,')
    os.close(r)
    err = p.stderr.read()
    assert p.wait(timeout=60) == 1, err[-2000:]
    assert b"could not write the answer to stdout: Broken pipe" in err
    assert os.listdir(rb.workdir) == []
