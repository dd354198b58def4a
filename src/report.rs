//! Rendering for the CLI: the `inspect` report as text and as JSON.
//!
//! The JSON schema is documented in `docs/inspect-json.md` and versioned by its `schema` field
//! (`vdso-lab.inspect.v1`); fields are only ever added within a version. Addresses that can exceed 2^53
//! (symbol values, the load bias, mapping addresses) are hex strings so that every JSON reader keeps them
//! exact; offsets and sizes inside an image are plain integers.

use crate::image::{Class, Endian, HashFinding, Image, ParseError, VER_FLG_BASE};
use crate::layout::Layout;
use serde::Serialize;
use std::fmt::Write;

pub const INSPECT_SCHEMA: &str = "vdso-lab.inspect.v1";

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub schema: &'static str,
    /// The file path, or `live` for the running kernel's vDSO.
    pub source: String,
    pub input_len: u64,
    pub elf_len: u64,
    pub soname: Option<String>,
    pub class: &'static str,
    pub endian: &'static str,
    pub machine: u16,
    pub machine_name: &'static str,
    /// `e_ident[EI_OSABI]` and its name.
    pub osabi: u8,
    pub osabi_name: &'static str,
    /// `e_flags` (hex) and what its ABI bits say (`little-endian, EABI5`; see `arch::Abi`).
    pub e_flags: String,
    pub abi: String,
    pub build_id: Option<String>,
    pub load_bias: String,
    pub text: Range,
    pub hash_tables: HashReport,
    pub versions: Vec<VersionReport>,
    pub symbols: Vec<SymbolReport>,
    /// Problems that are not hash-table disagreements: symbols outside every PT_LOAD, a version
    /// definition chain whose last entry does not end with `vd_next == 0`.
    pub warnings: Vec<String>,
    /// Only for `--live`: where the kernel mapped the image and the special mappings around it.
    pub live: Option<LiveReport>,
}

#[derive(Debug, Serialize)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Serialize)]
pub struct HashReport {
    pub dt_hash: bool,
    pub gnu_hash: bool,
    pub symbol_count_dt_hash: Option<u64>,
    pub symbol_count_gnu_hash: Option<u64>,
    pub symbol_count_section: Option<u64>,
    /// True when every lookup through every table agrees with the linear scan and the counts agree.
    pub agree: bool,
    pub findings: Vec<HashFinding>,
}

#[derive(Debug, Serialize)]
pub struct VersionReport {
    pub index: u16,
    pub base: bool,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct SymbolReport {
    pub index: u32,
    pub name: String,
    pub version: Option<String>,
    /// False for a hidden (non-default, `name@V`) version.
    pub default_version: bool,
    /// Offset from the image start; null for absolute and undefined symbols.
    pub offset: Option<u64>,
    pub value: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub binding: String,
    /// Exported entry point a libc may resolve and cache.
    pub entry_point: bool,
}

#[derive(Debug, Serialize)]
pub struct LiveReport {
    pub base: String,
    pub mappings: Vec<MappingReport>,
}

#[derive(Debug, Serialize)]
pub struct MappingReport {
    pub name: &'static str,
    pub start: String,
    pub end: String,
    pub pages: u64,
    pub perms: String,
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn osabi_name(v: u8) -> &'static str {
    match v {
        0 => "System V",
        3 => "GNU/Linux",
        6 => "Solaris",
        9 => "FreeBSD",
        97 => "ARM",
        255 => "standalone",
        _ => "other",
    }
}

fn warnings(img: &Image) -> Vec<String> {
    let mut w: Vec<String> = img
        .symbols_outside_loads()
        .map(|s| {
            format!(
                "symbol #{} `{}` ({:#x}) lies outside every PT_LOAD: a loader resolving it hands out an unmapped address",
                s.index, s.name, s.value
            )
        })
        .collect();
    if img.verdef_unterminated {
        w.push("the last version definition's vd_next is not 0: a reader that follows vd_next instead of counting DT_VERDEFNUM entries runs past the table (and may loop)".into());
    }
    w
}

impl InspectReport {
    /// Fails when the section headers, which `Image::parse` leaves for later, are broken.
    pub fn new(
        source: &str,
        img: &Image,
        live: Option<(u64, &Layout)>,
    ) -> Result<InspectReport, ParseError> {
        let sections = img.sections()?;
        let text = img.text()?;
        let findings = img.check_hashes();
        Ok(InspectReport {
            schema: INSPECT_SCHEMA,
            source: source.to_string(),
            input_len: img.bytes().len() as u64,
            elf_len: sections.elf_len,
            soname: img.soname.map(str::to_string),
            class: match img.class {
                Class::Elf32 => "ELF32",
                Class::Elf64 => "ELF64",
            },
            endian: match img.endian {
                Endian::Little => "little",
                Endian::Big => "big",
            },
            machine: img.machine,
            machine_name: img.machine_name(),
            osabi: img.osabi,
            osabi_name: osabi_name(img.osabi),
            e_flags: hex(u64::from(img.flags)),
            abi: match crate::arch::Arch::of(img) {
                Some(a) => format!("{}, {}", a.name(), crate::arch::Abi::of(img).describe(a)),
                None => "unknown architecture".into(),
            },
            build_id: img
                .build_id()?
                .map(|b| b.iter().map(|x| format!("{x:02x}")).collect()),
            load_bias: hex(img.load_bias),
            text: Range {
                start: text.start,
                end: text.end,
            },
            hash_tables: HashReport {
                dt_hash: img.sysv.is_some(),
                gnu_hash: img.gnu.is_some(),
                symbol_count_dt_hash: img.counts.dt_hash,
                symbol_count_gnu_hash: img.counts.gnu_hash,
                symbol_count_section: sections.dynsym_count,
                agree: findings.is_empty(),
                findings,
            },
            versions: img
                .versions
                .iter()
                .map(|v| VersionReport {
                    index: v.index,
                    base: v.flags & VER_FLG_BASE != 0,
                    name: v.name.to_string(),
                })
                .collect(),
            symbols: img
                .symbols()
                .map(|s| SymbolReport {
                    index: s.index,
                    name: s.name.to_string(),
                    version: s.version.map(str::to_string),
                    default_version: !s.version_hidden,
                    offset: s.offset,
                    value: hex(s.value),
                    size: s.size,
                    kind: s.kind.name(),
                    binding: s.binding.name(),
                    entry_point: s.is_code(),
                })
                .collect(),
            warnings: warnings(img),
            live: live.map(|(base, layout)| LiveReport {
                base: hex(base),
                mappings: layout
                    .mappings
                    .iter()
                    .map(|m| MappingReport {
                        name: m.role.maps_name(),
                        start: hex(m.start),
                        end: hex(m.end),
                        pages: m.len() / 4096,
                        perms: m.perms().to_string(),
                    })
                    .collect(),
            }),
        })
    }

