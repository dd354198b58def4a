//! `vdso-lab restore-test`: the whole loop with a real CRIU. Start the victim, `criu dump` it,
//! `criu restore` it (a shell job, detached), N times for `cycles:N`; signal it; collect its report;
//! optionally with CRIU's fault injection `CRIU_FAULT=127` (`FI_VDSO_TRAMPOLINES`, CRIU
//! criu/include/fault-injection.h:14 in 4.2.1), which makes the restorer proxy the vDSO with trampolines
//! even when it could remap it (criu/pie/restorer.c:1947-1948 passes it to `vdso_proxify`).
//!
//! Process plumbing: this process becomes a child subreaper, so the restored victim (orphaned when
//! `criu restore -d` exits) is re-parented to us and we can wait for it; the dumped victim (killed by
//! `criu dump`) is reaped before the restore, whose pid must be free (`Can't fork for PID: File exists`
//! otherwise).

use super::model::{self, Comparison};
use super::Scenario;
use crate::live::victim::{self as sys, Exit};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a victim may take to announce itself: it runs ~80 experiments in forked children first.
const READY_TIMEOUT_MS: u64 = 20_000;
/// How long the victim may take to verify after the signal (~80 experiments, a fresh exec).
const VERIFY_TIMEOUT_MS: u64 = 30_000;
/// How long a dumped (killed) victim may take to disappear from /proc.
const GONE_TIMEOUT_MS: u64 = 10_000;

/// `vdso-lab restore-test` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreTestArgs {
    /// The criu binary (ci/criu.sh builds target/criu/<ver>/criu).
    #[arg(long)]
    pub criu: PathBuf,
    /// A scenario (see `vdso-lab victim --help`), or `all`.
    #[arg(long, default_value = "plain")]
    pub scenario: String,
    /// Force CRIU's proxy (trampoline) path with its fault injection (CRIU_FAULT=127).
    #[arg(long)]
    pub force_proxy: bool,
    /// The preset that models this CRIU (default: from `criu --version`, criu-X.Y).
    #[arg(long)]
    pub policy: Option<String>,
    /// Also run CRIU's zdtm static/vdso01 binary (or any zdtm-protocol test: a wrapper running
    /// `vdso-lab victim --zdtm` works too) in the same mode, with the plain scenario, and report its
    /// verdict.
    #[arg(long)]
    pub vdso01: Option<PathBuf>,
    /// Where images, logs and reports go (default: target/restore-test).
    #[arg(long)]
    pub work: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// The record of expected findings (ci/criu-expected.tsv): exit 0 only when every run found
    /// exactly what is recorded for it (a restorer's known defect then does not fail CI; a change does).
    #[arg(long, conflicts_with = "record")]
    pub expect: Option<PathBuf>,
    /// Write what these runs found into this record file (runs of other releases, modes and scenarios
    /// already in it are kept, and so is the root cause recorded for a finding seen again).
    #[arg(long)]
    pub record: Option<PathBuf>,
}

/// One run: a scenario in one mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    /// `victim`, or `zdtm NAME` for a zdtm-protocol test binary (`zdtm vdso01`).
    pub subject: String,
    pub scenario: String,
    pub force_proxy: bool,
    pub criu_version: String,
    /// What went wrong in the loop itself (dump or restore failed, the victim died or hung); `None`
    /// when the victim reported.
    pub loop_error: Option<String>,
    /// How the restored victim exited.
    pub exit: Option<Exit>,
    /// Seconds per checkpoint/restore cycle (dump + reap + restore), and for the verification.
    pub cycle_secs: Vec<f64>,
    pub verify_secs: f64,
    /// The victim's report (docs/victim-json.md).
    pub report: Option<serde_json::Value>,
    /// Entry points the restorer got wrong (`name clock: verdict`), and mapping checks that failed.
    pub wrong: Vec<String>,
    pub right: usize,
    /// The preset's prediction, entry by entry, against the victim.
    pub model: Option<Comparison>,
    /// zdtm static/vdso01 in the same mode: `PASS`, `FAIL ...`, or why it did not run.
    pub vdso01: Option<String>,
    pub work: PathBuf,
}

/// `criu --version` → "4.2.1" (the line `Version: 4.2.1`).
pub fn criu_version(criu: &Path) -> Result<String, String> {
    let out = Command::new(criu)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", criu.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Version:")
                .map(|v| v.trim().to_string())
        })
        .ok_or_else(|| format!("{} --version printed no Version: line", criu.display()))
}

