//! Skipping honestly. A test or check that cannot run on this machine prints `skipped: <reason>` and
//! returns; it never passes silently. CI names the features it insists on in `VDSO_LAB_REQUIRE`
//! (comma-separated, or `all`), and then a skip of such a feature is a failure: CI cannot go green when
//! nothing ran. `ci/test.sh` sets it.
//!
//! Features in use: `live` (a vDSO in this process, x86-64 trampolines modelled), `timens` (time
//! namespaces: root, kernel 5.6+), `real` (the real images in `corpus/real`), `readelf` (binutils),
//! `getrandom` (the vDSO's getrandom, Linux 6.11+ on x86-64), `subjects` (the real parsers built from
//! `target/sources`), `criu` (a CRIU built by `ci/criu.sh`), `shared` (`../shared/realvdso`, which only
//! development machines have).

/// The environment variable CI sets.
pub const ENV: &str = "VDSO_LAB_REQUIRE";

/// Whether `feature` is required here (named in [`ENV`], or [`ENV`] is `all`).
pub fn required(feature: &str) -> bool {
    std::env::var(ENV).is_ok_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|f| f == feature || f == "all")
    })
}

/// Report that `feature` is unavailable: prints `skipped: <reason>`, or panics when the feature is
/// required. Callers return right after.
#[track_caller]
pub fn skip(feature: &str, reason: &str) {
    assert!(
        !required(feature),
        "{ENV} requires `{feature}`, but it is unavailable here: {reason}"
    );
    println!("skipped: {reason}");
}
