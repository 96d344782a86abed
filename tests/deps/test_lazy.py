"""Lazily baked wheels: extracted on first use into the state directory,
atomically, once, and never left half-done."""

import concurrent.futures
import json
import os
import pathlib
import shutil
import tempfile

import pytest

from conftest import AS, NOBODY, binary, index, tree_digest
from test_install import attack


@pytest.fixture(scope="module")
def lazy(env):
    cache = env.home / "lazy-cache"
    p = env.bake(env.good, cache, lazy=True)
    assert p.returncode == 0, p.stderr
    assert all(x["lazy"] for x in index(cache)["packages"])
    return cache


def fresh_state(env, name):
    """A state directory no other test used: its site/ starts empty."""
    return env.home / name


def test_first_use_extracts_then_reuses(env, lazy):
    state = fresh_state(env, "state-reuse")
    rc, resp = env.run({"script": "import alpha, beta; print(alpha.__file__)",
                        "dependencies": ["alpha"]}, cache=lazy, state=state)
    assert rc == 0, resp
    assert resp["stdout"] == f"{state}/site/alpha-1.0/alpha/__init__.py\n"
    assert sorted(p.name for p in (state / "site").iterdir() if not p.name.startswith(".")) == \
        ["alpha-1.0", "beta-2.5.post1"]
    ino = (state / "site" / "alpha-1.0").stat().st_ino
    rc, resp = env.run({"script": "import alpha", "dependencies": ["alpha"]}, cache=lazy,
                       state=state)
    assert rc == 0, resp
    assert (state / "site" / "alpha-1.0").stat().st_ino == ino
    assert not list((state / "site").glob(".tmp-*"))


def test_compiled_extension_lazily(env, lazy):
    rc, resp = env.run({"script": "import fastmath; print(fastmath.triple(5))",
                        "dependencies": ["fastmath"]}, cache=lazy, state=env.home / "state-c")
    assert rc == 0 and resp["stdout"] == "15\n", resp


def test_concurrent_first_uses_see_whole_trees(env, lazy):
    state = fresh_state(env, "state-concurrent")
    script = "import alpha, beta, gamma, beta_util; print(alpha.VERSION, beta_util.VERSION)"

    def one(_):
        return env.run({"script": script, "dependencies": ["alpha[fast]"]}, cache=lazy,
                       state=state)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(one, range(6)))
    for rc, resp in results:
        assert rc == 0 and resp["stdout"] == "1.0 4.0\n", resp
    names = sorted(p.name for p in (state / "site").iterdir() if not p.name.startswith(".lock"))
    assert names == ["alpha-1.0", "beta-2.5.post1", "beta-util-4.0", "gamma-0.3"]


def test_failed_extraction_leaves_nothing(env, lazy):
    broken = env.home / "lazy-broken"
    shutil.copytree(lazy, broken)
    wheel = broken / "wheels" / "epsilon-1.1-py3-none-any.whl"
    wheel.chmod(0o644)
    data = bytearray(wheel.read_bytes())
    data[60:90] = b"X" * 30  # inside the first entry's data: a CRC or inflate error
    wheel.write_bytes(bytes(data))
    if AS == "nobody":
        os.system(f"chown -R {NOBODY}:{NOBODY} {broken}")
    state = fresh_state(env, "state-broken")
    rc, resp = env.run({"script": "import epsilon", "dependencies": ["epsilon"]}, cache=broken,
                       state=state)
    assert rc == 1 and resp["code"] == "cache_extract_failed", resp
    # The wheel's own reason follows, once (it was formatted over itself).
    err = resp["error"]
    assert err.startswith("Extracting epsilon-1.1 from the wheel cache failed: "), resp
    assert err.count("Extracting") == 1, resp
    assert "epsilon" in err[len("Extracting epsilon-1.1 from the wheel cache failed: "):], resp
    left = [p.name for p in (state / "site").iterdir() if not p.name.startswith(".lock")]
    assert left == []


def test_program_cannot_change_lazy_trees(env, lazy):
    state = fresh_state(env, "state-attack")
    rc, resp = env.run({"script": "import alpha", "dependencies": ["alpha"]}, cache=lazy,
                       state=state)
    assert rc == 0, resp
    before = tree_digest(state / "site")
    attack(env, lazy, state / "site" / "alpha-1.0", state=state)
    assert tree_digest(state / "site") == before


def test_leftover_of_a_killed_extraction_is_cleared(env, lazy):
    """A runbox killed mid-extraction leaves site/.tmp-<tree>; the next
    extraction of that tree (under the lock) removes it first."""
    state = fresh_state(env, "state-leftover")
    rc, resp = env.run({"script": "pass", "dependencies": ["epsilon"]}, cache=lazy, state=state)
    assert rc == 0, resp
    junk = state / "site" / ".tmp-leaf03-1.0"
    env.sub(["mkdir", "-p", str(junk / "leaf03")])
    env.sub(["sh", "-c", f"echo half > {junk}/leaf03/__init__.py"])
    assert (junk / "leaf03" / "__init__.py").exists()
    rc, resp = env.run({"script": "import leaf03; print(leaf03.VERSION)",
                        "dependencies": ["leaf03"]}, cache=lazy, state=state)
    assert rc == 0 and resp["stdout"] == "1.0\n", resp
    assert not junk.exists()


