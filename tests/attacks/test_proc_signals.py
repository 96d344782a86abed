"""/proc of runbox and of other processes; signalling, ptracing and re-limiting runbox;
escaping the process group."""

import os

from conftest import AS, kv, need, ok, py, ran, short


def proc_attack(pid):
    return py(
        f"host = {pid}\n"
        "for what in ('environ', 'mem', 'cmdline', 'maps'):\n"
        "    def rd(p=f'/proc/{host}/{what}'):\n"
        "        with open(p, 'rb') as f: d = f.read(); assert b'canary' not in d\n"
        "    res(what, eo(rd))\n"
        "res('cwd', eo(os.readlink, f'/proc/{host}/cwd'))\n"
        "res('root', eo(os.listdir, f'/proc/{host}/root/'))\n"
        "res('fd', eo(os.listdir, f'/proc/{host}/fd'))\n")


def test_runbox_proc_files_unreachable(rb):
    resp, L = ok(rb, proc_attack)
    got = kv(resp)
    if L.pidns:
        # runbox's pid does not exist inside the program's pid namespace
        want = "ENOENT"
    else:
        # same uid as runbox when unprivileged: runbox is non-dumpable
        want = "EACCES"
    assert got == {k: want for k in ("environ", "mem", "cmdline", "maps", "cwd", "root", "fd")} or \
        (not L.pidns and got == dict({k: want for k in ("environ", "mem", "maps", "cwd", "root", "fd")},
                                     cmdline="ok")), short(resp)


def test_runbox_invisible_in_proc_listing(rb):
    resp, L = ok(rb, lambda pid: py(
        f"pids = sorted(int(d) for d in os.listdir('/proc') if d.isdigit())\n"
        f"res('sees_runbox', {pid} in pids)\nres('ppid', os.getppid())\nres('mypid', os.getpid())\n"
        "res('n', len(pids))\n"))
    got = kv(resp)
    assert got["sees_runbox"] == ("False" if L.pidns else "True"), short(resp)
    if L.pidns:
        # runbox's small init is 1, the program 2, nothing else
        assert got["ppid"] == "1" and got["mypid"] == "2" and got["n"] == "2", short(resp)


def test_pid1_proc_unreachable(rb):
    resp, L = ok(rb, py("res('environ', eo(lambda: open('/proc/1/environ','rb').read()))\n"
                        "res('mem', eo(lambda: open('/proc/1/mem','rb')))\n"
                        "res('mem_rw', eo(lambda: open('/proc/1/mem','r+b')))\n"
                        "res('maps', eo(lambda: open('/proc/1/maps','rb').read()))\n"))
    # pid 1 is runbox's init (pid namespace), whose memory is runbox's own as
    # root, or the host's init: never readable, let alone writable
    assert kv(resp) == {k: "EACCES" for k in ("environ", "mem", "mem_rw", "maps")}, short(resp)


def test_other_process_environ_unreadable(rb, victim):
    vpid, secret = victim
    resp, L = ok(rb, py(
        f"res('environ', eo(lambda: open('/proc/{vpid}/environ','rb').read()))\n"
        f"res('mem', eo(lambda: open('/proc/{vpid}/mem','rb')))\n"
        f"res('cwd', eo(os.readlink, '/proc/{vpid}/cwd'))\n"))
    want = "ENOENT" if L.pidns else "EACCES"
    assert kv(resp) == {"environ": want, "mem": want, "cwd": want}, short(resp)


def test_kill_runbox(rb):
    resp, L = ok(rb, lambda pid: py(
        f"res('kill', eo(os.kill, {pid}, signal.SIGKILL))\n"
        f"res('killpg', eo(os.killpg, {pid}, signal.SIGKILL))\n"
        f"res('tkill', sc(200, {pid}, 9))\n"
        f"res('tgkill', sc(234, {pid}, {pid}, 9))\n"
        "si = ctypes.create_string_buffer(128); si[8:12] = (-1).to_bytes(4, 'little', signed=True)\n"
        f"res('sigqueue', sc(129, {pid}, 9, si))\n"
        f"res('upper_bits', sc(62, (1 << 32) | {pid}, 9))\n"))
    need(L.seccomp or L.pidns, "neither seccomp nor a pid namespace")
    assert kv(resp) == {k: "ESRCH" for k in ("kill", "killpg", "tkill", "tgkill", "sigqueue", "upper_bits")}, short(resp)


