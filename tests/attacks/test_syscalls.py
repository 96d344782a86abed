"""Dangerous kernel interfaces: each must fail with its exact errno, or kill the process."""

import os

import pytest

from conftest import AS, kv, need, ok, py, ran, short


def denied(rb, calls, errno_name="EPERM"):
    body = "".join(f"res({name!r}, sc({args}))\n" for name, args in calls)
    resp, L = ok(rb, py(body))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {name: errno_name for name, _ in calls}, short(resp)
    return resp


def test_io_uring(rb):
    # setup fails as on a kernel without io_uring (libuv then falls back
    # without a word); the others are refused.
    denied(rb, [("setup", "425, 8, ctypes.create_string_buffer(120)")], "ENOSYS")
    denied(rb, [("enter", "426, 0, 0, 0, 0, None, 0"), ("register", "427, 0, 0, None, 0")])


def test_bpf(rb):
    denied(rb, [("prog_load", "321, 5, ctypes.create_string_buffer(128), 128"),
                ("map_create", "321, 0, ctypes.create_string_buffer(128), 128")])


def test_userfaultfd(rb):
    denied(rb, [("uffd", "323, 0"), ("uffd_user", "323, 1")])
    # and not through /dev/userfaultfd either


def test_dev_userfaultfd(rb):
    resp, L = ok(rb, py("res('open', eo(os.open, '/dev/userfaultfd', os.O_RDWR))\n"))
    # a 0600 root device: the sandbox uid cannot open it
    assert kv(resp) == {"open": "EACCES"}, short(resp)


def test_keyctl_family(rb):
    denied(rb, [("add_key", "248, b'user\\0', b'rbatk\\0', b'x', 1, -3"),
                ("request_key", "249, b'user\\0', b'rbatk\\0', None, -3"),
                ("keyctl_get_keyring_id", "250, 0, -3, 0"),
                ("keyctl_join", "250, 1, None")])


def test_unshare_setns_mount(rb):
    denied(rb, [("unshare_user", "272, 0x10000000"), ("unshare_ns", "272, 0x20000"),
                ("unshare_net", "272, 0x40000000"), ("setns", "308, 0, 0"),
                ("mount", "165, b'none\\0', b'/tmp\\0', b'tmpfs\\0', 0, None"),
                ("umount2", "166, b'/tmp\\0', 2"), ("pivot_root", "155, b'.\\0', b'.\\0'"),
                ("chroot", "161, b'/tmp\\0'"), ("fsopen", "430, b'tmpfs\\0', 0"),
                ("open_tree", "428, -100, b'/\\0', 1"), ("move_mount", "429, -100, b'/\\0', -100, b'/tmp\\0', 0")])


