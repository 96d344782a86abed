"""Every route of `runbox serve` and every status code it answers, over
fresh connections, keep-alive connections and chunked bodies."""

import glob
import json
import os
import pathlib
import tempfile
import shutil
import subprocess
import signal
import time

import pytest

from conftest import AS, raw_exchange, runbox_bin


def test_health_and_root_probe(serve):
    s = serve.start()
    r = s.request("GET", "/api/health")
    assert (r.status, r.body) == (200, b"OK")
    assert r.headers["content-type"].startswith("text/plain")
    r = s.request("HEAD", "/api/health")
    assert (r.status, r.body) == (200, b"")
    r = s.request("GET", "/")
    assert r.status == 200


def test_info(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "3", "RUNBOX_QUEUE": "5"})
    r = s.request("GET", "/api/info")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    j = r.json()
    assert j["runbox"]
    assert j["interpreter"]["path"] == "/usr/bin/python3"
    assert j["interpreter"]["version"].startswith("3.")
    pkgs = {p["name"]: p["version"] for p in j["packages"]}
    import numpy
    assert pkgs["numpy"] == numpy.__version__
    assert "pandas" in pkgs
    assert j["cache_packages"] == []
    assert j["limits"]["max_timeout_s"] == 300
    assert j["limits"]["max_body_bytes"] == 32 * 1024 * 1024
    assert j["serve"]["concurrency"] == 3 and j["serve"]["queue"] == 5
    assert j["serve"]["token_required"] is False
    layers = j["sandbox"]["in_force"]
    assert "seccomp" in layers and "landlock" in layers and "pidns" in layers
    assert ("uid_drop" in layers) == (AS == "root")
    # As root no run gets a user namespace: it is not claimed.
    if AS == "root":
        assert "userns" not in layers, layers
    assert j["sandbox"]["required_missing"] is False
    # Node.js: what runs JavaScript and TypeScript, its version and upstream support.
    node = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")
    if node:
        version = subprocess.run([node, "--version"], capture_output=True,
                                 text=True).stdout.strip()
        assert j["node"]["path"] == node and j["node"]["version"] == version, j["node"]
        assert j["node"]["support"] in ("current", "active LTS", "maintenance LTS",
                                        "maintenance", "end of life", "unknown"), j["node"]
        assert "javascript" in j["languages"], j["languages"]
    assert j["languages"][:2] == ["python", "bash"], j["languages"]
    assert j["npm_packages"] == [] and "npm_cache_error" not in j


def test_run_json(serve):
    s = serve.start()
    j = s.run({"script": "print(2 + 2)"}).ran()
    assert (j["exit_code"], j["stdout"], j["status"]) == (0, "4\n", "ok")


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "APPLICATION/Json",
                                   "application/json;charset=UTF-8"])
def test_json_content_type_any_case_with_parameters(serve, ctype):
    s = serve.start()
    j = s.run({"script": "print('j')"}, headers={"Content-Type": ctype}).ran()
    assert j["stdout"] == "j\n"


def test_any_exit_code_is_200(serve):
    s = serve.start()
    j = s.run({"script": "import sys; print('x'); sys.exit(3)"}).ran()
    assert (j["exit_code"], j["status"]) == (3, "error")
    j = s.run({"script": "raise ValueError('boom')"}).ran()
    assert j["exit_code"] == 1 and "ValueError: boom" in j["stderr"]


def test_raw_script(serve):
    s = serve.start()
    r = s.request("POST", "/api/run", "import sys\nprint(sys.argv[0])\n",
                  {"Content-Type": "text/x-python"})
    assert r.ran()["stdout"] == "main.py\n"
    # No Content-Type at all is a raw script too.
    r = s.request("POST", "/api/run", "print(5)")
    assert r.ran()["stdout"] == "5\n"


def test_raw_script_timeout_and_language(serve):
    s = serve.start()
    t0 = time.monotonic()
    r = s.request("POST", "/api/run?timeout_s=1", "import time\ntime.sleep(30)\n",
                  {"Content-Type": "text/plain"})
    j = r.ran()
    assert (j["exit_code"], j["status"]) == (124, "timeout")
    assert time.monotonic() - t0 < 10
    r = s.request("POST", "/api/run?language=bash", "echo $((6*7))")
    assert r.ran()["stdout"] == "42\n"


NODE = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")
ESBUILD = shutil.which("esbuild", path="/usr/local/bin:/usr/bin:/bin")


