//! The planner's small public pieces that reports and matrices are built from, through the public
//! API only: the outcome class of a plan (`Plan::outcome`, what every matrix cell counts), its name,
//! how a finding reads, and where presets put the two `[vdso]`s. Plans are built by hand, so these
//! hold whatever findings the planner adds.

use vdso_lab::arch::Arch;
use vdso_lab::layout::Role;
use vdso_lab::plan::{
    default_bases, Decision, Finding, FindingKind, Move, Outcome, Plan, Severity,
};

fn finding(severity: Severity) -> Finding {
    Finding {
        kind: FindingKind::StaleEntry,
        severity,
        symbol: Some("__vdso_time@LINUX_2.6".into()),
        detail: "left unredirected".into(),
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
    assert_eq!(with(remap(), vec![]).outcome(), Outcome::Remap);
    assert_eq!(with(remap(), info()).outcome(), Outcome::Remap);
    assert_eq!(
        with(remap(), vec![finding(Severity::Warning)]).outcome(),
        Outcome::RemapWithFindings
    );
    assert_eq!(with(proxy(), info()).outcome(), Outcome::ProxyClean);
    assert_eq!(
        with(proxy(), vec![finding(Severity::Error)]).outcome(),
        Outcome::ProxyWithFindings
    );
    assert_eq!(
        with(proxy(), vec![finding(Severity::Warning)]).outcome(),
        Outcome::ProxyWithFindings
    );
    assert_eq!(with(Decision::Refused, info()).outcome(), Outcome::Refused);
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
    let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
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
