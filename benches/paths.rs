//! Call latency per restore path: clock_gettime(CLOCK_MONOTONIC) through each path, timed over many
//! calls in a forked child (so `remapped` can move the special mappings), all in one run.
//! Run: `cargo bench --bench paths`. Prints ns/call per path (best of 5 rounds).

use vdso_lab::live::lab::{CallPath, Lab};

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; keep that quick.
    let calls: u32 = if std::env::args().any(|a| a == "--bench") {
        2_000_000
    } else {
        10_000
    };
    let lab = match Lab::new() {
        Ok(Some(l)) => l,
        Ok(None) => {
            println!("skipped: this process has no vDSO");
            return;
        }
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    println!("clock_gettime(CLOCK_MONOTONIC) latency, {calls} calls per round, best of 5");
    for path in lab.paths().into_iter().filter(|p| *p != CallPath::Stale) {
        let best = (0..5)
            .filter_map(|_| lab.latency(path, calls).ok())
            .fold(f64::INFINITY, f64::min);
        println!("  {:<12} {:>8.1} ns/call", path.name(), best);
    }
}
