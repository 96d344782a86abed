#!/bin/sh
# make test's black-box half: every pytest suite against the static build and
# the ASan build, then one closing line "N passed, N failed, N skipped" over
# all of them.  A suite that prints no pytest summary counts as failed.
#
# The suites run in two lanes side by side (SUITE_LANES=1 runs the second
# lane after the first); in a lane, one suite after the other.  Each suite's
# output is kept until it ends and then printed whole, with its time.
#
# The lanes may run side by side because they share no state a test looks at:
#   * root's lane runs programs as per-run uids, which the uid-slot locks of
#     the state directory hand out to concurrent runbox processes, or as a
#     uid of the session alone (attacks, deps: RUNBOX_UID at random); its
#     one server started as an unprivileged user (serve's `user=nobody`
#     case) runs as SERVE_UID=65533, not 65534;
#   * every suite run as 65534 is in the other lane, one at a time: programs
#     of one uid count against one RLIMIT_NPROC, a kill(-1) reaches them
#     all, and the platform rehearsal waits for that uid's zombies; serve as
#     root runs there too, for its `user=nobody` case, and a few root suites
#     that use no unprivileged uid, for the balance of the lanes;
#   * serve servers take a sandbox uid base of their own session
#     (RUNBOX_UID_BASE), and serve, lambda, mcp and attacks run a private
#     copy of the binary, so that a scan for "processes of this binary" sees
#     only its own suite's;
#   * the served passes (RUNBOX_VIA=serve: each request to a long-lived
#     `runbox serve` with warm templates) go in the lane of the uid they run
#     runbox as, like their stdin passes: black-box and attacks as root in
#     root's lane (the server takes run uids from the same slot locks, or
#     the attack session's own uid), attacks as nobody and the platform
#     rehearsal (runbox as 65534) in the other.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
static=$1; asan=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM

count() { # $1 = log; prints "P F S" from its pytest summary (F=1 without one)
	line=$(grep -E '^=*.*[0-9]+ (passed|failed|error|skipped)' "$1" | tail -1)
	num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
	p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
	[ -n "$line" ] || f=1
	echo "$p $((f + e)) $s"
}

suite() { # $1 = label, $2 = binary, $3 = suite dir, rest = env assignments
	label=$1; bin=$2; dir=$3; shift 3
	echo "$label" >>"$out/started"
	log=$(mktemp "$out/suite.XXXXXX")
	t0=$(date +%s)
	env RUNBOX_BIN="$bin" "$@" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$dir" \
		>"$log" 2>&1
	t=$(($(date +%s) - t0))
	set -- $(count "$log")
	echo "$*" >>"$out/counts"
	# One suite's report at a time, whole.
	{
		flock 9
		echo "== $label ($bin, $t s)"
		cat "$log"
		echo "$label: $1 passed, $2 failed, $3 skipped"
	} 9>>"$out/print.lock"
}

lane_root() {
	suite "black-box (static)" "$static" "$root/tests/blackbox"
	suite "black-box (asan)" "$asan" "$root/tests/blackbox"
	suite "workloads" "$static" "$root/tests/workloads"
	suite "javascript as root" "$static" "$root/tests/javascript" JS_AS=root
	suite "javascript (asan)" "$asan" "$root/tests/javascript" JS_AS=root
	suite "attacks as root" "$static" "$root/tests/attacks" ATTACKS_AS=root
	suite "black-box served" "$static" "$root/tests/blackbox" RUNBOX_VIA=serve
	suite "attacks served, as root" "$static" "$root/tests/attacks" ATTACKS_AS=root \
		RUNBOX_VIA=serve
	suite "dependencies as root" "$static" "$root/tests/deps" DEPS_AS=root
	suite "dependencies (asan)" "$asan" "$root/tests/deps" DEPS_AS=root
	# Workers are forked by a single-threaded spawner (worker.h), so the ASan
	# build runs every test, the concurrent ones included.
	suite "serve (asan)" "$asan" "$root/tests/serve" SERVE_AS=root SERVE_UID=65533
	# Every shell example of every README, as pasted (tests/README.md).
	suite "readme examples" "$static" "$root/tests/docs"
}

lane_nobody() {
	suite "platform rehearsal" "$static" "$root/tests/platform"
	suite "attacks as an unprivileged user" "$static" "$root/tests/attacks" ATTACKS_AS=nobody
	suite "attacks served, as an unprivileged user" "$static" "$root/tests/attacks" \
		ATTACKS_AS=nobody RUNBOX_VIA=serve
	suite "platform rehearsal served" "$static" "$root/tests/platform" RUNBOX_VIA=serve
	suite "javascript as an unprivileged user" "$static" "$root/tests/javascript" JS_AS=nobody
	suite "javascript (asan) as an unprivileged user" "$asan" "$root/tests/javascript" JS_AS=nobody
	suite "dependencies as an unprivileged user" "$static" "$root/tests/deps" DEPS_AS=nobody
	suite "serve as an unprivileged user" "$static" "$root/tests/serve" SERVE_AS=nobody
	suite "serve as root" "$static" "$root/tests/serve" SERVE_AS=root
	suite "lambda as an unprivileged user" "$static" "$root/tests/lambda" LAMBDA_AS=nobody
	suite "mcp as an unprivileged user" "$static" "$root/tests/mcp" MCP_AS=nobody
	# Root's, here for the balance of the lanes.
	suite "lambda as root" "$static" "$root/tests/lambda" LAMBDA_AS=root
	suite "mcp" "$static" "$root/tests/mcp" MCP_AS=root
	suite "mcp (asan)" "$asan" "$root/tests/mcp" MCP_AS=root
}

# The outer-seccomp launcher of the platform rehearsal (and one attack case).
gcc -O2 -Wall -Wextra -o "$root/build/platform_sim" "$root/tests/helpers/platform_sim.c" -lseccomp
: >"$out/started"
: >"$out/counts"
if [ "${SUITE_LANES:-2}" = 1 ]; then
	lane_root
	lane_nobody
else
	lane_root &
	a=$!
	lane_nobody &
	b=$!
	wait "$a" "$b"
fi
# A suite that started and left no count (its lane died) counts as failed.
lost=$(($(wc -l <"$out/started") - $(wc -l <"$out/counts")))
[ "$lost" -eq 0 ] || echo "$lost suite(s) ended without a report" >&2
awk -v lost="$lost" '{ p += $1; f += $2; s += $3 }
	END { printf "%d passed, %d failed, %d skipped\n", p, f + lost, s; exit f + lost > 0 }' \
	"$out/counts"
