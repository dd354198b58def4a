//! `vdso-lab victim`: a process for a real checkpoint/restore tool to checkpoint and restore, which
//! then checks everything a restore of its vDSO could have got wrong.
//!
//! At start it resolves every exported function of its live vDSO the way a libc does (the pointers are
//! computed once, from the image it was started with, and never looked up again), records its special
//! mappings and its whole VMA list, and runs every check once (the baseline: what works before any
//! checkpoint). It then announces itself (`--pidfile`, `ready PID` on stdout) and waits for SIGUSR1
//! (SIGTERM with `--zdtm`). After the restore it runs the same checks again:
//!
//! * every cached entry × every clock the kernel accepts, called through the cached pointer in a forked
//!   child with a time limit ([`crate::live::lab::run_at`]), judged against the raw syscalls with the
//!   lab's bracket verdicts ([`crate::verify`]); `getcpu` and `clock_getres` exactly, `getrandom` with
//!   the kernel's opaque state;
//! * the C library's own entry points (`clock_gettime`, `time`, `gettimeofday`, `clock_getres`,
//!   `sched_getcpu`, `getrandom`), which use pointers libc cached at start;
//! * the mappings: no special mapping lost or leaked, the `[vvar]`/`[vvar_vclock]`/`[vdso]` distances
//!   those of the running kernel (read from a freshly executed process), the VMA count as before.
//!
//! A check that fails after the restore but passed in the baseline is a failure of the restore; one
//! the scenario itself broke (calling into a vDSO the scenario unmapped) is reported, not counted.
//! The report is text or JSON (`docs/victim-json.md`); the exit status is 0 only when nothing failed.
//!
//! [`restore`] is the whole loop with a real CRIU (`vdso-lab restore-test`), and [`model`] compares
//! what the victim saw with what this lab's preset of that CRIU release predicts.

pub mod expect;
pub mod model;
pub mod restore;

use crate::image::Image;
use crate::layout::{Layout, Role};
use crate::live::lab::{clock_name, run_at, CallPath, Func};
use crate::live::victim as sys;
use crate::verify::{Nanos, Verdict};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The JSON schema name and version of [`Report`].
pub const SCHEMA: &str = "vdso-lab-victim/1";

/// `vdso-lab victim` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct VictimArgs {
    /// plain, moved, unmapped, vdso-only-unmapped, timens, threads, or cycles:N (N checkpoint/restore
    /// cycles by the driver; the victim checks once, after the last).
    #[arg(long, default_value = "plain")]
    pub scenario: String,
    /// Write the victim's pid here (atomically) once it is ready to be checkpointed.
    #[arg(long)]
    pub pidfile: Option<PathBuf>,
    /// Write the report here (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report as JSON (schema: docs/victim-json.md).
    #[arg(long)]
    pub json: bool,
    /// CRIU's zdtm test protocol: daemonize (the parent writes the pidfile and exits), wait for SIGTERM,
    /// write PASS or FAIL lines to --outfile (via OUTFILE.inprogress), remove the pidfile on exit.
    #[arg(long, requires_all = ["pidfile", "outfile"])]
    pub zdtm: bool,
    /// zdtm mode: the test's output file.
    #[arg(long)]
    pub outfile: Option<PathBuf>,
    /// Lead a new session (setsid) before anything else. CRIU refuses to dump a task whose session
    /// leader lies outside its pid namespace (getsid gives 0: CRIU 4.2.1 criu/cr-dump.c:1527-1530),
    /// which is where a shell's session is when the victim runs in a container's pid namespace.
    #[arg(long)]
    pub new_session: bool,
}

/// A shape of process that real restorers have tripped over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Plain,
    /// The vDSO and its data pages moved together with mremap before the checkpoint.
    Moved,
    /// The vDSO and every data mapping unmapped; after the restore nothing may reappear.
    Unmapped,
    /// The code unmapped, the data pages kept.
    VdsoOnlyUnmapped,
    /// Started inside a new time namespace with offsets.
    Timens,
    /// Threads calling a cached entry in a loop during the checkpoint.
    Threads,
    /// N checkpoint/restore cycles (driven by the restorer); layout and VMA count must not drift.
    Cycles(u32),
}

