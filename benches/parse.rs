//! Parse + full symbol extraction of the live vDSO (and of a committed real image), against goblin's full
//! `Elf::parse` of the same bytes, in one run. Targets (DESIGN.md §5): within 3x of a hand-written C walker
//! (~65 ns on this project's machines); goblin's full parse is ~2 µs.
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

fn benches(c: &mut Criterion) {
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
