"""Warm templates in the Lambda loop (run/warm.h): the loop starts them
while it waits for its first event, and later invocations of a warm
instance start in them.  On Lambda itself (neither a pid namespace nor a
seccomp filter for the runs) warm is off unless RUNBOX_WARM=on; this
suite's runbox has every layer, so it is on by default."""
import time

import pytest

SCRIPTS = {"bare": "print(2 + 2)", "stack": "import pandas as pd\nprint(pd.Series([1, 3]).sum())"}


def run_until_warm(lam, script, deadline_s=120):
    """Invoke @script until an answer starts warm (the loop looks at its
    templates between invocations); returns the answers."""
    answers = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        r = lam.run({"script": script})
        answers.append(r)
        if r["start"] == "warm":
            return answers
        time.sleep(0.5)
    pytest.fail(f"no invocation started warm: {answers[-1]}")


@pytest.mark.parametrize("kind", ["bare", "stack"])
def test_invocations_of_a_warm_instance_start_warm(lam, kind):
    answers = run_until_warm(lam, SCRIPTS[kind])
    expected = "4\n"
    assert all(a["stdout"] == expected and a["exit_code"] == 0 for a in answers), answers
    assert all(a["start"] == "cold" for a in answers[:-1])
    assert '"event":"warm_ready"' in lam.logs()


def test_warm_off_starts_every_invocation_cold(lam_idle):
    lam_idle.start({"RUNBOX_WARM": "off"})
    for _ in range(3):
        assert lam_idle.run({"script": "print(1)"})["start"] == "cold"
        time.sleep(0.3)


def test_a_warm_invocation_keeps_nothing_for_the_next(lam):
    run_until_warm(lam, SCRIPTS["bare"])
    r = lam.run({"script": "import os\nopen('/tmp/left', 'w').write('x')\n"
                           "os.environ['LEFT'] = '1'\nprint(os.getpid())"})
    assert r["start"] == "warm"
    r2 = lam.run({"script": "import os\nprint(os.path.exists('/tmp/left'), 'LEFT' in os.environ)"})
    assert r2["start"] == "warm" and r2["stdout"] == "False False\n"
