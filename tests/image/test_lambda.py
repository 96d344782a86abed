"""Lambda mode in the image against the test suite's fake Runtime API
(tests/helpers/fake_lambda_api.py), the way Lambda runs a container
image: read-only root, a writable /tmp, AWS_LAMBDA_RUNTIME_API set, no
command (auto mode), and credentials in the environment that no program may
see. The container shares the host's network (`--network host`) so it
reaches the fake API on the host's loopback, as runbox reaches Lambda's on
the instance's loopback."""

import json
import sys

import pytest

from conftest import IMAGE, LIMITS, REPO, engine, remove

HELPERS = REPO / "tests/helpers"
CANARY = "runbox-image-canary-7c1d"


@pytest.fixture
def api():
    sys.path.insert(0, str(HELPERS))
    try:
        from fake_lambda_api import FakeLambdaAPI
    except ImportError as e:
        pytest.fail(f"tests/helpers/fake_lambda_api.py (the fake Runtime API) is not here: {e}")
    finally:
        sys.path.remove(str(HELPERS))
    a = FakeLambdaAPI(host="127.0.0.1", port=0)
    a.start()
    yield a
    a.stop()


def lambda_container(container, api, *args):
    return container(*args, opts=["--network", "host", "--read-only", "--tmpfs", "/tmp:rw,size=512m",
                                  "-e", f"AWS_LAMBDA_RUNTIME_API={api.address}",
                                  "-e", f"AWS_SECRET_ACCESS_KEY={CANARY}",
                                  "-e", f"AWS_SESSION_TOKEN={CANARY}"])


def result(api, event, timeout=120):
    kind, body, _ = api.wait_result(api.enqueue(event), timeout)
    return kind, json.loads(body)


def test_auto_mode_answers_direct_invocations(container, api):
    ctr = lambda_container(container, api)
    kind, resp = result(api, {"script": "import os\nprint(6 * 7)\nprint(sorted(os.environ))"})
    assert kind == "response", (resp, ctr.logs()[-2000:])
    assert resp["exit_code"] == 0 and resp["stdout"].startswith("42\n")
    assert CANARY not in json.dumps(resp) and "AWS_" not in resp["stdout"]
    # a warm instance: the next invocation is served by the same process
    kind, resp = result(api, {"script": 5})
    assert kind == "response" and resp["code"] == "wrong_type"
    kind, resp = result(api, {"script": "import numpy; print(numpy.arange(4).sum())"})
    assert kind == "response" and resp["stdout"] == "6\n"
    assert ctr.running()


def test_function_url_event(container, api):
    lambda_container(container, api, "lambda")
    event = {"version": "2.0", "rawPath": "/api/run", "requestContext": {"http": {"method": "POST"}},
             "headers": {"content-type": "application/json"},
             "body": json.dumps({"script": "print('url')"}), "isBase64Encoded": False}
    kind, resp = result(api, event)
    assert kind == "response"
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"])["stdout"] == "url\n"


def test_the_lambda_adapter_image_derived_from_this_one(container, api):
    """function-adapters/lambda/Dockerfile builds FROM this image
    and answers through the Runtime API as Lambda would run it."""
    adapter = REPO / "function-adapters/lambda"
    assert (adapter / "Dockerfile").is_file(), "function-adapters/lambda/Dockerfile is not here"
    tag = "localhost/runbox-lambda:image-test"
    p = engine("build", *LIMITS, "--build-arg", f"BASE={IMAGE}", "-t", tag, str(adapter), timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    try:
        p = engine("image", "inspect", tag)
        cfg = json.loads(p.stdout)[0]["Config"]
        assert cfg["Entrypoint"][0] == "/usr/local/bin/runbox"
        name = f"runbox-lambda-{api.port}"
        p = engine("run", "-d", "--name", name, *LIMITS, "--network", "host", "--read-only",
                   "--tmpfs", "/tmp:rw,size=512m", "-e", f"AWS_LAMBDA_RUNTIME_API={api.address}", tag)
        assert p.returncode == 0, p.stderr
        try:
            kind, resp = result(api, {"script": "print('adapter')"})
            assert kind == "response" and resp["stdout"] == "adapter\n", resp
        finally:
            remove(name)
    finally:
        engine("rmi", "-f", tag)
