"""MCP over Lambda proxy events routed to /mcp: stateless, JSON answers only
(an instance has no affinity, and no response streaming is configured)."""

import json

import pytest

JSON = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def mcp(lam, msg, headers=None, version=2):
    h = dict(JSON)
    h.update(headers or {})
    return lam.http("POST", "/mcp", json.dumps(msg), h, version=version)


@pytest.mark.parametrize("version", [1, 2])
def test_a_tool_call_needs_no_session(lam, version):
    status, headers, body = mcp(lam, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                      "params": {"name": "run_python",
                                                 "arguments": {"code": "print(6*7)"},
                                                 "_meta": {"progressToken": "p"}}},
                                {"MCP-Protocol-Version": "2025-06-18"}, version=version)
    assert status == 200 and headers["Content-Type"] == "application/json"
    reply = json.loads(body)
    assert reply["id"] == 1
    assert reply["result"]["structuredContent"]["stdout"] == "42\n"


def test_initialize_keeps_no_session(lam):
    status, headers, body = mcp(lam, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                      "params": {"protocolVersion": "2025-11-25"}})
    assert status == 200 and "Mcp-Session-Id" not in headers
    assert json.loads(body)["result"]["protocolVersion"] == "2025-11-25"
    status, _, body = mcp(lam, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert status == 202 and body == ""


def test_refusals_are_json_rpc_errors(lam):
    status, headers, body = lam.http("GET", "/mcp")
    assert status == 405 and headers["Allow"] == "POST"
    assert json.loads(body)["error"]["data"]["code"] == "method_not_allowed"
    status, _, body = mcp(lam, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          {"MCP-Protocol-Version": "1999-12-31"})
    assert status == 400 and json.loads(body)["id"] is None
    status, _, body = lam.http("POST", "/mcp", "{oops", JSON)
    assert status == 400 and json.loads(body)["error"]["code"] == -32700
    status, _, body = mcp(lam, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          {"Origin": "http://evil.example"})
    assert status == 403 and json.loads(body)["error"]["data"]["code"] == "origin_not_allowed"


def test_the_token_guards_mcp(lam_idle):
    lam_idle.start({"RUNBOX_TOKEN": "s3cret"})
    status, headers, body = mcp(lam_idle, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert json.loads(body)["error"]["data"]["code"] == "unauthorized"
    status, _, body = mcp(lam_idle, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          {"Authorization": "Bearer s3cret"})
    assert status == 200 and json.loads(body)["result"] == {}