@pytest.mark.skipif(not (NODE and ESBUILD), reason="needs node and esbuild on PATH")
def test_javascript_and_typescript_json_and_raw(serve):
    s = serve.start()
    j = s.run({"language": "javascript", "script": "console.log(6 * 7)"}).ran()
    assert (j["status"], j["stdout"]) == ("ok", "42\n"), j
    j = s.run({"entry_point": "src/a.ts",
               "files": {"src/a.ts": "import { n } from './b';\nconsole.log(n);",
                         "src/b.ts": "export const n: number = 7;"}}).ran()
    assert (j["status"], j["stdout"]) == ("ok", "7\n"), j
    r = s.request("POST", "/api/run?language=javascript", "console.log(process.argv.length)")
    assert r.ran()["stdout"] == "2\n"
    r = s.request("POST", "/api/run?language=typescript", "const x: string = 'ts';\nconsole.log(x)",
                  {"Content-Type": "text/plain"})
    assert r.ran()["stdout"] == "ts\n"
    r = s.request("POST", "/api/run?language=typescript", "const x: = 1;")
    j = r.ran()
    assert (j["status"], j["exit_code"]) == ("error", 1) and "main.ts:1" in j["stderr"], j


def test_raw_script_refusals(serve):
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "65536"})
    s.request("POST", "/api/run?timeout_s=soon", "print(1)").error(400, "invalid_timeout")
    s.request("POST", "/api/run?timeout_s=-1", "print(1)").error(400, "invalid_timeout")
    s.request("POST", "/api/run?language=ruby", "puts 1").error(400, "invalid_language")
    s.request("POST", "/api/run", b"print(1)\xff").error(400, "invalid_script")
    # The script cap (256 KiB) is the contract's; a raw body over it is 413.
    big = "#" * (300 * 1024)
    s2 = serve.start()
    s2.request("POST", "/api/run", big).error(413, "script_too_large")


def test_raw_script_over_its_cap_is_refused_on_content_length(serve):
    # Only the headers are sent: the 413 must come without the body (the
    # socket's 20 s timeout would end the test otherwise).
    import socket
    s = serve.start()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    c.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got or b"script_too_large" not in got:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    c.close()
    assert got.startswith(b"HTTP/1.1 413"), got[:300]
    assert b"script_too_large" in got


def test_refused_request_is_400(serve):
    s = serve.start()
    s.run("{not json").error(400, "invalid_json")
    j = s.run({"script": "print(1)", "files": {"../x.py": "1"}}).error(400, "invalid_path")
    assert j["field"]


def test_unknown_route_and_method(serve):
    s = serve.start()
    s.request("GET", "/nope").error(404, "not_found")
    s.request("POST", "/api/runs", "x").error(404, "not_found")
    r = s.request("GET", "/api/run")
    r.error(405, "method_not_allowed")
    assert r.headers["allow"] == "POST"
    r = s.request("DELETE", "/api/health")
    r.error(405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_cap_is_413(serve, chunked):
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "4096"})
    req = {"script": "print(1)", "stdin": "x" * 5000}
    s.run(req, chunked=chunked).error(413, "body_too_large")
    # The connection's next request still works (keep-alive after a 413 on a read body).
    assert s.run({"script": "print(1)"}, chunked=chunked).ran()["stdout"] == "1\n"


def test_chunked_request_bodies(serve):
    s = serve.start()
    j = s.run({"script": "import sys; print(sys.stdin.read()[::-1])", "stdin": "abc" * 100},
              chunked=True).ran()
    assert j["stdout"] == ("abc" * 100)[::-1] + "\n"
    r = s.request("POST", "/api/run?timeout_s=5", "print('raw chunked')", chunked=True)
    assert r.ran()["stdout"] == "raw chunked\n"


def test_keep_alive(serve):
    s = serve.start()
    c = s.conn()
    seen = set()
    for i in range(5):
        j = s.run({"script": f"print({i})"}, conn=c, chunked=bool(i % 2)).ran()
        assert j["stdout"] == f"{i}\n"
        seen.add(id(c.sock))
        s.request("GET", "/nope", conn=c).error(404, "not_found")
        seen.add(id(c.sock))
    assert len(seen) == 1, "the connection was not kept alive"
    c.close()


def test_token(serve):
    s = serve.start(env={"RUNBOX_TOKEN": "t0k-en"})
    r = s.run({"script": "print(1)"})
    r.error(401, "unauthorized")
    assert r.headers.get("www-authenticate") == "Bearer"  # RFC 9110: a 401 names its scheme
    s.run({"script": "print(1)"}, headers={"Authorization": "Bearer wrong"}).error(
        401, "unauthorized")
    s.run({"script": "print(1)"}, headers={"Authorization": "Bearer t0k-en2"}).error(
        401, "unauthorized")
    s.request("GET", "/api/info").error(401, "unauthorized")
    assert s.run({"script": "print(1)"},
                 headers={"Authorization": "Bearer t0k-en"}).ran()["stdout"] == "1\n"
    assert s.request("GET", "/api/info", headers={"Authorization": "bearer t0k-en"}).status == 200
    # The probes stay open for the Azure host.
    assert s.request("GET", "/api/health").status == 200
    assert s.request("GET", "/").status == 200
    # The token never reaches a program.
    j = s.run({"script": "import os; print(sorted(os.environ))"},
              headers={"Authorization": "Bearer t0k-en"}).ran()
    assert "RUNBOX_TOKEN" not in j["stdout"]


