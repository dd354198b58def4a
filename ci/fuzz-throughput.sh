#!/usr/bin/env bash
# Fuzzing throughput benchmark (issue 5's bars: vdso_reloc at >= 20k exec/s with AddressSanitizer and
# >= 100k without, on one core). Not part of CI: it takes SECONDS x configurations x targets.
#
# For each target and configuration, builds with `cargo fuzz build -O` plus the configuration's flags,
# runs libFuzzer for SECONDS over a scratch copy of corpus/<target>/ with fuzz/vdso.dict, and prints
# libFuzzer's own exec/s (-print_final_stats=1, wall clock), the executions per CPU-second of the
# process (user+sys: what one dedicated core would sustain when the machine is shared), and the
# coverage (cov/ft) reached, so a faster configuration that explores less shows up as such.
#
# Configurations (CONFIGS, space-separated; default all four):
#   asan        nightly, --sanitizer address, cargo-fuzz's default instrumentation (trace-compares on)
#   asan-notc   the same with --no-trace-compares
#   none        --sanitizer none (stable works), default instrumentation
#   none-notc   --sanitizer none --no-trace-compares
# libFuzzer's own C++ runtime is built without sanitizers in every configuration (.cargo/config.toml).
# Coverage instrumentation reaches vdso-lab-core only (fuzz/sancov-scope); VDSO_LAB_SANCOV=all measures
# cargo-fuzz's instrument-everything build instead, in its own target directory (cargo does not track
# the variable, so sharing one would reuse the other scope's objects). cov counts instrumented edges,
# so it compares configurations of one scope only; compare scopes by the line coverage ci/coverage.sh
# reports for the corpora they produce.
#
# Usage: ci/fuzz-throughput.sh [SECONDS] [TARGET...]   (default: 60 vdso_reloc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
secs=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(vdso_reloc)
read -r -a configs <<<"${CONFIGS:-asan asan-notc none none-notc}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
have_nightly=0
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then have_nightly=1; fi

# The run's corpus lives in memory (/dev/shm) when the machine has it, as it should for any long run:
# libFuzzer writes a file for every new or reduced input and deletes the one it replaces, and on this
# machine's ext4 disk the inode allocation for that was about a sixth of a vdso_reloc run (perf:
# recently_deleted, find_get_block_common). FUZZ_SCRATCH picks another directory (e.g. /tmp to measure
# on disk).
scratch_root=${FUZZ_SCRATCH:-}
if [[ -z $scratch_root ]]; then
    if [[ -d /dev/shm && -w /dev/shm ]]; then scratch_root=/dev/shm; else scratch_root=${TMPDIR:-/tmp}; fi
fi
scratch=$(mktemp -d "$scratch_root/fuzz-throughput.XXXXXX")
echo "corpus scratch: $scratch ($(df -T "$scratch" | awk 'NR == 2 { print $2 }'))"

trap 'rm -rf "$scratch"' EXIT
target_dir=fuzz/target
if [[ -n ${VDSO_LAB_SANCOV:-} ]]; then target_dir=fuzz/target-sancov-${VDSO_LAB_SANCOV// /-}; fi
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release

printf '%-12s %-10s %10s %12s %12s %8s %8s\n' target config execs "exec/s" "exec/cpu-s" cov ft
for t in "${targets[@]}"; do
    for c in "${configs[@]}"; do
        case $c in
            asan | asan-notc)
                if [[ $have_nightly -eq 0 ]]; then
                    echo "$t $c: skipped: no nightly toolchain for AddressSanitizer"
                    continue
                fi
                cmd=(cargo +nightly fuzz build -O --sanitizer address) ;;
            none | none-notc) cmd=(cargo fuzz build -O --sanitizer none) ;;
            *) echo "unknown configuration $c" >&2; exit 2 ;;
        esac
        [[ $c == *-notc ]] && cmd+=(--no-trace-compares)
        cmd+=(--target-dir "$target_dir")
        "${cmd[@]}" "$t" >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }
        corpus="$scratch/corpus-$t-$c"
        mkdir -p "$corpus"
        find "corpus/$t" -maxdepth 1 -type f ! -name '*.md' -exec cp -t "$corpus" {} +
        log="$scratch/$t-$c.log"
        TIMEFORMAT='%U %S'
        { time "$bin_dir/$t" "$corpus" -max_total_time="$secs" -dict="$root/fuzz/vdso.dict" \
            -print_final_stats=1 >"$log" 2>&1; } 2>"$scratch/time"
        read -r user sys <"$scratch/time"
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        wall=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
        per_cpu=$(awk -v n="$execs" -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", n / (u + s) }')
        # shellcheck disable=SC2086
        printf '%-12s %-10s %10s %12s %12s %8s %8s\n' "$t" "$c" "$execs" "$wall" "$per_cpu" $cov
    done
done
