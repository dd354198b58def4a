//! The live lab: every restore call path run against the real syscalls, each experiment in a forked
//! child with a time limit, so a crash or a hang becomes a verdict and the runner goes on.
//!
//! Paths ([`CallPath`]):
//!
//! * `syscall` — the raw syscall against itself (the reference; it must agree trivially);
//! * `libc` — the C library's wrappers (which use the vDSO);
//! * `direct` — the live vDSO's entry points where the kernel mapped them;
//! * `remapped` — in the child, every special mapping (`[vvar]`, `[vvar_vclock]`, `[vdso]`) is moved
//!   together with `mremap` to a new place, distances kept, as a remap-in-place restore does;
//! * `proxied` — a copy of the live image (the "dumped" one) at a fresh address, with zero-filled pages
//!   where its data pages were (CRIU restores the dumped `[vvar]` that way) and the `strict` planner's
//!   trampolines into the live vDSO;
//! * `chained` — two hops of that: copy A → copy B → live;
//! * `stale` — the seed bug on purpose: a copy proxied under a CRIU-like policy that leaves the entry
//!   `time()` uses unredirected, so that entry runs old code against the zero pages.
//!
//! Children only do async-signal-safe work: everything they need (addresses, buffers, the clock list) is
//! prepared by the parent; they call the entry points, make raw syscalls, write a fixed-size record
//! array to a pipe and `_exit`. That keeps them correct when the parent is multi-threaded (`cargo test`).

use super::LiveVdso;
use crate::arch::Arch;
use crate::image::Image;
use crate::layout::{Layout, Mapping, Role};
use crate::plan::{plan, Decision, Plan, Side};
use crate::policy::{Policy, STRICT_PROXY};
use crate::verify::{judge, judge_exact, Nanos, Sample, Tolerance, Verdict, NS_PER_SEC};
use std::fmt;

/// A way of reaching a vDSO function after (or instead of) a restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPath {
    Syscall,
    Libc,
    Direct,
    /// Remapped, with the n-th displacement (different page-aligned distances).
    Remapped(u8),
    Proxied,
    Chained,
    Stale,
    /// Another kernel's image proxied onto this one (the n-th added with [`Lab::add_dumped`]).
    ProxiedImage(u8),
}

impl CallPath {
    pub fn name(self) -> String {
        match self {
            CallPath::Syscall => "syscall".into(),
            CallPath::Libc => "libc".into(),
            CallPath::Direct => "direct".into(),
            CallPath::Remapped(n) => format!("remapped#{n}"),
            CallPath::Proxied => "proxied".into(),
            CallPath::Chained => "chained".into(),
            CallPath::Stale => "stale".into(),
            CallPath::ProxiedImage(n) => format!("proxied-image#{n}"),
        }
    }
}

/// A vDSO function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    ClockGettime,
    Gettimeofday,
    Time,
    ClockGetres,
    Getcpu,
    /// `getrandom` with the vDSO's opaque state (Linux 6.11+).
    Getrandom,
}

impl Func {
    pub const ALL: [Func; 6] = [
        Func::ClockGettime,
        Func::Gettimeofday,
        Func::Time,
        Func::ClockGetres,
        Func::Getcpu,
        Func::Getrandom,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Func::ClockGettime => "clock_gettime",
            Func::Gettimeofday => "gettimeofday",
            Func::Time => "time",
            Func::ClockGetres => "clock_getres",
            Func::Getcpu => "getcpu",
            Func::Getrandom => "getrandom",
        }
    }
    /// The symbol names the function is exported as (x86 and the generic vDSO, then arm64/ppc/s390).
    fn symbols(self) -> [&'static str; 2] {
        match self {
            Func::ClockGettime => ["__vdso_clock_gettime", "__kernel_clock_gettime"],
            Func::Gettimeofday => ["__vdso_gettimeofday", "__kernel_gettimeofday"],
            Func::Time => ["__vdso_time", "__kernel_time"],
            Func::ClockGetres => ["__vdso_clock_getres", "__kernel_clock_getres"],
            Func::Getcpu => ["__vdso_getcpu", "__kernel_getcpu"],
            Func::Getrandom => ["__vdso_getrandom", "__kernel_getrandom"],
        }
    }
    fn takes_clock(self) -> bool {
        matches!(self, Func::ClockGettime | Func::ClockGetres)
    }
}

/// Clock ids tried; the ones `clock_getres` accepts are used (CLOCK_REALTIME .. CLOCK_TAI).
const CLOCK_IDS: [i32; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// Human name of a clock id.
pub fn clock_name(id: i32) -> &'static str {
    match id {
        0 => "REALTIME",
        1 => "MONOTONIC",
        2 => "PROCESS_CPUTIME",
        3 => "THREAD_CPUTIME",
        4 => "MONOTONIC_RAW",
        5 => "REALTIME_COARSE",
        6 => "MONOTONIC_COARSE",
        7 => "BOOTTIME",
        8 => "REALTIME_ALARM",
        9 => "BOOTTIME_ALARM",
        11 => "TAI",
        _ => "?",
    }
}

/// Samples per experiment.
const SAMPLES: usize = 8;
/// How long a child may run before it is killed: generous next to the microseconds an experiment
/// takes, short enough that a hung path costs little.
const CHILD_TIMEOUT_MS: i32 = 2000;

/// One experiment's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub path: CallPath,
    pub func: Func,
    /// The clock id for clock functions.
    pub clock: Option<i32>,
    /// Run inside a new time namespace with [`TIMENS_OFFSETS`].
    pub timens: bool,
    pub verdict: Verdict,
    pub samples: usize,
}

