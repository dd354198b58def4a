//! Lay out and write the ELF bytes of a validated [`Spec`].

use super::Spec;
use crate::image::{
    gnu_hash, same_name, sysv_hash, sysv_hash_entry_size, Binding, Class, Endian, SymKind,
};
use goblin::elf::dynamic as dt;
use goblin::elf::header as eh;
use goblin::elf::program_header as ph;
use goblin::elf::section_header as sh;
use smallvec::SmallVec;
use std::hash::Hasher;

/// A fixed-size output buffer with endian- and class-aware stores.
struct Out {
    buf: Vec<u8>,
    endian: Endian,
    class: Class,
}

impl Out {
    fn put(&mut self, at: u64, bytes: &[u8]) {
        let at = at as usize;
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn u16(&mut self, at: u64, v: u16) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.put(at, &b);
    }
    fn u32(&mut self, at: u64, v: u32) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.put(at, &b);
    }
    fn u64(&mut self, at: u64, v: u64) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.put(at, &b);
    }
    fn word(&mut self, at: u64, v: u64) {
        match self.class {
            Class::Elf32 => self.u32(at, v as u32),
            Class::Elf64 => self.u64(at, v),
        }
    }
    /// A hash-table entry of `esz` bytes.
    fn entry(&mut self, at: u64, esz: u64, v: u64) {
        if esz == 8 {
            self.u64(at, v)
        } else {
            self.u32(at, v as u32)
        }
    }
}

fn align(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// ld's bucket-count table (bfd/elflink.c `elf_buckets`): the largest entry not above the number of
/// symbols, so small vDSOs get 1 or 3 buckets as the real ones do.
fn bucket_count(nsyms: usize) -> u32 {
    const PRIMES: [u32; 11] = [1, 3, 17, 37, 67, 97, 131, 197, 263, 521, 1031];
    PRIMES
        .iter()
        .rev()
        .find(|&&p| p as usize <= nsyms.max(1))
        .copied()
        .unwrap_or(1)
}

/// A symbol as it will be written.
struct OutSym<'s> {
    name: &'s str,
    /// Offset of the name in `.dynstr`.
    name_off: u32,
    /// GNU hash of the name (computed once: it orders the table and fills the GNU hash table).
    gnu: u32,
    /// DT_VERSYM value.
    versym: u16,
    value: u64,
    size: u64,
    info: u8,
    shndx: u16,
}

/// A string table under construction: offsets are handed out as names are added (deduplicated), and
/// the bytes are written once, straight into the image, when its place is known. Inline for a vDSO's
/// few dozen names; the index is scanned by word hash, so names are byte-compared (a `memcmp`, which
/// libFuzzer intercepts) only when they are almost surely equal.
struct Strtab<'s> {
    /// Length so far, the leading NUL included.
    len: u32,
    /// (word hash, offset, name) of every distinct name, in table order.
    index: SmallVec<[(u64, u32, &'s str); 32]>,
}

impl<'s> Strtab<'s> {
    fn new() -> Strtab<'s> {
        Strtab {
            len: 1,
            index: SmallVec::new(),
        }
    }
    fn add(&mut self, s: &'s str) -> u32 {
        let mut h = super::WordHasher::default();
        h.write(s.as_bytes());
        let h = h.finish();
        if let Some(&(_, o, _)) = self.index.iter().find(|e| e.0 == h && same_name(e.2, s)) {
            return o;
        }
        let o = self.len;
        self.len += s.len() as u32 + 1;
        self.index.push((h, o, s));
        o
    }
    /// Write the names at `at` (the NULs between them are the buffer's zeros).
    fn write(&self, o: &mut Out, at: u64) {
        for &(_, off, s) in &self.index {
            o.put(at + u64::from(off), s.as_bytes());
        }
    }
}

