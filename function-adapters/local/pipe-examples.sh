#!/bin/sh
# The pipe examples of this folder's README, each printed with runbox's
# answer.  Runs from any directory, against the runbox given as $1 (a path,
# or a name on PATH), else runbox on PATH, else this repository's
# build/runbox.
#
#   function-adapters/local/pipe-examples.sh [RUNBOX]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
built=$here/../../build/runbox

if [ $# -gt 0 ]; then
	RUNBOX=$1
	case $RUNBOX in */*) ;; *) RUNBOX=$(command -v "$RUNBOX" || echo "$RUNBOX") ;; esac
elif command -v runbox >/dev/null 2>&1; then
	RUNBOX=$(command -v runbox)
else
	RUNBOX=$built
fi
if [ ! -x "$RUNBOX" ] || [ -d "$RUNBOX" ]; then
	echo "pipe-examples.sh: no runbox at '$RUNBOX': give its path, put it on PATH" \
		"(make install) or build this repository's (make)" >&2
	exit 1
fi
export RUNBOX_LOG=off

# A refusal (exit 2) is an example too: its answer is shown, the script goes on.
show() {
	printf '$ %s\n' "$1"
	printf '%s' "$1" | "$RUNBOX" || [ $? -eq 2 ]
	echo
}

show '{"script":"print(2+2)"}'
show '{"script":"import sys; print(sys.stdin.read().upper())","stdin":"hello"}'
show '{"language":"bash","script":"echo $((6*7)); ls input","context":{"a.txt":"x"}}'
show '{"script":"open(\"output/r.txt\",\"w\").write(\"done\")"}'
show '{"script":"import time; time.sleep(5)","timeout_s":1}'
show '{"script":"print(1)","files":{"../escape.py":"x"}}'
