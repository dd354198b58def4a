//! The vDSO image model: any bytes in, a borrowed [`Image`] or a typed [`ParseError`] out.
//!
//! A vDSO is a small ET_DYN ELF object (soname `linux-vdso.so.1`, `linux-gate.so.1`, `linux-vdso64.so.1`, ...)
//! that the kernel maps into every process. This module reads exactly what a dynamic loader and a
//! checkpoint/restore tool need from it, and nothing else:
//!
//! * the ELF header, program headers and section headers (every table bounds-checked against the input);
//! * the dynamic segment: `DT_SYMTAB`, `DT_STRTAB`/`DT_STRSZ`, `DT_SONAME`, `DT_HASH`, `DT_GNU_HASH`,
//!   `DT_VERSYM`, `DT_VERDEF`/`DT_VERDEFNUM`;
//! * the dynamic symbols with their versions, and the build id note.
//!
//! Data flow: `Image::parse(&[u8])` validates structure (hash tables included, so that no later walk can
//! loop) and extracts every dynamic symbol into a small vector of borrowed [`Symbol`]s. Name lookups go
//! through [`Image::lookup`], which asks the SysV hash table, the GNU hash table and a linear scan
//! separately; [`Image::check_hashes`] runs that for every exported symbol and returns
//! [`HashFinding`]s where they disagree. A disagreement is a property of the image worth reporting (a
//! loader using one table would see a different vDSO than a loader using the other), not a parse error.
//!
//! Goblin supplies the ELF constants and the machine names; the walk itself is hand-written because a full
//! `goblin::elf::Elf::parse` builds every table of a general ELF file and costs ~30x more on a vDSO
//! (see `benches/parse.rs`).
//!
//! Facts used (ELF gABI, "Dynamic Section", "Hash Table", "Symbol Versioning" of the LSB; glibc's
//! `dl-lookup.c` for the GNU hash layout): symbol values are virtual addresses; the image's load bias is the
//! first PT_LOAD's `p_vaddr - p_offset`; DT_HASH entries are 8 bytes wide on 64-bit s390 and Alpha and 4
//! bytes everywhere else; GNU hash bloom words are the class's word size.

mod error;
mod hash;
mod read;

pub use error::{ErrorKind, ParseError, Result};
pub use hash::{gnu_hash, sysv_hash, HashFinding, HashTable, Lookup, Probe};

use goblin::elf::dynamic as dt;
use goblin::elf::header as eh;
use goblin::elf::program_header as ph;
use goblin::elf::section_header as sh;
use goblin::elf::sym as st;
use read::{Reader, Strings};
use smallvec::SmallVec;
use std::ops::Range;

/// ELF class (`EI_CLASS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Class {
    Elf32,
    Elf64,
}

/// Byte order (`EI_DATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Endian {
    Little,
    Big,
}

impl Class {
    pub fn word_size(self) -> u64 {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
    pub fn sym_size(self) -> u64 {
        match self {
            Class::Elf32 => st::sym32::SIZEOF_SYM as u64,
            Class::Elf64 => st::sym64::SIZEOF_SYM as u64,
        }
    }
    pub fn dyn_size(self) -> u64 {
        2 * self.word_size()
    }
    pub fn ehdr_size(self) -> u64 {
        match self {
            Class::Elf32 => eh::header32::SIZEOF_EHDR as u64,
            Class::Elf64 => eh::header64::SIZEOF_EHDR as u64,
        }
    }
    pub fn phdr_size(self) -> u64 {
        match self {
            Class::Elf32 => goblin::elf32::program_header::SIZEOF_PHDR as u64,
            Class::Elf64 => goblin::elf64::program_header::SIZEOF_PHDR as u64,
        }
    }
    pub fn shdr_size(self) -> u64 {
        match self {
            Class::Elf32 => goblin::elf32::section_header::SIZEOF_SHDR as u64,
            Class::Elf64 => goblin::elf64::section_header::SIZEOF_SHDR as u64,
        }
    }
}

/// `EM_ALPHA`: the unofficial e_machine value Linux uses for Alpha (goblin has no constant for it).
pub const EM_ALPHA: u16 = 0x9026;

/// Machines whose ELF class is fixed by the psABI. Machines not listed (x86-64 with x32, s390 with its
/// 31-bit compat vDSO, riscv, mips, loongarch, ...) come in both classes.
fn class_fits_machine(class: Class, machine: u16) -> bool {
    match machine {
        eh::EM_386 | eh::EM_ARM | eh::EM_PPC | eh::EM_SPARC => class == Class::Elf32,
        eh::EM_AARCH64 | eh::EM_PPC64 | eh::EM_SPARCV9 | eh::EM_IA_64 | EM_ALPHA => {
            class == Class::Elf64
        }
        _ => true,
    }
}

/// Width of a DT_HASH entry: 8 bytes on 64-bit s390 and on Alpha (their psABIs define `Elf64_Word`-sized
/// hash entries as 64-bit), 4 bytes elsewhere. Seen in the real s390x vDSO images.
pub fn sysv_hash_entry_size(class: Class, machine: u16) -> u64 {
    match (class, machine) {
        (Class::Elf64, eh::EM_S390) | (Class::Elf64, EM_ALPHA) => 8,
        _ => 4,
    }
}

/// Symbol type (`ELF_ST_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SymKind {
    NoType,
    Object,
    Func,
    Section,
    File,
    Ifunc,
    Other(u8),
}

