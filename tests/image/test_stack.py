"""Every pre-installed package imports and does real work in the image,
through runbox's stdin mode, under the full sandbox the container allows,
as the image's non-root user; and what the user must not be able to change
(the interpreter, the stack, the cache, runbox) is read-only to a program.

One container (`sleep infinity`) serves the whole module; each case is a
`<engine> exec -i CONTAINER runbox` with the request on stdin, which runs as
the image's user exactly like the entrypoint does."""

import json
import uuid

import pytest

from conftest import IMAGE, IMAGE_UID, LIMITS, engine, remove

# The layers the container can give a non-root runbox with the engine's
# default seccomp profile (see README, "Runtime image").
EXPECTED_LAYERS = {"seccomp": True, "no_new_privs": True, "uid_drop": False}


@pytest.fixture(scope="module")
def box():
    name = f"runbox-stack-{uuid.uuid4().hex[:12]}"
    p = engine("run", "-d", "--name", name, *LIMITS, "--entrypoint", "/bin/sleep", IMAGE, "infinity")
    assert p.returncode == 0, p.stderr
    yield name
    remove(name)


def run(box, req, timeout=180):
    p = engine("exec", "-i", "-e", "RUNBOX_LOG=off", box, "/usr/local/bin/runbox",
               input=json.dumps(req), timeout=timeout)
    assert p.stdout, f"no answer (exit {p.returncode}): {p.stderr[-2000:]}"
    return p.returncode, json.loads(p.stdout)


def ok(box, req):
    status, resp = run(box, req)
    assert status == 0 and resp.get("status") == "ok", json.dumps(resp)[:3000]
    return resp


WORK = {
    "numpy": ("import numpy as np\n"
              "m = np.random.default_rng(0).standard_normal((200, 200))\n"
              "print(np.allclose(np.linalg.inv(m) @ m, np.eye(200), atol=1e-6), int(np.arange(10).sum()))",
              "True 45\n"),
    "pandas": ("import pandas as pd\n"
               "df = pd.DataFrame({'k': list('abab'), 'v': [1, 2, 3, 4]})\n"
               "print(df.groupby('k')['v'].sum().to_dict())\n"
               "df.to_csv('output/df.csv', index=False)",
               "{'a': 4, 'b': 6}\n"),
    "scipy": ("from scipy import optimize, integrate, stats\n"
              "print(round(optimize.minimize_scalar(lambda x: (x - 3) ** 2).x, 4),"
              " round(integrate.quad(lambda x: x * x, 0, 3)[0], 6), round(stats.norm.cdf(0), 3))",
              "3.0 9.0 0.5\n"),
    # RBFInterpolator's kernel and stats' permutation helpers are the modules
    # Debian built with pythran: they work without the pythran package.
    "scipy-pythran-modules": ("import numpy as np\n"
                              "from scipy.interpolate import RBFInterpolator\n"
                              "import scipy.interpolate._rbfinterp_pythran, scipy.stats._stats_pythran\n"
                              "x = np.linspace(0, 1, 20)[:, None]\n"
                              "f = RBFInterpolator(x, np.sin(x[:, 0]))\n"
                              "print(round(float(f(np.array([[0.5]]))[0]), 4))",
                              "0.4794\n"),
    "sklearn": ("from sklearn.datasets import load_iris\n"
                "from sklearn.linear_model import LogisticRegression\n"
                "X, y = load_iris(return_X_y=True)\n"
                "m = LogisticRegression(max_iter=500).fit(X, y)\n"
                "print(m.score(X, y) > 0.95)",
                "True\n"),
    "matplotlib": ("import matplotlib.pyplot as plt\n"
                   "fig, ax = plt.subplots(); ax.plot([1, 2, 3], [1, 4, 9]); ax.set_title('t')\n"
                   "fig.savefig('output/plot.png'); print(open('output/plot.png', 'rb').read(4))",
                   "b'\\x89PNG'\n"),
    "pillow": ("from PIL import Image, ImageDraw\n"
               "im = Image.new('RGB', (64, 32), 'white'); ImageDraw.Draw(im).rectangle((0, 0, 9, 9), fill='red')\n"
               "im.save('output/im.png'); print(Image.open('output/im.png').getpixel((5, 5)))",
               "(255, 0, 0)\n"),
    "requests": ("import requests\n"
                 "r = requests.Request('POST', 'http://example.invalid/a', params={'q': 'x y'}, json={'k': 1}).prepare()\n"
                 "print(r.url, r.body)",
                 "http://example.invalid/a?q=x+y b'{\"k\": 1}'\n"),
    "httpx": ("import httpx\n"
              "def app(request):\n"
              "    return httpx.Response(200, json={'path': request.url.path})\n"
              "c = httpx.Client(transport=httpx.MockTransport(app))\n"
              "print(c.get('http://test/hello').json())",
              "{'path': '/hello'}\n"),
    "beautifulsoup4": ("from bs4 import BeautifulSoup\n"
                       "s = BeautifulSoup('<ul><li>a</li><li class=x>b</li></ul>', 'html.parser')\n"
                       "print([li.text for li in s.find_all('li')], s.find(class_='x').text)",
                       "['a', 'b'] b\n"),
    "pyyaml": ("import yaml\nprint(yaml.safe_load('a: [1, 2]\\nb: {c: d}'), yaml.safe_dump({'x': 1}).strip())",
               "{'a': [1, 2], 'b': {'c': 'd'}} x: 1\n"),
    "toml": ("import toml\nprint(toml.loads('[t]\\nk = 3'), toml.dumps({'a': 1}).strip())",
             "{'t': {'k': 3}} a = 1\n"),
    "python-dateutil": ("from dateutil import parser, relativedelta\n"
                        "d = parser.parse('2024-01-31T10:00:00')\n"
                        "print(d + relativedelta.relativedelta(months=1))",
                        "2024-02-29 10:00:00\n"),
    "tqdm": ("import io\nfrom tqdm import tqdm\nbuf = io.StringIO()\n"
             "print(sum(tqdm(range(1000), file=buf)), '1000/1000' in buf.getvalue())",
             "499500 True\n"),
    "packaging": ("from packaging.version import Version\nfrom packaging.specifiers import SpecifierSet\n"
                  "print(Version('1.10') > Version('1.9'), Version('2.0') in SpecifierSet('>=1.5,<3'))",
                  "True True\n"),
}


