#!/bin/sh
# The Node.js packages of the tests, from their lock files: `npm ci` in each
# folder given (tests/mcp/client: the official MCP TypeScript SDK), only
# when its node_modules is missing or older than its lock file, so a second
# run is instant.  Node.js and npm come from the machine when it has them
# (Node 18 or later), else from Debian's nodejs and npm packages.
set -eu
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "node-deps: installing Debian's nodejs and npm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || true
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "node-deps: Node.js 18 or later is needed, $(node --version) is installed" >&2
	exit 1
fi
for dir in "$@"; do
	stamp=$dir/node_modules/.package-lock.json
	if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
		continue
	fi
	echo "node-deps: npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
done
