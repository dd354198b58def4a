//! How kernels change a vDSO between versions, as a generator: functions grow, vanish, appear, and the
//! text is laid out again. Used to derive a plausible `runtime` image from a `dumped` one (proptests,
//! the `vdso_reloc` and `plan_chain` fuzz targets), and byte-level [`Mutation`]s that damage built
//! images the way a corrupted dump or a fuzzer does.

use super::{Spec, SymSpec};
use crate::image::{Binding, SymKind};
use arbitrary::{Arbitrary, Unstructured};

/// One kernel-to-kernel change of a vDSO.
#[derive(Debug, Clone, Default, PartialEq, Eq, Arbitrary)]
pub struct Evolution {
    /// (symbol index, bytes): functions that grow.
    pub grow: Vec<(u8, u16)>,
    /// Symbol indices that disappear.
    pub drop: Vec<u8>,
    /// (name suffix, size): new functions `__vdso_new_<suffix>`.
    pub add: Vec<(u8, u16)>,
    /// Extra bytes of text after the last function.
    pub extra_text: u16,
}

impl Evolution {
    /// [`Evolution::arbitrary`] (the derived one) into `self`, reusing its vectors: the same bytes give
    /// the same evolution.
    pub fn arbitrary_into<'a>(&mut self, u: &mut Unstructured<'a>) -> arbitrary::Result<()> {
        fill(&mut self.grow, u)?;
        fill(&mut self.drop, u)?;
        fill(&mut self.add, u)?;
        self.extra_text = u.arbitrary()?;
        Ok(())
    }
}

/// What `Vec::<T>::arbitrary` reads (`arbitrary_iter` collected), into `v`.
fn fill<'a, T: Arbitrary<'a>>(v: &mut Vec<T>, u: &mut Unstructured<'a>) -> arbitrary::Result<()> {
    v.clear();
    for x in u.arbitrary_iter()? {
        v.push(x?);
    }
    Ok(())
}

/// Derive the runtime kernel's spec from the dumped one. Symbols are laid out again one after another
/// (each at least 16 bytes, 16-aligned, aliases kept together), as compilers lay out vDSO functions.
pub fn evolve(dumped: &Spec, e: &Evolution) -> Spec {
    let mut s = dumped.clone();
    evolve_in_place(&mut s, e);
    s
}

/// [`evolve`] into `out`, reusing its allocations (fuzz targets evolve a spec per input).
pub fn evolve_into(dumped: &Spec, e: &Evolution, out: &mut Spec) {
    out.copy_from(dumped);
    evolve_in_place(out, e);
}

fn evolve_in_place(s: &mut Spec, e: &Evolution) {
    let first_version = s.versions.first().cloned();
    let syms = &mut s.symbols;
    for &(i, by) in e.grow.iter().take(8) {
        if !syms.is_empty() {
            let n = syms.len();
            let s = &mut syms[usize::from(i) % n];
            s.size = s.size.saturating_add(u32::from(by % 1024));
        }
    }
    for &i in e.drop.iter().take(4) {
        if !syms.is_empty() {
            let n = syms.len();
            syms.remove(usize::from(i) % n);
        }
    }
    for &(suffix, size) in e.add.iter().take(4) {
        let name = format!("__vdso_new_{suffix}");
        if !syms.iter().any(|s| s.name == name) {
            syms.push(SymSpec {
                name: name.into(),
                version: first_version.clone(),
                offset: 0,
                size: u32::from(size % 1024).max(8),
                kind: SymKind::Func,
                binding: Binding::Global,
            });
        }
    }
    layout_symbols(s, u32::from(e.extra_text % 1024));
}

/// Lay symbols out back to back, each at least 16 bytes, 16-aligned; symbols that shared a non-zero
/// offset in the input (aliases) keep sharing one.
pub fn layout_symbols(s: &mut Spec, extra: u32) {
    // Each symbol's group is named by its first member (the first symbol with the same non-zero
    // offset); groups are laid out in order of their first member. One index vector (inline for
    // vDSO-sized specs), no per-group allocation: vdso_reloc lays out two specs per input.
    let syms = &mut s.symbols;
    let leader: smallvec::SmallVec<[usize; 32]> = (0..syms.len())
        .map(|i| {
            let off = syms[i].offset;
            if off == 0 {
                return i;
            }
            (0..i).find(|&j| syms[j].offset == off).unwrap_or(i)
        })
        .collect();
    let mut at = 0u32;
    for l in 0..syms.len() {
        if leader[l] != l {
            continue;
        }
        let members = || (l..syms.len()).filter(|&i| leader[i] == l);
        let size = members()
            .map(|i| syms[i].size)
            .max()
            .unwrap_or(16)
            .clamp(16, 1 << 16);
        for i in members() {
            syms[i].offset = at;
            syms[i].size = size;
        }
        at += size.div_ceil(16) * 16;
    }
    s.text_size = (at + extra).max(16);
}

/// A byte-level mutation of a built image.
#[derive(Debug, Clone, Arbitrary)]
pub enum Mutation {
    /// Set byte `at % len` to `value`.
    Set { at: u32, value: u8 },
    /// Flip bit `bit % 8` of byte `at % len`.
    Flip { at: u32, bit: u8 },
    /// Keep only the first `len % (image length + 1)` bytes.
    Truncate { len: u32 },
    /// Overwrite four bytes at `at % len` with `value` (little-endian): a table entry or a count.
    Word { at: u32, value: u32 },
}

impl Mutation {
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let n = bytes.len();
        match *self {
            Mutation::Set { at, value } => bytes[at as usize % n] = value,
            Mutation::Flip { at, bit } => bytes[at as usize % n] ^= 1 << (bit % 8),
            Mutation::Truncate { len } => bytes.truncate(len as usize % (n + 1)),
            Mutation::Word { at, value } => {
                let at = at as usize % n;
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    if let Some(x) = bytes.get_mut(at + i) {
                        *x = *b;
                    }
                }
            }
        }
    }
}
