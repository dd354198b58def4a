//! Target `parser_diff`: the real parsers (CRIU releases in both classes, musl; `vdso-lab parsers`)
//! against ours, in-process (under AddressSanitizer in `cargo fuzz` builds, which instruments the
//! subjects' C code too: the `cc` crate passes `-fsanitize=address` on from cargo-fuzz's flags).
//!
//! Input: an ELF image as it is when it starts with `\x7fELF` (so real vDSOs and the kept regressions
//! are seeds and `vdso-lab parsers` reads the same files); anything else is structure-aware: up to four
//! byte [`Mutation`]s, then an `arbitrary` [`Spec`] (GNU-only, SysV-only, both; version layouts; symbol
//! orders; every arch's names), built by the synthesizer and then mutated.
//!
//! The oracle: on an image we accept, whose hash tables we find sound ([`Image::check_hashes`]), every
//! subject that would read it (class, byte order, machine: [`parsers::applicability`]) answers exactly
//! what we answer, or rejects it, or the difference is a *known defect* of that release
//! ([`known_defect`], each documented in `corpus/README.md` with its file and line): else the target
//! panics naming the subject. A crash of a subject is a crash of the target, with the subject's frame
//! on the stack.
//!
//! What is not fed to the subjects in-process: images we reject or whose tables we find unsound. CRIU
//! bounds-checks its headers and dynamic entries but not its hash-table walk (`util-vdso.c`, both
//! releases; see `corpus/README.md`), and musl checks nothing (it trusts the kernel's image), so those
//! inputs crash them at once, over and over, with the same known defects. Their robustness is judged in
//! forked children by `vdso-lab parsers` over `corpus/regressions/parser_diff/`, where each kept image
//! records one such defect.

use super::Outcome;
use crate::image::{Binding, Image, SymKind, VER_FLG_BASE};
use crate::live::subjects;
use crate::parsers::{self, judge, Kind, Subject, Verdict};
use crate::synth::evolve::Mutation;
use crate::synth::Spec;
use arbitrary::Unstructured;
use goblin::elf::section_header as sh;
use std::cell::RefCell;

static DUMP: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

thread_local! {
    static SUBJECTS: Vec<(Subject, Vec<subjects::Variant>)> = parsers::subjects()
        .into_iter()
        .filter(|s| s.skipped.is_none())
        .map(|s| {
            let vs = subjects::variants()
                .into_iter()
                .filter(|v| v.subject == s.source && v.class_bits == s.class_bits)
                .collect();
            (s, vs)
        })
        .collect();
    static SCRATCH: RefCell<(Spec, Vec<u8>, Vec<Mutation>)> =
        RefCell::new((Spec::blank(), Vec::new(), Vec::new()));
}

/// Says once, on stderr, which real parsers this build holds: a fuzzer built where the sources were
/// not fetched (`ci/fetch-sources.sh`) holds none, and would otherwise run on, checking nothing.
fn announce() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let all = parsers::subjects();
        let built: Vec<&str> = all
            .iter()
            .filter(|s| s.skipped.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if built.is_empty() {
            let why = all
                .iter()
                .find_map(|s| s.skipped.as_deref())
                .unwrap_or("no subject is known");
            eprintln!("parser_diff: skipped: no real parser was built into this harness ({why}); every input is vacuous");
        } else {
            eprintln!("parser_diff: {} subjects: {}", built.len(), built.join(" "));
        }
    });
}

pub fn run(data: &[u8]) -> Outcome {
    announce();
    if data.starts_with(b"\x7fELF") {
        return check_image(data);
    }
    SCRATCH.with(|s| {
        let (spec, bytes, muts) = &mut *s.borrow_mut();
        let mut u = Unstructured::new(data);
        let Ok(n) = u.int_in_range(0..=4u8) else {
            return Outcome::Reject;
        };
        muts.clear();
        for _ in 0..n {
            match u.arbitrary() {
                Ok(m) => muts.push(m),
                Err(_) => return Outcome::Reject,
            }
        }
        if spec.arbitrary_into(&mut u).is_err() || spec.build_into(bytes).is_err() {
            return Outcome::Reject;
        }
        for m in muts.iter() {
            m.apply(bytes);
        }
        check_image(bytes)
    })
}

