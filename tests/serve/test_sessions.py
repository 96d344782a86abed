"""File sessions kept by `runbox serve`: "session": true opens one, its id
names it in later calls, which start in the workspace as the last call left
it.  Limits (count, idle TTL, bytes), eviction, one call at a time, and what
no other run can reach."""

import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

import pytest
from conftest import AS, NOBODY, _comm, children_of


def _new(s, script, **kw):
    j = s.run(dict(script=script, session=True, **kw)).ran()
    sess = j["session"]
    assert re.fullmatch(r"[0-9a-f]{32}", sess["id"]), sess
    return j, sess["id"]


def _call(s, sid, script, **kw):
    return s.run(dict(script=script, session=sid, **kw))


def test_file_written_in_call_1_is_read_in_call_2(serve):
    s = serve.start()
    j, sid = _new(s, "open('notes.txt','w').write('kept')\nimport os\nos.mkdir('d')\n"
                     "open('d/x','w').write('deep')\nopen('.home/h','w').write('home')")
    assert j["exit_code"] == 0, j
    assert j["session"]["expires_in_s"] == 1800
    j = _call(s, sid, "print(open('notes.txt').read(), open('d/x').read(), "
                      "open('.home/h').read())").ran()
    assert j["stdout"] == "kept deep home\n", j
    assert j["session"]["id"] == sid


def test_one_shot_answer_has_no_session(serve):
    s = serve.start()
    j = s.run({"script": "print(1)"}).ran()
    assert "session" not in j
    j = s.run({"script": "print(1)", "session": False}).ran()
    assert "session" not in j


def test_output_returns_only_new_or_changed_files(serve):
    s = serve.start()
    j, sid = _new(s, "open('output/a.txt','w').write('a1')\nopen('output/b.txt','w').write('b1')")
    assert set(j["artifacts"]) == {"a.txt", "b.txt"}
    j = _call(s, sid, "open('output/b.txt','w').write('b2')\n"
                      "open('output/c.txt','w').write('c1')\nprint(sorted(__import__('os')"
                      ".listdir('output')))").ran()
    assert j["artifacts"] == {"b.txt": "b2", "c.txt": "c1"}, j
    assert j["stdout"] == "['a.txt', 'b.txt', 'c.txt']\n"
    # Rewritten with the same bytes is still a change the call made.
    j = _call(s, sid, "open('output/a.txt','w').write('a1')").ran()
    assert j["artifacts"] == {"a.txt": "a1"}, j
    j = _call(s, sid, "print('nothing')").ran()
    assert j["artifacts"] == {}, j


def test_removed_files_stay_removed_and_request_files_win(serve):
    s = serve.start()
    _, sid = _new(s, "open('gone.txt','w').write('x')\nopen('keep.txt','w').write('old')",
                  context={"in.txt": "first"})
    _call(s, sid, "import os\nos.remove('gone.txt')").ran()
    j = _call(s, sid, "import os\nprint(os.path.exists('gone.txt'), open('input/in.txt').read(),"
                      " open('input/more.txt').read())",
              context={"more.txt": "second"}).ran()
    assert j["stdout"] == "False first second\n", j
    # The program file of the new call wins over main.py of the last.
    j = _call(s, sid, "print(open('main.py').read().startswith('print(open'))").ran()
    assert j["stdout"] == "True\n"


def test_input_stays_read_only(serve):
    s = serve.start()
    _, sid = _new(s, "print(1)", context={"in.txt": "data"})
    j = _call(s, sid, "open('input/in.txt','w').write('changed')").ran()
    assert j["exit_code"] != 0 and "PermissionError" in j["stderr"], j


def test_links_and_fifos_are_not_kept(serve):
    s = serve.start()
    _, sid = _new(s, "import os\nos.symlink('/etc/passwd', 'link')\nos.mkfifo('fifo')\n"
                     "os.symlink('/etc', 'output/etc')\nopen('f','w').write('x')\n"
                     "os.link('f', 'hard')")
    j = _call(s, sid, "import os\nprint(sorted(n for n in os.listdir('.') "
                      "if not n.startswith('.')), os.listdir('output'))").ran()
    assert j["stdout"] == "['f', 'hard', 'input', 'main.py', 'output'] []\n", j


