//! The synthesizer: a [`Spec`] (what a vDSO exports and how it is laid out) → ELF bytes, the inverse of
//! [`crate::image`]. [`Spec::from_image`] goes back, so `Spec::from_image(parse(synth(spec))) == spec`.
//!
//! The bytes follow the shape real vDSOs have (checked against the images in `shared/realvdso` and the
//! live one): one R+X PT_LOAD from file offset 0 holding `.hash`, `.gnu.hash`, `.dynsym`, `.dynstr`,
//! `.gnu.version`, `.gnu.version_d`, `.dynamic`, an optional build-id `.note`, then `.text`; a PT_DYNAMIC
//! and a PT_NOTE; non-loaded `.shstrtab` and the section header table last. The dynamic symbol table is
//! sorted by GNU hash bucket (as ld does when it emits DT_GNU_HASH), so symbol order in a `Spec` is not
//! significant: [`Spec::normalized`] sorts it.
//!
//! Generators live next to the synthesizer: [`strategy`] has proptest strategies and named presets, and
//! `Spec` implements `arbitrary::Arbitrary` (in [`gen`]) for the fuzz targets. Both draw from the same
//! pools of architectures, names and versions ([`pools`]).

mod elf;
pub mod evolve;
pub mod gen;
pub mod null;
pub mod pools;
pub mod strategy;

use crate::image::{Binding, Class, Endian, Image, SymKind, VER_FLG_BASE};
use goblin::elf::program_header::{PT_GNU_PROPERTY, PT_NULL};
use std::fmt;

/// Which hash tables the image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashStyle {
    /// DT_HASH only (arm64 up to 6.1, armhf, mips).
    Sysv,
    /// DT_GNU_HASH only (arm64 from 6.12, riscv64 7.x).
    Gnu,
    /// Both (x86 and most others).
    Both,
}

impl HashStyle {
    pub fn sysv(self) -> bool {
        matches!(self, HashStyle::Sysv | HashStyle::Both)
    }
    pub fn gnu(self) -> bool {
        matches!(self, HashStyle::Gnu | HashStyle::Both)
    }
}

/// A name in a spec: most come from the static pools of real vDSO names (no allocation, which matters
/// to fuzz targets that generate two specs per input), the rest are owned.
pub type Name = std::borrow::Cow<'static, str>;

/// One exported symbol of a synthetic image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymSpec {
    pub name: Name,
    /// One of [`Spec::versions`], or `None` for an unversioned (DT_VERSYM 1) symbol.
    pub version: Option<Name>,
    /// Offset from the start of `.text` (not of the image: the image offset depends on the header sizes).
    pub offset: u32,
    pub size: u32,
    pub kind: SymKind,
    pub binding: Binding,
}

/// Layout details real images differ in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Quirks {
    /// Emit an ABS OBJECT symbol named after each version (`LINUX_2.6`), as ld does for vDSO version
    /// scripts on most architectures.
    pub version_symbols: bool,
    /// A GNU build-id note with these bytes.
    pub build_id: Option<Vec<u8>>,
    /// End the program header table with a PT_NULL entry (mips images do).
    pub trailing_pt_null: bool,
    /// Add an empty PT_GNU_PROPERTY segment at offset 0 (x86 7.2 images have one).
    pub empty_gnu_property: bool,
}

/// What a synthetic vDSO contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spec {
    pub class: Class,
    pub endian: Endian,
    pub machine: u16,
    pub soname: Name,
    pub hash: HashStyle,
    /// Version definitions after the base one (which is named after the soname), in index order: the
    /// first gets DT_VERSYM index 2. Empty means no DT_VERSYM/DT_VERDEF at all.
    pub versions: Vec<Name>,
    pub symbols: Vec<SymSpec>,
    pub text_size: u32,
    /// Link address of file offset 0 (the load bias): 0 for modern vDSOs; old x86-64 kernels linked
    /// theirs at 0xffffffffff700000.
    pub base: u64,
    pub quirks: Quirks,
}

