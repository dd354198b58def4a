//! Target `vdso_parse`: raw bytes → [`Image::parse`].
//!
//! Oracles (DESIGN.md §3):
//! 1. any bytes give `Ok(Image)` or a typed error, without panicking (a panic anywhere is the failure);
//! 3. for an image that parses, the lookups terminate; where the image is one a [`Spec`] can describe,
//!    the synthesized twin has DT_HASH, DT_GNU_HASH and the linear scan agreeing on every symbol;
//! 2. `Spec::from_image(parse(build(spec))) == spec` for that spec (the round trip through `synth`).
//!
//! Real vDSO images are valid inputs as they are (no framing), so `corpus/vdso_parse/` is seeded with
//! them.

use super::oracles;
use super::Outcome;
use crate::image::Image;
use crate::synth::Spec;

pub fn run(data: &[u8]) -> Outcome {
    let Ok(img) = Image::parse(data) else {
        return Outcome::Reject;
    };
    // Lookups over a structurally valid image must terminate; findings are allowed (they describe the
    // input), so only their computation is exercised.
    let _ = img.check_hashes();
    let _ = img.sections();
    let _ = img.build_id();
    for s in img.symbols() {
        let _ = img.lookup(s.name, s.version);
    }
    // Invariant 1 held on a parsed image (every lookup terminated): checked, whether or not a spec
    // describes the image.
    let Ok(spec) = Spec::from_image(&img) else {
        return Outcome::Checked;
    };
    let Ok(bytes) = spec.build() else {
        return Outcome::Checked;
    };
    let twin = match Image::parse(&bytes) {
        Ok(t) => t,
        Err(e) => panic!("invariant 2 (parse(synth(spec)) == spec): the twin of a parsed image does not parse: {e}\nspec: {spec:?}"),
    };
    let _ = oracles::check_synth_tables(&twin, &format_args!("synthesized twin of spec {spec:?}"));
    let back = Spec::from_image(&twin);
    assert_eq!(
        back.as_ref(),
        Ok(&spec),
        "invariant 2 (parse(synth(spec)) == spec): left is the re-read twin, right the spec"
    );
    Outcome::Checked
}
