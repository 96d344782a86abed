"""The contract, for "typescript": transpiled by esbuild inside the run's
sandbox (types stripped, never checked), stack traces through source maps,
a syntax error as a failed run with the transpiler's words."""

import pytest

from conftest import tsreq


def test_types_are_stripped_not_checked(ts):
    r = ts.run(tsreq("interface P { x: number }\nconst p: P = { x: 'not a number' as any };\n"
                     "const n: number = 'still a string' as unknown as number;\n"
                     "console.log(p.x, n);"))
    assert (r["status"], r["stdout"]) == ("ok", "not a number still a string\n"), r


def test_stack_trace_names_the_ts_file_and_line(ts):
    r = ts.run(tsreq("type N = number;\nconst x: N = 5;\n\n"
                     "function boom(n: N): never {\n  throw new Error('boom ' + n);\n}\n"
                     "boom(x);\n"))
    assert (r["status"], r["exit_code"]) == ("error", 1), r
    assert "Error: boom 5" in r["stderr"], r
    assert "main.ts:5:" in r["stderr"], r
    assert "runbox.mjs" not in r["stderr"].split("Error: boom 5")[1].split("Node.js")[0], r


def test_syntax_error_is_exit_1_with_the_transpilers_message(ts):
    r = ts.run(tsreq("const ok = 1;\nlet a x = 1;\n"))
    assert (r["status"], r["exit_code"], r["stdout"]) == ("error", 1, ""), r
    assert 'Expected ";" but found "x"' in r["stderr"], r
    assert "main.ts:2:6" in r["stderr"], r


def test_script_mode_has_require_and_top_level_await(ts):
    r = ts.run(tsreq("const fs = require('fs');\nimport os from 'os';\n"
                     "const v: string = await Promise.resolve('tla');\n"
                     "console.log(typeof fs.readFileSync, typeof os.cpus, v);"))
    assert r["stdout"] == "function function tla\n", r


def test_multi_file_with_relative_imports(ts):
    r = ts.run({"files": {
        "src/main.ts": "import { add } from './math';\nimport { greet } from './lib/greet.js';\n"
                       "import type { Shape } from './types';\n"
                       "const s: Shape = { w: 2 };\nconsole.log(add(s.w, 3), greet('ts'));\n",
        "src/math.ts": "export function add(a: number, b: number): number { return a + b; }\n",
        "src/lib/greet.ts": "export const greet = (n: string): string => `hi ${n}`;\n",
        "src/types.ts": "export interface Shape { w: number }\n"},
        "entry_point": "src/main.ts"})
    assert (r["status"], r["stdout"]) == ("ok", "5 hi ts\n"), r


def test_error_in_an_imported_file_names_that_file(ts):
    r = ts.run({"files": {
        "main.ts": "import { f } from './lib';\nf();\n",
        "lib.ts": "// a comment\nexport function f(): void {\n  throw new Error('in lib');\n}\n"},
        "entry_point": "main.ts"})
    assert r["exit_code"] == 1 and "lib.ts:3:" in r["stderr"], r


def test_syntax_error_in_an_imported_file_names_it(ts):
    r = ts.run({"files": {"main.ts": "import { f } from './lib';\nf();\n",
                          "lib.ts": "export function f() {\n  return 1 +;\n}\n"},
                "entry_point": "main.ts"})
    assert r["exit_code"] == 1 and "lib.ts:2:" in r["stderr"], r


@pytest.mark.parametrize("entry,pkg,fmt", [
    ("main.ts", None, "commonjs"),
    ("main.ts", '{"type": "module"}', "module"),
    ("main.mts", None, "module"),
    ("main.cts", '{"type": "module"}', "commonjs"),
])
def test_module_format_follows_node_rules(ts, entry, pkg, fmt):
    files = {entry: "const f: string = typeof module !== 'undefined' && typeof exports === "
                    "'object' ? 'commonjs' : 'module';\nconsole.log(f);\n"}
    if pkg:
        files["package.json"] = pkg
    r = ts.run({"files": files, "entry_point": entry})
    assert (r["status"], r["stdout"]) == ("ok", fmt + "\n"), r


def test_args_stdin_and_env(ts):
    r = ts.run(tsreq("const input: string = require('fs').readFileSync(0, 'utf8');\n"
                     "console.log(process.argv.slice(2).join(','), input, process.env.K);",
                     args=["x", "y"], stdin="in", env={"K": "v"}))
    assert r["stdout"] == "x,y in v\n", r


def test_typescript_without_esbuild_is_language_unavailable(ts, tmp_path):
    from conftest import NODE
    r = ts.refused(tsreq("1"), "language_unavailable",
                   env={"PATH": str(tmp_path), "RUNBOX_NODE": NODE}, rc=1)
    assert "RUNBOX_ESBUILD" in r["error"], r