impl Scenario {
    /// Every scenario, with `cycles` at 3.
    pub const ALL: [Scenario; 7] = [
        Scenario::Plain,
        Scenario::Moved,
        Scenario::Unmapped,
        Scenario::VdsoOnlyUnmapped,
        Scenario::Timens,
        Scenario::Threads,
        Scenario::Cycles(3),
    ];

    pub fn parse(s: &str) -> Result<Scenario, String> {
        let s = s.trim();
        Ok(match s {
            "plain" => Scenario::Plain,
            "moved" => Scenario::Moved,
            "unmapped" => Scenario::Unmapped,
            "vdso-only-unmapped" => Scenario::VdsoOnlyUnmapped,
            "timens" => Scenario::Timens,
            "threads" => Scenario::Threads,
            "cycles" => Scenario::Cycles(3),
            _ => {
                let n = s
                    .strip_prefix("cycles")
                    .map(|r| r.trim_start_matches([':', '=', ' ']))
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "unknown scenario {s:?}: plain, moved, unmapped, vdso-only-unmapped, \
                             timens, threads, cycles:N (1..=100)"
                        )
                    })?;
                Scenario::Cycles(n)
            }
        })
    }

    pub fn name(self) -> String {
        match self {
            Scenario::Plain => "plain".into(),
            Scenario::Moved => "moved".into(),
            Scenario::Unmapped => "unmapped".into(),
            Scenario::VdsoOnlyUnmapped => "vdso-only-unmapped".into(),
            Scenario::Timens => "timens".into(),
            Scenario::Threads => "threads".into(),
            Scenario::Cycles(n) => format!("cycles:{n}"),
        }
    }

    /// Checkpoint/restore cycles the driver runs before signalling.
    pub fn cycles(self) -> u32 {
        match self {
            Scenario::Cycles(n) => n,
            _ => 1,
        }
    }
}

/// The time-namespace offsets of the `timens` scenario (as the live lab's, see
/// [`crate::live::lab::TIMENS_OFFSETS`]).
pub use crate::live::timens::TIMENS_OFFSETS;

/// Threads of the `threads` scenario: more than the machine's two cores, so some are preempted
/// mid-call when the checkpoint freezes them.
const CALLER_THREADS: usize = 4;

/// The special mappings and the VMA list at one moment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    /// Where `[vdso]` is mapped (`None`: no `[vdso]`).
    pub vdso_base: Option<u64>,
    pub layout: Layout,
    pub vma_count: usize,
    /// Every VMA as `start-end perms name`.
    pub vmas: Vec<String>,
}

impl Snapshot {
    fn take() -> Result<Snapshot, String> {
        let maps = std::fs::read_to_string("/proc/self/maps")
            .map_err(|e| format!("cannot read /proc/self/maps: {e}"))?;
        snapshot_of(&maps)
    }
}

/// A snapshot from `/proc/PID/maps` text.
pub fn snapshot_of(maps: &str) -> Result<Snapshot, String> {
    let layout = Layout::from_maps(maps).map_err(|e| format!("/proc/self/maps: {e}"))?;
    let vmas: Vec<String> = maps
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_ascii_whitespace().collect();
            let name = f.get(5).copied().unwrap_or("");
            format!(
                "{} {} {}",
                f.first().unwrap_or(&""),
                f.get(1).unwrap_or(&""),
                name
            )
        })
        .collect();
    Ok(Snapshot {
        vdso_base: layout.get(Role::Vdso).map(|m| m.start),
        vma_count: vmas.len(),
        vmas,
        layout,
    })
}

/// What became of one check across the checkpoint/restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Agreed before and after.
    Agrees,
    /// Agreed before, not after: the restore broke it (counted as a failure).
    Broken,
    /// Did not agree before the checkpoint either: the scenario itself broke it (not counted).
    BrokenBefore,
    /// Not called (not a function the lab knows how to call safely).
    NotExercised,
}

