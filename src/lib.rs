//! vdso-lab: a fuzz and property-testing lab for how checkpoint/restore tools relocate the Linux vDSO.
//!
//! Map of the crate (data flows top to bottom). [`image`], [`arch`], [`layout`], [`policy`] and [`plan`]
//! are the `vdso-lab-core` crate (`core/`), re-exported here: the code under test, kept apart so that
//! fuzz builds instrument it alone (see `fuzz/sancov-scope`).
//!
//! * [`image`] — any bytes → a borrowed [`image::Image`] (symbols, versions, hash tables) or a typed
//!   [`image::ParseError`].
//! * [`synth`] — the inverse: a [`synth::Spec`] → ELF bytes, plus the generators (proptest strategies and
//!   `arbitrary`) that proptests and fuzz targets draw specs from.
//! * [`layout`] — the special mappings (`[vvar]`, `[vvar_vclock]`, `[vdso]`) as a value, from
//!   `/proc/PID/maps`.
//! * [`live`] — the running kernel's vDSO; the only module allowed `unsafe`.
//! * [`fuzzing`] — the bodies of the fuzz targets, shared by `cargo fuzz`, `cargo test` corpus replay and
//!   `vdso-lab replay`.
//! * [`check`] — the main job as a library call: `check::run(&Host, &CheckConfig) -> CheckReport`, and
//!   `repro vdso01` beside it.
//! * [`parsers`] — the real parsers (CRIU releases, musl) judged against ours: `vdso-lab parsers`.
//! * [`report`] — rendering for the CLI (text tables and the JSON schema of `inspect --json`).
//!
//! Vocabulary: the two images of a restore are always `dumped` (what the checkpoint saw; CRIU says
//! "image") and `runtime` (what the restoring kernel provides; CRIU says "rt").
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub use vdso_lab_core::{arch, consequence, image, layout, plan, policy, rules};

pub mod check;
pub mod corpus;
pub mod extract;
pub mod fuzzing;
pub mod inputs;
pub mod kernels;
pub mod live;
pub mod matrix;
pub mod migration;
pub mod parsers;
pub mod report;
pub mod require;
pub mod synth;
pub mod verify;
pub mod victim;
