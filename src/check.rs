//! `check`, the main job, as a library call: [`run`]`(&Host, &CheckConfig) -> CheckReport`.
//!
//! Data enters through a [`Host`], built once: the live vDSO (read once, its bytes owned), the corpus
//! root and the real kernel images under it. [`run`] parses the live image once, judges it, replays the
//! corpus through every fuzz target, plans every same-arch real image onto this kernel, and runs the live
//! lab (every restore call path against the syscalls, then again in a time namespace). It leaves as a
//! typed [`CheckReport`] whose JSON form is documented in `docs/check-json.md`; the CLI only renders it
//! (`report::check_text`). [`repro_vdso01`] — the seed incident end to end — lives beside it.
//!
//! Every row judges something: a row whose verdict could not come out `FAIL` on any input does not
//! belong here.

use crate::arch::Arch;
use crate::fuzzing;
use crate::image::Image;
use crate::layout::Role;
use crate::live::lab::{self, CallPath, Func, Lab, Row as PathRow, STALE_POLICY};
use crate::live::probe::ClockPath;
use crate::live::{self, LiveVdso};
use crate::verify::Verdict;
use std::path::{Path, PathBuf};

/// The verdict of one `check` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CheckVerdict {
    #[serde(rename = "ok")]
    Ok,
    #[serde(rename = "FAIL")]
    Fail,
    /// Could not run here; the detail says why. Never counted as a pass by CI that requires the feature.
    #[serde(rename = "skipped")]
    Skipped,
    /// Information that judges nothing (e.g. exports no experiment calls).
    #[serde(rename = "note")]
    Note,
}

impl CheckVerdict {
    pub fn name(self) -> &'static str {
        match self {
            CheckVerdict::Ok => "ok",
            CheckVerdict::Fail => "FAIL",
            CheckVerdict::Skipped => "skipped",
            CheckVerdict::Note => "note",
        }
    }

    fn of(ok: bool) -> CheckVerdict {
        if ok {
            CheckVerdict::Ok
        } else {
            CheckVerdict::Fail
        }
    }
}

/// One row of the verdict table. (Fields in the order the JSON has always had: alphabetical.)
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckRow {
    pub detail: String,
    pub verdict: CheckVerdict,
    pub what: String,
}

/// What `check` found. Serialized as schema `vdso-lab.check.v1` (docs/check-json.md).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub checks: Vec<CheckRow>,
    /// Every row is ok, skipped or a note, every call path agreed and the stale path showed the seed bug.
    pub ok: bool,
    /// The live lab's path × function rows (plain, then in a time namespace).
    pub paths: Vec<PathRow>,
    /// `--policy`: each image restored under the preset (path `preset#n`) or refused by it.
    pub presets: Vec<PresetSource>,
    pub schema: &'static str,
}

impl CheckReport {
    pub fn row(&self, what: &str) -> Option<&CheckRow> {
        self.checks.iter().find(|r| r.what == what)
    }
}

/// One image `check --policy P` restored under P (or P refused).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PresetSource {
    /// `this kernel`, or the image's name.
    pub source: String,
    /// The `preset#n` path that calls through it; `None` when refused.
    pub path: Option<u8>,
    /// Why P refused it.
    pub refused: Option<String>,
    /// The functions P's plan leaves stale (the static prediction).
    pub predicted_stale: Vec<Func>,
}

/// What `check` runs against, gathered once.
pub struct Host {
    /// The live vDSO: `Ok(None)` when the kernel gave this process none, `Err` when it could not be read.
    pub live: Result<Option<LiveVdso>, String>,
    /// The corpus root (`corpus/`).
    pub corpus: PathBuf,
    /// The real kernel images of `corpus/real/` by name (`corpus::real_images`; fuzz inputs are not
    /// among them: a mutated image that still carries a version note is no kernel's vDSO), or why they
    /// could not be read.
    pub kernels: Result<Vec<(String, Vec<u8>)>, String>,
}

impl Host {
    /// Read the live vDSO and the corpus's kernel images.
    pub fn gather(corpus: &Path) -> Host {
        Host {
            live: live::read().map_err(|e| e.to_string()),
            corpus: corpus.to_path_buf(),
            kernels: crate::corpus::real_images(&corpus.join("real")).map(|v| {
                v.into_iter()
                    .map(|r| (r.name().to_string(), r.bytes))
                    .collect()
            }),
        }
    }
}