/// The sections an image has, by index (fixed order; absent sections are skipped), and their names in
/// `.shstrtab`. Fixed-size tables: vdso_reloc builds two images per input, and every allocation counts.
struct Sections {
    hash: Option<u16>,
    gnu: Option<u16>,
    dynsym: u16,
    dynstr: u16,
    versym: Option<u16>,
    verdef: Option<u16>,
    dynamic: u16,
    note: Option<u16>,
    text: u16,
    shstrtab: u16,
    /// Section headers, the null one included.
    count: u64,
    /// `.shstrtab`: its first `names_len` bytes.
    shstr: [u8; 128],
    names_len: usize,
    /// Each section's name offset in `.shstrtab`, by section index.
    name_offs: [u32; 11],
}

impl Sections {
    /// Number the sections `spec` needs and write their names.
    fn new(spec: &Spec) -> Sections {
        let versioned = !spec.versions.is_empty();
        let mut shstr = [0u8; 128];
        let mut names_len = 1; // the null section's empty name
        let mut name_offs = [0u32; 11];
        let mut count = 1usize;
        let mut idx = |n: &'static str, present: bool| -> Option<u16> {
            present.then(|| {
                name_offs[count] = names_len as u32;
                shstr[names_len..names_len + n.len()].copy_from_slice(n.as_bytes());
                names_len += n.len() + 1;
                count += 1;
                (count - 1) as u16
            })
        };
        let hash = idx(".hash", spec.hash.sysv());
        let gnu = idx(".gnu.hash", spec.hash.gnu());
        let dynsym = idx(".dynsym", true).unwrap_or(0);
        let dynstr = idx(".dynstr", true).unwrap_or(0);
        let versym = idx(".gnu.version", versioned);
        let verdef = idx(".gnu.version_d", versioned);
        let dynamic = idx(".dynamic", true).unwrap_or(0);
        let note = idx(".note", spec.quirks.build_id.is_some());
        let text = idx(".text", true).unwrap_or(0);
        let shstrtab = idx(".shstrtab", true).unwrap_or(0);
        Sections {
            hash,
            gnu,
            dynsym,
            dynstr,
            versym,
            verdef,
            dynamic,
            note,
            text,
            shstrtab,
            count: count as u64,
            shstr,
            names_len,
            name_offs,
        }
    }

    /// The bytes of `.shstrtab`.
    fn names(&self) -> &[u8] {
        &self.shstr[..self.names_len]
    }
}

/// The dynamic symbols and their string table.
struct Symbols<'s> {
    /// In table order after the null symbol: version symbols first, then the spec's, stably grouped by
    /// GNU hash bucket when there is a GNU hash table. The values of symbols in `.text` are relative
    /// to it; [`write_symbols`] writes addresses.
    list: SmallVec<[OutSym<'s>; 24]>,
    /// The soname, the version names, then the symbol names (deduplicated).
    dynstr: Strtab<'s>,
    /// Buckets of either hash table.
    nbuckets: u32,
}

impl<'s> Symbols<'s> {
    /// Empty tables, for [`Symbols::fill`].
    fn new() -> Symbols<'s> {
        Symbols {
            list: SmallVec::new(),
            dynstr: Strtab::new(),
            nbuckets: 0,
        }
    }

    /// Add the spec's symbols and names to empty tables. `text` is the index of `.text`, the section
    /// of every non-version symbol. (Filled in place rather than returned: the tables are inline, some
    /// 2 KiB, and the compiler copies a returned value once more.)
    fn fill(&mut self, spec: &'s Spec, text: u16) {
        let (list, dynstr) = (&mut self.list, &mut self.dynstr);
        dynstr.add(&spec.soname);
        for v in &spec.versions {
            dynstr.add(v);
        }
        let version_index = |v: &Option<super::Name>| -> u16 {
            match v {
                Some(v) => {
                    2 + spec
                        .versions
                        .iter()
                        .position(|x| same_name(x, v))
                        .unwrap_or(0) as u16
                }
                None => 1,
            }
        };
        if spec.quirks.version_symbols {
            for (i, v) in spec.versions.iter().enumerate() {
                list.push(OutSym {
                    name: v,
                    name_off: 0,
                    gnu: gnu_hash(v.as_bytes()),
                    versym: 2 + i as u16,
                    value: 0,
                    size: 0,
                    info: (Binding::Global.to_raw() << 4) | SymKind::Object.to_raw(),
                    shndx: sh::SHN_ABS as u16,
                });
            }
        }
        for s in &spec.symbols {
            list.push(OutSym {
                name: &s.name,
                name_off: 0,
                gnu: gnu_hash(s.name.as_bytes()),
                versym: version_index(&s.version),
                value: u64::from(s.offset), // text-relative for now
                size: u64::from(s.size),
                info: (s.binding.to_raw() << 4) | s.kind.to_raw(),
                shndx: text,
            });
        }
        let nbuckets = bucket_count(list.len());
        if spec.hash.gnu() {
            // GNU hash requires the hashed symbols grouped by bucket, in bucket order.
            list.sort_by_key(|s| s.gnu % nbuckets);
        }
        for s in list.iter_mut() {
            s.name_off = dynstr.add(s.name);
        }
        self.nbuckets = nbuckets;
    }
}

