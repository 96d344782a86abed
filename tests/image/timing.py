#!/usr/bin/python3
"""Timing harness for the image report, run the same way on the host and
inside a container (standard library only; the image has the same Python).

  timing.py loop RUNBOX
      For every line read on stdin, run RUNBOX once in stdin mode with the
      print(1) request and print the milliseconds from spawning it to its
      exit, with its answer read. The caller alternates host and container
      loops line by line, so both sides see the same machine load.

  timing.py cold MODE RUNBOX
      One cold start of MODE (stdin, serve, lambda): milliseconds from
      spawning runbox to the first response to a print(1) request. Prints
      one JSON object {"mode", "ms"} or {"mode", "error"}.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

REQUEST = json.dumps({"script": "print(1)"}).encode()
ENV = dict(os.environ, RUNBOX_LOG="off")


def one_stdin(runbox):
    t0 = time.perf_counter()
    p = subprocess.run([runbox], input=REQUEST, capture_output=True, env=ENV)
    ms = (time.perf_counter() - t0) * 1000
    answer = json.loads(p.stdout)
    if answer.get("stdout") != "1\n":
        raise SystemExit(f"unexpected answer: {p.stdout!r} {p.stderr[-500:]!r}")
    return ms


def loop(runbox):
    for _ in sys.stdin:
        print(f"{one_stdin(runbox):.3f}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_serve(runbox):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([runbox, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"runbox serve exited {proc.returncode}: {err[0] if err else ''}")
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("no answer within 30 s")
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/run", data=REQUEST,
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.002)
        if body.get("stdout") != "1\n":
            raise RuntimeError(f"unexpected answer {body}")
        return (time.perf_counter() - t0) * 1000
    finally:
        proc.kill()
        proc.wait()


def cold_lambda(runbox):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
    from fake_lambda_api import FakeLambdaAPI  # the test suite's fake Runtime API
    api = FakeLambdaAPI(host="127.0.0.1", port=0)
    api.start()
    rid = api.enqueue({"script": "print(1)"})
    env = dict(ENV, AWS_LAMBDA_RUNTIME_API=api.address)
    t0 = time.perf_counter()
    proc = subprocess.Popen([runbox], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        kind, body, _ = api.wait_result(rid, 30)
        ms = (time.perf_counter() - t0) * 1000
        if kind != "response" or json.loads(body).get("stdout") != "1\n":
            raise RuntimeError(f"unexpected {kind}: {body[:300]!r}")
        return ms
    finally:
        proc.kill()
        proc.wait()
        api.stop()


def cold(mode, runbox):
    fn = {"stdin": one_stdin, "serve": cold_serve, "lambda": cold_lambda}[mode]
    try:
        print(json.dumps({"mode": mode, "ms": round(fn(runbox), 1)}))
    except Exception as e:  # noqa: BLE001 - reported, not raised: the report goes on
        print(json.dumps({"mode": mode, "error": f"{type(e).__name__}: {e}"[:300]}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "loop":
        loop(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "cold":
        cold(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
