//! `kernels`' host-side pieces that need no VM: the initramfs it builds, read back by GNU cpio (an
//! independent reader). The boots themselves run in CI's kernel-matrix step (`ci/kernel-matrix.sh`),
//! where the kernel unpacking the archive and running `/init` is the oracle.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn initramfs_is_a_newc_archive_gnu_cpio_reads() {
    if Command::new("cpio").arg("--version").output().is_err() {
        vdso_lab::require::skip("cpio", "GNU cpio not installed (apt-get install cpio)");
        return;
    }
    let entries = vec![
        ("init".to_string(), 0o755, b"#!/bin/true\n".to_vec()),
        (
            "corpus/real/a.so".to_string(),
            0o644,
            vec![0x7f, b'E', b'L', b'F', 1, 2, 3],
        ),
        ("vdso-lab/conf".to_string(), 0o644, b"label x\n".to_vec()),
        ("empty".to_string(), 0o644, Vec::new()),
    ];
    let gz = vdso_lab::kernels::initramfs(&entries);
    let mut cpio = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut cpio).unwrap();
    let dir = std::env::temp_dir().join(format!("vdso-lab-initramfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new("cpio")
        .args(["-idm", "--quiet", "--no-absolute-filenames"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&cpio).unwrap();
    assert!(child.wait().unwrap().success());
    for (path, mode, data) in &entries {
        let p = dir.join(path);
        assert_eq!(&std::fs::read(&p).unwrap(), data, "{path}");
        let m =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(m & 0o777, *mode, "{path}");
    }
    assert!(dir.join("corpus/real").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kernels --ktap` maps check rows to KTAP subtests (FAIL: not ok, skipped: SKIP), a boot without a
/// result to `not ok`, and a cross-kernel restore whose wrong answer the plan did not predict to
/// `not ok`; refusals are skips.
#[test]
fn ktap_output_follows_the_verdicts() {
    use vdso_lab::kernels::{BootResult, KernelsReport, PairRow};
    let check = serde_json::json!({"kind": "check", "report": {"ok": false, "checks": [
        {"what": "live vDSO", "verdict": "ok", "detail": "x"},
        {"what": "getrandom", "verdict": "skipped", "detail": "random generator not seeded"},
        {"what": "call paths", "verdict": "FAIL", "detail": "direct time: ZERO"},
    ]}});
    let boot = |kernel: &str, records: Vec<serde_json::Value>, error: Option<&str>| BootResult {
        kernel: kernel.into(),
        clocksource: "tsc".into(),
        round: 1,
        seconds: 1.0,
        records,
        release: None,
        error: error.map(String::from),
        console_tail: Vec::new(),
    };
    let pair = |policy: &str, outcome: &str, wrong: &[&str], unpredicted: &[&str]| PairRow {
        dumped: "6.1".into(),
        runtime: "7.2".into(),
        policy: policy.into(),
        outcome: outcome.into(),
        wrong: wrong.iter().map(|s| s.to_string()).collect(),
        unpredicted: unpredicted.iter().map(|s| s.to_string()).collect(),
        stale_but_agreed: Vec::new(),
    };
    let r = KernelsReport {
        boots: vec![
            boot("7.2", vec![check], None),
            boot("6.1", vec![], Some("timed out")),
        ],
        pairs: vec![
            pair("criu-4.1", "1 wrong, as predicted", &["clock_getres"], &[]),
            pair("criu-4.1", "1 wrong, 1 NOT predicted", &["time"], &["time"]),
            pair("criu-3.19", "refused (vvar_vclock)", &[], &[]),
        ],
        seconds: 2.0,
    };
    let k = vdso_lab::report::kernels_ktap(&r);
    let lines: Vec<&str> = k.lines().collect();
    assert_eq!(lines[0], "KTAP version 1");
    assert_eq!(lines[1], "1..5");
    assert!(
        lines.contains(&"    ok 2 getrandom # SKIP random generator not seeded"),
        "{k}"
    );
    assert!(
        lines.contains(&"    not ok 3 call paths # direct time: ZERO"),
        "{k}"
    );
    assert!(lines.contains(&"not ok 1 7.2 tsc"), "{k}");
    assert!(lines.contains(&"not ok 2 6.1 tsc # boot: timed out"), "{k}");
    assert!(
        lines.contains(&"ok 3 6.1 to 7.2 criu-4.1 # 1 wrong, as predicted"),
        "{k}"
    );
    assert!(
        lines.contains(&"not ok 4 6.1 to 7.2 criu-4.1 # 1 wrong, 1 NOT predicted"),
        "{k}"
    );
    assert!(
        lines.contains(&"ok 5 6.1 to 7.2 criu-3.19 # SKIP refused (vvar_vclock)"),
        "{k}"
    );
    assert!(!r.ok());
}

/// `kernels --html`: a cell per path × function with the verdict's colour and the verdict in its
/// tooltip, time-namespace runs in their own table, a boot without a result said as such, and one
/// restore grid per policy whose cells say whether wrong answers were predicted. Text is escaped.
#[test]
fn html_view_colours_every_verdict() {
    use vdso_lab::kernels::{BootResult, KernelsReport, PairRow};
    let check = serde_json::json!({"kind": "check", "report": {"ok": false, "checks": [
        {"what": "live vDSO", "verdict": "ok", "detail": "x86_64, 13 entry points"},
        {"what": "special mappings", "verdict": "ok", "detail": "[vvar] <4 pages> [vdso]"},
        {"what": "time namespaces", "verdict": "ok", "detail": "offsets applied"},
    ], "paths": [
        {"path": "direct", "func": "time", "timens": false, "verdict": {"verdict": "zero"}},
        {"path": "direct", "func": "clock_gettime", "timens": false, "verdict": {"verdict": "agrees", "worst": 80}},
        {"path": {"remapped": 1}, "func": "time", "timens": true, "verdict": {"verdict": "agrees", "worst": 3}},
    ]}});
    let boot = |kernel: &str, records: Vec<serde_json::Value>, error: Option<&str>| BootResult {
        kernel: kernel.into(),
        clocksource: "tsc".into(),
        round: 1,
        seconds: 1.0,
        records,
        release: None,
        error: error.map(String::from),
        console_tail: Vec::new(),
    };
    let pair = |runtime: &str, outcome: &str, wrong: &[&str], unpredicted: &[&str]| PairRow {
        dumped: "6.1".into(),
        runtime: runtime.into(),
        policy: "criu-4.1".into(),
        outcome: outcome.into(),
        wrong: wrong.iter().map(|s| s.to_string()).collect(),
        unpredicted: unpredicted.iter().map(|s| s.to_string()).collect(),
        stale_but_agreed: Vec::new(),
    };
    let r = KernelsReport {
        boots: vec![
            boot("7.2", vec![check], None),
            boot("6.1", vec![], Some("timed out <60 s>")),
        ],
        pairs: vec![
            pair("7.2", "1 wrong, as predicted", &["clock_getres"], &[]),
            pair("6.12", "1 wrong, 1 NOT predicted", &["time"], &["time"]),
        ],
        seconds: 2.0,
    };
    let h = vdso_lab::report::kernels_html(&r);
    assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
    assert!(
        h.contains(r##"style="background:#d73027" title="direct time: {&quot;verdict&quot;:&quot;zero&quot;}""##),
        "{h}"
    );
    assert!(
        h.contains(r##"style="background:#91cf60" title="direct clock_gettime: "##),
        "{h}"
    );
    assert!(h.contains("remapped#1 time"), "{h}");
    assert!(h.contains("no result: timed out &lt;60 s&gt;"), "{h}");
    assert!(h.contains("[vvar] &lt;4 pages&gt; [vdso]"), "{h}");
    assert!(
        h.contains(r##"<td style="background:#fc8d59">1 wrong, as predicted</td>"##),
        "{h}"
    );
    assert!(
        h.contains(r##"<td style="background:#d73027">1 wrong, 1 NOT predicted</td>"##),
        "{h}"
    );
    assert_eq!(h.matches("<h2>").count(), 3, "{h}");
    assert!(h.contains("<b>FAILED</b>"), "{h}");
}
