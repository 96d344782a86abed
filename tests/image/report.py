#!/usr/bin/python3
"""The report `make image-test` prints after the image suite: measured and
printed, never asserted.

  report.py IMAGE HOST_RUNBOX [--runs N] [--cold N]

  * the image's size and each layer's (`<engine> history`), and what takes
    the room inside it;
  * the cold start of each mode inside a fresh container: from spawning
    runbox to its first response to print(1) (tests/image/timing.py cold);
    and for stdin mode also what a caller of `<engine> run -i` waits;
  * runbox's time for print(1) inside a running container (`<engine> exec`)
    against the host binary on the same machine: N runs of each, alternating
    host and container sample by sample, medians and the median of the paired
    ratios. Target: container within 1.2x of the host.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import ENGINE, IS_PODMAN, LIMITS, REPO  # noqa: E402

TESTS_IN = "/opt/runbox-tests"
MOUNT = ["-v", f"{REPO / 'tests'}:{TESTS_IN}:ro"]
REQUEST = json.dumps({"script": "print(1)"})


def sh(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([*ENGINE, *args], **kw)


def mib(n):
    return f"{n / 1e6:8.1f} MB"


def sizes(image):
    size = int(json.loads(sh("image", "inspect", image).stdout)[0]["Size"])
    print(f"image {image}: {mib(size).strip()}")
    fmt = "{{.Size}}\t{{.CreatedBy}}"
    rows = sh("history", "--no-trunc", "--format", fmt, image).stdout.splitlines()
    print("layers (newest first):")
    for row in rows:
        sz, _, created = row.partition("\t")
        created = " ".join(created.replace("/bin/sh -c #(nop) ", "").split())
        print(f"  {sz:>10}  {created[:100]}")
    du = sh("run", "--rm", *LIMITS, "--entrypoint", "/bin/sh", image, "-c",
            "du -xsm /usr/lib/python3/dist-packages/* /usr/lib/x86_64-linux-gnu /usr/lib/python3.11 "
            "/usr/share /usr/bin /opt/runbox 2>/dev/null | sort -rn | head -12").stdout
    print("what takes the room (MiB):")
    for line in du.splitlines():
        print(f"  {line}")


def cold(image, runs):
    print(f"cold start, fresh container per sample, median of {runs} (process start to first response):")
    for mode in ("stdin", "serve", "lambda"):
        got, err = [], None
        for _ in range(runs):
            p = sh("run", "--rm", *LIMITS, *MOUNT, "--entrypoint", "/usr/bin/python3", image,
                   f"{TESTS_IN}/image/timing.py", "cold", mode, "/usr/local/bin/runbox")
            try:
                r = json.loads(p.stdout)
            except ValueError:
                r = {"error": (p.stderr or p.stdout)[-300:]}
            if "error" in r:
                err = r["error"]
                break
            got.append(r["ms"])
        if got:
            print(f"  {mode:7} {statistics.median(got):7.1f} ms   (samples {', '.join(f'{g:.0f}' for g in got)})")
        else:
            print(f"  {mode:7}     n/a   ({err})")
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = sh("run", "--rm", "-i", *LIMITS, "-e", "RUNBOX_LOG=off", image, input=REQUEST)
        walls.append((time.perf_counter() - t0) * 1000)
        assert json.loads(p.stdout)["stdout"] == "1\n", p.stdout
    print(f"  `{os.path.basename(ENGINE[0])} run -i` with a stdin request, as its caller waits: "
          f"{statistics.median(walls):.0f} ms median (container creation included)")


class Loop:
    """A timing.py loop: one sample per line written."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def sample(self):
        self.p.stdin.write("x\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("timing loop ended")
        return float(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def platform_sim():
    """tests/helpers/platform_sim.c, built as tests/tools/run-suites.sh builds it."""
    out = REPO / "build/platform_sim"
    src = REPO / "tests/helpers/platform_sim.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", str(out), str(src), "-lseccomp"], check=True)
    return str(out)


def compare(image, host_runbox, runs):
    name = f"runbox-report-{uuid.uuid4().hex[:12]}"
    p = sh("run", "-d", "--name", name, *LIMITS, *MOUNT, "--entrypoint", "/bin/sleep", image, "infinity")
    if p.returncode:
        raise SystemExit(p.stderr)
    timing = str(REPO / "tests/image/timing.py")
    sim = platform_sim()
    ctr_side = "container (podman exec)" if IS_PODMAN else "container (docker exec)"
    sides = {
        # The image's user on the host (non-root: seccomp, Landlock, user,
        # net, ipc and mount namespaces like the container, plus the pid and
        # uts namespaces the container cannot give): what is left between the
        # two is the container's own cost.
        "host, container's layers": Loop([sim, "--uid", "10001", "--",
                                          "/usr/bin/python3", timing, "loop", host_runbox]),
        "host as root, every layer": Loop(["/usr/bin/python3", timing, "loop", host_runbox]),
        ctr_side: Loop([*ENGINE, "exec", "-i", name, "/usr/bin/python3", f"{TESTS_IN}/image/timing.py",
                        "loop", "/usr/local/bin/runbox"]),
    }
    try:
        for loop in sides.values():  # warm-up: page cache, probe caches
            for _ in range(3):
                loop.sample()
        got = {k: [] for k in sides}
        for _ in range(runs):
            for k, loop in sides.items():
                got[k].append(loop.sample())
    finally:
        for loop in sides.values():
            loop.close()
        sh("rm", "-f", *(["-t", "0"] if IS_PODMAN else []), name)
    keys = list(sides)
    ctr = keys[-1]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"print(1) through runbox's stdin mode, {runs} alternating runs per side (ms, spawn to answer;"
          f" load average {load} on {os.cpu_count()} CPUs):")
    for k in keys:
        v = got[k]
        print(f"  {k:27} median {statistics.median(v):6.1f}  p10 {sorted(v)[len(v) // 10]:6.1f}"
              f"  p90 {sorted(v)[len(v) * 9 // 10]:6.1f}")
    for base in keys[:-1]:
        ratios = [c / h for c, h in zip(got[ctr], got[base])]
        print(f"  container / {base}: {statistics.median(got[ctr]) / statistics.median(got[base]):.2f}x "
              f"of medians, {statistics.median(ratios):.2f}x median of paired ratios (target <= 1.2x)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("host_runbox")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--cold", type=int, default=5)
    a = ap.parse_args()
    print("== runtime image report")
    sizes(a.image)
    cold(a.image, a.cold)
    compare(a.image, os.path.abspath(a.host_runbox), a.runs)


if __name__ == "__main__":
    main()
