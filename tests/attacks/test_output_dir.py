"""Symlinks, hardlinks, FIFOs, sockets and devices in output/, and output/ itself replaced."""

import os

from conftest import AS, MiB, kv, need, ok, prog, py, ran, short


def omitted(resp):
    return sorted((e["path"], e["reason"]) for e in resp.get("omitted_artifacts", []))


def test_symlink_to_etc_passwd(rb):
    resp, L = ok(rb, {"script": "import os\nos.symlink('/etc/passwd', 'output/passwd')\n"})
    assert resp["artifacts"] == {}
    assert omitted(resp) == [("passwd", "symlink")]
    assert "root:x:0:0" not in str(resp)


def test_symlink_to_runbox_environ(rb):
    resp, L = ok(rb, lambda pid: {"script":
        f"import os\nos.symlink('/proc/{pid}/environ', 'output/env')\n"
        "os.symlink('/proc/1/environ', 'output/env1')\nos.symlink('/proc/self/environ', 'output/self')\n"})
    assert resp["artifacts"] == {}
    assert omitted(resp) == [("env", "symlink"), ("env1", "symlink"), ("self", "symlink")]


def test_symlinked_directory_in_output(rb):
    resp, L = ok(rb, {"script": "import os\nos.symlink('/etc', 'output/etc')\nopen('output/real.txt','w').write('r')\n"})
    assert resp["artifacts"] == {"real.txt": "r"}
    assert omitted(resp) == [("etc", "symlink")]


def test_dangling_and_looping_symlinks(rb):
    resp, L = ok(rb, {"script": "import os\nos.symlink('nowhere', 'output/dangle')\n"
                                "os.symlink('loop', 'output/loop')\nos.symlink('..', 'output/up')\n"})
    assert resp["artifacts"] == {}
    assert omitted(resp) == [("dangle", "symlink"), ("loop", "symlink"), ("up", "symlink")]


def test_hardlink_to_system_file_refused(rb):
    resp, L = ok(rb, py("res('link', eo(os.link, '/etc/passwd', 'output/passwd'))\n"))
    # in the mount namespace the workspace is its own mount (EXDEV); without
    # it, fs.protected_hardlinks refuses linking a file one does not own (EPERM)
    assert kv(resp) == {"link": "EXDEV" if L.mountns else "EPERM"}, short(resp)
    assert resp["artifacts"] == {} and "root:x:0:0" not in str(resp)


def test_hardlink_of_own_file_is_omitted(rb):
    resp, L = ok(rb, {"script": "import os\nopen('data.txt','w').write('secret-ish')\n"
                                "os.link('data.txt', 'output/h.txt')\nopen('output/plain.txt','w').write('p')\n"})
    assert resp["artifacts"] == {"plain.txt": "p"}
    assert omitted(resp) == [("h.txt", "hardlink")]


def test_fifo_in_output_does_not_hang(rb):
    resp, L = ok(rb, {"script": "import os\nos.mkfifo('output/fifo')\nopen('output/a.txt','w').write('a')\n",
                      "timeout_s": 5})
    assert resp["artifacts"] == {"a.txt": "a"}
    assert omitted(resp) == [("fifo", "not_regular_file")]
    assert rb.last_elapsed < 3


def test_unix_socket_in_output(rb):
    resp, L = ok(rb, {"script": "import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('output/sock')\n"})
    assert resp["artifacts"] == {}
    assert omitted(resp) == [("sock", "not_regular_file")]


def test_device_node_in_output_refused(rb):
    resp, L = ok(rb, py(
        "import stat\n"
        "res('chr', eo(os.mknod, 'output/null', stat.S_IFCHR | 0o666, os.makedev(1, 3)))\n"
        "res('blk', eo(os.mknod, 'output/vda', stat.S_IFBLK | 0o666, os.makedev(253, 0)))\n"))
    need(L.seccomp or not L.uid_drop, "")
    assert kv(resp) == {"chr": "EPERM", "blk": "EPERM"}, short(resp)
    assert resp["artifacts"] == {} and "omitted_artifacts" not in resp


