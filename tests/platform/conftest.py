"""Platform rehearsal harness: runbox run the way Lambda and Azure will run it.

Rehearsals (the `plat` fixture, every test runs under each):

  nonroot  runbox as uid/gid 65534 (setpriv, no groups), nothing refused by
           an outer filter: namespaces are expected exactly when this host
           lets an unprivileged user create a user namespace (measured here
           with `unshare -Ur` as 65534).
  azure    build/platform_sim --no-userns --uid 65534: a container as
           non-root, no user namespaces, seccomp/no_new_privs/Landlock allowed.
  lambda   build/platform_sim with every refusal (--no-userns --no-ns
           --no-nested-seccomp --no-nnp --no-subreaper --no-pdeathsig
           --no-landlock) --uid 65534: only rlimits, the clean environment,
           the process group and the workspace remain.

runbox gets RUNBOX_WORK_DIR and RUNBOX_STATE_DIR that uid 65534 owns, and a
canary secret (prefix CANARY_PREFIX) in its own environment that must never
appear in any response.  After every test the fixture checks that the work
dir is empty and that no process carrying a marker of the test (each
request gets one in its env) survives.

build/platform_sim must exist (tests/platform/run.sh builds it).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import NOBODY, REPO, short  # noqa: E402,F401
from harness import served_servers, stdin_only  # noqa: E402,F401 (a fixture; a skip)

CANARY_PREFIX = "rbplatcanary"
MARK = "RBPLAT_MARK"
LAYERS = ["seccomp", "landlock", "userns", "pidns", "netns", "ipcns", "utsns", "mountns",
          "no_new_privs", "uid_drop", "cgroup"]
NS_LAYERS = ["userns", "pidns", "netns", "ipcns", "utsns", "mountns"]
NS_NAMES = {"userns": "user", "pidns": "pid", "netns": "net", "ipcns": "ipc", "utsns": "uts",
            "mountns": "mount"}
SETPRIV = harness.setpriv(NOBODY)
LAMBDA_FLAGS = ["--no-userns", "--no-ns", "--no-nested-seccomp", "--no-nnp", "--no-subreaper",
                "--no-pdeathsig", "--no-landlock"]


def runbox_bin():
    return harness.binary()


def sim_bin():
    b = pathlib.Path(os.environ.get("PLATFORM_SIM", "build/platform_sim"))
    return b if b.is_absolute() else REPO / b


_userns_ok = None


def host_allows_unprivileged_userns():
    global _userns_ok
    if _userns_ok is None:
        p = subprocess.run(SETPRIV + ["unshare", "-Ur", "true"], capture_output=True)
        _userns_ok = p.returncode == 0
    return _userns_ok


class Rehearsal:
    def __init__(self, name, prefix, available):
        self.name = name
        self.prefix = prefix
        self.available = set(available)   # layers `runbox check` must report available

    @property
    def missing(self):
        return [l for l in LAYERS if l not in self.available]

    def expected_sandbox(self):
        a = self.available
        return {
            "enabled": True,
            "seccomp": "seccomp" in a,
            "landlock": "landlock" in a,           # True: an object, False: false
            "namespaces": [NS_NAMES[l] for l in NS_LAYERS if l in a],
            "no_new_privs": "no_new_privs" in a,
            "uid_drop": "uid_drop" in a,
            "network": False,
            "cgroup": False,  # an unprivileged runbox makes no control groups here
        }


def rehearsal(name):
    if name == "nonroot":
        avail = {"seccomp", "landlock", "no_new_privs"}
        if host_allows_unprivileged_userns():
            avail |= set(NS_LAYERS)
        return Rehearsal(name, SETPRIV, avail)
    if name == "azure":
        return Rehearsal(name, [str(sim_bin()), "--no-userns", "--uid", str(NOBODY), "--"],
                         {"seccomp", "landlock", "no_new_privs"})
    if name == "lambda":
        return Rehearsal(name, [str(sim_bin())] + LAMBDA_FLAGS + ["--uid", str(NOBODY), "--"],
                         set())
    raise ValueError(name)


REHEARSALS = ["nonroot", "azure", "lambda"]


def proc_hits(needles):
    """[(pid, cmdline)] of live processes whose environ, cmdline or cwd holds a needle."""
    return [(h.pid, h.cmd) for h in harness.proc_scan(needles)]


class Runbox(harness.Runbox):
    """runbox under the rehearsal @reh, with a work dir and a state dir
    that uid 65534 owns in @tmp.  The canary's prefix may appear in no
    answer, no log and no process after the test."""

    mark_name = MARK
    mark_prefix = "rbplatmark"

    def __init__(self, reh, tmp):
        self.reh = reh
        self.tmp = tmp
        self.statedir = tmp / "state"
        self.canary = harness.canary(CANARY_PREFIX)
        # Served (RUNBOX_VIA=serve), warm is on by default only where a run
        # gets a pid namespace or a seccomp filter that keeps it off the
        # templates: not in the Lambda rehearsal.
        self.warm_expected = bool({"pidns", "seccomp"} & reh.available)
        # Without a subreaper or a pid namespace a run's clean-up kills every
        # process of runbox's uid: such a server must be the uid's only one.
        # The others share 65534's RLIMIT_NPROC with no other rehearsal's.
        self.serve_alone = "uid" if "--no-subreaper" in reh.prefix else "prefix"
        # `stdin` named: with AWS_LAMBDA_RUNTIME_API set, plain runbox would
        # pick the Lambda loop (auto mode); the variable stays, to show it leaks nowhere.
        super().__init__(tmp / "work", prefix=reh.prefix, args=["stdin"], secrets=[CANARY_PREFIX],
                         cwd=tmp, env={"RUNBOX_STATE_DIR": str(self.statedir),
                                       "RUNBOX_TEST_CANARY": self.canary,
                                       "AWS_SECRET_ACCESS_KEY": self.canary + "aws",
                                       "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})

    def env(self, extra=None):
        return self.base_env(extra)

    def check_stderr(self, errtext):
        assert "platform_sim:" not in errtext, errtext

    def check(self, env=None):
        p = self.cli(["check"], env=env)
        return p.returncode, json.loads(p.stdout), p.stderr.decode(errors="replace")


def ran(rb, req, status=None, exit_code=None, **kw):
    """Run a request that must run; its "sandbox" may name no layer the rehearsal refuses
    (the exact object is test_sandbox_object_lists_only_what_was_applied's business)."""
    rc, resp, err = rb.run(req, **kw)
    assert rc == 0 and "status" in resp, f"[{rb.reh.name}] exit {rc}: {short(resp)}\n{err[-1500:]}"
    over = overclaimed(rb.reh, resp["sandbox"])
    assert not over, f"[{rb.reh.name}] sandbox claims refused layers {over}: {resp['sandbox']}"
    if status is not None:
        st = status if isinstance(status, (set, tuple, list)) else {status}
        assert resp["status"] in st, f"[{rb.reh.name}] status {resp['status']!r}: {short(resp)}"
    if exit_code is not None:
        assert resp["exit_code"] == exit_code, f"[{rb.reh.name}] {short(resp)}"
    return resp


def overclaimed(reh, sb):
    """Layers the response claims although the rehearsal's platform refuses them."""
    want = reh.expected_sandbox()
    over = []
    for k in ("seccomp", "no_new_privs", "uid_drop"):
        if sb.get(k) and not want[k]:
            over.append(k)
    if sb.get("landlock") and not want["landlock"]:
        over.append("landlock")
    over += [n for n in sb.get("namespaces", []) if n not in want["namespaces"]]
    if sb.get("network"):
        over.append("network")
    return over


def sized_max_procs(memory_bytes=1 << 30, concurrency=1):
    """The process limit runbox sizes without a memory control group: as many
    processes of RUNBOX_MEMORY_BYTES as the machine's memory (or the limit of
    the group the test runs in) holds for @concurrency runs, from 8 to 64."""
    total = 0
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    own = 0
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        for f in ([f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"] if ctrl == "memory" else
                  [f"/sys/fs/cgroup{path}/memory.max"] if ctrl == "" else []):
            try:
                v = pathlib.Path(f).read_text().strip()
            except OSError:
                continue
            if v.isdigit() and int(v) < 1 << 62:
                own = int(v)
    mem = own if own and own < total else total
    return max(8, min(64, mem // (concurrency * memory_bytes)))


def sandbox_shape(reh, got):
    """The expected sandbox object, with landlock's details taken from `got` when expected."""
    want = reh.expected_sandbox()
    if want["landlock"]:
        want["landlock"] = got["landlock"] if isinstance(got.get("landlock"), dict) else True
    return want


def pytest_collection_modifyitems(items):
    """Served (RUNBOX_VIA=serve), one rehearsal after the other: the Lambda
    rehearsal's server must be its uid's only one, and a server is
    started once per run of tests that need it."""
    if harness.VIA == "serve":
        def rehearsal_of(item):
            p = getattr(item, "callspec", None)
            name = p.params.get("plat") if p else None
            return REHEARSALS.index(name) if name in REHEARSALS else -1
        items.sort(key=rehearsal_of)


@pytest.fixture(params=REHEARSALS)
def plat(request):
    name = request.param
    if name != "nonroot" and not os.access(sim_bin(), os.X_OK):
        pytest.fail(f"{sim_bin()} missing: build it with tests/platform/run.sh "
                    "(gcc -O2 -o build/platform_sim tests/helpers/platform_sim.c -lseccomp)")
    if os.geteuid() != 0:
        pytest.skip("the platform rehearsal starts as root and drops to 65534")
    return rehearsal(name)


def zombies_of(uid):
    n = 0
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/status") as f:
                st = f.read()
        except OSError:
            continue
        if "\nState:\tZ" in st and f"\nUid:\t{uid}\t" in st:
            n += 1
    return n


def wait_for_reaped(uid, seconds=15.0):
    """Dead processes of @uid count against its RLIMIT_NPROC until their
    parent reaps them, and this VM's init reaps orphans late: a test must not
    inherit an earlier test's zombies as a process limit already reached."""
    deadline = time.monotonic() + seconds
    while zombies_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def rb(plat):
    harness.require(runbox_bin())
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rbplat-", dir="/tmp"))
    os.chmod(tmp, 0o755)
    box = Runbox(plat, tmp)
    for d in (box.workdir, box.statedir):
        d.mkdir(mode=0o700)
        os.chown(d, NOBODY, NOBODY)
    wait_for_reaped(NOBODY)
    box.prepare()
    yield box
    problems = box.leftovers(1.0)
    shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        pytest.fail(f"[{plat.name}] " + "; ".join(problems))
