"""What a user of the image meets first: the Lambda container stops on
`stop` (runbox is its PID 1), and `make image WHEELS=DIR` fails when a wheel
of DIR cannot be baked, and otherwise ends with the cache's summary."""

import json
import shutil
import subprocess
import sys
import time

import pytest

from conftest import IMAGE, REPO, engine

HELPERS = REPO / "tests/helpers"


@pytest.fixture
def api():
    sys.path.insert(0, str(HELPERS))
    try:
        from fake_lambda_api import FakeLambdaAPI
    finally:
        sys.path.remove(str(HELPERS))
    a = FakeLambdaAPI(host="127.0.0.1", port=0)
    a.start()
    yield a
    a.stop()


def test_the_lambda_container_stops_on_sigterm(container, api):
    ctr = container("lambda", opts=["--network", "host", "--read-only", "--tmpfs",
                                    "/tmp:rw,size=512m", "-e",
                                    f"AWS_LAMBDA_RUNTIME_API={api.address}"])
    kind, body, _ = api.wait_result(api.enqueue({"script": "print('up')"}), 120)
    assert kind == "response" and json.loads(body)["stdout"] == "up\n", ctr.logs()[-2000:]
    t0 = time.monotonic()
    # The engine's stop waits 10 s for SIGTERM to work before it kills.
    p = engine("stop", "-t", "10", ctr.name, timeout=60)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 < 8, "runbox ignored SIGTERM as the container's PID 1"
    p = engine("inspect", "--format", "{{.State.ExitCode}}", ctr.name)
    assert p.stdout.strip() == "0", p.stdout


def _wheel_dir(tmp_path, tags):
    sys.path.insert(0, str(REPO / "tests/deps"))
    try:
        import wheels as W
    finally:
        sys.path.remove(str(REPO / "tests/deps"))
    d = tmp_path / "wheels"
    d.mkdir()
    for i, tag in enumerate(tags):
        W.make_wheel(d, f"firsthour{i}", "1.0", tag=tag)
    return d


def _build(wheels, tag):
    return subprocess.run(["make", "-s", "-C", str(REPO), "image", f"WHEELS={wheels}",
                           f"IMAGE={tag}"],
                          capture_output=True, text=True, timeout=1800)


@pytest.mark.skipif(not shutil.which("make"), reason="no make")
def test_make_image_with_wheels_fails_on_a_skipped_wheel(tmp_path):
    tag = "localhost/runbox-first-hour:test"
    try:
        p = _build(_wheel_dir(tmp_path, ["py3-none-any", "cp311-cp311-win_amd64"]), tag)
        out = p.stdout + p.stderr
        assert p.returncode != 0, out[-3000:]
        assert "1 wheel was skipped (--strict)" in out, out[-3000:]
        shutil.rmtree(tmp_path / "wheels")
        p = _build(_wheel_dir(tmp_path, ["py3-none-any"]), tag)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out[-3000:]
        last = [ln for ln in p.stdout.splitlines() if ln.startswith("image: ")][-1]
        assert last.endswith(": 1 baked, 0 skipped"), last
    finally:
        engine("rmi", "-f", tag)
    assert IMAGE  # the suite's own image is left alone
