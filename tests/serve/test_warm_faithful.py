"""A program run warm is indistinguishable from the same program run cold.

Each program below runs twice: cold, through this runbox binary's stdin
mode (a fresh interpreter, exactly as a one-shot run), and warm, through
`runbox serve` whose template is ready (a copy of the template that
returns into the interpreter).  Every field of the two answers must be
byte-identical but for duration_ms, start, and the workspace's random
name, which differs from run to run whichever path serves it.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import AS, MARK_NAME, NOBODY, UID_BASE, runbox_bin
from warm_helpers import wait_ready

PROGRAMS = {
    "argv and path": "import sys, os\n"
                     "print(sys.argv, sys.orig_argv[1:], sys.path[0] == os.getcwd(), sys.path[1:])\n"
                     "print(__name__, __file__, os.getcwd() == os.path.dirname(__file__))",
    "__main__ guard": "def main():\n    print('main ran')\nif __name__ == '__main__':\n    main()",
    "environment": "import os; print(sorted(os.environ.items()))",
    "request env": "import os; print(os.environ['GREETING'], os.environ.get('TZ'))",
    "exit none": "import sys; sys.exit()",
    "exit int": "import sys; sys.exit(3)",
    "exit string": "import sys; sys.exit('bye')",
    "os._exit": "import os; print('x', flush=True); os._exit(7)",
    "uncaught": "def f():\n    g()\ndef g():\n    1/0\nf()",
    "library traceback": "import pandas as pd\npd.DataFrame({'a': [1]}).loc[5]",
    "numpy traceback": "import numpy as np\nnp.arange(3).reshape(2, 2)",
    "syntax error": "print(1",
    "keyboard interrupt": "raise KeyboardInterrupt",
    "signal": "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    "abort": "import os; os.abort()",
    "atexit": "import atexit\natexit.register(lambda: print('bye'))\nprint('hi')",
    "thread joined": "import threading, time\n"
                     "def w():\n    time.sleep(0.3); print('thread done')\n"
                     "threading.Thread(target=w).start(); print('main done')",
    "stdout replaced": "import sys, io\nsys.stdout = io.StringIO(); print('hidden')\n"
                       "v = sys.stdout.getvalue(); sys.stdout = sys.__stdout__; print('got', repr(v))",
    "stdin": "import sys; data = sys.stdin.read(); print(len(data), data[:5])",
    "input()": "print(input('> ')); print(input())",
    "large output": "import sys; sys.stdout.write('x' * 3_000_000); print('tail')",
    "stderr and stdout": "import sys\nfor i in range(200):\n    print(i); print(-i, file=sys.stderr)",
    "recursion": "def f(): f()\nf()",
    "modules": "import sys; print(sorted(sys.modules))",
    "module order": "import sys, pandas; print(list(sys.modules)[-12:])",
    "imported together": "import sys, pandas; print('numpy' in sys.modules, 'sklearn' in sys.modules)",
    "same object": "import pandas, sys, importlib\n"
                   "print(pandas is sys.modules['pandas'] is importlib.import_module('pandas'))\n"
                   "print(pandas.__spec__.name, pandas.__name__, type(pandas.__loader__).__name__)",
    "warning filters": "import warnings; print(len(warnings.filters))",
    "warning filters after pandas": "import warnings, pandas; print(len(warnings.filters))",
    "a warning": "import warnings; warnings.warn('careful')",
    "signal handlers": "import signal\n"
                       "print([signal.getsignal(s) for s in (signal.SIGINT, signal.SIGPIPE, "
                       "signal.SIGXFSZ, signal.SIGTERM, signal.SIGCHLD, signal.SIGUSR1)])",
    "sys flags": "import sys; print(sys.flags, sys.executable, sys.getrecursionlimit())",
    "stack depth": "import inspect, traceback; print(len(inspect.stack())); traceback.print_stack()",
    "site": "import site; print(site.USER_BASE, site.USER_SITE, site.ENABLE_USER_SITE)",
    "tempfile": "import tempfile; print(tempfile.gettempdir(), tempfile.tempdir)",
    "process": "import os\n"
               "print(os.getpid(), os.getppid(), os.getpgrp() == os.getpid(), os.getsid(0) == os.getpid())",
    "fds": "import os; print(sorted(os.listdir('/proc/self/fd')))",
    "rlimits": "import resource as r\n"
               "print([r.getrlimit(getattr(r, n)) for n in ('RLIMIT_CPU', 'RLIMIT_NPROC', "
               "'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE')])",
    "platform": "import platform, socket; print(platform.node(), socket.gethostname())",
    "matplotlib dirs": "import matplotlib, os\n"
                       "print(matplotlib.get_configdir(), matplotlib.get_cachedir(), matplotlib.get_backend())",
    "plot": "import matplotlib.pyplot as plt\n"
            "plt.plot(range(1000)); plt.title('t'); plt.savefig('output/plot.png')\n"
            "print(plt.gcf().number)",
    "pandas": "import pandas as pd; df = pd.DataFrame({'a': range(10000)}); print(df.a.sum())",
    "sklearn": "from sklearn.linear_model import LinearRegression\nimport numpy as np\n"
               "m = LinearRegression().fit(np.arange(10).reshape(-1, 1), np.arange(10) * 2.0)\n"
               "print(round(float(m.coef_[0]), 6))",
    "artifacts": "import os\nos.makedirs('output/sub', exist_ok=True)\n"
                 "open('output/a.txt', 'w').write('hello')\n"
                 "open('output/sub/b.bin', 'wb').write(bytes(range(256)))",
    "input files": "print(open('input/data.csv').read())",
    "multiprocessing": "import multiprocessing as mp\n"
                       "def sq(x):\n    return x * x\n"
                       "if __name__ == '__main__':\n"
                       "    with mp.Pool(2) as p:\n        print(p.map(sq, range(5)))",
    "fork, the child exits": "import os, sys, time\n"
                             "pid = os.fork()\n"
                             "if pid == 0:\n    print('child', flush=True); sys.exit(0)\n"
                             "time.sleep(0.5); os.waitpid(pid, 0); print('parent done')",
    "raise in a thread": "import threading\n"
                         "def w():\n    raise ValueError('in thread')\n"
                         "t = threading.Thread(target=w); t.start(); t.join(); print('after')",
    "a module's finalizer at exit": "import helper\nprint('end')",
    "a finalizer in __main__ at exit": "import sys\nclass A:\n    def __del__(self, out=sys.stdout):\n"
                                       "        out.write('finalized\\n')\na = A()\nprint('end')",
    "a cycle in __main__ collected at exit": "class Node:\n    def __init__(self):\n        self.me = self\n"
                                             "    def __del__(self):\n        print('collected')\n"
                                             "n = Node()\nprint('end')",
    "open file flushed at exit": "f = open('output/log.txt', 'w'); f.write('kept')\n"
                                 "g = open('output/raw.bin', 'wb', buffering=65536); g.write(b'x' * 100)",
    "no newline at the end": "import sys; print('a', end=''); sys.stderr.write('b')",
    "stdout a custom object": "import sys\nclass W:\n    def write(self, s):\n        sys.__stdout__.write(s.upper())\n"
                              "    def flush(self):\n        pass\nsys.stdout = W(); print('shout')",
    "uncaught after output": "print('some', flush=False)\nraise RuntimeError('late')",
    "exit in atexit": "import atexit, sys\natexit.register(sys.exit, 5)\nprint('x')",
    "excepthook": "import sys\ndef h(t, v, tb): print('hooked', t.__name__)\n"
                  "sys.excepthook = h\nraise ValueError('x')",
    "own module named like one of the template's": "import json; print(json.VERSION)",
    "memory within the limit": "x = bytearray(600 * 1024 * 1024); print(len(x))",
    "memory over the limit": "x = bytearray(1100 * 1024 * 1024); print(len(x))",
    "timeout": "import time\nprint('start', flush=True)\nwhile True:\n    time.sleep(0.1)",
}

FILES = {
    "a module's finalizer at exit": {"main.py": None, "helper.py": "class A:\n    def __del__(self):\n"
                                     "        print('finalized')\na = A()\n"},
    "own module named like one of the template's": {"main.py": None, "json.py": "VERSION = 'mine'"},
}


def request(server, name, code):
    # Generous: a cold import of sklearn takes seconds on a loaded machine.
    req = {"stdin": "hello there\nsecond line\n", "args": ["a", "b c"],
           "timeout_s": 2 if name == "timeout" else 60,
           "env": {"GREETING": "hi", "TZ": "Asia/Tokyo", MARK_NAME: server.mark()},
           "context": {"data.csv": "a,b\n1,2\n"}}
    files = FILES.get(name)
    if files:
        files = dict(files)
        files["main.py"] = code
        req["files"] = files
        req["entry_point"] = "main.py"
    else:
        req["script"] = code
    return req


def cold(server, req):
    """The same request through this binary's stdin mode, as the server's user."""
    env = {"PATH": "/usr/bin:/bin", "RUNBOX_LOG": "off", "RUNBOX_WORK_DIR": str(server.workdir),
           "RUNBOX_STATE_DIR": str(server.statedir / "cold-state"), "RUNBOX_UID_BASE": str(UID_BASE),
           "RUNBOX_MAX_PROCS": MAX_PROCS}
    argv = [str(runbox_bin())]
    if AS == "nobody":
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] + argv
    p = subprocess.run(argv, input=json.dumps(req).encode(), capture_output=True, env=env,
                       timeout=60)
    return json.loads(p.stdout)


# Without a memory control group runbox sizes the process limit for the runs
# it may have at once, which a server and a one-shot runbox count apart:
# pinned, so that both ways have the same.
MAX_PROCS = "64"

WORKSPACE = re.compile(r"runbox-[A-Za-z0-9]{6}")


def comparable(answer):
    a = {k: v for k, v in answer.items() if k not in ("duration_ms", "start")}
    return json.loads(WORKSPACE.sub("runbox-XXXXXX", json.dumps(a, sort_keys=True)))


@pytest.fixture(scope="module")
def warm_server():
    from conftest import Suite
    suite = Suite()
    s = suite.start(env={"RUNBOX_CONCURRENCY": "2", "RUNBOX_MAX_PROCS": MAX_PROCS})
    wait_ready(s)
    yield s
    suite.check_clean()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_warm_answer_is_the_cold_answer(warm_server, name):
    req = request(warm_server, name, PROGRAMS[name])
    w = warm_server.run(req).ran()
    assert w["start"] == "warm", w
    c = cold(warm_server, req)
    assert c.get("start") == "cold", c
    assert comparable(w) == comparable(c)


def test_the_same_layers_warm_and_cold(warm_server):
    """What the kernel says of the program's process, both ways: ids,
    capabilities, no_new_privs, seccomp, the namespaces it is in (their
    kinds: each run has its own), what it may write, and its limits."""
    code = (
        "import os, resource\n"
        "st = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        "print({k: st[k].split() for k in ('Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff',"
        " 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')})\n"
        "print(sorted(n for n in os.listdir('/proc/self/ns')))\n"
        "for p in ('/etc/x', '/usr/x', '/var/tmp/x', os.environ['HOME'] + '/x', 'output/x', '/tmp/x'):\n"
        "    try:\n        open(p, 'w').close(); print(p.split('/')[1] or p, 'writable')\n"
        "    except OSError as e:\n        print(p.split('/')[1] or p, e.errno)\n"
        "print([resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith('RLIMIT_') and n != 'RLIMIT_AS'])\n"
        "import socket\n"
        "try:\n    socket.socket(socket.AF_INET).connect(('127.0.0.1', 1))\n"
        "except OSError as e:\n    print('inet', e.errno)\n"
        "import ctypes\nprint('ptrace', ctypes.CDLL(None, use_errno=True).ptrace(0, 0, 0, 0), ctypes.get_errno())\n")
    req = {"script": code, "env": {MARK_NAME: warm_server.mark()}}
    w = warm_server.run(req).ran()
    c = cold(warm_server, req)
    assert w["start"] == "warm"
    assert comparable(w) == comparable(c)
    assert w["sandbox"] == c["sandbox"]


def test_address_space_limit_is_the_cold_limit_plus_the_template(warm_server):
    """memory_limit means the same warm as cold: a program may map as much
    new memory as cold, so its RLIMIT_AS is the limit plus what the
    template maps already."""
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"
    w = int(warm_server.run({"script": code}).ran()["stdout"])
    c = int(cold(warm_server, {"script": code})["stdout"])
    info = json.loads(warm_server.request("GET", "/api/info").body)
    assert w == c + info["warm"]["bare"]["vsize_kb"] * 1024


def test_the_one_visible_difference_is_the_templates_own_filter(warm_server):
    """The template runs under a seccomp filter of its own (run/warm.h),
    which its copies inherit under the run's: /proc shows one filter more,
    and nothing else of it can be told (it only refuses what the run's
    filter refuses as well)."""
    code = ("print(dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines())"
            "['Seccomp_filters'])")
    req = {"script": code, "env": {MARK_NAME: warm_server.mark()}}
    w = warm_server.run(req).ran()
    c = cold(warm_server, req)
    assert w["start"] == "warm"
    assert int(w["stdout"]) == int(c["stdout"]) + 1
