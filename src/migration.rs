//! `vdso-lab kernels --criu PATH`: real CRIU migrations across kernels. The victim is dumped by a real
//! CRIU on kernel A, its images are carried to kernel B, restored there by the same CRIU, and what the
//! victim then sees is compared with the static prediction of the CRIU release's preset for that pair
//! (A's live vDSO dumped, B's live vDSO at runtime: [`model::compare_images`]).
//!
//! Data flow. [`Guest::collect`] gathers what CRIU needs inside a guest that has nothing but the lab:
//! the `criu` binary, every library `ldd` lists with the loader, and `cat` (the victim reads a fresh
//! process's maps with it). A *dump boot* of A ([`guest_dump`]) starts the victim, `criu dump`s it into
//! a tmpfs and sends the image files back over the serial console as one record (hex of a gzipped
//! tar: the console is the one device every Debian cloud kernel has built in; virtio-serial, 9p and
//! virtio-blk are modules in 5.10 and 6.1). The host unpacks them ([`images_of`], bounded, never
//! trusting the bytes) into the initramfs of a *restore boot* of B ([`guest_restore`]), which restores
//! each carried victim, normally and with proxying forced (`CRIU_FAULT=127`), signals it, and sends its
//! report back. [`rows`] turns both boots into one [`Migration`] per pair and mode. The pairs are
//! [`chain`]'s (each kernel to the next and back) and, as controls, each kernel to itself.
//!
//! Two things the guest does so that CRIU runs at all, both measured on these kernels with CRIU 4.2.1:
//! * `lo` is brought up (CRIU's feature probe connects to 127.0.0.1, [`crate::live::init::loopback_up`]);
//! * libnftables is replaced by a stand-in whose every command fails (`ci/guest/nftables-stub.c`):
//!   nf_tables is a module in these kernels, and the real library `exit()`s CRIU's probe child when
//!   its netlink socket cannot be opened (libnftables mnl.c:60, "Protocol not supported"), which
//!   fails CRIU's feature detection (criu/kerndat.c:1631-1646); a failing command is what CRIU reads as
//!   "no nftables" (criu/kerndat.c:1608-1612). The victim has no sockets, so nothing else uses it.
//!
//! And the victim runs with glibc's rseq registration off (`GLIBC_TUNABLES=glibc.pthread.rseq=0`):
//! CRIU refuses to dump a task with an rseq area on a kernel without `PTRACE_GET_RSEQ_CONFIGURATION`
//! (Linux < 5.13; "has rseq but kernel lacks get_rseq_conf feature", criu/cr-dump.c:228), seen on 5.10.
//! The tunable is set on every kernel so every pair runs the same victim. With rseq off, glibc's
//! `sched_getcpu` calls `__vdso_getcpu` instead of reading the rseq area.

use crate::kernels::{emit, BootResult};
use crate::live::victim::{self as sys, Exit};
use crate::victim::model::{self, Comparison};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pid the victim gets on the dump side: `ns_last_pid` is set just below it. A restore needs the
/// dumped pid free, and a fresh guest on B uses a few hundred at most.
const VICTIM_PID: u32 = 10_001;
/// The pid of the rseq probe (a victim with glibc's rseq on, dumped only to see whether CRIU can):
/// apart from [`VICTIM_PID`], which the probe must not take.
const RSEQ_PROBE_PID: u32 = 20_001;
/// Where the guest keeps images, the victim's pidfile and report (a tmpfs).
const WORK: &str = "/tmp/criu";
/// Where a restore boot finds the images carried from kernel A: `/xcriu/<A>/`.
const CARRIED: &str = "xcriu";
/// The victim announces itself after ~80 experiments in forked children: a second on the host, ten
/// to twenty under TCG on a loaded machine.
const READY_TIMEOUT_MS: u64 = 60_000;
/// The restored victim's checks, as long again.
const VERIFY_TIMEOUT_MS: u64 = 60_000;
/// Bounds on what the host accepts back from a guest: the images of one small process are ~1 MB.
const MAX_IMAGE_FILE: u64 = 64 << 20;
const MAX_IMAGES_TOTAL: u64 = 128 << 20;

