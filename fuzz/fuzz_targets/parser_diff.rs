//! libFuzzer wrapper for the `parser_diff` target.
//!
//! The body (the real parsers against ours) lives in `vdso_lab::fuzzing::parser_diff::run` so that `cargo test` and
//! `vdso-lab replay` run exactly the same code on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vdso_lab::fuzzing::parser_diff::run(data);
});
