//! The invariants of DESIGN.md §3, once, as `check_*` functions that panic with the invariant's number
//! and both sides of the comparison. Proptests, fuzz targets and corpus replay all call these.

use crate::arch::Arch;
use crate::image::{same_name, Image};
use crate::layout::Layout;
use crate::plan::{Decision, FindingKind, Plan, Region, Side, Target, World};

fn key(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }
}

fn named(p: &Plan, k: &str) -> bool {
    p.findings.iter().any(|f| f.symbol.as_deref() == Some(k))
}

/// Invariant 3 on an image synth built: its hash tables are sound. An ambiguous name (two default
/// definitions) is a property of the spec, faithfully written, not a table defect, so it is allowed.
/// `what` names the image in the panic message.
pub fn check_synth_tables(img: &Image, what: &dyn std::fmt::Display) {
    let findings: Vec<_> = img
        .check_hashes()
        .into_iter()
        .filter(|f| !matches!(f, crate::image::HashFinding::Ambiguous { .. }))
        .collect();
    assert!(
        findings.is_empty(),
        "invariant 3 (hash lookups agree): {what} has findings {findings:?}"
    );
}

/// Invariant 4 (plan soundness): every exported function of the dumped image resolves, through the
/// applied plan, to the runtime symbol of the same name and version — or the plan carries a finding
/// that names it. A refusal names every export the runtime image lacks (under `strict`) and nothing
/// else is refused silently.
pub fn check_plan_sound(dumped: &Side, runtime: &Side, p: &Plan) {
    let Some(arch) = p.arch else { return };
    let (Some(dv), Some(_)) = (
        dumped.layout.get(crate::layout::Role::Vdso),
        runtime.layout.get(crate::layout::Role::Vdso),
    ) else {
        return;
    };
    if p.decision == Decision::Refused {
        assert!(
            !p.findings.is_empty(),
            "invariant 4 (plan soundness): refused without a finding"
        );
        return;
    }
    // Issue 13 item 5: a stale entry says what its old code does, and only data-page readers are
    // errors.
    for f in p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::StaleEntry)
    {
        use crate::consequence::Consequence::*;
        use crate::plan::Severity;
        let want = match f.consequence {
            Some(ReadsDataPages) => Severity::Error,
            Some(SelfContained) => Severity::Info,
            Some(Unknown) => Severity::Warning,
            None => {
                panic!("invariant 4 (plan soundness): stale entry without a consequence: {f:?}")
            }
        };
        assert_eq!(f.severity, want, "invariant 4 (plan soundness): {f:?}");
    }
    if !arch.modelled() && matches!(p.decision, Decision::Proxy { .. }) {
        // No trampolines to follow on this architecture: the planner judged from symbol knowledge
        // and said so.
        assert!(
            p.findings
                .iter()
                .any(|f| f.kind == FindingKind::UnsupportedArch),
            "invariant 4 (plan soundness): an unmodelled architecture's proxy plan does not say so"
        );
        return;
    }
    // Both function lists decoded once: they index the world's regions and drive the walk.
    let dfuncs: smallvec::SmallVec<[_; 24]> = dumped.image.functions().collect();
    let rfuncs: smallvec::SmallVec<[_; 24]> = runtime.image.functions().collect();
    let mut world = World::new(arch);
    let d = world.add(Region::of_functions(
        "dumped",
        dv.start,
        dumped.image.bytes(),
        false,
        &dfuncs,
    ));
    let park = p.runtime_vdso(&runtime.layout);
    if matches!(p.decision, Decision::Proxy { .. }) {
        // Invariant 1 of issue 13: the parked runtime mappings never lie on the dumped ones.
        let after = p.runtime_layout_after(&runtime.layout);
        for r in after.movable() {
            for d in dumped.layout.movable() {
                assert!(
                    r.end <= d.start || d.end <= r.start,
                    "invariant 4 (plan soundness): parked runtime {:?} {:#x}..{:#x} overlaps dumped {:?} {:#x}..{:#x}",
                    r.role, r.start, r.end, d.role, d.start, d.end
                );
            }
        }
    }
    world.apply_decoded(d, p, runtime.image.bytes(), &rfuncs, park);
    for s in &dfuncs {
        let Some(off) = s.offset else { continue };
        let (t, hops) = world.resolve(dv.start.wrapping_add(off));
        let want = rfuncs
            .iter()
            .find(|r| same_name(r.name, s.name) && r.version == s.version);
        let lands = matches!((&t, &want), (Target::Runtime { offset, .. }, Some(w)) if Some(*offset) == w.offset);
        if lands {
            continue;
        }
        let k = key(s.name, s.version);
        assert!(
            named(p, &k),
            "invariant 4 (plan soundness): `{k}` resolves to {t:?} via {hops:x?}, not to its runtime counterpart {:?}, and no finding names it; findings: {:?}",
            want.map(|w| w.offset),
            p.findings
        );
    }
}

