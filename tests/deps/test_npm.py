"""The npm cache: `runbox bake` of npm tarballs (good and hostile), and a
JavaScript request's dependencies resolved against it and linked into its
workspace.  Tarballs are made in the session (npm.py): no network."""

import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import uuid

import pytest

import npm as N
from conftest import AS, MiB, binary

NODE = shutil.which("node", path="/usr/bin:/bin")
needs_node = pytest.mark.skipif(not NODE, reason="no node on PATH: `make deps` installs nodejs")
MARKER = "/tmp/runbox-npm-install-script-ran-" + uuid.uuid4().hex


def build_good(d):
    T = N.tarball
    for v in ("1.0.0", "1.1.0", "2.0.0", "2.1.0-beta.1"):
        T(d, "pad", v)
    for v in ("1.2.0", "1.5.0", "2.0.0"):
        T(d, "helper", v, files={"index.js": f"exports.v = {v!r};\n"})
    T(d, "app-a", "1.0.0", deps={"helper": "^1.0.0"},
      files={"index.js": "exports.helper = require('helper').v;\n"})
    T(d, "app-b", "1.0.0", deps={"helper": "^2"})
    T(d, "bt", "2.0.0", deps={"helper": "^2"})
    T(d, "bt", "1.0.0", deps={"helper": ">=1.2 <2"})
    # An ES module that imports its own dependency: resolved from where it is linked.
    T(d, "esm-pkg", "1.0.0", deps={"helper": "^1"},
      pkg_extra={"type": "module", "exports": "./index.js"},
      files={"index.js": "import h from 'helper';\nexport default 'esm+' + h.v;\n"})
    T(d, "@scope/tool", "1.0.0", files={"index.js": "module.exports = 'scoped';\n"})
    T(d, "pre-x", "1.0.0")
    T(d, "pre-x", "2.0.0", deps={"helper": "^1"})
    T(d, "needs-missing", "1.0.0", deps={"not-in-cache": "^1"})
    T(d, "opt-peer", "1.0.0", pkg_extra={"optionalDependencies": {"absent-opt": "^1"},
                                          "peerDependencies": {"helper": "^1"}})
    script = f"node -e \"require('fs').writeFileSync('{MARKER}', 'ran')\""
    T(d, "with-script", "1.0.0", pkg_extra={"scripts": {"preinstall": script, "install": script,
                                                       "postinstall": script}},
      files={"binding.gyp": "{}"})


def build_hostile(d):
    T, R = N.tarball, N.raw
    T(d, "traversal", "1.0.0", entries=[R("package/../../escaped.js", data=b"x")])
    T(d, "absolute", "1.0.0", entries=[R("/tmp/runbox-npm-absolute", data=b"x")])
    T(d, "symlink", "1.0.0",
      entries=[R("package/link", tarfile.SYMTYPE, linkname="/etc/passwd")])
    T(d, "hardlink", "1.0.0",
      entries=[R("package/hl", tarfile.LNKTYPE, linkname="package/index.js")])
    T(d, "fifo", "1.0.0", entries=[R("package/f", tarfile.FIFOTYPE)])
    T(d, "setuid", "1.0.0", entries=[R("package/bin.js", data=b"x", mode=0o4755)])
    T(d, "bomb", "1.0.0", files={"zeros.bin": b"\0" * (60 * MiB)})
    T(d, "twotops", "1.0.0", entries=[R("other/x.js", data=b"x")])
    T(d, "nopkg", "1.0.0", files={"package.json": None})
    T(d, "badver", "1.0", fname="badver-1.0.tgz")
    T(d, "impostor", "1.0.0", fname="lodash-4.17.21.tgz")
    T(d, "dupe", "1.0.0", entries=[R("package/index.js", data=b"again")])
    (pathlib.Path(d) / "garbage-1.0.0.tgz").write_bytes(os.urandom(4096))
    good = T(d, "locked", "1.0.0")
    tampered = T(d, "tampered", "1.0.0")
    N.lock(d, {"locked": ("1.0.0", N.integrity(good)),
               "tampered": ("1.0.0", "sha512-" + "A" * 86 + "==")})
    del tampered