def test_kill_everyone(rb, victim):
    resp, L = ok(rb, py("res('kill_-1', sc(62, -1, 9))\nres('kill_-1_upper', sc(62, 0x1ffffffff, 9))\n"
                        "res('kill_1', sc(62, 1, 15))\nres('stop_1', sc(62, 1, 19))\nres('kill9_1', sc(62, 1, 9))\n"
        "res('alive', 1)\n"))
    need(L.seccomp, "seccomp not applied")
    got = kv(resp)
    assert got["kill_-1"] == "ESRCH" and got["kill_-1_upper"] == "ESRCH", short(resp)
    # kill never reaches pid -1, 1 or runbox (1 is runbox's init in a pid namespace)
    assert (got["kill_1"], got["stop_1"], got["kill9_1"], got["alive"]) == ("ESRCH", "ESRCH", "ESRCH", "1"), short(resp)


def test_pidfd_signal_runbox_via_proc_dir(rb):
    resp, L = ok(rb, lambda pid: py(
        f"res('pidfd_open', sc(434, {pid}, 0))\n"
        "try:\n"
        f"    fd = os.open('/proc/{pid}', os.O_RDONLY | os.O_DIRECTORY)\n"
        "    res('open', 'ok'); res('send', sc(424, fd, 9, None, 0))\n"
        "except OSError as e:\n"
        "    res('open', errno.errorcode[e.errno])\n"))
    got = kv(resp)
    assert got["pidfd_open"] == "ESRCH", short(resp)
    if L.pidns:
        assert got == {"pidfd_open": "ESRCH", "open": "ENOENT"}, short(resp)
    else:
        need(L.landlock_scoped, "Landlock signal scoping not applied")
        assert got == {"pidfd_open": "ESRCH", "open": "ok", "send": "EPERM"}, short(resp)


