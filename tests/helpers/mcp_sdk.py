"""The official MCP TypeScript SDK client (tests/mcp/client, installed by
`make deps` from its lock file), driven from pytest: a scenario in, what
happened out (see tests/mcp/client/run.mjs for both shapes)."""
import json
import pathlib
import shutil
import subprocess

import pytest

CLIENT = pathlib.Path(__file__).resolve().parents[1] / "mcp" / "client"


def _node():
    node = shutil.which("node")
    sdk = CLIENT / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
    if not node or not sdk.exists():
        pytest.fail("the MCP SDK client is not installed: run `make deps` "
                    f"(node: {node}, {sdk} exists: {sdk.exists()})")
    return node


def sdk_version():
    return json.loads((CLIENT / "node_modules" / "@modelcontextprotocol" / "sdk" /
                       "package.json").read_text())["version"]


def run(scenario, timeout=300):
    """Run @scenario with the SDK's Client; returns run.mjs's document."""
    p = subprocess.run([_node(), str(CLIENT / "run.mjs")], input=json.dumps(scenario).encode(),
                       capture_output=True, timeout=timeout, cwd=str(CLIENT))
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"run.mjs printed no JSON: {p.stdout[-2000:]!r} "
                             f"{p.stderr[-2000:]!r}")


def start(scenario):
    """Start @scenario without waiting (a second client alongside): .finish() gives its
    document."""
    p = subprocess.Popen([_node(), str(CLIENT / "run.mjs")], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(CLIENT))
    p.stdin.write(json.dumps(scenario).encode())
    p.stdin.close()

    def finish(timeout=300):
        out = p.stdout.read()
        err = p.stderr.read()
        assert p.wait(timeout) == 0, err.decode(errors="replace")[-3000:]
        return json.loads(out)
    p.finish = finish
    return p


def text(result):
    return "\n".join(c["text"] for c in result["content"] if c["type"] == "text")


def blocks(result, kind):
    return [c for c in result["content"] if c["type"] == kind]
