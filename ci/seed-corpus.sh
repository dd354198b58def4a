#!/usr/bin/env bash
# Seed corpus/vdso_parse/ (libFuzzer format: one input per file, named by the sha256 of its content,
# no extension) with
#   1. every real vDSO image in ../shared/realvdso/images/*.so (relative to the repo root),
#   2. every image of corpus/real/*.so (the Debian kernels' vDSOs tracked in this repository), and
#   3. synthetic and paired seeds for every target from `cargo run --release --example seed_synth -- corpus`, if that
#      example exists.
# Either source is skipped with a message when absent. Re-running is idempotent (content-addressed).
# `--real-only` writes the real images (1 and 2) and, from 3, only the real pairs for corpus/vdso_reloc/:
# ci/cmin.sh uses it to put back the real inputs that `cargo fuzz cmin` dropped without undoing the
# minimisation of the synthetic ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
real_only=false
[[ ${1:-} == --real-only ]] && real_only=true

out=corpus/vdso_parse
mkdir -p "$out" corpus/regressions/vdso_parse corpus/regressions/vdso_reloc corpus/regressions/remap_layout corpus/regressions/plan_chain

images=../shared/realvdso/images
if [[ -d "$images" ]]; then
    shopt -s nullglob
    n=0 new=0
    for f in "$images"/*.so; do
        h=$(sha256sum "$f" | cut -d' ' -f1)
        n=$((n + 1))
        if [[ ! -e "$out/$h" ]]; then
            cp "$f" "$out/$h"
            new=$((new + 1))
        fi
    done
    shopt -u nullglob
    echo "seed-corpus: $n real vDSO images from $images ($new new) -> $out/"
else
    echo "seed-corpus: $images not found; skipping real vDSO images"
fi

shopt -s nullglob
for f in corpus/real/*.so; do
    cp "$f" "$out/$(sha256sum "$f" | cut -d' ' -f1)"
done
shopt -u nullglob

if [[ -f examples/seed_synth.rs ]] && $real_only; then
    echo "seed-corpus: --real-only: writing the real pairs for vdso_reloc with examples/seed_synth.rs"
    cargo run --release --example seed_synth -- corpus --real-only
elif [[ -f examples/seed_synth.rs ]]; then
    echo "seed-corpus: writing synthetic seeds with examples/seed_synth.rs"
    cargo run --release --example seed_synth -- corpus
else
    echo "seed-corpus: examples/seed_synth.rs not found; skipping synthetic seeds"
fi

echo "seed-corpus: $out/ now holds $(find "$out" -maxdepth 1 -type f | wc -l) inputs"
