"""Client-kept state across JavaScript and TypeScript calls: a Node
program's files come back in "state" and a later call, in any language,
starts from them; what runbox itself puts into a Node run's workspace (the
prelude, node_modules/ links, a TypeScript program's transpiled file) does
not stand in the way of the next call's own."""

import base64
import io
import tarfile

from conftest import js, tsreq


def test_a_javascript_call_sees_the_files_of_the_previous_call(rb):
    r = rb.run(js("import fs from 'node:fs';\nfs.mkdirSync('d');\n"
                  "fs.writeFileSync('d/data.json', JSON.stringify({n: 41}));",
                  return_state=True))
    assert r["status"] == "ok" and r["state"], r
    r = rb.run(js("import fs from 'node:fs';\n"
                  "const {n} = JSON.parse(fs.readFileSync('d/data.json', 'utf8'));\n"
                  "console.log(n + 1); fs.writeFileSync('next.txt', String(n + 1));",
                  state=r["state"], return_state=True))
    assert (r["status"], r["stdout"]) == ("ok", "42\n"), r
    # Python picks the files up where Node left them.
    r = rb.run({"script": "print(open('next.txt').read(), open('d/data.json').read())",
                "state": r["state"]})
    assert r["stdout"] == '42 {"n":41}\n', r


def test_a_state_made_by_node_starts_the_next_node_call_cleanly(rb):
    # The next call writes its own prelude: the kept one neither clashes nor wins.
    r = rb.run(js("console.log(typeof require, typeof __dirname)", return_state=True))
    assert r["stdout"] == "function string\n", r
    raw = base64.b64decode(r["state"])
    names = tarfile.open(fileobj=io.BytesIO(raw[6:]), mode="r:gz").getnames()
    assert [n for n in names if n.startswith("main.")] and \
        not [n for n in names if "prelude" in n], names
    r = rb.run(js("console.log(typeof require, typeof __dirname)", state=r["state"]))
    assert (r["status"], r["stdout"]) == ("ok", "function string\n"), r


def test_typescript_sees_what_javascript_left(ts):
    r = ts.run(js("require('fs').writeFileSync('n.txt', '7')", return_state=True))
    r = ts.run(tsreq("import fs from 'fs';\nconst n: number = Number(fs.readFileSync('n.txt'));\n"
                     "console.log(n * 6);", state=r["state"], return_state=True))
    assert (r["status"], r["stdout"]) == ("ok", "42\n"), r
    # And the next TypeScript call transpiles its own program, not the kept one's.
    r = ts.run(tsreq("const m: string = 'fresh';\nconsole.log(m);", state=r["state"]))
    assert (r["status"], r["stdout"]) == ("ok", "fresh\n"), r
