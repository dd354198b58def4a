//! Shared pieces of the property tests: the named strategy presets (re-exported from the library,
//! where the fuzz targets use them too), strategies for kernel evolutions and byte mutations, and the
//! oracle that exercises every read of an `Image`.
//!
//! `PROPTEST_CASES` sets the number of cases of every property (proptest reads it itself).

#![allow(dead_code)]

#[allow(unused_imports)]
pub use vdso_lab::synth::evolve::{evolve, layout_symbols, Evolution, Mutation};
pub use vdso_lab::synth::strategy as spec;

use proptest::prelude::*;
use vdso_lab::synth::pools::{self, Platform};
use vdso_lab::synth::Spec;

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<u32>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
        (any::<u32>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<u32>().prop_map(|len| Mutation::Truncate { len }),
        (
            any::<u32>(),
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
    m.apply(bytes)
}

/// Exercise every read an `Image` offers, so a panic anywhere in them surfaces.
pub fn use_everything(img: &vdso_lab::image::Image) {
    let _ = img.sections();
    let _ = img.text();
    let _ = img.build_id();
    let _ = img.linux_version();
    let _ = img.check_hashes();
    for s in img.symbols() {
        let _ = img.lookup(s.name, s.version);
        let _ = img.find(s.name, None);
    }
    let _ = img.segments().count();
}

/// The pool architectures whose trampolines the lab models (encode + independent decode).
pub fn modelled_arch() -> impl Strategy<Value = &'static Platform> {
    proptest::sample::select(vec!["x86_64", "i386", "x32", "arm64", "arm"])
        .prop_map(|n| pools::arch(n).expect("pool arch"))
}

/// What a newer or older kernel does to a vDSO.
pub fn evolution() -> impl Strategy<Value = Evolution> {
    (
        proptest::collection::vec((any::<u8>(), 0u16..64), 0..4),
        proptest::collection::vec(any::<u8>(), 0..2),
        proptest::collection::vec((any::<u8>(), 8u16..256), 0..2),
        0u16..512,
    )
        .prop_map(|(grow, drop, add, extra_text)| Evolution {
            grow,
            drop,
            add,
            extra_text,
        })
}

/// A dumped spec on a modelled architecture with a sane layout (no overlapping functions).
pub fn dumped_spec() -> impl Strategy<Value = Spec> {
    modelled_arch()
        .prop_flat_map(spec::for_arch)
        .prop_map(|mut s| {
            layout_symbols(&mut s, 0);
            s.base = 0;
            s
        })
}
