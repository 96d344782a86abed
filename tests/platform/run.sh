#!/bin/sh
# Platform rehearsal: build build/platform_sim, run tests/platform (runbox as
# uid 65534, plain / Azure-like / Lambda-like), and print one summary line:
#   platform: N passed, N failed, N skipped
# RUNBOX_BIN selects the binary (default build/runbox). Extra arguments go to pytest.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/build"
if ! gcc -O2 -Wall -Wextra -o "$root/build/platform_sim" "$root/tests/helpers/platform_sim.c" -lseccomp; then
	echo "platform: 0 passed, 1 failed, 0 skipped (platform_sim did not build; needs libseccomp-dev)"
	exit 1
fi
[ -x "${RUNBOX_BIN:-$root/build/runbox}" ] || make -C "$root" >/dev/null
out=$(mktemp)
/usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/platform" "$@" 2>&1 | tee "$out"
line=$(grep -E '^=*.*[0-9]+ (passed|failed|error|skipped)' "$out" | tail -1)
rm -f "$out"
num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
failed=$((f + e))
echo "platform: $p passed, $failed failed, $s skipped"
[ -n "$line" ] && [ "$failed" -eq 0 ]