impl Status {
    fn of(before: Verdict, after: Verdict) -> Status {
        match (before, after) {
            (Verdict::NotExercised, _) => Status::NotExercised,
            (b, _) if !b.agrees() => Status::BrokenBefore,
            (_, a) if a.agrees() => Status::Agrees,
            _ => Status::Broken,
        }
    }
}

/// One check: an entry (or libc function) on one clock.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryCheck {
    /// The exported symbol (`__vdso_clock_gettime`), or the libc function (`libc:clock_gettime`).
    pub name: String,
    pub version: Option<String>,
    /// Offset in the image the victim started with; `None` for libc.
    pub offset: Option<u64>,
    /// The cached pointer called; `None` for libc.
    pub address: Option<u64>,
    /// The function it implements (`None`: the lab has no safe way to call it).
    pub func: Option<Func>,
    pub clock: Option<i32>,
    pub before: Verdict,
    pub after: Verdict,
    pub status: Status,
}

/// One mapping check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MappingCheck {
    /// `lost`, `leaked`, `distances`, `vma_count`.
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The mappings after one restore of several.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CycleSnapshot {
    pub vma_count: usize,
    /// The special mappings' shape: `[vvar]@-0x6000/0x4000 ...` (offsets from `[vdso]`).
    pub shape: String,
}

/// The `threads` scenario's callers.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ThreadsReport {
    pub threads: usize,
    pub calls: u64,
    /// Calls that returned an error, 0, or a reading below the thread's previous one.
    pub anomalies: u64,
}

/// The victim's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub scenario: String,
    pub pid: u32,
    /// `uname -r` of the kernel that ran the checks after the restore.
    pub kernel: String,
    /// `/proc/self/timens_offsets` before and after (time-namespace scenario).
    pub timens_offsets: Option<(String, String)>,
    pub before: Snapshot,
    pub after: Snapshot,
    /// The special mappings of a freshly executed process on the running kernel (what it requires).
    pub fresh_layout: Option<Layout>,
    pub entries: Vec<EntryCheck>,
    pub libc: Vec<EntryCheck>,
    pub mappings: Vec<MappingCheck>,
    pub threads: Option<ThreadsReport>,
    /// After each intermediate restore of `cycles:N` (the driver sends SIGUSR2), then after the last.
    pub cycles: Vec<CycleSnapshot>,
    pub failures: usize,
    pub ok: bool,
}

/// An exported function of the image the victim started with, and its cached pointer.
#[derive(Debug, Clone)]
struct Cached {
    name: String,
    version: Option<String>,
    offset: u64,
    address: u64,
    func: Option<Func>,
}

/// Resolve every exported function of the live vDSO like a libc: base + offset, once.
fn resolve_live() -> Result<(u64, Vec<Cached>), String> {
    let live = crate::live::read()
        .map_err(|e| e.to_string())?
        .ok_or("this process has no vDSO (AT_SYSINFO_EHDR is 0)")?;
    let img =
        Image::parse(&live.bytes).map_err(|e| format!("the live vDSO does not parse: {e}"))?;
    let cached = img
        .functions()
        .filter_map(|s| {
            Some(Cached {
                name: s.name.to_string(),
                version: s.version.map(str::to_string),
                offset: s.offset?,
                address: live.base + s.offset?,
                func: Func::of_symbol(s.name),
            })
        })
        .collect();
    Ok((live.base, cached))
}

/// One verdict per (check, clock), in a fixed order, for one pass.
fn run_checks(cached: &[Cached], clocks: &[(i32, Nanos)]) -> (Vec<Verdict>, Vec<Verdict>) {
    let per_clock = |f: Func, mut call: Box<dyn FnMut(Option<i32>, Nanos) -> Verdict + '_>| {
        if f.takes_clock() {
            clocks.iter().map(|&(c, r)| call(Some(c), r)).collect()
        } else {
            vec![call(None, 1)]
        }
    };
    let mut entries = Vec::new();
    for c in cached {
        match c.func {
            None => entries.push(Verdict::NotExercised),
            Some(f) => entries.extend(per_clock(
                f,
                Box::new(move |clock, res| run_at(CallPath::Direct, c.address, f, clock, res)),
            )),
        }
    }
    let mut libc = Vec::new();
    for f in Func::ALL.into_iter().filter(|f| f.in_libc()) {
        libc.extend(per_clock(
            f,
            Box::new(move |clock, res| run_at(CallPath::Libc, 0, f, clock, res)),
        ));
    }
    (entries, libc)
}

