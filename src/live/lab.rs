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

use super::remap::RemapJob;
use super::sample::{child_main, decode, ts_now, Job, Rec, Report, MAX_SAMPLES};
use super::timens::{child_timens, offset_of, own_offsets, timens_offset};
use super::LiveVdso;
use crate::arch::Arch;
use crate::image::Image;
use crate::layout::{Layout, Mapping, Role};
use crate::plan::{plan, Decision, Plan, Side};
use crate::policy::{Policy, STRICT_PROXY};
use crate::verify::{judge_records, Nanos, Record, Tolerance, Verdict, NS_PER_SEC};
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
    /// An image restored onto this kernel under a preset, proxy forced (the n-th added with
    /// [`Lab::add_under_policy`]): what that restorer's restore really returns here.
    Preset(u8),
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
            CallPath::Preset(n) => format!("preset#{n}"),
        }
    }
}

/// A vDSO function the lab calls: its names and which exports implement it are in the fact table.
pub use crate::arch::Func;

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

/// How the lab runs its experiments.
#[derive(Debug, Clone, Copy)]
pub struct LabConfig {
    /// Samples per experiment, 1..=[`MAX_SAMPLES`](super::sample::MAX_SAMPLES). 8: enough to see a
    /// clock go backwards or drift out of its bracket, cheap enough for ~500 experiments in 0.3 s.
    pub samples: u8,
    /// How long one experiment's child may run before it is killed: generous next to the microseconds
    /// an experiment takes, short enough that a hung path costs little.
    pub child_timeout: std::time::Duration,
    /// How long to wait for the kernel's random generator to be seeded before skipping `getrandom`: a
    /// freshly booted VM without a hardware random source (QEMU TCG, 2 CPUs) takes seconds.
    pub random_wait: std::time::Duration,
    /// The policy whose plans build the `proxied` and `chained` copies and proxy other kernels' images.
    pub copy_policy: &'static Policy,
}

impl Default for LabConfig {
    fn default() -> LabConfig {
        LabConfig {
            samples: 8,
            child_timeout: std::time::Duration::from_secs(2),
            random_wait: std::time::Duration::from_secs(5),
            copy_policy: &STRICT_PROXY,
        }
    }
}

/// One experiment's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Experiment {
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

