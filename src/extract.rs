//! Find every vDSO image embedded in a kernel: an uncompressed `vmlinux`/`Image`, a compressed kernel
//! (x86 bzImage, arm64 `Image.gz`, EFI zboot — any container whose payload is a gzip, xz, lzma, zstd,
//! bzip2 or lz4-legacy stream), or a Debian kernel package (`.deb`: ar → `data.tar.*` → the kernel
//! file).
//!
//! Data flow: bytes → [`extract`] → candidates (the input, and every stream found by its magic number
//! anywhere in it, decompressed with a size cap, two levels deep) → ELF headers (`\x7fELF`) in each
//! candidate that parse as a vDSO (an ET_DYN object with a vDSO soname) → the image cut to its own
//! length (the end of its section header table, sections and segments, as [`Image::sections`] says),
//! parsed again on its own → [`Found`]. The kernel release comes from the `Linux version ...` banner.
//! Decompression uses well-kept pure-Rust crates (flate2, lzma-rs, ruzstd, bzip2, lz4_flex, ar, tar).

use crate::arch::Arch;
use crate::image::{Class, Image};
use std::io::{Read, Write};

/// Largest decompressed payload considered: kernels are 10-100 MiB uncompressed; Debian's data.tar
/// with modules is larger, so packages get more room.
const MAX_PAYLOAD: u64 = 256 << 20;
const MAX_PACKAGE_TAR: u64 = 2 << 30;
/// How many hits of one compression magic are tried per blob (spurious matches are cheap to reject,
/// but not free).
const MAX_HITS: usize = 16;

/// One vDSO image found.
#[derive(Debug, Clone)]
pub struct Found {
    pub name: String,
    pub bytes: Vec<u8>,
    pub arch: Option<Arch>,
    pub release: Option<String>,
    /// Where it was found (the container path, then the decompression steps).
    pub from: String,
}

fn is_vdso(img: &Image) -> bool {
    let named = img
        .soname
        .is_some_and(|s| s.contains("vdso") || s.contains("linux-gate"));
    let exports = img
        .functions()
        .any(|s| s.name.starts_with("__vdso_") || s.name.starts_with("__kernel_"));
    named || exports
}

/// The vDSO image in `bytes` and its offset: `bytes` itself when it parses, else the first vDSO ELF
/// inside it — a dump of a whole `[vdso]` mapping whose first page is a data page (ppc64 kernels
/// place one there) — with everything after it (the rest of the mapping).
pub fn image_in(bytes: &[u8]) -> Option<(usize, &[u8])> {
    if Image::parse(bytes).is_ok() {
        return Some((0, bytes));
    }
    let mut at = 0;
    while let Some(p) = find(&bytes[at..], b"\x7fELF") {
        let start = at + p;
        at = start + 4;
        if Image::parse(&bytes[start..]).is_ok_and(|img| is_vdso(&img)) {
            return Some((start, &bytes[start..]));
        }
    }
    None
}