/// "4.2.1" → "criu-4.2".
pub fn preset_for(version: &str) -> String {
    let mut it = version.split('.');
    format!(
        "criu-{}.{}",
        it.next().unwrap_or("?"),
        it.next().unwrap_or("?")
    )
}

fn wait_file(path: &Path, ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn wait_gone(pid: u32, ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(ms);
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    while Instant::now() < deadline {
        if !proc_dir.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn criu(criu: &Path, args: &[&str], dir: &Path, fault: bool) -> Result<(), String> {
    let mut c = Command::new(criu);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if fault {
        c.env("CRIU_FAULT", "127");
    } else {
        c.env_remove("CRIU_FAULT");
    }
    let st = c
        .status()
        .map_err(|e| format!("cannot run {}: {e}", criu.display()))?;
    if st.success() {
        return Ok(());
    }
    let log = args
        .windows(2)
        .find(|w| w[0] == "-o")
        .map(|w| dir.join(w[1]));
    let tail = log
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("Error") || l.contains("rror ("))
                .take(3)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default();
    Err(format!("criu {} failed ({st}): {tail}", args[0]))
}

/// Dump and restore `pid` once; images in `dir`.
fn cycle(args: &RestoreTestArgs, pid: u32, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let d = dir.to_str().ok_or("work dir is not UTF-8")?;
    let t = pid.to_string();
    criu(
        &args.criu,
        &[
            "dump",
            "-t",
            &t,
            "-D",
            d,
            "--shell-job",
            "-v4",
            "-o",
            "dump.log",
        ],
        dir,
        false,
    )?;
    // criu dump kills the task; it is our child (or adopted), so reap it and let its pid go.
    let _ = sys::wait_child(pid, GONE_TIMEOUT_MS);
    if !wait_gone(pid, GONE_TIMEOUT_MS) {
        return Err(format!(
            "dumped pid {pid} still in /proc after {GONE_TIMEOUT_MS} ms"
        ));
    }
    criu(
        &args.criu,
        &[
            "restore",
            "-D",
            d,
            "--shell-job",
            "-d",
            "-v4",
            "-o",
            "restore.log",
        ],
        dir,
        args.force_proxy,
    )
}

/// Start the victim; its pid once it announced itself.
fn start_victim(scenario: Scenario, work: &Path, zdtm_bin: Option<&Path>) -> Result<u32, String> {
    let pidfile = work.join("victim.pid");
    let file = |n: &str| std::fs::File::create(work.join(n)).map_err(|e| e.to_string());
    let mut cmd = match zdtm_bin {
        Some(bin) => {
            let bin = bin
                .canonicalize()
                .map_err(|e| format!("{}: {e}", bin.display()))?;
            let mut c = Command::new(bin);
            c.arg(format!("--pidfile={}", pidfile.display()))
                .arg(format!("--outfile={}", work.join("vdso01.out").display()))
                .current_dir(work);
            c
        }
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let mut c = Command::new(exe);
            c.args([
                "victim",
                "--json",
                "--new-session",
                "--scenario",
                &scenario.name(),
            ])
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--out")
            .arg(work.join("report.json"));
            c
        }
    };
    let child = cmd
        .stdin(Stdio::null())
        .stdout(file("victim.out")?)
        .stderr(file("victim.err")?)
        .spawn()
        .map_err(|e| format!("cannot start the victim: {e}"))?;
    let spawned = child.id();
    if !wait_file(&pidfile, READY_TIMEOUT_MS) {
        let err = std::fs::read_to_string(work.join("victim.err")).unwrap_or_default();
        let _ = sys::kill(spawned, libc::SIGKILL);
        let _ = sys::wait_child(spawned, 1000);
        return Err(format!(
            "the victim did not announce itself: {}",
            err.trim()
        ));
    }
    let text = std::fs::read_to_string(&pidfile).map_err(|e| e.to_string())?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("bad pidfile {text:?}"))?;
    if pid != spawned {
        // A daemonizing victim (timens, zdtm): its parent exits once it is ready.
        let _ = sys::wait_child(spawned, READY_TIMEOUT_MS);
    }
    Ok(pid)
}