/// How `check` runs.
#[derive(Debug, Clone, Default)]
pub struct CheckConfig {
    /// Skip the corpus replay (for callers that replay it themselves).
    pub no_replay: bool,
    /// Also restore this kernel's image and every same-arch image of `corpus/real` under this preset
    /// (proxy forced) and report, per entry, what that restore really returns here next to what the
    /// static plan predicted (`check --policy P`).
    pub policy: Option<&'static crate::policy::Policy>,
}

/// Run the main job.
pub fn run(host: &Host, cfg: &CheckConfig) -> CheckReport {
    let mut rows = Vec::new();
    let mut row = |what: &str, verdict: CheckVerdict, detail: String| {
        rows.push(CheckRow {
            what: what.to_string(),
            verdict,
            detail,
        })
    };
    let live = match &host.live {
        Err(e) => {
            row("live vDSO", CheckVerdict::Fail, e.clone());
            None
        }
        Ok(None) => {
            row(
                "live vDSO",
                CheckVerdict::Skipped,
                "this process has no vDSO (AT_SYSINFO_EHDR is 0)".into(),
            );
            None
        }
        Ok(Some(l)) => Some(l),
    };
    let parsed = live.and_then(|l| match Image::parse(&l.bytes) {
        Err(e) => {
            row(
                "live vDSO",
                CheckVerdict::Fail,
                format!("does not parse: {e}"),
            );
            None
        }
        Ok(img) => Some((l, img)),
    });
    if let Some((l, img)) = &parsed {
        judge_image(l, img, &mut row);
    }
    if !cfg.no_replay {
        for t in fuzzing::TARGETS {
            let (verdict, detail) = match fuzzing::replay_target(t, &host.corpus) {
                Err(e) => (CheckVerdict::Fail, e),
                Ok(r) => replay_row(&r, &host.corpus),
            };
            row(&format!("corpus {}", t.name), verdict, detail);
        }
    }
    let mut paths = Vec::new();
    let mut presets = Vec::new();
    let mut lab_ok = true;
    if let Some((l, img)) = &parsed {
        judge_planner(host, l, img, &mut row);
        lab_ok = judge_lab(host, cfg, l, &mut row, &mut paths, &mut presets);
    }
    let ok = rows.iter().all(|r| r.verdict != CheckVerdict::Fail) && lab_ok;
    CheckReport {
        checks: rows,
        ok,
        paths,
        presets,
        schema: "vdso-lab.check.v1",
    }
}

/// A path row as the detail lines name it: `path function: verdict`.
fn said(r: &PathRow) -> String {
    format!("{} {}: {}", r.path.name(), r.func.name(), r.verdict)
}

type RowFn<'a> = dyn FnMut(&str, CheckVerdict, String) + 'a;

/// The live image itself: what it is, its hash tables, its special mappings.
fn judge_image(l: &LiveVdso, img: &Image, row: &mut RowFn) {
    row(
        "live vDSO",
        CheckVerdict::Ok,
        format!(
            "{} {} at {:#x}, {} symbols, {} entry points",
            img.soname.unwrap_or("(no soname)"),
            img.machine_name(),
            l.base,
            img.symbol_count(),
            img.functions().count()
        ),
    );
    let f = img.check_hashes();
    if f.is_empty() {
        let n = img.exports().count();
        row(
            "hash tables",
            CheckVerdict::Ok,
            format!("DT_HASH, DT_GNU_HASH and a linear scan agree on all {n} exports"),
        );
    } else {
        let list: Vec<String> = f.iter().map(|x| x.to_string()).collect();
        row("hash tables", CheckVerdict::Fail, list.join("; "));
    }
    let maps: Vec<String> = l
        .layout
        .movable()
        .map(|m| format!("{} {}p", m.role.maps_name(), m.len() / 4096))
        .collect();
    row(
        "special mappings",
        CheckVerdict::of(l.layout.get(Role::Vdso).is_some()),
        maps.join(", "),
    );
}

/// A corpus row from one target's replay.
fn replay_row(r: &fuzzing::Replay, corpus: &Path) -> (CheckVerdict, String) {
    // A target on which no invariant compared anything proves nothing (fuzzing::Replay::vacuous_run).
    let verdict = if !r.failures.is_empty() || r.vacuous_run().is_some() {
        CheckVerdict::Fail
    } else if r.inputs == 0 {
        CheckVerdict::Skipped
    } else {
        CheckVerdict::Ok
    };
    let missing = if r.inputs == 0 {
        format!(" (no corpus at {})", corpus.display())
    } else {
        String::new()
    };
    (
        verdict,
        format!(
            "{} inputs: {} checked, {} vacuous, {} rejected, {} failed{missing}",
            r.inputs,
            r.checked,
            r.vacuous,
            r.rejected,
            r.failures.len()
        ),
    )
}

