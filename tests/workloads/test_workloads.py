"""Real workloads under the full sandbox with the default limits (see the security model's layers).

The most common complaint about seccomp sandboxes is that importing numpy or
pandas fails with "operation not permitted": every case here must answer
status "ok", exit 0, empty stderr and exactly the expected stdout.
"""

import base64
import textwrap

import pytest

from conftest import ok

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def py(src, **extra):
    return dict({"script": textwrap.dedent(src)}, **extra)


def art_bytes(resp, path):
    a = resp["artifacts"][path]
    if isinstance(a, dict):
        assert a["encoding"] == "base64", a
        return base64.b64decode(a["content"])
    return a.encode()


# ---------------------------------------------------------------- sandbox

def test_full_sandbox_applied(rb):
    """Every layer `runbox check` finds available is applied to the run."""
    rc, caps = rb.check()
    assert rc == 0, caps
    resp = ok(rb, py("print('hi')"), "hi\n")
    sb = resp["sandbox"]
    assert sb["enabled"] is True, sb
    if caps["seccomp"]["available"]:
        assert sb["seccomp"] is True, sb
    if caps["landlock"]["available"]:
        assert isinstance(sb["landlock"], dict) and sb["landlock"]["abi"] == caps["landlock"]["abi"], sb
    want = [k for k in ("pid", "net", "ipc", "uts", "mount") if caps[k + "ns"]["available"]]
    assert sb["namespaces"] == want, sb
    if caps["no_new_privs"]["available"]:
        assert sb["no_new_privs"] is True, sb
    if caps["uid_drop"]["available"]:
        assert sb["uid_drop"] is True, sb
    assert sb["network"] is False, sb


# ---------------------------------------------------------------- scientific stack

def test_numpy_linear_algebra(rb):
    ok(rb, py("""
        import numpy as np
        a = np.array([[3.0, 1.0], [1.0, 2.0]])
        b = np.array([9.0, 8.0])
        x = np.linalg.solve(a, b)
        print(np.round(x, 6).tolist())
        print(round(float(np.linalg.det(a)), 6))
        w = np.linalg.eigvalsh(np.array([[2.0, 0.0], [0.0, 5.0]]))
        print(w.tolist())
        m = np.arange(12, dtype=float).reshape(3, 4)
        print((m @ m.T).trace())
        q, r = np.linalg.qr(np.random.default_rng(0).normal(size=(50, 50)))
        print(bool(np.allclose(q @ r, q @ r)), q.shape)
    """), "[2.0, 3.0]\n5.0\n[2.0, 5.0]\n506.0\nTrue (50, 50)\n")


def test_pandas_groupby(rb):
    ok(rb, py("""
        import pandas as pd
        df = pd.DataFrame({"k": ["a", "b", "a", "c", "b", "a"], "v": [1, 2, 3, 4, 5, 6]})
        g = df.groupby("k")["v"].agg(["sum", "count", "mean"])
        print(g.to_csv(), end="")
        print(df.groupby("k").v.max().to_dict())
    """), "k,sum,count,mean\na,10,3,3.3333333333333335\nb,7,2,3.5\nc,4,1,4.0\n"
          "{'a': 6, 'b': 5, 'c': 4}\n")


def test_scipy_optimize_integrate(rb):
    ok(rb, py("""
        from scipy import optimize, integrate
        import numpy as np
        r = optimize.minimize(lambda v: (v[0] - 1) ** 2 + (v[1] + 2) ** 2, [0.0, 0.0])
        print(r.success, np.round(r.x, 4).tolist())
        root = optimize.brentq(lambda x: x ** 3 - 8, 0, 5)
        print(round(root, 8))
        val, _ = integrate.quad(lambda x: x ** 2, 0, 3)
        print(round(val, 8))
        sol = integrate.solve_ivp(lambda t, y: -y, (0, 1), [1.0], rtol=1e-9, atol=1e-12)
        print(round(float(sol.y[0, -1]), 6))
    """), "True [1.0, -2.0]\n2.0\n9.0\n0.367879\n")


