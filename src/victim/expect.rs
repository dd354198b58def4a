//! The record of what each real CRIU release is expected to get wrong (`ci/criu-expected.tsv`), so
//! that a restorer's known defect does not make CI red while any change in reality does.
//!
//! A run's findings are canonical lines without addresses or timings: `entry NAME: VERDICT-KIND [CLOCKS]`
//! for cached entries and libc functions the restore broke (grouped over clocks), `mapping CHECK` for a
//! failed mapping check, `loop: ...` when the dump or restore itself failed (with CRIU's error text),
//! `vdso01: PASS|FAIL`, or the single line `clean`. The record is a TSV file, one finding per line:
//! `release  mode  run  finding  root-cause`; `#` starts a comment. Every run must be recorded: a run
//! with no lines in the record is a difference too.

use super::restore::Run;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// (release, mode, run) — mode `normal` or `proxy`, run a scenario name or `vdso01`.
pub type Key = (String, String, String);

pub fn key(r: &Run) -> Key {
    let mode = if r.force_proxy { "proxy" } else { "normal" };
    let run = match r.subject.strip_prefix("zdtm ") {
        Some(test) => test.to_string(),
        None => r.scenario.clone(),
    };
    (r.criu_version.clone(), mode.to_string(), run)
}

/// CRIU's error text without its timestamp and pid prefix: `(00.04) pie: 7182: Error (criu/x.c:297):
/// vdso: msg` → `Error (criu/x.c:297): vdso: msg`, the first error only (the root: later ones repeat
/// it with pids in them). The rlimit error CRIU logs when it may not raise RLIMIT_NOFILE in a
/// container is not fatal and is skipped.
fn criu_errors(e: &str) -> String {
    let head = e.split(" (").next().unwrap_or(e);
    let errs: Vec<&str> = e
        .split(" | ")
        .filter_map(|part| part.find("Error (").map(|i| &part[i..]))
        .filter(|p| !p.contains("RLIMIT_NOFILE"))
        .take(1)
        .collect();
    if errs.is_empty() {
        e.to_string()
    } else {
        format!("{head}: {}", errs.join(" | "))
    }
}

/// The canonical findings of one run.
pub fn findings(r: &Run) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(e) = &r.loop_error {
        out.insert(format!("loop: {}", criu_errors(e)));
    }
    if let Some(v) = &r.vdso01 {
        out.insert(format!("vdso01: {v}"));
    }
    if let Some(rep) = &r.report {
        // entry name + verdict kind → clocks
        let mut grouped: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let checks = ["entries", "libc"]
            .iter()
            .flat_map(|k| rep[k].as_array().into_iter().flatten());
        for c in checks.filter(|c| c["status"] == "broken") {
            let name = c["name"].as_str().unwrap_or("?").to_string();
            // The verdict's kind only: its numbers (a clock's resolution) belong to the machine.
            let kind = c["after"]["verdict"].as_str().unwrap_or("?").to_string();
            let clocks = grouped.entry((name, kind)).or_default();
            if let Some(k) = c["clock"].as_i64() {
                clocks.push(crate::live::lab::clock_name(k as i32).to_string());
            }
        }
        for ((name, kind), clocks) in grouped {
            let clocks = if clocks.is_empty() {
                String::new()
            } else {
                format!(" [{}]", clocks.join(" "))
            };
            out.insert(format!("entry {name}: {kind}{clocks}"));
        }
        for m in rep["mappings"].as_array().into_iter().flatten() {
            if m["ok"].as_bool() == Some(false) {
                out.insert(format!("mapping {}", m["check"].as_str().unwrap_or("?")));
            }
        }
    }
    if out.is_empty() {
        out.insert("clean".into());
    }
    out
}

/// The record: key → finding → root cause.
type Record = BTreeMap<Key, BTreeMap<String, String>>;

fn load(path: &Path) -> Result<Record, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut rec = Record::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [rel, mode, run, finding, cause @ ..] = f.as_slice() else {
            return Err(format!(
                "{}:{}: want release<TAB>mode<TAB>run<TAB>finding<TAB>cause",
                path.display(),
                i + 1
            ));
        };
        rec.entry((rel.to_string(), mode.to_string(), run.to_string()))
            .or_default()
            .insert(finding.to_string(), cause.join("\t"));
    }
    Ok(rec)
}

/// Compare the runs with the record: (report, all as recorded).
pub fn check(path: &Path, runs: &[Run]) -> Result<(String, bool), String> {
    let rec = load(path)?;
    let mut s = String::new();
    let mut ok = true;
    let mut causes: BTreeMap<String, String> = BTreeMap::new();
    for r in runs {
        let k = key(r);
        let seen = findings(r);
        let Some(want) = rec.get(&k) else {
            ok = false;
            let _ = writeln!(
                s,
                "DIFFERS {} {} {}: not in the record; found: {}",
                k.0,
                k.1,
                k.2,
                seen.iter().cloned().collect::<Vec<_>>().join("; ")
            );
            continue;
        };
        let want_set: BTreeSet<String> = want.keys().cloned().collect();
        if want_set == seen {
            let list: Vec<&str> = want.keys().map(String::as_str).collect();
            let _ = writeln!(
                s,
                "as recorded: {} {} {}: {}",
                k.0,
                k.1,
                k.2,
                list.join("; ")
            );
            for (f, cause) in want.iter().filter(|(f, _)| *f != "clean") {
                causes.entry(f.clone()).or_insert_with(|| cause.clone());
            }
            continue;
        }
        ok = false;
        let _ = writeln!(s, "DIFFERS {} {} {}:", k.0, k.1, k.2);
        for f in seen.difference(&want_set) {
            let _ = writeln!(s, "    new:  {f}");
        }
        for f in want_set.difference(&seen) {
            let _ = writeln!(s, "    gone: {f}");
        }
    }
    if !causes.is_empty() {
        let _ = writeln!(s, "root causes (from the record):");
        for (f, c) in causes {
            let _ = writeln!(s, "  {f}\n      <- {c}");
        }
    }
    Ok((s, ok))
}

/// Merge the runs' findings into the record file (keeping recorded root causes).
pub fn record(path: &Path, runs: &[Run]) -> Result<(), String> {
    let mut rec = load(path)?;
    let old = rec.clone();
    for r in runs {
        let k = key(r);
        let prev = old.get(&k);
        let fresh: BTreeMap<String, String> = findings(r)
            .into_iter()
            .map(|f| {
                let cause = prev
                    .and_then(|p| p.get(&f))
                    .cloned()
                    .unwrap_or_else(|| "TODO: root cause".into());
                (f, cause)
            })
            .collect();
        rec.insert(k, fresh);
    }
    let header = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let mut out = header;
    for ((rel, mode, run), fs) in &rec {
        for (f, cause) in fs {
            let _ = writeln!(out, "{rel}\t{mode}\t{run}\t{f}\t{cause}");
        }
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
}
