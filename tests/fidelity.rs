//! Issue 13 (model fidelity): each defect found by a hard look at the planner, the presets and the
//! parser, as a test that failed before its fix. Uses the committed real images in `corpus/real/`.

use std::path::Path;
use vdso_lab::fuzzing::oracles;
use vdso_lab::image::Image;
use vdso_lab::layout::Role;
use vdso_lab::plan::{
    default_bases, plan, Decision, Destination, FindingKind, Severity, Side, World,
};
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
    oracles::check_plan_sound(&side, &side, &policy::STRICT_PROXY, &p);
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
            matches!(w.resolve(at).0, Destination::Runtime { .. }),
            "{}",
            s.name
        );
    }
    assert!(p.findings.iter().all(|f| f.severity == Severity::Info));
}

const ARM_7_2: &str = "arm-vdso-7.2.13+deb14-armmp.so";
const ARM_CLOCKS: [&str; 3] = [
    "__vdso_gettimeofday",
    "__vdso_clock_gettime",
    "__vdso_clock_gettime64",
];

fn arm_nulled() -> Vec<u8> {
    let mut b = real(ARM_7_2);
    assert_eq!(vdso_lab::synth::null::null_names(&mut b, &ARM_CLOCKS), 3);
    b
}

/// Item 4: nulled entries are never matched by their empty name: two nulled images proxy the named
/// entries only, and no trampoline lands on a nulled runtime entry.
#[test]
fn empty_names_never_match() {
    let b = arm_nulled();
    let img = Image::parse(&b).unwrap();
    assert_eq!(img.nulled().count(), 3);
    assert!(img.functions().all(|s| !s.name.is_empty()));
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&img));
    let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
    let p = plan(&ds, &rs, &policy::STRICT_PROXY);
    let Decision::Proxy { patches, park } = &p.decision else {
        panic!("{:?}", p.decision)
    };
    let nulled: Vec<u64> = img.nulled().map(|s| park + s.offset.unwrap()).collect();
    for t in patches {
        assert!(
            !nulled.contains(&t.target),
            "{:?} lands on a nulled entry",
            t.symbols
        );
        assert!(t.symbols.iter().all(|s| !s.name.is_empty()));
    }
    assert_eq!(patches.len(), img.functions().count());
}

/// Item 4: a dumped entry whose runtime counterpart the kernel nulled is a finding of its own, under
/// every policy.
#[test]
fn runtime_nulled_counterpart_is_a_finding() {
    let (db, rb) = (real(ARM_7_2), arm_nulled());
    let (di, ri) = (Image::parse(&db).unwrap(), Image::parse(&rb).unwrap());
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&di));
    for pol in policy::ALL {
        let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
        let p = plan(&ds, &rs, pol);
        for name in ["__vdso_gettimeofday", "__vdso_clock_gettime"] {
            let k = format!("{name}@LINUX_2.6");
            assert!(
                p.findings.iter().any(|f| f.kind == FindingKind::NulledEntry
                    && f.severity == Severity::Error
                    && f.names(&k)),
                "{}: {k} not reported as nulled: {:#?}",
                pol.name,
                p.findings
            );
        }
        oracles::check_plan_sound(&ds, &rs, pol, &p);
    }
}

fn set_flags(bytes: &mut [u8], f: impl Fn(u32) -> u32) {
    // e_flags: offset 36 in ELF32, 48 in ELF64; these images are little-endian.
    let at = if bytes[4] == 1 { 36 } else { 48 };
    let v = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    bytes[at..at + 4].copy_from_slice(&f(v).to_le_bytes());
}

fn refused_for_arch(d: &[u8], r: &[u8]) -> bool {
    let (di, ri) = (Image::parse(d).unwrap(), Image::parse(r).unwrap());
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&di));
    let p = plan(
        &Side::preset(&di, d0),
        &Side::preset(&ri, r0),
        &policy::STRICT,
    );
    p.decision == Decision::Refused
        && p.findings
            .iter()
            .any(|f| f.kind == FindingKind::UnsupportedArch)
}

/// Item 3: every (machine, class, byte order, ABI flags) pair is its own architecture: MIPS n32 is
/// not o32, x32 is not x86-64, an old-ABI arm image is not EABI5, ppc64 ELFv1 is not ELFv2.
#[test]
fn abi_flags_separate_architectures() {
    let n32 = real("mips-vdso32n32-6.1.0-50-mips64r2el.so");
    let o32 = real("mips-vdso32-6.1.0-50-mips64r2el.so");
    assert!(refused_for_arch(&n32, &o32));
    assert!(refused_for_arch(&o32, &n32));
    assert!(!refused_for_arch(&o32, &o32));
    assert!(refused_for_arch(
        &real("x32-vdsox32-7.2.13+deb14-amd64.so"),
        &real(X86_64_7_2)
    ));
    let eabi = real(ARM_7_2);
    let mut old_abi = eabi.clone();
    set_flags(&mut old_abi, |f| f & 0x00ff_ffff);
    assert!(refused_for_arch(&eabi, &old_abi));
    let v2 = real("ppc64-vdso-7.2.13+deb14-powerpc64le.so");
    let mut v1 = v2.clone();
    set_flags(&mut v1, |f| (f & !3) | 1);
    assert!(refused_for_arch(&v2, &v1));
    assert!(!refused_for_arch(&v2, &v2));
    // And the matrix never pairs them.
    let entries: Vec<vdso_lab::matrix::Entry> =
        [("n32", n32), ("o32", o32), ("v1", v1), ("v2", v2)]
            .into_iter()
            .map(|(n, b)| vdso_lab::matrix::Entry {
                name: n.into(),
                bytes: b,
            })
            .collect();
    let m = vdso_lab::matrix::Matrix::build(&entries, &policy::STRICT);
    assert_eq!(m.arches.len(), 4);
    assert!(m.arches.iter().all(|a| a.images.len() == 1));
}

fn rejected_by(p: &vdso_lab::plan::Plan, what: &str) -> bool {
    p.decision == Decision::Refused
        && p.findings
            .iter()
            .any(|f| f.kind == FindingKind::RestorerRejects && f.detail.contains(what))
}

fn plan_bytes(d: &[u8], r: &[u8], pol: &policy::Policy) -> vdso_lab::plan::Plan {
    let (di, ri) = (Image::parse(d).unwrap(), Image::parse(r).unwrap());
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&di));
    plan(&Side::preset(&di, d0), &Side::preset(&ri, r0), pol)
}

