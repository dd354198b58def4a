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
use crate::image::{Binding, Image, SymKind};
use crate::live::subjects;
use crate::parsers::{self, judge, Kind, Subject, Verdict};
use crate::synth::evolve::Mutation;
use crate::synth::Spec;
use arbitrary::Unstructured;
use std::cell::RefCell;

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

pub fn run(data: &[u8]) -> Outcome {
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
    let Ok(img) = Image::parse(bytes) else {
        return Outcome::Reject;
    };
    if !img.check_hashes().is_empty() {
        return Outcome::Reject;
    }
    SUBJECTS.with(|subs| {
        for (s, variants) in subs {
            let Ok(arch) = parsers::applicability(s, bytes) else {
                continue;
            };
            let Some(v) = variants.iter().find(|v| v.arch == arch || v.arch == "any") else {
                continue;
            };
            let q = match s.kind {
                Kind::Musl => parsers::queries(&img),
                Kind::Criu => Vec::new(),
            };
            let a = subjects::call(v, bytes, &q);
            let verdict = judge(s.kind, &a, Some(&img));
            if !verdict.disagrees() || known_defect(s, &img, &verdict).is_some() {
                continue;
            }
            if let Some(p) = std::env::var_os("PARSER_DIFF_DUMP") {
                let _ = std::fs::write(p, bytes); // to inspect a structure-aware finding with readelf
            }
            panic!(
                "parser_diff: subject {} ({arch} symbol list) disagrees with our parser on an image we accept: {}\nanswer: {a:?}",
                s.name,
                parsers::cli::detail(&verdict)
            );
        }
    });
    Outcome::Ok
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
        // entry point, and a weak untyped entry point (or ifunc) is not.
        (Kind::Criu, Verdict::Wrong { mismatches }) => mismatches
            .iter()
            .all(|m| {
                m.got.is_some()
                    && img
                        .symbols()
                        .any(|sym| sym.name == m.symbol && sym.offset == m.got && !sym.is_code())
            })
            .then_some("criu-symbol-filter"),
        (Kind::Criu, Verdict::Missing { symbols }) => symbols
            .iter()
            .all(|name| {
                img.find(name, None)
                    .is_some_and(|sym| sym.binding == Binding::Weak && sym.kind != SymKind::Func)
            })
            .then_some("criu-symbol-filter"),
        // musl's checkver (src/internal/vdso.c:25-38, 1.2.6) looks for a Verdef whose index is the
        // symbol's DT_VERSYM entry; an unversioned export (VER_NDX_GLOBAL, 1) has none, so in an image
        // with DT_VERDEF musl never finds it, whatever version it asks for (glibc's check_match does).
        (Kind::Musl, Verdict::Missing { symbols }) => symbols
            .iter()
            .all(|name| {
                img.versym_offset.is_some()
                    && img.symbols().any(|sym| {
                        sym.name == name.as_str() && sym.version.is_none() && sym.is_code()
                    })
            })
            .then_some("musl-unversioned-export"),
        _ => None,
    }
}
