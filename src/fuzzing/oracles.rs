//! The invariants of DESIGN.md §3, once, as `check_*` functions that panic with the invariant's number
//! and both sides of the comparison. Proptests, fuzz targets and corpus replay all call these.
//!
//! The oracles do not re-run the code they judge. Invariant 4 follows every dumped entry point through
//! its own model of the restored address space ([`Restored`]): it writes the plan's patch bytes into a
//! copy of the dumped image itself, decodes whatever bytes it finds there with the architecture's
//! decoder (`arch::decode`, never the planner's `World`), and looks the landing up in the runtime
//! image's symbol table as the parser reads it. What "nothing is missing" means under `strict` is
//! likewise computed here from the two symbol tables, not taken from the planner.
//!
//! Each check returns whether it had something to compare ([`Check::Checked`]) or not
//! ([`Check::Vacuous`], with the reason): a replay or smoke in which every input was vacuous proves
//! nothing, and its callers fail it.

use crate::arch::{Arch, Style};
use crate::image::{same_name, Image, Symbol};
use crate::layout::{Layout, Role};
use crate::plan::{Decision, FindingKind, Patch, Plan, Region, Side, Target, World};
use crate::policy::{Missing, Policy};

/// What one invariant did with one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The invariant compared something and it held.
    Checked,
    /// The input gave the invariant nothing to compare; the reason says why.
    Vacuous(&'static str),
}

impl Check {
    /// `Checked` when any of `checks` is, else the first vacuous reason (or `why` when there is none).
    pub fn any(checks: impl IntoIterator<Item = Check>, why: &'static str) -> Check {
        let mut first = None;
        for c in checks {
            match c {
                Check::Checked => return Check::Checked,
                Check::Vacuous(r) => {
                    first.get_or_insert(r);
                }
            }
        }
        Check::Vacuous(first.unwrap_or(why))
    }
}

fn key(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }
}

fn named(p: &Plan, k: &str) -> bool {
    p.findings.iter().any(|f| f.symbol.as_deref() == Some(k))
}

/// `strict` and its variants: every exported function is redirected, a missing counterpart refuses
/// the restore, and every special-mapping layout is understood. Under such a policy a restore where
/// nothing is missing must go through.
fn strict_like(policy: &Policy) -> bool {
    policy.known.is_none() && policy.missing == Missing::Refuse && policy.vclock_aware
}

/// The runtime offsets of the exported functions named `s.name` at `s.version`, read from the runtime
/// image's symbol table.
fn counterparts<'r>(runtime: &'r [Symbol<'r>], s: &'r Symbol) -> impl Iterator<Item = u64> + 'r {
    runtime
        .iter()
        .filter(move |r| same_name(r.name, s.name) && r.version == s.version)
        .filter_map(|r| r.offset)
}

/// The dumped bytes with `patches` written in, by the oracle itself (patches that do not fit are
/// left out: invariant 5 rejects them).
fn patched_copy(bytes: &[u8], patches: &[Patch]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for p in patches {
        let Ok(start) = usize::try_from(p.offset) else {
            continue;
        };
        if let Some(dst) = out.get_mut(start..start.saturating_add(p.bytes.len())) {
            dst.copy_from_slice(&p.bytes);
        }
    }
    out
}

/// Where an address leads in [`Restored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// This offset into the runtime image: live code.
    Runtime(u64),
    /// This offset of the dumped image, whose bytes are not a trampoline: old code.
    Stale(u64),
    /// No image holds the address, or trampolines loop.
    Nowhere(u64),
}

/// How many trampolines [`Restored::follow`] decodes before calling a chain a loop. Real restores
/// need one; 16 leaves room for chains of restores.
const MAX_HOPS: usize = 16;

/// The oracle's own model of the address space after a restore: the dumped image as the plan leaves
/// it, and the runtime image where the plan puts it. The runtime image shadows the dumped one where
/// they overlap (a remap maps it over the dumped `[vdso]`).
pub struct Restored<'a> {
    pub arch: Arch,
    /// The dumped `[vdso]` address and the bytes there.
    pub dumped: (u64, std::borrow::Cow<'a, [u8]>),
    /// The runtime image's address and bytes; `None` when the plan maps no runtime code.
    pub runtime: Option<(u64, &'a [u8])>,
}

impl Restored<'_> {
    /// Follow `at` through trampolines, decoded with `arch::decode`; also returns the addresses visited.
    pub fn follow(&self, mut at: u64) -> (Landing, smallvec::SmallVec<[u64; 4]>) {
        let mut hops = smallvec::smallvec![at];
        for _ in 0..MAX_HOPS {
            if let Some((base, bytes)) = self.runtime {
                let off = at.wrapping_sub(base);
                if off < bytes.len() as u64 {
                    return (Landing::Runtime(off), hops);
                }
            }
            let (base, bytes) = (&self.dumped.0, &self.dumped.1);
            let off = at.wrapping_sub(*base);
            let rest = usize::try_from(off).ok().and_then(|o| bytes.get(o..));
            match rest {
                Some(rest) if !rest.is_empty() => match self.arch.decode(rest, at) {
                    Some(next) => {
                        at = next;
                        hops.push(at);
                    }
                    None => return (Landing::Stale(off), hops),
                },
                _ => return (Landing::Nowhere(at), hops),
            }
        }
        (Landing::Nowhere(at), hops)
    }
}