/// The oracle on one image (see the module docs).
pub fn check_image(bytes: &[u8]) -> Outcome {
    if let Some(p) = DUMP.get_or_init(|| std::env::var_os("PARSER_DIFF_DUMP").map(Into::into)) {
        // To look at a structure-aware input's image with readelf: it is written before the subjects
        // run, so a crash leaves it behind too.
        let _ = std::fs::write(p, bytes);
    }
    let Ok(img) = Image::parse(bytes) else {
        return Outcome::Reject;
    };
    if !img.check_hashes().is_empty() {
        return Outcome::Reject;
    }
    let mut asked = false;
    SUBJECTS.with(|subs| {
        for (s, variants) in subs {
            let Ok(arch) = parsers::applicability(s, bytes) else {
                continue;
            };
            let Some(v) = variants.iter().find(|v| v.arch == arch || v.arch == "any") else {
                continue;
            };
            if !in_process_safe(s.kind, &img) {
                continue; // a known robustness class: see criu_reads_our_tables, musl_reads_our_tables
            }
            let q = match s.kind {
                Kind::Musl => parsers::queries(&img),
                Kind::Criu => Vec::new(),
            };
            asked = true;
            let a = subjects::call(v, bytes, &q);
            let verdict = judge(s.kind, &a, Some(&img));
            if !verdict.disagrees() || known_defect(s, &img, &verdict).is_some() {
                continue;
            }
            panic!(
                "parser_diff: subject {} ({arch} symbol list) disagrees with our parser on an image we accept: {}\nanswer: {a:?}",
                s.name,
                parsers::cli::detail(&verdict)
            );
        }
    });
    if asked {
        Outcome::Checked
    } else {
        Outcome::Vacuous("no subject built here could be asked about this image in-process")
    }
}

/// The dynamic entries as CRIU reads them (`parse_elf_dynamic`, util-vdso.c:206-285 in 4.2.1) and musl
/// too (`__vdsosym`, src/internal/vdso.c:83-93 in 1.2.6): up to DT_NULL, the *last* entry of each tag
/// winning. CRIU stops at PT_DYNAMIC's file size, musl does not: the flag says whether DT_NULL came
/// before the end. Little-endian only (the subjects run little-endian).
fn dynamic_view(img: &Image) -> (Vec<(u64, u64)>, bool) {
    let Some(d) = img.segments().find(|s| s.p_type == 2) else {
        return (Vec::new(), false);
    };
    let wide = img.class == crate::image::Class::Elf64;
    let (step, half) = if wide { (16usize, 8usize) } else { (8, 4) };
    let bytes = img.bytes();
    let start = usize::try_from(d.offset).unwrap_or(usize::MAX);
    let len = usize::try_from(d.filesz).unwrap_or(0);
    let table = bytes.get(start..).unwrap_or(&[]);
    let table = &table[..len.min(table.len())];
    let word = |b: &[u8]| {
        let mut t = [0u8; 8];
        t[..half].copy_from_slice(&b[..half]);
        u64::from_le_bytes(t)
    };
    let mut out: Vec<(u64, u64)> = Vec::new();
    for e in table.chunks_exact(step) {
        let (tag, val) = (word(e), word(&e[half..]));
        if tag == 0 {
            return (out, true);
        }
        out.retain(|&(t, _)| t != tag);
        out.push((tag, val));
    }
    (out, false)
}

fn criu_dynamic(img: &Image) -> Vec<(u64, u64)> {
    dynamic_view(img).0
}

