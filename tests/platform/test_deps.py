"""Dependencies from a baked cache under each rehearsal (nonroot, azure,
lambda): the trees import, lazily baked wheels are extracted into the state
directory the platform lets runbox write, and what keeps a program from
changing them is exactly what the README's table says for that platform."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ran, runbox_bin

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "deps"))
import wheels  # noqa: E402  (the dependency suite's wheel writer)

WRITE = r'''
import os, sys
target = sys.argv[1]
path = os.path.join(target, "platpkg", "__init__.py")
try:
    os.chmod(path, 0o644)  # the trees are 0444: a determined program tries this first
    open(path, "a").write("#\n")
    print("written")
except OSError as e:
    print("refused", e.errno)
'''


@pytest.fixture(scope="module")
def caches():
    """The caches, in a directory of /tmp that uid 65534 (the rehearsals' runbox) can
    read.  Not below pytest's temporary root: every pytest session of root that starts
    (another suite's, beside this one) makes /tmp/pytest-of-root 0700 again, and a server
    started after that finds its cache unreadable (invalid_cache)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="rbplat-deps-", dir="/tmp"))
    os.chmod(root, 0o755)
    try:
        yield bake_caches(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bake_caches(root):
    wd = root / "wheels"
    wd.mkdir()
    wheels.make_wheel(wd, "platpkg", "1.0", requires=["platdep>=2"])
    wheels.make_wheel(wd, "platdep", "2.1")
    out = {}
    for kind, args in (("baked", []), ("lazy", ["--lazy"])):
        cache = root / kind
        p = subprocess.run([str(runbox_bin()), "bake", *args, str(wd), str(cache)],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        out[kind] = cache
    return out


def request(tree_root):
    return {"script": WRITE + "import platpkg, platdep; print(platpkg.VERSION, platdep.VERSION)",
            "args": [str(tree_root)], "dependencies": ["platpkg"]}


def test_baked_cache_imports_and_stays_unchanged(rb, caches):
    cache = caches["baked"]
    resp = ran(rb, request(cache / "site" / "platpkg-1.0"),
               env={"RUNBOX_CACHE_DIR": str(cache)}, status="ok")
    # Baked by root: the program's uid (65534) has no write permission anywhere.
    assert resp["stdout"].split("\n")[0].startswith("refused"), resp
    assert resp["stdout"].split("\n")[1] == "1.0 2.1"
    assert resp["dependencies"] == [{"name": "platpkg", "version": "1.0", "source": "cache"},
                                    {"name": "platdep", "version": "2.1", "source": "cache"}]


def test_lazy_trees_land_in_the_state_dir(rb, caches):
    cache = caches["lazy"]
    env = {"RUNBOX_CACHE_DIR": str(cache)}
    state = rb.state_dir(env)
    tree = state / "site" / "platpkg-1.0"
    resp = ran(rb, request(tree), env=env, status="ok")
    lines = resp["stdout"].split("\n")
    assert lines[1] == "1.0 2.1"
    assert tree.is_dir() and (state / "site" / "platdep-2.1").is_dir()
    sb = resp["sandbox"]
    protected = "mount" in sb.get("namespaces", []) or bool(sb.get("landlock"))
    if protected:
        assert lines[0].startswith("refused"), resp
    else:
        # No mount namespace and no Landlock (Lambda): the tree belongs to the
        # program's own uid.  The README says so; this pins the documented gap.
        assert lines[0] == "written", resp