def test_sklearn_fit_predict(rb):
    ok(rb, py("""
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier
        import numpy as np
        X = np.arange(10, dtype=float).reshape(-1, 1)
        y = 2 * X.ravel() + 1
        lr = LinearRegression().fit(X, y)
        print(np.round(lr.predict([[20.0], [-1.0]]), 6).tolist())
        iris = load_iris()
        clf = DecisionTreeClassifier(random_state=0).fit(iris.data, iris.target)
        print(clf.score(iris.data, iris.target))
        print(clf.predict(iris.data[[0, 50, 100]]).tolist())
        lg = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)
        print(lg.predict(iris.data[[0, 149]]).tolist())
    """), "[41.0, -1.0]\n1.0\n[0, 1, 2]\n[0, 2]\n")


def test_matplotlib_png(rb):
    resp = ok(rb, py("""
        import os
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
        ax.plot([0, 1, 2], [0, 1, 4])
        ax.set_title("parabola")
        os.makedirs("output", exist_ok=True)
        fig.savefig("output/plot.png")
        print(os.path.getsize("output/plot.png") > 100)
    """), "True\n", artifacts=["plot.png"])
    data = art_bytes(resp, "plot.png")
    assert data[:8] == PNG_SIG, data[:16]
    # IHDR: 150 x 100 pixels
    assert data[12:16] == b"IHDR" and int.from_bytes(data[16:20], "big") == 150
    assert int.from_bytes(data[20:24], "big") == 100


def test_pillow_resize(rb):
    resp = ok(rb, py("""
        from PIL import Image, ImageDraw
        im = Image.new("RGB", (64, 48), (255, 0, 0))
        ImageDraw.Draw(im).rectangle([0, 0, 31, 47], fill=(0, 0, 255))
        small = im.resize((16, 12))
        small.save("output/small.png")
        back = Image.open("output/small.png")
        print(back.size, back.mode, back.getpixel((0, 0)), back.getpixel((15, 11)))
    """), "(16, 12) RGB (0, 0, 255) (255, 0, 0)\n", artifacts=["small.png"])
    data = art_bytes(resp, "small.png")
    assert data[:8] == PNG_SIG


# ---------------------------------------------------------------- concurrency

def test_threads(rb):
    ok(rb, py("""
        import threading
        results = [0] * 8
        lock = threading.Lock()
        total = []
        def work(i):
            s = sum(range(i * 1000))
            results[i] = s
            with lock:
                total.append(i)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(len(total), sorted(total) == list(range(8)), results[7])
        print(threading.active_count())
    """), "8 True 24496500\n1\n")


def test_multiprocessing_pool_fork(rb):
    ok(rb, py("""
        import multiprocessing as mp, os
        def sq(x):
            return x * x, os.getpid()
        if __name__ == "__main__":
            ctx = mp.get_context("fork")
            with ctx.Pool(4) as pool:
                out = pool.map(sq, range(20))
            print([v for v, _ in out])
            print(len({p for _, p in out}) <= 4, all(p != os.getpid() for _, p in out))
    """), str([x * x for x in range(20)]) + "\nTrue True\n")


def test_process_pool_executor(rb):
    ok(rb, py("""
        from concurrent.futures import ProcessPoolExecutor
        def cube(x):
            return x ** 3
        if __name__ == "__main__":
            with ProcessPoolExecutor(max_workers=2) as ex:
                print(list(ex.map(cube, range(6))))
                print(ex.submit(pow, 2, 10).result())
    """), "[0, 1, 8, 27, 64, 125]\n1024\n")


def test_subprocess(rb):
    ok(rb, py("""
        import subprocess, sys
        open("hello.txt", "w").write("x")
        r = subprocess.run(["ls", "-la"], capture_output=True, text=True)
        print(r.returncode, "hello.txt" in r.stdout, "main.py" in r.stdout)
        r = subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1:]); sys.exit(3)", "a"],
                           capture_output=True, text=True)
        print(r.returncode, r.stdout.strip())
        print(subprocess.check_output("echo piped | tr a-z A-Z", shell=True, text=True).strip())
    """), "0 True True\n3 ['a']\nPIPED\n")


