"""Resolving a request's dependencies against the baked cache."""

import json
import shutil

import pytest


def deps_of(resp):
    return [(d["name"], d["version"]) for d in resp["dependencies"]]


def ok(env, deps, script="pass", **kw):
    rc, resp = env.run({"script": script, "dependencies": deps}, cache=env.cache, **kw)
    assert rc == 0 and resp.get("status") == "ok", resp
    return resp


def refused(env, deps, code, extra_env=None):
    rc, resp = env.run({"script": "print('never')", "dependencies": deps}, cache=env.cache,
                       env=extra_env)
    assert rc == 2, resp
    assert resp["code"] == code, resp
    assert resp["field"].startswith("dependencies"), resp
    return resp["error"]


def test_highest_version_and_transitive_closure(env):
    resp = ok(env, ["alpha"])
    assert deps_of(resp) == [("alpha", "1.0"), ("beta", "2.5.post1")]


def test_specifiers_pick_the_version(env):
    assert deps_of(ok(env, ["beta==1.0"])) == [("beta", "1.0")]
    assert deps_of(ok(env, ["beta<2"])) == [("beta", "1.5")]
    assert deps_of(ok(env, ["beta~=2.0"])) == [("beta", "2.5.post1")]
    assert deps_of(ok(env, ["beta==2.*,!=2.5.post1"])) == [("beta", "2.5")]
    assert deps_of(ok(env, ["beta>2.0"])) == [("beta", "2.5.post1")]
    # PEP 440: >2.5 excludes 2.5's post-releases; with no final release left,
    # a pre-release is taken, as pip does.
    assert deps_of(ok(env, ["beta>2.5"])) == [("beta", "3.0rc1")]


def test_pre_releases_only_when_asked(env):
    assert deps_of(ok(env, ["beta"])) == [("beta", "2.5.post1")]
    assert deps_of(ok(env, ["beta>=3.0rc1"])) == [("beta", "3.0rc1")]
    assert deps_of(ok(env, ["beta>=3.0a0"])) == [("beta", "3.0rc1")]


def test_backtracks_to_an_older_version(env):
    # alpha 1.0 needs beta>=2: with beta<2 asked, alpha 0.9 (beta<2) fits.
    assert sorted(deps_of(ok(env, ["alpha", "beta<2"]))) == [("alpha", "0.9"), ("beta", "1.5")]


def test_extras_pull_their_requirements(env):
    resp = ok(env, ["alpha[fast]"])
    assert deps_of(resp) == [("alpha", "1.0"), ("beta", "2.5.post1"), ("gamma", "0.3"),
                             ("beta-util", "4.0")]


def test_markers_were_evaluated_for_the_interpreter(env):
    assert deps_of(ok(env, ["markers-pkg"])) == [("markers-pkg", "1.0"), ("epsilon", "1.1")]


def test_names_are_normalised(env):
    assert deps_of(ok(env, ["Beta__Util"])) == [("beta-util", "4.0")]
    assert deps_of(ok(env, ["BETA.util>=4"])) == [("beta-util", "4.0")]


def test_missing_name_suggests_close_ones(env):
    msg = refused(env, ["alpah"], "dependency_not_found")
    assert "'alpah' (required by dependencies[0]) is not in the wheel cache" in msg
    assert "closest names there: alpha" in msg


def test_missing_version_lists_what_there_is(env):
    msg = refused(env, ["beta>=9"], "dependency_not_found")
    assert "no version of beta satisfies 'beta>=9'" in msg
    assert "1.0, 1.5, 2.0, 2.5, 2.5.post1, 3.0rc1" in msg


def test_missing_transitive_names_who_pulled_it(env):
    msg = refused(env, ["needs-old-pip"], "dependency_conflict")
    assert "'pip<1' (required by needs-old-pip 1.0 <- dependencies[0]) asks for a version " \
           "the pre-installed pip 23.0.1 does not satisfy" in msg


def test_conflict_names_both_sides(env):
    msg = refused(env, ["delta", "beta<2"], "dependency_conflict")
    assert "'beta>=2' (required by delta 1.0 <- dependencies[0]) conflicts with beta 1.5, " \
           "chosen for dependencies[1]" in msg


def test_unknown_extra(env):
    msg = refused(env, ["alpha[turbo]"], "dependency_not_found")
    assert "alpha 1.0 has no extra 'turbo'" in msg


def test_pre_installed_satisfies_when_it_matches(env):
    pip = ok(env, ["pip"], script="import pip, sys; print(pip.__file__)")
    assert deps_of(pip)[0][0] == "pip"
    assert pip["stdout"].startswith("/usr/lib/python3/dist-packages/pip/")


def test_pre_installed_mismatch_is_an_error(env):
    msg = refused(env, ["pip==0.1"], "dependency_conflict")
    assert "pre-installed" in msg