/// Item 8: CRIU before 4.1 reads only DT_HASH: a GNU-hash-only image (arm64 from 6.12) stops it.
#[test]
fn criu_before_4_1_needs_dt_hash() {
    let gnu_only = real("aarch64-vdso-7.2.13+deb14-arm64.so");
    assert!(Image::parse(&gnu_only).unwrap().sysv.is_none());
    for pol in [&policy::CRIU_3_19, &policy::CRIU_4_0] {
        assert!(rejected_by(
            &plan_bytes(&gnu_only, &gnu_only, pol),
            "DT_HASH"
        ));
    }
    for pol in [&policy::CRIU_4_1, &policy::STRICT] {
        assert_ne!(
            plan_bytes(&gnu_only, &gnu_only, pol).decision,
            Decision::Refused
        );
    }
}

/// Item 8: CRIU up to 4.1 compares all 16 bytes of e_ident: EI_OSABI 3 (Linux) or a non-zero
/// EI_ABIVERSION stops it; strict does not care.
#[test]
fn criu_up_to_4_1_rejects_osabi_linux() {
    let b = real(X86_64_7_2);
    for (at, v) in [(7, 3u8), (8, 1u8)] {
        let mut m = b.clone();
        m[at] = v;
        for pol in [&policy::CRIU_3_19, &policy::CRIU_4_0, &policy::CRIU_4_1] {
            assert!(
                rejected_by(&plan_bytes(&m, &b, pol), "e_ident"),
                "{}",
                pol.name
            );
            assert!(
                rejected_by(&plan_bytes(&b, &m, pol), "e_ident"),
                "{}",
                pol.name
            );
        }
        assert_ne!(
            plan_bytes(&m, &b, &policy::STRICT).decision,
            Decision::Refused
        );
    }
}

/// CRIU 4.2.1 checks e_ident field by field and accepts EI_OSABI 3 (Linux), which 4.1.1 rejected
/// (criu/pie/util-vdso.c:99-137 in 4.2.1 against :116 in 4.1.1); the real parsers agree
/// (corpus/regressions/parser_diff).
#[test]
fn criu_4_2_accepts_osabi_linux() {
    let b = real(X86_64_7_2);
    let mut m = b.clone();
    m[7] = 3;
    assert!(!rejected_by(
        &plan_bytes(&m, &b, &policy::CRIU_4_2),
        "e_ident"
    ));
    assert!(!rejected_by(
        &plan_bytes(&b, &m, &policy::CRIU_4_2),
        "e_ident"
    ));
    assert!(rejected_by(
        &plan_bytes(&m, &b, &policy::CRIU_4_1),
        "e_ident"
    ));
}

fn maps(lines: &[(u64, u64, &str)]) -> vdso_lab::layout::Layout {
    let text: String = lines
        .iter()
        .map(|(s, e, n)| format!("{s:x}-{e:x} r--p 00000000 00:00 0 {n}\n"))
        .collect();
    vdso_lab::layout::Layout::from_maps(&text).unwrap()
}

fn plan_layouts(
    b: &[u8],
    dl: vdso_lab::layout::Layout,
    rl: vdso_lab::layout::Layout,
    pol: &policy::Policy,
) -> vdso_lab::plan::Plan {
    let img = Image::parse(b).unwrap();
    plan(
        &Side {
            image: &img,
            layout: dl,
        },
        &Side {
            image: &img,
            layout: rl,
        },
        pol,
    )
}

/// Item 8: the maps states CRIU refuses: a second [vvar] line, [vvar_vclock] not right after [vvar]
/// (4.1+), [vdso] not touching [vvar]; and the compat vDSO larger than its 4-page buffer.
#[test]
fn criu_maps_rules() {
    let b = real(X86_64_7_2);
    const P: u64 = 4096;
    let base = 0x7f00_0000_0000u64;
    let good = maps(&[
        (base, base + 4 * P, "[vvar]"),
        (base + 4 * P, base + 6 * P, "[vvar_vclock]"),
        (base + 6 * P, base + 8 * P, "[vdso]"),
    ]);
    let far = |l: &vdso_lab::layout::Layout| l.shifted(1 << 30).unwrap();
    assert_ne!(
        plan_layouts(&b, good.clone(), far(&good), &policy::CRIU_4_1).decision,
        Decision::Refused
    );
    let split = maps(&[
        (base, base + 2 * P, "[vvar]"),
        (base + 2 * P, base + 4 * P, "[vvar]"),
        (base + 4 * P, base + 6 * P, "[vvar_vclock]"),
        (base + 6 * P, base + 8 * P, "[vdso]"),
    ]);
    let p = plan_layouts(&b, good.clone(), far(&split), &policy::CRIU_4_1);
    assert!(rejected_by(&p, "Got second VVAR entry"), "{p:#?}");
    let gap = maps(&[
        (base, base + 4 * P, "[vvar]"),
        (base + 5 * P, base + 7 * P, "[vvar_vclock]"),
        (base + 7 * P, base + 9 * P, "[vdso]"),
    ]);
    let p = plan_layouts(&b, good.clone(), far(&gap), &policy::CRIU_4_1);
    assert!(rejected_by(&p, "not subsequent"), "{p:#?}");
    let apart = maps(&[
        (base, base + 4 * P, "[vvar]"),
        (base + 4 * P, base + 6 * P, "[vvar_vclock]"),
        (base + 7 * P, base + 9 * P, "[vdso]"),
    ]);
    let p = plan_layouts(&b, good.clone(), far(&apart), &policy::CRIU_4_1);
    assert!(rejected_by(&p, "Unexpected rt vDSO area bounds"), "{p:#?}");
    for l in [split, gap, apart] {
        assert!(
            !plan_layouts(&b, good.clone(), far(&l), &policy::STRICT_PROXY)
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::RestorerRejects)
        );
    }
    // A 5-page compat [vdso].
    let i386 = real("i386-vdso32-7.2.13+deb14-amd64.so");
    let big = |at: u64| {
        maps(&[
            (at, at + 4 * P, "[vvar]"),
            (at + 4 * P, at + 9 * P, "[vdso]"),
        ])
    };
    let p = plan_layouts(&i386, big(0xf000_0000), big(0xf100_0000), &policy::CRIU_4_1);
    assert!(rejected_by(&p, "Compatible vdso's size"), "{p:#?}");
}

