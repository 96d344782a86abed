"""Limits: timeout, CPU, memory, processes, file size, open files, core, uid."""

import resource

import pytest

from conftest import MiB, ok, ran, short

SLEEPER = "import time\nprint('before', flush=True)\ntime.sleep(60)\nprint('after')"


def last_line(s):
    lines = s.rstrip("\n").splitlines()
    return lines[-1] if lines else ""


@pytest.mark.parametrize("t,shown", [(1, "1"), (0.5, "0.5"), ("1.5", "1.5")])
def test_timeout_kills_and_keeps_partial_output(rb, t, shown):
    resp = ran(rb, {"script": SLEEPER, "timeout_s": t}, status="timeout", exit_code=124)
    tf = float(t)
    assert resp["stdout"] == "before\n"
    assert f"timed out after {shown} s" in last_line(resp["stderr"]), resp["stderr"]
    assert rb.last_elapsed < tf + 1.5, rb.last_elapsed
    assert tf * 1000 <= resp["duration_ms"] <= (tf + 1.5) * 1000, resp["duration_ms"]


def test_timeout_unflushed_print_kept(rb):
    # the child runs unbuffered: no flush needed
    resp = ran(rb, {"script": "import time\nprint('early')\nimport sys\nsys.stderr.write('err-early\\n')\ntime.sleep(60)",
                    "timeout_s": 1}, status="timeout", exit_code=124)
    assert resp["stdout"] == "early\n"
    assert resp["stderr"].startswith("err-early\n")
    assert "timed out after 1 s" in last_line(resp["stderr"])


def test_timeout_bash(rb):
    resp = ran(rb, {"script": "echo start\nsleep 60\necho end", "language": "bash", "timeout_s": 1},
               status="timeout", exit_code=124)
    assert resp["stdout"] == "start\n"
    assert rb.last_elapsed < 2.5


def test_timeout_busy_loop(rb):
    resp = ran(rb, {"script": "while True:\n    pass", "timeout_s": 1}, status="timeout", exit_code=124)
    assert rb.last_elapsed < 2.5


def test_timeout_ignoring_sigterm(rb):
    script = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "signal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
              "print('armed', flush=True)\nwhile True:\n    time.sleep(0.01)")
    resp = ran(rb, {"script": script, "timeout_s": 1}, status="timeout", exit_code=124)
    assert resp["stdout"] == "armed\n"
    assert rb.last_elapsed < 2.5


def test_timeout_clamped_to_configured_max(rb):
    resp = ran(rb, {"script": SLEEPER, "timeout_s": 100}, env={"RUNBOX_MAX_TIMEOUT_S": "1"},
               status="timeout", exit_code=124)
    assert "timed out after 1 s" in last_line(resp["stderr"]), resp["stderr"]
    assert rb.last_elapsed < 2.5


@pytest.mark.parametrize("char", ["\u00e9", "\u20ac", "\U0001f600"])
def test_timeout_line_after_a_full_stderr_cuts_between_characters(rb, char):
    # The line replaces the end of a full stderr: cut where a character ends,
    # so the answer stays within the cap and gains no U+FFFD.
    script = (f"import sys, time\nsys.stderr.write({char!r} * 600000)\nsys.stderr.flush()\n"
              "time.sleep(30)")
    resp = ran(rb, {"script": script, "timeout_s": 1}, status="timeout", exit_code=124)
    err = resp["stderr"]
    assert len(err.encode()) <= MiB
    assert "\ufffd" not in err
    head, line = err.rsplit("\n", 2)[0], err.rsplit("\n", 2)[1]
    assert line == "runbox: timed out after 1 s"
    assert set(head) == {char}
    assert resp["truncated"]["stderr"] is True


def test_finishing_just_before_timeout_is_ok(rb):
    resp = ok(rb, {"script": "import time\ntime.sleep(0.3)\nprint('done')", "timeout_s": 2})
    assert resp["stdout"] == "done\n"


def test_rlimits(rb):
    script = ("import resource as r\n"
              "for n in ('RLIMIT_AS','RLIMIT_CPU','RLIMIT_NPROC','RLIMIT_FSIZE','RLIMIT_NOFILE','RLIMIT_CORE'):\n"
              "    print(n, r.getrlimit(getattr(r, n))[0])")
    resp = ok(rb, {"script": script, "timeout_s": 7})
    cg = resp["sandbox"]["cgroup"]
    # With a pids control group the run's processes are its pids.max (64, and
    # the pid namespace's init), and RLIMIT_NPROC, which counts the whole uid,
    # is left as runbox's own.
    init = "pid" in resp["sandbox"]["namespaces"]
    nproc = (resource.getrlimit(resource.RLIMIT_NPROC)[0] if cg and cg["pids"] else 64 + init)
    assert resp["stdout"].splitlines() == [
        f"RLIMIT_AS {rb.address_space_limit(resp, 1024 * MiB, 'bare')}", "RLIMIT_CPU 8",
        f"RLIMIT_NPROC {nproc}", f"RLIMIT_FSIZE {64 * MiB}", "RLIMIT_NOFILE 256", "RLIMIT_CORE 0"]


