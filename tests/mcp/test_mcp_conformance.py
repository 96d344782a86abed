"""The MCP tools follow the contract's rules of the other front doors: an
empty program is refused in the tool's words, and a timeout a cap lowered
is said in the structured result and in the text a model reads."""

import os
import pathlib
import shutil
import tempfile

import pytest

from conftest import AS, NOBODY, McpClient


@pytest.fixture
def mcp_max_timeout_1():
    d = pathlib.Path(tempfile.mkdtemp(prefix="rbmcp-", dir="/tmp"))
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    c = McpClient(d, {"RUNBOX_MAX_TIMEOUT_S": "1"})
    yield c
    rc = c.close()
    left = os.listdir(d)
    shutil.rmtree(d, ignore_errors=True)
    assert rc == 0 and not left, (rc, left)


def text(result):
    return "".join(c["text"] for c in result["content"] if c["type"] == "text")


@pytest.mark.parametrize("code", ["", "  \n\t"])
def test_an_empty_program_is_refused(mcp, code):
    mcp.initialize()
    res = mcp.call("run_python", {"code": code})
    sc = res["structuredContent"]
    assert res["isError"] is True and sc["code"] == "empty_script" and sc["field"] == "code"
    assert "Script cannot be empty." in text(res)


def test_a_lowered_timeout_is_said(mcp_max_timeout_1):
    mcp = mcp_max_timeout_1
    mcp.initialize()
    res = mcp.call("run_python", {"code": "import time; time.sleep(30)", "timeout_s": 20})
    sc = res["structuredContent"]
    assert sc["status"] == "timeout" and sc["timeout_s"] == 1 and sc["timeout_clamped"] is True
    assert "lowered to 1 s" in text(res)
    res = mcp.call("run_python", {"code": "print(1)", "timeout_s": 0.5})
    sc = res["structuredContent"]
    assert sc["timeout_s"] == 0.5 and sc["timeout_clamped"] is False
    assert "lowered" not in text(res)
