//! Write synthetic seed images for `corpus/vdso_parse/` (used by `ci/seed-corpus.sh`): one image per
//! architecture in the pools, in each hash style, plus a deterministic sample of the `spec()` strategy.
//! Files are named by the sha256 of their content, as libFuzzer names corpus entries.
//!
//! `cargo run --release --example seed_synth -- corpus/vdso_parse`

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::io::Write;
use std::process::{Command, Stdio};
use vdso_lab::synth::strategy;

fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn main() {
    let out = std::env::args().nth(1).expect("usage: seed_synth DIR");
    std::fs::create_dir_all(&out).unwrap();
    let mut runner = TestRunner::deterministic();
    let mut n = 0;
    for a in vdso_lab::synth::pools::ARCHES {
        let s = strategy::for_arch(a);
        for _ in 0..2 {
            let bytes = s.new_tree(&mut runner).unwrap().current().build().unwrap();
            std::fs::write(format!("{out}/{}", sha256(&bytes)), &bytes).unwrap();
            n += 1;
        }
    }
    let s = strategy::x86_64_linux_6_18();
    let bytes = s.new_tree(&mut runner).unwrap().current().build().unwrap();
    std::fs::write(format!("{out}/{}", sha256(&bytes)), &bytes).unwrap();
    n += 1;
    println!("seed_synth: wrote {n} synthetic images to {out}");
}
