"""Processes that outlive the request and spy on the next one; leftovers in /tmp,
/dev/shm, SysV IPC and POSIX message queues."""

import os
import subprocess
import time

from conftest import AS, kv, need, ok, py, ran, short


def test_sleeper_does_not_survive_to_spy(rb):
    tag = rb.new_mark()
    # request 1: a detached spy that would copy whatever the next request leaves
    ok(rb, py(
        "if os.fork() == 0:\n"
        "    os.closerange(0, 3)\n"
        "    if os.fork() == 0:\n"
        "        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\n"
        "        end = time.time() + 20\n"
        "        while time.time() < end:\n"
        "            for d in ('/tmp', os.path.dirname(os.getcwd())):\n"
        "                try:\n"
        f"                    open(os.path.join(d, 'spy-{tag}'), 'a').write(str(os.listdir(d)))\n"
        "                except OSError: pass\n"
        "            time.sleep(0.05)\n"
        "    os._exit(0)\n"
        "os.wait()\n"))
    time.sleep(0.3)
    # request 2: the victim; it must see no spy process and no spy file
    resp, L = ok(rb, py(
        f"res('spy_in_tmp', os.path.exists('/tmp/spy-{tag}'))\n"
        "res('procs', sorted(int(d) for d in os.listdir('/proc') if d.isdigit()))\n"
        "open('secret.txt','w').write('next-request-secret')\n"))
    assert kv(resp)["spy_in_tmp"] == "False", short(resp)
    if L.pidns:
        # runbox's init (1) and the program (2): no spy
        assert kv(resp)["procs"] == "[1, 2]", short(resp)
    assert not os.path.exists(f"/tmp/spy-{tag}")
    assert not any(f.startswith("spy-") for f in os.listdir(rb.workdir))


def test_tmp_leftover_not_seen_by_next_request(rb):
    tag = rb.new_mark()
    rb.host_globs += [f"/tmp/left-{tag}", f"/dev/shm/left-{tag}"]
    resp1, L = ok(rb, py(f"res('w', eo(lambda: open('/tmp/left-{tag}', 'w').write('x')))\n"
                         f"res('shm', eo(lambda: open('/dev/shm/left-{tag}', 'w').write('x')))\n"))
    resp2, L = ok(rb, py(f"res('tmp', os.path.exists('/tmp/left-{tag}'))\n"
                         f"res('shm', os.path.exists('/dev/shm/left-{tag}'))\n"
                         "res('tmp_list', eo(os.listdir, '/tmp'))\n"))
    if L.mountns:
        assert kv(resp1) == {"w": "ok", "shm": "ok"}, short(resp1)
        assert kv(resp2) == {"tmp": "False", "shm": "False", "tmp_list": "ok"}, short(resp2)
    else:
        need(L.landlock, "neither a private /tmp nor Landlock")
        assert kv(resp1) == {"w": "EACCES", "shm": "EACCES"}, short(resp1)
        assert kv(resp2)["tmp"] == "False" and kv(resp2)["shm"] == "False", short(resp2)


SHM = ("libc.shmget.restype = ctypes.c_int\n"
       "def shmget(key, flags):\n"
       "    r = libc.shmget(key, 4096, flags)\n"
       "    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]\n"
       "def msgget(key, flags):\n"
       "    r = libc.msgget(key, flags)\n"
       "    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]\n")


def test_sysv_ipc_leftover(rb):
    key = 0x5EC00000 | (os.getpid() & 0xffff)
    resp1, L = ok(rb, py(SHM + f"res('shm', shmget({key}, 0o1666))\nres('msg', msgget({key}, 0o1666))\n"))
    resp2, L = ok(rb, py(SHM + f"res('shm', shmget({key}, 0o666))\nres('msg', msgget({key}, 0o666))\n"))
    host = subprocess.run(["ipcs"], capture_output=True, text=True).stdout
    assert f"0x{key:08x}" not in host.lower(), host
    if L.sysv_ipc:
        assert kv(resp1) == {"shm": "ok", "msg": "ok"}, short(resp1)
        assert kv(resp2) == {"shm": "ENOENT", "msg": "ENOENT"}, short(resp2)
    else:
        need(L.seccomp, "neither a limited ipc namespace nor seccomp")
        assert kv(resp1) == {"shm": "EPERM", "msg": "EPERM"}, short(resp1)


