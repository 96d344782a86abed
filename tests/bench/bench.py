#!/usr/bin/python3
"""make bench: runbox's added cost against a bare interpreter, measured in one
run on this machine, as medians over repeated runs (never as assertions)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNBOX = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/runbox")
PYTHON = "/usr/bin/python3"
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))

CASES = [
    ("print(1)", "print(1)\n"),
    ("import numpy", "import numpy\n"),
    ("5 MiB artifact", "import os\nos.makedirs('output', exist_ok=True)\n"
     "open('output/blob.bin','wb').write(os.urandom(5 << 20))\n"),
]


def bare(program):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "main.py"), "w") as f:
            f.write(program)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
               "HOME": d}
        t = time.perf_counter()
        subprocess.run([PYTHON, "main.py"], cwd=d, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return (time.perf_counter() - t) * 1000, None


def boxed(program, extra_env=None):
    body = json.dumps({"script": program}).encode()
    env = {"RUNBOX_LOG": "info"}
    env.update(extra_env or {})
    t = time.perf_counter()
    p = subprocess.run([RUNBOX], input=body, env=env, capture_output=True)
    ms = (time.perf_counter() - t) * 1000
    resp = json.loads(p.stdout)
    assert resp.get("exit_code") == 0, resp
    rss = None
    for line in p.stderr.decode().splitlines():
        try:
            rss = json.loads(line).get("runbox_max_rss_kb", rss)
        except ValueError:
            pass
    return ms, rss


def paired(a, b):
    """Run a and b alternately REPEAT times (after one warm-up each), so that
    drift on a shared machine hits both alike; medians of time and RSS."""
    a(), b()
    ra, rb = [], []
    for _ in range(REPEAT):
        ra.append(a())
        rb.append(b())

    def med(runs):
        rss = [r for _, r in runs if r is not None]
        return statistics.median(t for t, _ in runs), (statistics.median(rss) if rss else None)
    return med(ra), med(rb)


def main():
    print(f"runbox bench: {REPEAT} runs each, medians; {os.cpu_count()} CPUs, "
          f"{os.uname().release}, {RUNBOX}")
    print(f"{'case':<16} {'bare ms':>9} {'runbox ms':>10} {'added ms':>9} {'ratio':>6} "
          f"{'runbox RSS':>11}")
    rows = [(name, program, None) for name, program in CASES]
    rows.insert(1, ("print(1) sb=off", CASES[0][1], {"RUNBOX_SANDBOX": "off"}))
    for name, program, env in rows:
        (b, _), (r, rss) = paired(lambda: bare(program), lambda: boxed(program, env))
        print(f"{name:<16} {b:9.1f} {r:10.1f} {r - b:9.1f} {r / b:6.2f} "
              f"{(rss or 0) / 1024:8.1f} MiB")
    if os.environ.get("BENCH_SANDBOX", "1") == "1":
        print("\nsandbox cost: every layer against RUNBOX_SANDBOX=off")
        for name, program in [("print(1)", "print(1)\n"), ("import pandas", "import pandas\n")]:
            (on, _), (off, _) = paired(lambda: boxed(program),
                                       lambda: boxed(program, {"RUNBOX_SANDBOX": "off"}))
            print(f"{name:<16} on {on:8.1f} ms  off {off:8.1f} ms  added {on - off:6.1f} ms")


if __name__ == "__main__":
    main()
