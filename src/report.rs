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
    pub build_id: Option<String>,
    pub load_bias: String,
    pub text: Range,
    pub hash_tables: HashReport,
    pub versions: Vec<VersionReport>,
    pub symbols: Vec<SymbolReport>,
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
            "format     {} {}-endian, machine {} ({})",
            self.class, self.endian, self.machine_name, self.machine
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
