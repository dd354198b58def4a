//! Write seed inputs for the fuzz corpora (used by `ci/seed-corpus.sh`), named by the sha256 of their
//! content as libFuzzer names corpus entries:
//!
//! * `corpus/vdso_parse/`: one synthetic image per architecture in the pools (two per arch) and the
//!   shape of the live x86-64 vDSO;
//! * `corpus/vdso_reloc/`: real same-arch image pairs from `../shared/realvdso/images` framed as raw
//!   inputs (each under a different policy), plus structure-aware seeds;
//! * `corpus/remap_layout/`, `corpus/plan_chain/`: structure-aware seeds.
//!
//! `cargo run --release --example seed_synth -- corpus [--real-only]`; `--real-only` writes the real
//! pairs alone (what `ci/cmin.sh` puts back after minimising).

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::io::Write;
use std::path::Path;
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

fn put(dir: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(sha256(bytes)), bytes).unwrap();
}

/// Deterministic pseudo-random bytes (xorshift), prefixed by `tag`.
fn noise(seed: u64, len: usize, tag: Option<u8>) -> Vec<u8> {
    let mut x = seed | 1;
    tag.into_iter()
        .chain((0..len).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        }))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let real_only = args.iter().any(|a| a == "--real-only");
    let root = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .expect("usage: seed_synth CORPUS-DIR [--real-only]");
    let root = Path::new(root);
    let mut runner = TestRunner::deterministic();
    let mut n = 0;
    if !real_only {
        for a in vdso_lab::synth::pools::ARCHES {
            let s = strategy::for_arch(a);
            for _ in 0..2 {
                let bytes = s.new_tree(&mut runner).unwrap().current().build().unwrap();
                put(&root.join("vdso_parse"), &bytes);
                n += 1;
            }
        }
        let s = strategy::x86_64_linux_6_18();
        put(
            &root.join("vdso_parse"),
            &s.new_tree(&mut runner).unwrap().current().build().unwrap(),
        );
        n += 1;
    }

    // Real pairs for vdso_reloc: each image with the next of its architecture (in name order).
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realvdso/images");
    if let Ok(rd) = std::fs::read_dir(&real) {
        let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let imgs: Vec<(String, Vec<u8>)> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "so"))
            .map(|p| {
                let b = std::fs::read(p).unwrap();
                let arch = vdso_lab::image::Image::parse(&b)
                    .ok()
                    .and_then(|i| vdso_lab::arch::Arch::of(&i))
                    .map_or("?", |a| a.name());
                (arch.to_string(), b)
            })
            .collect();
        for (i, (arch, a)) in imgs.iter().enumerate() {
            if let Some((_, b)) = imgs[i + 1..].iter().find(|(x, _)| x == arch) {
                put(
                    &root.join("vdso_reloc"),
                    &vdso_lab::fuzzing::vdso_reloc::frame_raw(i as u8, a, b),
                );
                n += 1;
            }
        }
    } else {
        println!("seed_synth: {} not found; no real pairs", real.display());
    }
    for k in (0..24u64).filter(|_| !real_only) {
        put(&root.join("vdso_reloc"), &noise(k + 1, 600, Some(0)));
        put(&root.join("remap_layout"), &noise(k + 101, 64, None));
        put(&root.join("plan_chain"), &noise(k + 201, 900, None));
        n += 3;
    }
    println!("seed_synth: wrote {n} seeds under {}", root.display());
}