def test_personality(rb):
    resp, L = ok(rb, py("res('read_implies_exec', sc(135, 0x0400000))\n"
                        "res('addr_no_randomize', sc(135, 0x0040000))\n"
                        "res('upper_bits', sc(135, (1 << 32) | 0x0400000))\n"
                        "res('query', sc(135, 0xffffffff))\n"
                        "res('linux', sc(135, 0))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"read_implies_exec": "EPERM", "addr_no_randomize": "EPERM",
                        "upper_bits": "EPERM", "query": "ok", "linux": "ok"}, short(resp)


def test_misc_privileged(rb):
    denied(rb, [("perf_event_open", "298, ctypes.create_string_buffer(128), 0, -1, -1, 0"),
                ("open_by_handle_at", "304, -100, ctypes.create_string_buffer(64), 0"),
                ("name_to_handle_at", "303, -100, b'/\\0', ctypes.create_string_buffer(64), ctypes.create_string_buffer(4), 0"),
                ("init_module", "175, None, 0, b'\\0'"), ("finit_module", "313, 0, b'\\0', 0"),
                ("kexec_load", "246, 0, 0, None, 0"), ("reboot", "169, 0xfee1dead, 672274793, 0x4321fedc, None"),
                ("clock_settime", "227, 0, ctypes.create_string_buffer(16)"), ("settimeofday", "164, ctypes.create_string_buffer(16), None"),
                ("adjtimex", "159, ctypes.create_string_buffer(256)"), ("iopl", "172, 3"), ("ioperm", "173, 0, 1024, 1"),
                ("swapon", "167, b'/tmp/x\\0', 0"), ("acct", "163, b'/tmp/x\\0'"), ("syslog", "103, 3, ctypes.create_string_buffer(64), 64"),
                ("kcmp", "312, 1, 1, 0, 0, 0"), ("pidfd_getfd", "438, 0, 0, 0"),
                ("seccomp", "317, 1, 0, ctypes.create_string_buffer(16)"),
                ("landlock_create_ruleset", "444, None, 0, 1"), ("fanotify_init", "300, 0, 0"),
                ("vmsplice", "278, 0, None, 0, 0"), ("execveat", "322, -100, b'/bin/true\\0', None, None, 0"),
                ("setuid0", "105, 0"), ("setresuid0", "117, 0, 0, 0"), ("setgroups", "116, 0, None"),
                ("modify_ldt", "154, 0, ctypes.create_string_buffer(16), 16"), ("quotactl", "179, 0, None, 0, None"),
                ("sync", "162"), ("mknod_chr", "133, b'nod\\0', 0o20666, 0x103")])


def test_memfd_exec(rb):
    resp, L = ok(rb, py(
        "res('memfd', eo(os.memfd_create, 'x'))\n"
        "import shutil\n"
        "shutil.copy('/bin/true', 'mytrue'); os.chmod('mytrue', 0o755)\n"
        "import subprocess\n"
        "res('exec_workspace', eo(lambda: subprocess.run(['./mytrue'], check=True)))\n"
        "res('exec_tmp', eo(lambda: (shutil.copy('/bin/true', '/tmp/t'), os.chmod('/tmp/t', 0o755), subprocess.run(['/tmp/t'], check=True))))\n"))
    need(L.seccomp, "seccomp not applied")
    got = kv(resp)
    assert got["memfd"] == "EPERM", short(resp)
    need(L.landlock, "Landlock not applied")
    assert got["exec_workspace"] == "EACCES", short(resp)
    assert got["exec_tmp"] == "EACCES", short(resp)


def test_x32_syscall_kills(rb):
    resp, L = ran(rb, py("res('before', 1)\nsc(39 | 0x40000000)\nres('after', 1)\n"))
    need(L.seccomp, "seccomp not applied")
    assert resp["status"] == "blocked_syscall" and resp["exit_code"] == 128 + 31, short(resp)
    assert kv(resp) == {"before": "1"}


def _ia32_emulation():
    """Whether this kernel runs int 0x80 (IA32 emulation): try it outside the sandbox."""
    import subprocess, sys
    code = ("import ctypes, mmap\nm = mmap.mmap(-1, 4096, prot=7)\nm.write(b'\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3')\n"
            "ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))()\n")
    return subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True).returncode == 0


def test_i386_int80_kills(rb):
    if not _ia32_emulation():
        pytest.skip("this kernel has no IA32 emulation: int 0x80 faults (SIGSEGV) before seccomp sees it")
    resp, L = ran(rb, py(
        "import mmap\n"
        "code = b'\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3'   # mov eax, 20 (getpid); int 0x80; ret\n"
        "m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "m.write(code)\n"
        "addr = ctypes.addressof(ctypes.c_char.from_buffer(m))\n"
        "f = ctypes.CFUNCTYPE(ctypes.c_long)(addr)\n"
        "res('before', 1)\nf()\nres('after', 1)\n"))
    need(L.seccomp, "seccomp not applied")
    assert resp["status"] == "blocked_syscall" and resp["exit_code"] == 128 + 31, short(resp)
    assert kv(resp) == {"before": "1"}


