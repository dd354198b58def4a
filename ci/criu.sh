#!/usr/bin/env bash
# Build real CRIU releases, and their zdtm test static/vdso01, from the pinned upstream tarballs that
# ci/fetch-sources.sh unpacks into target/sources/criu-<ver>/ (Debian's `criu` source packages).
#
# Each release is built in its own copy of the source tree, target/criu/<ver>/src/ (target/sources/
# stays pristine for the other subjects that read it), and the results are
#   target/criu/<ver>/criu     the criu binary
#   target/criu/<ver>/vdso01   zdtm static/vdso01 (its protocol: --pidfile, --outfile, SIGTERM)
# A second run builds nothing (each result is kept once built; delete target/criu/<ver> to rebuild).
#
# Build dependencies come from the machine's apt: when a pkg-config module or tool is missing and we
# are root, they are installed with apt-get (the list is CRIU's INSTALL.md, Debian names).
#
# Usage: ci/criu.sh [VER ...]   VER: 4.2.1 4.1.1 3.17.1 (default: all three). 3.17.1 is pinned in
# ci/fetch-sources.sh but the archive does not serve its tarball; were it built, it could not dump
# here anyway: before 4.1 CRIU does not know the [vvar_vclock] mapping of Linux 6.13+ (issue #2532).
# Prints per release `criu: VER: ok target/criu/VER/criu` or `criu: VER: skipped: REASON`, and exits 0
# either way (callers report a skip as a skip). Exit 1 only on a usage error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
vers=("$@")
[[ ${#vers[@]} -gt 0 ]] || vers=(4.2.1 4.1.1 3.17.1)

deps=(libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler libnl-3-dev libnet1-dev
    libcap-dev libbsd-dev libnftables-dev libgnutls28-dev uuid-dev pkgconf python3-protobuf libaio-dev
    asciidoc-base gcc make)

deps_missing() {
    command -v protoc-c >/dev/null 2>&1 || return 0
    command -v pkg-config >/dev/null 2>&1 || return 0
    command -v gcc >/dev/null 2>&1 || return 0
    command -v make >/dev/null 2>&1 || return 0
    local m
    for m in libprotobuf-c libnl-3.0 libnftables gnutls uuid libcap libbsd; do
        pkg-config --exists "$m" || return 0
    done
    # (python3-protobuf is installed for CRIU's crit, which `make criu` does not need; not checked.)
    [[ -e /usr/include/libnet.h && -e /usr/include/libaio.h ]] || return 0
    return 1
}

skip_all=""
if deps_missing; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "criu: build dependencies missing: apt-get install ${deps[*]}"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${deps[@]}"; } >&2; then
            skip_all="apt-get could not install CRIU's build dependencies"
        fi
    else
        skip_all="CRIU's build dependencies are missing and we cannot apt-get them (not root or no apt-get)"
    fi
fi

for ver in "${vers[@]}"; do
    case $ver in
        4.2.1 | 4.1.1 | 3.17.1) ;;
        *)
            echo "criu.sh: unknown release $ver (known: 4.2.1 4.1.1 3.17.1)" >&2
            exit 1
            ;;
    esac
    dir=$root/target/criu/$ver
    if [[ -n $skip_all ]]; then
        echo "criu: $ver: skipped: $skip_all"
        continue
    fi
    src=$root/target/sources/criu-$ver
    if [[ ! -f $src/Makefile ]]; then
        echo "criu: $ver: skipped: no source tree at target/sources/criu-$ver ($(ci/fetch-sources.sh "criu-$ver" | tail -n 1))"
        continue
    fi
    mkdir -p "$dir"
    log=$dir/build.log
    if [[ ! -x $dir/criu ]]; then
        t0=$SECONDS
        rm -rf "$dir/src"
        cp -a "$src" "$dir/src"
        if ! make -C "$dir/src" -j"$(nproc)" criu >"$log" 2>&1; then
            echo "criu: $ver: skipped: make criu failed (last lines of $log:)"
            tail -n 5 "$log" | sed 's/^/    /'
            continue
        fi
        cp "$dir/src/criu/criu" "$dir/criu.tmp" && mv "$dir/criu.tmp" "$dir/criu"
        echo "criu: $ver: built criu in $((SECONDS - t0))s"
    fi
    if [[ ! -x $dir/vdso01 ]]; then
        t0=$SECONDS
        if ! { make -C "$dir/src/test/zdtm/lib" && make -C "$dir/src/test/zdtm/static" vdso01; } >>"$log" 2>&1; then
            echo "criu: $ver: zdtm vdso01 skipped: its build failed (see $log)"
        else
            cp "$dir/src/test/zdtm/static/vdso01" "$dir/vdso01.tmp" && mv "$dir/vdso01.tmp" "$dir/vdso01"
            echo "criu: $ver: built zdtm vdso01 in $((SECONDS - t0))s"
        fi
    fi
    # Can it run here? `criu check` needs root and the kernel features CRIU relies on.
    if ! out=$("$dir/criu" check 2>&1); then
        echo "criu: $ver: skipped: \`criu check\` fails here: $(echo "$out" | tail -n 1)"
        continue
    fi
    echo "criu: $ver: ok target/criu/$ver/criu"
done
