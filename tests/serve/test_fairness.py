"""Fair sharing between concurrent runs and clients: one tenant cannot
starve, exhaust or lock out another.

Each attack runs beside a victim that must finish within its normal time
and budget: spinners behind setsid(), a multi-process memory hog, a fork
bomb with a pinned uid, a disk filler, bodies declared but never sent,
hundreds of idle connections from one client.  As root runs get control
groups of their own (where this machine lets runbox make them: the tests
that need them skip, with the reason, where it does not); unprivileged they
do not, and what bounds a run then is what the README's security table
says.  Timings compare a victim with its own solo baseline measured in the
same test, with wide margins: other test suites may share the machine.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import AS, MARK_NAME

ROOT = AS == "root"


def groups_of(s):
    """The response's sandbox.cgroup of a trivial run (False without groups)."""
    return s.run({"script": "pass"}).ran()["sandbox"]["cgroup"]


def need_groups(s):
    cg = groups_of(s)
    if not cg:
        info = s.request("GET", "/api/info").json()
        pytest.skip("runs get no control groups here: " +
                    info["sandbox"]["probe"]["cgroup"]["detail"])
    return cg


def background(s, req):
    """Run @req on another thread: out["r"] is its Reply (or out["exc"] what it raised)."""
    out = {}

    def go():
        try:
            out["r"] = s.run(req)
        except OSError as e:  # the server was killed under it
            out["exc"] = e

    t = threading.Thread(target=go)
    t.start()
    return t, out


def wait_for_run(s, what, timeout=30):
    """Wait until a run is in progress: a worker of the server exists (a warm
    run's program keeps the template's environment block, so the request's
    marker cannot be looked for there)."""
    deadline = time.monotonic() + timeout
    while not s.worker_pids():
        assert time.monotonic() < deadline, f"the {what} never started"
        time.sleep(0.05)


# ---- CPU: spinners behind setsid() ----

VICTIM_CPU = ("import time\nt0 = time.monotonic()\nn = 0\n"
              "while n < 2500000:\n    n += 1\nprint(round(time.monotonic() - t0, 3))\n")