/// Item 8: CRIU remaps a dumped [vdso] without [vvar] by moving the runtime [vdso] alone, leaving
/// the runtime [vvar] behind: an unsound remap, and invariant 6 sees the distances broken.
#[test]
fn criu_remap_without_dumped_vvar_leaves_data_behind() {
    let b = real(X86_64_7_2);
    const P: u64 = 4096;
    let d = maps(&[(0x7f00_0000_0000, 0x7f00_0000_0000 + 2 * P, "[vdso]")]);
    let r = maps(&[
        (0x7f10_0000_0000, 0x7f10_0000_0000 + 4 * P, "[vvar]"),
        (0x7f10_0000_4000, 0x7f10_0000_6000, "[vvar_vclock]"),
        (0x7f10_0000_6000, 0x7f10_0000_8000, "[vdso]"),
    ]);
    let p = plan_layouts(&b, d.clone(), r.clone(), &policy::CRIU_4_1);
    let Decision::Remap { moves } = &p.decision else {
        panic!("{p:#?}")
    };
    assert!(moves.iter().all(|m| m.role == Role::Vdso), "{moves:x?}");
    assert!(p
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::UnsoundRemap && f.detail.contains("no [vvar]")));
    oracles::check_remap_safety(&d, &r, &p);
}

/// Item 8: CRIU's mips, loongarch and s390x trampolines are modelled; a CRIU proxy on mips never
/// reaches the runtime vDSO (its `b -4` branches backwards), and the plan says so for every entry.
#[test]
fn criu_trampolines_of_more_arches() {
    let b = real("mips64-vdso-6.1.0-50-mips64r2el.so");
    let img = Image::parse(&b).unwrap();
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&img));
    let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
    let proxying = policy::Policy {
        remap: policy::RemapRule::Never,
        ..policy::CRIU_4_1
    };
    let p = plan(&ds, &rs, &proxying);
    for s in img.functions() {
        let k = format!("{}@LINUX_2.6", s.name);
        assert!(
            p.findings
                .iter()
                .any(|f| f.kind == FindingKind::Misdirected && f.names(&k)),
            "{k}: {:#?}",
            p.findings
        );
    }
    oracles::check_plan_sound(&ds, &rs, &proxying, &p);
    oracles::check_patch_safety(&ds, &p);
    // The lab's own short jumps do reach.
    let p = plan(&ds, &rs, &policy::STRICT_PROXY);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    for name in [
        "s390x-vdso-7.2.13+deb14-s390x.so",
        "mips-vdso32-6.1.0-50-mips64r2el.so",
    ] {
        let b = real(name);
        let img = Image::parse(&b).unwrap();
        let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&img));
        let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
        let p = plan(&ds, &rs, &policy::STRICT_PROXY);
        assert!(
            !p.findings
                .iter()
                .any(|f| f.kind == FindingKind::UnsupportedArch),
            "{name}: {:#?}",
            p.findings
        );
        let Decision::Proxy { patches, .. } = &p.decision else {
            panic!()
        };
        let skipped = p
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::CoversSyscallSite)
            .count();
        let covered: usize = patches.iter().map(|t| t.symbols.len()).sum();
        assert_eq!(covered + skipped, img.functions().count(), "{name}");
        oracles::check_plan_sound(&ds, &rs, &policy::STRICT_PROXY, &p);
        oracles::check_patch_safety(&ds, &p);
    }
}

fn stale_of<'p>(p: &'p vdso_lab::plan::Plan, k: &str) -> &'p vdso_lab::plan::Finding {
    p.findings
        .iter()
        .find(|f| f.kind == FindingKind::StaleEntry && f.names(k))
        .unwrap_or_else(|| panic!("no stale finding for {k}: {:#?}", p.findings))
}

/// Item 5: each stale entry says what its old code does: the seed incident's
/// `__vdso_clock_gettime64` reads the data pages (error); `__kernel_vsyscall`, which CRIU leaves
/// alone on purpose, and arm64's sigreturn stub touch none (info); x86-64 getrandom reads them.
#[test]
fn stale_entries_are_classified() {
    use vdso_lab::consequence::Consequence::*;
    let (d, r) = (
        real("i386-vdso32-5.10.0-32-amd64.so"),
        real("i386-vdso32-6.12.117+deb13-amd64.so"),
    );
    let p = plan_bytes(&d, &r, &policy::CRIU_3_19);
    let f = stale_of(&p, "__vdso_clock_gettime64@LINUX_2.6");
    assert_eq!(
        (f.consequence, f.severity),
        (Some(ReadsDataPages), Severity::Error)
    );
    let f = stale_of(&p, "__kernel_vsyscall@LINUX_2.5");
    assert_eq!(
        (f.consequence, f.severity),
        (Some(SelfContained), Severity::Info)
    );
    let x = real(X86_64_7_2);
    let p = plan_bytes(&real(X86_64_6_1), &x, &policy::CRIU_4_1);
    assert!(p
        .findings
        .iter()
        .all(|f| f.kind != FindingKind::StaleEntry || f.consequence.is_some()));
    let p = plan_bytes(
        &x,
        &x,
        &policy::Policy {
            remap: policy::RemapRule::Never,
            ..policy::CRIU_4_1
        },
    );
    let f = stale_of(&p, "__vdso_getrandom@LINUX_2.6");
    assert_eq!(
        (f.consequence, f.severity),
        (Some(ReadsDataPages), Severity::Error)
    );
    let a = real("aarch64-vdso-6.1.0-50-arm64.so");
    let img = Image::parse(&a).unwrap();
    for s in img.functions() {
        let c = vdso_lab::consequence::classify(
            vdso_lab::arch::Arch::Aarch64,
            &a,
            s.offset.unwrap(),
            s.size,
        );
        let want = if s.name.contains("sigreturn") {
            SelfContained
        } else {
            ReadsDataPages
        };
        assert_eq!(c, want, "{}", s.name);
    }
}

/// A trampoline that spills only into alignment padding is noted, not warned about: CRIU's 11-byte
/// stub over i386's 9- and 10-byte sigreturn stubs spills into `nop` filler. Strict on s390x leaves
/// the `svc` stubs alone (item 6) and is clean.
#[test]
fn trampolines_over_padding_are_info() {
    let (a, b) = (
        real("s390x-vdso-6.1.0-50-s390x.so"),
        real("s390x-vdso-7.2.13+deb14-s390x.so"),
    );
    let p = plan_bytes(&a, &b, &policy::STRICT);
    assert!(
        p.findings.iter().all(|f| f.severity == Severity::Info),
        "{:#?}",
        p.findings
    );
    use vdso_lab::arch::Arch;
    assert!(Arch::S390x.is_padding(&[7, 7], 2));
    assert!(!Arch::S390x.is_padding(&[7, 0x0a], 2));
    assert!(Arch::X86_64.is_padding(&[0xcc; 3], 3));
    assert!(!Arch::X86_64.is_padding(&[0xcc; 3], 0));
    // `nop; lea 0x0(%esi,%eiz,1),%esi`: filler even when only its start is covered.
    let filler = [0x90, 0x8d, 0xb4, 0x26, 0, 0, 0, 0];
    assert!(Arch::I386.is_padding(&filler, 3));
    assert!(!Arch::I386.is_padding(&[0x90, 0x55, 0x89, 0xe5], 3)); // nop; push %ebp; ...
    let (d, r) = (
        real("i386-vdso32-5.10.0-32-amd64.so"),
        real("i386-vdso32-6.12.117+deb13-amd64.so"),
    );
    let p = plan_bytes(&d, &r, &policy::CRIU_4_1);
    let too_large: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::TrampolineTooLarge)
        .collect();
    assert!(!too_large.is_empty());
    assert!(
        too_large
            .iter()
            .all(|f| f.severity == Severity::Info && f.detail.contains("alignment padding")),
        "{too_large:#?}"
    );
}

