//! DT_HASH (SysV) and DT_GNU_HASH: structural validation at parse time, and three independent name
//! lookups (SysV chain walk, GNU bloom + chain walk, linear scan) whose agreement is checked per symbol.
//!
//! Layouts (gABI "Hash Table"; glibc `elf/dl-lookup.c` and binutils `bfd/elflink.c` for GNU hash):
//!
//! * SysV: `nbucket, nchain, bucket[nbucket], chain[nchain]`, each entry 4 bytes (8 on 64-bit s390 and
//!   Alpha). `nchain` equals the number of dynamic symbols. A bucket or chain value of 0 ends the walk.
//! * GNU: `nbuckets, symoffset, bloom_size, bloom_shift` (u32 each), `bloom[bloom_size]` (class-sized
//!   words), `buckets[nbuckets]` (u32), then one u32 hash value per symbol from `symoffset` on, whose low
//!   bit marks the end of a chain. Symbols before `symoffset` are not hashed.

use super::error::{ErrorKind, ParseError, Result};
use super::read::Reader;
use super::{Class, GnuTable, Image, SysvTable};
use smallvec::SmallVec;

/// The ELF (SysV) hash function of the gABI.
pub fn sysv_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The GNU hash function (Bernstein's `h * 33 + c`, seeded with 5381).
pub fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &c| {
        h.wrapping_mul(33).wrapping_add(u32::from(c))
    })
}

/// Which hash table a lookup or finding concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HashTable {
    #[serde(rename = "DT_HASH")]
    Sysv,
    #[serde(rename = "DT_GNU_HASH")]
    Gnu,
}

impl HashTable {
    pub fn name(self) -> &'static str {
        match self {
            HashTable::Sysv => "DT_HASH",
            HashTable::Gnu => "DT_GNU_HASH",
        }
    }
}

/// What one hash table says about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The image has no such table.
    Absent,
    /// Found at this dynamic symbol index.
    Found(u32),
    /// The table says the name is not defined.
    NotFound,
}

/// The three answers to one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    pub sysv: Probe,
    pub gnu: Probe,
    /// The first matching symbol in table order.
    pub linear: Option<u32>,
}

impl Lookup {
    /// True when every present table gives the linear scan's answer.
    pub fn agrees(&self) -> bool {
        let ok = |p: Probe| match p {
            Probe::Absent => true,
            Probe::Found(i) => self.linear == Some(i),
            Probe::NotFound => self.linear.is_none(),
        };
        ok(self.sysv) && ok(self.gnu)
    }
}

/// A disagreement between a hash table and the symbol table it indexes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HashFinding {
    /// An exported symbol the table does not reach by its own name: a loader using this table cannot
    /// resolve it.
    Missed {
        table: HashTable,
        index: u32,
        name: String,
        why: &'static str,
    },
    /// The table leads to a different symbol than the linear scan finds first.
    WrongSymbol {
        table: HashTable,
        name: String,
        found: u32,
        expected: u32,
    },
    /// Several exports answer to one name at its default version: a loader binds whichever its table
    /// walk meets first.
    Ambiguous { name: String, indices: Vec<u32> },
    /// Two sources disagree on the number of dynamic symbols.
    CountMismatch {
        a: &'static str,
        a_count: u64,
        b: &'static str,
        b_count: u64,
    },
}

impl std::fmt::Display for HashFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashFinding::Missed {
                table,
                index,
                name,
                why,
            } => write!(
                f,
                "{} misses exported symbol #{index} `{name}`: {why}",
                table.name()
            ),
            HashFinding::WrongSymbol {
                table,
                name,
                found,
                expected,
            } => write!(
                f,
                "{} resolves `{name}` to symbol #{found}, the symbol table has it at #{expected}",
                table.name()
            ),
            HashFinding::Ambiguous { name, indices } => write!(
                f,
                "`{name}` is defined {} times at its default version (symbols {indices:?})",
                indices.len()
            ),
            HashFinding::CountMismatch {
                a,
                a_count,
                b,
                b_count,
            } => write!(f, "{a} says {a_count} dynamic symbols, {b} says {b_count}"),
        }
    }
}

