//! The `vdso-lab` binary as a user meets it: reports on good input, one clear line and a non-zero exit
//! (never a panic, whose exit code is 101) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vdso-lab"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run vdso-lab")
}

fn real(name: &str) -> Option<PathBuf> {
    let p = vdso_lab::corpus::root().join("real").join(name);
    assert!(p.exists(), "{} not found", p.display());
    Some(p)
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vdso-lab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Bad input: exit code 1, nothing on stdout, exactly one line on stderr that names the problem.
fn assert_clean_failure(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
}

fn synthetic() -> Vec<u8> {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    vdso_lab::synth::strategy::x86_64_linux_6_18()
        .new_tree(&mut runner)
        .unwrap()
        .current()
        .build()
        .unwrap()
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let img = synthetic();
    assert_clean_failure(
        &run(&["inspect", "/nonexistent/vdso.so"]),
        "cannot open /nonexistent/vdso.so",
    );
    assert_clean_failure(
        &run(&["inspect", env!("CARGO_MANIFEST_DIR")]),
        "is a directory",
    );
    let empty = scratch("empty.so", b"");
    assert_clean_failure(&run(&["inspect", empty.to_str().unwrap()]), "e_ident");
    let text = scratch("text.so", b"this is not an ELF file at all\n");
    assert_clean_failure(&run(&["inspect", text.to_str().unwrap()]), "ELF magic");
    let trunc = scratch("trunc.so", &img[..img.len() / 2]);
    assert_clean_failure(
        &run(&["inspect", trunc.to_str().unwrap()]),
        "extends past the end of the file",
    );
    let mut corrupt = img.clone();
    corrupt[18] = 3; // e_machine = EM_386 in an ELF64 file
    let corrupt = scratch("corrupt.so", &corrupt);
    assert_clean_failure(&run(&["inspect", corrupt.to_str().unwrap()]), "e_machine");
    // Usage errors are clap's: non-zero, not a panic.
    let out = run(&["inspect"]);
    assert_ne!(out.status.code(), Some(0));
    assert_ne!(out.status.code(), Some(101));
}

#[test]
fn inspect_text_and_json() {
    let path = scratch("x86.so", &synthetic());
    let out = run(&["inspect", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("linux-vdso.so.1"), "{text}");
    assert!(text.contains("__vdso_clock_gettime"), "{text}");
    assert!(text.contains("every lookup agrees"), "{text}");

    let out = run(&["inspect", "--json", path.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "vdso-lab.inspect.v1");
    assert_eq!(v["class"], "ELF64");
    assert_eq!(v["machine_name"], "X86_64");
    assert_eq!(v["hash_tables"]["agree"], true);
    let syms = v["symbols"].as_array().unwrap();
    // 12 functions (six __vdso_* and their weak aliases) plus the LINUX_2.6 version symbol.
    assert_eq!(syms.len(), 13);
    let time = syms.iter().find(|s| s["name"] == "__vdso_time").unwrap();
    assert_eq!(time["version"], "LINUX_2.6");
    assert_eq!(time["type"], "FUNC");
    assert_eq!(time["binding"], "GLOBAL");
    assert_eq!(time["entry_point"], true);
    assert!(v["live"].is_null());
}

#[test]
fn inspect_real_big_endian_image() {
    let Some(p) = real("s390x-vdso-6.1.0-50-s390x.so") else {
        unreachable!("real() fails when the image is missing");
    };
    let out = run(&["inspect", "--json", p.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["endian"], "big");
    assert_eq!(v["soname"], "linux-vdso64.so.1");
    assert_eq!(v["hash_tables"]["dt_hash"], true);
    assert_eq!(v["hash_tables"]["agree"], true);
}

#[test]
fn inspect_live() {
    if vdso_lab::live::vdso_base().is_none() {
        vdso_lab::require::skip("live", "this process has no vDSO");
        return;
    }
    let out = run(&["inspect", "--live", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let live = &v["live"];
    let names: Vec<&str> = live["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"[vdso]"), "{names:?}");
    assert!(names.contains(&"[vvar]"), "{names:?}");
}

#[test]
fn check_and_replay_run() {
    let out = run(&["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("corpus vdso_parse"), "{text}");
    assert!(text.contains("check: ok"), "{text}");
    assert!(text.contains("reproduced: time()"), "{text}");
    let out = run(&["check", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "vdso-lab.check.v1");
    assert_eq!(v["ok"], true);
    assert!(v["paths"].as_array().unwrap().len() >= 30);

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let out = run(&["replay", corpus.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("vdso_parse"), "{text}");

    let out = run(&["replay", "/nonexistent-corpus"]);
    assert_clean_failure(&out, "not a directory");
    // A corpus the user names must exist: no silent "ok" over nothing.
    let out = run(&["check", "--corpus", "/nonexistent-corpus"]);
    assert_clean_failure(&out, "no such corpus folder");
}

/// `check | head -1`: the reader leaves early; the writer must end quietly (SIGPIPE), not panic (101).
#[test]
fn check_into_a_closed_pipe_does_not_panic() {
    use std::process::Stdio;
    let mut child = bin()
        .args(["check", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// `--policy`'s help names every policy `policies` lists, and `policies` aligns its columns.
#[test]
fn policy_help_lists_every_policy() {
    let help = String::from_utf8_lossy(&run(&["plan", "--help"]).stdout).into_owned();
    let out = run(&["policies"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let col: Vec<usize> = text
        .lines()
        .map(|l| {
            l.find("  ").unwrap() + l[l.find("  ").unwrap()..].len()
                - l[l.find("  ").unwrap()..].trim_start().len()
        })
        .collect();
    assert!(col.windows(2).all(|w| w[0] == w[1]), "misaligned:\n{text}");
    for p in vdso_lab::policy::ALL
        .into_iter()
        .chain(vdso_lab::policy::MORE)
    {
        assert!(text.contains(p.name), "policies does not list {}", p.name);
        assert!(
            help.contains(p.name),
            "plan --help does not name {}",
            p.name
        );
    }
}

#[test]
fn policies_plan_and_matrix() {
    let out = run(&["policies"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for p in ["strict", "criu-3.19", "criu-4.0", "criu-4.1"] {
        assert!(text.contains(p), "{text}");
    }

    // The same synthetic image on both sides: strict remaps, exit 0.
    let img = scratch("plan.so", &synthetic());
    let p = img.to_str().unwrap();
    let out = run(&["plan", p, p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("decision   remap"));

    // Unknown policy and bad layout: one line, exit 1.
    assert_clean_failure(
        &run(&["plan", p, p, "--policy", "criu-9"]),
        "unknown policy",
    );
    assert_clean_failure(
        &run(&["plan", p, p, "--dumped-layout", "/nonexistent/maps"]),
        "neither an era",
    );

    let Some(old) = real("i386-vdso32-5.10.0-32-amd64.so") else {
        unreachable!("real() fails when the image is missing");
    };
    let new = real("i386-vdso32-6.12.117+deb13-amd64.so").unwrap();
    // The seed bug, statically: criu-3.19 leaves __vdso_clock_gettime64 unredirected; exit 1.
    let out = run(&[
        "plan",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--policy",
        "criu-3.19",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("StaleEntry `__vdso_clock_gettime64@LINUX_2.6`"),
        "{text}"
    );
    assert!(
        text.contains("mov $0x"),
        "decoded trampolines shown: {text}"
    );
    // strict proxies every entry with 5-byte jumps; exit 0.
    let out = run(&[
        "plan",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"]["kind"], "proxy");
    assert!(v["findings"].as_array().unwrap().is_empty());

    let dir = old.parent().unwrap();
    let svg = std::env::temp_dir().join(format!("vdso-lab-matrix-{}.svg", std::process::id()));
    let out = run(&[
        "matrix",
        dir.to_str().unwrap(),
        "--policy",
        "criu-3.19",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // The count comes from the manifest, not a literal.
    let n = vdso_lab::corpus::manifest(dir)
        .unwrap()
        .iter()
        .filter(|e| e.arch == "x86_64")
        .count();
    assert!(text.contains(&format!("x86_64 ({n} images")), "{text}");
    assert!(text.contains("StaleEntry"), "{text}");
    // Image files are taken as they are (#13 item 18: matrix took only folders).
    let out = run(&[
        "matrix",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--policy",
        "criu-3.19",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("i386 (2 images"), "{text}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<title>"));
}

#[test]
fn matrix_takes_the_live_vdso() {
    if vdso_lab::live::vdso_base().is_none() {
        vdso_lab::require::skip("live", "this process has no vDSO");
        return;
    }
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let out = run(&["matrix", real.to_str().unwrap(), "live", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let has_live = v["arches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["images"].as_array().unwrap().iter().any(|n| n == "live"));
    assert!(has_live, "live is one of the matrix images");
}
