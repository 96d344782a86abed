"""runbox as an AWS Lambda custom runtime, against the fake Runtime API:
every event shape, the deadline, the 6 MB cap, fault injection, warm
instances, start-up faults, and the credentials Lambda puts in the
environment."""

import base64
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import MARK_NAME, Lambda, files_holding, proc_scan, runbox_bin

MiB = 1024 * 1024
LAMBDA_LIMIT = 6 * MiB


def ms_from_now(s):
    return int((time.time() + s) * 1000)


# ---- direct invocations -------------------------------------------------

def test_auto_mode_serves_a_direct_invocation(lam):
    resp = lam.run({"script": "print(2 + 2)"})
    assert resp["exit_code"] == 0 and resp["status"] == "ok"
    assert resp["stdout"] == "4\n"
    assert lam.proc.poll() is None  # a warm instance keeps serving


@pytest.mark.skipif(not shutil.which("node", path="/usr/local/bin:/usr/bin:/bin"),
                    reason="needs node on PATH")
def test_javascript_direct_and_proxy(lam):
    resp = lam.run({"language": "javascript",
                    "script": "console.log(Object.keys(process.env).filter(k => k.startsWith('AWS')).length)"})
    assert (resp["status"], resp["stdout"]) == ("ok", "0\n"), resp
    status, _, body = lam.http("POST", "/api/run", "console.log(2 ** 10)",
                               {"content-type": "text/plain"}, query="language=javascript")
    assert status == 200 and json.loads(body)["stdout"] == "1024\n", body


def test_a_refused_request_is_a_normal_response(lam):
    kind, body, headers = lam.invoke({"scirpt": "print(1)"})
    assert kind == "response"
    assert "Lambda-Runtime-Function-Error-Type" not in headers
    resp = json.loads(body)
    assert resp["code"] == "unknown_field" and resp["field"] == "scirpt"
    assert set(resp) == {"error", "code", "field"}


