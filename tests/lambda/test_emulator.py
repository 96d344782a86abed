"""tests/helpers/fake_lambda_api.py as a command: the local Runtime API a user
tries runbox's Lambda mode with, taking invocations on the AWS Runtime
Interface Emulator's endpoint and starting the runtime itself."""

import json
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from conftest import REPO

EMULATOR = REPO / "tests" / "helpers" / "fake_lambda_api.py"
INVOKE = "/2015-03-31/functions/function/invocations"


def emulator(lam_idle, *args, extra_env=None):
    env = {k: v for k, v in lam_idle.env(extra_env).items() if k != "AWS_LAMBDA_RUNTIME_API"}
    return [sys.executable, str(EMULATOR), *args, "--", *lam_idle.argv(["lambda"])], env


def test_invoke_once_and_stop(lam_idle):
    argv, env = emulator(lam_idle, "--port", "0", "--invoke", '{"script": "print(6 * 7)"}',
                         "--invoke", '{"script": ""}')
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                       cwd=str(lam_idle.workdir))
    assert p.returncode == 0, p.stderr
    first, second = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert first["stdout"] == "42\n"
    assert second["code"] == "empty_script"
    assert "lambda_stopped" in p.stderr or "lambda_ready" in p.stderr


def post(port, body, timeout=60):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{INVOKE}", data=body.encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(lam_idle, extra_env=None):
    port = free_port()
    argv, env = emulator(lam_idle, "--port", str(port), extra_env=extra_env)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=str(lam_idle.workdir))
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return proc, port  # it answers (404 for /): up
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)


def stop(proc):
    # Room for a loaded machine: the emulator stops its runtime first.
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(90)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_invoke_endpoint(lam_idle):
    proc, port = serve(lam_idle)
    try:
        status, headers, body = post(port, '{"script": "print(2 + 2)"}')
        assert status == 200 and json.loads(body)["stdout"] == "4\n"
        assert "X-Amz-Function-Error" not in headers
        # A refusal is the function's normal answer, as on Lambda.
        status, headers, body = post(port, '{"script": "print(1)", "timeout_s": 0}')
        assert status == 200 and json.loads(body)["code"] == "invalid_timeout"
    finally:
        assert stop(proc) == 0


def test_a_function_error_is_flagged(lam_idle):
    proc, port = serve(lam_idle, {"RUNBOX_SANDBOX": "off", "RUNBOX_REQUIRE": "seccomp"})
    try:
        status, headers, body = post(port, '{"script": "print(1)"}')
        assert status == 200 and headers["X-Amz-Function-Error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "Runtime.SandboxUnavailable"
    finally:
        assert stop(proc) == 0


def test_help_and_refusals(lam_idle):
    p = subprocess.run([sys.executable, str(EMULATOR), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and INVOKE in p.stdout
    p = subprocess.run([sys.executable, str(EMULATOR), "--invoke", "{}"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and "--invoke needs the runtime" in p.stderr
    assert pathlib.Path(EMULATOR).read_text().startswith('"""A local AWS Lambda Runtime API')
