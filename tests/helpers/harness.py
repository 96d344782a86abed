"""What every black-box suite shares: the binary under test, who runs it,
one request over stdin, the checks made after each test, and the
assertions on an answer.  Each suite's conftest.py adds only its own
fixtures and configuration; a test file imports from its conftest.

  * binary(): RUNBOX_BIN (default build/runbox, relative to the repository);
    snapshot(): a copy of it per pytest session in /tmp, which an
    unprivileged user can execute and a rebuild cannot change, and whose
    path no other suite's processes run from.
  * Identity: root, or an unprivileged uid (65534 unless the suite's *_UID
    variable names another) through setpriv, chosen by the suite's *_AS
    variable.
  * Runbox: runs one request in stdin mode and returns the exit status,
    the one JSON line of the answer, and runbox's stderr; marks each
    request's env so that the processes it started can be found.  With
    RUNBOX_VIA=serve it sends the request to a long-lived `runbox serve`
    with warm templates instead (tests/helpers/served.py), and what cannot
    mean the same through a server is skipped with stdin_only(reason).
  * proc_scan(), survivors(), unclean_workdir(): the leftover check: no
    process of the test outlives it, the work dir is left empty.
  * short(), check_sanitizers(), assert_ran(), assert_refused(): answer
    assertions.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import namedtuple

import pytest

import served

REPO = pathlib.Path(__file__).resolve().parents[2]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NOBODY = 65534
KiB = 1024
MiB = 1024 * KiB
# "not given", where None is a value a test may pass.
MISSING = object()
STATUSES = {"ok", "error", "timeout", "cpu_limit", "file_size_limit", "memory_limit",
            "blocked_syscall", "killed"}
# How Runbox.run() reaches runbox: "stdin" (one process per request) or
# "serve" (one long-lived server per runbox environment, warm templates on).
VIA = os.environ.get("RUNBOX_VIA", "stdin")
if VIA not in ("stdin", "serve"):
    raise RuntimeError(f"RUNBOX_VIA must be stdin or serve, not {VIA!r}")


def stdin_only(reason):
    """Skip the calling test when requests go to a server (RUNBOX_VIA=serve):
    @reason says why it cannot mean the same there."""
    if VIA == "serve":
        pytest.skip(f"RUNBOX_VIA=serve: {reason}")


_CANARIES = {}


def canary(prefix):
    """A secret for runbox's own environment: new per call in stdin mode, one
    per @prefix and session with RUNBOX_VIA=serve (where runbox's environment
    is the session's server's)."""
    if VIA == "serve":
        return _CANARIES.setdefault(prefix, prefix + uuid.uuid4().hex)
    return prefix + uuid.uuid4().hex


@pytest.fixture(scope="session", autouse=True)
def served_servers():
    """Stops the session's servers (RUNBOX_VIA=serve) and fails on what
    their own checks find.  A suite's conftest imports it."""
    yield
    problems = served.POOL.stop_all()
    if problems:
        pytest.fail("\n".join(problems))


# ---------------------------------------------------------------------------
# The binary under test
# ---------------------------------------------------------------------------

def binary():
    """RUNBOX_BIN as an absolute path (relative ones are under the repository)."""
    b = pathlib.Path(os.environ.get("RUNBOX_BIN", "build/runbox"))
    return b if b.is_absolute() else REPO / b


def require(path):
    """Fail the test when @path is not an executable binary."""
    if not os.access(path, os.X_OK):
        pytest.fail(f"runbox binary not found at {path} (make, or set RUNBOX_BIN)")
    return path


_COPIES = {}


def snapshot(prefix):
    """The session's copy of binary() in /tmp/@prefix*/runbox (made on first
    use, removed by remove_snapshots()); fails the test when there is no
    binary to copy."""
    if prefix not in _COPIES:
        b = require(binary())
        d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(d, 0o755)
        copy = pathlib.Path(d) / "runbox"
        shutil.copy2(b, copy)
        os.chmod(copy, 0o755)
        _COPIES[prefix] = copy
    return _COPIES[prefix]


