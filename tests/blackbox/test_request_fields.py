"""Request fields: each field's accepted and refused forms, body-level rules."""

import json
import resource  # noqa: F401  (documentation: the limits below mirror resource.*)

import pytest

from conftest import KiB, MiB, b64, ok, ran, refused, short


# ---------------------------------------------------------------------------
# The basic contract (code_runner compatible)
# ---------------------------------------------------------------------------

def test_print_2_plus_2(rb):
    resp = ok(rb, {"script": "print(2+2)"})
    assert resp["stdout"] == "4\n"
    assert resp["stderr"] == ""
    assert resp["artifacts"] == {}
    assert resp["truncated"] == {"stdout": False, "stderr": False}
    assert resp["dependencies"] == []
    assert "omitted_artifacts" not in resp


def test_raw_echo_body_with_trailing_newline(rb):
    rc, resp, _ = rb.run(b'{"script":"print(2+2)"}\n')
    assert rc == 0 and resp["stdout"] == "4\n" and resp["exit_code"] == 0


def test_empty_script_is_refused(rb):
    for script in ("", " \n\t "):
        resp = refused(rb, {"script": script}, "empty_script", "script")
        assert resp["error"].startswith("Script cannot be empty."), resp


def test_sys_exit_none_is_0(rb):
    resp = ran(rb, {"script": "import sys\nprint('a')\nsys.exit()"}, status="ok", exit_code=0)
    assert resp["stdout"] == "a\n"


def test_sys_exit_code(rb):
    resp = ran(rb, {"script": "import sys\nsys.exit(3)"}, status="error", exit_code=3)
    assert resp["stderr"] == ""


def test_sys_exit_message(rb):
    resp = ran(rb, {"script": "import sys\nsys.exit('bad thing')"}, status="error", exit_code=1)
    assert resp["stderr"] == "bad thing\n"


def test_exception_traceback_has_no_wrapper_frames(rb):
    resp = ran(rb, {"script": "x = 1\nraise ValueError('boom')\n"}, status="error", exit_code=1)
    err = resp["stderr"]
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert err.count('  File "') == 1, err
    assert 'main.py", line 2, in <module>' in err, err
    assert err.endswith("ValueError: boom\n"), err


def test_script_runs_as_main_py(rb):
    resp = ok(rb, {"script": "import os, sys\nprint(os.path.basename(sys.argv[0]), os.path.basename(__file__), __name__)"})
    assert resp["stdout"] == "main.py main.py __main__\n"


# ---------------------------------------------------------------------------
# stdin / args
# ---------------------------------------------------------------------------

def test_stdin_default_is_empty_eof(rb):
    resp = ok(rb, {"script": "import sys\nprint(repr(sys.stdin.read()))", "timeout_s": 5}, timeout=20)
    assert resp["stdout"] == "''\n"


def test_stdin_is_fed(rb):
    resp = ok(rb, {"script": "import sys\nd = sys.stdin.read()\nprint(repr(d))", "stdin": "héllo\nworld", "timeout_s": 5},
              timeout=20)
    assert resp["stdout"] == "'héllo\\nworld'\n"


def test_stdin_at_limit(rb):
    n = 10 * MiB
    resp = ok(rb, {"script": "import sys\nprint(len(sys.stdin.buffer.read()))", "stdin": "x" * n, "timeout_s": 5},
              timeout=20)
    assert resp["stdout"] == f"{n}\n"


def test_stdin_one_past_limit(rb):
    refused(rb, {"script": "print(1)", "stdin": "x" * (10 * MiB + 1)}, "stdin_too_large", "stdin")


def test_stdin_limit_counts_utf8_bytes(rb):
    # 5 MiB + 1 characters of 2 bytes each: over 10 MiB of UTF-8
    refused(rb, {"script": "print(1)", "stdin": "é" * (5 * MiB + 1)}, "stdin_too_large", "stdin")


def test_large_stdin_not_read_does_not_block(rb):
    resp = ok(rb, {"script": "print('done')", "stdin": "y" * (10 * MiB), "timeout_s": 10})
    assert resp["stdout"] == "done\n"
    assert rb.last_elapsed < 8


