//! The child side of an experiment: what a forked child does with a [`Job`] — set up the path (move the
//! special mappings, pin to a CPU), call the function through it between two raw syscalls of the same
//! clock, and write a fixed-size [`Report`] of raw samples to a pipe before `_exit`. The parent decodes
//! each raw sample into a typed [`Record`] per function ([`decode`]) and `verify` judges them.
//!
//! Everything here is async-signal-safe: raw syscalls, calls into vDSO code, `write`, `_exit`, on memory
//! prepared before the fork. That keeps children correct when the parent is multi-threaded.

use super::lab::{CallPath, Func};
use super::remap::{remap_all, RemapJob};
use crate::verify::{Nanos, Record, Sample, NS_PER_SEC};

/// The most samples one experiment reports (the report is fixed-size: children must not allocate).
pub const MAX_SAMPLES: usize = 32;

/// One experiment as the child sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub(super) path: CallPath,
    pub(super) func: Func,
    pub(super) clock: i32,
    pub(super) entry: u64,
    pub(super) remap: RemapJob,
    /// Run in a new time namespace (see `timens::TIMENS_OFFSETS`).
    pub(super) timens: bool,
    /// Samples to take (1..=[`MAX_SAMPLES`]).
    pub(super) samples: u8,
    /// The deadline of the child running this job.
    pub(super) timeout_ms: i32,
    /// Instead of samples: time this many calls (latency benchmark).
    pub(super) bench_calls: u32,
    /// Instead of samples: call `clock_gettime(CLOCK_MONOTONIC)` once with the syscall denied
    /// (`probe::deny_clock_gettime`) and record its return value.
    pub(super) fallback_probe: bool,
}

impl Job {
    /// A job that samples `func` through `path` at `entry` as `cfg` says, moving nothing, in this
    /// namespace; callers set the rest (remap, timens, bench, probe) where they need it.
    pub(super) fn plain(
        path: CallPath,
        func: Func,
        clock: i32,
        entry: u64,
        cfg: &super::lab::LabConfig,
    ) -> Job {
        Job {
            path,
            func,
            clock,
            entry,
            remap: RemapJob::default(),
            timens: false,
            bench_calls: 0,
            fallback_probe: false,
            samples: cfg.samples,
            timeout_ms: i32::try_from(cfg.child_timeout.as_millis()).unwrap_or(i32::MAX),
        }
    }
}

/// One raw sample as the child writes it (plain integers, so the report can cross a pipe as bytes).
/// Clock functions: `[before_s, before_ns, value_s, value_ns, after_s, after_ns, ret, 0, 0]`; exact
/// functions: `[.., ret, expected, got]` in the last three; getrandom: `[head 1, head 2, ret 1, ret 2,
/// constant 1, constant 2, ..]`; futex try-unlock: `[ret, lock, pending]` per case of
/// `verify::FUTEX_CASES`; the latency benchmark: `[t0_s, t0_ns, t1_s, t1_ns, ..]`. Only [`decode`]
/// reads it.
pub(super) type Rec = [i64; 9];

/// The child's report: a status word (0, or a negative errno from setup) and the samples.
#[repr(C)]
pub(super) struct Report {
    pub(super) status: i64,
    pub(super) n: i64,
    pub(super) recs: [Rec; MAX_SAMPLES],
}

type ClockFn = extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
type GtodFn = extern "C" fn(*mut libc::timeval, *mut libc::c_void) -> libc::c_int;
type TimeFn = extern "C" fn(*mut libc::time_t) -> libc::time_t;
type GetcpuFn =
    extern "C" fn(*mut libc::c_uint, *mut libc::c_uint, *mut libc::c_void) -> libc::c_int;
/// `u32 try_unlock(u32 *lock, u32 tid, void *pending)`, as the x86 entries of Linux 7.2 take their
/// arguments (rdi, esi, rdx) and return (eax).
pub type FutexFn = extern "C" fn(*mut u32, u32, *mut libc::c_void) -> u32;

