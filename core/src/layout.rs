//! The special mappings of a process as a value: `[vvar]`, `[vvar_vclock]`, `[vdso]` (the ones a restorer
//! moves) and `[vsyscall]` (noted, never moved), with their ranges and order.
//!
//! Data enters as `/proc/PID/maps` text ([`Layout::from_maps`]); every line is checked for the
//! `start-end perms offset dev inode [name]` shape, and garbage gets a [`MapsError`] naming the line.
//!
//! Facts (Linux `arch/x86/entry/vdso/vma.c`, `lib/vdso/datastore.c`): the data pages sit at a fixed
//! distance before the code: `[vvar]` then `[vdso]`; from 5.6 `[vvar]` holds a time-namespace page; from
//! 6.13 the clock pages moved to a separate `[vvar_vclock]` between them. On this project's machines
//! (6.18, x86-64) the layout is `[vvar]` 4 pages, `[vvar_vclock]` 2 pages, `[vdso]` 2 pages.

use std::fmt;

/// What a special mapping is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Vvar,
    VvarVclock,
    Vdso,
    Vsyscall,
}

impl Role {
    /// The name the kernel gives the mapping in `/proc/PID/maps`.
    pub fn maps_name(self) -> &'static str {
        match self {
            Role::Vvar => "[vvar]",
            Role::VvarVclock => "[vvar_vclock]",
            Role::Vdso => "[vdso]",
            Role::Vsyscall => "[vsyscall]",
        }
    }
    fn from_maps_name(s: &str) -> Option<Role> {
        [Role::Vvar, Role::VvarVclock, Role::Vdso, Role::Vsyscall]
            .into_iter()
            .find(|r| r.maps_name() == s)
    }
}

/// One special mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Mapping {
    pub role: Role,
    pub start: u64,
    pub end: u64,
    /// `r-xp`-style permissions as the kernel printed them.
    #[serde(skip)]
    pub perms: [u8; 4],
}

impl Mapping {
    pub fn len(&self) -> u64 {
        // `from_maps` and `shifted` never build an inverted range; a hand-made one reads as empty.
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    pub fn perms(&self) -> &str {
        std::str::from_utf8(&self.perms).unwrap_or("????")
    }
}

/// The special mappings of one process, sorted by address.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Layout {
    pub mappings: Vec<Mapping>,
}

/// A `/proc/PID/maps` line that is not `start-end perms offset dev inode [name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsError {
    /// 1-based line number.
    pub line: usize,
    /// Which part of the line is wrong.
    pub field: &'static str,
}

impl fmt::Display for MapsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "maps line {}: bad {}", self.line, self.field)
    }
}
impl std::error::Error for MapsError {}

impl Layout {
    /// Parse `/proc/PID/maps` text and keep the special mappings. Lines may be of any process.
    pub fn from_maps(text: &str) -> Result<Layout, MapsError> {
        let mut mappings = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |field| MapsError { line: i + 1, field };
            if line.trim().is_empty() {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let range = parts.next().ok_or_else(|| bad("address range"))?;
            let (s, e) = range.split_once('-').ok_or_else(|| bad("address range"))?;
            let start = u64::from_str_radix(s, 16).map_err(|_| bad("start address"))?;
            let end = u64::from_str_radix(e, 16).map_err(|_| bad("end address"))?;
            if end < start {
                return Err(bad("address range (end before start)"));
            }
            let perms = parts.next().ok_or_else(|| bad("permissions"))?.as_bytes();
            if perms.len() != 4 {
                return Err(bad("permissions"));
            }
            let offset = parts.next().ok_or_else(|| bad("offset"))?;
            u64::from_str_radix(offset, 16).map_err(|_| bad("offset"))?;
            let dev = parts.next().ok_or_else(|| bad("device"))?;
            if !dev.contains(':') {
                return Err(bad("device"));
            }
            let inode = parts.next().ok_or_else(|| bad("inode"))?;
            inode.parse::<u64>().map_err(|_| bad("inode"))?;
            let name = parts.next().unwrap_or("");
            if let Some(role) = Role::from_maps_name(name) {
                mappings.push(Mapping {
                    role,
                    start,
                    end,
                    perms: [perms[0], perms[1], perms[2], perms[3]],
                });
            }
        }
        mappings.sort_by_key(|m| m.start);
        Ok(Layout { mappings })
    }

