#!/bin/sh
# Build the local Debian base of the runtime image when no registry is
# reachable: `debootstrap --variant=minbase bookworm` from the mirror this
# machine's apt already uses, trimmed like debian:bookworm-slim, cached as a
# tarball, and imported into the container engine under the given tag.
#
#   runtime-image/base.sh ENGINE TAG TARBALL
#
# ENGINE is the engine command line ("podman --runtime runc" or "docker").
# The mirror is the first .../debian URI of the host's apt sources (a mirror
# with another path: DEBIAN_MIRROR=URI, DEBIAN_SECURITY_MIRROR=URI).
# Each step is skipped when its result exists: the tarball is built once,
# and imported only when the engine does not already hold TAG.
set -eu
engine=$1; tag=$2; tarball=$3

# The first URI of the Debian archive (and of its security archive) in the
# host's apt sources, deb822 (.sources) or one-line (.list) format.
mirror_uri() { # $1 = suffix the URI path ends with: debian or debian-security
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}//p' |
		tr -s ' \t' '\n' | grep -E "^(https?|file)://.*/$1/?\$" | head -1 | sed 's:/$::'
}

make_tarball() {
	mirror=${DEBIAN_MIRROR:-$(mirror_uri debian)}
	security=${DEBIAN_SECURITY_MIRROR:-$(mirror_uri debian-security)}
	[ -n "$mirror" ] || { echo "base.sh: no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2; exit 1; }
	[ -n "$security" ] || security=http://deb.debian.org/debian-security
	root=$(mktemp -d "$(dirname "$tarball")/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	echo "base: debootstrap --variant=minbase bookworm from $mirror"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		{ tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
	rm -f "$root.log"
	# The same apt sources as debian:bookworm-slim (with security updates),
	# pointing at this mirror.
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# What the slim image leaves out: package lists, caches, logs, and the
	# documentation (with the same dpkg excludes, so later installs skip it).
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
	    "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log \
	    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	    "$root"/usr/share/locale/*
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# As in debian:bookworm-slim: no documentation, manual pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
	: >"$root/etc/hostname"
	tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	trap - EXIT
}

mkdir -p "$(dirname "$tarball")"
[ -s "$tarball" ] || make_tarball
if $engine image inspect "$tag" >/dev/null 2>&1; then
	echo "base: $tag already imported"
else
	echo "base: importing $tarball as $tag"
	$engine import --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >/dev/null
fi
