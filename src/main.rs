//! The `vdso-lab` command line: argument parsing and dispatch only; the work lives in the library.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vdso_lab::check::{self, CheckConfig, Host};
use vdso_lab::fuzzing;
use vdso_lab::image::Image;
use vdso_lab::inputs::{self, read_input};
use vdso_lab::report::{self, InspectReport};

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
        /// Also restore this kernel's and the corpus's images under this preset (proxy forced) and
        /// show what each entry really returns here, next to the plan's prediction.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Show what a vDSO image exports: soname, class, machine, ABI, hash tables, versions, symbols.
    /// Exits 1 when the hash tables disagree or there are warnings (symbols outside every PT_LOAD,
    /// an unterminated version chain); the report is printed either way.
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
    /// The same images through the real parsers (CRIU releases, musl), compared with ours.
    Parsers(vdso_lab::parsers::cli::Args),
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
    Plan(inputs::PlanArgs),
    /// Boot real kernels under QEMU with the lab as /init: check on each, then live vDSOs dumped on one
    /// kernel restored and called on another under strict and the CRIU presets.
    Kernels(vdso_lab::kernels::KernelsArgs),
    /// Plan every ordered pair of same-architecture images given as files or found in folders
    /// (checkpoint kernel x restore kernel; `live` adds this kernel's vDSO), as a grid per architecture.
    Matrix {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The restore policy: strict, strict-proxy, criu-3.19, criu-4.0, criu-4.1 (`vdso-lab policies`
        /// lists them with their provenance).
        #[arg(long, default_value = "strict")]
        policy: String,
        #[arg(long)]
        json: bool,
        /// Also write an SVG heatmap here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// A process for a checkpoint/restore tool: caches every vDSO entry like a libc, waits for SIGUSR1
    /// (SIGTERM with --zdtm), then checks every entry, clock and mapping (docs/victim-json.md).
    Victim(vdso_lab::victim::VictimArgs),
    /// The whole loop with a real CRIU: victim, criu dump, criu restore, signal, report, and the
    /// preset's prediction compared with what the victim saw.
    RestoreTest(vdso_lab::victim::restore::RestoreTestArgs),
}

fn main() -> ExitCode {
    // Inside a VM booted by `kernels`, this binary is the initramfs's /init, started with no arguments.
    if vdso_lab::live::init::is_pid1() && std::env::args().count() <= 1 {
        vdso_lab::kernels::guest_main();
    }
    vdso_lab::live::sigpipe_default();
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Check {
            corpus,
            json,
            policy,
        } => check_cmd(
            &corpus.unwrap_or_else(default_corpus),
            json,
            policy.as_deref(),
        ),
        Cmd::Inspect { file, live, json } => inspect(file.as_deref(), live, json),
        Cmd::Replay { dir } => replay(&dir.unwrap_or_else(default_corpus)),
        Cmd::Repro { scenario } => repro(&scenario),
        Cmd::Extract { paths, out } => extract_cmd(&paths, &out),
        Cmd::Parsers(args) => vdso_lab::parsers::cli::run(&args),
        Cmd::Policies => {
            let all = || {
                vdso_lab::policy::ALL
                    .into_iter()
                    .chain(vdso_lab::policy::MORE)
            };
            let w = all().map(|p| p.name.len()).max();
            for p in all() {
                println!("{:<w$}  {}", p.name, p.provenance, w = w.unwrap_or(0));
            }
            Ok(true)
        }
        Cmd::Plan(args) => plan_cmd(&args),
        Cmd::Kernels(args) => kernels_cmd(&args),
        Cmd::Matrix {
            dirs,
            policy,
            json,
            svg,
        } => matrix_cmd(&dirs, &policy, json, svg.as_deref()),
        Cmd::Victim(a) => vdso_lab::victim::run(&a),
        Cmd::RestoreTest(a) => vdso_lab::victim::restore::run(&a),
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

fn json<T: serde::Serialize>(v: &T) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn inspect(file: Option<&Path>, live_flag: bool, as_json: bool) -> Result<bool, String> {
    let (source, bytes, live_info) = if live_flag {
        let l = inputs::live_vdso()?;
        ("live".to_string(), l.bytes, Some((l.base, l.layout)))
    } else {
        let path = file.ok_or("give a FILE or --live")?;
        (path.display().to_string(), read_input(path)?, None)
    };
    let bytes = match vdso_lab::extract::image_in(&bytes) {
        Some((0, _)) | None => bytes,
        Some((at, b)) => {
            eprintln!("{source}: the vDSO image starts at +{at:#x} (a dump of a [vdso] mapping)");
            b.to_vec()
        }
    };
    let img = Image::parse(&bytes).map_err(|e| format!("{source}: not a valid vDSO image: {e}"))?;
    let report = InspectReport::new(&source, &img, live_info.as_ref().map(|(b, l)| (*b, l)))
        .map_err(|e| format!("{source}: not a valid vDSO image: {e}"))?;
    if as_json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.clean())
}

fn check_cmd(corpus: &Path, as_json: bool, policy: Option<&str>) -> Result<bool, String> {
    if !corpus.is_dir() {
        return Err(format!("{}: no such corpus folder", corpus.display()));
    }
    let cfg = CheckConfig {
        policy: policy.map(inputs::policy_named).transpose()?,
        ..CheckConfig::default()
    };
    let r = check::run(&Host::gather(corpus), &cfg);
    if as_json {
        // Through a `Value`, whose maps keep keys sorted: the schema's documented key order.
        json(&serde_json::to_value(&r).map_err(|e| e.to_string())?)?;
    } else {
        print!("{}", report::check_text(&r));
    }
    Ok(r.ok)
}

fn replay(dir: &Path) -> Result<bool, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let results = fuzzing::replay_corpus(dir)?;
    print!("{}", report::replay_text(&results));
    Ok(results.iter().all(|(_, _, r)| r.failures.is_empty())
        && report::replay_vacuous(&results).is_empty())
}

