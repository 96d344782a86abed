"""Dependencies fetched by runbox from a package index (RUNBOX_INDEX_URL):
served by tests/helpers/simple_index.py on loopback, in PEP 503 HTML and
PEP 691 JSON, with and without PEP 658 .metadata files, over HTTP and HTTPS
with a test CA.  Every wheel is verified, unpacked confined, compiled, and
downloaded once per instance."""

import concurrent.futures
import json
import os
import pathlib
import sys
import time

import pytest

import wheels as W
from conftest import AS, NOBODY, binary, tree_digest
from test_install import attack

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import simple_index as SI  # noqa: E402

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def wheels_dir(env):
    d = env.root / "index-wheels"
    d.mkdir()
    mk = W.make_wheel
    w = {}
    w["alpha"] = mk(d, "idx-alpha", "1.0", requires=["idx-beta>=1"],
                    extras={"fast": ["idx-gamma"]})
    w["beta1"] = mk(d, "idx-beta", "1.0")
    w["beta2"] = mk(d, "idx-beta", "2.0")
    w["gamma"] = mk(d, "idx-gamma", "0.5")
    w["beta9"] = mk(d, "beta", "9.0")
    w["hashbad"] = mk(d, "hashbad", "1.0")
    w["nohash"] = mk(d, "nohash", "1.0")
    w["winonly"] = mk(d, "winonly", "1.0", tag="cp311-cp311-win_amd64")
    w["yanky1"] = mk(d, "yanky", "1.0")
    w["yanky2"] = mk(d, "yanky", "2.0")
    w["newpy1"] = mk(d, "newpy", "1.0")
    w["newpy2"] = mk(d, "newpy", "2.0", requires_python=">=3.99")
    w["big"] = mk(d, "big", "1.0", files={"big/__init__.py": "",
                                           "big/blob.bin": os.urandom(2 * MiB)})
    w["bomb"] = mk(d, "idxbomb", "1.0", files={"idxbomb/__init__.py": "",
                                                "idxbomb/zeros.bin": b"\0" * (60 * MiB)})
    w["slow"] = mk(d, "slowpkg", "1.0")
    w["slowish"] = mk(d, "slowish", "1.0")
    w["trunc"] = mk(d, "truncpkg", "1.0", files={"truncpkg/__init__.py": "",
                                                  "truncpkg/blob.bin": os.urandom(MiB)})
    w["metalie"] = mk(d, "metalie", "1.0", requires=["idx-gamma"])
    w["conc"] = mk(d, "concpkg", "1.0")
    for name in ("evict-a", "evict-b", "evict-c"):
        w[name] = mk(d, name, "1.0", files={f"{name.replace('-', '_')}/__init__.py": "",
                                            f"{name.replace('-', '_')}/blob.bin":
                                            os.urandom(300 * 1024)})
    w["other"] = mk(d, "otherhost", "1.0")
    w["secret"] = mk(d, "secretpkg", "1.0")
    return w


def fill(ix, w, d):
    for k in ("alpha", "beta1", "beta2", "gamma", "beta9", "winonly", "yanky1", "newpy1",
              "big", "bomb", "conc", "evict-a", "evict-b", "evict-c", "secret"):
        ix.add(w[k])
    ix.add(w["hashbad"], hash="wrong")
    ix.add(w["nohash"], hash="missing")
    ix.add(w["yanky2"], yanked=True)
    ix.add(w["newpy2"], requires_python=">=3.99")
    ix.add(w["slow"], delay=20)
    ix.add(w["slowish"], delay=2)
    ix.add(w["trunc"], truncate=True)
    ix.add(w["metalie"], metadata_bytes=b"Metadata-Version: 2.1\nName: metalie\nVersion: 1.0\n")
    ix.add_bytes("sdistonly", "sdistonly-1.0.tar.gz", b"not a wheel")
    return ix


@pytest.fixture(scope="module")
def index(env, wheels_dir):
    ix = fill(SI.Index(fmt="negotiate"), wheels_dir, env.root).start()
    yield ix
    ix.stop()


