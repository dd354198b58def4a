//! `vdso-lab kernels`: the live lab inside real kernels booted under QEMU, and vDSOs dumped live on one
//! kernel restored and called on another.
//!
//! Data flow. Each KERNEL argument resolves ([`resolve`]) to a bootable image: a bzImage/vmlinuz file, a
//! Debian kernel package (the kernel file is taken out of its data.tar), or a name from [`KNOWN`] that
//! is downloaded once, by exact package version, through a private apt configuration into the cache
//! (the machine's apt sources are never used). Round 1 boots every kernel × clocksource with an
//! initramfs ([`initramfs`]) holding the lab's own static binary as `/init` and `corpus/real`; inside,
//! [`guest_main`] (PID 1) mounts what it needs, runs `check` as a library call, dumps the live vDSO
//! (with the kernel's boot-time patching, which file images lack) and powers off. Results travel over
//! the serial console as single-line JSON records behind a marker. Round 2 boots each kernel B again
//! with the live vDSOs of the other kernels as its dumped images and runs `check --policy P` for
//! `strict` and every CRIU preset: each restore from A to B is called live and compared with the static
//! plan's prediction. With `--criu PATH`, rounds 3 and 4 migrate a real process with a real CRIU:
//! round 3 (sharing round 2's batch) dumps the victim on each kernel, round 4 restores each dump on the
//! neighbouring kernels and on its own, as a control ([`crate::migration`]). [`KernelsReport`] gathers
//! every round; `report::kernels_text` renders it.
//!
//! Boots run in parallel up to the number of cores (one TCG boot is single-threaded).

use crate::check::{CheckConfig, Host};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker in front of every record the guest prints on the serial console.
pub const MARK: &str = "VDSO-LAB-RECORD ";

/// A kernel this project knows how to fetch: a Debian cloud kernel (small, boots without modules).
#[derive(Debug, Clone, Copy)]
pub struct KnownKernel {
    pub name: &'static str,
    pub suite: &'static str,
    pub package: &'static str,
    /// Exact version: a new upload never changes what a name boots.
    pub version: &'static str,
}

/// The kernels `kernels` fetches by name: one per Debian release, 5.10 to 7.2, and experimental's 7.3
/// release candidate (amd64, cloud flavour).
pub const KNOWN: &[KnownKernel] = &[
    KnownKernel {
        name: "5.10",
        suite: "bullseye",
        package: "linux-image-5.10.0-32-cloud-amd64-unsigned",
        version: "5.10.223-1",
    },
    KnownKernel {
        name: "6.1",
        suite: "bookworm",
        package: "linux-image-6.1.0-50-cloud-amd64-unsigned",
        version: "6.1.176-1",
    },
    KnownKernel {
        name: "6.12",
        suite: "trixie",
        package: "linux-image-6.12.117+deb13-cloud-amd64-unsigned",
        version: "6.12.117-1",
    },
    KnownKernel {
        name: "7.2",
        suite: "sid",
        package: "linux-binary-unsigned-7.2.13+deb14-cloud-amd64",
        version: "7.2.13-1",
    },
    KnownKernel {
        name: "7.3",
        suite: "experimental",
        package: "linux-binary-unsigned-7.3-cloud-amd64",
        version: "7.3~rc7-1~exp1",
    },
];

/// The arguments of `vdso-lab kernels`.
#[derive(Debug, Clone, clap::Args)]
pub struct KernelsArgs {
    /// vmlinuz/bzImage files, Debian kernel .debs, or known names (5.10, 6.1, 6.12, 7.2, 7.3).
    #[arg(required = true)]
    pub kernels: Vec<String>,
    /// Clocksources, comma-separated (tsc: userspace clock reads; hpet: the syscall fallback).
    #[arg(long, default_value = "tsc")]
    pub clocksource: String,
    /// CPUs per VM.
    #[arg(long, default_value_t = 1)]
    pub smp: u32,
    #[arg(long)]
    pub json: bool,
    /// Print KTAP (the kernel selftests' format) instead of the table.
    #[arg(long, conflicts_with = "json")]
    pub ktap: bool,
    /// Also write the table as one self-contained HTML page to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Downloads, kernels and initramfs images (default: target/kernels).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// The static lab binary for /init (default: this one if static, else ci/build-static.sh's).
    #[arg(long)]
    pub lab: Option<PathBuf>,
    /// Skip the cross-kernel round.
    #[arg(long)]
    pub no_cross: bool,
    /// Only fetch and unpack the kernels into the cache, then stop.
    #[arg(long)]
    pub fetch_only: bool,
    /// Also migrate the victim with this (dynamically linked) criu between neighbouring kernels, in
    /// the order given and back, and from each kernel to itself (the control): dumped on A, restored
    /// on B (ci/criu.sh builds target/criu/<ver>/criu).
    #[arg(long)]
    pub criu: Option<PathBuf>,
    /// The restore modes for --criu, comma-separated: normal, proxy (CRIU_FAULT=127).
    #[arg(long, default_value = "normal,proxy")]
    pub criu_modes: String,
}

