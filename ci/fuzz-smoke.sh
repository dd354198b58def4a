#!/usr/bin/env bash
# Fuzz smoke test: build every cargo-fuzz target in fuzz/ and run each for FUZZ_SECONDS (default 30)
# over a scratch copy of corpus/<target>/ with fuzz/vdso.dict. Fails if libFuzzer exits non-zero
# (crash, oracle panic, leak, timeout, OOM). Crash inputs land in fuzz/artifacts/<target>/ (git-ignored).
#
# Sanitizer: AddressSanitizer on nightly when `rustup toolchain list` shows a nightly toolchain,
# otherwise stable Rust with `--sanitizer none`. The choice is printed.
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_TIMEOUT per-input seconds (default 10),
#              FUZZ_TARGETS (space-separated; default every [[bin]] in fuzz/Cargo.toml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz missing; running: cargo install cargo-fuzz --locked"
    t0=$SECONDS
    cargo install cargo-fuzz --locked
    echo "fuzz-smoke: cargo-fuzz installed in $((SECONDS - t0))s"
fi

if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep '^nightly' >/dev/null; then
    cargo_fuzz=(cargo +nightly fuzz)
    sanitizer=(--sanitizer address)
    echo "fuzz-smoke: sanitizer: AddressSanitizer (nightly toolchain: cargo +nightly fuzz ... --sanitizer address)"
else
    cargo_fuzz=(cargo fuzz)
    sanitizer=(--sanitizer none)
    echo "fuzz-smoke: sanitizer: none (no nightly toolchain: cargo fuzz ... --sanitizer none on stable)"
fi
echo "fuzz-smoke: $("${cargo_fuzz[@]}" --version)"

# Targets: the `name = "..."` lines of the [[bin]] sections of fuzz/Cargo.toml.
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(awk '
        /^\[\[bin\]\]/ { inbin = 1; next }
        /^\[/          { inbin = 0 }
        inbin && /^[[:space:]]*name[[:space:]]*=/ {
            sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print
        }' fuzz/Cargo.toml)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz-smoke: no [[bin]] targets found in fuzz/Cargo.toml" >&2
    exit 1
fi
echo "fuzz-smoke: targets: ${targets[*]}; ${FUZZ_SECONDS}s each"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

summary=()
for t in "${targets[@]}"; do
    echo "=== fuzz-smoke: $t: build"
    t0=$SECONDS
    "${cargo_fuzz[@]}" build --fuzz-dir "$root/fuzz" "${sanitizer[@]}" "$t"
    echo "=== fuzz-smoke: $t: built in $((SECONDS - t0))s"

    # CI never writes into the repo's corpus: libFuzzer adds new inputs to the scratch copy only.
    corpus="$scratch/corpus/$t"
    mkdir -p "$corpus"
    if [[ -d "corpus/$t" ]]; then
        find "corpus/$t" -maxdepth 1 -type f ! -name README.md ! -name '.*' -exec cp -t "$corpus" {} +
    fi
    echo "=== fuzz-smoke: $t: run ${FUZZ_SECONDS}s over $(find "$corpus" -type f | wc -l) seeds from corpus/$t"
    log="$scratch/$t.log"
    status=0
    "${cargo_fuzz[@]}" run --fuzz-dir "$root/fuzz" "${sanitizer[@]}" "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -dict="$root/fuzz/vdso.dict" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    if [[ $status -ne 0 ]]; then
        echo "fuzz-smoke: $t FAILED (libFuzzer exit $status); last 80 lines of its output:" >&2
        # (cargo-fuzz prints the failing input as one huge Debug line: clip long lines.)
        tail -n 80 "$log" | cut -c1-600 >&2
        echo "fuzz-smoke: crash inputs (if any) are in fuzz/artifacts/$t/; see fuzz/README.md to turn one into a regression" >&2
        exit "$status"
    fi
    last=$(grep 'exec/s' "$log" | tail -n 1 || true)
    echo "$t: $last"
    summary+=("$t: $last")
done

echo "=== fuzz-smoke: all targets passed (${sanitizer[*]})"
printf '  %s\n' "${summary[@]}"