@pytest.fixture(scope="module")
def tls(env):
    d = env.root / "tls"
    d.mkdir()
    return SI.make_ca(str(d))


_states = iter(range(10000))


def fresh_state(env):
    return env.home / f"idx-state-{next(_states)}"


def run(env, deps, script="pass", url=None, state=None, extra=None, cache=None, timeout=60,
        timeout_s=None):
    e = {"RUNBOX_INDEX_URL": url, "RUNBOX_LOG": "off"}
    e.update(extra or {})
    req = {"script": script, "dependencies": deps}
    if timeout_s:
        req["timeout_s"] = timeout_s
    return env.run(req, cache=cache, state=state or fresh_state(env), env=e, timeout=timeout)


def trees(state):
    site = pathlib.Path(state) / "index" / "site"
    return sorted(p.name for p in site.iterdir() if not p.name.startswith(".")) \
        if site.exists() else []


def leftovers(state):
    site = pathlib.Path(state) / "index" / "site"
    return [p.name for p in site.iterdir() if p.name.startswith((".tmp-", ".evict-"))] \
        if site.exists() else []


# ---- what a request gets ----------------------------------------------------

def test_fetched_package_with_dependencies_and_extras(env, index):
    state = fresh_state(env)
    script = ("import idx_alpha, idx_beta, idx_gamma\n"
              "print(idx_alpha.VERSION, idx_beta.VERSION, idx_gamma.VERSION)\n"
              "print(idx_beta.__cached__)")
    rc, resp = run(env, ["idx-alpha[fast]"], script, url=index.url, state=state)
    assert rc == 0 and resp["status"] == "ok", resp
    out = resp["stdout"].splitlines()
    assert out[0] == "1.0 2.0 0.5", resp
    deps = {d["name"]: d for d in resp["dependencies"]}
    assert set(deps) == {"idx-alpha", "idx-beta", "idx-gamma"}, resp
    assert all(d["source"] == "index" and d["fetch_ms"] > 0 for d in deps.values()), resp
    # Compiled when unpacked, in the read-only tree the program imports from.
    pyc = pathlib.Path(out[1])
    assert pyc.is_file() and pyc.stat().st_mode & 0o777 == 0o444, out
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01  # unchecked hash
    tree = state / "index" / "site" / trees(state)[0]
    owner = 0 if AS == "root" else NOBODY
    assert all(p.stat().st_uid == owner for p in [tree, *tree.rglob("*")])
    assert {p.stat().st_mode & 0o777 for p in tree.rglob("*")} <= {0o755, 0o444}
    assert leftovers(state) == []
    # Once on the instance: the next request makes no network call.
    before = sum(index.hits.values())
    rc, resp = run(env, ["idx-alpha[fast]"], script, url=index.url, state=state)
    assert rc == 0 and resp["stdout"].splitlines()[0] == "1.0 2.0 0.5", resp
    assert all(d["source"] == "index" and "fetch_ms" not in d for d in resp["dependencies"])
    assert sum(index.hits.values()) == before


def test_html_index_without_metadata_files(env, wheels_dir):
    ix = SI.Index(fmt="html").start()
    try:
        for k in ("alpha", "beta1", "beta2", "gamma"):
            ix.add(wheels_dir[k], metadata=False)
        rc, resp = run(env, ["idx-alpha"], "import idx_alpha, idx_beta; print(idx_beta.VERSION)",
                       url=ix.url)
        assert rc == 0 and resp["stdout"] == "2.0\n", resp
        assert not any(p.endswith(".metadata") for p in ix.hits), ix.hits
        # The requirements came from the wheel itself, downloaded once.
        assert ix.downloads(wheels_dir["beta2"].name) == 1
        assert ix.downloads(wheels_dir["beta1"].name) == 0
    finally:
        ix.stop()