def remove_snapshots():
    """Remove every copy made in this session (call from pytest_unconfigure)."""
    for copy in _COPIES.values():
        shutil.rmtree(copy.parent, ignore_errors=True)
    _COPIES.clear()


# ---------------------------------------------------------------------------
# Who runs runbox
# ---------------------------------------------------------------------------

def setpriv(uid):
    """The argv prefix that runs a command as @uid/@uid with no groups."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


class Identity:
    """root or nobody, from the suite's @as_var (default root); nobody's uid
    from @uid_var (default 65534), so that suites run side by side can
    each have a uid of their own."""

    def __init__(self, as_var, uid_var=None):
        self.name = os.environ.get(as_var, "root")
        if self.name not in ("root", "nobody"):
            raise RuntimeError(f"{as_var} must be root or nobody, not {self.name!r}")
        self.uid = int(os.environ.get(uid_var, NOBODY)) if uid_var else NOBODY

    @property
    def unprivileged(self):
        return self.name == "nobody"

    def argv(self, argv):
        """@argv run as this identity."""
        return setpriv(self.uid) + list(argv) if self.unprivileged else list(argv)

    def tmpdir(self, prefix, mode=0o755):
        """A new directory under /tmp that this identity owns."""
        return owned_tmpdir(prefix, self.uid if self.unprivileged else None, mode)


def owned_tmpdir(prefix, uid=None, mode=0o755):
    """A new directory /tmp/@prefix*, given to @uid (when not None) with @mode."""
    d = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if uid is not None:
        os.chown(d, uid, uid)
    os.chmod(d, mode)
    return d


# ---------------------------------------------------------------------------
# Leftovers: processes that outlived the test, files left in the work dir
# ---------------------------------------------------------------------------

Hit = namedtuple("Hit", "pid uid cmd")
WHERE = ("environ", "cmdline", "cwd")


def read_bytes(path, n=1 << 20):
    """The first @n bytes of @path, b"" when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _status(pid):
    """(uid, zombie) of @pid from /proc/PID/status; uid None when gone."""
    uid, zombie = None, False
    for line in read_bytes(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"Uid:"):
            uid = int(line.split()[1])
        elif line.startswith(b"State:"):
            zombie = b"Z" in line.split()[1:2]
    return uid, zombie


def _blob(pid, where):
    parts = []
    for w in where:
        if w == "cwd":
            try:
                parts.append(os.readlink(f"/proc/{pid}/cwd").encode())
            except OSError:
                pass
        else:
            parts.append(read_bytes(f"/proc/{pid}/{w}"))
    return b"\n".join(parts)


def proc_scan(needles, uid=None, skip=(), where=WHERE):
    """[Hit(pid, uid, cmd)] of the live processes (not this one, not those in
    @skip, not zombies) whose @where (/proc/PID/environ, cmdline, and the
    cwd link) holds one of @needles (str or bytes), or that run as @uid
    when it is given."""
    me = os.getpid()
    bneedles = [n.encode() if isinstance(n, str) else n for n in needles if n]
    hits = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me or int(d) in skip:
            continue
        u, zombie = _status(d)
        if zombie:
            continue  # a zombie runs nothing; reaping it is its parent's business
        blob = _blob(d, where)
        if any(n in blob for n in bneedles) or (uid is not None and u == uid):
            cmd = read_bytes(f"/proc/{d}/cmdline").replace(b"\0", b" ").decode(errors="replace")
            if u is None and not cmd:
                continue  # gone meanwhile
            hits.append(Hit(int(d), u, cmd))
    return hits


def survivors(needles, grace, what="the response", **scan):
    """Problems for the processes proc_scan(@needles, **@scan) still finds
    after @grace seconds; they are killed."""
    deadline = time.monotonic() + grace
    hits = proc_scan(needles, **scan)
    while hits and time.monotonic() < deadline:
        time.sleep(0.05)
        hits = proc_scan(needles, **scan)
    for hit in hits:
        try:
            os.kill(hit.pid, signal.SIGKILL)
        except OSError:
            pass
    return [f"processes outlived {what}: {hits}"] if hits else []


