"""What runbox bake tells an operator: how to get wheels for its interpreter,
that a baked package is shadowed by a pre-installed one, that a wheel
directory is empty or missing, that a cache does not exist, which
interpreter could not run; --strict for builds that must not lose a wheel;
and versions of pre-installed packages read as a program sees them."""

import json
import re
import shutil
import subprocess

import pytest

import wheels as W
from conftest import binary, index

PY = "/usr/bin/python3"


def py_version():
    out = subprocess.run([PY, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def bake(env, *args):
    return env.sub([str(binary()), "bake", *map(str, args)], env={"PATH": "/usr/bin:/bin"})


def check_hint(text, wheel_dir):
    """The pip download line: binary wheels, this interpreter's platform,
    Python version and implementation, into the wheel directory."""
    line = next((ln for ln in text.splitlines() if "pip download" in ln), None)
    assert line, text
    assert "--only-binary=:all:" in line
    assert f"--python-version {py_version()} " in line
    assert "--implementation cp " in line
    assert re.search(r"--platform manylinux2014_x86_64 .*--platform manylinux_2_\d+_x86_64",
                     line), line
    assert f"--dest '{wheel_dir}'" in line
    return line


def test_an_empty_wheel_directory_is_said_with_the_way_to_fill_it(env):
    wd = env.root / "empty-wheels"
    wd.mkdir(exist_ok=True)
    wd.chmod(0o755)
    p = bake(env, wd, env.home / "empty-cache")
    assert p.returncode == 0, p.stderr
    assert f"'{wd}' holds no wheels" in p.stderr
    check_hint(p.stderr, wd)
    assert p.stdout.splitlines()[-1] == "0 baked, 0 skipped"


def test_a_missing_wheel_directory_is_said_with_the_way_to_fill_it(env):
    wd = env.root / "no-such-wheels"
    p = bake(env, wd, env.home / "missing-cache")
    assert p.returncode == 1
    assert f"the wheel directory '{wd}' does not exist" in p.stderr
    check_hint(p.stderr, wd)


def test_list_of_a_cache_that_does_not_exist(env):
    p = bake(env, "--list", env.root / "nosuch")
    assert p.returncode == 1 and "the directory does not exist" in p.stderr, p.stderr


def test_a_missing_interpreter_is_named(env):
    p = env.sub([str(binary()), "bake", str(env.good), str(env.home / "nopy-cache")],
                env={"PATH": "/usr/bin:/bin", "RUNBOX_PYTHON": "/nonexistent/python3"})
    assert p.returncode == 1
    assert "'/nonexistent/python3' (RUNBOX_PYTHON): No such file or directory" in p.stderr
    assert "Input/output error" not in p.stderr


def test_a_shadowed_package_is_baked_with_a_warning(env):
    pre = index(env.cache)["preinstalled"]
    if "pip" not in pre:
        pytest.skip("pip is not pre-installed for this interpreter")
    cache = env.home / "shadow-cache"
    p = bake(env, env.debian, cache)
    assert p.returncode == 0, p.stderr
    assert (f"warning: pip {pre['pip']} is pre-installed for {PY} and always wins: the "
            "baked pip") in p.stderr
    row = next(ln for ln in p.stdout.splitlines() if ln.split()[1:2] == ["pip"])
    assert row.startswith("shadowed ") and "never used" in row, row
    assert "shadowed by pre-installed packages" in p.stdout.splitlines()[-1]
    entry = next(x for x in index(cache)["packages"] if x["name"] == "pip")
    assert entry["shadowed_by"] == pre["pip"]
    # The good cache shadows nothing: no warning there.
    assert "shadowed" not in env.bake_out


def test_a_wheel_for_another_platform_gets_the_hint_and_strict_fails(env):
    wd = env.root / "foreign-wheels"
    wd.mkdir(exist_ok=True)
    W.make_wheel(wd, "winonly", "1.0", tag="cp311-cp311-win_amd64")
    W.make_wheel(wd, "fine2", "1.0")
    for d in [wd, *wd.iterdir()]:
        d.chmod(0o755 if d.is_dir() else 0o644)
    p = bake(env, wd, env.home / "foreign-cache")
    assert p.returncode == 0, p.stderr
    assert "wheel_incompatible" in p.stdout
    check_hint(p.stderr, wd)
    p = bake(env, "--strict", wd, env.home / "foreign-cache-strict")
    assert p.returncode == 2
    assert "1 wheel was skipped (--strict)" in p.stderr
    p = bake(env, "--strict", "--lazy", env.good, env.home / "strict-good")
    assert p.returncode == 0, p.stderr
    shutil.rmtree(wd)


def _zero_versions():
    out = subprocess.run(
        [PY, "-I", "-c", "import importlib.metadata as m, json\n"
         "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()"
         " if d.metadata['Name'] and d.version == '0.0.0'}))"],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("name", ["kiwisolver", "mpmath"])
def test_a_placeholder_version_is_read_as_the_module_says(env, name):
    if name not in _zero_versions():
        pytest.skip(f"{name} is not installed with the placeholder version 0.0.0 here")
    real = subprocess.run([PY, "-I", "-c", f"import {name}; print({name}.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert real != "0.0.0"
    # Without a cache: the installed distributions, asked at run time.
    rc, resp = env.run({"script": f"import {name}; print({name}.__version__)",
                        "dependencies": [f"{name}>=1.0"]})
    assert rc == 0 and resp["stdout"] == real + "\n", resp
    assert {"name": name, "version": real, "source": "preinstalled"} in resp["dependencies"]
    # With a cache: what bake recorded of the interpreter.
    assert index(env.cache)["preinstalled"][name] == real
    rc, resp = env.run({"script": "print(1)", "dependencies": [f"{name}>=1.0"]}, cache=env.cache)
    assert rc == 0 and resp["stdout"] == "1\n", resp
