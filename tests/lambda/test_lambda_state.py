"""Client-kept state on Lambda: a round trip across invocations, and the
6 MB answer limit: a state that does not fit is said as "state_error",
never dropped in silence, and the answer still fits."""

import base64
import json

MiB = 1024 * 1024
LAMBDA_LIMIT = 6 * 1024 * 1024


def test_state_round_trip_across_invocations(lam):
    j = lam.run({"script": "open('kept.txt','w').write('across')", "return_state": True})
    assert j["exit_code"] == 0 and isinstance(j["state"], str), j
    j = lam.run({"script": "print(open('kept.txt').read())", "state": j["state"]})
    assert j["stdout"] == "across\n", j


def test_state_that_does_not_fit_6mb_is_said(lam):
    kind, body, _ = lam.invoke({"script": "import os\nopen('big','wb').write(os.urandom(5 * 1024 * 1024 - 4096))",
                                "return_state": True})
    assert kind == "response" and len(body) <= LAMBDA_LIMIT
    j = json.loads(body)
    assert j["exit_code"] == 0 and "state" not in j, list(j)
    assert j["state_error"]["code"] == "state_too_large"
    assert "answer limit" in j["state_error"]["error"]


def test_state_and_artifacts_share_the_6mb(lam):
    # A state of 3.5 MiB (output/ included) fits; its artifact beside it does not.
    script = ("import os\nopen('s.bin','wb').write(os.urandom(2 * 1024 * 1024))\n"
              "open('output/o.bin','wb').write(os.urandom(1536 * 1024))")
    kind, body, _ = lam.invoke({"script": script, "return_state": True})
    assert kind == "response" and len(body) <= LAMBDA_LIMIT
    j = json.loads(body)
    assert len(base64.b64decode(j["state"])) > 3 * MiB
    assert "o.bin" not in j["artifacts"]
    assert j["omitted_artifacts"] == [{"path": "o.bin", "size": 1536 * 1024,
                                       "reason": "response_too_large"}]


def test_a_state_refused_for_another_reason_says_that_reason(lam):
    # The answer limit lowers the state's cap; a refusal of a name is still said as itself.
    j = lam.run({"script": "open(b'bad\\xff','w').write('1')\nprint(1)", "return_state": True})
    assert j["exit_code"] == 0 and j["stdout"] == "1\n" and "state" not in j, j
    assert j["state_error"]["code"] == "state_path_not_allowed", j["state_error"]
    assert "'bad\ufffd'" in j["state_error"]["error"], j["state_error"]
    assert "answer limit" not in j["state_error"]["error"]
