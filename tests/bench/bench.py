#!/usr/bin/python3
"""make bench: runbox's added cost against a bare interpreter, measured in one
run on this machine, as medians over repeated runs (never as assertions)."""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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
        os.mkdir(os.path.join(d, "output"))  # as a workspace has
        with open(os.path.join(d, "main.py"), "w") as f:
            f.write(program)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "HOME": d}
        # Its output captured through pipes, as any caller of a bare
        # interpreter must (and as runbox captures its program's).
        t = time.perf_counter()
        subprocess.run([PYTHON, "main.py"], cwd=d, env=env, check=True,
                       capture_output=True)
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


LAST_PAIRED_DIFF = [None]


def paired(a, b):
    """Run a and b alternately REPEAT times (after one warm-up each), so that
    drift on a shared machine hits both alike; medians of time and RSS.  The
    median of the per-pair differences b - a is kept in LAST_PAIRED_DIFF: a
    pair runs back to back, so it is less exposed to drift than the
    difference of the two medians.  The order within a pair alternates
    (a b, b a, ...): a run leaves kernel work behind it (a network
    namespace is torn down after its last process is gone), and whichever
    side always came second would pay for the other's."""
    a(), b()
    ra, rb = [], []
    for i in range(REPEAT):
        if i % 2:
            rb.append(b())
            ra.append(a())
        else:
            ra.append(a())
            rb.append(b())
    LAST_PAIRED_DIFF[0] = statistics.median(y[0] - x[0] for x, y in zip(ra, rb))

    def med(runs):
        rss = [r for _, r in runs if r is not None]
        return statistics.median(t for t, _ in runs), (statistics.median(rss) if rss else None)
    return med(ra), med(rb)


def main():
    print(f"runbox bench: {REPEAT} runs each, medians ('paired': median of the differences "
          f"within back-to-back pairs); {os.cpu_count()} CPUs, "
          f"{os.uname().release}, {RUNBOX}")
    if os.environ.get("BENCH_ONLY") == "serve":
        serve_bench()
        return
    if os.environ.get("BENCH_ONLY") == "warm":
        warm_bench()
        return
    if os.environ.get("BENCH_ONLY") == "mcp":
        mcp_bench()
        return
    if os.environ.get("BENCH_ONLY") == "sessions":
        sessions_bench()
        return
    if os.environ.get("BENCH_ONLY") == "deps":
        return
    if os.environ.get("BENCH_ONLY") == "cgroup":
        cgroup_cost()
        return
    if os.environ.get("BENCH_ONLY") == "javascript":
        bench_javascript()
        return
    print(f"{'case':<16} {'bare ms':>9} {'runbox ms':>10} {'added ms':>9} {'paired':>7} "
          f"{'ratio':>6} {'runbox RSS':>11}")
    rows = [(name, program, None) for name, program in CASES]
    rows.insert(1, ("print(1) sb=off", CASES[0][1], {"RUNBOX_SANDBOX": "off"}))
    for name, program, env in rows:
        (b, _), (r, rss) = paired(lambda: bare(program), lambda: boxed(program, env))
        print(f"{name:<16} {b:9.1f} {r:10.1f} {r - b:9.1f} {LAST_PAIRED_DIFF[0]:7.1f} "
              f"{r / b:6.2f} {(rss or 0) / 1024:8.1f} MiB")
    if os.environ.get("BENCH_SANDBOX", "1") == "1":
        sandbox_cost()
    if os.environ.get("BENCH_CGROUP", "1") == "1":
        cgroup_cost()
    if os.environ.get("BENCH_SERVE", "1") == "1":
        serve_bench()
    if os.environ.get("BENCH_WARM", "1") == "1":
        warm_bench()
    if os.environ.get("BENCH_JAVASCRIPT", "1") == "1":
        bench_javascript()
    if os.environ.get("BENCH_MCP", "1") == "1":
        mcp_bench()
    if os.environ.get("BENCH_SESSIONS", "1") == "1":
        sessions_bench()


def sandbox_cost():
    """Every layer against RUNBOX_SANDBOX=off.  Twice the pairs: the target
    (2 ms) is small against the noise of an `import pandas` (tens of ms)."""
    global REPEAT
    saved, REPEAT = REPEAT, int(os.environ.get("BENCH_SANDBOX_REPEAT", str(2 * REPEAT)))
    try:
        print(f"\nsandbox cost: every layer against RUNBOX_SANDBOX=off, {REPEAT} pairs")
        for name, program in [("print(1)", "print(1)\n"), ("import pandas", "import pandas\n")]:
            (on, _), (off, _) = paired(lambda: boxed(program),
                                       lambda: boxed(program, {"RUNBOX_SANDBOX": "off"}))
            print(f"{name:<16} on {on:8.1f} ms  off {off:8.1f} ms  added {on - off:6.1f} ms  "
                  f"paired {-LAST_PAIRED_DIFF[0]:6.1f} ms")
    finally:
        REPEAT = saved


def cgroup_probe():
    """(version, detail) of the control groups runs get here, from `runbox check`."""
    p = subprocess.run([RUNBOX, "check"], capture_output=True, env={"RUNBOX_LOG": "off"})
    cg = json.loads(p.stdout)["cgroup"]
    return (cg["version"] if cg["available"] else 0), cg["detail"]


