//! Restore planning: given the `dumped` vDSO (what the checkpoint saw) and the `runtime` one (what the
//! restoring kernel maps), decide what a restorer does under a [`Policy`], apply it to bytes, and follow
//! every old entry point through the result.
//!
//! Data flow: [`plan`] → [`Plan`] (a remap or a proxy, always with [`Finding`]s); [`World`] is the
//! restored address space as regions of bytes (patched dumped images, runtime vDSOs); [`World::restore`]
//! plans and applies one restore hop, so chains A→B→C are a sequence of hops on one world, and
//! [`World::resolve`] follows an address through trampolines — decoding the bytes with the
//! architecture's independent decoder, never trusting the plan's own record — to a [`Destination`].
//!
//! The planner's own findings come from following every entry point too: a "stale entry" is an exported
//! function whose bytes, after the plan is applied, are not a trampoline into live runtime code.

use crate::arch::{Abi, Arch, Style};
use crate::image::{same_name, Image, Symbol};
use crate::layout::{Era, Layout, Mapping, Role};
use crate::policy::{Missing, Policy, RemapRule};
use std::borrow::Cow;
use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An exported function left unredirected: after restore it runs the dumped kernel's code against
    /// data pages that are gone or laid out differently.
    StaleEntry,
    /// Remap chosen although an exported symbol moved or changed size, or the data pages differ.
    UnsoundRemap,
    /// The trampoline is longer than the function it overwrites: it clobbers the code after it.
    TrampolineTooLarge,
    /// Two trampolines overlap.
    OverlappingPatches,
    /// The runtime image lacks an entry point the dumped one exports.
    TargetMissing,
    /// The runtime image lacks an entry point the dumped one exports, and has nulled (empty-named)
    /// entries of the same version: the runtime kernel withdrew it (32-bit arm does for its clock
    /// entries when the timer is not usable from userspace). A name is never matched by an empty one.
    NulledEntry,
    /// An entry point lands in runtime code that is not the same function.
    Misdirected,
    /// The layout has mappings the policy does not understand (e.g. `[vvar_vclock]` for a restorer that
    /// expects two special mappings).
    UnsupportedLayout,
    /// Dumped and runtime images are of different architectures, or the architecture has no modelled
    /// trampoline.
    UnsupportedArch,
    /// A patch would write outside the dumped image's `.text`.
    PatchOutsideText,
    /// The restorer rejects an image or a layout before planning (see [`crate::policy::Rules`]).
    RestorerRejects,
    /// A trampoline covers a syscall instruction's return or restart address (`__kernel_vsyscall`
    /// on i386 7.x has `int $0x80` at +0): a thread in that syscall at checkpoint resumes inside it.
    CoversSyscallSite,
    /// The runtime special mappings overlap the dumped ones (or a move's source overlaps its
    /// destination, which `mremap` refuses): the restorer parks them in a scratch area first, and says
    /// so; with no room to park, the restore is refused.
    OverlappingRegions,
}

/// One thing the planner found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The entry point concerned.
    pub symbol: Option<SymbolKey>,
    pub detail: String,
    /// For a stale entry: what its old code does when called (decoded from the dumped bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consequence: Option<crate::consequence::Consequence>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{sev}: {:?}", self.kind)?;
        if let Some(s) = &self.symbol {
            write!(f, " `{s}`")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// A trampoline write into the dumped image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Patch {
    /// Offset from the dumped image start.
    pub offset: u64,
    pub bytes: crate::arch::Trampoline,
    /// Every dumped entry point starting at `offset` (aliases share one patch). Empty for a shared
    /// stub the restorer's calls lead through (CRIU on riscv64 and ppc64, `Rules::shared_stub`).
    pub symbols: smallvec::SmallVec<[SymbolKey; 1]>,
    /// Absolute address the trampoline leads to (a shared stub's own address: it has no target of
    /// its own).
    pub target: u64,
}

/// A move of one runtime special mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Move {
    pub role: Role,
    pub from: u64,
    pub to: u64,
    pub len: u64,
}

/// What the restorer does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// `mremap` the runtime special mappings onto the dumped addresses.
    Remap { moves: Vec<Move> },
    /// Keep the dumped image at its address with trampolines into the runtime vDSO, which stays parked
    /// where the runtime layout puts it.
    Proxy { patches: Vec<Patch>, park: u64 },
    /// The restore is refused.
    Refused,
}

/// A restore plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub arch: Option<Arch>,
    pub policy: &'static str,
    pub decision: Decision,
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Where the runtime `[vdso]` is after the restore, given where the kernel mapped it (`runtime`):
    /// the parking address of a proxy, else its place in `runtime` (0 without one).
    pub fn runtime_vdso(&self, runtime: &Layout) -> u64 {
        match &self.decision {
            Decision::Proxy { park, .. } => *park,
            _ => runtime.get(Role::Vdso).map_or(0, |m| m.start),
        }
    }

    /// The runtime special mappings where a proxy leaves them (moved by its parking, distances kept);
    /// `runtime` unchanged for remaps and refusals.
    pub fn runtime_layout_after(&self, runtime: &Layout) -> Layout {
        let start = runtime.get(Role::Vdso).map_or(0, |m| m.start);
        let delta = self.runtime_vdso(runtime).wrapping_sub(start);
        Layout {
            mappings: runtime
                .mappings
                .iter()
                .map(|m| Mapping {
                    start: m.start.wrapping_add(delta),
                    end: m.end.wrapping_add(delta),
                    ..*m
                })
                .collect(),
        }
    }

    /// A one-word outcome for tables: `remap`, `remap-unsound`, `proxy`, `proxy-findings`, `refused`.
    pub fn category(&self) -> Category {
        let dirty = self
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Warning);
        match (&self.decision, dirty) {
            (Decision::Remap { .. }, false) => Category::Remap,
            (Decision::Remap { .. }, true) => Category::RemapWithFindings,
            (Decision::Proxy { .. }, false) => Category::ProxyClean,
            (Decision::Proxy { .. }, true) => Category::ProxyWithFindings,
            (Decision::Refused, _) => Category::Refused,
        }
    }
}

/// The class of a plan's outcome, what every matrix cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Remap,
    ProxyClean,
    RemapWithFindings,
    ProxyWithFindings,
    Refused,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Remap,
        Category::ProxyClean,
        Category::RemapWithFindings,
        Category::ProxyWithFindings,
        Category::Refused,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Category::Remap => "remap",
            Category::ProxyClean => "proxy",
            Category::RemapWithFindings => "remap-findings",
            Category::ProxyWithFindings => "proxy-findings",
            Category::Refused => "refused",
        }
    }
}

/// One side of a restore: an image and where its special mappings are.
#[derive(Debug, Clone)]
pub struct Side<'i, 'a> {
    pub image: &'i Image<'a>,
    pub layout: Layout,
}

impl<'i, 'a> Side<'i, 'a> {
    fn vdso(&self) -> Option<&Mapping> {
        self.layout.get(Role::Vdso)
    }

