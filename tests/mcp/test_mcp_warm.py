"""Warm templates behind `runbox mcp` (run/warm.h): the server starts them
while the client says hello, and tool calls start in them once ready."""
import time


def test_tool_calls_start_warm_once_a_template_is_ready(mcp):
    mcp.initialize()
    end, starts = time.monotonic() + 120, []
    while time.monotonic() < end:
        r = mcp.call("run_python", {"code": "import pandas as pd\nprint(pd.Series([1, 3]).sum())"})
        sc = r["structuredContent"]
        assert sc["stdout"] == "4\n", sc
        starts.append(sc["start"])
        if sc["start"] == "warm":
            break
        time.sleep(0.5)
    assert starts[-1] == "warm", starts
    assert starts[0] == "cold" or len(starts) == 1
