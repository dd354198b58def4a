//! Compiles the third-party vDSO parsers ("subjects") whose sources `ci/fetch-sources.sh` unpacked
//! under `target/sources/` (or `$VDSO_LAB_SOURCES`), each behind a thin adapter of ours
//! (`c/criu_adapter.h`, `c/musl_adapter.h`), and writes `$OUT_DIR/built.rs`: which sources were found,
//! their provenance (the `.fetched` stamp: package, version, tarball, sha256) and, for each one that
//! was not built, why.
//!
//! * CRIU (`criu/pie/util-vdso.c`), per release, once per (class, arch): the 64-bit form for every arch
//!   the release ports, and the 32-bit form (`-DCONFIG_VDSO_32`, as `criu/Makefile.crtools` builds
//!   `pie-util-vdso-elf32.o` for x86 `CONFIG_COMPAT` and the top-level `Makefile` builds arm) for x86
//!   and arm. Each translation unit carries that arch's `VDSO_SYMBOL_MAX`, `ARCH_VDSO_SYMBOLS_LIST`
//!   and `ARCH_VDSO_SYMBOLS`, copied verbatim from the release's `criu/arch/<arch>/include/asm/vdso.h`,
//!   and renames `vdso_fill_symtable` so that every build has its own symbol.
//! * musl (`src/internal/vdso.c`, `__vdsosym`), in the host's (64-bit) form.
//!
//! The sources are copied into `$OUT_DIR` first, so that their quoted `#include`s find our shims
//! (`c/shim/`) and the release's own `util-vdso.h`, not the rest of the tree. A subject whose source
//! is absent or does not compile is recorded as skipped with the reason: `cargo build` never fails
//! for want of a subject. A registry (a C table) lists the variants that were built.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// The subjects this crate knows how to build, by the directory `ci/fetch-sources.sh` unpacks them to.
const CRIU: &[&str] = &["criu-4.2.1", "criu-4.1.1"];
const MUSL: &str = "musl-1.2.6";
/// CRIU's 64-bit ports and the arches CRIU builds its 32-bit parser for (see the module doc).
const CRIU_64: &[&str] = &[
    "x86",
    "aarch64",
    "ppc64",
    "s390",
    "mips",
    "riscv64",
    "loongarch64",
];
const CRIU_32: &[&str] = &["x86", "arm"];

struct Source {
    name: String,
    stamp: String,
    skipped: Option<String>,
}

struct Variant {
    subject: String,
    arch: String,
    class_bits: u32,
    func: String,
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=VDSO_LAB_SOURCES");
    println!("cargo:rerun-if-changed=c");
    let sources = env::var_os("VDSO_LAB_SOURCES")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target/sources"));
    // Watch the sources folder (created if absent, so that cargo has something to watch and does not
    // rerun this script on every build): fetching a source later rebuilds the subjects.
    let _ = fs::create_dir_all(&sources);
    println!("cargo:rerun-if-changed={}", sources.display());

    let mut found = Vec::new();
    let mut variants = Vec::new();
    for name in CRIU {
        let (src, vs) = build_criu(&manifest, &out, &sources, name);
        found.push(src);
        variants.extend(vs);
    }
    let (src, vs) = build_musl(&manifest, &out, &sources);
    found.push(src);
    variants.extend(vs);
    build_registry(&manifest, &out, &variants);
    write_built_rs(&out, &sources, &found, &variants);
}

fn stamp_of(dir: &Path) -> Result<String, String> {
    fs::read_to_string(dir.join(".fetched"))
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            format!(
                "source not fetched ({} has no .fetched stamp; run ci/fetch-sources.sh)",
                dir.display()
            )
        })
}

fn base_build(manifest: &Path) -> cc::Build {
    let mut b = cc::Build::new();
    b.include(manifest.join("c/shim"))
        .include(manifest.join("c"))
        // -O2 as the releases build themselves (CRIU's Makefile, musl's configure).
        .opt_level(2)
        .flag("-std=gnu11")
        .warnings(false)
        .extra_warnings(false)
        .flag("-w")
        .cargo_warnings(false);
    b
}