def test_args_reach_argv(rb):
    args = ["a", "b c", "", "ünï", "--flag", "$HOME", "*"]
    resp = ok(rb, {"script": "import sys, json\nprint(json.dumps(sys.argv[1:]))", "args": args})
    assert json.loads(resp["stdout"]) == args


def test_args_at_count_limit(rb):
    resp = ok(rb, {"script": "import sys\nprint(len(sys.argv) - 1)", "args": [str(i) for i in range(256)]})
    assert resp["stdout"] == "256\n"


def test_args_one_past_count_limit(rb):
    refused(rb, {"script": "print(1)", "args": [str(i) for i in range(257)]}, "too_many_args", "args")


def test_args_at_size_limit(rb):
    args = ["a" * (64 * KiB), "b" * (64 * KiB)]  # 131072 bytes in all
    resp = ok(rb, {"script": "import sys\nprint(sum(map(len, sys.argv[1:])))", "args": args})
    assert resp["stdout"] == "131072\n"


def test_one_arg_at_the_kernel_string_limit(rb):
    # One string of an execve is at most 131071 bytes plus its NUL.
    resp = ok(rb, {"script": "import sys\nprint(len(sys.argv[1]))", "args": ["a" * 131071]})
    assert resp["stdout"] == "131071\n"


def test_one_arg_past_the_kernel_string_limit(rb):
    resp = refused(rb, {"script": "print(1)", "args": ["x", "a" * 131072]}, "args_too_large",
                   "args[1]")
    assert "131071" in resp["error"]


def test_args_one_past_size_limit(rb):
    args = ["a" * (64 * KiB), "b" * (64 * KiB + 1)]
    refused(rb, {"script": "print(1)", "args": args}, "args_too_large", "args")


@pytest.mark.parametrize("args", ["a b", {"a": "b"}, 5])
def test_args_wrong_type(rb, args):
    refused(rb, {"script": "print(1)", "args": args}, "wrong_type", "args")


@pytest.mark.parametrize("item", [1, None, ["x"], True])
def test_args_item_wrong_type(rb, item):
    refused(rb, {"script": "print(1)", "args": ["ok", item]}, "wrong_type",
            lambda f: f.startswith("args"))


@pytest.mark.parametrize("stdin", [5, ["x"], {"a": "b"}, True])
def test_stdin_wrong_type(rb, stdin):
    refused(rb, {"script": "print(1)", "stdin": stdin}, "wrong_type", "stdin")


# ---------------------------------------------------------------------------
# script
# ---------------------------------------------------------------------------

def test_script_at_size_limit(rb):
    script = "#" + "x" * (256 * KiB - 2) + "\n"
    assert len(script.encode()) == 262144
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == ""


def test_script_one_past_size_limit(rb):
    script = "#" + "x" * (256 * KiB - 1) + "\n"
    refused(rb, {"script": script}, "script_too_large", "script")


def test_script_size_counts_utf8_bytes(rb):
    ok(rb, {"script": "#" + "é" * 131071 + "x"})             # 262144 bytes
    refused(rb, {"script": "#" + "é" * 131072}, "script_too_large", "script")  # 262145 bytes


@pytest.mark.parametrize("script", [5, ["print(1)"], {"a": "b"}, True])
def test_script_wrong_type(rb, script):
    refused(rb, {"script": script}, "wrong_type", "script")


def test_missing_program(rb):
    refused(rb, {}, "missing_program", "script")
    refused(rb, {"timeout_s": 5, "args": []}, "missing_program", "script")


def test_conflicting_script_and_files(rb):
    refused(rb, {"script": "print(1)", "files": {"main.py": "print(2)"}, "entry_point": "main.py"},
            "conflicting_fields", "files")


# ---------------------------------------------------------------------------
# files / entry_point / language
# ---------------------------------------------------------------------------

def test_files_mode_imports_work(rb):
    resp = ok(rb, {
        "files": {"main.py": "from util import f\nf()\n", "util.py": "def f():\n    print('hello')\n",
                  "data.csv": "a,b\n1,2"},
        "entry_point": "main.py"})
    assert resp["stdout"] == "hello\n"


