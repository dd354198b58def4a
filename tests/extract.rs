//! `extract` on every compression format and container it claims, with fixtures built here from real
//! images: a fake kernel (filler, the `Linux version` banner, the 64-bit, 32-bit compat and x32 vDSOs
//! of one x86-64 kernel), compressed with each codec, wrapped as a bzImage, an EFI zboot container and
//! a Debian package. Every route must give back the three images byte for byte, with the release.

use std::io::Write;
use std::path::Path;
use vdso_lab::extract::extract;

const RELEASE: &str = "6.1.0-50-amd64";

/// An image of `corpus/real` (part of the repository: missing is a failure).
fn real(name: &str) -> Option<Vec<u8>> {
    let p = vdso_lab::corpus::root().join("real").join(name);
    Some(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// An image of `../shared/realvdso/images`, the independently made set (development machines only).
fn shared(name: &str) -> Option<Vec<u8>> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/realvdso/images")
            .join(name),
    )
    .ok()
}

/// The three images and a fake uncompressed kernel holding them.
fn kernel() -> Option<(Vec<Vec<u8>>, Vec<u8>)> {
    let imgs: Vec<Vec<u8>> = [
        "x86_64-vdso64-6.1.0-50-amd64.so",
        "i386-vdso32-6.1.0-50-amd64.so",
        "x32-vdsox32-6.1.0-50-amd64.so",
    ]
    .iter()
    .map(|n| real(n))
    .collect::<Option<_>>()?;
    let mut k = b"\x7fELF\x02\x01\x01".to_vec(); // a vmlinux starts with its own (ET_EXEC) header
    k.resize(4096, 0x90);
    k.extend_from_slice(
        format!("Linux version {RELEASE} (debian-kernel@lists.debian.org) #1 SMP\n\0").as_bytes(),
    );
    for i in &imgs {
        k.resize(k.len().next_multiple_of(4096) + 123, 0xcc);
        k.extend_from_slice(i);
    }
    k.resize(k.len() + 10_000, 0);
    Some((imgs, k))
}

fn check(label: &str, bytes: &[u8], want: &[Vec<u8>]) {
    let found = extract(bytes, label).unwrap();
    assert_eq!(
        found.len(),
        want.len(),
        "{label}: found {:?}",
        found.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    for w in want {
        let f = found
            .iter()
            .find(|f| &f.bytes == w)
            .unwrap_or_else(|| panic!("{label}: an image is missing"));
        assert_eq!(f.release.as_deref(), Some(RELEASE), "{label}");
    }
    let mut names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("i386-vdso32-{RELEASE}.so").as_str(),
            format!("x32-vdsox32-{RELEASE}.so").as_str(),
            format!("x86_64-vdso64-{RELEASE}.so").as_str()
        ],
        "{label}"
    );
}

/// A compressor used to build fixtures.
type Codec = fn(&[u8]) -> Vec<u8>;

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}
fn xz(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut std::io::BufReader::new(b), &mut out).unwrap();
    out
}
fn lzma(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::lzma_compress(&mut std::io::BufReader::new(b), &mut out).unwrap();
    out
}
fn zstd(b: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(b, ruzstd::encoding::CompressionLevel::Fastest)
}
fn bzip2(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}
/// lz4 "legacy" frame as the kernel's lz4 -l writes it: magic, then (u32 size, block) per 8 MiB.
fn lz4_legacy(b: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02, 0x21, 0x4c, 0x18];
    for chunk in b.chunks(8 << 20) {
        let c = lz4_flex::block::compress(chunk);
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(&c);
    }
    out
}

/// A minimal x86 bzImage: a setup sector with the "HdrS" signature at 0x202, the compressed payload,
/// trailing bytes.
fn bzimage(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x4000];
    b[0x1fe] = 0x55;
    b[0x1ff] = 0xaa;
    b[0x202..0x206].copy_from_slice(b"HdrS");
    b.extend_from_slice(payload);
    b.extend_from_slice(&[0u8; 512]);
    b
}

/// A minimal EFI zboot container: "MZ", the "zimg" magic at 4, the payload at 0x400.
fn zboot(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    b[..2].copy_from_slice(b"MZ");
    b[4..8].copy_from_slice(b"zimg");
    b.extend_from_slice(payload);
    b
}

