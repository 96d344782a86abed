"""Platform rehearsal (README, Security model).

Every test runs under each rehearsal of conftest.py (nonroot, azure, lambda).
A test that fails is the spec: runbox did not degrade as documented.
"""

import base64
import json
import os
import textwrap
import subprocess
import time

import pytest

from conftest import (CANARY_PREFIX, LAYERS, NS_LAYERS, MARK, proc_hits, ran, sandbox_shape, short,
                      sized_max_procs, stdin_only)

MiB = 1024 * 1024


def py(src, **extra):
    return dict({"script": textwrap.dedent(src)}, **extra)


# ------------------------------------------------------------------ reporting

def test_check_reports_exactly_the_degraded_layers(rb):
    rc, rep, err = rb.check()
    assert rc == 0, (rc, rep)
    assert rep["root"] is False, rep
    got = {l for l in LAYERS if rep[l]["available"]}
    assert got == rb.reh.available, (
        f"[{rb.reh.name}] available {sorted(got)} != expected {sorted(rb.reh.available)}; "
        f"details: { {l: rep[l]['detail'] for l in LAYERS} }")
    for l in LAYERS:
        if l in rb.reh.available:
            assert rep[l]["self_test"] == "ok", (l, rep[l])
        else:
            assert rep[l]["detail"], f"{l} unavailable without a reason: {rep[l]}"
    assert rep["required_ok"] is True


def test_check_exits_nonzero_when_a_required_layer_is_missing(rb):
    missing = rb.reh.missing
    for layer in missing:
        rc, rep, err = rb.check(env={"RUNBOX_REQUIRE": layer})
        assert rc != 0, f"[{rb.reh.name}] RUNBOX_REQUIRE={layer} runbox check exited 0: {rep}"
        assert rep.get("required_ok") is False, rep
    if "seccomp" in missing:   # the sensible floor of the README
        rc, rep, err = rb.check(env={"RUNBOX_REQUIRE": "seccomp"})
        assert rc != 0
    if rb.reh.available:
        rc, rep, err = rb.check(env={"RUNBOX_REQUIRE": ",".join(sorted(rb.reh.available))})
        assert rc == 0 and rep["required_ok"] is True, (rc, rep)


def test_degraded_layers_are_logged_at_start(rb):
    """README, AWS Lambda row: 'runbox says so at start (degraded log lines)'."""
    ran(rb, py("print(1)"), status="ok")
    logs = []
    for line in rb.start_log().splitlines():
        try:
            logs.append(json.loads(line))
        except ValueError:
            pass
    degraded = " ".join(json.dumps(l) for l in logs if l.get("event") == "degraded").lower()
    unlogged = []
    for layer in rb.reh.missing:
        if layer == "uid_drop":
            continue   # not root: by design, stated in the README's platform table
        words = [layer, layer.replace("_", " ")]
        if layer in NS_LAYERS:
            words += ["namespace"]
        if layer == "no_new_privs":
            words += ["pr_set_no_new_privs"]
        if not any(w in degraded for w in words):
            unlogged.append(layer)
    assert not unlogged, (
        f"[{rb.reh.name}] missing layers never reported in a 'degraded' log line: {unlogged}; "
        f"stderr: {rb.start_log()[-1500:]}")


def test_sandbox_object_lists_only_what_was_applied(rb):
    reqs = [
        py("print('ok')"),
        {"language": "bash", "script": "echo ok"},
        py("import sys; sys.exit(3)"),
    ]
    for req in reqs:
        resp = ran(rb, req)
        sb = resp["sandbox"]
        assert sb == sandbox_shape(rb.reh, sb), (
            f"[{rb.reh.name}] sandbox {sb} != expected {rb.reh.expected_sandbox()}")
        if sb["landlock"] is not False:
            assert isinstance(sb["landlock"], dict) and sb["landlock"]["abi"] >= 1, sb


