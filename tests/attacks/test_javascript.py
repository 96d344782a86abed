"""The attack suite's cases in JavaScript: a Node.js program meets the same
walls as a Python one.  Each case prints key=value results (the JS prelude
below) and is held to the exact errno or status its layer must give; the
`rb` fixture checks afterwards that nothing survived, nothing leaked and
runbox still answers."""

import shutil

import pytest

from conftest import AS, kv, need, ok, ran, short

PATH = "/usr/local/bin:/usr/bin:/bin"
if not shutil.which("node", path=PATH):
    pytest.skip("no node on PATH: `make deps` installs Debian's nodejs",
                allow_module_level=True)

# res(k, v) prints one result; code(fn) runs fn and answers "ok" or the
# error's code; acode(fn) the same for a promise or callback API.
JS_PRELUDE = r'''
const fs = require("fs"), cp = require("child_process"), net = require("net");
const res = (k, v) => process.stdout.write(`${k}=${v}\n`);
const code = (fn) => { try { fn(); return "ok"; } catch (e) { return e.code || e.name; } };
const acode = (p) => p.then(() => "ok", (e) => e.code || e.name);
'''


def js(body, **kw):
    return dict({"language": "javascript", "script": JS_PRELUDE + body}, **kw)


def test_child_process_cannot_run_what_the_program_wrote(rb):
    resp, L = ok(rb, js(
        "fs.writeFileSync('x.sh', '#!/bin/sh\\necho escaped\\n', {mode: 0o755});\n"
        "res('spawn_written', code(() => cp.execFileSync('./x.sh', {stdio: 'pipe'})));\n"
        "fs.writeFileSync('.tmp/y.sh', '#!/bin/sh\\necho escaped\\n', {mode: 0o755});\n"
        "res('spawn_tmp', code(() => cp.execFileSync('.tmp/y.sh', {stdio: 'pipe'})));\n"
        "res('system_sh', cp.execFileSync('/bin/sh', ['-c', 'echo in-box']).toString().trim());\n"))
    need(L.landlock or L.mountns, "neither Landlock nor a noexec workspace")
    assert kv(resp) == {"spawn_written": "EACCES", "spawn_tmp": "EACCES",
                        "system_sh": "in-box"}, short(resp)