/// Invariant 5 (patch safety): patches lie inside the dumped image's `.text` (or inside the image
/// when it has no usable `.text`), overlapping patches are flagged, every byte outside the patches is
/// unchanged by `apply`, and every patch decodes back to its target with the independent decoder.
pub fn check_patch_safety(dumped: &Side, p: &Plan) {
    let (Some(arch), Decision::Proxy { patches, .. }) = (p.arch, &p.decision) else {
        return;
    };
    let Some(dv) = dumped.layout.get(crate::layout::Role::Vdso) else {
        return;
    };
    let bytes = dumped.image.bytes();
    let text = dumped.image.text().unwrap_or(0..bytes.len() as u64);
    for w in patches.windows(2) {
        if w[0].offset + w[0].bytes.len() as u64 > w[1].offset {
            assert!(
                p.findings
                    .iter()
                    .any(|f| f.kind == FindingKind::OverlappingPatches),
                "invariant 5 (patch safety): patches at {:#x} and {:#x} overlap unflagged",
                w[0].offset,
                w[1].offset
            );
        }
    }
    for t in patches {
        let end = t.offset + t.bytes.len() as u64;
        assert!(
            t.offset >= text.start && end <= text.end && end <= bytes.len() as u64,
            "invariant 5 (patch safety): patch {:#x}..{end:#x} outside .text {text:x?} (image {} bytes)",
            t.offset,
            bytes.len()
        );
        // A restorer's stub that does not reach its target (CRIU's MIPS `b -4`) must be flagged.
        let decoded = arch.decode(&t.bytes, dv.start.wrapping_add(t.offset));
        let flagged = t.symbols.iter().all(|k| {
            p.findings.iter().any(|f| {
                f.kind == FindingKind::Misdirected && f.symbol.as_deref() == Some(k.as_str())
            })
        });
        assert!(
            decoded == Some(t.target) || flagged,
            "invariant 5 (patch safety): patch at {:#x} decodes to {decoded:x?}, not to its target {:#x}, unflagged",
            t.offset,
            t.target
        );
    }
    // Every byte outside the patches (which are sorted by offset) is unchanged.
    let mut patched = bytes.to_vec();
    crate::plan::apply(p, &mut patched);
    let mut from = 0usize;
    let spans = patches
        .iter()
        .map(|t| (t.offset as usize, t.offset as usize + t.bytes.len()))
        .chain([(bytes.len(), bytes.len())]);
    for (start, end) in spans {
        let to = start.max(from);
        // One comparison of the whole span; the differing byte is looked for only to report it.
        if bytes[from..to] != patched[from..to] {
            let i = (from..to).find(|&i| bytes[i] != patched[i]).unwrap_or(from);
            panic!(
                "invariant 5 (patch safety): byte {i:#x} outside every patch changed from {:#04x} to {:#04x}",
                bytes[i], patched[i]
            );
        }
        from = from.max(end);
    }
}

/// Invariant 6 (remap safety): a remap's moves, made in order on the runtime mappings, are each
/// executable — the source is where that mapping is at that moment, and the destination overlaps
/// neither the source (`mremap` refuses that) nor another runtime mapping still in place — and they
/// leave every runtime mapping it moves displaced by one distance (so distances and order are the
/// runtime's), with `[vdso]` on the dumped `[vdso]`.
pub fn check_remap_safety(dumped: &Layout, runtime: &Layout, p: &Plan) {
    let Decision::Remap { moves } = &p.decision else {
        return;
    };
    // The planner moves a role split over adjacent VMAs as one mapping (joined here on its own, not
    // with the planner's `Layout::merged`).
    let join = |l: &Layout| {
        let mut out: Vec<crate::layout::Mapping> = Vec::new();
        for m in &l.mappings {
            match out.last_mut() {
                Some(p) if p.role == m.role && p.end == m.start => p.end = m.end,
                _ => out.push(*m),
            }
        }
        Layout { mappings: out }
    };
    let (dumped, runtime) = (&join(dumped), &join(runtime));
    assert!(
        !moves.is_empty(),
        "invariant 6 (remap safety): a remap that moves nothing"
    );
    let mut now: Vec<(crate::layout::Role, u64, u64)> = runtime
        .movable()
        .map(|m| (m.role, m.start, m.len()))
        .collect();
    for (i, m) in moves.iter().enumerate() {
        let at = now
            .iter()
            .position(|&(r, s, l)| r == m.role && s == m.from && l == m.len);
        let Some(at) = at else {
            panic!(
                "invariant 6 (remap safety): move {i} of {:?} from {:#x} finds no such mapping there (mappings now {now:x?})",
                m.role, m.from
            );
        };
        let dest = (m.to, m.to.wrapping_add(m.len));
        let hit = |s: u64, l: u64| dest.0 < s.wrapping_add(l) && s < dest.1;
        assert!(
            !hit(m.from, m.len),
            "invariant 6 (remap safety): move {i} of {:?} {:#x} -> {:#x} ({:#x} bytes) overlaps its own source: mremap refuses it",
            m.role, m.from, m.to, m.len
        );
        for (j, &(r, s, l)) in now.iter().enumerate() {
            assert!(
                j == at || !hit(s, l),
                "invariant 6 (remap safety): move {i} of {:?} to {:#x} lands on {r:?} at {s:#x}, not yet moved",
                m.role, m.to
            );
        }
        now[at].1 = m.to;
    }
    let before: Vec<_> = runtime.movable().map(|m| (m.role, m.start)).collect();
    let delta = now.first().map_or(0, |f| f.1.wrapping_sub(before[0].1));
    for (k, &(role, start, _)) in now.iter().enumerate() {
        let moved = moves.iter().any(|m| m.role == role);
        let want = if moved {
            before[k].1.wrapping_add(delta)
        } else {
            before[k].1
        };
        let flagged = p
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnsoundRemap);
        assert!(
            !moved || start == want || flagged,
            "invariant 6 (remap safety): {role:?} ends at {start:#x}, not displaced like the first mapping (to {want:#x})"
        );
    }
    let vdso = now
        .iter()
        .find(|m| m.0 == crate::layout::Role::Vdso && moves.iter().any(|x| x.role == m.0))
        .expect("invariant 6 (remap safety): a remap must move [vdso]");
    assert_eq!(
        Some(vdso.1),
        dumped.get(crate::layout::Role::Vdso).map(|d| d.start),
        "invariant 6 (remap safety): [vdso] lands (left) elsewhere than the dumped [vdso] (right)"
    );
}

