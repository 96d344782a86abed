"""runbox mcp: a scripted MCP client session over stdio — the handshake,
every tool, and malformed messages with their JSON-RPC error codes."""

import base64
import glob
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import AS, LATEST, NOBODY, McpClient, argv as argv_mcp, proc_scan, runbox_bin


def text(result):
    return "\n".join(c["text"] for c in result["content"] if c["type"] == "text")


# ---- the handshake ---------------------------------------------------------

def test_handshake(mcp):
    res = mcp.initialize("2025-06-18")
    assert res["protocolVersion"] == "2025-06-18"
    assert "tools" in res["capabilities"]
    assert res["serverInfo"]["name"] == "runbox" and res["serverInfo"]["version"]
    assert "./output/" in res["instructions"]
    # notifications/initialized got no reply: the ping's answer is next.
    assert mcp.nothing_pending()


@pytest.mark.parametrize("asked,got", [
    ("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"), ("2025-06-18", "2025-06-18"),
    (LATEST, LATEST), ("2099-01-01", LATEST), ("draft", LATEST),
])
def test_version_negotiation(mcp, asked, got):
    assert mcp.initialize(asked)["protocolVersion"] == got


def test_tools_before_initialize_are_refused(mcp):
    r = mcp.request("tools/list")
    assert r["error"]["code"] == -32600
    assert mcp.request("ping")["result"] == {}


def test_second_initialize_is_refused(mcp):
    mcp.initialize()
    r = mcp.request("initialize", {"protocolVersion": "2025-06-18"})
    assert r["error"]["code"] == -32600


def test_tools_list(mcp):
    mcp.initialize()
    tools = {t["name"]: t for t in mcp.request("tools/list")["result"]["tools"]}
    assert set(tools) == {"run_python", "run_bash", "run_javascript", "list_packages"}
    for name in ("run_python", "run_bash", "run_javascript"):
        t = tools[name]
        schema = t["inputSchema"]
        assert schema["type"] == "object" and schema["required"] == ["code"]
        assert set(schema["properties"]) == {"code", "files", "dependencies", "timeout_s",
                                             "stdin", "args", "reset"} | (
            {"typescript"} if name == "run_javascript" else set())
        # The same answer as run_python's.
        assert t["outputSchema"] == tools["run_python"]["outputSchema"]
        assert schema["additionalProperties"] is False
        assert "outputSchema" in t and t["outputSchema"]["type"] == "object"
        for needle in ("./input/", "./output/", "no network"):
            assert needle in t["description"], (name, needle)
    assert "numpy" in tools["run_python"]["description"]
    assert tools["list_packages"]["inputSchema"]["properties"] == {}


def test_old_protocol_has_no_output_schema(mcp):
    mcp.initialize("2024-11-05")
    tools = mcp.request("tools/list")["result"]["tools"]
    assert all("outputSchema" not in t and "title" not in t for t in tools)


# ---- the tools ------------------------------------------------------------------

def test_run_python(mcp):
    mcp.initialize()
    res = mcp.call("run_python", {"code": "print(6 * 7)"})
    assert res["isError"] is False
    assert "42" in text(res)
    sc = res["structuredContent"]
    assert sc["exit_code"] == 0 and sc["stdout"] == "42\n" and sc["status"] == "ok"


def test_run_python_every_argument(mcp):
    mcp.initialize()
    code = ("import sys, numpy\n"
            "data = open('input/nums.txt').read().split()\n"
            "raw = open('input/blob.bin', 'rb').read()\n"
            "print(sys.argv[1:], sys.stdin.read().strip(), sum(map(int, data)), len(raw))\n"
            "open('output/report.txt', 'w').write('total %d' % sum(map(int, data)))\n"
            "open('output/bytes.bin', 'wb').write(bytes([0, 255]))\n")
    res = mcp.call("run_python", {
        "code": code,
        "files": {"nums.txt": "1 2 3",
                  "blob.bin": {"content": base64.b64encode(b"\0\1\2").decode(),
                               "encoding": "base64"}},
        "dependencies": ["numpy"], "timeout_s": 30, "stdin": "from stdin", "args": ["-v", "x"]})
    sc = res["structuredContent"]
    assert res["isError"] is False, res
    assert sc["stdout"] == "['-v', 'x'] from stdin 6 3\n"
    assert sc["artifacts"]["report.txt"] == "total 6"
    assert base64.b64decode(sc["artifacts"]["bytes.bin"]["content"]) == b"\0\xff"
    assert sc["dependencies"][0]["name"] == "numpy"
    assert "report.txt" in text(res) and "bytes.bin" in text(res)