def test_unknown_and_guessed_ids_are_session_not_found(serve):
    s = serve.start()
    _, sid = _new(s, "open('secret','w').write('s')")
    guesses = ["0" * 32, sid[:-1] + ("0" if sid[-1] != "0" else "1"), sid.upper(), sid + "0",
               "x" * 129, "../" + sid, ""]
    for g in guesses:
        j = _call(s, g, "print(open('secret').read())").error(404, "session_not_found")
        assert "\"session\": true" in j["error"], j
        assert j["field"] == "session"
    # Not a string nor a boolean: a type error, 400.
    s.run({"script": "1", "session": 7}).error(400, "wrong_type")
    # And the real one still works.
    assert _call(s, sid, "print(open('secret').read())").ran()["stdout"] == "s\n"


def test_id_is_never_logged_whole(serve):
    s = serve.start()
    _, sid = _new(s, "print(1)")
    _call(s, sid, "print(2)").ran()
    _call(s, "f" * 32, "print(3)").error(404, "session_not_found")
    s.stop()
    log = "".join(s.stderr_lines)
    assert sid not in log and sid[:16] not in log
    assert '"session":' in log  # the short hash of its hash is


def test_ttl_ends_idle_session(serve):
    s = serve.start(env={"RUNBOX_SESSION_TTL_S": "1"})
    j, sid = _new(s, "open('x','w').write('1')")
    assert j["session"]["expires_in_s"] == 1
    time.sleep(1.5)
    _call(s, sid, "print(open('x').read())").error(404, "session_not_found")
    # The spawner's sweep removes an expired session's files without a call.
    _, sid2 = _new(s, "open('x','w').write('1')")
    store = [p for p in s.workdir.iterdir() if p.name.startswith("runbox-sessions-")]
    assert len(store) == 1
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not [p for p in store[0].iterdir() if len(p.name) == 64]:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("an expired session's files were not swept")


def test_lru_idle_session_is_evicted_first(serve):
    s = serve.start(env={"RUNBOX_SESSIONS_MAX": "2"})
    _, a = _new(s, "open('x','w').write('a')")
    time.sleep(0.05)
    _, b = _new(s, "open('x','w').write('b')")
    time.sleep(0.05)
    _call(s, a, "print(1)").ran()  # a is now the most recently used
    time.sleep(0.05)
    _, c = _new(s, "open('x','w').write('c')")
    _call(s, b, "print(1)").error(404, "session_not_found")
    assert _call(s, a, "print(open('x').read())").ran()["stdout"] == "a\n"
    assert _call(s, c, "print(open('x').read())").ran()["stdout"] == "c\n"


def test_sessions_full_when_every_session_is_busy(serve):
    s = serve.start(env={"RUNBOX_SESSIONS_MAX": "1", "RUNBOX_CONCURRENCY": "2"})
    _, a = _new(s, "print(1)")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=_call(s, a, "import time; time.sleep(3)")))
    t.start()
    time.sleep(1)
    s.run({"script": "1", "session": True}).error(503, "sessions_full")
    t.join(30)
    assert out["r"].ran()["exit_code"] == 0


def test_concurrent_calls_on_one_session_take_turns(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "3"})
    _, sid = _new(s, "open('n','w').write('0')")
    bump = ("import time\nn=int(open('n').read())\ntime.sleep(0.5)\n"
            "open('n','w').write(str(n+1))\nprint(n+1)")
    out = {}
    ts = [threading.Thread(target=lambda i=i: out.update({i: _call(s, sid, bump)}))
          for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    got = sorted(out[i].ran()["stdout"] for i in range(3))
    assert got == ["1\n", "2\n", "3\n"], got  # one at a time: no update lost


def test_busy_session_within_timeout_is_409(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    _, sid = _new(s, "print(1)")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=_call(s, sid, "import time; time.sleep(4)")))
    t.start()
    time.sleep(1)
    t0 = time.monotonic()
    j = _call(s, sid, "print(2)", timeout_s=1).error(409, "session_busy")
    assert "one at a time" in j["error"]
    assert time.monotonic() - t0 >= 0.9  # it waited its turn first
    t.join(30)
    assert out["r"].ran()["exit_code"] == 0