/// Invariant 3 on an image synth built: its hash tables are sound. An ambiguous name (two default
/// definitions) is a property of the spec, faithfully written, not a table defect, so it is allowed.
/// `what` names the image in the panic message.
pub fn check_synth_tables(img: &Image, what: &dyn std::fmt::Display) -> Check {
    let findings: Vec<_> = img
        .check_hashes()
        .into_iter()
        .filter(|f| !matches!(f, crate::image::HashFinding::Ambiguous { .. }))
        .collect();
    assert!(
        findings.is_empty(),
        "invariant 3 (hash lookups agree): {what} has findings {findings:?}"
    );
    if img.symbols().next().is_none() {
        return Check::Vacuous("the image has no symbols to look up");
    }
    Check::Checked
}

type Funcs<'a> = smallvec::SmallVec<[Symbol<'a>; 24]>;

/// Invariant 4 (plan soundness): every exported function of the dumped image resolves, through the
/// applied plan, to the runtime symbol of the same name and version — or the plan carries a finding
/// that names it. Under a `strict`-like policy a refusal names every export the runtime image lacks,
/// a restore where nothing is missing is never refused, and (unless the dumped image leaves no room
/// for separate trampolines) it has no errors: a planner that refuses everything, or calls every
/// entry point stale, fails here.
pub fn check_plan_sound(dumped: &Side, runtime: &Side, policy: &Policy, p: &Plan) -> Check {
    let refused = p.decision == Decision::Refused;
    let (da, ra) = (Arch::of(dumped.image), Arch::of(runtime.image));
    let Some(arch) = da.filter(|_| da == ra) else {
        assert!(
            refused && !p.findings.is_empty(),
            "invariant 4 (plan soundness): a {da:?} image restored on a {ra:?} one is not refused with a finding: {:?}",
            p.decision
        );
        return Check::Vacuous("the architectures differ or are unknown");
    };
    let (Some(dv), Some(rv)) = (
        dumped.layout.get(Role::Vdso),
        runtime.layout.get(Role::Vdso),
    ) else {
        assert!(
            refused && !p.findings.is_empty(),
            "invariant 4 (plan soundness): a layout without [vdso] is not refused with a finding: {:?}",
            p.decision
        );
        return Check::Vacuous("a layout has no [vdso]");
    };
    let exports: Funcs = dumped.image.functions().collect();
    let rfuncs: Funcs = runtime.image.functions().collect();
    let missing = exports
        .iter()
        .filter(|s| counterparts(&rfuncs, s).next().is_none())
        .count();
    if refused {
        return judge_refusal(policy, p, &exports, &rfuncs, missing);
    }
    let check = if !arch.modelled() && matches!(p.decision, Decision::Proxy { .. }) {
        judge_by_knowledge(arch, policy, p, &exports, &rfuncs)
    } else {
        let restored = Restored {
            arch,
            dumped: (dv.start, std::borrow::Cow::Borrowed(dumped.image.bytes())),
            runtime: None,
        };
        let restored = match &p.decision {
            Decision::Remap { moves } => Restored {
                runtime: moves
                    .iter()
                    .find(|m| m.role == Role::Vdso)
                    .map(|m| (m.to, runtime.image.bytes())),
                ..restored
            },
            Decision::Proxy { patches, .. } => Restored {
                dumped: (
                    dv.start,
                    std::borrow::Cow::Owned(patched_copy(dumped.image.bytes(), patches)),
                ),
                // A proxy leaves the runtime vDSO where the runtime kernel mapped it.
                runtime: Some((rv.start, runtime.image.bytes())),
                ..restored
            },
            Decision::Refused => unreachable!("refusals are judged above"),
        };
        judge_landings(&restored, dv.start, p, &exports, &rfuncs)
    };
    if strict_like(policy) && missing == 0 {
        let excuse = degenerate(&exports, &rfuncs, dumped, runtime).or_else(|| match p.decision {
            Decision::Proxy { .. } if arch.modelled() => {
                crowded(arch, dumped, runtime, &exports, &rfuncs)
            }
            _ => None,
        });
        if excuse.is_none() {
            assert_eq!(
                p.errors(),
                0,
                "invariant 4 (plan soundness): under {} nothing is missing and every trampoline fits, yet the plan has errors: {:?}",
                policy.name,
                p.findings
            );
        }
    }
    check
}