fn plan_cmd(req: &inputs::PlanArgs) -> Result<bool, String> {
    let (p, dstart, big) = inputs::plan_request(req)?;
    if req.json {
        json(&p)?;
    } else {
        print!("{}", report::plan_text(&p, dstart, big));
    }
    Ok(p.errors() == 0 && p.decision != vdso_lab::plan::Decision::Refused)
}

fn matrix_cmd(
    dirs: &[PathBuf],
    policy: &str,
    as_json: bool,
    svg: Option<&Path>,
) -> Result<bool, String> {
    let policy = inputs::policy_named(policy)?;
    let m = vdso_lab::matrix::Matrix::build(&inputs::matrix_entries(dirs)?, policy);
    if as_json {
        json(&m)?;
    } else {
        print!("{}", report::matrix_text(&m));
    }
    if let Some(path) = svg {
        std::fs::write(path, report::matrix_svg(&m))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(true)
}

/// `repro vdso01`: the seed incident end to end on the live kernel.
fn repro(scenario: &str) -> Result<bool, String> {
    if scenario != "vdso01" {
        return Err(format!("unknown scenario `{scenario}` (known: vdso01)"));
    }
    let lab = vdso_lab::live::lab::Lab::new()
        .map_err(|e| e.to_string())?
        .ok_or("skipped: this process has no vDSO")?;
    let r = check::repro_vdso01(&lab)?;
    print!("{}", report::vdso01_text(&r));
    Ok(r.reproduced_and_fixed())
}

fn extract_cmd(paths: &[PathBuf], out: &Path) -> Result<bool, String> {
    let found = vdso_lab::extract::extract_to(paths, out, |line| println!("{line}"))?;
    Ok(found > 0)
}

fn kernels_cmd(args: &vdso_lab::kernels::KernelsArgs) -> Result<bool, String> {
    let r = vdso_lab::kernels::run_args(args)?;
    if args.fetch_only {
        return Ok(true);
    }
    if let Some(path) = &args.html {
        std::fs::write(path, report::kernels_html(&r))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.json {
        json(&r)?;
    } else if args.ktap {
        print!("{}", report::kernels_ktap(&r));
    } else {
        print!("{}", report::kernels_text(&r));
    }
    Ok(r.ok())
}