def unclean_workdir(workdir):
    """A problem when @workdir holds anything."""
    left = sorted(os.listdir(workdir))
    return [f"work dir not cleaned: {left}"] if left else []


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer", "UndefinedBehaviorSanitizer")


def check_sanitizers(stderr_text):
    """Under the ASan/UBSan build, any sanitizer report on runbox's stderr fails the test."""
    for m in SANITIZER_MARKS:
        assert m not in stderr_text, f"sanitizer report on runbox's stderr:\n{stderr_text[-4000:]}"


def short(resp, n=2000):
    """@resp as JSON (a str as is), cut to @n characters for a message."""
    s = resp if isinstance(resp, str) else json.dumps(resp)
    return s if len(s) <= n else s[:n] + "..."


def one_json_line(out, errtext, rc):
    """The answer on stdout: exactly one line of JSON, parsed."""
    assert out.endswith(b"\n") and out.count(b"\n") == 1, (
        f"stdout is not exactly one line (exit {rc}): {out[:1000]!r}\nstderr: {errtext[-3000:]}")
    try:
        return json.loads(out)
    except ValueError as e:
        raise AssertionError(f"stdout is not JSON ({e}): {out[:1000]!r}\nstderr: {errtext[-3000:]}")


def assert_ran(rc, resp, err, status=MISSING, exit_code=MISSING):
    """runbox ran the program (exit 0, a status); with the given status and exit code."""
    assert rc == 0, f"runbox exit {rc}: {short(resp)}\nstderr: {err[-2000:]}"
    assert resp.get("status") in STATUSES, short(resp)
    if status is not MISSING:
        assert resp["status"] == status, f"status {resp['status']!r} != {status!r}: {short(resp)}"
    if exit_code is not MISSING:
        assert resp["exit_code"] == exit_code, (
            f"exit_code {resp['exit_code']} != {exit_code}: {short(resp)}")
    return resp


def assert_refused(rc, resp, code, field=MISSING):
    """A refusal: exit 2 and exactly the contract's error object with @code;
    @field, when given, is the expected "field" or a predicate on it."""
    assert resp.get("code") == code, f"expected refusal {code!r}, got {short(resp)}"
    assert rc == 2, f"runbox exit {rc} for refusal {code}"
    assert set(resp) <= {"error", "code", "field"}, f"unexpected keys in refusal {set(resp)}"
    assert isinstance(resp["error"], str) and resp["error"].strip()
    if field is MISSING:
        return resp
    if callable(field):
        assert "field" in resp and field(resp["field"]), f"bad field in {short(resp)}"
    else:
        assert resp.get("field") == field, f"field {resp.get('field')!r} != {field!r}: {short(resp)}"
    return resp


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------