    /// An image cut from a kernel file, placed as that kernel would place it: the era comes from the
    /// kernel version in the image's `Linux` note (6.1 when it has none), the page size from the image
    /// ([`Image::page_size`]), the `[vdso]` starts at `base`.
    pub fn preset(image: &'i Image<'a>, base: u64) -> Side<'i, 'a> {
        let version = image.linux_version().map_or((6, 1), |(a, b, _)| (a, b));
        let x86 = Arch::of(image).is_some_and(Arch::is_x86);
        let page = image.page_size();
        let pages = (image.bytes().len() as u64).div_ceil(page);
        Side {
            image,
            layout: Era::for_kernel(version, x86).layout_paged(base, pages, x86, page),
        }
    }
}

/// Where presets put the dumped `[vdso]` (a typical mmap-area address that fits the architecture), and
/// the runtime one: 1 MiB above it, so that every short trampoline reaches.
pub fn default_bases(arch: Option<Arch>) -> (u64, u64) {
    let dumped = match arch.map(Arch::max_address) {
        Some(m) if m <= u64::from(u32::MAX) => 0xf7f0_0000,
        _ => 0x7f00_0000_0000,
    };
    (dumped, dumped + (1 << 20))
}

/// An exported entry point as findings and patches name it: its name and, in a versioned image, the
/// version it is defined at. Shown and serialised as `name@version` (or `name`), as readelf prints it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolKey {
    pub name: String,
    pub version: Option<String>,
}

impl SymbolKey {
    pub fn new(name: &str, version: Option<&str>) -> SymbolKey {
        SymbolKey {
            name: name.to_string(),
            version: version.map(str::to_string),
        }
    }

    /// The key of a parsed symbol.
    pub fn of(s: &Symbol) -> SymbolKey {
        SymbolKey::new(s.name, s.version)
    }
}

impl fmt::Display for SymbolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `key == "name@version"`: compares with the shown form without building it.
impl PartialEq<str> for SymbolKey {
    fn eq(&self, other: &str) -> bool {
        match &self.version {
            Some(v) => {
                other
                    .strip_prefix(self.name.as_str())
                    .and_then(|r| r.strip_prefix('@'))
                    == Some(v.as_str())
            }
            None => other == self.name,
        }
    }
}

impl serde::Serialize for SymbolKey {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(self)
    }
}

impl Finding {
    /// Whether this finding is about the entry point shown as `key` (`name@version` or `name`).
    pub fn names(&self, key: &str) -> bool {
        self.symbol.as_ref().is_some_and(|s| s == key)
    }
}

/// `keys` shown one after the other, separated by `sep`.
pub fn join_keys(keys: &[SymbolKey], sep: &str) -> String {
    keys.iter()
        .map(SymbolKey::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

fn key(s: &Symbol) -> SymbolKey {
    SymbolKey::of(s)
}

fn finding(
    kind: FindingKind,
    severity: Severity,
    symbol: Option<SymbolKey>,
    detail: String,
) -> Finding {
    Finding {
        kind,
        severity,
        symbol,
        detail,
        consequence: None,
    }
}

/// The runtime symbol a dumped entry point maps to: same name and version, else (CRIU matches by name
/// only) same name.
fn counterpart<'a>(runtime: &[Symbol<'a>], s: &Symbol, by_name_only: bool) -> Option<Symbol<'a>> {
    runtime
        .iter()
        .find(|r| same_name(r.name, s.name) && r.version == s.version)
        .or_else(|| {
            if by_name_only {
                runtime.iter().find(|r| same_name(r.name, s.name))
            } else {
                None
            }
        })
        .copied()
}

/// How to report a dumped entry point of `version` that the runtime image does not export: as nulled
/// when the runtime image has nulled entries of that version, else as missing.
fn missing_kind(runtime: &Image, version: Option<&str>) -> (FindingKind, String) {
    let nulled = runtime.nulled().filter(|s| s.version == version).count();
    if nulled > 0 {
        (
            FindingKind::NulledEntry,
            format!("the runtime image does not export it and has {nulled} nulled (empty-named) entries: the runtime kernel withdrew it (arm does when the timer is not usable from userspace); a cached pointer must fall back to the syscall, which no trampoline can express"),
        )
    } else {
        (
            FindingKind::TargetMissing,
            "the runtime image does not export it; restoring would leave it pointing at dead code"
                .into(),
        )
    }
}

/// Decide how `dumped` is restored on `runtime` under `policy`.
pub fn plan(dumped: &Side, runtime: &Side, policy: &Policy) -> Plan {
    let refused = |findings| Plan {
        arch: Arch::of(dumped.image),
        policy: policy.name,
        decision: Decision::Refused,
        findings,
    };
    if let Some(findings) = refusal(dumped, runtime, policy) {
        return refused(findings);
    }
    // A role split over adjacent VMAs (a `[vvar]` shown as two lines) is one mapping to move.
    let (dm, rm) = (dumped.layout.merged(), runtime.layout.merged());
    if dm.is_some() || rm.is_some() {
        let d = Side {
            image: dumped.image,
            layout: dm.unwrap_or_else(|| dumped.layout.clone()),
        };
        let r = Side {
            image: runtime.image,
            layout: rm.unwrap_or_else(|| runtime.layout.clone()),
        };
        return plan(&d, &r, policy);
    }
    // `refusal` checked both: an architecture, a [vdso] on each side.
    let (Some(arch), Some(dv), Some(rv)) = (Arch::of(dumped.image), dumped.vdso(), runtime.vdso())
    else {
        return refused(Vec::new());
    };
    let (dv, rv) = (*dv, *rv);
    let mut findings = Vec::new();

    // Inline up to 24 functions (real vDSOs export at most 17): planning allocates only its results.
    let exports: smallvec::SmallVec<[Symbol; 24]> = dumped.image.functions().collect();
    let rfuncs: smallvec::SmallVec<[Symbol; 24]> = runtime.image.functions().collect();

    // Refusal under strict: every exported function needs a counterpart.
    if policy.missing == Missing::Refuse {
        let missing: Vec<(SymbolKey, Option<&str>)> = exports
            .iter()
            .filter(|s| counterpart(&rfuncs, s, false).is_none())
            .map(|s| (key(s), s.version))
            .collect();
        if !missing.is_empty() {
            for (m, version) in &missing {
                let (kind, detail) = missing_kind(runtime.image, *version);
                findings.push(finding(kind, Severity::Error, Some(m.clone()), detail));
            }
            return refused(findings);
        }
    }

    let cx = Planning {
        dumped: dumped.image,
        runtime: runtime.image,
        policy,
        arch,
        dv,
        rv,
        exports: &exports,
        rfuncs: &rfuncs,
    };
    let (remap, same_shape) = remap_chosen(&cx, &dumped.layout, &runtime.layout);
    let plan = if remap {
        match remap_plan(&cx, &dumped.layout, &runtime.layout, same_shape, findings) {
            Ok(p) => p,
            Err(f) => return refused(f),
        }
    } else {
        // The runtime mappings must not stay on top of the dumped image they are proxied from.
        let rspan = span(&runtime.layout);
        let dspan = span(&dumped.layout);
        if overlaps(rspan, dspan) {
            let Some(p) = park_delta(rspan, &[dspan], arch) else {
                findings.push(no_room(&dumped.layout, &runtime.layout));
                return refused(findings);
            };
            let parked = rv.start.wrapping_add(p);
            findings.push(finding(
                FindingKind::OverlappingRegions,
                Severity::Info,
                None,
                format!(
                    "the runtime mappings {:#x}..{:#x} overlap the dumped ones {:#x}..{:#x}: the runtime [vdso] is parked at {parked:#x} first (CRIU: vdso_do_park, criu/pie/parasite-vdso.c)",
                    rspan.0, rspan.1, dspan.0, dspan.1
                ),
            ));
            let cx = Planning {
                rv: Mapping {
                    start: parked,
                    end: rv.end.wrapping_add(p),
                    ..rv
                },
                ..cx
            };
            return verify(&cx, proxy(&cx, findings));
        }
        proxy(&cx, findings)
    };
    verify(&cx, plan)
}

