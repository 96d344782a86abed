"""Client-kept state: "return_state": true returns the workspace as a
"state" string, and "state" starts a later call from it.  Every check a
request's files get, and more: links, special files, paths, input/, bombs
by ratio and by count, sizes, and the HMAC tag under RUNBOX_STATE_KEY."""

import base64
import gzip
import io
import json
import os
import tarfile

from conftest import ok, ran, refused, short, stdin_only

MiB = 1 << 20


def _ran_with(rb, req, env=None, keys=("state",)):
    rc, resp, err = rb.run(req, env=env)
    assert rc == 0 and "exit_code" in resp, f"exit {rc}: {short(resp)}\n{err[-2000:]}"
    return resp


def _state(members, tagged=False):
    """A state envelope around a tar.gz of @members: (name, type, data) tuples."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in members:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    ti.linkname = data
                t.addfile(ti)
    return base64.b64encode(b"RBST\x01" + bytes([1 if tagged else 0]) + buf.getvalue()).decode()


WRITE = ("import os\nopen('a.txt','w').write('A')\nos.makedirs('d/e')\n"
         "open('d/e/f.bin','wb').write(bytes(range(256)))\nos.chmod('d/e/f.bin', 0o640)\n"
         "open('output/o.txt','w').write('O')\nos.symlink('a.txt','link')\n")

READ = ("import os\nprint(sorted(os.listdir('.')), open('a.txt').read(),"
        " open('d/e/f.bin','rb').read() == bytes(range(256)), oct(os.stat('d/e/f.bin').st_mode"
        " & 0o777), os.listdir('output'), sorted(os.listdir('input')))")


def test_round_trip(rb):
    j = _ran_with(rb, {"script": WRITE, "return_state": True, "context": {"in.txt": "i"}})
    assert j["exit_code"] == 0, short(j)
    assert isinstance(j["state"], str) and "state_error" not in j
    raw = base64.b64decode(j["state"])
    assert raw[:4] == b"RBST" and raw[6:8] == b"\x1f\x8b"  # gzip inside the envelope
    names = tarfile.open(fileobj=io.BytesIO(raw[6:]), mode="r:gz").getnames()
    assert "a.txt" in names and "output/o.txt" in names
    assert not [n for n in names if n.startswith("input")], names  # inputs are resent
    assert "link" not in names  # links are never kept
    j = _ran_with(rb, {"script": READ, "state": j["state"], "context": {"new.txt": "n"}})
    assert j["stdout"] == ("['.home', '.tmp', 'a.txt', 'd', 'input', 'main.py', 'output'] A "
                           "True 0o640 ['o.txt'] ['new.txt']\n"), short(j)
    assert "state" not in j  # only when asked


def test_request_files_win_over_the_state(rb):
    st = _state([("main.py", tarfile.REGTYPE, b"print('from the state')"),
                 ("x.txt", tarfile.REGTYPE, b"state")])
    j = ok(rb, {"script": "print(open('x.txt').read())", "state": st})
    assert j["stdout"] == "state\n"


def test_tampered_state_without_key(rb):
    j = _ran_with(rb, {"script": "open('a','w').write('1')", "return_state": True})
    raw = bytearray(base64.b64decode(j["state"]))
    for cut in (bytes(raw[:3]), bytes(raw[:len(raw) // 2]), b"RBST\x02\x00" + raw[6:],
                b"garbage" * 10):
        r = refused(rb, {"script": "1", "state": base64.b64encode(cut).decode()},
                    "invalid_state", "state")
        assert "earlier answer returned" in r["error"]
    # Without a key, a state changed into another valid archive is taken as any state
    # is: through every check (see the link, path and bomb tests), never trusted.
    refused(rb, {"script": "1", "state": "not base64!"}, "invalid_base64", "state")
    refused(rb, {"script": "1", "state": 5}, "wrong_type", "state")
    refused(rb, {"script": "1", "return_state": "yes"}, "wrong_type", "return_state")


def test_with_key_tampered_foreign_and_untagged_states_are_refused(rb):
    k1 = {"RUNBOX_STATE_KEY": "key-one-" + "x" * 40}
    k2 = {"RUNBOX_STATE_KEY": "key-two-" + "y" * 40}
    j = _ran_with(rb, {"script": "open('a','w').write('1')", "return_state": True}, env=k1)
    st = j["state"]
    raw = base64.b64decode(st)
    assert raw[5] == 1  # tagged
    assert ok(rb, {"script": "print(open('a').read())", "state": st}, env=k1)["stdout"] == "1\n"
    r = refused(rb, {"script": "1", "state": st}, "invalid_state", "state", env=k2)
    assert "RUNBOX_STATE_KEY" in r["error"]
    for i in (4, 5, 10, len(raw) // 2, len(raw) - 40, len(raw) - 1):
        bad = bytearray(raw)
        bad[i] ^= 1
        refused(rb, {"script": "1", "state": base64.b64encode(bytes(bad)).decode()},
                "invalid_state", "state", env=k1)
    # A state made without a key, or with its tag cut off, is refused where one is set.
    untagged = _state([("a", tarfile.REGTYPE, b"1")])
    r = refused(rb, {"script": "1", "state": untagged}, "invalid_state", "state", env=k1)
    assert "carries no tag" in r["error"]
    # A forged tag bit without the key's tag: still refused.
    forged = _state([("a", tarfile.REGTYPE, b"1")], tagged=True)
    refused(rb, {"script": "1", "state": forged}, "invalid_state", "state", env=k1)


def test_links_special_files_and_bad_paths_are_refused(rb):
    cases = [
        [("l", tarfile.SYMTYPE, "/etc/passwd")],
        [("a", tarfile.REGTYPE, b"1"), ("h", tarfile.LNKTYPE, "a")],
        [("f", tarfile.FIFOTYPE, None)],
        [("c", tarfile.CHRTYPE, None)],
        [("../escape", tarfile.REGTYPE, b"x")],
        [("/abs", tarfile.REGTYPE, b"x")],
        [("a/../../b", tarfile.REGTYPE, b"x")],
        [("input/x", tarfile.REGTYPE, b"x")],
    ]
    for members in cases:
        r = refused(rb, {"script": "1", "state": _state(members)}, "invalid_state", "state")
        assert "refused" in r["error"], r
    # A symlink planted as a directory cannot redirect a later entry either.
    st = _state([("d", tarfile.SYMTYPE, "/tmp"), ("d/x", tarfile.REGTYPE, b"x")])
    refused(rb, {"script": "1", "state": st}, "invalid_state", "state")


def test_bombs_by_ratio_and_by_count(rb):
    # 200 MiB of zeros compress to about 200 KiB: past 100 bytes per compressed byte.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        ti = tarfile.TarInfo("zeros")
        ti.size = 200 * MiB

        class Zeros(io.RawIOBase):
            left = ti.size

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n
        t.addfile(ti, Zeros())
    st = base64.b64encode(b"RBST\x01\x00" + buf.getvalue()).decode()
    r = refused(rb, {"script": "1", "state": st}, "invalid_state", "state")
    assert "per compressed byte" in r["error"]
    many = _state([(f"f{i}", tarfile.REGTYPE, b"") for i in range(10001)])
    r = refused(rb, {"script": "1", "state": many}, "invalid_state", "state")
    assert "10000" in r["error"]


def test_oversize_state_in_and_out(rb):
    env = {"RUNBOX_STATE_MAX_BYTES": str(64 * 1024)}
    j = _ran_with(rb, {"script": "import os\nopen('r','wb').write(os.urandom(200000))\nprint(1)",
                       "return_state": True}, env=env)
    # The program's answer stands; the state's absence is said, never silent.
    assert j["exit_code"] == 0 and j["stdout"] == "1\n"
    assert "state" not in j and j["state_error"]["code"] == "state_too_large"
    assert "RUNBOX_STATE_MAX_BYTES" in j["state_error"]["error"]
    big = base64.b64encode(b"RBST\x01\x00" + os.urandom(100 * 1024)).decode()
    r = refused(rb, {"script": "1", "state": big}, "state_too_large", "state", env=env)
    assert "limit" in r["error"]


def test_state_and_session_conflict(rb):
    refused(rb, {"script": "1", "state": _state([]), "session": True}, "conflicting_fields",
            "state")
    stdin_only("a server keeps sessions: there \"session\" is no refusal")
    refused(rb, {"script": "1", "session": True}, "sessions_unavailable", "session")


def _state_error(rb, script, code):
    j = _ran_with(rb, {"script": script, "return_state": True})
    assert j["exit_code"] == 0, short(j)  # the program's answer stands
    assert "state" not in j and j["state_error"]["code"] == code, short(j)
    return j["state_error"]["error"]


def test_sparse_files_past_the_workspace_are_refused_before_packing(rb):
    # 9 x 60 MiB that take no block (540 MiB, past the 512 MiB workspace): counted at
    # their size, never read.
    msg = _state_error(rb, "for i in range(9): open(f'sparse{i}','wb').truncate(60 << 20)",
                       "state_too_large")
    assert "sparse file" in msg and "'sparse" in msg and "536870912" in msg, msg


def test_files_extraction_would_call_a_bomb_are_refused_at_packing(rb):
    # 32 MiB of zeros compress far past 100 to 1: extraction would refuse the state.
    msg = _state_error(rb, "open('z','wb').write(bytes(32 << 20))", "state_too_large")
    assert "100" in msg and "compress" in msg, msg


def test_names_extraction_refuses_are_refused_at_packing_naming_the_path(rb):
    cases = [
        ("open('a\\x01b','w').write('1')", "'a\\u0001b'", "control character"),
        ("open(b'bad\\xff','w').write('1')", "'bad", "UTF-8"),
        ("import os\nos.makedirs('/'.join(['d'] * 17))", "'" + "/".join(["d"] * 17) + "'",
         "16 segments"),
    ]
    for script, path, why in cases:
        msg = _state_error(rb, script, "state_path_not_allowed")
        assert path in json.dumps(msg)[1:-1] and why in msg, msg
    msg = _state_error(rb, "for i in range(10001): open(f'f{i}', 'w')", "state_too_large")
    assert "10000" in msg, msg


def test_a_backslash_is_part_of_a_name_not_a_separator(rb):
    j = _ran_with(rb, {"script": "open('x','w').write('1')\nopen('x\\\\y','w').write('2')",
                       "return_state": True})
    assert "state_error" not in j, short(j)
    j = ok(rb, {"script": "print(open('x').read(), open('x\\\\y').read())", "state": j["state"]})
    assert j["stdout"] == "1 2\n", short(j)