/// A Debian package with the kernel at `path` in data.tar.<ext>.
fn deb(path: &str, kernel: &[u8], compress: fn(&[u8]) -> Vec<u8>, ext: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(kernel.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, kernel).unwrap();
    let data = compress(&tar.into_inner().unwrap());
    let mut ar = ar::Builder::new(Vec::new());
    for (name, body) in [
        ("debian-binary".to_string(), b"2.0\n".to_vec()),
        ("control.tar.xz".to_string(), xz(b"control")),
        (format!("data.tar.{ext}"), data),
    ] {
        ar.append(
            &ar::Header::new(name.into_bytes(), body.len() as u64),
            body.as_slice(),
        )
        .unwrap();
    }
    ar.into_inner().unwrap()
}

#[test]
fn every_format_and_container_gives_the_images_back() {
    let Some((imgs, k)) = kernel() else {
        unreachable!("corpus/real is part of the repository");
    };
    check("vmlinux", &k, &imgs);
    let codecs: [(&str, Codec); 6] = [
        ("gzip", gzip),
        ("xz", xz),
        ("lzma", lzma),
        ("zstd", zstd),
        ("bzip2", bzip2),
        ("lz4", lz4_legacy),
    ];
    for (name, c) in codecs {
        let payload = c(&k);
        check(&format!("bzImage/{name}"), &bzimage(&payload), &imgs);
    }
    check("Image.gz", &gzip(&k), &imgs);
    check("zboot/gzip", &zboot(&gzip(&k)), &imgs);
    check("zboot/zstd", &zboot(&zstd(&k)), &imgs);
    let bz = bzimage(&xz(&k));
    check(
        "deb/xz",
        &deb("./boot/vmlinuz-6.1.0-50-amd64", &bz, xz, "xz"),
        &imgs,
    );
    check(
        "deb/zst (sid layout)",
        &deb(
            "./usr/lib/modules/6.1.0-50-amd64/vmlinuz.unsigned",
            &bz,
            zstd,
            "zst",
        ),
        &imgs,
    );
}

#[test]
fn non_kernels_give_nothing_or_an_error() {
    assert!(extract(b"hello", "text").unwrap().is_empty());
    assert!(extract(&[0u8; 10_000], "zeros").unwrap().is_empty());
    // A truncated gzip stream of a kernel: no panic, and whatever decoded is scanned.
    if let Some((_, k)) = kernel() {
        let g = gzip(&k);
        let _ = extract(&g[..g.len() / 2], "truncated").unwrap();
    }
    assert!(extract(b"!<arch>\ngarbage", "bad deb").is_err());
}

#[test]
fn a_real_kernel_from_the_cache_matches_shared_realvdso() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = root.join("target/kernel-cache");
    let Ok(rd) = std::fs::read_dir(&cache) else {
        vdso_lab::require::skip(
            "kernel-cache",
            &format!(
                "no kernel package cache at {} (ci/fetch-real-kernels.sh fills it)",
                cache.display()
            ),
        );
        return;
    };
    let Ok(manifest) = std::fs::read_to_string(root.join("../shared/realvdso/MANIFEST.tsv")) else {
        vdso_lab::require::skip("shared", "../shared/realvdso/MANIFEST.tsv not found");
        return;
    };
    // Only the packages shared/realvdso was made from (MANIFEST column 8 is the package file name
    // less `.deb`), and of those the smallest per Debian architecture (the file name's last `_`
    // field): the cache holds a hundred kernels, some without any vDSO (armel's ARMv5/v6 flavours),
    // and extracting the 43 that set shares took 15 minutes in a debug build. One per architecture
    // still covers every compression and container; the fetch script's own output is checked
    // against every one of them by sha256 (README, `extract`).
    let packages: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.split('\t').nth(7))
        .collect();
    let mut smallest: std::collections::BTreeMap<String, (u64, std::path::PathBuf)> =
        Default::default();
    for e in rd.filter_map(|e| e.ok()) {
        let path = e.path();
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        if path.extension().is_none_or(|x| x != "deb") || !packages.contains(&stem.as_str()) {
            continue;
        }
        let arch = stem.rsplit('_').next().unwrap_or("").to_string();
        let len = e.metadata().map_or(u64::MAX, |m| m.len());
        if smallest.get(&arch).is_none_or(|(l, _)| len < *l) {
            smallest.insert(arch, (len, path));
        }
    }
    let mut compared = 0;
    for path in smallest.into_values().map(|(_, p)| p) {
        let bytes = std::fs::read(&path).unwrap();
        let found = extract(&bytes, &path.display().to_string()).unwrap();
        assert!(!found.is_empty(), "{}: no vDSO", path.display());
        let Some(release) = found.iter().find_map(|f| f.release.clone()) else {
            continue;
        };
        // Every image shared/realvdso has of this kernel (MANIFEST column 7 ends with
        // "(<release>)") must come out of our extraction byte for byte.
        for line in manifest.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            if !cols
                .get(6)
                .is_some_and(|k| k.ends_with(&format!("({release})")))
            {
                continue;
            }
            let Some(shared) = shared(cols[0]) else {
                continue;
            };
            assert!(
                found.iter().any(|f| f.bytes == shared),
                "{}: shared/realvdso's {} is not among the extracted images",
                path.display(),
                cols[0]
            );
            compared += 1;
        }
    }
    println!("{compared} shared/realvdso images reproduced byte for byte");
}