@pytest.mark.parametrize("pick", ["first", "all"])
def test_require_missing_layer_refuses_every_request(rb, pick):
    missing = rb.reh.missing
    layers = missing[:1] if pick == "first" else missing
    touched = rb.tmp / "ran"
    req = py(f"open({str(touched)!r}, 'w').write('x'); print('ran')")
    rc, resp, err = rb.run(req, env={"RUNBOX_REQUIRE": ",".join(layers)})
    assert resp.get("code") == "sandbox_unavailable", f"[{rb.reh.name}] {short(resp)}"
    assert rc == 1, f"exit {rc}"
    assert set(resp) <= {"error", "code", "field"} and resp["error"], resp
    for l in layers:
        assert l in resp["error"], (l, resp["error"])
    assert not touched.exists(), "the program ran although a required layer is missing"


def test_require_present_layers_runs(rb):
    if not rb.reh.available:
        pytest.skip("no layer available in this rehearsal")
    resp = ran(rb, py("print(7)"), env={"RUNBOX_REQUIRE": ",".join(sorted(rb.reh.available))},
               status="ok")
    assert resp["stdout"] == "7\n"


# ------------------------------------------------------------------ limits

def test_rlimits_in_force(rb):
    resp = ran(rb, py("""
        import resource as r
        for n in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"):
            print(n, *r.getrlimit(getattr(r, n)))
    """, timeout_s=5), status="ok")
    # CPU: soft = timeout + 1 (SIGXCPU -> cpu_limit), hard one more (SIGKILL); the process
    # limit sized so that its processes of RUNBOX_MEMORY_BYTES each fit the machine; where
    # the run counts with runbox's own tasks, those are added (test_a_run_starts_its_max_procs)
    g, m = rb.address_space_limit(resp, 1 << 30, "bare"), 64 * MiB
    n = sized_max_procs(concurrency=rb.concurrency())
    lines = resp["stdout"].splitlines()
    assert lines[:2] + lines[3:] == [f"RLIMIT_AS {g} {g}", "RLIMIT_CPU 6 7", f"RLIMIT_FSIZE {m} {m}",
                                     "RLIMIT_NOFILE 256 256", "RLIMIT_CORE 0 0"], resp
    assert_nproc(rb, lines[2].split(), n)
    # What the operator sets is what the run gets.
    resp = ran(rb, py("import resource as r; print('RLIMIT_NPROC', *r.getrlimit(r.RLIMIT_NPROC))"),
               env={"RUNBOX_MAX_PROCS": "40"}, status="ok")
    assert_nproc(rb, resp["stdout"].split(), 40)


def shares_uid(reh):
    """Runs count their processes with runbox's own: no user namespace of their own."""
    return "userns" not in reh.available


def assert_nproc(rb, words, n):
    """RLIMIT_NPROC is n (and the pid namespace's init), or n on top of the tasks of
    runbox's uid where runs count with them."""
    assert words[0] == "RLIMIT_NPROC" and words[1] == words[2], words
    got = int(words[1])
    if shares_uid(rb.reh):
        assert n < got <= n + 64, f"[{rb.reh.name}] RLIMIT_NPROC {got}, want {n} + runbox's tasks"
    else:  # and the init of its pid namespace
        want = n + ("pidns" in rb.reh.available)
        assert got == want, f"[{rb.reh.name}] RLIMIT_NPROC {got}, want {want}"


FORK_TO_LIMIT = """
    import os, time
    kids = []
    try:
        for _ in range(300):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            kids.append(pid)
    except OSError as e:
        print("refused", e.errno)
    for k in kids:
        os.kill(k, 9)
        os.waitpid(k, 0)
    print("started", len(kids))
"""


def started_n(resp, n):
    """The program and its children were n processes.  Exact where uid 65534 is the
    rehearsal's alone while the run goes, as tests/tools/run-suites.sh gives it (another
    suite's processes as 65534 would count in the same RLIMIT_NPROC)."""
    return resp["status"] == "ok" and resp["stdout"] == f"refused 11\nstarted {n - 1}\n"


def test_a_run_starts_its_max_procs(rb):
    """A run allowed N processes starts N (the program and N - 1 children), whatever
    runbox's own threads, workers and templates count in the same uid, and no more."""
    resp = ran(rb, py(FORK_TO_LIMIT, timeout_s=20), env={"RUNBOX_MAX_PROCS": "12"}, status="ok")
    assert started_n(resp, 12), f"[{rb.reh.name}] {short(resp)}"


