#!/usr/bin/env bash
# Line coverage of the library from the fuzz corpora: every target's corpus and regressions are run
# through a coverage-instrumented build (`cargo fuzz coverage`, nightly + llvm-tools), the profiles are
# merged, and llvm-cov writes an HTML report to target/coverage/html/ and prints the line coverage of
# core/src/image and core/src/plan.rs. Installs the llvm-tools component when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rustup component add llvm-tools --toolchain nightly >/dev/null
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
tools=$(rustc +nightly --print sysroot)/lib/rustlib/$(rustc +nightly -vV | sed -n 's/^host: //p')/bin
targets=$(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^vdso-lab-fuzz$')
out=target/coverage
mkdir -p "$out"
profiles=()
objects=()
for t in $targets; do
    # cargo fuzz coverage runs the inputs of the directories it is given (it does not write to them).
    dirs=("corpus/$t")
    [[ -d "corpus/regressions/$t" ]] && dirs+=("corpus/regressions/$t")
    cargo +nightly fuzz coverage "$t" "${dirs[@]}" >/dev/null 2>&1
    profiles+=("fuzz/coverage/$t/coverage.profdata")
    # cargo fuzz coverage puts the instrumented binary under the crate's target/ (newer cargo-fuzz)
    # or fuzz/target/ (older): take whichever exists.
    host=$(rustc +nightly -vV | sed -n 's/^host: //p')
    bin=$( (ls -t {target,fuzz/target}/"$host"/coverage/"$host"/release/"$t" 2>/dev/null || true) | head -n 1)
    objects+=(-object "$bin")
done
"$tools/llvm-profdata" merge -sparse "${profiles[@]}" -o "$out/merged.profdata"
ignore='(\.cargo/registry|/rustc/|fuzz_targets|/library/)'
"$tools/llvm-cov" show -format=html -output-dir="$out/html" -instr-profile="$out/merged.profdata" \
    -ignore-filename-regex="$ignore" "${objects[@]:1}" >/dev/null
"$tools/llvm-cov" report -instr-profile="$out/merged.profdata" -ignore-filename-regex="$ignore" \
    "${objects[@]:1}" > "$out/report.txt"
# Line coverage (columns: lines, missed lines) summed over a path prefix.
cover() {
    awk -v name="$1" -v p="$2" '$1 ~ p { lines += $8; missed += $9 }
        END { if (lines) printf "%-18s %5.1f%% of %d lines\n", name, 100 * (lines - missed) / lines, lines }' "$out/report.txt"
}
echo "coverage from the corpora (HTML: $out/html/index.html)"
# llvm-cov names files relative to the longest common directory: image/ and plan.rs of core/src/.
cover core/src/image/ "(^|/)image/"
cover core/src/plan.rs "(^|/)plan[.]rs"
cover "vdso-lab + core" "^TOTAL"