def test_files_mode_packages_and_root(rb):
    resp = ok(rb, {
        "files": {"main.py": "import os\nfrom pkg.mod import v\nprint(v, sorted(p for p in os.listdir('.') if p in ('data.csv','main.py','pkg')))\nprint(open('data.csv').read())",
                  "pkg/__init__.py": "", "pkg/mod.py": "v = 42\n", "data.csv": "a,b\n1,2"},
        "entry_point": "main.py"})
    assert resp["stdout"] == "42 ['data.csv', 'main.py', 'pkg']\na,b\n1,2\n"


def test_entry_point_in_subdirectory(rb):
    resp = ok(rb, {"files": {"src/app.py": "import os, sys\nprint(os.path.basename(sys.argv[0]), os.path.isdir('output'), os.path.isfile('src/app.py'))"},
                   "entry_point": "src/app.py"})
    assert resp["stdout"] == "app.py True True\n"


def test_entry_point_backslash_is_slash(rb):
    resp = ok(rb, {"files": {"src/app.py": "print('ran')"}, "entry_point": "src\\app.py"})
    assert resp["stdout"] == "ran\n"


def test_files_key_backslash_is_slash(rb):
    resp = ok(rb, {"files": {"main.py": "print(open('pkg/data.txt').read())", "pkg\\data.txt": "inside"},
                   "entry_point": "main.py"})
    assert resp["stdout"] == "inside\n"


def test_file_value_object_forms(rb):
    resp = ok(rb, {"files": {
        "main.py": {"content": "print(open('a.txt').read(), open('b.bin','rb').read())"},
        "a.txt": {"content": "text", "encoding": "utf-8"},
        "b.bin": {"content": b64(b"\x00\x01\xff"), "encoding": "base64"}},
        "entry_point": "main.py"})
    assert resp["stdout"] == "text b'\\x00\\x01\\xff'\n"


def test_missing_entry_point(rb):
    refused(rb, {"files": {"main.py": "print(1)"}}, "missing_entry_point", "entry_point")


def test_unexpected_entry_point(rb):
    refused(rb, {"script": "print(1)", "entry_point": "main.py"}, "unexpected_entry_point", "entry_point")


def test_entry_point_not_found(rb):
    refused(rb, {"files": {"main.py": "print(1)"}, "entry_point": "app.py"}, "entry_point_not_found", "entry_point")


def test_empty_files(rb):
    refused(rb, {"files": {}, "entry_point": "main.py"}, "empty_files", "files")


@pytest.mark.parametrize("files", ["print(1)", ["main.py"], 3, True])
def test_files_wrong_type(rb, files):
    refused(rb, {"files": files, "entry_point": "main.py"}, "wrong_type", "files")


@pytest.mark.parametrize("ep", [1, ["main.py"], {"a": "b"}, True])
def test_entry_point_wrong_type(rb, ep):
    refused(rb, {"files": {"main.py": "print(1)"}, "entry_point": ep}, "wrong_type", "entry_point")


@pytest.mark.parametrize("value", [
    {"encoding": "utf-8"},                      # no content
    {"content": 5},                             # content not a string
    {"content": None},
    {"content": "x", "mode": "0755"},           # unknown key
    {},
])
def test_invalid_file_value(rb, value):
    refused(rb, {"files": {"main.py": "print(1)", "x.txt": value}, "entry_point": "main.py"},
            "invalid_file_value", "files.x.txt")


@pytest.mark.parametrize("enc", ["latin-1", "hex", "", "base32"])
def test_invalid_encoding(rb, enc):
    refused(rb, {"script": "print(1)", "context": {"x.txt": {"content": "aGk=", "encoding": enc}}},
            "invalid_encoding", "context.x.txt.encoding")


def test_language_bash_script(rb):
    resp = ok(rb, {"script": "echo hi\necho \"$1|$2\"\nbasename \"$0\"", "language": "bash", "args": ["x", "y z"]})
    assert resp["stdout"] == "hi\nx|y z\nmain.sh\n"