impl SymKind {
    pub fn from_raw(t: u8) -> SymKind {
        match t {
            st::STT_NOTYPE => SymKind::NoType,
            st::STT_OBJECT => SymKind::Object,
            st::STT_FUNC => SymKind::Func,
            st::STT_SECTION => SymKind::Section,
            st::STT_FILE => SymKind::File,
            st::STT_GNU_IFUNC => SymKind::Ifunc,
            o => SymKind::Other(o),
        }
    }
    pub fn to_raw(self) -> u8 {
        match self {
            SymKind::NoType => st::STT_NOTYPE,
            SymKind::Object => st::STT_OBJECT,
            SymKind::Func => st::STT_FUNC,
            SymKind::Section => st::STT_SECTION,
            SymKind::File => st::STT_FILE,
            SymKind::Ifunc => st::STT_GNU_IFUNC,
            SymKind::Other(o) => o,
        }
    }
    /// The name readelf prints.
    pub fn name(self) -> String {
        match self {
            SymKind::NoType => "NOTYPE".into(),
            SymKind::Object => "OBJECT".into(),
            SymKind::Func => "FUNC".into(),
            SymKind::Section => "SECTION".into(),
            SymKind::File => "FILE".into(),
            SymKind::Ifunc => "IFUNC".into(),
            SymKind::Other(o) => format!("<type {o}>"),
        }
    }
}

/// Symbol binding (`ELF_ST_BIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Binding {
    Local,
    Global,
    Weak,
    Other(u8),
}

impl Binding {
    pub fn from_raw(b: u8) -> Binding {
        match b {
            st::STB_LOCAL => Binding::Local,
            st::STB_GLOBAL => Binding::Global,
            st::STB_WEAK => Binding::Weak,
            o => Binding::Other(o),
        }
    }
    pub fn to_raw(self) -> u8 {
        match self {
            Binding::Local => st::STB_LOCAL,
            Binding::Global => st::STB_GLOBAL,
            Binding::Weak => st::STB_WEAK,
            Binding::Other(o) => o,
        }
    }
    /// The name readelf prints.
    pub fn name(self) -> String {
        match self {
            Binding::Local => "LOCAL".into(),
            Binding::Global => "GLOBAL".into(),
            Binding::Weak => "WEAK".into(),
            Binding::Other(o) => format!("<binding {o}>"),
        }
    }
}

/// One dynamic symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Index in the dynamic symbol table (never 0: the null symbol is not listed).
    pub index: u32,
    pub name: &'a str,
    /// Version name from DT_VERSYM/DT_VERDEF (`LINUX_2.6`); `None` for unversioned symbols.
    pub version: Option<&'a str>,
    /// Raw DT_VERSYM entry without the hidden bit (0 local, 1 global, 2.. a version definition).
    pub version_index: u16,
    /// The hidden bit of DT_VERSYM: a non-default version (`name@V` rather than `name@@V`).
    pub version_hidden: bool,
    /// `st_value` as stored: a virtual address for defined symbols.
    pub value: u64,
    /// Offset from the start of the image (`st_value` minus the load bias) for symbols defined in a
    /// section; `None` for undefined and absolute symbols.
    pub offset: Option<u64>,
    pub size: u64,
    pub kind: SymKind,
    pub binding: Binding,
    pub shndx: u16,
}

/// `a == b` for symbol names, cheap on the comparisons that dominate: the same string (pointer and
/// length), or two different names of one length, which vDSO names often are and which mostly differ
/// in their last byte (`__kernel_clock_getres`, `__kernel_gettimeofday`). Only the rest reach
/// `memcmp`, which in a fuzz build goes through libFuzzer's interceptor, at some cost per call.
#[inline]
///
/// An empty name matches nothing, itself included: it is a kernel-nulled entry (32-bit arm zeroes the
/// `st_name` of its clock entries when the timer is not usable from userspace, `vdso_nullpatch_one` in
/// Linux `arch/arm/kernel/vdso.c`), which no libc can resolve.
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && (a.as_ptr() == b.as_ptr() || (a.as_bytes().last() == b.as_bytes().last() && a == b))
}

impl Symbol<'_> {
    /// Defined, visible to other objects (global or weak), and named: what a libc can resolve and
    /// cache. An empty-named symbol is a nulled entry ([`Symbol::is_nulled`]), not an export.
    pub fn is_export(&self) -> bool {
        self.is_defined_visible() && !self.name.is_empty()
    }
    fn is_defined_visible(&self) -> bool {
        self.offset.is_some() && matches!(self.binding, Binding::Global | Binding::Weak)
    }
    /// A defined, visible code symbol whose name the kernel nulled (see [`same_name`]): the entry
    /// exists in the image but no libc can find it, so the kernel has withdrawn it.
    pub fn is_nulled(&self) -> bool {
        self.is_defined_visible()
            && self.name.is_empty()
            && matches!(self.kind, SymKind::Func | SymKind::NoType | SymKind::Ifunc)
    }
    /// An exported entry point: a function, or an untyped symbol defined in code (arm64 exports
    /// `__kernel_rt_sigreturn` as NOTYPE), or an ifunc.
    pub fn is_code(&self) -> bool {
        self.is_export() && matches!(self.kind, SymKind::Func | SymKind::NoType | SymKind::Ifunc)
    }
}

/// One version definition (DT_VERDEF entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDef<'a> {
    /// `vd_ndx`: the value DT_VERSYM entries use to name this version.
    pub index: u16,
    /// `vd_flags` (VER_FLG_BASE marks the entry naming the object itself).
    pub flags: u16,
    pub name: &'a str,
}

/// The VER_FLG_BASE flag of `vd_flags`.
pub const VER_FLG_BASE: u16 = 1;

/// Where the SysV hash table sits and how big it is (already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysvTable {
    pub offset: u64,
    pub entry_size: u64,
    pub nbucket: u64,
    pub nchain: u64,
}

/// Where the GNU hash table sits and its header (already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GnuTable {
    pub offset: u64,
    pub nbuckets: u32,
    pub symoffset: u32,
    pub bloom_size: u32,
    pub bloom_shift: u32,
}

impl GnuTable {
    fn bloom_offset(&self) -> u64 {
        self.offset + 16
    }
    fn buckets_offset(&self, class: Class) -> u64 {
        self.bloom_offset() + u64::from(self.bloom_size) * class.word_size()
    }
    fn chain_offset(&self, class: Class) -> u64 {
        self.buckets_offset(class) + 4 * u64::from(self.nbuckets)
    }
}

