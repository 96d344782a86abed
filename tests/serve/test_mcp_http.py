"""MCP over Streamable HTTP on `runbox serve` (POST/GET/DELETE /mcp), with
the official TypeScript SDK's client (tests/mcp/client) where it can send
what is tested, and hand-written HTTP for what it cannot: malformed
bodies, wrong headers, sessions, the Origin allow-list on every route."""

import base64
import json
import socket
import sys
import threading
import time
import zlib

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tests" / "helpers"))
import mcp_sdk  # noqa: E402

VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
ACCEPT_BOTH = "application/json, text/event-stream"


def url(srv):
    return f"http://127.0.0.1:{srv.port}/mcp"


def sdk(srv, steps=(), version=None, headers=None, timeout=300):
    sc = {"transport": "http", "url": url(srv), "steps": list(steps), "headers": headers or {}}
    if version:
        sc["version"] = version
    return mcp_sdk.run(sc, timeout=timeout)


def post(srv, msg, session=None, headers=None, accept=ACCEPT_BOTH, version=None):
    h = {"Content-Type": "application/json", "Accept": accept}
    if session:
        h["Mcp-Session-Id"] = session
    if version:
        h["MCP-Protocol-Version"] = version
    h.update(headers or {})
    body = msg if isinstance(msg, (str, bytes)) else json.dumps(msg)
    return srv.request("POST", "/mcp", body, h)


def initialize(srv, version="2025-06-18", headers=None):
    r = post(srv, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"protocolVersion": version, "capabilities": {},
                              "clientInfo": {"name": "pytest", "version": "1"}}},
             headers=headers)
    assert r.status == 200, r.body
    sid = r.headers.get("mcp-session-id")
    assert sid and len(sid) == 32, r.headers
    assert post(srv, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                session=sid, version=version).status == 202
    return sid


def call_msg(code, id=1, token=None, name="run_python", **args):
    params = {"name": name, "arguments": {"code": code, **args}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}


def rpc_refusal(r, status, code):
    """A refusal on /mcp: @status, a JSON-RPC error with a null id and data.code."""
    assert r.status == status, (r.status, r.body[:500])
    assert r.headers.get("content-type") == "application/json"
    j = r.json()
    assert j["jsonrpc"] == "2.0" and j["id"] is None, j
    assert j["error"]["data"]["code"] == code, j
    assert isinstance(j["error"]["code"], int) and j["error"]["message"], j
    return j


def events(body):
    """The data of each server-sent event of @body, parsed."""
    out = []
    for ev in body.decode().split("\n\n"):
        data = [ln[6:] for ln in ev.split("\n") if ln.startswith("data: ")]
        if data:
            out.append(json.loads("\n".join(data)))
    return out


def png(width=2, height=2, extra=b""):
    """A valid PNG (and, after IEND, @extra bytes to make it large)."""
    def chunk(kind, data):
        c = kind + data
        return len(data).to_bytes(4, "big") + c + zlib.crc32(c).to_bytes(4, "big")
    raw = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", width.to_bytes(4, "big") +
                                         height.to_bytes(4, "big") + b"\x08\x02\0\0\0") +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"") + extra)


# ---- the SDK's client ------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_initializes_at_each_version_and_lists_valid_schemas(serve, version):
    srv = serve.start()
    out = sdk(srv, [{"op": "list"}], version=version)
    assert out["connected"], out
    assert out["negotiated"] == version, out
    assert out["sessionId"] and len(out["sessionId"]) == 32
    (lst,) = out["results"]
    assert lst["schemaProblems"] == [], lst
    tools = {t["name"]: t for t in lst["tools"]}
    assert set(tools) == {"run_python", "run_bash", "run_javascript", "list_packages"}
    for t in tools.values():
        assert ("outputSchema" in t) == (version >= "2025-06-18"), (version, t["name"])