@pytest.mark.parametrize("name", sorted(WORK))
def test_package_does_real_work(box, name):
    script, expected = WORK[name]
    resp = ok(box, {"script": script})
    assert resp["stdout"] == expected
    assert resp["sandbox"]["enabled"] is True
    for layer, value in EXPECTED_LAYERS.items():
        assert resp["sandbox"][layer] == value, resp["sandbox"]


def test_program_runs_as_the_image_user_with_landlock(box):
    resp = ok(box, {"script": "import os; print(os.getuid(), os.getgid())"})
    assert resp["stdout"] == f"{IMAGE_UID} {IMAGE_UID}\n"
    # This kernel has Landlock and the engine's profile lets it through.
    assert resp["sandbox"]["landlock"]["abi"] >= 1


def test_matplotlib_uses_the_font_list_built_at_image_time(box):
    script = ("import logging, os\nlogging.basicConfig(level=logging.DEBUG, format='%(message)s')\n"
              "import matplotlib.font_manager as fm\n"
              "src = '/usr/local/share/runbox/matplotlib/fontlist-v%d.json' % fm.FontManager.__version__\n"
              "dst = os.path.join(os.environ['HOME'], '.cache/matplotlib', os.path.basename(src))\n"
              "print(open(src).read() == open(dst).read())")
    resp = ok(box, {"script": script})
    assert resp["stdout"] == "True\n"
    assert "Using fontManager instance from" in resp["stderr"]
    assert "building the font cache" not in resp["stderr"]


READ_ONLY_TARGETS = [
    "/usr/local/bin/runbox",
    "/usr/bin/python3",
    "/usr/lib/python3/dist-packages/numpy/__init__.py",
    "/usr/lib/python3.11/os.py",
    "/opt/runbox/cache/planted.pth",
    "/usr/lib/python3/dist-packages/planted.pth",
    "/usr/local/share/runbox/matplotlib/fontlist-planted.json",
]


@pytest.mark.parametrize("target", READ_ONLY_TARGETS)
def test_interpreter_stack_and_cache_are_read_only(box, target):
    script = ("import sys\n"
              f"try:\n    open({target!r}, 'ab').close()\nexcept OSError as e:\n"
              "    print(type(e).__name__, e.errno)\nelse:\n    print('WROTE')")
    resp = ok(box, {"script": script})
    assert resp["stdout"] in ("PermissionError 13\n", "OSError 30\n"), resp["stdout"]


def test_image_user_owns_nothing_outside_tmp(box):
    p = engine("exec", "--user", "0", box, "find", "/", "-xdev", "-user", str(IMAGE_UID), "-not", "-path", "/tmp*",
               "-not", "-path", "/proc*")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""


def test_no_compiler_toolchain_in_the_image(box):
    p = engine("exec", box, "sh", "-c", "command -v gcc cc g++ c++ ld as || true")
    assert p.stdout == ""
