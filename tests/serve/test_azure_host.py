"""runbox as the Azure Functions host drives a custom handler, with payloads
shaped as Microsoft's custom-handler documentation and the host's own
serialisation give them: the envelope on POST /run (Query as a JSON string,
header values as arrays, binary bodies base64), every answer there a 200
envelope whatever refused it, and the forwarded or proxied request on
POST /api/run with the function key in ?code=."""

import base64
import json
import threading

from conftest import MARK_NAME, REPO, raw_exchange

ADAPTER = REPO / "function-adapters" / "azure"


def host_envelope(body, content_type="application/json", query="{}", method="POST",
                  headers=None):
    """The request payload the host posts to /run for an HTTP trigger named run:
    Url, Method, Query (the query collection as a JSON string), Headers (each
    value an array), Params, Identities, and Body only when there is one."""
    h = {"Content-Type": [content_type]} if content_type else {}
    for k, v in (headers or {}).items():
        h[k] = [v]
    req = {
        "Url": "http://localhost:7071/api/run",
        "Method": method,
        "Query": query,
        "Headers": h,
        "Params": {},
        "Identities": "[]",
    }
    if body is not None:
        req["Body"] = body
    return {"Data": {"req": req}, "Metadata": {"sys": {"MethodName": "run",
                                                      "UtcNow": "2025-01-01T00:00:00Z"}}}


def post_envelope(s, env, **kw):
    data = env if isinstance(env, (str, bytes)) else json.dumps(env)
    return s.request("POST", "/run", data, {"Content-Type": "application/json"}, **kw)


def opened(reply):
    """The host's view: HTTP 200, Outputs.res with the real answer, a ReturnValue."""
    assert reply.status == 200, (reply.status, reply.body[:500])
    assert reply.headers.get("content-type") == "application/json"
    j = reply.json()
    assert set(j) == {"Outputs", "Logs", "ReturnValue"}, j
    assert isinstance(j["Logs"], list)
    res = j["Outputs"]["res"]
    assert j["ReturnValue"] == str(res["statusCode"]), j
    return res["statusCode"], res["headers"], json.loads(res["body"])


def marked(s, script):
    return json.dumps({"script": script, "env": {MARK_NAME: s.mark()}})


def test_the_documented_payload_runs(serve):
    s = serve.start()
    st, headers, body = opened(post_envelope(s, host_envelope(marked(s, "print(6 * 7)"))))
    assert st == 200 and body["stdout"] == "42\n", body
    assert headers["Content-Type"] == "application/json"


def test_query_arrives_as_a_json_string(serve):
    s = serve.start()
    q = json.dumps({"code": "FUNCTION_KEY", "timeout_s": "1"})
    st, _, body = opened(post_envelope(
        s, host_envelope("import time\ntime.sleep(20)", "text/plain", query=q)))
    assert st == 200 and body["status"] == "timeout" and body["timeout_s"] == 1, body
    q = json.dumps({"timeout": "1"})
    st, _, body = opened(post_envelope(s, host_envelope("print(1)", "text/plain", query=q)))
    assert (st, body["code"], body["field"]) == (400, "unknown_parameter", "timeout"), body


def test_binary_bodies_are_decoded_from_base64(serve):
    s = serve.start()
    script = "print('from bytes')\n".encode()
    for ctype in ("application/octet-stream", "multipart/form-data; boundary=x"):
        env = host_envelope(base64.b64encode(script).decode(), ctype)
        st, _, body = opened(post_envelope(s, env))
        assert st == 200 and body["stdout"] == "from bytes\n", (ctype, body)
    # Text is taken as it is, even text that happens to be base64.
    st, _, body = opened(post_envelope(s, host_envelope("cHJpbnQoMSk", "text/plain")))
    assert st == 200 and body["status"] == "error" and "NameError" in body["stderr"], body


def test_no_body_is_refused_not_run(serve):
    # The host leaves Body out when the client's request had none (or a
    # chunked one it did not read).
    s = serve.start()
    for env in (host_envelope(None), host_envelope(""), host_envelope(None, "text/plain")):
        st, _, body = opened(post_envelope(s, env))
        assert (st, body["code"]) == (400, "empty_body"), body
    st, _, body = opened(post_envelope(s, host_envelope(json.dumps({"script": " \n"}))))
    assert (st, body["code"]) == (400, "empty_script"), body


