"""Wheels built during the test session (no package index is reachable).

make_wheel() writes a wheel with zipfile, as bdist_wheel would, with a
correct RECORD unless a test asks for it to be wrong; the hostile wheels
bend one rule each.  build_c_extension() builds a real compiled extension
with Debian's setuptools, wheel, gcc and python3-dev.
"""

import base64
import hashlib
import pathlib
import re
import subprocess
import textwrap
import zipfile

PY = "/usr/bin/python3"


def _hash(data):
    d = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def metadata(name, version, requires=(), extras=None, requires_python=None):
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             "Summary: a package built by the runbox tests"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for r in requires:
        lines.append(f"Requires-Dist: {r}")
    for extra, reqs in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for r in reqs:
            lines.append(f'Requires-Dist: {r}; extra == "{extra}"')
    return "\n".join(lines) + "\n\nA long description.\n\nIt has empty lines.\n"


def make_wheel(out_dir, name, version, files=None, requires=(), extras=None, tag="py3-none-any",
               meta_name=None, meta_version=None, requires_python=None, record_override=None,
               raw_entries=(), compress=zipfile.ZIP_DEFLATED, omit_from_record=(), distinfo=None):
    """Write name-version-tag.whl into out_dir and return its path.

    files: {path: bytes|str} inside the wheel (default: a module `name`
    whose VERSION is the version).  raw_entries: (ZipInfo, bytes) written
    as given, after the files (and listed in RECORD with their real hash).
    record_override: {path: "hash,size"} replacing RECORD rows.
    """
    dist = re.sub(r"[-_.]+", "_", name)
    if files is None:
        files = {f"{dist.lower()}/__init__.py": f"VERSION = {version!r}\n"}
    di = distinfo or f"{dist}-{version}.dist-info"
    entries = [(p, d.encode() if isinstance(d, str) else d) for p, d in files.items()]
    entries.append((f"{di}/METADATA",
                    metadata(name if meta_name is None else meta_name,
                             meta_version or version, requires, extras,
                             requires_python).encode()))
    entries.append((f"{di}/WHEEL", f"Wheel-Version: 1.0\nGenerator: runbox-tests\n"
                                   f"Root-Is-Purelib: true\nTag: {tag}\n".encode()))
    path = pathlib.Path(out_dir) / f"{dist}-{version}-{tag}.whl"
    rows = []
    with zipfile.ZipFile(path, "w", compress) as z:
        for p, d in entries:
            z.writestr(p, d)
            if p not in omit_from_record:
                rows.append(f"{p},{_hash(d)},{len(d)}")
        for info, d in raw_entries:
            z.writestr(info, d)
            rows.append(f"{info.filename},{_hash(d)},{len(d)}")
        if record_override:
            rows = [r for r in rows if r.split(",")[0] not in record_override]
            rows += [f"{p},{v}" for p, v in record_override.items()]
        rows.append(f"{di}/RECORD,,")
        z.writestr(f"{di}/RECORD", "\n".join(rows) + "\n")
    return path


def zipinfo(name, mode):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix: external_attr holds st_mode
    info.external_attr = mode << 16
    return info


def build_c_extension(work, out_dir):
    """A setuptools project with a C extension, built into a real wheel."""
    src = pathlib.Path(work) / "cext"
    src.mkdir()
    (src / "fastmath.c").write_text(textwrap.dedent("""\
        #define PY_SSIZE_T_CLEAN
        #include <Python.h>
        static PyObject *triple(PyObject *self, PyObject *args) {
            long x;
            if (!PyArg_ParseTuple(args, "l", &x)) return NULL;
            return PyLong_FromLong(3 * x);
        }
        static PyMethodDef methods[] = {{"triple", triple, METH_VARARGS, ""}, {0}};
        static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "fastmath", "", -1, methods};
        PyMODINIT_FUNC PyInit_fastmath(void) { return PyModule_Create(&mod); }
        """))
    (src / "setup.py").write_text(textwrap.dedent("""\
        from setuptools import setup, Extension
        setup(name="fastmath", version="1.2.0",
              ext_modules=[Extension("fastmath", ["fastmath.c"])])
        """))
    subprocess.run([PY, "setup.py", "-q", "bdist_wheel", "-d", str(out_dir)], cwd=src,
                   check=True, capture_output=True)
    return next(pathlib.Path(out_dir).glob("fastmath-1.2.0-*.whl"))