/// Does musl read the very tables we validated? musl checks nothing (it trusts the kernel's image), so
/// it is only asked in-process when: one PT_LOAD (it takes the last) at file offset = its own bias, one
/// PT_DYNAMIC ended by DT_NULL (musl reads to DT_NULL, unbounded), DT_STRTAB, DT_SYMTAB, DT_HASH (or
/// DT_GNU_HASH) and DT_VERSYM where we found them, DT_HASH's nchain equal to our symbol count (musl
/// scans that many symbols), a null symbol musl skips or whose name ends inside `.dynstr`, and a
/// DT_VERDEF chain that ends (`vd_next` = 0) inside the image (musl's checkver walks it without a
/// bound or count, src/internal/vdso.c:25-38). Otherwise the input hits the known robustness class
/// "musl-trusts-the-image".
pub fn musl_reads_our_tables(img: &Image) -> bool {
    let loads = img.segments().filter(|s| s.p_type == 1).count();
    let dyns = img.segments().filter(|s| s.p_type == 2).count();
    let Some(load) = img.segments().find(|s| s.p_type == 1) else {
        return false;
    };
    let (d, terminated) = dynamic_view(img);
    if loads != 1 || dyns != 1 || !terminated {
        return false;
    }
    let bias = load.vaddr.wrapping_sub(load.offset);
    let at = |t| {
        d.iter()
            .find(|&&(x, _)| x == t)
            .map(|&(_, v)| v.wrapping_sub(bias))
    };
    let hash_ok = match (at(4), at(0x6fff_fef5)) {
        (Some(h), _) => img
            .sysv
            .is_some_and(|t| t.offset == h && t.nchain == u64::from(img.symbol_count()) + 1),
        (None, Some(g)) => img.gnu.is_some_and(|t| t.offset == g),
        (None, None) => true,
    };
    hash_ok
        && at(6) == Some(img.dynsym_offset)
        && at(5) == Some(img.dynstr.start)
        && (at(0x6fff_fffc).is_none() || at(0x6fff_fff0) == img.versym_offset)
        && at(0x6fff_fffc).is_none_or(|v| verdef_chain_ends(img, v))
        && null_symbol_harmless(img)
}

/// musl's scan starts at symbol 0, the null symbol our parser never lists
/// (src/internal/vdso.c:104-108 in 1.2.6): unless its type, binding or `st_shndx` (0) makes musl skip
/// it, musl `strcmp`s the name at its `st_name`, so that name must end inside `.dynstr`. In musl's
/// own byte order and layout (64-bit little-endian: `st_name` at 0, `st_info` at 4, `st_shndx` at 6).
fn null_symbol_harmless(img: &Image) -> bool {
    let b = img.bytes();
    let Some(sym) = usize::try_from(img.dynsym_offset)
        .ok()
        .and_then(|o| b.get(o..o.checked_add(8)?))
    else {
        return false;
    };
    let (name, info, shndx) = (
        u32::from_le_bytes([sym[0], sym[1], sym[2], sym[3]]),
        sym[4],
        u16::from_le_bytes([sym[6], sym[7]]),
    );
    // OK_TYPES: NOTYPE, OBJECT, FUNC, COMMON; OK_BINDS: GLOBAL, WEAK, GNU_UNIQUE (vdso.c:40-41).
    let skipped = (1u32 << (info & 0xf)) & 0b10_0111 == 0
        || (1u32 << (info >> 4)) & 0b100_0000_0110 == 0
        || shndx == 0;
    skipped
        || img
            .dynstr
            .start
            .checked_add(u64::from(name))
            .is_some_and(|at| {
                at < img.dynstr.end
                    && b.get(at as usize..img.dynstr.end.min(b.len() as u64) as usize)
                        .is_some_and(|s| s.contains(&0))
            })
}