/// Why the lab cannot run.
#[derive(Debug)]
pub enum LabError {
    Parse(crate::image::ParseError),
    Map(&'static str, std::io::Error),
    Plan(String),
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::Parse(e) => write!(f, "the live vDSO does not parse: {e}"),
            LabError::Map(what, e) => write!(f, "{what}: {e}"),
            LabError::Plan(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for LabError {}

/// An anonymous mapping owned by the lab (unmapped on drop).
struct Area {
    start: usize,
    len: usize,
}

impl Area {
    /// Map `len` bytes of zeroed memory, preferably near `hint` (so short jumps reach the live vDSO).
    fn new(len: usize, hint: usize) -> Result<Area, LabError> {
        // SAFETY: an anonymous private mapping with no fixed address cannot replace existing mappings;
        // the hint is only a hint. The result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(LabError::Map("mmap", std::io::Error::last_os_error()));
        }
        Ok(Area {
            start: p as usize,
            len,
        })
    }

    /// Copy `bytes` to offset `at` (while the area is still writable).
    fn write(&mut self, at: usize, bytes: &[u8]) {
        assert!(at + bytes.len() <= self.len, "write inside the area");
        // SAFETY: [start, start + len) is our own read-write mapping and the range was checked above;
        // `bytes` cannot overlap it (it lives in Rust-owned memory).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), (self.start + at) as *mut u8, bytes.len())
        };
    }

    /// Set the protection of `[at, at + len)` (page-aligned).
    fn protect(&self, at: usize, len: usize, prot: libc::c_int) -> Result<(), LabError> {
        // SAFETY: the range lies inside our own mapping (callers pass page-aligned sub-ranges); changing
        // its protection affects no other memory.
        let r = unsafe { libc::mprotect((self.start + at) as *mut libc::c_void, len, prot) };
        if r != 0 {
            return Err(LabError::Map("mprotect", std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing references it once the lab is dropped.
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.len) };
    }
}

/// A dumped copy of the live image placed in its own area: zero pages where its data pages were, the
/// (patched) code after them.
struct Copy {
    /// Owns the mapping (unmapped on drop).
    _area: Area,
    /// Entry offsets per function in the copied image.
    entries: [Option<u64>; 6],
    /// Address of the copy's `[vdso]`.
    base: u64,
    layout: Layout,
}

/// The live lab: the live vDSO, its entry points, and the prepared copies for the proxied, chained and
/// stale paths.
pub struct Lab {
    pub live: LiveVdso,
    pub arch: Option<Arch>,
    /// Live entry offsets per function (None: not exported).
    entries: [Option<u64>; 6],
    /// Exported functions of the live image that no experiment calls (reported, not hidden).
    pub not_exercised: Vec<String>,
    /// Other kernels' images proxied onto this one ([`Lab::add_dumped`]).
    images: Vec<(String, Copy)>,
    proxied: Option<Copy>,
    chained: Option<(Copy, Copy)>,
    stale: Option<Copy>,
    /// The plans that built the copies (for reports).
    pub plans: Vec<(String, Plan)>,
    clocks: Vec<(i32, Nanos)>,
}

/// The x86 entry list of CRIU v3.19 without `__vdso_time`: on x86-64 that leaves `time()` stale the way
/// CRIU v3.19 left `__vdso_clock_gettime64` stale on i386 (the `vdso01` failure, issue #2390).
const CRIU_LIKE_WITHOUT_TIME: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_getcpu",
    "__vdso_gettimeofday",
    "__kernel_sigreturn",
    "__kernel_rt_sigreturn",
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
    "__vdso_clock_getres",
];

fn criu_like_without_time(_: Arch) -> &'static [&'static str] {
    CRIU_LIKE_WITHOUT_TIME
}

/// The policy of the `stale` path.
/// Proxying is forced (as CRIU's `FI_VDSO_TRAMPOLINES` does: the copy is of this very kernel, which a
/// CRIU-style check would otherwise remap) and `[vvar_vclock]` is understood (as from CRIU 4.1), so that
/// the one unknown entry is the only difference from a working restore.
pub const STALE_POLICY: Policy = Policy {
    name: "criu-like-without-time",
    provenance: "CRIU's x86 list less __vdso_time, proxy forced: time() left unredirected, as clock_gettime64 was on i386",
    known: Some(criu_like_without_time),
    remap: crate::policy::RemapRule::Never,
    vclock_aware: true,
    ..crate::policy::CRIU_4_1
};

