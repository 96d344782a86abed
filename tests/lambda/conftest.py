"""Lambda suite harness: runbox in auto mode against the fake Runtime API.

Each test gets a `lam` fixture: a FakeLambdaAPI on loopback and one warm
runbox process (plain `runbox`, so auto mode must pick the Lambda loop)
with canary AWS credentials in its environment.  After every test:

  * no response, error or runbox log line holds a canary credential;
  * no process of the test survives (a per-invocation marker is put into
    each direct request's env, and /proc is scanned for it);
  * the private RUNBOX_WORK_DIR is empty and no file holding the marker is
    left under /tmp.

LAMBDA_AS=nobody runs runbox as uid/gid 65534 (setpriv, no groups), as it
runs on Lambda (non-root); LAMBDA_AS=root (default) as root.
"""

import base64
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import PATH, REPO, proc_scan  # noqa: E402,F401
from fake_lambda_api import FakeLambdaAPI  # noqa: E402

WHO = harness.Identity("LAMBDA_AS", "LAMBDA_UID")
AS, NOBODY = WHO.name, WHO.uid
MARK_NAME = "RBLAMBDA_MARK"


def runbox_bin():
    """A private copy of RUNBOX_BIN, readable by the unprivileged user."""
    return harness.snapshot("rblam-bin-")


def pytest_unconfigure(config):
    harness.remove_snapshots()


def _read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20)
    except OSError:
        return b""


SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def files_holding(needle):
    """Entries of the shared temporary directories whose name holds @needle."""
    found = []
    for d in SHARED_TMP:
        try:
            found += [os.path.join(d, n) for n in os.listdir(d) if needle in n]
        except OSError:
            pass
    return found


class Lambda:
    """One warm runbox serving the fake Runtime API."""

    def __init__(self, tmp):
        self.api = FakeLambdaAPI().start()
        self.workdir = tmp
        self.canary = "canary" + uuid.uuid4().hex
        self.marks = []
        self.bodies = []
        self.proc = None
        self.log_path = tmp.parent / (tmp.name + ".log")

    def env(self, extra=None):
        env = {
            "PATH": PATH,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_ACCESS_KEY_ID": "AKIA" + self.canary,
            "AWS_SECRET_ACCESS_KEY": self.canary + "-secret",
            "AWS_SESSION_TOKEN": self.canary + "-session",
            "AWS_LAMBDA_FUNCTION_NAME": "runbox",
            "LAMBDA_TASK_ROOT": "/var/task",
            "_HANDLER": "runbox",
            "RUNBOX_WORK_DIR": str(self.workdir),
            "RUNBOX_LOG": "info",
        }
        env.update(extra or {})
        return env

    def argv(self, args=()):
        return WHO.argv([str(runbox_bin()), *args])

    def start(self, extra_env=None, args=()):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(args), env=self.env(extra_env),
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, cwd=str(self.workdir),
                                     start_new_session=True)
        return self

    def new_mark(self):
        m = "rblam" + uuid.uuid4().hex
        self.marks.append(m)
        return m

    def invoke(self, event, deadline_ms=None, timeout=60, mark=True):
        """Queue @event (a dict: a direct request gets a marker in its env)
        and return (kind, body bytes, headers)."""
        if mark and isinstance(event, dict) and "script" in event:
            event = dict(event, env=dict(event.get("env", {}), **{MARK_NAME: self.new_mark()}))
        rid = self.api.enqueue(event, deadline_ms=deadline_ms)
        kind, body, headers = self.api.wait_result(rid, timeout)
        self.bodies.append(body)
        return kind, body, headers

    def run(self, request, **kw):
        """A direct invocation that must be answered with a contract response."""
        kind, body, headers = self.invoke(request, **kw)
        assert kind == "response", f"{kind}: {body[:2000]!r}"
        return json.loads(body)

    def http(self, method, path, body=b"", headers=None, query="", b64=False, version=2,
             **kw):
        """A proxy event (payload 2.0 or 1.0); returns (statusCode, headers, body str)."""
        raw = body if isinstance(body, bytes) else body.encode()
        text = base64.b64encode(raw).decode() if b64 else raw.decode()
        if version == 2:
            ev = {"version": "2.0", "routeKey": "$default", "rawPath": path,
                  "rawQueryString": query, "headers": headers or {},
                  "requestContext": {"http": {"method": method, "path": path,
                                              "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
                                     "domainName": "x.lambda-url.us-east-1.on.aws"},
                  "body": text, "isBase64Encoded": b64}
        else:
            qs = dict(p.split("=", 1) for p in query.split("&")) if query else None
            ev = {"resource": "/{proxy+}", "path": path, "httpMethod": method,
                  "headers": headers, "queryStringParameters": qs,
                  "multiValueQueryStringParameters":
                      {k: [v] for k, v in qs.items()} if qs else None,
                  "requestContext": {"stage": "prod", "httpMethod": method},
                  "body": text, "isBase64Encoded": b64}
        kind, out, _ = self.invoke(ev, **kw)
        assert kind == "response", f"{kind}: {out[:2000]!r}"
        resp = json.loads(out)
        assert set(resp) == {"statusCode", "headers", "body", "isBase64Encoded"}, resp
        assert resp["isBase64Encoded"] is False
        return resp["statusCode"], resp["headers"], resp["body"]

    def logs(self):
        return _read(self.log_path).decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.api.stop()
        if getattr(self, "log", None):
            self.log.close()


owned_tmpdir = WHO.tmpdir


@pytest.fixture
def lam_idle():
    """A fake Runtime API and a work dir; the test starts runbox itself."""
    d = owned_tmpdir("rblam-")
    box = Lambda(d)
    yield box
    problems = check_after(box)
    box.stop()
    shutil.rmtree(d, ignore_errors=True)
    try:
        os.unlink(box.log_path)
    except OSError:
        pass
    assert not problems, "\n".join(problems)


@pytest.fixture
def lam(lam_idle):
    lam_idle.start()
    return lam_idle


def check_after(box):
    problems = []
    for i, b in enumerate(box.bodies):
        if box.canary.encode() in b:
            problems.append(f"CANARY LEAKED into answer {i}: {b[:3000]!r}")
    for e in box.api.init_errors:
        if box.canary.encode() in e["body"]:
            problems.append(f"CANARY LEAKED into an init error: {e['body']!r}")
    if box.canary in box.logs():
        problems.append("CANARY LEAKED into runbox's log")
    problems += harness.survivors(box.marks, 2, "their invocation")
    problems += harness.unclean_workdir(box.workdir)
    for m in box.marks:
        stray = files_holding(m)
        if stray:
            problems.append(f"files of an invocation left under /tmp: {stray}")
    if problems:
        problems.append("runbox log tail:\n" + box.logs()[-3000:])
    return problems
