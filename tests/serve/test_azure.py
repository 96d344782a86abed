"""A fake Azure Functions host (standard library only): it starts runbox the
way the host starts a custom handler, probes GET / until it answers, then
sends envelope requests to POST /run (as the host does with
enableForwardingHttpRequest off, chunked and not) and forwarded requests to
POST /api/run (with it on), all at once."""

import json
import threading
import time
import urllib.request

from conftest import MARK_NAME


def envelope(body, content_type="application/json", method="POST", query=None, headers=None):
    """What the host posts to a custom handler for an HTTP-triggered function."""
    h = {"Content-Type": [content_type]} if content_type else {}
    h.update(headers or {})
    return {
        "Data": {
            "req": {
                "Url": "https://app.azurewebsites.net/api/run",
                "Method": method,
                "Query": query or {},
                "Headers": h,
                "Params": {},
                "Body": body,
                "Identities": [],
            }
        },
        "Metadata": {"Query": query or {}, "Headers": h, "sys": {"MethodName": "run"}},
    }


def unwrap(reply):
    """The host's output binding: outer 200, the real answer inside."""
    assert reply.status == 200, (reply.status, reply.body[:500])
    j = reply.json()
    res = j["Outputs"]["res"]
    assert j["Logs"] == [] and j["ReturnValue"] == str(res["statusCode"]), j
    assert res["headers"]["Content-Type"] == "application/json"
    return res["statusCode"], res["headers"], json.loads(res["body"])


def test_probe_until_ready_then_envelopes(serve):
    s = serve.start()
    # The host probes every 25 ms until the handler answers.
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{s.port}/", timeout=1) as r:
                assert r.status == 200
                break
        except OSError:
            assert time.monotonic() < deadline, "GET / never answered"
            time.sleep(0.025)
    req = {"script": "print('from azure')", "env": {MARK_NAME: s.mark()}}
    for chunked in (False, True):
        code, _, resp = unwrap(s.request("POST", "/run", json.dumps(envelope(json.dumps(req))),
                                         {"Content-Type": "application/json"}, chunked=chunked))
        assert code == 200 and resp["stdout"] == "from azure\n" and resp["exit_code"] == 0


def test_envelope_raw_script_with_query(serve):
    s = serve.start()
    code, _, resp = unwrap(s.request(
        "POST", "/run",
        json.dumps(envelope("import time\ntime.sleep(20)", "text/plain",
                            query={"timeout_s": "1"})),
        {"Content-Type": "application/json"}))
    assert code == 200 and resp["status"] == "timeout"


def test_envelope_refusals_travel_inside(serve):
    s = serve.start(env={"RUNBOX_TOKEN": "tok"})
    auth = {"Authorization": ["Bearer tok"]}
    cases = [
        (envelope(json.dumps({"script": "print(1)"})), 401, "unauthorized"),
        (envelope("{bad", headers=auth), 400, "invalid_json"),
        (envelope("", method="GET", headers=auth), 405, "method_not_allowed"),
        (envelope("print(1)", "text/plain", query={"timeout_s": "x"}, headers=auth), 400,
         "invalid_timeout"),
    ]
    for env, status, code in cases:
        st, _, body = unwrap(s.request("POST", "/run", json.dumps(env),
                                       {"Content-Type": "application/json"}))
        assert (st, body["code"]) == (status, code), body
    # Even a broken envelope is answered in one: the host fails any other status.
    st, _, body = unwrap(s.request("POST", "/run", "[]", {"Content-Type": "application/json"}))
    assert (st, body["code"]) == (400, "invalid_envelope"), body
    st, _, body = unwrap(s.request(
        "POST", "/run", json.dumps(envelope(json.dumps({"script": "print(7)"}), headers=auth)),
        {"Content-Type": "application/json"}))
    assert st == 200 and body["stdout"] == "7\n"


def test_envelope_body_with_nul_is_refused_not_cut(serve):
    # cJSON keeps NUL-terminated strings: without the pre-pass the program
    # ran as "print(1)" and the rest of the Body was silently dropped.
    s = serve.start()
    for inner, ctype in ((r"print(1)\u0000print(2)", "text/plain"),
                         (r'{\"script\":\"print(1)\"}\u0000', "application/json")):
        env = ('{"Data":{"req":{"Method":"POST","Headers":{"Content-Type":["%s"]},'
               '"Query":{},"Body":"%s"}},"Metadata":{}}' % (ctype, inner))
        st, _, body = unwrap(s.request("POST", "/run", env, {"Content-Type": "application/json"}))
        assert (st, body["code"]) == (400, "nul_in_string"), body


def test_envelope_503_carries_retry_after(serve):
    s = serve.start(env={"RUNBOX_SANDBOX": "off", "RUNBOX_REQUIRE": "landlock"})
    st, headers, body = unwrap(s.request("POST", "/run",
                                         json.dumps(envelope('{"script":"print(1)"}')),
                                         {"Content-Type": "application/json"}))
    assert st == 503 and body["code"] == "sandbox_unavailable"
    assert headers["Retry-After"] == "1"


def test_concurrent_envelopes_and_forwarded(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_QUEUE": "64"})
    results, errors = {}, []

    def one(i):
        try:
            mark = s.mark()
            req = {"script": f"print({i} * 3)", "env": {MARK_NAME: mark}}
            if i % 3 == 0:
                r = s.run(req, chunked=bool(i % 2))
                results[i] = (200, r.ran())
            else:
                st, _, body = unwrap(s.request(
                    "POST", "/run", json.dumps(envelope(json.dumps(req))),
                    {"Content-Type": "application/json"}, chunked=bool(i % 2)))
                results[i] = (st, body)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results) == list(range(12))
    for i, (st, body) in results.items():
        assert st == 200 and body["stdout"] == f"{i * 3}\n", (i, body)
