//! The Rust side of the subject adapters (the real parsers compiled by the `vdso-lab-subjects` crate):
//! the registry of compiled variants, one call in-process ([`call`]) and one contained in a forked child
//! with a time limit ([`call_contained`]).
//!
//! The C interface is `subjects/c/shim/vl_subject.h`; the `#[repr(C)]` types here mirror it.
//!
//! # Safety
//!
//! * `vl_registry` is a constant C array, ended by an entry whose `subject` is null, of static strings
//!   and function pointers: reading it up to that entry, and the strings up to their NUL, is sound.
//! * A subject function reads the image through the pointer and length it is given (CRIU checks most
//!   reads against the length; musl checks none: it trusts the kernel's image), reads the queries'
//!   NUL-terminated strings and writes one `vl_answer`. We hand it an 8-byte aligned copy of the image,
//!   followed by [`SLACK`] zero bytes so that short over-reads stay inside our allocation, queries
//!   built from `CString`s that outlive the call, and a zeroed answer. What the subject does with
//!   malformed bytes is exactly what is under test: [`call`] is for inputs known to be safe (fuzzing
//!   under ASan, known-answer tests on real images); everything else goes through [`call_contained`],
//!   where a wild read kills only the child.
//! * In the child, the subject runs with memory prepared before the fork, then the answer's bytes are
//!   copied into the runner's pre-allocated buffer; nothing allocates (see `child`'s Safety section).
//!   Subjects do no allocation; CRIU's error text goes through `vsnprintf` into a static buffer.

use super::child::{self, Exit};
use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

const MAX_ANSWERS: usize = 32;
const NAME_LEN: usize = 40;
const ERROR_LEN: usize = 200;
/// Zero bytes after each image copy: a subject that reads a few bytes past the end (a string, a hash
/// entry) reads zeros of ours rather than someone else's memory.
pub const SLACK: usize = 4096;

#[repr(C)]
struct VlQuery {
    name: *const c_char,
    version: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct VlAnswer {
    ret: i32,
    n: u32,
    names: [[u8; NAME_LEN]; MAX_ANSWERS],
    offsets: [u64; MAX_ANSWERS],
    error: [u8; ERROR_LEN],
}

type RawFn = unsafe extern "C" fn(*const u8, usize, *const VlQuery, u32, *mut VlAnswer);

#[repr(C)]
struct VlEntry {
    subject: *const c_char,
    arch: *const c_char,
    class_bits: u32,
    run: Option<RawFn>,
}

extern "C" {
    static vl_registry: VlEntry;
}

// Keep the subjects crate (and so its static libraries) linked.
pub use vdso_lab_subjects::{SourceInfo, SOURCES, SOURCES_DIR};

/// One compiled variant of a subject: its source (`criu-4.2.1`), the arch whose symbol list it carries
/// (`x86`; `any` for name-based lookups) and its ELF class.
#[derive(Clone, Copy)]
pub struct Variant {
    pub subject: &'static str,
    pub arch: &'static str,
    pub class_bits: u32,
    run: RawFn,
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.subject, self.class_bits, self.arch)
    }
}

/// Every compiled variant, the test stubs (`stub-crash`, `stub-loop`, `stub-garbage`) included.
pub fn variants() -> Vec<Variant> {
    let mut v = Vec::new();
    // vl_registry is the first element of a C array ended by a null `subject` (module Safety).
    let mut p: *const VlEntry = std::ptr::addr_of!(vl_registry);
    loop {
        // SAFETY: p points into the registry array, at most at its terminating entry.
        let e = unsafe { &*p };
        if e.subject.is_null() {
            break;
        }
        if let Some(run) = e.run {
            // SAFETY: the registry's strings are static NUL-terminated literals.
            let (s, a) = unsafe { (CStr::from_ptr(e.subject), CStr::from_ptr(e.arch)) };
            v.push(Variant {
                subject: s.to_str().unwrap_or("?"),
                arch: a.to_str().unwrap_or("?"),
                class_bits: e.class_bits,
                run,
            });
        }
        // SAFETY: the entry was not the terminator, so the next one exists.
        p = unsafe { p.add(1) };
    }
    v
}

/// The variant of `subject` with `class_bits` and `arch` (or its `any` variant), if it was built.
pub fn find(subject: &str, class_bits: u32, arch: &str) -> Option<Variant> {
    variants().into_iter().find(|v| {
        v.subject == subject && v.class_bits == class_bits && (v.arch == arch || v.arch == "any")
    })
}

/// What a subject answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The subject's own return code (CRIU: 0 or a negative errno; musl: always 0).
    pub ret: i32,
    /// The first error message it logged (CRIU's `pr_err`), empty when none.
    pub error: String,
    /// Per symbol of its list (CRIU) or per query (musl): the name and the image offset it resolved.
    pub entries: Vec<(String, Option<u64>)>,
}

/// How a contained call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    Answered(Answer),
    /// Killed by a signal (its name).
    Crashed(String),
    /// Still running at the time limit.
    Hung,
    /// The child exited without an answer, or could not be reaped, or could not be started.
    Failed(String),
}

