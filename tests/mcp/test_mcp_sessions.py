"""Files persist across the tool calls of one MCP session (the stdio server
process): each call starts in the working directory as the last left it,
`reset` starts afresh, output/ returns what the call changed, and the tool
descriptions say so.  RUNBOX_SESSIONS_MAX=0 gives back one-shot calls."""

import pathlib
import tempfile
import os

import pytest

from conftest import AS, NOBODY, McpClient


def text(res):
    return "".join(c.get("text", "") for c in res["content"])


def test_files_persist_between_calls(mcp):
    mcp.initialize()
    r = mcp.call("run_python", {"code": "open('data.csv','w').write('a,b\\n1,2\\n')"})
    assert r["isError"] is False, r
    r = mcp.call("run_bash", {"code": "cat data.csv; ls"})
    assert r["structuredContent"]["stdout"].startswith("a,b\n1,2\n"), r
    # The capability stays with the server: the model never sees an id.
    assert "session" not in r["structuredContent"]


def test_output_returns_only_what_the_call_changed(mcp):
    mcp.initialize()
    r = mcp.call("run_python", {"code": "open('output/a.txt','w').write('1')"})
    assert r["structuredContent"]["artifacts"] == {"a.txt": "1"}
    r = mcp.call("run_python", {"code": "open('output/b.txt','w').write('2')"})
    assert r["structuredContent"]["artifacts"] == {"b.txt": "2"}
    assert "a.txt" not in text(r)


def test_reset_starts_from_an_empty_directory(mcp):
    mcp.initialize()
    mcp.call("run_python", {"code": "open('x','w').write('1')"})
    r = mcp.call("run_python", {"code": "import os; print(os.path.exists('x'))", "reset": True})
    assert r["structuredContent"]["stdout"] == "False\n", r
    r = mcp.call("run_python", {"code": "open('y','w').write('1')"})
    r = mcp.call("run_python", {"code": "import os; print(os.path.exists('x'), "
                                        "os.path.exists('y'))"})
    assert r["structuredContent"]["stdout"] == "False True\n", r
    r = mcp.call("run_python", {"code": "1", "reset": "yes"})
    assert r["isError"] is True and "`reset` must be true or false" in text(r)
    assert r["structuredContent"]["code"] == "wrong_type"


def test_variables_do_not_persist_and_descriptions_say_what_does(mcp):
    mcp.initialize()
    mcp.call("run_python", {"code": "x = 1"})
    r = mcp.call("run_python", {"code": "print(x)"})
    assert r["isError"] is True and "NameError" in r["structuredContent"]["stderr"]
    tools = {t["name"]: t for t in mcp.request("tools/list")["result"]["tools"]}
    for name in ("run_python", "run_bash"):
        d = tools[name]["description"]
        assert "Files persist between calls" in d and "variables do not" in d, d
        assert "only the files new or changed" in d
        assert tools[name]["inputSchema"]["properties"]["reset"]["type"] == "boolean"


def _client(env):
    d = pathlib.Path(tempfile.mkdtemp(prefix="rbmcp-", dir="/tmp"))
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    return McpClient(d, extra_env=env), d


def test_expired_session_is_said_and_the_next_call_starts_afresh():
    c, d = _client({"RUNBOX_SESSION_TTL_S": "1"})
    try:
        c.initialize()
        c.call("run_python", {"code": "open('x','w').write('1')"})
        import time
        time.sleep(1.5)
        r = c.call("run_python", {"code": "print(open('x').read())"})
        assert r["isError"] is True and "files of earlier calls are gone" in text(r), r
        r = c.call("run_python", {"code": "import os; print(os.listdir('.'))"})
        assert r["isError"] is False and "'x'" not in r["structuredContent"]["stdout"], r
    finally:
        assert c.close() == 0
        assert not list(d.iterdir()), "the store must go with the server"
        d.rmdir()


def test_sessions_off_gives_one_shot_calls():
    c, d = _client({"RUNBOX_SESSIONS_MAX": "0"})
    try:
        c.initialize()
        c.call("run_python", {"code": "open('x','w').write('1')"})
        r = c.call("run_python", {"code": "import os; print(os.path.exists('x'))"})
        assert r["structuredContent"]["stdout"] == "False\n"
        r = c.call("run_python", {"code": "1", "reset": True})
        assert r["isError"] is True and "Unknown argument 'reset'" in text(r)
        tools = {t["name"]: t for t in c.request("tools/list")["result"]["tools"]}
        assert "starts from scratch" in tools["run_python"]["description"]
    finally:
        assert c.close() == 0
        d.rmdir()
