"""Pre-installed packages work through runbox under the default limits."""

import base64
import json
import struct
import zlib

import pytest

from conftest import b64, ok

pytestmark = pytest.mark.slow

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def tiny_png(w, h, rgb):
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_numpy(rb):
    script = ("import numpy as np\n"
              "a = np.arange(12).reshape(3, 4)\n"
              "print(int(a.sum()), a.shape, int((a @ a.T).trace()))\n"
              "x = np.linalg.solve(np.array([[3., 1.], [1., 2.]]), np.array([9., 8.]))\n"
              "print(np.round(x, 6).tolist())\n"
              "rng = np.random.default_rng(0)\nm = rng.standard_normal((300, 300))\n"
              "print(np.allclose(np.linalg.inv(m) @ m, np.eye(300), atol=1e-6))")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "66 (3, 4) 506\n[2.0, 3.0]\nTrue\n"


def test_pandas(rb):
    script = ("import pandas as pd\n"
              "df = pd.read_csv('input/sales.csv')\n"
              "g = df.groupby('region')['amount'].sum().sort_index()\n"
              "print(g.to_dict())\n"
              "df['double'] = df['amount'] * 2\n"
              "df.to_csv('output/out.csv', index=False)\n"
              "print(len(df), df['double'].max())")
    csv = "region,amount\nnorth,10\nsouth,5\nnorth,7\neast,1\n"
    resp = ok(rb, {"script": script, "context": {"sales.csv": csv}})
    assert resp["stdout"] == "{'east': 1, 'north': 17, 'south': 5}\n4 20\n"
    assert resp["artifacts"]["out.csv"] == "region,amount,double\nnorth,10,20\nsouth,5,10\nnorth,7,14\neast,1,2\n"


def test_scipy(rb):
    script = ("from scipy import optimize, stats, integrate\n"
              "r = optimize.minimize_scalar(lambda x: (x - 3) ** 2 + 1)\n"
              "print(round(r.x, 4), round(r.fun, 4))\n"
              "v, err = integrate.quad(lambda x: x ** 2, 0, 3)\nprint(round(v, 6))\n"
              "print(round(stats.norm.cdf(0), 3))")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "3.0 1.0\n9.0\n0.5\n"


def test_sklearn_fits_model(rb):
    script = ("from sklearn.datasets import load_iris\n"
              "from sklearn.linear_model import LogisticRegression\n"
              "from sklearn.model_selection import train_test_split\n"
              "from sklearn.ensemble import RandomForestClassifier\n"
              "X, y = load_iris(return_X_y=True)\n"
              "Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)\n"
              "m = LogisticRegression(max_iter=500).fit(Xtr, ytr)\n"
              "rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(Xtr, ytr)\n"
              "print(m.score(Xte, yte) > 0.9, rf.score(Xte, yte) > 0.85)\n"
              "import pickle\npickle.dump(m, open('output/model.pkl', 'wb'))")
    resp = ok(rb, {"script": script, "timeout_s": 60}, timeout=120)
    assert resp["stdout"] == "True True\n"
    assert resp["artifacts"]["model.pkl"]["encoding"] == "base64"


def test_sklearn_linear_regression_exact(rb):
    script = ("import numpy as np\nfrom sklearn.linear_model import LinearRegression\n"
              "X = np.arange(10).reshape(-1, 1)\ny = 3 * X.ravel() + 2\n"
              "m = LinearRegression().fit(X, y)\nprint(round(float(m.coef_[0]), 6), round(float(m.intercept_), 6))")
    assert ok(rb, {"script": script}, timeout=120)["stdout"] == "3.0 2.0\n"


def test_matplotlib_png_artifact(rb):
    script = ("import matplotlib.pyplot as plt\n"
              "plt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')\n"
              "plt.savefig('./output/chart.png')\nprint('done')")
    resp = ok(rb, {"script": script, "timeout_s": 60}, timeout=120)
    assert resp["stdout"] == "done\n"
    art = resp["artifacts"]["chart.png"]
    assert art["encoding"] == "base64"
    png = base64.b64decode(art["content"])
    assert png.startswith(PNG_SIG)
    assert len(png) > 1000


def test_matplotlib_backend_is_agg(rb):
    script = "import matplotlib\nimport matplotlib.pyplot as plt\nprint(matplotlib.get_backend().lower())"
    assert ok(rb, {"script": script}, timeout=120)["stdout"] == "agg\n"


def test_pil(rb):
    script = ("from PIL import Image, ImageDraw\n"
              "im = Image.open('./input/photo.png')\nprint(im.size, im.mode, im.getpixel((0, 0)))\n"
              "out = im.resize((8, 4)).convert('L')\nImageDraw.Draw(out).point((0, 0), fill=255)\n"
              "out.save('output/small.png')\nprint(out.size)")
    resp = ok(rb, {"script": script, "context": {"photo.png": {"content": b64(tiny_png(4, 2, (255, 0, 0))),
                                                                "encoding": "base64"}}})
    assert resp["stdout"] == "(4, 2) RGB (255, 0, 0)\n(8, 4)\n"
    assert base64.b64decode(resp["artifacts"]["small.png"]["content"]).startswith(PNG_SIG)


