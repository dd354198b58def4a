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
                let named = p.findings.iter().any(|f| f.kind == FindingKind::TargetMissing && f.symbol.as_deref() == Some(k.as_str()));
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
    fn decode_inverts_encode(from in any::<u64>(), to in any::<u64>(), arch_i in 0usize..5, absolute in any::<bool>()) {
        let arch = [Arch::X86_64, Arch::I386, Arch::X32, Arch::Aarch64, Arch::Arm][arch_i];
        let style = if absolute { Style::Absolute } else { Style::Relative };
        let align = if matches!(arch, Arch::Aarch64 | Arch::Arm) { !3u64 } else { !0 };
        let (from, to) = (from & arch.max_address() & align, to & arch.max_address() & align);
        // Near targets too, where relative jumps must succeed.
        for to in [to, from.wrapping_add(to % (1 << 20)) & arch.max_address() & align] {
            match arch.encode(style, from, to) {
                Ok(b) => {
                    prop_assert_eq!(Some(b.len()), arch.trampoline_size(style));
                    prop_assert_eq!(arch.decode(&b, from), Some(to));
                }
                Err(e) => {
                    prop_assert_eq!(style, Style::Relative, "{}", e);
                    let reach: i128 = match arch { Arch::X86_64 | Arch::X32 => 1 << 31, Arch::Aarch64 => 1 << 27, Arch::Arm => 1 << 25, _ => i128::MAX };
                    let d = to as i128 - from as i128;
                    prop_assert!(d.abs() >= reach - 16, "{} refused {:#x} -> {:#x}", arch.name(), from, to);
                }
            }
        }
    }
}