def test_language_bash_exit_code_and_stdin(rb):
    resp = ran(rb, {"script": "read x\necho \"got $x\"\necho err >&2\nexit 7", "language": "bash", "stdin": "line\n"},
               status="error", exit_code=7)
    assert resp["stdout"] == "got line\n" and resp["stderr"] == "err\n"


def test_language_python_explicit(rb):
    assert ok(rb, {"script": "print('py')", "language": "python"})["stdout"] == "py\n"


def test_language_inferred_from_sh_entry_point(rb):
    resp = ok(rb, {"files": {"run.sh": "echo from-bash $BASH_VERSION | cut -c1-9"}, "entry_point": "run.sh"})
    assert resp["stdout"] == "from-bash\n"


def test_bash_files_mode_explicit(rb):
    resp = ok(rb, {"files": {"run.sh": "source ./lib.sh\ngreet", "lib.sh": "greet() { echo hey; }"},
                   "entry_point": "run.sh", "language": "bash"})
    assert resp["stdout"] == "hey\n"


def test_python_entry_point_must_be_py(rb):
    refused(rb, {"files": {"run.sh": "echo hi"}, "entry_point": "run.sh", "language": "python"},
            "invalid_entry_point", "entry_point")
    refused(rb, {"files": {"run.txt": "print(1)"}, "entry_point": "run.txt"},
            "invalid_entry_point", "entry_point")


def test_bash_entry_point_must_be_sh(rb):
    refused(rb, {"files": {"main.py": "print(1)"}, "entry_point": "main.py", "language": "bash"},
            "invalid_entry_point", "entry_point")


@pytest.mark.parametrize("lang", ["ruby", "", "python3", "sh", "Bash "])
def test_invalid_language(rb, lang):
    refused(rb, {"script": "print(1)", "language": lang}, "invalid_language", "language")


@pytest.mark.parametrize("lang", [1, ["python"], True, {"a": "b"}])
def test_language_wrong_type(rb, lang):
    refused(rb, {"script": "print(1)", "language": lang}, "wrong_type", "language")


# ---------------------------------------------------------------------------
# context / base64
# ---------------------------------------------------------------------------

def test_context_goes_to_input(rb):
    resp = ok(rb, {"script": "import json\nprint(json.load(open('./input/data.json'))['key'])\nprint(open('input/sub/dir/n.txt').read())",
                   "context": {"data.json": "{\"key\": \"value\"}", "sub/dir/n.txt": "nested"}})
    assert resp["stdout"] == "value\nnested\n"


def test_input_and_output_exist_and_output_empty(rb):
    resp = ok(rb, {"script": "import os\nprint(os.path.isdir('input'), os.listdir('input'), os.path.isdir('output'), os.listdir('output'))"})
    assert resp["stdout"] == "True [] True []\n"


def test_context_binary_roundtrip(rb):
    data = bytes(range(256)) * 3
    resp = ok(rb, {"script": "import hashlib\nprint(hashlib.sha256(open('input/b.bin','rb').read()).hexdigest())",
                   "context": {"b.bin": {"content": b64(data), "encoding": "base64"}}})
    import hashlib
    assert resp["stdout"] == hashlib.sha256(data).hexdigest() + "\n"


@pytest.mark.parametrize("content,expect", [
    ("aGk=", b"hi"),
    ("aGk", b"hi"),                 # padding optional
    ("aG\r\nk=", b"hi"),            # CR/LF tolerated
    ("aGVs\nbG8=\n", b"hello"),
    ("", b""),
    ("//79", b"\xff\xfe\xfd"),
    ("+/+/", b"\xfb\xff\xbf"),
])
def test_base64_accepted_forms(rb, content, expect):
    resp = ok(rb, {"script": "import sys\nsys.stdout.write(open('input/x','rb').read().hex())",
                   "context": {"x": {"content": content, "encoding": "base64"}}})
    assert resp["stdout"] == expect.hex()


@pytest.mark.parametrize("content", ["aGk*", "aG k=", "-_-_", "a", "aG=k", "aGk=a", "aGk\t", "\u00e9AAA"])
def test_invalid_base64(rb, content):
    refused(rb, {"script": "print(1)", "context": {"x.bin": {"content": content, "encoding": "base64"}}},
            "invalid_base64", "context.x.bin")