/// Read and bound-check the SysV table header; `room` is how many symbols fit after DT_SYMTAB.
#[inline(always)]
pub(super) fn sysv_table(r: &Reader, offset: u64, esz: u64, room: u64) -> Result<SysvTable> {
    let rd = |at: u64, f| {
        if esz == 8 {
            r.u64(at, f)
        } else {
            r.u32(at, f).map(u64::from)
        }
    };
    let nbucket = rd(offset, "DT_HASH nbucket")?;
    let nchain = rd(offset + esz, "DT_HASH nchain")?;
    if nchain > room {
        return Err(ParseError::new(
            ErrorKind::TooLarge,
            "DT_HASH nchain",
            offset + esz,
        ));
    }
    if nbucket == 0 && nchain > 1 {
        return Err(ParseError::new(
            ErrorKind::BadValue,
            "DT_HASH nbucket",
            offset,
        ));
    }
    let len = nbucket
        .checked_add(nchain)
        .and_then(|n| n.checked_add(2))
        .and_then(|n| n.checked_mul(esz))
        .ok_or_else(|| ParseError::new(ErrorKind::TooLarge, "DT_HASH nbucket", offset))?;
    r.slice(offset, len, "DT_HASH table")?;
    Ok(SysvTable {
        offset,
        entry_size: esz,
        nbucket,
        nchain,
    })
}

#[inline(always)]
fn sysv_entry(r: &Reader, t: &SysvTable, i: u64, field: &'static str) -> Result<u64> {
    let at = t.offset + (2 + i) * t.entry_size;
    if t.entry_size == 8 {
        r.u64(at, field)
    } else {
        r.u32(at, field).map(u64::from)
    }
}

/// Every bucket and chain entry indexes a symbol (below `count`, the symbol table's length), and the
/// chains together visit at most `nchain` entries (each symbol belongs to exactly one chain), so no
/// walk can loop. An entry in `nchain..count` names a real symbol the chain array has no slot for (a
/// short nchain): a walk stops there, and `check_hashes` reports the disagreement.
#[inline(always)]
pub(super) fn validate_sysv_chains(r: &Reader, t: &SysvTable, count: u64) -> Result<()> {
    // `sysv_table` checked that the whole table lies in the input; read entries from that slice, with
    // the entry width a constant in each copy of the walk.
    let table = r.slice(
        t.offset,
        (2 + t.nbucket + t.nchain) * t.entry_size,
        "DT_HASH table",
    )?;
    let bad = match t.entry_size {
        8 => walk_sysv::<8>(r, table, t.nbucket, t.nchain, count),
        _ => walk_sysv::<4>(r, table, t.nbucket, t.nchain, count),
    };
    match bad {
        None => Ok(()),
        // `at` is an entry index inside the table `sysv_table` bounds-checked: no overflow.
        Some((kind, at)) => Err(ParseError::new(
            kind,
            if kind == ErrorKind::Cycle {
                "DT_HASH chain"
            } else {
                "DT_HASH chain entry"
            },
            t.offset + at * t.entry_size,
        )),
    }
}

/// Walk every chain; `Some((kind, entry))` names the table entry (counted from the start of the table,
/// header words included) holding the first bad value.
#[inline(always)]
fn walk_sysv<const W: usize>(
    r: &Reader,
    table: &[u8],
    nbucket: u64,
    nchain: u64,
    count: u64,
) -> Option<(ErrorKind, u64)> {
    let rd = |entry: u64| -> u64 {
        let at = entry as usize * W;
        if W == 8 {
            r.field_u64(table, at)
        } else {
            u64::from(r.field_u32(table, at))
        }
    };
    let mut steps = 0u64;
    for b in 0..nbucket {
        let mut from = 2 + b;
        let mut i = rd(from);
        while i != 0 {
            if i >= nchain && i < count {
                break; // a symbol without a chain slot: the walk ends here
            }
            if i >= nchain {
                return Some((ErrorKind::BadIndex, from));
            }
            if steps == nchain {
                return Some((ErrorKind::Cycle, from));
            }
            steps += 1;
            from = 2 + nbucket + i;
            i = rd(from);
        }
    }
    None
}