def test_session_over_its_cap_ends(serve):
    s = serve.start(env={"RUNBOX_WORKSPACE_BYTES": str(8 << 20),
                         "RUNBOX_MAX_FILE_BYTES": str(64 << 20)})
    _, sid = _new(s, "open('small','w').write('x')")
    # As root the workspace's tmpfs stops the write; otherwise the session ends when kept.
    j = _call(s, sid, "try:\n open('big','wb').write(b'0'*(12<<20))\nexcept OSError as e:\n"
                      " print('refused', e.errno)").ran()
    if j["stdout"].startswith("refused"):
        assert "ended" not in j["session"]
        assert _call(s, sid, "print(open('small').read())").ran()["stdout"] == "x\n"
    else:
        assert "cap of one session" in j["session"]["ended"], j
        assert j["session"]["expires_in_s"] == 0
        _call(s, sid, "print(1)").error(404, "session_not_found")


def test_global_byte_budget_evicts_idle_then_ends(serve):
    s = serve.start(env={"RUNBOX_SESSIONS_MAX_BYTES": str(3 << 20)})
    _, a = _new(s, "open('f','wb').write(b'a'*(2<<20))")
    _, b = _new(s, "open('f','wb').write(b'b'*(2<<20))")  # a is evicted to make room
    _call(s, a, "1").error(404, "session_not_found")
    j = _call(s, b, "open('g','wb').write(b'g'*(2<<20))").ran()  # 4 MiB alone: too much
    assert "RUNBOX_SESSIONS_MAX_BYTES" in j["session"]["ended"], j
    _call(s, b, "1").error(404, "session_not_found")


def test_sessions_can_be_turned_off(serve):
    s = serve.start(env={"RUNBOX_SESSIONS_MAX": "0"})
    j = s.run({"script": "1", "session": True}).error(400, "sessions_unavailable")
    assert "runbox serve" in j["error"]


def test_refused_call_does_not_keep_a_new_session(serve):
    s = serve.start()
    s.run({"script": "1", "session": True, "dependencies": ["no-such-pkg-xyz"]})
    store = [p for p in s.workdir.iterdir() if p.name.startswith("runbox-sessions-")][0]
    assert not [p for p in store.iterdir() if len(p.name) == 64]


def test_binary_and_large_files_round_trip(serve):
    s = serve.start()
    data = os.urandom(3 << 20)
    b64 = base64.b64encode(data).decode()
    _, sid = _new(s, "import shutil\nshutil.copy('input/blob','blob')",
                  context={"blob": {"content": b64, "encoding": "base64"}})
    j = _call(s, sid, "import hashlib\nprint(hashlib.sha256(open('blob','rb').read())"
                      ".hexdigest())").ran()
    import hashlib
    assert j["stdout"] == hashlib.sha256(data).hexdigest() + "\n"


# ---- what no other run can reach ----

def _store(s):
    return [p for p in s.workdir.iterdir() if p.name.startswith("runbox-sessions-")][0]


SNOOP = r"""
import os, sys
found = []
for top in sys.argv[1:]:
    for root, dirs, files in os.walk(top):
        for f in files:
            p = os.path.join(root, f)
            try:
                if b'TOP' + b'SECRET' in open(p, 'rb').read(1 << 20):
                    found.append(p)
            except OSError:
                pass
print(found)
"""