/// The symbol count as the hash tables state it: DT_HASH's `nchain` is the count by definition; a
/// GNU-hash image only implies it (the end of the last chain). The `.dynsym` section header states it
/// too ([`Sections::dynsym_count`]); a dynamic loader never looks there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SymbolCounts {
    pub dt_hash: Option<u64>,
    pub gnu_hash: Option<u64>,
}

/// What the section headers say, read on demand by [`Image::sections`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sections {
    /// File range of the `.text` section.
    pub text: Option<Range<u64>>,
    /// Symbol count implied by the `.dynsym` section's size.
    pub dynsym_count: Option<u64>,
    /// Length of the ELF object as its own headers describe it: the end of the furthest of the section
    /// header table, the sections with file contents and the segments. Shorter than the input when the
    /// input is a whole `[vdso]` mapping.
    pub elf_len: u64,
}

/// A parsed vDSO image, borrowing the input bytes.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    bytes: &'a [u8],
    pub class: Class,
    pub endian: Endian,
    pub machine: u16,
    /// `e_ident[EI_OSABI]` (0: System V, 3: GNU/Linux).
    pub osabi: u8,
    /// `e_flags`: the ABI bits that tell MIPS o32 from n32, ARM EABI versions, PowerPC ELFv1 from v2.
    pub flags: u32,
    pub soname: Option<&'a str>,
    /// `p_vaddr - p_offset` of the first PT_LOAD: subtract it from a symbol value to get an image offset.
    pub load_bias: u64,
    pub sysv: Option<SysvTable>,
    pub gnu: Option<GnuTable>,
    pub counts: SymbolCounts,
    /// File offset of the dynamic symbol table and of the dynamic string table (with its DT_STRSZ).
    pub dynsym_offset: u64,
    pub dynstr: Range<u64>,
    pub versym_offset: Option<u64>,
    /// Version definitions in table order (real vDSOs have two: the base one and e.g. `LINUX_2.6`).
    pub versions: SmallVec<[VersionDef<'a>; 4]>,
    /// The last of the DT_VERDEFNUM version definitions has a non-zero `vd_next`: a reader that
    /// follows `vd_next` instead of counting runs past the table (into whatever lies there, possibly
    /// back into the chain, looping). The definitions themselves were read by count.
    pub verdef_unterminated: bool,
    /// The dynamic symbol table (null symbol included), validated by `parse` entry by entry, so that
    /// [`Image::symbol`] builds a [`Symbol`] without failing.
    symtab: &'a [u8],
    nsym: u32,
    strings: Strings<'a>,
    /// Version names by DT_VERSYM index for the first few indices (0 and 1 are never names): the
    /// per-symbol lookup without a search.
    version_names: [Option<&'a str>; 8],
    versym: Option<&'a [u8]>,
    phoff: u64,
    phnum: u16,
    shoff: u64,
    shnum: u16,
    shstrndx: u16,
}

/// The iterator of [`Image::symbols`].
pub struct Symbols<'i, 'a> {
    img: &'i Image<'a>,
    next: u32,
}

impl<'a> Iterator for Symbols<'_, 'a> {
    type Item = Symbol<'a>;
    #[inline]
    fn next(&mut self) -> Option<Symbol<'a>> {
        if self.next > self.img.nsym {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // `i` is in 1..=nsym, which `parse` validated entry by entry.
        use {Class::*, Endian::*};
        match (self.img.class, self.img.endian) {
            (Elf64, Little) => self.img.symbol_as(i, Elf64, Little),
            (Elf64, Big) => self.img.symbol_as(i, Elf64, Big),
            (Elf32, Little) => self.img.symbol_as(i, Elf32, Little),
            (Elf32, Big) => self.img.symbol_as(i, Elf32, Big),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.img.nsym + 1).saturating_sub(self.next) as usize;
        (n, Some(n))
    }
}

/// One program header, as [`Image::segments`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// The at most this many PT_LOAD segments are considered: real vDSOs have one, and a fixed array keeps the
/// parse allocation-free until the symbol vector.
const MAX_LOADS: usize = 4;

#[derive(Clone, Copy, Default)]
struct Load {
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

struct Loads {
    n: usize,
    seg: [Load; MAX_LOADS],
}

impl Loads {
    /// File offset of virtual address `vaddr`, which must lie in some PT_LOAD's file contents.
    fn offset_of(&self, vaddr: u64, field: &'static str) -> Result<u64> {
        for l in &self.seg[..self.n] {
            if vaddr >= l.vaddr && vaddr - l.vaddr < l.filesz {
                return Ok(l.offset + (vaddr - l.vaddr));
            }
        }
        Err(ParseError::new(ErrorKind::UnmappedAddress, field, vaddr))
    }
}

#[derive(Default)]
struct DynTags {
    symtab: Option<u64>,
    strtab: Option<u64>,
    strsz: Option<u64>,
    syment: Option<u64>,
    soname: Option<u64>,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    versym: Option<u64>,
    verdef: Option<u64>,
    verdefnum: Option<u64>,
}

impl<'a> Image<'a> {
    /// Parse `bytes` as a vDSO image. Never panics; time and memory are linear in `bytes.len()`.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>> {
        // --- e_ident
        if bytes.len() < 16 {
            return Err(ParseError::truncated("e_ident", 0));
        }
        if bytes[..4] != *b"\x7fELF" {
            return Err(ParseError::new(ErrorKind::BadMagic, "e_ident[EI_MAG]", 0));
        }
        let class = match bytes[eh::EI_CLASS] {
            eh::ELFCLASS32 => Class::Elf32,
            eh::ELFCLASS64 => Class::Elf64,
            _ => {
                return Err(ParseError::new(
                    ErrorKind::BadClass,
                    "e_ident[EI_CLASS]",
                    eh::EI_CLASS as u64,
                ))
            }
        };
        let endian = match bytes[eh::EI_DATA] {
            eh::ELFDATA2LSB => Endian::Little,
            eh::ELFDATA2MSB => Endian::Big,
            _ => {
                return Err(ParseError::new(
                    ErrorKind::BadEncoding,
                    "e_ident[EI_DATA]",
                    eh::EI_DATA as u64,
                ))
            }
        };
        if bytes[eh::EI_VERSION] != eh::EV_CURRENT {
            return Err(ParseError::new(
                ErrorKind::BadVersion,
                "e_ident[EI_VERSION]",
                eh::EI_VERSION as u64,
            ));
        }
        // One copy of the walk per class and byte order, each with constants the compiler folds into
        // every field read (measured: a third of all instructions went to re-deciding them per field).
        use {Class::*, Endian::*};
        match (class, endian) {
            (Elf64, Little) => Image::parse_as(bytes, Elf64, Little),
            (Elf64, Big) => Image::parse_as(bytes, Elf64, Big),
            (Elf32, Little) => Image::parse_as(bytes, Elf32, Little),
            (Elf32, Big) => Image::parse_as(bytes, Elf32, Big),
        }
    }

