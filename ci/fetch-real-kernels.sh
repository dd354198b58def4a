#!/usr/bin/env bash
# Download Debian kernel packages into target/kernel-cache/ and extract their vDSOs into
# target/real-vdso/ with `vdso-lab extract`. Today this fetches what the machine's own apt sources
# offer (bookworm amd64 here) with `apt-get download`, which changes nothing on the machine; other
# suites and architectures need a private apt configuration (not written yet: see the issue notes).
# Usage: ci/fetch-real-kernels.sh [PACKAGE...]   (default: the newest linux-image-*-amd64-unsigned)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache=target/kernel-cache
out=target/real-vdso
mkdir -p "$cache" "$out"
pkgs=("$@")
if [[ ${#pkgs[@]} -eq 0 ]]; then
    mapfile -t pkgs < <(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-amd64-unsigned$' \
        | awk '{print $1}' | sort -V | tail -n 1)
fi
(cd "$cache" && apt-get download "${pkgs[@]}")
cargo build --release --quiet
for deb in "$cache"/*.deb; do
    ./target/release/vdso-lab extract "$deb" -o "$out"
done