impl Lab {
    /// Prepare the lab on this process's vDSO. `Ok(None)`: there is no vDSO (skipped).
    pub fn new() -> Result<Option<Lab>, LabError> {
        let live = match super::read() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(None),
            Err(e) => return Err(LabError::Plan(e.to_string())),
        };
        let (arch, entries, others) = {
            let img = Image::parse(&live.bytes).map_err(LabError::Parse)?;
            let known: Vec<&str> = Func::ALL.iter().flat_map(|f| f.symbols()).collect();
            // Exported functions no experiment calls (aliases of called ones excluded).
            let called: Vec<Option<u64>> = img
                .functions()
                .filter(|s| known.contains(&s.name))
                .map(|s| s.offset)
                .collect();
            let others: Vec<String> = img
                .functions()
                .filter(|s| !called.contains(&s.offset))
                .map(|s| s.name.to_string())
                .collect();
            (Arch::of(&img), entries_of(&img), others)
        };
        let clocks = CLOCK_IDS
            .iter()
            .filter_map(|&c| {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: a raw clock_getres syscall writing one timespec we own.
                let r = unsafe { libc::syscall(libc::SYS_clock_getres, c, &mut ts) };
                (r == 0).then_some((c, ts.tv_sec as Nanos * NS_PER_SEC + ts.tv_nsec as Nanos))
            })
            .collect();
        let mut lab = Lab {
            live,
            arch,
            entries,
            not_exercised: others,
            images: Vec::new(),
            proxied: None,
            chained: None,
            stale: None,
            plans: Vec::new(),
            clocks,
        };
        if arch.is_some_and(|a| a.modelled()) {
            let runtime = lab.live_side_layout();
            let own = lab.live.bytes.clone();
            lab.proxied = Some(lab.copy_onto(&own, &runtime, &STRICT_PROXY, "proxied")?);
            let b = lab.copy_onto(&own, &runtime, &STRICT_PROXY, "chained: B -> live")?;
            let a = lab.copy_onto(&own, &b.layout, &STRICT_PROXY, "chained: A -> B")?;
            lab.chained = Some((a, b));
            lab.stale = Some(lab.copy_onto(&own, &runtime, &STALE_POLICY, "stale")?);
        }
        Ok(Some(lab))
    }

    fn live_side_layout(&self) -> Layout {
        self.live.layout.clone()
    }

    /// Place a copy of the live image (a "dumped" image of this very kernel) in a fresh area near the
    /// live vDSO, its data pages zero-filled, with the trampolines `policy` plans towards `runtime` (a
    /// layout whose `[vdso]` holds either the live image or another copy).
    fn copy_onto(
        &mut self,
        dumped: &[u8],
        runtime: &Layout,
        policy: &Policy,
        what: &str,
    ) -> Result<Copy, LabError> {
        let movable: Vec<Mapping> = self.live.layout.movable().copied().collect();
        let (Some(first), Some(vdso)) = (movable.first(), self.live.layout.get(Role::Vdso)) else {
            return Err(LabError::Plan("no [vdso] in /proc/self/maps".into()));
        };
        let first_start = first.start;
        // Room for the data pages (at the live distances) and the dumped image, whole pages.
        let code_len = (dumped.len() as u64).div_ceil(4096) * 4096;
        let total = (vdso.start - first_start) + code_len.max(vdso.len());
        // Ask for an address 256 MiB below the live mappings so 5-byte jumps reach (±2 GiB).
        let hint = first_start.saturating_sub(256 << 20) as usize;
        let mut area = Area::new(total as usize, hint)?;
        let shift = (area.start as u64).wrapping_sub(first_start);
        let layout = self.live.layout.shifted(shift as i64).ok_or_else(|| {
            LabError::Plan(format!(
                "{what}: the copy's layout leaves the address space"
            ))
        })?;
        let base = vdso.start.wrapping_add(shift);
        let code_at = (vdso.start - first_start) as usize;

        let img = Image::parse(dumped).map_err(LabError::Parse)?;
        let entries = entries_of(&img);
        let rimg = Image::parse(&self.live.bytes).map_err(LabError::Parse)?;
        let p = plan(
            &Side {
                image: &img,
                layout: layout.clone(),
            },
            &Side {
                image: &rimg,
                layout: runtime.clone(),
            },
            policy,
        );
        if p.decision == Decision::Refused {
            return Err(LabError::Plan(format!("{what}: the plan was refused")));
        }
        let mut bytes = dumped.to_vec();
        crate::plan::apply(&p, &mut bytes);
        area.write(code_at, &bytes);
        // Data pages stay zero and read-only (as CRIU restores the never-dumped [vvar]); code R+X.
        area.protect(0, code_at, libc::PROT_READ)?;
        area.protect(code_at, bytes.len(), libc::PROT_READ | libc::PROT_EXEC)?;
        self.plans.push((what.to_string(), p));
        Ok(Copy {
            _area: area,
            base,
            layout,
            entries,
        })
    }

    /// The clocks this kernel accepts, with their resolutions.
    pub fn clocks(&self) -> &[(i32, Nanos)] {
        &self.clocks
    }

    /// Every path available here.
    pub fn paths(&self) -> Vec<CallPath> {
        let mut v = vec![CallPath::Syscall, CallPath::Libc, CallPath::Direct];
        v.extend([
            CallPath::Remapped(0),
            CallPath::Remapped(1),
            CallPath::Remapped(2),
        ]);
        if self.proxied.is_some() {
            v.push(CallPath::Proxied);
        }
        if self.chained.is_some() {
            v.push(CallPath::Chained);
        }
        if self.stale.is_some() {
            v.push(CallPath::Stale);
        }
        v.extend((0..self.images.len()).map(|i| CallPath::ProxiedImage(i as u8)));
        v
    }

    /// Run every path × function × clock.
    pub fn run_all(&self) -> Vec<Outcome> {
        let mut out = Vec::new();
        for path in self.paths() {
            for f in Func::ALL {
                if f.takes_clock() {
                    for &(c, _) in &self.clocks {
                        out.push(self.run(path, f, Some(c)));
                    }
                } else {
                    out.push(self.run(path, f, None));
                }
            }
        }
        out
    }

    /// Entry address of `f` on `path` (for the vDSO-based paths that do not move anything).
    fn entry(&self, path: CallPath, f: Func) -> Option<u64> {
        let k = Func::ALL.iter().position(|x| *x == f)?;
        let copy = match path {
            CallPath::Syscall | CallPath::Libc => return Some(0),
            CallPath::Direct | CallPath::Remapped(_) => {
                return Some(self.live.base + self.entries[k]?)
            }
            CallPath::Proxied => self.proxied.as_ref()?,
            CallPath::Chained => &self.chained.as_ref()?.0,
            CallPath::Stale => self.stale.as_ref()?,
            CallPath::ProxiedImage(i) => &self.images.get(usize::from(i))?.1,
        };
        Some(copy.base + copy.entries[k]?)
    }

    /// Forget every image added with [`Lab::add_dumped`] (their mappings are unmapped).
    pub fn drop_dumped(&mut self) {
        self.images.clear();
    }

    /// The name an added image was given (for `ProxiedImage` paths).
    pub fn image_name(&self, i: u8) -> Option<&str> {
        self.images.get(usize::from(i)).map(|(n, _)| n.as_str())
    }

    /// Proxy another kernel's image (same architecture) onto this kernel under `strict`, as a restore
    /// from that kernel would: its exported functions get trampolines into the live vDSO. The returned
    /// path calls through it. Fails when the plan is refused (the image exports something this kernel
    /// does not).
    pub fn add_dumped(&mut self, name: &str, bytes: &[u8]) -> Result<CallPath, LabError> {
        let img = Image::parse(bytes).map_err(LabError::Parse)?;
        if Arch::of(&img) != self.arch || !self.arch.is_some_and(|a| a.modelled()) {
            return Err(LabError::Plan(format!(
                "{name}: not this machine's architecture"
            )));
        }
        let runtime = self.live_side_layout();
        let c = self.copy_onto(
            bytes,
            &runtime,
            &STRICT_PROXY,
            &format!("proxied from {name}"),
        )?;
        let i = u8::try_from(self.images.len())
            .map_err(|_| LabError::Plan("too many dumped images".into()))?;
        self.images.push((name.to_string(), c));
        Ok(CallPath::ProxiedImage(i))
    }

    /// Run one experiment in a forked child and judge it.
    pub fn run(&self, path: CallPath, f: Func, clock: Option<i32>) -> Outcome {
        let outcome = |verdict, samples| Outcome {
            path,
            func: f,
            clock,
            timens: false,
            verdict,
            samples,
        };
        let Some(entry) = self.entry(path, f) else {
            return outcome(Verdict::NotExercised, 0);
        };
        let job = self.job(path, f, clock.unwrap_or(0), entry, false, 0);
        match run_in_child(&job) {
            Err(v) => outcome(v, 0),
            Ok(recs) => {
                let res = clock
                    .and_then(|c| self.clocks.iter().find(|(id, _)| *id == c))
                    .map_or(1, |(_, r)| *r);
                outcome(judge_records(f, &recs, res), recs.len())
            }
        }
    }

    /// Run `f` by calling `entry` directly in a child (an arbitrary address: tests use it to show that a
    /// path that crashes becomes a verdict and the runner goes on).
    pub fn run_entry(&self, entry: u64, f: Func, clock: Option<i32>) -> Outcome {
        let job = Job {
            path: CallPath::Direct,
            func: f,
            clock: clock.unwrap_or(0),
            entry,
            remap: RemapJob::default(),
            timens: false,
            bench_calls: 0,
        };
        let verdict = match run_in_child(&job) {
            Err(v) => v,
            Ok(recs) => judge_records(f, &recs, 1),
        };
        Outcome {
            path: CallPath::Direct,
            func: f,
            clock,
            timens: false,
            verdict,
            samples: SAMPLES,
        }
    }

    /// Latency of clock_gettime(CLOCK_MONOTONIC) through `path`, in ns per call, measured over `calls`
    /// calls in a child (so that `remapped` can move the mappings).
    pub fn latency(&self, path: CallPath, calls: u32) -> Result<f64, Verdict> {
        let entry = self
            .entry(path, Func::ClockGettime)
            .ok_or(Verdict::NotExercised)?;
        let job = self.job(
            path,
            Func::ClockGettime,
            libc::CLOCK_MONOTONIC,
            entry,
            false,
            calls.max(1),
        );
        let recs = run_in_child(&job)?;
        let r = recs.first().ok_or(Verdict::Error { ret: -1 })?;
        let ns = (r[2] as f64 - r[0] as f64) * 1e9 + (r[3] as f64 - r[1] as f64);
        Ok(ns / f64::from(calls.max(1)))
    }

    /// Can this process create time namespaces? `Err` says why not (not root, no kernel support).
    pub fn timens_supported(&self) -> Result<(), String> {
        let job = Job {
            path: CallPath::Syscall,
            func: Func::Time,
            clock: 0,
            entry: 0,
            remap: RemapJob::default(),
            timens: true,
            bench_calls: 0,
        };
        match run_in_child(&job) {
            Ok(_) => Ok(()),
            Err(Verdict::Error { ret }) if ret < 0 => Err(format!(
                "unshare(CLONE_NEWTIME) or timens_offsets failed: {}",
                std::io::Error::from_raw_os_error(-ret as i32)
            )),
            Err(v) => Err(format!("the probe child ended with {v}")),
        }
    }

    /// Run one experiment inside a new time namespace: the path must agree with the syscall made in
    /// the same namespace, and that syscall must show the namespace's offset against the host clock.
    pub fn run_timens(&self, path: CallPath, f: Func, clock: Option<i32>) -> Outcome {
        let mut o = Outcome {
            path,
            func: f,
            clock,
            timens: true,
            verdict: Verdict::NotExercised,
            samples: 0,
        };
        let Some(entry) = self.entry(path, f) else {
            return o;
        };
        let c = clock.unwrap_or(libc::CLOCK_REALTIME);
        let host = ts_now(c);
        let host = host.tv_sec as Nanos * NS_PER_SEC + host.tv_nsec as Nanos;
        let job = self.job(path, f, clock.unwrap_or(0), entry, true, 0);
        o.verdict = match run_in_child(&job) {
            Err(v) => v,
            Ok(recs) => {
                o.samples = recs.len();
                let res = clock
                    .and_then(|c| self.clocks.iter().find(|(id, _)| *id == c))
                    .map_or(1, |(_, r)| *r);
                let v = judge_records(f, &recs, res);
                // CPU-time clocks count this process's time, not the host's: no shift to compare.
                let wall = !matches!(
                    c,
                    libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID
                );
                match (f, recs.first()) {
                    (Func::ClockGettime, Some(r)) if v.agrees() && wall => {
                        // The namespace's clock runs ahead of the host's by the offset (plus the
                        // moments between the host reading and the child's first one).
                        let inside = r[0] as Nanos * NS_PER_SEC + r[1] as Nanos;
                        let shift = inside - host;
                        let want = timens_offset(c);
                        if shift < want || shift > want + 5 * NS_PER_SEC {
                            Verdict::Mismatch {
                                expected: (want / NS_PER_SEC) as i64,
                                got: (shift / NS_PER_SEC) as i64,
                            }
                        } else {
                            v
                        }
                    }
                    _ => v,
                }
            }
        };
        o
    }

    /// Every path but `stale` × every function × clock, inside a time namespace.
    pub fn run_timens_all(&self) -> Vec<Outcome> {
        let mut out = Vec::new();
        for path in self.paths().into_iter().filter(|p| *p != CallPath::Stale) {
            for f in Func::ALL {
                if f.takes_clock() {
                    for &(c, _) in &self.clocks {
                        out.push(self.run_timens(path, f, Some(c)));
                    }
                } else {
                    out.push(self.run_timens(path, f, None));
                }
            }
        }
        out
    }

    /// `time()` read once through `path` in a child, with the syscall's reading just before: (path, syscall).
    pub fn time_via(&self, path: CallPath) -> Result<(i64, i64), Verdict> {
        let entry = self.entry(path, Func::Time).ok_or(Verdict::NotExercised)?;
        let job = self.job(path, Func::Time, 0, entry, false, 0);
        let recs = run_in_child(&job)?;
        recs.first()
            .map(|r| (r[2], r[0]))
            .ok_or(Verdict::Error { ret: -1 })
    }

    /// The child's job for `f` through `path` at `entry` (remapped paths get their move plan).
    fn job(
        &self,
        path: CallPath,
        func: Func,
        clock: i32,
        entry: u64,
        timens: bool,
        bench_calls: u32,
    ) -> Job {
        Job {
            path,
            func,
            clock,
            entry,
            remap: match path {
                CallPath::Remapped(n) => self.remap_plan(n),
                _ => RemapJob::default(),
            },
            timens,
            bench_calls,
        }
    }

    /// What the child of a remapped path moves: the movable mappings, and a hint for where.
    fn remap_plan(&self, n: u8) -> RemapJob {
        let mut j = RemapJob::default();
        let movable: Vec<&Mapping> = self.live.layout.movable().collect();
        let Some(first) = movable.first() else {
            return j;
        };
        for (k, m) in movable.iter().enumerate().take(j.maps.len()) {
            j.maps[k] = (m.start, m.len());
        }
        j.count = movable.len().min(j.maps.len());
        j.total = movable.iter().map(|m| m.end).max().unwrap_or(0) - first.start;
        j.first = first.start;
        // Displacements: 1 GiB below, 64 MiB below, wherever the kernel puts a fresh mapping, and for
        // n >= 3 n * 2 MiB + n pages below (page-aligned, never a multiple of a larger alignment).
        j.hint = match n {
            0 => first.start.saturating_sub(1 << 30),
            1 => first.start.saturating_sub(64 << 20),
            2 => 0,
            n => first
                .start
                .saturating_sub(u64::from(n) * ((2 << 20) + 4096)),
        };
        j
    }
}