/// Size of an `Elf_Verdef` and of an `Elf_Verdaux` entry (the same in both classes).
const VERDEF: u64 = 20;
const VERDAUX: u64 = 8;

/// Where everything goes (file offsets; vaddr = base + offset), and the counts and sizes the offsets
/// follow from. Offsets of absent sections are `None`.
struct Layout {
    class: Class,
    /// The class's word size.
    ws: u64,
    base: u64,
    /// Program headers.
    nphdr: u64,
    /// Dynamic symbols, the null one included.
    nsym: u64,
    nbuckets: u32,
    /// `.hash` entry size ([`sysv_hash_entry_size`]).
    hash_esz: u64,
    hash: Option<u64>,
    /// Bits in a `.gnu.hash` bloom filter word, and the filter's length in words.
    bloom_bits: u64,
    bloom_size: u64,
    gnu: Option<u64>,
    gnu_len: u64,
    dynsym: u64,
    dynstr: u64,
    versym: Option<u64>,
    verdef: Option<u64>,
    /// Version definitions, the base one included.
    nverdef: u64,
    dynamic: u64,
    /// `.dynamic` entries, DT_NULL included.
    ndyn: u64,
    /// The build-id note's offset and length.
    note: Option<(u64, u64)>,
    text: u64,
    shstrtab: u64,
    /// The section header table.
    shoff: u64,
    /// The image's size.
    total: u64,
}

impl Layout {
    /// Place the headers, then each section in the order of the module doc.
    fn new(spec: &Spec, secs: &Sections, syms: &Symbols) -> Layout {
        let class = spec.class;
        let ws = class.word_size();
        let versioned = !spec.versions.is_empty();
        let hash_esz = sysv_hash_entry_size(class, spec.machine);
        let nbuckets = syms.nbuckets;
        let nsym = syms.list.len() as u64 + 1; // with the null symbol
        let nphdr = 2
            + u64::from(spec.quirks.build_id.is_some())
            + u64::from(spec.quirks.empty_gnu_property)
            + u64::from(spec.quirks.trailing_pt_null);
        let mut at = class.ehdr_size() + nphdr * class.phdr_size();
        let mut place = |size: u64, a: u64| -> u64 {
            let o = align(at, a);
            at = o + size;
            o
        };
        let hash = spec
            .hash
            .sysv()
            .then(|| place((2 + u64::from(nbuckets) + nsym) * hash_esz, 8));
        let bloom_bits = match class {
            Class::Elf32 => 32u64,
            Class::Elf64 => 64,
        };
        // Two bloom bits per hashed symbol, rounded to a power-of-two number of words (ld's sizing
        // rule).
        let bloom_size = (2 * syms.list.len() as u64)
            .div_ceil(bloom_bits)
            .max(1)
            .next_power_of_two();
        let gnu_len = 16 + bloom_size * ws + 4 * u64::from(nbuckets) + 4 * (nsym - 1);
        let gnu = spec.hash.gnu().then(|| place(gnu_len, ws));
        let dynsym = place(nsym * class.sym_size(), ws);
        let dynstr = place(u64::from(syms.dynstr.len), 1);
        let versym = versioned.then(|| place(nsym * 2, 2));
        let nverdef = spec.versions.len() as u64 + 1;
        let verdef = versioned.then(|| place(nverdef * (VERDEF + VERDAUX), ws));
        let mut ndyn = 6u64; // SONAME STRTAB SYMTAB STRSZ SYMENT NULL
        ndyn += u64::from(spec.hash.sysv()) + u64::from(spec.hash.gnu());
        ndyn += if versioned { 3 } else { 0 };
        let dynamic = place(ndyn * class.dyn_size(), ws);
        let note = spec
            .quirks
            .build_id
            .as_ref()
            .map(|b| 12 + 4 + align(b.len() as u64, 4))
            .map(|len| (place(len, 4), len));
        let text = place(u64::from(spec.text_size), 16);
        let shstrtab = place(secs.names().len() as u64, 1);
        let shoff = place(secs.count * class.shdr_size(), ws);
        Layout {
            class,
            ws,
            base: spec.base,
            nphdr,
            nsym,
            nbuckets,
            hash_esz,
            hash,
            bloom_bits,
            bloom_size,
            gnu,
            gnu_len,
            dynsym,
            dynstr,
            versym,
            verdef,
            nverdef,
            dynamic,
            ndyn,
            note,
            text,
            shstrtab,
            shoff,
            total: shoff + secs.count * class.shdr_size(),
        }
    }