def test_duplicates_are_refused_case_insensitively(env):
    refused(env, ["Alpha", "alpha>=0.5"], "duplicate_dependency")
    refused(env, ["beta_util", "Beta.Util"], "duplicate_dependency")


@pytest.mark.parametrize("dep", ["alpha @ https://example.com/a.whl", "./alpha", "alpha; python_version>'3'",
                                 "alpha>=", "al pha", "-e alpha", "alpha==1.0.*.*"])
def test_bad_requirements_are_refused(env, dep):
    refused(env, [dep], "invalid_dependency")


def test_request_cap(env):
    rc, resp = env.run({"script": "pass", "dependencies": [f"leaf{i:02d}" for i in range(16)]},
                       cache=env.cache)
    assert rc == 2 and resp["code"] == "too_many_dependencies"
    resp = ok(env, [f"leaf{i:02d}" for i in range(15)])
    assert len(resp["dependencies"]) == 15


def test_closure_cap_is_configurable(env):
    msg = refused(env, ["alpha[fast]"], "too_many_dependencies",
                  extra_env={"RUNBOX_MAX_DEPENDENCY_CLOSURE": "3"})
    assert "more than 3 packages" in msg
    rc, resp = env.run({"script": "pass", "dependencies": ["leaf00", "leaf01"]}, cache=env.cache,
                       env={"RUNBOX_MAX_DEPENDENCIES": "1"})
    assert rc == 2 and resp["code"] == "too_many_dependencies"


def test_cache_for_another_interpreter_is_a_runbox_fault(env):
    rc, resp = env.run({"script": "pass", "dependencies": ["alpha"]}, cache=env.cache,
                       env={"RUNBOX_PYTHON": "/usr/bin/python3.11"})
    assert rc == 1 and resp["code"] == "invalid_cache"
    assert "baked for the interpreter '/usr/bin/python3'" in resp["error"]


def test_missing_cache_is_a_runbox_fault(env):
    rc, resp = env.run({"script": "pass", "dependencies": ["alpha"]}, cache=env.root / "none")
    assert rc == 1 and resp["code"] == "invalid_cache"


def test_no_dependencies_no_cache_needed(env):
    rc, resp = env.run({"script": "print(1)"}, cache=env.root / "none")
    assert rc == 0 and resp["stdout"] == "1\n" and resp["dependencies"] == []


def _tamper(idx, how):
    p = idx["packages"][0]
    if how == "not-json":
        return '{"format": 1, "packages": ['
    if how == "requires-int":
        p["requires"] = [1]
    elif how == "tree-escapes":
        p["tree"] = ".."
    elif how == "tree-slash":
        p["tree"] = "../../etc"
    elif how == "extras-not-list":
        p["extras"] = {"x": "y"}
    elif how == "bad-version":
        p["version"] = "not a version"
    elif how == "too-many-extras":
        p["extras"] = {f"e{i}": [] for i in range(100)}
    elif how == "packages-object":
        idx["packages"] = {}
    elif how == "format-string":
        idx["format"] = "1"
    return json.dumps(idx)


@pytest.mark.parametrize("how", ["not-json", "requires-int", "tree-escapes", "tree-slash",
                                 "extras-not-list", "bad-version", "too-many-extras",
                                 "packages-object", "format-string"])
def test_tampered_index_is_a_runbox_fault(env, how):
    """A malformed index.json is runbox's fault (exit 1, invalid_cache,
    naming the cache), never a crash or a request error."""
    cache = env.home / f"tampered-{how}"
    if not cache.exists():
        shutil.copytree(env.cache, cache, symlinks=True)
        (cache / "index.json").chmod(0o644)
        (cache / "index.json").write_text(_tamper(json.loads((env.cache / "index.json")
                                                              .read_text()), how))
    rc, resp = env.run({"script": "pass", "dependencies": ["alpha"]}, cache=cache)
    assert rc == 1 and resp["code"] == "invalid_cache", resp
    assert f"The wheel cache '{cache}' is not usable" in resp["error"], resp


def test_resolver_queue_cap_is_a_clear_refusal(env):
    """An index whose package lists 60000 requirements crashed runbox
    (SIGSEGV, one recursive frame per requirement): now a 400."""
    cache = env.home / "tampered-wide"
    if not cache.exists():
        shutil.copytree(env.cache, cache, symlinks=True)
        idx = json.loads((env.cache / "index.json").read_text())
        for p in idx["packages"]:
            if p["name"] == "alpha":
                p["requires"] = ["leaf00"] * 60000
        (cache / "index.json").chmod(0o644)
        (cache / "index.json").write_text(json.dumps(idx))
    rc, resp = env.run({"script": "pass", "dependencies": ["alpha"]}, cache=cache)
    assert rc == 2 and resp["code"] == "too_many_dependencies", resp
    assert "more than 4096" in resp["error"]
