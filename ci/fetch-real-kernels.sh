#!/usr/bin/env bash
# Rebuild corpus/real/ from Debian's archive: every kernel flavour of every suite and architecture the
# archive serves, newest ABI of each; downloads go to target/kernel-cache/ (not committed), `vdso-lab
# extract` cuts the vDSOs out into corpus/real/, sources.tsv records which package (and suite) each
# came from, byte-identical images are kept once, and corpus/real/MANIFEST.tsv is rewritten
# (examples/manifest.rs).
#
# It uses a private apt configuration under target/apt/ (its own sources list, state and cache
# directories, architectures) and never touches the machine's apt sources or dpkg architectures.
#
# Usage: ci/fetch-real-kernels.sh [SUITE:ARCH ...]
#   default: every suite of $suites x every architecture of $arches (combinations the archive lacks
#   are skipped). Per suite, architecture and flavour (plain, cloud, rt, arm64-16k, powerpc64le-64k,
#   686-pae, armmp-lpae, 5kc/4kc-malta, loongson-3, octeon, mips64r6el, ...) the package of the newest
#   ABI the suite lists and the archive serves; older ABIs a suite still lists (e.g. bookworm's 6.1.0-47 beside 6.1.0-50)
#   are superseded builds of the same series and the same configuration, so they are left out.
#   With SUITE:ARCH arguments only those combinations are selected and corpus/real/ is rebuilt from
#   them alone (for trying one combination; run without arguments to rebuild the committed corpus).
#   JOBS=N extracts N packages at a time (default 2).
#
# Which images are kept: every image of a selected package, except one whose bytes equal an image
# already kept (sha256); such a duplicate adds nothing to a test, so only its row in sources.tsv
# remains, naming the kept file in the `same_as` column. (Debian's kernels put the release string,
# flavour included, into every vDSO's build-salt note, so duplicates are rare.)
#
# sources.tsv columns: image (kept, or the name the duplicate would have had), package file, suite,
# same_as (empty for kept images).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
apt=$root/target/apt
cache=$root/target/kernel-cache
out=$root/corpus/real
mkdir -p "$cache" "$out"
# armel (marvell, rpi) is asked too, to record that its ARMv5/v6 kernels have no vDSO (arch/arm's
# VDSO needs CPU_V7); loong64 is served by the main archive from sid on.
arches=(amd64 arm64 armel armhf i386 ppc64el s390x riscv64 mips64el mipsel loong64)
suites=(bullseye bookworm bookworm-backports trixie trixie-backports sid experimental)
# debian-security: tried, but its per-architecture indices fail apt's size and hash checks here
# ("Mirror sync in progress?") or are missing (404), so apt drops them and nothing is selected from
# them; listed so that a run on a consistent mirror picks up the security ABIs.
# debian-ports (sparc64, hppa, m68k, ppc64, alpha, ...) is not asked: the registry this runs against
# answers HTTP 400 for it, and its keyring is not installed.
security=(bullseye-security bookworm-security trixie-security)
# shellcheck source=ci/private-apt.sh
. ci/private-apt.sh
opts="arch=$(IFS=,; echo "${arches[*]}") signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
private_apt "$apt" "$(for s in "${suites[@]}"; do
    echo "deb [$opts] http://deb.debian.org/debian $s main"
done; for s in "${security[@]}"; do
    echo "deb [$opts] http://deb.debian.org/debian-security $s main"
