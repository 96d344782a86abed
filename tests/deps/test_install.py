"""Installing is putting the trees on the import path: they import, with
the bytecode compiled when they were baked, nothing is written into them at
run time, and a program cannot change them."""

import sys

import wheels as W
from conftest import AS, tree_digest


def run_ok(env, deps, script, cache=None, **kw):
    rc, resp = env.run({"script": script, "dependencies": deps}, cache=cache or env.cache, **kw)
    assert rc == 0 and resp["status"] == "ok", resp
    return resp


def test_imports_from_the_trees_first_on_the_path(env):
    resp = run_ok(env, ["alpha[fast]"], "import sys, alpha, beta, gamma, beta_util\n"
                  "print(alpha.VERSION, beta.VERSION, gamma.VERSION, beta_util.VERSION)\n"
                  "print(sys.path[1])\nprint(alpha.__file__)")
    lines = resp["stdout"].splitlines()
    assert lines[0] == "1.0 2.5.post1 0.3 4.0"
    assert lines[1] == f"{env.cache}/site/alpha-1.0"
    assert lines[2] == f"{env.cache}/site/alpha-1.0/alpha/__init__.py"


def test_purelib_and_platlib_are_importable(env):
    resp = run_ok(env, ["datapkg"], "import datapkg, datapkg_plat\n"
                  "print(datapkg.WHERE, datapkg_plat.WHERE)")
    assert resp["stdout"] == "purelib platlib\n"


def test_compiled_extension(env):
    resp = run_ok(env, ["fastmath==1.2.0"], "import fastmath; print(fastmath.triple(14))")
    assert resp["stdout"] == "42\n"
    assert resp["dependencies"] == [{"name": "fastmath", "version": "1.2.0", "source": "cache"}]


def test_fifteen_dependencies(env):
    deps = [f"leaf{i:02d}" for i in range(15)]
    script = "import importlib\nprint(sum(1 for d in %r if importlib.import_module(d)))" % deps
    assert run_ok(env, deps, script)["stdout"] == "15\n"


def test_no_bytecode_is_written(env):
    before = tree_digest(env.cache)
    run_ok(env, ["alpha", "gamma"], "import alpha, gamma, beta, beta_util")
    assert tree_digest(env.cache) == before


def test_bytecode_is_baked_unchecked_and_used(env):
    """Every module has an unchecked-hash .pyc (PEP 552: flags 0b01) that
    the interpreter loads instead of compiling the source again."""
    pycs = sorted(env.cache.glob("site/alpha-1.0/alpha/__pycache__/__init__.cpython-*.pyc"))
    assert len(pycs) == 1, pycs
    data = pycs[0].read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b01
    assert pycs[0].stat().st_mode & 0o777 == 0o444
    script = ("import importlib.util, sys, alpha\n"
              "print(alpha.__spec__.loader.get_code('alpha') is not None, alpha.__cached__)")
    resp = run_ok(env, ["alpha"], script)
    assert resp["stdout"].split()[1] == str(pycs[0])
    # The source is changed under the cache's back: an unchecked .pyc still wins.
    src = env.cache / "site" / "alpha-1.0" / "alpha" / "__init__.py"
    old = src.read_bytes()
    src.chmod(0o644)
    src.write_bytes(b"VERSION = 'source'\n")
    try:
        assert run_ok(env, ["alpha"], "import alpha; print(alpha.VERSION)")["stdout"] == "1.0\n"
    finally:
        src.write_bytes(old)
        src.chmod(0o444)


def test_a_module_that_does_not_compile_is_reported_and_left(env):
    d = env.root / "badsyntax-wheels"
    d.mkdir()
    W.make_wheel(d, "badsyntax", "1.0", files={"badsyntax/__init__.py": "X = 1\n",
                                                "badsyntax/broken.py": "def (:\n"})
    p = env.bake(d, env.home / "badsyntax-cache")
    assert p.returncode == 0, p.stderr
    assert "badsyntax/broken.py" in p.stderr and "compiled at import" in p.stderr, p.stderr
    tree = env.home / "badsyntax-cache" / "site" / "badsyntax-1.0" / "badsyntax"
    assert sorted(x.name for x in (tree / "__pycache__").iterdir()) == [
        f"__init__.{sys.implementation.cache_tag}.pyc"]


# Each attack prints one line per attempt: "ok" when it changed something.
ATTACK = r'''
import os, sys, shutil
tree = sys.argv[1]
pkg = os.path.join(tree, "alpha")
def attempt(name, fn):
    try:
        fn()
        print(name, "ok")
    except OSError as e:
        print(name, type(e).__name__, e.errno)
attempt("pth", lambda: open(os.path.join(tree, "evil.pth"), "w").write("import os\n"))
attempt("replace", lambda: open(os.path.join(pkg, "__init__.py"), "w").write("VERSION='x'\n"))
attempt("append", lambda: open(os.path.join(pkg, "__init__.py"), "a").write("#\n"))
attempt("unlink", lambda: os.unlink(os.path.join(pkg, "__init__.py")))
attempt("chmod", lambda: os.chmod(os.path.join(pkg, "__init__.py"), 0o666))
attempt("chmod_dir", lambda: os.chmod(pkg, 0o777))
attempt("rename", lambda: os.rename(pkg, os.path.join(tree, "moved")))
attempt("mkdir", lambda: os.mkdir(os.path.join(tree, "newpkg")))
attempt("rmtree", lambda: shutil.rmtree(pkg))
attempt("symlink", lambda: os.symlink("/tmp", os.path.join(tree, "link")))
attempt("utime", lambda: os.utime(os.path.join(pkg, "__init__.py"), (0, 0)))
'''


def attack(env, cache, tree, **kw):
    before = tree_digest(cache)
    rc, resp = env.run({"script": ATTACK, "args": [str(tree)], "dependencies": ["alpha"]},
                       cache=cache, **kw)
    assert rc == 0, resp
    results = dict(line.split(" ", 1) for line in resp["stdout"].splitlines())
    assert len(results) == 11, resp
    for name, outcome in results.items():
        assert outcome != "ok", f"{name} succeeded in {tree} (runbox as {AS}): {resp['stdout']}"
        assert outcome.split()[0] in ("PermissionError", "OSError", "FileNotFoundError"), resp
    assert tree_digest(cache) == before
    return results


def test_program_cannot_change_the_cache(env):
    results = attack(env, env.cache, env.cache / "site" / "alpha-1.0")
    assert results["pth"].startswith(("PermissionError", "OSError 30"))


def test_dropped_pth_would_not_run_anyway(env):
    """The trees are on PYTHONPATH, not site directories: a .pth placed there
    by whoever can write the cache is not executed at start-up."""
    tree = env.cache / "site" / "epsilon-1.1"
    pth = tree / "zz-runbox-test.pth"
    tree.chmod(0o755)
    pth.write_text("import sys; print('PTH RAN')\n")
    try:
        resp = run_ok(env, ["epsilon"], "print('main')")
        assert resp["stdout"] == "main\n"
    finally:
        pth.unlink()