/// A refused plan: it says why; under a `strict`-like policy it names every missing export, and
/// something must be missing.
fn judge_refusal(
    policy: &Policy,
    p: &Plan,
    exports: &[Symbol],
    rfuncs: &[Symbol],
    missing: usize,
) -> Check {
    assert!(
        !p.findings.is_empty(),
        "invariant 4 (plan soundness): refused without a finding"
    );
    if !strict_like(policy) {
        return Check::Vacuous("refused by a policy that refuses for its own reasons");
    }
    assert!(
        missing > 0,
        "invariant 4 (plan soundness): under {} every export has a runtime counterpart, yet the restore is refused: {:?}",
        policy.name,
        p.findings
    );
    for s in exports {
        if counterparts(rfuncs, s).next().is_none() {
            let k = key(s.name, s.version);
            assert!(
                p.findings
                    .iter()
                    .any(|f| f.kind == FindingKind::TargetMissing
                        && f.symbol.as_deref() == Some(k.as_str())),
                "invariant 4 (plan soundness): the refusal does not name `{k}`, which the runtime image lacks; findings: {:?}",
                p.findings
            );
        }
    }
    Check::Checked
}

/// A proxy on an architecture whose trampolines are not modelled: there are no bytes to follow, so an
/// entry point is redirected when the policy knows it (or an alias at its offset) and lands well when
/// the runtime image has its counterpart; every other entry point must be named.
fn judge_by_knowledge(
    arch: Arch,
    policy: &Policy,
    p: &Plan,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Check {
    assert!(
        p.findings
            .iter()
            .any(|f| f.kind == FindingKind::UnsupportedArch),
        "invariant 4 (plan soundness): an unmodelled architecture's proxy plan does not say so"
    );
    for s in exports {
        let covered = exports
            .iter()
            .any(|o| o.offset == s.offset && policy.knows(arch, o.name));
        let lands = covered && counterparts(rfuncs, s).next().is_some();
        let k = key(s.name, s.version);
        assert!(
            lands || named(p, &k),
            "invariant 4 (plan soundness): `{k}` is {} on {} and no finding names it; findings: {:?}",
            if covered { "redirected to a runtime image that lacks it" } else { "unknown to the policy" },
            arch.name(),
            p.findings
        );
    }
    if exports.is_empty() {
        return Check::Vacuous("the dumped image exports no function");
    }
    Check::Checked
}

/// Follow every dumped entry point through `restored`: it lands on a runtime function of its own name
/// and version, or a finding names it.
fn judge_landings(
    restored: &Restored,
    base: u64,
    p: &Plan,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Check {
    for s in exports {
        let Some(off) = s.offset else { continue };
        let (landing, hops) = restored.follow(base.wrapping_add(off));
        let lands =
            matches!(landing, Landing::Runtime(o) if counterparts(rfuncs, s).any(|c| c == o));
        if lands {
            continue;
        }
        let k = key(s.name, s.version);
        assert!(
            named(p, &k),
            "invariant 4 (plan soundness): `{k}` lands {landing:x?} via {hops:x?}, not on its runtime counterpart at {:x?}, and no finding names it; findings: {:?}",
            counterparts(rfuncs, s).collect::<Vec<_>>(),
            p.findings
        );
    }
    if exports.is_empty() {
        return Check::Vacuous("the dumped image exports no function");
    }
    Check::Checked
}

/// Why a restore where nothing is missing may still carry errors whatever the policy: an entry point
/// outside its image, or a runtime name defined at two places.
fn degenerate(
    exports: &[Symbol],
    rfuncs: &[Symbol],
    dumped: &Side,
    runtime: &Side,
) -> Option<&'static str> {
    let inside = |off: Option<u64>, img: &Image| off.is_some_and(|o| o < img.bytes().len() as u64);
    if exports.iter().any(|s| !inside(s.offset, dumped.image)) {
        return Some("a dumped entry point lies outside its image");
    }
    for s in exports {
        let mut c = counterparts(rfuncs, s);
        let first = c.next();
        if c.any(|o| Some(o) != first) {
            return Some("a runtime name is defined at two offsets");
        }
        if !inside(first, runtime.image) {
            return Some("a runtime counterpart lies outside its image");
        }
    }
    None
}

/// Why a proxy where nothing is missing may still carry errors: the dumped image leaves no room for
/// one trampoline per entry point (entry points closer than the longest trampoline, or too near the
/// end of `.text`), aliases that share a dumped offset are apart in the runtime image (one patch cannot
/// jump to two places), or the runtime mappings overlap the dumped `[vdso]`.
fn crowded(
    arch: Arch,
    dumped: &Side,
    runtime: &Side,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Option<&'static str> {
    // The planner may fall back from the short form to the long one (a jump that does not reach).
    let size = [Style::Relative, Style::Absolute]
        .into_iter()
        .filter_map(|s| arch.trampoline_size(s))
        .max()
        .unwrap_or(0) as u64;
    let len = dumped.image.bytes().len() as u64;
    let text = dumped.image.text().unwrap_or(0..len);
    let mut offs: smallvec::SmallVec<[u64; 24]> = exports.iter().filter_map(|s| s.offset).collect();
    offs.sort_unstable();
    offs.dedup();
    if offs
        .iter()
        .any(|&o| o < text.start || o.saturating_add(size) > text.end.min(len))
    {
        return Some("an entry point lies within a trampoline's length of the end of .text");
    }
    if offs.windows(2).any(|w| w[1] - w[0] < size) {
        return Some("two entry points lie closer than a trampoline");
    }
    for s in exports {
        let here = counterparts(rfuncs, s).next();
        let apart = exports
            .iter()
            .any(|o| o.offset == s.offset && counterparts(rfuncs, o).next() != here);
        if apart {
            return Some("aliases at one dumped offset are apart in the runtime image");
        }
    }
    let Some(dv) = dumped.layout.get(Role::Vdso) else {
        return Some("the dumped layout has no [vdso]");
    };
    let end = dv.start.saturating_add(dv.len().max(len));
    if runtime
        .layout
        .movable()
        .any(|m| m.start < end && dv.start < m.end)
    {
        return Some("the runtime mappings overlap the dumped [vdso]");
    }
    None
}

/// Invariant 5 (patch safety): patches lie inside the dumped image's `.text` (or inside the image
/// when it has no usable `.text`), overlapping patches are flagged, every patch decodes back to its
/// target with the independent decoder, and `plan::apply` writes exactly the patch bytes (the oracle's
/// own copy with the patches written in) and changes nothing else.
pub fn check_patch_safety(dumped: &Side, p: &Plan) -> Check {
    let (Some(arch), Decision::Proxy { patches, .. }) = (p.arch, &p.decision) else {
        return Check::Vacuous("not a proxy");
    };
    let Some(dv) = dumped.layout.get(Role::Vdso) else {
        return Check::Vacuous("the dumped layout has no [vdso]");
    };
    if patches.is_empty() {
        return Check::Vacuous("a proxy without patches");
    }
    let bytes = dumped.image.bytes();
    let text = dumped.image.text().unwrap_or(0..bytes.len() as u64);
    for w in patches.windows(2) {
        assert!(
            w[0].offset <= w[1].offset,
            "invariant 5 (patch safety): patches at {:#x} and {:#x} are out of order",
            w[0].offset,
            w[1].offset
        );
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
        assert_eq!(
            arch.decode(&t.bytes, dv.start.wrapping_add(t.offset)),
            Some(t.target),
            "invariant 5 (patch safety): patch at {:#x} does not decode to its target (left: decoded, right: target)",
            t.offset
        );
    }
    let want = patched_copy(bytes, patches);
    let mut got = bytes.to_vec();
    crate::plan::apply(p, &mut got);
    // One comparison of the whole image; the differing byte is looked for only to report it.
    if got != want {
        let i = (0..got.len()).find(|&i| got[i] != want[i]).unwrap_or(0);
        let inside = patches
            .iter()
            .any(|t| (t.offset..t.offset + t.bytes.len() as u64).contains(&(i as u64)));
        panic!(
            "invariant 5 (patch safety): apply wrote {:#04x} at {i:#x} ({} every patch), the oracle expects {:#04x} (was {:#04x})",
            got[i],
            if inside { "inside" } else { "outside" },
            want[i],
            bytes[i]
        );
    }
    Check::Checked
}

/// Invariant 6 (remap safety): a remap moves every runtime mapping it moves by one displacement (so
/// distances and order are the runtime's), moves `[vdso]` onto the dumped `[vdso]`, and no two moved
/// mappings overlap.
pub fn check_remap_safety(dumped: &Layout, runtime: &Layout, p: &Plan) -> Check {
    let Decision::Remap { moves } = &p.decision else {
        return Check::Vacuous("not a remap");
    };
    let Some(first) = moves.first() else {
        panic!("invariant 6 (remap safety): a remap that moves nothing");
    };
    let delta = first.to.wrapping_sub(first.from);
    for m in moves {
        assert_eq!(
            m.to.wrapping_sub(m.from),
            delta,
            "invariant 6 (remap safety): {:?} moves by a different displacement (left) than the first mapping (right)",
            m.role
        );
        let src = runtime.get(m.role);
        assert_eq!(
            src.map(|s| (s.start, s.len())),
            Some((m.from, m.len)),
            "invariant 6 (remap safety): move of {:?} does not start from the runtime mapping",
            m.role
        );
    }
    let vdso = moves
        .iter()
        .find(|m| m.role == Role::Vdso)
        .expect("invariant 6 (remap safety): a remap must move [vdso]");
    assert_eq!(
        Some(vdso.to),
        dumped.get(Role::Vdso).map(|d| d.start),
        "invariant 6 (remap safety): [vdso] lands (left) elsewhere than the dumped [vdso] (right)"
    );
    for (i, a) in moves.iter().enumerate() {
        for b in &moves[i + 1..] {
            let disjoint = a.to.wrapping_add(a.len) <= b.to || b.to.wrapping_add(b.len) <= a.to;
            assert!(
                disjoint,
                "invariant 6 (remap safety): moved {:?} and {:?} overlap",
                a.role, b.role
            );
        }
    }
    Check::Checked
}

/// One kernel of a restore chain: its image bytes and where its `[vdso]` is placed.
pub struct Hop<'a> {
    pub bytes: &'a [u8],
    pub base: u64,
}

