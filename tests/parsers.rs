//! The real parsers (issue 11): a known-answer test per subject adapter on a real image of
//! `corpus/real` (the symbol's offset taken from `readelf`, not from our parser), containment of a
//! crashing, a looping and a garbage-answering stub subject, and the oracle's verdicts on them.
//!
//! A subject whose source was not fetched (`ci/fetch-sources.sh`) prints `skipped: <reason>`.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use vdso_lab::image::Image;
use vdso_lab::live::subjects::{self, Run};
use vdso_lab::parsers::{self, Verdict};

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real")
        .join(name)
}

/// `name`'s image offset according to readelf: its value minus the first PT_LOAD's vaddr - offset.
fn readelf_offset(path: &Path, name: &str) -> Option<u64> {
    let text = |args: &[&str]| {
        let o = Command::new("readelf").args(args).arg(path).output().ok()?;
        Some(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let load = text(&["-lW"])?;
    let l = load.lines().find(|l| l.trim_start().starts_with("LOAD"))?;
    let f: Vec<&str> = l.split_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    let bias = hex(f[2])? - hex(f[1])?;
    let syms = text(&["-W", "--dyn-syms"])?;
    syms.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let sym = f.get(7)?;
        let base = sym.split('@').next()?;
        (base == name && f[6] != "UND").then(|| hex(f[1]).map(|v| v - bias))?
    })
}