def test_uid_dropped_without_groups(rb):
    # as root, each run gets its own uid/gid RUNBOX_UID_BASE + slot (README), no groups
    resp = ok(rb, {"script": "import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())"})
    uid, euid, gid, egid, groups = resp["stdout"].split(" ", 4)
    assert uid == euid == gid == egid and groups == "[]\n"
    assert 1900000000 <= int(uid) < 1900000000 + 256


def test_uid_differs_between_concurrent_runs(rb):
    import concurrent.futures
    # long enough for the four to overlap on a busy machine; a server must
    # take four at once
    script = "import os, time\nprint(os.getuid())\ntime.sleep(3)"
    env = {"RUNBOX_CONCURRENCY": "4"}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: ok(rb, {"script": script}, env=env)["stdout"], range(4)))
    assert len(set(outs)) == 4, outs


def test_uid_dropped_with_sandbox_off(rb):
    resp = ok(rb, {"script": "import os\nprint(os.getuid() != 0, os.getgroups())"},
              env={"RUNBOX_SANDBOX": "off"})
    assert resp["stdout"] == "True []\n"


def test_uid_not_root_and_no_groups(rb):
    script = ("import os\nr = os.getresuid() + os.getresgid()\n"
              "print(all(x != 0 for x in r), len(set(os.getresuid())) == 1, os.getgroups())")
    assert ok(rb, {"script": script})["stdout"] == "True True []\n"


def test_uid_configurable(rb):
    resp = ok(rb, {"script": "import os\nprint(os.getuid(), os.getgid(), os.getgroups())"},
              env={"RUNBOX_UID": "12345", "RUNBOX_GID": "23456"})
    assert resp["stdout"] == "12345 23456 []\n"


def test_own_session_and_group(rb):
    # the session leader is inside the sandbox (getsid() is 0 when the leader lies outside
    # the program's pid namespace, and equals runbox's session without setsid)
    script = ("import os\nsid, pgid = os.getsid(0), os.getpgid(0)\n"
              "print(sid > 0, pgid > 0, os.path.exists(f'/proc/{sid}'))\n"
              "try:\n    open('/dev/tty')\n    print('tty')\nexcept OSError:\n    print('no tty')")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "True True True\nno tty\n"


def test_only_fds_0_1_2(rb):
    resp = ok(rb, {"script": "import os\nprint(sorted(int(f) for f in os.listdir('/proc/self/fd')))"})
    # 3 is the directory listing itself
    assert resp["stdout"] == "[0, 1, 2, 3]\n"


def test_cannot_regain_root(rb):
    resp = ok(rb, {"script": "import os\ntry:\n    os.setuid(0)\n    print('ROOT')\nexcept PermissionError:\n    print('denied')"})
    assert resp["stdout"] == "denied\n"


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------

def test_memory_2gib_fails(rb):
    resp = ran(rb, {"script": "b = bytearray(2 * 1024**3)\nprint('allocated')"}, status="memory_limit", exit_code=1)
    assert resp["stdout"] == ""
    assert last_line(resp["stderr"]) == "MemoryError", resp["stderr"]


def test_memory_numpy_2gib_fails(rb):
    resp = ran(rb, {"script": "import numpy as np\na = np.ones(2 * 1024**3 // 8)\nprint(a.sum())"},
               status="memory_limit", exit_code=1)
    assert "MemoryError" in last_line(resp["stderr"]), resp["stderr"]


def test_memory_under_limit_ok(rb):
    # 800 MiB of address space fits under the 1 GiB limit (mapped, one page touched)
    resp = ok(rb, {"script": "import mmap\nm = mmap.mmap(-1, 800 * 1024**2)\nm[-1] = 1\nprint(len(m))"})
    assert resp["stdout"] == f"{800 * MiB}\n"


def test_memory_error_caught_by_program_is_ok(rb):
    resp = ok(rb, {"script": "try:\n    b = bytearray(2 * 1024**3)\nexcept MemoryError:\n    print('caught')"})
    assert resp["stdout"] == "caught\n"


# ---------------------------------------------------------------------------
# CPU
# ---------------------------------------------------------------------------

def test_cpu_limit_sigxcpu(rb):
    # the program lowers its own soft CPU limit so the test is fast and deterministic
    script = ("import resource as r\nsoft, hard = r.getrlimit(r.RLIMIT_CPU)\n"
              "r.setrlimit(r.RLIMIT_CPU, (1, hard))\nprint('spin', flush=True)\nwhile True:\n    pass")
    resp = ran(rb, {"script": script, "timeout_s": 4}, status="cpu_limit", exit_code=128 + 24)
    assert resp["stdout"] == "spin\n"
    assert rb.last_elapsed < 4


