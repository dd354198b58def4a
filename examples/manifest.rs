//! Write the MANIFEST.tsv of a folder of extracted vDSO images (used by `ci/fetch-real-kernels.sh`):
//! file, sha256, arch, class, endianness, kernel release, source package and version, and the exported
//! functions with their versions. The source package comes from `sources.tsv` in the same folder
//! (`<image>\t<.deb file name>\t<suite>\t<same_as>` under a header row, written by the fetch script;
//! rows of left-out duplicates, whose `same_as` names the kept file, are skipped).
//!
//! `cargo run --release --example manifest -- corpus/real > corpus/real/MANIFEST.tsv`

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use vdso_lab::arch::Arch;
use vdso_lab::image::{Class, Endian, Image};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: manifest DIR");
    let dir = Path::new(&dir);
    let sources: BTreeMap<String, String> = std::fs::read_to_string(dir.join("sources.tsv"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let (img, deb) = (cols.next()?, cols.next()?);
            // A duplicate's row names the kept image in `same_as`; the kept image's own row wins.
            if cols.nth(1).is_some_and(|same_as| !same_as.is_empty()) {
                return None;
            }
            let name = Path::new(img).file_name()?.to_string_lossy().into_owned();
            Some((name, deb.trim_end_matches(".deb").to_string()))
        })
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .collect();
    files.sort();
    println!(
        "file\tsha256\tarch\tclass\tendianness\tkernel_release\tsource_package\texported_functions"
    );
    for p in files {
        let bytes = std::fs::read(&p).expect("read image");
        let Ok(img) = Image::parse(&bytes) else {
            eprintln!("manifest: {} does not parse; left out", p.display());
            continue;
        };
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let release = name
            .splitn(3, '-')
            .nth(2)
            .map(|r| r.trim_end_matches(".so").to_string())
            .unwrap_or_default();
        let funcs: Vec<String> = img
            .functions()
            .filter(|s| s.name.starts_with("__"))
            .map(|s| match s.version {
                Some(v) => format!("{}@{v}", s.name),
                None => s.name.to_string(),
            })
            .collect();
        println!(
            "{name}\t{:x}\t{}\t{}\t{}\t{release}\t{}\t{}",
            Sha256::digest(&bytes),
            Arch::of(&img).map_or("unknown", |a| a.name()),
            match img.class {
                Class::Elf32 => "ELFCLASS32",
                Class::Elf64 => "ELFCLASS64",
            },
            match img.endian {
                Endian::Little => "little",
                Endian::Big => "big",
            },
            sources.get(&name).map_or("", String::as_str),
            funcs.join(",")
        );
    }
}
