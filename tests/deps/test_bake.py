"""runbox bake: what is baked, where it lands, what is refused and why."""

import os
import pathlib
import stat
import subprocess

import pytest

import wheels as W
from conftest import HOSTILE, as_user, binary, index, tree_digest


def test_table_lists_every_baked_package(env):
    names = {(p["name"], p["version"]) for p in index(env.cache)["packages"]}
    assert ("alpha", "1.0") in names and ("alpha", "0.9") in names
    assert {v for n, v in names if n == "beta"} == {"1.0", "1.5", "2.0", "2.5", "2.5.post1",
                                                     "3.0rc1"}
    assert ("beta-util", "4.0") in names
    assert ("fastmath", "1.2.0") in names
    for n, v in names:
        assert f"baked    {n:<32} {v:<16} extracted" in env.bake_out
    assert env.bake_out.strip().endswith(f"{len(names)} baked, 0 skipped")


def test_trees_are_read_only_and_mapped(env):
    site = env.cache / "site"
    assert (site / "alpha-1.0" / "alpha" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    # .data/purelib and platlib land at the root; scripts are not extracted.
    assert (site / "datapkg-2.0" / "datapkg" / "__init__.py").exists()
    assert (site / "datapkg-2.0" / "datapkg_plat.py").exists()
    assert not (site / "datapkg-2.0" / "datapkg-2.0.data").exists()
    assert not list(site.glob("*/datapkg-run"))
    mode = stat.S_IMODE((site / "alpha-1.0" / "alpha" / "__init__.py").stat().st_mode)
    assert mode == 0o444
    assert not list(site.glob(".tmp-*"))


def test_index_records_requirements_per_extra(env):
    alpha = next(p for p in index(env.cache)["packages"]
                 if p["name"] == "alpha" and p["version"] == "1.0")
    assert alpha["requires"] == ["beta<3,>=2"] or alpha["requires"] == ["beta>=2,<3"]
    assert alpha["extras"] == {"fast": ["gamma"]}
    m = next(p for p in index(env.cache)["packages"] if p["name"] == "markers-pkg")
    assert m["requires"] == ["epsilon", "epsilon>=1.0"]


def test_second_bake_changes_nothing(env):
    before = tree_digest(env.cache)
    mtime = (env.cache / "index.json").stat().st_mtime_ns
    p = env.bake(env.good, env.cache)
    assert p.returncode == 0, p.stderr
    assert tree_digest(env.cache) == before
    assert (env.cache / "index.json").stat().st_mtime_ns == mtime


def test_a_table_that_cannot_be_written_is_exit_1(env):
    # The bake is done, but its report went nowhere (a full disk): runbox says so.
    with open("/dev/full", "wb") as full:
        p = subprocess.run(as_user() + [str(binary()), "bake", "--list", str(env.cache)],
                           stdout=full, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"},
                           timeout=60)
    assert p.returncode == 1, p.stderr
    assert b"cannot write the table: No space left on device" in p.stderr


def test_list(env):
    p = env.sub([str(binary()), "bake", "--list", str(env.cache)])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"cache {env.cache}, baked for /usr/bin/python3\n")
    assert "alpha" in p.stdout and "fastmath" in p.stdout


@pytest.fixture(scope="module")
def hostile_cache(env):
    cache = env.home / "hostile-cache"
    p = env.bake(env.hostile, cache)
    assert p.returncode == 0, p.stderr
    return cache, p.stdout


@pytest.mark.parametrize("wheel,code", sorted(HOSTILE.items()))
def test_hostile_wheel_is_refused_with_its_code(hostile_cache, wheel, code):
    cache, out = hostile_cache
    skipped = {s["wheel"]: s for s in index(cache)["skipped"]}
    assert wheel in skipped, out
    assert skipped[wheel]["code"] == code, skipped[wheel]
    assert f"skipped  {wheel}\n         {code}: " in out


def test_hostile_wheels_leave_nothing_behind(hostile_cache):
    cache, _ = hostile_cache
    assert sorted(p.name for p in (cache / "site").iterdir()) == ["fine-1.0"]
    assert [p["name"] for p in index(cache)["packages"]] == ["fine"]
    assert not pathlib.Path("/tmp/evil.py").exists()
    assert not (cache / "evil.py").exists() and not (cache / "site" / "evil.py").exists()