/// The stand-in for libnftables (see the module doc).
const NFTABLES_STUB_C: &str = include_str!("../ci/guest/nftables-stub.c");
const NFTABLES_STUB_MAP: &str = "LIBNFTABLES_1 { global: nft_*; local: *; };\n";

/// CRIU and what it needs inside a guest.
#[derive(Debug, Clone)]
pub struct Guest {
    /// `criu --version` (4.2.1).
    pub version: String,
    /// The preset that models it (criu-4.2).
    pub preset: String,
    /// Initramfs entries: `criu/criu`, `bin/cat`, the libraries at their paths, the loader.
    pub files: Vec<(String, u32, Vec<u8>)>,
}

impl Guest {
    /// Collect `criu` and `cat` with their libraries (`ldd`); the nftables stand-in is compiled with
    /// `cc` into `cache` once.
    pub fn collect(criu: &Path, cache: &Path) -> Result<Guest, String> {
        let version = crate::victim::restore::criu_version(criu)?;
        let preset = crate::victim::restore::preset_for(&version);
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut files = vec![("criu/criu".to_string(), 0o755, read(criu)?)];
        let cat = Path::new("/usr/bin/cat");
        files.push(("bin/cat".into(), 0o755, read(cat)?));
        let mut libs: Vec<String> = Vec::new();
        for bin in [criu, cat] {
            for l in ldd(bin)? {
                if !libs.contains(&l) {
                    libs.push(l);
                }
            }
        }
        for l in libs {
            let bytes = if l.ends_with("/libnftables.so.1") {
                read(&nftables_stub(cache)?)?
            } else {
                read(Path::new(&l))?
            };
            files.push((l.trim_start_matches('/').to_string(), 0o755, bytes));
        }
        Ok(Guest {
            version,
            preset,
            files,
        })
    }
}

/// The absolute paths `ldd` lists for `bin` (libraries and the loader; not the vDSO).
fn ldd(bin: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .map_err(|e| format!("ldd: {e}"))?;
    if !out.status.success() {
        return Err(format!("ldd {} failed", bin.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next(),
                None => l.split_whitespace().next(),
            }?;
            path.starts_with('/').then(|| path.to_string())
        })
        .collect())
}

/// Compile the libnftables stand-in into `cache/criu-guest/` (once).
fn nftables_stub(cache: &Path) -> Result<PathBuf, String> {
    let dir = cache.join("criu-guest");
    let so = dir.join("libnftables.so.1");
    if so.is_file() {
        return Ok(so);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (c, map) = (dir.join("nftables-stub.c"), dir.join("nftables-stub.map"));
    std::fs::write(&c, NFTABLES_STUB_C).map_err(|e| e.to_string())?;
    std::fs::write(&map, NFTABLES_STUB_MAP).map_err(|e| e.to_string())?;
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wl,-soname,libnftables.so.1"])
        .arg(format!("-Wl,--version-script={}", map.display()))
        .arg("-o")
        .arg(&so)
        .arg(&c)
        .status()
        .map_err(|e| format!("cc (for the libnftables stand-in): {e}"))?;
    if !st.success() {
        return Err(format!("cc {} failed", c.display()));
    }
    Ok(so)
}

/// The pairs a migration across kernel upgrades meets, in the order given: each kernel to the next
/// and back (5.10 → 6.1 → 6.12 → 7.2 and 7.2 → 6.12 → 6.1 → 5.10).
pub fn chain(labels: &[String]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = labels
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect();
    let back: Vec<(String, String)> = pairs
        .iter()
        .rev()
        .map(|(a, b)| (b.clone(), a.clone()))
        .collect();
    pairs.extend(back);
    pairs
}

/// [`chain`], then every kernel to itself: the controls. A dump restored on its own kernel (another
/// boot, the same vDSO bytes) is what CRIU remaps in place in normal mode, so the cross-kernel rows'
/// proxying is shown to come from the kernels, not from the guest.
pub fn pairs_with_controls(labels: &[String]) -> Vec<(String, String)> {
    let mut pairs = chain(labels);
    pairs.extend(labels.iter().map(|l| (l.clone(), l.clone())));
    pairs
}

/// What a boot does with CRIU.
#[derive(Debug, Clone)]
pub enum Job {
    /// Start the victim, dump it, send the images back.
    Dump,
    /// Restore each carried victim in each mode.
    Restore(Vec<Carried>),
}

/// CRIU's image files of one dump: (file name, bytes).
pub type Images = Vec<(String, Vec<u8>)>;

/// A victim dumped on kernel `from`, carried to a restore boot.
#[derive(Debug, Clone)]
pub struct Carried {
    pub from: String,
    pub pid: u32,
    pub images: Images,
    /// `false`: normal; `true`: proxy forced (CRIU_FAULT=127).
    pub modes: Vec<bool>,
}

impl Job {
    /// The initramfs entries and `conf` lines of this job.
    pub fn entries(&self, guest: &Guest) -> (Vec<(String, u32, Vec<u8>)>, String) {
        let mut entries = guest.files.clone();
        let mut conf = String::new();
        match self {
            Job::Dump => conf.push_str("criu dump\n"),
            Job::Restore(carried) => {
                for c in carried {
                    for (name, bytes) in &c.images {
                        entries.push((
                            format!("{CARRIED}/{}/{name}", c.from),
                            0o644,
                            bytes.clone(),
                        ));
                    }
                    for &proxy in &c.modes {
                        conf.push_str(&format!(
                            "criu restore {} {} {}\n",
                            c.from,
                            c.pid,
                            mode_name(proxy)
                        ));
                    }
                }
            }
        }
        (entries, conf)
    }
}

fn mode_name(proxy: bool) -> &'static str {
    if proxy {
        "proxy"
    } else {
        "normal"
    }
}