/// Item 6: strict never writes a jump over a syscall's return or restart address: i386 7.2's
/// `__kernel_vsyscall` has `int $0x80` at +0 (return address +2, inside a 5-byte jump); it is left
/// alone (and judged harmless). A CRIU-style patch over a syscall site is flagged.
#[test]
fn trampolines_never_cover_syscall_return_addresses() {
    let b = real("i386-vdso32-7.2.13+deb14-amd64.so");
    let img = Image::parse(&b).unwrap();
    let vsyscall = img
        .functions()
        .find(|s| s.name == "__kernel_vsyscall")
        .unwrap();
    let off = vsyscall.offset.unwrap();
    assert_eq!(&b[off as usize..off as usize + 2], &[0xcd, 0x80]);
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&img));
    let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
    let p = plan(&ds, &rs, &policy::STRICT_PROXY);
    let Decision::Proxy { patches, .. } = &p.decision else {
        panic!()
    };
    for t in patches {
        let span = t.offset..t.offset + t.bytes.len() as u64;
        assert!(
            !span.contains(&(off + 2)) || t.offset != off,
            "{:?} covers vsyscall's return address",
            t.symbols
        );
    }
    assert!(patches.iter().all(|t| t.offset != off));
    assert!(p.findings.iter().any(
        |f| f.kind == FindingKind::CoversSyscallSite && f.names("__kernel_vsyscall@LINUX_2.5")
    ));
    oracles::check_plan_sound(&ds, &rs, &policy::STRICT_PROXY, &p);
    // CRIU's 11-byte stub over i386 `__kernel_sigreturn` (`pop; mov $119,%eax; int $0x80`) covers
    // the int's return address at +8.
    let p = plan_bytes(
        &real("i386-vdso32-5.10.0-32-amd64.so"),
        &real("i386-vdso32-6.12.117+deb13-amd64.so"),
        &policy::CRIU_4_1,
    );
    assert!(p.findings.iter().any(
        |f| f.kind == FindingKind::CoversSyscallSite && f.names("__kernel_sigreturn@LINUX_2.5")
    ));
}

/// Item 9: a short DT_HASH nchain is a table disagreement (a finding naming DT_HASH), not a parse
/// error blamed on DT_GNU_HASH; a GNU table that runs past the symbol table is still its error.
#[test]
fn short_nchain_is_a_finding_not_a_gnu_error() {
    let mut b = real(X86_64_7_2);
    let (at, n) = {
        let img = Image::parse(&b).unwrap();
        let t = img.sysv.unwrap();
        (t.offset as usize + 4, t.nchain)
    };
    b[at..at + 4].copy_from_slice(&((n - 2) as u32).to_le_bytes());
    let img = Image::parse(&b).unwrap_or_else(|e| panic!("short nchain is a parse error: {e}"));
    assert_eq!(img.counts.dt_hash, Some(n - 2));
    assert_eq!(u64::from(img.symbol_count()), n - 1); // the null symbol is not counted
    let f = img.check_hashes();
    assert!(
        f.iter().any(|f| matches!(
            f,
            vdso_lab::image::HashFinding::CountMismatch {
                a: "DT_HASH nchain",
                ..
            }
        )),
        "{f:?}"
    );
    assert!(
        f.iter().any(|f| matches!(
            f,
            vdso_lab::image::HashFinding::Missed {
                table: vdso_lab::image::HashTable::Sysv,
                ..
            }
        )),
        "{f:?}"
    );
}

/// Item 9, over every real image with both tables: nchain cut by 1..=3 always parses, with the count
/// disagreement reported.
#[test]
fn short_nchain_on_every_image_with_both_tables() {
    let mut checked = 0;
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "so") {
            continue;
        }
        let orig = std::fs::read(&p).unwrap();
        let img = Image::parse(&orig).unwrap();
        let (Some(t), Some(_)) = (img.sysv, img.gnu) else {
            continue;
        };
        for k in 1..=3u64 {
            let mut b = orig.clone();
            let at = t.offset as usize + t.entry_size as usize;
            let v = t.nchain - k;
            match (t.entry_size, img.endian) {
                (8, vdso_lab::image::Endian::Big) => {
                    b[at..at + 8].copy_from_slice(&v.to_be_bytes())
                }
                (8, _) => b[at..at + 8].copy_from_slice(&v.to_le_bytes()),
                (_, vdso_lab::image::Endian::Big) => {
                    b[at..at + 4].copy_from_slice(&(v as u32).to_be_bytes())
                }
                _ => b[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes()),
            }
            let m =
                Image::parse(&b).unwrap_or_else(|e| panic!("{}: nchain - {k}: {e}", p.display()));
            assert!(
                m.check_hashes()
                    .iter()
                    .any(|f| matches!(f, vdso_lab::image::HashFinding::CountMismatch { .. })),
                "{}",
                p.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} images with both tables");
}

