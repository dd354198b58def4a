//! Invariants 4-7 (DESIGN.md §3) for the `strict` policy on generated dumped/runtime pairs of every
//! modelled architecture:
//!
//! 4. plan soundness — every exported function of the dumped image resolves, through the applied plan,
//!    to the runtime symbol of the same name and version, or the plan carries a finding naming it
//!    (under `strict` a missing counterpart refuses the plan);
//! 5. patch safety — patches lie inside `.text`, do not overlap, leave every other byte (ELF header,
//!    program headers, dynamic section, dynsym, dynstr, hash and version tables) untouched, and each
//!    decodes back to its target;
//! 6. remap safety — a remap moves every runtime mapping by one displacement (distances and order kept)
//!    onto the dumped mapping of the same role;
//! 7. chains — restoring A on B and then B on C resolves every entry of A like restoring A on C.
//!
//! Also: `decode(encode(from, to)) == to` for every modelled arch and style, and `encode` refuses what it
//! cannot reach.

mod common;

use common::{dumped_spec, evolution, evolve};
use proptest::prelude::*;
use vdso_lab::arch::{Arch, Style};
use vdso_lab::fuzzing::oracles;
use vdso_lab::image::Image;
use vdso_lab::plan::{default_bases, plan, Decision, FindingKind, Side};
use vdso_lab::policy::STRICT;

fn key(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }
}