/// Run `criu` in the guest; `Err` with CRIU's first error lines from its log.
fn run_criu(args: &[&str], log: &Path, proxy: bool) -> Result<(), String> {
    let mut c = Command::new("/criu/criu");
    c.args(args)
        .arg("-o")
        .arg(log)
        .env(
            "LD_LIBRARY_PATH",
            "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if proxy {
        c.env("CRIU_FAULT", "127");
    }
    let st = c.status().map_err(|e| format!("cannot run criu: {e}"))?;
    if st.success() {
        return Ok(());
    }
    // CRIU's last error lines, without their timestamps or the closing "Dumping FAILED.": the cause
    // and what it failed. The first ones are noise here: while probing the kernel (socket diag, tun,
    // veth, all modules in these kernels) CRIU logs errors and carries on.
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut errors: Vec<String> = text
        .lines()
        .filter(|l| l.contains("Error (") && !l.contains("FAILED."))
        .map(|l| match l.split_once(") Error") {
            Some((stamp, rest)) if stamp.starts_with('(') => format!("Error{rest}"),
            _ => l.to_string(),
        })
        .collect();
    errors.drain(..errors.len().saturating_sub(2));
    Err(format!(
        "criu {} failed ({st}): {}",
        args[0],
        errors.join(" | ")
    ))
}