/// Invariant 7 (chains): restoring A on B, then (what is then the process's `[vdso]`) on C, … resolves
/// every entry point of A to the same place in the last kernel's image as restoring A on it directly
/// — or a refusal or finding on the way explains why not.
pub fn check_chain(arch: Arch, kernels: &[Hop], policy: &Policy) -> Check {
    let [first, rest @ ..] = kernels else {
        return Check::Vacuous("a chain of fewer than two kernels");
    };
    let Some(last) = rest.last() else {
        return Check::Vacuous("a chain of fewer than two kernels");
    };
    let lay = |h: &Hop| -> Option<Layout> {
        Image::parse(h.bytes)
            .ok()
            .map(|img| Side::preset(&img, h.base).layout)
    };
    let Ok(a) = Image::parse(first.bytes) else {
        return Check::Vacuous("the first image does not parse");
    };
    let la = Side::preset(&a, first.base).layout;
    let mut chain = World::new(arch);
    let mut current = chain.add(Region::dumped(first.base, &a));
    let mut current_layout = la.clone();
    let mut plans = Vec::new();
    for h in rest {
        let Some(l) = lay(h) else {
            return Check::Vacuous("an image of the chain does not parse");
        };
        let Ok((p, now)) = chain.restore(current, &current_layout, h.bytes, &l, policy) else {
            return Check::Vacuous("a restored image does not parse");
        };
        let refused = p.decision == Decision::Refused;
        if !matches!(p.decision, Decision::Remap { .. }) {
            current_layout = l;
        }
        current = now;
        plans.push(p);
        if refused {
            break;
        }
    }
    let Some(lc) = lay(last) else {
        return Check::Vacuous("the last image does not parse");
    };
    let mut direct = World::new(arch);
    let da = direct.add(Region::dumped(first.base, &a));
    let Ok((pd, _)) = direct.restore(da, &la, last.bytes, &lc, policy) else {
        return Check::Vacuous("the last image does not parse");
    };
    let chain_refused = plans.iter().any(|p| p.decision == Decision::Refused);
    if pd.decision == Decision::Refused {
        assert!(
            chain_refused || plans.iter().any(|p| p.errors() > 0),
            "invariant 7 (chains): the direct restore is refused ({:?}) but the chain went through cleanly",
            pd.findings
        );
        return Check::Checked;
    }
    if chain_refused {
        // A kernel in the middle lacks an export; its refusal names it.
        return Check::Vacuous("the chain is refused on the way");
    }
    let Ok(c) = Image::parse(last.bytes) else {
        return Check::Vacuous("the last image does not parse");
    };
    if a.functions().next().is_none() {
        return Check::Vacuous("the first image exports no function");
    }
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
    Check::Checked
}
