//! The third-party vDSO parsers that vdso-lab tests ("subjects"), compiled by `build.rs` from the
//! sources `ci/fetch-sources.sh` unpacks under `target/sources/`, and what was built.
//!
//! This crate only builds and describes: the compiled adapters are C functions listed in the C table
//! `vl_registry` (see `c/shim/vl_subject.h`); the Rust side of that interface, which needs `unsafe`,
//! lives in `vdso_lab::live::subjects`. A source that was not fetched or did not compile appears in
//! [`SOURCES`] with the reason, and no variant of it is in the registry.
#![forbid(unsafe_code)]

/// One subject source and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    /// The folder under `target/sources/` (`criu-4.2.1`, `musl-1.2.6`).
    pub name: &'static str,
    /// Debian source package, upstream version, tarball and its sha256, from the `.fetched` stamp
    /// written by `ci/fetch-sources.sh` (empty when the source was not fetched).
    pub package: &'static str,
    pub version: &'static str,
    pub tarball: &'static str,
    pub sha256: &'static str,
    /// How many (class, arch) variants were compiled.
    pub variants: usize,
    /// Why nothing was built, when nothing was.
    pub skipped: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/built.rs"));
