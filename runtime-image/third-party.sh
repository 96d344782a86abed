#!/usr/bin/env bash
# runtime-image/third-party.sh OUTDIR
#
# Builds/collects the five third-party libraries runbox links statically
# (libseccomp, libarchive, cJSON, libcurl, libmicrohttpd) into OUTDIR:
#   OUTDIR/include/   cjson/cJSON.h, curl/*.h, archive.h, archive_entry.h, seccomp.h,
#                     microhttpd.h
#   OUTDIR/lib/*.a    libcurl.a libcjson.a libarchive.a libseccomp.a libmicrohttpd.a
#   OUTDIR/ldlibs     one line: exact linker args for a fully static link
#   OUTDIR/logs/*.log build noise
#
# Where each library comes from, and why:
#   libseccomp  Debian's libseccomp.a (libseccomp-dev); it has no dependencies.
#   libarchive  built from Debian's source package. Debian's libarchive.a is built
#               with nettle, acl, lzma, zstd, lz4, bz2, xml2 (and libxml2.a in turn
#               drags in ICU); several of those have no .a in bookworm. runbox only
#               needs the zip reader + deflate, so we build it with zlib only.
#   cJSON       built from Debian's source package: libcjson-dev ships no .a.
#   libcurl     built from Debian's source package: Debian's libcurl.a needs
#               GSSAPI, LDAP, libpsl, nghttp2... which cannot be linked statically.
#               We build an HTTP and HTTPS libcurl with the threaded resolver and
#               OpenSSL, linked from Debian's own libssl.a/libcrypto.a (libssl-dev).
#               Why OpenSSL: it is the TLS library of the ASan build (Debian's
#               libcurl4-openssl-dev), so both builds verify certificates with the
#               same code; its archives depend on libc alone (GnuTLS needs
#               p11-kit, which has no static archive in bookworm; mbedTLS 2.28 has
#               no TLS 1.3); it adds about 4.7 MiB to the static binary
#               (3.6 MiB of code).
#   libmicrohttpd built from Debian's source package: Debian's libmicrohttpd.a
#               is built with HTTPS, which drags in gnutls (and nettle, p11-kit,
#               ...). `runbox serve` speaks plain HTTP behind a platform's TLS
#               front end, so we build it without TLS, auth, the post processor
#               or connection upgrades.
# Sources come from Debian (bookworm + bookworm-security) via `apt-get source`
# with a PRIVATE apt configuration under OUTDIR/apt; /etc/apt is never touched.
# Nothing third-party lands in the repository.
#
# Idempotent and cached: each library has a stamp in OUTDIR/stamps holding the
# "recipe" it was built with; when every stamp matches, the script does nothing.
# Bump RECIPE_* (or delete OUTDIR) to force a rebuild.
set -euo pipefail

