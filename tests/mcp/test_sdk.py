"""`runbox mcp` over stdio driven by the official MCP TypeScript SDK's
client (tests/mcp/client, pinned by its lock file, installed by `make
deps`): the SDK starts runbox itself, as a desktop client does.  After
each scenario no process of it may be left and its work dir is empty."""

import base64
import os
import pathlib
import shutil
import sys
import tempfile
import time
import uuid
import zlib

import pytest

from conftest import AS, NOBODY, argv
from harness import REPO, survivors

sys.path.insert(0, str(REPO / "tests" / "helpers"))
import mcp_sdk  # noqa: E402

VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]


@pytest.fixture
def stdio():
    """Scenarios over stdio: each run starts `runbox mcp` with a canary in its
    environment and a private work dir; nothing of it may outlive it."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="rbmcp-sdk-", dir="/tmp"))
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    canary = "canary" + uuid.uuid4().hex
    env = {"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(d), "RUNBOX_LOG": "off",
           "RUNBOX_TEST_CANARY": canary}

    def run(steps, version=None, extra_env=None, timeout=300):
        sc = {"transport": "stdio", "command": argv(), "env": {**env, **(extra_env or {})},
              "cwd": str(d), "steps": steps}
        if version:
            sc["version"] = version
        out = mcp_sdk.run(sc, timeout=timeout)
        assert canary not in repr(out), "CANARY LEAKED"
        return out
    yield run
    left = survivors([canary], 10, "the client")
    files = os.listdir(d)
    shutil.rmtree(d, ignore_errors=True)
    assert not left, left
    assert not files, f"work dir not cleaned: {files}"


@pytest.mark.parametrize("version", VERSIONS)
def test_initialize_at_each_version_and_list_valid_schemas(stdio, version):
    out = stdio([{"op": "list"}], version=version)
    assert out["connected"] and out["negotiated"] == version, out
    (lst,) = out["results"]
    assert lst["schemaProblems"] == []
    assert {t["name"] for t in lst["tools"]} == {"run_python", "run_bash", "run_javascript", "list_packages"}
    assert all(("outputSchema" in t) == (version >= "2025-06-18") for t in lst["tools"])


def test_python_bash_and_packages(stdio):
    out = stdio([
        {"op": "call", "name": "run_python", "arguments": {"code": "print(6*7)"}},
        {"op": "call", "name": "run_bash", "arguments": {"code": "echo $1", "args": ["hey"]}},
        {"op": "call", "name": "list_packages", "arguments": {}},
    ])
    py, sh, pk = (r["result"] for r in out["results"])
    assert py["structuredContent"]["stdout"] == "42\n"
    assert sh["structuredContent"]["stdout"] == "hey\n"
    assert pk["structuredContent"]["preinstalled"] and not pk["isError"]


def test_an_image_and_a_text_file_reach_the_model(stdio):
    raw = b"\0\xff\0\0\xff\0\0"
    ihdr = b"IHDR" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x08\x02\0\0\0"
    idat = b"IDAT" + zlib.compress(raw)

    def chunk(c):
        return (len(c) - 4).to_bytes(4, "big") + c + zlib.crc32(c).to_bytes(4, "big")
    picture = b"\x89PNG\r\n\x1a\n" + chunk(ihdr) + chunk(idat) + chunk(b"IEND")
    code = ("import base64\n"
            f"open('output/p.png','wb').write(base64.b64decode('{base64.b64encode(picture).decode()}'))\n"
            "import os; os.makedirs('output/r', exist_ok=True)\n"
            "open('output/r/notes one.md','w').write('# hi\\n')\n")
    res = stdio([{"op": "call", "name": "run_python", "arguments": {"code": code}}])
    res = res["results"][0]["result"]
    (img,) = mcp_sdk.blocks(res, "image")
    assert img["mimeType"] == "image/png" and base64.b64decode(img["data"]) == picture
    (doc,) = mcp_sdk.blocks(res, "resource")
    assert doc["resource"] == {"uri": "file:///output/r/notes%20one.md",
                               "mimeType": "text/markdown", "text": "# hi\n"}


def test_refusals_are_structured_and_valid(stdio):
    out = stdio([{"op": "call", "name": "run_python", "arguments": {"cod": "1"}},
                 {"op": "call", "name": "list_packages", "arguments": {"a": 1}}],
                version="2025-11-25")
    for r in out["results"]:
        assert "error" not in r, r  # the SDK validated them against outputSchema
        assert r["result"]["isError"] and r["result"]["structuredContent"]["code"]


def test_progress_keeps_a_70_s_call_alive_past_the_60_s_timeout(stdio):
    out = stdio([{"op": "call", "name": "run_python", "progress": True,
                  "resetTimeoutOnProgress": True,
                  "arguments": {"code": "import time\nfor i in range(70):\n"
                                        "    print(i, flush=True)\n    time.sleep(1)\n",
                                "timeout_s": 100}}],
                extra_env={"RUNBOX_MAX_TIMEOUT_S": "120"}, timeout=200)
    r = out["results"][0]
    assert "result" in r, r
    assert r["result"]["structuredContent"]["status"] == "ok" and r["ms"] > 70000
    at = [0] + [p["at_ms"] for p in r["progress"]] + [r["ms"]]
    assert max(b - a for a, b in zip(at, at[1:])) <= 5000, at


def test_cancel_a_running_call(stdio):
    t0 = time.monotonic()
    out = stdio([{"op": "call", "name": "run_python", "abortAfterMs": 1500,
                  "arguments": {"code": "import time\ntime.sleep(60)"}},
                 {"op": "call", "name": "run_python", "arguments": {"code": "print(1)"}}])
    first, second = out["results"]
    assert "error" in first
    # The server went on at once: the cancelled program did not run out its minute.
    assert second["result"]["structuredContent"]["stdout"] == "1\n"
    assert time.monotonic() - t0 < 30


def test_cancel_a_queued_call(stdio):
    out = stdio([{"op": "parallel", "steps": [
        {"op": "call", "name": "run_python",
         "arguments": {"code": "import time\ntime.sleep(5)\nprint('A')"}},
        {"op": "call", "name": "run_python", "progress": True, "abortAfterMs": 2500, "delayMs": 500,
         "arguments": {"code": "print('B')"}},
    ]}, {"op": "call", "name": "run_python", "arguments": {"code": "print('C')"}}])
    a, b = out["results"][0]["results"]
    assert a["result"]["structuredContent"]["stdout"] == "A\n"
    assert "error" in b and b["progress"][0]["message"].startswith("queued"), b
    # The next call is answered next: the cancelled one left no reply behind.
    assert out["results"][1]["result"]["structuredContent"]["stdout"] == "C\n"


def test_two_clients_at_once(stdio):
    code = "import time\nt = time.time()\ntime.sleep(2)\nprint(t, time.time())"
    steps = [{"op": "call", "name": "run_python", "arguments": {"code": code}}]
    import threading
    outs = []
    ts = [threading.Thread(target=lambda: outs.append(stdio(steps))) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    (s1, e1), (s2, e2) = [map(float, o["results"][0]["result"]["structuredContent"]["stdout"]
                              .split()) for o in outs]
    assert s1 < e2 and s2 < e1
