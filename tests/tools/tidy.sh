#!/bin/sh
# make tidy: clang-tidy over FILE... (.clang-tidy has the checks, and why
# some are off), JOBS at a time; fails on any finding.  The "N warnings
# generated." counts of what it suppresses in system headers are left out.
#   tests/tools/tidy.sh JOBS FILE... -- COMPILER-FLAGS...
set -u
jobs=$1; shift
files=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files="$files $1"; shift; done
[ $# -gt 0 ] && shift
TIDY_FLAGS="$*"
export TIDY_FLAGS
# shellcheck disable=SC2086 # one file name per word
printf '%s\n' $files | xargs -P"$jobs" -n4 sh -c '
	out=$(clang-tidy --quiet "$@" -- $TIDY_FLAGS 2>&1); status=$?
	printf "%s\n" "$out" | grep -v -e "^[0-9]* warnings\{0,1\} generated\.$" -e "^$"
	exit $status' tidy && exit 0
echo "make tidy: clang-tidy found something (above)" >&2
exit 1
