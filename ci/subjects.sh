#!/usr/bin/env bash
# Fetch the real parsers' sources (ci/fetch-sources.sh: pinned CRIU and musl tarballs from Debian's
# source packages, into target/sources/) and build them into the harness (subjects/build.rs, cached in
# target/ like any build script output), then list what was built. Run before `cargo test` so that the
# known-answer tests in tests/parsers.rs see the subjects.
#
# A source the archive does not serve is reported `skipped: ...` by both steps; with VDSO_LAB_REQUIRE
# set (CI requiring that nothing was skipped), any skipped subject fails this step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ci/fetch-sources.sh criu-4.2.1 criu-4.1.1 musl-1.2.6
cargo build --quiet -p vdso-lab-subjects
list=$(cargo run --quiet -- parsers --list)
echo "$list"
if [[ -n "${VDSO_LAB_REQUIRE:-}" ]] && grep -q "skipped:" <<<"$list"; then
    echo "subjects: a subject was skipped and VDSO_LAB_REQUIRE is set" >&2
    exit 1
fi
