"""JavaScript and TypeScript in the image: Debian's Node.js and esbuild, and
the npm cache `make image` bakes from runtime-image/npm-packages.lock.json
(the pre-installed packages of npm-packages.json and their dependencies)."""

import json
import pathlib

from conftest import run_image, request

CACHE = "/opt/runbox/cache"
HERE = pathlib.Path(__file__).resolve().parent
PREINSTALLED = sorted(json.loads(
    (HERE.parents[1] / "runtime-image" / "npm-packages.json").read_text())["dependencies"])
LOCKED = {path.split("node_modules/")[-1]: p["version"] for path, p in json.loads(
    (HERE.parents[1] / "runtime-image" / "npm-packages.lock.json").read_text())["packages"].items()
    if path}


def test_javascript_runs_on_the_images_node():
    status, resp, _ = request({"language": "javascript",
                               "script": "console.log(process.version.startsWith('v'), "
                                         "process.argv.slice(2).join())",
                               "args": ["a", "b"]})
    assert status == 0 and (resp["status"], resp["stdout"]) == ("ok", "true a,b\n"), resp


def test_typescript_is_transpiled_and_a_stack_names_the_ts_line():
    status, resp, _ = request({"language": "typescript",
                               "script": "const n: number = 6 * 7;\nconsole.log(n);\n"
                                         "throw new Error('boom');\n"})
    assert status == 0 and resp["exit_code"] == 1 and resp["stdout"] == "42\n", resp
    assert "main.ts:3" in resp["stderr"], resp


def test_every_preinstalled_npm_package_loads_without_asking():
    script = "".join(f"import * as m{i} from {json.dumps(n)};\n" for i, n in enumerate(PREINSTALLED))
    script += ("import _ from 'lodash';\nimport { evaluate } from 'mathjs';\n"
               "import { z } from 'zod';\nimport Papa from 'papaparse';\n"
               "import { addDays } from 'date-fns';\n"
               "console.log(_.sum([1, 2]), evaluate('sqrt(16) + 2^3'), z.number().parse(5), "
               "Papa.parse('a,b\\n1,2').data.length, addDays(new Date(0), 1).getTime());\n")
    status, resp, _ = request({"language": "javascript", "script": script})
    assert status == 0 and (resp["status"], resp["stdout"]) == ("ok", "3 12 5 2 86400000\n"), resp
    assert resp["dependencies"] == [], resp  # the answer lists what the request asked for


def test_info_and_bake_list_name_the_npm_packages():
    p = run_image("bake", "--list", CACHE)
    assert p.returncode == 0, p.stderr
    rows = {tuple(line.split()[1:3]) for line in p.stdout.splitlines() if line.startswith("npm ")}
    assert set(LOCKED.items()) <= rows, p.stdout
    for name in PREINSTALLED:
        assert any(line.split()[1] == name and "pre-installed" in line
                   for line in p.stdout.splitlines() if line.startswith("npm ")), p.stdout
    status, resp, _ = request({"language": "javascript", "script": "1",
                               "dependencies": ["lodash@^3"]})
    assert status == 2 and resp["code"] in ("dependency_not_found", "dependency_conflict"), resp
    assert LOCKED["lodash"] in resp["error"], resp