fn refuse_with(kind: FindingKind, detail: String) -> Option<Vec<Finding>> {
    Some(vec![finding(kind, Severity::Error, None, detail)])
}

/// Why the restore is refused before any planning (architectures, layouts, the restorer's own
/// rejections), or `None` to go on.
fn refusal(dumped: &Side, runtime: &Side, policy: &Policy) -> Option<Vec<Finding>> {
    let (Some(arch), Some(rarch)) = (Arch::of(dumped.image), Arch::of(runtime.image)) else {
        return refuse_with(FindingKind::UnsupportedArch, "unknown architecture".into());
    };
    let (dabi, rabi) = (Abi::of(dumped.image), Abi::of(runtime.image));
    if arch != rarch || dabi != rabi {
        return refuse_with(
            FindingKind::UnsupportedArch,
            format!(
                "dumped image is {} ({}), runtime image is {} ({})",
                arch.name(),
                dabi.describe(arch),
                rarch.name(),
                rabi.describe(rarch)
            ),
        );
    }
    if dabi.big_endian && policy.rules.little_endian_only.contains(&arch) {
        return refuse_with(
            FindingKind::UnsupportedArch,
            format!(
                "{} has no big-endian {} port: {}",
                policy.name,
                arch.name(),
                crate::policy::Rules::why_little_endian_only(arch)
            ),
        );
    }
    if policy.known.is_some_and(|list| list(arch).is_empty()) {
        return refuse_with(
            FindingKind::UnsupportedArch,
            format!("{} has no vDSO support for {}", policy.name, arch.name()),
        );
    }
    if dumped.vdso().is_none() || runtime.vdso().is_none() {
        return refuse_with(
            FindingKind::UnsupportedLayout,
            "a layout has no [vdso] mapping".into(),
        );
    }
    // What the restorer rejects outright.
    let rejected = crate::rules::rejections(
        policy,
        (dumped.image, &dumped.layout),
        (runtime.image, &runtime.layout),
    );
    if !rejected.is_empty() {
        return Some(rejected);
    }
    // Layouts the policy does not understand.
    let has_vclock = |l: &Layout| l.get(Role::VvarVclock).is_some();
    if !policy.vclock_aware && (has_vclock(&dumped.layout) || has_vclock(&runtime.layout)) {
        let side = if has_vclock(&dumped.layout) {
            "the checkpoint kernel"
        } else {
            "the restore kernel"
        };
        return refuse_with(
            FindingKind::UnsupportedLayout,
            format!(
                "{side} maps [vvar_vclock] (Linux 6.13+); {} does not recognise it and stops with \"Unexpected rt vDSO area bounds\" (CRIU #2532)",
                policy.name
            ),
        );
    }
    None
}

/// Whether the policy remaps, and whether the two layouts have the same shape.
fn remap_chosen(cx: &Planning<'_, '_, '_>, dumped: &Layout, runtime: &Layout) -> (bool, bool) {
    let Planning {
        policy,
        arch,
        dv,
        rv,
        exports,
        rfuncs,
        ..
    } = *cx;
    let same_shape = {
        let keep = |(r, _, _): &(Role, i64, u64)| policy.vclock_aware || *r != Role::VvarVclock;
        (dumped.shape_iter().filter(keep)).eq(runtime.shape_iter().filter(keep))
    };
    let remap = match policy.remap {
        RemapRule::Strict => {
            same_shape
                && dv.len() == rv.len()
                && exports.iter().all(|s| {
                    counterpart(rfuncs, s, false)
                        .is_some_and(|r| r.offset == s.offset && r.size == s.size)
                })
        }
        RemapRule::Never => false,
        RemapRule::Criu => {
            // vdso size, known symbols' offsets (absent in both counts as equal), vvar size and order.
            let known_equal = policy.known.is_none_or(|list| {
                list(arch).iter().all(|name| {
                    let off = |fs: &[Symbol]| {
                        fs.iter()
                            .find(|s| same_name(s.name, name))
                            .map(|s| s.offset)
                    };
                    off(exports) == off(rfuncs)
                })
            });
            // vvar size ([vvar] plus [vvar_vclock] from 4.1 on) and whether it lies before [vdso];
            // compared only when the dumped side has a [vvar] (criu/pie/parasite-vdso.c:blobs_matches).
            let vvar = |l: &Layout| {
                l.get(Role::Vvar).map(|m| {
                    let clock = l.get(Role::VvarVclock).map_or(0, |c| c.len());
                    (
                        m.len() + clock,
                        m.start < l.get(Role::Vdso).map_or(0, |v| v.start),
                    )
                })
            };
            let vvar_ok = vvar(dumped).is_none() || vvar(dumped) == vvar(runtime);
            dv.len() == rv.len() && known_equal && vvar_ok
        }
    };
    (remap, same_shape)
}

/// The remap: its moves (parked first when they would overlap) and what is unsound about it; the
/// findings of a refusal when there is no room to park.
fn remap_plan(
    cx: &Planning<'_, '_, '_>,
    dumped: &Layout,
    runtime: &Layout,
    same_shape: bool,
    mut findings: Vec<Finding>,
) -> Result<Plan, Vec<Finding>> {
    let Planning {
        policy,
        arch,
        dv,
        rv,
        ..
    } = *cx;
    let delta = dv.start.wrapping_sub(rv.start);
    let Some(mut moves) = remap_moves(runtime, dumped, delta, arch, policy) else {
        findings.push(no_room(dumped, runtime));
        return Err(findings);
    };
    if moves.len() > runtime.movable().count() {
        findings.push(parked_first(&moves));
    }
    // CRIU moves only [vdso] onto a dumped [vdso] that had no [vvar] (policy::Rules).
    let lone = dumped.get(Role::Vvar).is_none();
    if policy.rules.remap_leaves_vvar_without_dumped_vvar && lone {
        let parked = moves.len() > runtime.movable().count();
        let n = moves.len();
        let mut i = 0;
        moves.retain(|m| {
            i += 1;
            m.role == Role::Vdso || (parked && i <= n / 2)
        });
        if runtime.get(Role::Vvar).is_some() {
            findings.push(finding(
                FindingKind::UnsoundRemap,
                Severity::Error,
                None,
                format!("the dumped side has no [vvar]: {} moves only the runtime [vdso] onto it and leaves the runtime data pages behind, so the remapped code reads whatever lies at its data-page distance", policy.name),
            ));
        }
    }
    if !same_shape {
        findings.push(finding(
            FindingKind::UnsoundRemap,
            Severity::Error,
            None,
            format!(
                "data pages differ: dumped {:?}, runtime {:?}",
                dumped.shape(),
                runtime.shape()
            ),
        ));
    }
    Ok(Plan {
        arch: Some(arch),
        policy: policy.name,
        decision: Decision::Remap { moves },
        findings,
    })
}

