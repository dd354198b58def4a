//! The bodies of the fuzz targets, as plain library functions.
//!
//! Each target `t` is a module here with `pub fn run(data: &[u8]) -> Outcome`. The same function is
//! called by the ten-line wrapper in `fuzz/fuzz_targets/t.rs` (under libFuzzer), by `cargo test` over
//! `corpus/t/` and `corpus/regressions/t/` (on stable Rust), and by `vdso-lab replay`. Generators never
//! panic (uninteresting input is an [`Outcome::Reject`]); oracles do, with a message naming the invariant
//! of DESIGN.md §3 and both sides of the comparison.

pub mod oracles;
pub mod parser_diff;
pub mod plan_chain;
pub mod remap_layout;
pub mod vdso_parse;
pub mod vdso_reloc;

use std::path::{Path, PathBuf};

/// What one input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input reached the oracles, at least one of them compared something, and every one held.
    Checked,
    /// The input was usable but every invariant was vacuous on it (the reason of the first).
    Vacuous(&'static str),
    /// The input was not usable (e.g. not an image): the target stopped before the oracles.
    Reject,
}

impl From<oracles::Check> for Outcome {
    fn from(c: oracles::Check) -> Outcome {
        match c {
            oracles::Check::Checked => Outcome::Checked,
            oracles::Check::Vacuous(why) => Outcome::Vacuous(why),
        }
    }
}

/// A fuzz target: its name (the fuzz binary, the corpus folders and the module share it) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> Outcome,
}

/// Every target, in the order `replay` reports them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "vdso_parse",
        run: vdso_parse::run,
    },
    Target {
        name: "vdso_reloc",
        run: vdso_reloc::run,
    },
    Target {
        name: "remap_layout",
        run: remap_layout::run,
    },
    Target {
        name: "plan_chain",
        run: plan_chain::run,
    },
    Target {
        name: "parser_diff",
        run: parser_diff::run,
    },
];

/// The result of replaying one folder through one target.
#[derive(Debug, Default)]
pub struct Replay {
    pub inputs: usize,
    /// Inputs on which some invariant compared something (and all held).
    pub checked: usize,
    /// Inputs that were usable but on which every invariant was vacuous.
    pub vacuous: usize,
    pub rejected: usize,
    /// Each failing input with the oracle's panic message.
    pub failures: Vec<(PathBuf, String)>,
}

/// Replay one target's two folders under the corpus root, `corpus/<t>/` and
/// `corpus/regressions/<t>/`, each as [`replay_dir`] does. The one aggregation `check`, `replay` and the
/// corpus test share. `Err` names the folder that could not be read.
pub fn replay_folders(target: &Target, root: &Path) -> Result<Vec<(PathBuf, Replay)>, String> {
    [
        PathBuf::from(target.name),
        Path::new("regressions").join(target.name),
    ]
    .into_iter()
    .map(|sub| {
        let dir = root.join(&sub);
        replay_dir(target, &dir)
            .map(|r| (sub, r))
            .map_err(|e| format!("{}: {e}", dir.display()))
    })
    .collect()
}

/// [`replay_folders`] for every target, in [`TARGETS`] order: (target name, folder, result).
pub fn replay_corpus(root: &Path) -> Result<Vec<(&'static str, PathBuf, Replay)>, String> {
    let mut out = Vec::new();
    for t in TARGETS {
        for (sub, r) in replay_folders(t, root)? {
            out.push((t.name, sub, r));
        }
    }
    Ok(out)
}

/// [`replay_folders`] summed over both folders.
pub fn replay_target(target: &Target, root: &Path) -> Result<Replay, String> {
    let mut total = Replay::default();
    for (_, r) in replay_folders(target, root)? {
        total.absorb(r);
    }
    Ok(total)
}

/// Run every file under `dir` (recursively, skipping dotfiles and README.md; a missing folder is empty) through `target`, catching
/// oracle panics so that every failure is reported, not only the first.
pub fn replay_dir(target: &Target, dir: &Path) -> std::io::Result<Replay> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut r = Replay::default();
    for f in files {
        let data = std::fs::read(&f)?;
        r.inputs += 1;
        let run = target.run;
        match std::panic::catch_unwind(move || run(&data)) {
            Ok(Outcome::Checked) => r.checked += 1,
            Ok(Outcome::Vacuous(_)) => r.vacuous += 1,
            Ok(Outcome::Reject) => r.rejected += 1,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                r.failures.push((f, msg));
            }
        }
    }
    Ok(r)
}

impl Replay {
    /// Add another replay's counts and failures (both folders of one target).
    pub fn absorb(&mut self, other: Replay) {
        self.inputs += other.inputs;
        self.checked += other.checked;
        self.vacuous += other.vacuous;
        self.rejected += other.rejected;
        self.failures.extend(other.failures);
    }

    /// Inputs that reached the oracles (checked or vacuous).
    pub fn accepted(&self) -> usize {
        self.checked + self.vacuous
    }

    /// A replay that had inputs but on which no invariant ever compared anything proves nothing: the
    /// reason it fails, or `None` when something was checked (or there were no inputs at all, which
    /// callers report as skipped).
    pub fn vacuous_run(&self) -> Option<String> {
        (self.inputs > 0 && self.checked == 0).then(|| {
            format!(
                "{} inputs, none checked anything ({} vacuous, {} rejected)",
                self.inputs, self.vacuous, self.rejected
            )
        })
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in rd {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if !p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "README.md")
        {
            out.push(p);
        }
    }
    Ok(())
}
