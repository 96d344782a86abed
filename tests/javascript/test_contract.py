"""The contract, for "javascript": what a Node.js program gets and how its
ending is reported.  Each case has the exact answer it must get."""

import base64
import json

import pytest

from conftest import MiB, js


# ---- script mode: CommonJS, or an ES module when the script says so ----

def test_script_mode_runs_commonjs(rb):
    r = rb.run(js("const fs = require('fs');\nconst path = require('path');\n"
                  "console.log(typeof fs.readFileSync, path.basename(__filename), "
                  "require.main === module, this === module.exports)"))
    assert (r["status"], r["exit_code"], r["stdout"]) == ("ok", 0, "function main.cjs true true\n"), r


def test_script_mode_commonjs_is_sloppy_as_node_runs_it(rb):
    # As `node main.js` runs a .js file with no package.json: not strict.
    r = rb.run(js("undeclared = 5; console.log(undeclared)"))
    assert (r["status"], r["stdout"]) == ("ok", "5\n"), r


def test_script_mode_runs_import_style_with_top_level_await(rb):
    r = rb.run(js("import os from 'node:os';\nimport { setTimeout as wait } from "
                  "'node:timers/promises';\nawait wait(5);\nconsole.log(os.EOL === '\\n', "
                  "import.meta.url.endsWith('/main.mjs'))"))
    assert (r["status"], r["stdout"]) == ("ok", "true true\n"), r


def test_script_mode_top_level_await_alone_is_a_module(rb):
    r = rb.run(js("const v = await Promise.resolve(7);\nconsole.log(v, typeof module)"))
    assert (r["status"], r["stdout"]) == ("ok", "7 object\n"), r


def test_script_mode_module_may_use_require_too(rb):
    r = rb.run(js("import path from 'path';\nconst fs = require('fs');\n"
                  "console.log(path.basename(__filename), typeof fs.statSync, require.main === module)"))
    assert (r["status"], r["stdout"]) == ("ok", "main.mjs function true\n"), r


def test_script_mode_a_word_in_a_string_makes_a_module_that_still_runs(rb):
    # "import" in a string is enough to run it as an ES module (the scan is by
    # word); CommonJS's names are there, so the program runs the same.
    r = rb.run(js("const fs = require('fs');\nconsole.log('we import nothing', "
                  "typeof fs.readFileSync, __filename.endsWith('main.mjs'))"))
    assert (r["status"], r["stdout"]) == ("ok", "we import nothing function true\n"), r


def test_script_mode_own_dirname_shadows_the_global(rb):
    # The usual ES-module idiom declares __dirname itself: no clash.
    r = rb.run(js("import { fileURLToPath } from 'url';\nimport path from 'path';\n"
                  "const __filename = fileURLToPath(import.meta.url);\n"
                  "const __dirname = path.dirname(__filename);\n"
                  "console.log(path.basename(__filename))"))
    assert r["stdout"] == "main.mjs\n", r


# ---- argv, stdin, env ----

def test_args_are_process_argv(rb):
    r = rb.run(js("console.log(JSON.stringify(process.argv.slice(2)))",
                  args=["a b", "-x", "--", "ü"]))
    assert json.loads(r["stdout"]) == ["a b", "-x", "--", "ü"], r


def test_stdin(rb):
    r = rb.run(js("console.log(require('fs').readFileSync(0, 'utf8').toUpperCase())",
                  stdin="hello\nworld"))
    assert r["stdout"] == "HELLO\nWORLD\n", r


def test_env_is_the_requests_and_nothing_of_runbox(rb):
    r = rb.run(js("console.log(JSON.stringify(Object.keys(process.env).sort()))",
                  env={"MY_VAR": "1"}),
               env={"RUNBOX_TEST_SECRET": "s3cret", "AWS_SECRET_ACCESS_KEY": "k"})
    assert json.loads(r["stdout"]) == ["HOME", "LANG", "MY_VAR", "PATH", "TMPDIR"], r


@pytest.mark.parametrize("name", ["NODE_OPTIONS", "NODE_PATH", "NODE_EXTRA_CA_CERTS",
                                  "UV_THREADPOOL_SIZE", "UV_USE_IO_URING"])
