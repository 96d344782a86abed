"""A local AWS Lambda Runtime API (Python standard library, loopback only):
the test suites' fake, and a command to try runbox's Lambda mode (or the
Lambda image) on a laptop.

It queues events, hands them out on GET /2018-06-01/runtime/invocation/next
with the headers Lambda sends, and records what the runtime posts back to
.../invocation/{id}/response, .../invocation/{id}/error and
/2018-06-01/runtime/init/error.  Fault injection: /next answering 500 (or
any status) a number of times, /next answering late, 413 for responses over
a size, and (through enqueue's deadline_ms) a deadline in the past.

    api = FakeLambdaAPI()
    api.start()
    # run the runtime with AWS_LAMBDA_RUNTIME_API=api.address
    rid = api.enqueue({"script": "print(1)"})
    kind, body, headers = api.wait_result(rid, timeout=30)   # 'response' | 'error'
    api.stop()

As a command it also takes invocations the way AWS's Runtime Interface
Emulator does, on POST /2015-03-31/functions/function/invocations (the
event in, the function's answer out, X-Amz-Function-Error set when the
runtime reported an error), and can start the runtime itself:

    python3 tests/helpers/fake_lambda_api.py --port 9001 -- build/runbox lambda
    curl -s localhost:9001/2015-03-31/functions/function/invocations \\
        -d '{"script": "print(2+2)"}'

    # one invocation, its answer on stdout, then the runtime is stopped:
    python3 tests/helpers/fake_lambda_api.py --invoke '{"script": "print(1)"}' \\
        -- build/runbox lambda

Imported by the Lambda suite and by the runtime image's tests: keep the
interface stable.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
# Where the AWS Runtime Interface Emulator takes invocations.
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# What Lambda accepts from a synchronous invocation's response.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a runtime killed mid-call resets its connection: not news


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests print what matters
        pass

    def _send(self, status, body=b"", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        api = self.server.api
        if self.path != PREFIX + "/invocation/next":
            return self._send(404, {"errorType": "NotFound", "errorMessage": self.path})
        api._next_calls_inc()
        status, delay = api._next_fault()
        if delay:
            time.sleep(delay)
        if status:
            return self._send(status, {"errorType": "Injected", "errorMessage": "fault"})
        item = api._take()
        if item is None:  # stopping
            self.close_connection = True
            return self._send(503, {"errorType": "Stopping", "errorMessage": "stop"})
        rid, body, deadline_ms = item
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": rid,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Trace-Id": api.trace_ids[rid],
            "Lambda-Runtime-Invoked-Function-Arn":
                "arn:aws:lambda:us-east-1:123456789012:function:runbox",
        }
        self._send(200, body, headers)

    def do_POST(self):
        api = self.server.api
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {k: v for k, v in self.headers.items()}
        if self.path == INVOKE_PATH:
            return self._invoke(api, body)
        if self.path == PREFIX + "/init/error":
            api.init_errors.append({"body": body, "headers": headers})
            return self._send(202, {"status": "OK"})
        parts = self.path[len(PREFIX):].split("/") if self.path.startswith(PREFIX) else []
        # ['', 'invocation', id, 'response'|'error']
        if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
            return self._send(404, {"errorType": "NotFound", "errorMessage": self.path})
        rid, kind = parts[2], parts[3]
        if not api._known(rid):
            return self._send(400, {"errorType": "InvalidRequestID",
                                    "errorMessage": "unknown request id"})
        if kind == "response" and len(body) > api.max_response_bytes:
            api.rejected.append((rid, len(body)))
            return self._send(413, {"errorType": "RequestEntityTooLarge",
                                    "errorMessage": "Exceeded maximum allowed payload size"})
        api._record(rid, kind, body, headers)
        self._send(202, {"status": "OK"})

    def _invoke(self, api, event):
        """As Lambda's Invoke API answers a synchronous invocation."""
        rid = api.enqueue(bytes(event) or b"{}")
        try:
            kind, body, _ = api.wait_result(rid, api.default_timeout_ms / 1000 + 10)
        except TimeoutError:
            return self._send(504, {"errorType": "Timeout",
                                    "errorMessage": "the runtime did not answer in time"})
        headers = {"Content-Type": "application/json", "X-Amz-Request-Id": rid}
        if kind == "error":
            headers["X-Amz-Function-Error"] = "Unhandled"
        self._send(200, body, headers)


