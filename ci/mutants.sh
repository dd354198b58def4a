#!/usr/bin/env bash
# Mutation score of the modules whose mistakes would make the lab lie (issue 14): the planner, the
# policies, the ELF hash functions and lookups, the verdicts, and the oracles. For each file,
# cargo-mutants rewrites one expression or function body at a time and runs that file's tests; a
# mutant no test notices ("missed") is either a gap in the tests or an equivalent rewrite, listed with
# its reason in docs/mutants.md.
#
# Too slow for every CI run (each mutant rebuilds and relinks its test binaries: ~10-20 s on two cores,
# ~600 mutants in all), so ci/test.sh does not call it; run it by hand and record the figures in
# docs/mutants.md and the README.
#
# Tests per file: the unit tests of both crates plus the integration tests that exercise the file.
# A subset of `cargo test --workspace --all-targets` (which costs ~50 s per mutant), so a score is a
# lower bound: a mutant missed here might still be caught by a test outside the subset.
#
# Usage: ci/mutants.sh [FILE...]            (default: the five files below, in this order)
# Environment: MUTANTS_JOBS (default 1: CPU is shared), MUTANTS_TIMEOUT per test run in seconds
#              (default 120), MUTANTS_RE (only mutants whose name matches this regex, e.g.
#              'sysv_hash|gnu_hash'), MUTANTS_SINCE (a git revision: only mutants in lines changed
#              since then), MUTANTS_OUT (default target/mutants-out; one folder per file),
#              CARGO_TARGET_DIR (default target/mutants, kept between runs so dependencies build once),
#              MUTANTS_ITERATE=1 (resume: skip the mutants an earlier run into the same MUTANTS_OUT
#              caught or found unviable, cargo-mutants --iterate).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "mutants: cargo-mutants missing; running: cargo install cargo-mutants --locked"
    cargo install cargo-mutants --locked
fi

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(core/src/image/hash.rs src/verify.rs core/src/policy.rs src/fuzzing/oracles.rs core/src/plan.rs)
fi

# The tests each file is judged by (arguments to `cargo test --workspace`).
tests_for() {
    case "$1" in
        core/src/image/hash.rs) echo "--lib --test corpus_replay --test prop_lookups --test real_images --test corrupt" ;;
        src/verify.rs) echo "--lib --test live_lab --test prop_live" ;;
        core/src/policy.rs) echo "--lib --test policy_presets --test prop_plan --test real_plans --test corpus_replay" ;;
        core/src/plan.rs) echo "--lib --test plan_api --test prop_plan --test real_plans --test corpus_replay" ;;
        src/fuzzing/oracles.rs) echo "--lib --test corpus_replay --test prop_plan" ;;
        *) echo "--lib" ;;
    esac
}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/mutants}
out_root=${MUTANTS_OUT:-$root/target/mutants-out}
mkdir -p "$out_root"
status=0
for f in "${files[@]}"; do
    name=$(echo "$f" | tr '/' '_')
    filter=()
    if [ -n "${MUTANTS_RE:-}" ]; then
        filter=(--re "$MUTANTS_RE")
    fi
        # The baseline run tests only the mutated package (cargo-mutants' rule), where the other package's
    # test targets do not exist; it is skipped, so run the same `cargo test` once by hand first. Each
    # mutant is tested with --workspace (--test-workspace=true).
    # The test selection goes to every cargo invocation (-C), so that each mutant builds only the test
    # binaries it runs (building all of them costs ~25 s per mutant).
    sel=()
    for a in $(tests_for "$f"); do sel+=(-C "$a"); done
    # MUTANTS_SINCE=REV: only the mutants in lines changed since REV (cargo-mutants --in-diff), to
    # re-score a file after changes when its earlier run, at REV, scored the rest.
    if [ -n "${MUTANTS_SINCE:-}" ]; then
        git diff "$MUTANTS_SINCE" -- "$f" >"$out_root/$name.diff"
        filter+=(--in-diff "$out_root/$name.diff")
    fi
    if [ -n "${MUTANTS_ITERATE:-}" ]; then
        filter+=(--iterate)
    fi
    cmd=(cargo mutants --workspace --test-workspace=true --baseline=skip --file "$f" "${filter[@]}"
        -j "${MUTANTS_JOBS:-1}" --timeout "${MUTANTS_TIMEOUT:-120}" --output "$out_root/$name" "${sel[@]}")
    echo "mutants: ${cmd[*]}"
    t0=$SECONDS
    # cargo-mutants exits 2 when mutants were missed, 3 on timeouts: a score, not a script failure.
    "${cmd[@]}" || rc=$?
    rc=${rc:-0}
    o="$out_root/$name/mutants.out"
    caught=$(wc -l <"$o/caught.txt")
    missed=$(wc -l <"$o/missed.txt")
    timeout=$(wc -l <"$o/timeout.txt")
    unviable=$(wc -l <"$o/unviable.txt")
    viable=$((caught + missed + timeout))
    score=$(awk -v c=$((caught + timeout)) -v v=$viable 'BEGIN { if (v) printf "%.1f", 100 * c / v; else print "n/a" }')
    echo "mutants: $f: $caught caught, $timeout timeout, $missed missed, $unviable unviable: $score % of $viable viable mutants caught (exit $rc, $((SECONDS - t0)) s)"
    case $rc in 0 | 2 | 3) ;; *) status=$rc ;; esac
    unset rc
done
exit $status