    /// The address of file offset `off`.
    fn va(&self, off: u64) -> u64 {
        self.base + off
    }
}

/// Write the image into `out` (cleared first; its capacity is reused). Everything is sized and placed
/// first (section indices, symbols and strings, the [`Layout`]); then each part is written into a
/// zeroed buffer of the final size.
pub(super) fn build(spec: &Spec, out: &mut Vec<u8>) {
    let secs = Sections::new(spec);
    let mut syms = Symbols::new();
    syms.fill(spec, secs.text);
    let l = Layout::new(spec, &secs, &syms);
    let mut o = blank(spec, &l, out);
    write_ehdr(&mut o, spec, &l, &secs);
    write_phdrs(&mut o, spec, &l);
    write_symbols(&mut o, &l, &syms, secs.text);
    write_sysv_hash(&mut o, &l, &syms.list);
    write_gnu_hash(&mut o, &l, &syms.list);
    write_versions(&mut o, spec, &l, &mut syms);
    write_dynamic(&mut o, spec, &l, &mut syms.dynstr);
    write_build_id(&mut o, spec, &l);
    write_shdrs(&mut o, spec, &l, &secs, syms.dynstr.len);
    *out = o.buf;
}

/// `out`'s allocation, cleared and resized to the image: zeros, except `.text`, a trap instruction
/// pattern, so a stray jump into it stops rather than slides. Filled with its first byte (one memset),
/// then, for a 4-byte pattern, word by word.
fn blank(spec: &Spec, l: &Layout, out: &mut Vec<u8>) -> Out {
    let fill = text_fill(spec.machine);
    let mut buf = std::mem::take(out);
    buf.clear();
    buf.reserve(l.total as usize);
    buf.resize(l.text as usize, 0);
    buf.resize((l.text + u64::from(spec.text_size)) as usize, fill[0]);
    if let Ok(word) = <[u8; 4]>::try_from(fill) {
        let text = &mut buf[l.text as usize..];
        let mut words = text.chunks_exact_mut(4);
        for w in &mut words {
            w.copy_from_slice(&word);
        }
        let tail = words.into_remainder();
        let n = tail.len();
        tail.copy_from_slice(&word[..n]);
    }
    buf.resize(l.total as usize, 0);
    Out {
        buf,
        endian: spec.endian,
        class: spec.class,
    }
}