class FakeLambdaAPI:
    def __init__(self, host="127.0.0.1", port=0):
        if host not in LOOPBACK:
            raise ValueError(f"the fake Runtime API listens on loopback only, not {host!r}")
        self.host = host
        self._want_port = port
        self._srv = None
        self._thread = None
        self._cond = threading.Condition()
        self._queue = []          # (rid, body bytes, deadline_ms or None)
        self._results = {}        # rid -> (kind, body, headers)
        self._issued = set()
        self._stopping = False
        self._faults = []         # [(status or 0, delay_s)] consumed one per /next
        self.trace_ids = {}
        self.init_errors = []     # [{"body": bytes, "headers": dict}]
        self.rejected = []        # [(rid, size)] answers refused with 413
        self.max_response_bytes = LAMBDA_RESPONSE_LIMIT
        self.default_timeout_ms = 60_000
        self.next_calls = 0
        self.next_times = []      # time.monotonic() of each GET /next

    # ---- life ----
    def start(self):
        self._srv = _Server((self.host, self._want_port), _Handler)
        self._srv.api = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._srv.server_address[1]

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()

    # ---- events ----
    def enqueue(self, event, deadline_ms=None):
        """Queue one invocation; returns its request id.  @event is a dict
        (sent as JSON) or bytes (sent as they are).  @deadline_ms is the
        absolute Lambda-Runtime-Deadline-Ms (ms since the epoch); None means
        default_timeout_ms after the event is handed out."""
        body = event if isinstance(event, (bytes, bytearray)) else json.dumps(event).encode()
        rid = str(uuid.uuid4())
        self.trace_ids[rid] = (f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                               f"Parent={uuid.uuid4().hex[:16]};Sampled=0")
        with self._cond:
            self._queue.append((rid, bytes(body), deadline_ms))
            self._issued.add(rid)
            self._cond.notify_all()
        return rid

    def wait_result(self, request_id, timeout):
        """(kind, body, headers) of what the runtime posted for @request_id:
        kind 'response' or 'error'.  Raises TimeoutError."""
        end = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._results:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer for {request_id} within {timeout}s")
                self._cond.wait(left)
            return self._results[request_id]

    # ---- fault injection ----
    def fail_next(self, times=1, status=500):
        """The next @times GET /next calls answer @status instead of an event."""
        with self._cond:
            self._faults.extend([(status, 0)] * times)

    def slow_next(self, seconds, times=1):
        """The next @times GET /next calls wait @seconds before answering."""
        with self._cond:
            self._faults.extend([(0, seconds)] * times)

    # ---- internals (called from handler threads) ----
    def _next_calls_inc(self):
        with self._cond:
            self.next_calls += 1
            self.next_times.append(time.monotonic())
            self._cond.notify_all()

    def _next_fault(self):
        with self._cond:
            return self._faults.pop(0) if self._faults else (0, 0)

    def _take(self):
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(0.5)
            if self._stopping:
                return None
            rid, body, deadline = self._queue.pop(0)
        if deadline is None:
            deadline = int(time.time() * 1000) + self.default_timeout_ms
        return rid, body, deadline

    def _known(self, rid):
        with self._cond:
            return rid in self._issued

    def _record(self, rid, kind, body, headers):
        with self._cond:
            self._results.setdefault(rid, (kind, body, headers))
            self._cond.notify_all()

    def wait_next_calls(self, n, timeout):
        """Block until /next has been called at least @n times."""
        end = time.monotonic() + timeout
        with self._cond:
            while self.next_calls < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"/next called {self.next_calls} times, not {n}")
                self._cond.wait(left)


