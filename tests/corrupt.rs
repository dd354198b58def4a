//! Bad input must give errors, quickly, and never panic: every strict prefix of real and synthetic images,
//! hand-made corruptions of a synthetic x86-64 image (each with the error kind it must produce), and a
//! deterministic single-byte flip sweep.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Instant;
use vdso_lab::image::{Binding, Class, Endian, SymKind};
use vdso_lab::image::{ErrorKind, HashFinding, HashTable, Image, ParseError};
use vdso_lab::synth::strategy::x86_64_linux_6_18;
use vdso_lab::synth::{HashStyle, Quirks, Spec, SymSpec};

// ---------------------------------------------------------------------------------------------------------
// Inputs

const EM_X86_64: u16 = 62;

/// A fixed x86-64 spec in the shape of a Linux 6.x vDSO: six `__vdso_*` functions with weak aliases,
/// `LINUX_2.6` with its ABS version symbol, a build id. 13 dynamic symbols, so 3 hash buckets and DT_HASH
/// chains longer than one entry.
fn fixed_spec(hash: HashStyle) -> Spec {
    let funcs = [
        ("__vdso_clock_gettime", "clock_gettime", 0x000, 0x180),
        ("__vdso_gettimeofday", "gettimeofday", 0x180, 0x120),
        ("__vdso_time", "time", 0x2a0, 0x30),
        ("__vdso_clock_getres", "clock_getres", 0x2d0, 0x70),
        ("__vdso_getcpu", "getcpu", 0x340, 0x28),
        ("__vdso_getrandom", "getrandom", 0x370, 0x200),
    ];
    let mut symbols = Vec::new();
    for (real, alias, offset, size) in funcs {
        for (name, binding) in [(real, Binding::Global), (alias, Binding::Weak)] {
            symbols.push(SymSpec {
                name: name.to_string().into(),
                version: Some("LINUX_2.6".into()),
                offset,
                size,
                kind: SymKind::Func,
                binding,
            });
        }
    }
    Spec {
        class: Class::Elf64,
        endian: Endian::Little,
        machine: EM_X86_64,
        soname: "linux-vdso.so.1".into(),
        hash,
        versions: vec!["LINUX_2.6".into()],
        symbols,
        text_size: 0x600,
        base: 0,
        quirks: Quirks {
            version_symbols: true,
            build_id: Some(vec![0x5a; 20]),
            trailing_pt_null: false,
            empty_gnu_property: false,
        },
    }
}

fn synth(hash: HashStyle) -> Vec<u8> {
    let bytes = fixed_spec(hash).build().expect("the fixed spec builds");
    Image::parse(&bytes).expect("the fixed spec's image parses");
    bytes
}

/// One spec drawn deterministically from the Linux 6.18 x86-64 strategy, linked at a non-zero base so that
/// addresses and offsets differ.
fn strategy_image() -> Vec<u8> {
    let mut runner = TestRunner::deterministic();
    let mut spec = x86_64_linux_6_18()
        .new_tree(&mut runner)
        .expect("strategy yields a value")
        .current();
    spec.base = 0x7fff_f7ff_0000;
    let bytes = spec.build().expect("strategy spec builds");
    Image::parse(&bytes).expect("strategy image parses");
    bytes
}

fn images_dir() -> Option<PathBuf> {
    // Part of the repository: missing is a failure, not a skip.
    let dir = vdso_lab::corpus::root().join("real");
    assert!(dir.is_dir(), "{} not found", dir.display());
    Some(dir)
}

// ---------------------------------------------------------------------------------------------------------
// A minimal little-endian ELF64 reader/patcher, independent of the crate's parser.