/// The ELF header.
fn write_ehdr(o: &mut Out, spec: &Spec, l: &Layout, secs: &Sections) {
    let class = l.class;
    o.put(0, b"\x7fELF");
    o.buf[eh::EI_CLASS] = match class {
        Class::Elf32 => eh::ELFCLASS32,
        Class::Elf64 => eh::ELFCLASS64,
    };
    o.buf[eh::EI_DATA] = match spec.endian {
        Endian::Little => eh::ELFDATA2LSB,
        Endian::Big => eh::ELFDATA2MSB,
    };
    o.buf[eh::EI_VERSION] = eh::EV_CURRENT;
    o.u16(16, eh::ET_DYN);
    o.u16(18, spec.machine);
    o.u32(20, u32::from(eh::EV_CURRENT));
    let (tail, phoff_at, shoff_at) = match class {
        Class::Elf32 => (40, 28, 32),
        Class::Elf64 => (52, 32, 40),
    };
    o.word(24, 0); // e_entry
    o.word(phoff_at, class.ehdr_size());
    o.word(shoff_at, l.shoff);
    o.u16(tail, class.ehdr_size() as u16);
    o.u16(tail + 2, class.phdr_size() as u16);
    o.u16(tail + 4, l.nphdr as u16);
    o.u16(tail + 6, class.shdr_size() as u16);
    o.u16(tail + 8, secs.count as u16);
    o.u16(tail + 10, secs.shstrtab);
}

/// The program headers: PT_LOAD of everything up to the end of `.text`, PT_DYNAMIC, then the
/// optional PT_NOTE, empty PT_GNU_PROPERTY and trailing PT_NULL.
fn write_phdrs(o: &mut Out, spec: &Spec, l: &Layout) {
    let (class, ws) = (l.class, l.ws);
    let load_end = l.text + u64::from(spec.text_size);
    let phdrs = [
        Some((ph::PT_LOAD, ph::PF_R | ph::PF_X, 0, load_end, 0x1000)),
        Some((
            ph::PT_DYNAMIC,
            ph::PF_R,
            l.dynamic,
            l.ndyn * class.dyn_size(),
            ws,
        )),
        l.note
            .map(|(off, len)| (ph::PT_NOTE, ph::PF_R, off, len, 4)),
        spec.quirks
            .empty_gnu_property
            .then_some((ph::PT_GNU_PROPERTY, ph::PF_R, 0, 0, ws)),
        spec.quirks
            .trailing_pt_null
            .then_some((ph::PT_NULL, 0, 0, 0, 0)),
    ];
    for (i, &(ty, flags, off, len, al)) in phdrs.iter().flatten().enumerate() {
        let at = class.ehdr_size() + i as u64 * class.phdr_size();
        let (vaddr, memsz) = if ty == ph::PT_NULL || len == 0 && ty != ph::PT_LOAD {
            (0, 0)
        } else {
            (l.va(off), len)
        };
        o.u32(at, ty);
        match class {
            Class::Elf32 => {
                o.word(at + 4, off);
                o.word(at + 8, vaddr);
                o.word(at + 12, vaddr);
                o.word(at + 16, len);
                o.word(at + 20, memsz);
                o.u32(at + 24, flags);
                o.word(at + 28, al);
            }
            Class::Elf64 => {
                o.u32(at + 4, flags);
                o.word(at + 8, off);
                o.word(at + 16, vaddr);
                o.word(at + 24, vaddr);
                o.word(at + 32, len);
                o.word(at + 40, memsz);
                o.word(at + 48, al);
            }
        }
    }
}

/// `.dynsym` (its null symbol is the buffer's zeros), with the values of symbols in `.text` (section
/// `text`) made addresses, and `.dynstr`.
fn write_symbols(o: &mut Out, l: &Layout, syms: &Symbols, text: u16) {
    let class = l.class;
    for (i, s) in syms.list.iter().enumerate() {
        let at = l.dynsym + (i as u64 + 1) * class.sym_size();
        let value = if s.shndx == text {
            l.va(l.text + s.value)
        } else {
            s.value
        };
        o.u32(at, s.name_off);
        match class {
            Class::Elf32 => {
                o.word(at + 4, value);
                o.word(at + 8, s.size);
                o.buf[(at + 12) as usize] = s.info;
                o.u16(at + 14, s.shndx);
            }
            Class::Elf64 => {
                o.buf[(at + 4) as usize] = s.info;
                o.u16(at + 6, s.shndx);
                o.word(at + 8, value);
                o.word(at + 16, s.size);
            }
        }
    }
    syms.dynstr.write(o, l.dynstr);
}