done)" "APT::Architectures { $(printf '"%s"; ' "${arches[@]}") };
APT::Get::Download-Only \"true\";"
quiet() { if [[ -t 1 ]]; then "$@"; else "$@" >/dev/null 2>&1; fi; }
# Some suites lack some architectures (riscv64 before trixie, mips64el after bookworm, bullseye's
# LTS keeps four): apt-get reports those lists as missing; what exists is still usable.
quiet apt-get update || true
combos=("$@")
if [[ ${#combos[@]} -eq 0 ]]; then
    for s in "${suites[@]}" "${security[@]}"; do for a in "${arches[@]}"; do combos+=("$s:$a"); done; done
fi

# One row per candidate package: suite, arch, flavour, ABI, package, version, file name.
# Kernel packages are linux-image-<ABI>-<flavour>[-unsigned] and, from 7.x, linux-binary[-unsigned]-*
# (whose linux-image-* are transitional: no kernel inside, hence the size floor). Signed and unsigned
# builds carry the same kernel; the unsigned one is preferred (what the existing corpus used).
candidates() {
    local suite=$1 arch=$2 f
    for f in "$apt"/lists/*_dists_"${suite}"_main_binary-"${arch}"_Packages; do
        [[ -e $f ]] || continue
        awk -v suite="$suite" -v arch="$arch" '
            /^Package: / { p = $2 } /^Version: / { v = $2 } /^Filename: / { fn = $2 }
            /^Size: / { sz = $2 }
            /^$/ {
                if (p ~ /^linux-(image|binary)(-unsigned)?-[0-9]/ && p !~ /-dbg/ && sz > 1000000) {
                    r = p; sub(/^linux-(image|binary)(-unsigned)?-/, "", r); sub(/-unsigned$/, "", r)
                    if (match(r, /^[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+(\.deb[0-9]+\.[0-9]+)?)?(\+deb[0-9]+(\.[0-9]+)?)?-/)) {
                        rank = p ~ /^linux-binary-unsigned-/ ? 4 : p ~ /^linux-binary-/ ? 3 : p ~ /-unsigned$/ ? 2 : 1
                        if (rank > best[r]) {
                            best[r] = rank
                            n = split(fn, parts, "/")
                            row[r] = suite "\t" arch "\t" substr(r, RLENGTH + 1) "\t" substr(r, 1, RLENGTH - 1) "\t" p "\t" v "\t" parts[n]
                        }
                    }
                }
                p = ""
            }
            END { for (r in row) print row[r] }' "$f"
    done
}

all=$apt/candidates.tsv
: > "$all"
for c in "${combos[@]}"; do
    candidates "${c%%:*}" "${c##*:}" >> "$all"
done
# Newest ABI first within each suite, arch and flavour.
sort -t $'\t' -k1,3 -k4,4Vr -o "$all" "$all"
# Per suite, arch and flavour the newest candidate that is downloaded, or not known to fail. The
# archive's indices sometimes list a package its pool does not serve (404: trixie's 6.12.117 for
# ppc64el, s390x and armel here); then the next older ABI of that flavour is taken.
failed=$apt/failed.txt
: > "$failed"
pick() {
    awk -F '\t' -v cache="$cache" -v failed="$failed" '
        BEGIN { while ((getline f < failed) > 0) bad[f] = 1 }
        { k = $1 "\t" $2 "\t" $3 }
        !(k in done) && !($7 in bad) { done[k] = 1; print }' "$all"
}
for round in 1 2 3; do
    mapfile -t want < <(pick | awk -F '\t' -v cache="$cache" '{ f = cache "/" $7; if ((getline line < f) < 0) print $5 ":" $2 "=" $6; close(f) }' | sort -u)
    [[ ${#want[@]} -gt 0 ]] || break
    # One apt-get call per round for everything missing from the cache (apt reads its lists once).
    echo "fetch-real-kernels: round $round: downloading ${#want[@]} packages into $cache"
    (cd "$cache" && quiet apt-get download "${want[@]}") || echo "fetch-real-kernels: some downloads failed"
    pick | awk -F '\t' -v cache="$cache" '{ f = cache "/" $7; if ((getline line < f) < 0) print $7; close(f) }' >> "$failed"
done
selected=$apt/selected.tsv
pick | awk -F '\t' -v cache="$cache" '{ f = cache "/" $7; if ((getline line < f) >= 0) print; close(f) }' | sort > "$selected"
if [[ -s $failed ]]; then
    echo "fetch-real-kernels: listed but not served (404), older ABI taken instead:"
    sed 's/^/  /' "$failed"
fi
echo "fetch-real-kernels: $(wc -l < "$selected") packages selected ($selected)"

cargo build --release --quiet --bin vdso-lab
# Extract every selected package into a folder of its own; `extract` prints "<image> (<size>, <arch>,
# release <r>) from <deb>:<path>..." per image, which becomes a row "<deb>\t<suite>\t<image>".
work=$apt/extract
rm -rf "$work"
mkdir -p "$work"
extract_one() {
    local deb=$1 suite=$2 dir=$work/$1
    if [[ ! -e $cache/$deb ]]; then echo "fetch-real-kernels: $deb: not downloaded, skipped"; return; fi
    mkdir -p "$dir"
    "$root/target/release/vdso-lab" extract "$cache/$deb" -o "$dir" > "$dir.log" 2>&1 \
        || echo "fetch-real-kernels: $deb: extract failed: $(tail -n 1 "$dir.log")"
    awk -v deb="$deb" -v suite="$suite" '/ from / { n = split($1, p, "/"); print deb "\t" suite "\t" p[n] }' "$dir.log" > "$dir.rows"
    [[ -s $dir.rows ]] || echo "fetch-real-kernels: $deb ($suite): no vDSO image"
}
export -f extract_one
export root cache work
awk -F '\t' '{ print $7, $1 }' "$selected" | sort -u -k1,1 | xargs -P "${JOBS:-2}" -n 2 bash -c 'extract_one "$@"' _
cat "$work"/*.rows | sort -t $'\t' -k3,3 -k1,1 > "$work/rows.tsv"

# Keep one image per distinct content, under extract's name. The first package (by image name, then
# package name) keeps its bytes; a later image of the same bytes becomes a sources.tsv row naming the
# kept file. Two packages can make images of one name (bookworm's mipsel loongson-3 and octeon kernels
# are the mips64el flavours' releases built for mipsel): if the bytes differ, the later one is named
# with its package architecture appended (`...-loongson-3-mipsel.so`), as `extract` appends `-2` to a
# kernel's second image of one name.
rm -f "$out"/*.so
printf 'image\tpackage\tsuite\tsame_as\n' > "$out/sources.tsv"
declare -A kept
while IFS=$'\t' read -r deb suite img; do
    src=$work/$deb/$img
    [[ -e $src ]] || continue
    sum=$(sha256sum < "$src" | cut -d ' ' -f 1)
    if [[ -n ${kept[$sum]:-} ]]; then
        printf '%s\t%s\t%s\t%s\n' "$img" "$deb" "$suite" "${kept[$sum]}" >> "$out/sources.tsv"
        continue
    fi
    name=$img
    if [[ -e $out/$name ]]; then
        debarch=${deb##*_}
        name=${img%.so}-${debarch%.deb}.so
    fi
    kept[$sum]=$name
    cp "$src" "$out/$name"
    printf '%s\t%s\t%s\t\n' "$name" "$deb" "$suite" >> "$out/sources.tsv"
done < "$work/rows.tsv"
cargo run --release --quiet --example manifest -- "$out" > "$out/MANIFEST.tsv"
echo "fetch-real-kernels: $(ls "$out"/*.so | wc -l) distinct images in $out" \
    "($(awk -F '\t' 'NR > 1 && $4 != ""' "$out/sources.tsv" | wc -l) duplicates left out; see sources.tsv)"