/// Why a spec cannot be built (or an image cannot be described as a spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// A multiply-rotate hash over 8-byte words (the Fx hash's shape) for sets of a spec's own names: a few
/// dozen short strings (the synthesizer's string table), where SipHash's flood resistance buys nothing
/// and comparing hashes first keeps string comparisons (costly under fuzzing instrumentation) to
/// actual matches.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Bounds that keep a spec small enough to build instantly: vDSOs have at most a few dozen symbols and a
/// few pages of text, and generators stay well inside these.
pub const MAX_SYMBOLS: usize = 4096;
pub const MAX_TEXT: u32 = 1 << 20;
pub const MAX_NAME: usize = 256;

impl Spec {
    /// Make `self` equal to `src`, reusing `self`'s vectors (`clone_from` of a derived `Clone` clones
    /// anew).
    pub fn copy_from(&mut self, src: &Spec) {
        // Destructured so that a new field cannot be forgotten here.
        let Spec {
            class,
            endian,
            machine,
            soname,
            hash,
            versions,
            symbols,
            text_size,
            base,
            quirks:
                Quirks {
                    version_symbols,
                    build_id,
                    trailing_pt_null,
                    empty_gnu_property,
                },
        } = src;
        self.class = *class;
        self.endian = *endian;
        self.machine = *machine;
        self.soname.clone_from(soname);
        self.hash = *hash;
        self.versions.clone_from(versions);
        self.symbols.clone_from(symbols);
        self.text_size = *text_size;
        self.base = *base;
        self.quirks.version_symbols = *version_symbols;
        self.quirks.build_id.clone_from(build_id);
        self.quirks.trailing_pt_null = *trailing_pt_null;
        self.quirks.empty_gnu_property = *empty_gnu_property;
    }

    /// The same spec in canonical form: symbols sorted (by name, then version), and no version-symbol
    /// quirk when there are no versions (it has nothing to act on).
    pub fn normalized(&self) -> Spec {
        let mut s = self.clone();
        s.symbols.sort();
        s.quirks.version_symbols &= !s.versions.is_empty();
        s
    }

    /// Check that the spec describes a buildable image.
    pub fn validate(&self) -> Result<(), SpecError> {
        let ok_name = |n: &str| !n.is_empty() && n.len() <= MAX_NAME && !n.contains('\0');
        if !ok_name(&self.soname) {
            return err("soname must be 1..=256 bytes without NUL");
        }
        if self.symbols.len() > MAX_SYMBOLS {
            return err(format!("more than {MAX_SYMBOLS} symbols"));
        }
        if self.text_size == 0 || self.text_size > MAX_TEXT {
            return err(format!("text_size must be 1..={MAX_TEXT}"));
        }
        // Every address of the image must fit the class: bound the image size generously (headers,
        // tables and strings of MAX_SYMBOLS symbols, the text) and check base + bound.
        let names: u64 = self
            .symbols
            .iter()
            .map(|s| s.name.len() as u64 + 1)
            .sum::<u64>()
            + self
                .versions
                .iter()
                .map(|v| v.len() as u64 + 1)
                .sum::<u64>();
        let bound =
            0x1_0000 + 64 * self.symbols.len() as u64 + 2 * names + u64::from(self.text_size);
        let top = match self.class {
            Class::Elf32 => u64::from(u32::MAX),
            Class::Elf64 => u64::MAX,
        };
        if self.base.checked_add(bound).is_none_or(|end| end > top) {
            return err("base leaves no room for the image below the top of the address space");
        }
        if self.base % 4096 != 0 {
            return err("base must be page aligned");
        }
        for (i, v) in self.versions.iter().enumerate() {
            if !ok_name(v)
                || *v == self.soname
                || self.versions[..i]
                    .iter()
                    .any(|x| crate::image::same_name(x, v))
            {
                return err(format!(
                    "version `{v}` is empty, repeated or equals the soname"
                ));
            }
        }
        for s in &self.symbols {
            if !ok_name(&s.name) {
                return err(format!(
                    "symbol name `{}` is empty, too long or has NUL",
                    s.name
                ));
            }
            if let Some(v) = &s.version {
                if !self.versions.iter().any(|x| crate::image::same_name(x, v)) {
                    return err(format!("symbol `{}` names undefined version `{v}`", s.name));
                }
            }
            if u64::from(s.offset) + u64::from(s.size) > u64::from(self.text_size) {
                return err(format!("symbol `{}` extends past the text", s.name));
            }
            if !matches!(s.binding, Binding::Global | Binding::Weak) {
                return err(format!("symbol `{}` must be global or weak", s.name));
            }
            if !matches!(s.kind, SymKind::Func | SymKind::Object | SymKind::NoType) {
                return err(format!(
                    "symbol `{}` must be FUNC, OBJECT or NOTYPE",
                    s.name
                ));
            }
            if self.quirks.version_symbols
                && self
                    .versions
                    .iter()
                    .any(|x| crate::image::same_name(x, &s.name))
            {
                return err(format!(
                    "symbol `{}` clashes with its version symbol",
                    s.name
                ));
            }
        }
        // Pairwise (vDSO specs have a few dozen symbols), lengths and pointers compared before bytes.
        let same_key = |a: &SymSpec, b: &SymSpec| {
            crate::image::same_name(&a.name, &b.name)
                && match (&a.version, &b.version) {
                    (Some(x), Some(y)) => crate::image::same_name(x, y),
                    (x, y) => x.is_none() && y.is_none(),
                }
        };
        let syms = &self.symbols;
        if let Some(s) = (0..syms.len())
            .find(|&i| syms[..i].iter().any(|o| same_key(o, &syms[i])))
            .map(|i| &syms[i])
        {
            return err(format!(
                "symbol `{}` defined twice with one version",
                s.name
            ));
        }
        if let Some(b) = &self.quirks.build_id {
            if b.is_empty() || b.len() > 64 {
                return err("build id must be 1..=64 bytes");
            }
        }
        Ok(())
    }

