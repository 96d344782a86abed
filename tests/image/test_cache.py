"""A dependency from the cache baked into the image at build time
(`runbox bake`, run by the Dockerfile against the image's own interpreter).

These expect the default wheel set of `make image` (runtime-image/make-wheels.py:
Debian's pip, setuptools and wheel, and the two self-test wheels); an image
built with WHEELS=DIR holds other packages."""

import glob
import os
import re

from conftest import run_image, request

CACHE = "/opt/runbox/cache"


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def debian_wheel_version(name):
    found = glob.glob(f"/usr/share/python-wheels/{name}-*.whl")
    assert found, f"no {name} wheel in /usr/share/python-wheels"
    return os.path.basename(found[0]).split("-")[1]


def test_dependency_with_its_own_dependency_from_the_baked_cache():
    script = ("import runbox_selftest, json\n"
              "print(json.dumps(runbox_selftest.report('abc'), sort_keys=True))")
    status, resp, _ = request({"script": script, "dependencies": ["runbox-selftest>=1.0"]})
    assert status == 0 and resp["status"] == "ok", resp
    assert resp["stdout"].startswith('{"location": "' + CACHE + "/"), resp["stdout"]
    assert '"util_version": "1.1.0"' in resp["stdout"] and '"version": "1.0.0"' in resp["stdout"]
    assert '"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"' in resp["stdout"]
    got = {norm(d["name"]): d["version"] for d in resp["dependencies"]}
    assert got == {"runbox-selftest": "1.0.0", "runbox-selftest-util": "1.1.0"}


def test_debian_wheel_from_the_baked_cache():
    version = debian_wheel_version("wheel")
    script = "import wheel, wheel.wheelfile\nprint(wheel.__version__, wheel.__file__)"
    status, resp, _ = request({"script": script, "dependencies": [f"wheel=={version}"]})
    assert status == 0 and resp["status"] == "ok", resp
    v, path = resp["stdout"].split()
    assert v == version and path.startswith(CACHE + "/")


def test_missing_dependency_is_refused_before_anything_runs():
    status, resp, _ = request({"script": "open('output/ran', 'w')", "dependencies": ["no-such-package-xyz"]})
    assert status == 2
    assert resp["code"] == "dependency_not_found"


def test_the_cache_cannot_be_changed_by_a_program():
    script = ("import os, runbox_selftest\n"
              "d = os.path.dirname(runbox_selftest.__file__)\n"
              "for p in (os.path.join(d, '__init__.py'), os.path.join(d, 'planted.py'), os.path.join(os.path.dirname(d), 'x.pth')):\n"
              "    try:\n        open(p, 'a')\n    except OSError as e:\n        print(e.errno)\n")
    status, resp, _ = request({"script": script, "dependencies": ["runbox-selftest"]})
    assert status == 0
    # EACCES (file modes, Landlock) or EROFS (the read-only bind of the
    # run's mount namespace): which layer answers first differs per path.
    lines = resp["stdout"].splitlines()
    assert len(lines) == 3 and set(lines) <= {"13", "30"}, resp


def test_bake_list_shows_what_the_image_holds():
    p = run_image("bake", "--list", CACHE)
    assert p.returncode == 0, p.stderr
    for name in ("runbox-selftest", "runbox-selftest-util", "pip", "setuptools", "wheel"):
        # "NAME VERSION" in whatever table layout: the name, then its version
        pattern = rf"(?i)(?<![\w-]){re.escape(name)}[\s=:@,|]+v?\d"
        assert re.search(pattern, p.stdout.replace("_", "-")), p.stdout
