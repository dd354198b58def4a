//! The differential oracle over the real parsers (`vdso-lab parsers`): each subject (a CRIU release in
//! its 64-bit or 32-bit form, musl) is asked what it resolves in an image, in a contained child, and its
//! answer is judged against ours ([`Image`]).
//!
//! Data flow: image bytes → [`applicability`] (which variant of a subject would ever read this image:
//! its class, byte order and machine) → `live::subjects::call_contained` → [`judge`] against
//! [`expected`] → a [`Cell`] per (image, subject). The subjects and their provenance come from
//! [`subjects`]. Rendering (table, JSON, the summary lines CI compares with a record) is at the end.
//!
//! What each subject is asked:
//! * CRIU (`vdso_fill_symtable`): its own per-arch symbol list, chosen by the image's `e_machine` as
//!   that release's `criu/arch/<arch>/include/asm/vdso.h` defines it; its offsets are compared with our
//!   offset of the default-version export of each name.
//! * musl (`__vdsosym(version, name)`): every code export of the image, by name and version.

use crate::image::{Class, Endian, Image};
use crate::live::subjects::{self, Answer, Run, SourceInfo};
use serde::Serialize;
use std::time::Duration;

/// Time limit of one contained subject call. Real images take microseconds; a subject that loops is cut
/// off here. 5 s leaves room for a loaded CI machine (one unexplained difference from the record was
/// seen once at 2 s under a load of ~10); only the two chain-cycle regressions ever reach it.
pub const LIMIT: Duration = Duration::from_secs(5);

/// The kinds of subject, by how they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// CRIU's `vdso_fill_symtable`: a fixed per-arch symbol list.
    Criu,
    /// musl's `__vdsosym`: one name and version at a time.
    Musl,
}

/// One subject as users name it (`criu-4.2.1/64`).
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    pub name: String,
    pub kind: Kind,
    pub class_bits: u32,
    /// The source folder (`criu-4.2.1`).
    pub source: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub tarball: &'static str,
    pub sha256: &'static str,
    /// `None` when built; else why it is skipped.
    pub skipped: Option<String>,
    /// The arches whose variant was built (CRIU), or `any`.
    pub arches: Vec<&'static str>,
}

/// Every subject this build knows, built or skipped.
pub fn subjects() -> Vec<Subject> {
    let built = subjects::variants();
    let mut out = Vec::new();
    for src in subjects::SOURCES {
        let kind = if src.name.starts_with("musl") {
            Kind::Musl
        } else {
            Kind::Criu
        };
        let classes: &[u32] = match kind {
            Kind::Criu => &[64, 32],
            Kind::Musl => &[64],
        };
        for &bits in classes {
            out.push(subject(src, kind, bits, &built));
        }
    }
    out
}

fn subject(src: &SourceInfo, kind: Kind, bits: u32, built: &[subjects::Variant]) -> Subject {
    let arches: Vec<&'static str> = built
        .iter()
        .filter(|v| v.subject == src.name && v.class_bits == bits)
        .map(|v| v.arch)
        .collect();
    let skipped = match (src.skipped, arches.is_empty()) {
        (Some(r), _) => Some(r.to_string()),
        (None, true) => Some("no variant of this class was built".into()),
        (None, false) => None,
    };
    Subject {
        name: format!("{}/{bits}", src.name),
        kind,
        class_bits: bits,
        source: src.name,
        package: src.package,
        version: src.version,
        tarball: src.tarball,
        sha256: src.sha256,
        skipped,
        arches,
    }
}

/// The identity bytes of an image as a subject would see them, read without our parser (so malformed
/// images are still routed to a subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    pub class_bits: u32,
    pub big_endian: bool,
    pub machine: u16,
}

pub fn ident(bytes: &[u8]) -> Option<Ident> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    let class_bits = match bytes[4] {
        1 => 32,
        2 => 64,
        _ => return None,
    };
    let big_endian = bytes[5] == 2;
    let m = [bytes[18], bytes[19]];
    let machine = if big_endian {
        u16::from_be_bytes(m)
    } else {
        u16::from_le_bytes(m)
    };
    Some(Ident {
        class_bits,
        big_endian,
        machine,
    })
}

/// The CRIU port (`criu/arch/<arch>`) that reads images of this class and machine, as CRIU builds it:
/// 64-bit ports, plus the 32-bit parser for x86 (`CONFIG_COMPAT`) and arm.
pub fn criu_arch(class_bits: u32, machine: u16) -> Option<&'static str> {
    Some(match (class_bits, machine) {
        (64, 62) | (32, 3) => "x86",
        (64, 183) => "aarch64",
        (32, 40) => "arm",
        (64, 21) => "ppc64",
        (64, 22) => "s390",
        (64, 8) => "mips",
        (64, 243) => "riscv64",
        (64, 258) => "loongarch64",
        _ => return None,
    })
}

