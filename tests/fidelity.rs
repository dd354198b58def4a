//! Issue 13 (model fidelity): each defect found by a hard look at the planner, the presets and the
//! parser, as a test that failed before its fix. Uses the committed real images in `corpus/real/`.

use std::path::Path;
use vdso_lab::fuzzing::oracles;
use vdso_lab::image::Image;
use vdso_lab::layout::Role;
use vdso_lab::plan::{default_bases, plan, Decision, FindingKind, Severity, Side, Target, World};
use vdso_lab::policy;

fn real(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const X86_64_7_2: &str = "x86_64-vdso64-7.2.13+deb14-amd64.so";
const X86_64_6_1: &str = "x86_64-vdso64-6.1.0-50-amd64.so";

/// Item 1: a runtime vDSO mapped on top of the dumped one (`plan live live`) is parked elsewhere, so
/// no trampoline jumps to itself, and the overlap is reported.
#[test]
fn runtime_on_top_of_dumped_is_parked_not_looped() {
    let b = real(X86_64_7_2);
    let img = Image::parse(&b).unwrap();
    let (d0, _) = default_bases(vdso_lab::arch::Arch::of(&img));
    let side = Side::preset(&img, d0);
    let p = plan(&side, &side, &policy::STRICT_PROXY);
    let Decision::Proxy { park, patches } = &p.decision else {
        panic!("not a proxy: {:?}", p.decision)
    };
    let dumped = side.layout.get(Role::Vdso).unwrap();
    assert!(
        *park >= dumped.end || park + dumped.len() <= side.layout.mappings[0].start,
        "parked at {park:#x}, on the dumped image {:#x}..{:#x}",
        dumped.start,
        dumped.end
    );
    for t in patches {
        assert_ne!(t.target, d0 + t.offset, "{:?} jumps to itself", t.symbols);
    }
    assert!(p
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::OverlappingRegions));
    oracles::check_plan_sound(&side, &side, &p);
}

/// Item 1: with overlapping layouts, criu-4.1's stale entries stay findings (the runtime region no
/// longer shadows the dumped one in `World::resolve`).
#[test]
fn overlap_does_not_hide_stale_entries() {
    let (db, rb) = (real(X86_64_6_1), real(X86_64_7_2));
    let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&di));
    let apart = plan(
        &Side::preset(&di, d0),
        &Side::preset(&ri, r0),
        &policy::CRIU_4_1,
    );
    let on_top = plan(
        &Side::preset(&di, d0),
        &Side::preset(&ri, d0),
        &policy::CRIU_4_1,
    );
    let stale = |p: &vdso_lab::plan::Plan| {
        let mut v: Vec<_> = p
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::StaleEntry)
            .filter_map(|f| f.symbol.clone())
            .collect();
        v.sort();
        v
    };
    assert!(!stale(&apart).is_empty());
    assert_eq!(stale(&apart), stale(&on_top));
}

/// Item 2: a remap whose runtime mappings lie a page off the dumped ones parks them first; every
/// move is executable in order (no move overlaps its own source).
#[test]
fn overlapping_remap_parks_first() {
    let b = real(X86_64_7_2);
    let img = Image::parse(&b).unwrap();
    let (d0, _) = default_bases(vdso_lab::arch::Arch::of(&img));
    let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, d0 + 4096));
    let p = plan(&ds, &rs, &policy::STRICT);
    let Decision::Remap { moves } = &p.decision else {
        panic!("not a remap: {:?}", p.decision)
    };
    assert_eq!(moves.len(), 2 * rs.layout.movable().count(), "{moves:x?}");
    for m in moves {
        assert!(m.to + m.len <= m.from || m.from + m.len <= m.to, "{m:x?}");
    }
    oracles::check_remap_safety(&ds.layout, &rs.layout, &p);
    // And after the remap, every entry point is live runtime code at its own address.
    let mut w = World::new(vdso_lab::arch::Arch::X86_64);
    let d = w.add(vdso_lab::plan::Region::dumped(d0, &img));
    w.apply(d, &p, &img, rs.layout.get(Role::Vdso).unwrap().start);
    for s in img.functions() {
        let at = d0 + s.offset.unwrap();
        assert!(
            matches!(w.resolve(at).0, Target::Runtime { .. }),
            "{}",
            s.name
        );
    }
    assert!(p.findings.iter().all(|f| f.severity == Severity::Info));
}
