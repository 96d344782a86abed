"""Every shell example in every README.md runs as pasted.

The scheme, so that READMEs stay natural to read (tests/README.md says the
same for authors):

- A fenced block whose info string is ``sh`` is an example.  The blocks of
  one README run in order, each in a fresh ``bash -e -o pipefail`` started
  in the repository root, as a reader pastes them one after the other:
  files an earlier block wrote are still there, shell variables are not.
  The root is a scratch copy (every top-level entry linked, ``build/runbox``
  the binary under test, RUNBOX_BIN), so examples may write files freely.
  As root each README gets a network namespace of its own, so a server on
  a documented port (8080) never meets another test's (unprivileged, the
  examples share the host's network).  Every block must
  exit 0: a command shown failing on purpose says so (``|| echo "exit $?"``).
- A word after ``sh`` marks a block the test cannot simply run:
    ``sh server``  starts a server that runs until stopped: the test starts
                   it in the background, waits until its port (``--port N``,
                   else 8080) listens, runs the README's later blocks
                   against it, and stops it with SIGTERM at the end;
    ``sh image``   needs a container engine and the runtime image: run when
                   podman and ``localhost/runbox:latest`` are present, else
                   syntax-checked (``bash -n``) and reported as skipped;
    ``sh cloud``   needs a cloud account or its tools (az, aws, func):
                   syntax-checked only;
    ``sh long``    builds the project or runs its suites (minutes, and make
                   test runs this suite): syntax-checked only.
- A block with the info string ``text output`` or ``json output`` right
  after an example (no other fence between) is what it prints, and is
  checked: for ``json``, each JSON value shown must be found, in order, in
  the output (stdout and stderr together), where an object matches one
  with at least its keys and equal values, a list one that starts with its
  elements, ``...`` stands for members left out and the string ``"..."``
  for any string; for ``text``, each line must equal a line of the output,
  in order, with ``...`` matching anything within a line and a line of only
  ``...`` any number of lines.
- An example without an output block must not print a refusal or a fault
  (a JSON object with ``error`` and ``code``, or a ``refused``/``fault``
  log line): that would be an example that exits 0 and still fails.

Besides running them, the suite checks that every fence says its language,
that every repository path a README names exists, that the READMEs speak of
runbox as it is (no development history), and the root README's length.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
import harness  # noqa: E402

MARKERS = {"server", "image", "cloud", "long"}
OUTPUT_LANGS = {"text", "json"}
# Fences in another shell dialect would escape the test.
FORBIDDEN_LANGS = {"bash", "shell", "console", "zsh", "shell-session"}
IMAGE = "localhost/runbox:latest"
BLOCK_TIMEOUT = 180
IMAGE_TIMEOUT = 900
ROOT_README_MAX_LINES = 350


class Block:
    def __init__(self, readme, line, lang, words, text):
        self.readme, self.line, self.lang, self.words, self.text = readme, line, lang, words, text
        self.output = None  # the output block that follows an example

    @property
    def where(self):
        return f"{self.readme.relative_to(REPO)}:{self.line}"


def readmes():
    found = []
    for d, dirs, files in os.walk(REPO):
        # node_modules: the packages `make` installs for the MCP SDK client, not ours.
        dirs[:] = sorted(x for x in dirs
                         if x not in (".git", "build", "node_modules") and not x.startswith("."))
        if "README.md" in files:
            found.append(pathlib.Path(d) / "README.md")
    return found


FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")


def fences(readme):
    """Every fenced block of @readme, in order, with its info string split."""
    lines = readme.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, tick, info = len(m.group(1)), m.group(2), m.group(3).strip()
        body, j = [], i + 1
        while j < len(lines):
            e = FENCE.match(lines[j])
            if e and len(e.group(2)) >= len(tick) and not e.group(3).strip():
                break
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        words = info.split()
        out.append(Block(readme, i + 1, words[0] if words else "", words[1:], "\n".join(body)))
        i = j + 1
    return out


def examples(readme):
    """The sh blocks of @readme, each with the output block that follows it."""
    blocks, prev = [], None
    for b in fences(readme):
        if b.lang == "sh":
            blocks.append(b)
        elif b.lang in OUTPUT_LANGS and b.words == ["output"] and prev is not None:
            if prev.lang == "sh" and prev.output is None:
                prev.output = b
        prev = b
    return blocks


ALL_EXAMPLES = [b for r in readmes() for b in examples(r)]


# ---- the scratch root each README's examples run in ------------------------


class Playground:
    """A scratch repository root, a network namespace (as root) and the
    servers started by `sh server` blocks, for one README."""

    def __init__(self, runbox):
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="rbdocs-"))
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="rbdocs-home-"))
        for entry in REPO.iterdir():
            if entry.name not in (".git", "build"):
                (self.root / entry.name).symlink_to(entry)
        (self.root / "build").mkdir()
        (self.root / "build" / "runbox").symlink_to(runbox)
        self.env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }
        self.servers = []
        self.holder = None
        self.ns = []
        if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
            self.holder = subprocess.Popen(
                ["unshare", "--net", "--", "sh", "-c",
                 "ip link set lo up && echo up && exec sleep infinity"],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            if self.holder.stdout.readline().strip() != b"up":
                raise RuntimeError("could not make a network namespace for the examples")
            self.ns = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--"]

    def argv(self, text):
        return [*self.ns, "bash", "-e", "-o", "pipefail", "-c", text]

    def run(self, block, timeout):
        p = subprocess.Popen(self.argv(block.text), cwd=self.root, env=self.env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            pytest.fail(f"{block.where}: still running after {timeout} s:\n{out.decode(errors='replace')}")
        return p.returncode, out.decode(errors="replace")

    def listening(self, port):
        pid = self.holder.pid if self.holder else "self"
        for name in ("tcp", "tcp6"):
            try:
                rows = pathlib.Path(f"/proc/{pid}/net/{name}").read_text().split("\n")[1:]
            except OSError:
                continue
            for row in rows:
                f = row.split()
                if len(f) > 3 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    return True
        return False

    def start_server(self, block):
        m = re.search(r"--port[ =](\d+)", block.text) or re.search(
            r"FUNCTIONS_CUSTOMHANDLER_PORT=(\d+)", block.text)
        port = int(m.group(1)) if m else 8080
        if self.listening(port):
            pytest.fail(f"{block.where}: port {port} is taken before the server starts")
        log = tempfile.TemporaryFile()
        p = subprocess.Popen(self.argv(block.text), cwd=self.root, env=self.env,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.servers.append(p)
        deadline = time.monotonic() + 30
        while not self.listening(port):
            if p.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"{block.where}: the server did not listen on {port} "
                            f"(exit {p.poll()}):\n{log.read().decode(errors='replace')}")
            time.sleep(0.05)

    def close(self):
        for p in self.servers:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.holder:
            self.holder.kill()
            self.holder.wait()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="session")
def playgrounds():
    """One Playground per README, the previous one closed when the next
    README's examples start (their servers stop there)."""
    runbox = harness.snapshot("rbdocs-bin-")
    current = {}

    def get(readme):
        if readme not in current:
            for pg in current.values():
                pg.close()
            current.clear()
            current[readme] = Playground(runbox)
        return current[readme]

    yield get
    for pg in current.values():
        pg.close()
    harness.remove_snapshots()


