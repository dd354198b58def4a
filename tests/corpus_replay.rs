//! Replay `corpus/<target>/` and `corpus/regressions/<target>/` through every fuzz target's body — the
//! same function `cargo fuzz run <target>` runs — and report every failing input before failing.

use std::path::Path;
use vdso_lab::fuzzing::{replay_dir, replay_target, Outcome, TARGETS};

#[test]
fn corpus_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    let mut total = 0;
    for t in TARGETS {
        let both = replay_target(t, &root).unwrap();
        println!(
            "{}: {} inputs, {} checked, {} vacuous, {} rejected, {} failed",
            t.name,
            both.inputs,
            both.checked,
            both.vacuous,
            both.rejected,
            both.failures.len()
        );
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

/// How many inputs of the smoke each target must accept with at least one invariant checked.
const CHECKED_PER_TARGET: usize = 100;
/// How many inputs a target may be fed to get there: a target that rejects or is vacuous on more than
/// 95 % of its smoke inputs has stopped testing anything.
const BUDGET_PER_TARGET: usize = 20 * CHECKED_PER_TARGET;

/// A xorshift64 stream: fixed, reproducible, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The real vDSO images in `corpus/real` (the seeds of `vdso_parse` and of `vdso_reloc`'s raw mode).
fn real_images() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// The `i`-th smoke input of `target`: pseudo-random bytes, except that `vdso_parse` gets a real image
/// with a few bytes changed (random bytes never parse), and every other `vdso_reloc` input frames two
/// real images of one architecture (raw mode).
fn smoke_input(target: &str, i: usize, rng: &mut Rng, real: &[Vec<u8>]) -> Vec<u8> {
    match target {
        "vdso_parse" => {
            let mut img = real[i % real.len()].clone();
            // The first round of seeds unchanged, then up to four random byte writes each.
            let writes = if i < real.len() { 0 } else { rng.next() % 5 };
            for _ in 0..writes {
                let at = rng.next() as usize % img.len();
                img[at] = rng.next() as u8;
            }
            img
        }
        "vdso_reloc" if i % 2 == 1 => {
            // `real` is sorted by file name, which starts with the architecture: a neighbour is
            // mostly another kernel of the same architecture.
            let k = rng.next() as usize % real.len();
            let (a, b) = (
                &real[k],
                &real[(k + (rng.next() % 2) as usize) % real.len()],
            );
            vdso_lab::fuzzing::vdso_reloc::frame_raw(rng.next() as u8, a, b)
        }
        _ => {
            let len = 16 + (i * 37) % 2048;
            let mut data = rng.bytes(len);
            if target == "vdso_reloc" {
                data[0] &= !1; // the structure-aware mode
            }
            data
        }
    }
}

/// Fixed-seed smoke for every target (generators never panic; oracles hold), on stable, so a broken
/// target fails `cargo test` even before any corpus: each target must get `CHECKED_PER_TARGET` inputs
/// on which some invariant compared something, within `BUDGET_PER_TARGET` inputs.
#[test]
fn every_target_checks_enough_smoke_inputs() {
    let real = real_images();
    assert!(!real.is_empty(), "corpus/real has no images");
    let mut short = Vec::new();
    for t in TARGETS {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut checked, mut vacuous, mut rejected) = (0, 0, 0);
        let mut reasons = std::collections::BTreeMap::new();
        let mut fed = 0;
        while checked < CHECKED_PER_TARGET && fed < BUDGET_PER_TARGET {
            let data = smoke_input(t.name, fed, &mut rng, &real);
            fed += 1;
            match (t.run)(&data) {
                Outcome::Checked => checked += 1,
                Outcome::Vacuous(why) => {
                    vacuous += 1;
                    *reasons.entry(why).or_insert(0) += 1;
                }
                Outcome::Reject => rejected += 1,
            }
        }
        println!(
            "{}: {fed} inputs, {checked} checked, {vacuous} vacuous {reasons:?}, {rejected} rejected",
            t.name
        );
        if checked < CHECKED_PER_TARGET {
            short.push(format!(
                "{}: {checked} of {CHECKED_PER_TARGET} inputs checked after {fed} ({vacuous} vacuous: {reasons:?}; {rejected} rejected)",
                t.name
            ));
        }
    }
    assert!(short.is_empty(), "{}", short.join("\n"));
}
