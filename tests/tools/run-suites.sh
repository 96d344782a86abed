#!/bin/sh
# make test's black-box half: every pytest suite against the static build and
# the ASan build, then one closing line "N passed, N failed, N skipped" over
# all of them.  A suite that prints no pytest summary counts as failed.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
static=$1; asan=$2
total_p=0; total_f=0; total_s=0; status=0
log=$(mktemp)

count() { # $1 = label; reads the pytest output in $log
	line=$(grep -E '^=*.*[0-9]+ (passed|failed|error|skipped)' "$log" | tail -1)
	num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
	p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
	[ -n "$line" ] || f=1
	f=$((f + e))
	echo "$1: $p passed, $f failed, $s skipped"
	total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
	[ "$f" -eq 0 ] || status=1
}

suite() { # $1 = label, $2 = binary, $3 = suite dir, rest = env assignments
	label=$1; bin=$2; dir=$3; shift 3
	echo "== $label ($bin)"
	env RUNBOX_BIN="$bin" "$@" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$dir" 2>&1 |
		tee "$log"
	count "$label"
}

# The outer-seccomp launcher of the platform rehearsal (and one attack case).
gcc -O2 -Wall -Wextra -o "$root/build/platform_sim" "$root/tests/helpers/platform_sim.c" -lseccomp
suite "black-box (static)" "$static" "$root/tests/blackbox"
suite "black-box (asan)" "$asan" "$root/tests/blackbox"
suite "workloads" "$static" "$root/tests/workloads"
suite "attacks as root" "$static" "$root/tests/attacks" ATTACKS_AS=root
suite "attacks as an unprivileged user" "$static" "$root/tests/attacks" ATTACKS_AS=nobody
suite "platform rehearsal" "$static" "$root/tests/platform"
suite "dependencies as root" "$static" "$root/tests/deps" DEPS_AS=root
suite "dependencies as an unprivileged user" "$static" "$root/tests/deps" DEPS_AS=nobody
suite "dependencies (asan)" "$asan" "$root/tests/deps" DEPS_AS=root
suite "serve as root" "$static" "$root/tests/serve" SERVE_AS=root
suite "serve as an unprivileged user" "$static" "$root/tests/serve" SERVE_AS=nobody
# Workers are forked by a single-threaded spawner (worker.h), so the ASan
# build runs every test, the concurrent ones included.
suite "serve (asan)" "$asan" "$root/tests/serve" SERVE_AS=root
suite "lambda as root" "$static" "$root/tests/lambda" LAMBDA_AS=root
suite "lambda as an unprivileged user" "$static" "$root/tests/lambda" LAMBDA_AS=nobody
suite "mcp" "$static" "$root/tests/mcp" MCP_AS=root
suite "mcp as an unprivileged user" "$static" "$root/tests/mcp" MCP_AS=nobody
suite "mcp (asan)" "$asan" "$root/tests/mcp" MCP_AS=root
# Every shell example of every README, as pasted (tests/README.md).
suite "readme examples" "$static" "$root/tests/docs"
rm -f "$log"
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $status