def test_required_layer_missing_is_503(serve):
    # RUNBOX_SANDBOX=off removes every kernel layer: requiring one cannot be met.
    s = serve.start(env={"RUNBOX_SANDBOX": "off", "RUNBOX_REQUIRE": "seccomp"})
    r = s.run({"script": "print(1)"})
    r.error(503, "sandbox_unavailable")
    assert r.headers["retry-after"] == "1"
    r = s.request("POST", "/api/run", "print(1)")
    r.error(503, "sandbox_unavailable")
    assert s.request("GET", "/api/info").json()["sandbox"]["required_missing"] is True
    assert s.request("GET", "/api/health").status == 200


@pytest.mark.skipif(AS != "nobody", reason="as root every layer, uid_drop included, is there")
def test_uid_drop_required_unprivileged_is_503(serve):
    s = serve.start(env={"RUNBOX_REQUIRE": "uid_drop"})
    s.run({"script": "print(1)"}).error(503, "sandbox_unavailable")


def test_worker_killed_is_500(serve):
    s = serve.start()
    t, out = s.run_in_background("import time; time.sleep(30)")
    workers = s.worker_pids()
    assert workers, "no worker process appeared"
    time.sleep(0.5)
    # Killed from outside, the worker cannot remove its workspace (as root the
    # next run on that uid slot does; README says so).
    s.stale_ok = True
    os.kill(workers[0], signal.SIGKILL)
    t.join(20)
    j = out["r"].error(500, "internal_error")
    assert "signal 9" in j["error"]
    # The server goes on.
    assert s.run({"script": "print(1)"}).ran()["stdout"] == "1\n"


def test_header_cap(serve):
    s = serve.start(env={"RUNBOX_MAX_HEADER_BYTES": "2048"})
    out = raw_exchange(s.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 +
                       b"\r\n\r\n")
    status = int(out.split(b" ", 2)[1])
    assert status in (413, 431), out[:200]
    assert s.request("GET", "/api/health", headers={"X-Fine": "a" * 500}).status == 200


@pytest.mark.parametrize("where", ["header", "query"])
def test_header_cap_is_the_cap_with_a_json_431(serve, where):
    # Between the cap and libmicrohttpd's own limit (twice it), runbox keeps
    # the cap itself, and answers with the contract's JSON.
    s = serve.start(env={"RUNBOX_MAX_HEADER_BYTES": "2048"})
    big = b"a" * 2500
    target = b"/api/health?x=" + big if where == "query" else b"/api/health"
    extra = b"" if where == "query" else b"X-Big: " + big + b"\r\n"
    out = raw_exchange(s.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"431", out[:300]
    assert b"application/json" in head.lower()
    assert json.loads(body)["code"] == "headers_too_large"
    # Just under the cap: fine.
    assert s.request("GET", "/api/health", headers={"X-Fine": "a" * 1900}).status == 200


@pytest.fixture
def open_tmp():
    # pytest's tmp_path sits below a 0700 directory the unprivileged server
    # cannot cross.
    d = pathlib.Path(tempfile.mkdtemp(prefix="runbox-serve-cache.", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_info_lists_the_wheel_cache(serve, open_tmp):
    # A cache baked from Debian's own wheels: /api/info lists what it holds,
    # and a request can use it.
    tmp_path = open_tmp
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    shutil.copy(glob.glob("/usr/share/python-wheels/wheel-*.whl")[0], wheels)
    cache = tmp_path / "cache"
    subprocess.run([str(runbox_bin()), "bake", str(wheels), str(cache)], check=True,
                   capture_output=True)
    os.chmod(tmp_path, 0o755)
    s = serve.start(env={"RUNBOX_CACHE_DIR": str(cache)})
    j = s.request("GET", "/api/info").json()
    assert [p["name"] for p in j["cache_packages"]] == ["wheel"], j.get("cache_error")
    assert "cache_error" not in j
    ran = s.run({"script": "import wheel; print(wheel.__version__)",
                 "dependencies": ["wheel"]}).ran()
    assert ran["stdout"] == j["cache_packages"][0]["version"] + "\n"


def test_info_says_why_the_cache_is_unusable(serve, open_tmp):
    tmp_path = open_tmp
    (tmp_path / "index.json").write_text("{not json")
    os.chmod(tmp_path, 0o755)
    s = serve.start(env={"RUNBOX_CACHE_DIR": str(tmp_path)})
    j = s.request("GET", "/api/info").json()
    assert j["cache_packages"] == [] and "index.json" in j["cache_error"]


def test_a_raw_script_is_measured_as_sent(serve):
    # The JSON runbox wraps a raw script in is longer than the script (every
    # '"' and newline doubles); the caps apply to what the client sent.
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "2048"})
    script = b'print("' + b'\\n' * 500 + b'")\n'
    script += b'#' * (2047 - len(script))
    r = s.request("POST", "/api/run", body=script)
    assert r.status == 200, r.body[:300]
    assert r.json()["stdout"] == "\n" * 501
    r = s.request("POST", "/api/run", body=b"#" * 2049)
    assert r.error(413, "body_too_large")
    assert r.json()["error"] == "The request body is larger than the limit of 2048 bytes."
