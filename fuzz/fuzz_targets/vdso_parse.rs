//! libFuzzer wrapper for the `vdso_parse` target.
//!
//! The body (parser + oracles) lives in `vdso_lab::fuzzing::vdso_parse::run` so that `cargo test` and
//! `vdso-lab replay` run exactly the same code on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vdso_lab::fuzzing::vdso_parse::run(data);
});