    /// The layout with each run of adjacent mappings of one role (a `[vvar]` the kernel shows as two
    /// VMAs in `/proc/PID/maps`) merged into one mapping; `None` when there is nothing to merge.
    pub fn merged(&self) -> Option<Layout> {
        let split = self
            .mappings
            .windows(2)
            .any(|w| w[0].role == w[1].role && w[0].end == w[1].start);
        if !split {
            return None;
        }
        let mut out: Vec<Mapping> = Vec::with_capacity(self.mappings.len());
        for m in &self.mappings {
            match out.last_mut() {
                Some(l) if l.role == m.role && l.end == m.start => l.end = m.end,
                _ => out.push(*m),
            }
        }
        Some(Layout { mappings: out })
    }

    /// The first mapping with this role.
    pub fn get(&self, role: Role) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.role == role)
    }

    /// The mappings a restorer relocates (`[vsyscall]` excluded), in address order.
    pub fn movable(&self) -> impl Iterator<Item = &Mapping> + '_ {
        self.mappings.iter().filter(|m| m.role != Role::Vsyscall)
    }
}

/// The special-mapping layouts kernels have used, as named presets (for images cut from kernel files,
/// where no process shows the layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Era {
    /// Only `[vdso]`: the data lives inside the vDSO image or in a fixed page (old ppc, s390 before
    /// the generic vDSO).
    NoVvar,
    /// `[vvar]` (data pages) directly before `[vdso]`: x86 since 3.16 and the generic-vDSO arches.
    VvarBeforeVdso,
    /// `[vdso]` directly before `[vvar]`: e.g. arm64 before 5.8 placed the data page after the code.
    VdsoBeforeVvar,
    /// `[vvar]` with a time-namespace page before `[vdso]` (5.6 and later).
    VvarTimens,
    /// 6.13 and later on x86: `[vvar]` (data and time-namespace pages), `[vvar_vclock]` (pvclock and
    /// hvclock pages), `[vdso]`, in that order.
    VclockSplit,
}

impl Era {
    pub const ALL: [Era; 5] = [
        Era::NoVvar,
        Era::VvarBeforeVdso,
        Era::VdsoBeforeVvar,
        Era::VvarTimens,
        Era::VclockSplit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Era::NoVvar => "no-vvar",
            Era::VvarBeforeVdso => "vvar-before-vdso",
            Era::VdsoBeforeVvar => "vdso-before-vvar",
            Era::VvarTimens => "vvar-timens",
            Era::VclockSplit => "vclock-split",
        }
    }

    pub fn by_name(name: &str) -> Option<Era> {
        Era::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The era a kernel of `version` (major, minor) used on an x86 (`x86`) or other architecture.
    /// Page counts follow x86 (`arch/x86/entry/vdso/vdso-layout.lds.S`): 3 data pages before 5.6
    /// (vvar, pvclock, hvclock), 4 with the time-namespace page, and from 6.13 a 4-page `[vvar]` plus a
    /// 2-page `[vvar_vclock]`; other architectures: 1 data page, 2 with time namespaces.
    pub fn for_kernel(version: (u32, u32), x86: bool) -> Era {
        if x86 && version >= (6, 13) {
            Era::VclockSplit
        } else if version >= (5, 6) {
            Era::VvarTimens
        } else {
            Era::VvarBeforeVdso
        }
    }

    /// The data mappings of this era around a `[vdso]` of `vdso_pages` 4 KiB pages at `vdso_start`,
    /// as a layout (`x86` selects x86's page counts).
    pub fn layout(self, vdso_start: u64, vdso_pages: u64, x86: bool) -> Layout {
        self.layout_paged(vdso_start, vdso_pages, x86, 4096)
    }

    /// [`Era::layout`] for a kernel whose pages are `page` bytes (16 KiB and 64 KiB kernels map the
    /// same page counts, each page larger).
    pub fn layout_paged(self, vdso_start: u64, vdso_pages: u64, x86: bool, page: u64) -> Layout {
        let page = page.max(1);
        let m = |role, start: u64, pages: u64, perms: &[u8; 4]| Mapping {
            role,
            start,
            end: start + pages * page,
            perms: *perms,
        };
        let vdso = m(Role::Vdso, vdso_start, vdso_pages, b"r-xp");
        let vdso_end = vdso.end;
        let before = |pages: u64| vdso_start.saturating_sub(pages * page);
        let mappings = match self {
            Era::NoVvar => vec![vdso],
            Era::VvarBeforeVdso => {
                let n = if x86 { 3 } else { 1 };
                vec![m(Role::Vvar, before(n), n, b"r--p"), vdso]
            }
            Era::VdsoBeforeVvar => {
                let n = if x86 { 3 } else { 1 };
                vec![vdso, m(Role::Vvar, vdso_end, n, b"r--p")]
            }
            Era::VvarTimens => {
                let n = if x86 { 4 } else { 2 };
                vec![m(Role::Vvar, before(n), n, b"r--p"), vdso]
            }
            Era::VclockSplit => vec![
                m(Role::Vvar, before(6), 4, b"r--p"),
                m(Role::VvarVclock, before(2), 2, b"r--p"),
                vdso,
            ],
        };
        Layout { mappings }
    }
}

