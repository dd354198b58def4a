//! Remapping in a child: every special mapping moved together to a fresh place with `mremap`, distances
//! kept, as a remap-in-place restore does. [`RemapJob`] is what the parent prepares (fixed size: children
//! must not allocate); [`remap_all`] is what the child does.

use super::sample::errno;

/// What a remapped child does (fixed size: children must not allocate).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RemapJob {
    pub(super) maps: [(u64, u64); 4],
    pub(super) count: usize,
    pub(super) total: u64,
    pub(super) first: u64,
    pub(super) hint: u64,
}

/// Move every special mapping together to a fresh place; returns the new address of the first one.
///
/// # Safety
///
/// Child only: the calling process loses its special mappings at their old addresses.
pub(super) unsafe fn remap_all(r: &RemapJob) -> Result<u64, i64> {
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
