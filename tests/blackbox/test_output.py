"""stdout/stderr capture: caps, truncation, floods, UTF-8 sanitising."""

import pytest

from conftest import MiB, ok, ran

CAP = 1048576


def writer(stream, n, byte="x"):
    return f"import sys\nsys.{stream}.buffer.write(b'{byte}' * {n})\nsys.{stream}.flush()"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_at_cap(rb, stream):
    resp = ok(rb, {"script": writer(stream, CAP)})
    assert resp[stream] == "x" * CAP
    assert resp["truncated"] == {"stdout": False, "stderr": False}


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_one_past_cap(rb, stream):
    resp = ok(rb, {"script": writer(stream, CAP + 1)})
    assert resp[stream] == "x" * CAP
    other = "stderr" if stream == "stdout" else "stdout"
    assert resp["truncated"] == {stream: True, other: False}


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_cap_configurable(rb, stream):
    env = {"RUNBOX_MAX_OUTPUT_BYTES": "1000"}
    resp = ok(rb, {"script": f"import sys\nsys.{stream}.write('0123456789' * 100)"}, env=env)
    assert resp[stream] == "0123456789" * 100 and not resp["truncated"][stream]
    resp = ok(rb, {"script": f"import sys\nsys.{stream}.write('0123456789' * 100 + 'Z')"}, env=env)
    assert resp[stream] == "0123456789" * 100 and resp["truncated"][stream]


def test_flood_100mib_finishes_quickly(rb):
    script = ("import sys\nchunk = b'y' * 1048576\n"
              "for _ in range(100):\n    sys.stdout.buffer.write(chunk)\n"
              "sys.stdout.flush()\nsys.stderr.write('done\\n')")
    resp = ok(rb, {"script": script, "timeout_s": 30})
    assert resp["stdout"] == "y" * CAP
    assert resp["stderr"] == "done\n"
    assert resp["truncated"] == {"stdout": True, "stderr": False}
    assert rb.last_elapsed < 10


def test_flood_both_streams_interleaved(rb):
    script = ("import os\nchunk = b'z' * 65536\n"
              "for _ in range(400):\n    os.write(1, chunk)\n    os.write(2, chunk)\n"
              "print('end')")
    resp = ok(rb, {"script": script, "timeout_s": 30})
    assert resp["truncated"] == {"stdout": True, "stderr": True}
    assert len(resp["stdout"]) == CAP and len(resp["stderr"]) == CAP
    assert rb.last_elapsed < 10


def test_flood_bash_yes(rb):
    resp = ran(rb, {"script": "yes | head -c 50000000\necho tail >&2", "language": "bash", "timeout_s": 30},
               status="ok")
    assert resp["stdout"] == "y\n" * (CAP // 2)
    assert resp["stderr"] == "tail\n"
    assert resp["truncated"]["stdout"] is True


def test_flood_until_timeout(rb):
    resp = ran(rb, {"script": "import os\nwhile True:\n    os.write(1, b'q' * 65536)", "timeout_s": 1},
               status="timeout", exit_code=124)
    assert resp["stdout"] == "q" * CAP and resp["truncated"]["stdout"] is True
    assert rb.last_elapsed < 2.5


def test_exact_content_preserved(rb):
    script = ("import sys\nfor i in range(50000):\n    sys.stdout.write(f'{i:07d}\\n')")
    resp = ok(rb, {"script": script})
    assert resp["stdout"] == "".join(f"{i:07d}\n" for i in range(50000))


def test_stdout_and_stderr_separate(rb):
    resp = ok(rb, {"script": "import sys\nprint('out1')\nprint('err1', file=sys.stderr)\nprint('out2')"})
    assert resp["stdout"] == "out1\nout2\n" and resp["stderr"] == "err1\n"


def test_unicode_output(rb):
    s = "héllo ✓ 🎉 日本語 \u200b"
    resp = ok(rb, {"script": f"print({s!r})\nimport sys\nprint({s!r}, file=sys.stderr)"})
    assert resp["stdout"] == s + "\n" and resp["stderr"] == s + "\n"


def test_invalid_utf8_replaced(rb):
    resp = ok(rb, {"script": "import sys\nsys.stdout.buffer.write(b'a\\xffb\\n')\nsys.stderr.buffer.write(b'\\xfe!')"})
    assert resp["stdout"] == "a\ufffdb\n"
    assert resp["stderr"] == "\ufffd!"


def test_invalid_utf8_variants(rb):
    resp = ok(rb, {"script": "import sys\nsys.stdout.buffer.write(b'ok\\xc0\\xafx\\xed\\xa0\\x80y\\xe2\\x82')"})
    out = resp["stdout"]
    assert out.startswith("ok\ufffd") and "x" in out and "y" in out and out.endswith("\ufffd")
    assert "\ud800" not in out
    assert set(out) <= set("okxy\ufffd")


def test_truncated_inside_multibyte_char(rb):
    # the cap falls inside a 3-byte character: the response stays valid JSON
    resp = ok(rb, {"script": "import sys\nsys.stdout.write('ab' + '€' * 400)"},
              env={"RUNBOX_MAX_OUTPUT_BYTES": "1000"})
    out = resp["stdout"]
    assert resp["truncated"]["stdout"] is True
    head = "ab" + "€" * 332                       # 998 bytes; the cap cuts the next character
    assert out.startswith(head), out[-10:]
    assert out[len(head):] in ("", "\ufffd", "\ufffd\ufffd"), repr(out[len(head):])


def test_nul_and_control_bytes(rb):
    resp = ok(rb, {"script": "import sys\nsys.stdout.buffer.write(b'a\\x00b\\x01\\x1b[31mc\\x7f\\r\\n')"})
    assert resp["stdout"] == "a\x00b\x01\x1b[31mc\x7f\r\n"


def test_output_without_trailing_newline(rb):
    resp = ok(rb, {"script": "import sys\nsys.stdout.write('no newline')"})
    assert resp["stdout"] == "no newline"


@pytest.mark.parametrize("sig", ["abort", "kill"])
def test_output_before_crash_kept(rb, sig):
    kill = "os.abort()" if sig == "abort" else "os.kill(os.getpid(), 9)"
    resp = ran(rb, {"script": f"import os\nprint('kept')\n{kill}"}, status="killed",
               exit_code=134 if sig == "abort" else 137)
    assert resp["stdout"] == "kept\n"


def test_closed_stdout_then_timeout(rb):
    resp = ran(rb, {"script": "import os, time\nprint('x', flush=True)\nos.close(1)\nos.close(2)\ntime.sleep(60)",
                    "timeout_s": 1}, status="timeout", exit_code=124)
    assert resp["stdout"] == "x\n"
    assert rb.last_elapsed < 2.5


def test_stdout_huge_single_line_json_valid(rb):
    # quotes, backslashes and newlines in the output are escaped correctly
    payload = '"\\\n\t{}[]' * 1000
    resp = ok(rb, {"script": f"import sys\nsys.stdout.write({payload!r})"})
    assert resp["stdout"] == payload
    assert len(rb.last_stdout) < 5 * MiB


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_a_character_cut_by_the_cap_is_dropped_not_replaced(rb, char):
    # The cap falls inside the last character: its first bytes go, and the
    # text stays within the cap and free of a U+FFFD the program never wrote.
    cap = 1 << 20
    script = f"import sys\nsys.stdout.write('x' * {cap - 1} + {char!r})"
    resp = ok(rb, {"script": script})
    assert resp["truncated"]["stdout"] is True
    assert resp["stdout"] == "x" * (cap - 1)
