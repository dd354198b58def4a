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

use vdso_lab::synth::pools::{self, Arch as PoolArch};
use vdso_lab::synth::{Spec, SymSpec};

/// The pool architectures whose trampolines the lab models (encode + independent decode).
pub fn modelled_arch() -> impl Strategy<Value = &'static PoolArch> {
    proptest::sample::select(vec!["x86_64", "i386", "x32", "arm64", "arm"])
        .prop_map(|n| pools::arch(n).expect("pool arch"))
}

/// What a newer or older kernel does to a vDSO: functions grow, shrink, move, disappear, appear.
#[derive(Debug, Clone)]
pub struct Evolution {
    pub grow: Vec<(u8, u16)>,
    pub drop: Vec<u8>,
    pub add: Vec<(String, u16)>,
    pub extra_text: u16,
}

pub fn evolution() -> impl Strategy<Value = Evolution> {
    (
        proptest::collection::vec((any::<u8>(), 0u16..64), 0..4),
        proptest::collection::vec(any::<u8>(), 0..2),
        proptest::collection::vec(("__vdso_new_[a-z]{1,8}", 8u16..256), 0..2),
        0u16..512,
    )
        .prop_map(|(grow, drop, add, extra_text)| Evolution {
            grow,
            drop,
            add,
            extra_text,
        })
}

/// Derive the runtime kernel's image spec from the dumped one. Symbols are laid out again one after
/// another (each function at least 16 bytes and aligned to 16, as compilers lay out vDSO functions), so
/// the result is a plausible image of the same architecture.
pub fn evolve(dumped: &Spec, e: &Evolution) -> Spec {
    let mut syms: Vec<SymSpec> = dumped.symbols.clone();
    for &(i, by) in &e.grow {
        if !syms.is_empty() {
            let n = syms.len();
            syms[usize::from(i) % n].size += u32::from(by);
        }
    }
    for &i in &e.drop {
        if !syms.is_empty() {
            let n = syms.len();
            syms.remove(usize::from(i) % n);
        }
    }
    for (name, size) in &e.add {
        if !syms.iter().any(|s| &s.name == name) {
            syms.push(SymSpec {
                name: name.clone(),
                version: dumped.versions.first().cloned(),
                offset: 0,
                size: u32::from(*size),
                kind: vdso_lab::image::SymKind::Func,
                binding: vdso_lab::image::Binding::Global,
            });
        }
    }
    let mut s = dumped.clone();
    s.symbols = syms;
    layout_symbols(&mut s, u32::from(e.extra_text));
    s
}

/// Lay symbols out back to back in name order (aliases, i.e. same-offset groups in the input, stay
/// together), each at least 16 bytes, 16-aligned.
pub fn layout_symbols(s: &mut Spec, extra: u32) {
    let mut groups: Vec<(u32, Vec<usize>)> = Vec::new();
    for (i, sym) in s.symbols.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(off, _)| *off == sym.offset && sym.offset != 0)
        {
            Some((_, v)) => v.push(i),
            None => groups.push((sym.offset, vec![i])),
        }
    }
    let mut at = 0u32;
    for (_, members) in &groups {
        let size = members
            .iter()
            .map(|&i| s.symbols[i].size)
            .max()
            .unwrap_or(16)
            .max(16);
        for &i in members {
            s.symbols[i].offset = at;
            s.symbols[i].size = size;
        }
        at += size.div_ceil(16) * 16;
    }
    s.text_size = (at + extra).max(16);
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