def test_invalid_base64_in_files(rb):
    refused(rb, {"files": {"main.py": "print(1)", "d.bin": {"content": "@@@@", "encoding": "base64"}},
                 "entry_point": "main.py"}, "invalid_base64", "files.d.bin")


@pytest.mark.parametrize("ctx", ["x", ["a"], 1, True])
def test_context_wrong_type(rb, ctx):
    refused(rb, {"script": "print(1)", "context": ctx}, "wrong_type", "context")


def test_files_and_context_together(rb):
    resp = ok(rb, {"files": {"main.py": "print(open('input/a.txt').read(), open('a.txt').read())", "a.txt": "root"},
                   "context": {"a.txt": "in"}, "entry_point": "main.py"})
    assert resp["stdout"] == "in root\n"


# ---------------------------------------------------------------------------
# timeout_s
# ---------------------------------------------------------------------------

CPU_LIMIT_SCRIPT = "import resource\nprint(resource.getrlimit(resource.RLIMIT_CPU)[0])"


@pytest.mark.parametrize("t,cpu", [(5, 6), ("5", 6), (10, 11), ("10", 11)])
def test_timeout_forms_accepted(rb, t, cpu):
    resp = ok(rb, {"script": CPU_LIMIT_SCRIPT, "timeout_s": t})
    assert resp["stdout"] == f"{cpu}\n"


@pytest.mark.parametrize("t", [2.5, "2.5", 0.75])
def test_timeout_fractional_accepted(rb, t):
    ok(rb, {"script": "print(1)", "timeout_s": t})


def test_timeout_default_is_60(rb):
    assert ok(rb, {"script": CPU_LIMIT_SCRIPT})["stdout"] == "61\n"


@pytest.mark.parametrize("t", [300, 301, 100000, "1000"])
def test_timeout_above_max_is_clamped(rb, t):
    assert ok(rb, {"script": CPU_LIMIT_SCRIPT, "timeout_s": t})["stdout"] == "301\n"


@pytest.mark.parametrize("t", ["1e999", '"1e999"', "1E+400"])
def test_timeout_too_large_for_a_double_is_clamped(rb, t):
    # Valid JSON numbers above the maximum, however large: clamped, not refused.
    body = ('{"script": %s, "timeout_s": %s}' % (json.dumps(CPU_LIMIT_SCRIPT), t)).encode()
    rc, resp, err = rb.run(body)
    assert rc == 0 and resp["stdout"] == "301\n", resp


@pytest.mark.parametrize("t", [0, -1, -0.5, "0", "-3", "abc", "", "5s", "nan", True, False])
def test_invalid_timeout(rb, t):
    refused(rb, {"script": "print(1)", "timeout_s": t}, "invalid_timeout", "timeout_s")


# ---------------------------------------------------------------------------
# dependencies
# ---------------------------------------------------------------------------

PREINSTALLED = ["numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pillow", "requests",
                "httpx", "beautifulsoup4", "PyYAML", "toml", "python-dateutil", "tqdm", "urllib3", "idna"]