/// The address range `[lo, hi)` covered by a layout's movable mappings (`(0, 0)` when it has none).
fn span(l: &Layout) -> (u64, u64) {
    let lo = l.movable().map(|m| m.start).min().unwrap_or(0);
    let hi = l.movable().map(|m| m.end).max().unwrap_or(0);
    (lo, hi)
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < a.1 && b.0 < b.1 && a.0 < b.1 && b.0 < a.1
}

/// The displacement that parks the mappings spanning `r` in a scratch area overlapping neither `r`
/// itself nor any range of `avoid`: directly above the highest of them, else directly below the lowest
/// (near, so short trampolines still reach). `None` when neither fits the architecture's address space.
/// CRIU parks the runtime `[vdso]`/`[vvar]` in its restorer's bootstrap area, which is chosen clear of
/// every dumped mapping (`vdso_do_park`, criu/pie/parasite-vdso.c, v4.1.1 and v4.2.1).
pub fn park_delta(r: (u64, u64), avoid: &[(u64, u64)], arch: Arch) -> Option<u64> {
    let len = r.1.checked_sub(r.0)?;
    let all = || avoid.iter().chain([&r]).filter(|s| s.0 < s.1);
    let hi = all().map(|s| s.1).max()?;
    let lo = all().map(|s| s.0).min()?;
    let above = hi
        .checked_add(len)
        .filter(|&end| end.wrapping_sub(1) <= arch.max_address())
        .map(|_| hi);
    let below = lo.checked_sub(len).filter(|&s| s >= 1 << 16);
    above.or(below).map(|at| at.wrapping_sub(r.0))
}

/// The moves of a remap by `delta`, in the order a restorer makes them. When a move's destination
/// overlaps any runtime mapping still to be moved (its own source included, which `mremap` refuses
/// with `EINVAL`), every mapping is parked first and moved from there, as CRIU does (`vdso_do_park`
/// at restore start, `park_at` from `remap_rt_vdso`, criu/pie/parasite-vdso.c). `None`: no room.
fn remap_moves(
    runtime: &Layout,
    dumped: &Layout,
    delta: u64,
    arch: Arch,
    policy: &Policy,
) -> Option<Vec<Move>> {
    let moved = || {
        runtime
            .movable()
            .filter(|m| policy.vclock_aware || m.role != Role::VvarVclock)
    };
    let direct = |m: &Mapping, by: u64| Move {
        role: m.role,
        from: m.start,
        to: m.start.wrapping_add(by),
        len: m.len(),
    };
    let r = span(runtime);
    let dest = (r.0.wrapping_add(delta), r.1.wrapping_add(delta));
    if !overlaps(r, dest) {
        return Some(moved().map(|m| direct(m, delta)).collect());
    }
    let p = park_delta(r, &[dest, span(dumped)], arch)?;
    let mut moves: Vec<Move> = moved().map(|m| direct(m, p)).collect();
    let back = delta.wrapping_sub(p);
    moves.extend(moved().map(|m| Move {
        role: m.role,
        from: m.start.wrapping_add(p),
        to: m.start.wrapping_add(delta),
        len: m.len(),
    }));
    debug_assert!(moves
        .iter()
        .all(|m| m.to.wrapping_sub(m.from) == p || m.to.wrapping_sub(m.from) == back));
    Some(moves)
}

fn no_room(dumped: &Layout, runtime: &Layout) -> Finding {
    let (d, r) = (span(dumped), span(runtime));
    finding(
        FindingKind::OverlappingRegions,
        Severity::Error,
        None,
        format!(
            "the runtime mappings {:#x}..{:#x} overlap the dumped ones {:#x}..{:#x} and there is no room to park them",
            r.0, r.1, d.0, d.1
        ),
    )
}

fn parked_first(moves: &[Move]) -> Finding {
    let at = moves.first().map_or(0, |m| m.to);
    finding(
        FindingKind::OverlappingRegions,
        Severity::Info,
        None,
        format!("the runtime mappings overlap their destination: they are parked at {at:#x} first, then moved (mremap refuses an overlapping move)"),
    )
}

/// What `proxy` and `verify` work from: both images, the policy, the architecture, both `[vdso]`
/// mappings, and each image's exported functions, decoded once by `plan`. (`Image` is invariant in
/// its lifetime, hence one per image.)
#[derive(Clone, Copy)]
struct Planning<'p, 'd, 'r> {
    dumped: &'p Image<'d>,
    runtime: &'p Image<'r>,
    policy: &'p Policy,
    arch: Arch,
    dv: Mapping,
    rv: Mapping,
    exports: &'p [Symbol<'d>],
    rfuncs: &'p [Symbol<'r>],
}

/// For architectures without modelled trampolines: an entry point is redirected when the policy knows
/// it or an alias at the same offset, and lands well when the runtime image has its counterpart.
fn verify_by_knowledge(cx: &Planning<'_, '_, '_>, plan: &mut Plan) {
    let Planning {
        policy,
        arch,
        exports,
        rfuncs,
        ..
    } = *cx;
    for s in exports {
        let covered = exports
            .iter()
            .any(|o| o.offset == s.offset && policy.knows(arch, o.name));
        if !covered {
            let why = format!("{} does not know it: left unredirected", policy.name);
            plan.findings
                .push(stale(arch, cx.dumped.bytes(), s, key(s), &why));
        } else if counterpart(rfuncs, s, false).is_none() {
            let (kind, why) = match missing_kind(cx.runtime, s.version) {
                (FindingKind::NulledEntry, why) => (FindingKind::NulledEntry, why),
                _ => (FindingKind::TargetMissing, "the runtime image does not export it: the trampoline jumps to the runtime base minus one".into()),
            };
            plan.findings
                .push(finding(kind, Severity::Error, Some(key(s)), why));
        }
    }
}

