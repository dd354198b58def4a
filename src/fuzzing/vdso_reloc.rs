//! Target `vdso_reloc` (the flagship): a restore from one synthetic kernel to another, end to end.
//!
//! Input: a tag byte, then either
//! * tag even — structure-aware: `arbitrary` bytes → a dumped [`Spec`], an [`Evolution`] to the runtime
//!   kernel, a policy, where the dumped `[vdso]` sits and how far away the runtime one is parked, and up
//!   to four byte-level [`Mutation`]s applied to the *built* images; or
//! * tag odd — raw images: a policy byte, a little-endian u32 length, the dumped image, then the
//!   runtime image (so pairs of real vDSOs are valid seeds).
//!
//! Both images are parsed (errors reject the input: invariant 1 is `vdso_parse`'s), planned, applied,
//! and every entry point is resolved; the oracles are invariants 3-6 (DESIGN.md §3): hash lookups agree
//! on unmutated synthetic images, plan soundness, patch safety, remap safety.

use super::oracles::{self, Check};
use super::Outcome;
use crate::arch::Arch;
use crate::image::Image;
use crate::plan::{default_bases, plan, Side};
use crate::policy::{self, Policy};
use crate::synth::evolve::{evolve_into, layout_symbols, Evolution, Mutation};
use crate::synth::Spec;
use arbitrary::Unstructured;

/// The structure-aware case.
#[derive(Debug)]
struct Case {
    dumped: Spec,
    evolution: Evolution,
    policy: u8,
    /// Dumped `[vdso]` page number (within the architecture's address space).
    page: u32,
    /// Runtime park distance in pages (signed; 0 is moved to 256).
    park: i32,
    mutations: Vec<(bool, Mutation)>,
    /// Lay the dumped symbols out without overlaps (as real images are) before building.
    tidy: bool,
}

impl Case {
    /// Decode a case from `u` into `self`, reusing its vectors (one case is kept across inputs). The
    /// bytes are read in this order: mutation count and mutations, dumped spec, evolution, policy,
    /// page, park, tidy.
    fn arbitrary_into(&mut self, u: &mut Unstructured) -> arbitrary::Result<()> {
        let n = u.int_in_range(0..=4)?;
        self.mutations.clear();
        for _ in 0..n {
            self.mutations.push((u.arbitrary()?, u.arbitrary()?));
        }
        self.dumped.arbitrary_into(u)?;
        self.evolution.arbitrary_into(u)?;
        self.policy = u.arbitrary()?;
        self.page = u.arbitrary()?;
        self.park = u.arbitrary()?;
        self.tidy = u.arbitrary()?;
        Ok(())
    }
}

/// Everything a structure-aware input is decoded and built into, kept from one input to the next
/// (thread-local) so that an input reuses the previous one's allocations: under AddressSanitizer an
/// allocation costs a stack trace, a fill and a trip through the quarantine.
struct Scratch {
    case: Case,
    runtime: Spec,
    dumped_image: Vec<u8>,
    runtime_image: Vec<u8>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            case: Case {
                dumped: Spec::blank(),
                evolution: Evolution::default(),
                policy: 0,
                page: 0,
                park: 0,
                mutations: Vec::with_capacity(4),
                tidy: false,
            },
            runtime: Spec::blank(),
            dumped_image: Vec::new(),
            runtime_image: Vec::new(),
        }
    }
}

fn pick_policy(b: u8) -> &'static Policy {
    policy::ALL[usize::from(b) % policy::ALL.len()]
}

pub fn run(data: &[u8]) -> Outcome {
    let Some((&tag, rest)) = data.split_first() else {
        return Outcome::Reject;
    };
    if tag % 2 == 1 {
        return raw(rest);
    }
    thread_local! {
        static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
    }
    SCRATCH.with_borrow_mut(|s| {
        let s = s.get_or_insert_with(Scratch::new);
        if s.case.arbitrary_into(&mut Unstructured::new(rest)).is_err() {
            return Outcome::Reject;
        }
        if s.case.tidy {
            layout_symbols(&mut s.case.dumped, 0);
        }
        evolve_into(&s.case.dumped, &s.case.evolution, &mut s.runtime);
        structured(
            &s.case,
            &s.runtime,
            &mut s.dumped_image,
            &mut s.runtime_image,
        )
    })
}

fn structured(case: &Case, runtime: &Spec, db: &mut Vec<u8>, rb: &mut Vec<u8>) -> Outcome {
    if case.dumped.build_into(db).is_err() || runtime.build_into(rb).is_err() {
        return Outcome::Reject;
    }
    for (on_runtime, m) in &case.mutations {
        m.apply(if *on_runtime { &mut *rb } else { &mut *db });
    }
    let (Ok(di), Ok(ri)) = (Image::parse(db), Image::parse(rb)) else {
        return Outcome::Reject;
    };
    let tables = if case.mutations.is_empty() {
        Check::any(
            [&di, &ri].map(|img| oracles::check_synth_tables(img, &"synthesized image")),
            "",
        )
    } else {
        Check::Vacuous("invariant 3: mutated images may have unsound tables")
    };
    let Some(arch) = Arch::of(&di) else {
        return Outcome::Reject;
    };
    let page_max = arch.max_address() / 4096;
    let dumped_base = (u64::from(case.page) % page_max.saturating_sub(2048).max(1) + 1024) * 4096;
    let park = if case.park == 0 {
        256
    } else {
        i64::from(case.park)
    };
    let runtime_base = dumped_base.wrapping_add((park * 4096) as u64);
    if runtime_base > arch.max_address() - (1 << 20) || runtime_base < (1 << 20) {
        return Outcome::Reject;
    }
    let plan = check(
        &di,
        &ri,
        dumped_base,
        runtime_base,
        pick_policy(case.policy),
    );
    Check::any([plan, tables], "").into()
}

/// The raw-images case: real vDSO pairs.
fn raw(rest: &[u8]) -> Outcome {
    let [p, l0, l1, l2, l3, images @ ..] = rest else {
        return Outcome::Reject;
    };
    let len = u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize;
    if len > images.len() {
        return Outcome::Reject;
    }
    let (a, b) = images.split_at(len);
    let (Ok(di), Ok(ri)) = (Image::parse(a), Image::parse(b)) else {
        return Outcome::Reject;
    };
    let (d0, r0) = default_bases(Arch::of(&di));
    check(&di, &ri, d0, r0, pick_policy(*p)).into()
}

/// Invariants 4-6 on one restore; `Checked` when any of them compared something.
fn check(di: &Image, ri: &Image, dumped_base: u64, runtime_base: u64, policy: &Policy) -> Check {
    let ds = Side::preset(di, dumped_base);
    let rs = Side::preset(ri, runtime_base);
    let p = plan(&ds, &rs, policy);
    Check::any(
        [
            oracles::check_plan_sound(&ds, &rs, policy, &p),
            oracles::check_patch_safety(&ds, &p),
            oracles::check_remap_safety(&ds.layout, &rs.layout, &p),
        ],
        "",
    )
}

/// Frame two images as a raw-mode input (for seeding the corpus with real pairs).
pub fn frame_raw(policy: u8, dumped: &[u8], runtime: &[u8]) -> Vec<u8> {
    let mut v = vec![1, policy];
    v.extend_from_slice(&(dumped.len() as u32).to_le_bytes());
    v.extend_from_slice(dumped);
    v.extend_from_slice(runtime);
    v
}