def test_the_cache_is_preferred(env, index):
    before = dict(index.hits)
    rc, resp = run(env, ["beta"], "import beta; print(beta.VERSION)", url=index.url,
                   cache=env.cache)
    assert rc == 0 and resp["stdout"] == "2.5.post1\n", resp
    assert resp["dependencies"] == [{"name": "beta", "version": "2.5.post1", "source": "cache"}]
    assert dict(index.hits) == before  # never asked
    rc, resp = run(env, ["beta>=9"], "import beta; print(beta.VERSION)", url=index.url,
                   cache=env.cache)
    assert rc == 0 and resp["stdout"] == "9.0\n", resp
    assert resp["dependencies"][0]["source"] == "index"


def test_preinstalled_packages_are_not_replaced(env, index):
    rc, resp = run(env, ["pip"], url=index.url)
    assert rc == 0 and resp["dependencies"][0]["source"] == "preinstalled", resp
    assert index.hits["/simple/pip/"] == 0


def test_an_unknown_name(env, index):
    rc, resp = run(env, ["no-such-project"], url=index.url)
    assert rc == 2 and resp["code"] == "dependency_not_found", resp
    assert "package index" in resp["error"], resp


# ---- what is refused --------------------------------------------------------

@pytest.mark.parametrize("dep,code,words", [
    ("hashbad", "wheel_hash_mismatch", "sha256"),
    ("nohash", "wheel_hash_missing", "sha256"),
    ("sdistonly", "no_compatible_wheel", "source distributions"),
    ("winonly", "no_compatible_wheel", "win_amd64"),
    ("idxbomb", "wheel_zip_bomb", "idxbomb"),
])
def test_refusals(env, index, dep, code, words):
    state = fresh_state(env)
    rc, resp = run(env, [dep], url=index.url, state=state)
    assert rc in (1, 2) and resp["code"] == code, resp
    assert words in resp["error"] and dep in resp["error"], resp
    assert "127.0.0.1" in resp["error"] or code != "wheel_hash_mismatch", resp
    assert trees(state) == [] and leftovers(state) == []


def test_yanked_files_only_when_pinned(env, index):
    rc, resp = run(env, ["yanky"], "import yanky; print(yanky.VERSION)", url=index.url)
    assert rc == 0 and resp["stdout"] == "1.0\n", resp
    rc, resp = run(env, ["yanky==2.0"], "import yanky; print(yanky.VERSION)", url=index.url)
    assert rc == 0 and resp["stdout"] == "2.0\n", resp
    rc, resp = run(env, ["yanky>1"], url=index.url)
    assert rc == 2 and resp["code"] == "dependency_not_found", resp
    assert "yanked" in resp["error"], resp


def test_requires_python_is_honoured_before_downloading(env, index, wheels_dir):
    rc, resp = run(env, ["newpy"], "import newpy; print(newpy.VERSION)", url=index.url)
    assert rc == 0 and resp["stdout"] == "1.0\n", resp
    assert index.downloads(wheels_dir["newpy2"].name) == 0
    assert index.hits[f"/files/{wheels_dir['newpy2'].name}.metadata"] == 0


def test_wheel_over_the_byte_budget(env, index):
    state = fresh_state(env)
    rc, resp = run(env, ["big"], url=index.url, state=state,
                   extra={"RUNBOX_INDEX_MAX_BYTES": str(MiB)})
    assert rc == 2 and resp["code"] == "index_budget_exceeded", resp
    assert "RUNBOX_INDEX_MAX_BYTES" in resp["error"], resp
    assert trees(state) == [] and leftovers(state) == []
    rc, resp = run(env, ["big"], "import big", url=index.url, state=state)
    assert rc == 0, resp


def test_slow_server_past_the_timeout(env, index):
    state = fresh_state(env)
    t = time.monotonic()
    rc, resp = run(env, ["slowpkg"], url=index.url, state=state, timeout_s=2)
    assert rc == 1 and resp["code"] == "index_timeout", resp
    assert "slowpkg" in resp["error"] and "127.0.0.1" in resp["error"], resp
    assert time.monotonic() - t < 12  # the request's 2 s, not the server's 20
    assert trees(state) == [] and leftovers(state) == []


