#!/bin/bash -eu
# Build every vdso-lab fuzz target for ClusterFuzzLite / OSS-Fuzz and put into $OUT, per target:
#   <target>                    the libFuzzer binary (cargo fuzz build -O)
#   <target>_seed_corpus.zip    corpus/<target>/ and corpus/regressions/<target>/
#   <target>.dict               fuzz/vdso.dict (vDSO symbol names, versions, ELF constants)
#   <target>.options            libFuzzer options naming the dictionary
# The same script serves an OSS-Fuzz project (projects/vdso-lab/build.sh would exec this one).
# CARGO_FUZZ_BUILD overrides the build command (ci/test-cflite-build.sh uses it to emulate $SRC/$OUT
# outside Docker).
cd "$SRC/vdso-lab"
# parser_diff compiles the real parsers in (subjects/build.rs); without their sources it holds none
# and says so on stderr at its first input ("parser_diff: skipped: ...").
ci/fetch-sources.sh criu-4.2.1 criu-4.1.1 musl-1.2.6
${CARGO_FUZZ_BUILD:-cargo fuzz build -O}
bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
targets=$(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^vdso-lab-fuzz$')
for t in $targets; do
    cp "$bin_dir/$t" "$OUT/$t"
    rm -f "$OUT/${t}_seed_corpus.zip"
    files=$(find "corpus/$t" "corpus/regressions/$t" -type f ! -name '.*' ! -name '*.md' 2>/dev/null || true)
    if [ -n "$files" ]; then
        if command -v zip >/dev/null 2>&1; then
            # shellcheck disable=SC2086
            zip -q -j "$OUT/${t}_seed_corpus.zip" $files
        else
            # shellcheck disable=SC2086
            python3 -m zipfile -c "$OUT/${t}_seed_corpus.zip" $files
        fi
    fi
    cp fuzz/vdso.dict "$OUT/$t.dict"
    printf '[libfuzzer]\ndict = %s.dict\ntimeout = 10\n' "$t" > "$OUT/$t.options"
done