def test_child_process_children_meet_the_same_walls(rb, sentinel):
    resp, L = ok(rb, js(
        f"const r = cp.spawnSync('/bin/sh', ['-c', 'echo x > {sentinel}/keep.txt; echo $?'], "
        "{encoding: 'utf8'});\n"
        "res('child_write', r.stdout.trim() === '0' ? 'written' : 'refused');\n"
        "res('child_net', cp.spawnSync(process.execPath, ['-e', "
        "'require(\"net\").connect(80, \"127.0.0.1\").on(\"error\", e => console.log(e.code))'], "
        "{encoding: 'utf8'}).stdout.trim());\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"child_write": "refused", "child_net": "EACCES"}, short(resp)


def test_net_tcp_connect_and_listen(rb, server):
    resp, L = ok(rb, js(
        f"const c = net.connect({server.port}, '127.0.0.1');\n"
        "c.on('error', e => res('connect', e.code)); c.on('connect', () => res('connect', 'ok'));\n"
        "const s = net.createServer();\n"
        "s.on('error', e => res('listen', e.code)); s.listen(0, '127.0.0.1', () => res('listen', 'ok'));\n"
        "const c6 = net.connect(80, '::1'); c6.on('error', e => res('connect6', e.code));\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"connect": "EACCES", "listen": "EACCES", "connect6": "EACCES"}, short(resp)
    assert server.events == []


def test_dgram(rb, server):
    resp, L = ok(rb, js(
        "const d = require('dgram').createSocket('udp4');\n"
        "d.on('error', e => { res('bind', e.code); d.close(); });\n"
        f"d.send('x', {server.port}, '127.0.0.1', e => res('send', e ? e.code : 'ok'));\n"))
    need(L.seccomp, "seccomp not applied")
    got = kv(resp)
    assert got.get("send") == "EACCES" or got.get("bind") == "EACCES", short(resp)
    assert "ok" not in got.values(), short(resp)
    assert server.events == []


def test_dns_resolves_nothing(rb):
    resp, L = ok(rb, js(
        "const dns = require('dns');\n"
        "(async () => {\n"
        "  res('lookup', await acode(dns.promises.lookup('example.com')));\n"
        "  res('resolve4', await acode(dns.promises.resolve4('example.com')));\n"
        "})();\n", timeout_s=20))
    need(L.netns or L.seccomp, "neither a net namespace nor seccomp")
    got = kv(resp)
    assert set(got) == {"lookup", "resolve4"} and "ok" not in got.values(), short(resp)
    assert got["lookup"] in ("ENOTFOUND", "EAI_AGAIN", "EAI_FAIL"), short(resp)
    assert got["resolve4"] in ("ECONNREFUSED", "ETIMEOUT", "EREFUSED", "ENOTFOUND",
                               "ECONNRESET", "EACCES"), short(resp)


def test_fs_outside_the_workspace(rb, sentinel):
    resp, L = ok(rb, js(
        f"res('write_sentinel', code(() => fs.writeFileSync('{sentinel}/keep.txt', 'x')));\n"
        f"res('new_in_sentinel', code(() => fs.writeFileSync('{sentinel}/new', 'x')));\n"
        f"res('unlink_sentinel', code(() => fs.unlinkSync('{sentinel}/keep.txt')));\n"
        "res('write_etc', code(() => fs.writeFileSync('/etc/rbatk', 'x')));\n"
        "res('write_usr', code(() => fs.writeFileSync('/usr/lib/rbatk', 'x')));\n"
        "res('symlink_out', code(() => { fs.symlinkSync('/etc/passwd', 'ln');"
        " fs.writeFileSync('ln', 'x'); }));\n"))
    need(L.landlock or L.mountns, "neither Landlock nor a mount namespace")
    got = kv(resp)
    for k, v in got.items():
        assert v in ("EACCES", "EROFS", "ENOENT", "EPERM"), (k, short(resp))
    assert len(got) == 6, short(resp)


def test_process_kill_ppid_and_runbox(rb):
    resp, L = ok(rb, lambda pid: js(
        "res('ppid', code(() => process.kill(process.ppid, 'SIGKILL')));\n"
        f"res('runbox', code(() => process.kill({pid}, 'SIGKILL')));\n"
        "res('everyone', code(() => process.kill(-1, 'SIGKILL')));\n"
        "res('alive', 1);\n"))
    need(L.seccomp or L.pidns, "neither seccomp nor a pid namespace")
    got = kv(resp)
    assert got["alive"] == "1", short(resp)
    assert (got["ppid"], got["runbox"], got["everyone"]) == ("ESRCH", "ESRCH", "ESRCH"), short(resp)


def test_proc_environ_holds_no_secret(rb, victim):
    # The canary (runbox's own environment) and the victim's secret must
    # appear nowhere the program can read; the fixture checks the canary.
    vpid, secret = victim
    resp, L = ok(rb, js(
        "let n = 0;\n"
        "for (const d of fs.readdirSync('/proc')) {\n"
        "  if (!/^\\d+$/.test(d)) continue;\n"
        "  try { process.stdout.write(fs.readFileSync(`/proc/${d}/environ`, 'latin1')"
        ".replace(/[\\0\\n]/g, ' ') + '\\n'); n++; } catch (e) {}\n"
        "}\n"
        f"res('victim', code(() => fs.readFileSync('/proc/{vpid}/environ')));\n"
        "res('read', n > 0 ? 'some' : 'none');\n"))
    assert secret not in resp["stdout"], short(resp)
    assert kv(resp)["victim"] in ("ENOENT", "EACCES"), short(resp)


def test_worker_threads_bomb(rb):
    resp, L = ran(rb, js(
        "const { Worker } = require('worker_threads');\n"
        "let n = 0;\n"
        "try { for (;;) { new Worker('setInterval(() => {}, 1000)', {eval: true}); n++; } }\n"
        "catch (e) { res('stopped', e.code || e.name); }\n"
        "res('started', n);\n"
        "setTimeout(() => process.exit(0), 2000);\n", timeout_s=20))
    assert resp["status"] in ("ok", "memory_limit", "error", "killed", "timeout"), short(resp)


def test_fork_bomb_via_child_process(rb):
    resp, L = ran(rb, js(
        "const me = process.argv[1];\n"
        "const spawnMore = () => { for (let i = 0; i < 4; i++) {\n"
        "  try { cp.spawn(process.execPath, ['-e', 'require(\"child_process\").spawn("
        "process.execPath, [\"-e\", \"setInterval(()=>{},1000)\"], {stdio: \"ignore\"});"
        "setInterval(()=>{},1000)'], {stdio: 'ignore'}).on('error', () => {}); }\n"
        "  catch (e) { res('spawn', e.code); return; } } };\n"
        "setInterval(spawnMore, 10);\n", timeout_s=4))
    assert resp["status"] == "timeout", short(resp)


def test_vm_escape_reaches_host_objects_but_not_past_the_walls(rb, server):
    # vm is no boundary: an escape gets the host's process.  The walls
    # around the whole program still hold for what it then does.
    resp, L = ok(rb, js(
        "const vm = require('vm');\n"
        "const p = vm.runInNewContext('this.constructor.constructor(\"return process\")()');\n"
        "res('escaped', p === process);\n"
        "const r = p.mainModule ? p.mainModule.require : require;\n"
        f"const c = r('net').connect({server.port}, '127.0.0.1');\n"
        "c.on('error', e => res('connect', e.code));\n"
        "res('spawn_written', code(() => { fs.writeFileSync('z', '#!/bin/sh\\n', {mode: 0o755});"
        " r('child_process').execFileSync('./z'); }));\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"escaped": "true", "connect": "EACCES", "spawn_written": "EACCES"}, short(resp)
    assert server.events == []


def test_process_binding_is_no_way_out(rb, server):
    # The raw bindings under net reach the same system calls.
    resp, L = ok(rb, js(
        "const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');\n"
        "const t = new TCP(constants.SOCKET);\n"
        f"const rc = t.connect(new TCPConnectWrap(), '127.0.0.1', {server.port});\n"
        "res('raw_connect', rc === 0 ? 'ok' : require('util').getSystemErrorName(rc));\n"
        "const u = process.binding('udp_wrap');\n"
        "const s = new u.UDP();\n"
        "const rb4 = s.bind('127.0.0.1', 0, 0);\n"
        "res('raw_udp_bind', rb4 === 0 ? 'ok' : require('util').getSystemErrorName(rb4));\n"))
    need(L.seccomp, "seccomp not applied")
    assert kv(resp) == {"raw_connect": "EACCES", "raw_udp_bind": "EACCES"}, short(resp)
    assert server.events == []


def test_no_refusal_noise_on_ordinary_io(rb):
    # io_uring fails as on a kernel without it: libuv falls back silently.
    resp, L = ok(rb, js(
        "fs.promises.readFile('/etc/hostname').then(d => res('read', d.length > 0));\n"
        "fs.readFile('/etc/hostname', (e) => res('cb', e ? e.code : 'ok'));\n"))
    assert kv(resp) == {"read": "true", "cb": "ok"}, short(resp)
    assert "sandbox refused" not in resp["stderr"], short(resp)