def test_the_text_gives_binary_artifacts_their_real_size(mcp):
    # The size of the bytes, not of the base64 rounded up to three.
    mcp.initialize()
    res = mcp.call("run_python", {"code": "for n in range(1, 8):\n"
                                          "    open(f'output/b{n}.bin', 'wb').write(b'\\xff' * n)"})
    for n in range(1, 8):
        assert f"b{n}.bin: binary, {n} bytes, only in" in text(res), text(res)


def test_run_python_failure_is_a_tool_error(mcp):
    mcp.initialize()
    res = mcp.call("run_python", {"code": "1/0"})
    assert res["isError"] is True
    assert "ZeroDivisionError" in text(res)
    assert res["structuredContent"]["exit_code"] == 1


def test_run_python_timeout(mcp):
    mcp.initialize()
    res = mcp.call("run_python", {"code": "import time; time.sleep(30)", "timeout_s": 0.5})
    assert res["isError"] is True
    assert res["structuredContent"]["status"] == "timeout"
    assert "timeout" in text(res)


def test_run_bash(mcp):
    mcp.initialize()
    res = mcp.call("run_bash", {"code": "echo \"$1-$2\"; cat input/a.txt; echo hi > output/o.txt",
                                "args": ["a", "b"], "files": {"a.txt": "file\n"}})
    sc = res["structuredContent"]
    assert res["isError"] is False
    assert sc["stdout"] == "a-b\nfile\n" and sc["artifacts"] == {"o.txt": "hi\n"}


NODE = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")
ESBUILD = shutil.which("esbuild", path="/usr/local/bin:/usr/bin:/bin")


@pytest.mark.skipif(not NODE, reason="no node on PATH: `make deps` installs Debian's nodejs")
def test_run_javascript(mcp):
    mcp.initialize()
    res = mcp.call("run_javascript", {
        "code": "const fs = require('fs');\nconst t = fs.readFileSync('input/a.txt', 'utf8');\n"
                "fs.writeFileSync('output/o.txt', t.toUpperCase());\n"
                "console.log(process.argv.slice(2).join('-'));",
        "args": ["a", "b"], "files": {"a.txt": "file\n"}})
    sc = res["structuredContent"]
    assert res["isError"] is False, res
    assert sc["stdout"] == "a-b\n" and sc["artifacts"] == {"o.txt": "FILE\n"}, sc
    res = mcp.call("run_javascript", {"code": "throw new Error('oops')"})
    assert res["isError"] is True and res["structuredContent"]["exit_code"] == 1
    assert "Error: oops" in text(res)


@pytest.mark.skipif(not (NODE and ESBUILD), reason="no node or esbuild on PATH (`make deps`)")
def test_run_javascript_typescript(mcp):
    mcp.initialize()
    res = mcp.call("run_javascript", {"code": "const n: number = 6 * 7;\nconsole.log(n);",
                                      "typescript": True})
    assert res["isError"] is False and res["structuredContent"]["stdout"] == "42\n", res
    res = mcp.call("run_javascript", {"code": "let a x = 1;", "typescript": True})
    assert res["isError"] is True and res["structuredContent"]["exit_code"] == 1
    assert "main.ts:1:" in text(res)


def test_bash_failure(mcp):
    mcp.initialize()
    res = mcp.call("run_bash", {"code": "echo oops >&2; exit 3"})
    assert res["isError"] is True and res["structuredContent"]["exit_code"] == 3
    assert "oops" in text(res)