/// Read and bound-check the GNU table; returns it with the symbol count it implies. `room` is the
/// number of symbols there can be (DT_HASH's count, or what fits in the file after DT_SYMTAB): a chain
/// that does not end before it is an error.
#[inline(always)]
pub(super) fn gnu_table(r: &Reader, offset: u64, room: u64) -> Result<(GnuTable, u64)> {
    let t = GnuTable {
        offset,
        nbuckets: r.u32(offset, "DT_GNU_HASH nbuckets")?,
        symoffset: r.u32(offset + 4, "DT_GNU_HASH symoffset")?,
        bloom_size: r.u32(offset + 8, "DT_GNU_HASH bloom_size")?,
        bloom_shift: r.u32(offset + 12, "DT_GNU_HASH bloom_shift")?,
    };
    if t.nbuckets == 0 {
        return Err(ParseError::new(
            ErrorKind::BadValue,
            "DT_GNU_HASH nbuckets",
            offset,
        ));
    }
    if t.bloom_size == 0 {
        return Err(ParseError::new(
            ErrorKind::BadValue,
            "DT_GNU_HASH bloom_size",
            offset + 8,
        ));
    }
    if u64::from(t.symoffset) > room {
        return Err(ParseError::new(
            ErrorKind::TooLarge,
            "DT_GNU_HASH symoffset",
            offset + 4,
        ));
    }
    let head = t.chain_offset(r.class) - offset;
    r.slice(offset, head, "DT_GNU_HASH bloom and buckets")?;
    // The implied count: one past the end of the chain that starts at the highest bucket.
    let mut max = 0u32;
    for b in 0..u64::from(t.nbuckets) {
        max = max.max(r.u32(t.buckets_offset(r.class) + 4 * b, "DT_GNU_HASH bucket")?);
    }
    let count = if max == 0 {
        u64::from(t.symoffset)
    } else {
        if u64::from(max) >= room {
            return Err(ParseError::new(
                ErrorKind::BadIndex,
                "DT_GNU_HASH bucket",
                t.buckets_offset(r.class),
            ));
        }
        if max < t.symoffset {
            return Err(ParseError::new(
                ErrorKind::BadIndex,
                "DT_GNU_HASH bucket",
                t.buckets_offset(r.class),
            ));
        }
        let mut i = u64::from(max);
        loop {
            if i >= room {
                return Err(ParseError::new(
                    ErrorKind::BadIndex,
                    "DT_GNU_HASH chain (no end marker before the last symbol)",
                    t.chain_offset(r.class),
                ));
            }
            let at = t.chain_offset(r.class) + 4 * (i - u64::from(t.symoffset));
            if r.u32(at, "DT_GNU_HASH chain")? & 1 == 1 {
                break i + 1;
            }
            i += 1;
        }
    };
    Ok((t, count))
}

/// Every non-empty bucket points into `[symoffset, count)`; the chain array covers `[symoffset, count)`.
/// `count` is DT_HASH's nchain, which [`gnu_table`] was given as its room, or the count [`gnu_table`]
/// implied; either way it has already checked `symoffset <= count`.
#[inline(always)]
pub(super) fn validate_gnu(r: &Reader, t: &GnuTable, count: u64) -> Result<()> {
    debug_assert!(
        u64::from(t.symoffset) <= count,
        "gnu_table bounds symoffset"
    );
    for b in 0..u64::from(t.nbuckets) {
        let at = t.buckets_offset(r.class) + 4 * b;
        let v = u64::from(r.u32(at, "DT_GNU_HASH bucket")?);
        if v != 0 && (v < u64::from(t.symoffset) || v >= count) {
            return Err(ParseError::new(
                ErrorKind::BadIndex,
                "DT_GNU_HASH bucket",
                at,
            ));
        }
    }
    r.slice(
        t.chain_offset(r.class),
        4 * (count - u64::from(t.symoffset)),
        "DT_GNU_HASH chain",
    )?;
    Ok(())
}