def test_memory_bomb(rb):
    resp = ran(rb, py("""
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
    """), status="memory_limit", exit_code=1)
    assert resp["stderr"].rstrip().endswith("MemoryError"), resp["stderr"][-500:]


def test_cpu_loop(rb):
    """CPU seconds = timeout + 1: a single-threaded loop meets the wall-clock timeout first
    (status timeout, exit 124) or, at worst, RLIMIT_CPU (cpu_limit); the answer comes at
    most about a second after timeout_s."""
    t0 = time.monotonic()
    resp = ran(rb, py("while True: pass", timeout_s=2), status={"timeout", "cpu_limit"})
    took = time.monotonic() - t0
    assert took < 2 + 2.5, f"answer after {took:.1f}s"
    if resp["status"] == "timeout":
        assert resp["exit_code"] == 124
        assert resp["stderr"].rstrip().endswith("runbox: timed out after 2 s"), resp["stderr"]
    else:
        assert resp["exit_code"] == 128 + 24


def test_file_size_limit(rb):
    ran(rb, py("""
        with open("big", "wb") as f:
            for _ in range(80):
                f.write(b"x" * (1024 * 1024))
    """), status="file_size_limit")


def test_fork_bomb_is_capped_and_reaped(rb):
    resp = ran(rb, py("""
        import os, time
        n = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                n += 1
        except OSError as e:
            print("stopped", e.errno == 11, n < 64)
    """, timeout_s=10), status="ok")
    assert resp["stdout"] == "stopped True True\n", resp


def test_workspace_without_a_cap_needs_free_space(rb):
    """Where runbox cannot make a size-capped tmpfs for a workspace (no user
    namespace), a run starts only while the work dir's file system has
    RUNBOX_MIN_FREE_BYTES free: capacity_exhausted (exit 75) otherwise."""
    env = {"RUNBOX_MIN_FREE_BYTES": str(1 << 40)}  # a TiB: more than this disk has free
    rc, resp, err = rb.run(py("print(1)"), env=env)
    if "userns" in rb.reh.available:
        # a tmpfs workspace of its own: the disk's free space does not matter
        assert rc == 0 and resp["stdout"] == "1\n", short(resp)
    else:
        assert rc == 75 and resp["code"] == "capacity_exhausted", (rc, short(resp))
        assert "RUNBOX_MIN_FREE_BYTES" in resp["error"], resp
    # The default floor lets runs start here.
    assert ran(rb, py("print(2)"), status="ok")["stdout"] == "2\n"


# ------------------------------------------------------------------ environment

EXPECTED_ENV = {"PATH", "LANG", "HOME", "TMPDIR", "PYTHONIOENCODING", "PYTHONUNBUFFERED",
                "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS", "MKL_NUM_THREADS"}


def test_clean_environment(rb):
    resp = ran(rb, py("""
        import os, json
        print(json.dumps(dict(os.environ)))
    """, env={"MINE": "1"}), status="ok")
    env = json.loads(resp["stdout"])
    assert set(env) == EXPECTED_ENV | {"MINE", MARK}, sorted(env)
    assert not any(CANARY_PREFIX in v for v in env.values())
    assert "AWS_LAMBDA_RUNTIME_API" not in env


def test_bash_clean_environment(rb):
    resp = ran(rb, {"language": "bash", "script": "env | grep -c rbplatcanary; env | grep -c AWS_; true"},
               status="ok")
    assert resp["stdout"] == "0\n0\n", resp