def test_requests(rb):
    script = ("import requests\n"
              "p = requests.Request('GET', 'http://example.invalid/a', params={'q': 'x y', 'n': 1}).prepare()\n"
              "print(p.url)\n"
              "s = requests.Session()\nprint(type(s.get_adapter('https://x')).__name__)\n"
              "r = requests.models.Response()\nr._content = b'{\"a\": [1, 2]}'\nr.status_code = 200\n"
              "print(r.json()['a'], r.ok)")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "http://example.invalid/a?q=x+y&n=1\nHTTPAdapter\n[1, 2] True\n"


def test_httpx(rb):
    script = ("import httpx\n"
              "def handler(request):\n"
              "    return httpx.Response(200, json={'path': request.url.path, 'q': request.url.params['q']})\n"
              "with httpx.Client(transport=httpx.MockTransport(handler)) as c:\n"
              "    r = c.get('http://test.invalid/items', params={'q': 'z'})\n"
              "print(r.status_code, r.json())")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "200 {'path': '/items', 'q': 'z'}\n"


def test_bs4(rb):
    script = ("from bs4 import BeautifulSoup\n"
              "html = open('input/p.html').read()\n"
              "s = BeautifulSoup(html, 'html.parser')\n"
              "print(s.title.string, [a['href'] for a in s.find_all('a')], s.find(id='x').get_text(strip=True))")
    html = "<html><head><title>T</title></head><body><a href='/1'>a</a><p id='x'> hi <b>there</b></p><a href='/2'></a></body></html>"
    resp = ok(rb, {"script": script, "context": {"p.html": html}})
    assert resp["stdout"] == "T ['/1', '/2'] hithere\n"


def test_yaml_toml(rb):
    script = ("import yaml, toml, json\n"
              "d = yaml.safe_load(open('input/c.yaml'))\nt = toml.load('input/c.toml')\n"
              "print(json.dumps(d, sort_keys=True))\nprint(json.dumps(t, sort_keys=True))\n"
              "print(yaml.safe_dump({'b': [1, 2], 'a': 'x'}, sort_keys=True).strip().replace('\\n', '|'))\n"
              "print(toml.dumps({'s': {'k': 1}}).strip().replace('\\n', '|'))")
    resp = ok(rb, {"script": script, "context": {"c.yaml": "a: 1\nb: [x, y]\nc: {d: true}\n",
                                                  "c.toml": "[server]\nport = 8080\nname = \"n\"\n"}})
    assert resp["stdout"].splitlines() == [
        '{"a": 1, "b": ["x", "y"], "c": {"d": true}}', '{"server": {"name": "n", "port": 8080}}',
        "a: x|b:|- 1|- 2", "[s]|k = 1"]


def test_dateutil(rb):
    script = ("from dateutil import parser, tz\nfrom dateutil.relativedelta import relativedelta\n"
              "d = parser.parse('2024-01-31T12:00:00+02:00')\n"
              "print((d + relativedelta(months=+1)).isoformat())\n"
              "print(d.astimezone(tz.UTC).isoformat())")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "2024-02-29T12:00:00+02:00\n2024-01-31T10:00:00+00:00\n"


def test_tqdm(rb):
    script = ("import sys\nfrom tqdm import tqdm\ntotal = 0\n"
              "for i in tqdm(range(100), file=sys.stderr, mininterval=0):\n    total += i\nprint(total)")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "4950\n"
    assert "100/100" in resp["stderr"]


def test_all_imports_together_under_default_limits(rb):
    script = ("import numpy, pandas, scipy, scipy.linalg, sklearn, sklearn.ensemble, matplotlib.pyplot, PIL.Image\n"
              "import requests, httpx, bs4, yaml, toml, dateutil, tqdm\n"
              "import resource\nprint('imported', resource.getrlimit(resource.RLIMIT_AS)[0])")
    resp = ok(rb, {"script": script}, timeout=120)
    assert resp["stdout"] == f"imported {rb.address_space_limit(resp, 1024 ** 3, 'stack')}\n"


def test_dependencies_field_with_preinstalled(rb):
    from importlib import metadata
    resp = ok(rb, {"script": "import pandas, yaml\nprint('ok')", "dependencies": ["pandas", "PyYAML>=5"]})
    got = {d["name"].lower().replace("_", "-"): d["version"] for d in resp["dependencies"]}
    assert got == {"pandas": metadata.version("pandas"), "pyyaml": metadata.version("PyYAML")}, json.dumps(resp["dependencies"])