/// Every vDSO image directly inside `blob` (no decompression).
fn scan(blob: &[u8], from: &str, release: Option<&str>, out: &mut Vec<Found>) {
    let mut at = 0;
    while let Some(p) = find(&blob[at..], b"\x7fELF") {
        let start = at + p;
        at = start + 4;
        let Ok(img) = Image::parse(&blob[start..]) else {
            continue;
        };
        if !is_vdso(&img) {
            continue;
        }
        let Ok(secs) = img.sections() else { continue };
        let Some(end) = start.checked_add(secs.elf_len as usize) else {
            continue;
        };
        let Some(bytes) = blob.get(start..end) else {
            continue;
        };
        // The cut image must stand on its own.
        if Image::parse(bytes).is_err() || out.iter().any(|f| f.bytes == bytes) {
            continue;
        }
        out.push(Found {
            name: String::new(),
            bytes: bytes.to_vec(),
            arch: Arch::of(&img),
            release: release.map(str::to_string),
            from: format!("{from}@{start:#x}"),
        });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The release named by the first `Linux version <release> ` banner.
pub fn banner_release(blob: &[u8]) -> Option<String> {
    let p = find(blob, b"Linux version ")? + 14;
    let rest = blob.get(p..p + 128.min(blob.len() - p))?;
    let end = rest.iter().position(|&b| b == b' ' || b == 0)?;
    let r = std::str::from_utf8(&rest[..end]).ok()?;
    (!r.is_empty()).then(|| r.to_string())
}

/// A writer that refuses to grow past a cap (so a decompression bomb errors instead of eating memory).
struct Capped {
    buf: Vec<u8>,
    cap: u64,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + b.len() as u64 > self.cap {
            return Err(std::io::Error::other("payload larger than the cap"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_capped(mut r: impl Read, cap: u64) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    // A truncated or trailing-garbage stream still yields what decoded before the error.
    let _ = (&mut r).take(cap + 1).read_to_end(&mut v);
    (!v.is_empty() && v.len() as u64 <= cap).then_some(v)
}

/// The compressed-stream formats, by magic number.
#[derive(Debug, Clone, Copy)]
enum Codec {
    Gzip,
    Xz,
    Lzma,
    Zstd,
    Bzip2,
    Lz4Legacy,
}

const MAGICS: &[(Codec, &[u8])] = &[
    (Codec::Gzip, &[0x1f, 0x8b, 0x08]),
    (Codec::Xz, &[0xfd, b'7', b'z', b'X', b'Z', 0x00]),
    // lzma "alone": properties byte 0x5d and a 64 KiB-or-larger dictionary, as the kernel writes it.
    (Codec::Lzma, &[0x5d, 0x00, 0x00]),
    (Codec::Zstd, &[0x28, 0xb5, 0x2f, 0xfd]),
    (Codec::Bzip2, b"BZh"),
    (Codec::Lz4Legacy, &[0x02, 0x21, 0x4c, 0x18]),
];

fn decompress(codec: Codec, data: &[u8], cap: u64) -> Option<Vec<u8>> {
    match codec {
        Codec::Gzip => read_capped(flate2::read::GzDecoder::new(data), cap),
        Codec::Bzip2 => read_capped(bzip2::read::BzDecoder::new(data), cap),
        Codec::Zstd => read_capped(ruzstd::decoding::StreamingDecoder::new(data).ok()?, cap),
        // liblzma rather than lzma-rs: kernels compress with the x86/ARM BCJ filters, which
        // only liblzma implements.
        Codec::Xz => read_capped(liblzma::read::XzDecoder::new(data), cap),
        Codec::Lzma => {
            // lzma "alone" as the kernel writes it has no stored length and ends with an end marker;
            // lzma-rs rejects bytes after the marker (and keeps no output then), while a container
            // always has some. The right length is where decoding neither runs out of input nor
            // finds input left over: search for it.
            let attempt = |n: usize| -> Result<Vec<u8>, bool> {
                let mut out = Capped {
                    buf: Vec::new(),
                    cap,
                };
                match lzma_rs::lzma_decompress(&mut std::io::BufReader::new(&data[..n]), &mut out) {
                    Ok(()) => Ok(out.buf),
                    Err(e) => Err(e.to_string().contains("more bytes are available")),
                }
            };
            // The header must look like the kernel's: a 64 KiB..64 MiB dictionary of the form 2^n or
            // 2^n + 2^(n-1), and an unknown or plausible size (the magic alone matches often).
            let dict = u32::from_le_bytes(data.get(1..5)?.try_into().ok()?);
            let size = u64::from_le_bytes(data.get(5..13)?.try_into().ok()?);
            let shape = dict.is_power_of_two() || (dict / 3).is_power_of_two() && dict % 3 == 0;
            if !(64 << 10..=64 << 20).contains(&dict)
                || !shape
                || (size != u64::MAX && size > 1 << 30)
            {
                return None;
            }
            match attempt(data.len()) {
                Ok(v) => Some(v),
                Err(false) => None,
                Err(true) => {
                    let (mut lo, mut hi) = (13usize, data.len());
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        match attempt(mid) {
                            Ok(v) => return (v.len() > 4096).then_some(v),
                            Err(true) => hi = mid,
                            Err(false) => lo = mid,
                        }
                    }
                    None
                }
            }
        }
        Codec::Lz4Legacy => {
            // Legacy frame: magic, then blocks of (u32 LE compressed size, data), each at most 8 MiB
            // decompressed, until a size that does not fit.
            const BLOCK: usize = 8 << 20;
            let mut out = Vec::new();
            let mut at = 4;
            while let Some(sz) = data.get(at..at + 4) {
                let sz = u32::from_le_bytes([sz[0], sz[1], sz[2], sz[3]]) as usize;
                let Some(block) = data.get(at + 4..at + 4 + sz) else {
                    break;
                };
                let mut buf = vec![0u8; BLOCK];
                let Ok(n) = lz4_flex::block::decompress_into(block, &mut buf) else {
                    break;
                };
                if out.len() as u64 + n as u64 > cap {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                at += 4 + sz;
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

/// Every decompressible stream inside `blob` (by magic, anywhere), decompressed.
fn payloads(blob: &[u8]) -> Vec<(Codec, usize, Vec<u8>)> {
    let mut out = Vec::new();
    for &(codec, magic) in MAGICS {
        let mut at = 0;
        let mut hits = 0;
        while let Some(p) = find(&blob[at..], magic) {
            let start = at + p;
            at = start + 1;
            hits += 1;
            if hits > MAX_HITS {
                break;
            }
            if let Some(v) = decompress(codec, &blob[start..], MAX_PAYLOAD) {
                // Skip a payload that is a suffix of one already found (the same stream seen twice).
                out.push((codec, start, v));
            }
        }
    }
    out
}

/// Find every vDSO in a kernel blob: the blob itself and its compressed payloads, two levels deep.
fn kernel(blob: &[u8], from: &str, out: &mut Vec<Found>) {
    let release = banner_release(blob);
    scan(blob, from, release.as_deref(), out);
    for (codec, at, p) in payloads(blob) {
        let label = format!("{from}@{at:#x}:{codec:?}");
        let release = banner_release(&p).or_else(|| release.clone());
        scan(&p, &label, release.as_deref(), out);
        for (c2, at2, p2) in payloads(&p) {
            let release = banner_release(&p2).or_else(|| release.clone());
            scan(
                &p2,
                &format!("{label}@{at2:#x}:{c2:?}"),
                release.as_deref(),
                out,
            );
        }
    }
}

/// Does a path inside a kernel package name the kernel image?
fn is_kernel_path(p: &str) -> bool {
    let base = p.rsplit('/').next().unwrap_or(p);
    base.starts_with("vmlinu") || base == "Image" || base.starts_with("Image.") || base == "zImage"
}

/// A Debian package: the ar member `data.tar[.gz|.xz|.zst|.bz2]`, its kernel files.
fn deb(bytes: &[u8], from: &str, out: &mut Vec<Found>) -> Result<(), String> {
    deb_kernel_files(bytes, from, |path, k| {
        kernel(&k, &format!("{from}:{path}"), out)
    })
}

/// Every kernel file (`vmlinu*`, `Image*`, `zImage`) in a Debian package's data.tar, with its path:
/// `visit(path, bytes)`. Shared by `extract` and `kernels` (which boots them).
pub fn deb_kernel_files(
    bytes: &[u8],
    from: &str,
    mut visit: impl FnMut(&str, Vec<u8>),
) -> Result<(), String> {
    let mut ar = ar::Archive::new(bytes);
    while let Some(entry) = ar.next_entry() {
        let mut entry = entry.map_err(|e| format!("{from}: bad ar archive: {e}"))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        if !name.starts_with("data.tar") {
            continue;
        }
        // Stream the member through its decompressor into the tar reader: a kernel package's data.tar
        // with modules is hundreds of MiB, and only the kernel file is kept.
        let reader: Box<dyn Read + '_> = match name.rsplit('.').next() {
            Some("tar") => Box::new(&mut entry),
            Some("gz") => Box::new(flate2::read::GzDecoder::new(&mut entry)),
            Some("xz") => Box::new(liblzma::read::XzDecoder::new(&mut entry)),
            Some("zst") => Box::new(
                ruzstd::decoding::StreamingDecoder::new(&mut entry)
                    .map_err(|e| format!("{from}: {name}: {e}"))?,
            ),
            Some("bz2") => Box::new(bzip2::read::BzDecoder::new(&mut entry)),
            _ => return Err(format!("{from}: {name}: unknown compression")),
        };
        let tar_bytes = reader.take(MAX_PACKAGE_TAR);
        let mut tar = tar::Archive::new(tar_bytes);
        let entries = tar.entries().map_err(|e| format!("{from}: {name}: {e}"))?;
        for e in entries {
            let mut e = e.map_err(|e| format!("{from}: {name}: {e}"))?;
            let path = e
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !is_kernel_path(&path) || e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let Some(k) = read_capped(&mut e, MAX_PAYLOAD) else {
                continue;
            };
            visit(&path, k);
        }
        return Ok(());
    }
    Err(format!("{from}: a .deb without data.tar"))
}

/// Every vDSO image in `bytes` (a kernel, a compressed kernel or a .deb), named
/// `<arch>-<flavour>-<release>.so`: the flavour is `vdso64`/`vdso32`/`vdsox32` on x86 and, elsewhere,
/// `vdso32` for an ELF32 image of a kernel that also has an ELF64 one (a compat vDSO), else `vdso`.
pub fn extract(bytes: &[u8], from: &str) -> Result<Vec<Found>, String> {
    let mut out = Vec::new();
    if bytes.starts_with(b"!<arch>\n") {
        deb(bytes, from, &mut out)?;
    } else {
        kernel(bytes, from, &mut out);
    }
    let has64 = out
        .iter()
        .any(|f| Image::parse(&f.bytes).is_ok_and(|i| i.class == Class::Elf64));
    for f in &mut out {
        let img = Image::parse(&f.bytes).map_err(|e| e.to_string())?;
        let flavour = match f.arch {
            Some(Arch::X86_64) => "vdso64",
            Some(Arch::I386) => "vdso32",
            Some(Arch::X32) => "vdsox32",
            _ if img.class == Class::Elf32 && has64 => "vdso32",
            _ => "vdso",
        };
        // mips kernels carry two ELF32 vDSOs (o32 and n32, the latter flagged EF_MIPS_ABI2).
        // Named `mips-vdso32n32-*` (as before `Arch::MipsN32` existed), so corpus names stay stable.
        let (arch, abi) = match f.arch {
            Some(Arch::MipsN32) => ("mips", "n32"),
            a => (a.map_or("unknown", |a| a.name()), ""),
        };
        f.name = format!(
            "{arch}-{flavour}{abi}-{}.so",
            f.release.as_deref().unwrap_or("unknown")
        );
    }
    // Any remaining clash gets a counter rather than overwriting a sibling.
    for i in 1..out.len() {
        let mut n = 2;
        while out[..i].iter().any(|o| o.name == out[i].name) {
            out[i].name = out[i].name.replace(".so", &format!("-{n}.so"));
            n += 1;
        }
    }
    Ok(out)
}

/// `extract PATH... -o DIR`: every image found in each file written to `out` as `<name>`; `say` gets one
/// line per image (or per file without one). Returns how many images were written.
pub fn extract_to(
    paths: &[std::path::PathBuf],
    out: &std::path::Path,
    mut say: impl FnMut(String),
) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut total = 0;
    for p in paths {
        let shown = p.display().to_string();
        let bytes = crate::inputs::read_bounded(p, crate::inputs::MAX_KERNEL_FILE)?;
        let found = extract(&bytes, &shown)?;
        if found.is_empty() {
            say(format!("{shown}: no vDSO image found"));
        }
        for f in found {
            let dest = out.join(&f.name);
            std::fs::write(&dest, &f.bytes)
                .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
            say(format!(
                "{} ({} bytes, {}, release {}) from {}",
                dest.display(),
                f.bytes.len(),
                f.arch.map_or("unknown arch", |a| a.name()),
                f.release.as_deref().unwrap_or("unknown"),
                f.from
            ));
            total += 1;
        }
    }
    Ok(total)
}