def test_runbox_environ_unreadable(rb):
    """Walk up from os.getppid(): every ancestor that is runbox (comm) must have an unreadable
    or empty environ, no readable /proc/*/environ or cmdline may hold the canary, and
    runbox's memory cannot be opened."""
    resp = ran(rb, py(f"""
        import os, json
        def comm(p):
            try: return open(f"/proc/{{p}}/comm").read().strip()
            except OSError as e: return "?" + str(e.errno)
        def ppid(p):
            for line in open(f"/proc/{{p}}/status"):
                if line.startswith("PPid:"): return int(line.split()[1])
        out = {{"ancestors": [], "canary": [], "mem": []}}
        p = os.getppid()
        while p and p > 0:
            c = comm(p)
            entry = {{"pid": p, "comm": c}}
            if c == "runbox":
                try:
                    data = open(f"/proc/{{p}}/environ", "rb").read()
                    entry["environ"] = len(data)
                    entry["leak"] = b"{CANARY_PREFIX}" in data
                except OSError as e:
                    entry["environ"] = "errno%d" % e.errno
                try:
                    open(f"/proc/{{p}}/mem", "rb").close(); out["mem"].append(p)
                except OSError:
                    pass
            out["ancestors"].append(entry)
            try: p = ppid(p)
            except OSError: break
        for d in os.listdir("/proc"):
            if d.isdigit():
                for f in ("environ", "cmdline"):
                    try:
                        if b"{CANARY_PREFIX}" in open(f"/proc/{{d}}/{{f}}", "rb").read():
                            out["canary"].append((int(d), f))
                    except OSError:
                        pass
        print(json.dumps(out))
    """), status="ok")
    out = json.loads(resp["stdout"])
    assert out["canary"] == [], f"[{rb.reh.name}] canary readable: {out}"
    assert out["mem"] == [], f"[{rb.reh.name}] runbox's memory opened: {out}"
    runboxes = [a for a in out["ancestors"] if a["comm"] == "runbox"]
    if "pid" not in resp["sandbox"]["namespaces"]:
        assert runboxes, f"[{rb.reh.name}] runbox not found among ancestors: {out}"
    for a in runboxes:
        assert a["environ"] == 0 or str(a["environ"]).startswith("errno"), a
        assert not a.get("leak"), a


# ------------------------------------------------------------------ process lifetime

# Each spawner checks its escaped process is alive (its environ holds TOKEN) before
# exiting, so a test cannot pass because the daemon never started.
ALIVE = """
import os
def alive(tok):
    me = os.getpid()
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != me:
            try:
                if ("TOKEN=" + tok).encode() in open(f"/proc/{d}/environ", "rb").read():
                    return True
            except OSError:
                pass
    return False
"""

DAEMON = ALIVE + """
import os, sys, time
tok = os.environ["TOKEN"]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        os.execvp("sleep", ["sleep", "61"])
    os._exit(0)
os.wait()
time.sleep(0.3)
print("spawned", alive(tok))
"""

# A setsid double-fork whose grandchild says through a pipe that it is up
# (it may not be able to read its own environ to prove it), then hides in
# one of two ways a sweep of the uid could miss: @setup runs before it says
# so, @rest after it has closed its fds.
def escaped_grandchild(setup, rest):
    return f"""
import ctypes, os, threading, time
r, w = os.pipe()
if os.fork() == 0:
    try:
        os.setsid()
    except OSError:
        pass
    if os.fork() == 0:
        os.close(r)
        if {setup}:
            os.write(w, b"up")
        os.close(w)
        for fd in (0, 1, 2):
            os.close(fd)
        {rest}
        os._exit(0)
    os._exit(0)
os.close(w)
os.wait()
print("spawned", os.read(r, 2) == b"up")
"""


# Non-dumpable: its /proc files then belong to root, so a sweep that went by
# their owner would not see it.
NONDUMPABLE = escaped_grandchild("ctypes.CDLL(None).prctl(4, 0, 0, 0, 0) == 0",  # PR_SET_DUMPABLE
                                 "time.sleep(64)")
# Its main thread ends while another thread runs: the kernel then shows it as
# a zombie ("Zl"), though it is alive.
HALF_ZOMBIE = escaped_grandchild(
    "threading.Thread(target=time.sleep, args=(64,)).start() or True",
    "ctypes.CDLL(None).pthread_exit(None)")

SETPGID = ALIVE + """
import os, time
if os.fork() == 0:
    os.setpgid(0, 0)
    os.execvp("sleep", ["sleep", "62"])
time.sleep(0.3)
print("spawned", alive(os.environ["TOKEN"]))
"""