impl Layout {
    /// The era whose shape (roles in order, with their page counts ignored) this layout has.
    pub fn era(&self) -> Option<Era> {
        let roles: Vec<Role> = self.movable().map(|m| m.role).collect();
        Some(match roles.as_slice() {
            [Role::Vdso] => Era::NoVvar,
            [Role::Vvar, Role::Vdso] => {
                if self.get(Role::Vvar).is_some_and(|v| v.len() >= 4 * 4096) {
                    Era::VvarTimens
                } else {
                    Era::VvarBeforeVdso
                }
            }
            [Role::Vdso, Role::Vvar] => Era::VdsoBeforeVvar,
            [Role::Vvar, Role::VvarVclock, Role::Vdso] => Era::VclockSplit,
            _ => return None,
        })
    }

    /// The same layout moved by `delta` bytes, distances and order kept; `None` when a mapping would
    /// leave the 64-bit address space (below 0 or past the top).
    pub fn shifted(&self, delta: i64) -> Option<Layout> {
        let mappings = self
            .mappings
            .iter()
            .map(|m| {
                Some(Mapping {
                    start: m.start.checked_add_signed(delta)?,
                    end: m.end.checked_add_signed(delta)?,
                    ..*m
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Layout { mappings })
    }

    /// (role, offset from the `[vdso]` start (or the first mapping's), length) of every movable mapping:
    /// what a remap must keep.
    pub fn shape(&self) -> Vec<(Role, i64, u64)> {
        self.shape_iter().collect()
    }

    /// [`Layout::shape`] without collecting it (the planner compares two shapes per plan).
    pub fn shape_iter(&self) -> impl Iterator<Item = (Role, i64, u64)> + '_ {
        // Offsets from [vdso], or from the first mapping when there is none.
        let base = self
            .get(Role::Vdso)
            .or_else(|| self.movable().next())
            .map_or(0, |v| v.start);
        self.movable()
            .map(move |m| (m.role, m.start.wrapping_sub(base) as i64, m.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS_6_18: &str = "\
55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234                       /usr/bin/cat
7f12a8825000-7f12a8829000 r--p 00000000 00:00 0                          [vvar]
7f12a8829000-7f12a882b000 r--p 00000000 00:00 0                          [vvar_vclock]
7f12a882b000-7f12a882d000 r-xp 00000000 00:00 0                          [vdso]
7ffd1f1e0000-7ffd1f201000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn parses_the_6_18_layout() {
        let l = Layout::from_maps(MAPS_6_18).unwrap();
        let roles: Vec<Role> = l.mappings.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [Role::Vvar, Role::VvarVclock, Role::Vdso, Role::Vsyscall]
        );
        assert_eq!(l.get(Role::Vvar).unwrap().len(), 4 * 4096);
        assert_eq!(l.get(Role::VvarVclock).unwrap().len(), 2 * 4096);
        assert_eq!(l.get(Role::Vdso).unwrap().perms(), "r-xp");
        assert_eq!(l.movable().count(), 3);
    }

    #[test]
    fn eras_round_trip_through_their_shape() {
        for era in Era::ALL {
            for x86 in [false, true] {
                let l = era.layout(0x7f00_0000_0000, 2, x86);
                let vdso = l.get(Role::Vdso).unwrap();
                assert_eq!(vdso.start, 0x7f00_0000_0000);
                // Mappings are contiguous and sorted.
                for w in l.mappings.windows(2) {
                    assert_eq!(w[0].end, w[1].start, "{era:?}");
                }
                if !(era == Era::VvarBeforeVdso && x86) && era != Era::VvarTimens {
                    assert_eq!(l.era(), Some(era), "{era:?} x86={x86}");
                }
            }
        }
        let live = Layout::from_maps(MAPS_6_18).unwrap();
        assert_eq!(live.era(), Some(Era::VclockSplit));
        assert_eq!(
            live.shape(),
            Era::VclockSplit.layout(0x10_0000, 2, true).shape()
        );
    }

    #[test]
    fn garbage_names_the_line() {
        let e = Layout::from_maps("7f00-7f10 r--p 0 00:00 0 [vdso]\nhello\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = Layout::from_maps("7f10-7f00 r--p 0 00:00 0 [vdso]\n").unwrap_err();
        assert_eq!((e.line, e.field), (1, "address range (end before start)"));
        let e = Layout::from_maps("7f00-7f10 r--p 0 00:00 x [vdso]\n").unwrap_err();
        assert_eq!(e.field, "inode");
    }
}
