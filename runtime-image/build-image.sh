#!/bin/sh
# `make image`: stage the build context and build runtime-image/Dockerfile.
#
#   runtime-image/build-image.sh TAG RUNBOX_BIN WHEEL_DIR [BASE]
#
# BAKE_FLAGS in the environment is passed to `runbox bake` in the build
# (make image WHEELS=DIR sets --strict: a skipped wheel fails the build).
# The build ends with the wheel cache's summary line.
#
# NPM_DIR in the environment: npm tarballs (and their package-lock.json) for
# the image's npm cache (runtime-image/fetch-npm.py makes it); NPM_PREINSTALL:
# the names `runbox bake --npm-preinstall` gets. Without NPM_DIR the image
# has no npm cache.
#
# Without BASE, a local Debian bookworm base is built with debootstrap and
# imported (runtime-image/base.sh, cached under build/image/), since these
# machines reach Debian's mirror but no container registry. With BASE (for
# example debian:bookworm-slim where a registry is reachable) the Dockerfile
# builds from it unchanged.
set -eu
tag=$1; runbox=$2; wheels=$3; base=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build/image
engine=$("$here/engine.sh")
limits=$("$here/engine.sh" --limits)

if [ -z "$base" ]; then
	base=localhost/runbox-base:bookworm
	"$here/base.sh" "$engine" "$base" "$build/base-bookworm.tar"
fi

# The context: only what the Dockerfile copies, so nothing else is sent to
# the engine (build/ holds hundreds of MB of third-party sources).
ctx=$build/context
rm -rf "$ctx"
mkdir -p "$ctx/wheels" "$ctx/npm"
cp "$runbox" "$ctx/runbox"
chmod 0755 "$ctx/runbox"
cp "$here/stack-packages.txt" "$here/matplotlib_font_cache.py" "$ctx/"
n=0
for w in "$wheels"/*.whl; do
	[ -e "$w" ] || continue
	cp "$w" "$ctx/wheels/"
	n=$((n + 1))
done
m=0
for t in "${NPM_DIR:-/nonexistent}"/*.tgz; do
	[ -e "$t" ] || continue
	cp "$t" "$ctx/npm/"
	m=$((m + 1))
done
[ ! -e "${NPM_DIR:-/nonexistent}/package-lock.json" ] || cp "$NPM_DIR/package-lock.json" "$ctx/npm/"
echo "image: context with $(basename "$runbox"), $n wheels from $wheels and $m npm tarballs"

# A runbox without `bake` (an old build): build without a cache, loudly,
# so the rest of the image can still be built and tested.
cache=bake
if "$runbox" bake 2>&1 | grep -q "unknown command 'bake'"; then
	cache=none
	echo "image: WARNING: $runbox has no 'bake' command; the image gets NO wheel cache" >&2
fi

# The RUN steps fetch from Debian's mirror. podman's default build network
# is a bridge that needs containernetworking-plugins and iptables NAT to
# work on the build machine; the host's network reaches the mirror wherever
# this machine's apt does, so podman builds use it. (Docker's default
# builder has working networking of its own.)
net=""
case "$engine" in podman*) net="--network host" ;; esac

start=$(date +%s)
old=$($engine image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
# shellcheck disable=SC2086
$engine build $limits $net --build-arg BASE="$base" --build-arg WHEEL_CACHE="$cache" \
	--build-arg BAKE_FLAGS="${BAKE_FLAGS:-}" --build-arg NPM_PREINSTALL="${NPM_PREINSTALL:-}" -f "$here/Dockerfile" -t "$tag" "$ctx"
new=$($engine image inspect --format '{{.Id}}' "$tag")
# The image this build replaced, unless something still uses it.
[ -z "$old" ] || [ "$old" = "$new" ] || $engine rmi "$old" >/dev/null 2>&1 || true
echo "image: built $tag ($($engine image inspect --format '{{.Size}}' "$tag") bytes) from $base in $(($(date +%s) - start)) s"
if [ "$cache" = bake ]; then
	# shellcheck disable=SC2086
	summary=$($engine run --rm $limits --entrypoint /usr/local/bin/runbox "$tag" \
		bake --list /opt/runbox/cache | tail -n 1)
	echo "image: wheel cache of $n wheels from $wheels: $summary"
fi
