#![no_main]
// The body lives in the library (src/fuzzing/vdso_reloc.rs) so `cargo test` replays the corpus with it.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = vdso_lab::fuzzing::vdso_reloc::run(data);
});