def test_x32_in_child_process(rb):
    resp, L = ok(rb, py(
        "pid = os.fork()\n"
        "if pid == 0:\n    sc(39 | 0x40000000); os._exit(0)\n"
        "res('child', os.waitpid(pid, 0)[1] & 0x7f)\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"child": "31"}, short(resp)


def test_tiocsti(rb):
    resp, L = ok(rb, py(
        "c = ctypes.c_char(b'x')\n"
        "res('stdin', sc(16, 0, 0x5412, ctypes.byref(c)))\n"
        "res('upper', sc(16, 0, (1 << 32) | 0x5412, ctypes.byref(c)))\n"
        "res('tioclinux', sc(16, 0, 0x541C, ctypes.byref(c)))\n"
        "res('tty', eo(os.open, '/dev/tty', os.O_RDWR))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"stdin": "EPERM", "upper": "EPERM", "tioclinux": "EPERM",
                        "tty": "EACCES" if L.landlock else "ENXIO"}, short(resp)


def test_setuid_binary_gains_nothing(rb):
    resp, L = ok(rb, py(
        "import subprocess\n"
        "p = subprocess.Popen(['/usr/bin/su', 'root', '-c', 'id'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "time.sleep(0.5)\n"
        "st = open(f'/proc/{p.pid}/status').read()\n"
        "uids = [l.split()[1:] for l in st.splitlines() if l.startswith('Uid:')][0]\n"
        "res('euid_root', uids[1] == '0'); res('nnp', [l.split()[1] for l in st.splitlines() if l.startswith('NoNewPrivs')][0])\n"
        "p.kill(); p.wait()\n"
        "r = subprocess.run(['/usr/bin/passwd', '-S', 'root'], capture_output=True, text=True, stdin=subprocess.DEVNULL)\n"
        "res('passwd_rc', r.returncode)\n", timeout_s=10))
    assert kv(resp) == {"euid_root": "False", "nnp": "1", "passwd_rc": "1"}, short(resp)


def test_refused_call_is_named_on_stderr(rb):
    # The program still gets EPERM; runbox's init names the call, once per call.
    resp, L = ran(rb, py("res('ptrace', sc(101, 0, 0, 0, 0))\nres('again', sc(101, 0, 0, 0, 0))\n"
                         "res('chroot', eo(os.chroot, '/'))\n"), status="ok")
    need(L.seccomp, "seccomp not applied")
    need(L.pidns, "no pid namespace: no init to name refused calls")
    assert kv(resp) == {"ptrace": "EPERM", "again": "EPERM", "chroot": "EPERM"}, short(resp)
    assert resp["stderr"] == (
        "runbox: the sandbox refused system call ptrace (101): Operation not permitted\n"
        "runbox: the sandbox refused system call chroot (161): Operation not permitted\n"), short(resp)


def test_inotify_refused(rb):
    # Landlock does not check watches: inotify would show activity in
    # directories the program cannot read.
    resp, L = ok(rb, py("res('inotify', sc(294, 0))\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"inotify": "EPERM"}, short(resp)


def test_written_binary_cannot_run_through_the_loader(rb):
    resp, L = ok(rb, py(
        "import shutil, subprocess\n"
        "shutil.copy('/bin/true', '/tmp/t'); os.chmod('/tmp/t', 0o755)\n"
        "shutil.copy('/bin/true', 'w'); os.chmod('w', 0o755)\n"
        "res('tmp', subprocess.run(['/lib64/ld-linux-x86-64.so.2', '/tmp/t'], capture_output=True).returncode)\n"
        "res('workspace', subprocess.run(['/lib64/ld-linux-x86-64.so.2', './w'], capture_output=True).returncode)\n"))
    need(L.mountns, "no mount namespace: no noexec mounts")
    assert kv(resp) == {"tmp": "127", "workspace": "127"}, short(resp)
