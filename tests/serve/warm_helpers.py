"""Helpers for the warm-template tests of `runbox serve` (run/warm.h)."""
import json
import time


def info(server):
    return json.loads(server.request("GET", "/api/info").body)["warm"]


def wait_ready(server, timeout=120, pid_not=None):
    """Wait until the server's template is ready (and, with @pid_not, is
    another than that one); returns the warm object of /api/info."""
    deadline = time.monotonic() + timeout
    while True:
        w = info(server)
        if w["state"] == "ready" and w["template_pid"] and w["template_pid"] != pid_not:
            return w
        assert w["state"] != "off", w
        assert time.monotonic() < deadline, f"the template never became ready: {w}"
        time.sleep(0.2)