    /// Build the ELF bytes.
    pub fn build(&self) -> Result<Vec<u8>, SpecError> {
        let mut out = Vec::new();
        self.build_into(&mut out)?;
        Ok(out)
    }

    /// [`Spec::build`] into `out`, replacing its contents and reusing its allocation (fuzz targets
    /// build two images per input). On error `out` is left as it was.
    pub fn build_into(&self, out: &mut Vec<u8>) -> Result<(), SpecError> {
        self.validate()?;
        elf::build(self, out);
        Ok(())
    }

    /// Describe a parsed image as a spec. Fails for images a spec cannot express (no soname, symbols
    /// outside `.text`, absolute symbols other than version symbols, section-less images, ...).
    pub fn from_image(img: &Image) -> Result<Spec, SpecError> {
        let soname = img.soname.ok_or_else(|| SpecError("no DT_SONAME".into()))?;
        let mut versions = Vec::new();
        for v in &img.versions {
            if v.flags & VER_FLG_BASE != 0 {
                if v.name != soname || v.index != 1 {
                    return err("base version is not index 1 named after the soname");
                }
            } else {
                if usize::from(v.index) != versions.len() + 2 {
                    return err("version indices are not 2, 3, ... in order");
                }
                versions.push(v.name.to_string().into());
            }
        }
        let text = img.text().map_err(|e| SpecError(e.to_string()))?;
        if text.end - text.start > u64::from(MAX_TEXT) || text.start == text.end {
            return err("text is empty or larger than MAX_TEXT");
        }
        let mut symbols = Vec::new();
        let mut version_syms = 0;
        for s in img.symbols() {
            if s.offset.is_none() && s.kind == SymKind::Object && s.version == Some(s.name) {
                version_syms += 1;
                continue;
            }
            let off = s
                .offset
                .ok_or_else(|| SpecError(format!("`{}` is absolute or undefined", s.name)))?;
            if off < text.start
                || off.saturating_add(s.size) > text.end
                || s.size > u64::from(MAX_TEXT)
            {
                return Err(SpecError(format!("`{}` lies outside .text", s.name)));
            }
            symbols.push(SymSpec {
                name: s.name.to_string().into(),
                version: s.version.map(|v| v.to_string().into()),
                offset: (off - text.start) as u32,
                size: s.size as u32,
                kind: s.kind,
                binding: s.binding,
            });
        }
        if version_syms != 0 && version_syms != versions.len() {
            return err("only some versions have version symbols");
        }
        let hash = match (img.sysv.is_some(), img.gnu.is_some()) {
            (true, true) => HashStyle::Both,
            (true, false) => HashStyle::Sysv,
            (false, true) => HashStyle::Gnu,
            (false, false) => return err("no hash table"),
        };
        let spec = Spec {
            class: img.class,
            endian: img.endian,
            machine: img.machine,
            soname: soname.to_string().into(),
            hash,
            versions,
            symbols,
            text_size: (text.end - text.start) as u32,
            base: img.load_bias,
            quirks: Quirks {
                version_symbols: version_syms != 0,
                build_id: img
                    .build_id()
                    .map_err(|e| SpecError(e.to_string()))?
                    .map(<[u8]>::to_vec),
                trailing_pt_null: img.segments().last().map(|p| p.p_type) == Some(PT_NULL),
                empty_gnu_property: img
                    .segments()
                    .any(|p| p.p_type == PT_GNU_PROPERTY && p.filesz == 0),
            },
        };
        Ok(spec.normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, version: Option<&str>, offset: u32) -> SymSpec {
        // Owned copies: equal names at different addresses, so the byte comparison is exercised.
        SymSpec {
            name: Name::Owned(name.to_string()),
            version: version.map(|v| Name::Owned(v.to_string())),
            offset,
            size: 16,
            kind: SymKind::Func,
            binding: Binding::Global,
        }
    }

    fn spec(symbols: Vec<SymSpec>) -> Spec {
        let x86 = pools::arch("x86_64").expect("x86_64 is in the pool");
        let mut s = Spec::blank();
        (s.class, s.endian, s.machine) = (x86.facts().class, x86.endian, x86.facts().machine);
        s.soname = x86.facts().soname.into();
        s.versions = vec!["LINUX_2.6".into(), "LINUX_2.6.39".into()];
        s.symbols = symbols;
        s.text_size = 256;
        s
    }

    /// `arbitrary_into` on a value left over from other inputs decodes exactly what `arbitrary` decodes
    /// from the same bytes, and reads as many of them: fuzz inputs mean the same either way.
    #[test]
    fn arbitrary_into_reused_values_decodes_like_arbitrary() {
        use arbitrary::{Arbitrary, Unstructured};
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut spec = Spec::blank();
        let mut evo = evolve::Evolution::default();
        let (mut specs, mut evos) = (0, 0);
        for round in 0..4000 {
            let mut data = vec![0u8; 40 + round % 400];
            for b in data.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let (mut u1, mut u2) = (Unstructured::new(&data), Unstructured::new(&data));
            let fresh = Spec::arbitrary(&mut u1);
            let reused = spec.arbitrary_into(&mut u2);
            assert_eq!(fresh.is_ok(), reused.is_ok(), "round {round}");
            if let Ok(f) = fresh {
                assert_eq!(f, spec, "round {round}");
                specs += 1;
            }
            assert_eq!(u1.len(), u2.len(), "round {round}");
            let fresh = evolve::Evolution::arbitrary(&mut u1);
            let reused = evo.arbitrary_into(&mut u2);
            assert_eq!(fresh.is_ok(), reused.is_ok(), "round {round}");
            if let Ok(f) = fresh {
                assert_eq!(f, evo, "round {round}");
                evos += 1;
            }
            assert_eq!(u1.len(), u2.len(), "round {round}");
        }
        assert!(
            specs > 3000 && evos > 3000,
            "{specs} specs, {evos} evolutions decoded"
        );
    }

    #[test]
    fn validate_rejects_a_key_defined_twice_and_nothing_else() {
        let distinct = spec(vec![
            sym("__vdso_time", Some("LINUX_2.6"), 0),
            sym("__vdso_time", Some("LINUX_2.6.39"), 16),
            sym("__vdso_time", None, 32),
            sym("__vdso_times", Some("LINUX_2.6"), 48),
        ]);
        assert_eq!(distinct.validate(), Ok(()));
        for dup in [
            vec![
                sym("time", Some("LINUX_2.6"), 0),
                sym("time", Some("LINUX_2.6"), 16),
            ],
            vec![
                sym("time", None, 0),
                sym("getcpu", None, 16),
                sym("time", None, 32),
            ],
        ] {
            let err = spec(dup)
                .validate()
                .expect_err("a repeated (name, version)");
            assert!(err.0.contains("`time` defined twice"), "{err}");
        }
    }
}