/// Which variant of `s` would read this image, or why none would.
pub fn applicability(s: &Subject, bytes: &[u8]) -> Result<&'static str, String> {
    let Some(id) = ident(bytes) else {
        return Err("not an ELF image".into());
    };
    if id.class_bits != s.class_bits {
        return Err(format!(
            "ELF{} image; this is the {}-bit build",
            id.class_bits, s.class_bits
        ));
    }
    if id.big_endian {
        return Err("big-endian image: the subject would run big-endian, this host cannot".into());
    }
    match s.kind {
        Kind::Musl => Ok("any"),
        Kind::Criu => {
            let arch = criu_arch(id.class_bits, id.machine).ok_or_else(|| {
                format!(
                    "CRIU has no {}-bit port for e_machine {}",
                    id.class_bits, id.machine
                )
            })?;
            if s.arches.contains(&arch) {
                Ok(arch)
            } else {
                Err(format!("{} has no {arch} port", s.source))
            }
        }
    }
}

/// Our answer for `name`: the image offset of its default-version code export (a global or weak
/// function, untyped symbol or ifunc: an entry point a libc may cache), if any.
pub fn expected(img: &Image, name: &str) -> Option<u64> {
    img.find(name, None)
        .filter(|s| s.is_code())
        .and_then(|s| s.offset)
}

/// The questions for a name-based subject: every code export with its version.
pub fn queries(img: &Image) -> Vec<(String, Option<String>)> {
    let mut q: Vec<(String, Option<String>)> = img
        .symbols()
        .filter(|s| s.is_code() && !s.version_hidden)
        .map(|s| (s.name.to_string(), s.version.map(str::to_string)))
        .collect();
    q.dedup();
    q
}

/// One disagreement: the subject resolved `symbol` to `got`, we to `expected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub symbol: String,
    pub got: Option<u64>,
    pub expected: Option<u64>,
}

/// The verdict of one subject on one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// No variant of the subject reads this kind of image.
    NotApplicable { why: String },
    /// The subject was not built.
    Skipped { why: String },
    /// Every symbol it resolved is where we put it, and it found every one we find.
    Agrees { resolved: usize },
    /// It refused the image (return code and its own error text).
    Rejects { ret: i32, error: String },
    /// It resolved a symbol to another offset than ours, or one we do not export.
    Wrong { mismatches: Vec<Mismatch> },
    /// It did not find symbols we find (and resolved nothing wrongly).
    Missing { symbols: Vec<String> },
    /// Killed by a signal.
    Crash { signal: String },
    /// Still running at the time limit.
    Hang,
    /// The harness could not get an answer (fork failed, child exited oddly).
    Error { why: String },
}

impl Verdict {
    /// The short form used in tables and in the CI record.
    pub fn short(&self) -> String {
        match self {
            Verdict::NotApplicable { .. } => "n/a".into(),
            Verdict::Skipped { .. } => "skipped".into(),
            Verdict::Agrees { resolved } => format!("agrees({resolved})"),
            Verdict::Rejects { .. } => "rejects".into(),
            Verdict::Wrong { mismatches } => format!("WRONG({})", mismatches.len()),
            Verdict::Missing { symbols } => format!("MISSING({})", symbols.len()),
            Verdict::Crash { signal } => format!("CRASH({signal})"),
            Verdict::Hang => "HANG".into(),
            Verdict::Error { .. } => "ERROR".into(),
        }
    }

    /// A verdict that says the subject disagrees with us.
    pub fn disagrees(&self) -> bool {
        matches!(
            self,
            Verdict::Rejects { .. }
                | Verdict::Wrong { .. }
                | Verdict::Missing { .. }
                | Verdict::Crash { .. }
                | Verdict::Hang
        )
    }
}