    #[inline(always)]
    fn parse_as(bytes: &'a [u8], class: Class, endian: Endian) -> Result<Image<'a>> {
        let r = Reader {
            bytes,
            endian,
            class,
        };
        r.slice(0, class.ehdr_size(), "ELF header")?;

        // --- ELF header
        let e_type = r.u16(16, "e_type")?;
        // A header in the other byte order: e_type is a valid type only byte-swapped.
        if !(1..=4).contains(&e_type) && (1..=4).contains(&e_type.swap_bytes()) {
            return Err(ParseError::new(
                ErrorKind::WrongEncoding,
                "e_ident[EI_DATA]",
                eh::EI_DATA as u64,
            ));
        }
        // A header of the other class: e_ehsize is the other class's header size where that class
        // keeps it (offset 40 in ELF32, 52 in ELF64), and not this class's where this one does.
        let (own, other, other_size) = match class {
            Class::Elf32 => (40, 52, 64u16),
            Class::Elf64 => (52, 40, 52u16),
        };
        let ehsize = r.u16(own, "e_ehsize").ok();
        if ehsize != Some(class.ehdr_size() as u16)
            && r.u16(other, "e_ehsize").ok() == Some(other_size)
        {
            return Err(ParseError::new(
                ErrorKind::WrongClass,
                "e_ident[EI_CLASS]",
                eh::EI_CLASS as u64,
            ));
        }
        if e_type != eh::ET_DYN {
            return Err(ParseError::new(ErrorKind::NotSharedObject, "e_type", 16));
        }
        let machine = r.u16(18, "e_machine")?;
        if !class_fits_machine(class, machine) {
            return Err(ParseError::new(
                ErrorKind::ClassMachineMismatch,
                "e_machine",
                18,
            ));
        }
        if r.u32(20, "e_version")? != u32::from(eh::EV_CURRENT) {
            return Err(ParseError::new(ErrorKind::BadVersion, "e_version", 20));
        }
        let (phoff, shoff, tail) = match class {
            Class::Elf32 => (r.word(28, "e_phoff")?, r.word(32, "e_shoff")?, 42),
            Class::Elf64 => (r.word(32, "e_phoff")?, r.word(40, "e_shoff")?, 54),
        };
        let flags = r.u32(tail - 6, "e_flags")?;
        let phentsize = r.u16(tail, "e_phentsize")?;
        let phnum = r.u16(tail + 2, "e_phnum")?;
        let shentsize = r.u16(tail + 4, "e_shentsize")?;
        let shnum = r.u16(tail + 6, "e_shnum")?;
        let shstrndx = r.u16(tail + 8, "e_shstrndx")?;

        // --- program headers
        if phnum == 0 {
            return Err(ParseError::missing("program header table (e_phnum is 0)"));
        }
        if u64::from(phentsize) != class.phdr_size() {
            return Err(ParseError::new(
                ErrorKind::BadEntrySize,
                "e_phentsize",
                tail,
            ));
        }
        let ph_len = u64::from(phnum) * class.phdr_size();
        let pht = r.slice(phoff, ph_len, "program header table")?;
        let mut loads = Loads {
            n: 0,
            seg: [Load::default(); MAX_LOADS],
        };
        let mut dynamic: Option<(u64, u64)> = None;
        for (i, e) in pht.chunks_exact(class.phdr_size() as usize).enumerate() {
            let at = phoff + i as u64 * class.phdr_size();
            let Segment {
                p_type,
                flags: _,
                offset,
                vaddr,
                filesz,
                memsz,
                align: _,
            } = read_phdr(&r, e);
            if p_type == ph::PT_NULL {
                continue;
            }
            let field = match p_type {
                ph::PT_LOAD => "PT_LOAD segment",
                ph::PT_DYNAMIC => "PT_DYNAMIC segment",
                ph::PT_NOTE => "PT_NOTE segment",
                _ => "segment contents",
            };
            r.slice(offset, filesz, field)?;
            match p_type {
                ph::PT_LOAD => {
                    if loads.n == MAX_LOADS {
                        return Err(ParseError::new(ErrorKind::TooLarge, "PT_LOAD count", at));
                    }
                    if memsz < filesz {
                        return Err(ParseError::new(ErrorKind::BadValue, "p_memsz", at));
                    }
                    let new = Load {
                        offset,
                        vaddr,
                        filesz,
                        memsz,
                    };
                    let vend = vaddr
                        .checked_add(memsz)
                        .ok_or_else(|| ParseError::new(ErrorKind::BadValue, "p_memsz", at))?;
                    for l in &loads.seg[..loads.n] {
                        let disjoint_mem = vend <= l.vaddr || l.vaddr + l.memsz <= vaddr;
                        let disjoint_file =
                            offset + filesz <= l.offset || l.offset + l.filesz <= offset;
                        if !disjoint_mem || !disjoint_file {
                            return Err(ParseError::new(ErrorKind::Overlap, "PT_LOAD", at));
                        }
                    }
                    loads.seg[loads.n] = new;
                    loads.n += 1;
                }
                ph::PT_DYNAMIC if dynamic.is_none() => dynamic = Some((offset, filesz)),
                _ => {}
            }
        }
        if loads.n == 0 {
            return Err(ParseError::missing("PT_LOAD segment"));
        }
        let first = loads.seg[0];
        let load_bias = first.vaddr.wrapping_sub(first.offset);
        let (dyn_off, dyn_len) =
            dynamic.ok_or_else(|| ParseError::missing("PT_DYNAMIC segment"))?;

        // --- section headers: loaders never read them, so `parse` only checks that the table lies inside
        // the input (which also makes every truncation of a real image an error: the table is last);
        // [`Image::sections`] walks them on demand.
        if shoff != 0 && shnum != 0 {
            if u64::from(shentsize) != class.shdr_size() {
                return Err(ParseError::new(
                    ErrorKind::BadEntrySize,
                    "e_shentsize",
                    tail + 4,
                ));
            }
            r.slice(
                shoff,
                u64::from(shnum) * class.shdr_size(),
                "section header table",
            )?;
            if shstrndx >= shnum {
                return Err(ParseError::new(ErrorKind::BadIndex, "e_shstrndx", tail + 8));
            }
        }

        // --- dynamic segment
        let mut tags = DynTags::default();
        let dsz = class.dyn_size();
        let dyns = r.slice(dyn_off, dyn_len - dyn_len % dsz, "PT_DYNAMIC segment")?;
        for e in dyns.chunks_exact(dsz as usize) {
            let (tag, val) = match class {
                Class::Elf32 => (u64::from(r.field_u32(e, 0)), u64::from(r.field_u32(e, 4))),
                Class::Elf64 => (r.field_u64(e, 0), r.field_u64(e, 8)),
            };
            let slot = match tag {
                dt::DT_NULL => break,
                dt::DT_SYMTAB => &mut tags.symtab,
                dt::DT_STRTAB => &mut tags.strtab,
                dt::DT_STRSZ => &mut tags.strsz,
                dt::DT_SYMENT => &mut tags.syment,
                dt::DT_SONAME => &mut tags.soname,
                dt::DT_HASH => &mut tags.hash,
                dt::DT_GNU_HASH => &mut tags.gnu_hash,
                dt::DT_VERSYM => &mut tags.versym,
                dt::DT_VERDEF => &mut tags.verdef,
                dt::DT_VERDEFNUM => &mut tags.verdefnum,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(val);
            }
        }
        if let Some(e) = tags.syment {
            if e != class.sym_size() {
                return Err(ParseError::new(
                    ErrorKind::BadEntrySize,
                    "DT_SYMENT",
                    dyn_off,
                ));
            }
        }
        let symtab = loads.offset_of(
            tags.symtab
                .ok_or_else(|| ParseError::missing("DT_SYMTAB"))?,
            "DT_SYMTAB",
        )?;
        let strtab = loads.offset_of(
            tags.strtab
                .ok_or_else(|| ParseError::missing("DT_STRTAB"))?,
            "DT_STRTAB",
        )?;
        let strsz = tags.strsz.ok_or_else(|| ParseError::missing("DT_STRSZ"))?;
        let strings = Strings::new(&r, strtab, strsz, "DT_STRSZ")?;
        let soname = match tags.soname {
            Some(o) => Some(strings.get(o, "DT_SONAME", dyn_off)?),
            None => None,
        };

        // --- hash tables and the symbol count
        let room_for_syms = (r.len().saturating_sub(symtab)) / class.sym_size();
        let sysv = match tags.hash {
            Some(a) => Some(hash::sysv_table(
                &r,
                loads.offset_of(a, "DT_HASH")?,
                sysv_hash_entry_size(class, machine),
                room_for_syms,
            )?),
            None => None,
        };
        // Each table states the symbol count on its own (DT_HASH's nchain; the end of the last GNU
        // chain), both bounded by the bytes after DT_SYMTAB. When they disagree, that is a finding of
        // `check_hashes` (CountMismatch, and the symbols one table misses), not a parse error blamed
        // on the other table: the symbol table spans the larger count, so every symbol either
        // table can lead to is readable.
        let gnu = match tags.gnu_hash {
            Some(a) => Some(hash::gnu_table(
                &r,
                loads.offset_of(a, "DT_GNU_HASH")?,
                room_for_syms,
            )?),
            None => None,
        };
        let counts = SymbolCounts {
            dt_hash: sysv.map(|t| t.nchain),
            gnu_hash: gnu.map(|(_, n)| n),
        };
        let count = match (counts.dt_hash, counts.gnu_hash) {
            (Some(n), Some(g)) if g > n => {
                // The GNU chains reach past nchain: either nchain is short (the entries there are
                // symbols) or the GNU table runs into whatever follows the symbol table (then the
                // GNU table is the one to blame, as when it is checked against nchain).
                let ss = class.sym_size();
                let real = (n..g).all(|i| {
                    r.slice(symtab + i * ss, ss, "DT_SYMTAB").is_ok_and(|e| {
                        strings
                            .check(u64::from(r.field_u32(e, 0)), "st_name", 0)
                            .is_ok()
                    })
                });
                if !real {
                    if let Some(a) = tags.gnu_hash {
                        hash::gnu_table(&r, loads.offset_of(a, "DT_GNU_HASH")?, n)?;
                    }
                }
                g
            }
            (Some(n), _) => n,
            (None, g) => {
                g.ok_or_else(|| ParseError::missing("symbol count (no DT_HASH or DT_GNU_HASH)"))?
            }
        };
        // Both tables were read with `room_for_syms` (or a smaller nchain) as their bound.
        debug_assert!(count <= room_for_syms, "hash tables bound the symbol count");
        let gnu = gnu.map(|(t, _)| t);
        if let Some(t) = &sysv {
            hash::validate_sysv_chains(&r, t, count)?;
        }
        if let Some(t) = &gnu {
            hash::validate_gnu(&r, t, count)?;
        }

        // --- versions
        let mut versions = SmallVec::new();
        let mut verdef_unterminated = false;
        if let Some(a) = tags.verdef {
            let off = loads.offset_of(a, "DT_VERDEF")?;
            let num = tags
                .verdefnum
                .ok_or_else(|| ParseError::missing("DT_VERDEFNUM"))?;
            verdef_unterminated = parse_verdefs(&r, off, num, &strings, &mut versions)?;
        }
        let versym_offset = match tags.versym {
            Some(a) => {
                let o = loads.offset_of(a, "DT_VERSYM")?;
                r.slice(o, count * 2, "DT_VERSYM")?;
                Some(o)
            }
            None => None,
        };

        let mut version_names = [None; 8];
        for v in versions.iter().filter(|v| v.index >= 2) {
            if let Some(slot) = version_names.get_mut(usize::from(v.index)) {
                *slot = Some(v.name);
            }
        }

        // --- symbols: validate each entry's name and version once, so that building a `Symbol` later
        // cannot fail; nothing is allocated per symbol.
        let ss = class.sym_size() as usize;
        let symtab_bytes = r.slice(symtab, count * class.sym_size(), "DT_SYMTAB")?;
        let versym = match versym_offset {
            Some(vo) => Some(r.slice(vo, count * 2, "DT_VERSYM")?),
            None => None,
        };
        for (i, e) in symtab_bytes.chunks_exact(ss).enumerate().skip(1) {
            strings.check(
                u64::from(r.field_u32(e, 0)),
                "st_name",
                symtab + (i * ss) as u64,
            )?;
            if let Some(vs) = versym {
                let idx = r.field_u16(vs, 2 * i) & 0x7fff;
                let known = match version_names.get(usize::from(idx)) {
                    Some(v) => v.is_some(),
                    None => versions.iter().any(|v| v.index == idx),
                };
                if idx >= 2 && !known {
                    return Err(ParseError::new(
                        ErrorKind::BadIndex,
                        "DT_VERSYM entry",
                        versym_offset.unwrap_or(0) + 2 * i as u64,
                    ));
                }
            }
        }

        Ok(Image {
            bytes,
            class,
            endian,
            machine,
            osabi: bytes[eh::EI_OSABI],
            flags,
            soname,
            load_bias,
            sysv,
            gnu,
            counts,
            dynsym_offset: symtab,
            dynstr: strtab..strtab + strsz,
            versym_offset,
            versions,
            verdef_unterminated,
            symtab: symtab_bytes,
            nsym: count.saturating_sub(1) as u32,
            strings,
            version_names,
            versym,
            phoff,
            phnum,
            shoff,
            shnum,
            shstrndx,
        })
    }

    /// Walk the section headers: bounds of every section with contents, the `.dynsym` count and the
    /// `.text` range. An image without section headers gives the program headers' extent and no text.
    pub fn sections(&self) -> Result<Sections> {
        let r = self.reader();
        let class = self.class;
        let mut out = Sections {
            elf_len: class.ehdr_size(),
            ..Sections::default()
        };
        for p in self.segments() {
            out.elf_len = out.elf_len.max(p.offset.saturating_add(p.filesz));
        }
        out.elf_len = out
            .elf_len
            .max(self.phoff + u64::from(self.phnum) * class.phdr_size());
        if self.shoff == 0 || self.shnum == 0 {
            return Ok(out);
        }
        let shdr = |i: u64| -> Result<(u32, u32, u64, u64, u64)> {
            let at = self.shoff + i * class.shdr_size();
            Ok(match class {
                Class::Elf32 => (
                    r.u32(at, "sh_name")?,
                    r.u32(at + 4, "sh_type")?,
                    r.word(at + 16, "sh_offset")?,
                    r.word(at + 20, "sh_size")?,
                    r.word(at + 36, "sh_entsize")?,
                ),
                Class::Elf64 => (
                    r.u32(at, "sh_name")?,
                    r.u32(at + 4, "sh_type")?,
                    r.word(at + 24, "sh_offset")?,
                    r.word(at + 32, "sh_size")?,
                    r.word(at + 56, "sh_entsize")?,
                ),
            })
        };
        out.elf_len = out
            .elf_len
            .max(self.shoff + u64::from(self.shnum) * class.shdr_size());
        let (_, _, shstr_off, shstr_size, _) = shdr(u64::from(self.shstrndx))?;
        let shstr = Strings::new(&r, shstr_off, shstr_size, "section header string table")?;
        for i in 1..u64::from(self.shnum) {
            let (name, ty, off, size, entsize) = shdr(i)?;
            if ty == sh::SHT_NOBITS || ty == sh::SHT_NULL {
                continue;
            }
            r.slice(off, size, "section contents")?;
            out.elf_len = out.elf_len.max(off + size);
            if ty == sh::SHT_DYNSYM && out.dynsym_count.is_none() {
                if entsize != class.sym_size() {
                    return Err(ParseError::new(
                        ErrorKind::BadEntrySize,
                        ".dynsym sh_entsize",
                        self.shoff + i * class.shdr_size(),
                    ));
                }
                out.dynsym_count = Some(size / class.sym_size());
            }
            if ty == sh::SHT_PROGBITS
                && out.text.is_none()
                && shstr.get(
                    u64::from(name),
                    "sh_name",
                    self.shoff + i * class.shdr_size(),
                )? == ".text"
            {
                out.text = Some(off..off + size);
            }
        }
        Ok(out)
    }

    /// File range of the `.text` section, or of the executable PT_LOAD when there is no `.text`.
    pub fn text(&self) -> Result<Range<u64>> {
        if let Some(t) = self.sections()?.text {
            return Ok(t);
        }
        self.segments()
            .find(|p| p.p_type == ph::PT_LOAD && p.flags & ph::PF_X != 0)
            .map(|p| p.offset..p.offset + p.filesz)
            .ok_or_else(|| ParseError::missing("executable PT_LOAD or .text section"))
    }

    /// The program headers, in table order (PT_NULL entries included).
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        let r = self.reader();
        let step = self.class.phdr_size();
        // The table was bounds-checked by `parse`, so these reads cannot fail.
        let table = r
            .slice(self.phoff, u64::from(self.phnum) * step, "")
            .unwrap_or(&[]);
        table
            .chunks_exact(step as usize)
            .map(move |e| read_phdr(&r, e))
    }