fn entries_of(img: &Image) -> [Option<u64>; 6] {
    let mut entries = [None; 6];
    for (k, f) in Func::ALL.iter().enumerate() {
        entries[k] = f
            .symbols()
            .iter()
            .find_map(|n| img.functions().find(|s| s.name == *n))
            .and_then(|s| s.offset);
    }
    entries
}

/// What a remapped child does (fixed size: children must not allocate).
#[derive(Debug, Clone, Copy, Default)]
struct RemapJob {
    maps: [(u64, u64); 4],
    count: usize,
    total: u64,
    first: u64,
    hint: u64,
}

/// One experiment as the child sees it.
#[derive(Debug, Clone, Copy)]
struct Job {
    path: CallPath,
    func: Func,
    clock: i32,
    entry: u64,
    remap: RemapJob,
    /// Run in a new time namespace (see [`TIMENS_OFFSETS`]).
    timens: bool,
    /// Instead of samples: time this many calls (latency benchmark).
    bench_calls: u32,
}

/// One raw sample: [before_s, before_ns, value_s, value_ns, after_s, after_ns, ret, exact_expected,
/// exact_got].
type Rec = [i64; 9];

/// The child's report: a status word (0, or a negative errno from setup) and the samples.
#[repr(C)]
struct Report {
    status: i64,
    n: i64,
    recs: [Rec; SAMPLES],
}