/// Judge an answer: `img` is our parse of the image (`None` when we reject it).
pub fn judge(kind: Kind, answer: &Answer, img: Option<&Image>) -> Verdict {
    if answer.ret != 0 {
        return Verdict::Rejects {
            ret: answer.ret,
            error: answer.error.clone(),
        };
    }
    let mut wrong = Vec::new();
    let mut missing = Vec::new();
    let mut resolved = 0;
    for (name, got) in &answer.entries {
        let exp = match (kind, img) {
            (_, Some(img)) => expected(img, name),
            (_, None) => None,
        };
        match (got, exp) {
            (Some(g), Some(e)) if *g == e => resolved += 1,
            (None, None) => {}
            // An entry at offset -1 (`st_value` one below the PT_LOAD's `p_vaddr`: outside the
            // image, which our parser warns about) reads as absent in every subject's answer. CRIU
            // computes `addr - load->p_vaddr` (criu/pie/util-vdso.c:444 in 4.2.1, :424 in 4.1.1)
            // into its own "absent" value, VDSO_BAD_ADDR = -1ul (criu/include/asm-generic/vdso.h:10);
            // musl returns `base + st_value` (src/internal/vdso.c:111 in 1.2.6), one byte before the
            // image, which the adapter's offset encoding turns into VL_ABSENT (UINT64_MAX) as well.
            // "Found at -1" and "absent" cannot be told apart there: no disagreement.
            (None, Some(u64::MAX)) => {}
            (None, Some(_)) => missing.push(name.clone()),
            (g, e) => wrong.push(Mismatch {
                symbol: name.clone(),
                got: *g,
                expected: e,
            }),
        }
    }
    if !wrong.is_empty() {
        Verdict::Wrong { mismatches: wrong }
    } else if !missing.is_empty() {
        Verdict::Missing { symbols: missing }
    } else {
        Verdict::Agrees { resolved }
    }
}

/// Ask subject `s` about `bytes` in a contained child, and judge the answer.
pub fn verdict(s: &Subject, bytes: &[u8], img: Option<&Image>) -> Verdict {
    if let Some(why) = &s.skipped {
        return Verdict::Skipped { why: why.clone() };
    }
    let arch = match applicability(s, bytes) {
        Ok(a) => a,
        Err(why) => return Verdict::NotApplicable { why },
    };
    let Some(v) = subjects::find(s.source, s.class_bits, arch) else {
        return Verdict::Skipped {
            why: format!("{arch} variant not built"),
        };
    };
    let q = match (s.kind, img) {
        (Kind::Musl, Some(img)) => queries(img),
        (Kind::Musl, None) => {
            return Verdict::NotApplicable {
                why: "we reject the image, and musl is asked by name for the exports we find"
                    .into(),
            }
        }
        (Kind::Criu, _) => Vec::new(),
    };
    match subjects::call_contained(&v, bytes, &q, LIMIT) {
        Run::Answered(a) => judge(s.kind, &a, img),
        Run::Crashed(signal) => Verdict::Crash { signal },
        Run::Hung => Verdict::Hang,
        Run::Failed(why) => Verdict::Error { why },
    }
}

/// The class of a finding: on an image we accept, a disagreement is a correctness bug of the subject
/// (or of ours, when every subject disagrees); on one we reject, a crash or hang is a robustness bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    Correctness,
    Robustness,
}

/// One image's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub image: String,
    /// Our parse: `None` when we accept it, else our error.
    pub our_error: Option<String>,
    pub cells: Vec<Cell>,
    /// Every subject that read the image disagrees with us (our parser is then the suspect).
    pub all_disagree: bool,
}

/// One subject's verdict on one image, with its finding class when it is a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub subject: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub finding: Option<FindingClass>,
}

fn finding(v: &Verdict, valid: bool) -> Option<FindingClass> {
    match (v, valid) {
        (Verdict::Crash { .. } | Verdict::Hang, false) => Some(FindingClass::Robustness),
        (v, true) if v.disagrees() => Some(FindingClass::Correctness),
        _ => None,
    }
}

/// Every subject (or those named `only`) on one image.
pub fn row(name: &str, bytes: &[u8], subjects: &[Subject]) -> Row {
    let parsed = Image::parse(bytes);
    let img = parsed.as_ref().ok();
    let cells: Vec<Cell> = subjects
        .iter()
        .map(|s| {
            let verdict = verdict(s, bytes, img);
            let finding = finding(&verdict, img.is_some());
            Cell {
                subject: s.name.clone(),
                verdict,
                finding,
            }
        })
        .collect();
    let ran: Vec<&Cell> = cells
        .iter()
        .filter(|c| {
            !matches!(
                c.verdict,
                Verdict::NotApplicable { .. } | Verdict::Skipped { .. } | Verdict::Error { .. }
            )
        })
        .collect();
    let all_disagree = img.is_some() && ran.len() >= 2 && ran.iter().all(|c| c.verdict.disagrees());
    Row {
        image: name.to_string(),
        our_error: parsed.err().map(|e| e.to_string()),
        cells,
        all_disagree,
    }
}

/// Is `img`'s class/endianness one this host's builds can judge at all (for tests and the fuzz target)?
pub fn host_readable(img: &Image) -> bool {
    img.endian == Endian::Little && matches!(img.class, Class::Elf32 | Class::Elf64)
}

pub mod cli;