/// One kernel of a restore chain: its image bytes and where its `[vdso]` is placed.
pub struct Hop<'a> {
    pub bytes: &'a [u8],
    pub base: u64,
}

/// Invariant 7 (chains): restoring A on B, then (what is then the process's `[vdso]`) on C, … resolves
/// every entry point of A to the same place in the last kernel's image as restoring A on it directly
/// — or a refusal or finding on the way explains why not.
pub fn check_chain(arch: Arch, kernels: &[Hop], policy: &crate::policy::Policy) {
    let [first, rest @ ..] = kernels else { return };
    let Some(last) = rest.last() else { return };
    let lay = |h: &Hop| -> Option<Layout> {
        Image::parse(h.bytes)
            .ok()
            .map(|img| Side::preset(&img, h.base).layout)
    };
    let Ok(a) = Image::parse(first.bytes) else {
        return;
    };
    let la = Side::preset(&a, first.base).layout;
    let mut chain = World::new(arch);
    let mut current = chain.add(Region::dumped(first.base, &a));
    let mut current_layout = la.clone();
    let mut plans = Vec::new();
    for h in rest {
        let Some(l) = lay(h) else { return };
        let Ok((p, now)) = chain.restore(current, &current_layout, h.bytes, &l, policy) else {
            return;
        };
        let refused = p.decision == Decision::Refused;
        if !matches!(p.decision, Decision::Remap { .. }) {
            current_layout = p.runtime_layout_after(&l);
        }
        current = now;
        plans.push(p);
        if refused {
            break;
        }
    }
    let Some(lc) = lay(last) else { return };
    let mut direct = World::new(arch);
    let da = direct.add(Region::dumped(first.base, &a));
    let Ok((pd, _)) = direct.restore(da, &la, last.bytes, &lc, policy) else {
        return;
    };
    let chain_refused = plans.iter().any(|p| p.decision == Decision::Refused);
    if pd.decision == Decision::Refused {
        assert!(
            chain_refused || plans.iter().any(|p| p.errors() > 0),
            "invariant 7 (chains): the direct restore is refused ({:?}) but the chain went through cleanly",
            pd.findings
        );
        return;
    }
    if chain_refused {
        return; // a kernel in the middle lacks an export; its refusal names it
    }
    let Ok(c) = Image::parse(last.bytes) else {
        return;
    };
    for s in a.functions() {
        let Some(off) = s.offset else { continue };
        let at = first.base.wrapping_add(off);
        let landing = |t: &Target| match t {
            Target::Runtime { offset, .. } => Some(*offset),
            _ => None,
        };
        let (tc, _) = chain.resolve(at);
        let (td, _) = direct.resolve(at);
        let k = key(s.name, s.version);
        let explained = plans.iter().chain([&pd]).any(|p| named(p, &k));
        assert!(
            landing(&tc) == landing(&td) || explained,
            "invariant 7 (chains): `{k}`: chain lands {tc:?}, direct lands {td:?}"
        );
        let want = c
            .functions()
            .find(|r| same_name(r.name, s.name) && r.version == s.version)
            .and_then(|r| r.offset);
        assert!(
            landing(&tc) == want || explained,
            "invariant 7 (chains): `{k}` lands {tc:?}, not its own function at {want:?}, unexplained"
        );
    }
}
