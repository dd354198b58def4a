//! proptest strategies for [`Spec`], and named presets. Every spec they produce passes
//! [`Spec::validate`] (a test in `proptests/` checks it).
//!
//! * [`spec`] — any architecture, hash style, versions, symbols and quirks;
//! * [`for_arch`] — the same, on one architecture's class, machine, endianness and export names;
//! * [`x86_64_linux_6_18`] — the shape of the live x86-64 vDSO on this project's machines (Linux 6.18):
//!   the `__vdso_*` functions with their weak aliases, `LINUX_2.6`, both hash tables; only offsets and
//!   sizes vary.

use super::pools::{self, Platform, ARCHES, VERSIONS};
use super::{HashStyle, Name, Quirks, Spec, SymSpec};
use crate::image::{Binding, Class, SymKind};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

fn hash_style() -> impl Strategy<Value = HashStyle> {
    prop_oneof![
        Just(HashStyle::Both),
        Just(HashStyle::Sysv),
        Just(HashStyle::Gnu)
    ]
}

fn kind() -> impl Strategy<Value = SymKind> {
    prop_oneof![
        8 => Just(SymKind::Func),
        1 => Just(SymKind::NoType),
        1 => Just(SymKind::Object),
    ]
}

fn binding() -> impl Strategy<Value = Binding> {
    prop_oneof![3 => Just(Binding::Global), 1 => Just(Binding::Weak)]
}

/// A symbol name: mostly real vDSO entry points, sometimes an arbitrary C identifier.
fn name(arch: &'static Platform) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(arch.facts().exports).prop_map(str::to_string),
        1 => select(pools::all_names()).prop_map(str::to_string),
        1 => "[a-z_][a-z0-9_]{0,30}",
    ]
}

fn quirks() -> impl Strategy<Value = Quirks> {
    (
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=32)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(version_symbols, build_id, trailing_pt_null, empty_gnu_property)| Quirks {
                version_symbols,
                build_id,
                trailing_pt_null,
                empty_gnu_property,
            },
        )
}

fn base(class: Class) -> impl Strategy<Value = u64> {
    let max_page = match class {
        Class::Elf32 => 0xb_0000u64,
        Class::Elf64 => 0xf_ffff_ffffu64,
    };
    // Old x86-64 kernels linked the vDSO at 0xffffffffff700000 (arch/x86/entry/vdso before 3.x moved
    // to a zero base); a 64-bit image can sit there.
    let legacy = if class == Class::Elf64 {
        0xffff_ffff_ff70_0000u64
    } else {
        0
    };
    prop_oneof![
        4 => Just(0u64),
        1 => (0..max_page).prop_map(|p| p * 4096),
        1 => Just(legacy),
    ]
}

/// Any spec for one architecture.
pub fn for_arch(arch: &'static Platform) -> impl Strategy<Value = Spec> {
    let versions = subsequence(VERSIONS, 0..=3).prop_map(move |mut v| {
        // The architecture's own version first, as the kernel's linker scripts define it.
        if !v.is_empty() {
            v.retain(|x| *x != arch.facts().version);
            v.insert(0, arch.facts().version);
        }
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    });
    (
        hash_style(),
        versions,
        16u32..8192,
        proptest::collection::btree_map(
            name(arch),
            (any::<u32>(), any::<u32>(), kind(), binding(), any::<u8>()),
            0..24,
        ),
        base(arch.facts().class),
        quirks(),
    )
        .prop_map(move |(hash, versions, text_size, syms, base, quirks)| {
            let symbols = syms
                .into_iter()
                .filter(|(n, _)| !versions.contains(n))
                .map(|(name, (o, s, kind, binding, v))| {
                    let offset = o % text_size;
                    let size = s % (text_size - offset + 1);
                    let version = if versions.is_empty() || v % 8 == 0 {
                        None
                    } else {
                        Some(versions[usize::from(v) % versions.len()].clone())
                    };
                    SymSpec {
                        name: name.into(),
                        version: version.map(Name::from),
                        offset,
                        size,
                        kind,
                        binding,
                    }
                })
                .collect();
            Spec {
                class: arch.facts().class,
                endian: arch.endian,
                machine: arch.facts().machine,
                soname: arch.facts().soname.into(),
                hash,
                versions: versions.into_iter().map(Name::from).collect(),
                symbols,
                text_size,
                base,
                quirks,
            }
        })
}

/// Any spec on any architecture.
pub fn spec() -> impl Strategy<Value = Spec> {
    select(ARCHES).prop_flat_map(|a| for_arch(pools::arch(a.name).unwrap_or(&ARCHES[0])))
}

/// The shape of the x86-64 vDSO of Linux 6.18 (as seen live on this project's machines): five `__vdso_*`
/// functions, each with a weak alias at the same place, plus the `LINUX_2.6` version symbol, both hash
/// tables and a build id. Offsets and sizes vary; the symbols never overlap.
pub fn x86_64_linux_6_18() -> impl Strategy<Value = Spec> {
    const FUNCS: [(&str, &str); 6] = [
        ("__vdso_clock_gettime", "clock_gettime"),
        ("__vdso_gettimeofday", "gettimeofday"),
        ("__vdso_time", "time"),
        ("__vdso_clock_getres", "clock_getres"),
        ("__vdso_getcpu", "getcpu"),
        ("__vdso_getrandom", "getrandom"),
    ];
    (
        proptest::collection::vec(8u32..1024, FUNCS.len()),
        proptest::collection::vec(0u32..64, FUNCS.len()),
    )
        .prop_map(|(sizes, gaps)| {
            let mut at = 0u32;
            let mut symbols = Vec::new();
            for ((real, alias), (size, gap)) in FUNCS.iter().zip(sizes.iter().zip(&gaps)) {
                at += gap;
                for (name, binding) in [(real, Binding::Global), (alias, Binding::Weak)] {
                    symbols.push(SymSpec {
                        name: Name::Borrowed(name),
                        version: Some("LINUX_2.6".into()),
                        offset: at,
                        size: *size,
                        kind: SymKind::Func,
                        binding,
                    });
                }
                at += size;
            }
            let x86 = pools::arch("x86_64").unwrap_or(&ARCHES[0]);
            Spec {
                class: x86.facts().class,
                endian: x86.endian,
                machine: x86.facts().machine,
                soname: x86.facts().soname.into(),
                hash: HashStyle::Both,
                versions: vec!["LINUX_2.6".into()],
                symbols,
                text_size: at.max(16),
                base: 0,
                quirks: Quirks {
                    version_symbols: true,
                    build_id: Some(vec![0x5a; 20]),
                    trailing_pt_null: false,
                    empty_gnu_property: false,
                },
            }
        })
}
