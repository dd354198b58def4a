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
