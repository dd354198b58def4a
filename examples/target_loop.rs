//! Profiling driver: run one fuzz target body over a corpus folder N times.
//! `target_loop TARGET DIR N`
fn main() {
    let mut a = std::env::args().skip(1);
    let name = a.next().expect("target");
    let dir = a.next().expect("dir");
    let n: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let t = vdso_lab::fuzzing::TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("known target");
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .collect();
    let start = std::time::Instant::now();
    for _ in 0..n {
        for i in &inputs {
            let _ = (t.run)(i);
        }
    }
    let runs = n * inputs.len();
    println!(
        "{runs} runs, {:.0} runs/s",
        runs as f64 / start.elapsed().as_secs_f64()
    );
}
