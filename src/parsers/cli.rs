//! `vdso-lab parsers`: the inputs (files, folders, `live`), the subject × image table, the findings,
//! JSON, `--list`, and the summary lines that CI compares with a record (`--expect`).

use super::{row, subjects, FindingClass, Row, Subject, Verdict};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Largest input file read (real vDSOs are 1-50 KiB).
const MAX_INPUT: u64 = 64 << 20;

/// Arguments of `vdso-lab parsers`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Images: files, folders (every file in them, sorted) or `live` (this kernel's vDSO).
    /// Default: `live` and the crate's corpus/real.
    pub inputs: Vec<String>,
    /// Only these subjects (e.g. `criu-4.2.1/64`, `musl-1.2.6/64`; repeatable).
    #[arg(long)]
    pub subject: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// List the subjects with version, provenance and status, and exit.
    #[arg(long)]
    pub list: bool,
    /// Print one `image<TAB>subject<TAB>verdict` line per cell (the form `--expect` compares).
    #[arg(long)]
    pub summary: bool,
    /// Compare the summary lines with this record: exit 0 when they match (whatever the verdicts),
    /// 1 and the differences when they do not.
    #[arg(long)]
    pub expect: Option<PathBuf>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub subjects: Vec<Subject>,
    pub rows: Vec<Row>,
}

impl Report {
    /// A subject gave a wrong answer (or missed, rejected, crashed, hung) on an image we accept.
    pub fn has_correctness_findings(&self) -> bool {
        self.cells()
            .any(|(_, c)| c.finding == Some(FindingClass::Correctness))
    }

    fn cells(&self) -> impl Iterator<Item = (&Row, &super::Cell)> {
        self.rows
            .iter()
            .flat_map(|r| r.cells.iter().map(move |c| (r, c)))
    }

    /// `image<TAB>subject<TAB>short verdict` lines, sorted as the rows are.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for (r, c) in self.cells() {
            writeln!(s, "{}\t{}\t{}", r.image, c.subject, c.verdict.short()).unwrap();
        }
        s
    }
}

fn default_real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real")
}

/// Resolve the inputs to (name, bytes) pairs.
pub fn load(inputs: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let default = ["live".to_string(), default_real().display().to_string()];
    let inputs = if inputs.is_empty() {
        &default[..]
    } else {
        inputs
    };
    let mut out = Vec::new();
    for i in inputs {
        if i == "live" {
            match crate::live::read() {
                Ok(Some(v)) => out.push(("live".to_string(), v.bytes)),
                Ok(None) => eprintln!("parsers: live: skipped: this process has no vDSO"),
                Err(e) => eprintln!("parsers: live: skipped: {e}"),
            }
            continue;
        }
        let p = Path::new(i);
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{i}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_image_name(f))
                .collect();
            files.sort();
            for f in files {
                out.push((file_name(&f), read(&f)?));
            }
        } else {
            out.push((file_name(p), read(p)?));
        }
    }
    Ok(out)
}

fn is_image_name(f: &Path) -> bool {
    let n = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(n.starts_with('.') || n.ends_with(".tsv") || n.ends_with(".md") || n.ends_with(".expected"))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()))?;
    let mut b = Vec::new();
    f.take(MAX_INPUT)
        .read_to_end(&mut b)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    Ok(b)
}

/// Build the report for `args` (no output).
pub fn report(args: &Args) -> Result<Report, String> {
    let mut subs = subjects();
    if !args.subject.is_empty() {
        for want in &args.subject {
            if !subs.iter().any(|s| &s.name == want) {
                let names: Vec<&str> = subs.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "no subject {want:?}; subjects: {}",
                    names.join(", ")
                ));
            }
        }
        subs.retain(|s| args.subject.contains(&s.name));
    }
    let images = load(&args.inputs)?;
    let rows = images
        .iter()
        .map(|(name, bytes)| row(name, bytes, &subs))
        .collect();
    Ok(Report {
        subjects: subs,
        rows,
    })
}

/// `vdso-lab parsers`. `Ok(false)` (exit 1) when a subject gives a wrong answer on a valid image, or,
/// with `--expect`, when the verdicts differ from the record.
pub fn run(args: &Args) -> Result<bool, String> {
    if args.list {
        print!("{}", render_list(&subjects()));
        return Ok(true);
    }
    let rep = report(args)?;
    if let Some(path) = &args.expect {
        let want = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Ok(compare(&rep.summary(), &want, path));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rep).map_err(|e| e.to_string())?
        );
    } else if args.summary {
        print!("{}", rep.summary());
    } else {
        print!("{}", render(&rep));
    }
    Ok(!rep.has_correctness_findings())
}