/// Pair two passes into checks.
fn pair_checks(
    cached: &[Cached],
    clocks: &[(i32, Nanos)],
    before: &(Vec<Verdict>, Vec<Verdict>),
    after: &(Vec<Verdict>, Vec<Verdict>),
) -> (Vec<EntryCheck>, Vec<EntryCheck>) {
    let clock_list = |f: Option<Func>| -> Vec<Option<i32>> {
        match f {
            Some(f) if f.takes_clock() => clocks.iter().map(|&(c, _)| Some(c)).collect(),
            _ => vec![None],
        }
    };
    let mut entries = Vec::new();
    let mut k = 0;
    for c in cached {
        for clock in clock_list(c.func) {
            let (b, a) = (before.0[k], after.0[k]);
            k += 1;
            entries.push(EntryCheck {
                name: c.name.clone(),
                version: c.version.clone(),
                offset: Some(c.offset),
                address: Some(c.address),
                func: c.func,
                clock,
                before: b,
                after: a,
                status: Status::of(b, a),
            });
        }
    }
    let mut libc = Vec::new();
    let mut k = 0;
    for f in Func::ALL.into_iter().filter(|f| f.in_libc()) {
        for clock in clock_list(Some(f)) {
            let (b, a) = (before.1[k], after.1[k]);
            k += 1;
            libc.push(EntryCheck {
                name: format!("libc:{}", f.name()),
                version: None,
                offset: None,
                address: None,
                func: Some(f),
                clock,
                before: b,
                after: a,
                status: Status::of(b, a),
            });
        }
    }
    (entries, libc)
}

/// The special mappings a freshly executed process gets on the running kernel.
fn fresh_layout() -> Result<Layout, String> {
    let out = std::process::Command::new("cat")
        .arg("/proc/self/maps")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cat /proc/self/maps: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Layout::from_maps(&text).map_err(|e| format!("a fresh process's maps: {e}"))
}

/// The mapping checks: lost, leaked, distances, VMA count.
pub fn mapping_checks(
    before: &Snapshot,
    after: &Snapshot,
    fresh: Result<&Layout, &str>,
) -> Vec<MappingCheck> {
    let roles = |l: &Layout| -> Vec<Role> { l.movable().map(|m| m.role).collect() };
    let (rb, ra) = (roles(&before.layout), roles(&after.layout));
    let lost: Vec<&str> = rb
        .iter()
        .filter(|r| !ra.contains(r))
        .map(|r| r.maps_name())
        .collect();
    let leaked: Vec<String> = [Role::Vvar, Role::VvarVclock, Role::Vdso]
        .into_iter()
        .filter_map(|r| {
            let (nb, na) = (
                rb.iter().filter(|x| **x == r).count(),
                ra.iter().filter(|x| **x == r).count(),
            );
            (na > nb).then(|| format!("{} x{} (before x{nb})", r.maps_name(), na))
        })
        .collect();
    let mut v = vec![
        MappingCheck {
            check: "lost",
            ok: lost.is_empty(),
            detail: if lost.is_empty() {
                "no special mapping lost".into()
            } else {
                format!("gone after the restore: {}", lost.join(", "))
            },
        },
        MappingCheck {
            check: "leaked",
            ok: leaked.is_empty(),
            detail: if leaked.is_empty() {
                "no special mapping appeared".into()
            } else {
                format!("appeared after the restore: {}", leaked.join(", "))
            },
        },
    ];
    v.push(distances(after, fresh));
    v.push(vma_count(before, after));
    v
}

