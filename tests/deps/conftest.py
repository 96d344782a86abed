"""Harness of the dependency suite: wheels built in the session, caches
baked from them, and runbox driven in stdin mode against those caches.

DEPS_AS=nobody runs runbox (and the bake of the cache it serves) as uid/gid
65534 (DEPS_UID names another) through setpriv, so the cache and the lazily
extracted trees belong to the same uid as the program: only the sandbox
(Landlock, the read-only bind in the mount namespace) keeps the program from
writing them.  DEPS_AS=root
(the default) bakes as root and runs programs as per-run uids.
"""

import hashlib
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

import pytest

import wheels as W

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "helpers"))
import harness  # noqa: E402
from harness import REPO, MiB  # noqa: E402,F401

WHO = harness.Identity("DEPS_AS", "DEPS_UID")
AS, NOBODY = WHO.name, WHO.uid
# As root, programs run as a uid of this session alone: uid slots are counted
# per state directory, and these tests use their own state directories, so
# the slot pool could hand a uid that another runbox on the machine is using.
SANDBOX_UID = 1700000000 + random.randrange(1, 90000000)


def binary():
    return harness.binary()


def as_user():
    return WHO.argv([])


def tree_digest(root):
    """Every path, type, mode and content below root, hashed."""
    h = hashlib.sha256()
    root = pathlib.Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = pathlib.Path(dirpath) / name
            st = p.lstat()
            h.update(f"{p.relative_to(root)}\0{st.st_mode:o}\0{st.st_uid}\0".encode())
            if p.is_file() and not p.is_symlink():
                h.update(p.read_bytes())
    return h.hexdigest()


def build_good(d, work):
    mk = W.make_wheel
    # alpha: two versions; 1.0 needs beta>=2, 0.9 needs beta<2 (backtracking).
    mk(d, "alpha", "1.0", requires=["beta>=2,<3"], extras={"fast": ["gamma"]})
    mk(d, "alpha", "0.9", requires=["beta<2"])
    # beta: several versions including a pre-release and a post-release.
    for v in ("1.0", "1.5", "2.0", "2.5", "2.5.post1", "3.0rc1"):
        mk(d, "beta", v)
    mk(d, "gamma", "0.3", requires=["Beta_Util"])
    mk(d, "Beta.Util", "4.0")
    # delta: one version, needs beta>=2 (for conflicts).
    mk(d, "delta", "1.0", requires=["beta>=2"])
    # markers: only the linux requirement applies to this interpreter.
    mk(d, "markers-pkg", "1.0",
       requires=['epsilon; sys_platform == "linux" and python_version >= "3.8"',
                 'nonexistent-win; sys_platform == "win32"',
                 'nonexistent-old; python_version < "3"',
                 'epsilon (>=1.0) ; platform_machine == "x86_64" or os_name == "nt"'])
    mk(d, "epsilon", "1.1")
    # a package whose modules live under .data/purelib, plus scripts not extracted.
    mk(d, "datapkg", "2.0", files={
        "datapkg-2.0.data/purelib/datapkg/__init__.py": "WHERE = 'purelib'\n",
        "datapkg-2.0.data/platlib/datapkg_plat.py": "WHERE = 'platlib'\n",
        "datapkg-2.0.data/scripts/datapkg-run": "#!/bin/sh\necho hi\n",
    })
    # a package needing a pre-installed one at a version that is not there.
    mk(d, "needs-old-pip", "1.0", requires=["pip<1"])
    # fifteen small independent packages, for the cap and the benchmark.
    for i in range(20):
        mk(d, f"leaf{i:02d}", "1.0")
    W.build_c_extension(work, d)


