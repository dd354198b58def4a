//! The real vDSO images that travel with the repository: `corpus/real/*.so`, made by
//! `ci/fetch-real-kernels.sh` from Debian's kernel packages and listed in `corpus/real/MANIFEST.tsv`
//! (file, sha256, arch, class, endianness, kernel release, source package, exported functions). Tests,
//! `check` and the parser harness read them from here, so the evidence is inside the repo; expected
//! counts come from the manifest, not from literals.

use std::path::{Path, PathBuf};

/// `corpus/` of this checkout.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// One row of `corpus/real/MANIFEST.tsv`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub sha256: String,
    pub arch: String,
    pub class: String,
    pub endianness: String,
    pub kernel_release: String,
    pub source_package: String,
    /// `name@version` of every exported function, as the manifest's maker saw them.
    pub exported_functions: Vec<String>,
}

/// A real image: its manifest row and its bytes.
#[derive(Debug, Clone)]
pub struct RealImage {
    pub entry: Entry,
    pub bytes: Vec<u8>,
}

impl RealImage {
    /// The file name less `.so`.
    pub fn name(&self) -> &str {
        self.entry.file.trim_end_matches(".so")
    }
}

/// The manifest of `dir` (normally `corpus/real`).
pub fn manifest(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let [file, sha256, arch, class, endianness, kernel_release, source_package, funcs] = c[..]
        else {
            return Err(format!("{}:{}: expected 8 columns", path.display(), n + 1));
        };
        out.push(Entry {
            file: file.into(),
            sha256: sha256.into(),
            arch: arch.into(),
            class: class.into(),
            endianness: endianness.into(),
            kernel_release: kernel_release.into(),
            source_package: source_package.into(),
            exported_functions: funcs
                .split(',')
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect(),
        });
    }
    Ok(out)
}

/// Every image the manifest of `dir` lists, in manifest order. A listed file that is missing is an
/// error, and so is a `*.so` in `dir` that the manifest does not list.
pub fn real_images(dir: &Path) -> Result<Vec<RealImage>, String> {
    let entries = manifest(dir)?;
    let mut listed: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
    listed.sort_unstable();
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in rd.filter_map(|e| e.ok()) {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.ends_with(".so") && listed.binary_search(&name.as_str()).is_err() {
            return Err(format!("{}/{name} is not in MANIFEST.tsv", dir.display()));
        }
    }
    entries
        .into_iter()
        .map(|entry| {
            let p = dir.join(&entry.file);
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(RealImage { entry, bytes })
        })
        .collect()
}