def test_sdk_runs_python_and_bash(serve):
    srv = serve.start()
    out = sdk(srv, [
        {"op": "call", "name": "run_python", "arguments": {"code": "print(6*7)"}},
        {"op": "call", "name": "run_bash", "arguments": {"code": "echo \"hi $1\"", "args": ["x"]}},
    ])
    py, sh = out["results"]
    assert "42" in mcp_sdk.text(py["result"]) and not py["result"]["isError"]
    assert py["result"]["structuredContent"]["stdout"] == "42\n"
    assert sh["result"]["structuredContent"]["stdout"] == "hi x\n"


def test_sdk_sees_an_image_and_a_text_file(serve):
    srv = serve.start()
    picture = png()
    code = ("import base64\n"
            f"open('output/plot.png','wb').write(base64.b64decode('{base64.b64encode(picture).decode()}'))\n"
            "open('output/data.csv','w').write('a,b\\n1,2\\n')\n"
            "open('output/not-a.png','wb').write(bytes(range(256)))\n")
    out = sdk(srv, [{"op": "call", "name": "run_python", "arguments": {"code": code}}])
    res = out["results"][0]["result"]
    (img,) = mcp_sdk.blocks(res, "image")
    assert img["mimeType"] == "image/png"
    assert base64.b64decode(img["data"]) == picture
    (doc,) = mcp_sdk.blocks(res, "resource")
    assert doc["resource"] == {"uri": "file:///output/data.csv", "mimeType": "text/csv",
                               "text": "a,b\n1,2\n"}
    summary = mcp_sdk.text(res)
    assert "plot.png: image/png" in summary and "shown as an image" in summary
    assert "not-a.png: binary" in summary and "only in the structured result" in summary
    # structuredContent stays the contract's answer.
    assert set(res["structuredContent"]["artifacts"]) == {"plot.png", "data.csv", "not-a.png"}


def test_an_image_over_its_cap_is_named_not_shown(serve):
    srv = serve.start()
    code = ("import base64, os\n"
            f"head = base64.b64decode('{base64.b64encode(png()).decode()}')\n"
            "open('output/big.png','wb').write(head + os.urandom(1100000))\n")
    out = sdk(srv, [{"op": "call", "name": "run_python", "arguments": {"code": code}}])
    res = out["results"][0]["result"]
    assert mcp_sdk.blocks(res, "image") == []
    assert "big.png: image/png" in mcp_sdk.text(res)
    assert "over the 1048576 bytes an image block may hold" in mcp_sdk.text(res)


def test_sdk_every_refusal_is_structured_and_valid(serve):
    """The SDK validates structuredContent against outputSchema, errors included."""
    srv = serve.start()
    out = sdk(srv, [
        {"op": "call", "name": "run_python", "arguments": {}},
        {"op": "call", "name": "run_python", "arguments": {"code": "1", "bogus": 1}},
        {"op": "call", "name": "list_packages", "arguments": {"x": 1}},
        {"op": "call", "name": "run_python", "arguments": {"code": "1", "timeout_s": -1}},
    ], version="2025-06-18")
    want = [("missing_program", "code"), ("unknown_field", "bogus"), ("unknown_field", "x"),
            (None, "timeout_s")]
    for r, (code, field) in zip(out["results"], want):
        assert "error" not in r, r  # the SDK's validation passed
        res = r["result"]
        assert res["isError"] is True
        sc = res["structuredContent"]
        assert set(sc) <= {"error", "code", "field"} and sc["error"] and sc["code"], sc
        assert sc.get("field") == field, sc
        if code:
            assert sc["code"] == code, sc


def test_sdk_progress_keeps_a_70_s_call_alive_past_the_60_s_timeout(serve):
    """The SDK's default request timeout is 60 s; progress resets it."""
    srv = serve.start(env={"RUNBOX_MAX_TIMEOUT_S": "120"})
    out = sdk(srv, [{"op": "call", "name": "run_python", "progress": True,
                     "resetTimeoutOnProgress": True,
                     "arguments": {"code": "import time\nfor i in range(70):\n"
                                           "    print(i, flush=True)\n    time.sleep(1)\n",
                                   "timeout_s": 100}}], timeout=200)
    r = out["results"][0]
    assert "result" in r, r
    assert r["result"]["structuredContent"]["status"] == "ok"
    assert r["ms"] > 70000
    at = [0] + [p["at_ms"] for p in r["progress"]] + [r["ms"]]
    assert max(b - a for a, b in zip(at, at[1:])) <= 5000, at
    assert [p["progress"] for p in r["progress"]] == sorted(p["progress"] for p in r["progress"])
    last = r["progress"][-1]
    assert last["message"].startswith("running for"), last
    assert int(last["message"].split(": ")[1].split()[0]) > 100  # stdout bytes so far