def test_ptrace_and_process_vm(rb):
    resp, L = ok(rb, lambda pid: py(
        f"res('attach', sc(101, 16, {pid}, 0, 0))\n"      # PTRACE_ATTACH
        f"res('seize', sc(101, 0x4206, {pid}, 0, 0))\n"
        "res('traceme', sc(101, 0, 0, 0, 0))\n"
        "buf = ctypes.create_string_buffer(64)\n"
        f"res('vm_readv', sc(310, {pid}, 0, 1, 0, 1, 0))\n"
        f"res('vm_writev', sc(311, {pid}, 0, 1, 0, 1, 0))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {k: "EPERM" for k in ("attach", "seize", "traceme", "vm_readv", "vm_writev")}, short(resp)


def test_prlimit_runbox(rb):
    resp, L = ok(rb, lambda pid: py(
        "class R(ctypes.Structure): _fields_ = [('cur', ctypes.c_ulong), ('max', ctypes.c_ulong)]\n"
        f"res('set', sc(302, {pid}, 7, ctypes.byref(R(1, 1)), None))\n"
        f"res('get', sc(302, {pid}, 7, None, ctypes.byref(R())))\n"
        f"res('upper', sc(302, (1 << 32) | {pid}, 7, ctypes.byref(R(1, 1)), None))\n"
        "res('self', sc(302, 0, 7, None, ctypes.byref(R())))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"set": "EPERM", "get": "EPERM", "upper": "EPERM", "self": "ok"}, short(resp)


def test_raise_own_hard_limits(rb):
    resp, L = ok(rb, py(
        "class R(ctypes.Structure): _fields_ = [('cur', ctypes.c_ulong), ('max', ctypes.c_ulong)]\n"
        "for name, r in (('nproc', 6), ('as', 9), ('fsize', 1), ('nofile', 7)):\n"
        "    res(name, sc(160, r, ctypes.byref(R(2**62, 2**62))))\n"))
    assert kv(resp) == {"nproc": "EPERM", "as": "EPERM", "fsize": "EPERM", "nofile": "EPERM"}, short(resp)


def test_setsid_and_setpgid(rb):
    resp, L = ok(rb, py("res('setsid', eo(os.setsid))\nres('setpgid', eo(os.setpgid, 0, 0))\n"
                        "pid = os.fork()\n"
                        "if pid == 0:\n"
                        "    os.write(1, ('child_setsid=' + eo(os.setsid) + '\\n').encode()); os._exit(0)\n"
                        "os.waitpid(pid, 0)\n"))
    need(L.seccomp, "seccomp not applied")
    # The program leads its own session already, so the kernel refuses both
    # for it.  A child may start a session only inside the program's own pid
    # namespace, which dies whole with its init; elsewhere the filter refuses.
    child = "ok" if L.pidns else "EPERM"
    assert kv(resp) == {"setsid": "EPERM", "setpgid": "EPERM", "child_setsid": child}, short(resp)


def test_double_fork_daemon_killed(rb):
    ok(rb, py(
        "if os.fork() == 0:\n"
        "    os.closerange(0, 3)\n"
        "    if os.fork() == 0:\n"
        "        signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "os.wait(); res('parent', 'done')\n"))
    assert rb.last_elapsed < 3     # the fixture checks the daemon is gone


def test_clone_parent_and_namespaces(rb):
    resp, L = ok(rb, py(
        "def clone(flags):\n"
        "    r = libc.syscall(ctypes.c_long(56), ctypes.c_long(flags | 17), None, None, None, ctypes.c_long(0))\n"
        "    if r == 0: os._exit(0)\n"
        "    return 'ok' if r > 0 else errno.errorcode[ctypes.get_errno()]\n"
        "res('parent', clone(0x8000))\n"                 # CLONE_PARENT
        "res('newuser', clone(0x10000000))\n"
        "res('newpid', clone(0x20000000))\n"
        "res('newns', clone(0x20000))\n"
        "res('upper', clone((1 << 32) | 0x8000))\n"
        "res('clone3', sc(435, 0, 0))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"parent": "EPERM", "newuser": "EPERM", "newpid": "EPERM", "newns": "EPERM",
                        "upper": "EPERM", "clone3": "ENOSYS"}, short(resp)


def test_fcntl_setown_to_runbox(rb):
    resp, L = ok(rb, lambda pid: py(
        "import fcntl, socket\n"
        "a, b = socket.socketpair()\n"
        f"res('setown', eo(fcntl.fcntl, a.fileno(), fcntl.F_SETOWN, {pid}))\n"
        "res('setsig', eo(fcntl.fcntl, a.fileno(), 10, 9))\n"
        f"res('fiosetown', sc(16, a.fileno(), 0x8901, ctypes.byref(ctypes.c_int({pid}))))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"setown": "EPERM", "setsig": "EPERM", "fiosetown": "EPERM"}, short(resp)


def test_program_dies_when_runbox_is_killed(rb):
    """runbox killed mid-run (a front door's own timeout, the OOM killer): its
    program must not keep running; the next run of the same uid slot removes
    the workspace it left."""
    import json
    import shutil
    import subprocess
    import time
    from conftest import proc_scan, stdin_only
    stdin_only("the test SIGKILLs the runbox process of one request")
    tok = "rbatkdie" + os.urandom(8).hex()
    env = rb.base_env()
    body = json.dumps({"script": "import time\ntime.sleep(30)", "timeout_s": 60,
                       "env": {"TOKEN": tok}}).encode()
    p = subprocess.Popen(rb.argv(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env, cwd=str(rb.workdir))
    p.stdin.write(body)
    p.stdin.close()
    deadline = time.monotonic() + 5
    while not proc_scan([tok]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc_scan([tok]), "the program never started"
    p.kill()
    p.wait()
    deadline = time.monotonic() + 2
    while proc_scan([tok]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = proc_scan([tok])
    for pid, *_ in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, f"the program outlived runbox: {left}"
    from conftest import AS
    if AS == "root":
        # As root under /tmp the workspace is a detached tmpfs: it went with
        # its last reference, so not even a SIGKILLed runbox leaves one.
        assert not list(rb.workdir.glob("runbox-*")), list(rb.workdir.iterdir())
    for d in rb.workdir.glob("runbox-*"):
        shutil.rmtree(d, ignore_errors=True)
