//! Parse + full symbol extraction of the live vDSO (and of a real image), against goblin's full
//! `Elf::parse` of the same bytes and a hand-written C walker doing the same extraction
//! (benches/c_walker.c), in one run. Target (DESIGN.md §5): within 3x of a C walker; goblin's full parse
//! is ~2 µs.
//!
//! Run: `cargo bench --bench parse`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use vdso_lab::image::Image;

/// Touch every extracted field so that the comparison is "parse + full symbol extraction".
fn digest(img: &Image) -> u64 {
    img.symbols().fold(0u64, |acc, s| {
        acc ^ s.value ^ s.size ^ s.name.len() as u64 ^ s.version.map_or(0, |v| v.len() as u64)
    })
}

fn bench_image(c: &mut Criterion, label: &str, bytes: &[u8]) {
    let mut g = c.benchmark_group(label);
    g.bench_function("vdso_lab::Image::parse + symbols", |b| {
        b.iter(|| {
            let img = Image::parse(black_box(bytes)).expect("image parses");
            black_box(digest(&img))
        })
    });
    g.bench_function("goblin::elf::Elf::parse (full)", |b| {
        b.iter(|| {
            let elf = goblin::elf::Elf::parse(black_box(bytes)).expect("goblin parses");
            black_box(elf.dynsyms.len())
        })
    });
    g.finish();
}

/// Compile and run benches/c_walker.c (the C yardstick) with the system compiler; its best of five
/// rounds, or why it was skipped.
fn c_walker() -> Result<f64, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("vdso-lab-c-walker-{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = std::process::Command::new(&cc)
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(dir.join("benches/c_walker.c"))
        .status()
        .map_err(|e| format!("{cc}: {e}"))?;
    if !built.success() {
        return Err(format!("{cc} failed"));
    }
    let run = std::process::Command::new(&out)
        .arg("5000000")
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| {
            l.strip_prefix("C walker: ")?
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .min_by(|a, b| a.total_cmp(b))
        .ok_or_else(|| "no output".into())
}

fn benches(c: &mut Criterion) {
    match c_walker() {
        Ok(ns) => {
            eprintln!("C walker (benches/c_walker.c, same extraction, live vDSO): {ns:.1} ns")
        }
        Err(e) => eprintln!("skipped: C walker: {e}"),
    }
    match vdso_lab::live::read() {
        Ok(Some(live)) => bench_image(c, "live", &live.bytes),
        Ok(None) => eprintln!("skipped: live: this process has no vDSO"),
        Err(e) => eprintln!("skipped: live: {e}"),
    }
    let x86 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realvdso/images/x86_64-vdso64-7.2.13.so");
    match std::fs::read(&x86) {
        Ok(bytes) => bench_image(c, "x86_64-vdso64-7.2.13", &bytes),
        Err(e) => eprintln!("skipped: {}: {e}", x86.display()),
    }
}

criterion_group!(parse, benches);
criterion_main!(parse);