/// The special mappings' roles, offsets from `[vdso]` and sizes, as text.
pub fn shape_text(l: &Layout) -> String {
    l.shape_iter()
        .map(|(r, off, len)| {
            let sign = if off < 0 { "-" } else { "+" };
            format!("{}@{sign}{:#x}/{len:#x}", r.maps_name(), off.unsigned_abs())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Over several restores, the VMA count and the special mappings' shape stay what the first restore
/// made them.
pub fn drift_check(cycles: &[CycleSnapshot]) -> MappingCheck {
    let first = &cycles[0];
    let drift: Vec<String> = cycles
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, c)| c.vma_count != first.vma_count || c.shape != first.shape)
        .map(|(k, c)| format!("restore {}: {} VMAs, {}", k + 1, c.vma_count, c.shape))
        .collect();
    MappingCheck {
        check: "drift",
        ok: drift.is_empty(),
        detail: if drift.is_empty() {
            format!(
                "{} restores, each {} VMAs, {}",
                cycles.len(),
                first.vma_count,
                first.shape
            )
        } else {
            format!(
                "restore 1: {} VMAs, {}; then {}",
                first.vma_count,
                first.shape,
                drift.join("; ")
            )
        },
    }
}

fn distances(after: &Snapshot, fresh: Result<&Layout, &str>) -> MappingCheck {
    let shape = shape_text;
    let (ok, detail) = match fresh {
        Err(e) => (
            false,
            format!("cannot tell what the running kernel requires: {e}"),
        ),
        Ok(_) if after.layout.get(Role::Vdso).is_none() => (
            true,
            "no [vdso] after the restore: no distances to keep".to_string(),
        ),
        Ok(fresh) => {
            // Only a complete set (what the kernel maps together) is compared: a [vdso] with data
            // mappings at the running kernel's distances.
            let (a, f) = (shape(&after.layout), shape(fresh));
            if a == f {
                (true, format!("as the running kernel maps them: {f}"))
            } else {
                (
                    false,
                    format!("after the restore {a}; the running kernel maps {f}"),
                )
            }
        }
    };
    MappingCheck {
        check: "distances",
        ok,
        detail,
    }
}

fn vma_count(before: &Snapshot, after: &Snapshot) -> MappingCheck {
    let added: Vec<&String> = after
        .vmas
        .iter()
        .filter(|v| !before.vmas.contains(v))
        .collect();
    let removed: Vec<&String> = before
        .vmas
        .iter()
        .filter(|v| !after.vmas.contains(v))
        .collect();
    let ok = before.vma_count == after.vma_count;
    let mut detail = format!(
        "{} VMAs before, {} after",
        before.vma_count, after.vma_count
    );
    if !ok {
        let show = |l: &[&String]| {
            l.iter()
                .take(8)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = write!(
            detail,
            "; new: [{}]; gone: [{}]",
            show(&added),
            show(&removed)
        );
    }
    MappingCheck {
        check: "vma_count",
        ok,
        detail,
    }
}

/// CLOCK_MONOTONIC and CLOCK_BOOTTIME did not go backwards across the checkpoint/restore (as this
/// process sees them: inside its time namespace, whose offsets a restorer rewrites).
fn clocks_forward(before: [Nanos; 2], after: [Nanos; 2]) -> MappingCheck {
    let back: Vec<String> = FORWARD_CLOCKS
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (b, a))| a < *b)
        .map(|(c, (b, a))| format!("{} went back by {} ns", clock_name(*c), b - a))
        .collect();
    MappingCheck {
        check: "clocks_forward",
        ok: back.is_empty(),
        detail: if back.is_empty() {
            format!(
                "MONOTONIC and BOOTTIME moved forward by {} and {} ns",
                after[0] - before[0],
                after[1] - before[1]
            )
        } else {
            back.join("; ")
        },
    }
}

/// `monotonic SEC NSEC` / `boottime SEC NSEC` lines → the two offsets in ns.
fn parse_offsets(text: &str) -> Option<[Nanos; 2]> {
    let mut out = [None, None];
    for l in text.lines() {
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        let [name, sec, nsec] = f.as_slice() else {
            continue;
        };
        let v =
            sec.parse::<Nanos>().ok()? * crate::verify::NS_PER_SEC + nsec.parse::<Nanos>().ok()?;
        match *name {
            "monotonic" => out[0] = Some(v),
            "boottime" => out[1] = Some(v),
            _ => {}
        }
    }
    Some([out[0]?, out[1]?])
}