def build_hostile(d):
    mk, zi = W.make_wheel, W.zipinfo
    mk(d, "zipslip", "1.0", files={"zipslip/__init__.py": "", "../evil.py": "x = 1\n"})
    mk(d, "abspath", "1.0", files={"abspath/__init__.py": "", "/tmp/evil.py": "x = 1\n"})
    mk(d, "symlinked", "1.0", raw_entries=[(zi("symlinked/link", 0o120777), b"/etc/passwd")])
    mk(d, "devnode", "1.0", raw_entries=[(zi("devnode/dev", 0o020666), b"")])
    mk(d, "setuidpkg", "1.0", raw_entries=[(zi("setuidpkg/run", 0o104755), b"#!/bin/sh\n")])
    mk(d, "bomb", "1.0", files={"bomb/__init__.py": "", "bomb/zeros.bin": b"\0" * (60 * MiB)})
    mk(d, "tampered", "1.0", record_override={"tampered/__init__.py":
                                              "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,20"})
    mk(d, "unlisted", "1.0", files={"unlisted/__init__.py": "", "unlisted/extra.py": "x=1\n"},
       omit_from_record=("unlisted/extra.py",))
    mk(d, "winonly", "1.0", tag="cp311-cp311-win_amd64")
    mk(d, "oldpy", "1.0", tag="cp27-cp27mu-manylinux1_x86_64")
    mk(d, "liar", "1.0", meta_name="requests")
    mk(d, "newpython", "1.0", requires_python=">=3.99")
    mk(d, "dupentry", "1.0", files={"dupentry/__init__.py": "",
                                     "dupentry-1.0.data/purelib/dupentry/__init__.py": ""})
    (pathlib.Path(d) / "corrupt-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04" + os.urandom(300))
    (pathlib.Path(d) / "not_a_wheel_name.whl").write_bytes(b"")
    mk(d, "fine", "1.0")
    mk(d, "fine", "1.0", tag="py2.py3-none-any")  # sorts first: the py3 one is the duplicate
    mk(d, "nameless", "1.0", meta_name="")
    mk(d, "urldep", "1.0", requires=["alpha @ https://example.com/alpha-1.0.whl"])
    mk(d, "crowded", "1.0", files={f"crowded/m{i}.py": "" for i in range(20001)})
    mk(d, "midslip", "1.0", files={"midslip/__init__.py": "", "a/../../evil.py": "x = 1\n"})
    mk(d, "dotslash", "1.0", files={"dotslash/__init__.py": "", "./evil.py": "x = 1\n"})
    mk(d, "dataslip", "1.0", files={"dataslip/__init__.py": "",
                                     "dataslip-1.0.data/purelib/../../evil.py": "x = 1\n"})
    # A file, then a directory entry of the same name (and the other way round).
    mk(d, "filethendir", "1.0", files={"filethendir/__init__.py": "", "filethendir/x": "d"},
       raw_entries=[(zi("filethendir/x/", 0o040755), b"")])
    mk(d, "dirthenfile", "1.0", files={"dirthenfile/__init__.py": ""},
       raw_entries=[(zi("dirthenfile/x/", 0o040755), b""), (zi("dirthenfile/x", 0o100644), b"d")])
    mk(d, "ghostrecord", "1.0", record_override={
        "ghostrecord/gone.py": "sha256=47DEQpj8HBSa-_TLhW8-pm7NdtfIF5K9bs7nyNEvx7o,0"})
    mk(d, "otherdistinfo", "1.0", distinfo="requests-2.0.dist-info")
    # Trees come before the standard library on PYTHONPATH: these would replace it.
    mk(d, "typing", "3.7.4.3", files={"typing.py": "x = 1\n"})
    mk(d, "fakejson", "1.0", files={"json/__init__.py": "x = 1\n"})
    mk(d, "datadistinfo", "1.0", files={
        "datadistinfo/__init__.py": "",
        "datadistinfo-1.0.data/purelib/requests-2.0.dist-info/METADATA":
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.0\n"})


# The code each hostile wheel must be refused with.
HOSTILE = {
    "zipslip-1.0-py3-none-any.whl": "wheel_unsafe_path",
    "abspath-1.0-py3-none-any.whl": "wheel_unsafe_path",
    "symlinked-1.0-py3-none-any.whl": "wheel_special_entry",
    "devnode-1.0-py3-none-any.whl": "wheel_special_entry",
    "setuidpkg-1.0-py3-none-any.whl": "wheel_special_entry",
    "bomb-1.0-py3-none-any.whl": "wheel_zip_bomb",
    "tampered-1.0-py3-none-any.whl": "wheel_record_mismatch",
    "unlisted-1.0-py3-none-any.whl": "wheel_record_mismatch",
    "winonly-1.0-cp311-cp311-win_amd64.whl": "wheel_incompatible",
    "oldpy-1.0-cp27-cp27mu-manylinux1_x86_64.whl": "wheel_incompatible",
    "liar-1.0-py3-none-any.whl": "wheel_metadata_mismatch",
    "newpython-1.0-py3-none-any.whl": "wheel_incompatible",
    "dupentry-1.0-py3-none-any.whl": "wheel_duplicate_entry",
    "corrupt-1.0-py3-none-any.whl": "wheel_corrupt",
    "not_a_wheel_name.whl": "wheel_bad_filename",
    "fine-1.0-py3-none-any.whl": "wheel_duplicate",
    "nameless-1.0-py3-none-any.whl": "wheel_bad_metadata",
    "urldep-1.0-py3-none-any.whl": "wheel_bad_metadata",
    "crowded-1.0-py3-none-any.whl": "wheel_too_large",
    "midslip-1.0-py3-none-any.whl": "wheel_unsafe_path",
    "dotslash-1.0-py3-none-any.whl": "wheel_unsafe_path",
    "dataslip-1.0-py3-none-any.whl": "wheel_unsafe_path",
    "filethendir-1.0-py3-none-any.whl": "wheel_duplicate_entry",
    "dirthenfile-1.0-py3-none-any.whl": "wheel_duplicate_entry",
    "ghostrecord-1.0-py3-none-any.whl": "wheel_record_mismatch",
    "otherdistinfo-1.0-py3-none-any.whl": "wheel_metadata_mismatch",
    "typing-3.7.4.3-py3-none-any.whl": "wheel_shadows_stdlib",
    "fakejson-1.0-py3-none-any.whl": "wheel_shadows_stdlib",
    "datadistinfo-1.0-py3-none-any.whl": "wheel_bad_metadata",
}


class Env:
    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.home = self.root / "home"  # owned by the uid runbox runs as
        self.home.mkdir()
        if AS == "nobody":
            os.chown(self.home, NOBODY, NOBODY)
        self.work = self.home / "work"
        self.state = self.home / "state"
        self.sub(["mkdir", str(self.work)])

    def sub(self, argv, **kw):
        return subprocess.run(as_user() + argv, capture_output=True, text=True, **kw)

    def bake(self, wheel_dir, cache, lazy=False):
        args = ["bake"] + (["--lazy"] if lazy else []) + [str(wheel_dir), str(cache)]
        return self.sub([str(binary())] + args, env={"PATH": "/usr/bin:/bin"})

    def run(self, req, cache=None, state=None, env=None, timeout=60):
        e = {"PATH": "/usr/bin:/bin", "RUNBOX_WORK_DIR": str(self.work),
             "RUNBOX_STATE_DIR": str(state or self.state), "RUNBOX_LOG": "off"}
        if cache:
            e["RUNBOX_CACHE_DIR"] = str(cache)
        if AS == "root":
            e["RUNBOX_UID"] = e["RUNBOX_GID"] = str(SANDBOX_UID)
        e.update(env or {})
        p = self.sub([str(binary())], input=json.dumps(req), env=e, timeout=timeout)
        assert p.stdout.endswith("\n"), (p.stdout, p.stderr)
        return p.returncode, json.loads(p.stdout)


@pytest.fixture(scope="session")
def env():
    root = tempfile.mkdtemp(prefix="runbox-deps-", dir="/tmp")
    os.chmod(root, 0o755)
    e = Env(root)
    e.good = e.root / "good"
    e.hostile = e.root / "hostile"
    e.debian = e.root / "debian"
    for d in (e.good, e.hostile, e.debian):
        d.mkdir()
    build_good(e.good, e.root)
    build_hostile(e.hostile)
    for w in pathlib.Path("/usr/share/python-wheels").glob("*.whl"):
        if w.name.split("-")[0] in ("pip", "setuptools", "wheel"):
            shutil.copy(w, e.debian)
    e.cache = e.home / "cache"
    p = e.bake(e.good, e.cache)
    assert p.returncode == 0, p.stderr
    e.bake_out = p.stdout
    yield e
    subprocess.run(["chmod", "-R", "u+w", root])
    shutil.rmtree(root, ignore_errors=True)


def index(cache):
    return json.loads((pathlib.Path(cache) / "index.json").read_text())