    /// No hash-table disagreement and no warning: what `inspect`'s exit status reports.
    pub fn clean(&self) -> bool {
        self.hash_tables.agree && self.warnings.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "source     {} ({} bytes; ELF object {} bytes)",
            self.source, self.input_len, self.elf_len
        );
        let _ = writeln!(
            o,
            "soname     {}",
            self.soname.as_deref().unwrap_or("(none)")
        );
        let _ = writeln!(
            o,
            "format     {} {}-endian, machine {} ({}), EI_OSABI {} ({}), e_flags {} ({})",
            self.class,
            self.endian,
            self.machine_name,
            self.machine,
            self.osabi,
            self.osabi_name,
            self.e_flags,
            self.abi
        );
        let _ = writeln!(
            o,
            "build id   {}",
            self.build_id.as_deref().unwrap_or("(none)")
        );
        let _ = writeln!(
            o,
            "load bias  {}   text {:#x}..{:#x} ({} bytes)",
            self.load_bias,
            self.text.start,
            self.text.end,
            self.text.end - self.text.start
        );
        if let Some(l) = &self.live {
            let _ = writeln!(o, "mapped at  {}", l.base);
            for m in &l.mappings {
                let _ = writeln!(
                    o,
                    "  {:<14} {}-{} {} {} page{}",
                    m.name,
                    m.start,
                    m.end,
                    m.perms,
                    m.pages,
                    if m.pages == 1 { "" } else { "s" }
                );
            }
        }
        let h = &self.hash_tables;
        let tables = match (h.dt_hash, h.gnu_hash) {
            (true, true) => "DT_HASH + DT_GNU_HASH",
            (true, false) => "DT_HASH only",
            (false, true) => "DT_GNU_HASH only",
            (false, false) => "none",
        };
        let _ = writeln!(
            o,
            "hash       {tables}: {}",
            if h.agree {
                "every lookup agrees with the symbol table".to_string()
            } else {
                format!("{} DISAGREEMENT(S)", h.findings.len())
            }
        );
        for f in &h.findings {
            let _ = writeln!(o, "  ! {f}");
        }
        for w in &self.warnings {
            let _ = writeln!(o, "warning    {w}");
        }
        let vs: Vec<String> = self
            .versions
            .iter()
            .map(|v| {
                format!(
                    "{} {}{}",
                    v.index,
                    v.name,
                    if v.base { " (base)" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "versions   {}",
            if vs.is_empty() {
                "(none)".into()
            } else {
                vs.join(", ")
            }
        );
        let _ = writeln!(o);
        let w = self
            .symbols
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            o,
            "{:>3}  {:<w$}  {:<12} {:>8} {:>6}  {:<7} {:<6}",
            "#", "name", "version", "offset", "size", "type", "bind"
        );
        for s in &self.symbols {
            let ver = match (&s.version, s.default_version) {
                (Some(v), true) => v.clone(),
                (Some(v), false) => format!("{v} (hidden)"),
                (None, _) => "-".into(),
            };
            let off = s.offset.map_or_else(|| "ABS".to_string(), hex);
            let _ = writeln!(
                o,
                "{:>3}  {:<w$}  {:<12} {:>8} {:>6}  {:<7} {:<6}",
                s.index, s.name, ver, off, s.size, s.kind, s.binding
            );
        }
        o
    }
}

/// The `plan` report as text: the decision, each patch with its decoded instructions, the findings.
/// `plan` as text; `big_endian`: the dumped image's byte order, which its trampolines are written in.
pub fn plan_text(p: &crate::plan::Plan, dumped_base: u64, big_endian: bool) -> String {
    use crate::plan::Decision;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "policy     {}   arch {}",
        p.policy,
        p.arch.map_or("?", |a| a.name())
    );
    match &p.decision {
        Decision::Refused => {
            let _ = writeln!(o, "decision   REFUSED");
        }
        Decision::Remap { moves } => {
            let _ = writeln!(
                o,
                "decision   remap: move the runtime special mappings onto the dumped ones"
            );
            for m in moves {
                let _ = writeln!(
                    o,
                    "  {:<14} {:#x} -> {:#x} ({} pages)",
                    m.role.maps_name(),
                    m.from,
                    m.to,
                    m.len / 4096
                );
            }
        }
        Decision::Proxy { patches, park } => {
            let _ = writeln!(
                o,
                "decision   proxy: {} trampolines; runtime vDSO parked at {park:#x}",
                patches.len()
            );
            let _ = writeln!(
                o,
                "  {:>8}  {:<48} {:<44} symbols",
                "offset", "bytes", "instructions"
            );
            for t in patches {
                let hexb: Vec<String> = t.bytes.iter().map(|b| format!("{b:02x}")).collect();
                let text = p
                    .arch
                    .map(|a| {
                        a.disassemble_for(big_endian, &t.bytes, dumped_base.wrapping_add(t.offset))
                    })
                    .unwrap_or_default();
                // A patch that names no symbol is a restorer's shared stub (CRIU on riscv64 and
                // ppc64): its calls lead through it, it has no target of its own.
                let (text, symbols) = if t.symbols.is_empty() {
                    (String::new(), "(shared lookup stub)".to_string())
                } else {
                    (text, crate::plan::join_keys(&t.symbols, ", "))
                };
                let _ = writeln!(
                    o,
                    "  {:>8}  {:<48} {:<44} {}",
                    format!("{:#x}", t.offset),
                    hexb.join(" "),
                    text,
                    symbols
                );
            }
        }
    }
    if p.findings.is_empty() {
        let _ = writeln!(o, "findings   none");
    } else {
        let _ = writeln!(o, "findings   {}", p.findings.len());
        for f in &p.findings {
            let _ = writeln!(o, "  {f}");
        }
    }
    o
}

fn outcome_char(o: crate::plan::Category) -> char {
    use crate::plan::Category::*;
    match o {
        Remap => 'R',
        ProxyClean => 'P',
        RemapWithFindings => 'r',
        ProxyWithFindings => 'p',
        Refused => 'X',
    }
}

/// The matrix as text: one grid per architecture, then outcome counts and the findings it made.
pub fn matrix_text(m: &crate::matrix::Matrix) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "policy {}   R remap  P proxy  r remap with findings  p proxy with findings  X refused",
        m.policy
    );
    for a in &m.arches {
        let _ = writeln!(
            o,
            "\n{} ({} images, {}; rows dumped, columns runtime)",
            a.arch.name(),
            a.images.len(),
            a.abi.describe(a.arch)
        );
        let w = a.images.iter().map(|n| n.len()).max().unwrap_or(0);
        let n = a.images.len();
        let header: String = (0..n).map(|j| char::from(b'0' + (j % 10) as u8)).collect();
        let _ = writeln!(o, "  {:>w$}   {header}", "");
        for (i, name) in a.images.iter().enumerate() {
            let row: String = a.cells[i * n..(i + 1) * n]
                .iter()
                .map(|c| outcome_char(c.outcome))
                .collect();
            let _ = writeln!(o, "  {name:>w$} {:>2} {row}", i % 10);
        }
    }
    let _ = writeln!(o, "\noutcomes");
    for (k, v) in m.counts() {
        let _ = writeln!(o, "  {:<16} {v}", k.name());
    }
    let summary = m.finding_summary();
    if !summary.is_empty() {
        let _ = writeln!(o, "findings (pairs)");
        for ((kind, sym), n) in summary {
            let _ = writeln!(o, "  {n:>6}  {kind:<20} {sym}");
        }
    }
    for (name, why) in &m.skipped {
        let _ = writeln!(o, "skipped {name}: {why}");
    }
    o
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The matrix as an SVG heatmap: one grid per architecture (rows dumped, columns runtime), a colour per
/// outcome, each cell's findings in its tooltip, and a legend.
pub fn matrix_svg(m: &crate::matrix::Matrix) -> String {
    use crate::plan::Category;
    const CELL: usize = 14;
    let colour = |o: Category| match o {
        Category::Remap => "#1a9850",
        Category::ProxyClean => "#91cf60",
        Category::RemapWithFindings => "#d73027",
        Category::ProxyWithFindings => "#fc8d59",
        Category::Refused => "#4d4d4d",
    };
    let label_w = m
        .arches
        .iter()
        .flat_map(|a| a.images.iter().map(|n| n.len()))
        .max()
        .unwrap_or(10)
        * 7
        + 10;
    let mut body = String::new();
    let mut y = 60;
    let mut width = 400;
    for a in &m.arches {
        let n = a.images.len();
        let _ = writeln!(
            body,
            r#"<text x="4" y="{}" font-size="14" font-weight="bold">{} ({}) — rows: dumped kernel, columns: runtime kernel</text>"#,
            y,
            a.arch.name(),
            a.abi.describe(a.arch)
        );
        // Column labels, rotated, above the grid.
        let head = a.images.iter().map(|n| n.len()).max().unwrap_or(0) * 5 + 10;
        y += head;
        for (j, name) in a.images.iter().enumerate() {
            let x = label_w + j * CELL + CELL - 3;
            let _ = writeln!(
                body,
                r#"<text x="{x}" y="{}" font-size="9" transform="rotate(-60 {x} {})">{}</text>"#,
                y - 3,
                y - 3,
                xml_escape(name)
            );
        }
        for (i, name) in a.images.iter().enumerate() {
            let cy = y + i * CELL;
            let _ = writeln!(
                body,
                r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#,
                label_w - 4,
                cy + CELL - 3,
                xml_escape(name)
            );
            for j in 0..n {
                let c = &a.cells[i * n + j];
                let mut tip = format!("{} → {}: {}", c.dumped, c.runtime, c.outcome.name());
                for f in &c.findings {
                    tip.push('\n');
                    tip.push_str(&f.to_string());
                }
                let _ = writeln!(
                    body,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="white"><title>{}</title></rect>"#,
                    label_w + j * CELL,
                    cy,
                    CELL,
                    CELL,
                    colour(c.outcome),
                    xml_escape(&tip)
                );
            }
        }
        width = width.max(label_w + n * CELL + head / 2 + 20);
        y += n * CELL + 40;
    }
    let mut legend = String::new();
    for (k, o) in Category::ALL.iter().enumerate() {
        let x = 4 + k * 130;
        let _ = write!(
            legend,
            r#"<rect x="{x}" y="24" width="12" height="12" fill="{}"/><text x="{}" y="34" font-size="11">{}</text>"#,
            colour(*o),
            x + 16,
            o.name()
        );
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="monospace">
<text x="4" y="16" font-size="14">vdso-lab matrix, policy {}</text>
{legend}
{body}</svg>
"#,
        width.max(660),
        y,
        xml_escape(m.policy)
    )
}