fn verdef_chain_ends(img: &Image, mut at: u64) -> bool {
    let b = img.bytes();
    let u32_at = |o: u64| -> Option<u32> {
        let o = usize::try_from(o).ok()?;
        Some(u32::from_le_bytes(
            b.get(o..o.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let strsz = img.dynstr.end - img.dynstr.start;
    // Real vDSOs have 2-3 definitions; a chain of 64 is a loop.
    for _ in 0..64 {
        let (Some(aux), Some(next)) = (u32_at(at + 12), u32_at(at + 16)) else {
            return false;
        };
        match u32_at(at + u64::from(aux)) {
            Some(name) if u64::from(name) < strsz => {}
            _ => return false,
        }
        if next == 0 {
            return true;
        }
        at += u64::from(next);
    }
    false
}

fn has_required_tags(img: &Image) -> bool {
    let d = criu_dynamic(img);
    let has = |t| d.iter().any(|&(x, _)| x == t);
    has(5) && has(6) && has(10) && has(11) && (has(4) || has(0x6fff_fef5))
}

/// Does CRIU read the very tables we validated? It locates DT_HASH (else DT_GNU_HASH), DT_SYMTAB and
/// DT_STRTAB as `d_ptr - p_vaddr` of its one PT_LOAD, ignoring `p_offset` (util-vdso.c:486-495 in
/// 4.2.1), from the last entry of each tag. Where that differs from the tables our parser checked, CRIU
/// walks memory we never vouched for, without bounds checks: the known robustness defect
/// "criu-unchecked-hash-walk", which the fuzz target does not re-find in-process.
pub fn criu_reads_our_tables(img: &Image) -> bool {
    let Some(load) = img.segments().find(|s| s.p_type == 1) else {
        return false;
    };
    if load.offset != 0 {
        return false;
    }
    let d = criu_dynamic(img);
    let at = |t| {
        d.iter()
            .find(|&&(x, _)| x == t)
            .map(|&(_, v)| v.wrapping_sub(load.vaddr))
    };
    // ... and divides by the bucket count unchecked (util-vdso.c:336, :356 in 4.2.1): zero is SIGFPE.
    let hash_ok = match (at(4), at(0x6fff_fef5)) {
        (Some(h), _) => img.sysv.is_some_and(|t| t.offset == h && t.nbucket != 0),
        (None, Some(g)) => img.gnu.is_some_and(|t| t.offset == g && t.nbuckets != 0),
        (None, None) => true, // CRIU rejects the image cleanly
    };
    let symtab_ok = at(6).is_none_or(|v| v == img.dynsym_offset);
    let strtab_ok = at(5).is_none_or(|v| v == img.dynstr.start);
    hash_ok && symtab_ok && strtab_ok
}

/// Whether a subject of this kind reads only what we validated in `img`, so that calling it in-process
/// cannot crash for a known reason.
pub fn in_process_safe(kind: Kind, img: &Image) -> bool {
    match kind {
        Kind::Criu => criu_reads_our_tables(img),
        Kind::Musl => musl_reads_our_tables(img),
    }
}

/// A recorded defect of a subject release that explains `verdict`, by its name in
/// `corpus/README.md` ("what each real parser gets wrong today").
pub fn known_defect(s: &Subject, img: &Image, verdict: &Verdict) -> Option<&'static str> {
    let ident = img.bytes().get(7..16).unwrap_or(&[]);
    match (s.kind, verdict) {
        // criu-4.1.1 memcmp()s all 16 e_ident bytes against a template with zero OSABI, ABI version
        // and padding; 4.2.1 checks the fields one by one and accepts ELFOSABI_NONE and ELFOSABI_LINUX.
        (Kind::Criu, Verdict::Rejects { error, .. })
            if s.version == "4.1.1"
                && error.contains("ELF header magic mismatch")
                && ident.iter().any(|&b| b != 0) =>
        {
            Some("criu-4.1.1-e-ident-padding")
        }
        (Kind::Criu, Verdict::Rejects { error, .. })
            if error.contains("Unsupported OSABI") && !matches!(ident.first(), Some(0 | 3)) =>
        {
            Some("criu-osabi-check")
        }
        // Both releases keep a symbol that is a function OR global (util-vdso.c:310 in 4.2.1, :290 in
        // 4.1.1): a local function or a global object of a listed name is resolved although it is no
        // entry point, and a weak untyped entry point (or ifunc) is not ("criu-symbol-filter"). And both
        // ignore DT_VERSYM (`elf_symbol_match`, util-vdso.c:300-318 in 4.2.1, :280-298 in 4.1.1): the
        // first symbol of a listed name on the hash chain wins, a hidden `name@V` included
        // ("criu-version-blind"). Nor do they look at `st_shndx`: an undefined symbol with a value is
        // resolved ("criu-undefined-symbol"), and an absolute one (SHN_ABS, whose value is an
        // address, not an offset into the image: we count it as no entry point) is taken as relative
        // to the image ("criu-absolute-symbol").
        (Kind::Criu, Verdict::Wrong { mismatches })
            if mismatches.iter().all(|m| {
                m.got.is_some()
                    && img.symbols().any(|sym| {
                        sym.name == m.symbol
                            && ((sym.offset == m.got && (!sym.is_code() || sym.version_hidden))
                                || ((sym.shndx == 0 || u32::from(sym.shndx) == sh::SHN_ABS)
                                    && m.got == Some(sym.value.wrapping_sub(img.load_bias))))
                    })
            }) =>
        {
            Some("criu-symbol-filter/criu-version-blind")
        }
        (Kind::Criu, Verdict::Missing { symbols }) => symbols
            .iter()
            .all(|name| {
                img.find(name, None).is_some_and(|sym| {
                    (sym.binding == Binding::Weak && sym.kind != SymKind::Func) || sym.value == 0
                }) || img.symbols().any(|sym| {
                    sym.name == name.as_str()
                        && sym.value == 0
                        && (sym.kind == SymKind::Func || sym.binding == Binding::Global)
                })
            })
            // ... and `st_value` 0 doubles as "not found" (`elf_symbol_lookup` returns 0, then
            // `if (!addr) continue;`, util-vdso.c:434 in 4.2.1, :414 in 4.1.1): a symbol at address 0
            // is missed ("criu-value-zero-is-absent"; in a real vDSO the ELF header is there). That
            // symbol need not be the one we resolve: any symbol of the name that passes CRIU's filter
            // (a function or global, util-vdso.c:310) can come first on its hash chain, where the
            // first match wins (a global absolute object at 0 shadowing the function, say).
            .then_some("criu-symbol-filter/criu-value-zero-is-absent"),
        // CRIU requires DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT and a hash table among the dynamic
        // entries before DT_NULL (util-vdso.c:271-273 in 4.2.1, :251-253 in 4.1.1), as the gABI makes them mandatory; we do
        // not need DT_SYMENT. Not a defect: recorded so that such images are not reported.
        (Kind::Criu, Verdict::Rejects { error, .. })
            if error.contains("Not all dynamic entries are present") && !has_required_tags(img) =>
        {
            Some("criu-requires-dynamic-entries")
        }
        // CRIU takes exactly one PT_LOAD and one PT_DYNAMIC (`parse_elf_phdr`, util-vdso.c:170-183 in
        // 4.2.1) and rejects a second; we read the first. Real vDSOs have one of each: not a defect.
        (Kind::Criu, Verdict::Rejects { error, .. })
            if (error.contains("Second PT_LOAD") || error.contains("Second PT_DYNAMIC"))
                && img.segments().filter(|x| x.p_type == 1).count()
                    + img.segments().filter(|x| x.p_type == 2).count()
                    > 2 =>
        {
            Some("criu-one-load-one-dynamic")
        }
        // musl's checkver (src/internal/vdso.c:25-38, 1.2.6) looks for a Verdef whose index is the
        // symbol's DT_VERSYM entry; an unversioned export (VER_NDX_GLOBAL, 1) has none, so in an image
        // with DT_VERDEF musl never finds it, whatever version it asks for (glibc's check_match does):
        // "musl-unversioned-export". And musl's OK_TYPES (vdso.c:40) leaves out STT_GNU_IFUNC:
        // "musl-no-ifunc" (musl's OK_TYPES, vdso.c:40). And checkver skips every definition flagged
        // VER_FLG_BASE (vdso.c:29), so a symbol whose version definition carries that flag is never
        // found: "musl-skips-base-defs". No real vDSO has any of these.
        // musl takes the first symbol of the name whose type is NOTYPE, OBJECT, FUNC or COMMON and
        // whose section is not undefined (src/internal/vdso.c:105-108, 1.2.6): an absolute object of
        // the same name and version (the kind of symbol a vDSO defines for each version, `LINUX_2.6`)
        // wins over the function after it ("musl-takes-objects"). Found by fuzz-smoke's 30 s run:
        // a mutation renamed the version to `getrandom`, so its ABS marker shadowed `getrandom()`.
        (Kind::Musl, Verdict::Wrong { mismatches })
            if mismatches.iter().all(|m| {
                img.symbols().any(|sym| {
                    sym.name == m.symbol
                        && sym.shndx != 0
                        && !sym.is_code()
                        && m.got == Some(sym.value.wrapping_sub(img.load_bias))
                })
            }) =>
        {
            Some("musl-takes-objects")
        }
        (Kind::Musl, Verdict::Missing { symbols }) => symbols
            .iter()
            .all(|name| {
                img.symbols().any(|sym| {
                    sym.name == name.as_str()
                        && sym.is_code()
                        && ((sym.version.is_none() && img.versym_offset.is_some())
                            || sym.kind == SymKind::Ifunc
                            || img.versions.iter().any(|v| {
                                v.index == sym.version_index && v.flags & VER_FLG_BASE != 0
                            }))
                })
            })
            .then_some("musl-unversioned-export/musl-no-ifunc/musl-skips-base-defs"),
        _ => None,
    }
}
