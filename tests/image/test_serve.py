"""Serve mode (`runbox serve`) in the image, on a published
loopback port: health, a run, a raw-script run, a refused request, and the
Azure custom handler's auto mode (FUNCTIONS_CUSTOMHANDLER_PORT) on a
read-only root."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import free_port, wait_http


def http(port, method, path, body=None, ctype=None, timeout=60):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def server(container):
    port = free_port()
    ctr = container("serve", "--host", "0.0.0.0", "--port", "8080",
                    opts=["-p", f"127.0.0.1:{port}:8080"])
    wait_http(port, ctr=ctr)
    return port


def test_health(server):
    assert http(server, "GET", "/api/health") == (200, b"OK")


def test_a_json_run(server):
    status, body = http(server, "POST", "/api/run", json.dumps({"script": "print(2 + 2)"}).encode(),
                        "application/json; charset=utf-8")
    assert status == 200
    resp = json.loads(body)
    assert resp["exit_code"] == 0 and resp["stdout"] == "4\n"


def test_a_raw_script_run(server):
    status, body = http(server, "POST", "/api/run?timeout_s=10", b"import os\nprint(6 * 7, os.getuid())",
                        "text/plain")
    assert status == 200
    assert json.loads(body)["stdout"] == "42 10001\n"


def test_a_refused_request(server):
    status, body = http(server, "POST", "/api/run", b'{"script": 5}', "application/json")
    assert status == 400
    resp = json.loads(body)
    assert resp["code"] == "wrong_type" and resp["field"] == "script"


def test_auto_mode_serves_on_the_azure_port_with_a_read_only_root(container):
    # Auto mode listens on loopback only, where the Functions host (in the
    # same container or sandbox) reaches it: share the host's network so the
    # test is that host.
    port = free_port()
    ctr = container(opts=["--network", "host", "-e", f"FUNCTIONS_CUSTOMHANDLER_PORT={port}",
                          "--read-only", "--tmpfs", "/tmp:rw,size=512m"])
    wait_http(port, path="/", ctr=ctr)
    status, body = http(port, "POST", "/api/run", json.dumps({"script": "print('azure')"}).encode(),
                        "application/json")
    assert status == 200 and json.loads(body)["stdout"] == "azure\n"
