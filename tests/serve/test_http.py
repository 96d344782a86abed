"""Odd and hostile HTTP on the wire: what `runbox serve` answers to framing
that libmicrohttpd alone would take one way while a proxy in front takes it
another (request smuggling), and other malformed requests."""

import json

import pytest

from conftest import raw_exchange


def split(out):
    """(status, headers dict lower-case, body) of the first response in @out."""
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode()
    return status, hdrs, body


RUN = b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
SCRIPT = b'{"script":"print(1)"}'
# What a smuggler hides after the body its first Content-Length frames.
SMUGGLED = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nContent-Length: %d\r\n" % len(SCRIPT),
    b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(SCRIPT), len(SCRIPT)),
    b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
    # Past the headers route.c is shown: counted all the same.
    b"".join(b"X-Pad-%d: p\r\n" % i for i in range(300)) +
    b"Content-Length: 5\r\nContent-Length: %d\r\n" % len(SCRIPT),
    # RFC 9112 5.1: whitespace before the colon; libmicrohttpd keeps "Content-Length "
    # as another header, so the body would end at once and the rest be a request.
    b"Content-Length : %d\r\n" % len(SCRIPT),
    b"Content-Length\t: %d\r\n" % len(SCRIPT),
    b"X-A : b\r\nContent-Length: %d\r\n" % len(SCRIPT),
], ids=["two-lengths", "same-length-twice", "length-then-chunked", "chunked-then-length",
        "two-lengths-after-300-headers", "space-before-colon", "tab-before-colon",
        "other-field-with-space"])
def test_ambiguous_body_length_is_refused_and_closes(serve, framing):
    s = serve.start()
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SCRIPT), SCRIPT) if b"chunked" in framing else SCRIPT
    out = raw_exchange(s.port, RUN + framing + b"\r\n" + body + SMUGGLED)
    status, hdrs, rest = split(out)
    assert status == 400, out[:300]
    assert hdrs["content-type"] == "application/json"
    assert hdrs.get("connection", "").lower() == "close"
    j = json.loads(rest[:int(hdrs["content-length"])])
    assert j["code"] == "invalid_http", j
    # Nothing after the refusal was read as a request.
    assert out.count(b"HTTP/1.1 ") == 1, out


@pytest.mark.parametrize("te", [b"gzip", b"chunked, gzip", b"identity"])
def test_unknown_transfer_coding_is_refused_at_once(serve, te):
    s = serve.start(env={"RUNBOX_IDLE_TIMEOUT_S": "30"})
    # Without the refusal the server waits for a body it cannot frame until
    # the idle timeout; the client here gives up long before.
    out = raw_exchange(s.port, b"POST /api/run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                       b"\r\n\r\nprint(1)", timeout=10)
    status, hdrs, rest = split(out)
    assert status == 400, out[:300]
    assert json.loads(rest[:int(hdrs["content-length"])])["code"] == "invalid_http"


def test_pipelined_requests_are_answered_in_order(serve):
    s = serve.start()
    req = RUN + b"Content-Length: %d\r\n\r\n" % len(SCRIPT) + SCRIPT
    out = raw_exchange(s.port, req + SMUGGLED + b"GET /nope HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
    parts = out.split(b"HTTP/1.1 ")[1:]
    assert [int(p.split(b" ", 1)[0]) for p in parts] == [200, 200, 404], out


def test_http10_and_expect_continue(serve):
    s = serve.start()
    out = raw_exchange(s.port, b"GET /api/health HTTP/1.0\r\n\r\n")
    assert split(out)[0] == 200 and out.endswith(b"OK"), out
    out = raw_exchange(s.port, RUN + b"Expect: 100-continue\r\nConnection: close\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(SCRIPT) + SCRIPT)
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "), out[:200]
    # Refused on its Content-Length before the client sends the body.
    out = raw_exchange(s.port, RUN + b"Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
    status, hdrs, rest = split(out)
    assert status == 413 and json.loads(rest)["code"] == "body_too_large", out[:300]


def test_http11_without_host_is_refused(serve):
    # RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    s = serve.start()
    out = raw_exchange(s.port, b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    status, hdrs, rest = split(out)
    assert status == 400, out[:300]
    j = json.loads(rest[:int(hdrs["content-length"])])
    assert j["code"] == "invalid_http" and "Host" in j["error"], j
    # HTTP/1.0 has no such rule.
    out = raw_exchange(s.port, b"GET /api/health HTTP/1.0\r\n\r\n")
    assert split(out)[0] == 200, out[:300]


def test_later_http_1_minor_versions_are_served_as_1_1(serve):
    # RFC 9110 2.5: a 1.1 server answers HTTP/1.x (x > 1) as 1.1, with 1.1's
    # rules (Host required, persistent connections); only another major
    # version gets 505, which libmicrohttpd answers itself (in HTML).
    s = serve.start()
    for version in (b"HTTP/1.2", b"HTTP/1.9"):
        out = raw_exchange(s.port, b"GET /api/health " + version + b"\r\nConnection: close\r\n\r\n")
        status, hdrs, rest = split(out)
        assert status == 400, out[:300]
        assert json.loads(rest[:int(hdrs["content-length"])])["code"] == "invalid_http"
        out = raw_exchange(s.port, b"GET /api/health " + version + b"\r\nHost: x\r\n\r\n"
                           b"GET /api/health " + version + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200 "), out[:300]
        assert out.count(b"HTTP/1.1 200 ") == 2, out  # kept alive, as 1.1
    for version in (b"HTTP/2.0", b"HTTP/3.0", b"HTTP/0.9"):
        out = raw_exchange(s.port, b"GET /api/health " + version + b"\r\nHost: x\r\n\r\n")
        assert split(out)[0] == 505, out[:300]


def test_chunk_extensions(serve):
    # A chunk extension is ignored (RFC 9112 7.1.1).  One longer than the
    # connection's buffer (about twice RUNBOX_MAX_HEADER_BYTES) never
    # reaches runbox: libmicrohttpd answers it itself, as cmd/runbox/README.md
    # lists, and the server goes on.
    s = serve.start()
    chunk = b"%x;name=value\r\n%s\r\n0\r\n\r\n" % (len(SCRIPT), SCRIPT)
    out = raw_exchange(s.port, RUN + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                       chunk)
    status, hdrs, rest = split(out)
    assert status == 200 and json.loads(rest[:int(hdrs["content-length"])])["stdout"] == "1\n"
    huge = b"%x;ext=%s\r\n%s\r\n0\r\n\r\n" % (len(SCRIPT), b"a" * 100000, SCRIPT)
    out = raw_exchange(s.port, RUN + b"Transfer-Encoding: chunked\r\n\r\n" + huge)
    status, hdrs, rest = split(out)
    assert status == 500 and hdrs.get("connection", "").lower() == "close", out[:300]
    assert "content-type" not in hdrs and rest.startswith(b"<html>"), out[:300]
    assert s.run({"script": "print(2)"}).ran()["stdout"] == "2\n"


def test_absolute_form_targets_are_routed(serve):
    # RFC 9112 3.2.2: a server MUST accept a target in absolute form.
    s = serve.start()
    out = raw_exchange(s.port, b"GET http://x/api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert split(out)[0] == 200, out[:300]
    out = raw_exchange(s.port, b"POST HTTP://x:80/api/run?timeout_s=5 HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 8\r\nConnection: close\r\n\r\nprint(7)")
    status, hdrs, rest = split(out)
    assert status == 200, out[:300]
    assert json.loads(rest[:int(hdrs["content-length"])])["stdout"] == "7\n"
