"""Helpers for the warm-template tests of `runbox serve` (run/warm.h).

/api/info's "warm" object has one object per template: "stack" (the
modules of RUNBOX_WARM_IMPORTS, for programs that import one of them) and
"bare" (the interpreter alone, for every other Python program).
"""
import json
import time

KINDS = ("stack", "bare")


def info(server):
    return json.loads(server.request("GET", "/api/info").body)["warm"]


def wait_ready(server, timeout=120, kinds=KINDS, pid_not=None):
    """Wait until the templates of @kinds are ready (and, with @pid_not,
    none of them is that process any more); returns /api/info's warm."""
    deadline = time.monotonic() + timeout
    while True:
        w = info(server)
        assert w["state"] == "on", w
        if all(w[k]["state"] == "ready" and w[k]["pid"] and w[k]["pid"] != pid_not
               for k in kinds):
            return w
        assert time.monotonic() < deadline, f"the templates never became ready: {w}"
        time.sleep(0.2)