SPINNERS = """
import os, time
end = time.monotonic() + 8
made = 0
for i in range(63):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid()  # a session, and so a scheduler autogroup, of its own
        while time.monotonic() < end:
            pass
        os._exit(0)
    made += 1
print(made, flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""


def test_setsid_spinners_do_not_starve_a_concurrent_run(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    grouped = bool(groups_of(s))
    solo = float(s.run({"script": VICTIM_CPU, "timeout_s": 30}).ran()["stdout"])
    m = s.mark()
    t, out = background(s, {"script": SPINNERS, "timeout_s": 20, "env": {MARK_NAME: m}})
    wait_for_run(s, "attack")
    time.sleep(1.5)  # the spinners are running
    v = s.run({"script": VICTIM_CPU, "timeout_s": 5}).ran()
    t.join(60)
    attack = out["r"].ran()
    assert v["status"] == "ok", (v, solo)
    took = float(v["stdout"])
    if grouped:
        # Equal CPU weight per run: the victim keeps about half the machine.
        assert took <= 5 * solo + 1.0, (took, solo, attack["stdout"])
    else:
        # Each spinner's session is an autogroup of its own: the victim gets a
        # share of the CPU per process of the attacker, whose number is bounded
        # by RUNBOX_MAX_PROCS, sized for the machine (README, security model).
        assert int(attack["stdout"]) < 63, attack


def test_cpu_quota_bounds_a_run(serve):
    s = serve.start(env={"RUNBOX_CPU_QUOTA": "0.2"})
    cg = need_groups(s)
    if not cg["cpu"]:
        pytest.skip("no cpu controller for runbox's groups")
    # Busy for 1.5 s of wall time: how much CPU did that buy?
    j = s.run({"script": "import time\nt0 = time.monotonic()\n"
                         "while time.monotonic() - t0 < 1.5:\n    pass\n"
                         "print(round(time.process_time(), 3))\n"}).ran()
    assert float(j["stdout"]) <= 0.2 * 1.5 + 0.2, j


# ---- memory: a multi-process hog ----

HOG = """
import os, time
kids = []
for i in range(6):
    pid = os.fork()
    if pid == 0:
        b = bytearray(160 << 20)
        for j in range(0, len(b), 4096):
            b[j] = 1
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
alive = sum(1 for p in kids if os.waitpid(p, 0)[1] == 0)
print(alive)
raise SystemExit(0 if alive == len(kids) else 1)
"""

VICTIM_MEM = ("b = bytearray(100 << 20)\nfor j in range(0, len(b), 4096):\n    b[j] = 1\n"
              "print('ok')\n")


def test_memory_hog_is_held_to_the_runs_limit(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_MEMORY_BYTES": str(256 << 20)})
    grouped = groups_of(s)
    m = s.mark()
    t, out = background(s, {"script": HOG, "timeout_s": 30, "env": {MARK_NAME: m}})
    wait_for_run(s, "hog")
    time.sleep(1)
    v = s.run({"script": VICTIM_MEM, "timeout_s": 20}).ran()
    t.join(60)
    hog = out["r"].ran()
    assert v["status"] == "ok" and v["stdout"] == "ok\n", v
    if grouped and grouped["memory"]:
        # 6 x 160 MiB in a run of 256 MiB: the group's limit killed, and says so.
        assert hog["status"] == "memory_limit", hog
        assert int(hog["stdout"]) <= 1, hog
    else:
        # Without a memory group each process has its own RLIMIT_AS: the run
        # holds processes x RUNBOX_MEMORY_BYTES (README, security model).
        assert hog["status"] == "ok" and hog["stdout"] == "6\n", hog


# ---- processes: a fork bomb with a pinned uid ----

BOMB = """
import os, time
made = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(6)
        os._exit(0)
    made += 1
print(made, flush=True)
time.sleep(5)
"""

VICTIM_FORK = ("import os\nkids = [os.fork() for _ in range(4)]\n"
               "if 0 in kids:\n    os._exit(0)\n"
               "for k in kids:\n    os.waitpid(k, 0)\nprint('ok')\n")


def pinned_uid():
    return str(1750000000 + uuid.uuid4().int % 1000000)


def bomb_then_victim(s):
    m = s.mark()
    t, out = background(s, {"script": BOMB, "timeout_s": 20, "env": {MARK_NAME: m}})
    wait_for_run(s, "fork bomb")
    time.sleep(1.5)  # the bomb has used up what it can
    v = s.run({"script": VICTIM_FORK, "timeout_s": 10})
    t.join(60)
    return v, out["r"].ran()


def test_fork_bomb_of_one_run_leaves_another_its_processes(serve):
    env = {"RUNBOX_CONCURRENCY": "2", "RUNBOX_MAX_PROCS": "24"}
    if ROOT:
        env["RUNBOX_UID"] = pinned_uid()  # every run shares one uid
    s = serve.start(env=env)
    first = s.run({"script": "pass"}).ran()["sandbox"]
    if ROOT:
        need_groups(s)
    elif "user" not in first["namespaces"]:
        pytest.skip("no user namespace per run here: runs share runbox's process limit")
    v, bomb = bomb_then_victim(s)
    assert int(bomb["stdout"]) >= 10, bomb
    j = v.ran()
    assert j["status"] == "ok" and j["stdout"] == "ok\n", j


def test_fork_bomb_without_groups_is_capacity_exhausted_not_a_fault(serve):
    if not ROOT:
        pytest.skip("a pinned uid for the runs needs runbox to run as root")
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_MAX_PROCS": "24",
                         "RUNBOX_UID": pinned_uid(), "RUNBOX_CGROUP": "off"})
    v, bomb = bomb_then_victim(s)
    # The shared uid's process limit is used up by the other run: not runbox's
    # fault, not the request's; retry later.
    j = v.error(503, "capacity_exhausted")
    assert v.headers.get("retry-after"), v.headers
    assert "RUNBOX_UID" in j["error"], j


# ---- disk: a workspace filler ----

FILLER = """
import errno
mib = 0
try:
    with open('fill', 'wb') as f:
        for _ in range(800):
            f.write(b'x' * (1 << 20))
            f.flush()
            mib += 1
    print(mib, 'none')