fn judge_records(f: Func, recs: &[Rec], resolution: Nanos) -> Verdict {
    let ns = |s: i64, n: i64| s as Nanos * NS_PER_SEC + n as Nanos;
    match f {
        Func::ClockGetres | Func::Getcpu => {
            let pairs: Vec<(i64, i64, i64)> = recs.iter().map(|r| (r[7], r[8], r[6])).collect();
            judge_exact(&pairs)
        }
        Func::Getrandom => {
            // [first 8 bytes of call 1, of call 2, ret 1, ret 2, constant 1, constant 2]: both calls
            // return the requested length, neither buffer is one repeated byte, and they differ.
            for r in recs {
                for ret in [r[2], r[3]] {
                    if ret != GETRANDOM_LEN as i64 {
                        return Verdict::Error { ret };
                    }
                }
                if r[4] != 0 || r[5] != 0 || r[0] == r[1] {
                    return Verdict::Mismatch {
                        expected: r[0],
                        got: r[1],
                    };
                }
            }
            Verdict::Agrees { worst: 0 }
        }
        _ => {
            let samples: Vec<Sample> = recs
                .iter()
                .map(|r| Sample {
                    before: ns(r[0], r[1]),
                    value: ns(r[2], r[3]),
                    after: ns(r[4], r[5]),
                    ret: r[6],
                })
                .collect();
            let resolution = match f {
                Func::Time => NS_PER_SEC,
                Func::Gettimeofday => 1000,
                _ => resolution,
            };
            judge(&samples, Tolerance { resolution })
        }
    }
}

type ClockFn = extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
type GtodFn = extern "C" fn(*mut libc::timeval, *mut libc::c_void) -> libc::c_int;
type TimeFn = extern "C" fn(*mut libc::time_t) -> libc::time_t;
type GetcpuFn =
    extern "C" fn(*mut libc::c_uint, *mut libc::c_uint, *mut libc::c_void) -> libc::c_int;