/// Known answer: `subject` (`criu-4.2.1`), in its `bits`-bit form with `arch`'s list, resolves `name`
/// in `image` where readelf says it is, in-process and contained.
fn kat(subject: &str, bits: u32, arch: &str, image: &str, name: &str, version: Option<&str>) {
    let path = real(image);
    let Some(want) = readelf_offset(&path, name) else {
        println!("skipped: readelf not installed or {name} not in {image}");
        return;
    };
    let Some(v) = subjects::find(subject, bits, arch) else {
        let why = subjects::SOURCES
            .iter()
            .find(|s| s.name == subject)
            .and_then(|s| s.skipped)
            .unwrap_or("variant not built");
        println!("skipped: {subject}/{bits}/{arch}: {why}");
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let q = vec![(name.to_string(), version.map(str::to_string))];
    let a = subjects::call(&v, &bytes, &q);
    assert_eq!(a.ret, 0, "{subject}/{bits} rejects {image}: {}", a.error);
    let got = a.entries.iter().find(|(n, _)| n == name).and_then(|e| e.1);
    assert_eq!(
        got,
        Some(want),
        "{subject}/{bits}/{arch}: {name} in {image}: left subject, right readelf"
    );
    let Run::Answered(c) = subjects::call_contained(&v, &bytes, &q, Duration::from_secs(5)) else {
        panic!("contained call of {subject} did not answer");
    };
    assert_eq!(c, a, "contained and in-process answers differ");
}

#[test]
fn criu_4_2_1_64_x86_64_known_answer() {
    kat(
        "criu-4.2.1",
        64,
        "x86",
        "x86_64-vdso64-6.12.117+deb13-amd64.so",
        "__vdso_gettimeofday",
        None,
    );
}
#[test]
fn criu_4_1_1_64_x86_64_known_answer() {
    kat(
        "criu-4.1.1",
        64,
        "x86",
        "x86_64-vdso64-6.12.117+deb13-amd64.so",
        "__vdso_gettimeofday",
        None,
    );
}
#[test]
fn criu_4_2_1_32_i386_known_answer() {
    kat(
        "criu-4.2.1",
        32,
        "x86",
        "i386-vdso32-6.12.117+deb13-amd64.so",
        "__vdso_clock_gettime64",
        None,
    );
}
#[test]
fn criu_4_1_1_32_i386_known_answer() {
    kat(
        "criu-4.1.1",
        32,
        "x86",
        "i386-vdso32-6.12.117+deb13-amd64.so",
        "__vdso_clock_gettime64",
        None,
    );
}
#[test]
fn criu_32_arm_known_answer() {
    for r in ["criu-4.2.1", "criu-4.1.1"] {
        kat(
            r,
            32,
            "arm",
            "arm-vdso-6.12.117+deb13-armmp.so",
            "__vdso_clock_gettime",
            None,
        );
    }
}
#[test]
fn criu_64_aarch64_gnu_hash_only_known_answer() {
    for r in ["criu-4.2.1", "criu-4.1.1"] {
        kat(
            r,
            64,
            "aarch64",
            "aarch64-vdso-7.2.13+deb14-arm64.so",
            "__kernel_clock_gettime",
            None,
        );
    }
}
#[test]
fn musl_1_2_6_known_answer() {
    let img = "x86_64-vdso64-6.12.117+deb13-amd64.so";
    kat(
        "musl-1.2.6",
        64,
        "any",
        img,
        "__vdso_clock_gettime",
        Some("LINUX_2.6"),
    );
    kat(
        "musl-1.2.6",
        64,
        "any",
        img,
        "__vdso_getcpu",
        Some("LINUX_2.6"),
    );
}

fn stub(name: &str) -> subjects::Variant {
    subjects::variants()
        .into_iter()
        .find(|v| v.subject == name)
        .expect("the stubs are always compiled")
}

#[test]
fn a_crashing_subject_is_contained() {
    let bytes = std::fs::read(real("x86_64-vdso64-6.12.117+deb13-amd64.so")).unwrap();
    let r = subjects::call_contained(&stub("stub-crash"), &bytes, &[], Duration::from_secs(5));
    assert_eq!(r, Run::Crashed("SIGSEGV".into()));
}

#[test]
fn a_looping_subject_is_contained_within_its_limit() {
    let t0 = Instant::now();
    let r = subjects::call_contained(&stub("stub-loop"), b"x", &[], Duration::from_millis(300));
    assert_eq!(r, Run::Hung);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[test]
fn a_garbage_answer_is_judged_wrong() {
    let bytes = std::fs::read(real("x86_64-vdso64-6.12.117+deb13-amd64.so")).unwrap();
    let img = Image::parse(&bytes).unwrap();
    let Run::Answered(a) =
        subjects::call_contained(&stub("stub-garbage"), &bytes, &[], Duration::from_secs(5))
    else {
        panic!("stub-garbage did not answer");
    };
    let v = parsers::judge(parsers::Kind::Criu, &a, Some(&img));
    let Verdict::Wrong { mismatches } = v else {
        panic!("{v:?}")
    };
    assert_eq!(mismatches[0].symbol, "__vdso_clock_gettime");
    assert_eq!(mismatches[0].got, Some(bytes.len() as u64 + 0x1000));
    assert_eq!(
        mismatches[0].expected,
        Some(
            readelf_offset(
                &real("x86_64-vdso64-6.12.117+deb13-amd64.so"),
                "__vdso_clock_gettime"
            )
            .unwrap_or(0xbc0)
        )
    );
}

/// Every disagreement a subject shows on a kept `parser_diff` regression that we accept is a recorded
/// defect of that release (so the fuzz target's replay is green *because* the defect is recognised,
/// not because the subject was not asked), and each kept image shows at least one finding.
#[test]
fn every_kept_finding_is_a_recorded_defect() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/regressions/parser_diff");
    let subs = parsers::subjects();
    if let Some(s) = subs.iter().find(|s| s.skipped.is_some()) {
        println!(
            "skipped: {}: {}",
            s.name,
            s.skipped.as_deref().unwrap_or("")
        );
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("README.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let row = parsers::row(&f.display().to_string(), &bytes, &subs);
        assert!(
            row.cells.iter().any(|c| c.finding.is_some()),
            "{}: no subject shows a finding any more: {:?}",
            f.display(),
            row.cells
        );
        let Ok(img) = Image::parse(&bytes) else {
            continue;
        };
        for (s, c) in subs.iter().zip(&row.cells) {
            if matches!(c.verdict, Verdict::Crash { .. } | Verdict::Hang) {
                // A crash on an image we accept: the fuzz target must know not to call it in-process.
                assert!(
                    !vdso_lab::fuzzing::parser_diff::in_process_safe(s.kind, &img),
                    "{}: {} {:?} although it reads only what we validated",
                    f.display(),
                    s.name,
                    c.verdict
                );
            } else if c.verdict.disagrees() {
                assert!(
                    vdso_lab::fuzzing::parser_diff::known_defect(s, &img, &c.verdict).is_some(),
                    "{}: {} {:?} is no recorded defect",
                    f.display(),
                    s.name,
                    c.verdict
                );
            }
        }
    }
}

/// `vdso-lab parsers` exits 0 over corpus/real (every subject agrees) and 1 over the kept findings
/// (wrong answers on images we accept).
#[test]
fn parsers_cli_exit_status_follows_correctness_findings() {
    if parsers::subjects().iter().any(|s| s.skipped.is_some()) {
        println!("skipped: a subject was not built");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |dir: &str| {
        Command::new(env!("CARGO_BIN_EXE_vdso-lab"))
            .args(["parsers", "--json"])
            .arg(root.join(dir))
            .output()
            .unwrap()
    };
    let ok = run("corpus/real");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(v["rows"].as_array().unwrap().len() >= 36);
    let bad = run("corpus/regressions/parser_diff");
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("\"verdict\": \"wrong\""), "{text}");
    assert!(text.contains("\"verdict\": \"hang\""), "{text}");
}