fn rd16(b: &[u8], at: u64) -> u16 {
    let at = at as usize;
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn rd32(b: &[u8], at: u64) -> u32 {
    let at = at as usize;
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn rd64(b: &[u8], at: u64) -> u64 {
    let at = at as usize;
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn wr16(b: &mut [u8], at: u64, v: u16) {
    let at = at as usize;
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn wr32(b: &mut [u8], at: u64, v: u32) {
    let at = at as usize;
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr64(b: &mut [u8], at: u64, v: u64) {
    let at = at as usize;
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
const SYM_SIZE: u64 = 24;

/// What the tests need to know about an ELF64 LE image's layout.
struct Layout {
    phoff: u64,
    phnum: u64,
    /// File offset of the PT_DYNAMIC program header.
    dyn_phdr: u64,
    load_bias: u64,
    /// (tag, value, file offset of the d_val field) for each dynamic entry before DT_NULL.
    tags: Vec<(u64, u64, u64)>,
}

impl Layout {
    fn of(b: &[u8]) -> Layout {
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!(b[4], 2, "ELF64 only");
        assert_eq!(b[5], 1, "little endian only");
        let phoff = rd64(b, 32);
        let phnum = u64::from(rd16(b, 56));
        let mut load_bias = None;
        let mut dynamic = None;
        for i in 0..phnum {
            let at = phoff + i * 56;
            let (ty, off, vaddr, filesz) = (
                rd32(b, at),
                rd64(b, at + 8),
                rd64(b, at + 16),
                rd64(b, at + 32),
            );
            if ty == PT_LOAD && load_bias.is_none() {
                load_bias = Some(vaddr.wrapping_sub(off));
            }
            if ty == PT_DYNAMIC && dynamic.is_none() {
                dynamic = Some((at, off, filesz));
            }
        }
        let (dyn_phdr, dyn_off, dyn_len) = dynamic.expect("PT_DYNAMIC");
        let mut tags = Vec::new();
        for i in 0..dyn_len / 16 {
            let at = dyn_off + 16 * i;
            let tag = rd64(b, at);
            if tag == 0 {
                break;
            }
            tags.push((tag, rd64(b, at + 8), at + 8));
        }
        Layout {
            phoff,
            phnum,
            dyn_phdr,
            load_bias: load_bias.expect("PT_LOAD"),
            tags,
        }
    }
    fn tag(&self, tag: u64) -> u64 {
        self.tags
            .iter()
            .find(|t| t.0 == tag)
            .unwrap_or_else(|| panic!("no tag {tag:#x}"))
            .1
    }
    /// File offset of the d_val field of `tag`.
    fn tag_slot(&self, tag: u64) -> u64 {
        self.tags
            .iter()
            .find(|t| t.0 == tag)
            .unwrap_or_else(|| panic!("no tag {tag:#x}"))
            .2
    }
    /// File offset of the table an address-valued tag points at.
    fn table(&self, tag: u64) -> u64 {
        self.tag(tag).wrapping_sub(self.load_bias)
    }
}

/// DT_HASH (4-byte entries): (offset, nbucket, nchain).
fn sysv(b: &[u8], l: &Layout) -> (u64, u64, u64) {
    let h = l.table(DT_HASH);
    (h, u64::from(rd32(b, h)), u64::from(rd32(b, h + 4)))
}
fn sysv_bucket_at(h: u64, i: u64) -> u64 {
    h + 8 + 4 * i
}
fn sysv_chain_at(h: u64, nbucket: u64, i: u64) -> u64 {
    h + 8 + 4 * nbucket + 4 * i
}
/// The symbol indices on each DT_HASH bucket's chain, in walk order.
fn sysv_chains(b: &[u8], l: &Layout) -> Vec<Vec<u64>> {
    let (h, nb, nc) = sysv(b, l);
    (0..nb)
        .map(|bk| {
            let mut out = Vec::new();
            let mut i = u64::from(rd32(b, sysv_bucket_at(h, bk)));
            while i != 0 && i < nc && out.len() as u64 <= nc {
                out.push(i);
                i = u64::from(rd32(b, sysv_chain_at(h, nb, i)));
            }
            out
        })
        .collect()
}

/// DT_GNU_HASH: (offset, nbuckets, symoffset, offset of buckets, offset of the chain array).
fn gnu(b: &[u8], l: &Layout) -> (u64, u64, u64, u64, u64) {
    let g = l.table(DT_GNU_HASH);
    let nbuckets = u64::from(rd32(b, g));
    let symoffset = u64::from(rd32(b, g + 4));
    let bloom_size = u64::from(rd32(b, g + 8));
    let buckets = g + 16 + 8 * bloom_size;
    (g, nbuckets, symoffset, buckets, buckets + 4 * nbuckets)
}

/// Number of dynamic symbols (null symbol included), from the `.dynsym` section header.
fn dynsym_count(b: &[u8]) -> u64 {
    let shoff = rd64(b, 40);
    let shnum = u64::from(rd16(b, 60));
    for i in 0..shnum {
        let at = shoff + 64 * i;
        if rd32(b, at + 4) == 11 {
            return rd64(b, at + 32) / SYM_SIZE;
        }
    }
    panic!("no .dynsym section");
}

// ---------------------------------------------------------------------------------------------------------
// Checks

/// Parse, and everything a caller may do with an Ok image; a panic anywhere is reported as `Err(msg)`.
fn parse_and_use(bytes: &[u8]) -> Result<Option<ParseError>, String> {
    catch_unwind(AssertUnwindSafe(|| match Image::parse(bytes) {
        Ok(img) => {
            let _ = img.check_hashes();
            for s in img.symbols() {
                let _ = img.lookup(s.name, s.version);
                let _ = img.lookup(s.name, None);
                let _ = img.find(s.name, s.version);
            }
            let _ = img.segments().count();
            let _ = img.sections();
            let _ = img.text();
            None
        }
        Err(e) => Some(e),
    }))
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string())
    })
}

/// The input must be rejected with one of `kinds`, naming a field that contains `word`.
#[track_caller]
fn expect_err(what: &str, bytes: &[u8], kinds: &[ErrorKind], word: &str) -> ParseError {
    let e = match parse_and_use(bytes) {
        Err(p) => panic!("{what}: parser panicked: {p}"),
        Ok(None) => panic!("{what}: expected {kinds:?} in a field containing `{word}`, got Ok"),
        Ok(Some(e)) => e,
    };
    println!(
        "{what}: {e} ({:?}, field `{}`, offset {:#x})",
        e.kind, e.field, e.offset
    );
    assert!(
        kinds.contains(&e.kind),
        "{what}: expected {kinds:?}, got {:?} (`{e}`)",
        e.kind
    );
    assert!(
        e.field.to_lowercase().contains(&word.to_lowercase()),
        "{what}: error field `{}` does not mention `{word}` (`{e}`)",
        e.field
    );
    e
}

// ---------------------------------------------------------------------------------------------------------
// Strict prefixes

/// Every strict prefix must be an error and must not panic; returns a list of offending lengths.
fn prefixes_fail(name: &str, bytes: &[u8]) -> Vec<String> {
    let mut bad = Vec::new();
    for len in 0..bytes.len() {
        match parse_and_use(&bytes[..len]) {
            Ok(Some(_)) => {}
            Ok(None) => bad.push(format!(
                "{name}: prefix of {len}/{} bytes parses Ok",
                bytes.len()
            )),
            Err(p) => bad.push(format!(
                "{name}: prefix of {len}/{} bytes panics: {p}",
                bytes.len()
            )),
        }
    }
    bad
}

#[test]
fn strict_prefixes_of_synthetic_images_fail() {
    let t = Instant::now();
    let mut bad = Vec::new();
    let mut total = 0;
    for (name, bytes) in [
        ("synthetic both", synth(HashStyle::Both)),
        ("synthetic gnu", synth(HashStyle::Gnu)),
        ("synthetic sysv", synth(HashStyle::Sysv)),
        ("strategy x86_64_linux_6_18", strategy_image()),
    ] {
        total += bytes.len();
        bad.extend(prefixes_fail(name, &bytes));
    }
    println!("{total} prefixes parsed in {:?}", t.elapsed());
    assert!(
        bad.is_empty(),
        "{} bad prefixes:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn strict_prefixes_of_real_images_fail() {
    let Some(dir) = images_dir() else { return };
    let t = Instant::now();
    let mut bad = Vec::new();
    let mut total = 0;
    for name in [
        "x86_64-vdso64-7.2.13+deb14-amd64.so",
        "aarch64-vdso-7.2.13+deb14-arm64.so",
        "s390x-vdso-6.1.0-50-s390x.so",
        "i386-vdso32-6.1.0-50-amd64.so",
        "mips64-vdso-6.1.0-50-mips64r2el.so",
    ] {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        assert!(Image::parse(&bytes).is_ok(), "{name} itself must parse");
        total += bytes.len();
        bad.extend(prefixes_fail(name, &bytes));
    }
    println!(
        "{total} prefixes of real images parsed in {:?}",
        t.elapsed()
    );
    assert!(
        bad.is_empty(),
        "{} bad prefixes:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Hand-made corruptions of the synthetic x86-64 image

/// The test helpers find the same tables the parser does.
#[test]
fn layout_helpers_agree_with_the_parser() {
    for style in [HashStyle::Both, HashStyle::Gnu, HashStyle::Sysv] {
        let b = synth(style);
        let l = Layout::of(&b);
        let img = Image::parse(&b).unwrap();
        assert_eq!(l.table(DT_SYMTAB), img.dynsym_offset);
        assert_eq!(l.table(DT_STRTAB), img.dynstr.start);
        assert_eq!(l.tag(DT_STRSZ), img.dynstr.end - img.dynstr.start);
        assert_eq!(Some(l.table(DT_VERSYM)), img.versym_offset);
        assert_eq!(dynsym_count(&b), u64::from(img.symbol_count()) + 1);
        assert_eq!(img.sections().unwrap().dynsym_count, Some(dynsym_count(&b)));
        if style.sysv() {
            let (h, nb, nc) = sysv(&b, &l);
            let t = img.sysv.unwrap();
            assert_eq!((h, nb, nc), (t.offset, t.nbucket, t.nchain));
            let mut all: Vec<u64> = sysv_chains(&b, &l).concat();
            all.sort();
            assert_eq!(
                all,
                (1..nc).collect::<Vec<_>>(),
                "every symbol on exactly one chain"
            );
        }
        if style.gnu() {
            let (g, nbuckets, symoffset, _, _) = gnu(&b, &l);
            let t = img.gnu.unwrap();
            assert_eq!(
                (g, nbuckets, symoffset),
                (t.offset, u64::from(t.nbuckets), u64::from(t.symoffset))
            );
        }
        assert!(img.check_hashes().is_empty());
        assert!(l.phnum >= 2 && l.phoff == 64);
    }
}

#[test]
fn sysv_chain_pointing_to_itself_is_a_cycle() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let (h, nb, _) = sysv(&b, &l);
    let chain = sysv_chains(&b, &l)
        .into_iter()
        .find(|c| !c.is_empty())
        .unwrap();
    wr32(&mut b, sysv_chain_at(h, nb, chain[0]), chain[0] as u32);
    expect_err(
        "DT_HASH chain -> itself",
        &b,
        &[ErrorKind::Cycle],
        "DT_HASH",
    );
}

#[test]
fn sysv_chain_pointing_back_is_a_cycle() {
    let mut b = synth(HashStyle::Sysv);
    let l = Layout::of(&b);
    let (h, nb, _) = sysv(&b, &l);
    let chain = sysv_chains(&b, &l)
        .into_iter()
        .find(|c| c.len() >= 3)
        .expect("a chain of 3");
    // The last entry links back to the first.
    wr32(
        &mut b,
        sysv_chain_at(h, nb, chain[chain.len() - 1]),
        chain[0] as u32,
    );
    expect_err(
        "DT_HASH chain -> earlier entry",
        &b,
        &[ErrorKind::Cycle],
        "DT_HASH",
    );
}

#[test]
fn sysv_huge_nbucket() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let (h, _, _) = sysv(&b, &l);
    wr32(&mut b, h, 0xffff_ffff);
    expect_err(
        "DT_HASH nbucket = 0xffffffff",
        &b,
        &[ErrorKind::TooLarge, ErrorKind::Truncated],
        "DT_HASH",
    );
}

#[test]
fn sysv_huge_nchain() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let (h, _, _) = sysv(&b, &l);
    wr32(&mut b, h + 4, 0xffff_ffff);
    expect_err(
        "DT_HASH nchain = 0xffffffff",
        &b,
        &[ErrorKind::TooLarge],
        "nchain",
    );
}

#[test]
fn sysv_chain_cut_short_misses_symbols() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let (h, nb, _) = sysv(&b, &l);
    let exports: Vec<u64> = {
        let img = Image::parse(&b).unwrap();
        img.exports().map(|s| u64::from(s.index)).collect()
    };
    // A bucket whose chain has an exported symbol after its first entry: end the chain at the first entry.
    let chain = sysv_chains(&b, &l)
        .into_iter()
        .find(|c| c.len() >= 2 && c[1..].iter().any(|i| exports.contains(i)))
        .expect("a chain with an export after its head");
    wr32(&mut b, sysv_chain_at(h, nb, chain[0]), 0);
    let img = Image::parse(&b).unwrap_or_else(|e| panic!("a short chain is not structural: {e}"));
    let findings = img.check_hashes();
    println!(
        "DT_HASH chain {chain:?} cut after {}: {findings:?}",
        chain[0]
    );
    let cut: Vec<u64> = chain[1..]
        .iter()
        .copied()
        .filter(|i| exports.contains(i))
        .collect();
    for i in &cut {
        assert!(
            findings.iter().any(|f| matches!(f,
                HashFinding::Missed { table: HashTable::Sysv, index, .. } if u64::from(*index) == *i)),
            "no DT_HASH Missed finding for symbol #{i}: {findings:?}"
        );
    }
    assert!(
        !findings.iter().any(|f| matches!(
            f,
            HashFinding::Missed {
                table: HashTable::Gnu,
                ..
            }
        )),
        "the GNU table is intact: {findings:?}"
    );
}

/// Outcome of one corruption for the GNU-hash tests: `None` when as expected, else what went wrong.
fn gnu_outcome(what: &str, b: &[u8], expected: Option<ErrorKind>) -> Option<String> {
    match parse_and_use(b) {
        Err(p) => Some(format!("{what}: parser panicked: {p}")),
        Ok(Some(e)) => {
            println!("{what}: {e} ({:?}, field `{}`)", e.kind, e.field);
            match expected {
                Some(k) if e.kind != k || !e.field.contains("GNU_HASH") => Some(format!(
                    "{what}: expected {k:?} in a DT_GNU_HASH field, got {:?} in `{}` (`{e}`)",
                    e.kind, e.field
                )),
                _ => None,
            }
        }
        Ok(None) => {
            let img = Image::parse(b).unwrap();
            Some(format!(
                "{what}: expected an error, got Ok ({} symbols, counts {:?}, check_hashes {:?})",
                img.symbol_count(),
                img.counts,
                img.check_hashes()
            ))
        }
    }
}

/// With DT_HASH present the symbol count is known (nchain), so a GNU bucket past it is a `BadIndex`.
/// Without DT_HASH the GNU chains are the only statement of the count a loader has: a bucket past the
/// real table simply implies a longer table, and the parse fails later on whatever the bytes there are
/// (here `.dynstr` read as symbols: `BadString` in `st_name`). Any error is right for that case.
#[test]
fn gnu_bucket_past_symbol_count_is_bad_index() {
    let mut bad = Vec::new();
    for (style, kind) in [
        (HashStyle::Both, Some(ErrorKind::BadIndex)),
        (HashStyle::Gnu, None),
    ] {
        let mut b = synth(style);
        let l = Layout::of(&b);
        let (_, _, _, buckets, _) = gnu(&b, &l);
        let nsym = dynsym_count(&b);
        wr32(&mut b, buckets, (nsym + 3) as u32);
        let what = format!("{style:?}: DT_GNU_HASH bucket[0] = nsym + 3 = {}", nsym + 3);
        bad.extend(gnu_outcome(&what, &b, kind));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// With the end bit cleared (on every chain word, or only on the last one) the last chain never ends
/// inside the symbol table: with DT_HASH present that is a `BadIndex` on the GNU chain; GNU-only, the
/// implied count grows past the real table and the parse fails on the bytes read as symbols.
#[test]
fn gnu_chain_without_end_bit_is_an_error() {
    let mut bad = Vec::new();
    for style in [HashStyle::Both, HashStyle::Gnu] {
        let orig = synth(style);
        let l = Layout::of(&orig);
        let (_, _, symoffset, _, chain) = gnu(&orig, &l);
        let nsym = dynsym_count(&orig);
        let mut all = orig.clone();
        for i in 0..nsym - symoffset {
            let at = chain + 4 * i;
            let v = rd32(&all, at);
            wr32(&mut all, at, v & !1);
        }
        let what = format!("{style:?}: DT_GNU_HASH chain words all without end bit");
        bad.extend(gnu_outcome(&what, &all, None));
        let mut last = orig.clone();
        let at = chain + 4 * (nsym - 1 - symoffset);
        let v = rd32(&last, at);
        wr32(&mut last, at, v & !1);
        let what = format!("{style:?}: last DT_GNU_HASH chain word (at {at:#x}) without end bit");
        bad.extend(gnu_outcome(&what, &last, None));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn st_name_past_strsz_is_bad_string() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let sym1 = l.table(DT_SYMTAB) + SYM_SIZE;
    wr32(&mut b, sym1, (l.tag(DT_STRSZ) + 10) as u32);
    expect_err(
        "st_name past DT_STRSZ",
        &b,
        &[ErrorKind::BadString],
        "st_name",
    );
}

#[test]
fn symtab_past_the_file() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    let past = l.load_bias + b.len() as u64 + 0x1000;
    wr64(&mut b, l.tag_slot(DT_SYMTAB), past);
    expect_err(
        "DT_SYMTAB past the end",
        &b,
        &[ErrorKind::UnmappedAddress, ErrorKind::Truncated],
        "SYMTAB",
    );
}

#[test]
fn overlapping_pt_loads() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    wr32(&mut b, l.dyn_phdr, PT_LOAD);
    expect_err(
        "PT_DYNAMIC turned PT_LOAD",
        &b,
        &[ErrorKind::Overlap],
        "PT_LOAD",
    );
}

#[test]
fn elf64_em_386_is_class_machine_mismatch() {
    let mut b = synth(HashStyle::Both);
    wr16(&mut b, 18, 3);
    expect_err(
        "ELF64 EM_386",
        &b,
        &[ErrorKind::ClassMachineMismatch],
        "e_machine",
    );
}

#[test]
fn versym_naming_undefined_version_is_bad_index() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    wr16(&mut b, l.table(DT_VERSYM) + 2, 7);
    expect_err("DT_VERSYM[1] = 7", &b, &[ErrorKind::BadIndex], "VERSYM");
}

#[test]
fn huge_verdefnum_is_too_large() {
    let mut b = synth(HashStyle::Both);
    let l = Layout::of(&b);
    wr64(&mut b, l.tag_slot(DT_VERDEFNUM), 0xffff_ffff);
    expect_err(
        "DT_VERDEFNUM = 0xffffffff",
        &b,
        &[ErrorKind::TooLarge],
        "VERDEFNUM",
    );
}

#[test]
fn shoff_past_the_end_is_truncated() {
    let mut b = synth(HashStyle::Both);
    let len = b.len() as u64;
    wr64(&mut b, 40, len + 64);
    expect_err(
        "e_shoff past the end",
        &b,
        &[ErrorKind::Truncated],
        "section header",
    );
}

#[test]
fn wrong_phentsize_is_bad_entry_size() {
    let mut b = synth(HashStyle::Both);
    wr16(&mut b, 54, 64);
    expect_err(
        "e_phentsize = 64",
        &b,
        &[ErrorKind::BadEntrySize],
        "e_phentsize",
    );
}

#[test]
fn not_elf_magic() {
    let mut b = synth(HashStyle::Both);
    b[1] = b'X';
    expect_err("magic \\x7fXLF", &b, &[ErrorKind::BadMagic], "EI_MAG");
}

#[test]
fn et_exec_is_not_a_shared_object() {
    let mut b = synth(HashStyle::Both);
    wr16(&mut b, 16, 2);
    expect_err(
        "e_type = ET_EXEC",
        &b,
        &[ErrorKind::NotSharedObject],
        "e_type",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Single-byte flips

#[test]
fn single_byte_flips_never_panic() {
    let t = Instant::now();
    let mut panics = Vec::new();
    let (mut ok, mut err) = (0u32, 0u32);
    for style in [HashStyle::Both, HashStyle::Gnu, HashStyle::Sysv] {
        let orig = synth(style);
        let n = orig.len().min(2048);
        for at in 0..n {
            for v in [0xffu8, 0x00] {
                let mut b = orig.clone();
                b[at] = v;
                match parse_and_use(&b) {
                    Ok(None) => ok += 1,
                    Ok(Some(_)) => err += 1,
                    Err(p) => panics.push(format!("{style:?}: byte {at:#x} = {v:#04x}: {p}")),
                }
            }
        }
    }
    println!(
        "byte flips: {ok} parsed Ok, {err} rejected, in {:?}",
        t.elapsed()
    );
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
}
