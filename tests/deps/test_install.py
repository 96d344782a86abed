"""Installing is putting the trees on the import path: they import, nothing
is copied or compiled into them, and a program cannot change them."""

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
    assert resp["dependencies"] == [{"name": "fastmath", "version": "1.2.0"}]


def test_fifteen_dependencies(env):
    deps = [f"leaf{i:02d}" for i in range(15)]
    script = "import importlib\nprint(sum(1 for d in %r if importlib.import_module(d)))" % deps
    assert run_ok(env, deps, script)["stdout"] == "15\n"


def test_no_bytecode_is_written(env):
    before = tree_digest(env.cache)
    run_ok(env, ["alpha", "gamma"], "import alpha, gamma, beta, beta_util")
    assert not list(env.cache.glob("site/**/__pycache__"))
    assert tree_digest(env.cache) == before


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
