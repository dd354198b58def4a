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
        self.end - self.start
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

    /// The first mapping with this role.
    pub fn get(&self, role: Role) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.role == role)
    }

    /// The mappings a restorer relocates (`[vsyscall]` excluded), in address order.
    pub fn movable(&self) -> impl Iterator<Item = &Mapping> + '_ {
        self.mappings.iter().filter(|m| m.role != Role::Vsyscall)
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
    fn garbage_names_the_line() {
        let e = Layout::from_maps("7f00-7f10 r--p 0 00:00 0 [vdso]\nhello\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = Layout::from_maps("7f10-7f00 r--p 0 00:00 0 [vdso]\n").unwrap_err();
        assert_eq!((e.line, e.field), (1, "address range (end before start)"));
        let e = Layout::from_maps("7f00-7f10 r--p 0 00:00 x [vdso]\n").unwrap_err();
        assert_eq!(e.field, "inode");
    }
}