fn inspect(bytes: &[u8], tag: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("vdso-lab-fidelity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{tag}.so"));
    std::fs::write(&p, bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdso-lab"))
        .args(["inspect", p.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&p);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Item 10: `inspect` shows EI_OSABI and the ABI flags; exits 1 when the hash tables disagree;
/// warns about symbols outside every PT_LOAD and about a version chain whose last `vd_next` is not 0.
#[test]
fn inspect_shows_abi_and_fails_on_disagreement() {
    let arm = real(ARM_7_2);
    let (ok, text) = inspect(&arm, "arm");
    assert!(ok, "{text}");
    assert!(
        text.contains("EI_OSABI 0 (System V)") && text.contains("EABI5"),
        "{text}"
    );
    // Hash disagreement (short nchain): exit 1, report printed.
    let mut b = real(X86_64_7_2);
    let (at, n, sym) = {
        let img = Image::parse(&b).unwrap();
        assert!(!img.verdef_unterminated);
        let t = img.sysv.unwrap();
        (t.offset as usize + 4, t.nchain, img.dynsym_offset as usize)
    };
    b[at..at + 4].copy_from_slice(&((n - 1) as u32).to_le_bytes());
    let (ok, text) = inspect(&b, "short");
    assert!(!ok && text.contains("DISAGREEMENT"), "{text}");
    // A symbol moved outside every PT_LOAD: st_value of symbol 1 (ELF64: offset 8 in the entry).
    let mut b = real(X86_64_7_2);
    let v = sym + 24 + 8;
    b[v..v + 8].copy_from_slice(&0x4000_0000u64.to_le_bytes());
    let img = Image::parse(&b).unwrap();
    assert_eq!(img.symbols_outside_loads().count(), 1);
    let (ok, text) = inspect(&b, "outside");
    assert!(!ok && text.contains("outside every PT_LOAD"), "{text}");
}

/// Item 10: a VERDEF chain whose last entry does not end with `vd_next == 0` is diagnosed.
#[test]
fn unterminated_verdef_chain_is_diagnosed() {
    let mut b = real(X86_64_7_2);
    let (dynamic, bias) = {
        let img = Image::parse(&b).unwrap();
        // DT_VERDEF from the dynamic section: find the tag (0x6ffffffc) in the PT_DYNAMIC segment.
        let d = img
            .segments()
            .find(|p| p.p_type == goblin::elf::program_header::PT_DYNAMIC)
            .unwrap();
        (d, img.load_bias)
    };
    let mut verdef = None;
    for e in b[dynamic.offset as usize..(dynamic.offset + dynamic.filesz) as usize].chunks_exact(16)
    {
        let tag = u64::from_le_bytes(e[..8].try_into().unwrap());
        if tag == 0x6fff_fffc {
            verdef = Some(u64::from_le_bytes(e[8..].try_into().unwrap()) - bias);
        }
    }
    let first = verdef.unwrap() as usize;
    // Entry 0's vd_next (offset 16) leads to entry 1, whose vd_next is 0: make it point back.
    let next0 = u32::from_le_bytes(b[first + 16..first + 20].try_into().unwrap()) as usize;
    let last = first + next0;
    assert_eq!(&b[last + 16..last + 20], &[0, 0, 0, 0]);
    b[last + 16..last + 20].copy_from_slice(&(next0 as u32).wrapping_neg().to_le_bytes());
    let img = Image::parse(&b).unwrap();
    assert!(img.verdef_unterminated);
    assert_eq!(img.versions.len(), 2);
    let (ok, text) = inspect(&b, "verdef");
    assert!(!ok && text.contains("vd_next is not 0"), "{text}");
}

/// Item 18 (class and byte order): an ELF64 file whose EI_CLASS says ELF32 (and the reverse), or whose
/// EI_DATA names the other byte order, is blamed on that e_ident byte, not on a missing program header
/// table or e_machine.
#[test]
fn class_and_byte_order_errors_blame_e_ident() {
    use vdso_lab::image::ErrorKind;
    for (name, at, v, kind, field) in [
        (
            X86_64_7_2,
            4,
            1u8,
            ErrorKind::WrongClass,
            "e_ident[EI_CLASS]",
        ),
        (
            "i386-vdso32-7.2.13+deb14-amd64.so",
            4,
            2,
            ErrorKind::WrongClass,
            "e_ident[EI_CLASS]",
        ),
        (
            X86_64_7_2,
            5,
            2,
            ErrorKind::WrongEncoding,
            "e_ident[EI_DATA]",
        ),
        (
            "s390x-vdso-7.2.13+deb14-s390x.so",
            5,
            1,
            ErrorKind::WrongEncoding,
            "e_ident[EI_DATA]",
        ),
    ] {
        let mut b = real(name);
        b[at] = v;
        let e = Image::parse(&b).unwrap_err();
        assert_eq!((e.kind, e.field), (kind, field), "{name}: {e}");
    }
    // Every real image still parses.
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "so") {
            Image::parse(&std::fs::read(&p).unwrap()).unwrap();
        }
    }
}