/// Resolve the arguments and run both rounds, with progress lines on stderr when it is a terminal
/// (or `CI` is set).
pub fn run_args(a: &KernelsArgs) -> Result<KernelsReport, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = a
        .cache
        .clone()
        .unwrap_or_else(|| root.join("target/kernels"));
    // Absolute: apt-get runs inside the cache folder, where a relative path in its configuration would
    // point somewhere else (seen: `--cache target/kernels` found no packages).
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let cache = cache
        .canonicalize()
        .map_err(|e| format!("{}: {e}", cache.display()))?;
    let kernels = a
        .kernels
        .iter()
        .map(|k| resolve(k, &cache))
        .collect::<Result<Vec<_>, _>>()?;
    if a.fetch_only {
        for k in &kernels {
            eprintln!("kernels: {} -> {}", k.label, k.image.display());
        }
        return Ok(KernelsReport {
            boots: Vec::new(),
            pairs: Vec::new(),
            criu: None,
            migrations: Vec::new(),
            criu_rseq: Vec::new(),
            seconds: 0.0,
        });
    }
    let criu = a
        .criu
        .as_deref()
        .map(|p| crate::migration::Guest::collect(p, &cache))
        .transpose()?;
    let criu_modes = a
        .criu_modes
        .split(',')
        .map(|m| match m.trim() {
            "normal" => Ok(false),
            "proxy" => Ok(true),
            x => Err(format!("--criu-modes: unknown mode {x:?} (normal, proxy)")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = KernelsConfig {
        clocksources: a.clocksource.split(',').map(String::from).collect(),
        smp: a.smp,
        lab_binary: lab_binary(a.lab.as_deref())?,
        real: root.join("corpus/real"),
        policies: if a.no_cross {
            Vec::new()
        } else {
            crate::policy::ALL
                .into_iter()
                .chain(crate::policy::MORE)
                .filter(|p| p.name != "strict-proxy")
                .collect()
        },
        // A TCG boot plus check takes 8-20 s here; three minutes is a hang.
        timeout: Duration::from_secs(180),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cache,
        criu,
        criu_modes,
    };
    let loud =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) || std::env::var_os("CI").is_some();
    let progress = |b: &BootResult| {
        if loud {
            eprintln!(
                "kernels: {} clocksource={} round {}: {:.1} s{}",
                b.kernel,
                b.clocksource,
                b.round,
                b.seconds,
                b.error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})"))
            );
        }
    };
    Ok(run(&kernels, &cfg, &progress))
}

/// A bootable kernel.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The name tables show (a known name, or the file's stem).
    pub label: String,
    pub image: PathBuf,
}

/// How `kernels` runs.
#[derive(Debug, Clone)]
pub struct KernelsConfig {
    /// Clocksources to boot each kernel with (`clocksource=` on the command line): `tsc` reads the
    /// clock in userspace, `hpet` forces the vDSO's syscall fallback.
    pub clocksources: Vec<String>,
    pub smp: u32,
    /// Downloads, extracted kernels and initramfs images.
    pub cache: PathBuf,
    /// The lab binary that becomes `/init` (statically linked).
    pub lab_binary: PathBuf,
    /// The `corpus/real` folder put into the initramfs.
    pub real: PathBuf,
    /// Run round 2 (cross-kernel restores) with these policies; empty: skip it.
    pub policies: Vec<&'static crate::policy::Policy>,
    /// Per boot.
    pub timeout: Duration,
    /// Parallel boots.
    pub jobs: usize,
    /// Rounds 3 and 4: CRIU in the guests, the victim migrated between neighbouring kernels.
    pub criu: Option<crate::migration::Guest>,
    /// Restore modes of round 4 (`true`: proxy forced).
    pub criu_modes: Vec<bool>,
}