def test_session_files_unreachable_from_other_session_and_one_shot(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    _, a = _new(s, "open('secret.txt','w').write('TOP'+'SECRET-A')")
    store = str(_store(s))
    wd = str(s.workdir)
    # Every path a run could try: the store by name, the work dir, /tmp, /proc of others.
    args = [store, wd, "/tmp", "/dev/shm", "/var/tmp"]
    one = s.run({"script": SNOOP, "args": args}).ran()
    assert one["stdout"] == "[]\n", one
    _, b = _new(s, SNOOP, args=args)
    j = _call(s, b, SNOOP, args=args).ran()
    assert j["stdout"] == "[]\n", j
    # Direct opens of the store's paths fail too (the work dir a run sees holds its own
    # workspace only).
    probe = ("import os,sys\nfor p in sys.argv[1:]:\n try:\n  os.listdir(p); print('LISTED', p)\n"
             " except OSError as e:\n  print('refused', e.errno)")
    j = _call(s, b, probe, args=[store, store + "/alive"]).ran()
    assert "LISTED" not in j["stdout"], j
    j = s.run({"script": "import os\nprint(os.listdir(os.path.dirname(os.getcwd())))"}).ran()
    assert "runbox-sessions" not in j["stdout"], j
    # While session A's call runs, session B cannot reach A's workspace through /proc.
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=_call(s, a, "import time; time.sleep(3); print(open('secret.txt').read())")))
    t.start()
    time.sleep(1)
    peek = ("import os\nhits=[]\nfor p in os.listdir('/proc'):\n if p.isdigit():\n  try:\n"
            "   hits.append(os.listdir(f'/proc/{p}/cwd'))\n  except OSError:\n   pass\n"
            "print([h for h in hits if 'secret.txt' in h])")
    j = _call(s, b, peek).ran()
    assert j["stdout"] == "[]\n", j
    t.join(30)
    assert out["r"].ran()["stdout"] == "TOPSECRET-A\n"


def test_store_is_private_and_removed_at_stop(serve):
    s = serve.start()
    _new(s, "open('x','w').write('1')")
    st = os.stat(_store(s))
    assert st.st_mode & 0o777 == 0o700
    s.stop()
    assert not list(s.workdir.iterdir())


def test_store_left_by_a_killed_server_is_swept(serve):
    s = serve.start()
    _new(s, "open('x','w').write('1')")
    left = _store(s)
    s.kill()
    s2 = serve.start(env={"RUNBOX_WORK_DIR": str(s.workdir)})
    assert not left.exists()
    s2.stop()
    assert not list(s.workdir.iterdir())


def test_client_kept_state_round_trip_over_http(serve):
    s = serve.start(env={"RUNBOX_STATE_KEY": "serve-key"})
    j = s.run({"script": "open('kept','w').write('by the client')", "return_state": True}).ran()
    st = j["state"]
    j = s.run({"script": "print(open('kept').read())", "state": st}).ran()
    assert j["stdout"] == "by the client\n"
    raw = bytearray(base64.b64decode(st))
    raw[len(raw) // 2] ^= 1
    s.run({"script": "1", "state": base64.b64encode(bytes(raw)).decode()}).error(
        400, "invalid_state")


# ---- the attack suites' cross-request cases, between two sessions ----

def test_sleeper_of_one_session_does_not_survive_its_call(serve):
    from conftest import proc_environ_has
    s = serve.start()
    mark = s.mark()
    _, a = _new(s, "import os, subprocess\nsubprocess.Popen(['sleep', '60'], "
                   "start_new_session=True)\nos.system('(sleep 60 &)')",
                env={"RBSERVE_MARK": mark})
    time.sleep(0.5)
    assert proc_environ_has([mark.encode()]) == []
    # Nor is anything of it running when the session's next call, or another's, starts.
    _, b = _new(s, "import os\nprint([p for p in os.listdir('/proc') if p.isdigit()])")
    j = _call(s, a, "import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))"
              ).ran()
    assert int(j["stdout"]) <= 3, j  # init, the program, and nothing left behind


def test_tmp_and_shm_are_per_call_and_per_session(serve):
    s = serve.start()
    _, a = _new(s, "import os\nopen('/tmp/left','w').write('x')\n"
                   "os.path.isdir('/dev/shm') and open('/dev/shm/left','w').write('x')\n"
                   "print(os.getcwd())")
    for sid in (a, _new(s, "1")[1]):
        j = _call(s, sid, "import os\nprint(os.path.exists('/tmp/left'), "
                          "os.path.exists('/dev/shm/left'))").ran()
        assert j["stdout"] == "False False\n", j


def test_another_session_cannot_open_a_workspace_path_it_learns(serve):
    s = serve.start(env={"RUNBOX_CONCURRENCY": "2"})
    _, a = _new(s, "import os\nopen('open.txt','w').write('TOP' + 'SECRET')\n"
                   "os.chmod('open.txt', 0o777)\nos.chmod('.', 0o777)")
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=_call(s, a, "import os, time\nprint(os.getcwd(), flush=True)\ntime.sleep(3)")))
    t.start()
    time.sleep(1.5)
    # The path A runs at is predictable enough: try every workspace name B can see or guess.
    probe = ("import os, glob\nhits = []\nfor d in glob.glob(os.path.dirname(os.getcwd()) + "
             "'/*/open.txt') + glob.glob('/tmp/*/*/open.txt'):\n    try:\n"
             "        hits.append(open(d).read())\n    except OSError:\n        pass\n"
             "print(hits)")
    _, b = _new(s, probe)
    j = _call(s, b, probe).ran()
    assert j["stdout"] == "[]\n", j
    t.join(30)
    assert out["r"].ran()["exit_code"] == 0


