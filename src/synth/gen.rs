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
        let arch = u.choose(ARCHES)?;
        let hash = *u.choose(&[HashStyle::Both, HashStyle::Sysv, HashStyle::Gnu])?;
        let mut versions: Vec<Name> = Vec::with_capacity(3);
        for _ in 0..u.int_in_range(0..=3)? {
            let v = if versions.is_empty() {
                arch.version
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
        let mut symbols: Vec<SymSpec> = Vec::with_capacity(MAX_GEN_SYMBOLS);
        for _ in 0..u.int_in_range(0..=MAX_GEN_SYMBOLS)? {
            let name: Name = match u.int_in_range(0..=5)? {
                0 => ident(u)?.into(),
                1 => Name::Borrowed(u.choose(all)?),
                _ => Name::Borrowed(u.choose(arch.exports)?),
            };
            if versions.iter().any(|v| super::elf::same(v, &name))
                || symbols.iter().any(|s| super::elf::same(&s.name, &name))
            {
                continue;
            }
            let offset = u.int_in_range(0..=text_size - 1)?;
            let size = u.int_in_range(0..=text_size - offset)?;
            let version = if versions.is_empty() || u.ratio(1, 8)? {
                None
            } else {
                Some(u.choose(&versions)?.clone())
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
        let base = if arch.class == Class::Elf64 && u.ratio(1, 8)? {
            // Where old x86-64 kernels linked their vDSO.
            0xffff_ffff_ff70_0000
        } else if u.ratio(1, 4)? {
            let pages = match arch.class {
                Class::Elf32 => u.int_in_range(0..=0xb_0000u64)?,
                Class::Elf64 => u.int_in_range(0..=0xf_ffff_ffffu64)?,
            };
            pages * 4096
        } else {
            0
        };
        let build_id = if u.arbitrary()? {
            let n = u.int_in_range(1..=32)?;
            Some(u.bytes(n)?.to_vec())
        } else {
            None
        };
        Ok(Spec {
            class: arch.class,
            endian: arch.endian,
            machine: arch.machine,
            soname: Name::Borrowed(arch.soname),
            hash,
            versions,
            symbols,
            text_size,
            base,
            quirks: Quirks {
                version_symbols: u.arbitrary()?,
                build_id,
                trailing_pt_null: u.arbitrary()?,
                empty_gnu_property: u.arbitrary()?,
            },
        })
    }
}
