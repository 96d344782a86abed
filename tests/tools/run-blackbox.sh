#!/bin/sh
# Run the black-box suite against each binary given, then print one summary
# line of passed and failed counts over all of them.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0; failed=0; skipped=0; status=0
for bin in "$@"; do
	echo "== black-box suite against $bin"
	out=$(mktemp)
	RUNBOX_BIN="$bin" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/blackbox" 2>&1 | tee "$out"
	rc=$?
	[ "$rc" -ne 0 ] && status=1
	line=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$out" | tail -1)
	p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
	f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
	e=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+' || echo 0)
	s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0})); skipped=$((skipped + ${s:-0}))
	rm -f "$out"
done
echo "black-box: $passed passed, $failed failed, $skipped skipped"
exit $status