/// Item 20: the ClusterFuzzLite PR workflow triggers on every directory whose code the fuzz targets
/// build: the root crate's `src/` and each path dependency of it (`core/`), read from the manifests.
#[test]
fn pr_fuzzing_triggers_on_the_code_under_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wf = std::fs::read_to_string(root.join(".github/workflows/cflite_pr.yml")).unwrap();
    let paths_line = wf
        .lines()
        .find(|l| l.trim_start().starts_with("paths:"))
        .expect("a paths: line");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut dirs = vec!["src".to_string()];
    for l in manifest.lines() {
        // `name = { path = "dir" ... }` dependencies (not [[test]]/[[bin]] `path = "file.rs"` lines).
        if let Some(i) = l.find("{ path = \"") {
            let rest = &l[i + 10..];
            dirs.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    assert!(dirs.contains(&"core".to_string()), "{dirs:?}");
    for d in dirs {
        let glob = format!("\"{d}/**\"");
        assert!(
            paths_line.contains(&glob),
            "{glob} missing from {paths_line}"
        );
    }
}

/// Item 19: `cargo fuzz run <t>` (cargo-fuzz's default corpus `fuzz/corpus/<t>`) starts from the
/// committed `corpus/<t>`, and the README's first fuzzing line spells out the toolchain, the stable
/// alternative and the dictionary.
#[test]
fn cargo_fuzz_defaults_resolve_to_the_committed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for t in ["vdso_parse", "vdso_reloc", "remap_layout", "plan_chain"] {
        let via_default = std::fs::canonicalize(root.join("fuzz/corpus").join(t)).unwrap();
        let committed = std::fs::canonicalize(root.join("corpus").join(t)).unwrap();
        assert_eq!(via_default, committed, "{t}");
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first = readme
        .lines()
        .find(|l| l.contains("fuzz run"))
        .expect("a fuzzing line");
    for needed in ["+nightly", "-dict=fuzz/vdso.dict"] {
        assert!(first.contains(needed), "{needed} missing from: {first}");
    }
    assert!(readme.contains("--sanitizer none vdso_reloc"));
}

/// Item 11: `inspect` on a dump of a `[vdso]` mapping whose first page is a data page (ppc64) finds
/// the ELF inside, as `extract` does.
#[test]
fn inspect_finds_the_image_after_a_data_page() {
    let img = real("ppc64-vdso-7.2.13+deb14-powerpc64le.so");
    let mut dump = vec![0u8; 0x10000];
    dump[..8].copy_from_slice(&0x1234_5678u64.to_le_bytes()); // data-page contents
    dump.extend_from_slice(&img);
    dump.resize(dump.len().next_multiple_of(0x10000), 0);
    let (at, found) = vdso_lab::extract::image_in(&dump).expect("an image inside");
    assert_eq!(at, 0x10000);
    assert!(found.starts_with(&img));
    let (ok, text) = inspect(&dump, "ppc64dump");
    assert!(ok, "{text}");
    assert!(text.contains("__kernel_clock_gettime"), "{text}");
    // Garbage with no image is still an error.
    assert!(vdso_lab::extract::image_in(&[0u8; 8192]).is_none());
}

/// Item 7: a `[vvar]` shown as two adjacent VMAs is one mapping: strict remaps identical images
/// across a split and an unsplit layout, moving `[vvar]` once; invariant 6 holds on the raw layouts.
#[test]
fn split_mappings_are_merged() {
    let b = real(X86_64_7_2);
    const P: u64 = 4096;
    let d = 0x7f00_0000_0000u64;
    let r = 0x7f10_0000_0000u64;
    let split = maps(&[
        (d, d + 2 * P, "[vvar]"),
        (d + 2 * P, d + 4 * P, "[vvar]"),
        (d + 4 * P, d + 6 * P, "[vvar_vclock]"),
        (d + 6 * P, d + 8 * P, "[vdso]"),
    ]);
    let whole = maps(&[
        (r, r + 4 * P, "[vvar]"),
        (r + 4 * P, r + 6 * P, "[vvar_vclock]"),
        (r + 6 * P, r + 8 * P, "[vdso]"),
    ]);
    assert_eq!(split.merged().unwrap().shape(), whole.shape());
    for (dl, rl) in [
        (split.clone(), whole.clone()),
        (whole.clone(), split.clone()),
    ] {
        let p = plan_layouts(&b, dl.clone(), rl.clone(), &policy::STRICT);
        let Decision::Remap { moves } = &p.decision else {
            panic!("{:#?}", p)
        };
        assert!(p.findings.is_empty(), "{:#?}", p.findings);
        assert_eq!(moves.iter().filter(|m| m.role == Role::Vvar).count(), 1);
        oracles::check_remap_safety(&dl, &rl, &p);
    }
}

/// Item 7: presets take the page size from the image: a ppc64 image of a 64 KiB-page kernel
/// (PT_LOAD aligned to 0x10000) gets 64 KiB pages, an x86-64 image 4 KiB ones.
#[test]
fn presets_take_the_page_size_from_the_image() {
    let ppc = real("ppc64-vdso-7.2.13+deb14-powerpc64le.so");
    let img = Image::parse(&ppc).unwrap();
    assert_eq!(img.page_size(), 0x10000);
    let l = Side::preset(&img, 0x7f00_0000_0000).layout;
    for m in l.movable() {
        assert_eq!(m.len() % 0x10000, 0, "{m:?}");
        assert_eq!(m.start % 0x10000, 0, "{m:?}");
    }
    assert_eq!(l.get(Role::Vdso).unwrap().len(), 0x10000);
    let x = real(X86_64_7_2);
    let img = Image::parse(&x).unwrap();
    assert_eq!(img.page_size(), 4096);
    assert_eq!(
        Side::preset(&img, 0x7f00_0000_0000)
            .layout
            .get(Role::Vdso)
            .unwrap()
            .len(),
        2 * 4096
    );
}

/// An unpatched entry whose old code starts with a branch (arm64's `__kernel_getrandom` branches to
/// its syscall fallback until the kernel patches it) is a stale entry classified by its code, not a
/// misdirected trampoline.
#[test]
fn an_original_branch_is_not_a_trampoline() {
    let (d, r) = (
        real("aarch64-vdso-7.2.13+deb14-arm64.so"),
        real("aarch64-vdso-6.12.117+deb13-arm64.so"),
    );
    assert_eq!(&d[0x840..0x844], &[0x76, 0, 0, 0x14]); // b 0xa18
    let p = plan_bytes(&d, &r, &policy::CRIU_4_1);
    let k = "__kernel_getrandom@LINUX_2.6.39";
    assert!(!p
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Misdirected && f.names(k)));
    let f = stale_of(&p, k);
    assert_eq!(
        f.consequence,
        Some(vdso_lab::consequence::Consequence::ReadsDataPages)
    );
}

/// CRIU's riscv64 call stubs (`li t0, idx` built as `0x293 | idx << 24`) reach the right lookup slot
/// only for the first entry of its list present in the image; the others are misdirected.
#[test]
fn criu_riscv64_stub_index_is_shifted() {
    let p = plan_bytes(
        &real("riscv64-vdso-6.12.117+deb13-riscv64.so"),
        &real("riscv64-vdso-7.2.13+deb14-riscv64.so"),
        &policy::CRIU_4_1,
    );
    let mis = |n: &str| {
        p.findings
            .iter()
            .any(|f| f.kind == FindingKind::Misdirected && f.names(&format!("{n}@LINUX_4.15")))
    };
    assert!(!mis("__vdso_clock_getres"), "{:#?}", p.findings); // idx 0: slot 0, right
    for n in [
        "__vdso_clock_gettime",
        "__vdso_gettimeofday",
        "__vdso_getcpu",
    ] {
        assert!(mis(n), "{n}: {:#?}", p.findings);
    }
}