/// `check`'s text form: the verdict table, the path × function table, the summary line.
pub fn check_text(r: &crate::check::CheckReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let w = r.checks.iter().map(|c| c.what.len()).max().unwrap_or(0);
    for c in &r.checks {
        let _ = writeln!(s, "{:<w$}  {:<8} {}", c.what, c.verdict.name(), c.detail);
    }
    if !r.paths.is_empty() {
        let _ = writeln!(s);
        // The function column fits the longest name shown (the 7.x futex entries are long).
        let fw = r
            .paths
            .iter()
            .map(|p| p.func.name().len())
            .max()
            .unwrap_or(0)
            .max(14);
        let _ = writeln!(
            s,
            "{:<18} {:<fw$} {:>8} {:>8}  verdict (worst over clocks)",
            "path", "function", "clocks", "samples"
        );
        for p in &r.paths {
            let preset = matches!(p.path, crate::live::lab::CallPath::Preset(_));
            let note = match (p.expected_to_fail, p.verdict.agrees(), preset) {
                (false, _, _) => "",
                (true, true, false) => "  (stale entry, expected to fail)",
                (true, false, false) => "  (expected: the seed bug)",
                (true, true, true) => "  (stale, predicted wrong, but agreed)",
                (true, false, true) => "  (stale, as the plan predicted)",
            };
            let path = if p.timens {
                format!("{}+timens", p.path.name())
            } else {
                p.path.name()
            };
            let clocks = if p.clocks > 0 {
                p.clocks.to_string()
            } else {
                "-".into()
            };
            let _ = writeln!(
                s,
                "{path:<18} {:<fw$} {clocks:>8} {:>8}  {}{note}",
                p.func.name(),
                p.samples,
                p.verdict
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{}",
        if r.ok {
            "check: ok — every restored call path agrees with the kernel, and the stale one shows the seed bug"
        } else {
            "check: FAILED (see above)"
        }
    );
    s
}

/// `repro vdso01`'s text form.
pub fn vdso01_text(r: &crate::check::Vdso01) -> String {
    use crate::check::{Vdso01Run, CRIU_VDSO01_TOLERANCE as TOL};
    use std::fmt::Write;
    let run = |s: &mut String, x: &Vdso01Run| {
        let _ = writeln!(
            s,
            "  time(NULL) through the restored image's __vdso_time entry: {}",
            x.restored
        );
        let _ = writeln!(
            s,
            "  __vdso_time called directly in the runtime vDSO:           {}",
            x.direct
        );
        let _ = if x.fails() {
            writeln!(
                s,
                "  |delta| = {} s > {TOL} s: \"Delta is too big\" -- the test fails",
                x.delta
            )
        } else {
            writeln!(s, "  |delta| = {} s <= {TOL} s: the test passes", x.delta)
        };
    };
    let p = crate::check::vdso01_stale_policy();
    let mut s = String::from("vdso01 (CRIU zdtm static/vdso01, issue #2390) on this kernel\n\n");
    let _ = writeln!(s, "1. restored under {}:\n   {}", p.name, p.provenance);
    run(&mut s, &r.stale);
    s.push_str("\n2. restored under strict (every exported function redirected):\n");
    run(&mut s, &r.strict);
    s.push_str(
        "\nWhat happened: the restorer proxied the dumped vDSO but did not know the entry time() goes\n\
         through, so that entry kept running the old kernel's code, which reads its clock data from\n\
         the [vvar] pages that restore brings back zero-filled; it returned 0. Redirecting every\n\
         exported function (strict) sends it to the running kernel's vDSO and the values agree.\n",
    );
    let _ = writeln!(
        s,
        "\nrepro vdso01: {} and {}",
        if r.stale.fails() {
            "reproduced"
        } else {
            "NOT reproduced"
        },
        if r.strict.fails() {
            "NOT fixed under strict"
        } else {
            "fixed under strict"
        }
    );
    s
}

/// `replay`'s table: per target and folder, inputs, checked, vacuous, rejected, failed; each failure's
/// first line; and a target on which nothing was checked at all (`fuzzing::Replay::vacuous_run`).
pub fn replay_text(results: &[(&str, std::path::PathBuf, crate::fuzzing::Replay)]) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "{:<12} {:<34} {:>7} {:>7} {:>7} {:>9} {:>7}\n",
        "target", "folder", "inputs", "checked", "vacuous", "rejected", "failed"
    );
    for (t, sub, r) in results {
        let _ = writeln!(
            s,
            "{:<12} {:<34} {:>7} {:>7} {:>7} {:>9} {:>7}",
            t,
            sub.display(),
            r.inputs,
            r.checked,
            r.vacuous,
            r.rejected,
            r.failures.len()
        );
        for (f, msg) in &r.failures {
            let _ = writeln!(
                s,
                "  FAILED {}: {}",
                f.display(),
                msg.lines().next().unwrap_or("")
            );
        }
    }
    for why in replay_vacuous(results) {
        let _ = writeln!(s, "  FAILED {why}");
    }
    s
}