/// Can a lookup answer with `s` at all (defined, not local)?
fn answerable(s: &super::Symbol) -> bool {
    s.offset.is_some() && !matches!(s.binding, super::Binding::Local)
}

/// Does `s` answer to `version`, or to the default version when `None`?
fn answers_version(s: &super::Symbol, version: Option<&str>) -> bool {
    match version {
        Some(v) => s.version == Some(v),
        None => !s.version_hidden,
    }
}

impl<'a> Image<'a> {
    /// Does symbol `index` answer to `name` (and `version`, or the default version when `None`)?
    fn matches(&self, index: u64, name: &str, version: Option<&str>) -> bool {
        let Some(s) = self.symbol(index as u32) else {
            return false;
        };
        answerable(&s) && super::same_name(s.name, name) && answers_version(&s, version)
    }

    /// Ask the SysV table, the GNU table and a linear scan where `name` (at `version`, or its default
    /// version) is defined.
    pub fn lookup(&self, name: &str, version: Option<&str>) -> Lookup {
        Lookup {
            sysv: self
                .lookup_sysv(name, version, sysv_hash(name.as_bytes()))
                .0,
            gnu: self.lookup_gnu(name, version, gnu_hash(name.as_bytes())).0,
            linear: (1..=self.symbol_count()).find(|&i| self.matches(u64::from(i), name, version)),
        }
    }

    /// Does walking `table` for a name with hashes `h` (SysV, GNU) pass symbol `index`? Returns (table
    /// present, reached, why not).
    fn reaches(&self, table: HashTable, h: (u32, u32), index: u32) -> (bool, bool, &'static str) {
        let r = self.reader();
        let target = u64::from(index);
        match table {
            HashTable::Sysv => {
                let Some(t) = &self.sysv else {
                    return (false, false, "");
                };
                if t.nbucket == 0 {
                    return (true, false, "the table has no buckets");
                }
                let h = u64::from(h.0);
                let mut i = sysv_entry(&r, t, h % t.nbucket, "").unwrap_or(0);
                for _ in 0..=t.nchain {
                    if i == target {
                        return (true, true, "");
                    }
                    if i == 0 || i >= t.nchain {
                        break;
                    }
                    i = sysv_entry(&r, t, t.nbucket + i, "").unwrap_or(0);
                }
                (true, false, "not on its bucket's chain")
            }
            HashTable::Gnu => {
                let Some(t) = &self.gnu else {
                    return (false, false, "");
                };
                if target < u64::from(t.symoffset) {
                    return (true, false, "it lies below symoffset (unhashed)");
                }
                let class = self.class;
                let h = h.1;
                let bits = match class {
                    Class::Elf32 => 32u32,
                    Class::Elf64 => 64,
                };
                let word_at =
                    t.bloom_offset() + u64::from((h / bits) % t.bloom_size) * class.word_size();
                let word = r.word(word_at, "").unwrap_or(0);
                let b2 = h.checked_shr(t.bloom_shift).unwrap_or(0) % bits;
                if (word >> (h % bits)) & (word >> b2) & 1 == 0 {
                    return (true, false, "the bloom filter rejects its hash");
                }
                let bucket = u64::from(h % t.nbuckets);
                let mut i = u64::from(r.u32(t.buckets_offset(class) + 4 * bucket, "").unwrap_or(0));
                if i == 0 {
                    return (true, false, "its bucket is empty");
                }
                let count = u64::from(self.symbol_count()) + 1;
                while i < count && i >= u64::from(t.symoffset) {
                    let at = t.chain_offset(class) + 4 * (i - u64::from(t.symoffset));
                    let Ok(ch) = r.u32(at, "") else { break };
                    if i == target {
                        return if (ch | 1) == (h | 1) {
                            (true, true, "")
                        } else {
                            (true, false, "its chain entry holds a different hash")
                        };
                    }
                    if ch & 1 == 1 {
                        break;
                    }
                    i += 1;
                }
                (true, false, "not on its bucket's chain")
            }
        }
    }

