"""MCP suite harness: `runbox mcp` driven over stdio by a scripted client.

The `mcp` fixture starts one server with a canary credential in its
environment and a private RUNBOX_WORK_DIR; MCP_AS=nobody starts it as uid
65534 (MCP_UID names another; setpriv, no groups), as a desktop client run
by an ordinary user would.  Every line the server writes on stdout must be
one JSON-RPC message; after each test the canary must
appear in none of them, the work dir must be empty, and closing stdin must
end the server with status 0.
"""

import json
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import threading
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import proc_scan  # noqa: E402,F401

LATEST = "2025-11-25"
WHO = harness.Identity("MCP_AS", "MCP_UID")
AS, NOBODY = WHO.name, WHO.uid


def runbox_bin():
    """A private copy of RUNBOX_BIN, executable by the unprivileged user."""
    return harness.snapshot("rbmcp-bin-")


def pytest_unconfigure(config):
    harness.remove_snapshots()


def argv():
    return WHO.argv([str(runbox_bin()), "mcp"])


class McpClient:
    def __init__(self, workdir, extra_env=None):
        self.canary = "canary" + uuid.uuid4().hex
        self.workdir = workdir
        env = {"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(workdir), "RUNBOX_LOG": "info",
               "AWS_SECRET_ACCESS_KEY": self.canary, "RUNBOX_TEST_CANARY": self.canary}
        env.update(extra_env or {})
        self.proc = subprocess.Popen(argv(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     cwd=str(workdir), start_new_session=True)
        self.lines = queue.Queue()
        self.raw = []
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()
        self.next_id = 100

    def _read(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def send_raw(self, data):
        self.proc.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.proc.stdin.flush()

    def send(self, msg):
        self.send_raw(json.dumps(msg) + "\n")

    def recv(self, timeout=60):
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"the server closed stdout; stderr: {self.stderr[-2000:]!r}"
        assert line.endswith(b"\n")
        msg = json.loads(line)
        assert msg.get("jsonrpc") == "2.0", msg
        return msg

    def recv_batch(self, timeout=60):
        """The reply to a JSON-RPC batch: one line holding an array of messages."""
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"the server closed stdout; stderr: {self.stderr[-2000:]!r}"
        msgs = json.loads(line)
        assert isinstance(msgs, list) and msgs, msgs
        assert all(m.get("jsonrpc") == "2.0" for m in msgs), msgs
        return msgs

    def nothing_pending(self):
        """No reply is waiting: checked by a ping, whose answer must come next."""
        self.send({"jsonrpc": "2.0", "id": "probe", "method": "ping"})
        msg = self.recv()
        return msg.get("id") == "probe" and msg.get("result") == {}

    def request(self, method, params=None, timeout=90):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        reply = self.recv(timeout)
        assert reply.get("id") == self.next_id, reply
        return reply

    def initialize(self, version="2025-06-18"):
        r = self.request("initialize", {"protocolVersion": version, "capabilities": {},
                                        "clientInfo": {"name": "pytest", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return r["result"]

    def call(self, name, arguments=None, timeout=90):
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        r = self.request("tools/call", params, timeout)
        assert "result" in r, r
        return r["result"]

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            rc = None
        self._err_reader.join(timeout=30)  # self.stderr is whole from here
        return rc


@pytest.fixture
def mcp():
    d = harness.owned_tmpdir("rbmcp-", NOBODY if AS == "nobody" else None, 0o700)
    c = McpClient(d)
    yield c
    rc = c.close()
    problems = []
    if rc != 0:
        problems.append(f"runbox mcp ended with {rc} after stdin closed")
    for line in c.raw:
        if c.canary.encode() in line:
            problems.append(f"CANARY LEAKED: {line[:2000]!r}")
        try:
            json.loads(line)
        except ValueError:
            problems.append(f"a stdout line is not JSON: {line[:500]!r}")
    problems += harness.unclean_workdir(d)
    shutil.rmtree(d, ignore_errors=True)
    assert not problems, "\n".join(problems) + "\n" + c.stderr[-2000:].decode(errors="replace")
