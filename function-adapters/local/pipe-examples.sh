#!/bin/sh
# The pipe examples of README.md, run against a runbox binary (default: runbox
# on PATH).  Each prints the request and runbox's answer.
set -eu
RUNBOX=${1:-runbox}
export RUNBOX_LOG=off

show() { printf '$ %s\n' "$1"; printf '%s' "$1" | "$RUNBOX"; echo; }

show '{"script":"print(2+2)"}'
show '{"script":"import sys; print(sys.stdin.read().upper())","stdin":"hello"}'
show '{"language":"bash","script":"echo $((6*7)); ls input","context":{"a.txt":"x"}}'
show '{"script":"open(\"output/r.txt\",\"w\").write(\"done\")"}'
show '{"script":"import time; time.sleep(5)","timeout_s":1}'
show '{"script":"print(1)","files":{"../escape.py":"x"}}' || true