def test_asyncio(rb):
    ok(rb, py("""
        import asyncio, sys
        async def sq(x):
            await asyncio.sleep(0.01)
            return x * x
        async def child():
            p = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "print(6 * 7)", stdout=asyncio.subprocess.PIPE)
            out, _ = await p.communicate()
            return p.returncode, out.decode().strip()
        async def main():
            res = await asyncio.gather(*(sq(i) for i in range(5)), child())
            print(res)
        asyncio.run(main())
    """), "[0, 1, 4, 9, 16, (0, '42')]\n")


# ---------------------------------------------------------------- files

def test_sqlite3(rb):
    ok(rb, py("""
        import sqlite3, os
        for target in ("data.db", ":memory:"):
            con = sqlite3.connect(target)
            con.execute("create table t (k text, v int)")
            con.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2), ("a", 3)])
            con.commit()
            print(target, con.execute("select k, sum(v) from t group by k order by k").fetchall())
            con.close()
        con = sqlite3.connect("data.db")
        print(con.execute("select count(*) from t").fetchone()[0], os.path.exists("data.db"))
        con.execute("pragma journal_mode=wal")
        con.execute("insert into t values ('c', 9)"); con.commit()
        print(con.execute("select max(v) from t").fetchone()[0])
    """), "data.db [('a', 4), ('b', 2)]\n:memory: [('a', 4), ('b', 2)]\n3 True\n9\n")


def test_tempfile(rb):
    ok(rb, py("""
        import tempfile, os
        with tempfile.NamedTemporaryFile("w+", suffix=".txt") as f:
            f.write("hello"); f.flush(); f.seek(0)
            print(f.read(), os.path.exists(f.name))
        print(os.path.exists(f.name))
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "a"), "w").write("1")
            print(os.listdir(d))
        print(os.path.exists(d))
        fd, p = tempfile.mkstemp(); os.write(fd, b"z"); os.close(fd)
        print(os.path.getsize(p)); os.unlink(p)
    """), "hello True\nFalse\n['a']\nFalse\n1\n")


def test_context_input(rb):
    payload = bytes(range(256))
    ok(rb, py("""
        import os, csv
        rows = list(csv.DictReader(open("input/data.csv")))
        print(sum(int(r["n"]) for r in rows), [r["name"] for r in rows])
        print(open("input/sub/notes.txt").read().strip())
        b = open("input/blob.bin", "rb").read()
        print(len(b), b == bytes(range(256)))
        print(sorted(os.listdir("input")))
    """, context={
        "data.csv": "name,n\nx,1\ny,2\nz,39\n",
        "sub/notes.txt": "héllo wörld\n",
        "blob.bin": {"content": base64.b64encode(payload).decode(), "encoding": "base64"},
    }), "42 ['x', 'y', 'z']\nhéllo wörld\n256 True\n['blob.bin', 'data.csv', 'sub']\n")


# ---------------------------------------------------------------- bash

def test_bash_coreutils(rb):
    script = textwrap.dedent("""\
        set -euo pipefail
        printf 'b\\na\\nc\\na\\nb\\na\\n' | sort | uniq -c | sort -rn | head -2 | awk '{print $2"="$1}'
        echo "one two three" | awk '{print NF, $2}'
        echo "hello world" | sed -e 's/world/runbox/' -e 's/^h/H/'
        mkdir -p d/e && echo 1 > d/a.txt && echo 2 > d/e/b.txt
        tar czf out.tgz d
        tar tzf out.tgz | sort
        t=$(mktemp); echo data > "$t"; cat "$t"; rm "$t"
        td=$(mktemp -d); touch "$td/x"; ls "$td"; rm -r "$td"
        find d -type f -name '*.txt' | sort
        find d -type f | wc -l
        cut -d, -f2 input/in.csv | paste -sd+ | bc
        seq 1 5 | tr '\\n' ' ' | xargs echo
        cp out.tgz output/ && gzip -t output/out.tgz && echo gz-ok
        """)
    resp = ok(rb, {"language": "bash", "script": script, "context": {"in.csv": "a,1\nb,2\nc,3\n"}},
              "a=3\nb=2\n3 two\nHello runbox\nd/\nd/a.txt\nd/e/\nd/e/b.txt\ndata\nx\n"
              "d/a.txt\nd/e/b.txt\n2\n6\n1 2 3 4 5\ngz-ok\n",
              artifacts=["out.tgz"])
    assert art_bytes(resp, "out.tgz")[:2] == b"\x1f\x8b"