def serve_one(port):
    """One print(1) request on a fresh connection; (ms, None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    c.request("POST", "/api/run", json.dumps({"script": "print(1)\n"}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t) * 1000
    c.close()
    assert r.status == 200 and json.loads(data)["exit_code"] == 0, data
    return ms, None


def cgroup_phase_ms():
    """The median of the run log's "cgroup" phase (the group made, with its limits)."""
    got = []
    for _ in range(REPEAT):
        p = subprocess.run([RUNBOX], input=b'{"script":"pass"}', capture_output=True,
                           env={"RUNBOX_LOG": "debug"})
        for line in p.stderr.decode().splitlines():
            try:
                ph = json.loads(line).get("phases_ms")
            except ValueError:
                continue
            if ph and "cgroup" in ph:
                got.append(ph["cgroup"])
    return statistics.median(got) if got else float("nan")


def cgroup_cost():
    """A control group per run against RUNBOX_CGROUP=off: one runbox process per
    request (it also finds its groups, sweeps and proves them at start), and on
    a server (the run's own group: made with its limits, joined, removed)."""
    version, detail = cgroup_probe()
    print(f"\ncontrol groups: {detail}")
    if not version:
        print("not measured: runs get no control group here")
        return
    (on, _), (off, _) = paired(lambda: boxed("print(1)\n"),
                               lambda: boxed("print(1)\n", {"RUNBOX_CGROUP": "off"}))
    print(f"one-shot print(1)  on {on:8.1f} ms  off {off:8.1f} ms  added {on - off:6.2f} ms  "
          f"paired {-LAST_PAIRED_DIFF[0]:6.2f} ms")
    procs = [start_server({"RUNBOX_WARM": "off"}),
             start_server({"RUNBOX_WARM": "off", "RUNBOX_CGROUP": "off"})]
    try:
        (on, _), (off, _) = paired(lambda: serve_one(procs[0][1]),
                                   lambda: serve_one(procs[1][1]))
    finally:
        for p, _ in procs:
            p.terminate()
            p.wait(60)
    print(f"serve print(1)     on {on:8.1f} ms  off {off:8.1f} ms  added {on - off:6.2f} ms  "
          f"paired {-LAST_PAIRED_DIFF[0]:6.2f} ms  (per-run setup and teardown, v{version})")
    print(f"the group made with its limits (the run log's phase): {cgroup_phase_ms():.3f} ms")