def test_refused_request_names_the_tool_argument(mcp):
    mcp.initialize()
    res = mcp.call("run_python", {"code": "print(1)", "files": {"../escape": "x"}})
    assert res["isError"] is True
    sc = res["structuredContent"]
    assert sc["code"] == "invalid_path" and sc["field"].startswith("files")
    assert "'files'" in text(res)


@pytest.mark.parametrize("args,needle", [
    ({}, "`code` is required"),
    ({"code": 5}, "`code` is required"),
    ({"code": "x", "script": "y"}, "Unknown argument 'script'"),
    ({"code": "x", "timeout_s": "soon"}, "invalid_timeout"),
    ({"code": "x", "args": "notalist"}, "wrong_type"),
    ({"code": "x", "dependencies": ["no-such-package-xyz"]}, "dependency_not_found"),
])
def test_bad_arguments_are_tool_errors(mcp, args, needle):
    mcp.initialize()
    res = mcp.call("run_python", args)
    assert res["isError"] is True
    assert needle in text(res)


def test_old_protocol_gets_the_response_as_json_text(mcp):
    mcp.initialize("2025-03-26")
    res = mcp.call("run_python", {"code": "print(1)"})
    assert "structuredContent" not in res
    assert json.loads(res["content"][1]["text"])["stdout"] == "1\n"


def test_list_packages(mcp):
    mcp.initialize()
    res = mcp.call("list_packages", {})
    assert res["isError"] is False
    pre = {p["name"]: p["version"] for p in res["structuredContent"]["preinstalled"]}
    for name in ("numpy", "pandas", "scipy", "matplotlib"):
        assert name in pre and pre[name]
    assert res["structuredContent"]["cache"] == []
    assert "numpy " + pre["numpy"] in text(res)
    res = mcp.call("list_packages")
    assert res["isError"] is False
    assert mcp.call("list_packages", {"x": 1})["isError"] is True


def test_credentials_never_reach_the_program(mcp):
    mcp.initialize()
    res = mcp.call("run_python", {"code": "import os; print(dict(os.environ))"})
    assert "AWS_SECRET_ACCESS_KEY" not in res["structuredContent"]["stdout"]


# ---- malformed messages ---------------------------------------------------------

@pytest.mark.parametrize("line,code", [
    ("{oops", -32700),
    ('{"jsonrpc":"2.0","id":1,"method":"ping"} extra', -32700),
    ("[]", -32600),
    ('[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600),
    ('"hello"', -32600),
    ('{"id":1,"method":"ping"}', -32600),
    ('{"jsonrpc":"2.0","id":1}', -32600),
    ('{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600),
    ('{"jsonrpc":"2.0","id":[1],"method":"ping"}', -32600),
    ('{"jsonrpc":"2.0","id":1,"method":"prompts/list"}', -32601),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"run_python"}', -32602),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}', -32602),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"eval"}}', -32602),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_python",'
     '"arguments":"print(1)"}}', -32602),
])
def test_malformed_messages(mcp, line, code):
    mcp.initialize()
    mcp.send_raw(line + "\n")
    reply = mcp.recv()
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    if code in (-32700,) or '"id":null' in line or '"id":[1]' in line or line[0] != "{":
        assert reply["id"] is None
    # The session goes on.
    assert mcp.nothing_pending()


def test_ids_are_echoed_exactly(mcp):
    mcp.initialize()
    mcp.send({"jsonrpc": "2.0", "id": "req-ü-1", "method": "ping"})
    assert mcp.recv()["id"] == "req-ü-1"
    mcp.send({"jsonrpc": "2.0", "id": 0, "method": "ping"})
    assert mcp.recv()["id"] == 0
    # Integers up to 2^53 - 1 come back digit for digit, not as 9.00719925474099e+15
    # (which would be the id of another request too).
    for big in (9007199254740991, 9007199254740989, -8888888888888889, 1234567890123456):
        mcp.send({"jsonrpc": "2.0", "id": big, "method": "ping"})
        reply = mcp.recv()
        assert reply["id"] == big and type(reply["id"]) is int, reply


