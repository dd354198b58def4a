//! Shared pieces of the property tests: the named strategy presets (re-exported from the library, where
//! the fuzz targets use them too) and the byte-level mutations used on built images.
//!
//! `PROPTEST_CASES` sets the number of cases of every property (proptest reads it itself).

#![allow(dead_code)]

pub use vdso_lab::synth::strategy as spec;

use proptest::prelude::*;

/// A byte-level mutation of a built image: what a corrupted dump or a fuzzer does.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Set byte `at % len` to `value`.
    Set { at: usize, value: u8 },
    /// Flip bit `bit % 8` of byte `at % len`.
    Flip { at: usize, bit: u8 },
    /// Keep only the first `len % (image length + 1)` bytes.
    Truncate { len: usize },
    /// Overwrite four bytes at `at % len` with `value` (little-endian), e.g. a table entry or a count.
    Word { at: usize, value: u32 },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (
            any::<usize>(),
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(u32::MAX),
                Just(0x8000_0000),
                any::<u32>()
            ]
        )
            .prop_map(|(at, value)| Mutation::Word { at, value }),
    ]
}

pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Set { at, value } => bytes[at % n] = value,
        Mutation::Flip { at, bit } => bytes[at % n] ^= 1 << (bit % 8),
        Mutation::Truncate { len } => bytes.truncate(len % (n + 1)),
        Mutation::Word { at, value } => {
            let at = at % n;
            for (i, b) in value.to_le_bytes().iter().enumerate() {
                if let Some(x) = bytes.get_mut(at + i) {
                    *x = *b;
                }
            }
        }
    }
}

/// Exercise every read an `Image` offers, so a panic anywhere in them surfaces.
pub fn use_everything(img: &vdso_lab::image::Image) {
    let _ = img.sections();
    let _ = img.text();
    let _ = img.build_id();
    let _ = img.check_hashes();
    for s in img.symbols() {
        let _ = img.lookup(s.name, s.version);
        let _ = img.find(s.name, None);
    }
    let _ = img.segments().count();
}