/// Run one scenario in one mode.
pub fn run_one(
    args: &RestoreTestArgs,
    scenario: Scenario,
    version: &str,
    zdtm_bin: Option<&Path>,
) -> Run {
    let mode = if args.force_proxy { "proxy" } else { "remap" };
    let tag = if zdtm_bin.is_some() {
        "vdso01".to_string()
    } else {
        scenario.name().replace(':', "-")
    };
    let base = args
        .work
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/restore-test"));
    let work = base
        .join(format!("criu-{version}"))
        .join(format!("{tag}-{mode}"));
    let mut run = Run {
        subject: match zdtm_bin {
            Some(b) => format!(
                "zdtm {}",
                b.file_stem().map_or("?".into(), |n| n.to_string_lossy())
            ),
            None => "victim".into(),
        },
        scenario: scenario.name(),
        force_proxy: args.force_proxy,
        criu_version: version.to_string(),
        loop_error: None,
        exit: None,
        cycle_secs: Vec::new(),
        verify_secs: 0.0,
        report: None,
        wrong: Vec::new(),
        right: 0,
        model: None,
        vdso01: None,
        work: work.clone(),
    };
    if let Err(e) = drive(args, scenario, zdtm_bin, &work, &mut run) {
        run.loop_error = Some(e);
    }
    run
}