/// Resolve a KERNEL argument: a known name, a `.deb`, or a kernel image file.
pub fn resolve(arg: &str, cache: &Path) -> Result<Kernel, String> {
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    if let Some(k) = KNOWN.iter().find(|k| k.name == arg) {
        let image = cache.join(format!("vmlinuz-{}", k.name));
        if !image.is_file() {
            let deb = fetch_known(k, cache)?;
            extract_kernel(&deb, &image)?;
        }
        return Ok(Kernel {
            label: k.name.to_string(),
            image,
        });
    }
    let path = Path::new(arg);
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| arg.to_string());
    if !path.is_file() {
        let names: Vec<&str> = KNOWN.iter().map(|k| k.name).collect();
        return Err(format!(
            "{arg}: neither a kernel file, a .deb, nor a known kernel ({})",
            names.join(", ")
        ));
    }
    if arg.ends_with(".deb") {
        let label = stem.trim_end_matches(".deb").to_string();
        let image = cache.join(format!("vmlinuz-{label}"));
        if !image.is_file() {
            extract_kernel(path, &image)?;
        }
        return Ok(Kernel { label, image });
    }
    Ok(Kernel {
        label: stem,
        image: path.to_path_buf(),
    })
}

/// Take the kernel file out of a Debian package.
fn extract_kernel(deb: &Path, out: &Path) -> Result<(), String> {
    let bytes = crate::inputs::read_bounded(deb, crate::inputs::MAX_KERNEL_FILE)?;
    let mut found = None;
    crate::extract::deb_kernel_files(&bytes, &deb.display().to_string(), |path, k| {
        if found.is_none()
            && path
                .rsplit('/')
                .next()
                .is_some_and(|b| b.starts_with("vmlinuz"))
        {
            found = Some(k);
        }
    })?;
    let k = found.ok_or_else(|| format!("{}: no vmlinuz in the package", deb.display()))?;
    std::fs::write(out, k).map_err(|e| format!("{}: {e}", out.display()))
}

/// Download a known kernel's package (once) through a private apt configuration under the cache.
fn fetch_known(k: &KnownKernel, cache: &Path) -> Result<PathBuf, String> {
    let deb = cache.join(format!(
        "{}_{}_amd64.deb",
        k.package,
        k.version.replace(':', "%3a")
    ));
    if deb.is_file() {
        return Ok(deb);
    }
    let apt = cache.join("apt");
    for d in [
        "lists/partial",
        "archives/partial",
        "etc/apt.conf.d",
        "etc/preferences.d",
    ] {
        std::fs::create_dir_all(apt.join(d)).map_err(|e| format!("{}: {e}", apt.display()))?;
    }
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let mut suites: Vec<&str> = KNOWN.iter().map(|k| k.suite).collect();
    suites.dedup();
    let sources: String = suites
        .iter()
        .map(|s| {
            format!("deb [arch=amd64 signed-by={keyring}] http://deb.debian.org/debian {s} main\n")
        })
        .collect();
    // A cache made when fewer suites were known is refreshed, not trusted.
    let list = apt.join("sources.list");
    let changed = std::fs::read_to_string(&list).ok().as_deref() != Some(sources.as_str());
    std::fs::write(&list, sources).map_err(|e| e.to_string())?;
    let a = apt.display();
    let conf = format!(
        "Dir::State \"{a}\";\nDir::State::Lists \"{a}/lists\";\nDir::State::status \"/dev/null\";\n\
         Dir::Cache \"{a}\";\nDir::Cache::archives \"{a}/archives\";\nDir::Etc::SourceList \"{a}/sources.list\";\n\
         Dir::Etc::SourceParts \"{a}/nonexistent\";\nDir::Etc::Parts \"{a}/etc/apt.conf.d\";\n\
         Dir::Etc::PreferencesParts \"{a}/etc/preferences.d\";\nAPT::Architectures {{ \"amd64\"; }};\n\
         Acquire::Languages \"none\";\nAcquire::Check-Valid-Until \"false\";\n"
    );
    std::fs::write(apt.join("apt.conf"), conf).map_err(|e| e.to_string())?;
    let apt_get = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("apt-get")
            .args(args)
            .env("APT_CONFIG", apt.join("apt.conf"))
            .current_dir(cache)
            .output()
            .map_err(|e| format!("apt-get: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!(
                "apt-get {}: {}",
                args.join(" "),
                err.lines().last().unwrap_or("failed")
            ))
        }
    };
    if changed
        || !apt
            .join("lists")
            .read_dir()
            .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().is_file())))
    {
        eprintln!("kernels: apt-get update (private configuration in {a})");
        // Some suites may be missing on a mirror; what arrived is still usable.
        let _ = apt_get(&["update"]);
    }
    eprintln!(
        "kernels: downloading {} {} ({})",
        k.package, k.version, k.suite
    );
    apt_get(&["download", &format!("{}={}", k.package, k.version)])?;
    if deb.is_file() {
        Ok(deb)
    } else {
        Err(format!("{}: not found after download", deb.display()))
    }
}