def test_node_and_libuv_names_are_reserved(rb, name):
    r = rb.refused(js("1", env={name: "x"}), "reserved_env_name")
    assert r["field"] == f"env.{name}", r


# ---- how a program ends ----

def test_exit_code(rb):
    r = rb.run(js("process.exitCode = 0; process.exit(3)"))
    assert (r["exit_code"], r["status"]) == (3, "error"), r


def test_uncaught_exception_is_exit_1_with_nodes_message(rb):
    r = rb.run(js("const a = 1;\nfunction f() { throw new TypeError('bad thing'); }\nf();"))
    assert (r["exit_code"], r["status"]) == (1, "error"), r
    assert "TypeError: bad thing" in r["stderr"], r
    assert "main.cjs:2" in r["stderr"], r


def test_unhandled_rejection_is_exit_1(rb):
    r = rb.run(js("Promise.reject(new RangeError('nope'));"))
    assert (r["exit_code"], r["status"]) == (1, "error"), r
    assert "RangeError: nope" in r["stderr"], r


def test_signal(rb):
    r = rb.run(js("process.kill(process.pid, 'SIGTERM')"))
    assert (r["exit_code"], r["status"]) == (143, "killed"), r


def test_stdout_is_flushed_at_exit_when_piped(rb):
    r = rb.run(js("process.stdout.write('x'.repeat(600000)); process.stderr.write('e');"
                  " process.exit(0)"))
    assert (r["stdout"], r["stderr"], r["status"]) == ("x" * 600000, "e", "ok"), r


def test_timeout(rb):
    r = rb.run(js("setInterval(() => {}, 1000)", timeout_s=1))
    assert (r["status"], r["exit_code"]) == ("timeout", 124), r


# ---- files mode: Node's rules ----

def test_files_mode_esm_by_package_type(rb):
    r = rb.run({"files": {"main.js": "import x from './lib.js'; console.log(x, typeof require)",
                          "lib.js": "export default 42",
                          "package.json": '{"type": "module"}'},
                "entry_point": "main.js"})
    assert (r["status"], r["stdout"], r["exit_code"]) == ("ok", "42 undefined\n", 0), r


def test_files_mode_js_is_commonjs_without_a_package_type(rb):
    r = rb.run({"files": {"src/main.js": "const {v} = require('./lib'); console.log(v, "
                                         "require('path').basename(__dirname))",
                          "src/lib.js": "exports.v = 7"},
                "entry_point": "src/main.js"})
    assert (r["status"], r["stdout"]) == ("ok", "7 src\n"), r


def test_files_mode_mjs_and_cjs_together(rb):
    r = rb.run({"files": {"main.mjs": "import c from './c.cjs'; console.log(c.n)",
                          "c.cjs": "module.exports = {n: 5}"},
                "entry_point": "main.mjs"})
    assert r["stdout"] == "5\n", r


def test_language_is_inferred_from_the_entry_point(rb):
    r = rb.run({"files": {"main.cjs": "console.log(typeof module.exports)"},
                "entry_point": "main.cjs"})
    assert r["stdout"] == "object\n", r


@pytest.mark.parametrize("lang,entry,words", [
    ("javascript", "main.py", "must end in '.js', '.mjs' or '.cjs' for language javascript; "
                              "'main.py' is a python file"),
    ("python", "main.js", "must end in '.py' for language python; 'main.js' is a javascript"),
    ("javascript", "main.ts", "'main.ts' is a typescript file"),
])
def test_entry_point_and_language_mismatch_is_refused_by_name(rb, lang, entry, words):
    r = rb.refused({"language": lang, "files": {entry: "1"}, "entry_point": entry},
                   "invalid_entry_point")
    assert words in r["error"], r


def test_unknown_language_lists_the_four(rb):
    r = rb.refused({"language": "js", "script": "1"}, "invalid_language")
    assert '"python", "bash", "javascript" or "typescript"' in r["error"], r


def test_entry_point_that_looks_like_a_flag(rb):
    r = rb.run({"files": {"-v.js": "console.log('a file')"}, "entry_point": "-v.js"})
    assert r["stdout"] == "a file\n", r


# ---- input, output, artifacts ----

