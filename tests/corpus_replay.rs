//! Replay `corpus/<target>/` and `corpus/regressions/<target>/` through every fuzz target's body — the
//! same function `cargo fuzz run <target>` runs — and report every failing input before failing.

use std::path::Path;
use vdso_lab::fuzzing::{replay_dir, TARGETS};

#[test]
fn corpus_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    let mut total = 0;
    for t in TARGETS {
        for dir in [root.join(t.name), root.join("regressions").join(t.name)] {
            let r = replay_dir(t, &dir).unwrap();
            println!(
                "{} {}: {} inputs, {} ok, {} rejected, {} failed",
                t.name,
                dir.display(),
                r.inputs,
                r.ok,
                r.rejected,
                r.failures.len()
            );
            total += r.inputs;
            for (f, msg) in r.failures {
                failures.push(format!("{}: {}: {msg}", t.name, f.display()));
            }
        }
    }
    assert!(total > 0, "no corpus inputs under {}", root.display());
    assert!(
        failures.is_empty(),
        "{} failing inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