/// The child: set up the path (remap), take the samples, report, `_exit`. Async-signal-safe only.
///
/// # Safety
///
/// Must run in a freshly forked child; `job.entry` must be the address of the vDSO function `job.func`
/// on `job.path` (or 0 for the syscall and libc paths).
pub(super) unsafe fn child_main(job: &Job, fd: libc::c_int) -> ! {
    let mut report = Report {
        status: 0,
        n: 0,
        recs: [[0; 9]; MAX_SAMPLES],
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
    if report.status == 0 && job.fallback_probe {
        // SAFETY: we are the child; the filter dies with us.
        match unsafe { super::probe::deny_clock_gettime() } {
            Ok(()) => {
                // SAFETY: `entry` is clock_gettime's entry point on this path (function contract).
                report.recs[0][6] = i64::from(unsafe { call_once(job, entry) });
                report.n = 1;
            }
            Err(e) => report.status = -i64::from(e),
        }
    } else if report.status == 0 && job.bench_calls > 0 {
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
        for k in 0..usize::from(job.samples).clamp(1, MAX_SAMPLES) {
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

pub(super) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(1)
}

pub(super) fn ts_now(clock: i32) -> libc::timespec {
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
    // SAFETY: the caller's contract, forwarded to the function's sampler.
    unsafe {
        match job.func {
            Func::ClockGettime => sample_clock_gettime(job, entry),
            Func::Gettimeofday => sample_gettimeofday(job, entry),
            Func::Time => sample_time(job, entry),
            Func::ClockGetres => sample_clock_getres(job, entry),
            Func::Getrandom => sample_getrandom(job, entry),
            Func::FutexUnlock64 | Func::FutexUnlock32 => sample_futex(job, entry),
            Func::Getcpu => sample_getcpu(job, entry),
        }
    }
}

/// [`sample`] of ClockGettime.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_clock_gettime(job: &Job, entry: u64) -> Rec {
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
    [
        b.tv_sec, b.tv_nsec, v.tv_sec, v.tv_nsec, a.tv_sec, a.tv_nsec, ret as i64, 0, 0,
    ]
}

/// [`sample`] of Gettimeofday.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_gettimeofday(job: &Job, entry: u64) -> Rec {
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
    [
        b.tv_sec,
        b.tv_usec.wrapping_mul(1000),
        v.tv_sec,
        v.tv_usec.wrapping_mul(1000),
        a.tv_sec,
        a.tv_usec.wrapping_mul(1000),
        ret as i64,
        0,
        0,
    ]
}

/// [`sample`] of Time.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_time(job: &Job, entry: u64) -> Rec {
    // time() reads the coarse realtime seconds (the timekeeper's xtime_sec, which the vDSO data
    // page mirrors), not CLOCK_REALTIME truncated: bracketed by CLOCK_REALTIME_COARSE syscalls it
    // must agree exactly, with no second of slack. The syscall path is SYS_time itself.
    let now = || ts_now(libc::CLOCK_REALTIME_COARSE).tv_sec;
    let b = now();
    let v = match job.path {
        // SAFETY: the raw time syscall with a null argument.
        CallPath::Syscall => unsafe {
            libc::syscall(libc::SYS_time, std::ptr::null_mut::<libc::time_t>())
        },
        // SAFETY: libc's time with a null argument.
        CallPath::Libc => unsafe { libc::time(std::ptr::null_mut()) },
        _ => {
            // SAFETY: `entry` is time's entry point on this path.
            let f: TimeFn = unsafe { std::mem::transmute(entry as usize) };
            f(std::ptr::null_mut())
        }
    };
    let a = now();
    [b, 0, v, 0, a, 0, 0, 0, 0]
}

/// [`sample`] of ClockGetres.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_clock_getres(job: &Job, entry: u64) -> Rec {
    let mut r: Rec = [0; 9];
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
    let ns = |t: &libc::timespec| t.tv_sec.wrapping_mul(1_000_000_000).wrapping_add(t.tv_nsec);
    r[6] = ret as i64;
    r[7] = ns(&want);
    r[8] = ns(&v);
    r
}

/// [`sample`] of FutexUnlock64 | FutexUnlock32.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_futex(job: &Job, entry: u64) -> Rec {
    let mut r: Rec = [0; 9];
    // Each case on fresh memory of ours: the lock word and the pending-op slot.
    let wide = job.func == Func::FutexUnlock64;
    for (k, &lock0) in crate::verify::FUTEX_CASES.iter().enumerate() {
        let mut lock = lock0;
        let mut pending = crate::verify::FUTEX_PENDING;
        let tid = crate::verify::FUTEX_TID;
        let ret = if job.path == CallPath::Syscall {
            // No syscall does this: the reference is the model, on the same memory.
            let m = crate::verify::futex_model(wide, lock, tid, pending);
            (lock, pending) = (m.lock, m.pending);
            m.ret
        } else {
            // SAFETY: `entry` is the try-unlock entry point on this path; it reads and
            // writes only `lock` (4 bytes) and `pending` (8 bytes, or 4), both ours.
            let f: FutexFn = unsafe { std::mem::transmute(entry as usize) };
            f(
                &mut lock,
                tid,
                &mut pending as *mut u64 as *mut libc::c_void,
            )
        };
        r[3 * k] = i64::from(ret);
        r[3 * k + 1] = i64::from(lock);
        r[3 * k + 2] = pending as i64;
    }
    r
}

/// [`sample`] of Getcpu.
///
/// # Safety
///
/// As [`sample`].
unsafe fn sample_getcpu(job: &Job, entry: u64) -> Rec {
    let mut r: Rec = [0; 9];
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
    r
}

/// The typed record of one raw sample of `f` (see [`Rec`] for the raw layout each function uses).
pub(super) fn decode(f: Func, r: &Rec) -> Record {
    let ns = |s: i64, n: i64| s as Nanos * NS_PER_SEC + n as Nanos;
    match f {
        Func::ClockGetres | Func::Getcpu => Record::Exact {
            expected: r[7],
            got: r[8],
            ret: r[6],
        },
        Func::Getrandom => Record::Random {
            requested: GETRANDOM_LEN as i64,
            rets: [r[2], r[3]],
            heads: [r[0], r[1]],
            constant: [r[4] != 0, r[5] != 0],
        },
        Func::FutexUnlock64 | Func::FutexUnlock32 => {
            let state = |k: usize| crate::verify::FutexState {
                ret: r[3 * k] as u32,
                lock: r[3 * k + 1] as u32,
                pending: r[3 * k + 2] as u64,
            };
            Record::Futex {
                wide: f == Func::FutexUnlock64,
                after: [state(0), state(1)],
            }
        }
        Func::ClockGettime | Func::Gettimeofday | Func::Time => Record::Bracketed(Sample {
            before: ns(r[0], r[1]),
            value: ns(r[2], r[3]),
            after: ns(r[4], r[5]),
            ret: r[6],
        }),
    }
}