HOSTILE = {
    "traversal-1.0.0.tgz": "npm_unsafe_path",
    "absolute-1.0.0.tgz": "npm_unsafe_path",
    "symlink-1.0.0.tgz": "npm_special_entry",
    "hardlink-1.0.0.tgz": "npm_special_entry",
    "fifo-1.0.0.tgz": "npm_special_entry",
    "setuid-1.0.0.tgz": "npm_special_entry",
    "bomb-1.0.0.tgz": "npm_bomb",
    "twotops-1.0.0.tgz": "npm_bad_package",
    "nopkg-1.0.0.tgz": "npm_bad_package",
    "badver-1.0.tgz": "npm_bad_package",
    "lodash-4.17.21.tgz": "npm_name_mismatch",
    "dupe-1.0.0.tgz": "npm_duplicate_entry",
    "garbage-1.0.0.tgz": "npm_corrupt",
    "tampered-1.0.0.tgz": "npm_integrity_mismatch",
}


@pytest.fixture(scope="module")
def npm(env):
    good, hostile = env.root / "npm-good", env.root / "npm-hostile"
    good.mkdir()
    hostile.mkdir()
    build_good(good)
    build_hostile(hostile)
    env.npm_good, env.npm_hostile = good, hostile
    env.npm_cache = env.home / "npmcache"
    p = env.sub([str(binary()), "bake", "--npm-preinstall", "pre-x,@scope/tool", str(good),
                 str(env.npm_cache)], env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stdout + p.stderr
    env.npm_bake = p
    yield env
    pathlib.Path(MARKER).unlink(missing_ok=True)


def npm_index(cache):
    return json.loads((pathlib.Path(cache) / "npm" / "index.json").read_text())


def js(script, deps=None, **kw):
    req = {"language": "javascript", "script": script, **kw}
    if deps is not None:
        req["dependencies"] = deps
    return req


# ---- bake ----

def test_bake_table_and_index(npm):
    out = npm.npm_bake.stdout
    assert "18 npm packages baked (2 pre-installed), 0 skipped" in out, out
    ix = npm_index(npm.npm_cache)
    names = {(p["name"], p["version"]) for p in ix["packages"]}
    assert ("@scope/tool", "1.0.0") in names and ("pad", "2.1.0-beta.1") in names
    pre = {p["name"] + "@" + p["version"] for p in ix["packages"] if p["preinstalled"]}
    assert pre == {"pre-x@2.0.0", "@scope/tool@1.0.0"}, pre
    tree = npm.npm_cache / "npm" / "pkgs" / "@scope+tool@1.0.0"
    assert (tree / "index.js").read_text() == "module.exports = 'scoped';\n"
    # read-only files, and the top directory stripped as npm does
    assert oct((tree / "index.js").stat().st_mode & 0o777) == "0o444"
    assert not (tree / "package").exists()


def test_install_scripts_are_recorded_never_run(npm):
    assert "install scripts never run: preinstall,install,postinstall" in npm.npm_bake.stdout
    assert "with-script@1.0.0 has install scripts" in npm.npm_bake.stderr
    assert not os.path.exists(MARKER)


def test_bake_again_changes_nothing(npm):
    idx = npm.npm_cache / "npm" / "index.json"
    before = (idx.stat().st_mtime_ns, idx.read_bytes())
    tree = npm.npm_cache / "npm" / "pkgs" / "pad@1.0.0"
    tree_ino = tree.stat().st_ino
    p = npm.sub([str(binary()), "bake", "--npm-preinstall", "pre-x,@scope/tool",
                 str(npm.npm_good), str(npm.npm_cache)], env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert (idx.stat().st_mtime_ns, idx.read_bytes()) == before
    assert tree.stat().st_ino == tree_ino  # kept, not extracted again


def test_hostile_tarballs_are_skipped_with_their_code(npm):
    cache = npm.home / "npmhostile"
    p = npm.sub([str(binary()), "bake", str(npm.npm_hostile), str(cache)],
                env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stdout + p.stderr
    skipped = {s["file"]: s["code"] for s in npm_index(cache)["skipped"]}
    assert skipped == HOSTILE, skipped
    baked = [(q["name"], q["version"]) for q in npm_index(cache)["packages"]]
    assert baked == [("locked", "1.0.0")], baked
    # Nothing landed outside the cache, nothing is left half-extracted.
    assert not (npm.root / "escaped.js").exists() and not (npm.home / "escaped.js").exists()
    assert not os.path.exists("/tmp/runbox-npm-absolute")
    assert sorted(os.listdir(cache / "npm" / "pkgs")) == ["locked@1.0.0"]
    assert "tampered@1.0.0: its sha512 is" in p.stdout and "package-lock.json says" in p.stdout
    # --strict turns the skipped ones into exit status 2
    p = npm.sub([str(binary()), "bake", "--strict", str(npm.npm_hostile), str(cache)],
                env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 2 and "14 packages were skipped (--strict)" in p.stderr, p.stderr


def test_preinstall_of_an_unknown_name_fails_the_bake(npm):
    p = npm.sub([str(binary()), "bake", "--npm-preinstall", "nope", str(npm.npm_good),
                 str(npm.home / "npmfail")], env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 1 and "--npm-preinstall names 'nope'" in p.stderr, p.stderr


def test_list(npm):
    p = npm.sub([str(binary()), "bake", "--list", str(npm.npm_cache)],
                env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0 and "18 npm packages baked (2 pre-installed)" in p.stdout, p


# ---- resolve and install ----

@needs_node
def test_require_and_import_of_linked_packages(npm):
    rc, r = npm.run(js("import pad from 'pad';\nconst a = require('app-a');\n"
                       "import esm from 'esm-pkg';\nimport tool from '@scope/tool';\n"
                       "console.log(pad.version, a.helper, esm, tool);",
                       ["pad@^1", "app-a", "esm-pkg"]), cache=npm.npm_cache)
    assert (rc, r.get("status")) == (0, "ok"), r
    assert r["stdout"] == "1.1.0 1.5.0 esm+1.5.0 scoped\n", r
    # The request's closure, in the order chosen: what it asked, then what that needs.
    assert r["dependencies"] == [{"name": "pad", "version": "1.1.0", "source": "cache"},
                                 {"name": "app-a", "version": "1.0.0", "source": "cache"},
                                 {"name": "esm-pkg", "version": "1.0.0", "source": "cache"},
                                 {"name": "helper", "version": "1.5.0", "source": "cache"}], r


@needs_node
def test_preinstalled_packages_need_no_asking(npm):
    rc, r = npm.run(js("console.log(require('pre-x').version, require('helper').v)"),
                    cache=npm.npm_cache)
    assert (r["status"], r["stdout"], r["dependencies"]) == ("ok", "2.0.0 1.5.0\n", []), r


@needs_node
def test_the_requests_version_wins_over_the_preinstalled(npm):
    rc, r = npm.run(js("console.log(require('pre-x').version, require('helper').v)",
                       ["pre-x@1", "helper@2"]), cache=npm.npm_cache)
    assert (r["status"], r["stdout"]) == ("ok", "1.0.0 2.0.0\n"), r


@needs_node
def test_linked_trees_are_read_only(npm):
    rc, r = npm.run(js("const fs = require('fs'), p = require.resolve('pad');\n"
                       "for (const t of [p, require('path').dirname(p) + '/new.js'])\n"
                       "  try { fs.writeFileSync(t, 'x'); console.log('written'); }\n"
                       "  catch (e) { console.log(e.code); }", ["pad"]), cache=npm.npm_cache)
    assert r["status"] == "ok", r
    assert set(r["stdout"].split()) <= {"EROFS", "EACCES"} and "written" not in r["stdout"], r


@needs_node
def test_optional_and_peer_dependencies(npm):
    rc, r = npm.run(js("console.log(require('opt-peer').name)", ["opt-peer"]),
                    cache=npm.npm_cache)
    assert r["stdout"] == "opt-peer\n", r
    assert {d["name"] for d in r["dependencies"]} == {"opt-peer", "helper"}, r


@needs_node
def test_backtracks_to_an_older_version(npm):
    rc, r = npm.run(js("console.log(require('bt').version)", ["app-a", "bt"]),
                    cache=npm.npm_cache)
    assert r["stdout"] == "1.0.0\n", r


@needs_node
def test_install_scripts_never_run_at_run_time(npm):
    rc, r = npm.run(js("console.log(require('with-script').name)", ["with-script"]),
                    cache=npm.npm_cache)
    assert r["stdout"] == "with-script\n", r
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("deps,code,field,words", [
    (["pda"], "dependency_not_found", "dependencies[0]",
     "No package 'pda' in the npm cache (required by dependencies[0]); closest names: pad"),
    (["pad@^3"], "dependency_not_found", "dependencies[0]",
     "'pad@^3' (required by dependencies[0]) matches none of the cached versions of pad: "
     "2.1.0-beta.1, 2.0.0, 1.1.0, 1.0.0."),
    (["needs-missing"], "dependency_not_found", "dependencies[0]",
     "No package 'not-in-cache' in the npm cache (required by needs-missing 1.0.0 <- "
     "dependencies[0])"),
    (["app-a", "app-b"], "dependency_conflict", "dependencies[1]",
     "'helper@^2' (required by app-b 1.0.0 <- dependencies[1]) conflicts with helper 1.5.0, "
     "chosen for app-a 1.0.0 <- dependencies[0]"),
    (["pad", "pad@1"], "duplicate_dependency", "dependencies[1]", "asked for twice"),
    (["https://example.com/x.tgz"], "invalid_dependency", "dependencies[0]",
     "registry versions only"),
    (["pad@not a range"], "invalid_dependency", "dependencies[0]", "not a version range"),
])
def test_refusals_say_what_the_cache_has(npm, deps, code, field, words):
    rc, r = npm.run(js("1", deps), cache=npm.npm_cache)
    assert (rc, r.get("code"), r.get("field")) == (2, code, field), r
    assert words in r["error"], r


def test_no_npm_cache(npm):
    rc, r = npm.run(js("1", ["pad"]))
    assert (rc, r.get("code")) == (2, "dependency_not_found"), r
    assert "no npm cache" in r["error"], r


@needs_node
def test_prerelease_only_when_asked(npm):
    rc, r = npm.run(js("console.log(require('pad').version)", ["pad@>=2.1.0-beta.0"]),
                    cache=npm.npm_cache)
    assert r["stdout"] == "2.1.0-beta.1\n", r
    rc, r = npm.run(js("console.log(require('pad').version)", ["pad@latest"]),
                    cache=npm.npm_cache)
    assert r["stdout"] == "2.0.0\n", r


@needs_node
def test_python_dependencies_are_not_npm(npm):
    # The wheel cache and the npm cache share CACHE_DIR; each language sees its own.
    rc, r = npm.run({"script": "print(1)", "dependencies": ["pad"]}, cache=npm.npm_cache)
    assert (rc, r["code"]) == (1, "invalid_cache") and "wheel cache" in r["error"], r


def test_mcp_list_packages_and_info_list_npm(npm):
    lines = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18"}},
             {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "list_packages", "arguments": {}}}]
    p = npm.sub([str(binary()), "mcp"], input="".join(json.dumps(x) + "\n" for x in lines),
                env={"PATH": "/usr/bin:/bin", "RUNBOX_CACHE_DIR": str(npm.npm_cache),
                     "RUNBOX_WORK_DIR": str(npm.work), "RUNBOX_STATE_DIR": str(npm.state),
                     "RUNBOX_LOG": "off", "RUNBOX_WARM": "off"}, timeout=60)
    replies = {r["id"]: r for r in map(json.loads, p.stdout.splitlines()) if "id" in r}
    res = replies[2]["result"]
    listed = {(x["name"], x["version"], x["preinstalled"])
              for x in res["structuredContent"]["npm"]}
    assert ("pre-x", "2.0.0", True) in listed and ("pad", "1.1.0", False) in listed, listed
    text = res["content"][0]["text"]
    assert "npm packages every run_javascript can import:\n" in text, text
    assert "pre-x 2.0.0" in text.split("`dependencies` can add")[0], text
