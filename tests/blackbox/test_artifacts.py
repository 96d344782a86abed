"""Artifacts collected from ./output/: encodings, budgets, links and special files."""

import base64
import json

import pytest

from conftest import MiB, ok, ran, short


def omitted(resp):
    return {e["path"]: (e["size"], e["reason"]) for e in resp.get("omitted_artifacts", [])}


def test_text_artifact(rb):
    resp = ok(rb, {"script": "open('output/result.txt','w').write('hello\\n')"})
    assert resp["artifacts"] == {"result.txt": "hello\n"}
    assert "omitted_artifacts" not in resp


def test_nested_artifacts_and_unicode(rb):
    script = ("import os\nos.makedirs('output/a/b', exist_ok=True)\n"
              "open('output/a/b/c.txt','w').write('deep')\n"
              "open('output/résumé.md','w', encoding='utf-8').write('ünï ✓')\n"
              "open('output/top.json','w').write('{\"k\": 1}')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"a/b/c.txt": "deep", "résumé.md": "ünï ✓", "top.json": '{"k": 1}'}


def test_binary_artifact_is_base64(rb):
    data = bytes(range(256))
    resp = ok(rb, {"script": "open('output/b.bin','wb').write(bytes(range(256)))"})
    art = resp["artifacts"]["b.bin"]
    assert art == {"content": base64.b64encode(data).decode(), "encoding": "base64"}


def test_text_with_nul_is_base64(rb):
    resp = ok(rb, {"script": "open('output/n.txt','wb').write(b'ab\\x00cd')"})
    assert resp["artifacts"]["n.txt"] == {"content": base64.b64encode(b"ab\x00cd").decode(), "encoding": "base64"}


def test_invalid_utf8_is_base64(rb):
    resp = ok(rb, {"script": "open('output/l1.txt','wb').write('café'.encode('latin-1'))"})
    assert resp["artifacts"]["l1.txt"] == {"content": base64.b64encode("café".encode("latin-1")).decode(),
                                           "encoding": "base64"}


def test_empty_artifact(rb):
    resp = ok(rb, {"script": "open('output/empty.txt','w').close()"})
    assert resp["artifacts"] == {"empty.txt": ""}


def test_empty_subdirectories_ignored(rb):
    resp = ok(rb, {"script": "import os\nos.makedirs('output/x/y/z')"})
    assert resp["artifacts"] == {}
    assert "omitted_artifacts" not in resp


def test_artifacts_on_error_exit(rb):
    resp = ran(rb, {"script": "open('output/partial.txt','w').write('p')\nraise SystemExit(5)"},
               status="error", exit_code=5)
    assert resp["artifacts"] == {"partial.txt": "p"}


def test_artifacts_on_timeout(rb):
    resp = ran(rb, {"script": "open('output/t.txt','w').write('t')\nimport time\ntime.sleep(60)", "timeout_s": 1},
               status="timeout", exit_code=124)
    assert resp["artifacts"] == {"t.txt": "t"}


def test_artifact_written_by_grandchild(rb):
    script = ("import subprocess\nsubprocess.run(['/bin/sh', '-c', 'echo from-child > output/c.txt'], check=True)")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"c.txt": "from-child\n"}


def test_bash_artifact(rb):
    resp = ok(rb, {"script": "printf 'a,b\\n1,2\\n' > output/data.csv", "language": "bash"})
    assert resp["artifacts"] == {"data.csv": "a,b\n1,2\n"}


# ---------------------------------------------------------------------------
# budgets
# ---------------------------------------------------------------------------

def test_file_cap_default_at_limit(rb):
    resp = ok(rb, {"script": f"open('output/f.txt','w').write('a' * {5 * MiB})"})
    assert resp["artifacts"]["f.txt"] == "a" * (5 * MiB)
    assert "omitted_artifacts" not in resp


