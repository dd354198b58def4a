//! The process-level operations of `vdso-lab victim` and `restore-test` that need `unsafe`: moving and
//! unmapping the calling process's own special mappings (the scenarios), waiting for a signal, time
//! namespaces, the caller threads, and the process plumbing of the restore loop (subreaper, kill,
//! waitpid with a deadline). The victim's logic lives in `crate::victim`; this file only wraps the
//! calls.
//!
//! # Safety
//!
//! The scenario operations move or unmap the caller's `[vvar]`/`[vvar_vclock]`/`[vdso]`. Nothing in
//! this crate dereferences those mappings afterwards except `crate::live::lab::run_at`, which calls
//! addresses in forked children (a crash there is a verdict). The C library keeps its own pointers into
//! the vDSO (and Rust's `Instant`/`SystemTime` go through libc's `clock_gettime`), so once a scenario
//! has moved or unmapped the vDSO the victim takes no time readings in its own process: its checks run
//! in children. The caller threads call a cached entry that was valid when they started; if a restore
//! breaks it the process dies, and that death is the restore loop's finding.

use crate::layout::Layout;
use crate::verify::{Nanos, NS_PER_SEC};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

fn last_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Clock ids the kernel accepts (`clock_getres` succeeds), with their resolutions, by raw syscall.
pub fn clocks() -> Vec<(i32, Nanos)> {
    (0..12)
        .filter_map(|c| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a raw clock_getres syscall writing one timespec we own.
            let r = unsafe { libc::syscall(libc::SYS_clock_getres, c, &mut ts) };
            (r == 0).then_some((c, ts.tv_sec as Nanos * NS_PER_SEC + ts.tv_nsec as Nanos))
        })
        .collect()
}

