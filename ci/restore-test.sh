#!/usr/bin/env bash
# Real CRIU against the victim: build CRIU 4.2.1 and 4.1.1 (ci/criu.sh), then for each release that
# builds and runs here, `vdso-lab restore-test` over every scenario, normally and with the proxy path
# forced (CRIU_FAULT=127), with CRIU's own zdtm static/vdso01 beside it, compared with the record of
# expected findings (ci/criu-expected.tsv). Fails only when reality differs from the record.
# Prints `skipped: <reason>` when this machine cannot checkpoint (not root, no ptrace, no CRIU build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(uname -m) != x86_64 ]]; then
    echo "restore-test: skipped: the record is for x86-64, this is $(uname -m)"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "restore-test: skipped: criu dump/restore needs root"
    exit 0
fi
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [[ $scope -ge 3 ]]; then
    echo "restore-test: skipped: ptrace is disabled (kernel.yama.ptrace_scope=$scope)"
    exit 0
fi

mkdir -p target/criu
ci/fetch-sources.sh criu-4.2.1 criu-4.1.1
ci/criu.sh 4.2.1 4.1.1 3.17.1 | tee target/criu/criu.sh.log
cargo build --quiet --bin vdso-lab
bin=target/debug/vdso-lab

status=0
for ver in 4.2.1 4.1.1 3.17.1; do
    if ! grep -q "^criu: $ver: ok" target/criu/criu.sh.log; then
        echo "restore-test: criu $ver: skipped: $(grep "^criu: $ver:" target/criu/criu.sh.log | tail -n 1)"
        continue
    fi
    vdso01=()
    [[ -x target/criu/$ver/vdso01 ]] && vdso01=(--vdso01 "target/criu/$ver/vdso01")
    for mode in "" --force-proxy; do
        echo
        echo "---- criu $ver, every scenario, ${mode:-normal}"
        t0=$SECONDS
        if ! "$bin" restore-test --criu "target/criu/$ver/criu" --scenario all $mode "${vdso01[@]}" \
            --expect ci/criu-expected.tsv; then
            echo "restore-test: criu $ver ${mode:-normal}: reality differs from ci/criu-expected.tsv" >&2
            status=1
        fi
        echo "---- criu $ver ${mode:-normal}: $((SECONDS - t0))s"
    done
done
exit $status
