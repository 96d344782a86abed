#!/bin/sh
# Run the attack suite twice: with runbox as root, then as an unprivileged
# user (uid/gid 65534, ATTACKS_AS=nobody), and print one summary line:
#   attacks: N passed, N failed, N skipped
# RUNBOX_BIN selects the binary (default build/runbox); ATTACKS_UID the uid of
# the unprivileged pass (default 65534). Extra arguments go to pytest.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0; failed=0; skipped=0; status=0
for as in root nobody; do
	echo "== attack suite, runbox as $as"
	out=$(mktemp)
	ATTACKS_AS=$as /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/attacks" "$@" 2>&1 | tee "$out"
	line=$(grep -E '^=*.*[0-9]+ (passed|failed|error|skipped)' "$out" | tail -1)
	[ -n "$line" ] || status=1
	num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
	p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
	[ "$((f + e))" -ne 0 ] && status=1
	passed=$((passed + p)); failed=$((failed + f + e)); skipped=$((skipped + s))
	rm -f "$out"
done
echo "attacks: $passed passed, $failed failed, $skipped skipped"
exit $status