    /// The page size of the kernel the image was built for, as far as the image says: the first
    /// PT_LOAD's `p_align` when it is a page size (a power of two from 4 KiB to 64 KiB; ppc64 images of
    /// 64 KiB-page kernels carry 0x10000), else 4 KiB (arm64 images carry a small alignment whatever
    /// the kernel's page size). A layout from `/proc/PID/maps` carries the real sizes and needs none.
    pub fn page_size(&self) -> u64 {
        self.segments()
            .find(|p| p.p_type == ph::PT_LOAD)
            .map(|p| p.align)
            .filter(|a| a.is_power_of_two() && (4096..=65536).contains(a))
            .unwrap_or(4096)
    }

    /// Whether the virtual address `vaddr` lies inside a PT_LOAD segment (in its memory size).
    pub fn in_load(&self, vaddr: u64) -> bool {
        self.segments().any(|p| {
            p.p_type == ph::PT_LOAD && vaddr >= p.vaddr && vaddr - p.vaddr < p.memsz.max(1)
        })
    }

    /// Defined symbols (other than absolute ones) whose value lies outside every PT_LOAD: a loader
    /// resolving one hands out an address the image does not map.
    pub fn symbols_outside_loads(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        self.symbols()
            .filter(|s| s.offset.is_some() && !self.in_load(s.value))
    }

