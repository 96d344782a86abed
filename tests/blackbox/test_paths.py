"""Paths in files/context: normalisation, refusals, counts and sizes."""

import hashlib

import pytest

from conftest import MiB, b64, ok, refused

LIST_INPUT = ("import os\n"
              "for r, ds, fs in sorted(os.walk('input')):\n"
              "    for f in sorted(fs):\n"
              "        p = os.path.join(r, f)\n"
              "        print(p, os.path.getsize(p))\n")


def ctx(paths, content="x"):
    return {"script": LIST_INPUT, "context": {p: content for p in paths}}


def files_req(extra):
    f = {"main.py": "print('main')"}
    f.update(extra)
    return {"files": f, "entry_point": "main.py"}


# ---------------------------------------------------------------------------
# accepted forms
# ---------------------------------------------------------------------------

def test_nested_and_unicode_paths(rb):
    resp = ok(rb, ctx(["a/b/c.txt", "données/é.txt", "x y.txt", "C:/d.txt", "..a/b..", ".hidden"]))
    assert sorted(resp["stdout"].splitlines()) == sorted([
        "input/a/b/c.txt 1", "input/données/é.txt 1", "input/x y.txt 1", "input/C:/d.txt 1",
        "input/..a/b.. 1", "input/.hidden 1"])


def test_backslash_is_slash_in_context(rb):
    resp = ok(rb, ctx(["dir\\sub\\f.txt"]))
    assert resp["stdout"] == "input/dir/sub/f.txt 1\n"


def test_context_key_input_is_fine(rb):
    # only files keys are reserved; context lives under input/ already
    resp = ok(rb, ctx(["input/x.txt", "output/y.txt"]))
    assert sorted(resp["stdout"].splitlines()) == ["input/input/x.txt 1", "input/output/y.txt 1"]


@pytest.mark.parametrize("key", ["inputs/x.txt", "Output/x.txt", "outputx", "my_input/a"])
def test_files_keys_similar_to_reserved_are_fine(rb, key):
    ok(rb, files_req({key: "x"}))


def test_depth_at_limit(rb):
    p = "/".join(f"d{i}" for i in range(15)) + "/f.txt"     # 16 segments
    resp = ok(rb, ctx([p]))
    assert resp["stdout"] == f"input/{p} 1\n"


def test_depth_one_past_limit(rb):
    p = "/".join(f"d{i}" for i in range(16)) + "/f.txt"     # 17 segments
    refused(rb, ctx([p]), "invalid_path", f"context.{p}")


def test_depth_one_past_limit_in_files(rb):
    p = "/".join(f"d{i}" for i in range(16)) + "/f.txt"
    refused(rb, files_req({p: "x"}), "invalid_path", f"files.{p}")


def test_segment_at_limit(rb):
    seg = "s" * 255
    resp = ok(rb, ctx([seg, "d/" + seg]))
    assert sorted(resp["stdout"].splitlines()) == sorted([f"input/{seg} 1", f"input/d/{seg} 1"])


def test_segment_one_past_limit(rb):
    refused(rb, ctx(["d/" + "s" * 256]), "invalid_path", "context.d/" + "s" * 256)


def test_segment_limit_counts_bytes(rb):
    ok(rb, ctx(["é" * 127 + "x"]))                                    # 255 bytes
    refused(rb, ctx(["é" * 128]), "invalid_path", "context." + "é" * 128)  # 256 bytes, 128 chars


def _long_path(total):
    # five segments of at most 255 bytes, joined with 4 slashes
    n = total - 4
    segs = []
    for _ in range(5):
        take = min(255, n - (4 - len(segs)))
        segs.append("p" * take)
        n -= take
    p = "/".join(segs)
    assert len(p) == total and max(map(len, segs)) <= 255
    return p


def test_path_total_at_limit(rb):
    p = _long_path(1024)
    resp = ok(rb, ctx([p]))
    assert resp["stdout"] == f"input/{p} 1\n"


def test_path_total_one_past_limit(rb):
    p = _long_path(1025)
    refused(rb, ctx([p]), "invalid_path", f"context.{p}")


# ---------------------------------------------------------------------------
# refused forms
# ---------------------------------------------------------------------------

