//! Contained execution: run a piece of code in a forked child with one time limit, so that a crash or an
//! endless loop in it (third-party parsers fed malformed images, experiments on the live vDSO) becomes a
//! verdict instead of taking the lab down.
//!
//! [`run`] forks; the child runs the closure on a buffer allocated *before* the fork, writes the bytes
//! the closure reported over a pipe and `_exit`s. The parent reads the pipe against one deadline for the
//! whole run (poll and read restart on `EINTR`), kills the child with `SIGKILL` when the deadline
//! passes, and reaps it with non-blocking `waitpid` polls bounded by a grace period, so no step can
//! block forever.
//!
//! # Safety
//!
//! `cargo test` and the CLI may be multi-threaded when they fork: the child may then only do
//! async-signal-safe work until it exits (another thread may have held the allocator's lock at the
//! fork). The child here touches only the pre-allocated buffer, `write(2)` and `_exit(2)`; the closure
//! must keep to the same rules (no allocation, no locks, no stdio). If the closure panics, a guard's
//! destructor `_exit`s with [`PANIC_STATUS`] before unwinding can go further.

use std::io;
use std::time::Duration;

/// A point on CLOCK_MONOTONIC read with the raw syscall. `std::time::Instant` goes through libc's
/// `clock_gettime`, which calls the vDSO pointer libc cached at start-up; the victim runs this runner
/// after a scenario unmapped its vDSO, where that pointer leads nowhere (seen: SIGSEGV in the parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Instant(Duration);

impl Instant {
    fn now() -> Instant {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: the raw clock_gettime syscall writes one timespec we own.
        unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts) };
        Instant(Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        ))
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl std::ops::Sub for Instant {
    type Output = Duration;
    fn sub(self, o: Instant) -> Duration {
        self.0.saturating_sub(o.0)
    }
}

/// Exit status of a child whose closure panicked.
pub const PANIC_STATUS: i32 = 125;
/// How long the parent waits for a killed (or finished) child to be reaped before giving up on it.
/// `SIGKILL` cannot be caught, so only a child stuck in the kernel takes longer; 2 s is generous.
const REAP_GRACE: Duration = Duration::from_secs(2);

/// How the child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `_exit(code)`: 0 after the closure returned.
    Code(i32),
    /// Killed by this signal (not by us).
    Signal(i32),
    /// Still running at the deadline: killed with SIGKILL.
    Hang,
    /// Could not be reaped within the grace period after the deadline (left as a zombie-to-be).
    Lost,
}

/// What a contained run produced.
#[derive(Debug, Clone)]
pub struct Contained {
    pub exit: Exit,
    /// The bytes the child wrote (at most the buffer length it was given).
    pub output: Vec<u8>,
}

struct ExitOnUnwind;
impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: _exit is async-signal-safe and ends the child at once; it only runs if the closure
        // unwound (the normal path forgets the guard).
        unsafe { libc::_exit(PANIC_STATUS) }
    }
}

/// Run `f` in a forked child with `limit` as the deadline for the whole run; `f` fills the buffer of
/// `buf_len` bytes it is given and returns how many bytes of it to send back. See the module docs for
/// what `f` may do.
pub fn run<F: FnOnce(&mut [u8]) -> usize>(
    limit: Duration,
    buf_len: usize,
    f: F,
) -> io::Result<Contained> {
    let mut buf = vec![0u8; buf_len];
    contain(limit, buf_len, move |rd, wr| child(rd, wr, &mut buf, f))
}

/// As [`run`], but the child writes its result itself: `f` gets the pipe's write end (inherited by
/// any process it forks, which may write to it too) and at most `cap` bytes are kept. When `f` returns
/// the child `_exit`s with 0. The same rules hold for what `f` may do.
pub fn run_writer<F: FnOnce(i32)>(limit: Duration, cap: usize, f: F) -> io::Result<Contained> {
    contain(limit, cap, move |rd, wr| {
        close(rd);
        let guard = ExitOnUnwind;
        f(wr);
        std::mem::forget(guard);
        // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers and stdio.
        unsafe { libc::_exit(0) }
    })
}