# ---- the command --------------------------------------------------------------

def _event_arg(text):
    """An --invoke value: JSON text, or @FILE holding it."""
    if text.startswith("@"):
        with open(text[1:], "rb") as fh:
            return fh.read()
    return text.encode()


def _parse_args(argv):
    import argparse

    ap = argparse.ArgumentParser(
        prog="fake_lambda_api.py",
        description="A local AWS Lambda Runtime API on loopback, with the Runtime Interface "
                    "Emulator's invoke endpoint POST " + INVOKE_PATH + ".",
        epilog="Without -- CMD, point a runtime at it with AWS_LAMBDA_RUNTIME_API=HOST:PORT "
               "(a container with --network host).")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address (127.0.0.1)")
    ap.add_argument("--port", type=int, default=9001, help="port (9001; 0 picks one)")
    ap.add_argument("--timeout", type=float, default=60,
                    help="the function's timeout in seconds, as Lambda's deadline (60)")
    ap.add_argument("--invoke", action="append", default=[], metavar="EVENT",
                    help="invoke with EVENT (JSON, or @FILE), print the answer, then stop; "
                         "repeatable")
    ap.add_argument("cmd", nargs=argparse.REMAINDER,
                    help="-- CMD ARGS...: the runtime to start with AWS_LAMBDA_RUNTIME_API set")
    args = ap.parse_args(argv)
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    if args.invoke and not args.cmd:
        ap.error("--invoke needs the runtime to start: -- CMD ARGS...")
    return args


def _start_runtime(cmd, address):
    import os
    import subprocess

    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=address)
    return subprocess.Popen(cmd, env=env)


def _stop_runtime(proc):
    import signal
    import subprocess

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _invoke_all(api, events):
    """Each event in turn; its answer on stdout.  True when none was an error."""
    import sys

    ok = True
    for ev in events:
        rid = api.enqueue(ev)
        kind, body, headers = api.wait_result(rid, api.default_timeout_ms / 1000 + 10)
        sys.stdout.write(body.decode("utf-8", "replace") + "\n")
        sys.stdout.flush()
        if kind != "response":
            print(f"fake_lambda_api: invocation {rid} ended as an error: "
                  f"{headers.get('Lambda-Runtime-Function-Error-Type', '?')}", file=sys.stderr)
            ok = False
    return ok


def main(argv=None):
    import signal
    import sys
    import time

    args = _parse_args(argv)
    # Ctrl-C or `kill` only ask the main loop to stop: an exception raised
    # at an arbitrary bytecode could leave a lock held (subprocess's waitpid
    # lock, say) and hang the stop.  The runtime it started is stopped too.
    stop_asked = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop_asked.append(signum))
    api = FakeLambdaAPI(args.host, args.port)
    api.default_timeout_ms = int(args.timeout * 1000)
    api.start()
    proc = _start_runtime(args.cmd, api.address) if args.cmd else None
    print(f"fake_lambda_api: Runtime API on {api.address}; invoke with\n"
          f"  curl -s http://{api.address}{INVOKE_PATH} -d '{{\"script\": \"print(2+2)\"}}'",
          file=sys.stderr)
    invoked = {}
    if args.invoke:
        events = [_event_arg(e) for e in args.invoke]
        threading.Thread(target=lambda: invoked.update(ok=_invoke_all(api, events)),
                         daemon=True).start()
    try:
        while not stop_asked:
            if "ok" in invoked:
                return 0 if invoked["ok"] else 1
            if proc is not None and proc.poll() is not None:
                print(f"fake_lambda_api: the runtime exited with {proc.returncode}",
                      file=sys.stderr)
                return 1
            time.sleep(0.1)
        return 0
    finally:
        if proc is not None:
            _stop_runtime(proc)
        api.stop()


if __name__ == "__main__":
    raise SystemExit(main())