/// Per target (summed over its folders), why nothing was checked, for targets where that is so.
pub fn replay_vacuous(
    results: &[(&str, std::path::PathBuf, crate::fuzzing::Replay)],
) -> Vec<String> {
    let mut names: Vec<&str> = results.iter().map(|(t, _, _)| *t).collect();
    names.dedup();
    names
        .into_iter()
        .filter_map(|t| {
            let mut total = crate::fuzzing::Replay::default();
            for (_, _, r) in results.iter().filter(|(n, _, _)| *n == t) {
                total.inputs += r.inputs;
                total.checked += r.checked;
                total.vacuous += r.vacuous;
                total.rejected += r.rejected;
            }
            total.vacuous_run().map(|why| format!("{t}: {why}"))
        })
        .collect()
}

/// The verdict and detail of the row `what` of a `check --json` report (empty when absent).
fn check_row(c: &serde_json::Value, what: &str) -> (String, String) {
    c["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["what"] == what)
        .map(|x| {
            (
                x["verdict"].as_str().unwrap_or("").to_string(),
                x["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .unwrap_or_default()
}

/// `kernels`' text form: one row per boot (round 1), then the cross-kernel restores (round 2).
pub fn kernels_text(r: &crate::kernels::KernelsReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let detail = check_row;
    let _ = writeln!(
        s,
        "{:<10} {:<6} {:>5}  {:<40} {:<5} {:<28} {:<6} {:<6} check",
        "kernel", "clock", "secs", "layout", "exps", "clock path", "paths", "timens"
    );
    for b in r.boots.iter().filter(|b| b.round == 1) {
        let Some(c) = b.record("check", None).map(|v| &v["report"]) else {
            let _ = writeln!(
                s,
                "{:<10} {:<6} {:>5.1}  NO RESULT: {}",
                b.kernel,
                b.clocksource,
                b.seconds,
                b.error.as_deref().unwrap_or("?")
            );
            for l in &b.console_tail {
                let _ = writeln!(s, "    | {l}");
            }
            continue;
        };
        let layout = detail(c, "special mappings").1;
        let exports = detail(c, "live vDSO")
            .1
            .split(", ")
            .find(|x| x.ends_with("entry points"))
            .map(|x| x.trim_end_matches(" entry points").to_string())
            .unwrap_or_default();
        let clock = detail(c, "clock source").1;
        let clock = clock
            .split(": ")
            .nth(1)
            .map(|x| {
                // "falls back" first: that detail mentions the userspace code it did not exercise.
                if x.contains("falls back") {
                    "syscall fallback"
                } else if x.contains("reads the clock in userspace") {
                    "userspace"
                } else {
                    "unknown"
                }
            })
            .unwrap_or("");
        let source = detail(c, "clock source").1;
        let source = source.split(':').next().unwrap_or("");
        let _ = writeln!(
            s,
            "{:<10} {:<6} {:>5.1}  {:<40} {:<5} {:<28} {:<6} {:<6} {}",
            b.kernel,
            b.clocksource,
            b.seconds,
            layout,
            exports,
            format!("{source}: {clock}"),
            detail(c, "call paths").0,
            detail(c, "time namespaces").0,
            if c["ok"] == true { "ok" } else { "FAILED" }
        );
        for row in c["checks"].as_array().into_iter().flatten() {
            if row["verdict"] == "FAIL" {
                let _ = writeln!(
                    s,
                    "    FAIL {}: {}",
                    row["what"].as_str().unwrap_or(""),
                    row["detail"].as_str().unwrap_or("")
                );
            }
        }
    }
    if !r.pairs.is_empty() {
        let _ = writeln!(
            s,
            "\nlive vDSO dumped on A, restored (proxy forced) and called on B:\n{:<10} {:<10} {:<10} outcome",
            "A", "B", "policy"
        );
        for p in &r.pairs {
            let mut extra = String::new();
            if !p.wrong.is_empty() {
                extra.push_str(&format!(" [{}]", p.wrong.join(", ")));
            }
            if !p.stale_but_agreed.is_empty() {
                extra.push_str(&format!(
                    " stale but agreed: {}",
                    p.stale_but_agreed.join(", ")
                ));
            }
            let _ = writeln!(
                s,
                "{:<10} {:<10} {:<10} {}{extra}",
                p.dumped, p.runtime, p.policy, p.outcome
            );
        }
    }
    if let Some((version, preset)) = &r.criu {
        let _ = write!(s, "{}", migrations_text(&r.migrations, version, preset));
        if !r.criu_rseq.is_empty() {
            let _ = writeln!(
                s,
                "the victim with glibc's rseq on (the pairs run it off: GLIBC_TUNABLES=glibc.pthread.rseq=0):"
            );
            for (k, outcome) in &r.criu_rseq {
                let _ = writeln!(s, "    {k}: {outcome}");
            }
        }
    }
    for b in r.boots.iter().filter(|b| b.round >= 2 && b.error.is_some()) {
        let _ = writeln!(
            s,
            "round {} on {}: NO RESULT: {}",
            b.round,
            b.kernel,
            b.error.as_deref().unwrap_or("")
        );
        if b.round >= 3 {
            for l in &b.console_tail {
                let _ = writeln!(s, "    | {l}");
            }
        }
    }
    let _ = writeln!(
        s,
        "\nkernels: {} in {:.0} s",
        if r.ok() { "ok" } else { "FAILED" },
        r.seconds
    );
    s
}

/// `kernels --html FILE`: the kernel table as one self-contained page. Round 1: a row per kernel ×
/// clocksource with its layout, exports, clock path and time-namespace verdict, then one coloured cell
/// per call path × function (the worst verdict over the clocks; the tooltip says which); the same
/// cells again for the runs inside a time namespace. Round 2: per policy, a grid of dumped-on-A ×
/// restored-on-B with each pair's outcome.
pub fn kernels_html(r: &crate::kernels::KernelsReport) -> String {
    let round1: Vec<_> = r.boots.iter().filter(|b| b.round == 1).collect();
    // Every (timens, path, function) any boot ran, in first-seen order: the grid's columns.
    let mut columns: Vec<(bool, String, String)> = Vec::new();
    for b in &round1 {
        let Some(c) = b.record("check", None) else {
            continue;
        };
        for p in c["report"]["paths"].as_array().into_iter().flatten() {
            let col = (
                p["timens"] == true,
                html_path_name(&p["path"]),
                p["func"].as_str().unwrap_or("").to_string(),
            );
            if !columns.contains(&col) {
                columns.push(col);
            }
        }
    }
    let mut h = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vdso-lab kernels</title>\n<style>\
         body{font-family:monospace;font-size:12px} table{border-collapse:collapse;margin-bottom:2em} \
         td,th{border:1px solid #bbb;padding:2px 4px} th.v{writing-mode:vertical-rl;transform:rotate(180deg)} \
         td.c{width:14px;padding:0}</style></head><body>\n<h1>vdso-lab kernels</h1>\n",
    );
    let _ = writeln!(
        h,
        "<p>{} boots and {} cross-kernel restores in {:.0} s: <b>{}</b>. Cell colours: green agrees with the syscall, red does not (or the row failed), grey not run; the tooltip has the verdict.</p>",
        r.boots.len(),
        r.pairs.len(),
        r.seconds,
        if r.ok() { "ok" } else { "FAILED" }
    );
    html_path_grids(&mut h, &round1, &columns);
    html_restore_grids(&mut h, r);
    html_criu_rows(&mut h, r);
    h.push_str(
        "<p>Restore grids and CRIU rows: green every call agrees, orange wrong answers the static plan predicted, red wrong answers it did not predict (or the loop failed), grey refused or skipped.</p>\n</body></html>\n",
    );
    h
}

fn html_colour(v: &str) -> &'static str {
    match v {
        "agrees" | "ok" => "#91cf60",
        "not_exercised" | "skipped" | "note" => "#d9d9d9",
        _ => "#d73027",
    }
}

fn html_path_name(p: &serde_json::Value) -> String {
    use serde_json::Value;
    match p {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .iter()
            .next()
            .map(|(k, v)| format!("{k}#{v}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The call-path grids of [`kernels_html`]: one row per round-1 boot, one cell per (path, function)
/// column, plain and in a time namespace.
fn html_path_grids(
    h: &mut String,
    round1: &[&crate::kernels::BootResult],
    columns: &[(bool, String, String)],
) {
    let e = |x: &str| xml_escape(x);
    for timens in [false, true] {
        let cols: Vec<_> = columns.iter().filter(|c| c.0 == timens).collect();
        let _ = writeln!(
            h,
            "<h2>{}</h2>\n<table><tr><th>kernel</th><th>clock</th><th>layout</th><th>exports</th><th>clock path</th><th>time namespaces</th><th>check</th>",
            if timens {
                "Call paths inside a new time namespace"
            } else {
                "Call paths"
            }
        );
        for c in &cols {
            let _ = write!(h, "<th class=\"v\">{} {}</th>", e(&c.1), e(&c.2));
        }
        h.push_str("</tr>\n");
        for b in round1 {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td>",
                e(&b.kernel),
                e(&b.clocksource)
            );
            let Some(c) = b.record("check", None).map(|v| &v["report"]) else {
                let _ = writeln!(
                    h,
                    "<td colspan=\"{}\" style=\"background:#d73027\">no result: {}</td></tr>",
                    5 + cols.len(),
                    e(b.error.as_deref().unwrap_or("?"))
                );
                continue;
            };
            let row = |what: &str| check_row(c, what);
            let live = row("live vDSO").1;
            let exports = live
                .split(", ")
                .find(|x| x.ends_with("entry points"))
                .unwrap_or("");
            let (tv, td) = row("time namespaces");
            let check = if c["ok"] == true { "ok" } else { "FAILED" };
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td><td style=\"background:{}\" title=\"{}\">{}</td><td style=\"background:{}\">{check}</td>",
                e(&row("special mappings").1),
                e(exports),
                e(&row("clock source").1),
                html_colour(&tv),
                e(&td),
                e(&tv),
                html_colour(if check == "ok" { "ok" } else { "FAIL" }),
            );
            for col in &cols {
                let cell = c["paths"].as_array().into_iter().flatten().find(|p| {
                    p["timens"] == timens
                        && html_path_name(&p["path"]) == col.1
                        && p["func"].as_str() == Some(col.2.as_str())
                });
                match cell {
                    Some(p) => {
                        let v = p["verdict"]["verdict"].as_str().unwrap_or("?");
                        let v = if p["expected_to_fail"] == true && v != "agrees" {
                            "not_exercised"
                        } else {
                            v
                        };
                        let _ = write!(
                            h,
                            "<td class=\"c\" style=\"background:{}\" title=\"{} {}: {}{}\"></td>",
                            html_colour(v),
                            e(&col.1),
                            e(&col.2),
                            e(&p["verdict"].to_string()),
                            if p["expected_to_fail"] == true {
                                " (expected: the seed bug, left stale on purpose)"
                            } else {
                                ""
                            }
                        );
                    }
                    None => h.push_str("<td class=\"c\"></td>"),
                }
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
}

/// The restore grids of [`kernels_html`]: per policy, dumped on A (rows), called on B (columns).
fn html_restore_grids(h: &mut String, r: &crate::kernels::KernelsReport) {
    let e = |x: &str| xml_escape(x);
    let mut policies: Vec<&str> = r.pairs.iter().map(|p| p.policy.as_str()).collect();
    policies.dedup();
    let mut kernels: Vec<&str> = Vec::new();
    for p in &r.pairs {
        for k in [p.dumped.as_str(), p.runtime.as_str()] {
            if !kernels.contains(&k) {
                kernels.push(k);
            }
        }
    }
    for pol in policies {
        let _ = write!(
            h,
            "<h2>Live vDSO dumped on A (rows), restored under {} with proxying forced and called on B (columns)</h2>\n<table><tr><th></th>",
            e(pol)
        );
        for k in &kernels {
            let _ = write!(h, "<th>{}</th>", e(k));
        }
        h.push_str("</tr>\n");
        for a in &kernels {
            let _ = write!(h, "<tr><th>{}</th>", e(a));
            for b in &kernels {
                let cell = r
                    .pairs
                    .iter()
                    .find(|p| p.policy == pol && p.dumped == *a && p.runtime == *b);
                match cell {
                    Some(p) => {
                        let c = if !p.unpredicted.is_empty() {
                            "#d73027"
                        } else if p.outcome.starts_with("refused") {
                            "#d9d9d9"
                        } else if p.wrong.is_empty() {
                            "#91cf60"
                        } else {
                            "#fc8d59"
                        };
                        let _ = write!(h, "<td style=\"background:{c}\">{}</td>", e(&p.outcome));
                    }
                    None => h.push_str("<td></td>"),
                }
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
}

/// The real-CRIU migration rows of [`kernels_html`].
fn html_criu_rows(h: &mut String, r: &crate::kernels::KernelsReport) {
    let e = |x: &str| xml_escape(x);
    if let Some((release, preset)) = &r.criu {
        let _ = writeln!(
            h,
            "<h2>Real CRIU {} across kernels: the victim dumped on A, restored on B, against {}</h2>\n<table><tr><th>A</th><th>B</th><th>mode</th><th>outcome</th><th>wrong on B</th></tr>",
            e(release),
            e(preset)
        );
        for m in &r.migrations {
            let c = if m.failed || m.outcome.contains("NOT predicted") {
                "#d73027"
            } else if m.skipped {
                "#d9d9d9"
            } else if m.wrong.is_empty() {
                "#91cf60"
            } else {
                "#fc8d59"
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"background:{c}\">{}</td><td>{}</td></tr>",
                e(&m.dumped),
                e(&m.runtime),
                e(&m.mode),
                e(&m.outcome),
                e(&m.wrong.join(", "))
            );
        }
        h.push_str("</table>\n");
    }
}

/// Rounds 3 and 4 of `kernels --criu`: one row per (A, B, mode) with CRIU's times and the outcome
/// against the preset, then what went wrong and what the preset said of it.
pub fn migrations_text(
    rows: &[crate::migration::Migration],
    version: &str,
    preset: &str,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nreal CRIU {version}: the victim dumped on A, restored on B, compared with {preset}'s plan:\n\
         {:<10} {:<10} {:<7} {:>5} {:>7} {:>6}  outcome",
        "A", "B", "mode", "dump", "restore", "verify"
    );
    let secs = |x: Option<f64>| x.map_or("-".to_string(), |t| format!("{t:.2}"));
    for m in rows {
        let decision = m
            .model
            .as_ref()
            .map_or(String::new(), |c| format!(" (plan: {})", c.decision));
        let _ = writeln!(
            s,
            "{:<10} {:<10} {:<7} {:>5} {:>7} {:>6}  {}{decision}",
            m.dumped,
            m.runtime,
            m.mode,
            secs(m.dump_secs),
            secs(m.restore_secs),
            secs(m.verify_secs),
            m.outcome
        );
        // `name CLOCK: verdict` lines, one per function and verdict with its clocks.
        let mut wrong: Vec<(String, String, Vec<String>)> = Vec::new();
        for w in &m.wrong {
            let (what, verdict) = w.split_once(": ").unwrap_or((w.as_str(), ""));
            let (name, clock) = what.split_once(' ').unwrap_or((what, ""));
            match wrong.iter_mut().find(|(n, v, _)| n == name && v == verdict) {
                Some((_, _, clocks)) => clocks.push(clock.to_string()),
                None => wrong.push((name.into(), verdict.into(), vec![clock.to_string()])),
            }
        }
        for (name, verdict, clocks) in wrong {
            let clocks = clocks.join(" ");
            let clocks = clocks.trim();
            let at = if clocks.is_empty() {
                String::new()
            } else {
                format!(" [{clocks}]")
            };
            let _ = writeln!(s, "    WRONG {name}{at}: {verdict}");
        }
        for w in &m.mappings {
            let _ = writeln!(s, "    {w}");
        }
        if let Some(c) = &m.model {
            for e in c.entries.iter().filter(|e| e.verdict == "preset_wrong") {
                let _ = writeln!(s, "    PRESET WRONG: {}: {}", e.check, e.why);
            }
            let mut stale: Vec<(&str, Vec<&str>)> = Vec::new();
            for e in c.entries.iter().filter(|e| e.verdict == "stale_agreed") {
                match stale.iter_mut().find(|(w, _)| *w == e.why) {
                    Some((_, checks)) => checks.push(&e.check),
                    None => stale.push((&e.why, vec![&e.check])),
                }
            }
            for (why, checks) in stale {
                let _ = writeln!(
                    s,
                    "    stale but agreed ({}): {}: {why}",
                    checks.len(),
                    checks.join(", ")
                );
            }
        }
    }
    s
}

/// `kernels --ktap`: KTAP version 1, the format kernel selftests and their runners read. One test per
/// boot (`<kernel> <clocksource>`), with one subtest per `check` row, then one per cross-kernel restore.
pub fn kernels_ktap(r: &crate::kernels::KernelsReport) -> String {
    use std::fmt::Write;
    let clean = |x: &str| x.replace(['#', '\n'], " ");
    let round1: Vec<_> = r.boots.iter().filter(|b| b.round == 1).collect();
    let mut s = String::from("KTAP version 1\n");
    let _ = writeln!(
        s,
        "1..{}",
        round1.len() + r.pairs.len() + r.migrations.len()
    );
    let mut n = 0;
    for b in &round1 {
        n += 1;
        let name = format!("{} {}", b.kernel, b.clocksource);
        let Some(c) = b.record("check", None).map(|v| &v["report"]) else {
            let _ = writeln!(
                s,
                "not ok {n} {name} # boot: {}",
                clean(b.error.as_deref().unwrap_or("?"))
            );
            continue;
        };
        let rows = c["checks"].as_array().cloned().unwrap_or_default();
        let _ = writeln!(s, "    KTAP version 1\n    1..{}", rows.len());
        for (k, row) in rows.iter().enumerate() {
            let what = clean(row["what"].as_str().unwrap_or(""));
            let detail = clean(row["detail"].as_str().unwrap_or(""));
            let line = match row["verdict"].as_str() {
                Some("FAIL") => format!("not ok {} {what} # {detail}", k + 1),
                Some("skipped") => format!("ok {} {what} # SKIP {detail}", k + 1),
                _ => format!("ok {} {what}", k + 1),
            };
            let _ = writeln!(s, "    {line}");
        }
        let ok = c["ok"] == true && b.error.is_none();
        let _ = writeln!(s, "{} {n} {name}", if ok { "ok" } else { "not ok" });
    }
    for p in &r.pairs {
        n += 1;
        let name = format!("{} to {} {}", p.dumped, p.runtime, p.policy);
        let bad = !p.unpredicted.is_empty() || (p.policy == "strict" && !p.wrong.is_empty());
        let skip = if p.outcome.starts_with("refused") {
            " # SKIP "
        } else {
            " # "
        };
        let _ = writeln!(
            s,
            "{} {n} {name}{skip}{}",
            if bad { "not ok" } else { "ok" },
            clean(&p.outcome)
        );
    }
    for m in &r.migrations {
        n += 1;
        let name = format!("criu {} to {} {}", m.dumped, m.runtime, m.mode);
        let line = if m.skipped {
            format!("ok {n} {name} # SKIP {}", clean(&m.outcome))
        } else if m.failed || m.preset_wrong() > 0 {
            format!("not ok {n} {name} # {}", clean(&m.outcome))
        } else {
            format!("ok {n} {name} # {}", clean(&m.outcome))
        };
        let _ = writeln!(s, "{line}");
    }
    s
}