/// A gzip-compressed `newc` cpio archive: directories, then files, as (path, mode, bytes). The kernel
/// unpacks it as the initial root filesystem.
pub fn initramfs(entries: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut cpio = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    for (path, _, _) in entries {
        let mut p = String::new();
        for part in path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if part.is_empty() {
                continue;
            }
            p = if p.is_empty() {
                part.to_string()
            } else {
                format!("{p}/{part}")
            };
            if !dirs.contains(&p) {
                dirs.push(p.clone());
            }
        }
    }
    let mut ino = 1u32;
    let mut add = |cpio: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]| {
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        ino += 1;
        cpio.extend_from_slice(header.as_bytes());
        cpio.extend_from_slice(name.as_bytes());
        cpio.push(0);
        while cpio.len() % 4 != 0 {
            cpio.push(0);
        }
        cpio.extend_from_slice(data);
        while cpio.len() % 4 != 0 {
            cpio.push(0);
        }
    };
    for d in &dirs {
        add(&mut cpio, d, 0o040755, &[]);
    }
    for (path, mode, data) in entries {
        add(
            &mut cpio,
            path.trim_start_matches('/'),
            0o100000 | mode,
            data,
        );
    }
    add(&mut cpio, "TRAILER!!!", 0, &[]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(&cpio);
    gz.finish().unwrap_or_default()
}

/// One boot's job.
#[derive(Debug, Clone)]
pub struct Boot {
    pub kernel: Kernel,
    pub clocksource: String,
    /// Round 2: the live vDSOs of other kernels, by label, and the policies to restore them under.
    pub dumped: Vec<(String, Vec<u8>)>,
    pub policies: Vec<String>,
    /// Rounds 3 (dump) and 4 (restore): CRIU's job in this boot.
    pub criu: Option<crate::migration::Job>,
}

/// What one boot produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BootResult {
    pub kernel: String,
    pub clocksource: String,
    pub round: u8,
    pub seconds: f64,
    /// The guest's records (`kind`: `uname`, `vdso` (hex), `check` and `policy` (a `check --json`
    /// report under `report`), `latency`, `error`, `end`).
    pub records: Vec<Value>,
    /// The kernel release the guest reported.
    pub release: Option<String>,
    /// Why the boot produced no result (QEMU missing, timeout, no records).
    pub error: Option<String>,
    /// The last lines of the console, for a failed boot.
    pub console_tail: Vec<String>,
}

impl BootResult {
    /// The record of `kind` (and, for `policy`, of that policy).
    pub fn record(&self, kind: &str, policy: Option<&str>) -> Option<&Value> {
        self.records
            .iter()
            .find(|r| r["kind"] == kind && policy.is_none_or(|p| r["policy"] == p))
    }
}