/// Item 5: stale entries are classified on riscv64, ppc64, mips and 32-bit arm too (ARM and Thumb),
/// not only on x86, arm64 and s390: on every real image of those architectures the time functions
/// reach the data pages through their architecture's PC-relative idiom (`auipc`; `bcl 20,31,.+4;
/// mflr`; `bal` and a stored offset; `sub rX, pc` or a Thumb literal plus `add rX, pc`), while the
/// sigreturn stubs and the syscall-only helpers are self-contained.
#[test]
fn stale_entries_are_classified_beyond_x86_and_arm64() {
    use vdso_lab::arch::Arch;
    use vdso_lab::consequence::{classify, Consequence::*};
    let imgs = vdso_lab::corpus::real_images(&vdso_lab::corpus::root().join("real")).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    let mut bad = Vec::new();
    for r in &imgs {
        let img = Image::parse(&r.bytes).unwrap();
        let arch = Arch::of(&img).unwrap();
        if !matches!(
            arch,
            Arch::Riscv64 | Arch::Ppc64 | Arch::Mips | Arch::MipsN32 | Arch::Mips64 | Arch::Arm
        ) {
            continue;
        }
        // MIPS release 6 is not read: every function is Unknown (a warning), never a guess.
        if vdso_lab::consequence::mips_release6(&r.bytes) {
            for s in img.functions() {
                let got = classify(arch, &r.bytes, s.offset.unwrap(), s.size);
                if got != Unknown {
                    bad.push(format!(
                        "{} {}: {got:?}, want Unknown (r6)",
                        r.name(),
                        s.name
                    ));
                }
            }
            continue;
        }
        for s in img.functions() {
            let want = match s.name {
                n if n.contains("sigreturn") || n.contains("sigtramp") => SelfContained,
                // riscv64: `li a7, N; ecall; ret`; ppc64: the CPU number from an SPRG register.
                "__vdso_getcpu" | "__vdso_flush_icache" | "__kernel_getcpu" => SelfContained,
                n if n.contains("clock_get")
                    || n.contains("gettimeofday")
                    || n.contains("time") =>
                {
                    ReadsDataPages
                }
                _ => continue,
            };
            let got = classify(arch, &r.bytes, s.offset.unwrap(), s.size);
            *seen.entry((arch.name(), want)).or_insert(0) += 1;
            if got != want {
                bad.push(format!("{} {}: {got:?}, want {want:?}", r.name(), s.name));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    for arch in ["riscv64", "ppc64", "mips", "mips-n32", "mips64", "arm"] {
        assert!(
            seen.contains_key(&(arch, ReadsDataPages)),
            "no {arch} time function judged: {seen:?}"
        );
    }
    for arch in ["riscv64", "ppc64"] {
        assert!(seen.contains_key(&(arch, SelfContained)), "{seen:?}");
    }
}

/// Item 5: the ppc64 and MIPS readers follow the image's byte order: each real little-endian image
/// with every 4-byte word swapped and `EI_DATA` set to big-endian is classified exactly as the
/// original (the instructions and the MIPS offset words are all aligned words).
#[test]
fn consequences_follow_the_byte_order() {
    use vdso_lab::arch::Arch;
    use vdso_lab::consequence::classify;
    let imgs = vdso_lab::corpus::real_images(&vdso_lab::corpus::root().join("real")).unwrap();
    let mut n = 0;
    for r in &imgs {
        let img = Image::parse(&r.bytes).unwrap();
        let arch = Arch::of(&img).unwrap();
        // MIPS release 6 is not read (Unknown in either order): nothing to compare.
        if !matches!(arch, Arch::Ppc64 | Arch::Mips64 | Arch::Mips)
            || vdso_lab::consequence::mips_release6(&r.bytes)
        {
            continue;
        }
        let mut be = r.bytes.clone();
        for w in be.chunks_exact_mut(4) {
            w.reverse();
        }
        be[5] = 2; // ELFDATA2MSB
        for s in img.functions() {
            let (off, size) = (s.offset.unwrap(), s.size);
            let le = classify(arch, &r.bytes, off, size);
            assert_eq!(
                classify(arch, &be, off, size),
                le,
                "{} {}",
                r.name(),
                s.name
            );
            n += 1;
        }
        // Read in the wrong order, the same bytes are not understood the same way.
        let mut wrong = be.clone();
        wrong[5] = 1;
        assert!(
            img.functions()
                .any(|s| classify(arch, &wrong, s.offset.unwrap(), s.size)
                    != classify(arch, &r.bytes, s.offset.unwrap(), s.size)),
            "{}: byte order made no difference",
            r.name()
        );
    }
    assert!(n > 0);
}

/// Item 8: riscv64 trampolines are written and followed. Under `strict` every redirected entry of a
/// real riscv64 image gets an 8-byte `auipc t1; jalr zero, lo(t1)` that decodes to its runtime
/// counterpart, the syscall stubs (`li a7; ecall`, whose `ecall` would lie under the jump) are left
/// alone and are harmless, and the plan is sound; CRIU's riscv64 lookup stub and calls are written
/// and followed byte by byte as well.
#[test]
fn riscv64_trampolines_are_written_and_followed() {
    use vdso_lab::arch::Arch;
    let (d, r) = (
        real("riscv64-vdso-6.12.117+deb13-riscv64.so"),
        real("riscv64-vdso-7.2.13+deb14-riscv64.so"),
    );
    let (di, ri) = (Image::parse(&d).unwrap(), Image::parse(&r).unwrap());
    let (d0, r0) = default_bases(Arch::of(&di));
    let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
    let p = plan(&ds, &rs, &policy::STRICT_PROXY);
    let Decision::Proxy { patches, .. } = &p.decision else {
        panic!("not a proxy: {:?}", p.decision)
    };
    let mut patched: Vec<&str> = patches
        .iter()
        .flat_map(|t| t.symbols.iter().map(|k| k.name.as_str()))
        .collect();
    patched.sort();
    assert_eq!(
        patched,
        [
            "__vdso_clock_getres",
            "__vdso_clock_gettime",
            "__vdso_gettimeofday",
            "__vdso_riscv_hwprobe"
        ]
    );
    for t in patches {
        assert_eq!(t.bytes.len(), 8);
        let from = d0 + t.offset;
        assert_eq!(Arch::Riscv64.decode(&t.bytes, from), Some(t.target));
    }
    assert_eq!(p.errors(), 0, "{:#?}", p.findings);
    assert!(p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::StaleEntry)
        .all(|f| f.severity == Severity::Info));
    let mut w = World::new(Arch::Riscv64);
    let dr = w.add(vdso_lab::plan::Region::of_functions(
        "dumped",
        d0,
        &d,
        false,
        &di.functions().collect::<Vec<_>>(),
    ));
    w.apply(dr, &p, &ri, p.runtime_vdso(&rs.layout));
    let off = di
        .functions()
        .find(|s| s.name == "__vdso_clock_gettime")
        .and_then(|s| s.offset)
        .unwrap();
    let (t, _) = w.resolve(d0 + off);
    assert!(
        matches!(
            t,
            Destination::Runtime {
                symbol: "__vdso_clock_gettime",
                ..
            }
        ),
        "{t:?}"
    );
    assert_eq!(
        oracles::check_plan_sound(&ds, &rs, &policy::STRICT_PROXY, &p),
        oracles::Check::Checked
    );
    // CRIU's own scheme, written and followed byte by byte: one stub (a patch naming no symbol),
    // whose table slot 0 serves the first listed entry; the second listed entry's `li t0, 16`
    // sends it 128 bytes into the table, past its six slots.
    let c = plan(&ds, &rs, &policy::CRIU_4_1);
    let Decision::Proxy { patches, .. } = &c.decision else {
        panic!("not a proxy: {:#?}", c.findings)
    };
    assert_eq!(patches.iter().filter(|t| t.symbols.is_empty()).count(), 1);
    let mut image = d.clone();
    vdso_lab::plan::apply(&c, &mut image);
    let at = |n: &str| {
        d0 + di
            .functions()
            .find(|s| s.name == n)
            .unwrap()
            .offset
            .unwrap()
    };
    let rbase = c.runtime_vdso(&rs.layout);
    let rt = |n: &str| {
        rbase
            + ri.functions()
                .find(|s| s.name == n)
                .unwrap()
                .offset
                .unwrap()
    };
    let mut cw = World::new(Arch::Riscv64);
    let dr = cw.add(vdso_lab::plan::Region::of_functions(
        "dumped",
        d0,
        &d,
        false,
        &di.functions().collect::<Vec<_>>(),
    ));
    cw.apply(dr, &c, &ri, rbase);
    assert_eq!(
        Arch::Riscv64.decode_in(false, &image, d0, at("__vdso_clock_getres")),
        Some(rt("__vdso_clock_getres"))
    );
    assert!(matches!(
        cw.resolve(at("__vdso_clock_getres")).0,
        Destination::Runtime {
            symbol: "__vdso_clock_getres",
            ..
        }
    ));
    assert_ne!(
        Arch::Riscv64.decode_in(false, &image, d0, at("__vdso_clock_gettime")),
        Some(rt("__vdso_clock_gettime"))
    );
}

/// Item 8: big-endian MIPS and ppc64 (and ppc64le) trampolines are written and followed under
/// `strict`: each patch decodes to its target read in the image's byte order (and not in the other),
/// and the plan is sound. CRIU has no big-endian port of either (compel's MIPS ELF check wants
/// ELFDATA2LSB; its Makefile stops on ppc64 big-endian), so every CRIU preset refuses those images
/// and says why; on ppc64le CRIU's shared stub and calls are written and followed too.
#[test]
fn big_endian_mips_and_ppc64_trampolines() {
    use vdso_lab::arch::{Abi, Arch};
    for name in [
        "mips64-vdso-6.1.0-50-mips64r2el.so",
        "mips-vdso32-6.1.0-50-mips64r2el.so",
        "ppc64-vdso-7.2.13+deb14-powerpc64le.so",
    ] {
        let le = real(name);
        let mut spec = vdso_lab::synth::Spec::from_image(&Image::parse(&le).unwrap()).unwrap();
        spec.endian = vdso_lab::image::Endian::Big;
        let be = spec.build().unwrap();
        for (bytes, big) in [(&be, true), (&le, false)] {
            let img = Image::parse(bytes).unwrap();
            assert_eq!(Abi::of(&img).big_endian, big);
            let arch = Arch::of(&img).unwrap();
            let (d0, r0) = default_bases(Some(arch));
            let (ds, rs) = (Side::preset(&img, d0), Side::preset(&img, r0));
            let p = plan(&ds, &rs, &policy::STRICT_PROXY);
            let Decision::Proxy { patches, .. } = &p.decision else {
                panic!("{name} big={big}: not a proxy: {:#?}", p.findings)
            };
            assert!(!patches.is_empty(), "{name} big={big}");
            // `plan`'s text shows each trampoline read in the image's byte order.
            let text = vdso_lab::report::plan_text(&p, d0, big);
            for t in patches {
                let from = d0 + t.offset;
                assert_eq!(arch.decode_for(big, &t.bytes, from), Some(t.target));
                assert_ne!(arch.decode_for(!big, &t.bytes, from), Some(t.target));
                assert!(
                    text.contains(&format!("jump to {:#x}", t.target)),
                    "{name} big={big}: {text}"
                );
            }
            assert_eq!(p.errors(), 0, "{name} big={big}: {:#?}", p.findings);
            assert_eq!(
                oracles::check_plan_sound(&ds, &rs, &policy::STRICT_PROXY, &p),
                oracles::Check::Checked
            );
            for pol in [&policy::CRIU_3_19, &policy::CRIU_4_1, &policy::CRIU_4_2] {
                let c = plan(&ds, &rs, &pol.forced_proxy());
                if big {
                    assert_eq!(c.decision, Decision::Refused, "{name} {}", pol.name);
                    assert!(
                        c.findings
                            .iter()
                            .any(|f| f.kind == FindingKind::UnsupportedArch
                                && f.detail.contains("no big-endian")
                                && (f.detail.contains("handle-elf.c")
                                    || f.detail.contains("Makefile"))),
                        "{:#?}",
                        c.findings
                    );
                } else if arch == Arch::Ppc64 {
                    // CRIU's ppc64le scheme, written as bytes: one shared stub (a patch naming no
                    // symbol) and a `mflr r0; bl stub; .quad target` per listed entry, each of which
                    // leads to its target through the stub in the patched image.
                    let Decision::Proxy { patches, .. } = &c.decision else {
                        panic!("{:#?}", c.findings)
                    };
                    assert_eq!(patches.iter().filter(|t| t.symbols.is_empty()).count(), 1);
                    let mut image = bytes.clone();
                    vdso_lab::plan::apply(&c, &mut image);
                    for t in patches.iter().filter(|t| !t.symbols.is_empty()) {
                        assert_eq!(t.bytes.len(), 16);
                        let from = d0 + t.offset;
                        assert_eq!(arch.decode_in(false, &image, d0, from), Some(t.target));
                        assert_eq!(arch.decode_for(false, &t.bytes, from), None);
                    }
                    // The 16-byte call covers the 12-byte sigreturn stub's `sc`.
                    assert!(c
                        .findings
                        .iter()
                        .any(|f| f.kind == FindingKind::CoversSyscallSite
                            && f.symbol
                                .as_ref()
                                .is_some_and(|k| k.name == "__kernel_sigtramp_rt64")));
                }
            }
        }
    }
}

/// Item 8: a ppc64 runtime image whose function starts off a 4-byte boundary (synthetic; no
/// instruction can start there) cannot be reached by any ppc64 jump: strict reports it, and the
/// soundness oracle accepts that as an excuse instead of demanding an error-free plan. (Found by
/// mutating the `vdso_reloc` corpus once ppc64 trampolines were modelled.)
#[test]
fn misaligned_ppc64_counterpart_is_excused() {
    use vdso_lab::arch::Arch;
    let le = real("ppc64-vdso-7.2.13+deb14-powerpc64le.so");
    let spec = vdso_lab::synth::Spec::from_image(&Image::parse(&le).unwrap()).unwrap();
    let mut odd = spec.clone();
    for s in &mut odd.symbols {
        if s.name == "__kernel_time" {
            s.offset += 3;
        }
    }
    let (d, r) = (spec.build().unwrap(), odd.build().unwrap());
    let (di, ri) = (Image::parse(&d).unwrap(), Image::parse(&r).unwrap());
    let (d0, r0) = default_bases(Arch::of(&di));
    let (ds, rs) = (Side::preset(&di, d0), Side::preset(&ri, r0));
    let p = plan(&ds, &rs, &policy::STRICT_PROXY);
    assert!(p.findings.iter().any(|f| f.severity == Severity::Error
        && f.symbol.as_ref().is_some_and(|k| k.name == "__kernel_time")));
    let _ = oracles::check_plan_sound(&ds, &rs, &policy::STRICT_PROXY, &p);
}
