//! `matrix` over every real image of `../shared/realvdso/images/` (1569 same-arch ordered pairs), per
//! policy, reported as pairs per second. Run: `cargo bench --bench matrix`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use vdso_lab::matrix::{Entry, Matrix};

fn benches(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realvdso/images");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let entries: Vec<Entry> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .map(|p| Entry {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            bytes: std::fs::read(&p).unwrap(),
        })
        .collect();
    let pairs: usize = Matrix::build(&entries, &vdso_lab::policy::STRICT)
        .arches
        .iter()
        .map(|a| a.cells.len())
        .sum();
    let mut g = c.benchmark_group("matrix-real-images");
    g.throughput(Throughput::Elements(pairs as u64));
    g.sample_size(10);
    for p in vdso_lab::policy::ALL {
        g.bench_function(p.name, |b| b.iter(|| black_box(Matrix::build(&entries, p))));
    }
    g.finish();
}

criterion_group!(matrix, benches);
criterion_main!(matrix);