def test_info_says_what_may_be_kept(serve):
    s = serve.start(env={"RUNBOX_SESSIONS_MAX": "7", "RUNBOX_SESSION_TTL_S": "90",
                         "RUNBOX_STATE_KEY": "k"})
    j = json.loads(s.request("GET", "/api/info").body)
    assert j["sessions"] == {"max": 7, "ttl_s": 90, "max_bytes": 2 << 30,
                             "state_authenticated": True}
    assert j["limits"]["max_state_bytes"] == 5 << 20


def test_files_and_directories_their_owner_shut_out_are_kept(serve):
    s = serve.start()
    _, sid = _new(s, "import os\nos.makedirs('locked/in')\nopen('locked/in/f','w').write('x')\n"
                     "open('closed.txt','w').write('c')\nos.chmod('closed.txt', 0)\n"
                     "os.chmod('locked/in', 0)\nos.chmod('locked', 0o500)")
    j = _call(s, sid, "import os\nos.chmod('locked', 0o700)\nos.chmod('locked/in', 0o700)\n"
                      "os.chmod('closed.txt', 0o600)\n"
                      "print(open('locked/in/f').read(), open('closed.txt').read())").ran()
    assert j["stdout"] == "x c\n", j
    j = _call(s, sid, "print(open('closed.txt').read())").ran()
    assert j["stdout"] == "c\n", j


def test_javascript_in_a_session_sees_the_files_of_the_previous_call(serve):
    s = serve.start()
    if "javascript" not in s.request("GET", "/api/info").json()["languages"]:
        pytest.skip("no node on PATH: `make deps` installs Debian's nodejs")
    _, sid = _new(s, "open('data.json','w').write('{\"n\": 41}')")
    j = _call(s, sid, "import fs from 'node:fs';\n"
                      "const {n} = JSON.parse(fs.readFileSync('data.json', 'utf8'));\n"
                      "console.log(n + 1); fs.writeFileSync('output/next.txt', String(n + 1));",
              language="javascript").ran()
    assert (j["status"], j["stdout"]) == ("ok", "42\n"), j
    assert list(j["artifacts"]) == ["next.txt"], j["artifacts"]
    j = _call(s, sid, "import os\nprint(open('output/next.txt').read(), "
                      "os.path.exists('.home/.runbox-prelude.cjs'))").ran()
    assert j["stdout"] == "42 False\n", j  # runbox's own prelude is not kept
    j = _call(s, sid, "console.log(require('fs').readFileSync('output/next.txt', 'utf8'))",
              language="javascript").ran()
    assert (j["status"], j["stdout"], j["artifacts"]) == ("ok", "42\n", {}), j