    /// The bytes the image was parsed from.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader {
            bytes: self.bytes,
            endian: self.endian,
            class: self.class,
        }
    }

    /// The machine's name as goblin spells it (`X86_64`, `AARCH64`, ...).
    pub fn machine_name(&self) -> &'static str {
        eh::machine_to_str(self.machine)
    }

    /// Number of dynamic symbols, the null symbol at index 0 excluded.
    pub fn symbol_count(&self) -> u32 {
        self.nsym
    }

    /// Every dynamic symbol except the null symbol, in table order.
    pub fn symbols(&self) -> Symbols<'_, 'a> {
        Symbols { img: self, next: 1 }
    }

    /// Exported symbols (defined, global or weak), in table order.
    pub fn exports(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        self.symbols().filter(|s| s.is_export())
    }

    /// Kernel-nulled entry points (see [`Symbol::is_nulled`]), in table order.
    pub fn nulled(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        self.symbols().filter(|s| s.is_nulled())
    }

    /// Exported entry points (see [`Symbol::is_code`]), in table order.
    pub fn functions(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        self.symbols().filter(|s| s.is_code())
    }

    /// The symbol at dynamic-symbol-table index `index` (1-based; 0 is the null symbol).
    #[inline]
    pub fn symbol(&self, index: u32) -> Option<Symbol<'a>> {
        if index == 0 || index > self.nsym {
            return None;
        }
        // As in `parse`: one copy per class and byte order, so field reads fold to plain loads.
        use {Class::*, Endian::*};
        match (self.class, self.endian) {
            (Elf64, Little) => self.symbol_as(index, Elf64, Little),
            (Elf64, Big) => self.symbol_as(index, Elf64, Big),
            (Elf32, Little) => self.symbol_as(index, Elf32, Little),
            (Elf32, Big) => self.symbol_as(index, Elf32, Big),
        }
    }

    #[inline(always)]
    fn symbol_as(&self, index: u32, class: Class, endian: Endian) -> Option<Symbol<'a>> {
        let r = Reader {
            bytes: self.bytes,
            class,
            endian,
        };
        let ss = class.sym_size() as usize;
        let i = index as usize;
        let e = self.symtab.get(i * ss..(i + 1) * ss)?;
        let (name, info, shndx, value, size) = match class {
            Class::Elf32 => (
                r.field_u32(e, 0),
                e[12],
                r.field_u16(e, 14),
                u64::from(r.field_u32(e, 4)),
                u64::from(r.field_u32(e, 8)),
            ),
            Class::Elf64 => (
                r.field_u32(e, 0),
                e[4],
                r.field_u16(e, 6),
                r.field_u64(e, 8),
                r.field_u64(e, 16),
            ),
        };
        let (version_index, version_hidden) = match self.versym {
            Some(vs) => {
                let raw = r.field_u16(vs, 2 * i);
                (raw & 0x7fff, raw & 0x8000 != 0)
            }
            None => (1, false),
        };
        let version = match self.version_names.get(usize::from(version_index)) {
            Some(v) => *v,
            None => self
                .versions
                .iter()
                .find(|v| v.index == version_index)
                .map(|v| v.name),
        };
        let shndx32 = u32::from(shndx);
        let offset = if shndx32 == sh::SHN_UNDEF || shndx32 == sh::SHN_ABS {
            None
        } else {
            Some(value.wrapping_sub(self.load_bias))
        };
        Some(Symbol {
            index,
            // Checked by `parse`; the fallback is unreachable.
            name: self.strings.get_checked(name),
            version,
            version_index,
            version_hidden,
            value,
            offset,
            size,
            kind: SymKind::from_raw(info & 0xf),
            binding: Binding::from_raw(info >> 4),
            shndx,
        })
    }

    /// The kernel version the image was built for: the `LINUX_VERSION_CODE` the kernel's vDSO build
    /// stores in an `ELFNOTE("Linux", 0, ...)` (`include/linux/elfnote.h`, `arch/*/vdso/note.S`), as
    /// (major, minor, patch). `None` when there is no such note.
    pub fn linux_version(&self) -> Option<(u32, u32, u32)> {
        let r = self.reader();
        for p in self.segments().filter(|p| p.p_type == ph::PT_NOTE) {
            let end = p.offset.saturating_add(p.filesz);
            let mut at = p.offset;
            while at + 12 <= end {
                let namesz = u64::from(r.u32(at, "").ok()?);
                let descsz = u64::from(r.u32(at + 4, "").ok()?);
                let ntype = r.u32(at + 8, "").ok()?;
                let name_at = at + 12;
                let desc_at = name_at + namesz.div_ceil(4) * 4;
                if ntype == 0 && descsz == 4 && r.slice(name_at, namesz, "").ok()? == b"Linux\0" {
                    let v = r.u32(desc_at, "").ok()?;
                    return Some((v >> 16, (v >> 8) & 0xff, v & 0xff));
                }
                at = desc_at.saturating_add(descsz.div_ceil(4) * 4);
            }
        }
        None
    }

    /// The GNU build id (`NT_GNU_BUILD_ID` note), if a PT_NOTE segment carries one.
    pub fn build_id(&self) -> Result<Option<&'a [u8]>> {
        let r = self.reader();
        for p in self.segments().filter(|p| p.p_type == ph::PT_NOTE) {
            if let Some(id) = find_build_id(&r, p.offset, p.filesz, p.align)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The symbol `name` (optionally `name@version`) as a dynamic loader would find it: through the GNU
    /// hash table when present, else DT_HASH, else a linear scan. Use [`Image::lookup`] to see what each
    /// source says.
    pub fn find(&self, name: &str, version: Option<&str>) -> Option<Symbol<'a>> {
        let l = self.lookup(name, version);
        let idx = match (l.gnu, l.sysv) {
            (Probe::Found(i), _) => Some(i),
            (Probe::NotFound, _) => None,
            (Probe::Absent, Probe::Found(i)) => Some(i),
            (Probe::Absent, Probe::NotFound) => None,
            (Probe::Absent, Probe::Absent) => l.linear,
        }?;
        self.symbol(idx)
    }
}

