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

# Can this machine checkpoint at all? A trivial process (sleep) dumped and restored with the same
# options as the victim; if that fails the environment (container, seccomp, missing kernel feature)
# is the cause, not CRIU's vDSO handling, and the release is skipped with CRIU's error.
preflight() {
    local criu=$1 dir
    dir=$(mktemp -d /tmp/vdso-lab-preflight.XXXXXX)
    setsid sleep 60 </dev/null >/dev/null 2>&1 &
    local pid=$!
    local err=""
    if ! "$criu" dump -t "$pid" -D "$dir" --shell-job -o dump.log >/dev/null 2>&1; then
        err="criu dump of a sleep process fails: $(grep -m1 Error "$dir/dump.log" || true)"
        kill -9 "$pid" 2>/dev/null || true
    else
        wait "$pid" 2>/dev/null || true
        for _ in $(seq 500); do [[ -e /proc/$pid ]] || break; sleep 0.01; done
        if ! "$criu" restore -D "$dir" --shell-job -d -o restore.log >/dev/null 2>&1; then
            err="criu restore of a sleep process fails: $(grep -m1 Error "$dir/restore.log" || true)"
        fi
        # The restored sleep (same pid, now a child of init): kill it until it is gone.
        for _ in $(seq 100); do kill -9 "$pid" 2>/dev/null || break; sleep 0.01; done
    fi
    rm -rf "$dir"
    [[ -z $err ]] || { echo "$err"; return 1; }
}

status=0
for ver in 4.2.1 4.1.1 3.17.1; do
    if ! grep -q "^criu: $ver: ok" target/criu/criu.sh.log; then
        echo "restore-test: criu $ver: skipped: $(grep "^criu: $ver:" target/criu/criu.sh.log | tail -n 1)"
        continue
    fi
    if ! why=$(preflight "target/criu/$ver/criu"); then
        echo "restore-test: criu $ver: skipped: this machine cannot checkpoint: $why"
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
    # As in a container: the victim in a pid namespace of its own, the caller's session outside it
    # (CRIU refuses a task whose session leader it cannot see; the victim leads a new session).
    # Descriptors above 2 are closed: one opened outside the new mount namespace cannot be dumped.
    echo
    echo "---- criu $ver, plain, in a new pid namespace"
    if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
        echo "restore-test: criu $ver in a new pid namespace: skipped: unshare --pid --mount-proc is not permitted here"
        continue
    fi
    if ! unshare --pid --fork --mount-proc bash -c \
        'for fd in /proc/self/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
         exec "$@"' _ "$bin" restore-test --criu "target/criu/$ver/criu" --scenario plain \
        --work target/restore-test/pidns --expect ci/criu-expected.tsv; then
        echo "restore-test: criu $ver in a new pid namespace: reality differs from ci/criu-expected.tsv" >&2
        status=1
    fi
done
exit $status