def test_refusal_messages_say_what(hostile_cache):
    cache, _ = hostile_cache
    s = {x["wheel"]: x["reason"] for x in index(cache)["skipped"]}
    assert "'../evil.py'" in s["zipslip-1.0-py3-none-any.whl"]
    assert "absolute" in s["abspath-1.0-py3-none-any.whl"]
    assert "link" in s["symlinked-1.0-py3-none-any.whl"]
    assert "METADATA says requests 1.0" in s["liar-1.0-py3-none-any.whl"]
    assert "win_amd64" in s["winonly-1.0-cp311-cp311-win_amd64.whl"]
    assert "tampered/__init__.py" in s["tampered-1.0-py3-none-any.whl"]
    assert "Requires-Python '>=3.99'" in s["newpython-1.0-py3-none-any.whl"]
    assert "more than 20000 entries" in s["crowded-1.0-py3-none-any.whl"]
    # The requirement parser's reason follows once (it was formatted over itself).
    assert s["urldep-1.0-py3-none-any.whl"].count("cannot be served from a cache") == 1
    assert "contains a URL" in s["urldep-1.0-py3-none-any.whl"], s
    assert "another wheel of fine 1.0" in s["fine-1.0-py3-none-any.whl"]
    assert "'filethendir/x/' is both a file and a directory" in s[
        "filethendir-1.0-py3-none-any.whl"]
    assert "'a/../../evil.py'" in s["midslip-1.0-py3-none-any.whl"]
    assert "'requests-2.0.dist-info'" in s["otherdistinfo-1.0-py3-none-any.whl"]
    assert "standard library's 'typing' module" in s["typing-3.7.4.3-py3-none-any.whl"]
    assert "'json/__init__.py'" in s["fakejson-1.0-py3-none-any.whl"]
    assert "would add a second .dist-info" in s["datadistinfo-1.0-py3-none-any.whl"]


def test_debian_wheels_bake(env):
    cache = env.home / "debian-cache"
    p = env.bake(env.debian, cache)
    assert p.returncode == 0, p.stderr
    names = {x["name"] for x in index(cache)["packages"]}
    assert names == {"pip", "setuptools", "wheel"}, p.stdout
    assert list((cache / "site").glob("pip-*/pip/__init__.py"))
    assert list((cache / "site").glob("setuptools-*/setuptools/__init__.py"))


def test_lazy_bake_stores_checked_wheels(env):
    cache = env.home / "lazy-cache-bake"
    p = env.bake(env.hostile, cache, lazy=True)
    assert p.returncode == 0, p.stderr
    assert [x.name for x in (cache / "wheels").iterdir()] == ["fine-1.0-py2.py3-none-any.whl"]
    assert list((cache / "site").iterdir()) == []
    assert index(cache)["packages"][0]["lazy"] is True
    assert "lazy (extracted on first use)" in p.stdout


def test_bad_arguments(env):
    b = str(binary())
    for args in ([str(env.good)], ["--fast", str(env.good), "x"], ["--lazy", str(env.good)],
                 [str(env.good), "--list"], []):
        p = env.sub([b, "bake", *args])
        assert p.returncode == 2 and "bake needs WHEEL_DIR CACHE_DIR" in p.stderr, args
    p = env.sub([b, "bake", str(env.root / "nowhere"), str(env.home / "c2")])
    assert p.returncode == 1 and "the wheel directory" in p.stderr
    assert "does not exist" in p.stderr
    p = env.sub([b, "bake", "--list", str(env.root / "nowhere")])
    assert p.returncode == 1 and "the directory does not exist" in p.stderr
    p = env.sub([b, "bake", "--list", str(env.good)])
    assert p.returncode == 1 and "has no index.json" in p.stderr


def test_non_ascii_names(env):
    """Zip names flagged UTF-8 were refused as 'not UTF-8' (libarchive cannot
    convert them to the C locale); they bake now, and two names that differ
    only in Unicode normalisation (NFC 'café', NFD 'café') are duplicates."""
    wd = env.root / "unicode-wheels"
    wd.mkdir()
    W.make_wheel(wd, "accented", "1.0", files={"accented/__init__.py": "",
                                               "accented/caf\u00e9.py": "X = 'nfc'\n"})
    W.make_wheel(wd, "nfcdup", "1.0", files={"nfcdup/__init__.py": "",
                                             "nfcdup/caf\u00e9.py": "X = 1\n",
                                             "nfcdup/cafe\u0301.py": "X = 2\n"})
    os.chmod(wd, 0o755)
    for w in wd.iterdir():
        os.chmod(w, 0o644)
    cache = env.home / "unicode-cache"
    p = env.bake(wd, cache)
    assert p.returncode == 0, p.stderr
    skipped = {s["wheel"]: s for s in index(cache)["skipped"]}
    assert [x["name"] for x in index(cache)["packages"]] == ["accented"], p.stdout
    assert skipped["nfcdup-1.0-py3-none-any.whl"]["code"] == "wheel_duplicate_entry"
    assert (cache / "site" / "accented-1.0" / "accented" / "caf\u00e9.py").exists()
    rc, resp = env.run({"script": "import importlib; print(importlib.import_module("
                                  "'accented.caf\u00e9').X)", "dependencies": ["accented"]},
                       cache=cache)
    assert rc == 0 and resp["stdout"] == "nfc\n", resp
