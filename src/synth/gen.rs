//! `arbitrary::Arbitrary` for [`Spec`]: structure-aware generation for the fuzz targets. Every spec it
//! returns passes [`Spec::validate`] (a test checks it over many seeds); running out of input bytes just
//! gives a smaller spec.

use super::pools::{self, ARCHES, VERSIONS};
use super::{HashStyle, Name, Quirks, Spec, SymSpec};
use crate::image::{Binding, Class, SymKind};
use arbitrary::{Arbitrary, Result, Unstructured};

/// Largest symbol count the generator asks for: above every real vDSO (17 on x86-64 7.2), and past
/// ld's 17-bucket step; more only makes every build and check slower.
const MAX_GEN_SYMBOLS: usize = 20;

fn ident(u: &mut Unstructured) -> Result<String> {
    const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyz_";
    const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyz_0123456789";
    let len = u.int_in_range(0..=24)?;
    let mut s = String::with_capacity(len + 1);
    s.push(*u.choose(FIRST)? as char);
    for _ in 0..len {
        s.push(*u.choose(REST)? as char);
    }
    Ok(s)
}

impl<'a> Arbitrary<'a> for Spec {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Spec> {
        let mut s = Spec::blank();
        s.arbitrary_into(u)?;
        Ok(s)
    }
}

impl Spec {
    /// Room to decode a spec into with [`Spec::arbitrary_into`]; not a valid spec itself (no soname).
    pub fn blank() -> Spec {
        Spec {
            class: Class::Elf64,
            endian: crate::image::Endian::Little,
            machine: 0,
            soname: Name::Borrowed(""),
            hash: HashStyle::Both,
            versions: Vec::with_capacity(3),
            symbols: Vec::with_capacity(MAX_GEN_SYMBOLS),
            text_size: 0,
            base: 0,
            quirks: Quirks::default(),
        }
    }

    /// [`Spec::arbitrary`] into `self`, reusing its vectors: the same bytes give the same spec (fuzz
    /// targets keep one spec across inputs instead of allocating one per input). On error `self` is
    /// left half-written.
    pub fn arbitrary_into(&mut self, u: &mut Unstructured) -> Result<()> {
        let arch = u.choose(ARCHES)?;
        let hash = *u.choose(&[HashStyle::Both, HashStyle::Sysv, HashStyle::Gnu])?;
        let versions = &mut self.versions;
        versions.clear();
        for _ in 0..u.int_in_range(0..=3)? {
            let v = if versions.is_empty() {
                arch.facts().version
            } else {
                *u.choose(VERSIONS)?
            };
            if !versions.iter().any(|x| x == v) {
                versions.push(Name::Borrowed(v));
            }
        }
        // Real vDSO text is 1-6 KiB; more only makes every build slower.
        let text_size = u.int_in_range(16..=6144u32)?;
        let all = pools::all_names_ref();
        let symbols = &mut self.symbols;
        symbols.clear();
        for _ in 0..u.int_in_range(0..=MAX_GEN_SYMBOLS)? {
            let name: Name = match u.int_in_range(0..=5)? {
                0 => ident(u)?.into(),
                1 => Name::Borrowed(u.choose(all)?),
                _ => Name::Borrowed(u.choose(arch.facts().exports)?),
            };
            if versions.iter().any(|v| crate::image::same_name(v, &name))
                || symbols
                    .iter()
                    .any(|s| crate::image::same_name(&s.name, &name))
            {
                continue;
            }
            let offset = u.int_in_range(0..=text_size - 1)?;
            let size = u.int_in_range(0..=text_size - offset)?;
            let version = if versions.is_empty() || u.ratio(1, 8)? {
                None
            } else {
                Some(u.choose(versions)?.clone())
            };
            symbols.push(SymSpec {
                name,
                version,
                offset,
                size,
                kind: *u.choose(&[
                    SymKind::Func,
                    SymKind::Func,
                    SymKind::NoType,
                    SymKind::Object,
                ])?,
                binding: *u.choose(&[Binding::Global, Binding::Weak])?,
            });
        }
        let base = if arch.facts().class == Class::Elf64 && u.ratio(1, 8)? {
            // Where old x86-64 kernels linked their vDSO.
            0xffff_ffff_ff70_0000
        } else if u.ratio(1, 4)? {
            let pages = match arch.facts().class {
                Class::Elf32 => u.int_in_range(0..=0xb_0000u64)?,
                Class::Elf64 => u.int_in_range(0..=0xf_ffff_ffffu64)?,
            };
            pages * 4096
        } else {
            0
        };
        if u.arbitrary()? {
            let n = u.int_in_range(1..=32)?;
            let id = self.quirks.build_id.get_or_insert_with(Vec::new);
            id.clear();
            id.extend_from_slice(u.bytes(n)?);
        } else {
            self.quirks.build_id = None;
        }
        self.class = arch.facts().class;
        self.endian = arch.endian;
        self.machine = arch.facts().machine;
        self.soname = Name::Borrowed(arch.facts().soname);
        self.hash = hash;
        self.text_size = text_size;
        self.base = base;
        self.quirks.version_symbols = u.arbitrary()?;
        self.quirks.trailing_pt_null = u.arbitrary()?;
        self.quirks.empty_gnu_property = u.arbitrary()?;
        Ok(())
    }
}