except OSError as e:
    print(mib, errno.errorcode[e.errno])
"""

VICTIM_DISK = ("data = b'v' * (8 << 20)\nopen('mine', 'wb').write(data)\n"
               "print('ok' if open('mine', 'rb').read() == data else 'bad')\n")


def test_disk_filler_meets_its_workspace_cap(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_WORKSPACE_BYTES": str(64 << 20),
                         "RUNBOX_MAX_FILE_BYTES": str(1 << 30)})
    ns = s.run({"script": "pass"}).ran()["sandbox"]["namespaces"]
    if not ROOT and "user" not in ns:
        pytest.skip("no user namespace: unprivileged workspaces are not tmpfs here "
                    "(the free-space floor is tested in tests/platform)")
    m = s.mark()
    t, out = background(s, {"script": FILLER, "timeout_s": 30, "env": {MARK_NAME: m}})
    wait_for_run(s, "filler")
    v = s.run({"script": VICTIM_DISK, "timeout_s": 20}).ran()
    t.join(60)
    mib, why = out["r"].ran()["stdout"].split()
    assert v["stdout"] == "ok\n", v
    assert why == "ENOSPC" and int(mib) <= 64, (mib, why)


# ---- the control groups themselves ----

def cgroup_dirs(text):
    """Directories of the v1/v2 groups named in a /proc/PID/cgroup text."""
    dirs = []
    for line in text.splitlines():
        if line.count(":") < 2:
            continue
        _, ctrl, path = line.split(":", 2)
        if "runbox-" not in path:
            continue
        base = "/sys/fs/cgroup/" + ctrl if ctrl else "/sys/fs/cgroup"
        if not ctrl and os.path.isdir("/sys/fs/cgroup/unified"):
            base = "/sys/fs/cgroup/unified"
        dirs.append(pathlib.Path(base + path))
    return dirs


def test_sandbox_field_probe_and_require(serve):
    s = serve.start()
    info = s.request("GET", "/api/info").json()
    probe = info["sandbox"]["probe"]["cgroup"]
    cg = groups_of(s)
    if ROOT and probe["available"]:
        assert probe["self_test"] == "ok" and probe["version"] in (1, 2), probe
        assert "cgroup" in info["sandbox"]["in_force"]
        assert cg == {"version": probe["version"], "memory": True, "pids": True,
                      "cpu": probe["cpu"]}, cg
    else:
        assert cg is False and probe["available"] is False and probe["detail"], probe
    # RUNBOX_REQUIRE=cgroup: runs only where runs get groups.
    r = serve.start(env={"RUNBOX_REQUIRE": "cgroup"})
    if cg:
        assert r.run({"script": "print(1)"}).ran()["stdout"] == "1\n"
    else:
        j = r.run({"script": "print(1)"}).error(503, "sandbox_unavailable")
        assert "cgroup" in j["error"], j
    # RUNBOX_CGROUP=off: none, and the probe says why.
    off = serve.start(env={"RUNBOX_CGROUP": "off"})
    assert groups_of(off) is False
    assert off.request("GET", "/api/info").json()["sandbox"]["probe"]["cgroup"]["detail"] == \
        "RUNBOX_CGROUP=off"


def test_check_reports_the_cgroup_layer(serve):
    s = serve.start()
    argv = [str(s.bin), "check"]
    if not ROOT:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    rep = json.loads(p.stdout)["cgroup"]
    assert set(rep) >= {"available", "self_test", "detail", "version", "memory", "pids", "cpu"}
    assert rep["available"] == bool(groups_of(s)), rep


def test_a_runs_group_is_gone_after_it(serve):
    s = serve.start()
    need_groups(s)
    j = s.run({"script": "print(open('/proc/self/cgroup').read())"}).ran()
    dirs = cgroup_dirs(j["stdout"])
    assert dirs, j["stdout"]
    assert not [d for d in dirs if d.exists()], dirs


class OwnGroup:
    """A control group of the test's own below pytest's, in each hierarchy
    of memory, pids and cpu, for the servers it starts: their groups are
    then below it, where no other runbox on the machine sweeps."""

    def __init__(self):
        name = "rbtest-" + uuid.uuid4().hex[:12]
        self.dirs = []
        for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrl, path = line.split(":", 2)
            if ctrl in ("memory", "pids", "cpu"):
                d = pathlib.Path(f"/sys/fs/cgroup/{ctrl}{path.rstrip('/')}/{name}")
            elif ctrl == "" and os.path.exists(f"/sys/fs/cgroup{path.rstrip('/')}/memory.max"):
                d = pathlib.Path(f"/sys/fs/cgroup{path.rstrip('/')}/{name}")
            else:
                continue
            d.mkdir()
            self.dirs.append(d)
        join = "; ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self.dirs)
        self.prefix = ["sh", "-c", join + ' && exec "$@"', "sh"]

    def remove(self):
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def procs_in(group):
    try:
        return (group / "cgroup.procs").read_text().split()
    except OSError:
        return []


def run_groups(own, timeout=30):
    """The groups, one per hierarchy, of the one run in progress below @own."""
    deadline = time.monotonic() + timeout
    while True:
        dirs = [g for d in own.dirs for g in d.iterdir()
                if g.is_dir() and g.name.startswith("runbox-") and procs_in(g)]
        if len(dirs) == len(own.dirs) and len({g.name for g in dirs}) == 1:
            return dirs
        assert time.monotonic() < deadline, f"no run's group appeared below {own.dirs}"
        time.sleep(0.05)


def descendants(pid):
    """Every process below @pid, by the parents /proc names."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def test_groups_of_a_killed_server_are_swept_at_the_next_start(serve):
    if not ROOT:
        pytest.skip("runs get control groups only as root here")
    own = OwnGroup()
    try:
        s = serve.start(prefix=own.prefix)
        need_groups(s)
        m = s.mark()
        t, out = background(s, {"script": "import time; time.sleep(60)", "timeout_s": 90,
                                "env": {MARK_NAME: m}})
        dirs = run_groups(own)
        # The server and its own processes (spawner, worker) die at once, as
        # under a SIGKILL of the whole instance; a worker left a moment alive
        # would see its run end and remove the groups itself.
        in_run = {int(p) for d in dirs for p in procs_in(d)}
        for pid in [p for p in descendants(s.pid) if p not in in_run]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        s.kill()
        s.stale_ok = True
        deadline = time.monotonic() + 10
        while any(procs_in(d) for d in dirs) and time.monotonic() < deadline:
            time.sleep(0.05)
        t.join(30)
        # Nobody was left to remove them.
        assert all(d.exists() for d in dirs), dirs
        s2 = serve.start(prefix=own.prefix)
        assert not [d for d in dirs if d.exists()], dirs
        assert s2.run({"script": "print(1)"}).ran()["stdout"] == "1\n"
        s2.stop()
        s2.killed = True  # stopped here, before its group goes
    finally:
        own.remove()


