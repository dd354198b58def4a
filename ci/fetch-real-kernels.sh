#!/usr/bin/env bash
# Rebuild corpus/real/ from Debian's archive: download kernel packages for several suites and
# architectures into target/kernel-cache/ (not committed), extract their vDSOs with `vdso-lab
# extract` into corpus/real/, record which package each came from (sources.tsv) and write
# corpus/real/MANIFEST.tsv (examples/manifest.rs).
#
# It uses a private apt configuration under target/apt/ (its own sources list, state and cache
# directories, architectures) and never touches the machine's apt sources or dpkg architectures.
#
# Usage: ci/fetch-real-kernels.sh [SUITE:ARCH ...]
#   default: bullseye, bookworm, trixie, sid x amd64 arm64 armhf i386 ppc64el s390x riscv64 mips64el
#   (combinations the archive lacks are skipped). Per combination the newest plain-flavour package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
apt=$root/target/apt
cache=$root/target/kernel-cache
out=$root/corpus/real
mkdir -p "$cache" "$out"
arches=(amd64 arm64 armhf i386 ppc64el s390x riscv64 mips64el)
suites=(bullseye bookworm trixie sid)
# shellcheck source=ci/private-apt.sh
. ci/private-apt.sh
private_apt "$apt" "$(for s in "${suites[@]}"; do
    echo "deb [arch=$(IFS=,; echo "${arches[*]}") signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main"
done)" "APT::Architectures { $(printf '"%s"; ' "${arches[@]}") };
APT::Get::Download-Only \"true\";"
quiet() { if [[ -t 1 ]]; then "$@"; else "$@" >/dev/null 2>&1; fi; }
# Some suites lack some architectures (riscv64 before trixie, mips64el after bookworm): apt-get
# reports those lists as missing; what exists is still usable.
quiet apt-get update || true
combos=("$@")
if [[ ${#combos[@]} -eq 0 ]]; then
    for s in "${suites[@]}"; do for a in "${arches[@]}"; do combos+=("$s:$a"); done; done
fi
for c in "${combos[@]}"; do
    suite=${c%%:*}
    arch=${c##*:}
    # The plain flavour's image package (sid: linux-binary[-unsigned]-*), newest in the suite.
    case $arch in
        armhf) flav=armmp ;;
        i386) flav=686 ;;
        ppc64el) flav=powerpc64le ;;
        mips64el) flav=mips64r2el ;;
        *) flav=$arch ;;
    esac
    pkg=$(apt-cache search --names-only "^linux-(image|binary)(-unsigned)?-[0-9][^ ]*-$flav(-unsigned)?\$" 2>/dev/null \
        | awk '{print $1}' | grep -v -E -- '-(dbg|rt|cloud)-' | sort -V | while read -r p; do
            if apt-cache policy "$p:$arch" 2>/dev/null | grep -q "deb.debian.org/debian $suite/main"; then echo "$p"; fi
        done > "$apt/candidates" || true
        # Prefer the packages that carry the kernel itself: sid's linux-binary[-unsigned]-* (its
        # linux-image-* are small transitional packages), then *-unsigned, then anything.
        for pat in '^linux-binary-unsigned-' '^linux-binary-' '-unsigned$' '.'; do
            grep -E -- "$pat" "$apt/candidates" | tail -n 1 && break
        done)
    if [[ -z "$pkg" ]]; then
        echo "fetch-real-kernels: $suite $arch: no package, skipped"
        continue
    fi
    echo "fetch-real-kernels: $suite $arch: $pkg"
    (cd "$cache" && quiet apt-get download "$pkg:$arch/$suite") || echo "fetch-real-kernels: $pkg: download failed"
done
cargo build --release --quiet
# extract prints "<image> (<size>, <arch>, release <r>) from <deb>:<path>..." per image: keep image -> deb.
: > "$out/sources.tsv"
for deb in "$cache"/*.deb; do
    ./target/release/vdso-lab extract "$deb" -o "$out" \
        | awk -v deb="$(basename "$deb")" '/ from / {print $1 "\t" deb}' >> "$out/sources.tsv" || true
done
sed -i "s|^$root/||" "$out/sources.tsv"
cargo run --release --quiet --example manifest -- "$out" > "$out/MANIFEST.tsv"
echo "fetch-real-kernels: $(ls "$out" | wc -l) images in $out"
