"""make install honours PREFIX and DESTDIR; the pipe examples script runs
from any directory, with runbox given, on PATH or built in its repository."""

import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import REPO, runbox_bin, stdin_only

SCRIPT = REPO / "function-adapters" / "local" / "pipe-examples.sh"


@pytest.fixture(autouse=True)
def _no_request():
    stdin_only("make install and the pipe examples run runbox themselves, not through a server")


def test_make_install_honours_prefix_and_destdir(tmp_path):
    if not (REPO / "build" / "runbox").exists():
        pytest.skip("no build/runbox to install (make)")
    stage = tmp_path / "stage"
    p = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={stage}",
                        "PREFIX=/opt/runbox"], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    installed = stage / "opt" / "runbox" / "bin" / "runbox"
    assert installed.read_bytes() == (REPO / "build" / "runbox").read_bytes()
    assert os.stat(installed).st_mode & 0o777 == 0o755
    out = subprocess.run([str(installed), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("runbox ")
    p = subprocess.run(["make", "-s", "-C", str(REPO), "uninstall", f"DESTDIR={stage}",
                        "PREFIX=/opt/runbox"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and not installed.exists()
    # The default is /usr/local/bin, where the MCP client configurations point.
    p = subprocess.run(["make", "-n", "-C", str(REPO), "install", f"DESTDIR={stage}"],
                       capture_output=True, text=True, timeout=120)
    assert f"{stage}/usr/local/bin/runbox" in p.stdout


def run_examples(args, cwd, path):
    env = {"PATH": path, "HOME": str(cwd)}
    return subprocess.run(["sh", str(args[0]), *args[1:]], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=180)


def check_examples(p):
    assert p.returncode == 0, p.stdout + p.stderr
    answers = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    assert len(answers) == 6, p.stdout
    assert '"stdout":"4\\n"' in answers[0] and '"stdout":"HELLO\\n"' in answers[1]
    assert '"status":"timeout"' in answers[4] and '"code":"invalid_path"' in answers[5]


def test_pipe_examples_from_anywhere_with_the_binary_given(tmp_path):
    check_examples(run_examples([SCRIPT, str(runbox_bin())], tmp_path, "/usr/bin:/bin"))


def test_pipe_examples_with_runbox_on_path(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(runbox_bin(), bindir / "runbox")
    check_examples(run_examples([SCRIPT], tmp_path, f"{bindir}:/usr/bin:/bin"))


def test_pipe_examples_fall_back_to_the_repositorys_build(tmp_path):
    # A copy of the repository's layout: the script finds ../../build/runbox.
    repo = tmp_path / "repo"
    (repo / "function-adapters" / "local").mkdir(parents=True)
    (repo / "build").mkdir()
    shutil.copy(SCRIPT, repo / "function-adapters" / "local")
    os.symlink(runbox_bin(), repo / "build" / "runbox")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check_examples(run_examples([repo / "function-adapters" / "local" / "pipe-examples.sh"],
                                elsewhere, "/usr/bin:/bin"))
    os.unlink(repo / "build" / "runbox")
    p = run_examples([repo / "function-adapters" / "local" / "pipe-examples.sh"], elsewhere,
                     "/usr/bin:/bin")
    assert p.returncode == 1 and "no runbox at" in p.stderr and "make" in p.stderr
