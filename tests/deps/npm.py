"""npm package tarballs made in the test session, as `npm pack` writes them
(a gzip'd tar whose entries are under package/), good and hostile: no
network, no npm needed."""

import base64
import gzip
import hashlib
import io
import json
import pathlib
import tarfile


def file_name(name, version):
    """npm pack's name: "@s/x" 1.0.0 -> "s-x-1.0.0.tgz"."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def tarball(d, name, version, files=None, deps=None, pkg_extra=None, entries=None,
            fname=None, top="package"):
    """Write a tarball into @d; returns its path.  @files maps paths below the
    top directory to text; @entries are extra raw (TarInfo, bytes) pairs."""
    pkg = {"name": name, "version": version, "main": "index.js"}
    if deps:
        pkg["dependencies"] = deps
    pkg.update(pkg_extra or {})
    files = dict({"package.json": json.dumps(pkg, indent=2),
                  "index.js": f"module.exports = {{name: {name!r}, version: {version!r}}};\n"},
                 **(files or {}))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, text in files.items():
            if text is None:
                continue
            data = text.encode() if isinstance(text, str) else text
            ti = tarfile.TarInfo(f"{top}/{path}")
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
        for ti, data in entries or []:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    out = pathlib.Path(d) / (fname or file_name(name, version))
    out.write_bytes(gzip.compress(buf.getvalue()))
    return out


def integrity(path):
    """npm's integrity string of a file: "sha512-" and the standard base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(pathlib.Path(path).read_bytes()).digest()).decode()


def lock(d, entries):
    """A package-lock.json (lockfileVersion 3) naming {name: (version, integrity)}."""
    pk = {"": {"name": "root", "version": "1.0.0"}}
    for name, (version, integ) in entries.items():
        pk[f"node_modules/{name}"] = {"version": version, "integrity": integ,
                                      "resolved": f"https://registry.npmjs.org/{name}/-/x.tgz"}
    (pathlib.Path(d) / "package-lock.json").write_text(
        json.dumps({"name": "root", "lockfileVersion": 3, "packages": pk}))


def raw(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.linkname = linkname
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (data if kind == tarfile.REGTYPE else None)