fn proxy(cx: &Planning<'_, '_, '_>, mut findings: Vec<Finding>) -> Plan {
    let Planning {
        dumped,
        policy,
        arch,
        dv,
        rv,
        exports,
        rfuncs,
        ..
    } = *cx;
    // Without a usable `.text`, patches must at least stay inside the image.
    let text = dumped.text().unwrap_or(0..dumped.bytes().len() as u64);
    let big = crate::arch::big_endian_image(dumped.bytes());
    if let (true, Some(scheme)) = (policy.rules.shared_stub.contains(&arch), arch.shared_stub()) {
        return proxy_shared_stub(cx, findings, scheme);
    }
    let mut patches: Vec<Patch> = Vec::new();
    let writes = policy.writes_trampolines(arch);
    if !writes {
        findings.push(finding(
            FindingKind::UnsupportedArch,
            Severity::Info,
            None,
            format!(
                "trampolines for {} are not modelled: redirection is judged from the policy's knowledge of symbols, not from decoded bytes",
                arch.name()
            ),
        ));
    }
    // Without a modelled trampoline nothing is patched; the plan is still a proxy.
    let to_patch = if writes { exports } else { &[] };
    for s in to_patch {
        if !policy.knows(arch, s.name) {
            continue; // found as a stale entry by `verify` unless an alias covers it
        }
        let Some(off) = s.offset else { continue };
        let target = match counterpart(rfuncs, s, policy.missing == Missing::JumpToAbsent) {
            Some(r) => rv.start.wrapping_add(r.offset.unwrap_or(0)),
            // CRIU: the absent marker makes the target the runtime base minus one.
            None => rv.start.wrapping_sub(1),
        };
        let from = dv.start.wrapping_add(off);
        let misdirected = |bytes: &[u8]| {
            let decoded = arch.decode_for(big, bytes, from);
            (decoded != Some(target)).then(|| {
                finding(
                    FindingKind::Misdirected,
                    Severity::Error,
                    Some(key(s)),
                    format!(
                        "{}'s {} trampoline does not reach its target {target:#x}: it decodes to {decoded:x?}",
                        policy.name,
                        arch.name(),
                    ),
                )
            })
        };
        if let Some(p) = patches.iter_mut().find(|p| p.offset == off) {
            if p.target == target {
                // An alias shares the patch, and its fate.
                p.symbols.push(key(s));
                findings.extend(misdirected(&p.bytes));
                continue;
            }
        }
        let style = policy.style;
        // A short jump that does not reach falls back to the absolute form — but only to one that does
        // reach: on MIPS the absolute form is CRIU's stub, which never does (see arch::encode_mips).
        let encoded = arch.encode_for(big, style, from, target).or_else(|e| {
            if style != Style::Relative {
                return Err(e);
            }
            match arch.encode_for(big, Style::Absolute, from, target) {
                Ok(b) if arch.decode_for(big, &b, from) == Some(target) => Ok(b),
                Ok(_) => Err(e),
                Err(e2) => Err(e2),
            }
        });
        let bytes = match encoded {
            Ok(b) => b,
            Err(e) => {
                findings.push(finding(
                    FindingKind::UnsupportedArch,
                    Severity::Error,
                    Some(key(s)),
                    e.to_string(),
                ));
                continue;
            }
        };
        // A stub that does not lead to its target on its own bytes (CRIU's MIPS `b -4`) is misdirected
        // whatever later patches or the resolved world make of it: said here, per symbol.
        findings.extend(misdirected(&bytes));
        if !vet(cx, s, off, bytes.len() as u64, &text, &mut findings) {
            continue;
        }
        patches.push(Patch {
            offset: off,
            bytes,
            symbols: smallvec::smallvec![key(s)],
            target,
        });
    }
    findings.extend(overlapping_patches(&mut patches, "trampoline"));
    Plan {
        arch: Some(arch),
        policy: policy.name,
        decision: Decision::Proxy {
            patches,
            park: rv.start,
        },
        findings,
    }
}

/// A proxy the way CRIU writes it on riscv64 and ppc64 ([`crate::policy::Rules::shared_stub`]): find
/// room for the lookup stub as `put_trampoline` does, copy it there (with the riscv64 table of
/// targets behind it, the bytes CRIU does not write left as they were), write each listed entry's
/// call into it, and judge every call by decoding it in the patched image.
fn proxy_shared_stub(
    cx: &Planning<'_, '_, '_>,
    mut findings: Vec<Finding>,
    scheme: crate::arch::SharedStub,
) -> Plan {
    let Planning {
        dumped,
        policy,
        arch,
        dv,
        rv,
        exports,
        rfuncs,
        ..
    } = *cx;
    let refuse = |mut findings: Vec<Finding>, detail: String| {
        findings.push(finding(
            FindingKind::RestorerRejects,
            Severity::Error,
            None,
            detail,
        ));
        Plan {
            arch: Some(arch),
            policy: policy.name,
            decision: Decision::Refused,
            findings,
        }
    };
    let text = dumped.text().unwrap_or(0..dumped.bytes().len() as u64);
    let big = crate::arch::big_endian_image(dumped.bytes());
    // CRIU's symbol table in list order; an entry the dumped image lacks is "empty".
    let list: smallvec::SmallVec<[(&str, &Symbol); 12]> = policy
        .known
        .map(|l| l(arch))
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| {
            exports
                .iter()
                .find(|e| same_name(e.name, n) && e.offset.is_some())
                .map(|e| (*n, e))
        })
        .collect();
    let off = |e: &Symbol| e.offset.unwrap_or(0);
    // put_trampoline (criu/arch/riscv64/vdso-pie.c:48-103, criu/arch/ppc64/vdso-pie.c:54-107).
    let mut stub = None;
    'placing: for (i, (name_i, si)) in list.iter().enumerate() {
        for (j, (_, sj)) in list.iter().enumerate() {
            if i == j || off(sj) <= off(si) {
                continue;
            }
            if off(si).saturating_add(scheme.call_size) > off(sj) {
                return refuse(
                    findings,
                    format!("{} cannot write its {}-byte call over {name_i} (the next listed entry is {} bytes on): \"Can't handle small vDSO symbol\" (criu/arch/{}/vdso-pie.c)", policy.name, scheme.call_size, off(sj) - off(si), if arch == Arch::Riscv64 { "riscv64" } else { "ppc64" }),
                );
            }
            if stub.is_some() || off(sj) - (off(si) + scheme.call_size) <= scheme.room {
                continue;
            }
            stub = Some(off(si) + scheme.call_size);
            if scheme.stops_at_placement {
                break 'placing;
            }
        }
    }
    let Some(stub) = stub else {
        return refuse(
            findings,
            format!("{} finds no gap of more than {} bytes behind a listed entry for its lookup stub: put_trampoline returns 0 and the restore fails", policy.name, scheme.room),
        );
    };
    let mut patches: Vec<Patch> = Vec::new();
    let mut calls: smallvec::SmallVec<[(usize, u64); 12]> = smallvec::SmallVec::new();
    // The stub, and on riscv64 its table (slots CRIU does not fill keep the old bytes).
    let code = arch.shared_stub_code(big).unwrap_or_default();
    let span = if scheme.room > scheme.stub_size {
        scheme.room
    } else {
        scheme.stub_size
    };
    let old = dumped
        .bytes()
        .get(stub as usize..)
        .and_then(|b| b.get(..span as usize));
    let Some(old) = old.filter(|_| stub >= text.start && stub.saturating_add(span) <= text.end)
    else {
        return refuse(
            findings,
            format!(
                "the lookup stub at {stub:#x}..{:#x} would leave .text",
                stub.saturating_add(span)
            ),
        );
    };
    let mut stub_bytes: crate::arch::Trampoline = old.iter().copied().collect();
    stub_bytes[..code.len()].copy_from_slice(&code);
    for (k, (_, s)) in list.iter().enumerate() {
        let target = match counterpart(rfuncs, s, policy.missing == Missing::JumpToAbsent) {
            Some(r) => rv.start.wrapping_add(r.offset.unwrap_or(0)),
            None => rv.start.wrapping_sub(1),
        };
        if arch == Arch::Riscv64 {
            // lookup_table[idx] = to (criu/arch/riscv64/vdso-pie.c:131-132)
            let slot = code.len() + 8 * k;
            if let Some(b) = stub_bytes.get_mut(slot..slot + 8) {
                b.copy_from_slice(&target.to_le_bytes());
            }
        }
        let from = dv.start.wrapping_add(off(s));
        let Some(bytes) = arch.shared_stub_call(
            big,
            from,
            dv.start.wrapping_add(stub),
            k as u32,
            target,
            policy.rules.riscv_index_shifted,
        ) else {
            findings.push(finding(
                FindingKind::UnsupportedArch,
                Severity::Error,
                Some(key(s)),
                format!("the lookup stub at {stub:#x} is out of the call's reach"),
            ));
            continue;
        };
        if !vet(cx, s, off(s), bytes.len() as u64, &text, &mut findings) {
            continue;
        }
        // Every export under the call's span gets the same call (aliases).
        let symbols = exports
            .iter()
            .filter(|e| e.offset == s.offset)
            .map(key)
            .collect();
        calls.push((patches.len(), target));
        patches.push(Patch {
            offset: off(s),
            bytes,
            symbols,
            target,
        });
    }
    // Exported functions the stub and table are written over (CRIU only keeps listed entries out).
    for e in exports {
        if e.offset.is_some_and(|o| (stub..stub + span).contains(&o)) {
            findings.push(finding(
                FindingKind::TrampolineTooLarge,
                Severity::Error,
                Some(key(e)),
                format!(
                    "{}'s lookup stub and table at {stub:#x}..{:#x} are written over it",
                    policy.name,
                    stub + span
                ),
            ));
        }
    }
    patches.push(Patch {
        offset: stub,
        bytes: stub_bytes,
        symbols: smallvec::SmallVec::new(),
        target: dv.start.wrapping_add(stub),
    });
    // Each call judged on the patched image: where does it lead?
    let mut image = dumped.bytes().to_vec();
    apply_patches(&patches, &mut image);
    for &(i, target) in &calls {
        let p = &patches[i];
        let from = dv.start.wrapping_add(p.offset);
        let got = arch.decode_in(big, &image, dv.start, from);
        if got != Some(target) {
            for k in &p.symbols {
                findings.push(finding(
                    FindingKind::Misdirected,
                    Severity::Error,
                    Some(k.clone()),
                    format!("{}'s {} call into its lookup stub at {stub:#x} leads to {got:x?}, not to {target:#x}", policy.name, arch.name()),
                ));
            }
        }
    }
    findings.extend(overlapping_patches(&mut patches, "patch"));
    Plan {
        arch: Some(arch),
        policy: policy.name,
        decision: Decision::Proxy {
            patches,
            park: rv.start,
        },
        findings,
    }
}

