#!/usr/bin/env bash
# Build the lab as one statically linked binary, for `vdso-lab kernels`, which puts it into an
# initramfs as /init (the guest has no dynamic loader or libc); without debug info, which would
# quadruple the initramfs. Output:
#   target/x86_64-unknown-linux-gnu/release/vdso-lab
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUSTFLAGS='-C target-feature=+crt-static -C strip=debuginfo' cargo build --release --target x86_64-unknown-linux-gnu --bin vdso-lab
out=target/x86_64-unknown-linux-gnu/release/vdso-lab
if readelf -l "$out" | grep -q 'INTERP'; then
    echo "build-static: $out is not static" >&2
    exit 1
fi
echo "build-static: $out ($(du -h "$out" | cut -f1))"
