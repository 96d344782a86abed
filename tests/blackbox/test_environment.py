"""The program's environment: allowlisted variables, no leaks, workspace layout."""

import json
import os

from conftest import MARK_NAME, ok

ALLOWED = {"PATH", "LANG", "HOME", "TMPDIR", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
           "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
           "MKL_NUM_THREADS"}
# harmless extras an implementation might reasonably add
TOLERATED = {"LC_ALL", "LC_CTYPE", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "PWD", "MPLCONFIGDIR",
             "XDG_CACHE_HOME", "XDG_CONFIG_HOME"}

DUMP_ENV = "import os, json\nprint(json.dumps(dict(os.environ)))"


def test_required_variables(rb):
    env = json.loads(ok(rb, {"script": DUMP_ENV})["stdout"])
    assert ALLOWED <= set(env), ALLOWED - set(env)
    assert env["LANG"] == "C.UTF-8"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONIOENCODING"].lower() == "utf-8"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["MPLBACKEND"] == "Agg"
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[k].isdigit() and int(env[k]) >= 1
    assert "/usr/bin" in env["PATH"].split(":") or "/bin" in env["PATH"].split(":")


def test_no_other_variables(rb):
    env = json.loads(ok(rb, {"script": DUMP_ENV, "env": {"MINE": "1"}})["stdout"])
    extra = set(env) - ALLOWED - TOLERATED - {"MINE", MARK_NAME}
    assert not extra, extra


def test_runbox_environment_does_not_leak(rb):
    leaky = {"SOME_SECRET_TOKEN": "leak-" + rb.canary, "HOSTNAME": "leakhost", "PYTHONPATH": "/leak",
             "PYTHONSTARTUP": "/leak/x.py", "LD_PRELOAD": "/leak/x.so", "BASH_ENV": "/leak/env",
             "PATH": "/leaky/bin:/usr/bin:/bin", "HOME": "/leaky/home", "LC_ALL": "de_DE.UTF-8",
             "PYTHONWARNINGS": "error", "PYTHONINSPECT": "1"}
    resp = ok(rb, {"script": DUMP_ENV}, env=leaky)
    env = json.loads(resp["stdout"])
    text = json.dumps(env)
    assert "leak" not in text, text
    assert "RUNBOX_TEST_CANARY" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert not any(k.startswith("RUNBOX_") for k in env)
    assert env.get("LC_ALL") in (None, "C.UTF-8")


