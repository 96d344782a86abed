#!/usr/bin/python3
"""Assemble the wheel directory `make image` bakes into the image's cache.

No third-party wheel may be committed and no package index is reachable, so
the default cache holds Debian's own wheels (/usr/share/python-wheels, from
python3-pip-whl, python3-setuptools-whl and python3-wheel-whl) and two
small wheels built here, which the image tests use as dependencies:

  runbox-selftest 1.0.0       requires runbox-selftest-util>=1.1
  runbox-selftest-util 1.1.0

Both are complete wheels per the wheel spec (METADATA, WHEEL, RECORD with
sha256 of every file), written with the standard library only, with fixed
timestamps so the same input gives the same bytes.

Usage: make-wheels.py OUT_DIR   (OUT_DIR is emptied of .whl files first)
"""
import base64
import glob
import hashlib
import os
import shutil
import sys
import zipfile

DEBIAN_WHEELS = "/usr/share/python-wheels"
EPOCH = (2024, 1, 1, 0, 0, 0)

UTIL = {
    "runbox_selftest_util/__init__.py": '''\
"""Helpers of the runbox image self-test package."""
__version__ = "1.1.0"


def checksum(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()
''',
}

SELFTEST = {
    "runbox_selftest/__init__.py": '''\
"""The runbox image self-test package: proves a dependency came from the
baked cache, together with the dependency it pulled in."""
from runbox_selftest_util import checksum

__version__ = "1.0.0"


def report(text: str) -> dict:
    import runbox_selftest_util
    return {
        "version": __version__,
        "util_version": runbox_selftest_util.__version__,
        "sha256": checksum(text.encode()),
        "location": __file__,
    }
''',
}


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def write_wheel(out_dir, name, version, files, requires=()):
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                "Summary: runbox runtime image self-test package"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    entries = dict(files)
    entries[f"{info}/METADATA"] = "\n".join(metadata) + "\n"
    entries[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: runbox make-wheels.py\n"
                                "Root-Is-Purelib: true\nTag: py3-none-any\n")
    entries[f"{info}/top_level.txt"] = "\n".join(
        sorted({p.split("/")[0] for p in files})) + "\n"
    record = []
    for path, text in entries.items():
        data = text.encode()
        record.append(f"{path},{record_hash(data)},{len(data)}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = "\n".join(record) + "\n"

    target = os.path.join(out_dir, f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(target + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in entries.items():
            zi = zipfile.ZipInfo(path, EPOCH)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, text.encode())
    os.replace(target + ".tmp", target)
    return target


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*.whl")):
        os.unlink(old)
    debian = sorted(glob.glob(os.path.join(DEBIAN_WHEELS, "*.whl")))
    wanted = ("pip-", "setuptools-", "wheel-")
    for prefix in wanted:
        if not any(os.path.basename(w).startswith(prefix) for w in debian):
            sys.exit(f"make-wheels: no {prefix}*.whl in {DEBIAN_WHEELS} "
                     "(install python3-pip-whl, python3-setuptools-whl, python3-wheel-whl)")
    for whl in debian:
        if os.path.basename(whl).startswith(wanted):
            shutil.copyfile(whl, os.path.join(out, os.path.basename(whl)))
    write_wheel(out, "runbox-selftest-util", "1.1.0", UTIL)
    write_wheel(out, "runbox-selftest", "1.0.0", SELFTEST,
                requires=["runbox-selftest-util>=1.1"])
    for whl in sorted(os.listdir(out)):
        print(f"  wheel   {whl}")


if __name__ == "__main__":
    main()
