//! The planner's small public pieces that reports and matrices are built from, through the public
//! API only: the class of a plan's outcome (`Plan::category`, what every matrix cell counts), its name,
//! how a finding reads, and where presets put the two `[vdso]`s. Plans are built by hand, so these
//! hold whatever findings the planner adds.

use vdso_lab::arch::Arch;
use vdso_lab::layout::Role;
use vdso_lab::plan::{
    default_bases, Category, Decision, Finding, FindingKind, Move, Plan, Severity, SymbolKey,
};

fn finding(severity: Severity) -> Finding {
    Finding {
        kind: FindingKind::StaleEntry,
        severity,
        symbol: Some(SymbolKey::new("__vdso_time", Some("LINUX_2.6"))),
        detail: "left unredirected".into(),
        consequence: None,
    }
}

fn with(decision: Decision, findings: Vec<Finding>) -> Plan {
    Plan {
        arch: Some(Arch::X86_64),
        policy: "strict",
        decision,
        findings,
    }
}

#[test]
fn outcome_classes_count_warnings_and_errors_not_info() {
    let remap = || Decision::Remap {
        moves: vec![Move {
            role: Role::Vdso,
            from: 0x2000,
            to: 0x1000,
            len: 0x1000,
        }],
    };
    let proxy = || Decision::Proxy {
        patches: vec![],
        park: 0x2000,
    };
    let info = || vec![finding(Severity::Info)];
    assert_eq!(with(remap(), vec![]).category(), Category::Remap);
    assert_eq!(with(remap(), info()).category(), Category::Remap);
    assert_eq!(
        with(remap(), vec![finding(Severity::Warning)]).category(),
        Category::RemapWithFindings
    );
    assert_eq!(with(proxy(), info()).category(), Category::ProxyClean);
    assert_eq!(
        with(proxy(), vec![finding(Severity::Error)]).category(),
        Category::ProxyWithFindings
    );
    assert_eq!(
        with(proxy(), vec![finding(Severity::Warning)]).category(),
        Category::ProxyWithFindings
    );
    assert_eq!(
        with(Decision::Refused, info()).category(),
        Category::Refused
    );
    let p = with(
        proxy(),
        vec![
            finding(Severity::Error),
            finding(Severity::Warning),
            finding(Severity::Error),
        ],
    );
    assert_eq!(p.errors(), 2);
}

#[test]
fn outcome_names_are_the_matrix_column_names() {
    let names: Vec<&str> = Category::ALL.iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        [
            "remap",
            "proxy",
            "remap-findings",
            "proxy-findings",
            "refused"
        ]
    );
}

#[test]
fn a_finding_reads_severity_kind_symbol_detail() {
    assert_eq!(
        finding(Severity::Error).to_string(),
        "error: StaleEntry `__vdso_time@LINUX_2.6`: left unredirected"
    );
    let mut f = finding(Severity::Info);
    f.symbol = None;
    assert_eq!(f.to_string(), "info: StaleEntry: left unredirected");
    assert!(finding(Severity::Warning)
        .to_string()
        .starts_with("warning: "));
}

#[test]
fn presets_place_the_vdso_where_the_architecture_can_address_it() {
    assert_eq!(
        default_bases(Some(Arch::I386)),
        (0xf7f0_0000, 0xf7f0_0000 + (1 << 20))
    );
    assert_eq!(
        default_bases(Some(Arch::X86_64)),
        (0x7f00_0000_0000, 0x7f00_0000_0000 + (1 << 20))
    );
    assert_eq!(default_bases(None).0, 0x7f00_0000_0000);
}

// --- The remap criteria, on one real image placed on both sides with hand-made layouts.

use vdso_lab::image::Image;
use vdso_lab::layout::Layout;
use vdso_lab::plan::{plan, Side};
use vdso_lab::policy::{Policy, CRIU_4_0, CRIU_4_1, STRICT};

fn real(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A layout from (maps name, first page, pages), as /proc/PID/maps would show it.
fn layout(maps: &[(&str, u64, u64)]) -> Layout {
    let text: String = maps
        .iter()
        .map(|&(name, page, pages)| {
            format!(
                "{:x}-{:x} r--p 00000000 00:00 0 {name}\n",
                page * 4096,
                (page + pages) * 4096
            )
        })
        .collect();
    Layout::from_maps(&text).unwrap()
}

/// The 6.18 shape ([vvar] 4, [vvar_vclock] 2, [vdso] 2 pages) with [vdso] at page `v`.
fn modern(v: u64) -> Layout {
    layout(&[
        ("[vvar]", v - 6, 4),
        ("[vvar_vclock]", v - 2, 2),
        ("[vdso]", v, 2),
    ])
}

fn decide(policy: &Policy, dumped: Layout, runtime: Layout) -> Plan {
    let b = real("x86_64-vdso64-6.12.117+deb13-amd64.so");
    let img = Image::parse(&b).unwrap();
    let side = |layout| Side {
        image: &img,
        layout,
    };
    plan(&side(dumped), &side(runtime), policy)
}

fn remaps(p: &Plan) -> bool {
    matches!(p.decision, Decision::Remap { .. })
}

#[test]
fn identical_images_and_layouts_remap_under_every_vclock_aware_policy() {
    for policy in [&STRICT, &CRIU_4_1] {
        let p = decide(policy, modern(0x7f000), modern(0x7f800));
        assert!(remaps(&p), "{}: {p:?}", policy.name);
    }
}

#[test]
fn a_restorer_blind_to_vvar_vclock_refuses_when_either_side_has_it() {
    let old = |v| layout(&[("[vvar]", v - 4, 4), ("[vdso]", v, 2)]);
    for (d, r) in [
        (old(0x7f000), modern(0x7f800)),
        (modern(0x7f000), old(0x7f800)),
    ] {
        let p = decide(&CRIU_4_0, d, r);
        assert_eq!(p.decision, Decision::Refused, "{p:?}");
        assert!(p
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnsupportedLayout));
    }
}

