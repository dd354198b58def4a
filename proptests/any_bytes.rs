//! Invariant 1 (DESIGN.md §3): any bytes give `Ok(Image)` or a typed error — no panic — and every read
//! an `Image` offers afterwards (sections, text, build id, hash cross-check, lookups) is panic-free too.
//! Inputs: raw random bytes, and built images damaged by byte-level mutations (the interesting case:
//! almost-valid ELF).

mod common;

use common::{apply, mutation, spec, use_everything};
use proptest::prelude::*;
use vdso_lab::image::Image;

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(img) = Image::parse(&data) {
            use_everything(&img);
        };
    }

    #[test]
    fn random_bytes_behind_an_elf_header_never_panic(
        class in 1u8..=2,
        data in 1u8..=2,
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut b = vec![0x7f, b'E', b'L', b'F', class, data, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend(tail);
        if let Ok(img) = Image::parse(&b) {
            use_everything(&img);
        };
    }

    #[test]
    fn mutated_images_never_panic(
        s in spec::spec(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = s.build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for m in &muts {
            apply(&mut bytes, m);
        }
        if let Ok(img) = Image::parse(&bytes) {
            use_everything(&img);
        };
    }
}
