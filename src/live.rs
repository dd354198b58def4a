//! The running kernel's vDSO: where the kernel mapped it, its bytes (copied into an owned buffer and then
//! parsed with the same safe code as any file) and the layout of its special mappings.
//!
//! This is the only module of the crate allowed `unsafe` (the crate root denies it).
//!
//! # Safety
//!
//! These operations need it here (and in its submodules: `lab` prepares experiments, `sample` is what a
//! child runs, `remap` moves the special mappings in a child, `timens` makes a time namespace):
//!
//! * `getauxval(AT_SYSINFO_EHDR)`: a plain libc call with no pointer arguments; it reads the auxiliary
//!   vector the kernel put on the initial stack, which libc keeps for the life of the process.
//! * Calling into vDSO code that is not where the kernel put it (`lab`: remapped, copied and patched
//!   images, stale entries on purpose) and through arbitrary addresses (tests). This is sound only
//!   because it never happens in this process: every such call runs in a forked child ([`lab`]'s
//!   runner) whose whole memory is thrown away; whatever the code does — crash, loop, scribble — ends
//!   as that child's exit status, a signal, or the runner's deadline. The parent only maps, writes and
//!   protects areas it owns (`lab::Area`), and reads the child's report as plain integers.
//! * `fork` in a possibly multi-threaded process (`cargo test`). After the fork only the forking thread
//!   exists in the child; a lock another thread held stays held forever. The children of the vDSO paths
//!   do only async-signal-safe work (raw syscalls, calls into vDSO code, `write`, `_exit`) on memory
//!   prepared before the fork. The `libc` path is the exception: glibc's `clock_gettime`, `time`,
//!   `getrandom` and friends are not async-signal-safe in general. What bounds the risk: they take no
//!   locks and do not allocate on these calls (they jump to the vDSO, or make the syscall), and if one
//!   ever did block, the runner's deadline kills the child and reports `TIMED OUT` — a false verdict at
//!   worst, never a hang or memory corruption in the parent.
//! * Reading the `[vdso]` mapping through a raw pointer. The range read is the exact `[vdso]` range that
//!   `/proc/self/maps` reports at that moment, that it reports as readable, and that contains the address
//!   the kernel handed us. The kernel keeps the mapping for the life of the process; nothing in this crate
//!   unmaps or moves the vDSO of the calling process (experiments that `mremap` it run in forked
//!   children). The bytes are copied out at once and never referenced through the pointer again.
//!
//! The submodules [`child`] (fork, pipe, kill, waitpid: contained execution) and [`subjects`] (calls
//! into the third-party parsers compiled by `vdso-lab-subjects`) state their own Safety sections.

#![allow(unsafe_code)]

pub mod child;
pub mod init;
pub mod lab;
pub mod probe;
mod remap;
mod sample;
pub mod subjects;
pub mod timens;
pub mod victim;

use crate::layout::{Layout, MapsError, Role};
use std::fmt;

/// The live vDSO of this process.
#[derive(Debug, Clone)]
pub struct LiveVdso {
    /// Address the kernel mapped the image at (`AT_SYSINFO_EHDR`).
    pub base: u64,
    /// A copy of the whole `[vdso]` mapping (the ELF object plus page padding).
    pub bytes: Vec<u8>,
    /// The special mappings of this process.
    pub layout: Layout,
}

/// Why the live vDSO could not be read.
#[derive(Debug)]
pub enum LiveError {
    /// `/proc/self/maps` could not be read.
    Maps(std::io::Error),
    /// `/proc/self/maps` did not parse.
    BadMaps(MapsError),
    /// The kernel passed an AT_SYSINFO_EHDR that no readable `[vdso]` mapping contains.
    NotMapped(u64),
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Maps(e) => write!(f, "cannot read /proc/self/maps: {e}"),
            LiveError::BadMaps(e) => write!(f, "/proc/self/maps: {e}"),
            LiveError::NotMapped(a) => write!(
                f,
                "AT_SYSINFO_EHDR is {a:#x} but no readable [vdso] mapping starts there"
            ),
        }
    }
}
impl std::error::Error for LiveError {}

/// The address of the vDSO the kernel mapped into this process, or `None` when it mapped none
/// (`vdso=0` on the kernel command line, some architectures, or a static binary under an emulator).
pub fn vdso_base() -> Option<u64> {
    // SAFETY: getauxval takes an integer and returns an integer; it reads libc's copy of the auxiliary
    // vector, which lives as long as the process. 0 means "no such entry".
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    (base != 0).then_some(base as u64)
}

/// The layout of this process's special mappings.
pub fn self_layout() -> Result<Layout, LiveError> {
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(LiveError::Maps)?;
    Layout::from_maps(&maps).map_err(LiveError::BadMaps)
}

/// Read the live vDSO. `Ok(None)` when the kernel gave this process no vDSO.
pub fn read() -> Result<Option<LiveVdso>, LiveError> {
    let Some(base) = vdso_base() else {
        return Ok(None);
    };
    let layout = self_layout()?;
    let m = layout
        .get(Role::Vdso)
        .filter(|m| m.start == base && m.perms[0] == b'r' && !m.is_empty())
        .copied()
        .ok_or(LiveError::NotMapped(base))?;
    let len = usize::try_from(m.len()).map_err(|_| LiveError::NotMapped(base))?;
    // SAFETY: [base, base + len) is the `[vdso]` mapping /proc/self/maps reports as readable and starting
    // at the kernel-provided AT_SYSINFO_EHDR; it stays mapped for the life of this process (see the
    // module's Safety section), and the slice is copied into an owned Vec before this statement ends.
    let bytes = unsafe { std::slice::from_raw_parts(base as usize as *const u8, len) }.to_vec();
    Ok(Some(LiveVdso {
        base,
        bytes,
        layout,
    }))
}

/// Let SIGPIPE end the process, as it ends C tools: `vdso-lab check | head -1` then stops quietly
/// instead of panicking on the closed pipe (Rust's runtime ignores SIGPIPE, so every `println!` after
/// the reader left would fail).
pub fn sigpipe_default() {
    // SAFETY: restores the default disposition of one signal; no handler runs Rust code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