def test_download_time_counts_against_the_timeout(env, index):
    """The program gets what fetching left of timeout_s; with the wheel on the
    instance it has the whole of it."""
    state = fresh_state(env)
    script = "import time, slowish; time.sleep(6.5); print('done')"
    rc, resp = run(env, ["slowish"], script, url=index.url, state=state, timeout_s=8)
    assert rc == 0 and resp["status"] == "timeout", resp
    assert resp["dependencies"][0]["fetch_ms"] >= 2000, resp
    rc, resp = run(env, ["slowish"], script, url=index.url, state=state, timeout_s=8)
    assert rc == 0 and resp["status"] == "ok" and resp["stdout"] == "done\n", resp


def test_truncated_download(env, index):
    state = fresh_state(env)
    rc, resp = run(env, ["truncpkg"], url=index.url, state=state)
    assert rc == 1 and resp["code"] == "download_truncated", resp
    assert trees(state) == [] and leftovers(state) == []


def test_metadata_file_must_match_the_wheel(env, index):
    state = fresh_state(env)
    rc, resp = run(env, ["metalie"], url=index.url, state=state)
    assert rc == 1 and resp["code"] == "index_metadata_mismatch", resp
    assert trees(state) == [] and leftovers(state) == []


def test_index_down_the_cache_still_serves(env):
    down = "http://127.0.0.1:9/simple/"
    rc, resp = run(env, ["alpha"], "import alpha", url=down, cache=env.cache)
    assert rc == 0 and resp["dependencies"][0]["source"] == "cache", resp
    rc, resp = run(env, ["idx-gamma"], url=down, cache=env.cache)
    assert rc == 1 and resp["code"] == "index_unreachable", resp
    assert "idx-gamma" in resp["error"] and "127.0.0.1:9" in resp["error"], resp


# ---- credentials ------------------------------------------------------------

def test_credentials_go_to_the_index_only_and_are_never_shown(env, wheels_dir):
    secret = "s3cr3t-token-value"
    files = SI.Index().start()
    ix = SI.Index(auth=SI.basic("ci", secret)).start()
    try:
        ix.add(wheels_dir["secret"])
        ix.add(wheels_dir["other"], host=files, metadata=False)
        files.add(wheels_dir["other"], metadata=False)
        state = fresh_state(env)
        extra = {"RUNBOX_INDEX_TOKEN": f"ci:{secret}", "RUNBOX_LOG": "debug"}
        p_ok = env.sub([str(binary())], input=json.dumps(
            {"script": "import secretpkg, otherhost", "dependencies": ["secretpkg", "otherhost"]}),
            env=dict(base_env(env, state), RUNBOX_INDEX_URL=ix.url, **extra), timeout=60)
        assert json.loads(p_ok.stdout)["exit_code"] == 0, p_ok.stdout
        assert all(h == SI.basic("ci", secret) for _, h in ix.authorization), ix.authorization
        assert files.authorization and all(h is None for _, h in files.authorization)
        # A wrong token: refused, and the answer and log never show either.
        p_bad = env.sub([str(binary())], input=json.dumps(
            {"script": "pass", "dependencies": ["nosuch"]}),
            env=dict(base_env(env, fresh_state(env)), RUNBOX_INDEX_URL=ix.url,
                     RUNBOX_INDEX_TOKEN="ci:wrong-" + secret, RUNBOX_LOG="debug"), timeout=60)
        bad = json.loads(p_bad.stdout)
        assert bad["code"] == "index_http_error" and "401" in bad["error"], bad
        # user:password in the URL works the same and is shown nowhere either.
        url = ix.url.replace("http://", f"http://ci:{secret}@")
        p_url = env.sub([str(binary())], input=json.dumps(
            {"script": "import secretpkg", "dependencies": ["secretpkg"]}),
            env=dict(base_env(env, fresh_state(env)), RUNBOX_INDEX_URL=url,
                     RUNBOX_LOG="debug"), timeout=60)
        assert json.loads(p_url.stdout)["exit_code"] == 0, p_url.stdout
        for p in (p_ok, p_bad, p_url):
            assert secret not in p.stdout and secret not in p.stderr
            assert "ci:" not in p.stdout and "ci:" not in p.stderr
    finally:
        ix.stop()
        files.stop()