def test_sdk_cancels_a_running_call(serve):
    srv = serve.start()
    t0 = time.monotonic()
    # The client sends notifications/cancelled as it gives up; it stays a moment to.
    out = sdk(srv, [{"op": "call", "name": "run_python", "abortAfterMs": 1500,
                     "arguments": {"code": "import time\ntime.sleep(60)"}},
                    {"op": "sleep", "ms": 1000}])
    assert "error" in out["results"][0], out
    deadline = time.monotonic() + 10
    while srv.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert srv.worker_pids() == []
    assert time.monotonic() - t0 < 30
    assert "an MCP client cancelled a tool call" in srv.log_text()


def test_sdk_cancels_a_queued_call(serve):
    srv = serve.start(env={"RUNBOX_CONCURRENCY": "1"})
    out = sdk(srv, [{"op": "parallel", "steps": [
        {"op": "call", "name": "run_python", "arguments": {"code": "import time\ntime.sleep(6)\nprint('A')"}},
        {"op": "call", "name": "run_python", "progress": True, "abortAfterMs": 3500, "delayMs": 1000,
         "arguments": {"code": "print('B')"}},
    ]}, {"op": "sleep", "ms": 500}])
    a, b = out["results"][0]["results"]
    assert a["result"]["structuredContent"]["stdout"] == "A\n"
    assert "error" in b, b
    assert b["progress"] and b["progress"][0]["message"].startswith("queued"), b
    time.sleep(0.5)
    runs = [ln for ln in srv.stderr_lines if '"event":"run"' in ln.replace(" ", "")]
    assert len(runs) == 1, runs  # B never ran


def test_sdk_two_clients_run_at_once(serve):
    srv = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    code = ("import time\nt = time.time()\ntime.sleep(3)\nprint(t, time.time())")
    steps = [{"op": "call", "name": "run_python", "arguments": {"code": code}}]
    p1 = mcp_sdk.start({"transport": "http", "url": url(srv), "steps": steps})
    p2 = mcp_sdk.start({"transport": "http", "url": url(srv), "steps": steps})
    o1, o2 = p1.finish(), p2.finish()
    assert o1["sessionId"] != o2["sessionId"]
    (s1, e1), (s2, e2) = [map(float, o["results"][0]["result"]["structuredContent"]["stdout"]
                              .split()) for o in (o1, o2)]
    assert s1 < e2 and s2 < e1, "the two runs did not overlap"


def test_sdk_is_refused_from_a_wrong_origin(serve):
    srv = serve.start(env={"RUNBOX_ALLOWED_ORIGINS": "http://good.example"})
    bad = sdk(srv, headers={"Origin": "http://evil.example"})
    assert not bad["connected"] and bad["error"]["code"] == 403, bad
    assert "origin_not_allowed" in bad["error"]["message"]
    good = sdk(srv, [{"op": "list"}], headers={"Origin": "http://good.example"})
    assert good["connected"], good


def test_sdk_needs_the_token(serve):
    srv = serve.start(env={"RUNBOX_TOKEN": "s3cret"})
    out = sdk(srv)
    assert not out["connected"] and out["error"]["code"] == 401, out
    ok = sdk(srv, [{"op": "list"}], headers={"Authorization": "Bearer s3cret"})
    assert ok["connected"] and ok["results"][0]["tools"], ok


def test_sdk_with_a_wrong_protocol_version_header_is_refused(serve):
    srv = serve.start()
    out = sdk(srv, headers={"MCP-Protocol-Version": "1999-01-01"})
    assert not out["connected"] and out["error"]["code"] == 400, out
    assert "unsupported_protocol_version" in out["error"]["message"]


