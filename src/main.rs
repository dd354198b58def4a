//! The `vdso-lab` command line: argument parsing and dispatch only; the work lives in the library.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vdso_lab::fuzzing::{self, TARGETS};
use vdso_lab::image::Image;
use vdso_lab::layout::Role;
use vdso_lab::live;
use vdso_lab::report::InspectReport;

/// Largest input file `inspect` reads. Real vDSOs are 1-50 KiB (ppc64le images carry DWARF); anything
/// this big is not one, and refusing it keeps memory bounded on hostile input.
const MAX_INPUT: u64 = 64 << 20;

#[derive(Parser)]
#[command(
    name = "vdso-lab",
    version,
    about = "A lab for how checkpoint/restore tools relocate the Linux vDSO"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Inspect the live vDSO and replay the bundled corpus; print a verdict table.
    Check {
        /// Corpus folder to replay (default: the crate's corpus/).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
    /// Show what a vDSO image exports: soname, class, machine, hash tables, versions, symbols.
    Inspect {
        /// An image file (a vDSO cut from a kernel, or a dump of a [vdso] mapping).
        #[arg(required_unless_present = "live", conflicts_with = "live")]
        file: Option<PathBuf>,
        /// Inspect the running kernel's vDSO (and its [vvar]/[vvar_vclock] mappings) instead of a file.
        #[arg(long)]
        live: bool,
        /// Print JSON (schema: docs/inspect-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Replay a corpus folder (corpus/<target>/ and corpus/regressions/<target>/) through every target.
    Replay {
        /// The corpus root (default: the crate's corpus/).
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Check { corpus } => check(&corpus.unwrap_or_else(default_corpus)),
        Cmd::Inspect { file, live, json } => inspect(file.as_deref(), live, json),
        Cmd::Replay { dir } => replay(&dir.unwrap_or_else(default_corpus)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(msg) => {
            eprintln!("vdso-lab: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn default_corpus() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    if here.is_dir() {
        here
    } else {
        PathBuf::from("corpus")
    }
}

/// Read an untrusted input file with a size bound.
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot stat {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory, not a vDSO image"));
    }
    let mut bytes = Vec::new();
    f.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(format!(
            "{shown} is larger than {} MiB; no vDSO is",
            MAX_INPUT >> 20
        ));
    }
    Ok(bytes)
}

fn inspect(file: Option<&Path>, live_flag: bool, json: bool) -> Result<bool, String> {
    let (source, bytes, live_info) = if live_flag {
        let l = live::read()
            .map_err(|e| e.to_string())?
            .ok_or("this process has no vDSO (AT_SYSINFO_EHDR is 0)")?;
        ("live".to_string(), l.bytes, Some((l.base, l.layout)))
    } else {
        let path = file.ok_or("give a FILE or --live")?;
        (path.display().to_string(), read_input(path)?, None)
    };
    let img = Image::parse(&bytes).map_err(|e| format!("{source}: not a valid vDSO image: {e}"))?;
    let report = InspectReport::new(&source, &img, live_info.as_ref().map(|(b, l)| (*b, l)))
        .map_err(|e| format!("{source}: not a valid vDSO image: {e}"))?;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(true)
}

/// One row of the `check` verdict table.
struct Row {
    what: String,
    verdict: &'static str,
    detail: String,
}

fn check(corpus: &Path) -> Result<bool, String> {
    let mut rows = Vec::new();
    let mut row = |what: &str, verdict: &'static str, detail: String| {
        rows.push(Row {
            what: what.to_string(),
            verdict,
            detail,
        })
    };
    match live::read() {
        Err(e) => row("live vDSO", "FAIL", e.to_string()),
        Ok(None) => row(
            "live vDSO",
            "skipped",
            "this process has no vDSO (AT_SYSINFO_EHDR is 0)".into(),
        ),
        Ok(Some(l)) => match Image::parse(&l.bytes) {
            Err(e) => row("live vDSO", "FAIL", format!("does not parse: {e}")),
            Ok(img) => {
                row(
                    "live vDSO",
                    "ok",
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
                        "ok",
                        format!("DT_HASH, DT_GNU_HASH and a linear scan agree on all {n} exports"),
                    );
                } else {
                    let list: Vec<String> = f.iter().map(|x| x.to_string()).collect();
                    row("hash tables", "FAIL", list.join("; "));
                }
                let maps: Vec<String> = l
                    .layout
                    .movable()
                    .map(|m| format!("{} {}p", m.role.maps_name(), m.len() / 4096))
                    .collect();
                let has_vdso = l.layout.get(Role::Vdso).is_some();
                row(
                    "special mappings",
                    if has_vdso { "ok" } else { "FAIL" },
                    maps.join(", "),
                );
            }
        },
    }
    for t in TARGETS {
        let mut total = fuzzing::Replay::default();
        for dir in [corpus.join(t.name), corpus.join("regressions").join(t.name)] {
            let r = fuzzing::replay_dir(t, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            total.inputs += r.inputs;
            total.ok += r.ok;
            total.rejected += r.rejected;
            total.failures.extend(r.failures);
        }
        let verdict = if !total.failures.is_empty() {
            "FAIL"
        } else if total.inputs == 0 {
            "skipped"
        } else {
            "ok"
        };
        row(
            &format!("corpus {}", t.name),
            verdict,
            format!(
                "{} inputs: {} ok, {} rejected, {} failed{}",
                total.inputs,
                total.ok,
                total.rejected,
                total.failures.len(),
                if total.inputs == 0 {
                    format!(" (no corpus at {})", corpus.display())
                } else {
                    String::new()
                }
            ),
        );
    }
    row(
        "restore call paths",
        "not run",
        "direct/remapped/proxied/chained/stale/libc experiments are not built yet".into(),
    );
    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    for r in &rows {
        println!("{:<w$}  {:<8} {}", r.what, r.verdict, r.detail);
    }
    Ok(rows.iter().all(|r| r.verdict != "FAIL"))
}

fn replay(dir: &Path) -> Result<bool, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut ok = true;
    println!(
        "{:<12} {:<34} {:>7} {:>6} {:>9} {:>7}",
        "target", "folder", "inputs", "ok", "rejected", "failed"
    );
    for t in TARGETS {
        for sub in [PathBuf::from(t.name), Path::new("regressions").join(t.name)] {
            let r = fuzzing::replay_dir(t, &dir.join(&sub))
                .map_err(|e| format!("{}: {e}", dir.join(&sub).display()))?;
            println!(
                "{:<12} {:<34} {:>7} {:>6} {:>9} {:>7}",
                t.name,
                sub.display(),
                r.inputs,
                r.ok,
                r.rejected,
                r.failures.len()
            );
            for (f, msg) in &r.failures {
                ok = false;
                println!(
                    "  FAILED {}: {}",
                    f.display(),
                    msg.lines().next().unwrap_or("")
                );
            }
        }
    }
    Ok(ok)
}