def test_input_and_output_dirs(rb):
    r = rb.run(js("const fs = require('fs');\n"
                  "const t = fs.readFileSync('input/data.csv', 'utf8');\n"
                  "fs.writeFileSync('output/upper.txt', t.toUpperCase());\n"
                  "fs.mkdirSync('output/sub');\n"
                  "fs.writeFileSync('output/sub/b.bin', Buffer.from([0, 255, 1]));",
                  context={"data.csv": "a,b\n1,2\n"}))
    assert r["status"] == "ok", r
    arts = r["artifacts"]
    assert set(arts) == {"upper.txt", "sub/b.bin"}, arts
    assert arts["upper.txt"] == "A,B\n1,2\n", arts
    b = arts["sub/b.bin"]
    assert base64.b64decode(b["content"]) == b"\x00\xff\x01" and b["encoding"] == "base64", b


# ---- open files: an ES module graph is read at once ----

def test_an_import_graph_of_400_files_loads(rb):
    # Node's loader opens every file of the graph at once: with the default
    # 256 open files this is EMFILE; a Node program gets at least 1024.
    r = rb.run(js("import fs from 'fs';\nfs.mkdirSync('g');\nlet idx = '';\n"
                  "for (let i = 0; i < 400; i++) {\n"
                  "  fs.writeFileSync(`g/m${i}.mjs`, `export default ${i};\\n`);\n"
                  "  idx += `import m${i} from './m${i}.mjs';\\n`;\n}\n"
                  "idx += 'export default m399;\\n';\nfs.writeFileSync('g/index.mjs', idx);\n"
                  "console.log((await import('./g/index.mjs')).default);"))
    assert (r["status"], r["stdout"]) == ("ok", "399\n"), r


def test_open_files_stay_bounded(rb):
    r = rb.run(js("const fs = require('fs'); let n = 0;\n"
                  "try { for (;;) { fs.openSync('/dev/null'); n++; } } catch (e) {\n"
                  "  console.log(e.code, n > 1000 && n < 1024); }"))
    assert (r["status"], r["stdout"]) == ("ok", "EMFILE true\n"), r


# ---- memory: the same limit as Python's, for V8 ----

