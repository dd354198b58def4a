#!/usr/bin/env bash
# Fetch the third-party sources the lab tests (real parsers, real restorers) from Debian's source
# packages into target/sources/, by exact version and checksum, and unpack them there. Nothing here
# is committed; a second run downloads nothing.
#
# The versions are pinned below, so a new upload to the archive never changes a subject silently.
# A private apt configuration under target/apt-src/ (its own deb-src list and state; the machine's
# apt sources are untouched) confirms that the archive still lists each pinned upstream tarball with
# that checksum, and gives its pool directory. The tarball is then downloaded by its exact name: the
# archive serves the .orig.tar.* of these packages but not always their .dsc or .debian.tar, so
# `apt-get source` cannot be used.
#
# Usage: ci/fetch-sources.sh [NAME ...]   NAME: criu-4.2.1 criu-4.1.1 criu-3.17.1 musl-1.2.6 (default: all)
# Prints, per source, `fetch-sources: NAME: ok DIR` or `fetch-sources: NAME: skipped: REASON`; exits 0
# either way (callers report what is missing as skipped). Exit 2 only on a checksum mismatch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
out=$root/target/sources
apt=$root/target/apt-src
mkdir -p "$out"

# name  source-package  upstream-version  tarball  sha256 (from the archive's Sources index)
pins=(
    "criu-4.2.1 criu 4.2.1 criu_4.2.1.orig.tar.xz 29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9"
    "criu-4.1.1 criu 4.1.1 criu_4.1.1.orig.tar.xz f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe"
    "criu-3.17.1 criu 3.17.1 criu_3.17.1.orig.tar.xz 55b222688ede3f75b375bade1e9d5caab6bde3ee64fbf6ede024498405188a25"
    "musl-1.2.6 musl 1.2.6 musl_1.2.6.orig.tar.gz d585fd3b613c66151fc3249e8ed44f77020cb5e6c1e635a616d3f9f82460512a"
)
want=("$@")

# shellcheck source=ci/private-apt.sh
. ci/private-apt.sh
private_apt "$apt" "$(for s in bookworm trixie sid; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main"
done)"
updated=0

for pin in "${pins[@]}"; do
    read -r name pkg ver tarball sha <<<"$pin"
    if [[ ${#want[@]} -gt 0 && ! " ${want[*]} " =~ " $name " ]]; then continue; fi
    dir=$out/$name
    if [[ -f $dir/.fetched ]]; then
        echo "fetch-sources: $name: ok $dir (cached)"
        continue
    fi
    file=$out/$tarball
    if [[ ! -f $file ]] || ! echo "$sha  $file" | sha256sum -c --status; then
        if [[ $updated -eq 0 ]]; then
            apt-get update >/dev/null 2>&1 || echo "fetch-sources: apt-get update reported errors (continuing with what it got)"
            updated=1
        fi
        pool=$(apt-cache showsrc "$pkg" 2>/dev/null | awk -v t="$tarball" -v s="$sha" '
            /^Package:/ {d=""} /^Directory:/ {d=$2} $1==s && $3==t {hit=1} /^$/ {if (hit && d) {print d; exit} hit=0}
            END {if (hit && d) print d}' | head -n 1)
        if [[ -z $pool ]]; then
            echo "fetch-sources: $name: skipped: $tarball with sha256 $sha is not listed by the archive"
            continue
        fi
        if ! err=$(curl -fsS --retry 2 -o "$file.part" "http://deb.debian.org/debian/$pool/$tarball" 2>&1); then
            echo "fetch-sources: $name: skipped: listed in $pool but not served ($err)"
            rm -f "$file.part"
            continue
        fi
        mv "$file.part" "$file"
        if ! echo "$sha  $file" | sha256sum -c --status; then
            echo "fetch-sources: $name: checksum mismatch for $file" >&2
            exit 2
        fi
    fi
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$dir.tmp"
    tar -xf "$file" -C "$dir.tmp" --strip-components=1
    mv "$dir.tmp" "$dir"
    echo "$pkg $ver $tarball $sha" > "$dir/.fetched"
    echo "fetch-sources: $name: ok $dir"
done