/// The planner: every same-arch real image in the corpus restored on this kernel, under strict. It
/// fails when a plan has errors (strict must either restore soundly or refuse) or refuses without
/// naming what the runtime image lacks.
fn judge_planner(host: &Host, l: &LiveVdso, live_img: &Image, row: &mut RowFn) {
    use crate::plan::{default_bases, plan, Decision, Side};
    let arch = Arch::of(live_img);
    let mut counts = std::collections::BTreeMap::new();
    let mut bad = Vec::new();
    let mut n = 0;
    let kernels = match &host.kernels {
        Ok(k) => k,
        Err(e) => {
            row("planner", CheckVerdict::Fail, format!("real images: {e}"));
            return;
        }
    };
    for (name, bytes) in kernels {
        let Ok(img) = Image::parse(bytes) else {
            continue;
        };
        if Arch::of(&img) != arch {
            continue;
        }
        // The dumped image 256 MiB below the live one, as the live lab places its copies: within reach
        // of every short trampoline, like a restorer's parking (the preset base may be gigabytes away).
        let d0 = l
            .layout
            .get(Role::Vdso)
            .map_or(default_bases(arch).0, |m| m.start.saturating_sub(256 << 20));
        let p = plan(
            &Side::preset(&img, d0),
            &Side {
                image: live_img,
                layout: l.layout.clone(),
            },
            &crate::policy::STRICT,
        );
        *counts.entry(p.category().name()).or_insert(0) += 1;
        n += 1;
        let refused = p.decision == Decision::Refused;
        if (refused && p.findings.is_empty()) || (!refused && p.errors() > 0) {
            let first = p
                .findings
                .iter()
                .find(|f| f.severity == crate::plan::Severity::Error);
            bad.push(format!(
                "{name}: {} ({})",
                p.category().name(),
                first.map_or(String::new(), |f| f.detail.clone())
            ));
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let summary = format!(
        "{n} same-arch kernel images restored on this kernel under strict: {}",
        parts.join(", ")
    );
    let (verdict, detail) = match (n, bad.is_empty()) {
        (0, _) => (CheckVerdict::Skipped, summary),
        (_, true) => (CheckVerdict::Ok, summary),
        (_, false) => (
            CheckVerdict::Fail,
            format!("{summary}; unsound: {}", bad.join("; ")),
        ),
    };
    row("planner", verdict, detail);
}

/// The live lab: every path × function × clock, then in a time namespace. Returns whether every path
/// agreed and the stale path reproduced the seed bug.
fn judge_lab(
    host: &Host,
    cfg: &CheckConfig,
    l: &LiveVdso,
    row: &mut RowFn,
    paths: &mut Vec<PathRow>,
    presets: &mut Vec<PresetSource>,
) -> bool {
    let t0 = std::time::Instant::now();
    let mut lab = match Lab::on(l.clone()) {
        Ok(lab) => lab,
        Err(e) => {
            row("call paths", CheckVerdict::Fail, e.to_string());
            return false;
        }
    };
    // Other kernels' images this kernel can take (strict does not refuse them) are proxied onto it and
    // called through too: real restores from those kernels, exercised live.
    let mut proxied = Vec::new();
    for (name, bytes) in host.kernels.iter().flatten() {
        if let Ok(p) = lab.add_dumped(name, bytes) {
            proxied.push(format!("{} = {name}", p.name()));
        }
    }
    if let Some(policy) = cfg.policy {
        *presets = add_preset_images(host, &mut lab, policy, row);
    }
    let outcomes = lab.run_all();
    let mut rows = lab::rows(&outcomes);
    for r in rows.iter_mut() {
        if let CallPath::Preset(i) = r.path {
            r.expected_to_fail = presets
                .iter()
                .find(|p| p.path == Some(i))
                .is_some_and(|p| p.predicted_stale.contains(&r.func));
        }
    }
    let failed = |r: &&PathRow| {
        !r.expected_to_fail && !r.verdict.agrees() && r.verdict != Verdict::NotExercised
    };
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| failed(r) && !matches!(r.path, CallPath::ProxiedImage(_) | CallPath::Preset(_)))
        .map(said)
        .collect();
    let reproduced = lab::stale_reproduced(&rows);
    let mut ok = bad.is_empty() && reproduced != Some(false);
    row(
        "call paths",
        CheckVerdict::of(bad.is_empty()),
        if bad.is_empty() {
            format!(
                "{} experiments in {} ms: every restored path agrees with the syscalls",
                outcomes.len(),
                t0.elapsed().as_millis()
            )
        } else {
            bad.join("; ")
        },
    );
    if !proxied.is_empty() {
        let bad: Vec<String> = rows
            .iter()
            .filter(|r| failed(r) && matches!(r.path, CallPath::ProxiedImage(_)))
            .map(said)
            .collect();
        ok &= bad.is_empty();
        row(
            "other kernels",
            CheckVerdict::of(bad.is_empty()),
            if bad.is_empty() {
                format!(
                    "images proxied onto this kernel and called through: {}",
                    proxied.join(", ")
                )
            } else {
                bad.join("; ")
            },
        );
    }
    if !lab.not_exercised.is_empty() {
        let list: Vec<String> = lab
            .not_exercised
            .iter()
            .map(|(name, why)| format!("{name} ({why})"))
            .collect();
        row(
            "not exercised",
            CheckVerdict::Note,
            format!(
                "exported but not called by any experiment: {}",
                list.join(", ")
            ),
        );
    }
    for (f, why) in &lab.skipped {
        row(f.name(), CheckVerdict::Skipped, why.clone());
    }
    row(
        "seed bug (stale)",
        match reproduced {
            Some(true) => CheckVerdict::Ok,
            Some(false) => CheckVerdict::Fail,
            None => CheckVerdict::Skipped,
        },
        match reproduced {
            Some(true) => {
                "reproduced: time() through the unredirected entry read the zeroed data pages"
                    .into()
            }
            Some(false) => "not reproduced: the stale entry agreed with the syscall".into(),
            None => "no stale path on this architecture".into(),
        },
    );
    if let Some(policy) = cfg.policy {
        judge_preset_rows(policy, &rows, row);
    }
    let source = crate::live::probe::clocksource().unwrap_or_else(|| "unknown clocksource".into());
    row(
        "clock source",
        CheckVerdict::Note,
        match lab.clock_path() {
            ClockPath::Userspace => format!("{source}: the vDSO reads the clock in userspace"),
            ClockPath::SyscallFallback => format!(
                "{source}: the vDSO falls back to the syscall, so its userspace clock code (what a restore can break) was not exercised"
            ),
            ClockPath::Unknown(why) => format!("{source}: the vDSO's clock path is unknown ({why})"),
        },
    );
    paths.extend(rows);
    ok &= judge_timens(&lab, row, paths);
    ok
}

/// `check --policy P`: this kernel's image and every same-arch real image restored under `policy` with
/// proxying forced. Returns, per preset path, the functions its plan predicts stale (an entry the
/// preset does not redirect); images the preset refuses get a row saying why.
fn add_preset_images(
    host: &Host,
    lab: &mut Lab,
    policy: &crate::policy::Policy,
    row: &mut RowFn,
) -> Vec<PresetSource> {
    use crate::plan::FindingKind;
    let mut sources: Vec<(String, Vec<u8>)> = vec![("this kernel".into(), lab.live.bytes.clone())];
    sources.extend(host.kernels.iter().flatten().cloned());
    let (mut out, mut added, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for (name, bytes) in &sources {
        match lab.add_under_policy(name, bytes, policy) {
            Ok((path, plan)) => {
                let stale: Vec<Func> = Func::ALL
                    .into_iter()
                    .filter(|f| {
                        plan.findings.iter().any(|x| {
                            x.kind == FindingKind::StaleEntry
                                && x.symbol
                                    .as_ref()
                                    .is_some_and(|k| Func::of_entry(&k.name) == Some(*f))
                        })
                    })
                    .collect();
                added.push(format!("{} = {name}", path.name()));
                out.push(PresetSource {
                    source: name.clone(),
                    path: match path {
                        CallPath::Preset(i) => Some(i),
                        _ => None,
                    },
                    refused: None,
                    predicted_stale: stale,
                });
            }
            Err(crate::live::lab::LabError::Plan(why)) if why.contains("architecture") => {}
            Err(e) => {
                refused.push(format!("{name}: {e}"));
                out.push(PresetSource {
                    source: name.clone(),
                    path: None,
                    refused: Some(e.to_string()),
                    predicted_stale: Vec::new(),
                });
            }
        }
    }
    row(
        &format!("{} restores", policy.name),
        CheckVerdict::Note,
        format!(
            "proxy forced; {}{}",
            if added.is_empty() {
                "none taken".to_string()
            } else {
                added.join(", ")
            },
            if refused.is_empty() {
                String::new()
            } else {
                format!("; refused: {}", refused.join("; "))
            }
        ),
    );
    out
}

/// What the preset's restores returned, against what its plans predicted: a wrong answer is a
/// finding about the preset (`FAIL`); a disagreement between prediction and outcome is named either
/// way (stale code that happened to agree, or a wrong answer the plan did not predict).
fn judge_preset_rows(policy: &crate::policy::Policy, rows: &[PathRow], row: &mut RowFn) {
    let mut wrong = Vec::new();
    let mut surprises = Vec::new();
    for r in rows
        .iter()
        .filter(|r| matches!(r.path, CallPath::Preset(_)))
    {
        if r.verdict == Verdict::NotExercised {
            continue;
        }
        let bad = !r.verdict.agrees();
        let what = said(r);
        match (bad, r.expected_to_fail) {
            (true, true) => wrong.push(what),
            (true, false) => {
                surprises.push(format!("{what} (not predicted: the plan redirects it)"));
                wrong.push(what);
            }
            (false, true) => surprises.push(format!(
                "{} {}: agrees although stale (its dumped code did not depend on the zeroed data pages here: it reads none, or falls back to the syscall on them, as getrandom does when they say the generator is not ready)",
                r.path.name(),
                r.func.name()
            )),
            (false, false) => {}
        }
    }
    let mut detail = if wrong.is_empty() {
        "every entry agrees with the syscalls".to_string()
    } else {
        format!("wrong answers: {}", wrong.join("; "))
    };
    if !surprises.is_empty() {
        detail.push_str(&format!(
            "; prediction vs outcome: {}",
            surprises.join("; ")
        ));
    }
    row(
        &format!("{} live", policy.name),
        CheckVerdict::of(wrong.is_empty()),
        detail,
    );
}

/// The time-namespace half of the lab.
fn judge_timens(lab: &Lab, row: &mut RowFn, paths: &mut Vec<PathRow>) -> bool {
    if let Err(why) = lab.timens_supported() {
        row("time namespaces", CheckVerdict::Skipped, why);
        return true;
    }
    let outcomes = lab.run_timens_all();
    let rows = lab::rows(&outcomes);
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.verdict.agrees() && r.verdict != Verdict::NotExercised)
        .map(said)
        .collect();
    row(
        "time namespaces",
        CheckVerdict::of(bad.is_empty()),
        if bad.is_empty() {
            format!(
                "{} experiments in a new time namespace (monotonic +10 d, boottime +20 d): every path honours the offsets like the syscall",
                outcomes.len()
            )
        } else {
            bad.join("; ")
        },
    );
    paths.extend(rows);
    bad.is_empty()
}

/// CRIU's vdso01 compares libc `time(NULL)` with a direct call of the vDSO's `__vdso_time`, allowing 3 s
/// (CRIU test/zdtm/static/vdso01.c).
pub const CRIU_VDSO01_TOLERANCE: i64 = 3;

/// One side of `repro vdso01`: `time(NULL)` through a restored image's entry against `__vdso_time`
/// called directly in the runtime vDSO.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vdso01Run {
    pub restored: i64,
    pub direct: i64,
    pub delta: i64,
}