    /// SysV walk for `name`, whose SysV hash is `h`; the reason string explains a `NotFound`.
    fn lookup_sysv(&self, name: &str, version: Option<&str>, h: u32) -> (Probe, &'static str) {
        let Some(t) = &self.sysv else {
            return (Probe::Absent, "");
        };
        if t.nbucket == 0 {
            return (Probe::NotFound, "the table has no buckets");
        }
        let r = self.reader();
        let h = u64::from(h);
        // Parse-time validation bounds every chain by nchain; the step limit is a second fence.
        let mut i = sysv_entry(&r, t, h % t.nbucket, "").unwrap_or(0);
        for _ in 0..=t.nchain {
            if i == 0 || i >= t.nchain {
                break;
            }
            if self.matches(i, name, version) {
                return (Probe::Found(i as u32), "");
            }
            i = sysv_entry(&r, t, t.nbucket + i, "").unwrap_or(0);
        }
        (Probe::NotFound, "not on its bucket's chain")
    }

    /// GNU walk (bloom filter, bucket, chain) for `name`, whose GNU hash is `h`; the reason string
    /// explains a `NotFound`.
    fn lookup_gnu(&self, name: &str, version: Option<&str>, h: u32) -> (Probe, &'static str) {
        let Some(t) = &self.gnu else {
            return (Probe::Absent, "");
        };
        let r = self.reader();
        let class = self.class;
        let bits = match class {
            Class::Elf32 => 32u32,
            Class::Elf64 => 64,
        };
        let word_at = t.bloom_offset() + u64::from((h / bits) % t.bloom_size) * class.word_size();
        let word = r.word(word_at, "").unwrap_or(0);
        let b1 = h % bits;
        let b2 = h.checked_shr(t.bloom_shift).unwrap_or(0) % bits;
        if (word >> b1) & (word >> b2) & 1 == 0 {
            return (Probe::NotFound, "the bloom filter rejects its hash");
        }
        let bucket = u64::from(h % t.nbuckets);
        let mut i = u64::from(r.u32(t.buckets_offset(class) + 4 * bucket, "").unwrap_or(0));
        if i == 0 {
            return (Probe::NotFound, "its bucket is empty");
        }
        let count = u64::from(self.symbol_count()) + 1;
        while i < count && i >= u64::from(t.symoffset) {
            let at = t.chain_offset(class) + 4 * (i - u64::from(t.symoffset));
            let Ok(ch) = r.u32(at, "") else { break };
            if (ch | 1) == (h | 1) && self.matches(i, name, version) {
                return (Probe::Found(i as u32), "");
            }
            if ch & 1 == 1 {
                break;
            }
            i += 1;
        }
        (Probe::NotFound, "not on its bucket's chain")
    }

