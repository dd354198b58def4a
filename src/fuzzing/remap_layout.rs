//! Target `remap_layout`: arbitrary special-mapping layouts and displacements ("remap offsets"). A
//! layout is rendered as `/proc/PID/maps` text and parsed back (it must round-trip); shifting keeps
//! every distance; and a remap planned between two identical images on the dumped and the runtime
//! layout never overlaps, never loses a page role, keeps every distance, and lands `[vdso]` on the
//! dumped one (invariant 6). Garbage maps text must give a typed error, never a panic.

use super::oracles::{self, check_remap_safety};
use super::Outcome;
use crate::image::Image;
use crate::layout::{Layout, Mapping, Role};
use crate::plan::{plan, Decision, Side};
use crate::policy;
use crate::synth::strategy;
use arbitrary::{Arbitrary, Unstructured};
use proptest::strategy::{Strategy, ValueTree};
use std::fmt::Write;
use std::sync::OnceLock;

/// One synthetic x86-64 image to place on both sides (built once).
fn image() -> &'static [u8] {
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    IMG.get_or_init(|| {
        let mut r = proptest::test_runner::TestRunner::deterministic();
        strategy::x86_64_linux_6_18()
            .new_tree(&mut r)
            .ok()
            .map(|t| t.current())
            .and_then(|s| s.build().ok())
            .unwrap_or_default()
    })
}

#[derive(Debug, Arbitrary)]
struct Case {
    /// Up to four mappings: role index and page count (roles may repeat or be missing).
    maps: Vec<(u8, u8)>,
    /// Start page of the first mapping.
    start: u32,
    /// Displacement of the runtime layout in pages.
    shift: i32,
    /// Garbage to feed to the maps parser.
    noise: Vec<u8>,
}

fn render(l: &Layout) -> String {
    let mut s = String::new();
    for m in &l.mappings {
        let _ = writeln!(
            s,
            "{:x}-{:x} {} 00000000 00:00 0 {}",
            m.start,
            m.end,
            m.perms(),
            m.role.maps_name()
        );
    }
    s
}

pub fn run(data: &[u8]) -> Outcome {
    let Ok(case) = Case::arbitrary(&mut Unstructured::new(data)) else {
        return Outcome::Reject;
    };
    // Garbage maps text: a typed error or a layout, never a panic.
    let _ = Layout::from_maps(&String::from_utf8_lossy(&case.noise));

    let roles = [Role::Vvar, Role::VvarVclock, Role::Vdso];
    let mut at = 0x1000_0000u64 + u64::from(case.start % 0x0100_0000) * 4096;
    let mut mappings = Vec::new();
    for &(r, pages) in case.maps.iter().take(4) {
        let role = roles[usize::from(r) % roles.len()];
        if mappings.iter().any(|m: &Mapping| m.role == role) {
            continue;
        }
        let len = u64::from(pages % 8 + 1) * 4096;
        mappings.push(Mapping {
            role,
            start: at,
            end: at + len,
            perms: if role == Role::Vdso {
                *b"r-xp"
            } else {
                *b"r--p"
            },
        });
        at += len;
    }
    let dumped = Layout { mappings };
    // Round trip through maps text.
    let back = Layout::from_maps(&render(&dumped)).expect("rendered maps text parses");
    assert_eq!(
        back, dumped,
        "layout -> maps text -> layout changed the layout"
    );
    // Shifting keeps every distance.
    let Some(runtime) = dumped.shifted(i64::from(case.shift) * 4096) else {
        // Moving the mappings out of the address space is refused, never wrapped (the round trip
        // above was checked).
        return Outcome::Checked;
    };
    assert_eq!(
        runtime.shape(),
        dumped.shape(),
        "shifting changed the shape"
    );
    if dumped.get(Role::Vdso).is_none() {
        return Outcome::Checked;
    }
    let bytes = image();
    let Ok(img) = Image::parse(bytes) else {
        return Outcome::Reject;
    };
    let ds = Side {
        image: &img,
        layout: dumped.clone(),
    };
    let rs = Side {
        image: &img,
        layout: runtime.clone(),
    };
    let p = plan(&ds, &rs, &policy::STRICT);
    assert!(
        matches!(p.decision, Decision::Remap { .. }),
        "identical images on same-shape layouts must remap under strict: {:?}",
        p.findings
    );
    let remap = check_remap_safety(&dumped, &runtime, &p);
    if let Decision::Remap { moves } = &p.decision {
        for m in runtime.movable() {
            assert!(
                moves.iter().any(|x| x.role == m.role),
                "invariant 6 (remap safety): runtime {:?} is not moved",
                m.role
            );
        }
    }
    oracles::Check::any([remap], "").into()
}
