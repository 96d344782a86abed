#!/bin/sh
# Print the container engine command line `make image` and the image tests
# use: docker when a docker engine answers, otherwise podman with runc (as
# root; crun is not what these machines run).
#
#   runtime-image/engine.sh          the engine, e.g. "podman --runtime runc"
#   runtime-image/engine.sh --limits the --ulimit options `run` and `build`
#                                    need: podman asks for more open files and
#                                    processes than this machine's hard
#                                    limits allow unless told
set -eu
if [ "${1:-}" = "--limits" ]; then
	# shellcheck disable=SC3045 # dash and bash both have ulimit -H
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
	echo "--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"
elif [ -n "${RUNBOX_ENGINE:-}" ]; then
	echo "$RUNBOX_ENGINE"
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	echo docker
elif command -v podman >/dev/null 2>&1; then
	echo "podman --runtime runc"
else
	echo "engine.sh: neither a docker engine nor podman (make image-deps installs podman)" >&2
	exit 1
fi
