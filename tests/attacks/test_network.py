"""Outbound TCP/UDP/DNS to a listener on 127.0.0.1, other socket families, abstract and
pathname UNIX sockets outside the sandbox."""

import os
import time

from conftest import kv, need, ok, py, short


def expect_inet(L):
    """What socket(AF_INET*) must give, by layer."""
    if L.seccomp:
        return {"socket": "EACCES"}
    return None


def test_tcp_connect_to_host_listener(rb, server):
    resp, L = ok(rb, py(
        "import socket\n"
        "try:\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); res('socket', 'ok')\n"
        f"    s.settimeout(1); res('connect', eo(s.connect, ('127.0.0.1', {server.port})))\n"
        "except OSError as e:\n"
        "    res('socket', errno.errorcode[e.errno])\n"))
    time.sleep(0.3)
    assert server.events == [], server.events
    if L.seccomp:
        assert kv(resp) == {"socket": "EACCES"}, short(resp)
    elif L.netns:
        assert kv(resp) == {"socket": "ok", "connect": "ENETUNREACH"}, short(resp)


def test_tcp6_connect_to_host_listener(rb, server):
    resp, L = ok(rb, py(
        "import socket\n"
        f"res('socket', eo(lambda: socket.socket(socket.AF_INET6).connect(('::1', {server.port}))))\n"))
    time.sleep(0.3)
    assert server.events == []
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"socket": "EACCES"}, short(resp)


def test_udp_sendto_host_listener(rb, server):
    resp, L = ok(rb, py(
        "import socket\n"
        f"res('sendto', eo(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {server.port}))))\n"))
    time.sleep(0.3)
    assert server.events == []
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"sendto": "EACCES"}, short(resp)


def test_dns_query_to_host_listener(rb, server):
    # a DNS query for example.com, sent to the test's UDP listener
    q = "b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01'"
    resp, L = ok(rb, py(
        "import socket\n"
        f"res('dns', eo(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto({q}, ('127.0.0.1', {server.port}))))\n"
        "res('resolv_localhost', eo(socket.getaddrinfo, 'localhost', 80))\n"))
    time.sleep(0.3)
    assert server.events == []
    need(L.seccomp, "seccomp not applied")
    assert kv(resp)["dns"] == "EACCES", short(resp)


def test_socket_families_refused(rb):
    resp, L = ok(rb, py(
        "import socket\n"
        "for name, fam, typ, proto in (('netlink', 16, 3, 0), ('netlink_audit', 16, 3, 9), ('packet', 17, 3, 768),\n"
        "        ('raw_inet', 2, 3, 1), ('inet6_dgram', 10, 2, 0), ('vsock', 40, 1, 0), ('alg', 38, 5, 0),\n"
        "        ('bluetooth', 31, 1, 0), ('xdp', 44, 3, 0), ('upper_bits_inet', (1 << 32) | 2, 1, 0)):\n"
        "    res(name, sc(41, fam, typ, proto))\n"
        "res('socketpair_inet', sc(53, 2, 1, 0, ctypes.byref((ctypes.c_int * 2)())))\n"))
    need(L.seccomp, "seccomp not applied")
    got = kv(resp)
    assert got == {k: "EACCES" for k in got} and len(got) == 11, short(resp)


def test_abstract_unix_connect_to_host_listener(rb, server):
    resp, L = ok(rb, py(
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"res('connect', eo(s.connect, '\\0{server.abstract_name}'))\n"
        "d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        f"res('sendto', eo(d.sendto, b'x', '\\0{server.abstract_name}-dg'))\n"))
    time.sleep(0.3)
    assert "abstract" not in server.events and "abstract-dgram" not in server.events, server.events
    if L.netns:
        assert kv(resp) == {"connect": "ECONNREFUSED", "sendto": "ECONNREFUSED"}, short(resp)
    else:
        need(L.landlock_scoped, "neither a net namespace nor Landlock scoping")
        assert kv(resp) == {"connect": "EPERM", "sendto": "EPERM"}, short(resp)


def test_pathname_unix_connect_to_host_socket(rb, server):
    # a world-writable socket of the host (think docker.sock) outside the workspace
    resp, L = ok(rb, py(
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"res('connect', eo(s.connect, {server.unix_path!r}))\n"))
    time.sleep(0.3)
    assert "unixpath" not in server.events, f"the sandbox reached a host UNIX socket: {short(resp)}"
    if L.mountns:
        assert kv(resp) == {"connect": "ENOENT"}, short(resp)


def test_network_allowed_by_operator_and_requested(rb, server):
    # RUNBOX_ALLOW_NETWORK=1 and "network": true: an AF_INET connection works.
    resp, L = ok(rb, dict(py(
        "import socket\n"
        f"res('connect', eo(lambda: socket.create_connection(('127.0.0.1', {server.port}), 2).close()))\n"),
        network=True), env={"RUNBOX_ALLOW_NETWORK": "1"})
    assert L.raw.get("network") is True, short(resp)
    assert "net" not in (L.raw.get("namespaces") or []), short(resp)
    assert kv(resp) == {"connect": "ok"}, short(resp)


def test_network_allowed_by_operator_but_not_requested(rb, server):
    # The operator's permission alone opens nothing: the request must opt in.
    resp, L = ok(rb, py(
        "import socket\n"
        f"res('connect', eo(lambda: socket.create_connection(('127.0.0.1', {server.port}), 1)))\n"),
        env={"RUNBOX_ALLOW_NETWORK": "1"})
    time.sleep(0.3)
    assert server.events == [], server.events
    need(L.seccomp, "seccomp not applied")
    assert L.raw.get("network") is False
    assert kv(resp) == {"connect": "EACCES"}, short(resp)


def test_host_unix_socket_in_run_is_hidden(rb):
    # A world-writable service socket under the host's /run (the system bus,
    # the journal, container engines live there): not reachable.
    import socket
    import threading
    path = f"/run/rbatk-{os.urandom(4).hex()}.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(1)
    srv.settimeout(3)
    got = []
    threading.Thread(target=lambda: got.append(_accept(srv)), daemon=True).start()
    try:
        resp, L = ok(rb, py(
            "import socket\n"
            f"res('connect', eo(lambda: socket.socket(socket.AF_UNIX).connect('{path}')))\n"))
        need(L.mountns, "no mount namespace: the host's /run is visible (README)")
        assert kv(resp)["connect"] in ("ENOENT", "EACCES"), short(resp)
        time.sleep(0.2)
        assert got in ([], [None]), got
    finally:
        srv.close()
        os.unlink(path)


def _accept(srv):
    try:
        return srv.accept()
    except OSError:
        return None
