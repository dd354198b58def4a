//! `matrix` over every real image of `corpus/real` (173 images, 3611 same-architecture ordered
//! pairs), per policy, reported as pairs per second. Run: `cargo bench --bench matrix`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use vdso_lab::matrix::{Entry, Matrix};

fn benches(c: &mut Criterion) {
    let real = vdso_lab::corpus::real_images(&vdso_lab::corpus::root().join("real"))
        .unwrap_or_else(|e| panic!("corpus/real: {e}"));
    let entries: Vec<Entry> = real
        .into_iter()
        .map(|r| Entry {
            name: r.name().to_string(),
            bytes: r.bytes,
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