@pytest.mark.parametrize("raw_id", [b'"a\xffb"', b'"c\\u0000d"'])
def test_an_id_cjson_would_change_is_answered_with_id_null(mcp, raw_id):
    # Echoing it would be a line that is not UTF-8, or the id of another request.
    mcp.initialize()
    mcp.send_raw(b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"ping"}\n')
    reply = mcp.recv()
    assert reply["id"] is None and reply["error"]["code"] == -32600, reply
    assert mcp.nothing_pending()


@pytest.mark.parametrize("version", ["2025-03-26", "2024-11-05"])
def test_batches_in_the_versions_that_have_them(mcp, version):
    # MCP 2025-03-26: servers MUST take JSON-RPC batches (2025-06-18 removed them).
    mcp.initialize(version)
    mcp.send([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
              {"jsonrpc": "2.0", "method": "notifications/initialized"},
              {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "run_python", "arguments": {"code": "print(6*7)"}}},
              {"jsonrpc": "2.0", "id": 3, "method": "resources/list"}])
    replies = mcp.recv_batch()
    assert [m["id"] for m in replies] == [1, 2, 3]
    assert replies[0]["result"] == {}
    assert "42" in replies[1]["result"]["content"][0]["text"]
    assert replies[2]["error"]["code"] == -32601
    # Only notifications: no reply at all.
    mcp.send([{"jsonrpc": "2.0", "method": "notifications/initialized"}])
    assert mcp.nothing_pending()


def test_no_batches_in_later_versions(mcp):
    mcp.initialize("2025-06-18")
    mcp.send([{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "run_python", "arguments": {"code": "print(1)"}}}])
    reply = mcp.recv()
    assert reply["id"] is None and reply["error"]["code"] == -32600
    assert "2025-06-18" in reply["error"]["message"]
    assert mcp.nothing_pending()


def test_a_timeout_of_1e400_is_clamped_as_elsewhere(mcp):
    mcp.initialize()
    mcp.send_raw('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":'
                 '"run_python","arguments":{"code":"print(1)","timeout_s":1e400}}}\n')
    reply = mcp.recv()
    assert reply["id"] == 5 and not reply["result"].get("isError"), reply
    assert reply["result"]["structuredContent"]["stdout"] == "1\n"


def test_notifications_get_no_reply(mcp):
    mcp.initialize()
    mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 5, "reason": "x"}})
    mcp.send({"jsonrpc": "2.0", "method": "tools/call",
              "params": {"name": "run_python", "arguments": {"code": "print(1)"}}})
    mcp.send({"jsonrpc": "2.0", "method": "no/such"})
    mcp.send_raw("\n   \n")
    assert mcp.nothing_pending()


def test_crlf_and_a_last_line_without_newline(mcp):
    mcp.initialize()
    mcp.send_raw('{"jsonrpc":"2.0","id":7,"method":"ping"}\r\n')
    assert mcp.recv()["id"] == 7
    mcp.send_raw('{"jsonrpc":"2.0","id":8,"method":"ping"}')
    mcp.proc.stdin.close()
    assert mcp.recv()["id"] == 8


def test_oversized_message(mcp):
    mcp.initialize()
    # Over 2 x 32 MiB + 1 MiB: refused without being held, and the session goes on.
    chunk = b"x" * (1 << 20)
    mcp.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"')
    for _ in range(66):
        mcp.send_raw(chunk)
    mcp.send_raw(b'"}}\n')
    reply = mcp.recv()
    assert reply["error"]["code"] == -32600 and "over" in reply["error"]["message"]
    assert mcp.nothing_pending()


