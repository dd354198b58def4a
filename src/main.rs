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
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// List the restore policies with their provenance.
    Policies,
    /// Extract every vDSO image embedded in kernels or Debian kernel packages (vmlinux, Image,
    /// bzImage, Image.gz, EFI zboot, .deb), named <arch>-<flavour>-<release>.so.
    Extract {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Where to write the images (default: the current directory).
        #[arg(short, long, default_value = ".")]
        out: PathBuf,
    },
    /// Reproduce a known restore bug on this kernel, then show the fix (scenarios: vdso01).
    Repro {
        /// The scenario: `vdso01` (CRIU zdtm static/vdso01, issue #2390: time(NULL) == 0 after restore).
        scenario: String,
    },
    /// Plan restoring DUMPED (checkpoint kernel's vDSO) on RUNTIME (restore kernel's): decision,
    /// trampolines with their decoded instructions, findings. Exits 1 when the plan has errors.
    Plan {
        /// Image file, or `live` for this kernel's vDSO.
        dumped: String,
        /// Image file, or `live`.
        runtime: String,
        #[arg(long, default_value = "strict")]
        policy: String,
        /// Layout of the dumped side: an era (no-vvar, vvar-before-vdso, vdso-before-vvar, vvar-timens,
        /// vclock-split) or a /proc/PID/maps file. Default: the era of the image's kernel version.
        #[arg(long)]
        dumped_layout: Option<String>,
        /// Layout of the runtime side (as --dumped-layout); the runtime vDSO is parked 1 MiB above the
        /// dumped one unless a maps file says otherwise.
        #[arg(long)]
        runtime_layout: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Plan every ordered pair of same-architecture images found in DIRs (checkpoint kernel x restore
    /// kernel; `live` adds this kernel's vDSO) and show the outcomes as a grid per architecture.
    Matrix {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long, default_value = "strict")]
        policy: String,
        #[arg(long)]
        json: bool,
        /// Also write an SVG heatmap here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Check { corpus, json } => check(&corpus.unwrap_or_else(default_corpus), json),
        Cmd::Inspect { file, live, json } => inspect(file.as_deref(), live, json),
        Cmd::Replay { dir } => replay(&dir.unwrap_or_else(default_corpus)),
        Cmd::Repro { scenario } => repro(&scenario),
        Cmd::Extract { paths, out } => extract_cmd(&paths, &out),
        Cmd::Policies => {
            for p in vdso_lab::policy::ALL {
                println!("{:<10} {}", p.name, p.provenance);
            }
            Ok(true)
        }
        Cmd::Plan {
            dumped,
            runtime,
            policy,
            dumped_layout,
            runtime_layout,
            json,
        } => plan_cmd(
            &dumped,
            &runtime,
            &policy,
            dumped_layout.as_deref(),
            runtime_layout.as_deref(),
            json,
        ),
        Cmd::Matrix {
            dirs,
            policy,
            json,
            svg,
        } => matrix_cmd(&dirs, &policy, json, svg.as_deref()),
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

/// The inputs of `corpus/vdso_parse/` in name order (the real kernel images among them carry a
/// kernel version note; callers filter).
fn kernel_images(corpus: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("vdso_parse"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

/// One row of the `check` verdict table.
struct Row {
    what: String,
    verdict: &'static str,
    detail: String,
}

fn check(corpus: &Path, json: bool) -> Result<bool, String> {
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
            total.absorb(r);
        }
        let verdict = if !total.failures.is_empty() || total.vacuous_run().is_some() {
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
                "{} inputs: {} checked, {} vacuous, {} rejected, {} failed{}",
                total.inputs,
                total.checked,
                total.vacuous,
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
    // The planner: every same-arch real image in the corpus restored on this kernel, under strict.
    if let Ok(Some(l)) = live::read() {
        if let Ok(live_img) = Image::parse(&l.bytes) {
            let arch = vdso_lab::arch::Arch::of(&live_img);
            let mut counts = std::collections::BTreeMap::new();
            let mut n = 0;
            for bytes in kernel_images(corpus) {
                let Ok(img) = Image::parse(&bytes) else {
                    continue;
                };
                if vdso_lab::arch::Arch::of(&img) != arch || img.linux_version().is_none() {
                    continue;
                }
                let (d0, _) = vdso_lab::plan::default_bases(arch);
                let p = vdso_lab::plan::plan(
                    &vdso_lab::plan::Side::preset(&img, d0),
                    &vdso_lab::plan::Side {
                        image: &live_img,
                        layout: l.layout.clone(),
                    },
                    &vdso_lab::policy::STRICT,
                );
                *counts.entry(p.outcome().name()).or_insert(0) += 1;
                n += 1;
            }
            let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            row(
                "planner",
                if n > 0 { "ok" } else { "skipped" },
                format!(
                    "{n} same-arch kernel images restored on this kernel under strict: {}",
                    parts.join(", ")
                ),
            );
        }
    }

    // The live lab.
    let t0 = std::time::Instant::now();
    let mut lab = vdso_lab::live::lab::Lab::new();
    // Other kernels' images this kernel can take (strict does not refuse them) are proxied onto it
    // and called through too: real restores from those kernels, exercised live.
    let mut proxied_images = Vec::new();
    if let Ok(Some(lab)) = &mut lab {
        for bytes in kernel_images(corpus) {
            let Ok(img) = Image::parse(&bytes) else {
                continue;
            };
            let Some((a, b, c)) = img.linux_version() else {
                continue;
            };
            let name = format!("{a}.{b}.{c}");
            if let Ok(p) = lab.add_dumped(&name, &bytes) {
                proxied_images.push(format!("{} = {name}", p.name()));
            }
        }
    }
    let mut lab_rows = Vec::new();
    let mut lab_ok = true;
    match &lab {
        Ok(None) => row("call paths", "skipped", "this process has no vDSO".into()),
        Err(e) => {
            row("call paths", "FAIL", e.to_string());
            lab_ok = false;
        }
        Ok(Some(lab)) => {
            let outcomes = lab.run_all();
            lab_rows = vdso_lab::live::lab::rows(&outcomes);
            let bad: Vec<String> = lab_rows
                .iter()
                .filter(|r| {
                    !r.expected_to_fail
                        && !r.verdict.agrees()
                        && r.verdict != vdso_lab::verify::Verdict::NotExercised
                })
                .map(|r| format!("{} {}: {}", r.path.name(), r.func.name(), r.verdict))
                .collect();
            let reproduced = vdso_lab::live::lab::stale_reproduced(&lab_rows);
            lab_ok = bad.is_empty() && reproduced != Some(false);
            row(
                "call paths",
                if bad.is_empty() { "ok" } else { "FAIL" },
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
            if !proxied_images.is_empty() {
                row(
                    "other kernels",
                    "ok",
                    format!(
                        "images proxied onto this kernel and called through: {}",
                        proxied_images.join(", ")
                    ),
                );
            }
            if !lab.not_exercised.is_empty() {
                row(
                    "not exercised",
                    "note",
                    format!(
                        "exported but not called by any experiment: {}",
                        lab.not_exercised.join(", ")
                    ),
                );
            }
            row(
                "seed bug (stale)",
                match reproduced {
                    Some(true) => "ok",
                    Some(false) => "FAIL",
                    None => "skipped",
                },
                match reproduced {
                    Some(true) => "reproduced: time() through the unredirected entry read the zeroed data pages".into(),
                    Some(false) => "not reproduced: the stale entry agreed with the syscall".into(),
                    None => "no stale path on this architecture".into(),
                },
            );
        }
    }
    if let Ok(Some(lab)) = &lab {
        match lab.timens_supported() {
            Err(why) => row("time namespaces", "skipped", why),
            Ok(()) => {
                let outcomes = lab.run_timens_all();
                let trows = vdso_lab::live::lab::rows(&outcomes);
                let bad: Vec<String> = trows
                    .iter()
                    .filter(|r| {
                        !r.verdict.agrees() && r.verdict != vdso_lab::verify::Verdict::NotExercised
                    })
                    .map(|r| format!("{} {}: {}", r.path.name(), r.func.name(), r.verdict))
                    .collect();
                lab_ok &= bad.is_empty();
                row(
                    "time namespaces",
                    if bad.is_empty() { "ok" } else { "FAIL" },
                    if bad.is_empty() {
                        format!(
                            "{} experiments in a new time namespace (monotonic +10 d, boottime +20 d): every path honours the offsets like the syscall",
                            outcomes.len()
                        )
                    } else {
                        bad.join("; ")
                    },
                );
                lab_rows.extend(trows);
            }
        }
    }
    let ok = rows.iter().all(|r| r.verdict != "FAIL") && lab_ok;
    if json {
        let v = serde_json::json!({
            "schema": "vdso-lab.check.v1",
            "ok": ok,
            "checks": rows.iter().map(|r| serde_json::json!({"what": r.what, "verdict": r.verdict, "detail": r.detail})).collect::<Vec<_>>(),
            "paths": lab_rows,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
        return Ok(ok);
    }
    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    for r in &rows {
        println!("{:<w$}  {:<8} {}", r.what, r.verdict, r.detail);
    }
    if !lab_rows.is_empty() {
        println!();
        println!(
            "{:<18} {:<14} {:>8} {:>8}  verdict (worst over clocks)",
            "path", "function", "clocks", "samples"
        );
        for r in &lab_rows {
            let note = if r.expected_to_fail {
                if r.verdict.agrees() {
                    "  (stale entry, expected to fail)"
                } else {
                    "  (expected: the seed bug)"
                }
            } else {
                ""
            };
            println!(
                "{:<18} {:<14} {:>8} {:>8}  {}{note}",
                if r.timens {
                    format!("{}+timens", r.path.name())
                } else {
                    r.path.name()
                },
                r.func.name(),
                if r.clocks > 0 {
                    r.clocks.to_string()
                } else {
                    "-".into()
                },
                r.samples,
                r.verdict
            );
        }
    }
    println!(
        "\n{}",
        if ok {
            "check: ok — every restored call path agrees with the kernel, and the stale one shows the seed bug"
        } else {
            "check: FAILED (see above)"
        }
    );
    Ok(ok)
}

fn replay(dir: &Path) -> Result<bool, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut ok = true;
    println!(
        "{:<12} {:<34} {:>7} {:>7} {:>7} {:>9} {:>7}",
        "target", "folder", "inputs", "checked", "vacuous", "rejected", "failed"
    );
    for t in TARGETS {
        let mut total = fuzzing::Replay::default();
        for sub in [PathBuf::from(t.name), Path::new("regressions").join(t.name)] {
            let r = fuzzing::replay_dir(t, &dir.join(&sub))
                .map_err(|e| format!("{}: {e}", dir.join(&sub).display()))?;
            println!(
                "{:<12} {:<34} {:>7} {:>7} {:>7} {:>9} {:>7}",
                t.name,
                sub.display(),
                r.inputs,
                r.checked,
                r.vacuous,
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
            total.absorb(r);
        }
        if let Some(why) = total.vacuous_run() {
            ok = false;
            println!("  FAILED {}: {why}", t.name);
        }
    }
    Ok(ok)
}

fn policy_named(name: &str) -> Result<&'static vdso_lab::policy::Policy, String> {
    vdso_lab::policy::by_name(name).ok_or_else(|| {
        let names: Vec<&str> = vdso_lab::policy::ALL.iter().map(|p| p.name).collect();
        format!("unknown policy `{name}` (known: {})", names.join(", "))
    })
}

/// An image argument: a file, or `live`; with the live layout for `live`.
fn load_side(arg: &str) -> Result<(Vec<u8>, Option<vdso_lab::layout::Layout>), String> {
    if arg == "live" {
        let l = live::read()
            .map_err(|e| e.to_string())?
            .ok_or("this process has no vDSO (AT_SYSINFO_EHDR is 0)")?;
        Ok((l.bytes, Some(l.layout)))
    } else {
        Ok((read_input(Path::new(arg))?, None))
    }
}

/// A `--*-layout` argument: an era name, or a /proc/PID/maps file.
fn layout_arg(arg: &str, img: &Image, base: u64) -> Result<vdso_lab::layout::Layout, String> {
    use vdso_lab::layout::{Era, Layout};
    if let Some(era) = Era::by_name(arg) {
        let x86 = matches!(
            vdso_lab::arch::Arch::of(img),
            Some(
                vdso_lab::arch::Arch::X86_64
                    | vdso_lab::arch::Arch::I386
                    | vdso_lab::arch::Arch::X32
            )
        );
        let pages = (img.bytes().len() as u64).div_ceil(4096);
        return Ok(era.layout(base, pages, x86));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| {
        let eras: Vec<&str> = Era::ALL.iter().map(|e| e.name()).collect();
        format!(
            "layout `{arg}` is neither an era ({}) nor a readable maps file: {e}",
            eras.join(", ")
        )
    })?;
    let l = Layout::from_maps(&text).map_err(|e| format!("{arg}: {e}"))?;
    if l.get(Role::Vdso).is_none() {
        return Err(format!("{arg}: no [vdso] line"));
    }
    Ok(l)
}

/// The layout of one side of `plan`: an explicit `--*-layout`, else the live layout, else the preset.
fn side_layout(
    img: &Image,
    arg: Option<&str>,
    live: Option<vdso_lab::layout::Layout>,
    base: u64,
) -> Result<vdso_lab::layout::Layout, String> {
    match (arg, live) {
        (Some(a), _) => layout_arg(a, img, base),
        (None, Some(l)) => Ok(l),
        (None, None) => Ok(vdso_lab::plan::Side::preset(img, base).layout),
    }
}

fn plan_cmd(
    dumped: &str,
    runtime: &str,
    policy: &str,
    dumped_layout: Option<&str>,
    runtime_layout: Option<&str>,
    json: bool,
) -> Result<bool, String> {
    use vdso_lab::plan::{default_bases, plan, Side};
    let policy = policy_named(policy)?;
    let (db, dlive) = load_side(dumped)?;
    let (rb, rlive) = load_side(runtime)?;
    let di = Image::parse(&db).map_err(|e| format!("{dumped}: not a valid vDSO image: {e}"))?;
    let ri = Image::parse(&rb).map_err(|e| format!("{runtime}: not a valid vDSO image: {e}"))?;
    let (d0, r0) = default_bases(vdso_lab::arch::Arch::of(&di));
    let dl = side_layout(&di, dumped_layout, dlive, d0)?;
    let dstart = dl.get(Role::Vdso).map_or(d0, |m| m.start);
    let rl = side_layout(&ri, runtime_layout, rlive, dstart.wrapping_add(r0 - d0))?;
    let p = plan(
        &Side {
            image: &di,
            layout: dl,
        },
        &Side {
            image: &ri,
            layout: rl,
        },
        policy,
    );
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&p).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", vdso_lab::report::plan_text(&p, dstart));
    }
    Ok(p.errors() == 0 && p.decision != vdso_lab::plan::Decision::Refused)
}

fn matrix_cmd(
    dirs: &[PathBuf],
    policy: &str,
    json: bool,
    svg: Option<&Path>,
) -> Result<bool, String> {
    use vdso_lab::matrix::{Entry, Matrix};
    let policy = policy_named(policy)?;
    let mut entries = Vec::new();
    for d in dirs {
        if d.as_os_str() == "live" {
            let l = live::read()
                .map_err(|e| e.to_string())?
                .ok_or("this process has no vDSO (AT_SYSINFO_EHDR is 0)")?;
            entries.push(Entry {
                name: "live".into(),
                bytes: l.bytes,
            });
            continue;
        }
        let rd = std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in rd {
            let p = e.map_err(|e| format!("{}: {e}", d.display()))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !p.is_file()
                || name.starts_with('.')
                || name.ends_with(".md")
                || name.ends_with(".tsv")
            {
                continue;
            }
            entries.push(Entry {
                name: name.trim_end_matches(".so").to_string(),
                bytes: read_input(&p)?,
            });
        }
    }
    let m = Matrix::build(&entries, policy);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", vdso_lab::report::matrix_text(&m));
    }
    if let Some(path) = svg {
        std::fs::write(path, vdso_lab::report::matrix_svg(&m))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(true)
}

/// `repro vdso01`: the seed incident end to end on the live kernel.
fn repro(scenario: &str) -> Result<bool, String> {
    use vdso_lab::live::lab::{CallPath, Lab, STALE_POLICY};
    if scenario != "vdso01" {
        return Err(format!("unknown scenario `{scenario}` (known: vdso01)"));
    }
    let lab = Lab::new()
        .map_err(|e| e.to_string())?
        .ok_or("skipped: this process has no vDSO")?;
    if !lab.paths().contains(&CallPath::Stale) {
        return Err(format!(
            "skipped: trampolines are not modelled for {}",
            lab.arch.map_or("this architecture", |a| a.name())
        ));
    }
    // CRIU's vdso01 compares libc time(NULL) with a direct call of the vDSO's __vdso_time, allowing 3 s.
    const CRIU_TOLERANCE: i64 = 3;
    let show = |label: &str, path: CallPath| -> Result<i64, String> {
        let (libc_time, _) = lab.time_via(path).map_err(|v| format!("{label}: {v}"))?;
        let (direct, _) = lab
            .time_via(CallPath::Direct)
            .map_err(|v| format!("direct: {v}"))?;
        let delta = (direct - libc_time).abs();
        println!("  time(NULL) through the restored image's __vdso_time entry: {libc_time}");
        println!("  __vdso_time called directly in the runtime vDSO:           {direct}");
        if delta > CRIU_TOLERANCE {
            println!("  |delta| = {delta} s > {CRIU_TOLERANCE} s: \"Delta is too big\" -- the test fails");
        } else {
            println!("  |delta| = {delta} s <= {CRIU_TOLERANCE} s: the test passes");
        }
        Ok(delta)
    };
    println!("vdso01 (CRIU zdtm static/vdso01, issue #2390) on this kernel\n");
    println!(
        "1. restored under {}:\n   {}",
        STALE_POLICY.name, STALE_POLICY.provenance
    );
    let bad = show("stale", CallPath::Stale)?;
    println!("\n2. restored under strict (every exported function redirected):");
    let good = show("proxied", CallPath::Proxied)?;
    println!(
        "\nWhat happened: the restorer proxied the dumped vDSO but did not know the entry time() goes\n\
         through, so that entry kept running the old kernel's code, which reads its clock data from\n\
         the [vvar] pages that restore brings back zero-filled; it returned 0. Redirecting every\n\
         exported function (strict) sends it to the running kernel's vDSO and the values agree."
    );
    let reproduced = bad > CRIU_TOLERANCE;
    let fixed = good <= CRIU_TOLERANCE;
    println!(
        "\nrepro vdso01: {} and {}",
        if reproduced {
            "reproduced"
        } else {
            "NOT reproduced"
        },
        if fixed {
            "fixed under strict"
        } else {
            "NOT fixed under strict"
        }
    );
    Ok(reproduced && fixed)
}

/// Largest kernel or package file `extract` reads (Debian kernel packages are up to ~150 MiB).
const MAX_KERNEL_FILE: u64 = 1 << 30;

fn extract_cmd(paths: &[PathBuf], out: &Path) -> Result<bool, String> {
    use std::io::Read;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut total = 0;
    for p in paths {
        let shown = p.display().to_string();
        let f = std::fs::File::open(p).map_err(|e| format!("cannot open {shown}: {e}"))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(format!("{shown} is a directory"));
        }
        let mut bytes = Vec::new();
        f.take(MAX_KERNEL_FILE)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        let found = vdso_lab::extract::extract(&bytes, &shown)?;
        if found.is_empty() {
            println!("{shown}: no vDSO image found");
        }
        for f in found {
            let dest = out.join(&f.name);
            std::fs::write(&dest, &f.bytes)
                .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
            println!(
                "{} ({} bytes, {}, release {}) from {}",
                dest.display(),
                f.bytes.len(),
                f.arch.map_or("unknown arch", |a| a.name()),
                f.release.as_deref().unwrap_or("unknown"),
                f.from
            );
            total += 1;
        }
    }
    Ok(total > 0)
}