def test_bearer_token(env, wheels_dir):
    ix = SI.Index(auth="Bearer tok-123").start()
    try:
        ix.add(wheels_dir["secret"])
        rc, resp = run(env, ["secretpkg"], "import secretpkg", url=ix.url,
                       extra={"RUNBOX_INDEX_TOKEN": "tok-123"})
        assert rc == 0, resp
    finally:
        ix.stop()


def base_env(env, state):
    e = {"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(env.work),
         "RUNBOX_STATE_DIR": str(state)}
    if AS == "root":
        from conftest import SANDBOX_UID
        e["RUNBOX_UID"] = e["RUNBOX_GID"] = str(SANDBOX_UID)
    return e


# ---- one instance, many requests ------------------------------------------

def test_ten_concurrent_requests_download_once(env, index, wheels_dir):
    state = fresh_state(env)

    def one(_):
        return run(env, ["concpkg"], "import concpkg; print(concpkg.VERSION)", url=index.url,
                   state=state)

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        results = list(ex.map(one, range(10)))
    for rc, resp in results:
        assert rc == 0 and resp["stdout"] == "1.0\n", resp
    assert index.downloads(wheels_dir["conc"].name) == 1
    assert index.hits[f"/files/{wheels_dir['conc'].name}.metadata"] == 1
    assert index.hits["/simple/concpkg/"] == 1
    assert sum("fetch_ms" in r["dependencies"][0] for _, r in results) == 1
    assert trees(state) == [t for t in trees(state) if t.startswith("concpkg-1.0-")]


def test_least_recently_used_trees_are_evicted(env, index, wheels_dir):
    state = fresh_state(env)
    budget = {"RUNBOX_INDEX_CACHE_BYTES": str(800 * 1024)}
    for name in ("evict-a", "evict-b"):
        rc, resp = run(env, [name], url=index.url, state=state, extra=budget)
        assert rc == 0, resp
    rc, resp = run(env, ["evict-a"], url=index.url, state=state, extra=budget)  # a is fresher
    assert rc == 0 and "fetch_ms" not in resp["dependencies"][0], resp
    rc, resp = run(env, ["evict-c"], url=index.url, state=state, extra=budget)
    assert rc == 0, resp
    assert [t.split("-1.0-")[0] for t in trees(state)] == ["evict-a", "evict-c"]
    # What was evicted comes back on demand, by its recorded URL and sha256.
    rc, resp = run(env, ["evict-b"], "import evict_b", url=index.url, state=state, extra=budget)
    assert rc == 0 and resp["dependencies"][0]["fetch_ms"] > 0, resp
    assert index.downloads(wheels_dir["evict-b"].name) == 2
    assert index.hits["/simple/evict-b/"] == 1  # resolved from index.json, not the page


def test_a_tree_in_use_is_not_evicted(env, index):
    state = fresh_state(env)
    budget = {"RUNBOX_INDEX_CACHE_BYTES": "1"}
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        slow = ex.submit(run, env, ["evict-a"],
                         "import time, evict_a, os; time.sleep(3); "
                         "print(os.path.exists(evict_a.__file__))",
                         url=index.url, state=state, extra=budget)
        time.sleep(1.5)
        rc, resp = run(env, ["evict-b"], url=index.url, state=state, extra=budget)
        assert rc == 0, resp
        rc, resp = slow.result()
    assert rc == 0 and resp["stdout"] == "True\n", resp


def test_program_cannot_change_fetched_trees(env, index, wheels_dir):
    state = fresh_state(env)
    rc, resp = run(env, ["idx-gamma"], "import idx_gamma", url=index.url, state=state)
    assert rc == 0, resp
    site = state / "index" / "site"
    before = tree_digest(site)
    # attack() aims at alpha from the baked cache; point it at the fetched tree.
    attack(env, env.cache, site / trees(state)[0],
           state=state)
    assert tree_digest(site) == before