class Runbox:
    """runbox in stdin mode, one process per request, with a private work dir.

    @prefix goes before the binary in argv (setpriv, a platform simulator),
    @args after it; @env is runbox's own environment (the work dir, PATH and
    log level are added); @secrets must never appear on stdout; @cwd is
    where runbox starts (default: the parent of the work dir).  Each request
    whose env is an object with room for one more variable gets a marker in
    @mark_name, kept in `marks` for the leftover check.
    """

    mark_name = "RBTEST_MARK"
    mark_prefix = "rbmark"
    timeout = 60
    ensure_ascii = False
    # RUNBOX_VIA=serve: whether the server's warm templates are on (else
    # /api/info's warm must say "off" and why, and every run starts cold),
    # and which servers it must not share its uid with (served.Pool.get).
    warm_expected = True
    serve_alone = None

    def __init__(self, workdir, binpath=None, prefix=(), args=(), env=None, secrets=(),
                 cwd=MISSING, log="info"):
        self.bin = binpath or binary()
        self.workdir = pathlib.Path(workdir)
        self.prefix = list(prefix)
        self.args = list(args)
        self.env_base = {"PATH": PATH, "RUNBOX_WORK_DIR": str(self.workdir), "RUNBOX_LOG": log}
        self.env_base.update(env or {})
        self.secrets = [s.encode() for s in secrets]
        self.cwd = self.workdir.parent if cwd is MISSING else cwd
        self.marks = []
        self.responses = []
        self.last_elapsed = self.last_stdout = self.last_pid = None
        self.last_stderr = ""

    def base_env(self, extra=None):
        env = dict(self.env_base)
        env.update(extra or {})
        return env

    def argv(self, args=()):
        return self.prefix + [str(self.bin)] + list(args)

    def new_mark(self):
        m = self.mark_prefix + uuid.uuid4().hex
        self.marks.append(m)
        return m

    def mark(self, req):
        """@req with a new marker in its env, when there is room for one."""
        if not isinstance(req, dict):
            return req
        env = req.get("env", {})
        if not isinstance(env, dict) or len(env) >= 64 or self.mark_name in env:
            return req
        return dict(req, env=dict(env, **{self.mark_name: self.new_mark()}))

    def _communicate(self, argv, body, env, timeout, cwd, req=None, mark=False):
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.base_env(env),
                             cwd=None if cwd is None else str(cwd), start_new_session=True)
        self.last_pid = p.pid
        if req is not None:
            req = req(p.pid) if callable(req) else req
            req = self.mark(req) if mark else req
            body = self.encode(req)
        try:
            out, err = p.communicate(bytes(body), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise AssertionError(f"runbox {argv[len(self.prefix) + 1:]} did not answer within "
                                 f"{timeout}s; stdout={out[:500]!r} stderr={err[-2000:]!r}")
        self.last_elapsed = time.monotonic() - t0
        self.last_stderr = err.decode("utf-8", errors="replace")
        check_sanitizers(self.last_stderr)
        self.check_stderr(self.last_stderr)
        for s in self.secrets:
            assert s not in out, f"a secret of runbox's own environment leaked: {out[:3000]!r}"
        return p.returncode, out, err

    def encode(self, req):
        if isinstance(req, (bytes, bytearray)):
            return bytes(req)
        return json.dumps(req, ensure_ascii=self.ensure_ascii).encode("utf-8")

    def check_stderr(self, errtext):
        """A suite's own check of runbox's stderr (none by default)."""

    def run(self, req, env=None, timeout=None, mark=True):
        """Run one request: a dict, bytes, or a callable that takes runbox's
        pid (the server's with RUNBOX_VIA=serve) and returns one.  Returns
        (exit status, answer, stderr)."""
        if VIA == "serve":
            return self._served_run(req, env, timeout or self.timeout, mark)
        rc, out, _ = self._communicate(self.argv(self.args), b"", env,
                                       timeout or self.timeout, self.cwd, req, mark)
        self.last_stdout = out
        resp = one_json_line(out, self.last_stderr, rc)
        self.responses.append(resp)
        return rc, resp, self.last_stderr

    def server(self, env=None):
        """RUNBOX_VIA=serve: the session's server for runbox's environment
        with @env, started as this Runbox would start runbox."""
        full = self.base_env(env)
        if any(k in (env or {}) for k in served.PER_INSTANCE):
            stdin_only("a work or state dir of one request is one process's place, "
                       "not a server's")
        warm = self.warm_expected and full.get("RUNBOX_SANDBOX") != "off" and \
            full.get("RUNBOX_WARM") != "off"
        return served.POOL.get(self.bin, self.prefix, full, os.stat(self.workdir).st_uid, warm,
                               self.serve_alone)

    def prepare(self):
        """With RUNBOX_VIA=serve, start the suite's server now, so that no
        test times its start (a suite's fixture calls this)."""
        if VIA == "serve":
            self.server()

    def work_dir(self, env=None):
        """The work dir runbox has: this Runbox's, or with RUNBOX_VIA=serve
        that of the server for runbox's environment with @env."""
        return self.server(env).workdir if VIA == "serve" else self.workdir

    def state_dir(self, env=None):
        """RUNBOX_STATE_DIR as runbox has it (the server's, with
        RUNBOX_VIA=serve), a pathlib.Path."""
        full = self.server(env).env if VIA == "serve" else self.base_env(env)
        return pathlib.Path(full["RUNBOX_STATE_DIR"])

    def concurrency(self):
        """The runs runbox takes at once: 1 in stdin mode, the server's
        (/api/info's serve.concurrency) with RUNBOX_VIA=serve."""
        return self.server().info()["serve"]["concurrency"] if VIA == "serve" else 1

    def address_space_limit(self, resp, limit, kind):
        """The RLIMIT_AS the program of @resp had, for a memory limit of
        @limit: a warm run's is @limit plus the address space of the
        template it was made from, @kind "stack" or "bare" (pkg/run/README.md,
        Memory)."""
        if resp.get("start") != "warm":
            return limit
        return limit + self.server().info()["warm"][kind]["vsize_kb"] * 1024

    def _served_run(self, req, env, timeout, mark):
        srv = self.server(env)
        req = req(srv.proc.pid) if callable(req) else req
        req = self.mark(req) if mark else req
        t0 = time.monotonic()
        try:
            status, out, log = srv.post(self.encode(req), timeout)
        except OSError as e:  # socket.timeout included
            raise AssertionError(f"runbox serve did not answer within {timeout}s ({e}):\n"
                                 + srv.log_text())
        self.last_elapsed = time.monotonic() - t0
        self.last_pid, self.last_stdout, self.last_stderr = srv.proc.pid, out, log
        check_sanitizers(log)
        self.check_stderr(log)
        for s in self.secrets:
            assert s not in out, f"a secret of runbox's own environment leaked: {out[:3000]!r}"
        try:
            resp = json.loads(out)
        except ValueError as e:
            raise AssertionError(f"HTTP {status}: the body is not JSON ({e}): {out[:1000]!r}\n"
                                 f"log: {log[-3000:]}")
        assert isinstance(resp, dict), f"HTTP {status}: not an object: {out[:1000]!r}"
        self.responses.append(resp)
        self.check_start(srv, req, resp, log)
        return served.exit_status(status, resp), resp, log

    def start_log(self):
        """What runbox logged at start: the last request's stderr in stdin
        mode, the server's lines until it was ready with RUNBOX_VIA=serve."""
        return self.server().start_log if VIA == "serve" else self.last_stderr

    def check_start(self, srv, req, resp, log):
        """A served Python run that the templates cover starts warm (cold
        when the server's warm is off); what warm may not serve faithfully
        (served.warm_covers()) is not checked."""
        if "status" not in resp:
            return
        if not srv.warm_expected:
            assert resp.get("start") == "cold", f"warm is off, yet: {short(resp)}"
        elif served.warm_covers(req, srv.warm):
            assert resp.get("start") == "warm", (
                f"a Python run the templates cover started {resp.get('start')!r}: "
                f"{short(resp, 600)}\nlog: {log[-2000:]}")

    def cli(self, args, cwd=None, env=None, timeout=60, stdin=b""):
        """runbox with @args; returns the CompletedProcess (bytes)."""
        stdin_only("a command-line invocation of runbox, not a request a server answers")
        rc, out, err = self._communicate(self.argv(args), stdin, env, timeout, cwd or self.cwd)
        return subprocess.CompletedProcess(self.argv(args), rc, out, err)

    def survivor_problems(self, grace, needles=(), skip=(), **scan):
        """Problems: processes holding a marker, a secret or one of @needles
        after @grace seconds (see survivors()); the session's servers, which
        hold runbox's own environment, are not survivors."""
        needles = self.marks + [s.decode() for s in self.secrets] + list(needles)
        skip = list(skip) + served.POOL.holders()
        return survivors(needles, grace, skip=skip, **scan)

    def workdir_problems(self, grace=1.0):
        """Anything left in the work dir, and with RUNBOX_VIA=serve in a
        server's after @grace seconds (a server removes a workspace after
        it answers); extra servers beyond the few kept are stopped."""
        problems = unclean_workdir(self.workdir)
        if VIA == "serve":
            problems += served.POOL.workdir_problems(grace) + served.POOL.trim()
        return problems

    def leftovers(self, grace, needles=(), **scan):
        """survivor_problems() and workdir_problems()."""
        return self.survivor_problems(grace, needles, **scan) + self.workdir_problems(grace)
