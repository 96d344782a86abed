"""The command for people: runbox exec, --help, --version."""

import os
import re
import subprocess

import harness
import pytest

QUIET = {"RUNBOX_LOG": "off"}


@pytest.fixture(autouse=True)
def _a_command_line():
    harness.stdin_only("runbox exec and the options are command lines, not requests")


@pytest.fixture
def proj(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    return d


def write(d, name, text, mode=0o644):
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    os.chmod(p, mode)
    return p


def test_help(rb):
    r = rb.cli(["--help"])
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "usage" in out.lower()
    assert "exec" in out


def test_version(rb):
    r = rb.cli(["--version"])
    assert r.returncode == 0
    assert re.fullmatch(r"runbox \d+\.\d+\.\d+\n?", r.stdout.decode()), r.stdout


def test_unknown_option(rb):
    r = rb.cli(["--definitely-not-an-option"], timeout=10)
    assert r.returncode != 0
    assert r.stdout == b"" or b"usage" in r.stdout.lower()


def test_exec_hello(rb, proj):
    write(proj, "hello.py", "print('hi')\nimport sys\nprint('e', file=sys.stderr)")
    r = rb.cli(["exec", "--quiet", "hello.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0
    assert r.stdout == b"hi\n"
    assert r.stderr == b"e\n"


def test_exec_absolute_path(rb, proj):
    p = write(proj, "abs.py", "print('abs')")
    r = rb.cli(["exec", str(p)], env=QUIET)
    assert r.returncode == 0 and r.stdout == b"abs\n"


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exec_exit_code(rb, proj, code):
    write(proj, "x.py", f"import sys\nsys.exit({code})")
    r = rb.cli(["exec", "x.py"], cwd=proj, env=QUIET)
    assert r.returncode == code


def test_exec_exception_exit_1(rb, proj):
    write(proj, "x.py", "raise KeyError('k')")
    r = rb.cli(["exec", "--quiet", "x.py"], cwd=proj, env=QUIET)
    assert r.returncode == 1
    assert r.stderr.decode().endswith("KeyError: 'k'\n")


def test_exec_killed_by_signal(rb, proj):
    write(proj, "x.py", "import os\nos.kill(os.getpid(), 9)")
    r = rb.cli(["exec", "x.py"], cwd=proj, env=QUIET)
    assert r.returncode == 137


def test_exec_args(rb, proj):
    write(proj, "a.py", "import sys, json\nprint(json.dumps(sys.argv[1:]))")
    r = rb.cli(["exec", "a.py", "--", "x", "--timeout", "a b", ""], cwd=proj, env=QUIET)
    assert r.returncode == 0
    assert r.stdout == b'["x", "--timeout", "a b", ""]\n'


def test_exec_bash(rb, proj):
    write(proj, "s.sh", "echo \"bash $1\"\nexit 4")
    r = rb.cli(["exec", "s.sh", "--", "arg"], cwd=proj, env=QUIET)
    assert r.returncode == 4
    assert r.stdout == b"bash arg\n"


def test_exec_timeout(rb, proj):
    write(proj, "t.py", "import time\nprint('start', flush=True)\ntime.sleep(60)")
    r = rb.cli(["exec", "--timeout", "1", "t.py"], cwd=proj, env=QUIET, timeout=30)
    assert r.returncode == 124
    assert r.stdout == b"start\n"
    assert "timed out after 1 s" in r.stderr.decode()
    assert rb.last_elapsed < 2.5


def test_exec_input_files(rb, proj):
    write(proj, "data.csv", "a,b\n1,2\n")
    write(proj, "sub/more.txt", "more")
    write(proj, "r.py", "import os\nprint(sorted(os.listdir('input')))\nprint(open('input/data.csv').read(), end='')\n"
                        "print(open('input/more.txt').read())")
    r = rb.cli(["exec", "--input", "data.csv", "--input", "sub/more.txt", "r.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"['data.csv', 'more.txt']\na,b\n1,2\nmore\n"


def test_exec_runs_in_workspace_not_cwd(rb, proj):
    write(proj, "secret.txt", "s")
    write(proj, "w.py", "import os\nprint(os.path.exists('secret.txt'), os.path.isdir('output'))")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.stdout == b"False True\n"


def test_exec_artifacts_default_dir(rb, proj):
    write(proj, "w.py", "import os\nos.makedirs('output/sub')\nopen('output/r.txt','w').write('R')\n"
                        "open('output/sub/b.bin','wb').write(bytes(range(256)))")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert (proj / "runbox-output" / "r.txt").read_text() == "R"
    assert (proj / "runbox-output" / "sub" / "b.bin").read_bytes() == bytes(range(256))


def test_exec_artifacts_out_dir(rb, proj):
    write(proj, "w.py", "open('output/r.txt','w').write('R')")
    out = proj / "custom-out"
    r = rb.cli(["exec", "--out", str(out), "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert (out / "r.txt").read_text() == "R"
    assert not (proj / "runbox-output").exists()


def test_exec_writes_every_name_stdin_mode_returns(rb, proj):
    # A '\\' is part of a name, not a separator; paths past the request's
    # 1024 bytes (16 levels of long names) are artifacts like any other.
    long = "/".join(["d" * 200] * 6)
    write(proj, "w.py", "import os\nopen('output/back\\\\slash','w').write('b')\n"
                        f"os.makedirs('output/{long}')\nopen('output/{long}/f','w').write('L')")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert (proj / "runbox-output" / "back\\slash").read_text() == "b"
    assert not (proj / "runbox-output" / "back").exists()
    assert (proj / "runbox-output" / long / "f").read_text() == "L"


def test_exec_output_keeps_nul_bytes(rb, proj):
    # Everything the program printed, a NUL no end: as in the answer (where
    # invalid UTF-8 became U+FFFD), surrogate pairs and escapes decoded.
    write(proj, "w.py", "import sys\nsys.stdout.buffer.write(b'before\\0after \\xff \"q\\\\ "
                        "\\t\\x01 caf\\xc3\\xa9 \\xf0\\x9f\\x98\\x80\\n')\n"
                        "sys.stderr.write('e\\0rr\\n')")
    r = rb.cli(["exec", "-q", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "before\0after \ufffd \"q\\ \t\x01 caf\u00e9 \U0001f600\n".encode()
    assert r.stderr == b"e\0rr\n"


def test_exec_names_control_bytes_escaped(rb, proj):
    # A name the program chose never reaches the terminal raw.
    write(proj, "w.py", "import os\nos.symlink('/x', 'output/a\\x1b[2Jb')\n"
                        "os.symlink('/x', 'output/c\\u009b31md')")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stderr and b"\xc2\x9b" not in r.stderr
    assert b"artifact 'a\\x1b[2Jb' left out: symlink" in r.stderr
    assert b"artifact 'c\\xc2\\x9b31md' left out: symlink" in r.stderr


def test_exec_symlink_artifact_not_written(rb, proj):
    write(proj, "w.py", "import os\nos.symlink('/etc/passwd', 'output/p')\nopen('output/ok','w').write('ok')")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0
    assert (proj / "runbox-output" / "ok").read_text() == "ok"
    assert not os.path.lexists(proj / "runbox-output" / "p")


def test_exec_dep_preinstalled(rb, proj):
    write(proj, "n.py", "import numpy\nprint(numpy.arange(4).sum())")
    r = rb.cli(["exec", "--dep", "numpy", "n.py"], cwd=proj, env=QUIET, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"6\n"


def test_exec_dep_not_found(rb, proj):
    write(proj, "n.py", "print('should not run')")
    r = rb.cli(["exec", "--dep", "definitely-not-a-real-pkg-zq", "n.py"], cwd=proj, env=QUIET)
    assert r.returncode != 0
    assert b"should not run" not in r.stdout
    assert b"definitely-not-a-real-pkg-zq" in r.stderr


def test_exec_missing_file(rb, proj):
    r = rb.cli(["exec", "nope.py"], cwd=proj, env=QUIET)
    assert r.returncode != 0
    assert b"nope.py" in r.stderr


def test_exec_wrong_extension(rb, proj):
    write(proj, "x.rb", "puts 1")
    r = rb.cli(["exec", "x.rb"], cwd=proj, env=QUIET)
    assert r.returncode != 0


def test_exec_bad_timeout(rb, proj):
    write(proj, "x.py", "print(1)")
    r = rb.cli(["exec", "--timeout", "abc", "x.py"], cwd=proj, env=QUIET)
    assert r.returncode != 0
    assert r.stdout == b""


def test_exec_env_not_leaked(rb, proj):
    write(proj, "e.py", "import os\nprint(sorted(k for k in os.environ if 'CANARY' in k or 'AWS' in k or k.startswith('RUNBOX')))")
    r = rb.cli(["exec", "e.py"], cwd=proj, env=QUIET)
    assert r.stdout == b"[]\n"


def test_exec_logs_one_json_line(rb, proj):
    import json
    write(proj, "x.py", "print(1)")
    r = rb.cli(["exec", "x.py"], cwd=proj, env={"RUNBOX_LOG": "info"})
    assert r.returncode == 0 and r.stdout == b"1\n"
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.startswith("{")]
    assert len(lines) == 1
    json.loads(lines[0])


@pytest.mark.parametrize("cmd", ["stdin", "mcp", "serve", "lambda", "check"])
def test_every_subcommand_has_help(rb, cmd):
    # Even `lambda --help` with no AWS_LAMBDA_RUNTIME_API: help needs no platform.
    r = rb.cli([cmd, "--help"])
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert r.stdout.decode().startswith("usage: runbox")


def test_exec_options_with_equals(rb, proj):
    write(proj, "eq.py", "import os\nprint(open('input/d.txt').read())\n"
          "open('output/o.txt','w').write('O')")
    write(proj, "d.txt", "data")
    r = rb.cli(["exec", "--timeout=5", "--input=d.txt", "--out=res", "eq.py"], cwd=proj,
               env=QUIET)
    assert r.returncode == 0 and r.stdout == b"data\n", r.stderr
    assert (proj / "res" / "o.txt").read_text() == "O"
    r = rb.cli(["exec", "--timeout=", "eq.py"], cwd=proj, env=QUIET)
    assert r.returncode == 2 and b"--timeout" in r.stderr and b"timeout_s" not in r.stderr


def test_exec_help(rb):
    r = rb.cli(["exec", "--help"])
    assert r.returncode == 0 and r.stderr == b""
    out = r.stdout.decode()
    assert out.startswith("usage: runbox exec") and "--input FILE" in out and "--out DIR" in out


def test_exec_out_that_is_a_file_is_refused_before_running(rb, proj):
    write(proj, "w.py", "print('ran')\nopen('output/r.txt','w').write('R')")
    write(proj, "taken", "x")
    r = rb.cli(["exec", "--out", "taken", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 2 and r.stdout == b""
    assert b"--out 'taken' is not a directory" in r.stderr


def test_exec_artifact_that_cannot_be_written_is_exit_1(rb, proj):
    # The program succeeded, but its artifact did not arrive: not a success.
    write(proj, "w.py", "open('output/r.txt','w').write('R')")
    (proj / "runbox-output").mkdir()
    os.symlink("/nonexistent", proj / "runbox-output" / "r.txt")
    r = rb.cli(["exec", "w.py"], cwd=proj, env=QUIET)
    assert r.returncode == 1
    assert b"cannot write artifact 'r.txt'" in r.stderr
    assert os.path.islink(proj / "runbox-output" / "r.txt")


def test_exec_stdout_that_cannot_be_written_is_exit_1(rb, proj):
    # The program succeeded, but its output went nowhere (a full disk): not a success.
    write(proj, "p.py", "print('lost')")
    with open("/dev/full", "wb") as full:
        p = subprocess.run(rb.argv(["exec", "p.py"]), stdout=full, stderr=subprocess.PIPE,
                           env=rb.base_env(QUIET), cwd=proj, timeout=60)
    harness.check_sanitizers(p.stderr.decode(errors="replace"))
    assert p.returncode == 1, p.stderr
    assert b"cannot write the program's stdout: No space left on device" in p.stderr


def test_exec_says_when_output_was_cut(rb, proj):
    write(proj, "f.py", "import sys\nsys.stdout.write('x' * (3 << 20))")
    r = rb.cli(["exec", "f.py"], cwd=proj, env=QUIET)
    assert r.returncode == 0
    assert len(r.stdout) == 1 << 20
    assert b"stdout was cut at the output cap" in r.stderr


def test_exec_inputs_with_one_base_name_are_refused(rb, proj):
    write(proj, "a/data.csv", "1")
    write(proj, "b/data.csv", "2")
    write(proj, "x.py", "print('ran')")
    r = rb.cli(["exec", "--input", "a/data.csv", "--input", "b/data.csv", "x.py"], cwd=proj,
               env=QUIET)
    assert r.returncode == 2 and r.stdout == b""
    assert b"two --input files are named 'data.csv'" in r.stderr


def test_exec_file_that_is_not_text_is_refused_by_name(rb, proj):
    write(proj, "bin.py", b"print(1)\n\xff\xfe\n")
    r = rb.cli(["exec", "bin.py"], cwd=proj, env=QUIET)
    assert r.returncode == 2 and r.stdout == b""
    assert b"'bin.py' is not UTF-8 text (byte 9)" in r.stderr
