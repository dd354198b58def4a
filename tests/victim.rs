//! `vdso-lab victim` and the pieces of `restore-test` that need no CRIU: the victim survives a
//! signal and reports every entry agreeing (and catches a restore that breaks something, simulated
//! on its mapping checks); the `criu-4.2` preset and the forced-proxy option plan what CRIU 4.2.1 does;
//! the model comparison classifies disagreements; the record of expected findings catches a change.
//! The real-CRIU loop itself runs in `ci/restore-test.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vdso_lab::image::Image;
use vdso_lab::plan::{plan, Decision, FindingKind, Side};
use vdso_lab::policy::{self, RemapRule};
use vdso_lab::victim::{self, model, Scenario, Status};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vdso-lab-victim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn live_x86_64() -> bool {
    if !cfg!(target_arch = "x86_64") {
        println!("skipped: not x86-64");
        return false;
    }
    match vdso_lab::live::read() {
        Ok(Some(_)) => true,
        _ => {
            println!("skipped: this process has no vDSO");
            false
        }
    }
}

/// Start `vdso-lab victim`, wait until it is ready, signal it, return its exit code and report.
fn victim_round(scenario: &str, dir: &Path) -> (Option<i32>, serde_json::Value) {
    let pidfile = dir.join("pid");
    let out = dir.join("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vdso-lab"))
        .args(["victim", "--json", "--scenario", scenario])
        .arg("--pidfile")
        .arg(&pidfile)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pidfile.exists() {
        assert!(
            Instant::now() < deadline,
            "the victim never wrote its pidfile"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid as u32, child.id(), "plain victims do not daemonize");
    vdso_lab::live::victim::kill(pid as u32, libc::SIGUSR1).unwrap();
    let st = child.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(stdout.trim(), format!("ready {pid}"));
    let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (st.code(), report)
}

#[test]
fn the_victim_without_a_restore_agrees_everywhere() {
    if !live_x86_64() {
        return;
    }
    let dir = tmpdir("plain");
    let (code, r) = victim_round("plain", &dir);
    assert_eq!(r["schema"], victim::SCHEMA);
    let bad: Vec<String> = ["entries", "libc"]
        .iter()
        .flat_map(|k| r[k].as_array().unwrap().iter())
        .filter(|c| c["status"] != "agrees" && c["status"] != "not_exercised")
        .map(|c| c.to_string())
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    for m in r["mappings"].as_array().unwrap() {
        assert_eq!(m["ok"], true, "{m}");
    }
    assert_eq!(r["ok"], true);
    assert_eq!(code, Some(0));
    // Every exported clock_gettime was called on several clocks, through the cached pointer.
    let calls = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "__vdso_clock_gettime" && c["status"] == "agrees")
        .count();
    assert!(calls >= 4, "{calls} clocks");
}