/// Fork; the child runs `body(read end, write end)`, which never returns; the parent reads up to `cap`
/// bytes against one deadline, then reaps (or kills and reaps) the child.
fn contain(
    limit: Duration,
    cap: usize,
    body: impl FnOnce(i32, i32) -> std::convert::Infallible,
) -> io::Result<Contained> {
    let deadline = Instant::now() + limit;
    let buf_len = cap;
    let mut output = Vec::with_capacity(buf_len);
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: fork has no preconditions; the child below keeps to async-signal-safe work.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        close(rd);
        close(wr);
        return Err(e);
    }
    if pid == 0 {
        // `body` never returns (its result type has no values): the child ends inside it.
        body(rd, wr);
    }
    close(wr);
    let timed_out = read_until(rd, deadline, &mut output, buf_len);
    close(rd);
    let exit = if timed_out {
        kill(pid);
        match reap(pid, Instant::now() + REAP_GRACE) {
            Some(_) => Exit::Hang,
            None => Exit::Lost,
        }
    } else {
        match reap(pid, deadline) {
            Some(e) => e,
            None => {
                kill(pid);
                match reap(pid, Instant::now() + REAP_GRACE) {
                    Some(_) => Exit::Hang,
                    None => Exit::Lost,
                }
            }
        }
    };
    Ok(Contained { exit, output })
}

/// The child's side: run `f`, send the bytes, exit. Never returns.
fn child<F: FnOnce(&mut [u8]) -> usize>(
    rd: i32,
    wr: i32,
    buf: &mut [u8],
    f: F,
) -> std::convert::Infallible {
    close(rd);
    let guard = ExitOnUnwind;
    let n = f(buf).min(buf.len());
    std::mem::forget(guard);
    let mut sent = 0;
    while sent < n {
        // SAFETY: buf[sent..n] is initialised memory owned by this process; write only reads it.
        let w = unsafe { libc::write(wr, buf[sent..n].as_ptr().cast(), n - sent) };
        if w < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            break;
        }
        sent += w as usize;
    }
    // SAFETY: _exit is async-signal-safe; it skips atexit handlers and stdio flushing, which belong to
    // the parent.
    unsafe { libc::_exit(0) }
}

/// Read the pipe until EOF or the deadline; returns true on timeout. Keeps at most `cap` bytes.
fn read_until(rd: i32, deadline: Instant, out: &mut Vec<u8>, cap: usize) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        let ms = (deadline - now).as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut p = libc::pollfd {
            fd: rd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: p is one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return false; // the pipe is unusable: let reaping decide
        }
        if r == 0 {
            continue; // the loop head sees the deadline
        }
        // SAFETY: chunk is a writable buffer of chunk.len() bytes.
        let n = unsafe { libc::read(rd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 {
            if errno() == libc::EINTR || errno() == libc::EAGAIN {
                continue;
            }
            return false;
        }
        if n == 0 {
            return false;
        }
        let n = n as usize;
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..n.min(room)]);
    }
}

/// Poll `waitpid(WNOHANG)` until the child is reaped or `until` passes.
fn reap(pid: libc::pid_t, until: Instant) -> Option<Exit> {
    let mut pause = Duration::from_micros(50);
    loop {
        let mut status = 0;
        // SAFETY: status is a valid int for waitpid to fill; pid is our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(if libc::WIFSIGNALED(status) {
                Exit::Signal(libc::WTERMSIG(status))
            } else {
                Exit::Code(libc::WEXITSTATUS(status))
            });
        }
        if r < 0 && errno() != libc::EINTR {
            return None; // ECHILD: someone else reaped it
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

fn kill(pid: libc::pid_t) {
    // SAFETY: pid is our own child, not yet reaped, so the id cannot have been reused.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

fn close(fd: i32) {
    // SAFETY: fd is a descriptor this module opened and closes once.
    unsafe { libc::close(fd) };
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The name of a signal number (`SIGSEGV`), for verdicts.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        s => format!("signal {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_bytes_the_child_wrote() {
        let r = run(Duration::from_secs(5), 16, |b| {
            b[..5].copy_from_slice(b"hello");
            5
        })
        .unwrap();
        assert_eq!(r.exit, Exit::Code(0));
        assert_eq!(r.output, b"hello");
    }

    #[test]
    fn a_looping_child_is_killed_at_the_deadline() {
        let t0 = std::time::Instant::now();
        let r = run(Duration::from_millis(200), 16, |_| loop {
            std::hint::spin_loop();
        })
        .unwrap();
        assert_eq!(r.exit, Exit::Hang);
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    }
}
