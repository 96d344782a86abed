"""Malformed requests and path tricks in files/context/entry_point: refused before anything runs."""

import json

import pytest

from conftest import MiB, kv, ok, py, refused, short


def files_req(extra, entry="main.py"):
    f = {"main.py": "print('main')"}
    f.update(extra)
    return {"files": f, "entry_point": entry}


@pytest.mark.parametrize("key", [
    "../evil.py", "a/../../evil.py", "/etc/cron.d/evil", "//evil", "a\\..\\..\\evil.py",
    "..\\evil.py", "a/./b.py", "a//b.py", "a/", "", "a/\u0001b", "a\nb", "x/" + "s" * 256,
])
def test_bad_files_path_refused(rb, key):
    refused(rb, files_req({key: "pwned"}), "invalid_path", field="files." + key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "..", "\\..\\x", "a\\.\\b"])
def test_bad_context_path_refused(rb, key):
    refused(rb, {"script": "print(1)", "context": {key: "x"}}, "invalid_path", field="context." + key)


def test_overlong_total_path_refused(rb):
    key = "/".join(["d" * 200] * 5) + "/f"    # 1006 + ... > 1024 bytes
    key = "/".join(["d" * 250] * 4) + "/" + "f" * 30
    assert len(key.encode()) > 1024
    refused(rb, files_req({key: "x"}), "invalid_path", field="files." + key)


def test_too_deep_path_refused(rb):
    key = "/".join("d" * 17) + ".py"
    refused(rb, files_req({key: "x"}), "invalid_path", field="files." + key)


def test_nul_in_path_refused(rb):
    refused(rb, files_req({"a\u0000b.py": "x"}), "nul_in_string")


def test_invalid_utf8_path_refused(rb):
    body = b'{"files":{"main.py":"print(1)","a\xff.py":"x"},"entry_point":"main.py"}'
    refused(rb, body, "invalid_utf8")


def test_backslash_duplicate_refused(rb):
    resp = refused(rb, files_req({"a/b.py": "1", "a\\b.py": "2"}), "duplicate_path")
    assert resp["field"] == "files", resp


def test_file_and_directory_conflict_refused(rb):
    resp = refused(rb, files_req({"a": "1", "a/b.py": "2"}), "path_conflict")
    assert resp["field"] == "files", resp


@pytest.mark.parametrize("key", ["input/x.py", "output/x.py", "output\\x.py"])
def test_reserved_workspace_dirs_refused(rb, key):
    refused(rb, files_req({key: "x"}), "reserved_path", field="files")


@pytest.mark.parametrize("entry", ["../main.py", "/main.py", "..\\main.py"])
def test_entry_point_escape_refused(rb, entry):
    # the message says "not a valid path"; the code is entry_point_not_found
    refused(rb, files_req({}, entry=entry), "entry_point_not_found", field="entry_point")


def test_input_is_read_only(rb):
    resp, L = ok(rb, py("res('write', eo(open, 'input/data.txt', 'w'))\n"
                        "res('create', eo(open, 'input/new.txt', 'w'))\n"
                        "res('unlink', eo(os.unlink, 'input/data.txt'))\n",
                        context={"data.txt": "orig"}))
    got = kv(resp)
    assert set(got.values()) <= {"EACCES", "EROFS"} and len(set(got.values())) == 1, short(resp)


def test_nesting_bomb_refused(rb):
    refused(rb, b'{"script":"print(1)","env":' + b'[' * 100000 + b']' * 100000 + b'}', "nesting_too_deep")


def test_value_count_bomb_refused(rb):
    body = b'{"script":"print(1)","args":[' + b",".join([b'"a"'] * 150000) + b']}'
    refused(rb, body, "too_many_values")


def test_body_over_cap_refused_quickly(rb):
    body = b'{"script":"' + b"#" * (33 * MiB) + b'"}'
    refused(rb, body, "body_too_large", timeout=30)
    assert rb.last_elapsed < 5


def test_duplicate_key_smuggling_refused(rb):
    refused(rb, b'{"script":"print(1)","env":{"A":"1","A":"2"}}', "duplicate_key")


@pytest.mark.parametrize("name", ["LD_PRELOAD", "PYTHONSTARTUP", "BASH_ENV", "PATH", "RUNBOX_UID",
                                  "PYTHONPATH", "HOME", "GCONV_PATH"])
def test_reserved_env_refused(rb, name):
    refused(rb, {"script": "print(1)", "env": {name: "/tmp/evil"}}, "reserved_env_name", field="env." + name)


def test_network_opt_in_refused(rb):
    refused(rb, {"script": "print(1)", "network": True}, "network_not_allowed", field="network")