def test_session_and_request_files_past_the_workspace_are_413_and_the_session_stays(serve):
    s = serve.start(env={"RUNBOX_WORKSPACE_BYTES": str(8 << 20)})
    _, sid = _new(s, "open('kept','wb').write(b'k' * (5 << 20))")
    r = _call(s, sid, "print(1)", context={"more.txt": "m" * (4 << 20)})
    j = r.error(413, "session_too_large")
    # The session's bytes (its file and the first call's main.py); the request's (its
    # context and its script).
    kept = int(re.search(r"session's files \((\d+) bytes\)", j["error"]).group(1))
    assert (5 << 20) < kept < (5 << 20) + 100 and f"({(4 << 20) + 8} bytes)" in j["error"], j
    assert "RUNBOX_WORKSPACE_BYTES" in j["error"], j
    j = _call(s, sid, "import os\nprint(os.path.getsize('kept'))").ran()
    assert j["stdout"] == f"{5 << 20}\n", j


def test_a_fault_while_keeping_the_files_ends_the_session_not_the_answer(serve):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs as the server's work dir")
    small = tempfile.mkdtemp(prefix="rbserve-small-")
    owner = f",uid={NOBODY},gid={NOBODY}" if AS == "nobody" else ""
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=4m,mode=0755{owner}", "tmpfs", small],
                   check=True)
    try:
        s = serve.start(env={"RUNBOX_WORK_DIR": small, "RUNBOX_MIN_FREE_BYTES": "0"})
        j, sid = _new(s, "open('a','wb').write(b'a' * (3 << 20))\nprint('ran')")
        # The store's file system cannot take 3 MiB more: keeping them fails (at once
        # where the workspace is a directory on that file system, not a tmpfs of its own).
        if "ended" not in j["session"]:
            j = _call(s, sid, "open('b','wb').write(b'b' * (3 << 20))\nprint('ran')").ran()
        assert j["exit_code"] == 0 and j["stdout"] == "ran\n", j
        assert "could not be kept" in j["session"]["ended"], j
        assert j["session"]["expires_in_s"] == 0
        _call(s, sid, "print(1)").error(404, "session_not_found")
        s.stop()
    finally:
        subprocess.run(["umount", "-l", small], check=False)
        os.rmdir(small)


def _sweepers(s):
    return [w for c in children_of(s.pid) if _comm(c) == "runbox-spawner"
            for w in children_of(c) if _comm(w) == "runbox-sweep"]


def _holds_the_store_lock(pid, store):
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"{store}/lock"
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_expired_files_are_removed_outside_the_spawner_and_the_store_lock(serve):
    s = serve.start(env={"RUNBOX_SESSION_TTL_S": "2"})
    store = _store(s)
    big = store / "big"  # a tree that takes a while to remove, made before its TTL runs
    big.mkdir()
    for i in range(100000):
        os.close(os.open(big / f"f{i}", os.O_CREAT | os.O_WRONLY, 0o600))
    os.chown(big, store.stat().st_uid, store.stat().st_gid)
    _, sid = _new(s, "open('x','w').write('1')")
    tree = [p for p in store.iterdir() if len(p.name) == 64][0] / "tree"
    big.rename(tree / "big")
    # Catch the sweep removing it; stopped there, it must stall nothing.
    deadline, pid = time.monotonic() + 30, None
    while time.monotonic() < deadline and pid is None:
        for w in _sweepers(s):
            os.kill(w, signal.SIGSTOP)
            if not _holds_the_store_lock(w, store) and (tree.parent.parent / "trash").exists() \
                    and not tree.exists():
                pid = w
                break
            os.kill(w, signal.SIGCONT)
        time.sleep(0.005)
    assert pid, "no runbox-sweep child of the spawner was seen removing the expired session"
    try:
        assert s.run({"script": "print('one-shot')"}).ran()["stdout"] == "one-shot\n"
        j, _ = _new(s, "print('new session')")
        assert j["stdout"] == "new session\n"
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any((store / "trash").iterdir()):
        time.sleep(0.2)
    assert not any((store / "trash").iterdir()), "the trash was not emptied"