def test_sdk_ends_its_session(serve):
    srv = serve.start()
    out = sdk(srv, [{"op": "terminate"}])
    sid = out["sessionId"]
    assert out["results"][0] == {"op": "terminate", "sessionId": None}
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, session=sid), 404,
                "session_not_found")


# ---- by hand: what the SDK does not send --------------------------------------------


def test_a_malformed_body_is_a_parse_error(serve):
    srv = serve.start()
    r = post(srv, b'{"jsonrpc": "2.0", "id": 1, "method":')
    assert r.status == 400
    assert r.json()["error"]["code"] == -32700 and r.json()["id"] is None


@pytest.mark.parametrize("headers,status,code", [
    ({"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ({"Accept": "text/html"}, 406, "not_acceptable"),
    ({"MCP-Protocol-Version": "2024-01-01"}, 400, "unsupported_protocol_version"),
    ({"Mcp-Session-Id": "not-one-of-ours"}, 400, "invalid_session"),
])
def test_wrong_headers_get_the_specified_status(serve, headers, status, code):
    srv = serve.start()
    h = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
    h.update(headers)
    r = srv.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}), h)
    rpc_refusal(r, status, code)


def test_sessions_are_required_checked_and_ended(serve):
    srv = serve.start()
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), 400,
                "missing_session")
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                     session="0" * 32), 404, "session_not_found")
    sid = initialize(srv, "2025-06-18")
    # No MCP-Protocol-Version: the session's own version.
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session=sid)
    assert r.status == 200 and "outputSchema" in r.json()["result"]["tools"][0]
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, session=sid,
                     version="2025-03-26"), 400, "unsupported_protocol_version")
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 4, "method": "initialize",
                           "params": {"protocolVersion": "2025-06-18"}}, session=sid), 400,
                "invalid_session")
    assert srv.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid}).status == 204
    rpc_refusal(srv.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid}), 404,
                "session_not_found")
    rpc_refusal(srv.request("DELETE", "/mcp"), 400, "missing_session")