fn drive(
    args: &RestoreTestArgs,
    scenario: Scenario,
    zdtm_bin: Option<&Path>,
    work: &Path,
    run: &mut Run,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let work = &work.canonicalize().map_err(|e| e.to_string())?;
    sys::set_child_subreaper()?;
    let pid = start_victim(scenario, work, zdtm_bin)?;
    let kill_victim = |e: String| {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::wait_child(pid, 1000);
        e
    };
    let n = scenario.cycles();
    for k in 0..n {
        let t0 = Instant::now();
        cycle(args, pid, &work.join(format!("img-{k}"))).map_err(kill_victim)?;
        run.cycle_secs.push(t0.elapsed().as_secs_f64());
        if k + 1 < n && zdtm_bin.is_none() {
            // Between restores: the victim records its mappings (drift check) and acknowledges.
            sys::kill(pid, libc::SIGUSR2).map_err(kill_victim)?;
            let ack = work.join("victim.pid.cycles");
            let want = (k + 1).to_string();
            let deadline = Instant::now() + Duration::from_millis(READY_TIMEOUT_MS);
            while std::fs::read_to_string(&ack).ok().as_deref() != Some(want.as_str()) {
                if Instant::now() > deadline {
                    return Err(kill_victim(format!(
                        "no acknowledgement of restore {}",
                        k + 1
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    let t0 = Instant::now();
    let sig = if zdtm_bin.is_some() {
        libc::SIGTERM
    } else {
        libc::SIGUSR1
    };
    sys::kill(pid, sig).map_err(|e| format!("signalling the restored victim: {e}"))?;
    run.exit = sys::wait_child(pid, VERIFY_TIMEOUT_MS);
    run.verify_secs = t0.elapsed().as_secs_f64();
    if run.exit.is_none() {
        return Err(kill_victim(format!(
            "the restored victim did not finish within {VERIFY_TIMEOUT_MS} ms"
        )));
    }
    if zdtm_bin.is_some() {
        let out = std::fs::read_to_string(work.join("vdso01.out"))
            .map_err(|e| format!("vdso01 wrote no outfile: {e}"))?;
        run.vdso01 = Some(zdtm_verdict(&out));
        return Ok(());
    }
    let text = std::fs::read_to_string(work.join("report.json")).map_err(|e| {
        format!(
            "the restored victim ({:?}) wrote no report: {e}",
            run.exit.unwrap_or(Exit::Code(-1))
        )
    })?;
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("report.json: {e}"))?;
    (run.right, run.wrong) = judge_report(&report);
    run.report = Some(report);
    Ok(())
}

/// `PASS`, or the zdtm output's FAIL lines. zdtm's `pass()` logs `PASS` through `test_msg`, which
/// prefixes `HH:MM:SS.mmm: PID: ` (CRIU 4.2.1 test/zdtm/lib/msg.c `test_msg`, zdtmtst.h:149).
pub fn zdtm_verdict(out: &str) -> String {
    if out
        .lines()
        .any(|l| l.trim() == "PASS" || l.trim_end().ends_with(": PASS"))
    {
        return "PASS".into();
    }
    let fails: Vec<&str> = out.lines().filter(|l| l.contains("FAIL")).collect();
    if fails.is_empty() {
        "FAIL (no PASS line)".into()
    } else {
        fails.join(" | ")
    }
}

/// (checks the restore got right, what it got wrong) from a victim report.
pub fn judge_report(report: &serde_json::Value) -> (usize, Vec<String>) {
    let mut right = 0;
    let mut wrong = Vec::new();
    let checks = ["entries", "libc"]
        .iter()
        .flat_map(|k| report[k].as_array().into_iter().flatten());
    for c in checks {
        match c["status"].as_str() {
            Some("agrees") => right += 1,
            Some("broken") => {
                let clock = c["clock"]
                    .as_i64()
                    .map(|k| format!(" {}", crate::live::lab::clock_name(k as i32)))
                    .unwrap_or_default();
                wrong.push(format!(
                    "{}{clock}: {}",
                    c["name"].as_str().unwrap_or("?"),
                    verdict_text(&c["after"])
                ));
            }
            _ => {}
        }
    }
    for m in report["mappings"].as_array().into_iter().flatten() {
        if m["ok"].as_bool() == Some(false) {
            wrong.push(format!(
                "mapping {}: {}",
                m["check"].as_str().unwrap_or("?"),
                m["detail"].as_str().unwrap_or("")
            ));
        }
    }
    (right, wrong)
}

/// A serialized [`crate::verify::Verdict`] as one word (and its number).
pub fn verdict_text(v: &serde_json::Value) -> String {
    let kind = v["verdict"].as_str().unwrap_or("?");
    match kind {
        "crashed" => format!("crashed (signal {})", v["signal"]),
        "mismatch" => format!("mismatch (syscall {}, path {})", v["expected"], v["got"]),
        "error" => format!("error ({})", v["ret"]),
        "out_of_bracket" => format!("out of bracket ({} ns)", v["delta"]),
        k => k.replace('_', " "),
    }
}

/// `vdso-lab restore-test`. `Ok(true)` when every run completed and the victim agreed.
pub fn run(args: &RestoreTestArgs) -> Result<bool, String> {
    let version = criu_version(&args.criu)?;
    let policy = args.policy.clone().unwrap_or_else(|| preset_for(&version));
    let scenarios: Vec<Scenario> = if args.scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        vec![Scenario::parse(&args.scenario)?]
    };
    let mut runs = Vec::new();
    for &s in &scenarios {
        let mut r = run_one(args, s, &version, None);
        r.model = model::unmodelled(s, &policy, args.force_proxy).or_else(|| {
            r.report
                .as_ref()
                .map(|rep| model::compare(rep, &policy, args.force_proxy))
        });
        runs.push(r);
    }
    if let Some(bin) = &args.vdso01 {
        runs.push(run_one(args, Scenario::Plain, &version, Some(bin)));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", render(&runs, &policy));
    }
    if let Some(path) = &args.record {
        super::expect::record(path, &runs)?;
        println!("recorded {} run(s) in {}", runs.len(), path.display());
        return Ok(true);
    }
    if let Some(path) = &args.expect {
        let (text, ok) = super::expect::check(path, &runs)?;
        print!("{text}");
        return Ok(ok);
    }
    Ok(runs.iter().all(|r| {
        r.loop_error.is_none()
            && r.wrong.is_empty()
            && r.vdso01.as_deref().is_none_or(|v| v == "PASS")
    }))
}

/// The text summary: per run, what the real restorer got right and wrong, and the model comparison.
pub fn render(runs: &[Run], policy: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for r in runs {
        let mode = if r.force_proxy {
            "forced proxy (CRIU_FAULT=127)"
        } else {
            "normal"
        };
        let what = format!("{} {}", r.subject, r.scenario);
        let _ = writeln!(s, "== criu {} | {what} | {mode}", r.criu_version);
        let cycles: Vec<String> = r.cycle_secs.iter().map(|t| format!("{t:.2}s")).collect();
        let _ = writeln!(
            s,
            "   cycles (dump+restore): [{}]; signal+verify {:.2}s; exit {:?}",
            cycles.join(", "),
            r.verify_secs,
            r.exit
        );
        if let Some(e) = &r.loop_error {
            let _ = writeln!(s, "   LOOP FAILED: {e}");
        }
        if let Some(v) = &r.vdso01 {
            let _ = writeln!(s, "   vdso01: {v}");
        }
        if r.report.is_some() {
            let _ = writeln!(s, "   right: {} checks; wrong: {}", r.right, r.wrong.len());
            for w in &r.wrong {
                let _ = writeln!(s, "     WRONG {w}");
            }
        }
        if let Some(m) = &r.model {
            let _ = write!(s, "{}", model::render(m, policy));
        }
        let _ = writeln!(s, "   logs and images: {}", r.work.display());
    }
    s
}