def test_cpu_soft_limit_is_timeout_plus_one(rb):
    resp = ok(rb, {"script": "import resource as r\ns, h = r.getrlimit(r.RLIMIT_CPU)\nprint(s, h >= s)", "timeout_s": 3})
    assert resp["stdout"] == "4 True\n"


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

def test_process_limit_binds(rb):
    script = ("import os, time, errno\nn = 0\nerr = None\n"
              "for i in range(200):\n"
              "    try:\n"
              "        pid = os.fork()\n"
              "    except OSError as e:\n"
              "        err = e.errno\n"
              "        break\n"
              "    if pid == 0:\n"
              "        time.sleep(60)\n"
              "        os._exit(0)\n"
              "    n += 1\n"
              "print(n < 64, err == errno.EAGAIN)")
    resp = ran(rb, {"script": script, "timeout_s": 5}, timeout=30)
    assert resp["stdout"] == "True True\n", short(resp)
    assert rb.last_elapsed < 6.5


def test_threads_limited_too(rb):
    script = ("import threading, time\nn = 0\n"
              "try:\n"
              "    for i in range(200):\n"
              "        threading.Thread(target=time.sleep, args=(3,), daemon=True).start()\n"
              "        n += 1\n"
              "except RuntimeError:\n"
              "    pass\n"
              "print(n < 64)\nimport os\nos._exit(0)")
    resp = ok(rb, {"script": script, "timeout_s": 5})
    assert resp["stdout"] == "True\n"


# ---------------------------------------------------------------------------
# file size
# ---------------------------------------------------------------------------

def test_file_size_at_limit(rb):
    script = ("with open('big.bin', 'wb') as f:\n"
              "    for _ in range(64):\n"
              "        f.write(b'\\0' * 1048576)\n"
              "import os\nprint(os.path.getsize('big.bin'))")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == f"{64 * MiB}\n"


def test_file_size_one_past_limit_python(rb):
    script = ("with open('big.bin', 'wb') as f:\n"
              "    for _ in range(64):\n"
              "        f.write(b'\\0' * 1048576)\n"
              "    print('64 written', flush=True)\n"
              "    f.write(b'\\0')\n"
              "    f.flush()\n"
              "print('unreachable')")
    resp = ran(rb, {"script": script}, status="file_size_limit")
    assert resp["stdout"] == "64 written\n"
    assert resp["exit_code"] != 0


def test_file_size_sigxfsz_kills(rb):
    script = "exec head -c 68157440 /dev/zero > big.bin"
    ran(rb, {"script": script, "language": "bash"}, status="file_size_limit", exit_code=128 + 25)


# ---------------------------------------------------------------------------
# open files
# ---------------------------------------------------------------------------

def test_open_files_limit(rb):
    script = ("import errno\nfs = []\n"
              "try:\n"
              "    for i in range(400):\n"
              "        fs.append(open('/dev/null'))\n"
              "except OSError as e:\n"
              "    print(len(fs) < 256, e.errno == errno.EMFILE)")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "True True\n"


# ---------------------------------------------------------------------------
# statuses for signals
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sig,num,status", [("SIGKILL", 9, "killed"), ("SIGABRT", 6, "killed"),
                                            ("SIGSEGV", 11, "killed"), ("SIGTERM", 15, "killed"),
                                            ("SIGSYS", 31, "blocked_syscall"), ("SIGXCPU", 24, "cpu_limit"),
                                            ("SIGXFSZ", 25, "file_size_limit")])
def test_signal_statuses(rb, sig, num, status):
    reset = "" if sig == "SIGKILL" else f"signal.signal(signal.{sig}, signal.SIG_DFL)\n"
    script = (f"import os, signal\nprint('before', flush=True)\n{reset}"
              f"os.kill(os.getpid(), signal.{sig})\nimport time\ntime.sleep(1)")
    resp = ran(rb, {"script": script, "timeout_s": 5}, status=status, exit_code=128 + num)
    assert resp["stdout"] == "before\n"


@pytest.mark.parametrize("cmd,num", [("kill -9 $$", 9), ("kill -TERM $$", 15), ("kill -ABRT $$", 6)])
def test_bash_kills_itself(rb, cmd, num):
    resp = ran(rb, {"script": f"echo before\n{cmd}\necho survived", "language": "bash", "timeout_s": 5},
               status="killed", exit_code=128 + num)
    assert resp["stdout"] == "before\n"


def test_killed_by_own_child(rb):
    script = ("import os, subprocess\nprint('before', flush=True)\n"
              "subprocess.run(['kill', '-KILL', str(os.getpid())])\nimport time\ntime.sleep(1)\nprint('survived')")
    resp = ran(rb, {"script": script, "timeout_s": 5}, status="killed", exit_code=137)
    assert resp["stdout"] == "before\n"


def test_segfault(rb):
    resp = ran(rb, {"script": "import ctypes\nprint('x', flush=True)\nctypes.string_at(0)"},
               status="killed", exit_code=139)
    assert resp["stdout"] == "x\n"