def test_get_is_405_and_says_what_is_allowed(serve):
    srv = serve.start()
    r = srv.request("GET", "/mcp", headers={"Accept": "text/event-stream"})
    rpc_refusal(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST, DELETE"
    r = srv.request("PUT", "/mcp", b"{}", {"Content-Type": "application/json"})
    rpc_refusal(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST, DELETE"


def test_a_notification_gets_202_and_no_body(serve):
    srv = serve.start()
    sid = initialize(srv)
    r = post(srv, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": 99}}, session=sid)
    assert r.status == 202 and r.body == b""


def test_sessions_are_bounded_and_expire(serve):
    srv = serve.start(env={"RUNBOX_MCP_MAX_SESSIONS": "2", "RUNBOX_MCP_SESSION_IDLE_S": "2"})
    a, b = initialize(srv), initialize(srv)
    c = initialize(srv)  # the least recently used, a, makes room
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    rpc_refusal(post(srv, ping, session=a), 404, "session_not_found")
    assert post(srv, ping, session=b).status == 200
    assert post(srv, ping, session=c).status == 200
    time.sleep(3)
    rpc_refusal(post(srv, ping, session=c), 404, "session_not_found")


def test_progress_comes_as_an_event_stream(serve):
    srv = serve.start()
    sid = initialize(srv)
    r = post(srv, call_msg("import time\nprint('x', flush=True)\ntime.sleep(4.5)", token="tk"),
             session=sid)
    assert r.status == 200 and r.headers["content-type"] == "text/event-stream"
    evs = events(r.body)
    progress, final = evs[:-1], evs[-1]
    assert len(progress) >= 2 and all(e["method"] == "notifications/progress" for e in progress)
    assert all(e["params"]["progressToken"] == "tk" for e in progress)
    fig = progress[-1]["params"]["_meta"]["runbox/progress"]
    assert fig["state"] == "running" and fig["stdout_bytes"] == 2, fig
    assert final["id"] == 1 and final["result"]["structuredContent"]["stdout"] == "x\n"


def test_without_a_progress_token_or_sse_the_answer_is_json(serve):
    srv = serve.start()
    sid = initialize(srv)
    r = post(srv, call_msg("print(1)"), session=sid)
    assert r.headers["content-type"] == "application/json"
    r = post(srv, call_msg("print(1)", token=5), session=sid, accept="application/json")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["result"]["structuredContent"]["stdout"] == "1\n"


def _in_background(fn):
    out = {}
    t = threading.Thread(target=lambda: out.update(r=fn()))
    t.start()
    return t, out


def test_a_cancelled_json_call_answers_request_cancelled(serve):
    srv = serve.start()
    sid = initialize(srv)
    t, out = _in_background(lambda: post(srv, call_msg("import time\ntime.sleep(60)", id=7),
                                         session=sid, accept="application/json"))
    deadline = time.monotonic() + 10
    while not srv.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert post(srv, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                      "params": {"requestId": 7}}, session=sid).status == 202
    t.join(20)
    assert not t.is_alive()
    j = out["r"].json()
    assert j["id"] == 7 and j["error"]["code"] == -32800, j


def test_a_cancellation_from_another_session_is_ignored(serve):
    srv = serve.start()
    mine, other = initialize(srv), initialize(srv)
    t, out = _in_background(lambda: post(srv, call_msg("import time\ntime.sleep(2)\nprint(3)",
                                                       id=7), session=mine))
    time.sleep(0.5)
    post(srv, {"jsonrpc": "2.0", "method": "notifications/cancelled",
               "params": {"requestId": 7}}, session=other)
    t.join(30)
    assert out["r"].json()["result"]["structuredContent"]["stdout"] == "3\n"


def test_a_full_queue_is_503_with_retry_after(serve):
    srv = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "0"})
    sid = initialize(srv)
    t, out = _in_background(lambda: post(srv, call_msg("import time\ntime.sleep(3)"),
                                         session=sid))
    deadline = time.monotonic() + 10
    while not srv.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    r = post(srv, call_msg("print(1)", id=2), session=sid)
    rpc_refusal(r, 503, "busy")
    assert r.headers["retry-after"] == "1"
    # Pings and other requests never wait behind the run.
    assert post(srv, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, session=sid).status == 200
    t.join(30)
    assert out["r"].status == 200


def test_a_batch_before_2025_06_18(serve):
    srv = serve.start()
    sid = initialize(srv, "2025-03-26")
    r = post(srv, [{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "run_bash", "arguments": {"code": "echo b"}}}],
             session=sid)
    replies = {m["id"]: m for m in r.json()}
    assert replies[1]["result"] == {}
    assert "b\n" in replies[2]["result"]["content"][0]["text"]