/// `.hash`, if present. Chains are prepended, so each bucket lists its symbols in table order
/// reversed.
fn write_sysv_hash(o: &mut Out, l: &Layout, syms: &[OutSym]) {
    let Some(h) = l.hash else { return };
    let (esz, nb) = (l.hash_esz, u64::from(l.nbuckets));
    o.entry(h, esz, nb);
    o.entry(h + esz, esz, l.nsym);
    for (i, s) in syms.iter().enumerate() {
        let si = i as u64 + 1;
        let b = u64::from(sysv_hash(s.name.as_bytes())) % nb;
        let bucket_at = h + (2 + b) * esz;
        let cur = read_entry(o, bucket_at, esz);
        o.entry(h + (2 + nb + si) * esz, esz, cur);
        o.entry(bucket_at, esz, si);
    }
}

/// `.gnu.hash`, if present: every symbol after the null one is hashed, and `syms` is already grouped
/// by bucket ([`Symbols::fill`]).
fn write_gnu_hash(o: &mut Out, l: &Layout, syms: &[OutSym]) {
    let Some(g) = l.gnu else { return };
    let (ws, nbuckets, bloom_bits, bloom_size) = (l.ws, l.nbuckets, l.bloom_bits, l.bloom_size);
    let bloom_shift: u32 = if l.class == Class::Elf64 { 6 } else { 5 };
    o.u32(g, nbuckets);
    o.u32(g + 4, 1); // symoffset
    o.u32(g + 8, bloom_size as u32);
    o.u32(g + 12, bloom_shift);
    let bloom = g + 16;
    let buckets = bloom + bloom_size * ws;
    let chain = buckets + 4 * u64::from(nbuckets);
    for (i, h) in syms.iter().map(|s| s.gnu).enumerate() {
        let word = (u64::from(h) / bloom_bits) % bloom_size;
        let w_at = bloom + word * ws;
        let bits = (1u64 << (u64::from(h) % bloom_bits))
            | (1u64 << (u64::from(h >> bloom_shift) % bloom_bits));
        let cur = read_word(o, w_at);
        o.word(w_at, cur | bits);
        let b = h % nbuckets;
        let b_at = buckets + 4 * u64::from(b);
        if read_entry(o, b_at, 4) == 0 {
            o.u32(b_at, i as u32 + 1);
        }
        let last = syms.get(i + 1).map(|n| n.gnu % nbuckets) != Some(b);
        o.u32(chain + 4 * i as u64, (h & !1) | u32::from(last));
    }
}

/// `.gnu.version` and `.gnu.version_d`, if the spec has versions: the base version (named after the
/// soname), then the spec's. Their names are in `.dynstr` already: `add` only looks them up.
fn write_versions<'s>(o: &mut Out, spec: &'s Spec, l: &Layout, syms: &mut Symbols<'s>) {
    let (Some(vs), Some(vd)) = (l.versym, l.verdef) else {
        return;
    };
    for (i, s) in syms.list.iter().enumerate() {
        o.u16(vs + 2 * (i as u64 + 1), s.versym);
    }
    let all = std::iter::once(&*spec.soname).chain(spec.versions.iter().map(|v| &**v));
    for (i, name) in all.enumerate() {
        let at = vd + i as u64 * (VERDEF + VERDAUX);
        o.u16(at, 1);
        o.u16(
            at + 2,
            if i == 0 {
                crate::image::VER_FLG_BASE
            } else {
                0
            },
        );
        o.u16(at + 4, i as u16 + 1);
        o.u16(at + 6, 1);
        o.u32(at + 8, sysv_hash(name.as_bytes()));
        o.u32(at + 12, VERDEF as u32);
        let next = if i as u64 + 1 == l.nverdef {
            0
        } else {
            VERDEF + VERDAUX
        };
        o.u32(at + 16, next as u32);
        o.u32(at + VERDEF, syms.dynstr.add(name));
        o.u32(at + VERDEF + 4, 0);
    }
}