/// A dump boot, inside the guest: first a victim with glibc's rseq on, dumped and thrown away, to
/// show whether this kernel lets CRIU dump a current glibc's process at all (`criu_rseq`); then the
/// victim the pairs use, rseq off, whose images go back to the host (`criu_dump`).
pub fn guest_dump() {
    if let Err(e) = crate::live::init::loopback_up() {
        emit(&json!({"kind": "error", "what": e}));
    }
    let rseq = dump_victim(true, RSEQ_PROBE_PID, "rseq");
    emit(&json!({"kind": "criu_rseq", "ok": rseq.is_ok(), "error": rseq.err()}));
    let t0 = Instant::now();
    let r = dump_victim(false, VICTIM_PID, "victim").and_then(|(pid, secs, dir)| {
        let tar = tar_dir(&dir)?;
        Ok((pid, secs, tar))
    });
    let mut rec = json!({"kind": "criu_dump", "seconds": t0.elapsed().as_secs_f64()});
    match r {
        Ok((pid, dump_secs, tar)) => {
            rec["pid"] = json!(pid);
            rec["dump_seconds"] = json!(dump_secs);
            rec["bytes"] = json!(tar.len());
            rec["hex"] = json!(hex(&tar));
        }
        Err(e) => rec["error"] = json!(e),
    }
    emit(&rec);
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Start a victim as pid `want` (glibc's rseq on or off) and `criu dump` it into `WORK/<dir>`:
/// (pid, seconds of `criu dump`, the image folder).
fn dump_victim(rseq: bool, want: u32, dir: &str) -> Result<(u32, f64, PathBuf), String> {
    let work = Path::new(WORK).join(dir);
    let img = work.join("img");
    std::fs::create_dir_all(&img).map_err(|e| format!("{}: {e}", img.display()))?;
    std::fs::write("/proc/sys/kernel/ns_last_pid", (want - 1).to_string())
        .map_err(|e| format!("ns_last_pid: {e}"))?;
    let pidfile = work.join("victim.pid");
    let mut cmd = Command::new("/init");
    cmd.args(["victim", "--json", "--new-session", "--scenario", "plain"])
        .arg("--pidfile")
        .arg(&pidfile)
        .arg("--out")
        .arg(Path::new(WORK).join("report.json"))
        .env("PATH", "/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !rseq {
        cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the victim: {e}"))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_millis(READY_TIMEOUT_MS);
    while !pidfile.exists() {
        if Instant::now() > deadline {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::wait_child(pid, 5000);
            return Err("the victim did not announce itself".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let t0 = Instant::now();
    let d = img.to_string_lossy().into_owned();
    let dumped = run_criu(
        &[
            "dump",
            "-t",
            &pid.to_string(),
            "-D",
            &d,
            "--shell-job",
            "-v4",
        ],
        &img.join("dump.log"),
        false,
    );
    let secs = t0.elapsed().as_secs_f64();
    if dumped.is_err() {
        let _ = sys::kill(pid, libc::SIGKILL);
    }
    let _ = sys::wait_child(pid, 5000);
    dumped.map(|()| (pid, secs, img))
}

/// A folder's files as a gzipped tar, by name.
fn tar_dir(img: &Path) -> Result<Vec<u8>, String> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut names: Vec<PathBuf> = std::fs::read_dir(img)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.ok_or("an image file without a name")?;
        tar.append_path_with_name(&p, &name)
            .map_err(|e| format!("tar {name}: {e}"))?;
    }
    let gz = tar.into_inner().map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// A restore boot, inside the guest: one `criu_restore` record per `criu restore FROM PID MODE` line.
pub fn guest_restore(lines: &[&str]) {
    if let Err(e) = crate::live::init::loopback_up() {
        emit(&json!({"kind": "error", "what": e}));
    }
    let _ = std::fs::create_dir_all(WORK);
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(from), Some(pid), Some(mode)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let proxy = *mode == "proxy";
        let mut rec = json!({"kind": "criu_restore", "from": from, "mode": mode_name(proxy)});
        match restore_victim(from, pid, proxy, &mut rec) {
            Ok(report) => rec["report"] = report,
            Err(e) => rec["error"] = json!(e),
        }
        emit(&rec);
    }
}

fn restore_victim(from: &str, pid: u32, proxy: bool, rec: &mut Value) -> Result<Value, String> {
    let dir = format!("/{CARRIED}/{from}");
    let report = Path::new(WORK).join("report.json");
    let _ = std::fs::remove_file(&report);
    let t0 = Instant::now();
    let log = Path::new(&dir).join(format!("restore-{}.log", mode_name(proxy)));
    run_criu(
        &["restore", "-D", &dir, "--shell-job", "-d", "-v4"],
        &log,
        proxy,
    )?;
    rec["restore_seconds"] = json!(t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    // `criu restore -d` has exited: the restored victim is an orphan, now a child of this PID 1.
    sys::kill(pid, libc::SIGUSR1).map_err(|e| format!("signalling the restored victim: {e}"))?;
    let exit = sys::wait_child(pid, VERIFY_TIMEOUT_MS);
    rec["verify_seconds"] = json!(t1.elapsed().as_secs_f64());
    rec["exit"] = json!(exit);
    if exit.is_none() {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::wait_child(pid, 5000);
        return Err(format!(
            "the restored victim did not finish within {VERIFY_TIMEOUT_MS} ms"
        ));
    }
    let text = std::fs::read_to_string(&report).map_err(|e| {
        format!(
            "the restored victim ({:?}) wrote no report: {e}",
            exit.unwrap_or(Exit::Code(-1))
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("report.json: {e}"))
}

/// The image files in a dump boot's `criu_dump` record: (pid, files). Every length is bounded and
/// every name checked (a plain file name); a corrupted console line is an error, never a panic.
pub fn images_of(rec: &Value) -> Result<(u32, Images), String> {
    if let Some(e) = rec["error"].as_str() {
        return Err(e.to_string());
    }
    let pid = rec["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .ok_or("the dump record has no pid")?;
    let gz = rec["hex"]
        .as_str()
        .and_then(crate::kernels::unhex)
        .ok_or("the dump record's images are not hex (a garbled console line?)")?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let mut files = Vec::new();
    let mut total = 0u64;
    for e in ar.entries().map_err(|e| format!("images: {e}"))? {
        let e = e.map_err(|e| format!("images: {e}"))?;
        let name = e
            .path()
            .map_err(|e| format!("images: {e}"))?
            .to_string_lossy()
            .into_owned();
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !plain {
            return Err(format!("images: unexpected file name {name:?}"));
        }
        let mut bytes = Vec::new();
        e.take(MAX_IMAGE_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("images: {name}: {e}"))?;
        total += bytes.len() as u64;
        if bytes.len() as u64 > MAX_IMAGE_FILE || total > MAX_IMAGES_TOTAL {
            return Err(format!("images: {name}: larger than this lab accepts"));
        }
        files.push((name, bytes));
    }
    if !files.iter().any(|(n, _)| n == "inventory.img") {
        return Err("images: no inventory.img".into());
    }
    Ok((pid, files))
}

/// One victim migrated from kernel A to kernel B in one mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Migration {
    pub dumped: String,
    pub runtime: String,
    /// `normal`, or `proxy` (CRIU_FAULT=127).
    pub mode: String,
    /// `skipped: why` (CRIU could not dump on A), `dump failed: why` or `restore failed: why` (the
    /// loop failed), `agrees`, `N wrong, as predicted`, or `N wrong, M NOT predicted`.
    pub outcome: String,
    /// CRIU refused the dump on A (what that kernel cannot do with this CRIU): never a pass.
    pub skipped: bool,
    /// The loop itself failed (a boot, the victim, the images, the restore, the report).
    pub failed: bool,
    /// Seconds of `criu dump` on A, `criu restore` on B, and the victim's checks after the signal.
    pub dump_secs: Option<f64>,
    pub restore_secs: Option<f64>,
    pub verify_secs: Option<f64>,
    /// Entry points (and libc functions) that returned wrong answers on B.
    pub wrong: Vec<String>,
    /// Mapping checks that failed (not judged by the preset, which models entry points).
    pub mappings: Vec<String>,
    /// The preset's prediction against what the victim saw.
    pub model: Option<Comparison>,
}

impl Migration {
    /// Entries the preset got wrong.
    pub fn preset_wrong(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.preset_wrong)
    }
}

/// One row per (pair, mode) from the dump boots (round 3) and the restore boots (round 4).
pub fn rows(
    pairs: &[(String, String)],
    modes: &[bool],
    dumps: &[BootResult],
    restores: &[BootResult],
    preset: &str,
) -> Vec<Migration> {
    let vdso = |b: &BootResult| {
        b.record("vdso", None)
            .and_then(|v| v["hex"].as_str())
            .and_then(crate::kernels::unhex)
    };
    let mut out = Vec::new();
    for (a, b) in pairs {
        for &proxy in modes {
            let mut m = Migration {
                dumped: a.clone(),
                runtime: b.clone(),
                mode: mode_name(proxy).into(),
                outcome: String::new(),
                skipped: false,
                failed: false,
                dump_secs: None,
                restore_secs: None,
                verify_secs: None,
                wrong: Vec::new(),
                mappings: Vec::new(),
                model: None,
            };
            let dump = dumps.iter().find(|d| d.kernel == *a);
            let drec = dump.and_then(|d| d.record("criu_dump", None));
            m.dump_secs = drec.and_then(|r| r["dump_seconds"].as_f64());
            // A dump CRIU itself refused is what kernel A cannot do with this CRIU: the pair is skipped,
            // with CRIU's reason. Anything else (no boot, no record, garbled images) is this harness
            // failing, and fails the row.
            let problem = match (dump, drec) {
                (None, _) => Some((false, format!("no dump boot of {a}"))),
                (Some(d), None) => Some((
                    false,
                    format!(
                        "the dump boot of {a} produced no dump record ({})",
                        d.error.as_deref().unwrap_or("?")
                    ),
                )),
                (Some(_), Some(r)) => images_of(r).err().map(|e| {
                    let by_criu = r["error"]
                        .as_str()
                        .is_some_and(|x| x.starts_with("criu dump"));
                    (by_criu, format!("criu dump on {a}: {e}"))
                }),
            };
            if let Some((by_criu, why)) = problem {
                if by_criu {
                    m.skipped = true;
                    m.outcome = format!("skipped: {why}");
                } else {
                    m.failed = true;
                    m.outcome = format!("dump failed: {why}");
                }
                out.push(m);
                continue;
            }
            let rb = restores.iter().find(|r| r.kernel == *b);
            let rrec = rb.and_then(|r| {
                r.records.iter().find(|x| {
                    x["kind"] == "criu_restore" && x["from"] == a.as_str() && x["mode"] == m.mode
                })
            });
            let Some(rrec) = rrec else {
                m.failed = true;
                m.outcome = format!(
                    "restore failed: the restore boot of {b} produced no record for it ({})",
                    rb.and_then(|r| r.error.as_deref()).unwrap_or("?")
                );
                out.push(m);
                continue;
            };
            m.restore_secs = rrec["restore_seconds"].as_f64();
            m.verify_secs = rrec["verify_seconds"].as_f64();
            if let Some(e) = rrec["error"].as_str() {
                m.failed = true;
                m.outcome = format!("restore failed: {e}");
                out.push(m);
                continue;
            }
            let report = &rrec["report"];
            let (_, wrong) = crate::victim::restore::judge_report(report);
            for w in wrong {
                if w.starts_with("mapping ") {
                    m.mappings.push(w);
                } else {
                    m.wrong.push(w);
                }
            }
            let images = (dump.and_then(vdso), rb.and_then(vdso));
            m.model = Some(match images {
                (Some(d), Some(r)) => model::compare_images(report, preset, proxy, &d, &r),
                _ => Comparison {
                    policy: preset.to_string(),
                    force_proxy: proxy,
                    decision: "no prediction: a boot sent no live vDSO".into(),
                    findings: Vec::new(),
                    entries: Vec::new(),
                    preset_wrong: 0,
                    stale_agreed: 0,
                },
            });
            let pw = m.preset_wrong();
            m.outcome = match (m.wrong.len(), pw) {
                (0, 0) => "agrees".into(),
                (0, p) => format!("agrees, {p} NOT predicted"),
                (n, 0) => format!("{n} wrong, as predicted"),
                (n, p) => format!("{n} wrong, {p} NOT predicted"),
            };
            if m.model.as_ref().is_some_and(|c| c.entries.is_empty()) {
                m.failed = true;
                m.outcome.push_str(" (no prediction to compare)");
            }
            out.push(m);
        }
    }
    out
}

/// Per dump boot, whether CRIU could dump the victim with glibc's rseq on: (kernel, `dumps` or
/// `CRIU refuses: error`, or `no probe` when the boot sent no `criu_rseq` record).
pub fn rseq_probes(dumps: &[BootResult]) -> Vec<(String, String)> {
    dumps
        .iter()
        .map(|b| {
            let outcome = match b.record("criu_rseq", None) {
                None => "no probe".to_string(),
                Some(r) if r["ok"] == true => "dumps".to_string(),
                Some(r) => format!("CRIU refuses: {}", r["error"].as_str().unwrap_or("?")),
            };
            (b.kernel.clone(), outcome)
        })
        .collect()
}
