#!/usr/bin/env bash
# Minimise the committed corpora: `cargo fuzz cmin` on corpus/<target>/ for every target, then
#   1. put every real vDSO image back into corpus/vdso_parse/, and every real pair into
#      corpus/vdso_reloc/ (`ci/seed-corpus.sh --real-only`): cmin keeps only the real inputs that add
#      coverage, but these corpora hold all of them, so that every real kernel's image seeds every run
#      wherever the corpus is copied (fuzz-smoke, ClusterFuzzLite), and libFuzzer's default -max_len
#      (the largest seed) still admits the largest real pair;
#   2. name every input by the sha256 of its content, as in the rest of corpus/ (libFuzzer names the
#      inputs it writes by their sha1).
# corpus/regressions/ is never touched. Prints files and bytes per target before and after.
#
# libFuzzer flags: -use_counters=0 makes the features that cmin preserves the edges alone (by default each
# hit-count bucket of each edge is one, and cmin keeps hundreds of inputs that differ only in how often
# a loop ran; a fuzzing run regains that variety in seconds); -set_cover_merge=1 picks a greedy set cover
# rather than every input that added a feature in size order. Sanitizer: none, on the default
# toolchain (the instrumentation that defines the features is the same).
# Environment: CMIN_TARGETS (space-separated; default every [[bin]] in fuzz/Cargo.toml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -n "${CMIN_TARGETS:-}" ]]; then
    read -r -a targets <<<"$CMIN_TARGETS"
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^vdso-lab-fuzz$')
fi
size() { find "$1" -maxdepth 1 -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d files, %d bytes", n, b }'; }
log=$(mktemp "${TMPDIR:-/tmp}/cmin.XXXXXX")
trap 'rm -f "$log"' EXIT

declare -A before
for t in "${targets[@]}"; do
    before[$t]=$(size "corpus/$t")
    if ! cargo fuzz cmin --sanitizer none "$t" "corpus/$t" -- \
        -dict=fuzz/vdso.dict -use_counters=0 -set_cover_merge=1 >"$log" 2>&1; then
        echo "cmin: $t FAILED; last 40 lines of its output:" >&2
        tail -n 40 "$log" | cut -c1-300 >&2
        exit 1
    fi
done
if ! ci/seed-corpus.sh --real-only >"$log" 2>&1; then
    echo "cmin: ci/seed-corpus.sh --real-only FAILED:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
for t in "${targets[@]}"; do
    dir=corpus/$t
    for f in "$dir"/*; do
        h=$(sha256sum "$f" | cut -d' ' -f1)
        [[ $f == "$dir/$h" ]] || mv -f "$f" "$dir/$h"
    done
    echo "cmin: $t: ${before[$t]} -> $(size "$dir")"
done