# ---- HTTPS ------------------------------------------------------------------

def test_https_verified_against_the_configured_ca(env, wheels_dir, tls):
    ca, cert, key = tls
    ix = SI.Index(tls=(cert, key)).start()
    try:
        ix.add(wheels_dir["gamma"])
        rc, resp = run(env, ["idx-gamma"], "import idx_gamma", url=ix.url,
                       extra={"RUNBOX_INDEX_CA": ca})
        assert rc == 0 and resp["dependencies"][0]["source"] == "index", resp
        # The system's bundle does not know the test CA: refused, never unverified.
        rc, resp = run(env, ["idx-gamma"], url=ix.url)
        assert rc == 1 and resp["code"] == "index_tls_failed", resp
        assert "127.0.0.1" in resp["error"], resp
        # Nor does a bundle that holds another CA.
        other = env.root / "tls-other"
        other.mkdir(exist_ok=True)
        other_ca = SI.make_ca(str(other))[0]
        rc, resp = run(env, ["idx-gamma"], url=ix.url, extra={"RUNBOX_INDEX_CA": other_ca})
        assert rc == 1 and resp["code"] == "index_tls_failed", resp
        # Plain HTTP to a TLS port is not a way around it.
        rc, resp = run(env, ["idx-gamma"], url=ix.url.replace("https:", "http:"))
        assert rc == 1 and resp["code"].startswith(("index_", "download_")), resp
    finally:
        ix.stop()


# ---- configuration ------------------------------------------------------------

def test_a_bad_index_url_is_refused_at_start(env):
    rc, resp = run(env, ["x"], url="ftp://user:hunter2@example.com/simple/")
    assert rc == 1 and resp["code"] == "invalid_config", resp
    assert "hunter2" not in json.dumps(resp)


# ---- bake --index ------------------------------------------------------------

def test_bake_from_an_index(env, index):
    req = env.root / "requirements.txt"
    req.write_text("# the closure of idx-alpha with its extra\n"
                   "idx-alpha[fast]  # inline comment\n"
                   'yanky ; python_version >= "3"\n'
                   'winonly ; sys_platform == "win32"\n')
    cache = env.home / "index-baked"
    p = env.sub([str(binary()), "bake", "--index", index.url, "-r", str(req), str(cache)],
                env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    baked = {e["name"]: e["version"] for e in
             json.loads((cache / "index.json").read_text())["packages"]}
    assert baked == {"idx-alpha": "1.0", "idx-beta": "2.0", "idx-gamma": "0.5", "yanky": "1.0"}
    assert not [x for x in cache.iterdir() if x.name.startswith(".index-wheels")]
    rc, resp = env.run({"script": "import idx_alpha, idx_gamma; print(idx_alpha.VERSION)",
                        "dependencies": ["idx-alpha[fast]"]}, cache=cache)
    assert rc == 0 and resp["stdout"] == "1.0\n", resp
    assert {d["source"] for d in resp["dependencies"]} == {"cache"}
    # --lazy keeps the verified wheels in CACHE_DIR/wheels/ (what `make image INDEX=` bakes).
    lazy = env.home / "index-baked-lazy"
    p = env.sub([str(binary()), "bake", "--lazy", "--index", index.url, "-r", str(req),
                 str(lazy)], env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert sorted(x.name.split("-")[0] for x in (lazy / "wheels").iterdir()) == [
        "idx_alpha", "idx_beta", "idx_gamma", "yanky"]


def test_bake_from_an_index_refuses_what_it_cannot_serve(env, index):
    req = env.root / "requirements-bad.txt"
    for text, words in (("sdistonly\n", "source distributions"),
                        ("--hash=sha256:abc\n", "line 1"),
                        ("idx-alpha\nno-such-project\n", "no-such-project")):
        req.write_text(text)
        p = env.sub([str(binary()), "bake", "--index", index.url, "-r", str(req),
                     str(env.home / "never-baked")], env={"PATH": "/usr/bin:/bin"})
        assert p.returncode == 2 and words in p.stderr, (text, p.stderr)