#[test]
fn the_unmapped_victim_reports_what_the_scenario_broke_without_counting_it() {
    if !live_x86_64() {
        return;
    }
    let dir = tmpdir("unmapped");
    let (code, r) = victim_round("unmapped", &dir);
    // The cached entries lead into unmapped memory: broken before the checkpoint, not counted.
    let entries = r["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries
        .iter()
        .all(|c| c["status"] == "broken_before" || c["status"] == "not_exercised"));
    assert!(entries.iter().any(|c| c["before"]["verdict"] == "crashed"));
    assert!(r["before"]["layout"]["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["role"] == "vsyscall"));
    assert_eq!(r["ok"], true);
    assert_eq!(code, Some(0));
}

fn snap(maps: &str) -> victim::Snapshot {
    victim::snapshot_of(maps).unwrap()
}

const BEFORE: &str = "\
55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234 /usr/bin/cat
7f12a8825000-7f12a8829000 r--p 00000000 00:00 0 [vvar]
7f12a8829000-7f12a882b000 r--p 00000000 00:00 0 [vvar_vclock]
7f12a882b000-7f12a882d000 r-xp 00000000 00:00 0 [vdso]
";

#[test]
fn mapping_checks_catch_lost_leaked_moved_and_extra_mappings() {
    let before = snap(BEFORE);
    let fresh = vdso_lab::layout::Layout::from_maps(BEFORE).unwrap();
    let ok = victim::mapping_checks(&before, &before, Ok(&fresh));
    assert!(ok.iter().all(|m| m.ok), "{ok:?}");
    // A proxy-style restore: the old three become anonymous, the runtime three appear elsewhere.
    let after = snap(
        "\
55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234 /usr/bin/cat
00030000-00034000 r--p 00000000 00:00 0 [vvar]
00034000-00036000 r--p 00000000 00:00 0 [vvar_vclock]
00036000-00038000 r-xp 00000000 00:00 0 [vdso]
7f12a8825000-7f12a882b000 r--p 00000000 00:00 0
7f12a882b000-7f12a882d000 r-xp 00000000 00:00 0
",
    );
    let v = victim::mapping_checks(&before, &after, Ok(&fresh));
    let failed: Vec<&str> = v.iter().filter(|m| !m.ok).map(|m| m.check).collect();
    assert_eq!(failed, ["vma_count"]);
    // The data pages lost, or placed at the wrong distance, or a second [vdso].
    let lost = snap(
        "\
55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234 /usr/bin/cat
7f12a882b000-7f12a882d000 r-xp 00000000 00:00 0 [vdso]
",
    );
    let v = victim::mapping_checks(&before, &lost, Ok(&fresh));
    let failed: Vec<&str> = v.iter().filter(|m| !m.ok).map(|m| m.check).collect();
    assert_eq!(failed, ["lost", "distances", "vma_count"]);
    let leaked = snap(&format!(
        "{BEFORE}7f12a8900000-7f12a8902000 r-xp 00000000 00:00 0 [vdso]\n"
    ));
    let v = victim::mapping_checks(&before, &leaked, Ok(&fresh));
    let failed: Vec<&str> = v.iter().filter(|m| !m.ok).map(|m| m.check).collect();
    assert_eq!(failed, ["leaked", "distances", "vma_count"]);
    // Unknown running-kernel layout: the distance check cannot pass.
    let v = victim::mapping_checks(&before, &before, Err("no cat"));
    assert!(v.iter().any(|m| m.check == "distances" && !m.ok));
}

#[test]
fn scenarios_parse() {
    assert_eq!(Scenario::parse("plain").unwrap(), Scenario::Plain);
    assert_eq!(Scenario::parse("cycles 5").unwrap(), Scenario::Cycles(5));
    assert_eq!(Scenario::parse("cycles:2").unwrap(), Scenario::Cycles(2));
    assert_eq!(Scenario::parse("cycles").unwrap().cycles(), 3);
    assert!(Scenario::parse("cycles:0").is_err());
    assert!(Scenario::parse("bogus").is_err());
    for s in Scenario::ALL {
        assert_eq!(Scenario::parse(&s.name()).unwrap(), s);
    }
    let _ = Status::Agrees;
}

fn real(name: &str) -> Option<Vec<u8>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("skipped: {} not found", p.display());
            None
        }
    }
}

#[test]
fn criu_4_2_remaps_its_own_kernel_and_forced_proxy_leaves_clock_getres_and_getrandom_stale() {
    let Some(bytes) = real("x86_64-vdso64-6.12.117+deb13-amd64.so") else {
        return;
    };
    let img = Image::parse(&bytes).unwrap();
    let p42 = policy::by_name("criu-4.2").expect("criu-4.2 preset");
    assert_eq!(p42.remap, RemapRule::Criu);
    assert!(p42.vclock_aware);
    let (d, r) = vdso_lab::plan::default_bases(vdso_lab::arch::Arch::of(&img));
    let (dumped, runtime) = (Side::preset(&img, d), Side::preset(&img, r));
    let normal = plan(&dumped, &runtime, p42);
    assert!(
        matches!(normal.decision, Decision::Remap { .. }),
        "{normal:?}"
    );
    let forced = p42.forced_proxy();
    assert_eq!(forced.name, "criu-4.2");
    let p = plan(&dumped, &runtime, &forced);
    assert!(matches!(p.decision, Decision::Proxy { .. }), "{p:?}");
    let mut stale: Vec<&str> = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::StaleEntry)
        .filter_map(|f| f.symbol.as_ref())
        .map(|s| s.name.as_str())
        .collect();
    stale.sort();
    stale.dedup();
    // What the victim saw under CRIU 4.2.1 with CRIU_FAULT=127 (ci/criu-expected.tsv: clock_getres
    // broken; getrandom stale but falling back to the syscall), and `__vdso_sgx_enter_enclave`, which
    // the victim cannot call (it needs an enclave): only the model sees that one.
    assert_eq!(
        stale,
        [
            "__vdso_clock_getres",
            "__vdso_getrandom",
            "__vdso_sgx_enter_enclave",
            "clock_getres",
            "getrandom"
        ]
    );
}

/// A report the way the victim writes it, with the live layout before the checkpoint, the running
/// kernel's mappings 1 GiB lower (where a fresh process got them), and these entry results.
fn report(entries: &[(&str, &str, Option<i64>, &str)]) -> serde_json::Value {
    let live = vdso_lab::live::self_layout().unwrap();
    let fresh = serde_json::to_value(live.shifted(-(1 << 30)).unwrap()).unwrap();
    let layout = serde_json::to_value(live).unwrap();
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, func, clock, status)| {
            serde_json::json!({"name": name, "func": func, "clock": clock, "status": status,
                "after": {"verdict": if *status == "agrees" { "agrees" } else { "mismatch" },
                          "expected": 1, "got": 0}})
        })
        .collect();
    serde_json::json!({"before": {"layout": layout}, "fresh_layout": fresh,
        "entries": entries, "libc": []})
}

