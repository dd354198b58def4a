//! Replay `corpus/<target>/` and `corpus/regressions/<target>/` through every fuzz target's body — the
//! same function `cargo fuzz run <target>` runs — and report every failing input before failing.

use std::path::Path;
use vdso_lab::fuzzing::{replay_dir, Outcome, Replay, TARGETS};

#[test]
fn corpus_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    let mut total = 0;
    for t in TARGETS {
        let mut both = Replay::default();
        for dir in [root.join(t.name), root.join("regressions").join(t.name)] {
            let r = replay_dir(t, &dir).unwrap();
            println!(
                "{} {}: {} inputs, {} checked, {} vacuous, {} rejected, {} failed",
                t.name,
                dir.display(),
                r.inputs,
                r.checked,
                r.vacuous,
                r.rejected,
                r.failures.len()
            );
            both.absorb(r);
        }
        total += both.inputs;
        if let Some(why) = both.vacuous_run() {
            failures.push(format!("{}: vacuous: {why}", t.name));
        }
        for (f, msg) in both.failures {
            failures.push(format!("{}: {}: {msg}", t.name, f.display()));
        }
    }
    // The real-kernel images (corpus/real/*.so) go through the parser's target too.
    let parse = TARGETS.iter().find(|t| t.name == "vdso_parse").unwrap();
    let r = replay_dir(parse, &root.join("real")).unwrap();
    println!(
        "vdso_parse corpus/real: {} inputs, {} checked, {} vacuous, {} rejected, {} failed",
        r.inputs,
        r.checked,
        r.vacuous,
        r.rejected,
        r.failures.len()
    );
    total += r.inputs;
    if let Some(why) = r.vacuous_run() {
        failures.push(format!("vdso_parse corpus/real: vacuous: {why}"));
    }
    for (f, msg) in r.failures {
        failures.push(format!("vdso_parse: {}: {msg}", f.display()));
    }
    assert!(total > 0, "no corpus inputs under {}", root.display());
    assert!(
        failures.is_empty(),
        "{} failing inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Fixed-seed smoke for every target (generators never panic; oracles hold): a few hundred
/// pseudo-random inputs each, on stable, so a broken target fails `cargo test` even before any corpus.
#[test]
fn every_target_survives_a_fixed_seed_smoke() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for t in TARGETS {
        let (mut ok, mut rejected) = (0, 0);
        for i in 0..400 {
            let len = 16 + (i * 37) % 2048;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng as u8
                })
                .collect();
            match (t.run)(&data) {
                Outcome::Checked | Outcome::Vacuous(_) => ok += 1,
                Outcome::Reject => rejected += 1,
            }
        }
        println!("{}: {ok} ok, {rejected} rejected", t.name);
        if t.name != "vdso_parse" {
            assert!(ok > 0, "{}: every smoke input was rejected", t.name);
        }
    }
}
