"""What a new user meets in the first hour of the command line: runbox exec
checks --out before running, keeps log lines out of the program's stderr,
speaks of its own options in errors and ends by naming the files it wrote;
every subcommand has a help of its own; plain runbox on a terminal says what
it waits for."""

import json
import os
import pty
import subprocess
import time

import pytest

from conftest import runbox_bin, stdin_only

@pytest.fixture
def proj(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    return d


def write(d, name, text):
    p = d / name
    p.write_text(text)
    return p


ARTIFACT = "open('output/r.txt', 'w').write('R')\nprint('ran')\n"


def test_out_is_made_before_the_program_runs(rb, proj):
    write(proj, "w.py", ARTIFACT)
    r = rb.cli(["exec", "--out", "a/b/c", "w.py"], cwd=proj)
    assert r.returncode == 0, r.stderr
    assert (proj / "a" / "b" / "c" / "r.txt").read_text() == "R"
    assert r.stderr.decode().splitlines()[-1] == "runbox: 1 file in a/b/c/: r.txt"


def test_out_that_cannot_be_made_is_refused_before_running(rb, proj):
    write(proj, "w.py", ARTIFACT)
    write(proj, "plain", "x")
    r = rb.cli(["exec", "--out", "plain/sub/dir", "w.py"], cwd=proj)
    assert r.returncode == 2 and r.stdout == b"", r.stdout
    assert b"--out 'plain/sub/dir': 'plain' is not a directory" in r.stderr
    if os.geteuid() != 0:
        (proj / "ro").mkdir(mode=0o555)
        r = rb.cli(["exec", "--out", "ro/x", "w.py"], cwd=proj)
        assert r.returncode == 2 and r.stdout == b""
        assert b"cannot create 'ro/x'" in r.stderr


def test_out_made_for_nothing_is_removed_again(rb, proj):
    write(proj, "n.py", "print(1)")
    r = rb.cli(["exec", "--out", "x/y", "n.py"], cwd=proj)
    assert r.returncode == 0 and r.stdout == b"1\n"
    assert not (proj / "x").exists() and not (proj / "runbox-output").exists()
    assert r.stderr.decode().splitlines()[-1] == "runbox: the program wrote no files to ./output/"
    # A directory that was there before stays.
    (proj / "kept").mkdir()
    r = rb.cli(["exec", "--out", "kept", "n.py"], cwd=proj)
    assert (proj / "kept").is_dir()


def test_the_closing_line_names_the_files_and_quiet_drops_it(rb, proj):
    write(proj, "m.py", "import os\nos.makedirs('output/sub')\n"
                        "for i in range(12):\n    open(f'output/f{i:02}.txt', 'w').write('x')\n"
                        "open('output/sub/s.txt', 'w').write('s')\n")
    r = rb.cli(["exec", "m.py"], cwd=proj)
    last = r.stderr.decode().splitlines()[-1]
    assert last.startswith("runbox: 13 files in runbox-output/: f00.txt, f01.txt"), last
    assert last.endswith(" and 3 more"), last
    r = rb.cli(["exec", "--quiet", "m.py"], cwd=proj, env={"RUNBOX_LOG": ""})
    assert r.returncode == 0 and r.stderr == b"", r.stderr


def test_no_log_lines_unless_asked(rb, proj):
    # The harness sets RUNBOX_LOG=info for the other modes; exec must be told.
    write(proj, "x.py", "import sys\nprint('e', file=sys.stderr)")
    env = {"RUNBOX_LOG": ""}
    r = rb.cli(["exec", "-q", "x.py"], cwd=proj, env=env)
    assert r.returncode == 0 and r.stderr == b"e\n", r.stderr
    r = rb.cli(["exec", "-q", "x.py"], cwd=proj, env={"RUNBOX_LOG": "info"})
    lines = r.stderr.decode().splitlines()
    assert "e" in lines and [json.loads(ln)["event"] for ln in lines if ln != "e"] == ["run"]


@pytest.mark.parametrize("args, words", [
    (["--timeout", "abc"], b"--timeout takes a number of seconds greater than 0, not abc"),
    (["--timeout", "0"], b"--timeout takes a number of seconds greater than 0, not 0"),
    (["--timeout=-1"], b"--timeout takes a number of seconds greater than 0, not -1"),
    (["--dep", "no-such-package-zq"], b"--dep 'no-such-package-zq': Package"),
    (["--dep", "numpy", "--dep", "numpy>=99"], b"--dep 'numpy>=99'"),
])
def test_errors_speak_of_the_options(rb, proj, args, words):
    write(proj, "x.py", "print('should not run')")
    r = rb.cli(["exec", *args, "x.py"], cwd=proj, env={"RUNBOX_LOG": "off"})
    assert r.returncode == 2 and r.stdout == b"", r.stdout
    err = r.stderr
    assert words in err, err
    for field in (b"timeout_s", b"dependencies[", b"list_packages"):
        assert field not in err, err


def test_an_empty_file_is_refused_by_name(rb, proj):
    write(proj, "e.py", "\n  \n")
    r = rb.cli(["exec", "e.py"], cwd=proj)
    assert r.returncode == 2 and r.stdout == b""
    assert b"'e.py' holds no program" in r.stderr


def test_a_lowered_timeout_is_said(rb, proj):
    write(proj, "x.py", "print(1)")
    r = rb.cli(["exec", "--timeout", "50", "x.py"], cwd=proj, env={"RUNBOX_MAX_TIMEOUT_S": "5"})
    assert r.returncode == 0
    assert b"--timeout was lowered to 5 s" in r.stderr


@pytest.mark.parametrize("cmd", ["stdin", "exec", "serve", "lambda", "mcp", "check", "bake"])
def test_every_subcommand_has_a_help_of_its_own(rb, cmd):
    r = rb.cli([cmd, "--help"])
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    out = r.stdout.decode()
    assert out.startswith(f"usage: runbox {cmd}"), out[:200]
    assert "\nExample" in out and f"runbox {cmd}" in out.split("\nExample")[1], out
    if cmd not in ("lambda", "check"):
        assert "\nEnvironment:\n" in out
    # The same text, asked for in every way, with any other option next to it.
    assert rb.cli(["help", cmd]).stdout == r.stdout
    assert rb.cli([cmd, "-h"]).stdout == r.stdout
    r2 = rb.cli([cmd, "--port", "1", "--help"] if cmd == "serve" else [cmd, "--help", "x"])
    assert r2.returncode == 0 and r2.stdout == r.stdout


def test_a_program_argument_named_help_is_the_programs(rb, proj):
    write(proj, "a.py", "import sys\nprint(sys.argv[1:])")
    r = rb.cli(["exec", "-q", "a.py", "--", "--help"], cwd=proj)
    assert r.returncode == 0 and r.stdout == b"['--help']\n", r.stdout


def test_help_for_what_is_not_a_command(rb):
    r = rb.cli(["help", "nosuch"])
    assert r.returncode == 2 and b"no command 'nosuch'" in r.stderr
    r = rb.cli(["nosuch", "--help"])
    assert r.returncode == 2 and b"unknown command 'nosuch'" in r.stderr


def test_plain_runbox_on_a_terminal_says_what_it_waits_for(rb):
    stdin_only("plain runbox with a terminal on its stdin")
    main, sub = pty.openpty()
    p = subprocess.Popen([str(runbox_bin())], stdin=sub, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=rb.base_env({"RUNBOX_LOG": "off"}),
                         cwd=str(rb.workdir.parent))
    os.close(sub)
    try:
        time.sleep(0.3)
        os.write(main, b'{"script": "print(5)"}\n')
        os.write(main, b"\x04")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(main)
    assert b"reading one JSON request from stdin" in err and b"--help" in err, err
    assert json.loads(out)["stdout"] == "5\n"
    # From a pipe, nothing but the answer.
    r = rb.cli([], stdin=b'{"script": "print(6)"}', env={"RUNBOX_LOG": "off"})
    assert r.stderr == b"" and json.loads(r.stdout)["stdout"] == "6\n"