/// Boot one kernel under QEMU with the lab as `/init` and collect its records.
pub fn boot(b: &Boot, cfg: &KernelsConfig) -> BootResult {
    let round = match (&b.criu, b.policies.is_empty()) {
        (Some(crate::migration::Job::Dump), _) => 3,
        (Some(crate::migration::Job::Restore(_)), _) => 4,
        (None, true) => 1,
        (None, false) => 2,
    };
    let mut r = BootResult {
        kernel: b.kernel.label.clone(),
        clocksource: b.clocksource.clone(),
        round,
        seconds: 0.0,
        records: Vec::new(),
        release: None,
        error: None,
        console_tail: Vec::new(),
    };
    let initrd = match write_initramfs(b, cfg, round) {
        Ok(p) => p,
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    let t0 = Instant::now();
    let child = Command::new("qemu-system-x86_64")
        .args([
            "-nographic",
            "-no-reboot",
            "-m",
            "512",
            "-cpu",
            "max",
            "-smp",
        ])
        .arg(cfg.smp.to_string())
        .arg("-kernel")
        .arg(&b.kernel.image)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(format!(
            // no_timer_check: under TCG on a loaded host the IO-APIC timer check can miss its window
            // and panic the boot ("IO-APIC + timer doesn't work!", seen with 6.1 and hpet).
            "console=ttyS0 quiet panic=-1 no_timer_check clocksource={}",
            b.clocksource
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            r.error = Some(format!(
                "cannot run qemu-system-x86_64 ({e}); install it: apt-get install qemu-system-x86"
            ));
            return r;
        }
    };
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        if let Some(out) = stdout {
            for line in BufReader::new(out).split(b'\n').map_while(Result::ok) {
                lines.push(
                    String::from_utf8_lossy(&line)
                        .trim_end_matches('\r')
                        .to_string(),
                );
            }
        }
        lines
    });
    let deadline = t0 + cfg.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    r.seconds = t0.elapsed().as_secs_f64();
    let lines = reader.join().unwrap_or_default();
    for l in &lines {
        if let Some(rest) = l.find(MARK).map(|i| &l[i + MARK.len()..]) {
            if let Ok(v) = serde_json::from_str::<Value>(rest) {
                r.records.push(v);
            }
        }
    }
    r.release = r
        .record("uname", None)
        .and_then(|v| v["release"].as_str())
        .map(String::from);
    if status.is_none() {
        r.error = Some(format!("timed out after {} s", cfg.timeout.as_secs()));
    } else if r.record("end", None).is_none() {
        r.error = Some("the guest did not finish (no end record)".into());
    }
    if r.error.is_some() {
        r.console_tail = lines.iter().rev().take(15).rev().cloned().collect();
    }
    r
}

