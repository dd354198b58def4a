#!/usr/bin/env bash
# The project's test command (README: `ci/test.sh`; `.ci/run` execs it).
# Installs missing prerequisites, then runs, stopping at the first failure:
#   cargo fmt --check, cargo clippy -D warnings, ci/subjects.sh (fetch and build the real parsers),
#   cargo test --all-targets (the workspace: vdso-lab, core/, subjects/), vdso-lab parsers over
#   corpus/real and the parser_diff regressions against corpus/parsers.expected, ci/fuzz-smoke.sh,
#   ci/test-cflite-build.sh (the ClusterFuzzLite build script in an emulated $SRC/$OUT).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { echo; echo "==> $*"; }

# ---- prerequisites -------------------------------------------------------------------------------
step "prerequisites"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    echo "rustfmt/clippy missing: rustup component add rustfmt clippy"
    rustup component add rustfmt clippy
fi
if ! command -v readelf >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "readelf missing: apt-get install binutils"
        apt-get update && apt-get install -y binutils
    else
        echo "WARNING: readelf (binutils) not found and cannot apt-get install it (not root or no apt-get);" \
             "tests that compare against readelf may be skipped or fail" >&2
    fi
fi
cargo --version
cargo fmt --version
cargo clippy --version
if command -v readelf >/dev/null 2>&1; then readelf --version | sed -n 1p; fi

# ---- steps ---------------------------------------------------------------------------------------
run() {
    local name=$1
    shift
    step "$name: $*"
    local t0=$SECONDS
    if ! "$@"; then
        echo "<== $name FAILED after $((SECONDS - t0))s" >&2
        exit 1
    fi
    echo "<== $name ok in $((SECONDS - t0))s"
}

total0=$SECONDS
run fmt cargo fmt --all -- --check
run clippy cargo clippy --workspace --all-targets -- -D warnings
run subjects ci/subjects.sh
run test cargo test --workspace --all-targets
run parsers cargo run --quiet -- parsers corpus/real corpus/regressions/parser_diff --expect corpus/parsers.expected
run fuzz-smoke ci/fuzz-smoke.sh
run cflite-build ci/test-cflite-build.sh
echo
echo "ci/test.sh: all steps passed in $((SECONDS - total0))s"
