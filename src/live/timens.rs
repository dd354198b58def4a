//! Time namespaces: the offsets an experiment's namespace gets, and the child that creates it
//! (`unshare(CLONE_NEWTIME)` applies to the caller's future children, so it forks the experiment into it).

use super::sample::{child_main, errno, Job, Report, MAX_SAMPLES};
use crate::verify::{Nanos, NS_PER_SEC};

/// The offsets the time-namespace scenario writes to `/proc/self/timens_offsets` (`<clockid> <sec>
/// <nsec>` per line): CLOCK_MONOTONIC +10 days, CLOCK_BOOTTIME +20 days — what a restorer writes so
/// that monotonic time continues from where the checkpointed process saw it.
pub const TIMENS_OFFSETS: &[u8] = b"1 864000 0\n7 1728000 0\n";
/// The same offsets in ns, per clock id, for checking them (MONOTONIC's apply to its COARSE and RAW
/// variants, BOOTTIME's to BOOTTIME_ALARM; other clocks are not namespaced).
/// The offsets of the time namespace this process runs in, from `/proc/self/timens_offsets` (lines
/// `monotonic <s> <ns>` and `boottime <s> <ns>`): (monotonic, boottime) in ns. Zero where the file is
/// absent (no CONFIG_TIME_NS, so no namespaces) or a line is missing. A new namespace's offsets are
/// relative to the host's clocks, not to its parent's, so an experiment run from inside a namespace
/// sees its own offset less this one.
pub fn own_offsets() -> (Nanos, Nanos) {
    let text = std::fs::read_to_string("/proc/self/timens_offsets").unwrap_or_default();
    let mut out = (0, 0);
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(name), Some(s), Some(ns)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        let (Ok(s), Ok(ns)) = (s.parse::<i64>(), ns.parse::<i64>()) else {
            continue;
        };
        let v = Nanos::from(s) * NS_PER_SEC + Nanos::from(ns);
        match name {
            "monotonic" | "1" => out.0 = v,
            "boottime" | "7" => out.1 = v,
            _ => {}
        }
    }
    out
}

/// What a clock's offset is in the namespace `offsets` (monotonic, boottime) describes.
pub fn offset_of(clock: i32, offsets: (Nanos, Nanos)) -> Nanos {
    match clock {
        1 | 4 | 6 => offsets.0,
        7 | 9 => offsets.1,
        _ => 0,
    }
}

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
pub(super) unsafe fn child_timens(job: &Job, fd: libc::c_int) -> ! {
    let fail = |e: i32| -> ! {
        let report = Report {
            status: -i64::from(e),
            n: 0,
            recs: [[0; 9]; MAX_SAMPLES],
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
        // SAFETY: prctl with integer arguments: die with the parent, so that a grandchild whose path
        // hangs ends when the runner kills its parent at the deadline instead of spinning on as an
        // orphan. Then the experiment, per the function's contract.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            child_main(job, fd)
        }
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