def test_output_replaced_by_symlink_to_root(rb):
    resp, L = ok(rb, {"script": "import os, shutil\nopen('output/a.txt','w').write('a')\n"
                                "shutil.rmtree('output')\nos.symlink('/', 'output')\n"})
    assert resp["artifacts"] == {} and "omitted_artifacts" not in resp, short(resp)
    assert os.path.isfile("/etc/passwd") and os.path.isdir("/usr/bin")


def test_output_replaced_by_symlink_to_etc(rb):
    resp, L = ok(rb, {"script": "import os\nos.rmdir('output')\nos.symlink('/etc', 'output')\n"})
    assert resp["artifacts"] == {} and "omitted_artifacts" not in resp, short(resp)
    assert "root:x:0:0" not in str(resp)
    assert os.path.isfile("/etc/passwd") and os.path.isfile("/etc/hostname")


def test_output_symlink_to_sentinel_not_followed_by_cleanup(rb, sentinel):
    resp, L = ok(rb, {"script": f"import os\nos.rmdir('output')\nos.symlink({str(sentinel)!r}, 'output')\n"
                                f"os.symlink({str(sentinel)!r}, 'link')\n"
                                f"os.makedirs('d/e')\nos.symlink({str(sentinel)!r}, 'd/e/deep')\n"})
    assert resp["artifacts"] == {} and "omitted_artifacts" not in resp, short(resp)
    assert os.listdir(sentinel) == ["keep.txt"]


def test_output_renamed_and_replaced(rb):
    resp, L = ok(rb, {"script": "import os\nopen('output/keep.txt','w').write('old')\n"
                                "os.rename('output', 'moved')\nos.mkdir('output')\n"
                                "open('output/new.txt','w').write('new')\n"})
    # artifacts come from the directory opened before the program started
    assert resp["artifacts"] == {"keep.txt": "old"}, short(resp)


def test_output_replaced_by_fifo(rb):
    resp, L = ok(rb, {"script": "import os\nos.rmdir('output')\nos.mkfifo('output')\n", "timeout_s": 5})
    assert resp["artifacts"] == {} and "omitted_artifacts" not in resp, short(resp)
    assert rb.last_elapsed < 3


def test_output_too_deep(rb):
    resp, L = ok(rb, {"script": "import os\np = 'output/' + '/'.join('d%d' % i for i in range(20))\n"
                                "os.makedirs(p)\nopen(p + '/f.txt','w').write('x')\nopen('output/top.txt','w').write('t')\n"})
    assert resp["artifacts"] == {"top.txt": "t"}
    assert [e["reason"] for e in resp["omitted_artifacts"]] == ["too_deep"], short(resp)


def test_output_too_many_files(rb):
    resp, L = ok(rb, {"script": "for i in range(1100): open('output/f%04d' % i, 'w').write('x')\n",
                      "timeout_s": 10})
    assert len(resp["artifacts"]) == 1000
    reasons = {e["reason"] for e in resp["omitted_artifacts"]}
    assert reasons == {"too_many_files"}, short(resp)


def test_sparse_artifact_over_budget(rb):
    resp, L = ok(rb, {"script": "import os\nf = open('output/big.bin','wb')\nf.truncate(60 * 1024**2)\n"})
    assert resp["artifacts"] == {}
    assert resp["omitted_artifacts"] == [{"path": "big.bin", "size": 60 * MiB, "reason": "file_too_large"}]


def test_unreadable_artifact(rb):
    resp, L = ok(rb, {"script": "import os\nopen('output/x.txt','w').write('x')\nos.chmod('output/x.txt', 0)\n"
                                "os.mkdir('output/locked')\nopen('output/locked/y.txt','w').write('y')\nos.chmod('output/locked', 0)\n"})
    if AS == "root":
        # runbox reads as root: the program's own files, whatever their mode
        assert resp["artifacts"] in ({"x.txt": "x", "locked/y.txt": "y"},), short(resp)
    else:
        assert resp["artifacts"] == {}
        assert omitted(resp) == [("locked", "unreadable"), ("x.txt", "unreadable")], short(resp)