/// Fork, run `job` in the child, collect its report. `Err` carries the verdict for a child that
/// crashed, hung or failed to set up.
fn run_in_child(job: &Job) -> Result<Vec<Rec>, Verdict> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into our array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Verdict::Error { ret: -1 });
    }
    // SAFETY: fork in a possibly multi-threaded process; the child only runs `child_main`, which does
    // async-signal-safe work (raw syscalls, calls into vDSO code, writes to a pipe, _exit) on memory
    // prepared before the fork, and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(Verdict::Error { ret: -1 });
    }
    if pid == 0 {
        // SAFETY: see above; both child functions end in _exit.
        unsafe {
            if job.timens {
                child_timens(job, fds[1])
            } else {
                child_main(job, fds[1])
            }
        }
    }
    // SAFETY: closing the parent's copy of the write end, which we own.
    unsafe { libc::close(fds[1]) };
    let mut report = Report {
        status: 0,
        n: 0,
        recs: [[0; 9]; SAMPLES],
    };
    let size = std::mem::size_of::<Report>();
    let mut got = 0usize;
    let mut timed_out = false;
    while got < size {
        let mut pfd = libc::pollfd {
            fd: fds[0],
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one descriptor we own.
        let r = unsafe { libc::poll(&mut pfd, 1, CHILD_TIMEOUT_MS) };
        if r == 0 {
            timed_out = true;
            break;
        }
        if r < 0 {
            break;
        }
        // SAFETY: reading into the remaining bytes of our own `report` (a plain repr(C) struct of
        // integers, valid for any bit pattern).
        let n = unsafe {
            libc::read(
                fds[0],
                (&mut report as *mut Report as *mut u8).add(got) as *mut libc::c_void,
                size - got,
            )
        };
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    // SAFETY: closing our read end; killing and reaping our own child.
    let status = unsafe {
        libc::close(fds[0]);
        if timed_out {
            libc::kill(pid, libc::SIGKILL);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        st
    };
    if timed_out {
        return Err(Verdict::TimedOut);
    }
    if libc::WIFSIGNALED(status) {
        return Err(Verdict::Crashed {
            signal: libc::WTERMSIG(status),
        });
    }
    if got < size || report.status != 0 {
        return Err(Verdict::Error {
            ret: if report.status != 0 {
                report.status
            } else {
                -1
            },
        });
    }
    let n = (report.n.max(0) as usize).min(SAMPLES);
    Ok(report.recs[..n].to_vec())
}

/// The child: set up the path (remap), take the samples, report, `_exit`. Async-signal-safe only.
///
/// # Safety
///
/// Must run in a freshly forked child; `job.entry` must be the address of the vDSO function `job.func`
/// on `job.path` (or 0 for the syscall and libc paths).
unsafe fn child_main(job: &Job, fd: libc::c_int) -> ! {
    let mut report = Report {
        status: 0,
        n: 0,
        recs: [[0; 9]; SAMPLES],
    };
    let mut entry = job.entry;
    if let CallPath::Remapped(_) = job.path {
        match remap_all(&job.remap) {
            Ok(new_first) => {
                entry = entry.wrapping_sub(job.remap.first).wrapping_add(new_first);
            }
            Err(e) => report.status = -e,
        }
    }
    if job.func == Func::Getcpu {
        // Pin to the CPU we are on, so the path and the syscall must agree exactly.
        let (mut cpu, mut node) = (0u32, 0u32);
        // SAFETY: raw getcpu/sched_setaffinity syscalls on our own variables and a stack cpu_set_t.
        unsafe {
            libc::syscall(libc::SYS_getcpu, &mut cpu, &mut node, 0usize);
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu as usize, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    if report.status == 0 && job.bench_calls > 0 {
        // Latency: time `bench_calls` calls of the path with the raw syscall clock around them.
        let t0 = ts_now(libc::CLOCK_MONOTONIC);
        for _ in 0..job.bench_calls {
            // SAFETY: as for the samples below.
            let _ = unsafe { call_once(job, entry) };
        }
        let t1 = ts_now(libc::CLOCK_MONOTONIC);
        report.recs[0] = [t0.tv_sec, t0.tv_nsec, t1.tv_sec, t1.tv_nsec, 0, 0, 0, 0, 0];
        report.n = 1;
    } else if report.status == 0 {
        for k in 0..SAMPLES {
            // SAFETY: `entry` is the function's address on this path (see the function's contract).
            report.recs[k] = unsafe { sample(job, entry) };
            report.n += 1;
        }
    }
    let bytes = std::mem::size_of::<Report>();
    let mut off = 0;
    while off < bytes {
        // SAFETY: writing our own plain-integer struct to the pipe.
        let n = unsafe {
            libc::write(
                fd,
                (&report as *const Report as *const u8).add(off) as *const libc::c_void,
                bytes - off,
            )
        };
        if n <= 0 {
            break;
        }
        off += n as usize;
    }
    // SAFETY: terminate the child without running the parent's atexit handlers or destructors.
    unsafe { libc::_exit(0) }
}

/// Bytes requested per `getrandom` call.
const GETRANDOM_LEN: usize = 32;

/// `struct vgetrandom_opaque_params` (include/uapi/linux/random.h): what the vDSO's getrandom reports
/// when called with a NULL buffer and an opaque length of `~0`.
#[repr(C)]
struct VgetrandomParams {
    size_of_opaque_state: u32,
    mmap_prot: u32,
    mmap_flags: u32,
    reserved: [u32; 13],
}

type GetrandomFn = extern "C" fn(
    *mut libc::c_void,
    libc::size_t,
    libc::c_uint,
    *mut libc::c_void,
    libc::size_t,
) -> libc::ssize_t;

/// Two `getrandom` calls through the path. The vDSO's takes an opaque per-thread state that the caller
/// allocates as the kernel says (size, protection and flags from the params call), in this child.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_getrandom(job: &Job, entry: u64) -> Rec {
    let mut r: Rec = [0; 9];
    let mut bufs = [[0u8; GETRANDOM_LEN]; 2];
    let mut state: *mut libc::c_void = std::ptr::null_mut();
    let mut state_len = 0usize;
    let via_vdso = !matches!(job.path, CallPath::Syscall | CallPath::Libc);
    // SAFETY: `entry` is getrandom's entry point on this path (function contract).
    let f: Option<GetrandomFn> = via_vdso.then(|| unsafe { std::mem::transmute(entry as usize) });
    if let Some(f) = f {
        let mut params = VgetrandomParams {
            size_of_opaque_state: 0,
            mmap_prot: 0,
            mmap_flags: 0,
            reserved: [0; 13],
        };
        let ret = f(
            std::ptr::null_mut(),
            0,
            0,
            &mut params as *mut VgetrandomParams as *mut libc::c_void,
            !0,
        );
        if ret != 0 || params.size_of_opaque_state == 0 {
            r[2] = ret as i64;
            r[3] = ret as i64;
            return r;
        }
        state_len = params.size_of_opaque_state as usize;
        // SAFETY: a fresh anonymous mapping with the kernel's protection and flags for the state.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                state_len.div_ceil(4096) * 4096,
                params.mmap_prot as libc::c_int,
                params.mmap_flags as libc::c_int,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            r[2] = -i64::from(errno());
            r[3] = r[2];
            return r;
        }
        state = p;
    }
    for (k, buf) in bufs.iter_mut().enumerate() {
        let ret = match (job.path, f) {
            // SAFETY: raw getrandom syscall into our buffer.
            (CallPath::Syscall, _) | (_, None) if job.path != CallPath::Libc => unsafe {
                libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), GETRANDOM_LEN, 0) as isize
            },
            // SAFETY: libc's getrandom into our buffer.
            (CallPath::Libc, _) => unsafe {
                libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, GETRANDOM_LEN, 0)
            },
            (_, Some(f)) => f(
                buf.as_mut_ptr() as *mut libc::c_void,
                GETRANDOM_LEN,
                0,
                state,
                state_len,
            ),
            _ => -1,
        };
        r[2 + k] = ret as i64;
        r[4 + k] = i64::from(buf.iter().all(|&b| b == buf[0]));
        let mut head = [0u8; 8];
        head.copy_from_slice(&buf[..8]);
        r[k] = i64::from_le_bytes(head);
    }
    r
}