#[test]
fn corrupt_inputs_get_clean_results_in_bounded_time() {
    let t0 = std::time::Instant::now();
    let Some((_, k)) = kernel() else {
        unreachable!("corpus/real is part of the repository");
    };
    // Truncated archives and streams: no panic; whatever decoded cleanly is scanned.
    let d = deb("./boot/vmlinuz-x", &bzimage(&xz(&k)), xz, "xz");
    for cut in [10, d.len() / 3, d.len() / 2, d.len() - 7] {
        let _ = extract(&d[..cut], "truncated deb");
    }
    let z = zstd(&k);
    let _ = extract(&z[..z.len() / 2], "truncated zstd").unwrap();
    // A tar entry that claims 4 GiB: the header lies, the reader stops at the data there is.
    let tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4 << 30);
    h.set_mode(0o644);
    h.set_path("./boot/vmlinuz-huge").unwrap();
    h.set_cksum();
    let mut t = tar.into_inner().unwrap();
    t.extend_from_slice(h.as_bytes());
    t.extend_from_slice(&[0u8; 4096]);
    let mut ar = ar::Builder::new(Vec::new());
    ar.append(
        &ar::Header::new(b"data.tar".to_vec(), t.len() as u64),
        t.as_slice(),
    )
    .unwrap();
    let _ = extract(&ar.into_inner().unwrap(), "4 GiB claim");
    // An lzma header claiming 4 GiB of output is not even tried.
    let mut l = vec![0x5d, 0, 0, 0x80, 0];
    l.extend_from_slice(&(4u64 << 30).to_le_bytes());
    l.extend_from_slice(&[0x55; 1000]);
    assert!(extract(&l, "lzma 4 GiB").unwrap().is_empty());
    // A bomb: 300 MiB of zeros in ~300 KiB of gzip; decompression stops at the cap.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(extract(&bomb, "gzip bomb").unwrap().is_empty());
    println!("corrupt inputs handled in {:?}", t0.elapsed());
}

#[test]
fn the_manifest_matches_the_files() {
    use sha2::{Digest, Sha256};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut rows = 0;
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 8, "{line}");
        let bytes = std::fs::read(dir.join(f[0])).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&bytes)), f[1], "{}", f[0]);
        let img = vdso_lab::image::Image::parse(&bytes).unwrap();
        assert_eq!(
            vdso_lab::arch::Arch::of(&img).map_or("unknown", |a| a.name()),
            f[2],
            "{}",
            f[0]
        );
        let exports: Vec<String> = img
            .functions()
            .filter(|s| s.name.starts_with("__"))
            .map(|s| format!("{}@{}", s.name, s.version.unwrap_or("")))
            .collect();
        assert_eq!(exports.join(","), f[7], "{}", f[0]);
        assert!(!f[6].is_empty(), "{}: no source package", f[0]);
        rows += 1;
    }
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "so")
        })
        .count();
    assert_eq!(rows, files, "every image has exactly one manifest row");
}