def test_bash_does_not_read_bash_env(rb, tmp_path):
    f = tmp_path / "bashenv"
    f.write_text("echo LEAKED\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(f, 0o644)
    resp = ok(rb, {"script": "echo clean", "language": "bash"}, env={"BASH_ENV": str(f), "ENV": str(f)})
    assert resp["stdout"] == "clean\n"


def test_home_and_tmpdir_inside_workspace(rb):
    script = ("import os, tempfile, json\n"
              "h, t = os.environ['HOME'], os.environ['TMPDIR']\n"
              "fd, p = tempfile.mkstemp()\nos.write(fd, b'x')\nos.close(fd)\n"
              "open(os.path.join(h, '.rc'), 'w').write('x')\n"
              "print(json.dumps([os.path.realpath(h), os.path.realpath(t), os.path.realpath(os.getcwd()), "
              "os.path.realpath(p), os.path.expanduser('~') == h]))")
    home, tmp, cwd, tmpfile, expands = json.loads(ok(rb, {"script": script})["stdout"])
    wd = os.path.realpath(rb.work_dir())
    for p in (home, tmp, cwd, tmpfile):
        assert p.startswith(wd + "/"), (p, wd)
    assert tmpfile.startswith(tmp + "/")
    assert expands
    # the workspace is the program's cwd, HOME and TMPDIR are inside it
    assert home.startswith(cwd + "/") or home == cwd
    assert tmp.startswith(cwd + "/") or tmp == cwd


def test_workspace_is_private_per_request(rb):
    script = "import os\nprint(os.path.realpath(os.getcwd()))"
    a = ok(rb, {"script": script})["stdout"]
    b = ok(rb, {"script": script})["stdout"]
    assert a != b


def test_cwd_contents_at_start(rb):
    resp = ok(rb, {"script": "import os\nprint(sorted(e for e in os.listdir('.') if e in ('main.py','input','output')))"})
    assert resp["stdout"] == "['input', 'main.py', 'output']\n"


def test_program_cannot_see_workspace_of_runbox_parent_dir_secrets(rb):
    # the program runs as an unprivileged user and cannot read root-only files
    resp = ok(rb, {"script": "try:\n    open('/etc/shadow').read()\n    print('READ')\nexcept PermissionError:\n    print('denied')"})
    assert resp["stdout"] == "denied\n"


def test_cannot_read_runbox_environ(rb):
    script = (
        "import os\nfound = []\nme = os.getpid()\n"
        "for d in os.listdir('/proc'):\n"
        "    if not d.isdigit() or int(d) == me:\n"
        "        continue\n"
        "    try:\n"
        "        data = open(f'/proc/{d}/environ', 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if b'RUNBOX_TEST_CANARY=' in data or b'AWS_SECRET_ACCESS_KEY=' in data:\n"
        "        found.append(d)\n"
        "print(found)\n"
        "try:\n"
        "    open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
        "    print('parent readable')\n"
        "except OSError:\n"
        "    print('parent hidden')\n")
    resp = ok(rb, {"script": script})
    lines = resp["stdout"].splitlines()
    assert lines[0] == "[]", resp["stdout"]


def test_input_is_read_only(rb):
    script = (
        "import os\nres = []\n"
        "for action in ('create', 'modify', 'delete', 'mkdir', 'chmod', 'rename'):\n"
        "    try:\n"
        "        if action == 'create': open('input/new.txt', 'w').write('x')\n"
        "        if action == 'modify': open('input/data.txt', 'a').write('x')\n"
        "        if action == 'delete': os.remove('input/data.txt')\n"
        "        if action == 'mkdir': os.mkdir('input/sub/newdir')\n"
        "        if action == 'chmod': os.chmod('input/data.txt', 0o666); open('input/data.txt', 'a').write('x')\n"
        "        if action == 'rename': os.rename('input/data.txt', 'input/moved.txt')\n"
        "        res.append(action + ':allowed')\n"
        "    except OSError:\n"
        "        res.append(action + ':denied')\n"
        "print(' '.join(res))\nprint(open('input/data.txt').read())")
    resp = ok(rb, {"script": script, "context": {"data.txt": "orig", "sub/f.txt": "s"}})
    assert resp["stdout"] == ("create:denied modify:denied delete:denied mkdir:denied chmod:denied "
                              "rename:denied\norig\n")


def test_output_and_cwd_writable(rb):
    resp = ok(rb, {"script": "open('scratch.txt','w').write('x')\nimport os\nos.makedirs('output/a/b')\n"
                             "open('output/a/b/c','w').write('c')\nprint('ok')"})
    assert resp["stdout"] == "ok\n" and resp["artifacts"] == {"a/b/c": "c"}


def test_files_mode_files_writable(rb):
    resp = ok(rb, {"files": {"main.py": "open('data.txt','a').write('+')\nprint(open('data.txt').read())",
                             "data.txt": "d"}, "entry_point": "main.py"})
    assert resp["stdout"] == "d+\n"


def test_no_bytecode_written(rb):
    resp = ok(rb, {"files": {"main.py": "import util, os\nprint(os.path.exists('__pycache__'))", "util.py": "x = 1"},
                   "entry_point": "main.py"})
    assert resp["stdout"] == "False\n"


def test_bash_environment(rb):
    resp = ok(rb, {"script": "echo \"$LANG|$PYTHONUNBUFFERED|${RUNBOX_TEST_CANARY:-none}|$FOO\"", "language": "bash",
                   "env": {"FOO": "bar"}})
    assert resp["stdout"] == "C.UTF-8|1|none|bar\n"


def test_sandbox_field_is_object(rb):
    resp = ok(rb, {"script": "print(1)"})
    assert isinstance(resp["sandbox"], dict)
    assert rb.canary not in json.dumps(resp["sandbox"])


def test_runs_with_an_empty_environment(rb):
    import subprocess
    from conftest import stdin_only
    stdin_only("runbox started with nothing but its work dir in its environment, by the test")
    p = subprocess.run([str(rb.bin)], input=b'{"script":"import os\\nprint(os.environ[\\"LANG\\"], bool(os.environ[\\"PATH\\"]))"}',
                       capture_output=True, env={"RUNBOX_WORK_DIR": str(rb.workdir)}, timeout=30)
    assert p.returncode == 0, p.stderr
    resp = json.loads(p.stdout)
    assert resp["stdout"] == "C.UTF-8 True\n" and resp["status"] == "ok"


def test_operator_umask_does_not_hide_the_programs_files(rb):
    # runbox means the modes it asks for: an operator's umask 077 must not
    # make main.py or the input files unreadable to the program's uid.
    old = os.umask(0o077)
    try:
        j = ok(rb, {"files": {"main.py": "import lib; print(open('input/a.txt').read())",
                              "lib.py": "X = 1\n"},
                    "entry_point": "main.py",
                    "context": {"a.txt": "hello"}})
    finally:
        os.umask(old)
    assert j["stdout"] == "hello\n"