def test_planted_symlinks_in_site_are_not_followed(env, lazy):
    """Symlinks planted (by the uid runbox runs as) at a tree's temporary
    name and at the tree's own name are removed, never written through."""
    state = fresh_state(env, "state-planted")
    decoy = env.home / "decoy"
    env.sub(["mkdir", "-p", "-m", "700", str(state)])
    env.sub(["mkdir", "-p", str(state / "site"), str(decoy)])
    env.sub(["sh", "-c", f"echo keep > {decoy}/canary && chmod 700 {decoy}"])
    env.sub(["ln", "-s", str(decoy), str(state / "site" / ".tmp-leaf05-1.0")])
    env.sub(["ln", "-s", str(decoy), str(state / "site" / "leaf05-1.0")])
    rc, resp = env.run({"script": "import leaf05; print(leaf05.VERSION)",
                        "dependencies": ["leaf05"]}, cache=lazy, state=state)
    assert rc == 0 and resp["stdout"] == "1.0\n", resp
    tree = state / "site" / "leaf05-1.0"
    assert tree.is_dir() and not tree.is_symlink()
    assert not (state / "site" / ".tmp-leaf05-1.0").exists()
    assert sorted(p.name for p in decoy.iterdir()) == ["canary"]
    assert (decoy / "canary").read_text() == "keep\n"
    assert decoy.stat().st_mode & 0o777 == 0o700


def test_planted_site_symlink_is_refused(env, lazy):
    """A symlink planted as site/ itself: a runbox fault, and its target's
    mode is not touched (it used to be chmod()ed to 0755 through it)."""
    state = fresh_state(env, "state-site-link")
    decoy = env.home / "decoy-site"
    env.sub(["mkdir", "-p", "-m", "700", str(state), str(decoy)])
    env.sub(["chmod", "700", str(decoy)])
    env.sub(["ln", "-s", str(decoy), str(state / "site")])
    rc, resp = env.run({"script": "pass", "dependencies": ["leaf06"]}, cache=lazy, state=state)
    assert rc != 0 and resp["code"] == "cache_extract_failed", resp
    assert "RUNBOX_STATE_DIR/site" in resp["error"], resp
    assert decoy.stat().st_mode & 0o777 == 0o700
    assert list(decoy.iterdir()) == []


def test_lazy_trees_ignore_the_umask(env, lazy):
    """Trees are extracted 0755/0444 whatever umask runbox was started
    with (with 077 a program running as another uid could not read them)."""
    state = fresh_state(env, "state-umask")
    e = {"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(env.work),
         "RUNBOX_STATE_DIR": str(state), "RUNBOX_LOG": "off", "RUNBOX_CACHE_DIR": str(lazy)}
    req = json.dumps({"script": "pass", "dependencies": ["alpha"]})
    env.sub(["sh", "-c", 'umask 077; exec "$0"', str(binary())], input=req, env=e, timeout=60)
    tree = state / "site" / "alpha-1.0"
    modes = {p.relative_to(tree).as_posix(): p.stat().st_mode & 0o777
             for p in [tree, *tree.rglob("*")]}
    assert modes["."] == 0o755 and modes["alpha"] == 0o755, modes
    assert modes["alpha/__init__.py"] == 0o444, modes
    assert all(m in (0o755, 0o555, 0o444) for m in modes.values()), modes


def test_lazy_trees_import_with_the_state_dir_outside_tmp(env, lazy):
    # Outside /tmp the state directory is not hidden by the run's private
    # /tmp: the tree must still be reachable (the state directory itself is
    # 0700, runbox's own) and readable under Landlock.
    base = pathlib.Path(tempfile.mkdtemp(prefix="runbox-deps-state-", dir="/var/tmp"))
    try:
        os.chmod(base, 0o755)
        if AS == "nobody":
            os.chown(base, NOBODY, NOBODY)
        state = base / "state"
        rc, resp = env.run({"script": "import alpha, beta; print(alpha.VERSION, beta.__name__)",
                            "dependencies": ["alpha"]}, cache=lazy, state=state)
        assert rc == 0 and resp["stdout"] == "1.0 beta\n", resp
        # And again, from the tree that is there now.
        rc, resp = env.run({"script": "import alpha; print(alpha.__file__)",
                            "dependencies": ["alpha"]}, cache=lazy, state=state)
        assert rc == 0 and resp["stdout"] == f"{state}/site/alpha-1.0/alpha/__init__.py\n", resp
    finally:
        shutil.rmtree(base, ignore_errors=True)