/// The inputs of one call, prepared before any fork.
struct Prepared {
    image: Vec<u64>,
    len: usize,
    _strings: Vec<CString>,
    queries: Vec<VlQuery>,
}

fn prepare(image: &[u8], queries: &[(String, Option<String>)]) -> Prepared {
    let words = (image.len() + SLACK).div_ceil(8);
    let mut buf = vec![0u64; words];
    for (i, chunk) in image.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        buf[i] = u64::from_ne_bytes(w);
    }
    let mut strings = Vec::new();
    let mut qs = Vec::new();
    for (name, version) in queries.iter().take(MAX_ANSWERS) {
        let n = CString::new(name.replace('\0', "")).unwrap_or_default();
        let v =
            CString::new(version.as_deref().unwrap_or("").replace('\0', "")).unwrap_or_default();
        qs.push(VlQuery {
            name: n.as_ptr(),
            version: v.as_ptr(),
        });
        strings.push(n);
        strings.push(v);
    }
    Prepared {
        image: buf,
        len: image.len(),
        _strings: strings,
        queries: qs,
    }
}

fn zeroed() -> VlAnswer {
    VlAnswer {
        ret: 0,
        n: 0,
        names: [[0; NAME_LEN]; MAX_ANSWERS],
        offsets: [0; MAX_ANSWERS],
        error: [0; ERROR_LEN],
    }
}

fn invoke(v: &Variant, p: &Prepared, out: &mut VlAnswer) {
    // SAFETY: see the module's Safety section: the image copy has `len` bytes plus SLACK zero bytes,
    // the queries' strings live in `p`, `out` is a valid answer; the callee is a registry function
    // with exactly this signature (vl_subject_fn).
    unsafe {
        (v.run)(
            p.image.as_ptr().cast(),
            p.len,
            p.queries.as_ptr(),
            p.queries.len() as u32,
            out,
        )
    }
}

fn decode(a: &VlAnswer) -> Answer {
    let cstr = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let n = (a.n as usize).min(MAX_ANSWERS);
    Answer {
        ret: a.ret,
        error: cstr(&a.error),
        entries: (0..n)
            .map(|i| {
                let off = a.offsets[i];
                (cstr(&a.names[i]), (off != u64::MAX).then_some(off))
            })
            .collect(),
    }
}

/// Call the subject in this process. Only for inputs the subject is known to survive (see the module's
/// Safety section): a crash here takes the process down (which is what a fuzz target wants).
pub fn call(v: &Variant, image: &[u8], queries: &[(String, Option<String>)]) -> Answer {
    let p = prepare(image, queries);
    let mut out = zeroed();
    invoke(v, &p, &mut out);
    named(v, decode(&out), queries)
}

/// A name-based subject (arch `any`) echoes each query's name cut to `NAME_LEN - 1` bytes; give back
/// the full names. Subjects with their own list (CRIU) ignore the queries: their names stay.
fn named(v: &Variant, mut a: Answer, queries: &[(String, Option<String>)]) -> Answer {
    if v.arch == "any" {
        for (e, q) in a.entries.iter_mut().zip(queries) {
            e.0.clone_from(&q.0);
        }
    }
    a
}

/// Call the subject in a forked child with a time limit: a crash or a loop becomes [`Run::Crashed`] or
/// [`Run::Hung`].
pub fn call_contained(
    v: &Variant,
    image: &[u8],
    queries: &[(String, Option<String>)],
    limit: Duration,
) -> Run {
    let p = prepare(image, queries);
    let mut out = zeroed();
    let size = std::mem::size_of::<VlAnswer>();
    let r = child::run(limit, size, |buf| {
        invoke(v, &p, &mut out);
        // SAFETY: VlAnswer is plain old data (integers and byte arrays, no padding between its
        // 4/4/8-aligned fields), so viewing it as `size` bytes is sound; buf has exactly `size` bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts((&out as *const VlAnswer).cast::<u8>(), size) };
        buf.copy_from_slice(bytes);
        size
    });
    match r {
        Err(e) => Run::Failed(format!("cannot fork: {e}")),
        Ok(c) => match c.exit {
            Exit::Code(0) if c.output.len() == size => {
                // SAFETY: the child sent exactly the bytes of a VlAnswer (above); every bit pattern is a
                // valid VlAnswer, and read_unaligned copes with the Vec's alignment.
                let a = unsafe { std::ptr::read_unaligned(c.output.as_ptr().cast::<VlAnswer>()) };
                Run::Answered(named(v, decode(&a), queries))
            }
            Exit::Code(code) => Run::Failed(format!(
                "the child exited with status {code} after sending {} of {size} bytes",
                c.output.len()
            )),
            Exit::Signal(s) => Run::Crashed(child::signal_name(s)),
            Exit::Hang => Run::Hung,
            Exit::Lost => Run::Failed("the child could not be reaped after SIGKILL".into()),
        },
    }
}