#[test]
fn criu_compares_vvar_plus_vclock_size_and_the_vvar_vdso_order() {
    // 4 + 2 pages of data against 6 pages of [vvar]: the same size to CRIU 4.1.
    let flat = |v| layout(&[("[vvar]", v - 6, 6), ("[vdso]", v, 2)]);
    assert!(remaps(&decide(&CRIU_4_1, modern(0x7f000), flat(0x7f800))));
    // 4 + 2 against 5: different.
    let five = |v| layout(&[("[vvar]", v - 5, 5), ("[vdso]", v, 2)]);
    assert!(!remaps(&decide(&CRIU_4_1, modern(0x7f000), five(0x7f800))));
    // The same sizes, but [vvar] after [vdso] on the runtime side.
    let after = |v| {
        layout(&[
            ("[vdso]", v, 2),
            ("[vvar]", v + 2, 4),
            ("[vvar_vclock]", v + 6, 2),
        ])
    };
    assert!(!remaps(&decide(&CRIU_4_1, modern(0x7f000), after(0x7f800))));
    // A [vdso] of another size.
    let big = |v| {
        layout(&[
            ("[vvar]", v - 6, 4),
            ("[vvar_vclock]", v - 2, 2),
            ("[vdso]", v, 3),
        ])
    };
    assert!(!remaps(&decide(&CRIU_4_1, modern(0x7f000), big(0x7f800))));
}

#[test]
fn strict_remaps_only_onto_the_same_shape_vclock_included() {
    // [vvar_vclock] one page shorter (a gap before [vdso]): another shape.
    let short = |v| {
        layout(&[
            ("[vvar]", v - 6, 4),
            ("[vvar_vclock]", v - 2, 1),
            ("[vdso]", v, 2),
        ])
    };
    let p = decide(&STRICT, modern(0x7f000), short(0x7f800));
    assert!(!remaps(&p), "{p:?}");
}

#[test]
fn a_criu_remap_across_a_different_shape_is_flagged_unsound() {
    // The same [vvar] size and order (what CRIU compares), but a one-page gap before the runtime
    // [vdso]: CRIU remaps, and the distance from code to data is no longer the one the code expects.
    let tight = |v| layout(&[("[vvar]", v - 4, 4), ("[vdso]", v, 2)]);
    let gap = |v| layout(&[("[vvar]", v - 5, 4), ("[vdso]", v, 2)]);
    // Real CRIU refuses this runtime layout outright ([vdso] must touch [vvar], criu/vdso.c:381 in
    // v4.0: policy::Rules::vdso_touches_vvar); the remap criterion is judged without that rule.
    let refused = decide(&CRIU_4_0, tight(0x7f000), gap(0x7f800));
    assert!(
        refused.decision == Decision::Refused
            && refused
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::RestorerRejects),
        "{refused:?}"
    );
    let lenient = vdso_lab::policy::Policy {
        rules: vdso_lab::policy::Rules {
            vdso_touches_vvar: false,
            ..CRIU_4_0.rules
        },
        ..CRIU_4_0
    };
    let p = decide(&lenient, tight(0x7f000), gap(0x7f800));
    assert!(remaps(&p), "{p:?}");
    assert!(
        p.findings
            .iter()
            .any(|f| f.kind == FindingKind::UnsoundRemap && f.severity == Severity::Error),
        "{p:?}"
    );
    // The same shape on both sides: a clean remap.
    let same = decide(&CRIU_4_0, tight(0x7f000), tight(0x7f800));
    assert!(remaps(&same) && same.errors() == 0, "{same:?}");
}

/// A finding's symbol is a name and a version, shown (and serialised) as readelf shows it; a finding
/// names `name@version` exactly, never a prefix of it or the bare name of a versioned entry.
#[test]
fn symbol_keys_show_and_compare_as_name_at_version() {
    let v = SymbolKey::new("__vdso_time", Some("LINUX_2.6"));
    let bare = SymbolKey::new("__kernel_rt_sigreturn", None);
    assert_eq!(v.to_string(), "__vdso_time@LINUX_2.6");
    assert_eq!(bare.to_string(), "__kernel_rt_sigreturn");
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        "\"__vdso_time@LINUX_2.6\""
    );
    let f = finding(Severity::Error);
    assert!(f.names("__vdso_time@LINUX_2.6"));
    for other in [
        "__vdso_time",
        "__vdso_time@",
        "__vdso_time@LINUX_2.",
        "__vdso_time@LINUX_2.6x",
        "__vdso_tim@LINUX_2.6",
        "",
    ] {
        assert!(!f.names(other), "{other}");
    }
    assert!(bare == *"__kernel_rt_sigreturn");
    assert!(bare != *"__kernel_rt_sigreturn@");
    assert_eq!(
        f.to_string(),
        "error: StaleEntry `__vdso_time@LINUX_2.6`: left unredirected"
    );
}