BAD_PATHS = [
    "/etc/passwd", "../x", "a/../b", "a/..", "..", ".", "./a", "a/./b", "a//b", "", "a/",
    "/", "\\etc\\passwd", "..\\..\\etc\\passwd", "a\\", "a\\\\b", "a\x01b", "a\nb", "a\tb", "a\x1fb",
    "a\x7fb",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_invalid_context_path(rb, path):
    refused(rb, {"script": "print(1)", "context": {path: "x"}}, "invalid_path", f"context.{path}")


@pytest.mark.parametrize("path", ["/tmp/evil.py", "../evil.py", "a//b.py", "x/./y.py", "\\abs.py"])
def test_invalid_files_path(rb, path):
    refused(rb, files_req({path: "x"}), "invalid_path", f"files.{path}")


def test_nul_in_path_is_nul_in_string(rb):
    refused(rb, b'{"script":"print(1)","context":{"a\\u0000b":"x"}}', "nul_in_string")


def test_invalid_utf8_path(rb):
    refused(rb, b'{"script":"print(1)","context":{"a\xffb":"x"}}', "invalid_utf8")


def test_duplicate_path_after_normalisation(rb):
    refused(rb, {"script": "print(1)", "context": {"a/b.txt": "1", "a\\b.txt": "2"}}, "duplicate_path",
            lambda f: f in ("context", "context.a/b.txt", "context.a\\b.txt"))


def test_duplicate_path_in_files(rb):
    refused(rb, files_req({"pkg/m.py": "1", "pkg\\m.py": "2"}), "duplicate_path",
            lambda f: f in ("files", "files.pkg/m.py", "files.pkg\\m.py"))


@pytest.mark.parametrize("a,b", [("a", "a/b"), ("a/b", "a/b/c"), ("a", "a\\b")])
def test_path_conflict(rb, a, b):
    refused(rb, {"script": "print(1)", "context": {a: "1", b: "2"}}, "path_conflict",
            lambda f: f == "context" or f.startswith("context."))


def test_path_conflict_in_files(rb):
    refused(rb, files_req({"lib": "x", "lib/m.py": "y"}), "path_conflict", lambda f: f == "files" or f.startswith("files."))


def test_no_conflict_for_prefix_names(rb):
    resp = ok(rb, ctx(["a", "ab/c", "a.txt"]))
    assert sorted(resp["stdout"].splitlines()) == ["input/a 1", "input/a.txt 1", "input/ab/c 1"]


@pytest.mark.parametrize("key", ["input/x.txt", "output/y.txt", "output", "input", "input\\z.txt"])
def test_reserved_files_path(rb, key):
    # the field is the files object or the offending key
    refused(rb, files_req({key: "x"}), "reserved_path", lambda f: f in ("files", f"files.{key}"))


# ---------------------------------------------------------------------------
# counts and sizes
# ---------------------------------------------------------------------------

def test_context_count_at_limit(rb):
    resp = ok(rb, ctx([f"f{i:02d}" for i in range(20)]))
    assert len(resp["stdout"].splitlines()) == 20


def test_context_count_one_past_limit(rb):
    refused(rb, ctx([f"f{i:02d}" for i in range(21)]), "too_many_files", "context")


def test_files_count_at_limit(rb):
    resp = ok(rb, files_req({f"f{i:02d}.txt": "x" for i in range(19)}))   # 20 with main.py
    assert resp["stdout"] == "main\n"


def test_files_count_one_past_limit(rb):
    refused(rb, files_req({f"f{i:02d}.txt": "x" for i in range(20)}), "too_many_files", "files")


def test_twenty_files_and_twenty_context(rb):
    req = files_req({f"f{i:02d}.txt": "x" for i in range(19)})
    req["context"] = {f"c{i:02d}": "y" for i in range(20)}
    ok(rb, req)


def test_file_size_at_limit_text(rb):
    resp = ok(rb, ctx(["big.txt"], "a" * (5 * MiB)))
    assert resp["stdout"] == f"input/big.txt {5 * MiB}\n"


def test_file_size_one_past_limit_text(rb):
    refused(rb, ctx(["big.txt"], "a" * (5 * MiB + 1)), "file_too_large", "context.big.txt")


def test_file_size_counts_decoded_base64(rb):
    data = bytes(range(256)) * (5 * MiB // 256)            # exactly 5 MiB decoded, ~6.7 MiB encoded
    resp = ok(rb, {"script": "import hashlib\nprint(hashlib.sha256(open('input/b.bin','rb').read()).hexdigest())",
                   "context": {"b.bin": {"content": b64(data), "encoding": "base64"}}})
    assert resp["stdout"] == hashlib.sha256(data).hexdigest() + "\n"


def test_file_size_one_past_limit_base64(rb):
    refused(rb, {"script": "print(1)", "context": {"b.bin": {"content": b64(b"\0" * (5 * MiB + 1)),
                                                              "encoding": "base64"}}},
            "file_too_large", "context.b.bin")


def test_file_size_one_past_limit_in_files(rb):
    refused(rb, files_req({"big.txt": "a" * (5 * MiB + 1)}), "file_too_large", "files.big.txt")


def test_total_size_at_limit(rb):
    resp = ok(rb, ctx(["a", "b"], "z" * (5 * MiB)))
    assert sorted(resp["stdout"].splitlines()) == [f"input/a {5 * MiB}", f"input/b {5 * MiB}"]


def test_total_size_one_past_limit(rb):
    req = ctx(["a", "b"], "z" * (5 * MiB))
    req["context"]["c"] = "1"
    refused(rb, req, "total_size_too_large", "context")


def test_total_size_counts_files_and_context(rb):
    main = "print('main')"
    req = {"files": {"main.py": main, "big": "q" * (5 * MiB - len(main))},
           "context": {"big": "r" * (5 * MiB)}, "entry_point": "main.py"}
    ok(rb, req)                                  # exactly 10 MiB
    req["context"]["one"] = "1"
    refused(rb, req, "total_size_too_large", lambda f: f in ("files", "context"))