/// The checks every trampoline written over the exported function `s` at `off` (`len_` bytes) goes
/// through: a syscall instruction under it, bytes past the function, leaving `.text`. False when
/// the patch must not be written (this lab's policies leave syscall stubs alone; nothing is written
/// outside `.text`).
fn vet(
    cx: &Planning<'_, '_, '_>,
    s: &Symbol,
    off: u64,
    len_: u64,
    text: &std::ops::Range<u64>,
    findings: &mut Vec<Finding>,
) -> bool {
    let Planning {
        dumped,
        policy,
        arch,
        exports,
        ..
    } = *cx;
    if let Some((at, len)) = crate::consequence::syscall_inside(arch, dumped.bytes(), off, len_) {
        let site = format!(
            "the {len}-byte syscall instruction at +{:#x} lies under the {}-byte trampoline: a thread in that syscall at checkpoint returns to +{:#x} or restarts at +{:#x}, inside the jump",
            at - off,
            len_,
            at + len - off,
            at - off
        );
        if policy.known.is_none() {
            // This lab's policies leave such an entry alone (its stale consequence is judged).
            findings.push(finding(
                FindingKind::CoversSyscallSite,
                Severity::Info,
                Some(key(s)),
                format!("not patched: {site}"),
            ));
            return false;
        }
        // A sigreturn's syscall neither returns nor restarts: only a thread stopped at its entry
        // could land inside the jump, hence a warning; any other syscall site is an error.
        let sigreturn = exports
            .iter()
            .any(|o| o.offset == s.offset && o.name.contains("sigreturn"));
        let severity = if sigreturn {
            Severity::Warning
        } else {
            Severity::Error
        };
        findings.push(finding(
            FindingKind::CoversSyscallSite,
            severity,
            Some(key(s)),
            site,
        ));
    }
    if len_ > s.size {
        // Bytes past the function that are the architecture's alignment filler (and start no
        // exported function) are padding nothing executes: clobbering them is harmless.
        let over = usize::try_from(off.saturating_add(s.size)).unwrap_or(usize::MAX)
            ..usize::try_from(off)
                .unwrap_or(usize::MAX)
                .saturating_add(len_ as usize);
        let padding = dumped
            .bytes()
            .get(over.start..)
            .is_some_and(|b| arch.is_padding(b, over.len()))
            && !exports
                .iter()
                .any(|o| o.offset.is_some_and(|x| over.contains(&(x as usize))));
        let (severity, what) = if padding {
            (Severity::Info, "alignment padding")
        } else {
            (Severity::Warning, "bytes")
        };
        findings.push(finding(
            FindingKind::TrampolineTooLarge,
            severity,
            Some(key(s)),
            format!(
                "{}-byte trampoline over a {}-byte function clobbers the {} {what} after it",
                len_,
                s.size,
                len_ - s.size
            ),
        ));
    }
    let end = off.saturating_add(len_);
    if off < text.start || end > text.end || end > dumped.bytes().len() as u64 {
        findings.push(finding(
            FindingKind::PatchOutsideText,
            Severity::Error,
            Some(key(s)),
            format!(
                "patch {off:#x}..{end:#x} leaves .text {:#x}..{:#x}",
                text.start, text.end
            ),
        ));
        return false;
    }
    true
}

