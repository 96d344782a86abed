"""The runbox binary under test, copied once per pytest session to a
directory every user can enter: suites that run runbox as an unprivileged
user need a copy that user can execute (a build tree under /root is not),
and a copy also keeps a rebuild during the session from changing the binary
under a running suite."""
import os
import pathlib
import shutil
import tempfile

_COPIES = {}


def snapshot(repo, prefix, missing=None):
    """The copy of RUNBOX_BIN (default build/runbox under @repo), made in
    /tmp/@prefix*; @missing(path) is called, and its value returned, when
    there is no executable binary to copy."""
    if prefix in _COPIES:
        return _COPIES[prefix]
    b = pathlib.Path(os.environ.get("RUNBOX_BIN", "build/runbox"))
    b = b if b.is_absolute() else pathlib.Path(repo) / b
    if not os.access(b, os.X_OK):
        return missing(b) if missing else b
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    copy = pathlib.Path(d) / "runbox"
    shutil.copy2(b, copy)
    os.chmod(copy, 0o755)
    _COPIES[prefix] = copy
    return copy


def remove_snapshots():
    """Remove every copy made in this session (from pytest_unconfigure)."""
    for copy in _COPIES.values():
        shutil.rmtree(copy.parent, ignore_errors=True)
    _COPIES.clear()