def test_starts_and_runs_a_worker_under_a_small_limit(rb):
    # RLIMIT_AS of 256 MiB would stop node at start (V8 reserves far more).
    r = rb.run(js("const {Worker} = require('worker_threads');\n"
                  "new Worker('require(\"worker_threads\").parentPort.postMessage(6*7)', "
                  "{eval: true}).on('message', m => console.log(m));"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert (r["status"], r["stdout"]) == ("ok", "42\n"), r


def test_js_heap_hog_is_memory_limit(rb):
    r = rb.run(js("const a = []; for (;;) a.push(new Array(1e5).fill(1.5));"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert r["status"] == "memory_limit", r
    assert "heap out of memory" in r["stderr"], r


def test_buffer_hog_is_memory_limit(rb):
    r = rb.run(js("const a = []; for (;;) a.push(Buffer.alloc(16 << 20));"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert r["status"] == "memory_limit", r


def test_native_memory_is_bounded_not_only_the_heap(rb):
    # Buffers live outside V8's heap: 400 MiB of them under 256 MiB fails.
    r = rb.run(js("const a = []; for (let i = 0; i < 25; i++) a.push(Buffer.alloc(16 << 20, 1));"
                  "console.log('allocated', a.length)"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert r["status"] == "memory_limit" and "allocated" not in r["stdout"], r


def test_webassembly_memory_works_and_is_bounded(rb):
    r = rb.run(js("const m = new WebAssembly.Memory({initial: 1600});\n"
                  "new Uint8Array(m.buffer).fill(1);\nconsole.log(m.buffer.byteLength);"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert (r["status"], r["stdout"]) == ("ok", "104857600\n"), r
    r = rb.run(js("const m = new WebAssembly.Memory({initial: 1});\n"
                  "for (;;) { const p = m.grow(160); new Uint8Array(m.buffer, p * 65536).fill(1); }"),
               env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})
    assert (r["status"], r["exit_code"]) == ("memory_limit", 1), r
    assert "WebAssembly.Memory.grow()" in r["stderr"], r


def test_heap_limit_follows_the_memory_limit(rb):
    code = ("const v8 = require('v8'); "
            "console.log(Math.round(v8.getHeapStatistics().heap_size_limit / 1048576))")
    small = int(rb.run(js(code), env={"RUNBOX_MEMORY_BYTES": str(256 * MiB)})["stdout"])
    big = int(rb.run(js(code), env={"RUNBOX_MEMORY_BYTES": str(1024 * MiB)})["stdout"])
    assert 192 <= small < 256 and 768 <= big < 1024, (small, big)


# ---- no Node.js here ----

def test_no_node_is_language_unavailable(rb, tmp_path):
    resp = rb.refused(js("1"), "language_unavailable",
                      env={"PATH": str(tmp_path), "RUNBOX_NODE": ""}, rc=1)
    assert "RUNBOX_NODE" in resp["error"], resp
    # Python still runs.
    r = rb.run({"script": "print(1)"}, env={"PATH": str(tmp_path)})
    assert r["stdout"] == "1\n", r


def test_runbox_node_that_is_not_executable_is_a_config_error(rb, tmp_path):
    rc, resp, err = rb.raw({"script": "print(1)"}, env={"RUNBOX_NODE": str(tmp_path / "none")})
    assert (rc, resp.get("code"), resp.get("field")) == (1, "invalid_config", "RUNBOX_NODE"), resp


# ---- what runbox says about Node.js ----

def test_check_reports_node_and_its_support(rb):
    import subprocess
    from conftest import NODE
    p = subprocess.run(rb.argv("check"), capture_output=True, text=True, env=rb.env())
    node = json.loads(p.stdout)["node"]
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout.strip()
    assert node["path"] == NODE and node["version"] == version, node
    major = int(version.lstrip("v").split(".")[0])
    if major in (18, 20):
        # Both ended upstream before this suite was written; Debian still patches 18.
        assert node["end_of_life"] == {18: "2025-04-30", 20: "2026-04-30"}[major], node
    assert node["memory_data_limit"] is True, node


def test_exec_runs_a_js_file(rb):
    import os
    import shutil
    import subprocess
    import tempfile
    from conftest import AS, NOBODY
    d = tempfile.mkdtemp(prefix="rbjs-exec-", dir="/tmp")
    if AS == "nobody":
        os.chown(d, NOBODY, NOBODY)
    f = os.path.join(d, "hello.mjs")
    with open(f, "w") as fh:
        fh.write("console.log('exec', process.argv.slice(2).join(' '))\n")
    os.chmod(f, 0o644)
    p = subprocess.run(rb.argv("exec", f, "--", "a", "b"), capture_output=True, text=True,
                       env=rb.env(), cwd=d)
    shutil.rmtree(d)
    assert (p.returncode, p.stdout) == (0, "exec a b\n"), p


# ---- the process limit: Node's own threads come on top ----

def runs_apart(resp):
    """The run counts its processes apart from runbox's: a uid or a user namespace of its own."""
    return resp["sandbox"]["uid_drop"] or "user" in resp["sandbox"]["namespaces"]


def test_node_runtime_threads_come_on_top_of_the_process_limit(rb):
    """RUNBOX_MAX_PROCS counts tasks; Node starts 7 threads of its own before
    the program's first line, so a Node run's limit is 8 more than a Python
    run's, and a Node program under the smallest limit still starts."""
    env = {"RUNBOX_MAX_PROCS": "8", "RUNBOX_CGROUP": "off"}
    limit = "import re\nprint(re.search(r'Max processes +(\\d+)', open('/proc/self/limits').read())[1])"
    py = rb.run({"script": limit}, env=env)
    # and the init of a pid namespace; where the run counts with runbox's uid, its tasks
    init = "pid" in py["sandbox"]["namespaces"]
    shared = not runs_apart(py)
    n = int(py["stdout"])
    assert py["status"] == "ok" and (8 < n <= 8 + 64 if shared else n == 8 + init), py
    r = rb.run(js("const fs = require('fs');\n"
                  "console.log(/Max processes +(\\d+)/.exec(fs.readFileSync('/proc/self/limits', "
                  "'utf8'))[1], fs.readdirSync('/proc/self/task').length >= 2)"), env=env)
    m, threads = r["stdout"].split()
    assert r["status"] == "ok" and threads == "true", r
    assert int(m) == 16 + init if not shared else 16 < int(m) <= 16 + 64, r