proptest! {
    #[test]
    fn strict_plans_are_sound_and_safe(dumped in dumped_spec(), e in evolution()) {
        let runtime = evolve(&dumped, &e);
        let (db, rb) = (dumped.build().unwrap(), runtime.build().unwrap());
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let arch = Arch::of(&di).unwrap();
        let (d0, r0) = default_bases(Some(arch));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let p = plan(&ds, &rs, &STRICT);
        // Under strict a refusal names exactly the exports the runtime image lacks.
        if p.decision == Decision::Refused {
            for s in di.functions() {
                let has = ri.functions().any(|r| r.name == s.name && r.version == s.version);
                let k = key(s.name, s.version);
                let named = p.findings.iter().any(|f| f.kind == FindingKind::TargetMissing && f.names(&k));
                prop_assert_eq!(!has, named, "{}", k);
            }
        }
        let checks = [
            oracles::check_plan_sound(&ds, &rs, &STRICT, &p),
            oracles::check_patch_safety(&ds, &p),
            oracles::check_remap_safety(&ds.layout, &rs.layout, &p),
        ];
        // An image with an exported function gives invariant 4 something to follow.
        if di.functions().next().is_some() {
            prop_assert_eq!(oracles::Check::any(checks, ""), oracles::Check::Checked);
        }
    }

    /// Issue 13 items 1-2: wherever the kernel maps the runtime vDSO, even on top of the dumped one or
    /// a few pages off, and under every policy, the parked runtime never lies on the dumped image and
    /// every remap move is executable in order (invariant 6), and entry points still resolve (4).
    #[test]
    fn overlapping_runtime_layouts_are_parked(dumped in dumped_spec(), e in evolution(), pages in -12i64..12, pol in 0usize..5) {
        let runtime = evolve(&dumped, &e);
        let (db, rb) = (dumped.build().unwrap(), runtime.build().unwrap());
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let arch = Arch::of(&di).unwrap();
        let (d0, _) = default_bases(Some(arch));
        let r0 = d0.wrapping_add_signed(pages * 4096);
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let policy = vdso_lab::policy::ALL[pol];
        let p = plan(&ds, &rs, policy);
        oracles::check_plan_sound(&ds, &rs, policy, &p);
        oracles::check_patch_safety(&ds, &p);
        oracles::check_remap_safety(&ds.layout, &rs.layout, &p);
    }

    /// Issue 13 item 4: nulling any runtime entries (as the kernel does to withdraw them) never lets an
    /// empty name match: every dumped export whose runtime name was nulled is named by a finding under
    /// every policy, and no trampoline lands on a nulled entry.
    #[test]
    fn nulled_runtime_entries_are_findings(dumped in dumped_spec(), e in evolution(), mask in any::<u32>(), dmask in any::<u32>(), same in any::<bool>(), pol in 0usize..5) {
        let dmask = if same { mask } else { dmask };
        let runtime = evolve(&dumped, &e);
        let (mut db, mut rb) = (dumped.build().unwrap(), runtime.build().unwrap());
        let dnames: Vec<String> = Image::parse(&db).unwrap().functions().map(|s| s.name.to_string()).collect();
        let dchosen: Vec<&str> = dnames.iter().enumerate().filter(|(i, _)| dmask >> (i % 32) & 1 == 1).map(|(_, n)| n.as_str()).collect();
        vdso_lab::synth::null::null_names(&mut db, &dchosen);
        let names: Vec<String> = Image::parse(&rb).unwrap().functions().map(|s| s.name.to_string()).collect();
        let chosen: Vec<&str> = names.iter().enumerate().filter(|(i, _)| mask >> (i % 32) & 1 == 1).map(|(_, n)| n.as_str()).collect();
        let n = vdso_lab::synth::null::null_names(&mut rb, &chosen);
        prop_assert!(n >= chosen.len(), "nulled {} of {:?}", n, chosen);
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let policy = vdso_lab::policy::ALL[pol];
        let p = plan(&ds, &rs, policy);
        oracles::check_plan_sound(&ds, &rs, policy, &p);
        oracles::check_patch_safety(&ds, &p);
        // A restorer that rejects an image outright (and says so) names no entry point.
        let rejected = p.decision == Decision::Refused && p.findings.iter().any(|f| f.symbol.is_none() && f.severity == vdso_lab::plan::Severity::Error);
        for s in di.functions() {
            let still = ri.functions().any(|r| r.name == s.name && r.version == s.version);
            if chosen.contains(&s.name) && !still && !rejected {
                let k = key(s.name, s.version);
                prop_assert!(p.findings.iter().any(|f| f.names(&k)), "{} unnamed: {:?}", k, p.findings);
            }
        }
        if let Decision::Proxy { patches, park } = &p.decision {
            for n in ri.nulled() {
                let at = park + n.offset.unwrap();
                let aliased = ri.functions().any(|f| f.offset == n.offset && !f.name.is_empty());
                prop_assert!(aliased || patches.iter().all(|t| t.target != at), "a trampoline lands on a nulled entry at {:#x}", at);
            }
        }
    }

    /// Issue 13 item 7: splitting any special mapping into two adjacent VMAs (as /proc/PID/maps may
    /// show a [vvar]) changes nothing for strict: same decision, same findings.
    #[test]
    fn split_vmas_plan_like_whole_ones(dumped in dumped_spec(), e in evolution(), which in 0usize..3, at in 1u64..4, side in any::<bool>()) {
        let runtime = evolve(&dumped, &e);
        let (db, rb) = (dumped.build().unwrap(), runtime.build().unwrap());
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let whole = plan(&ds, &rs, &STRICT);
        let target = if side { &ds.layout } else { &rs.layout };
        let mut mappings = target.mappings.clone();
        let i = which % mappings.len();
        let m = mappings[i];
        let cut = m.start + (at * 4096).min(m.len().saturating_sub(4096)).max(4096);
        prop_assume!(cut < m.end);
        mappings[i].end = cut;
        mappings.insert(i + 1, vdso_lab::layout::Mapping { start: cut, ..m });
        let split = vdso_lab::layout::Layout { mappings };
        let (ds2, rs2) = if side {
            (Side { image: &di, layout: split }, rs.clone())
        } else {
            (ds.clone(), Side { image: &ri, layout: split })
        };
        let p = plan(&ds2, &rs2, &STRICT);
        prop_assert_eq!(&p.decision, &whole.decision);
        prop_assert_eq!(&p.findings, &whole.findings);
        oracles::check_remap_safety(&ds2.layout, &rs2.layout, &p);
    }

    #[test]
    fn chains_resolve_like_direct_restores(a in dumped_spec(), e1 in evolution(), e2 in evolution(), e3 in evolution()) {
        let b = evolve(&a, &e1);
        let c = evolve(&b, &e2);
        let d = evolve(&c, &e3);
        let bytes: Vec<Vec<u8>> = [&a, &b, &c, &d].iter().map(|s| s.build().unwrap()).collect();
        let arch = Arch::of(&Image::parse(&bytes[0]).unwrap()).unwrap();
        let (d0, r0) = default_bases(Some(arch));
        let hops: Vec<oracles::Hop> = bytes
            .iter()
            .enumerate()
            .map(|(i, b)| oracles::Hop { bytes: b, base: if i == 0 { d0 } else { r0 + (i as u64 - 1) * (1 << 20) } })
            .collect();
        let _ = oracles::check_chain(arch, &hops, &STRICT);
    }

    #[test]
    fn decode_inverts_encode(from in any::<u64>(), to in any::<u64>(), arch_i in 0usize..12, absolute in any::<bool>(), big in any::<bool>()) {
        let arch = [Arch::X86_64, Arch::I386, Arch::X32, Arch::Aarch64, Arch::Arm, Arch::Mips, Arch::MipsN32, Arch::Mips64, Arch::Loongarch64, Arch::S390x, Arch::Riscv64, Arch::Ppc64][arch_i];
        // The byte order matters on MIPS and ppc64 only; s390x is big-endian only.
        let big = if arch.order_matters() { big } else { arch == Arch::S390x };
        let mips = matches!(arch, Arch::Mips | Arch::MipsN32 | Arch::Mips64);
        let style = if absolute { Style::Absolute } else { Style::Relative };
        let align = match arch { Arch::X86_64 | Arch::I386 | Arch::X32 => !0, Arch::S390x | Arch::Riscv64 => !1, _ => !3u64 };
        let (from, to) = (from & arch.max_address() & align, to & arch.max_address() & align);
        // Near targets too, where relative jumps must succeed.
        for to in [to, from.wrapping_add(to % (1 << 20)) & arch.max_address() & align] {
            match arch.encode_for(big, style, from, to) {
                Ok(b) => {
                    prop_assert_eq!(Some(b.len()), arch.trampoline_size(style));
                    if mips && absolute {
                        // CRIU's MIPS stub is `beq $zero, $zero, -2`: it branches to the word before itself.
                        let back = from.wrapping_sub(4) & arch.max_address();
                        prop_assert_eq!(arch.decode_for(big, &b, from), Some(back));
                    } else {
                        prop_assert_eq!(arch.decode_for(big, &b, from), Some(to));
                    }
                }
                Err(e) => {
                    prop_assert_eq!(style, Style::Relative, "{}", e);
                    let reach: i128 = match arch { Arch::X86_64 | Arch::X32 => 1 << 31, Arch::Aarch64 | Arch::Loongarch64 => 1 << 27, Arch::Arm | Arch::Ppc64 => 1 << 25, Arch::S390x => 1 << 32, Arch::Riscv64 => (1 << 31) - (1 << 11), _ => i128::MAX };
                    let d = to as i128 - from as i128;
                    if mips {
                        // `j` reaches the 256 MiB region of its delay slot only.
                        prop_assert_ne!((from + 4) >> 28, to >> 28);
                    } else {
                        prop_assert!(d.abs() >= reach - 16, "{} refused {:#x} -> {:#x}", arch.name(), from, to);
                    }
                }
            }
        }
    }
}
