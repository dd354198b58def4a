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
use crate::plan::{plan, Decision, FindingKind, Patch, Plan, Severity, Side, SymbolKey};
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

fn key(name: &str, version: Option<&str>) -> SymbolKey {
    SymbolKey::new(name, version)
}

fn named(p: &Plan, k: &SymbolKey) -> bool {
    p.findings.iter().any(|f| f.symbol.as_ref() == Some(k))
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

/// The oracle's own model of the address space after one restore or a chain of them: the images in
/// the order they were mapped, each at its address, later ones shadowing earlier ones where they
/// overlap (a remap maps the runtime image over the dumped `[vdso]`), and which of them is the last
/// kernel's live code. Trampolines are written in by [`patched_copy`] and followed with
/// `arch::decode`; nothing here goes through the planner's `World`.
pub struct Restored<'a> {
    pub arch: Arch,
    /// Each mapped image: its address and bytes, in mapping order.
    pub regions: Vec<(u64, std::borrow::Cow<'a, [u8]>)>,
    /// The region that is the last runtime kernel's code; `None` while no plan mapped any.
    pub live: Option<usize>,
}

impl<'a> Restored<'a> {
    /// A process whose `[vdso]` at `base` holds `bytes`, before any restore.
    pub fn new(arch: Arch, base: u64, bytes: &'a [u8]) -> Restored<'a> {
        Restored {
            arch,
            regions: vec![(base, std::borrow::Cow::Borrowed(bytes))],
            live: None,
        }
    }

    /// Carry out `p`, a plan for restoring region `current` on a kernel whose vDSO is `runtime` with
    /// `runtime_layout`, as the plan's data says (its moves, its patches, where it parks the runtime
    /// image). Returns the region that is then the process's `[vdso]`.
    pub fn apply(
        &mut self,
        current: usize,
        p: &Plan,
        runtime: &'a [u8],
        runtime_layout: &Layout,
    ) -> usize {
        let base = match &p.decision {
            Decision::Refused => return current,
            // Parking (an overlapping move goes via a scratch place) moves [vdso] twice: where it
            // ends is its last move.
            Decision::Remap { moves } => match moves.iter().rev().find(|m| m.role == Role::Vdso) {
                Some(m) => m.to,
                None => return current,
            },
            Decision::Proxy { patches, .. } => {
                let patched = patched_copy(&self.regions[current].1, patches);
                self.regions[current].1 = std::borrow::Cow::Owned(patched);
                // A proxy leaves the runtime vDSO where it parks it (where the runtime kernel mapped
                // it unless that lies on the dumped mappings).
                p.runtime_vdso(runtime_layout)
            }
        };
        self.regions
            .push((base, std::borrow::Cow::Borrowed(runtime)));
        self.live = Some(self.regions.len() - 1);
        self.regions.len() - 1
    }

    /// Follow `at` through trampolines, decoded with `arch::decode`; also returns the addresses visited.
    pub fn follow(&self, mut at: u64) -> (Landing, smallvec::SmallVec<[u64; 4]>) {
        let mut hops = smallvec::smallvec![at];
        for _ in 0..MAX_HOPS {
            let found = self
                .regions
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, (base, bytes))| {
                    let off = at.wrapping_sub(*base);
                    (off < bytes.len() as u64).then_some((i, base, off, bytes))
                });
            let Some((i, base, off, bytes)) = found else {
                return (Landing::Nowhere(at), hops);
            };
            if Some(i) == self.live {
                return (Landing::Runtime(off), hops);
            }
            let big = crate::arch::big_endian_image(bytes);
            match self.arch.decode_in(big, bytes, *base, at) {
                Some(next) => {
                    at = next;
                    hops.push(at);
                }
                None => return (Landing::Stale(off), hops),
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
    let (Some(dv), Some(_)) = (
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
    // Issue 13 item 5: a stale entry says what its old code does, and only data-page readers are
    // errors.
    for f in p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::StaleEntry)
    {
        use crate::consequence::Consequence::*;
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
    if matches!(p.decision, Decision::Proxy { .. }) {
        // Issue 13 item 1: the parked runtime mappings never lie on the dumped ones.
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
    let check = if !policy.writes_trampolines(arch) && matches!(p.decision, Decision::Proxy { .. })
    {
        judge_by_knowledge(arch, policy, p, &exports, &rfuncs)
    } else {
        let mut restored = Restored::new(arch, dv.start, dumped.image.bytes());
        restored.apply(0, p, runtime.image.bytes(), &runtime.layout);
        judge_landings(&restored, dv.start, p, &exports, &rfuncs)
    };
    if strict_like(policy) && missing == 0 {
        let excuse = degenerate(&exports, &rfuncs, dumped, runtime).or_else(|| match p.decision {
            Decision::Proxy { .. } => {
                crowded(arch, dumped, runtime, &exports, &rfuncs).or_else(|| {
                    out_of_mips_reach(
                        arch,
                        dv.start,
                        p.runtime_vdso(&runtime.layout),
                        &exports,
                        &rfuncs,
                    )
                    .or_else(|| {
                        misaligned_counterpart(
                            arch,
                            p.runtime_vdso(&runtime.layout),
                            &exports,
                            &rfuncs,
                        )
                    })
                })
            }
            _ => None,
        });
        if excuse.is_none() {
            // The one error strict may leave: an entry it declined to cover because a syscall
            // instruction lies under the trampoline (a thread stopped in it would resume inside
            // the jump), found here by the oracle's own byte scan of the dumped entry.
            let unexcused: Vec<_> = p
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .filter(|f| {
                    !(f.kind == FindingKind::StaleEntry
                        && syscall_under_entry(arch, dumped.image.bytes(), &exports, f))
                })
                .collect();
            assert!(
                unexcused.is_empty(),
                "invariant 4 (plan soundness): under {} nothing is missing and every trampoline fits, yet the plan has errors: {:?}",
                policy.name,
                unexcused
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
    // A whole-image refusal for an architecture whose trampolines are not modelled (big-endian MIPS):
    // nothing to follow, and nothing it could name per symbol.
    if p.findings.iter().any(|f| {
        f.kind == FindingKind::UnsupportedArch
            && f.symbol.is_none()
            && f.severity == crate::plan::Severity::Error
    }) {
        return Check::Vacuous("refused: the architecture's trampolines are not modelled");
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
                // Missing outright, or withdrawn by the runtime kernel (an empty-named entry).
                p.findings
                    .iter()
                    .any(|f| matches!(f.kind, FindingKind::TargetMissing | FindingKind::NulledEntry)
                        && f.symbol.as_ref() == Some(&k)),
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
/// outside its image. (A runtime name defined at two places is no excuse: the planner takes the
/// first, and landing on either is right.)
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
        if !inside(counterparts(rfuncs, s).next(), runtime.image) {
            return Some("a runtime counterpart lies outside its image");
        }
    }
    None
}

/// Why a proxy where nothing is missing may still carry errors: the dumped image leaves no room for
/// one trampoline per entry point (entry points closer than the longest trampoline, or too near the
/// end of `.text`), aliases that share a dumped offset are apart in the runtime image (one patch cannot
/// jump to two places), or the runtime mappings overlap the dumped `[vdso]`. Never on an architecture
/// whose trampolines are not modelled: nothing is patched there.
/// MIPS has no trampoline that reaches beyond `j`'s 256 MiB region (CRIU's absolute stub never
/// reaches anything: arch::encode_mips), so an entry whose runtime counterpart lies in another region
/// cannot be redirected: computed here from the two addresses, per entry.
fn out_of_mips_reach(
    arch: Arch,
    dumped_at: u64,
    runtime_at: u64,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Option<&'static str> {
    if !matches!(arch, Arch::Mips | Arch::MipsN32 | Arch::Mips64) {
        return None;
    }
    let region = |a: u64| a & !0x0fff_ffff;
    exports.iter().find_map(|s| {
        let from = dumped_at.wrapping_add(s.offset?).wrapping_add(4);
        let to = runtime_at.wrapping_add(counterparts(rfuncs, s).next()?);
        (region(from) != region(to) || to & 3 != 0).then_some(
            "a MIPS entry's counterpart lies outside j's 256 MiB region (or is misaligned)",
        )
    })
}

/// ppc64 instructions start on 4-byte boundaries and riscv64 ones on 2-byte boundaries (`bctr`
/// and `jalr` drop the low bits of their target), so a runtime counterpart elsewhere (a synthetic
/// image can put one there) is no place any jump can reach: the encoders refuse it.
fn misaligned_counterpart(
    arch: Arch,
    runtime_at: u64,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Option<&'static str> {
    let align = match arch {
        Arch::Ppc64 => 4,
        Arch::Riscv64 => 2,
        _ => return None,
    };
    exports.iter().find_map(|s| {
        let to = runtime_at.wrapping_add(counterparts(rfuncs, s).next()?);
        (to % align != 0).then_some("a runtime counterpart is not on an instruction boundary")
    })
}

/// The longest trampoline the planner may write on `arch`: it falls back from the short form to the
/// long one when a jump does not reach.
fn longest_trampoline(arch: Arch) -> Option<u64> {
    [Style::Relative, Style::Absolute]
        .into_iter()
        .filter_map(|s| arch.trampoline_size(s))
        .max()
        .map(|n| n as u64)
}

fn crowded(
    arch: Arch,
    dumped: &Side,
    runtime: &Side,
    exports: &[Symbol],
    rfuncs: &[Symbol],
) -> Option<&'static str> {
    let size = longest_trampoline(arch)?;
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

/// Whether the stale entry `f` names lies on a syscall instruction: one of the architecture's syscall
/// encodings starts or ends strictly inside the first trampoline's length of the entry (the longest
/// form, since a planner may fall back to it). A byte scan of the dumped image, independent of the
/// planner's decoder: x86 `syscall`/`sysenter`/`int $0x80` at any byte, s390 `svc` and RISC-V
/// `ecall` at every halfword from the entry, and the syscall words of A64, MIPS, LoongArch and ppc64
/// at every word from it (in either byte order). Coarser than decoding (a match inside another
/// instruction counts), so it can only excuse more; 32-bit ARM, where ARM and Thumb cannot be told
/// apart, has none.
fn syscall_under_entry(
    arch: Arch,
    bytes: &[u8],
    exports: &[Symbol],
    f: &crate::plan::Finding,
) -> bool {
    let Some(key) = &f.symbol else {
        return false;
    };
    let Some(size) = longest_trampoline(arch) else {
        return false;
    };
    let inside = |at: u64, len: u64, off: u64| {
        let (end, after) = (off.saturating_add(size), at.saturating_add(len));
        (at > off && at < end) || (after > off && after < end)
    };
    let at = |x: u64, n: usize| bytes.get(x as usize..).and_then(|b| b.get(..n));
    let word = |pats: &'static [(u32, u32)]| {
        move |x: u64| {
            at(x, 4).is_some_and(|b| {
                let b: [u8; 4] = b.try_into().unwrap_or_default();
                [u32::from_le_bytes(b), u32::from_be_bytes(b)]
                    .iter()
                    .any(|w| pats.iter().any(|&(mask, val)| w & mask == val))
            })
        }
    };
    // Instructions start every `step` bytes from the entry; a syscall is `len` bytes long.
    let (step, len, is_syscall): (u64, u64, Box<dyn Fn(u64) -> bool + '_>) = match arch {
        Arch::X86_64 | Arch::X32 | Arch::I386 => (
            1,
            2,
            Box::new(|x| matches!(at(x, 2), Some([0x0f, 0x05] | [0x0f, 0x34] | [0xcd, 0x80]))),
        ),
        Arch::S390x | Arch::S390 => (2, 2, Box::new(|x| at(x, 1) == Some(&[0x0a]))),
        Arch::Riscv64 => (2, 4, Box::new(|x| at(x, 4) == Some(&[0x73, 0, 0, 0]))),
        Arch::Aarch64 => (4, 4, Box::new(word(&[(0xffe0_001f, 0xd400_0001)]))),
        Arch::Mips | Arch::MipsN32 | Arch::Mips64 => {
            (4, 4, Box::new(word(&[(0xfc00_003f, 0x0000_000c)])))
        }
        Arch::Loongarch64 => (4, 4, Box::new(word(&[(0xffff_8000, 0x002b_0000)]))),
        Arch::Ppc64 => (4, 4, Box::new(word(&[(0xffff_ffff, 0x4400_0002)]))),
        _ => return false,
    };
    let hit = |off: u64| {
        let first = off.saturating_sub(step * ((len - 1) / step));
        (first..off.saturating_add(size))
            .step_by(step as usize)
            .any(|x| is_syscall(x) && inside(x, len, off))
    };
    exports
        .iter()
        .filter(|s| s.name == key.name && s.version == key.version.as_deref())
        .filter_map(|s| s.offset)
        .any(hit)
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
        // A restorer's stub that does not reach its target (CRIU's MIPS `b -4`) must be flagged.
        // A call into a shared stub (CRIU on riscv64 and ppc64) reaches its target only through the
        // stub another patch (one naming no symbol) wrote: read it in the image with the stubs and
        // itself applied, when its own bytes do not lead there.
        let big = crate::arch::big_endian_image(bytes);
        let from = dv.start.wrapping_add(t.offset);
        let mut decoded = arch.decode_for(big, &t.bytes, from);
        if decoded != Some(t.target) && patches.iter().any(|q| q.symbols.is_empty()) {
            let mut with: Vec<_> = patches
                .iter()
                .filter(|q| q.symbols.is_empty())
                .cloned()
                .collect();
            with.push(t.clone());
            decoded = arch.decode_in(big, &patched_copy(bytes, &with), dv.start, from);
        }
        let flagged = t.symbols.iter().all(|k| {
            p.findings
                .iter()
                .any(|f| f.kind == FindingKind::Misdirected && f.symbol.as_ref() == Some(k))
        });
        assert!(
            decoded == Some(t.target) || flagged,
            "invariant 5 (patch safety): patch at {:#x} decodes to {decoded:x?}, not to its target {:#x}, unflagged",
            t.offset,
            t.target
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

/// Invariant 6 (remap safety): a remap's moves, made in order on the runtime mappings, are each
/// executable — the source is where that mapping is at that moment, and the destination overlaps
/// neither the source (`mremap` refuses that) nor another runtime mapping still in place — and they
/// leave every runtime mapping it moves displaced by one distance (so distances and order are the
/// runtime's), with `[vdso]` on the dumped `[vdso]`.
pub fn check_remap_safety(dumped: &Layout, runtime: &Layout, p: &Plan) -> Check {
    let Decision::Remap { moves } = &p.decision else {
        return Check::Vacuous("not a remap");
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
        .find(|m| m.0 == Role::Vdso && moves.iter().any(|x| x.role == m.0))
        .expect("invariant 6 (remap safety): a remap must move [vdso]");
    assert_eq!(
        Some(vdso.1),
        dumped.get(Role::Vdso).map(|d| d.start),
        "invariant 6 (remap safety): [vdso] lands (left) elsewhere than the dumped [vdso] (right)"
    );
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
    // Each hop is planned by the planner from what the process's [vdso] then is, as a real restorer
    // sees it; the oracle carries the plans out and follows the entry points in its own model.
    let hop = |space: &Restored, current: usize, layout: &Layout, h: &Hop, l: &Layout| {
        let bytes = space.regions[current].1.clone();
        let dumped = Image::parse(&bytes).ok()?;
        let runtime = Image::parse(h.bytes).ok()?;
        Some(plan(
            &Side {
                image: &dumped,
                layout: layout.clone(),
            },
            &Side {
                image: &runtime,
                layout: l.clone(),
            },
            policy,
        ))
    };
    let mut chain = Restored::new(arch, first.base, first.bytes);
    let mut current = 0;
    let mut current_layout = la.clone();
    let mut plans = Vec::new();
    for h in rest {
        let Some(l) = lay(h) else {
            return Check::Vacuous("an image of the chain does not parse");
        };
        let Some(p) = hop(&chain, current, &current_layout, h, &l) else {
            return Check::Vacuous("a restored image does not parse");
        };
        let refused = p.decision == Decision::Refused;
        if !matches!(p.decision, Decision::Remap { .. }) {
            current_layout = p.runtime_layout_after(&l);
        }
        current = chain.apply(current, &p, h.bytes, &l);
        plans.push(p);
        if refused {
            break;
        }
    }
    let Some(lc) = lay(last) else {
        return Check::Vacuous("the last image does not parse");
    };
    let mut direct = Restored::new(arch, first.base, first.bytes);
    let Some(pd) = hop(&direct, 0, &la, last, &lc) else {
        return Check::Vacuous("the last image does not parse");
    };
    direct.apply(0, &pd, last.bytes, &lc);
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
        let landing = |l: Landing| match l {
            Landing::Runtime(offset) => Some(offset),
            _ => None,
        };
        let (tc, _) = chain.follow(at);
        let (td, _) = direct.follow(at);
        let k = key(s.name, s.version);
        let explained = plans.iter().chain([&pd]).any(|p| named(p, &k));
        assert!(
            landing(tc) == landing(td) || explained,
            "invariant 7 (chains): `{k}`: chain lands {tc:x?}, direct lands {td:x?}"
        );
        let want = c
            .functions()
            .find(|r| same_name(r.name, s.name) && r.version == s.version)
            .and_then(|r| r.offset);
        assert!(
            landing(tc) == want || explained,
            "invariant 7 (chains): `{k}` lands {tc:x?}, not its own function at {want:x?}, unexplained"
        );
    }
    Check::Checked
}

#[cfg(test)]
mod tests {
    //! The oracles themselves under test: each is fed a plan that is wrong in one way and must panic,
    //! and a right plan on which it must hold and say `Checked`. Without these, an oracle weakened to
    //! accept everything passes every other test (the planner is right on them).
    use super::*;
    use crate::layout::Role;
    use crate::plan::{default_bases, plan, Finding, Move};
    use crate::policy::{CRIU_4_1, STRICT, STRICT_PROXY};
    use std::panic::{catch_unwind, AssertUnwindSafe};

    fn real(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/real")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    const X86_6_1: &str = "x86_64-vdso64-6.1.0-50-amd64.so";
    const X86_6_12: &str = "x86_64-vdso64-6.12.117+deb13-amd64.so";

    /// Panics with a message containing `what` (the invariant and the reason).
    fn fails(what: &str, f: impl FnOnce() -> Check) {
        let e = catch_unwind(AssertUnwindSafe(f)).expect_err("the oracle accepted a wrong plan");
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(msg.contains(what), "wrong panic (want `{what}`): {msg}");
    }

    fn stale(p: &Plan, img: &Image) -> Vec<Finding> {
        img.functions()
            .map(|s| Finding {
                kind: FindingKind::StaleEntry,
                severity: Severity::Error,
                symbol: Some(key(s.name, s.version)),
                detail: "wrong on purpose".into(),
                consequence: Some(crate::consequence::Consequence::ReadsDataPages),
            })
            .chain(
                p.findings
                    .iter()
                    .filter(|f| f.severity < Severity::Error)
                    .cloned(),
            )
            .collect()
    }

    /// A 6.1 image restored on 6.12 (nothing missing) under `policy`: the sides and the planner's plan.
    fn with_plan(policy: &Policy, f: impl FnOnce(&Side, &Side, Plan)) {
        let (db, rb) = (real(X86_6_1), real(X86_6_12));
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let p = plan(&ds, &rs, policy);
        f(&ds, &rs, p)
    }

    #[test]
    fn a_right_proxy_is_checked_by_invariants_4_and_5() {
        with_plan(&STRICT, |ds, rs, p| {
            assert!(matches!(p.decision, Decision::Proxy { .. }), "{p:?}");
            assert_eq!(check_plan_sound(ds, rs, &STRICT, &p), Check::Checked);
            assert_eq!(check_patch_safety(ds, &p), Check::Checked);
            assert_eq!(
                check_remap_safety(&ds.layout, &rs.layout, &p),
                Check::Vacuous("not a remap")
            );
        });
    }

    #[test]
    fn strict_refusing_when_nothing_is_missing_fails_invariant_4() {
        with_plan(&STRICT, |ds, rs, mut p| {
            p.findings = stale(&p, ds.image);
            p.decision = Decision::Refused;
            fails("yet the restore is refused", || {
                check_plan_sound(ds, rs, &STRICT, &p)
            });
        });
    }

    #[test]
    fn strict_calling_every_entry_stale_fails_invariant_4() {
        with_plan(&STRICT_PROXY, |ds, rs, mut p| {
            p.findings = stale(&p, ds.image);
            p.decision = Decision::Proxy {
                patches: vec![],
                park: rs.layout.get(Role::Vdso).unwrap().start,
            };
            fails("yet the plan has errors", || {
                check_plan_sound(ds, rs, &STRICT_PROXY, &p)
            });
            // The same plan under a CRIU preset is merely a bad plan that says so: it holds.
            assert_eq!(check_plan_sound(ds, rs, &CRIU_4_1, &p), Check::Checked);
        });
    }

    /// A policy that refuses on a missing symbol but knows only part of the exports is not strict: its
    /// plan leaves the rest stale, says so, and that is sound.
    #[test]
    fn a_refusing_policy_with_a_symbol_list_is_not_held_to_zero_errors() {
        fn only_time(_: Arch) -> &'static [&'static str] {
            &["__vdso_time", "time"]
        }
        let partial = Policy {
            name: "refuse-but-partial",
            known: Some(only_time),
            ..STRICT
        };
        with_plan(&partial, |ds, rs, p| {
            assert!(p.errors() > 0, "{p:?}");
            assert_eq!(check_plan_sound(ds, rs, &partial, &p), Check::Checked);
        });
    }

    #[test]
    fn an_unnamed_unpatched_entry_fails_invariant_4() {
        with_plan(&CRIU_4_1, |ds, rs, mut p| {
            let Decision::Proxy { patches, .. } = &mut p.decision else {
                panic!("{p:?}")
            };
            let gone = patches.remove(0);
            p.findings
                .retain(|f| !gone.symbols.iter().any(|s| f.symbol.as_ref() == Some(s)));
            fails("not on its runtime counterpart", || {
                check_plan_sound(ds, rs, &CRIU_4_1, &p)
            });
        });
    }

    #[test]
    fn a_trampoline_to_the_wrong_function_fails_invariant_4() {
        with_plan(&STRICT, |ds, rs, mut p| {
            let dv = ds.layout.get(Role::Vdso).unwrap().start;
            let Decision::Proxy { patches, .. } = &mut p.decision else {
                panic!("{p:?}")
            };
            // The first patch jumps where the second one does (re-encoded, so invariant 5 holds).
            let (to, at) = (patches[1].target, patches[0].offset);
            patches[0].target = to;
            patches[0].bytes = Arch::X86_64.encode(Style::Absolute, dv + at, to).unwrap();
            assert_eq!(check_patch_safety(ds, &p), Check::Checked);
            fails("not on its runtime counterpart", || {
                check_plan_sound(ds, rs, &STRICT, &p)
            });
        });
    }

    #[test]
    fn a_patch_that_does_not_decode_to_its_target_fails_invariant_5() {
        with_plan(&STRICT, |ds, _, mut p| {
            let Decision::Proxy { patches, .. } = &mut p.decision else {
                panic!("{p:?}")
            };
            patches[0].target += 16;
            fails("not to its target", || check_patch_safety(ds, &p));
        });
    }

    #[test]
    fn a_patch_outside_text_fails_invariant_5() {
        with_plan(&STRICT, |ds, _, mut p| {
            let Decision::Proxy { patches, .. } = &mut p.decision else {
                panic!("{p:?}")
            };
            patches[0].offset = 0; // the ELF header
            patches.sort_by_key(|t| t.offset);
            fails("outside .text", || check_patch_safety(ds, &p));
        });
    }

    #[test]
    fn overlapping_patches_must_be_flagged() {
        with_plan(&STRICT, |ds, _, mut p| {
            let Decision::Proxy { patches, .. } = &mut p.decision else {
                panic!("{p:?}")
            };
            let mut twin = patches[0].clone();
            twin.offset += 1;
            patches.insert(1, twin);
            fails("overlap unflagged", || check_patch_safety(ds, &p));
        });
    }

    fn remap_case(f: impl FnOnce(&Side, &Side, Plan)) {
        let b = real(X86_6_12);
        let img = Image::parse(&b).unwrap();
        let (d0, r0) = default_bases(Arch::of(&img));
        let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
        let p = plan(&ds, &rs, &STRICT);
        assert!(matches!(p.decision, Decision::Remap { .. }), "{p:?}");
        f(&ds, &rs, p)
    }

    #[test]
    fn a_right_remap_is_checked_by_invariants_4_and_6() {
        remap_case(|ds, rs, p| {
            assert_eq!(check_plan_sound(ds, rs, &STRICT, &p), Check::Checked);
            assert_eq!(
                check_remap_safety(&ds.layout, &rs.layout, &p),
                Check::Checked
            );
            assert_eq!(check_patch_safety(ds, &p), Check::Vacuous("not a proxy"));
        });
    }

    #[test]
    fn a_remap_that_misses_the_dumped_vdso_fails_invariants_4_and_6() {
        remap_case(|ds, rs, mut p| {
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            for m in moves.iter_mut() {
                m.to += 4096;
            }
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
            fails("invariant 4", || check_plan_sound(ds, rs, &STRICT, &p));
        });
    }

    #[test]
    fn a_remap_that_tears_the_layout_apart_fails_invariant_6() {
        remap_case(|ds, rs, mut p| {
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            let v = moves.iter().position(|m| m.role == Role::Vvar).unwrap();
            moves[v].to += 4096;
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
        });
        remap_case(|ds, rs, mut p| {
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            moves.retain(|m| m.role != Role::Vdso);
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
        });
        remap_case(|ds, rs, mut p| {
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            moves.clear();
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
        });
        remap_case(|ds, rs, mut p| {
            // Both moves start from the wrong place (same displacement): not the runtime mappings.
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            for m in moves.iter_mut() {
                m.from += 4096;
                m.to += 4096;
            }
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
        });
        remap_case(|ds, rs, mut p| {
            // Two mappings moved onto each other.
            let Decision::Remap { moves } = &mut p.decision else {
                unreachable!()
            };
            let vdso = *moves.iter().find(|m| m.role == Role::Vdso).unwrap();
            moves.push(Move {
                role: Role::Vvar,
                ..vdso
            });
            fails("invariant 6", || {
                check_remap_safety(&ds.layout, &rs.layout, &p)
            });
        });
    }

    #[test]
    fn a_strict_refusal_must_name_what_is_missing() {
        // 6.12 restored on 6.1: __vdso_getrandom (and its alias) are missing.
        let (db, rb) = (real(X86_6_12), real(X86_6_1));
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let mut p = plan(&ds, &rs, &STRICT);
        assert_eq!(p.decision, Decision::Refused);
        assert_eq!(check_plan_sound(&ds, &rs, &STRICT, &p), Check::Checked);
        p.findings.remove(0);
        fails("invariant 4", || check_plan_sound(&ds, &rs, &STRICT, &p));
        p.findings.clear();
        fails("invariant 4", || check_plan_sound(&ds, &rs, &STRICT, &p));
    }

    #[test]
    /// riscv64: strict's trampolines and CRIU's lookup-stub calls are bytes the oracle follows; a
    /// plan that hides what they lead to fails it.
    fn riscv64_plans_are_followed_by_bytes() {
        let (db, rb) = (
            real("riscv64-vdso-6.12.117+deb13-riscv64.so"),
            real("riscv64-vdso-7.2.13+deb14-riscv64.so"),
        );
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let p = plan(&ds, &rs, &STRICT_PROXY);
        assert_eq!(
            check_plan_sound(&ds, &rs, &STRICT_PROXY, &p),
            Check::Checked
        );
        let mut silent = p.clone();
        silent.findings.clear();
        fails("invariant 4", || {
            check_plan_sound(&ds, &rs, &STRICT_PROXY, &silent)
        });
        // A policy that does not know __vdso_getrandom leaves it stale: a finding must say so.
        let p = plan(&ds, &rs, &CRIU_4_1);
        assert_eq!(check_plan_sound(&ds, &rs, &CRIU_4_1, &p), Check::Checked);
        let mut quiet = p.clone();
        quiet.findings.retain(|f| f.kind != FindingKind::StaleEntry);
        fails("invariant 4", || {
            check_plan_sound(&ds, &rs, &CRIU_4_1, &quiet)
        });
    }

    #[test]
    fn strict_may_leave_only_a_syscall_site_stale() {
        let db = real(X86_6_1);
        let di = Image::parse(&db).unwrap();
        let (d0, _) = default_bases(Arch::of(&di));
        let rb = real(X86_6_12);
        let ri = Image::parse(&rb).unwrap();
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, 0x7fff_0000_0000));
        let p = plan(&ds, &rs, &STRICT);
        assert_eq!(check_plan_sound(&ds, &rs, &STRICT, &p), Check::Checked);
        let time = di.functions().find(|s| s.name == "__vdso_time").unwrap();
        let stale = Finding {
            kind: FindingKind::StaleEntry,
            severity: Severity::Error,
            symbol: Some(SymbolKey::of(&time)),
            detail: String::new(),
            consequence: Some(crate::consequence::Consequence::ReadsDataPages),
        };
        // An entry without a syscall under its trampoline may not be left stale.
        let mut lazy = p.clone();
        lazy.findings.push(stale.clone());
        fails("yet the plan has errors", || {
            check_plan_sound(&ds, &rs, &STRICT, &lazy)
        });
        // The oracle's own scan: a syscall starting or ending strictly inside the longest
        // trampoline (x86-64's absolute form) counts.
        let size = Arch::X86_64.trampoline_size(Style::Absolute).unwrap();
        let exports: Funcs = di.functions().collect();
        let off = time.offset.unwrap() as usize;
        let with_syscall_at = |at: usize| {
            let mut b = db.clone();
            b[off - 2..off + size + 2].fill(0x90);
            b[at..at + 2].copy_from_slice(&[0x0f, 0x05]);
            syscall_under_entry(Arch::X86_64, &b, &exports, &stale)
        };
        assert!(with_syscall_at(off + 3), "at +3");
        assert!(with_syscall_at(off), "at +0: returns to +2");
        assert!(with_syscall_at(off - 1), "at -1: returns to +1");
        assert!(!with_syscall_at(off - 2), "at -2: returns to the entry");
        assert!(!with_syscall_at(off + size), "past the trampoline");
        assert!(with_syscall_at(off + size - 1), "starts inside");
    }

    #[test]
    fn the_syscall_scan_knows_each_architectures_encoding() {
        use crate::image::{Binding, SymKind};
        let entry = Symbol {
            index: 1,
            name: "__vdso_time",
            version: None,
            version_index: 1,
            version_hidden: false,
            value: 64,
            offset: Some(64),
            size: 64,
            kind: SymKind::Func,
            binding: Binding::Global,
            shndx: 1,
        };
        let stale = Finding {
            kind: FindingKind::StaleEntry,
            severity: Severity::Error,
            symbol: Some(SymbolKey::of(&entry)),
            detail: String::new(),
            consequence: None,
        };
        let cases: &[(Arch, &[u8])] = &[
            (Arch::X86_64, &[0x0f, 0x05]),
            (Arch::X32, &[0x0f, 0x34]),
            (Arch::I386, &[0xcd, 0x80]),
            (Arch::Aarch64, &[0x01, 0x00, 0x00, 0xd4]),
            (Arch::Mips64, &[0x0c, 0, 0, 0]),
            (Arch::Mips, &[0, 0, 0, 0x0c]),
            (Arch::MipsN32, &[0x0c, 0, 0, 0]),
            (Arch::Loongarch64, &[0x00, 0x00, 0x2b, 0x00]),
            (Arch::Ppc64, &[0x44, 0, 0, 0x02]),
            (Arch::Ppc64, &[0x02, 0, 0, 0x44]),
            (Arch::Riscv64, &[0x73, 0, 0, 0]),
            (Arch::S390x, &[0x0a, 0x00]),
        ];
        for &(arch, code) in cases {
            let size = arch.trampoline_size(Style::Absolute).unwrap();
            let with_at = |at: usize| {
                let mut b = vec![0u8; 256];
                b[at..at + code.len()].copy_from_slice(code);
                syscall_under_entry(arch, &b, &[entry], &stale)
            };
            assert!(with_at(64 + 4), "{arch:?} {code:x?} inside");
            assert!(
                !with_at(64 + size),
                "{arch:?} {code:x?} past the trampoline"
            );
            assert!(
                !with_at(64 - code.len()),
                "{arch:?} {code:x?} ending at the entry"
            );
            assert!(!with_at(200), "{arch:?} {code:x?} far away");
        }
        // 32-bit arm (ARM or Thumb is not known) and a finding naming no symbol: never excused.
        let mut b = vec![0u8; 256];
        b[68..72].copy_from_slice(&[0, 0, 0, 0xef]); // svc 0 (ARM)
        assert!(!syscall_under_entry(Arch::Arm, &b, &[entry], &stale));
        let anonymous = Finding {
            symbol: None,
            ..stale.clone()
        };
        b[68..70].copy_from_slice(&[0x0f, 0x05]);
        assert!(syscall_under_entry(Arch::X86_64, &b, &[entry], &stale));
        assert!(!syscall_under_entry(Arch::X86_64, &b, &[entry], &anonymous));
    }

    #[test]
    fn mismatched_architectures_must_be_refused() {
        let (db, rb) = (real(X86_6_12), real("i386-vdso32-6.12.117+deb13-amd64.so"));
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let p = plan(&ds, &rs, &STRICT);
        assert!(matches!(
            check_plan_sound(&ds, &rs, &STRICT, &p),
            Check::Vacuous(_)
        ));
        let mut through = p.clone();
        through.decision = Decision::Proxy {
            patches: vec![],
            park: r0,
        };
        fails("invariant 4", || {
            check_plan_sound(&ds, &rs, &STRICT, &through)
        });
    }

    /// The overlap excuse of the strict zero-error rule fires exactly when a runtime mapping shares an
    /// address with the dumped `[vdso]`: not when it merely touches it from either side.
    #[test]
    fn crowded_excuses_an_overlap_not_a_neighbour() {
        let (db, rb) = (real(X86_6_1), real(X86_6_12));
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, _) = default_bases(Arch::of(&di));
        let ds = Side::preset(&di, d0);
        let dv = *ds.layout.get(Role::Vdso).unwrap();
        let dend = dv.start + dv.len().max(db.len() as u64);
        let exports: Funcs = di.functions().collect();
        let rfuncs: Funcs = ri.functions().collect();
        // Where the runtime [vdso] must go for its first mapping to start at `at`, and for its last
        // to end at `at`.
        let probe = Side::preset(&ri, 1 << 32);
        let first = probe.layout.movable().next().unwrap().start;
        let last = probe.layout.movable().map(|m| m.end).max().unwrap();
        let starting_at = |at: u64| at + ((1 << 32) - first);
        let ending_at = |at: u64| at - (last - (1 << 32));
        let judge = |base: u64| {
            let rs = Side::preset(&ri, base);
            crowded(Arch::X86_64, &ds, &rs, &exports, &rfuncs)
        };
        assert_eq!(judge(d0 + (1 << 20)), None, "far above");
        assert_eq!(judge(d0 - (1 << 20)), None, "far below");
        assert_eq!(judge(starting_at(dend)), None, "touching from above");
        assert_eq!(judge(ending_at(dv.start)), None, "touching from below");
        let overlap = Some("the runtime mappings overlap the dumped [vdso]");
        assert_eq!(
            judge(starting_at(dend - 4096)),
            overlap,
            "one page into its end"
        );
        assert_eq!(
            judge(ending_at(dv.start + 4096)),
            overlap,
            "one page into its start"
        );
        assert_eq!(judge(dv.start), overlap, "on top of it");
    }

    /// 6.1 → 6.12 → 7.2 on x86-64: nothing is missing on the way, so the chain is compared entry by
    /// entry with the direct restore (Checked); backwards (7.2 → 6.1) strict refuses and says so.
    #[test]
    fn a_chain_of_real_kernels_is_checked() {
        let imgs = [X86_6_1, X86_6_12, "x86_64-vdso64-7.2.13+deb14-amd64.so"].map(real);
        let (d0, r0) = default_bases(Some(Arch::X86_64));
        let hops = |order: &[usize]| -> Vec<Hop> {
            order
                .iter()
                .enumerate()
                .map(|(i, &k)| Hop {
                    bytes: &imgs[k],
                    base: if i == 0 {
                        d0
                    } else {
                        r0 + (i as u64 - 1) * (1 << 20)
                    },
                })
                .collect()
        };
        for pol in [&STRICT, &STRICT_PROXY] {
            assert_eq!(
                check_chain(Arch::X86_64, &hops(&[0, 1, 2]), pol),
                Check::Checked
            );
            assert_eq!(
                check_chain(Arch::X86_64, &hops(&[2, 1, 0]), pol),
                Check::Checked
            );
        }
        assert!(matches!(
            check_chain(Arch::X86_64, &hops(&[0]), &STRICT),
            Check::Vacuous(_)
        ));
    }

    #[test]
    fn check_any_is_checked_when_one_is() {
        let v = Check::Vacuous("a");
        assert_eq!(Check::any([v, Check::Checked], "z"), Check::Checked);
        assert_eq!(Check::any([Check::Checked, v], "z"), Check::Checked);
        assert_eq!(Check::any([v, Check::Vacuous("b")], "z"), v);
        assert_eq!(Check::any([], "z"), Check::Vacuous("z"));
    }

    #[test]
    fn follow_decodes_stops_and_gives_up() {
        let arch = Arch::X86_64;
        let jmp = |from: u64, to: u64| arch.encode(Style::Relative, from, to).unwrap();
        // dumped at 0x1000 (64 bytes), runtime at 0x9000 (32 bytes).
        let mut d = vec![0x90u8; 64];
        d[0..5].copy_from_slice(&jmp(0x1000, 0x1010)); // → another trampoline
        d[0x10..0x15].copy_from_slice(&jmp(0x1010, 0x9008)); // → runtime + 8
        d[0x20..0x25].copy_from_slice(&jmp(0x1020, 0x1020)); // → itself
        d[0x30..0x35].copy_from_slice(&jmp(0x1030, 0x5000)); // → nothing
        let runtime = [0xccu8; 32];
        let r = Restored {
            arch,
            regions: vec![
                (0x1000, std::borrow::Cow::Owned(d)),
                (0x9000, std::borrow::Cow::Borrowed(&runtime[..])),
            ],
            live: Some(1),
        };
        let (l, hops) = r.follow(0x1000);
        assert_eq!(l, Landing::Runtime(8));
        assert_eq!(hops.as_slice(), &[0x1000, 0x1010, 0x9008]);
        assert_eq!(r.follow(0x1008).0, Landing::Stale(8));
        assert_eq!(r.follow(0x1020).0, Landing::Nowhere(0x1020));
        assert_eq!(r.follow(0x1030).0, Landing::Nowhere(0x5000));
        assert_eq!(r.follow(0x1040).0, Landing::Nowhere(0x1040)); // one past the end
        assert_eq!(r.follow(0x901f).0, Landing::Runtime(0x1f));
        assert_eq!(r.follow(0x9020).0, Landing::Nowhere(0x9020));
        assert_eq!(r.follow(0xfff).0, Landing::Nowhere(0xfff));
    }

    #[test]
    fn patched_copy_writes_exactly_the_patches() {
        let p = |offset: u64, b: &[u8]| Patch {
            offset,
            bytes: b.into(),
            symbols: smallvec::smallvec![],
            target: 0,
        };
        let out = patched_copy(
            &[0; 8],
            &[p(1, &[1, 2]), p(6, &[3, 4, 5]), p(u64::MAX, &[9])],
        );
        // The patch that does not fit is left out, not truncated.
        assert_eq!(out, [0, 1, 2, 0, 0, 0, 0, 0]);
        let out = patched_copy(&[0; 8], &[p(6, &[3, 4])]);
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 3, 4]);
    }

    /// `bytes` (an ELF64 little-endian image) with the `st_value` of every function named in a group
    /// set to that group's image offset (aliases move together).
    fn placed(bytes: &[u8], groups: &[(u64, &[&str])]) -> Vec<u8> {
        let img = Image::parse(bytes).unwrap();
        let mut out = bytes.to_vec();
        for s in img.functions() {
            let Some(&(off, _)) = groups.iter().find(|(_, names)| names.contains(&s.name)) else {
                continue;
            };
            let bias = s.value - s.offset.unwrap();
            let at = (img.dynsym_offset + u64::from(s.index) * 24 + 8) as usize;
            out[at..at + 8].copy_from_slice(&(bias + off).to_le_bytes());
        }
        out
    }

    const X86_ENTRIES: [&[&str]; 5] = [
        &["__vdso_clock_gettime", "clock_gettime"],
        &["__vdso_gettimeofday", "gettimeofday"],
        &["__vdso_time", "time"],
        &["__vdso_getcpu", "getcpu"],
        &["__vdso_clock_getres", "clock_getres"],
    ];

    /// `crowded` on the 6.1 image with its five entries (and aliases) at `offs`, restored on 6.12
    /// parked far away.
    fn crowded_at(offs: [u64; 5]) -> Option<&'static str> {
        let groups: Vec<(u64, &[&str])> = offs.into_iter().zip(X86_ENTRIES).collect();
        let db = placed(&real(X86_6_1), &groups);
        let rb = real(X86_6_12);
        let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
        let (d0, r0) = default_bases(Arch::of(&di));
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let exports: Funcs = di.functions().collect();
        let rfuncs: Funcs = ri.functions().collect();
        crowded(Arch::X86_64, &ds, &rs, &exports, &rfuncs)
    }

    /// The "no room for a trampoline" excuse at its boundaries (x86-64: 16 bytes, the longer form):
    /// an entry exactly at `.text`'s start, one whose trampoline ends exactly at `.text`'s end, and
    /// two entries exactly one trampoline apart all leave room; one byte further each does not.
    #[test]
    fn crowded_excuses_no_room_exactly_at_its_boundaries() {
        let text = Image::parse(&real(X86_6_1)).unwrap().text().unwrap();
        let mid = text.start + 0x200;
        let spread = |first: u64| [first, mid, mid + 0x40, mid + 0x80, mid + 0xc0];
        assert_eq!(crowded_at(spread(mid - 0x40)), None, "well apart");
        let end = Some("an entry point lies within a trampoline's length of the end of .text");
        assert_eq!(crowded_at(spread(text.start)), None, "at .text's start");
        assert_eq!(crowded_at(spread(text.start - 1)), end, "before .text");
        let last = |at: u64| [mid, mid + 0x40, mid + 0x80, mid + 0xc0, at];
        assert_eq!(crowded_at(last(text.end - 16)), None, "ends at .text's end");
        assert_eq!(crowded_at(last(text.end - 15)), end, "runs past .text");
        let close = Some("two entry points lie closer than a trampoline");
        assert_eq!(crowded_at(spread(mid - 16)), None, "one trampoline apart");
        assert_eq!(crowded_at(spread(mid - 15)), close, "a byte closer");
    }

    /// `degenerate`'s boundary: a runtime counterpart exactly at its image's end lies outside it (the
    /// excuse holds); one byte before the end it lies inside.
    #[test]
    fn a_counterpart_at_the_image_end_is_outside_it() {
        let db = real(X86_6_1);
        let rb0 = real(X86_6_12);
        let len = rb0.len() as u64;
        for (off, excused) in [(len, true), (len - 1, false)] {
            let rb = placed(&rb0, &[(off, &["__vdso_time"])]);
            let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
            let (d0, r0) = default_bases(Arch::of(&di));
            let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
            let exports: Funcs = di.functions().collect();
            let rfuncs: Funcs = ri.functions().collect();
            assert_eq!(
                degenerate(&exports, &rfuncs, &ds, &rs).is_some(),
                excused,
                "counterpart at {off:#x} of a {len:#x}-byte image"
            );
        }
    }
}