#[test]
fn the_model_comparison_names_stale_luck_and_preset_errors() {
    if !live_x86_64() {
        return;
    }
    let r = report(&[
        ("__vdso_clock_getres", "clock_getres", Some(0), "broken"),
        ("__vdso_clock_getres", "clock_getres", Some(5), "agrees"),
        ("__vdso_time", "time", None, "broken"),
        ("__vdso_clock_gettime", "clock_gettime", Some(1), "agrees"),
    ]);
    let c = model::compare(&r, "criu-4.2", true);
    assert_eq!(c.decision, "proxy");
    let verdicts: Vec<&str> = c.entries.iter().map(|e| e.verdict).collect();
    assert_eq!(
        verdicts,
        ["agree", "stale_agreed", "preset_wrong", "agree"],
        "{c:?}"
    );
    assert!(c.entries[1].why.contains("LOW_RES_NSEC"));
    assert_eq!((c.preset_wrong, c.stale_agreed), (1, 1));
    // A fresh process at the very addresses of the dumped one (no ASLR) still gives the same plan.
    let mut same = r.clone();
    same["fresh_layout"] = same["before"]["layout"].clone();
    let c2 = model::compare(&same, "criu-4.2", true);
    assert_eq!((c2.preset_wrong, c2.stale_agreed), (1, 1), "{c2:?}");
    // Without the forced proxy the preset remaps this kernel onto itself: every entry works.
    let c = model::compare(&r, "criu-4.2", false);
    assert_eq!(c.decision, "remap");
    assert_eq!(c.preset_wrong, 2);
    assert!(model::compare(&r, "criu-9.9", false)
        .decision
        .contains("no preset"));
}

fn run_with(findings_report: serde_json::Value) -> victim::restore::Run {
    victim::restore::Run {
        subject: "victim".into(),
        scenario: "plain".into(),
        force_proxy: true,
        criu_version: "4.2.1".into(),
        loop_error: None,
        exit: None,
        cycle_secs: vec![],
        verify_secs: 0.0,
        report: Some(findings_report),
        wrong: vec![],
        right: 0,
        model: None,
        vdso01: None,
        work: PathBuf::new(),
    }
}