def test_the_token_guards_mcp(serve):
    srv = serve.start(env={"RUNBOX_TOKEN": "s3cret"})
    r = post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    rpc_refusal(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_stateless_mode(serve):
    srv = serve.start(env={"RUNBOX_MCP_STATELESS": "1"})
    init = post(srv, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-06-18"}})
    assert init.status == 200 and "mcp-session-id" not in init.headers
    # No session, no initialize: the header's version, progress or not, JSON.
    r = post(srv, call_msg("import time\ntime.sleep(2.5)\nprint(1)", token="t"),
             version="2025-06-18")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["result"]["structuredContent"]["stdout"] == "1\n"
    # No header: 2025-03-26, which has no structuredContent.
    r = post(srv, call_msg("print(2)"))
    assert "structuredContent" not in r.json()["result"]
    for method in ("GET", "DELETE"):
        x = srv.request(method, "/mcp")
        rpc_refusal(x, 405, "method_not_allowed")
        assert x.headers["allow"] == "POST"
    assert srv.request("GET", "/api/info").json()["serve"]["mcp_stateless"] is True


# ---- files kept across the tool calls of one MCP session ------------------------------------


def tool(srv, sid, code, name="run_python", **args):
    """One tools/call in session @sid; its result."""
    r = post(srv, call_msg(code, name=name, **args), session=sid, version="2025-06-18",
             accept="application/json")
    assert r.status == 200, r.body[:500]
    return r.json()["result"]


def stdout(result):
    assert result["isError"] is False, result
    return result["structuredContent"]["stdout"]


def file_sessions(srv):
    """The file sessions the server's store holds (directories named by a SHA-256)."""
    (store,) = [p for p in srv.workdir.iterdir() if p.name.startswith("runbox-sessions-")]
    return [p for p in store.iterdir() if len(p.name) == 64]


def test_a_file_written_in_one_tool_call_is_read_in_the_next(serve):
    srv = serve.start()
    sid = initialize(srv)
    assert file_sessions(srv) == []
    assert stdout(tool(srv, sid, "open('notes.txt','w').write('kept')")) == ""
    res = tool(srv, sid, "cat notes.txt", name="run_bash")
    assert stdout(res) == "kept"
    # The file session's id stays in the server: the model never sees it.
    assert "session" not in res["structuredContent"], res
    assert len(file_sessions(srv)) == 1
    if "javascript" in srv.request("GET", "/api/info").json()["languages"]:
        code = "import fs from 'node:fs'; console.log(fs.readFileSync('notes.txt', 'utf8'))"
        assert stdout(tool(srv, sid, code, name="run_javascript")) == "kept\n"
    # Variables do not persist: each call is a new process.
    tool(srv, sid, "x = 1")
    assert "NameError" in tool(srv, sid, "print(x)")["structuredContent"]["stderr"]


def test_reset_starts_from_an_empty_directory_and_ends_the_old_files(serve):
    srv = serve.start()
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    (before,) = file_sessions(srv)
    code = "import os; print(os.path.exists('a'))"
    assert stdout(tool(srv, sid, code, reset=True)) == "False\n"
    tool(srv, sid, "open('b','w').write('1')")
    assert stdout(tool(srv, sid, "import os; print(os.path.exists('a'), os.path.exists('b'))")) \
        == "False True\n"
    (after,) = file_sessions(srv)
    assert after != before
    res = tool(srv, sid, "1", reset="yes")
    assert res["isError"] and res["structuredContent"]["code"] == "wrong_type", res


def test_two_mcp_sessions_do_not_see_each_others_files(serve):
    srv = serve.start()
    a, b = initialize(srv), initialize(srv)
    tool(srv, a, "open('secret.txt','w').write('TOPSECRET of a')")
    assert stdout(tool(srv, b, "import os; print(os.path.exists('secret.txt'))")) == "False\n"
    tool(srv, b, "open('secret.txt','w').write('b')")
    assert stdout(tool(srv, a, "print(open('secret.txt').read())")) == "TOPSECRET of a\n"
    assert stdout(tool(srv, b, "print(open('secret.txt').read())")) == "b\n"
    # Nor does a one-shot run, or a run that searches what it can reach.
    j = srv.run({"script": "import subprocess\nprint(subprocess.run(['grep','-rl','TOPSECRET',"
                           "'/','--exclude-dir=proc','--exclude-dir=sys'],"
                           "capture_output=True,text=True).stdout)"}).ran()
    assert "TOPSECRET" not in j["stdout"] and "secret.txt" not in j["stdout"], j


def test_delete_ends_the_mcp_sessions_files(serve):
    srv = serve.start()
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    assert len(file_sessions(srv)) == 1
    assert srv.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid}).status == 204
    assert file_sessions(srv) == []


def test_an_expired_mcp_session_takes_its_files_along(serve):
    srv = serve.start(env={"RUNBOX_MCP_SESSION_IDLE_S": "1"})
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    assert len(file_sessions(srv)) == 1
    time.sleep(1.5)
    initialize(srv)  # the table forgets idle sessions as it is used
    assert file_sessions(srv) == []
    rpc_refusal(post(srv, call_msg("1"), session=sid), 404, "session_not_found")


def test_files_gone_before_their_mcp_session_are_said_and_the_next_call_starts_empty(serve):
    srv = serve.start(env={"RUNBOX_SESSION_TTL_S": "1"})
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    time.sleep(1.5)
    res = tool(srv, sid, "print(open('a').read())")
    assert res["isError"] and "files of earlier calls are gone" in res["content"][0]["text"], res
    assert stdout(tool(srv, sid, "import os; print(os.path.exists('a'))")) == "False\n"


