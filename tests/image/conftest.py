"""Harness for the runtime image suite (`make image-test`).

The image comes from RUNBOX_IMAGE (default localhost/runbox:latest), the
engine from runtime-image/engine.sh (docker when a docker engine answers,
otherwise `podman --runtime runc`), with the --ulimit options that script
prints. Every container is run with the defaults a user would use: no
--privileged, no --security-opt, the engine's own seccomp profile, and the
image's own user.

Containers started by a test are removed when it ends (`--rm` for one-shot
runs; `rm -f` by name for detached ones).
"""

import json
import os
import pathlib
import shlex
import socket
import subprocess
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("RUNBOX_IMAGE", "localhost/runbox:latest")
IMAGE_UID = 10001


def _engine_words(*args):
    out = subprocess.run([str(REPO / "runtime-image/engine.sh"), *args], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


ENGINE = _engine_words()
LIMITS = _engine_words("--limits")
IS_PODMAN = os.path.basename(ENGINE[0]) == "podman"


def engine(*args, **kw):
    """Run the engine with ARGS; returns CompletedProcess (text unless input is bytes)."""
    kw.setdefault("capture_output", True)
    if not isinstance(kw.get("input"), bytes):
        kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([*ENGINE, *args], **kw)


def run_image(*args, opts=(), input=None, timeout=300, entrypoint=None):
    """`<engine> run --rm -i [opts] IMAGE [args]`: one container, one command."""
    cmd = ["run", "--rm", "-i", *LIMITS, *opts]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return engine(*cmd, IMAGE, *args, input=input, timeout=timeout)


def request(req, opts=(), env=None, timeout=300):
    """One request through the image's stdin mode; returns (exit status, JSON answer, stderr)."""
    envopts = []
    for k, v in (env or {}).items():
        envopts += ["-e", f"{k}={v}"]
    p = run_image(opts=[*envopts, *opts], input=json.dumps(req), timeout=timeout)
    try:
        answer = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"no JSON answer (exit {p.returncode}): stdout={p.stdout!r} "
                             f"stderr={p.stderr[-2000:]!r}")
    return p.returncode, answer, p.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    """A detached container, removed at the end of the test."""

    def __init__(self, name):
        self.name = name

    def exec(self, *args, input=None, timeout=120, env=None):
        envopts = []
        for k, v in (env or {}).items():
            envopts += ["-e", f"{k}={v}"]
        return engine("exec", "-i", *envopts, self.name, *args, input=input, timeout=timeout)

    def logs(self):
        p = engine("logs", self.name)
        return p.stdout + p.stderr

    def running(self):
        p = engine("inspect", "--format", "{{.State.Running}}", self.name)
        return p.stdout.strip() == "true"


@pytest.fixture
def container():
    """Factory: container(*run_args, opts=[...], entrypoint=None) -> Container (detached)."""
    names = []

    def start(*args, opts=(), entrypoint=None):
        name = f"runbox-test-{uuid.uuid4().hex[:12]}"
        cmd = ["run", "-d", "--name", name, *LIMITS, *opts]
        if entrypoint:
            cmd += ["--entrypoint", entrypoint]
        p = engine(*cmd, IMAGE, *args)
        assert p.returncode == 0, p.stderr
        names.append(name)
        return Container(name)

    yield start
    for n in names:
        remove(n)


def remove(name):
    """Remove a container at once (podman would wait 10 s for a PID 1 that ignores SIGTERM)."""
    engine("rm", "-f", *(["-t", "0"] if IS_PODMAN else []), name)


@pytest.fixture
def idle(container):
    """A running container that does nothing (`sleep infinity`), for `exec`."""
    return container("infinity", entrypoint="/bin/sleep")


def wait_http(port, path="/api/health", deadline_s=30.0, ctr=None):
    """Poll http://127.0.0.1:PORT/PATH until it answers; returns seconds waited."""
    import urllib.request
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < deadline_s:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                r.read()
                return time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
            if ctr is not None and not ctr.running():
                break
            time.sleep(0.05)
    logs = ctr.logs() if ctr is not None else ""
    raise AssertionError(f"no answer on port {port}{path} after {deadline_s} s: {last!r}\n{logs[-3000:]}")