    /// Cross-check both hash tables against the symbol table: every exported symbol must be found by its
    /// own name and version through each table present, and the symbol counts must agree.
    pub fn check_hashes(&self) -> Vec<HashFinding> {
        let mut out = Vec::new();
        let c = self.counts;
        // A broken section header table is reported by `sections()` itself; here it only means there
        // is no third count to compare.
        let section = self.sections().ok().and_then(|s| s.dynsym_count);
        let sources = [
            ("DT_HASH nchain", c.dt_hash),
            ("DT_GNU_HASH chains", c.gnu_hash),
            (".dynsym section size", section),
        ];
        for (i, (a, ca)) in sources.iter().enumerate() {
            for (b, cb) in &sources[i + 1..] {
                if let (Some(x), Some(y)) = (ca, cb) {
                    if x != y {
                        out.push(HashFinding::CountMismatch {
                            a,
                            a_count: *x,
                            b,
                            b_count: *y,
                        });
                    }
                }
            }
        }
        // Every symbol a lookup can answer with (defined, not local), decoded once, and grouped by name
        // (a stable sort keeps table order inside a group): each export is then compared with the few
        // symbols sharing its name instead of rescanning the table.
        // The tables are inline up to 32 symbols (real vDSOs have at most 17), so that checking a vDSO
        // allocates nothing but its findings.
        let visible: SmallVec<[super::Symbol<'a>; 32]> =
            self.symbols().filter(answerable).collect();
        // Ordered by (hash, name): names are compared only where their hashes tie, which keeps string
        // comparisons (costly under fuzzing instrumentation) to the equal ones.
        let hashes: SmallVec<[u32; 32]> = visible
            .iter()
            .map(|s| gnu_hash(s.name.as_bytes()))
            .collect();
        let mut by_name: SmallVec<[usize; 32]> = (0..visible.len()).collect();
        by_name.sort_by(|&a, &b| {
            hashes[a]
                .cmp(&hashes[b])
                .then_with(|| visible[a].name.cmp(visible[b].name))
        });
        let mut group_of: SmallVec<[std::ops::Range<usize>; 32]> =
            smallvec::smallvec![0..0; visible.len()];
        let mut start = 0;
        for g in by_name.chunk_by(|&a, &b| visible[a].name == visible[b].name) {
            for &i in g {
                group_of[i] = start..start + g.len();
            }
            start += g.len();
        }
        let mut reported: SmallVec<[bool; 32]> = smallvec::smallvec![false; visible.len()];
        for (pos, s) in visible.iter().enumerate() {
            if !s.is_export() {
                continue;
            }
            let group = || by_name[group_of[pos].clone()].iter().map(|&i| &visible[i]);
            // Two exports answering to the same unversioned lookup: which one a loader binds depends on
            // which table it walks and in what order. Reported once per name; lookups by that key are
            // then not compared (any answer among the candidates is "right").
            let candidate = |o: &&super::Symbol| o.is_export() && !o.version_hidden;
            let candidates = group().filter(candidate).count();
            // The lookup key of `s` is (name, version), or (name, default) when unversioned: it is
            // ambiguous when another export answers to the same key.
            let same_key = group()
                .filter(|o| o.is_export() && o.version == s.version)
                .count();
            let is_ambiguous = same_key > 1 || (s.version.is_none() && candidates > 1);
            let first = group_of[pos].start;
            if candidates > 1 && !reported[first] {
                reported[first] = true;
                out.push(HashFinding::Ambiguous {
                    name: s.name.to_string(),
                    indices: group().filter(candidate).map(|o| o.index).collect(),
                });
            }
            // What a linear scan of the table answers (the first match in table order): `matches` over
            // the symbols of this name.
            let linear = group()
                .filter(|o| answers_version(o, s.version))
                .map(|o| o.index)
                .min();
            let h = (sysv_hash(s.name.as_bytes()), hashes[pos]);
            for table in [HashTable::Sysv, HashTable::Gnu] {
                let (present, reached, why) = self.reaches(table, h, s.index);
                if !present {
                    continue;
                }
                if !reached {
                    out.push(HashFinding::Missed {
                        table,
                        index: s.index,
                        name: s.name.to_string(),
                        why,
                    });
                    continue;
                }
                let probe = match table {
                    HashTable::Sysv => self.lookup_sysv(s.name, s.version, h.0).0,
                    HashTable::Gnu => self.lookup_gnu(s.name, s.version, h.1).0,
                };
                if let Probe::Found(i) = probe {
                    if Some(i) != linear && !is_ambiguous {
                        out.push(HashFinding::WrongSymbol {
                            table,
                            name: s.name.to_string(),
                            found: i,
                            expected: linear.unwrap_or(0),
                        });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    //! Known answers for both hash functions from sources other than this file, and a cross-check
    //! against the tables GNU ld wrote into real kernels' vDSOs (read with goblin, not our parser).
    //! The synthesizer builds its tables with these same functions, so a wrong hash would pass every
    //! round trip; only an outside answer catches it.
    use super::{gnu_hash, sysv_hash};

    /// (name, SysV `elf_hash`, GNU `dl_new_hash`). `printf` and `exit` are the worked examples of the
    /// GNU-hash write-up at flapenguin.me/elf-dt-gnu-hash (and, for SysV, of many ELF tutorials); every
    /// row was recomputed by this Python, a transcription of the gABI's `elf_hash` figure and glibc's
    /// `dl_new_hash` (`elf/dl-lookup.c`):
    ///
    /// ```text
    /// def sysv(n):
    ///     h = 0
    ///     for c in n:
    ///         h = ((h << 4) + c) & 0xffffffff; g = h & 0xf0000000
    ///         if g: h ^= g >> 24
    ///         h &= ~g & 0xffffffff
    ///     return h
    /// def gnu(n):
    ///     h = 5381
    ///     for c in n: h = (h * 33 + c) & 0xffffffff
    ///     return h
    /// ```
    const KNOWN: &[(&[u8], u32, u32)] = &[
        (b"", 0, 0x0000_1505),
        (b"a", 0x61, 0x0002_b606),
        (b"printf", 0x0779_05a6, 0x156b_2bb8),
        (b"exit", 0x0006_cf04, 0x7c96_7e3f),
        (b"syscall", 0x0b09_985c, 0xbac2_12a0),
        (b"flapenguin.me", 0x0398_7915, 0x8ae9_f18e),
        (b"__vdso_clock_gettime", 0x0d35_ec75, 0x6e43_a318),
        (b"__vdso_time", 0x0a33_c485, 0x821e_8e0d),
        (b"__kernel_clock_gettime", 0x0b0c_d725, 0xdfa9_41fd),
        (b"LINUX_2.6", 0x03ae_75f6, 0x26c6_2a8a),
        // Bytes above 0x7f: the gABI hashes `unsigned char`s (a signed-char port gets these wrong).
        (b"\xff\xfe\x80", 0x0001_0f60, 0x0b8b_10e2),
    ];

    #[test]
    fn sysv_hash_known_answers() {
        for &(name, want, _) in KNOWN {
            assert_eq!(
                sysv_hash(name),
                want,
                "elf_hash({:?})",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn gnu_hash_known_answers() {
        for &(name, _, want) in KNOWN {
            assert_eq!(
                gnu_hash(name),
                want,
                "dl_new_hash({:?})",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn a_lookup_agrees_only_when_every_present_table_gives_the_linear_answer() {
        use super::{Lookup, Probe::*};
        let l = |sysv, gnu, linear| Lookup { sysv, gnu, linear };
        assert!(l(Found(2), Found(2), Some(2)).agrees());
        assert!(l(Absent, Found(2), Some(2)).agrees());
        assert!(l(NotFound, Absent, None).agrees());
        assert!(!l(Found(3), Found(2), Some(2)).agrees());
        assert!(!l(Found(2), Found(3), Some(2)).agrees());
        assert!(!l(Found(2), NotFound, Some(2)).agrees());
        assert!(!l(NotFound, Found(2), Some(2)).agrees());
        assert!(!l(Absent, Found(2), None).agrees());
    }

    /// x86-64 vDSOs define their version name `LINUX_2.6` as an absolute symbol (readelf: `ABS`), which
    /// no lookup may answer with; the functions next to it are found by every table.
    #[test]
    fn lookups_never_answer_with_an_absolute_symbol() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus/real/x86_64-vdso64-6.12.117+deb13-amd64.so");
        let Ok(b) = std::fs::read(&p) else {
            println!("skipped: {} is missing", p.display());
            return;
        };
        let img = crate::image::Image::parse(&b).unwrap();
        let abs = img.symbols().find(|s| s.name == "LINUX_2.6").unwrap();
        assert_eq!(abs.offset, None);
        let l = img.lookup("LINUX_2.6", None);
        assert_eq!(
            (l.sysv, l.gnu, l.linear),
            (super::Probe::NotFound, super::Probe::NotFound, None)
        );
        let f = img.lookup("__vdso_time", Some("LINUX_2.6"));
        assert!(f.linear.is_some() && f.agrees(), "{f:?}");
    }

    fn u32_at(b: &[u8], at: usize, le: bool) -> u32 {
        let w: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    }

    fn word_at(b: &[u8], at: usize, size: usize, le: bool) -> u64 {
        if size == 4 {
            return u64::from(u32_at(b, at, le));
        }
        let w: [u8; 8] = b[at..at + 8].try_into().unwrap();
        if le {
            u64::from_le_bytes(w)
        } else {
            u64::from_be_bytes(w)
        }
    }

    /// Every real image in `corpus/real`: each GNU-hash chain value GNU ld stored equals `gnu_hash` of
    /// its symbol's name (low bit aside), and walking the SysV bucket `sysv_hash(name) % nbucket`
    /// reaches every symbol. Section headers, `.dynsym` and `.dynstr` are read with goblin.
    #[test]
    fn hashes_match_the_tables_ld_wrote_into_real_vdsos() {
        use goblin::elf::Elf;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/real");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            println!("skipped: {} is missing", dir.display());
            return;
        };
        let (mut gnu_checked, mut sysv_checked) = (0, 0);
        for f in rd.map(|e| e.unwrap().path()) {
            if f.extension().is_none_or(|x| x != "so") {
                continue;
            }
            let b = std::fs::read(&f).unwrap();
            let elf = Elf::parse(&b).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let le = elf.little_endian;
            let names: Vec<&str> = elf
                .dynsyms
                .iter()
                .map(|s| elf.dynstrtab.get_at(s.st_name).unwrap_or(""))
                .collect();
            let section = |want: &str| {
                elf.section_headers
                    .iter()
                    .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(want))
                    .map(|s| s.sh_offset as usize)
            };
            if let Some(off) = section(".gnu.hash") {
                let nbuckets = u32_at(&b, off, le) as usize;
                let symoffset = u32_at(&b, off + 4, le) as usize;
                let bloom = u32_at(&b, off + 8, le) as usize;
                let word = if elf.is_64 { 8 } else { 4 };
                let chain = off + 16 + bloom * word + 4 * nbuckets;
                for (i, name) in names.iter().enumerate().skip(symoffset) {
                    let stored = u32_at(&b, chain + 4 * (i - symoffset), le);
                    assert_eq!(
                        gnu_hash(name.as_bytes()) | 1,
                        stored | 1,
                        "{}: `{name}` (left: ours, right: stored by ld)",
                        f.display()
                    );
                    gnu_checked += 1;
                }
            }
            if let Some(off) = section(".hash") {
                // 8-byte entries on 64-bit s390 (and Alpha), 4 elsewhere.
                let esz = if elf.is_64 && elf.header.e_machine == goblin::elf::header::EM_S390 {
                    8
                } else {
                    4
                };
                let nbucket = word_at(&b, off, esz, le) as usize;
                let bucket = off + 2 * esz;
                let chain = bucket + nbucket * esz;
                // Unnamed (section) symbols are on no chain: nothing can look them up.
                for (i, name) in names.iter().enumerate().skip(1) {
                    if name.is_empty() {
                        continue;
                    }
                    let h = sysv_hash(name.as_bytes()) as usize % nbucket;
                    let mut at = word_at(&b, bucket + h * esz, esz, le) as usize;
                    let mut steps = 0;
                    while at != i && at != 0 && steps <= names.len() {
                        at = word_at(&b, chain + at * esz, esz, le) as usize;
                        steps += 1;
                    }
                    assert_eq!(
                        at,
                        i,
                        "{}: `{name}` is not on the chain of bucket {h}",
                        f.display()
                    );
                    sysv_checked += 1;
                }
            }
        }
        println!("{gnu_checked} GNU-hash values and {sysv_checked} SysV chains checked");
        assert!(
            gnu_checked > 0 && sysv_checked > 0,
            "no real image has both tables"
        );
    }
}