def test_tool_descriptions_say_what_persists(serve):
    srv = serve.start()
    sid = initialize(srv)
    r = post(srv, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session=sid,
             version="2025-06-18")
    tools = {t["name"]: t for t in r.json()["result"]["tools"]}
    for name in ("run_python", "run_bash", "run_javascript"):
        d = tools[name]["description"]
        assert "Files persist between calls of this MCP session" in d, d
        assert "variables do not" in d and "1800 s" in d, d
        assert "reset" in tools[name]["inputSchema"]["properties"], name
    # Stateless: every POST stands alone, and the tools say so.
    st = serve.start(env={"RUNBOX_MCP_STATELESS": "1"})
    r = post(st, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, version="2025-06-18")
    for t in r.json()["result"]["tools"]:
        if t["name"] != "list_packages":
            assert "starts from scratch" in t["description"], t
            assert "reset" not in t["inputSchema"]["properties"], t
    post(st, call_msg("open('a','w').write('1')"), version="2025-06-18")
    r = post(st, call_msg("import os; print(os.path.exists('a'))"), version="2025-06-18")
    assert r.json()["result"]["structuredContent"]["stdout"] == "False\n"


# ---- fair sharing: /mcp under the same rules as /api/run ------------------------------------


def test_mcp_bodies_count_in_the_clients_share(serve):
    srv = serve.start(env={"RUNBOX_MAX_BODY_BYTES": str(256 << 10),
                           "RUNBOX_MAX_PENDING_BODY_BYTES": str(8 << 20),
                           "RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT": str(1 << 20)})
    sid = initialize(srv)
    share = srv.request("GET", "/api/info").json()["serve"]["max_pending_body_bytes_per_client"]
    part = b" " * (200 << 10)
    held = []
    for _ in range(share // len(part)):  # /api/run bodies of this address, up to its share
        h = socket.create_connection(("127.0.0.1", srv.port))
        h.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (len(part) + 10) + part)
        held.append(h)
    time.sleep(0.5)
    call = call_msg("print(len('" + "x" * (100 << 10) + "'))")
    j = rpc_refusal(post(srv, call, session=sid), 503, "capacity_exhausted")
    assert "RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT" in j["error"]["message"], j
    for h in held:
        h.close()
    deadline = time.monotonic() + 10
    while True:  # the share is given back as the server sees those connections close
        r = post(srv, call, session=sid)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, r.body[:300]
    assert r.json()["result"]["structuredContent"]["stdout"] == str(100 << 10) + "\n"


@pytest.mark.parametrize("stateless", [False, True])
def test_a_call_outlasts_the_minimum_body_rate(serve, stateless):
    # The body is in: a call's run is not a slow body, however small that body was.
    srv = serve.start(env={"RUNBOX_HEADER_TIMEOUT_S": "1",
                           "RUNBOX_MCP_STATELESS": "1" if stateless else "0"})
    sid = None if stateless else initialize(srv)
    r = post(srv, call_msg("import time\ntime.sleep(4)\nprint(1)"), session=sid,
             version="2025-06-18")
    assert r.status == 200, r.body[:300]
    assert r.json()["result"]["structuredContent"]["stdout"] == "1\n"


# ---- the Origin allow-list on every route ----------------------------------------------------


def test_origin_guards_every_route(serve):
    srv = serve.start()
    evil = {"Origin": "http://evil.example"}
    r = srv.run({"script": "print(1)"}, headers=evil)
    r.error(403, "origin_not_allowed")
    r = srv.request("POST", "/api/run", "print(1)", {"Content-Type": "text/plain", **evil})
    r.error(403, "origin_not_allowed")
    rpc_refusal(post(srv, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=evil), 403,
                "origin_not_allowed")
    # The Azure envelope carries the browser's headers inside.
    env = {"Data": {"req": {"Method": "POST", "Headers": {"Origin": ["http://evil.example"],
                                                          "Content-Type": ["text/plain"]},
                            "Query": {}, "Body": "print(1)"}}}
    r = srv.request("POST", "/run", json.dumps(env), {"Content-Type": "application/json"})
    assert r.status == 200
    inner = r.json()["Outputs"]["res"]
    assert inner["statusCode"] == 403 and "origin_not_allowed" in inner["body"]
    # No Origin (not a browser) passes.
    assert srv.run({"script": "print(1)"}).ran()["stdout"] == "1\n"