/// The time namespace survived: the process is still in one whose offsets are not zero. The offsets
/// need not be the same: CRIU rewrites them at restore so that the namespace's clocks continue from
/// their values at the checkpoint (CRIU 4.2.1 criu/timens.c:25-32 saves the clocks, :90-100 sets
/// offset = saved - host now), so they shrink by the time the process spent checkpointed.
fn timens_check(before: Option<&str>, after: Option<&str>) -> MappingCheck {
    let (b, a) = (
        before.and_then(parse_offsets),
        after.and_then(parse_offsets),
    );
    let ok = matches!((b, a), (Some(_), Some(a)) if a[0] != 0 && a[1] != 0);
    MappingCheck {
        check: "timens_offsets",
        ok,
        detail: format!(
            "offsets (monotonic, boottime) in ns before {b:?}, after {a:?}{}",
            if ok {
                ""
            } else {
                ": the time namespace was lost"
            }
        ),
    }
}

/// Write `pid` to `path` atomically (a temporary file renamed over it, as zdtm's `write_pidfile`).
fn write_pidfile(path: &Path, pid: u32) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// What the victim holds between setup and the checks.
struct Prepared {
    cached: Vec<Cached>,
    clocks: Vec<(i32, Nanos)>,
    before: Snapshot,
    baseline: (Vec<Verdict>, Vec<Verdict>),
    callers: Option<sys::Callers>,
    /// The mappings after each intermediate restore (SIGUSR2).
    cycles: Vec<CycleSnapshot>,
    timens_before: Option<String>,
    /// CLOCK_MONOTONIC and CLOCK_BOOTTIME (raw syscalls) just before waiting.
    clocks_before: [Nanos; 2],
}

/// The clocks a restore must not set back (as the process sees them, time namespace included).
const FORWARD_CLOCKS: [i32; 2] = [libc::CLOCK_MONOTONIC, libc::CLOCK_BOOTTIME];

/// Resolve, apply the scenario, take the baseline.
fn prepare(scenario: Scenario) -> Result<Prepared, String> {
    let (_, mut cached) = resolve_live()?;
    let layout = crate::live::self_layout().map_err(|e| e.to_string())?;
    match scenario {
        Scenario::Moved => {
            let shift = sys::move_special(&layout)?;
            // Resolved again from where the image now is: a process whose vDSO moved (a restored one,
            // or a runtime that moved it) calls it there. libc's own pointers still lead to the old
            // place; the baseline shows that, and it is not counted against the restore.
            for c in &mut cached {
                c.address = c.address.wrapping_add_signed(shift);
            }
        }
        Scenario::Unmapped => {
            for m in layout.movable() {
                sys::unmap(m.start, m.end)?;
            }
        }
        Scenario::VdsoOnlyUnmapped => {
            let m = layout.get(Role::Vdso).ok_or("no [vdso] to unmap")?;
            sys::unmap(m.start, m.end)?;
        }
        _ => {}
    }
    let callers = (scenario == Scenario::Threads)
        .then(|| {
            cached
                .iter()
                .find(|c| c.func == Some(Func::ClockGettime))
                .map(|c| sys::Callers::start(c.address, CALLER_THREADS))
                .ok_or("the vDSO exports no clock_gettime for the caller threads")
        })
        .transpose()?;
    let clocks = sys::clocks();
    let baseline = run_checks(&cached, &clocks);
    let timens_before = std::fs::read_to_string("/proc/self/timens_offsets").ok();
    let before = Snapshot::take()?;
    let clocks_before = FORWARD_CLOCKS.map(sys::now);
    Ok(Prepared {
        cycles: Vec::new(),
        clocks_before,
        cached,
        clocks,
        before,
        baseline,
        callers,
        timens_before,
    })
}