/// One program header from its entry bytes (already sliced out of the table, so reads cannot fail).
#[inline(always)]
fn read_phdr(r: &Reader, e: &[u8]) -> Segment {
    match r.class {
        Class::Elf32 => Segment {
            p_type: r.field_u32(e, 0),
            offset: u64::from(r.field_u32(e, 4)),
            vaddr: u64::from(r.field_u32(e, 8)),
            filesz: u64::from(r.field_u32(e, 16)),
            memsz: u64::from(r.field_u32(e, 20)),
            flags: r.field_u32(e, 24),
            align: u64::from(r.field_u32(e, 28)),
        },
        Class::Elf64 => Segment {
            p_type: r.field_u32(e, 0),
            flags: r.field_u32(e, 4),
            offset: r.field_u64(e, 8),
            vaddr: r.field_u64(e, 16),
            filesz: r.field_u64(e, 32),
            memsz: r.field_u64(e, 40),
            align: r.field_u64(e, 48),
        },
    }
}

/// Walk one PT_NOTE segment for the GNU build id (`NT_GNU_BUILD_ID`, owner `GNU`).
#[inline(always)]
fn find_build_id<'a>(r: &Reader<'a>, off: u64, len: u64, align: u64) -> Result<Option<&'a [u8]>> {
    // Notes are padded to 4 bytes, or to 8 when the segment says so (ELF gABI "Note Section").
    let pad = if align == 8 { 8 } else { 4 };
    let up = |x: u64| x.div_ceil(pad) * pad;
    let end = off + len;
    let mut at = off;
    while at + 12 <= end {
        let namesz = u64::from(r.u32(at, "n_namesz")?);
        let descsz = u64::from(r.u32(at + 4, "n_descsz")?);
        let ntype = r.u32(at + 8, "n_type")?;
        let name_at = at + 12;
        let desc_at = name_at + up(namesz);
        let next = desc_at.saturating_add(up(descsz));
        if next > end {
            return Err(ParseError::truncated("note", at));
        }
        if ntype == goblin::elf::note::NT_GNU_BUILD_ID
            && r.slice(name_at, namesz, "n_name")? == b"GNU\0"
        {
            return Ok(Some(r.slice(desc_at, descsz, "n_desc")?));
        }
        at = next;
    }
    Ok(None)
}