/// A dumped image restored into the lab's own area: zero pages where its data pages were, the
/// (patched) code after them.
struct Restored {
    /// Owns the mapping (unmapped on drop).
    _area: Area,
    /// Entry offsets per function in the copied image.
    entries: [Option<u64>; Func::ALL.len()],
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
    entries: [Option<u64>; Func::ALL.len()],
    /// Exported functions of the live image that no experiment calls, each with the reason (reported,
    /// not hidden).
    pub not_exercised: Vec<(String, String)>,
    /// Functions this lab skips on every path, with the reason (e.g. `getrandom` while the kernel's
    /// random generator is not seeded: the reference syscall would block, and no path is to blame).
    pub skipped: Vec<(Func, String)>,
    /// Other kernels' images proxied onto this one ([`Lab::add_dumped`]).
    images: Vec<(String, Restored)>,
    /// Images restored under a preset ([`Lab::add_under_policy`]).
    presets: Vec<(String, Restored)>,
    proxied: Option<Restored>,
    chained: Option<(Restored, Restored)>,
    stale: Option<Restored>,
    /// The plans that built the copies (for reports).
    pub plans: Vec<(String, Plan)>,
    clocks: Vec<(i32, Nanos)>,
    /// The offsets of the time namespace this process runs in (monotonic, boottime), in ns.
    own_timens: (Nanos, Nanos),
    cfg: LabConfig,
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
        match super::read() {
            Ok(Some(l)) => Lab::on(l).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(LabError::Plan(e.to_string())),
        }
    }

    /// Prepare the lab on `live`, this process's vDSO as [`super::read`] returned it.
    pub fn on(live: LiveVdso) -> Result<Lab, LabError> {
        Lab::with(live, LabConfig::default())
    }

    /// [`Lab::on`] with a configuration.
    pub fn with(live: LiveVdso, cfg: LabConfig) -> Result<Lab, LabError> {
        let (arch, entries, others) = {
            let img = Image::parse(&live.bytes).map_err(LabError::Parse)?;
            // Exported functions no experiment calls (aliases of called ones excluded).
            let called: Vec<Option<u64>> = img
                .functions()
                .filter(|s| Func::of_entry(s.name).is_some())
                .map(|s| s.offset)
                .collect();
            let others: Vec<(String, String)> = img
                .functions()
                .filter(|s| !called.contains(&s.offset))
                .map(|s| (s.name.to_string(), why_not_exercised(s.name).to_string()))
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
            skipped: Vec::new(),
            images: Vec::new(),
            presets: Vec::new(),
            proxied: None,
            chained: None,
            stale: None,
            plans: Vec::new(),
            clocks,
            own_timens: own_offsets(),
            cfg,
        };
        // The syscall and libc paths call getrandom whatever the vDSO exports: probe always.
        if let Err(why) = random_seeded(lab.cfg.random_wait) {
            lab.skipped.push((Func::Getrandom, why));
        }
        if arch.is_some_and(|a| a.modelled()) {
            let runtime = lab.live_side_layout();
            let own = lab.live.bytes.clone();
            lab.proxied = Some(lab.copy_onto(&own, &runtime, lab.cfg.copy_policy, "proxied")?);
            let b = lab.copy_onto(&own, &runtime, lab.cfg.copy_policy, "chained: B -> live")?;
            let a = lab.copy_onto(&own, &b.layout, lab.cfg.copy_policy, "chained: A -> B")?;
            lab.chained = Some((a, b));
            lab.stale = Some(lab.copy_onto(&own, &runtime, &STALE_POLICY, "stale")?);
        }
        Ok(lab)
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
    ) -> Result<Restored, LabError> {
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
            // One reason per distinct detail, with the entry points it names.
            let mut why: Vec<(&str, Vec<&str>)> = Vec::new();
            for f in &p.findings {
                let name = f.symbol.as_ref().map(|k| k.name.as_str());
                match why.iter_mut().find(|(d, _)| *d == f.detail) {
                    Some((_, names)) => names.extend(name),
                    None => why.push((&f.detail, name.into_iter().collect())),
                }
            }
            let why: Vec<String> = why
                .iter()
                .map(|(d, names)| match names.is_empty() {
                    true => d.to_string(),
                    false => format!("{}: {d}", names.join(", ")),
                })
                .collect();
            return Err(LabError::Plan(format!(
                "{what}: the plan was refused ({})",
                why.join("; ")
            )));
        }
        let mut bytes = dumped.to_vec();
        crate::plan::apply(&p, &mut bytes);
        area.write(code_at, &bytes);
        // Data pages stay zero and read-only (as CRIU restores the never-dumped [vvar]); code R+X.
        area.protect(0, code_at, libc::PROT_READ)?;
        area.protect(code_at, bytes.len(), libc::PROT_READ | libc::PROT_EXEC)?;
        self.plans.push((what.to_string(), p));
        Ok(Restored {
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
        v.extend((0..self.presets.len()).map(|i| CallPath::Preset(i as u8)));
        v
    }

    /// Run every path × function × clock.
    pub fn run_all(&self) -> Vec<Experiment> {
        let mut out = Vec::new();
        for path in self.paths() {
            for f in self.funcs() {
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

    /// The functions experiments run: every one the C library offers (its syscall and libc paths run
    /// whatever the vDSO exports), and the others where the live vDSO exports them.
    pub fn funcs(&self) -> impl Iterator<Item = Func> + '_ {
        Func::ALL
            .into_iter()
            .filter(|&f| f.in_libc() || self.exports(f))
    }

    /// Whether the live vDSO exports `f`.
    pub fn exports(&self, f: Func) -> bool {
        Func::ALL
            .iter()
            .position(|x| *x == f)
            .is_some_and(|k| self.entries[k].is_some())
    }

    /// Entry address of `f` on `path` (for the vDSO-based paths that do not move anything).
    fn entry(&self, path: CallPath, f: Func) -> Option<u64> {
        if self.skipped.iter().any(|(s, _)| *s == f) {
            return None;
        }
        let k = Func::ALL.iter().position(|x| *x == f)?;
        let copy = match path {
            // The futex entries have no libc wrapper; their syscall path (the model) runs only
            // where the vDSO exports them, as a baseline for the other paths.
            CallPath::Libc if !f.in_libc() => return None,
            CallPath::Syscall if !f.in_libc() && self.entries[k].is_none() => return None,
            CallPath::Syscall | CallPath::Libc => return Some(0),
            CallPath::Direct | CallPath::Remapped(_) => {
                return Some(self.live.base + self.entries[k]?)
            }
            CallPath::Proxied => self.proxied.as_ref()?,
            CallPath::Chained => &self.chained.as_ref()?.0,
            CallPath::Stale => self.stale.as_ref()?,
            CallPath::ProxiedImage(i) => &self.images.get(usize::from(i))?.1,
            CallPath::Preset(i) => &self.presets.get(usize::from(i))?.1,
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
            self.cfg.copy_policy,
            &format!("proxied from {name}"),
        )?;
        let i = u8::try_from(self.images.len())
            .map_err(|_| LabError::Plan("too many dumped images".into()))?;
        self.images.push((name.to_string(), c));
        Ok(CallPath::ProxiedImage(i))
    }

    /// Restore `bytes` (this kernel's image, or another kernel's of the same architecture) onto this
    /// kernel under `policy` with proxying forced — as CRIU's fault injection `CRIU_FAULT=127` forces it,
    /// since an identical image would otherwise be remapped and test nothing — and return the path that
    /// calls through it, with the plan (its findings are the static prediction: which entries stay
    /// stale). Entries the preset does not know keep the dumped code over zero-filled data pages. `Err`
    /// when the preset refuses (e.g. a CRIU before 4.1 on a kernel with `[vvar_vclock]`).
    pub fn add_under_policy(
        &mut self,
        name: &str,
        bytes: &[u8],
        policy: &Policy,
    ) -> Result<(CallPath, Plan), LabError> {
        let img = Image::parse(bytes).map_err(LabError::Parse)?;
        if Arch::of(&img) != self.arch || !self.arch.is_some_and(|a| a.modelled()) {
            return Err(LabError::Plan(format!(
                "{name}: not this machine's architecture"
            )));
        }
        let forced = Policy {
            remap: crate::policy::RemapRule::Never,
            ..*policy
        };
        let runtime = self.live_side_layout();
        let c = self.copy_onto(
            bytes,
            &runtime,
            &forced,
            &format!("{} from {name}", policy.name),
        )?;
        let i = u8::try_from(self.presets.len())
            .map_err(|_| LabError::Plan("too many preset images".into()))?;
        self.presets.push((name.to_string(), c));
        let plan = self
            .plans
            .last()
            .map(|(_, p)| p.clone())
            .ok_or_else(|| LabError::Plan("no plan recorded".into()))?;
        Ok((CallPath::Preset(i), plan))
    }

    /// Run one experiment in a forked child and judge it.
    pub fn run(&self, path: CallPath, f: Func, clock: Option<i32>) -> Experiment {
        let outcome = |verdict, samples| Experiment {
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
                outcome(judge_raw(f, &recs, res), recs.len())
            }
        }
    }

    /// Run `f` by calling `entry` directly in a child (an arbitrary address: tests use it to show that a
    /// path that crashes becomes a verdict and the runner goes on).
    pub fn run_entry(&self, entry: u64, f: Func, clock: Option<i32>) -> Experiment {
        let job = Job::plain(CallPath::Direct, f, clock.unwrap_or(0), entry, &self.cfg);
        let verdict = match run_in_child(&job) {
            Err(v) => v,
            Ok(recs) => judge_raw(f, &recs, 1),
        };
        Experiment {
            path: CallPath::Direct,
            func: f,
            clock,
            timens: false,
            verdict,
            samples: usize::from(job.samples),
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

    /// Which way the live vDSO's `clock_gettime` reads the clock here (see `probe`).
    pub fn clock_path(&self) -> super::probe::ClockPath {
        match self.entry(CallPath::Direct, Func::ClockGettime) {
            Some(entry) => self.clock_path_at(entry),
            None => super::probe::ClockPath::Unknown("the vDSO exports no clock_gettime".into()),
        }
    }

    /// The probe of [`Lab::clock_path`] on a `clock_gettime` at `entry` (tests point it at a stand-in
    /// that always makes the syscall, to show the probe can tell).
    pub fn clock_path_at(&self, entry: u64) -> super::probe::ClockPath {
        use super::probe::{ClockPath, PROBE_ERRNO};
        let mut job = self.job(
            CallPath::Direct,
            Func::ClockGettime,
            libc::CLOCK_MONOTONIC,
            entry,
            false,
            0,
        );
        job.fallback_probe = true;
        match run_in_child(&job) {
            Ok(recs) => match recs.first().map(|r| r[6]) {
                Some(0) => ClockPath::Userspace,
                // The vDSO's fallback returns the raw syscall result, -errno.
                Some(r) if r == -i64::from(PROBE_ERRNO) => ClockPath::SyscallFallback,
                r => ClockPath::Unknown(format!("clock_gettime returned {r:?} under the probe")),
            },
            Err(Verdict::Error { ret }) if ret < 0 => ClockPath::Unknown(format!(
                "seccomp filter not installed: {}",
                std::io::Error::from_raw_os_error(-ret as i32)
            )),
            Err(v) => ClockPath::Unknown(format!("the probe child ended with {v}")),
        }
    }

    /// Can this process create time namespaces? `Err` says why not (not root, no kernel support).
    pub fn timens_supported(&self) -> Result<(), String> {
        let job = Job {
            timens: true,
            ..Job::plain(CallPath::Syscall, Func::Time, 0, 0, &self.cfg)
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
    pub fn run_timens(&self, path: CallPath, f: Func, clock: Option<i32>) -> Experiment {
        let mut o = Experiment {
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
                let v = judge_raw(f, &recs, res);
                // CPU-time clocks count this process's time, not the host's: no shift to compare.
                let wall = !matches!(
                    c,
                    libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID
                );
                match (f, recs.first()) {
                    (Func::ClockGettime, Some(r)) if v.agrees() && wall => {
                        // The namespace's clock runs ahead of the host's by the offset (plus the
                        // moments between the host reading and the child's first one).
                        let inside = match decode(f, r) {
                            Record::Bracketed(first) => first.before,
                            _ => 0,
                        };
                        let shift = inside - host;
                        // Relative to the namespace this process runs in (#13 item 12).
                        let want = timens_offset(c) - offset_of(c, self.own_timens);
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

    /// Every path but `stale` and the presets × every function × clock, inside a time namespace.
    pub fn run_timens_all(&self) -> Vec<Experiment> {
        let mut out = Vec::new();
        // Stale and preset paths leave entries unredirected on purpose; they are judged plain only.
        for path in self
            .paths()
            .into_iter()
            .filter(|p| !matches!(p, CallPath::Stale | CallPath::Preset(_)))
        {
            for f in self.funcs() {
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
            .and_then(|r| match decode(Func::Time, r) {
                Record::Bracketed(s) => Some((
                    (s.value / NS_PER_SEC) as i64,
                    (s.before / NS_PER_SEC) as i64,
                )),
                _ => None,
            })
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
            remap: match path {
                CallPath::Remapped(n) => self.remap_plan(n),
                _ => RemapJob::default(),
            },
            timens,
            bench_calls,
            ..Job::plain(path, func, clock, entry, &self.cfg)
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

/// `Ok` when `getrandom(GRND_NONBLOCK)` succeeds (the generator is seeded), waiting up to `wait` with a
/// visible message; `Err` says why `getrandom` cannot be judged here (#13 item 13: an unseeded
/// generator makes the blocking reference syscall outlast the child's deadline).
fn random_seeded(wait: std::time::Duration) -> Result<(), String> {
    let t0 = std::time::Instant::now();
    let mut told = false;
    loop {
        let mut b = [0u8; 1];
        // SAFETY: a raw getrandom syscall into one byte we own; GRND_NONBLOCK never blocks.
        let r = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                b.as_mut_ptr(),
                1usize,
                libc::GRND_NONBLOCK,
            )
        };
        if r == 1 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(format!("getrandom(GRND_NONBLOCK) failed: {e}"));
        }
        if t0.elapsed() >= wait {
            return Err(format!(
                "random generator not seeded after {} s (no hardware random source?)",
                wait.as_secs()
            ));
        }
        if !told {
            eprintln!(
                "vdso-lab: waiting up to {} s for the kernel's random generator to be seeded",
                wait.as_secs()
            );
            told = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Why no experiment calls an exported function (aliases of called ones aside).
fn why_not_exercised(name: &str) -> &'static str {
    if name.contains("sgx_enter_enclave") {
        "needs an SGX enclave to enter (and SGX hardware)"
    } else if name.contains("sigreturn") || name.contains("sigtramp") || name.contains("vsyscall") {
        "a signal-return or syscall stub: entered by the kernel or a libc, not called for a value"
    } else {
        "no experiment for it"
    }
}

/// Judge the raw samples of `f`: decoded into typed records, bracketed within the interface's unit
/// (`gettimeofday` reads in microseconds; `time` is bracketed by the coarse clock and allowed nothing)
/// or the clock's resolution.
fn judge_raw(f: Func, recs: &[Rec], clock_resolution: Nanos) -> Verdict {
    let records: Vec<Record> = recs.iter().map(|r| decode(f, r)).collect();
    let resolution = match f {
        Func::Time => 0,
        Func::Gettimeofday => 1000,
        _ => clock_resolution,
    };
    judge_records(&records, Tolerance { resolution })
}

fn entries_of(img: &Image) -> [Option<u64>; Func::ALL.len()] {
    let mut entries = [None; Func::ALL.len()];
    for (k, f) in Func::ALL.iter().enumerate() {
        entries[k] = img
            .functions()
            .find(|s| Func::of_entry(s.name) == Some(*f))
            .and_then(|s| s.offset);
    }
    entries
}

/// Run `job` in a forked child (`child::run_writer`: one deadline for the whole run, EINTR handled, the
/// child killed at the deadline and reaped without ever blocking) and collect its report. `Err` carries
/// the verdict for a child that crashed, hung or failed to set up.
fn run_in_child(job: &Job) -> Result<Vec<Rec>, Verdict> {
    let size = std::mem::size_of::<Report>();
    let limit = std::time::Duration::from_millis(u64::try_from(job.timeout_ms).unwrap_or(0));
    let contained = super::child::run_writer(limit, size, |fd| {
        // SAFETY: we are the freshly forked child; `child_main` and `child_timens` do only
        // async-signal-safe work on memory prepared before the fork, write the report to `fd` and end
        // in _exit. `job.entry` is the function's address on `job.path` (the callers' contract).
        unsafe {
            if job.timens {
                child_timens(job, fd)
            } else {
                child_main(job, fd)
            }
        }
    })
    .map_err(|e| Verdict::Error {
        ret: -i64::from(e.raw_os_error().unwrap_or(1)),
    })?;
    match contained.exit {
        super::child::Exit::Hang | super::child::Exit::Lost => return Err(Verdict::TimedOut),
        super::child::Exit::Signal(signal) => return Err(Verdict::Crashed { signal }),
        super::child::Exit::Code(_) => {}
    }
    if contained.output.len() < size {
        return Err(Verdict::Error { ret: -1 });
    }
    // SAFETY: `output` holds at least size_of::<Report>() bytes, and Report is a repr(C) struct of
    // integers, valid for any bit pattern; read_unaligned copies it out whatever the Vec's alignment.
    let report: Report = unsafe { std::ptr::read_unaligned(contained.output.as_ptr().cast()) };
    if report.status != 0 {
        return Err(Verdict::Error { ret: report.status });
    }
    let n = (report.n.max(0) as usize).min(MAX_SAMPLES);
    Ok(report.recs[..n].to_vec())
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
pub fn rows(outcomes: &[Experiment]) -> Vec<Row> {
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
    let job = Job::plain(path, f, clock.unwrap_or(0), entry, &LabConfig::default());
    match run_in_child(&job) {
        Err(v) => v,
        Ok(recs) => judge_raw(f, &recs, resolution),
    }
}