/// `.dynamic`. The soname is in `dynstr` already: `add` only looks it up.
fn write_dynamic<'s>(o: &mut Out, spec: &'s Spec, l: &Layout, dynstr: &mut Strtab<'s>) {
    let versions = l.versym.zip(l.verdef);
    let tags = [
        Some((dt::DT_SONAME, u64::from(dynstr.add(&spec.soname)))),
        l.hash.map(|h| (dt::DT_HASH, l.va(h))),
        l.gnu.map(|g| (dt::DT_GNU_HASH, l.va(g))),
        Some((dt::DT_STRTAB, l.va(l.dynstr))),
        Some((dt::DT_SYMTAB, l.va(l.dynsym))),
        Some((dt::DT_STRSZ, u64::from(dynstr.len))),
        Some((dt::DT_SYMENT, l.class.sym_size())),
        versions.map(|(_, vd)| (dt::DT_VERDEF, l.va(vd))),
        versions.map(|_| (dt::DT_VERDEFNUM, l.nverdef)),
        versions.map(|(vs, _)| (dt::DT_VERSYM, l.va(vs))),
        Some((dt::DT_NULL, 0)),
    ];
    for (i, &(t, v)) in tags.iter().flatten().enumerate() {
        let at = l.dynamic + i as u64 * l.class.dyn_size();
        o.word(at, t);
        o.word(at + l.ws, v);
    }
}

/// The GNU build-id note, if the spec has one.
fn write_build_id(o: &mut Out, spec: &Spec, l: &Layout) {
    if let (Some((n, _)), Some(b)) = (l.note, &spec.quirks.build_id) {
        o.u32(n, 4);
        o.u32(n + 4, b.len() as u32);
        o.u32(n + 8, goblin::elf::note::NT_GNU_BUILD_ID);
        o.put(n + 12, b"GNU\0");
        o.put(n + 16, b);
    }
}

/// A section header as written; sections without an index are absent.
#[derive(Clone, Copy)]
struct Sec {
    idx: Option<u16>,
    ty: u32,
    flags: u64,
    off: u64,
    size: u64,
    link: u16,
    info: u32,
    align: u64,
    entsize: u64,
}

impl Sec {
    /// The fields most sections share: allocated, no link, info or entry size.
    const ALLOC: Sec = Sec {
        idx: None,
        ty: sh::SHT_NULL,
        flags: sh::SHF_ALLOC as u64,
        off: 0,
        size: 0,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    };
}