fn write_initramfs(b: &Boot, cfg: &KernelsConfig, round: u8) -> Result<PathBuf, String> {
    let lab = std::fs::read(&cfg.lab_binary).map_err(|e| {
        format!(
            "{}: {e} (build the static lab with ci/build-static.sh)",
            cfg.lab_binary.display()
        )
    })?;
    let mut entries = vec![("init".to_string(), 0o755, lab)];
    for img in crate::corpus::real_images(&cfg.real)? {
        entries.push((format!("corpus/real/{}", img.entry.file), 0o644, img.bytes));
    }
    let manifest = std::fs::read(cfg.real.join("MANIFEST.tsv")).map_err(|e| e.to_string())?;
    entries.push(("corpus/real/MANIFEST.tsv".into(), 0o644, manifest));
    for (name, bytes) in &b.dumped {
        entries.push((format!("dumped/{name}.so"), 0o644, bytes.clone()));
    }
    let mut conf = format!(
        "label {}\nclocksource {}\n{}",
        b.kernel.label,
        b.clocksource,
        b.policies
            .iter()
            .map(|p| format!("policy {p}\n"))
            .collect::<String>()
    );
    if let (Some(job), Some(guest)) = (&b.criu, &cfg.criu) {
        let (more, lines) = job.entries(guest);
        entries.extend(more);
        conf.push_str(&lines);
    }
    entries.push(("vdso-lab/conf".into(), 0o644, conf.into_bytes()));
    let path = cfg.cache.join(format!(
        "initrd-{}-{}-r{round}.cpio.gz",
        b.kernel.label, b.clocksource
    ));
    std::fs::write(&path, initramfs(&entries)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Both rounds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelsReport {
    pub boots: Vec<BootResult>,
    /// Round 2: one row per (dumped on A, restored on B, policy).
    pub pairs: Vec<PairRow>,
    /// Rounds 3 and 4: the CRIU release (`4.2.1`) and its preset, when `--criu` was given.
    pub criu: Option<(String, String)>,
    /// Rounds 3 and 4: one row per (dumped on A, restored on B, mode).
    pub migrations: Vec<crate::migration::Migration>,
    /// Round 3: per kernel, whether CRIU dumps a victim with glibc's rseq on (the pairs' victims run
    /// with it off): `dumps` or `CRIU refuses: ...`.
    pub criu_rseq: Vec<(String, String)>,
    pub seconds: f64,
}

/// A live restore from kernel A to kernel B under a policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PairRow {
    pub dumped: String,
    pub runtime: String,
    pub policy: String,
    /// `refused (why)`, `agrees`, `N wrong, as predicted`, or `N wrong NOT predicted`.
    pub outcome: String,
    /// Functions that returned wrong answers.
    pub wrong: Vec<String>,
    /// Wrong answers the static plan did not predict: a disagreement between model and reality.
    pub unpredicted: Vec<String>,
    /// Entries the plan left stale that still agreed.
    pub stale_but_agreed: Vec<String>,
}

impl KernelsReport {
    /// Every boot finished, every round-1 check passed, and no live restore disagreed with its plan
    /// (strict never returns a wrong answer where it does not refuse).
    pub fn ok(&self) -> bool {
        self.boots.iter().all(|b| {
            b.error.is_none()
                && b.record("check", None)
                    .is_none_or(|c| c["report"]["ok"] == true)
        }) && self
            .pairs
            .iter()
            .all(|p| p.unpredicted.is_empty() && (p.policy != "strict" || p.wrong.is_empty()))
            && self
                .migrations
                .iter()
                .all(|m| !m.failed && m.preset_wrong() == 0)
    }
}

/// Run `f` over `items` on up to `jobs` threads, results in input order.
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut slot) = out[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

/// Boot every kernel (round 1), then, with two or more kernels and policies, round 2.
pub fn run(
    kernels: &[Kernel],
    cfg: &KernelsConfig,
    progress: &(dyn Fn(&BootResult) + Sync),
) -> KernelsReport {
    let t0 = Instant::now();
    let round1: Vec<Boot> = kernels
        .iter()
        .flat_map(|k| {
            cfg.clocksources.iter().map(|cs| Boot {
                kernel: k.clone(),
                clocksource: cs.clone(),
                dumped: Vec::new(),
                policies: Vec::new(),
                criu: None,
            })
        })
        .collect();
    let mut boots = parallel(&round1, cfg.jobs, |b| {
        let r = boot(b, cfg);
        progress(&r);
        r
    });
    let live = live_images(&boots);
    let mut pairs = Vec::new();
    let first_cs = cfg
        .clocksources
        .first()
        .cloned()
        .unwrap_or_else(|| "tsc".into());
    let labels: Vec<String> = kernels.iter().map(|k| k.label.clone()).collect();
    let migrate = crate::migration::pairs_with_controls(&labels);
    // Round 3 (the dump boots) needs nothing from round 2 and shares its batch.
    let dump_boots: Vec<Boot> = match &cfg.criu {
        Some(_) => kernels
            .iter()
            .filter(|k| migrate.iter().any(|(a, _)| *a == k.label))
            .map(|k| Boot {
                kernel: k.clone(),
                clocksource: first_cs.clone(),
                dumped: Vec::new(),
                policies: Vec::new(),
                criu: Some(crate::migration::Job::Dump),
            })
            .collect(),
        None => Vec::new(),
    };
    let mut batch = dump_boots;
    if kernels.len() >= 2 && !cfg.policies.is_empty() {
        let round2: Vec<Boot> = kernels
            .iter()
            .map(|k| Boot {
                kernel: k.clone(),
                clocksource: first_cs.clone(),
                dumped: live
                    .iter()
                    .filter(|(n, _)| *n != k.label)
                    .cloned()
                    .collect(),
                policies: cfg.policies.iter().map(|p| p.name.to_string()).collect(),
                criu: None,
            })
            .collect();
        batch.extend(round2);
    }
    let results = parallel(&batch, cfg.jobs, |b| {
        let r = boot(b, cfg);
        progress(&r);
        r
    });
    for r in results.iter().filter(|r| r.round == 2) {
        for p in &cfg.policies {
            pairs.extend(pair_rows(r, p.name));
        }
    }
    boots.extend(results);
    let mut migrations = Vec::new();
    let mut criu_rseq = Vec::new();
    if let Some(guest) = &cfg.criu {
        let dumps: Vec<BootResult> = boots.iter().filter(|b| b.round == 3).cloned().collect();
        criu_rseq = crate::migration::rseq_probes(&dumps);
        let restore_boots = restore_boots(kernels, &migrate, &dumps, cfg, &first_cs);
        let restores = parallel(&restore_boots, cfg.jobs, |b| {
            let r = boot(b, cfg);
            progress(&r);
            r
        });
        migrations =
            crate::migration::rows(&migrate, &cfg.criu_modes, &dumps, &restores, &guest.preset);
        boots.extend(restores);
        keep_criu_images(&mut boots, &cfg.cache);
    }
    KernelsReport {
        boots,
        pairs,
        criu: cfg
            .criu
            .as_ref()
            .map(|g| (g.version.clone(), g.preset.clone())),
        migrations,
        criu_rseq,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// The live vDSO of each kernel, from its first successful boot.
fn live_images(boots: &[BootResult]) -> Vec<(String, Vec<u8>)> {
    let mut live: Vec<(String, Vec<u8>)> = Vec::new();
    for b in boots {
        if live.iter().any(|(n, _)| *n == b.kernel) {
            continue;
        }
        if let Some(bytes) = b
            .record("vdso", None)
            .and_then(|v| v["hex"].as_str())
            .and_then(unhex)
        {
            live.push((b.kernel.clone(), bytes));
        }
    }
    live
}

/// Round 4: each kernel B restores every victim dumped on a neighbour A (`migrate`'s pairs).
fn restore_boots(
    kernels: &[Kernel],
    migrate: &[(String, String)],
    dumps: &[BootResult],
    cfg: &KernelsConfig,
    clocksource: &str,
) -> Vec<Boot> {
    kernels
        .iter()
        .filter_map(|k| {
            let carried: Vec<crate::migration::Carried> = migrate
                .iter()
                .filter(|(_, b)| *b == k.label)
                .filter_map(|(a, _)| {
                    let rec = dumps
                        .iter()
                        .find(|d| d.kernel == *a)?
                        .record("criu_dump", None)?;
                    let (pid, images) = crate::migration::images_of(rec).ok()?;
                    Some(crate::migration::Carried {
                        from: a.clone(),
                        pid,
                        images,
                        modes: cfg.criu_modes.clone(),
                    })
                })
                .collect();
            (!carried.is_empty()).then(|| Boot {
                kernel: k.clone(),
                clocksource: clocksource.to_string(),
                dumped: Vec::new(),
                policies: Vec::new(),
                criu: Some(crate::migration::Job::Restore(carried)),
            })
        })
        .collect()
}

/// The CRIU images of the dump boots go to the cache for `crit` (`<cache>/criu-images/<A>/`), not
/// into the report, where their hex would be most of it.
fn keep_criu_images(boots: &mut [BootResult], cache: &Path) {
    for b in boots.iter_mut().filter(|b| b.round == 3) {
        for r in b.records.iter_mut().filter(|r| r["kind"] == "criu_dump") {
            if let Ok((_, images)) = crate::migration::images_of(r) {
                let dir = cache.join("criu-images").join(&b.kernel);
                let _ = std::fs::remove_dir_all(&dir);
                if std::fs::create_dir_all(&dir).is_ok() {
                    for (name, bytes) in images {
                        let _ = std::fs::write(dir.join(name), bytes);
                    }
                }
            }
            if let Some(o) = r.as_object_mut() {
                o.remove("hex");
            }
        }
    }
}

/// The pair rows of one round-2 boot (runtime B) for one policy, from its `check --policy` report.
fn pair_rows(b: &BootResult, policy: &str) -> Vec<PairRow> {
    let Some(rep) = b.record("policy", Some(policy)).map(|v| &v["report"]) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for src in rep["presets"].as_array().into_iter().flatten() {
        let dumped = src["source"].as_str().unwrap_or("?").to_string();
        if dumped == "this kernel" {
            continue;
        }
        let mut row = PairRow {
            dumped,
            runtime: b.kernel.clone(),
            policy: policy.to_string(),
            outcome: String::new(),
            wrong: Vec::new(),
            unpredicted: Vec::new(),
            stale_but_agreed: Vec::new(),
        };
        if let Some(why) = src["refused"].as_str() {
            let reason = why
                .split_once("the plan was refused (")
                .map_or(why, |(_, r)| r.strip_suffix(')').unwrap_or(r));
            row.outcome = format!("refused ({reason})");
            rows.push(row);
            continue;
        }
        let idx = src["path"].clone();
        for p in rep["paths"].as_array().into_iter().flatten() {
            if p["path"]["preset"] != idx || p["timens"] == true {
                continue;
            }
            let verdict = p["verdict"]["verdict"].as_str().unwrap_or("");
            if verdict == "not_exercised" {
                continue;
            }
            let f = p["func"].as_str().unwrap_or("?").to_string();
            let stale = p["expected_to_fail"] == true;
            match (verdict == "agrees", stale) {
                (false, true) => row.wrong.push(f),
                (false, false) => {
                    row.wrong.push(f.clone());
                    row.unpredicted.push(f);
                }
                (true, true) => row.stale_but_agreed.push(f),
                (true, false) => {}
            }
        }
        row.outcome = match (row.wrong.len(), row.unpredicted.len()) {
            (0, _) => "agrees".into(),
            (n, 0) => format!("{n} wrong, as predicted"),
            (n, m) => format!("{n} wrong, {m} NOT predicted"),
        };
        rows.push(row);
    }
    rows
}

/// Hex text to bytes; `None` on anything else (odd length, a non-hex digit).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// One record on the console: the marker, then single-line JSON.
pub fn emit(v: &Value) {
    println!("{MARK}{v}");
}

/// `/init` inside the VM: mount, run `check` (round 1: over `corpus/real`; round 2: once per policy
/// over the images in `/dumped`), dump the live vDSO, power off. Never returns.
pub fn guest_main() -> ! {
    let errors = crate::live::init::mount_basics();
    for e in &errors {
        emit(&serde_json::json!({"kind": "error", "what": e}));
    }
    let conf = std::fs::read_to_string("/vdso-lab/conf").unwrap_or_default();
    let policies: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.strip_prefix("policy "))
        .collect();
    let criu_lines: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.strip_prefix("criu restore "))
        .collect();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    emit(&serde_json::json!({"kind": "uname", "release": release.trim()}));
    // The live vDSO and `corpus/real`, read once, as `check` itself reads them.
    let mut host = Host::gather(Path::new("/corpus"));
    if let Ok(Some(l)) = &host.live {
        let hex: String = l.bytes.iter().map(|b| format!("{b:02x}")).collect();
        emit(&serde_json::json!({"kind": "vdso", "hex": hex}));
    }
    if conf.lines().any(|l| l == "criu dump") {
        crate::migration::guest_dump();
    } else if !criu_lines.is_empty() {
        crate::migration::guest_restore(&criu_lines);
    } else if policies.is_empty() {
        let r = crate::check::run(
            &host,
            &CheckConfig {
                no_replay: true,
                policy: None,
            },
        );
        emit(&serde_json::json!({"kind": "check", "report": r}));
        // ns per clock_gettime(CLOCK_MONOTONIC) through the vDSO and through the syscall: a second,
        // independent sign of which way the vDSO reads the clock (the fallback costs a syscall).
        if let Ok(Some(l)) = &host.live {
            if let Ok(lab) = crate::live::lab::Lab::on(l.clone()) {
                use crate::live::lab::CallPath;
                let ns = |p| lab.latency(p, 20_000).ok();
                emit(&serde_json::json!({"kind": "latency",
                    "direct_ns": ns(CallPath::Direct), "syscall_ns": ns(CallPath::Syscall)}));
            }
        }
    } else {
        let mut dumped: Vec<(String, Vec<u8>)> = std::fs::read_dir("/dumped")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                Some((
                    p.file_stem()?.to_string_lossy().into_owned(),
                    std::fs::read(&p).ok()?,
                ))
            })
            .collect();
        dumped.sort();
        // Round 2 restores the other kernels' live vDSOs, not corpus/real.
        host.kernels = Ok(dumped);
        for name in policies {
            let Some(p) = crate::policy::by_name(name) else {
                emit(
                    &serde_json::json!({"kind": "error", "what": format!("unknown policy {name}")}),
                );
                continue;
            };
            let r = crate::check::run(
                &host,
                &CheckConfig {
                    no_replay: true,
                    policy: Some(p),
                },
            );
            emit(&serde_json::json!({"kind": "policy", "policy": name, "report": r}));
        }
    }
    emit(&serde_json::json!({"kind": "end"}));
    crate::live::init::power_off(0)
}

/// Is the ELF file at `path` statically linked (no PT_INTERP)? The guest has no dynamic loader.
pub fn is_static(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else {
        return false;
    };
    elf.interpreter.is_none()
}

/// The lab binary to put into the initramfs: `explicit`, else this executable when it is static, else
/// the static build `ci/build-static.sh` makes.
pub fn lab_binary(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if is_static(p) {
            Ok(p.to_path_buf())
        } else {
            Err(format!("{} is not statically linked", p.display()))
        };
    }
    if let Ok(me) = std::env::current_exe() {
        if is_static(&me) {
            return Ok(me);
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/x86_64-unknown-linux-gnu/release/vdso-lab");
    if is_static(&built) {
        return Ok(built);
    }
    Err(format!(
        "this vdso-lab is dynamically linked and {} does not exist or is not static: run ci/build-static.sh \
         (RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu)",
        built.display()
    ))
}