def test_list_packages_names_the_wheel_cache():
    # A cache baked from Debian's wheel wheel: list_packages offers it, and
    # run_python can use it through `dependencies`.
    d = pathlib.Path(tempfile.mkdtemp(prefix="rbmcp-cache-", dir="/tmp"))
    os.chmod(d, 0o755)
    work = pathlib.Path(tempfile.mkdtemp(prefix="rbmcp-", dir="/tmp"))
    if AS == "nobody":
        os.chown(work, NOBODY, NOBODY)
    try:
        (d / "wheels").mkdir()
        shutil.copy(glob.glob("/usr/share/python-wheels/wheel-*.whl")[0], d / "wheels")
        subprocess.run([str(runbox_bin()), "bake", str(d / "wheels"), str(d / "cache")],
                       check=True, capture_output=True)
        c = McpClient(work, {"RUNBOX_CACHE_DIR": str(d / "cache")})
        c.initialize()
        res = c.call("list_packages")
        cache = res["structuredContent"]["cache"]
        assert [p["name"] for p in cache] == ["wheel"]
        assert "installable through `dependencies`" in text(res)
        res = c.call("run_python", {"code": "import wheel; print(wheel.__version__)",
                                    "dependencies": ["wheel"]})
        assert res["isError"] is False
        assert res["structuredContent"]["stdout"] == cache[0]["version"] + "\n"
        assert c.close() == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


# ---- while a call runs: ping answered at once, cancellation, order ------------

def marker_procs(marker):
    """Processes anywhere on the machine whose command line holds @marker."""
    return [h.pid for h in proc_scan([marker], where=("cmdline",))]


def wait_for_marker(marker, limit=60):
    import time
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if marker_procs(marker):
            return True
        time.sleep(0.05)
    return False


def call_msg(id_, code, bash=False):
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call",
            "params": {"name": "run_bash" if bash else "run_python",
                       "arguments": {"code": code, "timeout_s": 120}}}


def sleeper(marker):
    # A program that runs until it is stopped, findable by its command line.
    return f"exec -a {marker} sleep 600"


def test_ping_is_answered_while_a_call_runs(mcp):
    mcp.initialize()
    marker = "rbmcp-ping-" + os.urandom(6).hex()
    mcp.send(call_msg(1, sleeper(marker), bash=True))
    assert wait_for_marker(marker), "the call's program never started"
    mcp.send({"jsonrpc": "2.0", "id": "p", "method": "ping"})
    # The ping's answer comes first: the call is still running.
    assert mcp.recv() == {"jsonrpc": "2.0", "id": "p", "result": {}}
    assert marker_procs(marker)
    mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 1, "reason": "done with it"}})
    # Calls are handled in turn: this one's answer means the cancelled one has ended.
    assert "ok" in text(mcp.call("run_python", {"code": "print('after')"}))
    assert marker_procs(marker) == []
    assert mcp.nothing_pending()  # the cancelled call got no reply


def test_cancel_stops_the_program_and_its_tree(mcp):
    mcp.initialize()
    marker = "rbmcp-tree-" + os.urandom(6).hex()
    # A child, an orphaned grandchild, and the program itself: all must go.
    code = (f"(exec -a {marker}-child sleep 600) & ( (exec -a {marker}-orphan sleep 600) & ) ; "
            f"exec -a {marker} sleep 600")
    mcp.send(call_msg("long", code, bash=True))
    assert wait_for_marker(marker + "-orphan") and wait_for_marker(marker)
    mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": "long"}})
    r = mcp.call("run_python", {"code": "print(2 + 2)"})
    assert r["structuredContent"]["stdout"] == "4\n"
    assert marker_procs(marker) == []
    assert mcp.nothing_pending()
    mcp.close()
    assert b"the client cancelled the running tool call" in mcp.stderr
    assert b'"status":"cancelled"' in mcp.stderr


def test_cancel_a_request_still_waiting_its_turn(mcp):
    mcp.initialize()
    marker = "rbmcp-queue-" + os.urandom(6).hex()
    mcp.send(call_msg(1, sleeper(marker), bash=True))
    mcp.send(call_msg(2, "print('two')"))
    mcp.send({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    assert wait_for_marker(marker)
    mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}})
    mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}})
    # 1 and 2 get no reply; 3 is answered in its turn.
    assert mcp.recv()["id"] == 3
    assert marker_procs(marker) == []
    assert mcp.nothing_pending()
    mcp.close()
    assert b"the client cancelled a request before its turn" in mcp.stderr
    # Call 2 never ran: the one run logged is call 1, cancelled.
    runs = [line for line in mcp.stderr.splitlines() if b'"event":"run"' in line]
    assert len(runs) == 1 and b'"status":"cancelled"' in runs[0], runs