/// After the signal: the second pass and the report.
fn verify(p: Prepared, scenario: Scenario) -> Result<Report, String> {
    let after = Snapshot::take()?;
    let clocks_after = FORWARD_CLOCKS.map(sys::now);
    let threads = p.callers.map(|c| {
        let (calls, anomalies) = c.stop();
        ThreadsReport {
            threads: CALLER_THREADS,
            calls,
            anomalies,
        }
    });
    let second = run_checks(&p.cached, &p.clocks);
    let (entries, libc) = pair_checks(&p.cached, &p.clocks, &p.baseline, &second);
    let fresh = fresh_layout();
    let mut mappings = mapping_checks(&p.before, &after, fresh.as_ref().map_err(|e| e.as_str()));
    let timens_after = std::fs::read_to_string("/proc/self/timens_offsets").ok();
    mappings.push(clocks_forward(p.clocks_before, clocks_after));
    let mut cycles = p.cycles;
    if !cycles.is_empty() {
        cycles.push(CycleSnapshot {
            vma_count: after.vma_count,
            shape: shape_text(&after.layout),
        });
        mappings.push(drift_check(&cycles));
    }
    if scenario == Scenario::Timens {
        mappings.push(timens_check(
            p.timens_before.as_deref(),
            timens_after.as_deref(),
        ));
    }
    if let Some(t) = threads {
        mappings.push(MappingCheck {
            check: "threads",
            ok: t.anomalies == 0 && t.calls > 0,
            detail: format!(
                "{} threads made {} calls through the cached clock_gettime, {} anomalies",
                t.threads, t.calls, t.anomalies
            ),
        });
    }
    let failures = entries
        .iter()
        .chain(&libc)
        .filter(|c| c.status == Status::Broken)
        .count()
        + mappings.iter().filter(|m| !m.ok).count();
    Ok(Report {
        schema: SCHEMA,
        scenario: scenario.name(),
        pid: std::process::id(),
        kernel: kernel_release(),
        timens_offsets: p.timens_before.zip(timens_after),
        before: p.before,
        after,
        fresh_layout: fresh.ok(),
        entries,
        libc,
        mappings,
        threads,
        cycles,
        failures,
        ok: failures == 0,
    })
}

/// `vdso-lab victim`. `Ok(true)`: everything agrees after the restore.
pub fn run(args: &VictimArgs) -> Result<bool, String> {
    let scenario = Scenario::parse(&args.scenario)?;
    let sig = if args.zdtm {
        libc::SIGTERM
    } else {
        libc::SIGUSR1
    };
    sys::block(&[sig]);
    if args.new_session {
        sys::setsid()?;
    }
    if args.zdtm {
        return zdtm(args, scenario, sig);
    }
    if scenario == Scenario::Timens {
        if let Some(_child) = sys::fork_into_timens(TIMENS_OFFSETS)? {
            // The victim is the child (a time namespace applies to children); it announces itself.
            return Ok(true);
        }
    }
    sys::block(&[libc::SIGUSR2]);
    let mut prepared = prepare(scenario)?;
    announce(args.pidfile.as_deref())?;
    // SIGUSR2 between restores (`cycles:N`): record the mappings, acknowledge, keep waiting.
    while sys::wait_signal(&[sig, libc::SIGUSR2]) == libc::SIGUSR2 {
        let s = Snapshot::take()?;
        prepared.cycles.push(CycleSnapshot {
            vma_count: s.vma_count,
            shape: shape_text(&s.layout),
        });
        if let Some(p) = &args.pidfile {
            let ack = PathBuf::from(format!("{}.cycles", p.display()));
            std::fs::write(&ack, prepared.cycles.len().to_string())
                .map_err(|e| format!("{}: {e}", ack.display()))?;
        }
    }
    let report = verify(prepared, scenario)?;
    emit(&report, args.json, args.out.as_deref())?;
    Ok(report.ok)
}