def start_server(extra_env=None):
    """`runbox serve` on a free loopback port, its warm template ready unless
    RUNBOX_WARM=off; returns (process, port)."""
    env = {"RUNBOX_LOG": "info"}
    env.update(extra_env or {})
    p = subprocess.Popen([RUNBOX, "serve", "--host", "127.0.0.1", "--port", "0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    for raw in p.stderr:
        if b'"serve_listening"' in raw:
            port = json.loads(raw)["port"]
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            wait_warm(port, env.get("RUNBOX_WARM") != "off")
            return p, port
    raise RuntimeError("runbox serve did not start")


def warm_info(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/api/info")
    w = json.loads(c.getresponse().read())["warm"]
    c.close()
    return w


def wait_warm(port, want):
    deadline = time.monotonic() + 180
    while want and any(warm_info(port)[k]["state"] != "ready" for k in ("stack", "bare")):
        if time.monotonic() > deadline:
            raise RuntimeError("the warm template never became ready")
        time.sleep(0.2)


def serve_batch(port, clients, n, program="print(1)\n", start=None):
    """@n requests of @program from @clients keep-alive connections (each
    answered as @start, "warm" or "cold", when given); latencies in ms."""
    body = json.dumps({"script": program})
    lat, lock, left = [], threading.Lock(), [n]

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not left[0]:
                    break
                left[0] -= 1
            t = time.perf_counter()
            c.request("POST", "/api/run", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            ms = (time.perf_counter() - t) * 1000
            assert r.status == 200 and json.loads(data)["exit_code"] == 0, data
            assert start is None or json.loads(data)["start"] == start, data
            with lock:
                lat.append(ms)
        c.close()
    return run_clients(client, clients, lat)


def process_batch(clients, n, one):
    """The same requests, one process each (@one returns its time in ms)."""
    lat, lock, left = [], threading.Lock(), [n]

    def client():
        while True:
            with lock:
                if not left[0]:
                    break
                left[0] -= 1
            ms, _ = one()
            with lock:
                lat.append(ms)
    return run_clients(client, clients, lat)


def run_clients(fn, clients, lat):
    t = time.perf_counter()
    ts = [threading.Thread(target=fn) for _ in range(clients)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    return len(lat) / (time.perf_counter() - t), lat


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def serve_bench():
    """Throughput and latency of serve mode against one runbox process per
    request over stdin, and the bare interpreter for reference, in
    alternating rounds so that drift hits all alike.  The machine's limit is
    CPU cores / the bare interpreter's start time (its p50 with one client)."""
    rounds, per_round = max(3, REPEAT // 6), 20
    cores = os.cpu_count()
    print(f"\nserve mode: print(1), {rounds} alternating rounds of {per_round} requests per mode "
          "(serve without its warm template: see the warm table for that)")
    proc, port = start_server({"RUNBOX_WARM": "off"})
    rows = {}
    try:
        serve_batch(port, 2, 4)
        for clients in (1, 2):
            modes = {"serve": lambda: serve_batch(port, clients, per_round),
                     "stdin": lambda: process_batch(clients, per_round,
                                                    lambda: boxed("print(1)\n")),
                     "bare": lambda: process_batch(clients, per_round,
                                                   lambda: bare("print(1)\n"))}
            res = {m: ([], []) for m in modes}
            for _ in range(rounds):
                for m, batch in modes.items():
                    rps, lat = batch()
                    res[m][0].append(rps)
                    res[m][1].extend(lat)
            for m, (rps, lat) in res.items():
                rows[clients, m] = (statistics.median(rps), pct(lat, 50), pct(lat, 99))
    finally:
        proc.terminate()
        proc.wait(60)
    limit = cores / (rows[1, "bare"][1] / 1000)
    print(f"machine limit: {cores} cores / {rows[1, 'bare'][1]:.1f} ms bare start "
          f"= {limit:.1f} req/s")
    print(f"{'clients':<8} {'mode':<8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'of limit':>9}")
    for (clients, m), (r, p50, p99) in rows.items():
        print(f"{clients:<8} {m:<8} {r:7.1f} {p50:8.1f} {p99:8.1f} {r / limit * 100:8.0f}%")


# ---- warm templates ----------------------------------------------------------

PANDAS = 'import pandas as pd; df = pd.DataFrame({"a": range(10000)}); print(df.a.sum())\n'
CHART = ("import matplotlib.pyplot as plt\n"
         "plt.plot(range(1000), [i * i for i in range(1000)]); plt.savefig('output/plot.png')\n")
# The same chart, timed in one interpreter that has drawn one already.
CHART_IN_PROCESS = r"""
import os, time, statistics, tempfile, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
os.chdir(tempfile.mkdtemp()); os.mkdir("output")
def chart():
    plt.plot(range(1000), [i * i for i in range(1000)]); plt.savefig('output/plot.png'); plt.close()
chart()
ts = []
for _ in range(%d):
    t = time.perf_counter(); chart(); ts.append((time.perf_counter() - t) * 1000)
print(statistics.median(ts))
"""


def warm_bench():
    """The warm template (serve, one keep-alive client): each program's p50
    and p99 over HTTP, warm and with RUNBOX_WARM=off, against the bare
    interpreter; then throughput at saturation for the pandas program."""
    n = max(10, REPEAT)
    print(f"\nwarm template (serve, one client, {n} requests a case; bare: python3 main.py)")
    warm, wport = start_server()
    cold, cport = start_server({"RUNBOX_WARM": "off"})
    try:
        w = warm_info(wport)
        for k in ("stack", "bare"):
            t = w[k]
            print(f"{k} template: ready in {t['start_ms']:.0f} ms, RSS {t['rss_kb'] / 1024:.1f} MiB, "
                  f"address space {t['vsize_kb'] / 1024:.0f} MiB; imports: {t['imports'] or '-'}")
        print(f"{'case':<10} {'bare p50':>9} {'warm p50':>9} {'warm p99':>9} {'cold p50':>9} "
              f"{'warm/bare':>10}")
        for name, program in (("print(1)", "print(1)\n"), ("pandas", PANDAS), ("chart", CHART)):
            serve_batch(wport, 1, 3, program, "warm")
            _, wl = serve_batch(wport, 1, n, program, "warm")
            _, cl = serve_batch(cport, 1, max(5, n // 3), program, "cold")
            bl = [bare(program)[0] for _ in range(max(5, n // 3))]
            print(f"{name:<10} {pct(bl, 50):9.1f} {pct(wl, 50):9.1f} {pct(wl, 99):9.1f} "
                  f"{pct(cl, 50):9.1f} {pct(wl, 50) / pct(bl, 50):10.2f}")
            if name == "chart":
                p = subprocess.run([PYTHON, "-c", CHART_IN_PROCESS % n], capture_output=True,
                                   env={"MPLBACKEND": "Agg", "HOME": tempfile.gettempdir()})
                inproc = float(p.stdout)
                print(f"{'':<10} the chart in an interpreter that drew one already: {inproc:.1f} ms; "
                      f"warm p50 / that = {pct(wl, 50) / inproc:.2f}")
        w = warm_info(wport)
        print(f"added RSS of a warm run: last {w['added_rss_kb_last'] / 1024:.1f} MiB, "
              f"largest {w['added_rss_kb_max'] / 1024:.1f} MiB")
        for clients in (2, 4):
            wr, _ = serve_batch(wport, clients, 3 * n, PANDAS, "warm")
            cr, _ = serve_batch(cport, clients, max(6, n // 3), PANDAS, "cold")
            print(f"pandas at saturation, {clients} connections: warm {wr:.1f} req/s, "
                  f"cold {cr:.1f} req/s, {wr / cr:.1f}x")
    finally:
        for p in (warm, cold):
            p.terminate()
            p.wait(60)


# ---- MCP over HTTP ---------------------------------------------------------


def mcp_bench():
    """print(1) as an MCP tool call (POST /mcp, a session, a JSON answer) against
    the same program through POST /api/run, on one server, one keep-alive
    connection each, in back-to-back pairs: what MCP's framing adds (the
    JSON-RPC envelope, the session, the tool result built around the answer).
    An MCP session's calls keep their files in a file session, so the
    /api/run side names one too: both copy the same files in and back
    (what that costs alone is BENCH_ONLY=sessions)."""
    n = max(20, 2 * REPEAT)
    print(f"\nMCP over HTTP: print(1) as tools/call on POST /mcp vs POST /api/run, "
          f"same server (warm), {n} pairs")
    proc, port = start_server()
    try:
        api = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mcp = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        hdr = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        mcp.request("POST", "/mcp", json.dumps({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "1"}}}), hdr)
        r = mcp.getresponse()
        r.read()
        hdr.update({"Mcp-Session-Id": r.getheader("Mcp-Session-Id"),
                    "MCP-Protocol-Version": "2025-11-25"})
        call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "run_python", "arguments": {"code": "print(1)"}}})
        api.request("POST", "/api/run", json.dumps({"script": "1", "session": True}),
                    {"Content-Type": "application/json"})
        opened = json.loads(api.getresponse().read())
        run = json.dumps({"script": "print(1)", "session": opened["session"]["id"]})

        def one(conn, path, body, headers, check):
            t = time.perf_counter()
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            ms = (time.perf_counter() - t) * 1000
            assert resp.status == 200 and check(json.loads(data)), data[:500]
            return ms
        via_api = lambda: one(api, "/api/run", run, {"Content-Type": "application/json"},
                              lambda j: j["stdout"] == "1\n")
        via_mcp = lambda: one(mcp, "/mcp", call, hdr,
                              lambda j: j["result"]["structuredContent"]["stdout"] == "1\n")
        for _ in range(5):
            via_api(), via_mcp()
        a, m, d = [], [], []
        for i in range(n):
            pair = (via_api(), via_mcp()) if i % 2 == 0 else tuple(reversed((via_mcp(), via_api())))
            a.append(pair[0])
            m.append(pair[1])
            d.append(pair[1] - pair[0])
        print(f"/api/run p50 {statistics.median(a):6.2f} ms   /mcp p50 {statistics.median(m):6.2f} ms"
              f"   added {statistics.median(m) - statistics.median(a):5.2f} ms"
              f"   paired {statistics.median(d):5.2f} ms (target: at most 1 ms)")
    finally:
        proc.terminate()
        proc.wait(60)
# ---- sessions and client-kept state ---------------------------------------

READ_INPUTS = ("import hashlib\nh = hashlib.sha256()\nfor n in ('a.bin', 'b.bin'):\n"
               "    h.update(open('input/' + n, 'rb').read())\nprint(h.hexdigest()[:8])\n")


def post(conn, req):
    t = time.perf_counter()
    conn.request("POST", "/api/run", json.dumps(req), {"Content-Type": "application/json"})
    r = json.loads(conn.getresponse().read())
    assert r.get("exit_code") == 0, str(r)[:500]
    return (time.perf_counter() - t) * 1000, r


def sessions_bench():
    """A file session call against a one-shot call that resends the same
    10 MiB of input (serve, one keep-alive client, alternating); a session
    call's own cost on print(1); and a client-kept state's round trip per
    MiB (stdin front door: pack with return_state, unpack with state)."""
    import base64
    n = max(10, REPEAT)
    files = {k: {"content": base64.b64encode(os.urandom(5 << 20)).decode(),
                 "encoding": "base64"} for k in ("a.bin", "b.bin")}
    print(f"\nfile sessions (serve, one client, {n} requests a case, warm off)")
    p, port = start_server({"RUNBOX_WARM": "off"})
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        _, r = post(c, {"script": READ_INPUTS, "context": files, "session": True})
        sid = r["session"]["id"]
        one, sess = [], []
        for i in range(n):
            one.append(post(c, {"script": READ_INPUTS, "context": files})[0])
            sess.append(post(c, {"script": READ_INPUTS, "session": sid})[0])
        print(f"10 MiB of input: one-shot resending it p50 {pct(one, 50):.1f} ms, "
              f"session call p50 {pct(sess, 50):.1f} ms ({pct(one, 50) / pct(sess, 50):.1f}x)")
        one, sess = [], []
        _, r = post(c, {"script": "print(1)", "session": True})
        sid = r["session"]["id"]
        for i in range(n):
            one.append(post(c, {"script": "print(1)"})[0])
            sess.append(post(c, {"script": "print(1)", "session": sid})[0])
        print(f"print(1): one-shot p50 {pct(one, 50):.1f} ms, in a session (empty) "
              f"p50 {pct(sess, 50):.1f} ms")
        c.close()
    finally:
        p.terminate()
        p.wait(60)
    print("client-kept state, stdin (random bytes: gzip cannot shrink them)")
    for mib in (1, 4):
        write = f"import os\nopen('w.bin','wb').write(os.urandom({mib} << 20))\n"
        plain = lambda: stdin_ms({"script": write})
        packed = lambda: stdin_ms({"script": write, "return_state": True})
        (a, _), (b, _) = paired(plain, packed)
        st = stdin_json({"script": write, "return_state": True})["state"]
        bare_run = lambda: stdin_ms({"script": "print(1)"})
        unpack = lambda: stdin_ms({"script": "print(1)", "state": st})
        (c0, _), (c1, _) = paired(bare_run, unpack)
        print(f"{mib} MiB: pack +{b - a:.1f} ms ({(b - a) / mib:.1f} ms/MiB), "
              f"unpack +{c1 - c0:.1f} ms ({(c1 - c0) / mib:.1f} ms/MiB), "
              f"state {len(st) / 1048576:.2f} MiB of base64")


def stdin_json(req):
    p = subprocess.run([RUNBOX], input=json.dumps(req).encode(), env={"RUNBOX_LOG": "off"},
                       capture_output=True)
    r = json.loads(p.stdout)
    assert r.get("exit_code") == 0, str(r)[:500]
    return r


def stdin_ms(req):
    t = time.perf_counter()
    stdin_json(req)
    return (time.perf_counter() - t) * 1000, None


# ---- dependencies from the baked cache ------------------------------------

DEPS_REPEAT = int(os.environ.get("BENCH_DEPS_REPEAT", "7"))


def build_bench_wheels(d):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deps"))
    import wheels  # the suite's wheel writer: real zips with a correct RECORD
    for i in range(15):
        wheels.make_wheel(d, f"benchdep{i:02d}", "1.0",
                          files={f"benchdep{i:02d}/__init__.py": "X = 1\n" * 200})


def import_script(n):
    return "".join(f"import benchdep{i:02d}\n" for i in range(n))


def pip_side(wheel_dir, n):
    """pip install of the same wheels into a fresh --target, then the import."""
    with tempfile.TemporaryDirectory() as d:
        target = os.path.join(d, "t")
        names = [f"benchdep{i:02d}" for i in range(n)]
        env = {"PATH": "/usr/bin:/bin", "HOME": d, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
        t = time.perf_counter()
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--no-index", "--no-compile",
                        "--find-links", wheel_dir, "--target", target] + names,
                       env=env, check=True, capture_output=True)
        installed = (time.perf_counter() - t) * 1000
        subprocess.run([PYTHON, "-c", import_script(n)], env=dict(env, PYTHONPATH=target),
                       check=True)
        return (time.perf_counter() - t) * 1000, installed


def runbox_deps(cache, n, state=None, want_phase=False):
    body = json.dumps({"script": import_script(n),
                       "dependencies": [f"benchdep{i:02d}" for i in range(n)]}).encode()
    env = {"RUNBOX_LOG": "debug", "RUNBOX_CACHE_DIR": cache}
    if state:
        env["RUNBOX_STATE_DIR"] = state
    t = time.perf_counter()
    p = subprocess.run([RUNBOX], input=body, env=env, capture_output=True)
    ms = (time.perf_counter() - t) * 1000
    resp = json.loads(p.stdout)
    assert resp.get("exit_code") == 0, resp
    admit = None
    for line in p.stderr.decode().splitlines():
        try:
            admit = json.loads(line).get("phases_ms", {}).get("admit", admit)
        except ValueError:
            pass
    return ms, admit


def bench_deps():
    with tempfile.TemporaryDirectory() as d:
        wheel_dir, cache = os.path.join(d, "wheels"), os.path.join(d, "cache")
        os.mkdir(wheel_dir)
        build_bench_wheels(wheel_dir)
        subprocess.run([RUNBOX, "bake", wheel_dir, cache], check=True, capture_output=True)
        print(f"\ndependencies: time until N are importable, {DEPS_REPEAT} runs each "
              "(pip: install --no-index --find-links --target, then the import)")
        print(f"{'deps':<5} {'pip ms':>9} {'runbox ms':>10} {'faster':>7} | "
              f"{'pip install ms':>14} {'runbox resolve+install ms':>26} {'per dep':>8} "
              f"{'faster':>7}")
        for n in (1, 5, 15):
            global REPEAT
            saved, REPEAT = REPEAT, DEPS_REPEAT
            (pip_ms, pip_inst), (rb_ms, admit) = paired(lambda: pip_side(wheel_dir, n),
                                                        lambda: runbox_deps(cache, n))
            REPEAT = saved
            print(f"{n:<5} {pip_ms:9.1f} {rb_ms:10.1f} {pip_ms / rb_ms:6.1f}x | "
                  f"{pip_inst:14.1f} {admit:26.3f} {admit / n:8.3f} {pip_inst / admit:6.0f}x")
        bench_lazy(d)
        bench_bytecode(d)
        bench_index(d)


def bench_lazy(d):
    """First use of a lazily baked wheel (extracted and compiled) against a
    warm reuse, per MiB.  The wheel is made here: Debian's own wheels are of
    packages the interpreter has, which a request gets pre-installed."""
    wd, cache = os.path.join(d, "lazy-wheels"), os.path.join(d, "lazy-cache")
    os.mkdir(wd)
    wheel = os.path.basename(big_package(wd, "benchlazy", 100, 200))
    subprocess.run([RUNBOX, "bake", "--lazy", wd, cache], check=True, capture_output=True)
    entry = json.load(open(os.path.join(cache, "index.json")))["packages"][0]
    name = entry["name"]
    mib = os.path.getsize(os.path.join(wd, wheel)) / (1 << 20)
    unpacked = entry["bytes"] / (1 << 20)
    body = json.dumps({"script": "pass", "dependencies": [name]}).encode()
    firsts, warms = [], []
    for k in range(DEPS_REPEAT):
        state = os.path.join(d, f"lazy-state-{k}")
        for bucket in (firsts, warms):
            t = time.perf_counter()
            p = subprocess.run([RUNBOX], input=body, capture_output=True,
                               env={"RUNBOX_LOG": "off", "RUNBOX_CACHE_DIR": cache,
                                    "RUNBOX_STATE_DIR": state, "RUNBOX_PYTHON": PYTHON})
            bucket.append((time.perf_counter() - t) * 1000)
            assert json.loads(p.stdout).get("exit_code") == 0, p.stdout
    first, warm = statistics.median(firsts), statistics.median(warms)
    print(f"lazy extraction of {wheel} ({mib:.2f} MiB, {unpacked:.2f} MiB unpacked): "
          f"first use {first:.1f} ms, reuse {warm:.1f} ms, one-time cost "
          f"{first - warm:.1f} ms = {(first - warm) / unpacked:.1f} ms per MiB unpacked "
          "(extraction and bytecode)")



# ---- bytecode, and a package index on loopback ---------------------------

def big_package(d, name, modules, lines):
    """A wheel of @modules modules of @lines lines of varied code each."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deps"))
    import wheels
    body = "".join(
        f"class C{k}:\n    '''doc {k}'''\n    def __init__(self, a={k}, b='{k}'):\n"
        f"        self.a, self.b = a, [b] * 3\n    def m(self, x):\n"
        f"        return {{i: (x + i) ** 2 for i in range(self.a % 7)}}\n"
        f"def f{k}(x, *args, **kw):\n    if x > {k}:\n        return [y for y in args if y]\n"
        f"    return sum(kw.values(), {k})\n"
        for k in range(lines // 10))
    files = {f"{name}/__init__.py": "".join(f"from . import m{i:03d}\n" for i in range(modules))}
    for i in range(modules):
        files[f"{name}/m{i:03d}.py"] = body
    return wheels.make_wheel(d, name, "1.0", files=files)


IMPORT_TIMER = ("import time\nt = time.perf_counter()\nimport {name}\n"
                "print((time.perf_counter() - t) * 1000)\n")


def import_in_runbox(cache, name):
    body = json.dumps({"script": IMPORT_TIMER.format(name=name), "dependencies": [name]})
    p = subprocess.run([RUNBOX], input=body.encode(), capture_output=True,
                       env={"RUNBOX_LOG": "off", "RUNBOX_CACHE_DIR": cache})
    resp = json.loads(p.stdout)
    assert resp.get("exit_code") == 0, resp
    return float(resp["stdout"]), None


def import_bare(target, name):
    p = subprocess.run([PYTHON, "-c", IMPORT_TIMER.format(name=name)], capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": target,
                            "PYTHONDONTWRITEBYTECODE": "1"}, check=True)
    return float(p.stdout), None


def strip_bytecode(src, dst):
    subprocess.run(["cp", "-a", src, dst], check=True)
    subprocess.run(["chmod", "-R", "u+w", dst], check=True)
    for root, dirs, _ in os.walk(dst):
        if "__pycache__" in dirs:
            subprocess.run(["rm", "-rf", os.path.join(root, "__pycache__")], check=True)
            dirs.remove("__pycache__")


def bench_bytecode(d):
    global REPEAT
    wd = os.path.join(d, "bc-wheels")
    os.mkdir(wd)
    big_package(wd, "benchbig", 300, 400)  # about networkx's size: 300 modules, ~5 MiB
    big_package(wd, "benchsmall", 1, 40)
    cache, bare_cache, target = (os.path.join(d, n) for n in ("bc-cache", "bc-nopyc", "bc-pip"))
    subprocess.run([RUNBOX, "bake", wd, cache], check=True, capture_output=True)
    strip_bytecode(cache, bare_cache)
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--no-index", "--find-links", wd,
                    "--target", target, "benchbig", "benchsmall"], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": d, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    print(f"\nimport time inside the program, {DEPS_REPEAT} runs each: in runbox from the baked "
          "cache with and without its bytecode; by a bare interpreter from the same baked tree "
          "and from pip's (install --no-index --find-links --target, with its bytecode)")
    print(f"{'package':<26} {'runbox+pyc':>10} {'runbox no pyc':>13} {'bare, baked':>11} "
          f"{'bare, pip':>10}")
    saved, REPEAT = REPEAT, DEPS_REPEAT
    try:
        for name, label in (("benchbig", "300 modules, 5 MiB source"),
                            ("benchsmall", "1 module")):
            (pyc, _), (nopyc, _) = paired(lambda: import_in_runbox(cache, name),
                                          lambda: import_in_runbox(bare_cache, name))
            tree = os.path.join(cache, "site", f"{name}-1.0")
            (pip, _), (baked, _) = paired(lambda: import_bare(target, name),
                                          lambda: import_bare(tree, name))
            print(f"{label:<26} {pyc:10.1f} {nopyc:13.1f} {baked:11.1f} {pip:10.1f} ms")
    finally:
        REPEAT = saved


def bench_index(d):
    """A 1 MiB wheel from a loopback index: runbox's first request against
    pip install --index-url, then runbox's cached request."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deps"))
    import simple_index
    import wheels
    wd = os.path.join(d, "ix-wheels")
    os.mkdir(wd)
    w = wheels.make_wheel(wd, "onemib", "1.0", files={"onemib/__init__.py": "X = 1\n",
                                                        "onemib/blob.bin": os.urandom(1 << 20)})
    leaves = [wheels.make_wheel(wd, f"ixleaf{i}", "1.0") for i in range(5)]
    ix = simple_index.Index().start()
    for f in [w] + leaves:
        ix.add(f)
    mib = os.path.getsize(w) / (1 << 20)
    firsts, fetches, pips, seconds = [], [], [], []
    try:
        for k in range(DEPS_REPEAT):
            state = os.path.join(d, f"ix-state-{k}")
            body = json.dumps({"script": "import onemib", "dependencies": ["onemib"]}).encode()
            env = {"RUNBOX_LOG": "debug", "RUNBOX_INDEX_URL": ix.url, "RUNBOX_STATE_DIR": state}
            t = time.perf_counter()
            p = subprocess.run([RUNBOX], input=body, capture_output=True, env=env)
            firsts.append((time.perf_counter() - t) * 1000)
            resp = json.loads(p.stdout)
            assert resp.get("exit_code") == 0, resp
            fetches.append(resp["dependencies"][0]["fetch_ms"])
            with tempfile.TemporaryDirectory() as pd:
                t = time.perf_counter()
                subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--index-url", ix.url,
                                "--target", os.path.join(pd, "t"), "onemib"], check=True,
                               capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": pd,
                                                         "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
                subprocess.run([PYTHON, "-c", "import onemib"], check=True,
                               env={"PYTHONPATH": os.path.join(pd, "t")})
                pips.append((time.perf_counter() - t) * 1000)
            deps = ["onemib"] + [f"ixleaf{i}" for i in range(5)]
            body = json.dumps({"script": "pass", "dependencies": deps}).encode()
            subprocess.run([RUNBOX], input=body, capture_output=True, env=env)  # fetch the leaves
            p = subprocess.run([RUNBOX], input=body, capture_output=True, env=env)
            for line in p.stderr.decode().splitlines():
                ph = json.loads(line).get("phases_ms") if line.startswith("{") else None
                if ph:
                    seconds.append(ph["admit"] / len(deps))
    finally:
        ix.stop()
    med = statistics.median
    print(f"\npackage index on loopback, a {mib:.2f} MiB wheel, {DEPS_REPEAT} runs each:")
    print(f"first request (fresh instance): runbox {med(firsts):.1f} ms (download+verify+unpack+"
          f"compile {med(fetches):.1f} ms) vs pip install --index-url + import {med(pips):.1f} ms"
          f" = {med(pips) / med(firsts):.1f}x")
    print(f"cached request, 6 dependencies: resolve+install {med(seconds):.3f} ms per dependency")


# ---- JavaScript and TypeScript --------------------------------------------

NODE = shutil.which("node", path="/usr/bin:/bin") or "node"
ESBUILD = shutil.which("esbuild", path="/usr/bin:/bin") or "esbuild"
NODE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


# The flags runbox starts a CommonJS script with (pkg/run/nodeargv.c), for
# RUNBOX_MEMORY_BYTES's default, and its prelude for such a script.
NODE_RUNBOX_FLAGS = ["--max-old-space-size=768", "-r", "./prelude.cjs"]
NODE_PRELUDE = ("\"use strict\";\nfor (const s of [process.stdout, process.stderr])\n"
                "\tif (s._handle && s._handle.setBlocking) s._handle.setBlocking(true);\n")


def node_bare(program, fname="main.js", flags=()):
    """`node [flags] main.js` in a fresh directory, its output through pipes."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, fname), "w") as f:
            f.write(program)
        with open(os.path.join(d, "prelude.cjs"), "w") as f:
            f.write(NODE_PRELUDE)
        t = time.perf_counter()
        subprocess.run([NODE, *flags, fname], cwd=d, env=dict(NODE_ENV, HOME=d), check=True,
                       capture_output=True)
        return (time.perf_counter() - t) * 1000, None


def node_boxed(program, language="javascript", extra_env=None):
    return node_boxed_phases(program, language, extra_env)[0], None


def node_boxed_phases(program, language="javascript", extra_env=None, deps=None, cache=None):
    """One runbox run; (ms, phases_ms of its log line)."""
    req = {"language": language, "script": program}
    if deps:
        req["dependencies"] = deps
    env = {"RUNBOX_LOG": "debug"}
    if cache:
        env["RUNBOX_CACHE_DIR"] = cache
    env.update(extra_env or {})
    t = time.perf_counter()
    p = subprocess.run([RUNBOX], input=json.dumps(req).encode(), env=env, capture_output=True)
    ms = (time.perf_counter() - t) * 1000
    resp = json.loads(p.stdout)
    assert resp.get("exit_code") == 0, resp
    phases = {}
    for line in p.stderr.decode().splitlines():
        try:
            phases = json.loads(line).get("phases_ms", phases)
        except ValueError:
            pass
    return ms, phases


def typescript_program(lines):
    """A TypeScript file of about @lines lines: interfaces, typed functions, a class."""
    out = ["interface Point { x: number; y: number; label?: string }", ""]
    i = 0
    while len(out) < lines - 2:
        out += [f"function f{i}(p: Point, k: number = {i}): Point {{",
                f"  const s: number = p.x * k + p.y;",
                f"  return {{ x: s, y: p.y - k, label: `f{i}` }} as Point;",
                "}",
                f"class C{i} {{ private v: number = {i}; get(): number {{ return this.v; }} }}"]
        i += 1
    out.append(f"console.log(f0({{ x: 1, y: 2 }}).x + new C{i - 1}().get());")
    return "\n".join(out) + "\n"


def bench_node_start():
    print(f"\nJavaScript: {NODE} "
          f"{subprocess.run([NODE, '--version'], capture_output=True, text=True).stdout.strip()}"
          f", {REPEAT} pairs; bare is `node main.js` (runbox's script mode runs it as main.cjs)")
    print(f"{'case':<34} {'bare ms':>9} {'other ms':>9} {'added ms':>9} {'paired':>7} "
          f"{'ratio':>6}")
    prog = "console.log(1)\n"
    cases = [
        ("runbox, console.log(1)", lambda: node_boxed(prog)),
        ("runbox, RUNBOX_SANDBOX=off", lambda: node_boxed(prog, extra_env={"RUNBOX_SANDBOX": "off"})),
        # What Node itself spends on the flags runbox gives it: the heap cap
        # makes it compile its own modules rather than take its code cache.
        ("bare node with runbox's flags", lambda: node_bare(prog, "main.cjs", NODE_RUNBOX_FLAGS)),
    ]
    for name, other in cases:
        (b, _), (r, _) = paired(lambda: node_bare(prog), other)
        print(f"{name:<34} {b:9.1f} {r:9.1f} {r - b:9.1f} {LAST_PAIRED_DIFF[0]:7.1f} "
              f"{r / b:6.2f}")


def bench_typescript():
    """The transpile's cost: a TypeScript run against a JavaScript run of the
    same program (esbuild's output of it), both in runbox."""
    ts = typescript_program(200)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "main.ts")
        with open(src, "w") as f:
            f.write(ts)
        js = subprocess.run([ESBUILD, "--log-level=error", src], capture_output=True, text=True,
                            check=True).stdout
        esb = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            subprocess.run([ESBUILD, "--log-level=error", "--sourcemap=inline", src],
                           capture_output=True, check=True)
            esb.append((time.perf_counter() - t) * 1000)
    (j, _), (t, _) = paired(lambda: node_boxed(js), lambda: node_boxed(ts, "typescript"))
    print(f"\nTypeScript, a {ts.count(chr(10))}-line file, {REPEAT} pairs: runbox typescript "
          f"{t:.1f} ms, the same program as javascript {j:.1f} ms: transpile {t - j:.1f} ms "
          f"(paired {LAST_PAIRED_DIFF[0]:.1f} ms); bare `esbuild --sourcemap=inline` "
          f"{statistics.median(esb):.1f} ms")


def npm_side(tar_dir, n):
    """`npm install --offline` of the same tarballs into a fresh project, then
    the require()s: (total ms, install ms)."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "package.json"), "w") as f:
            f.write("{}")
        tars = [os.path.join(tar_dir, f"benchnpm{i:02d}-1.0.0.tgz") for i in range(n)]
        env = dict(NODE_ENV, HOME=d, npm_config_cache=os.path.join(d, ".npm"))
        t = time.perf_counter()
        subprocess.run(["npm", "install", "--offline", "--no-audit", "--no-fund",
                        "--ignore-scripts", "--no-package-lock", "--loglevel=error"] + tars,
                       cwd=d, env=env, check=True, capture_output=True)
        installed = (time.perf_counter() - t) * 1000
        subprocess.run([NODE, "-e", npm_script(n)], cwd=d, env=env, check=True)
        return (time.perf_counter() - t) * 1000, installed


def npm_script(n):
    return "".join(f"require('benchnpm{i:02d}');\n" for i in range(n))


def bench_npm_deps():
    """Resolve+install is the admit phase (the resolve) plus what linking the
    packages adds to the workspace phase, against the same run without them."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deps"))
    import npm  # the suite's tarball writer: `npm pack`'s layout
    if not shutil.which("npm", path="/usr/bin:/bin"):
        print("\nnpm dependencies: skipped, no npm to compare with")
        return
    global REPEAT
    with tempfile.TemporaryDirectory() as d:
        tar_dir, cache = os.path.join(d, "tars"), os.path.join(d, "cache")
        os.mkdir(tar_dir)
        for i in range(15):
            npm.tarball(tar_dir, f"benchnpm{i:02d}", "1.0.0",
                        files={"index.js": "module.exports = 1;\n" * 200})
        subprocess.run([RUNBOX, "bake", tar_dir, cache], check=True, capture_output=True)
        print(f"\nnpm dependencies: time until N are loadable, {DEPS_REPEAT} runs each "
              "(npm: install --offline of the same tarballs, then the require()s)")
        print(f"{'deps':<5} {'npm ms':>9} {'runbox ms':>10} {'faster':>7} | "
              f"{'npm install ms':>14} {'runbox resolve+install ms':>26} {'per dep':>8}")
        saved, REPEAT = REPEAT, DEPS_REPEAT
        try:
            base = [node_boxed_phases("0;\n", cache=cache)[1] for _ in range(DEPS_REPEAT)]
            ws0 = statistics.median(p["workspace"] for p in base)
            for n in (1, 5, 15):
                names = [f"benchnpm{i:02d}" for i in range(n)]
                runs = []

                def rb():
                    ms, ph = node_boxed_phases(npm_script(n), deps=names, cache=cache)
                    runs.append(ph)
                    return ms, None
                (np_ms, np_inst), (rb_ms, _) = paired(lambda: npm_side(tar_dir, n), rb)
                inst = statistics.median(p["admit"] + p["workspace"] - ws0 for p in runs)
                print(f"{n:<5} {np_ms:9.1f} {rb_ms:10.1f} {np_ms / rb_ms:6.1f}x | "
                      f"{np_inst:14.1f} {inst:26.3f} {inst / n:8.3f}")
        finally:
            REPEAT = saved


def bench_javascript():
    if not os.path.exists(NODE):
        print("\nJavaScript: skipped, no node")
        return
    bench_node_start()
    bench_typescript()
    bench_npm_deps()


if __name__ == "__main__":
    main()
    if os.environ.get("BENCH_DEPS", "1") == "1" and os.environ.get("BENCH_ONLY", "deps") == "deps":
        bench_deps()
