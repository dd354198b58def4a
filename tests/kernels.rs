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
    use vdso_lab::kernels::KernelsReport;
    let check = serde_json::json!({"kind": "check", "report": {"ok": false, "checks": [
        {"what": "live vDSO", "verdict": "ok", "detail": "x"},
        {"what": "getrandom", "verdict": "skipped", "detail": "random generator not seeded"},
        {"what": "call paths", "verdict": "FAIL", "detail": "direct time: ZERO"},
    ]}});
    let r = KernelsReport {
        boots: vec![
            boot("7.2", 1, vec![check], None),
            boot("6.1", 1, vec![], Some("timed out")),
        ],
        pairs: vec![
            pair(
                "7.2",
                "criu-4.1",
                "1 wrong, as predicted",
                &["clock_getres"],
                &[],
            ),
            pair(
                "7.2",
                "criu-4.1",
                "1 wrong, 1 NOT predicted",
                &["time"],
                &["time"],
            ),
            pair("7.2", "criu-3.19", "refused (vvar_vclock)", &[], &[]),
        ],
        criu: None,
        migrations: Vec::new(),
        criu_rseq: Vec::new(),
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

/// `kernels --criu` migrates along the kernels given and back.
#[test]
fn criu_pairs_go_up_the_chain_and_back() {
    let labels: Vec<String> = ["5.10", "6.1", "6.12", "7.2"].map(String::from).to_vec();
    let pairs = vdso_lab::migration::chain(&labels);
    let got: Vec<String> = pairs.iter().map(|(a, b)| format!("{a}>{b}")).collect();
    assert_eq!(
        got,
        ["5.10>6.1", "6.1>6.12", "6.12>7.2", "7.2>6.12", "6.12>6.1", "6.1>5.10"]
    );
    assert!(vdso_lab::migration::chain(&labels[..1]).is_empty());
    let with = vdso_lab::migration::pairs_with_controls(&labels);
    assert_eq!(with.len(), 10);
    assert_eq!(with[6], ("5.10".to_string(), "5.10".to_string()));
    assert_eq!(
        vdso_lab::migration::pairs_with_controls(&labels[..1]),
        [("5.10".to_string(), "5.10".to_string())]
    );
}

/// The images come back over the serial console: whatever arrives is an error or images, never a
/// panic, and only plain file names within the size bounds are accepted.
#[test]
fn criu_images_from_the_console_are_checked() {
    use vdso_lab::migration::images_of;
    let tar_of = |files: &[(&str, &[u8])]| {
        let mut t = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // set_path refuses `..`; write the raw name as a garbled console could deliver it.
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            t.append(&h, *data).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    };
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let rec = |h: String| serde_json::json!({"kind": "criu_dump", "pid": 10001, "hex": h});
    let good = tar_of(&[("inventory.img", b"inv"), ("pages-1.img", b"\0\0")]);
    let (pid, files) = images_of(&rec(hex(&good))).unwrap();
    assert_eq!(pid, 10001);
    assert_eq!(files.len(), 2);
    assert_eq!(files[0], ("inventory.img".to_string(), b"inv".to_vec()));
    for bad in [
        rec(hex(&tar_of(&[
            ("../etc/passwd", b"x"),
            ("inventory.img", b""),
        ]))),
        rec(hex(&tar_of(&[("pages-1.img", b"x")]))),
        rec(hex(&good)[..101].to_string()),
        rec(hex(&good[..good.len() / 2])),
        rec("zz".repeat(40)),
        serde_json::json!({"kind": "criu_dump", "hex": hex(&good)}),
        serde_json::json!({"kind": "criu_dump", "error": "criu dump failed"}),
    ] {
        assert!(images_of(&bad).is_err(), "{bad}");
    }
    // Every truncation of a good record is an error or the images, never a panic.
    let h = hex(&good);
    for cut in (0..h.len()).step_by(7) {
        let _ = images_of(&rec(h[..cut].to_string()));
    }
}

/// Migrations in KTAP: a skipped pair is a SKIP (never a pass), a failed one `not ok`.
#[test]
fn criu_migrations_in_ktap() {
    use vdso_lab::kernels::KernelsReport;
    use vdso_lab::migration::Migration;
    let m = |outcome: &str, skipped: bool, failed: bool| Migration {
        dumped: "5.10".into(),
        runtime: "6.1".into(),
        mode: "proxy".into(),
        outcome: outcome.into(),
        skipped,
        failed,
        dump_secs: None,
        restore_secs: None,
        verify_secs: None,
        wrong: Vec::new(),
        mappings: Vec::new(),
        model: None,
    };
    let r = KernelsReport {
        boots: Vec::new(),
        pairs: Vec::new(),
        criu: Some(("4.2.1".into(), "criu-4.2".into())),
        migrations: vec![
            m("15 wrong, as predicted", false, false),
            m("skipped: criu dump on 5.10: x", true, false),
            m("restore failed: y", false, true),
        ],
        criu_rseq: vec![("5.10".into(), "CRIU refuses: z".into())],
        seconds: 1.0,
    };
    // The HTML view has the same rows, coloured: skipped grey, failed red.
    let h = vdso_lab::report::kernels_html(&r);
    assert!(h.contains("Real CRIU 4.2.1 across kernels"), "{h}");
    assert!(
        h.contains(r##"<td style="background:#d9d9d9">skipped: criu dump on 5.10: x</td>"##),
        "{h}"
    );
    assert!(
        h.contains(r##"<td style="background:#d73027">restore failed: y</td>"##),
        "{h}"
    );
    let k = vdso_lab::report::kernels_ktap(&r);
    assert!(
        k.contains("\nok 1 criu 5.10 to 6.1 proxy # 15 wrong, as predicted\n"),
        "{k}"
    );
    assert!(
        k.contains("\nok 2 criu 5.10 to 6.1 proxy # SKIP skipped: criu dump on 5.10: x\n"),
        "{k}"
    );
    assert!(
        k.contains("\nnot ok 3 criu 5.10 to 6.1 proxy # restore failed: y\n"),
        "{k}"
    );
    assert!(!r.ok());
    let text = vdso_lab::report::kernels_text(&r);
    assert!(text.contains("skipped: criu dump on 5.10: x"), "{text}");
    assert!(text.contains("    5.10: CRIU refuses: z\n"), "{text}");
}

/// A dump CRIU refused skips the pair (with CRIU's reason); a dump the harness lost fails it.
#[test]
fn criu_dump_refused_skips_harness_failure_fails() {
    let dumps = vec![
        boot(
            "5.10",
            3,
            vec![serde_json::json!({"kind": "criu_dump",
                "error": "criu dump failed (exit status: 1): has rseq but kernel lacks get_rseq_conf feature"})],
            None,
        ),
        boot(
            "6.1",
            3,
            vec![
                serde_json::json!({"kind": "criu_dump", "error": "the victim did not announce itself"}),
            ],
            None,
        ),
        boot("6.12", 3, vec![], Some("timed out after 180 s")),
    ];
    let pairs: Vec<(String, String)> = [
        ("5.10", "6.1"),
        ("6.1", "6.12"),
        ("6.12", "7.2"),
        ("7.2", "6.12"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let rows = vdso_lab::migration::rows(&pairs, &[false], &dumps, &[], "criu-4.2");
    let got: Vec<(bool, bool)> = rows.iter().map(|m| (m.skipped, m.failed)).collect();
    assert_eq!(
        got,
        [(true, false), (false, true), (false, true), (false, true)]
    );
    assert!(rows[0]
        .outcome
        .starts_with("skipped: criu dump on 5.10: criu dump failed"));
    assert!(
        rows[3].outcome.contains("no dump boot of 7.2"),
        "{}",
        rows[3].outcome
    );
}

/// `kernels --html`: a cell per path × function with the verdict's colour and the verdict in its
/// tooltip, time-namespace runs in their own table, a boot without a result said as such, and one
/// restore grid per policy whose cells say whether wrong answers were predicted. Text is escaped.
#[test]
fn html_view_colours_every_verdict() {
    use vdso_lab::kernels::KernelsReport;
    let check = serde_json::json!({"kind": "check", "report": {"ok": false, "checks": [
        {"what": "live vDSO", "verdict": "ok", "detail": "x86_64, 13 entry points"},
        {"what": "special mappings", "verdict": "ok", "detail": "[vvar] <4 pages> [vdso]"},
        {"what": "time namespaces", "verdict": "ok", "detail": "offsets applied"},
    ], "paths": [
        {"path": "direct", "func": "time", "timens": false, "verdict": {"verdict": "zero"}},
        {"path": "direct", "func": "clock_gettime", "timens": false, "verdict": {"verdict": "agrees", "worst": 80}},
        {"path": {"remapped": 1}, "func": "time", "timens": true, "verdict": {"verdict": "agrees", "worst": 3}},
    ]}});
    let r = KernelsReport {
        boots: vec![
            boot("7.2", 1, vec![check], None),
            boot("6.1", 1, vec![], Some("timed out <60 s>")),
        ],
        pairs: vec![
            pair(
                "7.2",
                "criu-4.1",
                "1 wrong, as predicted",
                &["clock_getres"],
                &[],
            ),
            pair(
                "6.12",
                "criu-4.1",
                "1 wrong, 1 NOT predicted",
                &["time"],
                &["time"],
            ),
        ],
        criu: None,
        migrations: Vec::new(),
        criu_rseq: Vec::new(),
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

/// A boot of `kernel` (tsc) in `round` with these records, or the error that left it without.
fn boot(
    kernel: &str,
    round: u8,
    records: Vec<serde_json::Value>,
    error: Option<&str>,
) -> vdso_lab::kernels::BootResult {
    vdso_lab::kernels::BootResult {
        kernel: kernel.into(),
        clocksource: "tsc".into(),
        round,
        seconds: 1.0,
        records,
        release: None,
        error: error.map(String::from),
        console_tail: Vec::new(),
    }
}

/// A live restore of 6.1's vDSO onto `runtime` under `policy`.
fn pair(
    runtime: &str,
    policy: &str,
    outcome: &str,
    wrong: &[&str],
    unpredicted: &[&str],
) -> vdso_lab::kernels::PairRow {
    vdso_lab::kernels::PairRow {
        dumped: "6.1".into(),
        runtime: runtime.into(),
        policy: policy.into(),
        outcome: outcome.into(),
        wrong: wrong.iter().map(|s| s.to_string()).collect(),
        unpredicted: unpredicted.iter().map(|s| s.to_string()).collect(),
        stale_but_agreed: Vec::new(),
    }
}