/// Every section header, in index order (absent sections included, without an index).
fn section_headers(spec: &Spec, l: &Layout, secs: &Sections, dynstr_len: u32) -> [Sec; 10] {
    let (class, ws) = (l.class, l.ws);
    [
        Sec {
            idx: secs.hash,
            ty: sh::SHT_HASH,
            off: l.hash.unwrap_or(0),
            size: (2 + u64::from(l.nbuckets) + l.nsym) * l.hash_esz,
            link: secs.dynsym,
            align: 8,
            entsize: l.hash_esz,
            ..Sec::ALLOC
        },
        Sec {
            idx: secs.gnu,
            ty: sh::SHT_GNU_HASH,
            off: l.gnu.unwrap_or(0),
            size: l.gnu_len,
            link: secs.dynsym,
            align: ws,
            ..Sec::ALLOC
        },
        Sec {
            idx: Some(secs.dynsym),
            ty: sh::SHT_DYNSYM,
            off: l.dynsym,
            size: l.nsym * class.sym_size(),
            link: secs.dynstr,
            info: 1,
            align: ws,
            entsize: class.sym_size(),
            ..Sec::ALLOC
        },
        Sec {
            idx: Some(secs.dynstr),
            ty: sh::SHT_STRTAB,
            off: l.dynstr,
            size: u64::from(dynstr_len),
            ..Sec::ALLOC
        },
        Sec {
            idx: secs.versym,
            ty: sh::SHT_GNU_VERSYM,
            off: l.versym.unwrap_or(0),
            size: l.nsym * 2,
            link: secs.dynsym,
            align: 2,
            entsize: 2,
            ..Sec::ALLOC
        },
        Sec {
            idx: secs.verdef,
            ty: sh::SHT_GNU_VERDEF,
            off: l.verdef.unwrap_or(0),
            size: l.nverdef * (VERDEF + VERDAUX),
            link: secs.dynstr,
            info: l.nverdef as u32,
            align: ws,
            ..Sec::ALLOC
        },
        Sec {
            idx: Some(secs.dynamic),
            ty: sh::SHT_DYNAMIC,
            flags: u64::from(sh::SHF_ALLOC | sh::SHF_WRITE),
            off: l.dynamic,
            size: l.ndyn * class.dyn_size(),
            link: secs.dynstr,
            align: ws,
            entsize: class.dyn_size(),
            ..Sec::ALLOC
        },
        Sec {
            idx: secs.note,
            ty: sh::SHT_NOTE,
            off: l.note.map_or(0, |n| n.0),
            size: l.note.map_or(0, |n| n.1),
            align: 4,
            ..Sec::ALLOC
        },
        Sec {
            idx: Some(secs.text),
            ty: sh::SHT_PROGBITS,
            flags: u64::from(sh::SHF_ALLOC | sh::SHF_EXECINSTR),
            off: l.text,
            size: u64::from(spec.text_size),
            align: 16,
            ..Sec::ALLOC
        },
        Sec {
            idx: Some(secs.shstrtab),
            ty: sh::SHT_STRTAB,
            flags: 0,
            off: l.shstrtab,
            size: secs.names().len() as u64,
            ..Sec::ALLOC
        },
    ]
}

/// `.shstrtab` and the section header table (its null entry is the buffer's zeros).
fn write_shdrs(o: &mut Out, spec: &Spec, l: &Layout, secs: &Sections, dynstr_len: u32) {
    o.put(l.shstrtab, secs.names());
    let class = l.class;
    for s in section_headers(spec, l, secs, dynstr_len).iter() {
        let Some(i) = s.idx else { continue };
        let at = l.shoff + u64::from(i) * class.shdr_size();
        let addr = if s.flags & u64::from(sh::SHF_ALLOC) != 0 {
            l.va(s.off)
        } else {
            0
        };
        o.u32(at, secs.name_offs[usize::from(i)]);
        o.u32(at + 4, s.ty);
        match class {
            Class::Elf32 => {
                o.word(at + 8, s.flags);
                o.word(at + 12, addr);
                o.word(at + 16, s.off);
                o.word(at + 20, s.size);
                o.u32(at + 24, u32::from(s.link));
                o.u32(at + 28, s.info);
                o.word(at + 32, s.align);
                o.word(at + 36, s.entsize);
            }
            Class::Elf64 => {
                o.word(at + 8, s.flags);
                o.word(at + 16, addr);
                o.word(at + 24, s.off);
                o.word(at + 32, s.size);
                o.u32(at + 40, u32::from(s.link));
                o.u32(at + 44, s.info);
                o.word(at + 48, s.align);
                o.word(at + 56, s.entsize);
            }
        }
    }
}

fn read_entry(o: &Out, at: u64, esz: u64) -> u64 {
    let b = &o.buf[at as usize..(at + esz) as usize];
    match (esz, o.endian) {
        (8, Endian::Little) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        (8, Endian::Big) => u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
        (_, Endian::Little) => u64::from(u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))),
        (_, Endian::Big) => u64::from(u32::from_be_bytes(b.try_into().unwrap_or([0; 4]))),
    }
}

fn read_word(o: &Out, at: u64) -> u64 {
    read_entry(o, at, o.class.word_size())
}

/// Bytes that trap when executed: int3 on x86, `brk #0` on arm64, zero elsewhere (an illegal or trapping
/// encoding on most ISAs).
fn text_fill(machine: u16) -> &'static [u8] {
    match machine {
        eh::EM_X86_64 | eh::EM_386 => &[0xcc],
        eh::EM_AARCH64 => &[0x00, 0x00, 0x20, 0xd4],
        _ => &[0],
    }
}