#[test]
fn the_record_passes_what_it_lists_and_fails_any_change() {
    let broken = serde_json::json!({
        "entries": [
            {"name": "__vdso_clock_getres", "clock": 0, "status": "broken", "after": {"verdict": "mismatch"}},
            {"name": "__vdso_clock_getres", "clock": 1, "status": "broken", "after": {"verdict": "mismatch"}},
            {"name": "__vdso_time", "clock": null, "status": "agrees", "after": {"verdict": "agrees"}}],
        "libc": [],
        "mappings": [{"check": "vma_count", "ok": false, "detail": "30 before, 32 after"}]
    });
    let run = run_with(broken);
    let f = victim::expect::findings(&run);
    let f: Vec<&str> = f.iter().map(String::as_str).collect();
    assert_eq!(
        f,
        [
            "entry __vdso_clock_getres: mismatch [REALTIME MONOTONIC]",
            "mapping vma_count"
        ]
    );
    let dir = tmpdir("record");
    let path = dir.join("expected.tsv");
    std::fs::write(&path, "# header\n").unwrap();
    victim::expect::record(&path, std::slice::from_ref(&run)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# header\n4.2.1\tproxy\tplain\tentry __vdso_clock_getres"));
    let (_, ok) = victim::expect::check(&path, std::slice::from_ref(&run)).unwrap();
    assert!(ok);
    // Reality changes: the entry is fixed (a finding gone) — the record no longer matches.
    let fixed = run_with(serde_json::json!({"entries": [], "libc": [],
        "mappings": [{"check": "vma_count", "ok": false, "detail": ""}]}));
    let (text, ok) = victim::expect::check(&path, &[fixed]).unwrap();
    assert!(!ok);
    assert!(text.contains("gone: entry __vdso_clock_getres"), "{text}");
    // A run the record does not list at all is a difference too.
    let mut other = run_with(serde_json::json!({"entries": [], "libc": [], "mappings": []}));
    other.criu_version = "4.1.1".into();
    let (text, ok) = victim::expect::check(&path, &[other]).unwrap();
    assert!(!ok && text.contains("not in the record"), "{text}");
}

#[test]
fn drift_over_cycles_is_caught() {
    let c = |n, shape: &str| victim::CycleSnapshot {
        vma_count: n,
        shape: shape.into(),
    };
    let s = "[vvar]@-0x6000/0x4000 [vdso]@+0x0/0x2000";
    assert!(victim::drift_check(&[c(32, s), c(32, s), c(32, s)]).ok);
    let d = victim::drift_check(&[c(32, s), c(34, s), c(36, s)]);
    assert!(!d.ok && d.detail.contains("restore 3: 36 VMAs"), "{d:?}");
    assert!(!victim::drift_check(&[c(32, s), c(32, "[vdso]@+0x0/0x2000")]).ok);
}

/// Across kernels (`kernels --criu`): a victim dumped on 6.12 and restored on 6.1 is proxied even
/// without the forced proxy (the images differ), and the preset predicts what CRIU 4.2.1 did there:
/// `__vdso_clock_getres` and `__vdso_getrandom` stale and wrong (6.1 has no vDSO getrandom for the
/// stale code to fall back to), the redirected entries right.
#[test]
fn the_model_compares_a_restore_onto_another_kernel() {
    let (Some(dumped), Some(runtime)) = (
        real("x86_64-vdso64-6.12.117+deb13-amd64.so"),
        real("x86_64-vdso64-6.1.0-50-amd64.so"),
    ) else {
        return;
    };
    let layout = |base: u64| {
        serde_json::json!({"mappings": [
            {"role": "vvar", "start": base - 0x4000, "end": base},
            {"role": "vdso", "start": base, "end": base + 0x2000},
        ]})
    };
    let r = serde_json::json!({
        "before": {"layout": layout(0x7fff_f7ff_c000)},
        "fresh_layout": layout(0x7fff_b7ff_c000),
        "entries": [
            entry("__vdso_clock_getres", "clock_getres", Some(1), "broken"),
            entry("__vdso_getrandom", "getrandom", None, "broken"),
            entry("__vdso_clock_gettime", "clock_gettime", Some(1), "agrees"),
            entry("__vdso_time", "time", None, "broken"),
        ],
        "libc": [],
    });
    let c = model::compare_images(&r, "criu-4.2", false, &dumped, &runtime);
    assert_eq!(c.decision, "proxy", "{c:?}");
    let verdicts: Vec<&str> = c.entries.iter().map(|e| e.verdict).collect();
    assert_eq!(
        verdicts,
        ["agree", "agree", "agree", "preset_wrong"],
        "{c:?}"
    );
    // The same image on both sides is what CRIU remaps.
    let same = model::compare_images(&r, "criu-4.2", false, &dumped, &dumped);
    assert_eq!(same.decision, "remap", "{same:?}");
}

/// CRIU leaves the 7.x futex try-unlock helpers stale (its x86 list does not name them), but their
/// old code touches no data page: the plan classifies them self-contained, so the model predicts
/// they keep working, and a victim that saw them agree (7.2 → 7.2 with the proxy forced under QEMU)
/// agrees with the model instead of being a "stale but agreed" it cannot explain.
#[test]
fn self_contained_stale_entries_are_predicted_to_work() {
    let Some(img) = real("x86_64-vdso64-7.2.13+deb14-amd64.so") else {
        return;
    };
    let layout = |base: u64| {
        serde_json::json!({"mappings": [
            {"role": "vvar", "start": base - 0x6000, "end": base - 0x2000},
            {"role": "vvar_vclock", "start": base - 0x2000, "end": base},
            {"role": "vdso", "start": base, "end": base + 0x2000},
        ]})
    };
    let r = serde_json::json!({
        "before": {"layout": layout(0x7fff_f7ff_c000)},
        "fresh_layout": layout(0x7fff_b7ff_c000),
        "entries": [
            entry("__vdso_futex_robust_list64_try_unlock", "futex_robust_list64_try_unlock", None, "agrees"),
            entry("__vdso_futex_robust_list32_try_unlock", "futex_robust_list32_try_unlock", None, "agrees"),
            entry("__vdso_clock_getres", "clock_getres", Some(1), "broken"),
        ],
        "libc": [],
    });
    let c = model::compare_images(&r, "criu-4.2", true, &img, &img);
    assert_eq!(c.decision, "proxy", "{c:?}");
    let verdicts: Vec<&str> = c.entries.iter().map(|e| e.verdict).collect();
    assert_eq!(verdicts, ["agree", "agree", "agree"], "{c:?}");
    assert_eq!(c.stale_agreed, 0, "{c:?}");
}

/// One entry of a victim's JSON report as the model reads it: `agrees`, or `broken` with a mismatch.
fn entry(name: &str, func: &str, clock: Option<i64>, status: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "func": func, "clock": clock, "status": status,
        "after": {"verdict": if status == "agrees" { "agrees" } else { "mismatch" },
                  "expected": 1, "got": 0}})
}