/// Move every movable special mapping of this process together, distances kept, to a fresh place at
/// least 64 MiB away. Returns the displacement (new minus old).
pub fn move_special(layout: &Layout) -> Result<i64, String> {
    let maps: Vec<_> = layout.movable().copied().collect();
    let (Some(first), Some(last)) = (maps.first(), maps.iter().map(|m| m.end).max()) else {
        return Err("no special mappings to move".into());
    };
    let total = (last - first.start) as usize;
    let hint = first.start.saturating_sub(64 << 20);
    // SAFETY: an anonymous, non-fixed reservation; it cannot replace existing mappings.
    let hole = unsafe {
        libc::mmap(
            hint as *mut libc::c_void,
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if hole == libc::MAP_FAILED {
        return Err(last_err("mmap"));
    }
    let new_first = hole as u64;
    for m in &maps {
        let to = new_first + (m.start - first.start);
        // SAFETY: moves one of our own special mappings onto our own reservation (see the module's
        // Safety section for why nothing uses the old addresses afterwards).
        let p = unsafe {
            libc::mremap(
                m.start as *mut libc::c_void,
                m.len() as usize,
                m.len() as usize,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                to as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(last_err("mremap"));
        }
    }
    Ok(new_first.wrapping_sub(first.start) as i64)
}

/// Unmap `[start, end)` of this process (a special mapping, for the `unmapped` scenarios).
pub fn unmap(start: u64, end: u64) -> Result<(), String> {
    // SAFETY: unmaps one of our own special mappings; see the module's Safety section.
    let r = unsafe { libc::munmap(start as *mut libc::c_void, (end - start) as usize) };
    if r != 0 {
        return Err(last_err("munmap"));
    }
    Ok(())
}

fn sigset(sigs: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise a sigset_t we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block `sigs` in this thread (and the threads it starts later), so they wait for [`wait_signal`].
pub fn block(sigs: &[i32]) {
    let set = sigset(sigs);
    // SAFETY: changes this thread's signal mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Wait until one of the (blocked) `sigs` arrives; returns it. Interruptions (a checkpoint's ptrace
/// stop, a restore) restart the wait.
pub fn wait_signal(sigs: &[i32]) -> i32 {
    let set = sigset(sigs);
    loop {
        // SAFETY: waits for a signal of our own blocked set; no siginfo is requested.
        let s = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if s > 0 {
            return s;
        }
    }
}

/// Enter a new time namespace with `offsets` (`/proc/self/timens_offsets` lines) and fork: the child
/// returns `Ok(None)` and is the victim (a time namespace applies to children only); the parent returns
/// `Ok(Some(pid))` of the child.
pub fn fork_into_timens(offsets: &[u8]) -> Result<Option<u32>, String> {
    // SAFETY: unshare affects this process; CLONE_NEWTIME takes effect in its future children.
    if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 {
        return Err(last_err("unshare(CLONE_NEWTIME)"));
    }
    std::fs::write("/proc/self/timens_offsets", offsets)
        .map_err(|e| format!("/proc/self/timens_offsets: {e}"))?;
    // SAFETY: the victim is single-threaded when it forks here; both sides continue in Rust.
    match unsafe { libc::fork() } {
        -1 => Err(last_err("fork")),
        0 => Ok(None),
        pid => Ok(Some(pid as u32)),
    }
}

/// Make this process the reaper of its orphaned descendants (a restored victim that `criu restore -d`
/// leaves behind becomes our child, so we can wait for it).
pub fn set_child_subreaper() -> Result<(), String> {
    // SAFETY: a prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(last_err("prctl(PR_SET_CHILD_SUBREAPER)"));
    }
    Ok(())
}

/// Send `sig` to `pid`.
pub fn kill(pid: u32, sig: i32) -> Result<(), String> {
    // SAFETY: kill takes integers.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
        return Err(last_err("kill"));
    }
    Ok(())
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Wait for our child (or adopted orphan) `pid` for at most `ms` milliseconds; `None` on timeout.
pub fn wait_child(pid: u32, ms: u64) -> Option<Exit> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        let mut st = 0;
        // SAFETY: waitpid on a pid, non-blocking, into our integer.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut st, libc::WNOHANG) };
        if r == pid as libc::pid_t {
            return Some(if libc::WIFSIGNALED(st) {
                Exit::Signal(libc::WTERMSIG(st))
            } else {
                Exit::Code(libc::WEXITSTATUS(st))
            });
        }
        if r < 0 || std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Threads that call `clock_gettime(CLOCK_MONOTONIC)` through a cached entry in a loop until stopped,
/// counting calls and anomalies (an error return, a zero reading, a reading that went backwards).
pub struct Callers {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    anomalies: Arc<AtomicU64>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

type ClockFn = extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;

impl Callers {
    /// Start `n` threads calling the function at `entry`.
    ///
    /// `entry` must be the address of a vDSO `clock_gettime` that works when the threads start; if a
    /// restore breaks it, the process crashes, which the restore loop reports as the victim's death.
    pub fn start(entry: u64, n: usize) -> Callers {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let anomalies = Arc::new(AtomicU64::new(0));
        let handles = (0..n)
            .map(|_| {
                let (stop, calls, anomalies) = (stop.clone(), calls.clone(), anomalies.clone());
                std::thread::spawn(move || {
                    // SAFETY: `entry` is a working clock_gettime (the constructor's contract); a restore
                    // that breaks it kills the process, which is the finding.
                    let f: ClockFn = unsafe { std::mem::transmute(entry as usize) };
                    let mut prev = 0i128;
                    while !stop.load(Ordering::Relaxed) {
                        let mut ts = libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        };
                        let r = f(libc::CLOCK_MONOTONIC, &mut ts);
                        let v = ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128;
                        if r != 0 || v == 0 || v < prev {
                            anomalies.fetch_add(1, Ordering::Relaxed);
                        }
                        prev = v;
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Callers {
            stop,
            calls,
            anomalies,
            handles,
        }
    }

    /// Stop and join the threads; (calls, anomalies).
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.join();
        }
        (
            self.calls.load(Ordering::Relaxed),
            self.anomalies.load(Ordering::Relaxed),
        )
    }
}

/// `fork()`: `Ok(None)` in the child, `Ok(Some(pid))` in the parent. Call only while single-threaded
/// (the victim forks before it starts any thread; both sides continue in Rust).
pub fn fork_plain() -> Result<Option<u32>, String> {
    // SAFETY: the caller is single-threaded (contract above), so the child may run arbitrary code.
    match unsafe { libc::fork() } {
        -1 => Err(last_err("fork")),
        0 => Ok(None),
        pid => Ok(Some(pid as u32)),
    }
}

/// Become a session leader (zdtm's test child does, CRIU test/zdtm/lib/test.c `test_init`). Fails
/// (EPERM) in a process-group leader, e.g. a command an interactive shell started.
pub fn setsid() -> Result<(), String> {
    // SAFETY: setsid takes no arguments and touches no memory of ours.
    if unsafe { libc::setsid() } < 0 {
        return Err(format!(
            "setsid: {} (a process-group leader cannot lead a new session; start it through setsid(1))",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// A pipe (close-on-exec) as two files: (read end, write end).
pub fn pipe() -> Result<(std::fs::File, std::fs::File), String> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fresh descriptors into our array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_err("pipe2"));
    }
    // SAFETY: both descriptors are fresh and owned by nothing else; each File takes one.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

/// A raw `clock_gettime` syscall (never the vDSO, which a scenario may have moved or unmapped).
pub fn now(clock: i32) -> Nanos {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a raw syscall writing one timespec we own.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, &mut ts) };
    ts.tv_sec as Nanos * NS_PER_SEC + ts.tv_nsec as Nanos
}