def test_every_refusal_on_run_is_an_envelope(serve):
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "4096"})
    cases = [
        (post_envelope(s, "{not json"), 400, "invalid_envelope"),
        (post_envelope(s, "[]"), 400, "invalid_envelope"),
        (post_envelope(s, {"Data": {}}), 400, "invalid_envelope"),
        (post_envelope(s, host_envelope("print(1)", method="GET")), 405, "method_not_allowed"),
        (s.request("GET", "/run"), 405, "method_not_allowed"),
        (post_envelope(s, host_envelope("x" * 20000, "text/plain")), 413, "body_too_large"),
    ]
    for reply, status, code in cases:
        st, headers, body = opened(reply)
        assert (st, body["code"]) == (status, code), body
        if status == 405:
            assert headers["Allow"] == "POST"


def test_a_body_over_the_cap_is_an_envelope_before_it_is_read(serve):
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": "4096"})
    head = (b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 9999999\r\n\r\n")
    raw = raw_exchange(s.port, head + b"{", timeout=10)
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 200"), raw[:300]
    j = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert j["Outputs"]["res"]["statusCode"] == 413 and j["ReturnValue"] == "413"


def test_a_full_queue_is_an_envelope_with_retry_after(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "1", "RUNBOX_QUEUE": "0"})
    slow, out = s.run_in_background("import time; time.sleep(3)")
    st, headers, body = opened(post_envelope(s, host_envelope(marked(s, "print(1)"))))
    assert (st, body["code"]) == (503, "busy"), body
    assert headers["Retry-After"] == "1"
    slow.join(30)
    assert out["r"].ran()["exit_code"] == 0


def test_forwarded_or_proxied_request_with_the_function_key(serve):
    # enableProxyingHttpRequest (and the older enableForwardingHttpRequest):
    # the client's request as it is, on its own path, ?code= included.
    s = serve.start()
    r = s.run({"script": "print('proxied')"}, path="/api/run?code=FUNCTION_KEY")
    assert r.ran()["stdout"] == "proxied\n"
    r = s.request("POST", "/api/run?code=K&timeout_s=1", "import time\ntime.sleep(9)",
                  {"Content-Type": "text/plain"})
    assert r.ran()["status"] == "timeout"
    r = s.request("POST", "/api/run?timeout=1", "print(1)", {"Content-Type": "text/plain"})
    j = r.error(400, "unknown_parameter")
    assert j["field"] == "timeout" and "timeout_s" in j["error"]
    r = s.run({"script": "print(1)"}, path="/api/run?timeout_s=1")
    assert r.error(400, "unknown_parameter")["field"] == "timeout_s"


def test_a_dropped_body_is_refused_on_every_route(serve):
    # In forwarding mode the host can drop a chunked body: nothing runs.
    s = serve.start()
    for ctype in ("application/json", "text/plain"):
        for chunked in (False, True):
            r = s.request("POST", "/api/run", b"", {"Content-Type": ctype}, chunked=chunked)
            r.error(400, "empty_body")


def test_host_json_agrees_with_runbox(serve):
    """The host holds no queue of its own: it passes at once as many requests
    as runbox admits (RUNBOX_CONCURRENCY + RUNBOX_QUEUE of the shipped
    settings) or more, so runbox's 503 + Retry-After is what a client sees."""
    host = json.loads((ADAPTER / "host.json").read_text())
    settings = json.loads((ADAPTER / "local.settings.json").read_text())["Values"]
    http = host["extensions"]["http"]
    assert http["maxOutstandingRequests"] == http["maxConcurrentRequests"]
    admitted = int(settings["RUNBOX_CONCURRENCY"]) + int(settings["RUNBOX_QUEUE"])
    assert http["maxConcurrentRequests"] >= admitted
    assert http["dynamicThrottlesEnabled"] is False
    assert host["customHandler"]["enableProxyingHttpRequest"] is True
    assert host["customHandler"]["description"]["defaultExecutablePath"] == "runbox"
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "Custom"
    # Every answer within Azure's 230 s: the deadline is the maximum timeout.
    assert float(settings["RUNBOX_MAX_TIMEOUT_S"]) <= 220
    assert "RUNBOX_ANSWER_DEADLINE_S" not in settings or \
        float(settings["RUNBOX_ANSWER_DEADLINE_S"]) <= 220
    function = json.loads((ADAPTER / "run" / "function.json").read_text())
    outs = [b for b in function["bindings"] if b["direction"] == "out"]
    assert outs == [{"type": "http", "direction": "out", "name": "res"}]


def test_concurrent_host_envelopes(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_QUEUE": "16"})
    results, errors = {}, []

    def one(i):
        try:
            env = host_envelope(base64.b64encode(f"print({i} + 1)".encode()).decode(),
                                "application/octet-stream",
                                query=json.dumps({"code": "k"}))
            results[i] = opened(post_envelope(s, env, chunked=bool(i % 2)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for i, (st, _, body) in results.items():
        assert st == 200 and body["stdout"] == f"{i + 1}\n", (i, body)
    assert sorted(results) == list(range(8))