/// Follow every exported entry point of the dumped image through the applied plan (a remap or a proxy)
/// and add a finding for each that does not land on its own function in the runtime image.
fn verify(cx: &Planning<'_, '_, '_>, mut plan: Plan) -> Plan {
    let Planning {
        dumped,
        runtime,
        arch,
        dv,
        rv,
        exports,
        rfuncs,
        ..
    } = *cx;
    if !cx.policy.writes_trampolines(arch) && matches!(plan.decision, Decision::Proxy { .. }) {
        verify_by_knowledge(cx, &mut plan);
        return plan;
    }
    let mut world = World::new(arch);
    let d = world.add(Region::of_functions(
        "dumped",
        dv.start,
        dumped.bytes(),
        false,
        exports,
    ));
    world.apply_decoded(d, &plan, runtime.bytes(), rfuncs, rv.start);
    // One finding per (kind, symbol key): exports may repeat a key. Only this loop's own findings are
    // compared, as a set of the pairs it reported would.
    let own = plan.findings.len();
    for s in exports {
        let Some(off) = s.offset else { continue };
        // A stale landing after a hop is a broken trampoline only where the plan wrote one (the
        // old code itself may start with a branch: arm64's `__kernel_getrandom` does).
        let patched = |o: u64| match &plan.decision {
            Decision::Proxy { patches, .. } => patches.iter().any(|t| t.offset == o),
            _ => false,
        };
        let (target, hops) = world.resolve(dv.start.wrapping_add(off));
        let want = counterpart(rfuncs, s, false);
        let problem = match (&target, &want) {
            (Destination::Runtime { offset, .. }, Some(w)) if Some(*offset) == w.offset => continue,
            (Destination::Runtime { symbol, .. }, _) => (
                FindingKind::Misdirected,
                format!("lands on runtime `{symbol}`"),
            ),
            (Destination::Stale { offset, .. }, _) if hops.len() > 1 && patched(off) => (
                FindingKind::Misdirected,
                format!("its trampoline leads to dumped offset {offset:#x}, old code, not to the runtime vDSO"),
            ),
            (Destination::Stale { .. }, _) => (FindingKind::StaleEntry, "left unredirected".to_string()),
            (Destination::Misdirected { offset, .. }, _) => (
                FindingKind::Misdirected,
                format!("lands at runtime offset {offset:#x}, which starts no exported function"),
            ),
            (Destination::Nowhere { address }, _) => (
                FindingKind::TargetMissing,
                format!("jumps to {address:#x}, outside every mapping"),
            ),
        };
        let problem = match (want, problem.0) {
            (None, FindingKind::Misdirected | FindingKind::TargetMissing) => {
                match missing_kind(runtime, s.version) {
                    (FindingKind::NulledEntry, why) => {
                        (FindingKind::NulledEntry, format!("{}; {why}", problem.1))
                    }
                    _ => problem,
                }
            }
            _ => problem,
        };
        let k = key(s);
        let repeated = plan.findings[own..]
            .iter()
            .any(|f| f.kind == problem.0 && f.symbol.as_ref() == Some(&k));
        if !repeated {
            plan.findings.push(match problem.0 {
                FindingKind::StaleEntry => stale(arch, dumped.bytes(), s, k, &problem.1),
                kind => finding(kind, Severity::Error, Some(k), problem.1),
            });
        }
    }
    plan
}

/// A stale-entry finding whose severity and wording follow what the dumped code at `off` does
/// ([`crate::consequence`]): reading the data pages gives wrong answers (error); self-contained code
/// (syscall and sigreturn stubs, `__kernel_vsyscall`) is harmless (info); anything else is a warning.
fn stale(arch: Arch, dumped: &[u8], s: &Symbol, symbol: SymbolKey, why: &str) -> Finding {
    use crate::consequence::{classify, Consequence};
    let c = classify(arch, dumped, s.offset.unwrap_or(0), s.size);
    let (severity, what) = match c {
        Consequence::ReadsDataPages => (Severity::Error, "its old code reads the data pages: after restore it computes from the runtime kernel's data pages (or CRIU's zero-filled stand-ins) with the dumped kernel's layout, giving wrong answers"),
        Consequence::SelfContained => (Severity::Info, "harmless: its old code touches no data page (a syscall or self-contained stub)"),
        Consequence::Unknown => (Severity::Warning, "its old code could not be classified (indirect jump, undecodable, or an architecture whose instructions are not read): it may read the data pages"),
    };
    Finding {
        kind: FindingKind::StaleEntry,
        severity,
        symbol: Some(symbol),
        detail: format!("{why}; {}: {what}", c.name()),
        consequence: Some(c),
    }
}

/// Where an address leads (names borrowed from the [`World`] that resolved it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination<'w> {
    /// The start of an exported function of a runtime vDSO: live code.
    Runtime {
        region: &'w str,
        offset: u64,
        symbol: &'w str,
    },
    /// Old code of a dumped image that no trampoline covers.
    Stale {
        region: &'w str,
        offset: u64,
        symbol: Option<&'w str>,
    },
    /// Inside a runtime vDSO, but not at the start of an exported function.
    Misdirected { region: &'w str, offset: u64 },
    /// No region holds the address.
    Nowhere { address: u64 },
}

/// The addresses a resolution visited, the first one included (inline up to a short chain).
pub type Hops = smallvec::SmallVec<[u64; 4]>;

/// A piece of the restored address space. Its bytes are borrowed from the image it was made from until
/// a patch is written into them.
#[derive(Debug, Clone)]
pub struct Region<'a> {
    /// `dumped`, `runtime#N`, ...: static for the common names, so that a region allocates nothing
    /// until it is patched.
    pub name: Cow<'static, str>,
    pub base: u64,
    pub bytes: Cow<'a, [u8]>,
    /// A runtime vDSO (the kernel's live code, with its data pages at the right distance), as opposed
    /// to a dumped image kept as plain memory.
    pub runtime: bool,
    /// (offset, name) of the image's exported functions, read once: patches never touch the tables,
    /// and the names borrow the image's own bytes. Inline up to 24 (real vDSOs export at most 17).
    funcs: smallvec::SmallVec<[(u64, &'a str); 24]>,
}

impl<'a> Region<'a> {
    /// A region over an already parsed image's bytes.
    pub fn of_image<'b: 'a>(
        name: impl Into<Cow<'static, str>>,
        base: u64,
        image: &Image<'b>,
        runtime: bool,
    ) -> Region<'a> {
        let funcs: smallvec::SmallVec<[Symbol<'b>; 24]> = image.functions().collect();
        Region::of_functions(name, base, image.bytes(), runtime, &funcs)
    }

    /// A region over an image's `bytes` whose exported functions (`Image::functions`) the caller has
    /// already decoded: the planner and the oracles hold them anyway, and decoding the symbol table
    /// again per region was a fair share of checking a plan.
    pub fn of_functions(
        name: impl Into<Cow<'static, str>>,
        base: u64,
        bytes: &'a [u8],
        runtime: bool,
        funcs: &[Symbol<'a>],
    ) -> Region<'a> {
        Region {
            name: name.into(),
            base,
            bytes: Cow::Borrowed(bytes),
            runtime,
            funcs: funcs
                .iter()
                .filter_map(|s| Some((s.offset?, s.name)))
                .collect(),
        }
    }

    /// The dumped image as plain memory at `base`.
    pub fn dumped<'b: 'a>(base: u64, image: &Image<'b>) -> Region<'a> {
        Region::of_image("dumped", base, image, false)
    }

    fn func_at(&self, off: u64) -> Option<&'a str> {
        self.funcs.iter().find(|&&(o, _)| o == off).map(|&(_, n)| n)
    }
    fn contains(&self, addr: u64) -> bool {
        addr.wrapping_sub(self.base) < self.bytes.len() as u64
    }
}

/// A restored address space: regions of bytes, resolved through trampolines.
#[derive(Debug, Clone)]
pub struct World<'a> {
    pub arch: Arch,
    pub regions: Vec<Region<'a>>,
}