def test_cancelling_an_unknown_or_finished_request_is_ignored(mcp):
    mcp.initialize()
    r = mcp.call("run_python", {"code": "print(1)"})
    assert not r["isError"]
    for rid in (mcp.next_id, 999, "nope"):
        mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": rid}})
    assert mcp.nothing_pending()
    assert not mcp.call("run_python", {"code": "print(1)"})["isError"]


def test_replies_come_in_the_order_of_the_requests(mcp):
    mcp.initialize()
    mcp.send(call_msg(1, "import time; time.sleep(1); print('slow')"))
    mcp.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    mcp.send(call_msg(3, "print('fast')"))
    mcp.send({"jsonrpc": "2.0", "id": 4, "method": "nope"})
    got = [mcp.recv() for _ in range(4)]
    assert [m["id"] for m in got] == [1, 2, 3, 4]
    assert got[0]["result"]["structuredContent"]["stdout"] == "slow\n"
    assert got[3]["error"]["code"] == -32601


def test_calls_sent_before_stdin_closes_are_all_answered(mcp):
    mcp.initialize()
    mcp.send(call_msg(1, "import time; time.sleep(0.5); print('one')"))
    mcp.send(call_msg(2, "print('two')"))
    mcp.proc.stdin.close()
    got = [mcp.recv(), mcp.recv()]
    assert [m["result"]["structuredContent"]["stdout"] for m in got] == ["one\n", "two\n"]
    assert mcp.proc.wait(timeout=60) == 0


@pytest.mark.parametrize("arguments,field", [
    ({"code": "print(1)\u0000print(2)"}, "code"),
    ({"code": "import sys; print(repr(sys.stdin.read()))", "stdin": "a\u0000b"}, "stdin"),
    ({"code": "print(1)", "files": {"f\u0000g": "x"}}, "files"),
    ({"code": "print(1)", "args": ["a\u0000"]}, "args[0]"),
    ({"code": "print(1)", "dependencies": ["numpy\u0000; rm -rf /"]}, "dependencies[0]"),
])
def test_nul_in_an_argument_is_refused_not_cut(mcp, arguments, field):
    # A JSON parser keeping C strings would cut at the NUL and run the rest.
    mcp.initialize()
    r = mcp.call("run_python", arguments)
    assert r["isError"] and r["structuredContent"]["code"] == "nul_in_string", r
    assert r["structuredContent"]["field"] == field, r
    assert "exit_code" not in r["structuredContent"]


def test_a_cancellation_on_a_last_line_without_newline_counts(mcp):
    mcp.initialize()
    marker = "rbmcp-eofcancel-" + os.urandom(6).hex()
    mcp.send(call_msg(7, sleeper(marker), bash=True))
    assert wait_for_marker(marker)
    mcp.send_raw(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                             "params": {"requestId": 7}}))
    mcp.proc.stdin.close()
    assert mcp.proc.wait(timeout=60) == 0
    assert marker_procs(marker) == []
    assert mcp.lines.get(timeout=10) is None  # no reply for 7: stdout just closed


def test_a_client_gone_ends_the_server_with_status_1(tmp_path):
    # Its replies cannot be written any more: nothing queued behind runs.
    if AS == "nobody":
        os.chown(tmp_path, NOBODY, NOBODY)
    r, w = os.pipe()
    os.close(r)
    lines = "".join(json.dumps(m) + "\n" for m in [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18"}},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"}])
    p = subprocess.run(argv_mcp(), input=lines.encode(), stdout=w, stderr=subprocess.PIPE,
                       env={"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(tmp_path),
                            "RUNBOX_LOG": "info"}, timeout=60)
    os.close(w)
    assert p.returncode == 1 and b"the client is gone" in p.stderr