def test_allowed_origins_pass(serve):
    srv = serve.start(env={"RUNBOX_ALLOWED_ORIGINS": "https://app.example, http://localhost:6274"})
    for o in ("https://app.example", "http://LOCALHOST:6274"):
        assert srv.run({"script": "print(1)"}, headers={"Origin": o}).ran()["stdout"] == "1\n"
    srv.run({"script": "print(1)"}, headers={"Origin": "https://app.example:444"}).error(
        403, "origin_not_allowed")
    srv.run({"script": "print(1)"}, headers={"Origin": "null"}).error(403, "origin_not_allowed")


def test_any_origin_with_a_star(serve):
    srv = serve.start(env={"RUNBOX_ALLOWED_ORIGINS": "*"})
    assert srv.run({"script": "print(1)"}, headers={"Origin": "http://x.example"}).status == 200


def test_a_bad_origin_setting_stops_the_server():
    import subprocess
    from conftest import runbox_bin
    p = subprocess.run([str(runbox_bin()), "serve", "--port", "0"], capture_output=True,
                       env={"RUNBOX_ALLOWED_ORIGINS": "evil.example/path", "PATH": "/usr/bin"},
                       timeout=30)
    assert p.returncode != 0 and b"RUNBOX_ALLOWED_ORIGINS" in p.stderr


def test_the_azure_mcp_adapter_starts_a_stateless_mcp_server(serve):
    """function-adapters/azure-mcp: runbox started as its host.json and settings say."""
    adapter = REPO / "function-adapters" / "azure-mcp"
    host = json.loads((adapter / "host.json").read_text())
    settings = json.loads((adapter / "local.settings.json").read_text())["Values"]
    assert host["configurationProfile"] == "mcp-custom-handler"
    handler = host["customHandler"]
    assert handler["description"]["defaultExecutablePath"] == "runbox"
    args = handler["description"]["arguments"]
    assert args[0] == "serve" and args[args.index("--port") + 1] == handler["port"]
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert settings["RUNBOX_MCP_STATELESS"] == "1"
    env = {k: v for k, v in settings.items() if k.startswith("RUNBOX_")}
    env.pop("RUNBOX_REQUIRE")  # what this machine offers is not the test's subject
    srv = serve.start(env=env)
    r = post(srv, call_msg("print(7)"), version="2025-11-25")
    assert r.json()["result"]["structuredContent"]["stdout"] == "7\n"
    assert "mcp-session-id" not in r.headers
    assert srv.request("GET", "/mcp").status == 405


def _until_no_more_than(srv, n, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(file_sessions(srv)) > n:
        time.sleep(0.1)
    return file_sessions(srv)


def test_a_session_deleted_during_a_call_takes_that_calls_files_along(serve):
    srv = serve.start()
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    t, out = _in_background(lambda: tool(srv, sid, "import time; time.sleep(2); print('done')"))
    time.sleep(1)  # the call holds the file session now
    assert srv.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid}).status == 204
    t.join(60)
    assert _until_no_more_than(srv, 0) == []


def test_a_reset_while_another_call_holds_the_old_files_ends_them(serve):
    srv = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    sid = initialize(srv)
    tool(srv, sid, "open('a','w').write('1')")
    (old,) = file_sessions(srv)
    t, out = _in_background(lambda: tool(srv, sid, "import time; time.sleep(3); print('slow')"))
    time.sleep(1)  # the slow call holds the old file session
    code = "import os; print(os.path.exists('a'))"
    assert stdout(tool(srv, sid, code, reset=True)) == "False\n"
    t.join(60)
    assert stdout(out["r"]) == "slow\n"
    (kept,) = _until_no_more_than(srv, 1)
    assert kept != old
    assert stdout(tool(srv, sid, "import os; print(os.path.exists('a'))")) == "False\n"