/// How many trampolines a resolution follows before giving up (a loop of trampolines is `Nowhere`).
const MAX_HOPS: usize = 16;

impl<'a> World<'a> {
    pub fn new(arch: Arch) -> World<'a> {
        World {
            arch,
            // A dumped image and the runtime one it is restored on: the common case, in one allocation.
            regions: Vec::with_capacity(2),
        }
    }

    pub fn add(&mut self, r: Region<'a>) -> usize {
        self.regions.push(r);
        self.regions.len() - 1
    }

    /// Apply `plan` to region `dumped`, with the runtime image `runtime_bytes` parked at `runtime_base`.
    /// Returns the index of the region that is now the process's `[vdso]`.
    pub fn apply<'b: 'a>(
        &mut self,
        dumped: usize,
        plan: &Plan,
        runtime: &Image<'b>,
        runtime_base: u64,
    ) -> usize {
        let funcs: smallvec::SmallVec<[Symbol<'b>; 24]> = runtime.functions().collect();
        self.apply_decoded(dumped, plan, runtime.bytes(), &funcs, runtime_base)
    }

    /// [`World::apply`] for a runtime image given as its bytes and its already decoded exported
    /// functions (see [`Region::of_functions`]).
    pub fn apply_decoded(
        &mut self,
        dumped: usize,
        plan: &Plan,
        runtime_bytes: &'a [u8],
        runtime_funcs: &[Symbol<'a>],
        runtime_base: u64,
    ) -> usize {
        let region = |n: usize, base: u64| {
            const NAMES: [&str; 4] = ["runtime#0", "runtime#1", "runtime#2", "runtime#3"];
            let name = match NAMES.get(n) {
                Some(&s) => Cow::Borrowed(s),
                None => Cow::Owned(format!("runtime#{n}")),
            };
            Region::of_functions(name, base, runtime_bytes, true, runtime_funcs)
        };
        match &plan.decision {
            Decision::Refused => dumped,
            Decision::Remap { .. } => {
                let base = self.regions[dumped].base;
                self.regions[dumped] = region(self.regions.len(), base);
                dumped
            }
            Decision::Proxy { patches, .. } => {
                let r = &mut self.regions[dumped];
                r.runtime = false;
                apply_patches(patches, r.bytes.to_mut());
                let n = self.regions.len();
                self.add(region(n, runtime_base))
            }
        }
    }

    /// One restore hop: the process's current `[vdso]` (region `current`, with `layout`) is checkpointed
    /// and restored on a kernel whose vDSO is `runtime_bytes` with `runtime_layout`. Like a real restorer,
    /// the hop sees only the current `[vdso]`, not what earlier hops left behind.
    pub fn restore(
        &mut self,
        current: usize,
        layout: &Layout,
        runtime_bytes: &'a [u8],
        runtime_layout: &Layout,
        policy: &Policy,
    ) -> Result<(Plan, usize), crate::image::ParseError> {
        let dumped_bytes = self.regions[current].bytes.clone();
        let dumped = Image::parse(&dumped_bytes)?;
        let runtime = Image::parse(runtime_bytes)?;
        let p = plan(
            &Side {
                image: &dumped,
                layout: layout.clone(),
            },
            &Side {
                image: &runtime,
                layout: runtime_layout.clone(),
            },
            policy,
        );
        let base = p.runtime_vdso(runtime_layout);
        let now = self.apply(current, &p, &runtime, base);
        Ok((p, now))
    }

    /// Follow `addr` through trampolines to where it leads; also returns the addresses visited.
    pub fn resolve(&self, addr: u64) -> (Destination<'_>, Hops) {
        let mut hops = Hops::new();
        hops.push(addr);
        let mut at = addr;
        for _ in 0..MAX_HOPS {
            // Later regions shadow earlier ones (a remap replaces what was there).
            let Some(r) = self.regions.iter().rev().find(|r| r.contains(at)) else {
                return (Destination::Nowhere { address: at }, hops);
            };
            let off = at.wrapping_sub(r.base);

            if r.runtime {
                return match r.func_at(off) {
                    Some(symbol) => (
                        Destination::Runtime {
                            region: &r.name,
                            offset: off,
                            symbol,
                        },
                        hops,
                    ),
                    None => (
                        Destination::Misdirected {
                            region: &r.name,
                            offset: off,
                        },
                        hops,
                    ),
                };
            }
            let big = crate::arch::big_endian_image(&r.bytes);
            match self.arch.decode_in(big, &r.bytes, r.base, at) {
                Some(next) => {
                    at = next;
                    hops.push(at);
                }
                None => {
                    return (
                        Destination::Stale {
                            region: &r.name,
                            offset: off,
                            symbol: r.func_at(off),
                        },
                        hops,
                    );
                }
            }
        }
        (Destination::Nowhere { address: at }, hops)
    }
}

/// Sort `patches` by offset and name every one that runs into the next (`what`: how the finding calls
/// a patch; one naming no symbol is a restorer's shared lookup stub).
fn overlapping_patches(patches: &mut [Patch], what: &str) -> Vec<Finding> {
    patches.sort_by_key(|p| p.offset);
    patches
        .windows(2)
        .filter(|w| w[0].offset + w[0].bytes.len() as u64 > w[1].offset)
        .map(|w| {
            finding(
                FindingKind::OverlappingPatches,
                Severity::Error,
                w[1].symbols.first().cloned(),
                format!(
                    "the {what} for {} at {:#x} runs into the one at {:#x}",
                    if w[0].symbols.is_empty() {
                        "the lookup stub".to_string()
                    } else {
                        join_keys(&w[0].symbols, "/")
                    },
                    w[0].offset,
                    w[1].offset
                ),
            )
        })
        .collect()
}

/// Write the patches into `bytes` (the dumped image); patches outside the buffer are skipped (the
/// planner reports them as findings and never produces them for real images).
pub fn apply_patches(patches: &[Patch], bytes: &mut [u8]) {
    for p in patches {
        let start = usize::try_from(p.offset).unwrap_or(usize::MAX);
        if let Some(dst) = bytes.get_mut(start..start.saturating_add(p.bytes.len())) {
            dst.copy_from_slice(&p.bytes);
        }
    }
}

/// Apply a plan's patches to a copy of the dumped bytes (remaps and refusals leave them unchanged).
pub fn apply(plan: &Plan, bytes: &mut [u8]) {
    if let Decision::Proxy { patches, .. } = &plan.decision {
        apply_patches(patches, bytes);
    }
}