# ---- HTTP: bodies declared but not sent, idle connections, slow bodies ----

def head_only(port, src="127.0.0.1", length=32 << 20):
    c = socket.socket()
    c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    c.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n{" % length)
    return c


def closed(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def health_from(port, src):
    c = socket.socket()
    c.bind((src, 0))
    c.settimeout(10)
    c.connect(("127.0.0.1", port))
    c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = c.recv(200)
    c.close()
    return got.split(b"\r\n")[0]


def test_declared_bodies_reserve_nothing(serve):
    # Eight connections declare 32 MiB each and send one byte: they hold
    # eight bytes of the body budget, not 256 MiB, and the minimum-rate
    # rule cuts them soon after the grace period.
    s = serve.start(env={"RUNBOX_HEADER_TIMEOUT_S": "2", "RUNBOX_REQUEST_TIMEOUT_S": "60"})
    held = [head_only(s.port) for _ in range(8)]
    time.sleep(0.3)
    t0 = time.monotonic()
    assert s.run({"script": "print(1)"}).ran()["stdout"] == "1\n"
    assert time.monotonic() - t0 < 10
    assert all(closed(h, 10) for h in held), "a stalled body kept its connection"
    assert time.monotonic() - t0 < 15


def test_idle_connections_of_one_client_do_not_lock_out_another(serve):
    # 300 connections from one address, a request line each: that address
    # holds at most its share of connections, another client's health check
    # is answered at once, and the idle ones go at the head deadline.
    s = serve.start(env={"RUNBOX_HEADER_TIMEOUT_S": "2"})
    share = s.request("GET", "/api/info").json()["serve"]["max_connections_per_client"]
    idle = []
    for _ in range(300):
        try:
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(b"GET /api/health HTTP/1.1\r\n")
            idle.append(c)
        except OSError:
            pass
    time.sleep(0.5)
    assert health_from(s.port, "127.0.0.2") == b"HTTP/1.1 200 OK"
    alive = [c for c in idle if not closed(c, 0.01)]
    assert len(alive) <= share, len(alive)
    time.sleep(3)
    assert not [c for c in idle if not closed(c, 0.01)], "idle heads outlived the deadline"
    assert health_from(s.port, "127.0.0.1") == b"HTTP/1.1 200 OK"
    for c in idle:
        c.close()


def test_one_client_holds_at_most_its_share_of_bodies(serve):
    s = serve.start(env={"RUNBOX_MAX_BODY_BYTES": str(256 << 10),
                         "RUNBOX_MAX_PENDING_BODY_BYTES": str(8 << 20),
                         "RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT": str(1 << 20)})
    share = s.request("GET", "/api/info").json()["serve"]["max_pending_body_bytes_per_client"]
    part = b" " * (200 << 10)
    held = []
    for _ in range(share // len(part)):
        h = head_only(s.port, length=len(part) + 10)
        h.sendall(part)
        held.append(h)
    time.sleep(0.5)
    # This address is at its share: one more body is refused at its end...
    body = json.dumps({"script": "print(1)" + " " * (250 << 10)}).encode()
    c = head_only(s.port, length=len(body) + 1)
    c.sendall(body)
    got = b""
    c.settimeout(10)
    while not got.rstrip().endswith(b"}"):
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got.startswith(b"HTTP/1.1 503") and b'"capacity_exhausted"' in got, got[:300]
    assert b"RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT" in got and b"Retry-After" in got
    # ...while another client runs as usual.
    c = socket.socket()
    c.bind(("127.0.0.2", 0))
    c.settimeout(30)
    c.connect(("127.0.0.1", s.port))
    small = json.dumps({"script": "print(2)"}).encode()
    c.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(small) + small)
    got = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got.startswith(b"HTTP/1.1 200") and b'"stdout":"2\\n"' in got, got[:300]
    for h in held:
        h.close()


def test_slow_body_is_cut_by_the_minimum_rate(serve):
    s = serve.start(env={"RUNBOX_HEADER_TIMEOUT_S": "1", "RUNBOX_MIN_BODY_BYTES_PER_S": "4096",
                         "RUNBOX_REQUEST_TIMEOUT_S": "60"})
    c = head_only(s.port, length=100000)
    t0 = time.monotonic()
    cut = False
    while time.monotonic() - t0 < 20:
        try:
            c.sendall(b" " * 50)  # 500 bytes a second, under the rule's 4096
        except OSError:
            cut = True
            break
        if closed(c, 0.1):
            cut = True
            break
    assert cut and time.monotonic() - t0 < 6, "a trickled body outlived the minimum rate"