/// Verdef entry: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32.
const VERDEF_SIZE: u64 = 20;

#[inline(always)]
fn parse_verdefs<'a>(
    r: &Reader<'a>,
    off: u64,
    num: u64,
    strings: &Strings<'a>,
    out: &mut SmallVec<[VersionDef<'a>; 4]>,
) -> Result<bool> {
    if num > r.len() / VERDEF_SIZE {
        return Err(ParseError::new(ErrorKind::TooLarge, "DT_VERDEFNUM", off));
    }
    let mut at = off;
    for i in 0..num {
        let e = r.slice(at, VERDEF_SIZE, "Elf_Verdef")?;
        if r.field_u16(e, 0) != 1 {
            return Err(ParseError::new(ErrorKind::BadVersion, "vd_version", at));
        }
        let flags = r.field_u16(e, 2);
        let index = r.field_u16(e, 4);
        let aux = u64::from(r.field_u32(e, 12));
        let next = u64::from(r.field_u32(e, 16));
        let name_off = r.u32(at + aux, "vda_name")?;
        let name = strings.get(u64::from(name_off), "vda_name", at + aux)?;
        if out.iter().any(|v| v.index == index) {
            return Err(ParseError::new(
                ErrorKind::BadValue,
                "vd_ndx (duplicate)",
                at + 4,
            ));
        }
        out.push(VersionDef { index, flags, name });
        if next == 0 {
            if i + 1 != num {
                return Err(ParseError::new(
                    ErrorKind::BadValue,
                    "vd_next (chain ends early)",
                    at + 16,
                ));
            }
            return Ok(false);
        }
        if i + 1 == num {
            return Ok(true); // the last counted entry still points on
        }
        at = at
            .checked_add(next)
            .ok_or_else(|| ParseError::truncated("vd_next", at + 16))?;
    }
    Ok(false)
}