/// The `#define` of `name` in an arch header, with its continuation lines, verbatim.
fn macro_block(header: &str, name: &str) -> Option<String> {
    let mut out = String::new();
    let mut lines = header.lines();
    while let Some(l) = lines.next() {
        let t = l.trim_start();
        let is_it = t
            .strip_prefix("#define")
            .map(str::trim_start)
            .is_some_and(|r| r.split_whitespace().next() == Some(name));
        if !is_it {
            continue;
        }
        let mut cur = l;
        loop {
            out.push_str(cur);
            out.push('\n');
            if !cur.trim_end().ends_with('\\') {
                return Some(out);
            }
            cur = lines.next().unwrap_or("");
        }
    }
    None
}

/// A fetched source tree, stamped, with the folder its copy is built in: `(source, its tree, the
/// copy)`, or the source marked skipped (not fetched) for the caller to return.
fn fetched(out: &Path, sources: &Path, name: &str) -> Result<(Source, PathBuf, PathBuf), Source> {
    let dir = sources.join(name);
    let stamp = stamp_of(&dir).map_err(|e| Source {
        name: name.into(),
        stamp: String::new(),
        skipped: Some(e),
    })?;
    let copy = out.join(name);
    let _ = fs::create_dir_all(&copy);
    let src = Source {
        name: name.into(),
        stamp,
        skipped: None,
    };
    Ok((src, dir, copy))
}

fn build_criu(manifest: &Path, out: &Path, sources: &Path, name: &str) -> (Source, Vec<Variant>) {
    let (mut src, dir, copy) = match fetched(out, sources, name) {
        Ok(x) => x,
        Err(skipped) => return (skipped, Vec::new()),
    };
    for (from, to) in [
        ("criu/pie/util-vdso.c", "util-vdso.c"),
        ("criu/include/util-vdso.h", "util-vdso.h"),
    ] {
        if let Err(e) = fs::copy(dir.join(from), copy.join(to)) {
            src.skipped = Some(format!("{from}: {e}"));
            return (src, Vec::new());
        }
    }
    let id = name.replace(['-', '.'], "_");
    let mut b = base_build(manifest);
    let mut variants = Vec::new();
    let forms = CRIU_64
        .iter()
        .map(|a| (64u32, *a))
        .chain(CRIU_32.iter().map(|a| (32u32, *a)));
    for (bits, arch) in forms {
        let header = dir.join(format!("criu/arch/{arch}/include/asm/vdso.h"));
        let Ok(h) = fs::read_to_string(&header) else {
            continue; // the release has no such port
        };
        let blocks: Option<Vec<String>> = [
            "VDSO_SYMBOL_MAX",
            "ARCH_VDSO_SYMBOLS_LIST",
            "ARCH_VDSO_SYMBOLS",
        ]
        .iter()
        .map(|m| macro_block(&h, m))
        .collect();
        let Some(blocks) = blocks else {
            println!(
                "cargo:warning=vdso-lab-subjects: {name}: {} lacks the symbol list macros; {arch}/{bits} not built",
                header.display()
            );
            continue;
        };
        let func = format!("vl_{id}_{bits}_{arch}");
        let mut tu = format!(
            "/* Generated by subjects/build.rs: {name} criu/pie/util-vdso.c, {bits}-bit form, the symbol list of\n * criu/arch/{arch}/include/asm/vdso.h. */\n"
        );
        if bits == 32 {
            tu.push_str("#define CONFIG_VDSO_32 1\n");
            writeln!(tu, "#define vdso_fill_symtable_compat {func}_fill").unwrap();
        } else {
            writeln!(tu, "#define vdso_fill_symtable {func}_fill").unwrap();
        }
        tu.push_str("#include \"vl_subject.h\"\n");
        for bl in &blocks {
            tu.push_str(bl);
        }
        writeln!(tu, "\n#include \"{}\"", copy.join("util-vdso.c").display()).unwrap();
        writeln!(
            tu,
            "#define VL_ADAPTER {func}\n#define VL_FILL {func}_fill\n#include \"criu_adapter.h\""
        )
        .unwrap();
        let file = copy.join(format!("{bits}_{arch}.c"));
        fs::write(&file, tu).unwrap();
        b.file(&file);
        variants.push(Variant {
            subject: name.into(),
            arch: arch.into(),
            class_bits: bits,
            func,
        });
    }
    if variants.is_empty() {
        src.skipped = Some("no arch header with a symbol list found".into());
        return (src, variants);
    }
    if let Err(e) = b.try_compile(&format!("vl_{id}")) {
        src.skipped = Some(format!("does not compile: {e}"));
        variants.clear();
    }
    (src, variants)
}