BASH_NOHUP = """\
nohup setsid sleep 63 >/dev/null 2>&1 &
disown
sleep 0.3
for f in /proc/[0-9]*/environ; do
  if { tr '\\0' '\\n' < "$f"; } 2>/dev/null | grep -qx "TOKEN=$TOKEN"; then
    [ "$f" = /proc/$$/environ ] || { echo spawned True; exit 0; }
  fi
done
echo spawned False
"""


@pytest.mark.parametrize("how", ["setsid_double_fork", "bash_nohup", "setpgid", "nondumpable",
                                 "half_zombie"])
def test_no_process_outlives_the_response(rb, how):
    tok = "rbplattoken" + os.urandom(8).hex()
    rb.marks.append(tok)          # the fixture scans for it too
    if how == "setsid_double_fork":
        req = {"script": DAEMON, "env": {"TOKEN": tok}}
    elif how == "nondumpable":
        req = {"script": NONDUMPABLE, "env": {"TOKEN": tok}}
    elif how == "half_zombie":
        req = {"script": HALF_ZOMBIE, "env": {"TOKEN": tok}}
    elif how == "setpgid":
        req = {"script": SETPGID, "env": {"TOKEN": tok}}
    else:
        req = {"language": "bash", "env": {"TOKEN": tok}, "script": BASH_NOHUP}
    resp = ran(rb, req)
    assert resp["status"] == "ok", short(resp)
    if resp["stdout"] != "spawned True\n":
        # Only runbox's seccomp may stop the escape itself (setsid/setpgid refused).
        assert resp["sandbox"]["seccomp"] and resp["stdout"] == "spawned False\n", short(resp)
        if how != "bash_nohup":    # bash's setsid(1) reports to /dev/null here
            assert "Operation not permitted" in resp["stderr"], short(resp)
    deadline = time.monotonic() + 1.0
    hits = proc_hits([tok])
    while hits and time.monotonic() < deadline:
        time.sleep(0.05)
        hits = proc_hits([tok])
    if hits:
        left = list(hits)
        for pid, _ in hits:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        rb.marks.remove(tok)
        pytest.fail(f"[{rb.reh.name}] {how}: processes outlived the response: {left}; "
                    f"request {json.dumps(req)}; response {short(resp, 800)}")


# A chain of forks in a small static binary: each incarnation forks and exits
# (after PAUSE_US), so at any moment one or two processes live, each for well
# under the time a /proc scan takes.  A sweep that lists and then kills finds
# each incarnation gone; the chain must be stopped anyway.  It ends by itself
# after 20 s, so that a failure leaves nothing running for long.
FORK_CHAIN_C = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct timespec start, now, pause = {0, argc > 1 ? atol(argv[1]) * 1000 : 0};
	int fd = open("/dev/null", O_RDWR);

	clock_gettime(CLOCK_MONOTONIC, &start);
	setsid();
	dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 20)
			_exit(0);
		pid_t p = fork();
		if (p == 0)
			continue;
		if (pause.tv_nsec)
			nanosleep(&pause, 0);
		if (p > 0)
			_exit(0);
	}
}
"""

FORK_CHAIN_MAIN = """\
import os, subprocess, sys, time
os.chmod("chain", 0o755)
try:
    subprocess.Popen(["./chain", sys.argv[1]])
except OSError as e:
    print("blocked", e.errno)
    raise SystemExit(0)
