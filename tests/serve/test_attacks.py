"""A program that turns on the server that runs it: the fds it could have
inherited (the listening socket, other clients' connections, the spawner's
socket, other workers' report pipes), the server's port on loopback, and
signals or ptrace aimed at the server, its spawner or another worker."""

import json

from conftest import AS, children_of

LIST_FDS = """
import os
fds = {}
for fd in os.listdir('/proc/self/fd'):
    try:
        fds[fd] = os.readlink('/proc/self/fd/' + fd)
    except OSError:
        pass
print(json.dumps(fds))
"""


def test_program_inherits_no_server_fd(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    # Another run in flight: its worker's report pipe exists in the spawner.
    t, out = s.run_in_background("import time; time.sleep(3)")
    conn = s.conn()  # a keep-alive connection of the server's, open meanwhile
    j = s.run({"script": "import json\n" + LIST_FDS}, conn=conn).ran()
    fds = json.loads(j["stdout"])
    # 0-2 are the program's own pipes (the listing's own fd is closed by then).
    assert sorted(fds) == ["0", "1", "2"], fds
    conn.close()
    t.join(20)
    assert out["r"].ran()["exit_code"] == 0


def test_program_cannot_reach_the_server_port(serve):
    s = serve.start()
    code = ("import socket\n"
            "try:\n"
            "    socket.create_connection(('127.0.0.1', %d), timeout=3)\n"
            "    print('CONNECTED')\n"
            "except OSError as e:\n"
            "    print('refused', e.errno)\n" % s.port)
    j = s.run({"script": code}).ran()
    assert j["stdout"].startswith("refused"), j
    # As root the program is in its own network namespace (nothing listens
    # on its loopback); unprivileged, Landlock denies the TCP connect.
    if AS == "nobody":
        assert j["stdout"].strip() == "refused 13", j


def test_program_cannot_signal_or_trace_the_server(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    t, out = s.run_in_background("import time; time.sleep(3)")
    victims = [s.pid] + children_of(s.pid) + s.worker_pids()  # server, spawner, workers
    code = ("import ctypes, os, signal\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "for pid in %r:\n"
            "    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n"
            "        print('KILLED', pid)\n"
            "    except OSError as e:\n"
            "        print('kill', pid, e.errno)\n"
            "    if libc.ptrace(16, pid, 0, 0) == 0:\n"
            "        print('TRACED', pid)\n" % victims)
    j = s.run({"script": code}).ran()
    assert "KILLED" not in j["stdout"] and "TRACED" not in j["stdout"], j
    t.join(20)
    assert out["r"].ran()["exit_code"] == 0
    assert s.request("GET", "/api/health").status == 200