fn announce(pidfile: Option<&Path>) -> Result<(), String> {
    let pid = std::process::id();
    if let Some(p) = pidfile {
        write_pidfile(p, pid)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {pid}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

fn emit(report: &Report, json: bool, out: Option<&Path>) -> Result<(), String> {
    let text = if json {
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())? + "\n"
    } else {
        render(report)
    };
    match out {
        Some(p) => std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The zdtm protocol (CRIU test/zdtm/lib/test.c, 4.2.1: `test_init` forks, the parent waits for the
/// child to be ready, writes the pidfile and exits; the child calls `setsid`, logs to
/// `OUTFILE.inprogress`, which `test_fini` renames to OUTFILE at exit and removes the pidfile;
/// `pass()` writes `PASS`, `fail()` writes `FAIL: ...` lines).
fn zdtm(args: &VictimArgs, scenario: Scenario, sig: i32) -> Result<bool, String> {
    let (Some(pidfile), Some(outfile)) = (args.pidfile.as_deref(), args.outfile.as_deref()) else {
        return Err("--zdtm needs --pidfile and --outfile".into());
    };
    if outfile.exists() {
        return Err(format!("output file {} already exists", outfile.display()));
    }
    let (ready_r, ready_w) = sys::pipe()?;
    if let Some(child) = sys::fork_plain()? {
        drop(ready_w);
        let mut byte = [0u8; 1];
        let ok = std::io::Read::read(&mut &ready_r, &mut byte).is_ok_and(|n| n == 1);
        if !ok {
            return Err("the test child failed before it was ready".into());
        }
        write_pidfile(pidfile, child)?;
        return Ok(true);
    }
    drop(ready_r);
    // The forked child is never a process-group leader, so this cannot fail.
    let _ = sys::setsid();
    let inprogress = PathBuf::from(format!("{}.inprogress", outfile.display()));
    let prepared = prepare(scenario);
    let _ = std::io::Write::write_all(&mut &ready_w, b"1");
    drop(ready_w);
    let report = prepared.and_then(|p| {
        sys::wait_signal(&[sig]);
        verify(p, scenario)
    });
    let mut text = String::new();
    let ok = match &report {
        Ok(r) => {
            text.push_str(&render(r));
            for c in r.entries.iter().chain(&r.libc) {
                if c.status == Status::Broken {
                    let _ = writeln!(text, "FAIL: {}: {}", check_label(c), c.after);
                }
            }
            for m in r.mappings.iter().filter(|m| !m.ok) {
                let _ = writeln!(text, "FAIL: mapping {}: {}", m.check, m.detail);
            }
            if r.ok {
                text.push_str("PASS\n");
            }
            r.ok
        }
        Err(e) => {
            let _ = writeln!(text, "FAIL: {e}");
            false
        }
    };
    std::fs::write(&inprogress, text).map_err(|e| e.to_string())?;
    std::fs::rename(&inprogress, outfile).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(pidfile);
    Ok(ok)
}

fn check_label(c: &EntryCheck) -> String {
    match c.clock {
        Some(k) => format!("{} {}", c.name, clock_name(k)),
        None => c.name.clone(),
    }
}

/// The text report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "vdso-lab victim: scenario {}, pid {}, kernel {}",
        r.scenario, r.pid, r.kernel
    );
    let at = |b: Option<u64>| b.map_or("none".to_string(), |b| format!("{b:#x}"));
    let _ = writeln!(
        s,
        "[vdso] before {}, after {}",
        at(r.before.vdso_base),
        at(r.after.vdso_base)
    );
    for c in r.entries.iter().chain(&r.libc) {
        let mark = match c.status {
            Status::Agrees => "ok     ",
            Status::Broken => "BROKEN ",
            Status::BrokenBefore => "n/a    ",
            Status::NotExercised => "-      ",
        };
        let at = c.address.map(|a| format!(" @{a:#x}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "  {mark}{:<42}{at:<18} before: {}; after: {}",
            check_label(c),
            c.before,
            c.after
        );
    }
    for m in &r.mappings {
        let mark = if m.ok { "ok     " } else { "BROKEN " };
        let _ = writeln!(s, "  {mark}mapping {}: {}", m.check, m.detail);
    }
    let _ = writeln!(
        s,
        "{}: {} failure(s)",
        if r.ok { "AGREES" } else { "FAILED" },
        r.failures
    );
    s
}
