"""What every black-box suite checks after each test: no process of the test
outlived its answer, and the work dir runbox was given is empty."""
import os
import signal
import time


def _pid(hit):
    return hit[0] if isinstance(hit, tuple) else hit


def survivors(scan, needles, grace, what="the response"):
    """Problems for processes @scan(@needles) still finds after @grace
    seconds (a list of pids, or of tuples starting with one); they are
    killed."""
    deadline = time.monotonic() + grace
    hits = scan(needles)
    while hits and time.monotonic() < deadline:
        time.sleep(0.05)
        hits = scan(needles)
    for hit in hits:
        try:
            os.kill(_pid(hit), signal.SIGKILL)
        except OSError:
            pass
    return [f"processes outlived {what}: {hits}"] if hits else []


def unclean_workdir(workdir):
    """A problem when @workdir holds anything."""
    left = sorted(os.listdir(workdir))
    return [f"work dir not cleaned: {left}"] if left else []