/// One call of clock_gettime(CLOCK_MONOTONIC) through the path, for the latency benchmark.
///
/// # Safety
///
/// As [`sample`].
unsafe fn call_once(job: &Job, entry: u64) -> i32 {
    let mut v = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match job.path {
        // SAFETY: raw syscall into our timespec.
        CallPath::Syscall => unsafe {
            libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut v) as i32
        },
        // SAFETY: libc's wrapper into our timespec.
        CallPath::Libc => unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut v) },
        _ => {
            // SAFETY: `entry` is clock_gettime's entry point on this path.
            let f: ClockFn = unsafe { std::mem::transmute(entry as usize) };
            f(libc::CLOCK_MONOTONIC, &mut v)
        }
    }
}

/// The offsets the time-namespace scenario writes to `/proc/self/timens_offsets` (`<clockid> <sec>
/// <nsec>` per line): CLOCK_MONOTONIC +10 days, CLOCK_BOOTTIME +20 days — what a restorer writes so
/// that monotonic time continues from where the checkpointed process saw it.
pub const TIMENS_OFFSETS: &[u8] = b"1 864000 0\n7 1728000 0\n";
/// The same offsets in ns, per clock id, for checking them (MONOTONIC's apply to its COARSE and RAW
/// variants, BOOTTIME's to BOOTTIME_ALARM; other clocks are not namespaced).
pub fn timens_offset(clock: i32) -> Nanos {
    match clock {
        1 | 4 | 6 => 864_000 * NS_PER_SEC,
        7 | 9 => 1_728_000 * NS_PER_SEC,
        _ => 0,
    }
}

/// The time-namespace child: create a new time namespace (effective for its children), set the
/// offsets, fork the experiment into it, and pass on how it ended (a signal is re-raised).
///
/// # Safety
///
/// As [`child_main`].
unsafe fn child_timens(job: &Job, fd: libc::c_int) -> ! {
    let fail = |e: i32| -> ! {
        let report = Report {
            status: -i64::from(e),
            n: 0,
            recs: [[0; 9]; SAMPLES],
        };
        // SAFETY: writing our own plain-integer struct to the pipe, then exiting.
        unsafe {
            libc::write(
                fd,
                &report as *const Report as *const libc::c_void,
                std::mem::size_of::<Report>(),
            );
            libc::_exit(0)
        }
    };
    // SAFETY: unshare affects only this (child) process; CLONE_NEWTIME applies to its children.
    if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 {
        fail(errno());
    }
    // SAFETY: open/write/close on a static NUL-terminated path and static bytes.
    unsafe {
        let f = libc::open(c"/proc/self/timens_offsets".as_ptr(), libc::O_WRONLY);
        if f < 0 {
            fail(errno());
        }
        let n = libc::write(
            f,
            TIMENS_OFFSETS.as_ptr() as *const libc::c_void,
            TIMENS_OFFSETS.len(),
        );
        if n != TIMENS_OFFSETS.len() as isize {
            fail(errno());
        }
        libc::close(f);
    }
    // SAFETY: fork from a single-threaded child; the grandchild runs `child_main`, which never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail(errno());
    }
    if pid == 0 {
        // SAFETY: see the function's contract.
        unsafe { child_main(job, fd) }
    }
    let mut st = 0;
    // SAFETY: waiting for our own child, then exiting the way it did.
    unsafe {
        libc::waitpid(pid, &mut st, 0);
        if libc::WIFSIGNALED(st) {
            let sig = libc::WTERMSIG(st);
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        libc::_exit(libc::WEXITSTATUS(st))
    }
}

