#!/usr/bin/env bash
# The project's test command (README: `ci/test.sh`; `.ci/run` execs it).
# Installs missing prerequisites, then runs, stopping at the first failure:
#   cargo fmt --check, cargo clippy -D warnings, ci/subjects.sh (fetch and build the real parsers),
#   cargo test --all-targets (the workspace: vdso-lab, core/, subjects/), vdso-lab parsers over
#   corpus/real and the parser_diff regressions against corpus/parsers.expected, ci/fuzz-smoke.sh,
#   ci/test-cflite-build.sh (the ClusterFuzzLite build script in an emulated $SRC/$OUT),
#   ci/restore-test.sh (real CRIU 4.2.1 and 4.1.1 built from source, restoring `vdso-lab victim` in every
#   scenario, normal and forced-proxy, against the record ci/criu-expected.tsv; skipped without root),
#   ci/kernel-matrix.sh (the lab inside Debian's 5.10-7.2 kernels under QEMU, and restores across them,
#   with the victim migrated between them by the CRIU 4.2.1 ci/restore-test.sh built; says plainly when
#   it or the CRIU part did not run).
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
if ! command -v cpio >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "cpio missing (the initramfs test reads kernels' archives back with it): apt-get install cpio"
    apt-get install -y cpio >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y cpio >/dev/null; }
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

# Features whose tests must run, not skip (src/require.rs): CI cannot go green when nothing ran.
# Override with VDSO_LAB_REQUIRE= (empty) on a machine that lacks them.
export VDSO_LAB_REQUIRE=${VDSO_LAB_REQUIRE-live,timens,readelf,cpio}
echo "VDSO_LAB_REQUIRE=$VDSO_LAB_REQUIRE"

total0=$SECONDS
run fmt cargo fmt --all -- --check
run clippy cargo clippy --workspace --all-targets -- -D warnings
run subjects ci/subjects.sh
run test cargo test --workspace --all-targets
run criu-restore ci/restore-test.sh
run parsers cargo run --quiet -- parsers corpus/real corpus/regressions/parser_diff --expect corpus/parsers.expected
run fuzz-smoke ci/fuzz-smoke.sh
run cflite-build ci/test-cflite-build.sh
run kernel-matrix ci/kernel-matrix.sh
echo
echo "ci/test.sh: all steps passed in $((SECONDS - total0))s"