def test_binary_artifact_of_megabytes_is_exact(rb):
    # Megabyte buffers are prefaulted (pkg/base/prefault): every byte, at every
    # offset past the huge-page boundaries, must still come back as written.
    script = ("data = bytes((i * 7 + i // 4099) % 256 for i in range(4 * 1024 * 1024 + 3))\n"
              "open('output/blob.bin', 'wb').write(data)")
    resp = ok(rb, {"script": script})
    art = resp["artifacts"]["blob.bin"]
    assert art["encoding"] == "base64"
    got = base64.b64decode(art["content"])
    assert got == bytes((i * 7 + i // 4099) % 256 for i in range(4 * MiB + 3))


def _answer_through_pipe(rb, nbytes, size_before=None):
    """Run a program with an artifact of @nbytes, its answer read from a
    pipe; returns (answer, the pipe's capacity once runbox is done)."""
    import fcntl
    import os
    import subprocess
    from conftest import stdin_only
    stdin_only("the answer's pipe is stdin mode's stdout")
    r, w = os.pipe()
    try:
        if size_before:
            fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, size_before)
        body = json.dumps({"script": f"open('output/a.txt', 'w').write('x' * {nbytes})"}).encode()
        p = subprocess.Popen([str(rb.bin)], stdin=subprocess.PIPE, stdout=w,
                             stderr=subprocess.DEVNULL, env=rb.base_env(),
                             cwd=str(rb.workdir.parent), start_new_session=True)
        os.close(w)
        w = -1
        p.stdin.write(body)
        p.stdin.close()
        chunks = []
        while True:
            b = os.read(r, 1 << 16)
            if not b:
                break
            chunks.append(b)
        assert p.wait(60) == 0
        return json.loads(b"".join(chunks)), fcntl.fcntl(r, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_big_answer_widens_its_pipe(rb):
    # stdin mode writes an answer of megabytes into a pipe widened to 1 MiB
    # (fewer turns between runbox and its reader); the answer is intact.
    resp, size = _answer_through_pipe(rb, 2 * MiB)
    assert resp["artifacts"]["a.txt"] == "x" * (2 * MiB)
    assert size >= MiB


def test_big_answer_never_shrinks_a_wider_pipe(rb):
    # A 200 KiB answer wants a 200 KiB pipe; its reader's 1 MiB one stays.
    resp, size = _answer_through_pipe(rb, 200 * 1024, size_before=MiB)
    assert resp["artifacts"]["a.txt"] == "x" * (200 * 1024)
    assert size == MiB


def test_file_cap_default_one_past(rb):
    resp = ok(rb, {"script": f"open('output/f.txt','w').write('a' * {5 * MiB + 1})\nprint('result kept')"})
    assert resp["stdout"] == "result kept\n"
    assert resp["artifacts"] == {}
    assert omitted(resp) == {"f.txt": (5 * MiB + 1, "file_too_large")}


def test_file_cap_configurable(rb):
    env = {"RUNBOX_MAX_ARTIFACT_FILE_BYTES": "100"}
    resp = ok(rb, {"script": "open('output/a','w').write('a' * 100)\nopen('output/b','w').write('b' * 101)"}, env=env)
    assert resp["artifacts"] == {"a": "a" * 100}
    assert omitted(resp) == {"b": (101, "file_too_large")}


def test_total_budget_default_at_limit(rb):
    script = f"for n in 'ab':\n    open('output/' + n, 'w').write(n * {5 * MiB})"
    resp = ok(rb, {"script": script})
    assert set(resp["artifacts"]) == {"a", "b"}
    assert "omitted_artifacts" not in resp


def test_total_budget_default_one_past(rb):
    script = f"for n in 'ab':\n    open('output/' + n, 'w').write(n * {5 * MiB})\nopen('output/c', 'w').write('c')"
    resp = ok(rb, {"script": script})
    assert len(resp["artifacts"]) == 2
    om = omitted(resp)
    assert len(om) == 1
    (path, (size, reason)), = om.items()
    assert reason == "total_budget_exceeded"
    assert size == (1 if path == "c" else 5 * MiB)
    assert set(resp["artifacts"]) | {path} == {"a", "b", "c"}


def test_total_budget_configurable(rb):
    env = {"RUNBOX_MAX_ARTIFACT_BYTES": "1000"}
    resp = ok(rb, {"script": "open('output/a','w').write('a' * 600)\nopen('output/b','w').write('b' * 400)"}, env=env)
    assert resp["artifacts"] == {"a": "a" * 600, "b": "b" * 400}
    resp = ok(rb, {"script": "open('output/a','w').write('a' * 600)\nopen('output/b','w').write('b' * 401)"}, env=env)
    assert len(resp["artifacts"]) == 1
    assert [r for _, r in omitted(resp).values()] == ["total_budget_exceeded"]


def test_three_4mib_files(rb):
    script = f"for n in 'xyz':\n    open('output/' + n, 'wb').write(b'\\xff' * {4 * MiB})"
    resp = ok(rb, {"script": script})
    assert len(resp["artifacts"]) == 2
    for v in resp["artifacts"].values():
        assert v["encoding"] == "base64" and base64.b64decode(v["content"]) == b"\xff" * (4 * MiB)
    assert [x for x in omitted(resp).values()] == [(4 * MiB, "total_budget_exceeded")]


def test_count_at_limit(rb):
    resp = ok(rb, {"script": "import os\nos.makedirs('output/d')\nfor i in range(1000):\n    open(f'output/d/{i}', 'w').write('.')"})
    assert len(resp["artifacts"]) == 1000
    assert "omitted_artifacts" not in resp


def test_count_one_past_limit(rb):
    resp = ok(rb, {"script": "for i in range(1001):\n    open(f'output/{i:04d}', 'w').write('.')"})
    assert len(resp["artifacts"]) == 1000
    om = omitted(resp)
    assert len(om) == 1 and list(om.values())[0] == (1, "too_many_files")


def test_too_many_keeps_the_first_in_path_order(rb):
    # As the byte budget does: whatever order the directory lists them in,
    # the first 1000 paths are kept and the last ones left out.
    resp = ok(rb, {"script": "import random\nnames = [f'{i:04d}' for i in range(1005)]\n"
                             "random.shuffle(names)\nfor n in names:\n"
                             "    open(f'output/{n}', 'w').write('.')"})
    assert sorted(resp["artifacts"]) == [f"{i:04d}" for i in range(1000)]
    assert sorted(omitted(resp)) == [f"{i:04d}" for i in range(1000, 1005)]


def test_thousands_of_omissions_never_hide_a_file(rb):
    # The walk's bookkeeping is bounded, but never by the order the directory
    # lists entries in: the five files are kept whatever else output/ holds,
    # and the first 1000 omissions in path order are listed.
    resp = ok(rb, {"script": "import os\nfor i in range(5):\n    open(f'output/real{i}','w').write('r')\n"
                             "for i in range(2000):\n    os.symlink('/x', f'output/z{i:05}')"})
    assert resp["artifacts"] == {f"real{i}": "r" for i in range(5)}
    assert resp["omitted_artifacts"] == [{"path": f"z{i:05}", "size": 0, "reason": "symlink"}
                                         for i in range(1000)]


def test_far_too_many_files_keep_the_first_in_path_order(rb):
    resp = ok(rb, {"script": "import random\nnames = [f'f{i:05}' for i in range(3000)]\n"
                             "random.shuffle(names)\nfor n in names:\n"
                             "    open(f'output/{n}', 'w').write('.')"})
    assert sorted(resp["artifacts"]) == [f"f{i:05}" for i in range(1000)]
    assert resp["omitted_artifacts"] == [{"path": f"f{i:05}", "size": 1, "reason": "too_many_files"}
                                         for i in range(1000, 2000)]


def test_depth_at_limit(rb):
    d = "/".join(f"d{i}" for i in range(15))           # 15 dirs + file = 16 segments
    resp = ok(rb, {"script": f"import os\nos.makedirs('output/{d}')\nopen('output/{d}/f.txt','w').write('ok')"})
    assert resp["artifacts"] == {f"{d}/f.txt": "ok"}


def test_depth_one_past_limit(rb):
    d = "/".join(f"d{i}" for i in range(16))           # 17 segments
    script = (f"import os\nos.makedirs('output/{d}')\nopen('output/{d}/f.txt','w').write('no')\n"
              "open('output/top.txt','w').write('top')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"top.txt": "top"}
    reasons = [r for _, r in omitted(resp).values()]
    assert reasons == ["too_deep"], short(resp)


def test_very_deep_tree_bounded(rb):
    script = ("import os\np = 'output'\nfor i in range(300):\n    p += '/d'\nos.makedirs(p)\n"
              "open(p + '/f', 'w').write('x')\nopen('output/ok.txt', 'w').write('y')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"ok.txt": "y"}
    assert all(r == "too_deep" for _, r in omitted(resp).values())


# ---------------------------------------------------------------------------
# links and special files
# ---------------------------------------------------------------------------

def test_symlink_to_file_outside_not_followed(rb):
    resp = ok(rb, {"script": "import os\nos.symlink('/etc/passwd', 'output/passwd')\nopen('output/ok.txt','w').write('ok')"})
    assert resp["artifacts"] == {"ok.txt": "ok"}
    size, reason = omitted(resp)["passwd"]
    assert reason == "symlink"
    assert "root:" not in json.dumps(resp)


def test_symlink_to_dir_not_followed(rb):
    resp = ok(rb, {"script": "import os\nos.symlink('/etc', 'output/etc')"})
    assert resp["artifacts"] == {}
    assert omitted(resp)["etc"][1] == "symlink"
    assert "root:" not in json.dumps(resp)


def test_symlink_inside_workspace_not_followed(rb):
    resp = ok(rb, {"script": "import os\nos.symlink('../main.py', 'output/m.py')\nos.symlink('m.py', 'output/m2.py')"})
    assert resp["artifacts"] == {}
    assert {p: r for p, (_, r) in omitted(resp).items()} == {"m.py": "symlink", "m2.py": "symlink"}


@pytest.mark.parametrize("target", ["/", "/etc"])
def test_output_replaced_by_symlink(rb, target):
    script = (f"import os, shutil\nshutil.rmtree('output')\nos.symlink({target!r}, 'output')\nprint('swapped')")
    resp = ran(rb, {"script": script})
    assert resp["artifacts"] == {}
    dump = json.dumps(resp)
    assert "root:" not in dump and "passwd" not in dump and "shadow" not in dump


def test_output_replaced_by_other_dir(rb):
    script = ("import os\nos.rename('output', 'old')\nos.mkdir('output')\n"
              "open('output/new.txt','w').write('new')\nopen('old/old.txt','w').write('old')")
    resp = ran(rb, {"script": script})
    # artifacts come from the output/ opened before the program started (never from elsewhere)
    assert resp["artifacts"] in ({"old.txt": "old"}, {}), short(resp)


def test_output_cleared_and_made_again(rb):
    # rmtree + mkdir is how programs clear their output: the directory opened
    # before the start has no name any more, and the new one is read.
    script = ("import os, shutil\nopen('output/stale.txt','w').write('s')\nshutil.rmtree('output')\n"
              "os.mkdir('output')\nos.symlink('/etc/passwd', 'output/p')\n"
              "open('output/r.txt','w').write('42')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"r.txt": "42"}, short(resp)
    assert omitted(resp) == {"p": (0, "symlink")}


def test_hardlinks_omitted(rb):
    script = ("import os\nopen('secret.txt','w').write('s')\nos.link('secret.txt', 'output/h.txt')\n"
              "open('output/a.txt','w').write('a')\nos.link('output/a.txt', 'output/b.txt')\n"
              "open('output/plain.txt','w').write('p')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {"plain.txt": "p"}
    assert {p: r for p, (_, r) in omitted(resp).items()} == {"h.txt": "hardlink", "a.txt": "hardlink",
                                                              "b.txt": "hardlink"}


def test_fifo_omitted_and_no_hang(rb):
    resp = ok(rb, {"script": "import os\nos.mkfifo('output/pipe')\nopen('output/ok.txt','w').write('ok')", "timeout_s": 5})
    assert resp["artifacts"] == {"ok.txt": "ok"}
    assert omitted(resp)["pipe"] == (0, "not_regular_file")
    assert rb.last_elapsed < 4


def test_socket_omitted(rb):
    script = ("import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('output/sock')\ns.close()")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"] == {}
    assert omitted(resp)["sock"][1] == "not_regular_file"


def test_unreadable_artifact_still_collected_or_reported(rb):
    # a file the program made mode 000: runbox reads it (as root) or reports it; the run never fails
    resp = ok(rb, {"script": "import os\nopen('output/x.txt','w').write('x')\nos.chmod('output/x.txt', 0)\nprint('fine')"})
    assert resp["stdout"] == "fine\n"
    assert resp["artifacts"] == {"x.txt": "x"} or "x.txt" in omitted(resp)


def test_unreadable_output_subdir(rb):
    script = ("import os\nos.makedirs('output/locked')\nopen('output/locked/f','w').write('f')\n"
              "os.chmod('output/locked', 0)\nopen('output/top','w').write('t')")
    resp = ok(rb, {"script": script})
    assert resp["artifacts"].get("top") == "t"


def test_artifact_names_with_special_characters(rb):
    script = ("names = ['a b.txt', 'quote\"d.txt', 'back\\\\slash.txt', 'tab\\there.txt', 'ünï.txt']\n"
              "for n in names:\n    open('output/' + n, 'w').write(n)")
    resp = ok(rb, {"script": script})
    names = ['a b.txt', 'quote"d.txt', 'back\\slash.txt', 'tab\there.txt', 'ünï.txt']
    assert resp["artifacts"] == {n: n for n in names}


def test_artifact_with_non_utf8_name_keeps_result(rb):
    script = ("import os\nfd = os.open(b'output/\\xff\\xfe.bin', os.O_WRONLY | os.O_CREAT, 0o644)\n"
              "os.write(fd, b'x')\nos.close(fd)\nopen('output/ok.txt','w').write('ok')\nprint('done')")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "done\n"
    assert resp["artifacts"].get("ok.txt") == "ok"
    # the odd name is either reported with U+FFFD or left out with a reason; never invalid JSON
    others = set(resp["artifacts"]) - {"ok.txt"}
    assert others <= {"\ufffd\ufffd.bin"}
    if not others:
        assert len(resp.get("omitted_artifacts", [])) == 1


def test_omitted_artifact_with_non_utf8_name_keeps_json_valid(rb):
    script = ("import os\nos.symlink('/etc/passwd', b'output/\\xfflink')\nos.mkdir(b'output/d\\xfe')\n"
              "open(b'output/d\\xfe/f.txt', 'w').write('f')\nprint('done')")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "done\n"
    assert set(resp["artifacts"]) <= {"d\ufffd/f.txt"}
    assert [e["reason"] for e in resp["omitted_artifacts"]].count("symlink") == 1
