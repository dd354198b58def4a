#!/usr/bin/env bash
# Test .clusterfuzzlite/build.sh without Docker: emulate the builder's environment ($SRC holding the
# repository as vdso-lab/, an empty $OUT), run the script with the cargo-fuzz build this machine can
# do, and check that every target's binary, seed corpus zip, dictionary and options land in $OUT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/cflite.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/out"
ln -s "$root" "$work/src/vdso-lab"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    build="cargo +nightly fuzz build -O"
else
    build="cargo fuzz build -O --sanitizer none"
fi
echo "cflite-build: SRC=$work/src OUT=$work/out CARGO_FUZZ_BUILD='$build'"
SRC="$work/src" OUT="$work/out" CARGO_FUZZ_BUILD="$build" bash .clusterfuzzlite/build.sh
status=0
for t in $(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^vdso-lab-fuzz$'); do
    for f in "$t" "${t}_seed_corpus.zip" "$t.dict" "$t.options"; do
        if [[ ! -s "$work/out/$f" ]]; then
            echo "cflite-build: MISSING $f" >&2
            status=1
        fi
    done
    n=$(python3 -c "import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$work/out/${t}_seed_corpus.zip" 2>/dev/null || echo 0)
    echo "cflite-build: $t: binary, $n seeds, dict, options"
done
# parser_diff must hold the real parsers: run it on one seed and read what it says it holds.
seed=$(find corpus/parser_diff -type f ! -name '.*' -print -quit) # not | head: find dies of SIGPIPE under pipefail once the list outgrows the pipe
said=$("$work/out/parser_diff" -runs=1 "$seed" 2>&1 | grep '^parser_diff:' || true)
echo "cflite-build: $said"
if ! grep -q '^parser_diff: [0-9]* subjects' <<<"$said"; then
    echo "cflite-build: the parser_diff build holds no real parser" >&2
    status=1
fi
exit $status
