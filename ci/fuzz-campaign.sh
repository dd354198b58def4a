#!/usr/bin/env bash
# Long fuzzing campaign (issue 14): a fixed number of executions per target, first without a sanitizer
# in the documented throughput configuration (fuzz/README.md, "Throughput"), then under
# AddressSanitizer. Not part of CI: at ~100k exec/s a 10^8 run takes ~17 min per target.
#
# For each target and build, libFuzzer runs -runs=N over a scratch copy of corpus/<target>/ (in
# /dev/shm when there is one) with fuzz/vdso.dict, and the script records what libFuzzer itself
# reports (-print_final_stats=1): executed units, wall time, peak RSS, coverage and features, plus the
# corpus size before and after and the exit status. A crash, leak, timeout or OOM stops that run;
# its input is in fuzz/artifacts/<target>/ (the script prints the path) and the campaign goes on with
# the next run. What a run found is kept in $CAMPAIGN_OUT/<target>/ (the scratch corpus after the
# run); `--merge` then adds to corpus/<target>/ only the inputs that reach coverage the committed
# corpus does not (libFuzzer's -merge=1, edges only, as ci/cmin.sh does), named by their sha256.
# `--merge` with CAMPAIGN_BUILDS="" merges what earlier runs found without fuzzing again.
#
# Builds:
#   none  stable or nightly, --sanitizer none, -O; --no-trace-compares for the targets that derive
#         their input through `arbitrary` (vdso_reloc, plan_chain, remap_layout), the defaults for the
#         raw-bytes targets (vdso_parse, parser_diff), where comparison tracing finds magic numbers
#   asan  nightly, --sanitizer address, -O, the same trace-compares choice
#
# Usage: ci/fuzz-campaign.sh [--merge] [TARGET...]   (default: every target)
# Environment: CAMPAIGN_RUNS_NONE (default 100000000), CAMPAIGN_RUNS_ASAN (default 10000000),
#              CAMPAIGN_BUILDS (default "none asan"), CAMPAIGN_OUT (default target/campaign),
#              CAMPAIGN_MAX_SECONDS (stop a run after this long even short of its runs; default 0, none),
#              FUZZ_TIMEOUT per input in seconds (default 10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
merge=0
if [[ ${1:-} == --merge ]]; then
    merge=1
    shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(vdso_parse remap_layout parser_diff vdso_reloc plan_chain)
fi
read -r -a builds <<<"${CAMPAIGN_BUILDS-none asan}"
out=${CAMPAIGN_OUT:-$root/target/campaign}
mkdir -p "$out"
summary=$out/summary.tsv
[[ -f $summary ]] || printf 'date\tcommit\ttarget\tbuild\truns\texecuted\tseconds\texec_per_s\tcov\tft\tpeak_rss_mb\tcorpus_before\tcorpus_after\tresult\n' >"$summary"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# The commit the campaign judges: a tree with uncommitted changes is named as such.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then commit="$commit+changes"; fi
echo "campaign: commit $commit; targets ${targets[*]}; builds ${builds[*]}"
scratch_root=/dev/shm
[[ -d $scratch_root && -w $scratch_root ]] || scratch_root=${TMPDIR:-/tmp}

notc() {
    case $1 in vdso_reloc | plan_chain | remap_layout) echo --no-trace-compares ;; esac
}
count() { find "$1" -maxdepth 1 -type f ! -name README.md ! -name '.*' | wc -l; }
stat_of() { sed -n "s/^stat::$2:[[:space:]]*//p" "$1" | tail -n 1; }

for t in "${targets[@]}"; do
    for b in "${builds[@]}"; do
        case $b in
            none)
                cf=(cargo fuzz)
                flags=(--sanitizer none)
                runs=${CAMPAIGN_RUNS_NONE:-100000000}
                ;;
            asan)
                cf=(cargo +nightly fuzz)
                flags=(--sanitizer address)
                runs=${CAMPAIGN_RUNS_ASAN:-10000000}
                ;;
            *)
                echo "campaign: unknown build $b" >&2
                exit 2
                ;;
        esac
        read -r -a tc <<<"$(notc "$t")"
        "${cf[@]}" build --fuzz-dir "$root/fuzz" -O "${flags[@]}" "${tc[@]}" "$t" >"$out/$t-$b.build.log" 2>&1 || {
            echo "campaign: $t $b: build FAILED ($out/$t-$b.build.log)" >&2
            exit 1
        }
        work=$(mktemp -d "$scratch_root/campaign-$t-$b.XXXXXX")
        # A run starts from the committed corpus plus what earlier runs of this target found.
        find "corpus/$t" -maxdepth 1 -type f ! -name README.md ! -name '.*' -exec cp -t "$work" {} +
        if [[ -d $out/$t ]]; then find "$out/$t" -maxdepth 1 -type f -exec cp -n -t "$work" {} +; fi
        before=$(count "$work")
        log=$out/$t-$b.log
        echo "campaign: $t $b: $runs runs over $before inputs ($(date -u +%H:%M:%S)); log $log"
        t0=$(date +%s.%N)
        rc=0
        "${cf[@]}" run --fuzz-dir "$root/fuzz" -O "${flags[@]}" "${tc[@]}" "$t" "$work" -- \
            -runs="$runs" -max_total_time="${CAMPAIGN_MAX_SECONDS:-0}" -timeout="${FUZZ_TIMEOUT:-10}" -dict="$root/fuzz/vdso.dict" \
            -print_final_stats=1 -print_pcs=0 >"$log" 2>&1 || rc=$?
        secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
        executed=$(stat_of "$log" number_of_executed_units)
        rss=$(stat_of "$log" peak_rss_mb)
        last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
        ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
        eps=$(awk -v e="${executed:-0}" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", e / s; else print 0 }')
        after=$(count "$work")
        if [[ $rc -eq 0 ]]; then
            result=ok
        else
            result="FAILED exit $rc: $(grep -m1 -E '^==[0-9]+== ERROR|^SUMMARY|panicked at|deadly signal|Test unit written' "$log" | cut -c1-200 || true)"
            echo "campaign: $t $b: $result; artifacts: $(grep -o 'fuzz/artifacts/[^ ]*' "$log" | head -n 3 | tr '\n' ' ')" >&2
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$t" "$b" "$runs" \
            "${executed:-?}" "$secs" "$eps" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$before" "$after" "$result" >>"$summary"
        echo "campaign: $t $b: executed ${executed:-?} in ${secs}s (${eps}/s), cov ${cov:-?} ft ${ft:-?}, peak RSS ${rss:-?} MB, corpus $before -> $after: $result"
        mkdir -p "$out/$t"
        find "$work" -maxdepth 1 -type f -exec cp -n -t "$out/$t" {} +
        rm -rf "$work"
    done
    if [[ $merge -eq 1 ]]; then
        n0=$(count "corpus/$t")
        cargo fuzz run --fuzz-dir "$root/fuzz" -O --sanitizer none $(notc "$t") "$t" "corpus/$t" "$out/$t" -- \
            -merge=1 -use_counters=0 -dict="$root/fuzz/vdso.dict" >"$out/$t-merge.log" 2>&1
        # Named by the sha256 of their content, as the rest of corpus/ (libFuzzer writes sha1 names).
        for f in "corpus/$t"/*; do
            h=$(sha256sum "$f" | cut -d' ' -f1)
            [[ $f == "corpus/$t/$h" ]] || mv -f "$f" "corpus/$t/$h"
        done
        echo "campaign: $t: merged: corpus/$t $n0 -> $(count "corpus/$t") inputs"
    fi
done
column -t -s $'\t' "$summary"