fn build_musl(manifest: &Path, out: &Path, sources: &Path) -> (Source, Vec<Variant>) {
    let (mut src, dir, copy) = match fetched(out, sources, MUSL) {
        Ok(x) => x,
        Err(skipped) => return (skipped, Vec::new()),
    };
    if let Err(e) = fs::copy(dir.join("src/internal/vdso.c"), copy.join("vdso.c")) {
        src.skipped = Some(format!("src/internal/vdso.c: {e}"));
        return (src, Vec::new());
    }
    let func = "vl_musl_1_2_6_64".to_string();
    let tu = format!(
        "/* Generated by subjects/build.rs: {MUSL} src/internal/vdso.c. */\n#define VDSO_USEFUL 1\n#define __vdsosym {func}_lookup\n#include \"vl_subject.h\"\n#include \"{}\"\n#define VL_ADAPTER {func}\n#define VL_LOOKUP {func}_lookup\n#include \"musl_adapter.h\"\n",
        copy.join("vdso.c").display()
    );
    let file = copy.join("adapter.c");
    fs::write(&file, tu).unwrap();
    let mut b = base_build(manifest);
    b.file(&file);
    if let Err(e) = b.try_compile("vl_musl_1_2_6") {
        src.skipped = Some(format!("does not compile: {e}"));
        return (src, Vec::new());
    }
    let v = Variant {
        subject: MUSL.into(),
        arch: "any".into(),
        class_bits: 64,
        func,
    };
    (src, vec![v])
}

fn build_registry(manifest: &Path, out: &Path, variants: &[Variant]) {
    let mut c = String::from("/* Generated by subjects/build.rs: every subject variant built. */\n#include \"vl_subject.h\"\n");
    let stubs = [
        ("stub-crash", "vl_stub_crash"),
        ("stub-loop", "vl_stub_loop"),
        ("stub-garbage", "vl_stub_garbage"),
    ];
    for v in variants {
        writeln!(c, "void {}(const unsigned char *, size_t, const struct vl_query *, uint32_t, struct vl_answer *);", v.func).unwrap();
    }
    for (_, f) in stubs {
        writeln!(c, "void {f}(const unsigned char *, size_t, const struct vl_query *, uint32_t, struct vl_answer *);").unwrap();
    }
    c.push_str("const struct vl_entry vl_registry[] = {\n");
    for v in variants {
        writeln!(
            c,
            "\t{{ \"{}\", \"{}\", {}, {} }},",
            v.subject, v.arch, v.class_bits, v.func
        )
        .unwrap();
    }
    for (s, f) in stubs {
        writeln!(c, "\t{{ \"{s}\", \"any\", 64, {f} }},").unwrap();
    }
    c.push_str("\t{ 0, 0, 0, 0 },\n};\n");
    let file = out.join("registry.c");
    fs::write(&file, c).unwrap();
    let mut b = base_build(manifest);
    b.file(&file).file(manifest.join("c/common.c"));
    b.compile("vl_registry");
}

fn write_built_rs(out: &Path, sources: &Path, found: &[Source], variants: &[Variant]) {
    let mut r = String::new();
    writeln!(
        r,
        "/// Where the sources were looked for.\npub const SOURCES_DIR: &str = {:?};",
        sources.display().to_string()
    )
    .unwrap();
    r.push_str("/// Every subject source this crate knows, found or not.\npub const SOURCES: &[SourceInfo] = &[\n");
    for s in found {
        let mut f = s.stamp.split_whitespace();
        let (pkg, ver, tarball, sha) = (
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
        );
        let n = variants.iter().filter(|v| v.subject == s.name).count();
        writeln!(
            r,
            "    SourceInfo {{ name: {:?}, package: {pkg:?}, version: {ver:?}, tarball: {tarball:?}, sha256: {sha:?}, variants: {n}, skipped: {:?} }},",
            s.name, s.skipped
        )
        .unwrap();
    }
    r.push_str("];\n");
    fs::write(out.join("built.rs"), r).unwrap();
}
