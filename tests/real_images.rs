//! The parser against the real vDSO images in `corpus/real` (cross-checked with `readelf`) and
//! against the live vDSO of the test process itself.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use vdso_lab::image::{Image, Probe, SymKind, VER_FLG_BASE};

/// Every image of `corpus/real` (its MANIFEST.tsv, checked by `vdso_lab::corpus`), with its path.
/// The folder is part of the repository: its absence is a failure, not a skip.
fn images() -> Option<Vec<(PathBuf, Vec<u8>)>> {
    let dir = vdso_lab::corpus::root().join("real");
    let imgs = vdso_lab::corpus::real_images(&dir).unwrap_or_else(|e| panic!("corpus/real: {e}"));
    assert!(!imgs.is_empty(), "corpus/real lists no images");
    Some(
        imgs.into_iter()
            .map(|r| (dir.join(&r.entry.file), r.bytes))
            .collect(),
    )
}

/// The manifest is evidence only if it describes the files: each sha256 matches, and the exported
/// functions it lists (name@version) are still the ones the parser finds. (Our parser wrote that column,
/// so this guards against drift; the independent check is `real_images_match_readelf`.)
#[test]
fn corpus_real_matches_its_manifest() {
    use sha2::Digest;
    let dir = vdso_lab::corpus::root().join("real");
    let imgs = vdso_lab::corpus::real_images(&dir).unwrap();
    let mut bad = Vec::new();
    for r in &imgs {
        let sha = format!("{:x}", sha2::Sha256::digest(&r.bytes));
        if sha != r.entry.sha256 {
            bad.push(format!(
                "{}: sha256 {sha}, manifest {}",
                r.entry.file, r.entry.sha256
            ));
        }
        let img = Image::parse(&r.bytes).unwrap();
        // The manifest lists the `__`-prefixed functions (examples/manifest.rs), not the weak aliases.
        let mut ours: Vec<String> = img
            .functions()
            .filter(|s| s.name.starts_with("__"))
            .map(|s| format!("{}@{}", s.name, s.version.unwrap_or("")))
            .collect();
        let mut listed = r.entry.exported_functions.clone();
        ours.sort();
        listed.sort();
        if ours != listed {
            bad.push(format!(
                "{}: parser {ours:?}, manifest {listed:?}",
                r.entry.file
            ));
        }
    }
    println!(
        "{} images checked against corpus/real/MANIFEST.tsv",
        imgs.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_real_image_parses() {
    let Some(imgs) = images() else { return };
    let mut failures = Vec::new();
    for (path, bytes) in &imgs {
        if let Err(e) = Image::parse(bytes) {
            failures.push(format!("{}: {e} ({e:?})", file_name(path)));
        }
    }
    println!("parsed {} images", imgs.len());
    assert!(
        failures.is_empty(),
        "{} of {} real images fail to parse:\n{}",
        failures.len(),
        imgs.len(),
        failures.join("\n")
    );
}

/// One row of `readelf --dyn-syms -W`.
#[derive(Debug)]
struct ReadelfSym {
    num: u64,
    value: u64,
    size: u64,
    kind: String,
    bind: String,
    ndx: String,
    /// The name as printed, version suffix included.
    name: String,
}

/// One entry of readelf's `.gnu.version_d` listing.
#[derive(Debug)]
struct ReadelfVerdef {
    index: u16,
    base: bool,
    name: String,
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parse one symbol row: `Num: Value Size Type Bind Vis [extra columns] Ndx Name`. ppc64 readelf adds a
/// bracketed `[<localentry>: 8]` column after Vis; the name may be empty (index 0).
fn parse_sym_row(line: &str) -> Option<ReadelfSym> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let num = toks.first()?.strip_suffix(':')?.parse().ok()?;
    if toks.len() < 7 {
        return None;
    }
    let value = u64::from_str_radix(toks[1], 16).ok()?;
    let size = parse_num(toks[2])?;
    let mut rest = &toks[6..];
    // Skip bracketed extra columns (`[<localentry>: 8]`, `[VARIANT_PCS]`, ...).
    while let Some(first) = rest.first() {
        if !first.starts_with('[') {
            break;
        }
        let end = rest.iter().position(|t| t.ends_with(']'))?;
        rest = &rest[end + 1..];
    }
    let ndx = rest.first()?.to_string();
    let name = rest[1..].join(" ");
    Some(ReadelfSym {
        num,
        value,
        size,
        kind: toks[3].to_string(),
        bind: toks[4].to_string(),
        ndx,
        name,
    })
}

/// The dynamic symbol rows and version definitions of `readelf --dyn-syms -V -W` output.
fn parse_readelf(out: &str) -> (Vec<ReadelfSym>, Vec<ReadelfVerdef>) {
    #[derive(PartialEq)]
    enum Sec {
        None,
        Dynsym,
        Verdef,
    }
    let mut sec = Sec::None;
    let mut syms = Vec::new();
    let mut defs = Vec::new();
    for line in out.lines() {
        let t = line.trim();
        if t.starts_with("Symbol table '.dynsym'") {
            sec = Sec::Dynsym;
            continue;
        }
        if t.starts_with("Version definition section '.gnu.version_d'") {
            sec = Sec::Verdef;
            continue;
        }
        if t.starts_with("Symbol table") || t.starts_with("Version ") {
            sec = Sec::None;
            continue;
        }
        match sec {
            Sec::Dynsym => {
                if let Some(s) = parse_sym_row(line) {
                    syms.push(s);
                }
            }
            Sec::Verdef => {
                // `000000: Rev: 1  Flags: BASE  Index: 1  Cnt: 1  Name: linux-vdso.so.1`
                if !t.contains("Rev:") {
                    continue;
                }
                let after = |key: &str| -> Option<&str> {
                    let i = t.find(key)? + key.len();
                    Some(t[i..].trim_start())
                };
                let flags = after("Flags:").unwrap_or("");
                let flags = flags.split("Index:").next().unwrap_or("").trim();
                let index = after("Index:")
                    .and_then(|s| s.split_whitespace().next())
                    .and_then(|s| s.parse().ok());
                let name = after("Name:").map(|s| s.trim().to_string());
                if let (Some(index), Some(name)) = (index, name) {
                    defs.push(ReadelfVerdef {
                        index,
                        base: flags
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|f| f == "BASE"),
                        name,
                    });
                }
            }
            Sec::None => {}
        }
    }
    (syms, defs)
}

fn readelf_available() -> bool {
    Command::new("readelf")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn real_images_match_readelf() {
    let Some(imgs) = images() else { return };
    if !readelf_available() {
        vdso_lab::require::skip("readelf", "readelf not installed");
        return;
    }
    let mut bad = Vec::new();
    let (mut nrows, mut ndefs) = (0, 0);
    for (path, bytes) in &imgs {
        let file = file_name(path);
        let img = match Image::parse(bytes) {
            Ok(i) => i,
            Err(e) => {
                bad.push(format!("{file}: does not parse: {e}"));
                continue;
            }
        };
        let out = Command::new("readelf")
            .args(["--dyn-syms", "-V", "-W"])
            .arg(path)
            .output()
            .expect("run readelf");
        let text = String::from_utf8_lossy(&out.stdout);
        let (rows, defs) = parse_readelf(&text);
        nrows += rows.len();
        ndefs += defs.len();
        if rows.len() != img.symbol_count() as usize + 1 {
            bad.push(format!(
                "{file}: readelf lists {} dynsym rows, we have {} symbols (+1 null)",
                rows.len(),
                img.symbol_count()
            ));
        }
        for row in rows.iter().filter(|r| r.num != 0) {
            let Some(s) = img.symbol(row.num as u32) else {
                bad.push(format!(
                    "{file}: readelf row {} has no symbol here",
                    row.num
                ));
                continue;
            };
            let mut m = |what: &str, theirs: String, ours: String| {
                if theirs != ours {
                    bad.push(format!(
                        "{file} #{}: {what}: readelf `{theirs}`, parser `{ours}`",
                        row.num
                    ));
                }
            };
            if s.index != row.num as u32 {
                m("index", row.num.to_string(), s.index.to_string());
            }
            let expected_name = match (s.version, s.version_hidden) {
                // readelf prints no version when the symbol's name string is the version's own (the ABS
                // version symbols ld emits, `LINUX_2.6`).
                (Some(v), _) if v == s.name && !row.name.contains('@') => s.name.to_string(),
                (Some(v), false) => format!("{}@@{v}", s.name),
                (Some(v), true) => format!("{}@{v}", s.name),
                (None, _) => s.name.to_string(),
            };
            // readelf prints a nameless STT_SECTION symbol under its section's name (`.rodata`).
            if !(s.kind == SymKind::Section && s.name.is_empty()) {
                m("name@version", row.name.clone(), expected_name);
            }
            m(
                "value",
                format!("{:#x}", row.value),
                format!("{:#x}", s.value),
            );
            m("size", row.size.to_string(), s.size.to_string());
            m("type", row.kind.clone(), s.kind.name());
            m("bind", row.bind.clone(), s.binding.name());
            let ours = match u32::from(s.shndx) {
                0 => "UND".to_string(),
                0xfff1 => "ABS".to_string(),
                0xfff2 => "COM".to_string(),
                n => n.to_string(),
            };
            m("ndx", row.ndx.clone(), ours);
        }
        if defs.len() != img.versions.len() {
            bad.push(format!(
                "{file}: readelf lists {} version definitions, parser {}",
                defs.len(),
                img.versions.len()
            ));
        }
        for (d, v) in defs.iter().zip(&img.versions) {
            let ours = (v.index, v.flags & VER_FLG_BASE != 0, v.name);
            if (d.index, d.base, d.name.as_str()) != ours {
                bad.push(format!(
                    "{file}: version definition: readelf {d:?}, parser {ours:?}"
                ));
            }
        }
    }
    println!(
        "compared {nrows} dynsym rows and {ndefs} version definitions of {} images",
        imgs.len()
    );
    assert!(
        bad.is_empty(),
        "{} mismatches with readelf:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn real_images_hash_tables_agree() {
    let Some(imgs) = images() else { return };
    let mut bad = Vec::new();
    for (path, bytes) in &imgs {
        let file = file_name(path);
        let img = match Image::parse(bytes) {
            Ok(i) => i,
            Err(e) => {
                bad.push(format!("{file}: does not parse: {e}"));
                continue;
            }
        };
        for f in img.check_hashes() {
            bad.push(format!("{file}: {f}"));
        }
        for s in img.exports() {
            let l = img.lookup(s.name, s.version);
            let found_ok = |p: Probe| matches!(p, Probe::Absent) || p == Probe::Found(s.index);
            if !l.agrees() || l.linear != Some(s.index) || !found_ok(l.sysv) || !found_ok(l.gnu) {
                bad.push(format!(
                    "{file}: lookup({}, {:?}) = {l:?}, symbol index {}",
                    s.name, s.version, s.index
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} hash/lookup problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The `[vdso]` mapping of this process, read through /proc/self/mem.
fn live_vdso() -> Option<Vec<u8>> {
    let base = sysinfo_ehdr();
    if base == 0 {
        vdso_lab::require::skip("live", "no vDSO");
        return None;
    }
    let maps = fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let line = maps
        .lines()
        .find(|l| l.trim_end().ends_with("[vdso]"))
        .expect("AT_SYSINFO_EHDR is set but /proc/self/maps has no [vdso] line");
    let range = line.split_whitespace().next().expect("maps range");
    let (lo, hi) = range.split_once('-').expect("maps range lo-hi");
    let lo = u64::from_str_radix(lo, 16).expect("maps lo");
    let hi = u64::from_str_radix(hi, 16).expect("maps hi");
    assert_eq!(lo, base, "AT_SYSINFO_EHDR is not the start of [vdso]");
    let mut mem = fs::File::open("/proc/self/mem").expect("open /proc/self/mem");
    mem.seek(SeekFrom::Start(lo)).expect("seek to the vDSO");
    let mut buf = vec![0u8; (hi - lo) as usize];
    mem.read_exact(&mut buf).expect("read the vDSO");
    Some(buf)
}

/// `getauxval(AT_SYSINFO_EHDR)`: the address of the vDSO's ELF header, 0 when there is none.
fn sysinfo_ehdr() -> u64 {
    // SAFETY: getauxval has no preconditions; it only reads the auxiliary vector and returns 0 for an
    // absent entry.
    unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) }
}

#[test]
fn live_vdso_parses_and_exports_time_functions() {
    let Some(bytes) = live_vdso() else { return };
    let img = Image::parse(&bytes).unwrap_or_else(|e| panic!("live vDSO does not parse: {e}"));
    println!(
        "live vDSO: {} bytes mapped, ELF length {:?}, {} {:?}, soname {:?}, {} symbols",
        bytes.len(),
        img.sections().map(|s| s.elf_len),
        img.machine_name(),
        img.class,
        img.soname,
        img.symbol_count()
    );
    let findings = img.check_hashes();
    assert!(findings.is_empty(), "live vDSO hash findings: {findings:?}");
    #[cfg(target_arch = "x86_64")]
    {
        let text = img
            .text()
            .unwrap_or_else(|e| panic!("live vDSO has no text range: {e}"));
        for name in ["__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time"] {
            let s = img
                .find(name, Some("LINUX_2.6"))
                .unwrap_or_else(|| panic!("live vDSO does not export {name}@LINUX_2.6"));
            assert_eq!(s.version, Some("LINUX_2.6"), "{name}");
            assert_eq!(s.kind, SymKind::Func, "{name}");
            assert!(s.size > 0, "{name} has size 0");
            let off = s.offset.unwrap_or_else(|| panic!("{name} is not defined"));
            assert!(
                text.start <= off && off + s.size <= text.end,
                "{name} at {off:#x}+{} lies outside .text {text:?}",
                s.size
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    vdso_lab::require::skip("live", "export name check is x86_64 only");
}

/// The per-architecture fact table (`arch::TABLE`) against every real image: each image's machine,
/// class, soname, version node and page size agree with its architecture's row, and a row's exports
/// (with the ones the generators do not draw yet) are exactly the functions the architecture's real
/// images export between them.
#[test]
fn real_images_agree_with_the_arch_table() {
    use std::collections::{BTreeMap, BTreeSet};
    use vdso_lab::arch::{Arch, TABLE};
    let Some(imgs) = images() else { return };
    let mut bad = Vec::new();
    let mut seen: BTreeMap<Arch, (usize, BTreeSet<String>)> = BTreeMap::new();
    for (path, bytes) in &imgs {
        let f = file_name(path);
        let img = Image::parse(bytes).unwrap();
        let Some(arch) = Arch::of(&img) else {
            bad.push(format!("{f}: no architecture (machine {})", img.machine));
            continue;
        };
        let row = arch.facts();
        if row.machine != img.machine || row.class != img.class {
            bad.push(format!(
                "{f}: machine {} class {:?}, row {} {:?}",
                img.machine, img.class, row.machine, row.class
            ));
        }
        if !img
            .soname
            .is_some_and(|s| s == row.soname || row.other_sonames.contains(&s))
        {
            bad.push(format!("{f}: soname {:?}, row {}", img.soname, row.soname));
        }
        if !img
            .versions
            .iter()
            .any(|v| v.flags & VER_FLG_BASE == 0 && v.name == row.version)
        {
            let names: Vec<&str> = img.versions.iter().map(|v| v.name).collect();
            bad.push(format!(
                "{f}: versions {names:?} lack the row's {}",
                row.version
            ));
        }
        if !row.page_sizes.contains(&img.page_size()) {
            bad.push(format!(
                "{f}: page size {:#x} not among {:?}",
                img.page_size(),
                row.page_sizes
            ));
        }
        let e = seen.entry(arch).or_default();
        e.0 += 1;
        e.1.extend(img.functions().map(|s| s.name.to_string()));
    }
    for row in &TABLE {
        let Some((n, names)) = seen.get(&row.arch) else {
            println!("{}: no real image; row unchecked", row.name);
            continue;
        };
        let listed: BTreeSet<String> = row
            .exports
            .iter()
            .chain(row.unsynthesized)
            .map(|e| e.to_string())
            .collect();
        let invented: Vec<&String> = listed.difference(names).collect();
        let missing: Vec<&String> = names.difference(&listed).collect();
        println!(
            "{}: {n} images export {} distinct function names",
            row.name,
            names.len()
        );
        if !invented.is_empty() {
            bad.push(format!(
                "{}: the row lists {invented:?}, which no real image of it exports",
                row.name
            ));
        }
        if !missing.is_empty() {
            bad.push(format!(
                "{}: real images export {missing:?}, which the row lacks",
                row.name
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
