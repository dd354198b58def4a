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
use vdso_lab::image::Image;
use vdso_lab::layout::Role;
use vdso_lab::plan::{default_bases, plan, Decision, FindingKind, Region, Side, Target, World};
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
        let named = |k: &str| p.findings.iter().any(|f| f.symbol.as_deref() == Some(k));

        // Invariant 4.
        if p.decision == Decision::Refused {
            for f in &p.findings {
                prop_assert_eq!(f.kind, FindingKind::TargetMissing, "{}", f);
            }
            for s in di.functions() {
                let has = ri.functions().any(|r| r.name == s.name && r.version == s.version);
                prop_assert_eq!(!has, named(&key(s.name, s.version)), "{}", s.name);
            }
            return Ok(());
        }
        let mut world = World::new(arch);
        let d = world.add(Region::dumped(d0, db.clone()));
        world.apply(d, &p, &rb, r0);
        for s in di.functions() {
            let (t, _) = world.resolve(d0 + s.offset.unwrap());
            let want = ri.functions().find(|r| r.name == s.name && r.version == s.version).unwrap();
            let lands = matches!(&t, Target::Runtime { offset, .. } if Some(*offset) == want.offset);
            prop_assert!(lands || named(&key(s.name, s.version)), "{} -> {:?}, findings {:?}", s.name, t, p.findings);
        }

        match &p.decision {
            // Invariant 5.
            Decision::Proxy { patches, .. } => {
                let text = di.text().unwrap();
                let mut patched = db.clone();
                vdso_lab::plan::apply(&p, &mut patched);
                let mut covered = vec![false; db.len()];
                for w in patches.windows(2) {
                    let overlap = w[0].offset + w[0].bytes.len() as u64 > w[1].offset;
                    prop_assert!(!overlap || p.findings.iter().any(|f| f.kind == FindingKind::OverlappingPatches));
                }
                for t in patches {
                    let end = t.offset + t.bytes.len() as u64;
                    prop_assert!(t.offset >= text.start && end <= text.end, "patch {:#x}..{:#x} outside .text {:?}", t.offset, end, text);
                    prop_assert_eq!(arch.decode(&t.bytes, d0 + t.offset), Some(t.target));
                    for c in &mut covered[t.offset as usize..end as usize] {
                        *c = true;
                    }
                }
                for (i, (a, b)) in db.iter().zip(&patched).enumerate() {
                    if !covered[i] {
                        prop_assert_eq!(a, b, "byte {:#x} outside every patch changed", i);
                    }
                }
            }
            // Invariant 6.
            Decision::Remap { moves } => {
                let delta = moves[0].to.wrapping_sub(moves[0].from);
                for m in moves {
                    prop_assert_eq!(m.to.wrapping_sub(m.from), delta);
                    let target = ds.layout.get(m.role).unwrap();
                    prop_assert_eq!((m.to, m.len), (target.start, target.len()));
                }
                prop_assert!(moves.iter().any(|m| m.role == Role::Vdso));
            }
            Decision::Refused => unreachable!(),
        }
    }

    #[test]
    fn chains_resolve_like_direct_restores(a in dumped_spec(), e1 in evolution(), e2 in evolution()) {
        let b = evolve(&a, &e1);
        let c = evolve(&b, &e2);
        let (ab, bb, cb) = (a.build().unwrap(), b.build().unwrap(), c.build().unwrap());
        let ai = Image::parse(&ab).unwrap();
        let arch = Arch::of(&ai).unwrap();
        let (d0, r0) = default_bases(Some(arch));
        let lay = |bytes: &[u8], base| Side::preset(&Image::parse(bytes).unwrap(), base).layout;
        let (la, lb, lc) = (lay(&ab, d0), lay(&bb, r0), lay(&cb, r0 + (1 << 20)));

        // Chain: A on B (B parked at r0), then the process's [vdso] (B) on C (parked 1 MiB higher).
        let mut chain = World::new(arch);
        let ra = chain.add(Region::dumped(d0, ab.clone()));
        let (p1, rb) = chain.restore(ra, &la, &bb, &lb, &STRICT).unwrap();
        let (p2, _) = if p1.decision != Decision::Refused {
            let lb_now = if matches!(p1.decision, Decision::Remap { .. }) { la.clone() } else { lb.clone() };
            chain.restore(rb, &lb_now, &cb, &lc, &STRICT).unwrap()
        } else {
            (p1.clone(), rb)
        };
        // Direct: A on C.
        let mut direct = World::new(arch);
        let da = direct.add(Region::dumped(d0, ab.clone()));
        let (pd, _) = direct.restore(da, &la, &cb, &lc, &STRICT).unwrap();

        let is_refused = |p: &vdso_lab::plan::Plan| p.decision == Decision::Refused;
        let chain_refused = is_refused(&p1) || is_refused(&p2);
        if is_refused(&pd) {
            // C lacks an export of A: then B lacks it (hop 1 refuses) or C does (hop 2 refuses).
            prop_assert!(chain_refused, "direct refused ({:?}) but the chain went through", pd.findings);
            return Ok(());
        }
        if chain_refused {
            // The chain stops at a kernel in the middle that lacks an export: the refusal names it.
            let p = if is_refused(&p1) { &p1 } else { &p2 };
            prop_assert!(p.findings.iter().all(|f| f.kind == FindingKind::TargetMissing && f.symbol.is_some()));
            return Ok(());
        }
        let c_img = Image::parse(&cb).unwrap();
        for s in ai.functions() {
            let at = d0 + s.offset.unwrap();
            let (tc, _) = chain.resolve(at);
            let (td, _) = direct.resolve(at);
            let want = c_img.functions().find(|r| r.name == s.name && r.version == s.version).unwrap();
            let landing = |t: &Target| match t {
                Target::Runtime { offset, .. } => Some(*offset),
                _ => None,
            };
            // Invariant 7 proper: the chain and the direct restore end at the same place in C.
            prop_assert_eq!(landing(&tc), landing(&td), "{}: chain {:?} vs direct {:?}", s.name, tc, td);
            // And that place is the entry's own function, or a plan on the way names the entry.
            let k = key(s.name, s.version);
            let named = [&p1, &p2, &pd].iter().any(|p| p.findings.iter().any(|f| f.symbol.as_deref() == Some(k.as_str())));
            prop_assert!(landing(&tc) == want.offset || named, "{} -> {:?} unexplained", s.name, tc);
        }
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