impl Vdso01Run {
    /// CRIU's test fails this run ("Delta is too big").
    pub fn fails(&self) -> bool {
        self.delta > CRIU_VDSO01_TOLERANCE
    }
}

/// `repro vdso01`: the run under the CRIU-like stale policy, and the run under strict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vdso01 {
    pub stale: Vdso01Run,
    pub strict: Vdso01Run,
}

impl Vdso01 {
    pub fn reproduced_and_fixed(&self) -> bool {
        self.stale.fails() && !self.strict.fails()
    }
}

/// The seed incident end to end on the live kernel. `Err` says why it cannot run here (it starts with
/// `skipped:` when the platform lacks the feature).
pub fn repro_vdso01(lab: &Lab) -> Result<Vdso01, String> {
    if !lab.paths().contains(&CallPath::Stale) {
        return Err(format!(
            "skipped: trampolines are not modelled for {}",
            lab.arch.map_or("this architecture", |a| a.name())
        ));
    }
    let one = |label: &str, path: CallPath| -> Result<Vdso01Run, String> {
        let (restored, _) = lab.time_via(path).map_err(|v| format!("{label}: {v}"))?;
        let (direct, _) = lab
            .time_via(CallPath::Direct)
            .map_err(|v| format!("direct: {v}"))?;
        Ok(Vdso01Run {
            restored,
            direct,
            delta: (direct - restored).abs(),
        })
    };
    Ok(Vdso01 {
        stale: one("stale", CallPath::Stale)?,
        strict: one("proxied", CallPath::Proxied)?,
    })
}

/// The policy the `stale` side of [`repro_vdso01`] restores under, for reports.
pub fn vdso01_stale_policy() -> &'static crate::policy::Policy {
    &STALE_POLICY
}
