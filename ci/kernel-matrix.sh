#!/usr/bin/env bash
# The kernel matrix (README: "The live lab inside real kernels"): the lab booted as /init of Debian's
# cloud kernels 5.10, 6.1, 6.12 and 7.2 under QEMU (TCG), with the TSC and the HPET clocksource, then
# each kernel's live vDSO restored and called on every other kernel under strict and the CRIU presets;
# then, when ci/criu.sh has built CRIU 4.2.1 (ci/restore-test.sh runs before this in ci/test.sh), the
# victim migrated with that real CRIU along 5.10 -> 6.1 -> 6.12 -> 7.2 and back, normally and with the
# proxy path forced, each restore compared with the criu-4.2 preset's prediction for that pair.
#
# Installs qemu-system-x86 with apt when root and missing; builds the static lab (ci/build-static.sh);
# the kernels are fetched by `vdso-lab kernels` itself (private apt configuration, cached in
# target/kernels). When something it needs cannot be had, it prints that the kernel matrix did NOT run
# and why, and exits 0 — unless VDSO_LAB_REQUIRE names `kernels`, then it fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KERNELS=${KERNELS:-5.10 6.1 6.12 7.2 7.3}
CLOCKSOURCES=${CLOCKSOURCES:-tsc,hpet}

did_not_run() {
    echo "kernel-matrix: the kernel matrix did NOT run: $*"
    if [[ ",${VDSO_LAB_REQUIRE:-}," == *",kernels,"* || ",${VDSO_LAB_REQUIRE:-}," == *",all,"* ]]; then
        exit 1
    fi
    exit 0
}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "kernel-matrix: installing qemu-system-x86"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >/dev/null; } \
            || did_not_run "apt-get install qemu-system-x86 failed"
    else
        did_not_run "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    fi
fi
ci/build-static.sh
lab=target/x86_64-unknown-linux-gnu/release/vdso-lab
# shellcheck disable=SC2086
"$lab" kernels --fetch-only $KERNELS --cache target/kernels || did_not_run "the kernels could not be fetched (above)"
criu=()
CRIU=${CRIU:-target/criu/4.2.1/criu}
if [[ -x $CRIU ]] && command -v ldd >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
    criu=(--criu "$CRIU")
else
    echo "kernel-matrix: real CRIU across kernels: skipped: no $CRIU (ci/criu.sh builds it), or no ldd/cc"
fi
t0=$SECONDS
set +e
# shellcheck disable=SC2086
CI=1 "$lab" kernels $KERNELS --clocksource "$CLOCKSOURCES" --lab "$lab" --cache target/kernels \
    --html target/kernels/kernels.html "${criu[@]}"
rc=$?
set -e
echo "kernel-matrix: exit $rc after $((SECONDS - t0)) s"
exit $rc