fn compare(got: &str, want: &str, path: &Path) -> bool {
    let g: Vec<&str> = got.lines().collect();
    let w: Vec<&str> = want
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let mut ok = true;
    for l in &w {
        if !g.contains(l) {
            println!("parsers: expected but not seen: {l}");
            ok = false;
        }
    }
    for l in &g {
        if !w.contains(l) {
            println!("parsers: seen but not recorded: {l}");
            ok = false;
        }
    }
    if ok {
        println!(
            "parsers: {} verdicts match the record {}",
            g.len(),
            path.display()
        );
    } else {
        println!(
            "parsers: verdicts differ from the record {} (regenerate with --summary once explained)",
            path.display()
        );
    }
    ok
}

/// The `--list` table.
pub fn render_list(subs: &[Subject]) -> String {
    let mut s = String::new();
    for x in subs {
        let status = match &x.skipped {
            None => format!("built ({})", x.arches.join(" ")),
            Some(r) => format!("skipped: {r}"),
        };
        writeln!(s, "{:<16} {:<8} {status}", x.name, x.version).unwrap();
        if !x.package.is_empty() {
            writeln!(
                s,
                "{:<16} from Debian source package {} {} ({}, sha256 {})",
                "", x.package, x.version, x.tarball, x.sha256
            )
            .unwrap();
        }
    }
    s
}

/// The subject × image table, then every finding in detail.
pub fn render(rep: &Report) -> String {
    let mut s = String::new();
    let w = rep
        .rows
        .iter()
        .map(|r| r.image.len())
        .max()
        .unwrap_or(5)
        .max(5);
    write!(s, "{:<w$}", "image").unwrap();
    for x in &rep.subjects {
        write!(s, "  {:<14}", x.name).unwrap();
    }
    s.push('\n');
    for r in &rep.rows {
        write!(s, "{:<w$}", r.image).unwrap();
        for c in &r.cells {
            write!(s, "  {:<14}", c.verdict.short()).unwrap();
        }
        if r.our_error.is_some() {
            s.push_str("  (we reject it)");
        }
        s.push('\n');
    }
    for x in rep.subjects.iter().filter(|x| x.skipped.is_some()) {
        writeln!(
            s,
            "\n{}: skipped: {}",
            x.name,
            x.skipped.as_deref().unwrap_or("")
        )
        .unwrap();
    }
    render_findings(rep, &mut s);
    s
}

fn render_findings(rep: &Report, s: &mut String) {
    let mut any = false;
    for r in &rep.rows {
        if r.all_disagree {
            writeln!(
                s,
                "\n!!! {}: EVERY subject that read it disagrees with us: our parser is the suspect",
                r.image
            )
            .unwrap();
        }
        for c in r.cells.iter().filter(|c| c.finding.is_some()) {
            if !any {
                s.push_str("\nfindings:\n");
                any = true;
            }
            let class = match c.finding {
                Some(FindingClass::Correctness) => "correctness",
                _ => "robustness",
            };
            writeln!(
                s,
                "  [{class}] {} on {}: {}",
                c.subject,
                r.image,
                detail(&c.verdict)
            )
            .unwrap();
        }
    }
    if !any {
        s.push_str("\nno findings\n");
    }
}

/// One line explaining a verdict.
pub fn detail(v: &Verdict) -> String {
    let hex = |o: &Option<u64>| o.map_or("absent".to_string(), |o| format!("{o:#x}"));
    match v {
        Verdict::Rejects { ret, error } => format!("rejects the image (ret {ret}): {error:?}"),
        Verdict::Wrong { mismatches } => mismatches
            .iter()
            .map(|m| {
                format!(
                    "WRONG {} -> {} (we: {})",
                    m.symbol,
                    hex(&m.got),
                    hex(&m.expected)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Verdict::Missing { symbols } => format!("MISSING {}", symbols.join(", ")),
        Verdict::Crash { signal } => format!("CRASH ({signal})"),
        Verdict::Hang => format!("HANG (still running after {:?})", super::LIMIT),
        other => other.short(),
    }
}