SHM_LOOP = (SHM + "libc.shmat.restype = ctypes.c_void_p\n"
            "libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]\n"
            "libc.shmdt.argtypes = [ctypes.c_void_p]\n"
            "res('limits', open('/proc/sys/kernel/shm_rmid_forced').read().strip() + ' ' +\n"
            "    open('/proc/sys/kernel/msgmni').read().strip())\n"
            "made = 0\n"
            "for i in range(6):\n"
            "    sid = libc.shmget(0, 256 << 20, 0o1600)\n"
            "    if sid < 0:\n"
            "        res('shmget', errno.errorcode[ctypes.get_errno()])\n"
            "        break\n"
            "    addr = libc.shmat(sid, None, 0)\n"
            "    ctypes.memset(addr, 1, 256 << 20)\n"
            "    libc.shmdt(addr)\n"
            "    made += 1\n"
            "    res('alive', libc.shmctl(sid, 2, ctypes.create_string_buffer(256)) == 0)\n"
            "res('made', made)\n")


def test_sysv_shm_cannot_hold_memory_past_the_address_space_limit(rb):
    # 1.5 GiB of segments under a 1 GiB RLIMIT_AS: each must end when it is
    # detached, or it would hold memory no limit counts until the run ends.
    resp, L = ok(rb, py(SHM_LOOP), timeout=60)
    got = kv(resp)
    if L.sysv_ipc:
        assert got["limits"] == "1 32" and got["made"] == "6", short(resp)
        assert "alive=True" not in resp["stdout"], short(resp)
    else:
        need(L.seccomp, "neither a limited ipc namespace nor seccomp")
        assert got["shmget"] == "EPERM" and got["made"] == "0", short(resp)


def test_posix_mqueue_leftover(rb):
    name = "/rbatk" + rb.new_mark()[-12:]
    body = ("libc.mq_open.restype = ctypes.c_int\n"
            "def mq(flags):\n"
            f"    r = libc.mq_open({name!r}.encode(), flags, 0o666, None)\n"
            "    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]\n")
    resp1, L = ok(rb, py(body + "res('create', mq(0o100 | 2))\n"))
    resp2, L = ok(rb, py(body + "res('open', mq(2))\n"))
    host = os.listdir("/dev/mqueue") if os.path.isdir("/dev/mqueue") else []
    leaked = name[1:] in host
    if leaked:
        subprocess.run(["rm", "-f", "/dev/mqueue" + name])
    assert not leaked, f"a POSIX message queue {name} outlived the request on the host"
    if not L.sysv_ipc and L.seccomp:
        # no limited ipc namespace: the filter refuses the IPC calls outright
        assert kv(resp1) == {"create": "EPERM"} and kv(resp2) == {"open": "EPERM"}, short(resp1)
        return
    # the mqueue filesystem is outside every Landlock rule: no queue at all
    need(L.landlock, "Landlock not applied")
    assert kv(resp1) == {"create": "EACCES"}, short(resp1)
    # in a private ipc namespace the name does not exist; in the host's the
    # open itself is refused by Landlock
    assert kv(resp2) == {"open": "ENOENT" if L.ipcns else "EACCES"}, short(resp2)


def test_abstract_socket_listener_does_not_survive(rb):
    name = "rbatk-" + rb.new_mark()[-12:]
    resp1, L = ok(rb, py(
        "import socket\n"
        "if os.fork() == 0:\n"
        "    os.closerange(0, 3)\n"
        "    if os.fork() == 0:\n"
        "        s = socket.socket(socket.AF_UNIX); s.bind('\\0" + name + "'); s.listen(); time.sleep(30)\n"
        "    os._exit(0)\n"
        "os.wait(); time.sleep(0.2)\n"))
    resp2, L = ok(rb, py(
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"res('connect', eo(s.connect, '\\0{name}'))\n"))
    assert kv(resp2) == {"connect": "ECONNREFUSED"}, short(resp2)


def test_workspace_of_previous_request_gone(rb):
    resp1, L = ok(rb, py("res('cwd', os.getcwd())\nopen('secret.txt','w').write('s')\n"))
    cwd1 = kv(resp1)["cwd"]
    resp2, L = ok(rb, py(f"res('old', eo(os.listdir, {cwd1!r}))\nres('parent', eo(os.listdir, '..'))\n"))
    got = kv(resp2)
    assert got["old"] in ("ENOENT", "EACCES"), short(resp2)
    assert not os.path.exists(cwd1)
