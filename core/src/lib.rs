//! vdso-lab-core: the code under test of vdso-lab — what a checkpoint/restore tool does with a vDSO.
//!
//! * [`image`] — any bytes → a borrowed [`image::Image`] (symbols, versions, hash tables) or a typed
//!   [`image::ParseError`].
//! * [`arch`] — trampoline encoders and independent decoders per architecture.
//! * [`layout`] — the special mappings (`[vvar]`, `[vvar_vclock]`, `[vdso]`) as a value, from
//!   `/proc/PID/maps`.
//! * [`policy`] — what a restorer redirects and how (`strict`, the CRIU presets).
//! * [`rules`] — what a restorer rejects before it plans (CRIU's checks, with their source lines).
//! * [`plan`] — dumped + runtime image under a policy → a [`plan::Plan`] with findings, applied to a
//!   [`plan::World`] and followed entry point by entry point.
//!
//! It is its own crate so that fuzz builds can give coverage feedback from this code alone: the
//! generators, oracles and CLI of the `vdso-lab` crate (which re-exports every module here) are built
//! without SanitizerCoverage by `fuzz/sancov-scope`, so libFuzzer keeps inputs for what they make this
//! code do, and does not pay per input for the edges of the harness that built them.
#![deny(unsafe_code)]

pub mod arch;
pub mod consequence;
pub mod image;
pub mod layout;
pub mod plan;
pub mod policy;
pub mod rules;