def _canon(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


def test_dependencies_preinstalled_run(rb):
    from importlib import metadata
    resp = ok(rb, {"script": "import numpy\nprint('ok')", "dependencies": ["numpy"]})
    assert resp["stdout"] == "ok\n"
    deps = resp["dependencies"]
    assert len(deps) == 1 and _canon(deps[0]["name"]) == "numpy"
    assert deps[0]["version"] == metadata.version("numpy")
    assert deps[0]["source"] == "preinstalled" and "fetch_ms" not in deps[0]


def test_dependencies_with_specifier(rb):
    resp = ok(rb, {"script": "print(1)", "dependencies": ["numpy>=1.0", "pyyaml"]})
    assert sorted(_canon(d["name"]) for d in resp["dependencies"]) == ["numpy", "pyyaml"]


def test_dependencies_at_count_limit(rb):
    resp = ok(rb, {"script": "print(1)", "dependencies": PREINSTALLED}, timeout=60)
    assert len(resp["dependencies"]) == 15


def test_dependencies_one_past_count_limit(rb):
    refused(rb, {"script": "print(1)", "dependencies": PREINSTALLED + ["six"]},
            "too_many_dependencies", "dependencies")


@pytest.mark.parametrize("deps", [["numpy", "NumPy"], ["python-dateutil", "python_dateutil"],
                                  ["scikit-learn", "Scikit.Learn"], ["numpy", "numpy>=1"]])
def test_duplicate_dependency(rb, deps):
    refused(rb, {"script": "print(1)", "dependencies": deps}, "duplicate_dependency",
            lambda f: f.startswith("dependencies"))


@pytest.mark.parametrize("dep", ["", "numpy>>1", "num py", "--index-url http://x/simple", "-e .",
                                 "numpy; bogus_marker == '1'", "../evil", "numpy[", "numpy==1.0,", "numpy @ "])
def test_invalid_dependency(rb, dep):
    refused(rb, {"script": "print(1)", "dependencies": [dep]}, "invalid_dependency",
            lambda f: f.startswith("dependencies"))


def test_dependency_not_found(rb):
    refused(rb, {"script": "print(1)", "dependencies": ["definitely-not-a-real-pkg-zq"]}, "dependency_not_found",
            lambda f: f.startswith("dependencies"))


@pytest.mark.parametrize("deps", ["numpy", {"numpy": "1"}, 1])
def test_dependencies_wrong_type(rb, deps):
    refused(rb, {"script": "print(1)", "dependencies": deps}, "wrong_type", "dependencies")


def test_dependencies_item_wrong_type(rb):
    refused(rb, {"script": "print(1)", "dependencies": ["numpy", 3]}, "wrong_type",
            lambda f: f.startswith("dependencies"))


# ---------------------------------------------------------------------------
# env
# ---------------------------------------------------------------------------

def test_env_reaches_program(rb):
    resp = ok(rb, {"script": "import os\nprint(repr(os.environ['FOO']), repr(os.environ['EMPTY']), repr(os.environ['_U1']))",
                   "env": {"FOO": "bar baz", "EMPTY": "", "_U1": "héllo=1"}})
    assert resp["stdout"] == "'bar baz' '' 'héllo=1'\n"


def test_env_at_count_limit(rb):
    env = {f"V{i}": str(i) for i in range(64)}
    resp = ok(rb, {"script": "import os\nprint(sum(1 for k in os.environ if k.startswith('V') and k[1:].isdigit()))", "env": env})
    assert resp["stdout"] == "64\n"


def test_env_one_past_count_limit(rb):
    env = {f"V{i}": str(i) for i in range(65)}
    refused(rb, {"script": "print(1)", "env": env}, "too_many_env", "env")


def test_env_at_size_limit(rb):
    env = {"A": "x" * (64 * KiB - 1), "B": "y" * (64 * KiB - 1)}  # names + values = 131072
    resp = ok(rb, {"script": "import os\nprint(len(os.environ['A']) + len(os.environ['B']))", "env": env}, mark=False)
    assert resp["stdout"] == "131070\n"


@pytest.mark.parametrize("size", [10000, 40000, 100000])
def test_env_large_values_run(rb, size):
    resp = ok(rb, {"script": "import os\nprint(len(os.environ['BIG']))", "env": {"BIG": "v" * size}})
    assert resp["stdout"] == f"{size}\n"


def test_one_env_variable_at_the_kernel_string_limit(rb):
    # NAME=VALUE is one string of the execve: at most 131071 bytes.
    resp = ok(rb, {"script": "import os\nprint(len(os.environ['A']))", "env": {"A": "x" * 131069}},
              mark=False)
    assert resp["stdout"] == "131069\n"


def test_one_env_variable_past_the_kernel_string_limit(rb):
    resp = refused(rb, {"script": "print(1)", "env": {"A": "x" * 131070}}, "env_too_large",
                   "env.A", mark=False)
    assert "131071" in resp["error"]


def test_env_one_past_size_limit(rb):
    env = {"A": "x" * (64 * KiB - 1), "B": "y" * (64 * KiB)}     # 131073
    refused(rb, {"script": "print(1)", "env": env}, "env_too_large", "env", mark=False)


@pytest.mark.parametrize("name", ["1A", "A-B", "A B", "A=B", "É", "A.B", ""])
def test_invalid_env_name(rb, name):
    refused(rb, {"script": "print(1)", "env": {name: "x"}}, "invalid_env_name",
            lambda f: f.startswith("env"))


@pytest.mark.parametrize("name", ["PATH", "HOME", "TMPDIR", "ENV", "BASH_ENV", "IFS", "PYTHONPATH",
                                  "PYTHONSTARTUP", "PYTHONHOME", "PYTHONWARNINGS", "PYTHONINSPECT",
                                  "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "RUNBOX_WORK_DIR",
                                  "RUNBOX_ANYTHING", "PYTHONUNBUFFERED"])
def test_reserved_env_name(rb, name):
    refused(rb, {"script": "print(1)", "env": {name: "x"}}, "reserved_env_name", f"env.{name}")


@pytest.mark.parametrize("val", [1, None, ["x"], True, {"a": "b"}])
def test_env_value_wrong_type(rb, val):
    refused(rb, {"script": "print(1)", "env": {"A": val}}, "wrong_type", "env.A")


@pytest.mark.parametrize("env", ["A=1", ["A=1"], 1])
def test_env_wrong_type(rb, env):
    refused(rb, {"script": "print(1)", "env": env}, "wrong_type", "env")


# ---------------------------------------------------------------------------
# Body-level rules
# ---------------------------------------------------------------------------

def test_unknown_field(rb):
    refused(rb, {"script": "print(1)", "scirpt": "x"}, "unknown_field", "scirpt")


def test_unknown_field_code_runner_extra(rb):
    refused(rb, {"script": "print(1)", "memory_mb": 512}, "unknown_field", "memory_mb")


def test_duplicate_top_level_key(rb):
    refused(rb, b'{"script":"print(1)","script":"print(2)"}', "duplicate_key", "script")


def test_duplicate_nested_key(rb):
    refused(rb, b'{"script":"print(1)","env":{"A":"1","A":"2"}}', "duplicate_key", "env.A")


def test_duplicate_file_key(rb):
    refused(rb, b'{"files":{"main.py":"print(1)","main.py":"print(2)"},"entry_point":"main.py"}',
            "duplicate_key", "files.main.py")


def test_duplicate_key_in_file_object(rb):
    refused(rb, b'{"script":"print(1)","context":{"a":{"content":"x","content":"y"}}}',
            "duplicate_key", "context.a.content")


def test_duplicate_key_after_unescaping(rb):
    refused(rb, b'{"script":"print(1)","scr\\u0069pt":"print(2)"}', "duplicate_key", "script")


def test_escaped_key_is_the_same_field(rb):
    rc, resp, _ = rb.run(b'{"\\u0073cript":"print(\\"\\ud83d\\ude00 \\u00e9\\")"}')
    assert rc == 0 and resp["stdout"] == "\U0001F600 \u00e9\n", short(resp)


def test_empty_body(rb):
    refused(rb, b"", "empty_body")


@pytest.mark.parametrize("body", [b"{", b"{'script': 'print(1)'}", b'{"script":"print(1)"} x',
                                  b'{"script":"print(1)",}', b'{"script":"print(1)"}{}', b"nul",
                                  b'{"script":"a\x01b"}', b'{"script":"\\x41"}', b'{"timeout_s": 01, "script":"1"}'])
def test_invalid_json(rb, body):
    refused(rb, body, "invalid_json")


@pytest.mark.parametrize("body", [b'{"script":"print(\'\xff\')"}', b'{"script":"\xc0\xaf"}',
                                  b'{"script":"\xed\xa0\x80"}', b'{"scr\xfeipt":"1"}', b'{"script":"\xe2\x82"}'])
def test_invalid_utf8(rb, body):
    refused(rb, body, "invalid_utf8")


@pytest.mark.parametrize("body,field", [
    (b'{"script":"print(1)\\u0000"}', "script"),
    (b'{"script":"print(1)","env":{"A":"x\\u0000y"}}', "env.A"),
    (b'{"script":"print(1)","context":{"a\\u0000b":"x"}}', "context"),   # a key: its object
    (b'{"script":"print(1)","args":["\\u0000"]}', "args[0]"),
    (b'{"files":{"m.py":{"content":"\\u0000"}},"entry_point":"m.py"}', "files.m.py.content"),
])
def test_nul_in_string(rb, body, field):
    # The refusal names the field that holds the string, as every other one does.
    refused(rb, body, "nul_in_string", field)


def test_invalid_utf8_names_its_field(rb):
    refused(rb, b'{"script":"print(1)","env":{"A":"\xff"}}', "invalid_utf8", "env.A")


@pytest.mark.parametrize("body", [b"[]", b'"print(1)"', b"1", b"null", b"true", b'[{"script":"print(1)"}]'])
def test_not_an_object(rb, body):
    refused(rb, body, "not_an_object")


def _nested(k):
    # top-level object is depth 1, then k nested arrays
    return ('{"script":' + "[" * k + "]" * k + "}").encode()


def test_nesting_at_limit(rb):
    refused(rb, _nested(9), "wrong_type", "script")       # depth 10


def test_nesting_one_past_limit(rb):
    refused(rb, _nested(10), "nesting_too_deep")          # depth 11


def test_nesting_bomb_is_refused_quickly(rb):
    refused(rb, b"[" * 1000000, "nesting_too_deep")
    assert rb.last_elapsed < 5


def _values(n_args):
    # values: the object, "script" string, the args array, n_args strings
    return ('{"script":"print(1)","args":[' + ",".join(['"a"'] * n_args) + "]}").encode()


def test_values_at_limit(rb):
    refused(rb, _values(100000 - 3), "too_many_args", "args")


def test_values_one_past_limit(rb):
    refused(rb, _values(100000 - 2), "too_many_values")


def test_values_bomb_is_refused_quickly(rb):
    refused(rb, b'{"script":"1","args":[' + b",".join([b"0"] * 3000000) + b"]}", "too_many_values")
    assert rb.last_elapsed < 5


def test_body_at_limit_configured(rb):
    body = b'{"script":"print(7)"}'
    body += b" " * (2048 - len(body))
    rc, resp, _ = rb.run(body, env={"RUNBOX_MAX_BODY_BYTES": "2048"})
    assert rc == 0 and resp["stdout"] == "7\n", short(resp)


def test_body_one_past_limit_configured(rb):
    body = b'{"script":"print(7)"}'
    body += b" " * (2049 - len(body))
    refused(rb, body, "body_too_large", env={"RUNBOX_MAX_BODY_BYTES": "2048"})


def test_body_default_limit_32mib(rb):
    body = b'{"script":"print(7)"}'
    rc, resp, _ = rb.run(body + b" " * (32 * MiB - len(body)))
    assert rc == 0 and resp["stdout"] == "7\n", short(resp)
    refused(rb, body + b" " * (32 * MiB + 1 - len(body)), "body_too_large")


def test_huge_body_refused_quickly(rb):
    refused(rb, b'{"script":"' + b"x" * (100 * MiB) + b'"}', "body_too_large")
    assert rb.last_elapsed < 10


# ---------------------------------------------------------------------------
# exit statuses of runbox itself
# ---------------------------------------------------------------------------

def test_sys_exit_256_wraps_like_cpython(rb):
    ran(rb, {"script": "import sys\nsys.exit(256)"}, status="ok", exit_code=0)


def _internal_fault(rb, env):
    rc, resp, err = rb.run({"script": "print(1)"}, env=env)
    assert rc == 1, (rc, resp)
    assert isinstance(resp.get("error"), str) and resp["error"]
    assert isinstance(resp.get("code"), str) and resp["code"]
    assert "exit_code" not in resp


def test_internal_fault_missing_interpreter(rb):
    from conftest import stdin_only
    stdin_only("runbox serve refuses this environment at start (exit 1), before any request")
    _internal_fault(rb, {"RUNBOX_PYTHON": "/nonexistent/python3"})


def test_internal_fault_missing_work_dir(rb):
    _internal_fault(rb, {"RUNBOX_WORK_DIR": str(rb.workdir / "does-not-exist")})