def image_available():
    if not shutil.which("podman"):
        return False
    return subprocess.run(["podman", "image", "exists", IMAGE], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


# ---- what an output block promises --------------------------------------------


def json_values(text):
    """Every top-level JSON object or array found in @text, in order."""
    dec, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                v, end = dec.raw_decode(text, i)
                out.append(v)
                i = end
                continue
            except ValueError:
                pass
        i += 1
    return out


def contains(exp, act):
    if exp == "...":
        return isinstance(act, str)
    if isinstance(exp, dict):
        return isinstance(act, dict) and all(k in act and contains(v, act[k]) for k, v in exp.items())
    if isinstance(exp, list):
        return (isinstance(act, list) and len(act) >= len(exp)
                and all(contains(e, a) for e, a in zip(exp, act)))
    return type(exp) is type(act) and exp == act or (
        isinstance(exp, (int, float)) and isinstance(act, (int, float))
        and not isinstance(exp, bool) and exp == act)


def expected_json(text):
    text = re.sub(r",\s*\.\.\.\s*(?=[}\]])", "", text)
    text = re.sub(r"(?<=[{\[])\s*\.\.\.\s*,?", "", text)
    values = json_values(text)
    assert values, "a json output block with no JSON value in it"
    return values


def check_json(expected, output):
    got, at = json_values(output), 0
    for exp in expected_json(expected):
        while at < len(got) and not contains(exp, got[at]):
            at += 1
        if at == len(got):
            return f"no JSON value in the output matches {json.dumps(exp)}"
        at += 1
    return None


def check_text(expected, output):
    got, at = [x.rstrip() for x in output.split("\n")], 0
    for line in expected.rstrip("\n").split("\n"):
        if line.strip() == "...":
            continue
        pat = re.compile(".*".join(re.escape(p) for p in line.rstrip().split("...")))
        while at < len(got) and not pat.fullmatch(got[at]):
            at += 1
        if at == len(got):
            return f"no line of the output (after the lines matched so far) is {line!r}"
        at += 1
    return None


def refusals(output):
    bad = []
    for v in json_values(output):
        if isinstance(v, dict) and (
                ("error" in v and "code" in v) or v.get("event") in ("refused", "fault")):
            bad.append(v)
    return bad


# ---- the tests -------------------------------------------------------------------


@pytest.mark.parametrize("block", ALL_EXAMPLES, ids=[b.where for b in ALL_EXAMPLES])
def test_example(block, playgrounds):
    kinds = set(block.words)
    syntax = subprocess.run(["bash", "-n", "-c", block.text], capture_output=True, text=True)
    assert syntax.returncode == 0, f"{block.where}: not valid shell:\n{syntax.stderr}"
    if kinds & {"cloud", "long"}:
        return  # syntax is all that can be checked here
    if "image" in kinds and not image_available():
        pytest.skip(f"needs podman and {IMAGE} (make image); syntax checked")
    pg = playgrounds(block.readme)
    if "server" in kinds:
        pg.start_server(block)
        return
    rc, out = pg.run(block, IMAGE_TIMEOUT if "image" in kinds else BLOCK_TIMEOUT)
    assert rc == 0, f"{block.where}: exit status {rc}:\n{out}"
    if block.output is None:
        assert not refusals(out), f"{block.where}: printed a refusal or fault:\n{out}"
        return
    check = check_json if block.output.lang == "json" else check_text
    problem = check(block.output.text, out)
    assert problem is None, (f"{block.where}: {problem}\n--- expected "
                             f"({block.output.where}):\n{block.output.text}\n--- output:\n{out}")


@pytest.mark.parametrize("readme", readmes(), ids=[str(r.relative_to(REPO)) for r in readmes()])
def test_fences_say_what_they_are(readme):
    problems = []
    prev = None
    for b in fences(readme):
        if not b.lang:
            problems.append(f"{b.where}: a fence without an info string (sh, json, text, ...)")
        elif b.lang in FORBIDDEN_LANGS:
            problems.append(f"{b.where}: '{b.lang}' block: examples are 'sh' (see this test)")
        elif b.lang == "sh" and not set(b.words) <= MARKERS:
            problems.append(f"{b.where}: unknown marker(s) {sorted(set(b.words) - MARKERS)}")
        elif b.lang == "sh" and len(b.words) > 1:
            problems.append(f"{b.where}: one marker per block, not {b.words}")
        elif "output" in b.words and (b.lang not in OUTPUT_LANGS or b.words != ["output"]):
            problems.append(f"{b.where}: an output block is 'text output' or 'json output'")
        elif "output" in b.words and (prev is None or prev.lang != "sh"):
            problems.append(f"{b.where}: an output block must follow the sh block it belongs to")
        prev = b
    assert not problems, "\n".join(problems)


# A path into the repository, as READMEs name them: `pkg/run/launch.c`, a link.
PATH_RE = re.compile(r"(?<![\w./$-])((?:pkg|cmd|tests|runtime-image|function-adapters)/[^\s`'\")\],;:#]*)")
LINK_RE = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")


def anchors(readme):
    """The fragments GitHub gives the headings of @readme."""
    out = set()
    for line in readme.read_text().split("\n"):
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def named_paths(readme):
    """(path, as named) of every repository path and relative link in @readme."""
    text = readme.read_text()
    for m in PATH_RE.finditer(text):
        name = m.group(1).rstrip("./")
        if not re.search(r"[*<>{}$]", name):  # a pattern, not a path
            yield REPO / name, name
    for m in LINK_RE.finditer(text):
        target = m.group(1)
        if target and "://" not in target and not target.startswith("mailto:"):
            yield readme.parent / target, target


def broken_anchors(readme):
    for m in LINK_RE.finditer(readme.read_text()):
        target, frag = m.group(1), m.group(2)
        if frag is None or "://" in target:
            continue
        doc = (readme.parent / target) if target else readme
        if doc.name == "README.md" and doc.exists() and frag not in anchors(doc):
            yield f"{target}#{frag}"


@pytest.mark.parametrize("readme", readmes(), ids=[str(r.relative_to(REPO)) for r in readmes()])
def test_named_paths_exist(readme):
    missing = sorted({name for path, name in named_paths(readme) if not path.exists()})
    missing += sorted(set(broken_anchors(readme)))
    assert not missing, f"{readme.relative_to(REPO)} names paths or headings that do not exist: {missing}"


HISTORY = re.compile(r"\b(?:stop \d+|issue \d+|issue's|the issue|before issue|at stop)\b", re.I)


@pytest.mark.parametrize("readme", readmes(), ids=[str(r.relative_to(REPO)) for r in readmes()])
def test_docs_describe_the_present(readme):
    hits = [f"{readme.relative_to(REPO)}:{n}: {line.strip()}"
            for n, line in enumerate(readme.read_text().split("\n"), 1) if HISTORY.search(line)]
    assert not hits, "development history belongs to git log:\n" + "\n".join(hits)


def test_root_readme_is_a_front_page():
    n = len((REPO / "README.md").read_text().split("\n"))
    assert n <= ROOT_README_MAX_LINES, f"README.md has {n} lines; the front page keeps to {ROOT_README_MAX_LINES}"
