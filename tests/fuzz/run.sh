#!/bin/sh
# Build the libFuzzer targets of tests/fuzz/ into build/fuzz/ and run each for
# a bounded time.  Each target links only the pure pkg/ modules it needs, so
# no libseccomp, libarchive or libcurl is involved.
#
#   FUZZ_SECONDS   seconds per target (default 60; 0 replays regressions and seeds only)
#   FUZZ_TARGETS   space-separated subset (default: request path requirement
#                  wheelmeta lambda_event mcp mcp_http simpleindex npmspec)
#   CC             a clang with libFuzzer (default: clang)
#
# Each target first replays tests/fuzz/regressions/<target>-*.bin, then fuzzes
# build/fuzz/corpus-<target>, a copy of the committed seeds in
# tests/fuzz/corpus/<target>/ that keeps what earlier runs found (delete it to
# start over); the committed corpus is never written.  A crash, leak, timeout
# or broken invariant fails the run and names the input that caused it.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/build/fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-request path requirement wheelmeta lambda_event mcp mcp_http simpleindex npmspec}
CC=${CC:-clang}
case "$CC" in *clang*) ;; *) CC=clang ;; esac

CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter -I$ROOT/pkg"

# The pure modules each target needs, and its extra libraries.
sources() {
	case "$1" in
	request) echo "contract/request.c base/jsonscan.c contract/path.c base/b64.c base/utf8.c contract/config.c base/err.c" ;;
	path) echo "contract/path.c base/utf8.c" ;;
	requirement) echo "deps/requirement.c base/err.c" ;;
	wheelmeta) echo "deps/wheelmeta.c deps/wheelname.c deps/requirement.c base/err.c" ;;
	lambda_event) echo "api/lambda_event.c contract/response.c contract/artifact.c base/prefault.c base/b64.c base/utf8.c base/err.c" ;;
	mcp) echo "api/mcp.c api/mcp_content.c base/jsonscan.c base/b64.c base/utf8.c base/err.c" ;;
	mcp_http) echo "api/mcp_http.c api/route.c api/mcp.c api/mcp_content.c contract/response.c contract/artifact.c base/prefault.c base/jsonscan.c base/b64.c base/utf8.c base/err.c" ;;
	simpleindex) echo "deps/simpleindex.c deps/url.c base/err.c" ;;
	npmspec) echo "deps/npmresolve.c deps/semver.c deps/resolve.c deps/requirement.c base/err.c" ;;
	esac
}
libs() {
	case "$1" in
	request | lambda_event | mcp | mcp_http | simpleindex) echo "-lcjson -lm" ;;
	*) echo "" ;;
	esac
}
max_len() {
	case "$1" in
	request) echo 65536 ;;
	path) echo 2048 ;;
	requirement) echo 512 ;;
	wheelmeta) echo 8192 ;;
	lambda_event) echo 16384 ;;
	mcp | mcp_http) echo 8192 ;;
	simpleindex) echo 16384 ;;
	npmspec) echo 1024 ;;
	esac
}

build() {
	t=$1
	src="$ROOT/tests/fuzz/fuzz_$t.c"
	for f in $(sources "$t"); do src="$src $ROOT/pkg/$f"; done
	echo "== build fuzz_$t"
	# shellcheck disable=SC2086,SC2046 # word lists on purpose
	$CC $CFLAGS -o "$OUT/fuzz_$t" $src $(libs "$t")
}

# Replay the saved regressions of @1 (libFuzzer runs the files and exits).
replay() {
	t=$1
	set -- "$ROOT"/tests/fuzz/regressions/"$t"-*.bin
	[ -e "$1" ] || return 0
	echo "== replay $# regression(s) of fuzz_$t"
	"$OUT/fuzz_$t" -runs=1 "$@" > "$OUT/replay-$t.log" 2>&1 && return 0
	grep -E 'invariant broken|ERROR|SUMMARY|Running:|Executed' "$OUT/replay-$t.log" | tail -n 20
	echo "fuzz_$t: a saved regression still fails (log: $OUT/replay-$t.log)"
	return 1
}

fuzz() {
	t=$1
	corpus="$OUT/corpus-$t"
	art="$OUT/artifacts-$t/"
	dict=""
	mkdir -p "$corpus" "$art"
	cp "$ROOT"/tests/fuzz/corpus/"$t"/* "$corpus"/
	[ -f "$ROOT/tests/fuzz/$t.dict" ] && dict="-dict=$ROOT/tests/fuzz/$t.dict"
	echo "== fuzz_$t for ${SECONDS_EACH}s"
	# shellcheck disable=SC2086
	"$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art" $dict "$corpus" > "$OUT/fuzz-$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz-$t.log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$OUT/fuzz-$t.log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	SUMMARY="$SUMMARY $t=${execs:-?}execs/cov${cov:-?}"
	if [ "$rc" -ne 0 ]; then
		grep -E -A 30 'invariant broken|==ERROR|runtime error|Test unit written' \
			"$OUT/fuzz-$t.log" | head -n 60
		sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$OUT/fuzz-$t.log" |
			while IFS= read -r f; do
				echo "fuzz_$t: crash input $f"
				od -An -tx1 -v "$f" | head -n 8
			done
		echo "fuzz_$t: FAILED (exit $rc, log: $OUT/fuzz-$t.log)"
		return 1
	fi
	echo "fuzz_$t: ok, ${execs:-?} executions, $(find "$corpus" -type f | wc -l) corpus files"
	return 0
}

mkdir -p "$OUT"
SUMMARY=""
failed=""
for t in $TARGETS; do
	if [ -z "$(sources "$t")" ]; then
		echo "unknown fuzz target '$t'" >&2
		exit 2
	fi
	if ! build "$t"; then
		failed="$failed $t(build)"
		continue
	fi
	replay "$t" || failed="$failed $t(regression)"
	if [ "$SECONDS_EACH" = 0 ]; then
		# Replay only (make test): the seed corpus once, no new inputs.
		"$OUT/fuzz_$t" -runs=0 "$ROOT"/tests/fuzz/corpus/"$t" > "$OUT/seeds-$t.log" 2>&1 ||
			failed="$failed $t(seeds)"
		continue
	fi
	fuzz "$t" || failed="$failed $t"
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed; ran ${SECONDS_EACH}s each:$SUMMARY"
	exit 1
fi
echo "fuzz: ok, ${SECONDS_EACH}s each:$SUMMARY"