@pytest.mark.parametrize("raw,code", [
    (b"not json", "invalid_json"),
    (b"[1, 2]", "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b"{}", "missing_program"),
])
def test_direct_bodies_are_checked_by_the_contract(lam, raw, code):
    kind, body, _ = lam.invoke(raw)
    assert kind == "response"
    assert json.loads(body)["code"] == code


def open_fds(pid):
    """What runbox holds open; a reconnected Runtime API socket counts as the same."""
    def what(n):
        t = os.readlink(f"/proc/{pid}/fd/{n}")
        return "socket" if t.startswith("socket:") else t
    return sorted(what(n) for n in os.listdir(f"/proc/{pid}/fd"))


def test_many_invocations_in_one_warm_process(lam):
    pid = lam.proc.pid
    lam.run({"script": "print(0)"})
    lam.run({"language": "bash", "script": "echo x > output/a; exit 3"})
    fds = open_fds(pid)
    for i in range(12):
        assert lam.run({"script": f"print({i} * 3)"})["stdout"] == f"{i * 3}\n"
        lam.run({"language": "bash", "script": "echo x > output/a; exit 3"})
    assert lam.proc.poll() is None and lam.proc.pid == pid
    # Nothing accumulates in the warm process: the same descriptors as before.
    assert open_fds(pid) == fds


def test_files_artifacts_and_bash(lam):
    resp = lam.run({"language": "bash", "script": "wc -c < input/a.txt > output/n.txt; echo $1",
                    "context": {"a.txt": "hello"}, "args": ["arg1"]})
    assert resp["stdout"] == "arg1\n"
    assert resp["artifacts"] == {"n.txt": "5\n"}


# ---- credentials and the trace id ----------------------------------------

SNOOP = r'''
import os, glob
print(sorted(os.environ.items()))
for p in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        print(p, open(p, "rb").read())
    except OSError as e:
        print(p, "unreadable", e.errno)
'''


def test_credentials_never_reach_the_program(lam):
    resp = lam.run({"script": SNOOP})
    assert resp["status"] == "ok", resp
    # The check_after fixture asserts the canary is in no answer; also here:
    assert lam.canary not in json.dumps(resp)
    assert "AWS_" not in resp["stdout"]
    assert "_X_AMZN_TRACE_ID" not in resp["stdout"]
    assert "AWS_LAMBDA_RUNTIME_API" not in resp["stdout"]


def test_credentials_never_reach_a_proxy_program(lam):
    status, _, body = lam.http("POST", "/api/run", SNOOP, {"content-type": "text/plain"})
    assert status == 200
    assert "AWS_" not in json.loads(body)["stdout"]


def test_trace_id_is_for_runbox_logs_only(lam):
    rid = lam.api.enqueue({"script": "import os; print(os.environ.get('_X_AMZN_TRACE_ID'))"})
    kind, body, _ = lam.api.wait_result(rid, 60)
    lam.bodies.append(body)
    assert json.loads(body)["stdout"] == "None\n"
    trace = lam.api.trace_ids[rid]
    # The line is written once the answer is posted: wait for it.
    end = time.monotonic() + 20
    while True:
        lines = [json.loads(x) for x in lam.logs().splitlines() if x.startswith("{")]
        inv = [x for x in lines if x.get("event") == "invocation" and x["aws_request_id"] == rid]
        if inv or time.monotonic() > end:
            break
        time.sleep(0.05)
    assert inv and inv[0]["trace_id"] == trace and inv[0]["runtime_api_status"] == 202


# ---- proxy events -------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2])
def test_proxy_json_request(lam, version):
    status, headers, body = lam.http("POST", "/api/run", json.dumps({"script": "print(7)"}),
                                     {"Content-Type": "application/json"}, version=version)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["stdout"] == "7\n"


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_raw_script_with_timeout(lam, version):
    status, _, body = lam.http("POST", "/api/run", "import time; time.sleep(5)",
                               {"content-type": "text/x-python"}, query="timeout_s=0.5",
                               version=version)
    resp = json.loads(body)
    assert status == 200 and resp["status"] == "timeout" and resp["exit_code"] == 124


def test_proxy_base64_body(lam):
    status, _, body = lam.http("POST", "/api/run", json.dumps({"script": "print('b64')"}),
                               {"content-type": "application/json; charset=utf-8"}, b64=True)
    assert status == 200 and json.loads(body)["stdout"] == "b64\n"


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_refusal_is_400_with_the_contract_error(lam, version):
    status, headers, body = lam.http("POST", "/api/run", json.dumps({"script": 5}),
                                     {"content-type": "application/json"}, version=version)
    assert status == 400
    err = json.loads(body)
    assert err["code"] == "wrong_type" and err["field"] == "script"


def test_proxy_routes(lam):
    assert lam.http("GET", "/api/health")[0:3:2] == (200, "OK")
    assert lam.http("GET", "/")[0] == 200
    status, _, body = lam.http("GET", "/api/info")
    info = json.loads(body)
    # The same document as runbox serve's GET /api/info.
    assert status == 200 and info["runbox"] and info["interpreter"]["version"].startswith("3.")
    assert "numpy" in {p["name"] for p in info["packages"]}
    assert "seccomp" in info["sandbox"]["in_force"]
    status, _, body = lam.http("GET", "/nope")
    assert status == 404 and json.loads(body)["code"]
    status, headers, body = lam.http("DELETE", "/api/run")
    assert status == 405 and "POST" in headers["Allow"] and json.loads(body)["code"]


def test_proxy_body_over_the_cap_is_413(lam_idle):
    lam_idle.start({"RUNBOX_MAX_BODY_BYTES": "2048"})
    status, _, body = lam_idle.http("POST", "/api/run", "#" * 5000,
                                    {"content-type": "text/plain"})
    assert status == 413
    assert json.loads(body)["code"] in ("body_too_large", "script_too_large")


def test_direct_event_over_the_cap_is_refused_unread(lam_idle):
    # The event cap is twice the body cap plus 1 MiB (room for base64 and escaping).
    lam_idle.start({"RUNBOX_MAX_BODY_BYTES": "2048"})
    kind, body, _ = lam_idle.invoke(b'{"script": "' + b"#" * (2 * 1024 * 1024) + b'"}')
    assert kind == "response" and json.loads(body)["code"] == "body_too_large"
    assert lam_idle.run({"script": "print('next')"})["stdout"] == "next\n"


@pytest.mark.parametrize("event", [
    {"httpMethod": "GET"},
    {"rawPath": "/api/run", "requestContext": {"http": {"method": "POST"}}, "body": {"a": 1}},
    {"rawPath": "/api/run", "requestContext": {"http": {"method": "POST"}}, "body": "%%%",
     "isBase64Encoded": True},
])
def test_malformed_proxy_event_is_400(lam, event):
    kind, body, _ = lam.invoke(event)
    resp = json.loads(body)
    assert kind == "response" and resp["statusCode"] == 400
    assert json.loads(resp["body"])["code"] == "invalid_event"


# ---- the deadline ---------------------------------------------------------

def test_deadline_caps_the_timeout(lam):
    deadline = ms_from_now(4.5)
    resp = lam.run({"script": "import time; time.sleep(60)", "timeout_s": 100},
                   deadline_ms=deadline)
    assert resp["status"] == "timeout" and resp["exit_code"] == 124
    # Answered before Lambda would have killed the instance.
    assert time.time() * 1000 < deadline
    assert "timed out after" in resp["stderr"]


def test_deadline_in_the_past(lam):
    kind, body, headers = lam.invoke({"script": "print(1)"}, deadline_ms=ms_from_now(-5))
    assert kind == "error"
    assert headers["Lambda-Runtime-Function-Error-Type"] == "Runtime.DeadlineExceeded"
    err = json.loads(body)
    assert set(err) == {"errorMessage", "errorType", "stackTrace"}
    assert err["errorType"] == "Runtime.DeadlineExceeded" and err["stackTrace"] == []
    # The instance serves the next invocation normally.
    assert lam.run({"script": "print(1)"})["stdout"] == "1\n"


def test_deadline_in_the_past_proxy_is_503(lam):
    status, headers, body = lam.http("POST", "/api/run", "print(1)",
                                     {"content-type": "text/plain"},
                                     deadline_ms=ms_from_now(-5))
    assert status == 503 and json.loads(body)["code"] == "deadline_exceeded"


# ---- the 6 MB response cap --------------------------------------------------

BIG = r'''
import os
for i in range(4):
    with open(f"output/part{i}.bin", "wb") as f:
        f.write(os.urandom(2 * 1024 * 1024))
print("x" * 1000)
'''


def check_fitted(resp, limit_bytes):
    assert resp["status"] == "ok" and resp["stdout"] == "x" * 1000 + "\n"
    kept = resp["artifacts"]
    gone = {o["path"]: o for o in resp.get("omitted_artifacts", [])}
    assert kept and gone, "some parts must fit and some must not"
    assert set(kept) | set(gone) == {f"part{i}.bin" for i in range(4)}
    for o in gone.values():
        assert o["reason"] == "response_too_large" and o["size"] == 2 * MiB
    for v in kept.values():
        assert len(base64.b64decode(v["content"])) == 2 * MiB
    # Left out last in path order first.
    assert sorted(kept) == [f"part{i}.bin" for i in range(len(kept))]


def test_direct_response_fits_6mb(lam):
    kind, body, _ = lam.invoke({"script": BIG})
    assert kind == "response" and len(body) <= LAMBDA_LIMIT
    assert not lam.api.rejected
    check_fitted(json.loads(body), LAMBDA_LIMIT)


def test_proxy_response_fits_6mb(lam):
    kind, body, _ = lam.invoke({"version": "2.0", "rawPath": "/api/run", "rawQueryString": "",
                                "headers": {"content-type": "text/plain"},
                                "requestContext": {"http": {"method": "POST"}},
                                "body": BIG, "isBase64Encoded": False})
    assert kind == "response" and len(body) <= LAMBDA_LIMIT
    assert not lam.api.rejected
    outer = json.loads(body)
    assert outer["statusCode"] == 200
    check_fitted(json.loads(outer["body"]), LAMBDA_LIMIT)


def test_413_from_the_runtime_api_gets_the_last_resort_answer(lam):
    lam.api.max_response_bytes = 100_000
    resp = lam.run({"script": "open('output/a.txt','w').write('a' * 200000); print('done')"})
    assert len(lam.api.rejected) == 1
    assert resp["stdout"] == "done\n" and resp["artifacts"] == {}
    assert resp["omitted_artifacts"] == [
        {"path": "a.txt", "size": 200000, "reason": "response_too_large"}]


def test_413_even_for_the_last_resort_ends_as_an_error(lam):
    lam.api.max_response_bytes = 100
    kind, body, headers = lam.invoke({"script": "print('done')"})
    assert kind == "error"
    assert headers["Lambda-Runtime-Function-Error-Type"] == "Runtime.ResponseTooLarge"


# ---- the Runtime API's faults -----------------------------------------------

def log_lines(lam, event):
    lines = [json.loads(x) for x in lam.logs().splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("event") == event]


def retry_waits(lam):
    """The waits runbox announced after each failed /next, checked against
    the time that really passed before the next call (never less)."""
    waits = [x["retry_in_ms"] for x in log_lines(lam, "lambda_next_retry")]
    t = lam.api.next_times
    for i, w in enumerate(waits):
        assert (t[i + 1] - t[i]) * 1000 >= w, (i, w, t)
    return waits


def test_next_failures_are_retried(lam_idle):
    # The default back-off: 100 ms after the first failure, doubling.
    lam_idle.api.fail_next(3, status=500)
    lam_idle.start()
    assert lam_idle.run({"script": "print('after 500s')"})["stdout"] == "after 500s\n"
    assert lam_idle.api.next_calls >= 4
    assert len(log_lines(lam_idle, "lambda_next_failed")) == 3
    assert retry_waits(lam_idle) == [100, 200, 400]


def test_slow_next_is_waited_for(lam_idle):
    lam_idle.api.slow_next(3)
    lam_idle.start()
    assert lam_idle.run({"script": "print('late')"})["stdout"] == "late\n"


def test_runtime_api_gone_for_good_exits_1(lam_idle):
    """The documented policy: 10 failures in a row, the wait doubling up to 50
    times the first, then exit 1.  RUNBOX_LAMBDA_BACKOFF_MS lowers the first
    wait from 100 ms (about 21 s in all) to 2 ms (about 0.4 s)."""
    lam_idle.api.fail_next(10, status=500)
    lam_idle.start({"RUNBOX_LAMBDA_BACKOFF_MS": "2"})
    assert lam_idle.proc.wait(timeout=60) == 1
    assert lam_idle.api.next_calls == 10
    assert retry_waits(lam_idle) == [2, 4, 8, 16, 32, 64, 100, 100, 100]
    assert "lambda_giving_up" in lam_idle.logs()


@pytest.mark.parametrize("value", ["0", "101", "fast"])
def test_backoff_override_out_of_range_is_a_startup_fault(lam_idle, value):
    lam_idle.start({"RUNBOX_LAMBDA_BACKOFF_MS": value})
    assert lam_idle.proc.wait(timeout=30) == 1
    assert len(lam_idle.api.init_errors) == 1
    assert "RUNBOX_LAMBDA_BACKOFF_MS" in json.loads(lam_idle.api.init_errors[0]["body"])["errorMessage"]


# ---- start-up faults ---------------------------------------------------------

@pytest.mark.parametrize("env,etype", [
    ({"RUNBOX_MAX_PROCS": "many"}, "Runtime.InitError"),
    ({"RUNBOX_REQUIRE": "seccomp,teleportation"}, "Runtime.InitError"),
])
def test_startup_faults_go_to_init_error(lam_idle, env, etype):
    lam_idle.start(env)
    assert lam_idle.proc.wait(timeout=30) == 1
    assert len(lam_idle.api.init_errors) == 1
    e = lam_idle.api.init_errors[0]
    assert e["headers"]["Lambda-Runtime-Function-Error-Type"] == etype
    body = json.loads(e["body"])
    assert body["errorType"] == etype and body["stackTrace"] == [] and body["errorMessage"]


def test_missing_sandbox_layer_is_an_invocation_error(lam_idle):
    lam_idle.start({"RUNBOX_SANDBOX": "off", "RUNBOX_REQUIRE": "seccomp"})
    kind, body, headers = lam_idle.invoke({"script": "print(1)"})
    assert kind == "error"
    assert headers["Lambda-Runtime-Function-Error-Type"] == "Runtime.SandboxUnavailable"
    assert json.loads(body)["errorType"] == "Runtime.SandboxUnavailable"
    status, headers, body = lam_idle.http("POST", "/api/run", "print(1)",
                                          {"content-type": "text/plain"})
    assert status == 503 and json.loads(body)["code"] == "sandbox_unavailable"


# ---- explicit subcommands -------------------------------------------------------

def test_explicit_lambda_subcommand(lam_idle):
    lam_idle.start(args=["lambda"])
    assert lam_idle.run({"script": "print('explicit')"})["stdout"] == "explicit\n"


def test_explicit_stdin_overrides_auto_mode(lam_idle):
    p = subprocess.run(lam_idle.argv(["stdin"]), input=b'{"script":"print(5)"}',
                       capture_output=True, env=lam_idle.env(), timeout=60,
                       cwd=str(lam_idle.workdir))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["stdout"] == "5\n"
    assert lam_idle.api.next_calls == 0
    assert lam_idle.canary.encode() not in p.stdout + p.stderr


@pytest.mark.parametrize("env,needle", [
    ({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1"}, "AWS_LAMBDA_RUNTIME_API"),
    ({"AWS_LAMBDA_RUNTIME_API": "evil.example/x?:80"}, "AWS_LAMBDA_RUNTIME_API"),
    ({"AWS_LAMBDA_RUNTIME_API": "", "FUNCTIONS_CUSTOMHANDLER_PORT": "port"},
     "FUNCTIONS_CUSTOMHANDLER_PORT"),
])
def test_malformed_platform_variables_are_refused(lam_idle, env, needle):
    p = subprocess.run(lam_idle.argv(), input=b"", capture_output=True,
                       env=lam_idle.env(env), timeout=30, cwd=str(lam_idle.workdir))
    assert p.returncode == 1
    assert needle in p.stderr.decode()


def test_lambda_subcommand_without_the_runtime_api(lam_idle):
    env = lam_idle.env({"AWS_LAMBDA_RUNTIME_API": ""})
    p = subprocess.run(lam_idle.argv(["lambda"]), capture_output=True, env=env, timeout=30)
    assert p.returncode == 1 and b"AWS_LAMBDA_RUNTIME_API" in p.stderr


def test_unknown_subcommand_is_exit_2(lam_idle):
    p = subprocess.run(lam_idle.argv(["lambada"]), capture_output=True, env=lam_idle.env(),
                       timeout=30)
    assert p.returncode == 2 and b"unknown command 'lambada'" in p.stderr


# ---- a warm instance leaves nothing behind -----------------------------------------

LITTER = r'''
import os, subprocess, sys
mark = os.environ["RBLAMBDA_MARK"]
for d in ("/tmp", "/var/tmp", "/dev/shm", os.environ["TMPDIR"], os.environ["HOME"], "."):
    try:
        open(os.path.join(d, "litter-" + mark), "w").write("x")
        print("wrote", d)
    except OSError as e:
        print("could not write", d, e.errno)
# An orphaned daemon that tries to outlive the invocation.
subprocess.run(["/bin/sh", "-c", "nohup sleep 600 >/dev/null 2>&1 &"])
print("seen", sorted(n for n in os.listdir("/tmp") if n.startswith("litter-")))
'''


def test_warm_instance_keeps_nothing_between_invocations(lam):
    first = lam.run({"script": LITTER})
    assert first["status"] == "ok", first
    assert "wrote /tmp" in first["stdout"] or "could not write /tmp" in first["stdout"]
    mark1 = lam.marks[-1]
    # Nothing of it on the host ...
    time.sleep(0.2)
    assert proc_scan([mark1]) == []
    assert files_holding(mark1) == []
    assert os.listdir(lam.workdir) == []
    # ... and the next invocation cannot tell it existed.
    second = lam.run({"script": LITTER})
    seen = [x for x in second["stdout"].splitlines() if x.startswith("seen")][0]
    assert mark1 not in seen
    ps = lam.run({"script": "import os; print(sorted(os.listdir('/proc')))"})
    assert ps["status"] == "ok"


@pytest.mark.parametrize("version", [1, 2])
def test_token_guards_function_urls(lam_idle, version):
    # A Function URL with auth type NONE is open to the internet: RUNBOX_TOKEN
    # guards it as it guards runbox serve, and health stays open.
    lam_idle.start({"RUNBOX_TOKEN": "t0k-en"})
    status, headers, body = lam_idle.http("POST", "/api/run", "print(1)", version=version)
    assert status == 401 and json.loads(body)["code"] == "unauthorized"
    assert {k.lower(): v for k, v in headers.items()}.get("www-authenticate") == "Bearer"
    status, _, body = lam_idle.http("POST", "/api/run", "print(1)",
                                    {"authorization": "Bearer t0k-en"}, version=version)
    assert status == 200 and json.loads(body)["stdout"] == "1\n"
    assert lam_idle.http("GET", "/api/health", version=version)[0] == 200
