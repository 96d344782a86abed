"""The JavaScript and TypeScript suite: the contract per language, run
against RUNBOX_BIN (default build/runbox) in stdin mode, as root or, with
JS_AS=nobody, as uid/gid 65534 (setpriv, no groups) with a work dir that
user owns.

Node.js and esbuild are the ones `make deps` installs (the `nodejs` and
`esbuild` packages of tests/packages.txt), found on PATH as runbox finds
them.  A test that needs one the machine lacks is skipped with the reason.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
import harness  # noqa: E402

AS = os.environ.get("JS_AS", "root")
if AS not in ("root", "nobody"):
    raise RuntimeError(f"JS_AS must be root or nobody, not {AS!r}")
NOBODY = 65534
PATH = "/usr/local/bin:/usr/bin:/bin"
MiB = 1024 * 1024
NODE = shutil.which("node", path=PATH)
ESBUILD = shutil.which("esbuild", path=PATH)
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"


def pytest_unconfigure(config):
    harness.remove_snapshots()


def node_major():
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


class Runbox:
    def __init__(self, workdir):
        self.bin = harness.snapshot("rbjs-bin-")
        self.workdir = workdir

    def argv(self, *extra):
        base = [str(self.bin), *extra]
        if AS == "nobody":
            return [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    "--", *base]
        return base

    def env(self, extra=None):
        # The default state directory: its uid-slot locks keep this run's
        # uid apart from every other runbox's on the machine.
        env = {"PATH": PATH, "RUNBOX_WORK_DIR": str(self.workdir), "RUNBOX_LOG": "off"}
        env.update(extra or {})
        return env

    def raw(self, req, env=None, timeout=60):
        body = req if isinstance(req, bytes) else json.dumps(req).encode()
        p = subprocess.run(self.argv(), input=body, capture_output=True, env=self.env(env),
                           timeout=timeout)
        err = p.stderr.decode(errors="replace")
        try:
            resp = json.loads(p.stdout)
        except ValueError:
            # No answer at all (runbox killed or crashed): say so, with its stderr.
            raise AssertionError(f"runbox exit {p.returncode} with no JSON answer: "
                                 f"{p.stdout[:500]!r}\n{err[-2000:]}") from None
        return p.returncode, resp, err

    def run(self, req, env=None, timeout=60):
        rc, resp, err = self.raw(req, env, timeout)
        assert rc == 0 and "exit_code" in resp, f"runbox exit {rc}: {resp}\n{err[-2000:]}"
        return resp

    def refused(self, req, code, env=None, rc=2):
        got_rc, resp, err = self.raw(req, env)
        assert resp.get("code") == code, resp
        assert got_rc == rc, (got_rc, resp)
        return resp


@pytest.fixture
def rb():
    if not NODE:
        pytest.skip("no node on PATH: `make deps` installs Debian's nodejs")
    d = pathlib.Path(tempfile.mkdtemp(prefix="rbjs-", dir="/tmp"))
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    box = Runbox(d)
    yield box
    left = os.listdir(d)
    shutil.rmtree(d, ignore_errors=True)
    assert not left, f"the work dir was not cleaned: {left}"


@pytest.fixture
def ts(rb):
    if not ESBUILD:
        pytest.skip("no esbuild on PATH: `make deps` installs Debian's esbuild")
    return rb


def js(script, **kw):
    return dict({"language": "javascript", "script": script}, **kw)


def tsreq(script, **kw):
    return dict({"language": "typescript", "script": script}, **kw)