time.sleep(0.3)
print("spawned True")
"""


@pytest.fixture(scope="module")
def fork_chain_b64(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    (d / "chain.c").write_text(FORK_CHAIN_C)
    subprocess.run(["gcc", "-O2", "-static", "-o", str(d / "chain"), str(d / "chain.c")],
                   check=True)
    return base64.b64encode((d / "chain").read_bytes()).decode()


def chain_seen(seconds, zombies=False):
    """A live process named "chain" seen in /proc during @seconds (each
    incarnation lives so briefly that one look would miss it; zombies, which
    some inits reap late, count only when asked)."""
    deadline = time.monotonic() + seconds
    while True:
        for d in os.listdir("/proc"):
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat.startswith(f"{d} (chain) ".encode()) and (
                    zombies or stat.split(b") ")[1][:1] != b"Z"):
                return int(d)
        if time.monotonic() >= deadline:
            return None


def test_a_fast_chain_of_forks_does_not_outlive_the_response(rb, fork_chain_b64):
    for i, pause_us in enumerate(["0", "300", "0", "300", "0", "300"]):
        req = {"files": {"main.py": FORK_CHAIN_MAIN,
                         "chain": {"content": fork_chain_b64, "encoding": "base64"}},
               "entry_point": "main.py", "args": [pause_us], "timeout_s": 10}
        resp = ran(rb, req)
        assert resp["status"] == "ok", short(resp)
        if resp["stdout"] == "blocked 13\n":
            return   # EACCES: a layer keeps the workspace from running programs
        # (EAGAIN here would be an earlier run's chain holding the uid's processes.)
        assert resp["stdout"] == "spawned True\n", short(resp)
        pid = chain_seen(1.0)
        if pid:
            pytest.fail(f"[{rb.reh.name}] run {i} (pause {pause_us} us): a chain of forks "
                        f"outlived the response (pid {pid} seen)")
        # Its dead incarnations still count against the uid's RLIMIT_NPROC until
        # an init that reaps late (this VM's) takes them: wait, or the next run
        # could not start its chain.
        deadline = time.monotonic() + 15
        while chain_seen(0.0, zombies=True) and time.monotonic() < deadline:
            time.sleep(0.2)


def test_timeout_kills_the_tree(rb):
    tok = "rbplattoken" + os.urandom(8).hex()
    rb.marks.append(tok)
    resp = ran(rb, py("""
        import os, subprocess, time
        subprocess.Popen(["sleep", "64"])
        subprocess.Popen(["bash", "-c", "while :; do sleep 1; done", os.environ["TOKEN"]])
        time.sleep(30)
    """, env={"TOKEN": tok}, timeout_s=1), status="timeout", exit_code=124)
    assert resp["duration_ms"] < 3500, resp["duration_ms"]


# ------------------------------------------------------------------ workspace

def test_workspace_removed(rb):
    resp = ran(rb, py("""
        import os
        os.makedirs("deep/er/est", exist_ok=True)
        open("deep/er/est/f", "w").write("x")
        os.symlink("/etc", "link")
        os.mkfifo("fifo")
        open("output/a.txt", "w").write("A")
        print(os.getcwd())
    """), status="ok")
    ws = resp["stdout"].strip()
    assert ws.startswith(str(rb.workdir) + "/runbox-") or ws.startswith("/"), ws
    assert resp["artifacts"] == {"a.txt": "A"}, resp
    assert not os.path.exists(os.path.join(str(rb.workdir), os.path.basename(ws)))
    assert os.listdir(rb.workdir) == []


# ------------------------------------------------------------------ real programs still work

def test_workloads_still_run(rb):
    resp = ran(rb, py("""
        import numpy as np, subprocess, sys, threading, multiprocessing as mp, sqlite3, tempfile
        print(np.linalg.solve([[3.0, 1.0], [1.0, 2.0]], [9.0, 8.0]).round(6).tolist())
        print(subprocess.run([sys.executable, "-c", "print(5)"], capture_output=True, text=True).stdout.strip())
        ts = [threading.Thread(target=sum, args=(range(1000),)) for _ in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        with mp.get_context("fork").Pool(4) as p:
            print(p.map(abs, [-1, -2, -3, -4]))
        c = sqlite3.connect("x.db"); c.execute("create table t(a)"); print(c.execute("select 1").fetchone())
        with tempfile.TemporaryDirectory() as d:
            print(bool(d))
    """), status="ok")
    assert resp["stdout"] == "[2.0, 3.0]\n5\n[1, 2, 3, 4]\n(1,)\nTrue\n", short(resp)


# ------------------------------------------------- runbox itself under attack

def test_program_cannot_kill_runbox_through_a_pidfd(rb):
    """A pidfd opened from /proc/<runbox> must not let the program signal runbox
    (without a pid namespace seccomp refuses pidfd_send_signal outright)."""
    if "seccomp" not in rb.reh.available:
        pytest.skip("no seccomp and the same uid: the program can signal runbox "
                    "(README, AWS Lambda row)")
    rc, resp, err = rb.run(py("""
        import os, signal
        try:
            fd = os.open(f"/proc/{os.getppid()}", os.O_RDONLY)
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            print("sent")
        except OSError as e:
            print("refused", e.errno)
    """))
    assert rc == 0 and "exit_code" in resp, (rc, resp, err[-1000:])
    # In a pid namespace the parent is runbox's init, which the kernel shields
    # from its namespace's signals; runbox answered, which is the point.
    if resp["sandbox"]["seccomp"] and "pid" not in resp["sandbox"]["namespaces"]:
        assert resp["stdout"].startswith("refused"), short(resp)


def test_mcp_program_cannot_kill_the_server(rb):
    """runbox mcp runs each call in a forked child: without a pid namespace
    the program can find the server's pid, and seccomp must refuse to signal
    it as it refuses runbox's own (Landlock's signal scoping off here, so
    that seccomp alone is tested)."""
    stdin_only("runbox mcp, started by the test")
    if "seccomp" not in rb.reh.available:
        pytest.skip("no seccomp and the same uid: the program can signal runbox "
                    "(README, AWS Lambda row)")
    prefix = list(rb.reh.prefix)
    if rb.reh.name == "azure":
        prefix = prefix[:1] + ["--no-landlock"] + prefix[1:]
    code = textwrap.dedent("""
        import os, signal
        server = int(open(f"/proc/{os.getppid()}/stat").read().rsplit(")", 1)[1].split()[1])
        for target in (server, -server):
            try:
                os.kill(target, signal.SIGKILL)
                print("sent", target)
            except OSError as e:
                print("refused", e.errno)
    """)
    lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18"}},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "run_python", "arguments": {"code": code}}},
             {"jsonrpc": "2.0", "id": 3, "method": "ping"}]
    p = subprocess.run(prefix + [str(rb.argv()[len(rb.reh.prefix)]), "mcp"],
                       input="".join(json.dumps(m) + "\n" for m in lines).encode(),
                       capture_output=True, env=rb.env(), timeout=120)
    # The ping may be answered while the call runs: matched by id.
    replies = {r["id"]: r for r in map(json.loads, p.stdout.splitlines())}
    assert p.returncode == 0 and sorted(replies) == [1, 2, 3], (p.returncode, p.stderr[-1500:])
    result = replies[2]["result"]["structuredContent"]
    if "pid" not in result["sandbox"]["namespaces"]:
        assert "sent" not in result["stdout"] and "refused" in result["stdout"], result


def start_server(rb, extra):
    """A `runbox serve` of the test's own under the rehearsal: (process, port, /api/info)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = rb.env(extra)
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    srv = subprocess.Popen(rb.argv(["serve", "--port", str(port)]), env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(400):
        try:
            return srv, port, http_json(port, "GET", "/api/info")[1]
        except OSError:
            time.sleep(0.05)
    srv.kill()
    srv.wait()
    pytest.fail("the server did not answer")


def http_json(port, method, path, body=None, timeout=60):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        return r.status, json.loads(body) if "json" in (r.getheader("Content-Type") or "") else body
    finally:
        c.close()


def stop_server(srv):
    srv.terminate()
    assert srv.wait(timeout=30) == 0
    return srv.stderr.read()


def test_serve_runs_one_at_a_time_where_runs_share_the_uid(rb):
    """Under the Lambda profile (no subreaper, no pid namespace, no uid drop)
    a run's clean-up kills every process of the uid started after it: two
    runs at once would kill each other.  Without a user namespace (Azure)
    every run's processes count in runbox's uid's one RLIMIT_NPROC, which
    runs at once could not share.  Either way serve takes one at a time."""
    stdin_only("the test starts a server of its own, as it does in stdin mode")
    srv, _, info = start_server(rb, {"RUNBOX_CONCURRENCY": "4"})
    err = stop_server(srv)
    want = 1 if rb.reh.name == "lambda" or shares_uid(rb.reh) else 4
    assert info["serve"]["concurrency"] == want, info
    if rb.reh.name == "lambda":
        assert b"kills every process of runbox's uid" in err, err
    elif shares_uid(rb.reh):
        assert b"count in one RLIMIT_NPROC" in err, err


FORK_BOMB = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


def test_served_runs_get_their_max_procs_beside_a_fork_bomb(rb):
    """A server asked for two runs at once: a run allowed N processes starts N
    while another run is in progress (warm where the rehearsal has templates),
    and after a fork bomb, which is contained: the server answers meanwhile and
    the next run still gets its N."""
    from concurrent.futures import ThreadPoolExecutor
    stdin_only("the test starts a server of its own, as it does in stdin mode")
    srv, port, info = start_server(rb, {"RUNBOX_CONCURRENCY": "2", "RUNBOX_MAX_PROCS": "12"})
    ok = False
    try:
        for _ in range(300):  # templates ready, where there are any
            w = http_json(port, "GET", "/api/info")[1]["warm"]
            if not rb.warm_expected or all(w[k]["state"] == "ready" for k in ("stack", "bare")):
                break
            time.sleep(0.1)
        run = lambda req: http_json(port, "POST", "/api/run", rb.mark(req))
        with ThreadPoolExecutor(4) as pool:
            sleeper = pool.submit(run, py("import time; time.sleep(2); print('slept')"))
            time.sleep(0.3)
            forker = pool.submit(run, py(FORK_TO_LIMIT, timeout_s=20))
            st, resp = sleeper.result(timeout=120)
            assert st == 200 and resp["stdout"] == "slept\n", (rb.reh.name, st, short(resp))
            st, resp = forker.result(timeout=120)
            assert st == 200 and started_n(resp, 12), (rb.reh.name, st, short(resp))
            if rb.warm_expected:
                assert resp["start"] == "warm", short(resp)
            bomb = pool.submit(run, py(FORK_BOMB, timeout_s=3))
            time.sleep(1)
            st, health = http_json(port, "GET", "/api/health", timeout=10)
            assert (st, health) == (200, b"OK"), (st, health)
            after = pool.submit(run, py(FORK_TO_LIMIT, timeout_s=20))
            st, resp = bomb.result(timeout=120)
            assert st == 200 and resp["status"] == "timeout", (st, short(resp))
            st, resp = after.result(timeout=120)
            assert st == 200 and started_n(resp, 12), (rb.reh.name, st, short(resp))
        ok = True
    finally:
        if ok:
            stop_server(srv)
        else:
            srv.kill()
            srv.wait()


def test_program_dies_with_runbox(rb):
    """If runbox is killed, the program it started does not keep running."""
    stdin_only("the test SIGKILLs the runbox process of one request")
    tok = "rbplatdie" + os.urandom(8).hex()
    body = json.dumps(py("import time\ntime.sleep(30)", timeout_s=60, env={"TOKEN": tok})).encode()
    p = subprocess.Popen(rb.argv(["stdin"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=rb.env(), cwd=str(rb.tmp))
    p.stdin.write(body)
    p.stdin.close()
    deadline = time.monotonic() + 5
    while not proc_hits([tok]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc_hits([tok]), "the program never started"
    p.kill()
    p.wait()
    deadline = time.monotonic() + 2
    while proc_hits([tok]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = proc_hits([tok])
    for pid, _ in left:
        os.kill(pid, 9)
    if rb.reh.name == "lambda":
        # No pid namespace and PR_SET_PDEATHSIG refused: nothing can tie the
        # program to runbox there (README, AWS Lambda row).
        assert left, "expected the documented Lambda limitation"
    else:
        assert not left, f"[{rb.reh.name}] the program outlived runbox: {left}"
    # runbox could not clean up after SIGKILL; the test does, so the fixture's
    # empty-work-dir check stays about runbox's own runs.
    import shutil
    for d in rb.workdir.glob("runbox-*"):
        shutil.rmtree(d, ignore_errors=True)