/// Move every special mapping together to a fresh place; returns the new address of the first one.
///
/// # Safety
///
/// Child only: the calling process loses its special mappings at their old addresses.
unsafe fn remap_all(r: &RemapJob) -> Result<u64, i64> {
    // Reserve a hole big enough, then move each mapping into it at its old distance.
    // SAFETY: anonymous, non-fixed reservation.
    let hole = unsafe {
        libc::mmap(
            r.hint as *mut libc::c_void,
            r.total as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if hole == libc::MAP_FAILED {
        return Err(i64::from(errno()));
    }
    let new_first = hole as u64;
    for &(start, len) in &r.maps[..r.count] {
        let to = new_first + (start - r.first);
        // SAFETY: moving one special mapping of this (child) process onto our own reservation.
        let p = unsafe {
            libc::mremap(
                start as *mut libc::c_void,
                len as usize,
                len as usize,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                to as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(i64::from(errno()));
        }
    }
    Ok(new_first)
}

/// Run `f` once per sample in a forked child with a time limit, through `path` (`Syscall`, `Libc`, or
/// `Direct` at the address `entry`, which may be anything: a crash or a hang becomes the verdict), and
/// judge it against the syscalls with `resolution` for clock functions. For processes that have no
/// [`Lab`] to hand (the victim, after a restore that may have unmapped its vDSO).
pub fn run_at(
    path: CallPath,
    entry: u64,
    f: Func,
    clock: Option<i32>,
    resolution: Nanos,
) -> Verdict {
    assert!(
        matches!(path, CallPath::Syscall | CallPath::Libc | CallPath::Direct),
        "run_at moves nothing: syscall, libc or direct only"
    );
    let job = Job {
        path,
        func: f,
        clock: clock.unwrap_or(0),
        entry,
        remap: RemapJob::default(),
        timens: false,
        bench_calls: 0,
    };
    match run_in_child(&job) {
        Err(v) => v,
        Ok(recs) => judge_records(f, &recs, resolution),
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(1)
}

fn ts_now(clock: i32) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: raw syscall writing one timespec we own.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, &mut ts) };
    ts
}

/// One bracketed sample of `job.func` through `entry`.
///
/// # Safety
///
/// `entry` must be the function's address on `job.path` (ignored for the syscall and libc paths).
unsafe fn sample(job: &Job, entry: u64) -> Rec {
    let mut r: Rec = [0; 9];
    match job.func {
        Func::ClockGettime => {
            let b = ts_now(job.clock);
            let mut v = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let ret = match job.path {
                CallPath::Syscall => {
                    // SAFETY: raw syscall into our timespec.
                    unsafe { libc::syscall(libc::SYS_clock_gettime, job.clock, &mut v) as i32 }
                }
                // SAFETY: libc's wrapper into our timespec.
                CallPath::Libc => unsafe { libc::clock_gettime(job.clock, &mut v) },
                _ => {
                    // SAFETY: `entry` is clock_gettime's entry point on this path.
                    let f: ClockFn = unsafe { std::mem::transmute(entry as usize) };
                    f(job.clock, &mut v)
                }
            };
            let a = ts_now(job.clock);
            r = [
                b.tv_sec, b.tv_nsec, v.tv_sec, v.tv_nsec, a.tv_sec, a.tv_nsec, ret as i64, 0, 0,
            ];
        }
        Func::Gettimeofday => {
            let gtod = |tv: &mut libc::timeval| {
                // SAFETY: raw syscall into our timeval.
                unsafe { libc::syscall(libc::SYS_gettimeofday, tv as *mut libc::timeval, 0usize) };
            };
            let zero = libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            };
            let (mut b, mut v, mut a) = (zero, zero, zero);
            gtod(&mut b);
            let ret = match job.path {
                CallPath::Syscall => {
                    // SAFETY: raw syscall into our timeval.
                    unsafe { libc::syscall(libc::SYS_gettimeofday, &mut v, 0usize) as i32 }
                }
                // SAFETY: libc's wrapper into our timeval.
                CallPath::Libc => unsafe { libc::gettimeofday(&mut v, std::ptr::null_mut()) },
                _ => {
                    // SAFETY: `entry` is gettimeofday's entry point on this path.
                    let f: GtodFn = unsafe { std::mem::transmute(entry as usize) };
                    f(&mut v, std::ptr::null_mut())
                }
            };
            gtod(&mut a);
            r = [
                b.tv_sec,
                b.tv_usec.wrapping_mul(1000),
                v.tv_sec,
                v.tv_usec.wrapping_mul(1000),
                a.tv_sec,
                a.tv_usec.wrapping_mul(1000),
                ret as i64,
                0,
                0,
            ];
        }
        Func::Time => {
            let now = || ts_now(libc::CLOCK_REALTIME).tv_sec;
            let b = now();
            let v = match job.path {
                CallPath::Syscall => now(),
                // SAFETY: libc's time with a null argument.
                CallPath::Libc => unsafe { libc::time(std::ptr::null_mut()) },
                _ => {
                    // SAFETY: `entry` is time's entry point on this path.
                    let f: TimeFn = unsafe { std::mem::transmute(entry as usize) };
                    f(std::ptr::null_mut())
                }
            };
            let a = now();
            r = [b, 0, v, 0, a, 0, 0, 0, 0];
        }
        Func::ClockGetres => {
            let mut want = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: raw syscall into our timespec.
            unsafe { libc::syscall(libc::SYS_clock_getres, job.clock, &mut want) };
            let mut v = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let ret = match job.path {
                CallPath::Syscall => {
                    // SAFETY: raw syscall into our timespec.
                    unsafe { libc::syscall(libc::SYS_clock_getres, job.clock, &mut v) as i32 }
                }
                // SAFETY: libc's wrapper into our timespec.
                CallPath::Libc => unsafe { libc::clock_getres(job.clock, &mut v) },
                _ => {
                    // SAFETY: `entry` is clock_getres's entry point on this path.
                    let f: ClockFn = unsafe { std::mem::transmute(entry as usize) };
                    f(job.clock, &mut v)
                }
            };
            // Wrapping: a broken path may return garbage, and the child must not panic.
            let ns =
                |t: &libc::timespec| t.tv_sec.wrapping_mul(1_000_000_000).wrapping_add(t.tv_nsec);
            r[6] = ret as i64;
            r[7] = ns(&want);
            r[8] = ns(&v);
        }
        // SAFETY: forwarded contract.
        Func::Getrandom => return unsafe { sample_getrandom(job, entry) },
        Func::Getcpu => {
            let (mut wc, mut wn) = (0u32, 0u32);
            // SAFETY: raw getcpu syscall into our variables.
            unsafe { libc::syscall(libc::SYS_getcpu, &mut wc, &mut wn, 0usize) };
            let (mut c, mut n) = (0u32, 0u32);
            let ret = match job.path {
                CallPath::Syscall => {
                    // SAFETY: as above.
                    unsafe { libc::syscall(libc::SYS_getcpu, &mut c, &mut n, 0usize) as i32 }
                }
                CallPath::Libc => {
                    // SAFETY: libc's sched_getcpu takes no pointers.
                    let cpu = unsafe { libc::sched_getcpu() };
                    c = cpu as u32;
                    n = wn;
                    i32::from(cpu < 0)
                }
                _ => {
                    // SAFETY: `entry` is getcpu's entry point on this path.
                    let f: GetcpuFn = unsafe { std::mem::transmute(entry as usize) };
                    f(&mut c, &mut n, std::ptr::null_mut())
                }
            };
            r[6] = ret as i64;
            r[7] = (i64::from(wc) << 32) | i64::from(wn);
            r[8] = (i64::from(c) << 32) | i64::from(n);
        }
    }
    r
}

/// One row of the `check` table: a path and a function, over every clock.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub path: CallPath,
    pub func: Func,
    pub timens: bool,
    /// The worst verdict over the clocks (for an agreeing row, the largest bracket error).
    pub verdict: Verdict,
    pub samples: usize,
    pub clocks: usize,
    /// The `stale` path's `time`: the one entry left unredirected, expected to show the seed bug. Every
    /// other row, the stale path's redirected entries included, must agree.
    pub expected_to_fail: bool,
}

/// Fold outcomes into path × function rows, in run order.
pub fn rows(outcomes: &[Outcome]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for o in outcomes {
        match rows
            .iter_mut()
            .find(|r| r.path == o.path && r.func == o.func && r.timens == o.timens)
        {
            Some(r) => {
                r.verdict = r.verdict.worst(o.verdict);
                r.samples += o.samples;
                r.clocks += usize::from(o.clock.is_some());
            }
            None => rows.push(Row {
                path: o.path,
                func: o.func,
                timens: o.timens,
                verdict: o.verdict,
                samples: o.samples,
                clocks: usize::from(o.clock.is_some()),
                expected_to_fail: o.path == CallPath::Stale && o.func == Func::Time,
            }),
        }
    }
    rows
}

/// Did the `stale` path reproduce the seed bug: `time()` through the unredirected entry returned 0
/// (or crashed, or disagreed)?
pub fn stale_reproduced(rows: &[Row]) -> Option<bool> {
    rows.iter()
        .find(|r| r.path == CallPath::Stale && r.func == Func::Time)
        .map(|r| !r.verdict.agrees() && r.verdict != Verdict::NotExercised)
}