die() { echo "third-party.sh: ERROR: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1" || die "cannot create $1"
OUT=$(cd "$1" && pwd -P)      # absolute: ldlibs must work from any cwd
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

STAMPS=$OUT/stamps
LOGS=$OUT/logs
SRC=$OUT/src
SYSLIB=/usr/lib/x86_64-linux-gnu

# Flags for everything we compile ourselves (hardened like Debian's defaults;
# -fPIC so the archives also work if runbox is ever linked as static-pie).
CFLAGS_3P="-O2 -fPIC -fstack-protector-strong"
CPPFLAGS_3P="-D_FORTIFY_SOURCE=2"

# Recipe keys: what a stamp must contain for its library to count as built.
# Change a key whenever its build recipe changes.
RECIPE_SECCOMP="seccomp:debian-system-a:v1"
RECIPE_CJSON="cjson:debian-src:v1:$CFLAGS_3P $CPPFLAGS_3P"
RECIPE_ARCHIVE="libarchive:debian-src:zlib-only:v1:$CFLAGS_3P $CPPFLAGS_3P"
RECIPE_CURL="curl:debian-src:http-https-openssl:v2:$CFLAGS_3P $CPPFLAGS_3P"
RECIPE_MHD="libmicrohttpd:debian-src:no-tls:v1:$CFLAGS_3P $CPPFLAGS_3P"
# ldlibs is rewritten whenever any library was (re)built; its stamp is the
# concatenation of the others plus OUTDIR (ldlibs holds its absolute path).
RECIPE_LDLIBS="ldlibs:v2:$OUT|$RECIPE_SECCOMP|$RECIPE_CJSON|$RECIPE_ARCHIVE|$RECIPE_CURL|$RECIPE_MHD"

stamp_ok()  { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" > "$STAMPS/$1"; }

# ---- fast path: everything cached -> no work at all (well under a second) ----
if stamp_ok seccomp "$RECIPE_SECCOMP" && stamp_ok cjson "$RECIPE_CJSON" &&
   stamp_ok libarchive "$RECIPE_ARCHIVE" && stamp_ok curl "$RECIPE_CURL" &&
   stamp_ok libmicrohttpd "$RECIPE_MHD" && stamp_ok ldlibs "$RECIPE_LDLIBS" && [ -s "$OUT/ldlibs" ]; then
    for l in libseccomp libarchive cjson libcurl libmicrohttpd; do echo "3p: $l: cached"; done
    # The Makefile's rule has ldlibs depend on this script: if the script was
    # edited without changing any recipe, mark ldlibs current so make settles.
    [ "$OUT/ldlibs" -nt "${BASH_SOURCE[0]}" ] || touch "$OUT/ldlibs"
    exit 0
fi

mkdir -p "$STAMPS" "$LOGS" "$SRC" "$OUT/include" "$OUT/lib"

# ---- preflight: fail loudly, naming the Debian package, if a tool is missing ----
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (install Debian package '$2'; see $HERE/build-packages.txt)"; }
need_file() { [ -e "$1" ] || die "'$1' not found (install Debian package '$2'; see $HERE/build-packages.txt)"; }
need_cmd gcc gcc
need_cmd ar binutils
need_cmd make make
need_cmd apt-get apt
need_cmd dpkg-source dpkg-dev
need_cmd patch patch
need_cmd autoreconf autoconf
need_cmd automake automake
need_cmd libtoolize libtool
need_cmd pkg-config pkgconf
need_file /usr/include/zlib.h zlib1g-dev
need_file "$SYSLIB/libz.a" zlib1g-dev
need_file /usr/include/seccomp.h libseccomp-dev
need_file "$SYSLIB/libseccomp.a" libseccomp-dev
need_file "$SYSLIB/libc.a" libc6-dev
need_file "$SYSLIB/libssl.a" libssl-dev
need_file "$SYSLIB/libcrypto.a" libssl-dev

# Run a build step with its output in a log; on failure show the log's tail.
run_logged() {  # LOGNAME CMD...
    local log=$LOGS/$1.log; shift
    if ! "$@" >>"$log" 2>&1; then
        echo "third-party.sh: ERROR: step failed: $*" >&2
        echo "---- last 40 lines of $log ----" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
}

# ---- private apt configuration (never /etc/apt) ----
# Own sources.list (deb-src only), own lists/cache/state dirs; the Debian
# archive keyring verifies the Release files as usual.
APTDIR=$OUT/apt
APT_OPTS=(
    -o "Dir::Etc::sourcelist=$APTDIR/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::Etc::preferences=$APTDIR/preferences"
    -o "Dir::Etc::preferencesparts=$APTDIR/preferences.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::State::extended_states=$APTDIR/extended_states"
    -o "Dir::Cache=$APTDIR/cache"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"   # _apt cannot write into our private dirs
    -o "Debug::NoLocking=1"        # don't take the system apt lock for a private cache
    -q
)
APT_UPDATED=0
apt_private_update() {
    [ "$APT_UPDATED" = 1 ] && return 0
    mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/preferences.d"
    cat > "$APTDIR/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
    need_file /usr/share/keyrings/debian-archive-keyring.gpg debian-archive-keyring
    run_logged apt apt-get "${APT_OPTS[@]}" update
    APT_UPDATED=1
}

# Fetch + unpack Debian source package $1 into $SRC/$1 (with Debian's patches,
# i.e. the security fixes, applied by dpkg-source). Prints the unpacked dir.
fetch_source() {  # PKG
    local pkg=$1 dl=$SRC/$1.dl
    apt_private_update
    rm -rf "${dl:?}" "${SRC:?}/${pkg:?}"; mkdir -p "$dl"
    (cd "$dl" && run_logged "$pkg" apt-get "${APT_OPTS[@]}" source --download-only "$pkg")
    local dsc; dsc=$(find "$dl" -maxdepth 1 -name "*.dsc" | head -n1)
    [ -n "$dsc" ] || die "apt-get source $pkg produced no .dsc (see $LOGS/$pkg.log)"
    run_logged "$pkg" dpkg-source -x "$dsc" "$SRC/$pkg"
    echo "source: $(basename "$dsc")" >>"$LOGS/$pkg.log"
}
dsc_version() { basename "$(find "$SRC/$1.dl" -maxdepth 1 -name '*.dsc' | head -n1)" .dsc | sed 's/^[^_]*_//'; }

# ============================ libseccomp ============================
# Debian's archive is self-contained: copy it (and its headers) so OUTDIR is
# the single place runbox links against.
if stamp_ok seccomp "$RECIPE_SECCOMP"; then
    echo "3p: libseccomp: cached"
else
    cp "$SYSLIB/libseccomp.a" "$OUT/lib/"
    cp /usr/include/seccomp.h "$OUT/include/"
    [ -f /usr/include/seccomp-syscalls.h ] && cp /usr/include/seccomp-syscalls.h "$OUT/include/"
    stamp_set seccomp "$RECIPE_SECCOMP"
    echo "3p: libseccomp: $(dpkg-query -W -f='${Version}' libseccomp-dev 2>/dev/null || echo '?') (Debian libseccomp.a)"
fi

# ============================== cJSON ===============================
# One translation unit; no build system needed.
if stamp_ok cjson "$RECIPE_CJSON"; then
    echo "3p: cjson: cached"
else
    : >"$LOGS/cjson.log"
    fetch_source cjson
    d=$SRC/cjson
    # shellcheck disable=SC2086 # flag lists are meant to split
    run_logged cjson gcc $CFLAGS_3P $CPPFLAGS_3P -std=c89 -Wall -c "$d/cJSON.c" -o "$d/cJSON.o"
    rm -f "$OUT/lib/libcjson.a"
    run_logged cjson ar rcs "$OUT/lib/libcjson.a" "$d/cJSON.o"
    mkdir -p "$OUT/include/cjson"
    cp "$d/cJSON.h" "$OUT/include/cjson/cJSON.h"
    stamp_set cjson "$RECIPE_CJSON"
    echo "3p: cjson: $(dsc_version cjson) (built from Debian source)"
fi

# ============================ libarchive ============================
# Minimal: zlib only (zip/deflate); no crypto, xml, acl, xattr, iconv or the
# other compressors, so nothing beyond -lz is needed at link time. The
# Debian patches touch configure.ac/Makefile.am, hence autoreconf.
build_libarchive() {
    : >"$LOGS/libarchive.log"
    fetch_source libarchive
    local d=$SRC/libarchive
    (cd "$d" && run_logged libarchive autoreconf -fi)
    (cd "$d" && run_logged libarchive ./configure --prefix="$OUT" --libdir="$OUT/lib" \
        --disable-shared --enable-static --with-pic --disable-dependency-tracking \
        --disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-rpath \
        --with-zlib --without-bz2lib --without-libb2 --without-iconv --without-lz4 \
        --without-zstd --without-lzma --without-lzo2 --without-cng --without-mbedtls \
        --without-nettle --without-openssl --without-xml2 --without-expat \
        --disable-acl --disable-xattr \
        CFLAGS="$CFLAGS_3P" CPPFLAGS="$CPPFLAGS_3P")
    # Only the library (the test suite and tools are large and unneeded).
    run_logged libarchive make -C "$d" -j2 libarchive.la
    run_logged libarchive make -C "$d" install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA
    stamp_set libarchive "$RECIPE_ARCHIVE"
    echo "3p: libarchive: $(dsc_version libarchive) (built from Debian source, zip+zlib only)"
}

# ============================== libcurl =============================
# HTTP and HTTPS only, threaded resolver (curl's default on Linux with
# pthreads), zlib for Content-Encoding, OpenSSL from Debian's static archives.
# No CA bundle or path is compiled in: runbox names the bundle on every
# transfer (CURLOPT_CAINFO).  OpenSSL's configuration file is not loaded (it
# could name engines, which a static binary cannot dlopen). Debian's source has two "flavour"
# patches (gnutls, nss) at the end of its series that rename the library;
# Debian's own rules pop them for the plain build, and so do we.
build_curl() {
    : >"$LOGS/curl.log"
    fetch_source curl
    local d=$SRC/curl
    for p in 99_nss.patch 90_gnutls.patch; do
        [ -f "$d/debian/patches/$p" ] || die "expected Debian patch $p not found in curl source"
        (cd "$d" && run_logged curl patch -R -p1 -i "debian/patches/$p")
    done
    (cd "$d" && run_logged curl autoreconf -fi)
    (cd "$d" && run_logged curl ./configure --prefix="$OUT" --libdir="$OUT/lib" \
        --disable-shared --enable-static --with-pic --disable-dependency-tracking \
        --enable-threaded-resolver --disable-ares \
        --with-openssl --disable-openssl-auto-load-config \
        --without-ca-bundle --without-ca-path \
        --without-libpsl --without-brotli --without-zstd --without-libidn2 \
        --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-quiche \
        --without-msh3 --without-hyper --without-librtmp --without-libssh2 \
        --without-libssh --without-wolfssh --without-gssapi --without-libgsasl \
        --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
        --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
        --disable-mqtt --disable-smb --disable-ftp --disable-file --disable-ntlm \
        --disable-ntlm-wb --disable-alt-svc --disable-hsts --disable-manual \
        --disable-netrc --with-zlib \
        CFLAGS="$CFLAGS_3P" CPPFLAGS="$CPPFLAGS_3P")
    grep -q 'unrecognized options' "$LOGS/curl.log" &&
        echo "3p: libcurl: note: configure reported unrecognized options (see $LOGS/curl.log)" >&2
    # Only lib/ and include/: skip the curl tool, docs and tests.
    run_logged curl make -C "$d/lib" -j2
    run_logged curl make -C "$d/lib" install
    run_logged curl make -C "$d/include" install
    run_logged curl make -C "$d" install-pkgconfigDATA
    stamp_set curl "$RECIPE_CURL"
    echo "3p: libcurl: $(dsc_version curl) (built from Debian source, HTTP and HTTPS with OpenSSL)"
}

# ========================== libmicrohttpd ===========================
# Plain HTTP/1.1 only: no HTTPS (gnutls), no digest/basic auth, no post
# processor, no upgrade (websockets); runbox does its own bearer check.
# Internal threads with epoll stay: serve uses them.
build_mhd() {
    : >"$LOGS/libmicrohttpd.log"
    fetch_source libmicrohttpd
    local d=$SRC/libmicrohttpd
    # Debian's only patch touches C sources: the shipped configure stands
    # (autoreconf would need autopoint from gettext).
    (cd "$d" && run_logged libmicrohttpd ./configure --prefix="$OUT" --libdir="$OUT/lib" \
        --disable-shared --enable-static --with-pic --disable-dependency-tracking \
        --disable-https --without-gnutls --disable-dauth --disable-bauth \
        --disable-postprocessor --disable-httpupgrade --disable-curl --disable-doc \
        --disable-examples --disable-tools --disable-nls --enable-epoll \
        CFLAGS="$CFLAGS_3P" CPPFLAGS="$CPPFLAGS_3P")
    run_logged libmicrohttpd make -C "$d/src/microhttpd" -j2 libmicrohttpd.la
    run_logged libmicrohttpd make -C "$d/src/microhttpd" install-libLTLIBRARIES
    run_logged libmicrohttpd make -C "$d/src/include" install
    run_logged libmicrohttpd make -C "$d" install-pkgconfigDATA
    stamp_set libmicrohttpd "$RECIPE_MHD"
    echo "3p: libmicrohttpd: $(dsc_version libmicrohttpd) (built from Debian source, no TLS)"
}

# libarchive and curl are each dominated by a serial ./configure (~45 s), so
# build them side by side (2 cores). apt's index update happens once, before
# forking, because the two would otherwise race on the private lists dir.
pids=()
if stamp_ok libarchive "$RECIPE_ARCHIVE"; then echo "3p: libarchive: cached"
else apt_private_update; build_libarchive & pids+=("$!:libarchive"); fi
if stamp_ok curl "$RECIPE_CURL"; then echo "3p: libcurl: cached"
else apt_private_update; build_curl & pids+=("$!:libcurl"); fi
if stamp_ok libmicrohttpd "$RECIPE_MHD"; then echo "3p: libmicrohttpd: cached"
else apt_private_update; build_mhd & pids+=("$!:libmicrohttpd"); fi
failed=""
for pe in ${pids[@]+"${pids[@]}"}; do
    wait "${pe%%:*}" || failed="$failed ${pe#*:}"
done
[ -z "$failed" ] || die "build failed:$failed (see $LOGS/)"

# ============================== ldlibs ==============================
# Order matters for static linking: users before what they use.
# Private deps are taken from the installed .pc files, so a change of
# configure options is reflected automatically.
PKG_CONFIG_PATH=$OUT/lib/pkgconfig
export PKG_CONFIG_PATH
curl_priv=$(pkg-config --static --libs-only-l libcurl | sed 's/-lcurl//')
arch_priv=$(pkg-config --static --libs-only-l libarchive | sed 's/-larchive//')
mhd_priv=$(pkg-config --static --libs-only-l libmicrohttpd | sed 's/-lmicrohttpd//')
# De-duplicate while keeping the last occurrence (correct for static order).
dedup_last() { tr ' ' '\n' | grep -v '^$' | tac | awk '!seen[$0]++' | tac | tr '\n' ' '; }
libs=$(echo "-lmicrohttpd $mhd_priv -lcurl $curl_priv -lcjson -larchive $arch_priv -lseccomp -lz -lpthread" | dedup_last)
echo "-L$OUT/lib ${libs% }" > "$OUT/ldlibs"

# Self-check: a fully static link of all five must succeed, else fail here
# rather than in the runbox build.
chk=$OUT/logs/ldlibs-check
cat > "$chk.c" <<'EOF'
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <seccomp.h>
#include <archive.h>
#include <microhttpd.h>
int main(void) {
    if (!MHD_is_feature_supported(MHD_FEATURE_THREADS)) return 1;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS)) return 2;
    cJSON *j = cJSON_Parse("{}"); cJSON_Delete(j);
    CURL *c = curl_easy_init(); curl_easy_cleanup(c);
    if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL)) return 3;
    scmp_filter_ctx s = seccomp_init(SCMP_ACT_ALLOW); seccomp_release(s);
    struct archive *a = archive_read_new(); archive_read_free(a);
    return 0;
}
EOF
: >"$LOGS/ldlibs.log"
# shellcheck disable=SC2046
run_logged ldlibs gcc -static -I"$OUT/include" "$chk.c" -o "$chk" $(cat "$OUT/ldlibs")
run_logged ldlibs "$chk"
stamp_set ldlibs "$RECIPE_LDLIBS"
echo "3p: ldlibs: $(cat "$OUT/ldlibs")"
