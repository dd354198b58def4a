//! Invariant 2 (DESIGN.md §3): `parse(synth(spec))` gives back `spec`, for every generated spec:
//! `Spec::from_image(Image::parse(spec.build())) == spec.normalized()`. Also: every generator (proptest
//! strategies and `arbitrary`) only produces specs that validate.

mod common;

use arbitrary::{Arbitrary, Unstructured};
use common::spec;
use proptest::prelude::*;
use vdso_lab::image::Image;
use vdso_lab::synth::Spec;

fn roundtrip(s: &Spec) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.validate(), Ok(()));
    let bytes = s.build().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let img = Image::parse(&bytes).map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
    let back = Spec::from_image(&img).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        back,
        s.normalized(),
        "left: re-read from the built image, right: the spec"
    );
    Ok(())
}

proptest! {
    #[test]
    fn any_spec_round_trips(s in spec::spec()) {
        roundtrip(&s)?;
    }

    #[test]
    fn x86_64_linux_6_18_round_trips(s in spec::x86_64_linux_6_18()) {
        roundtrip(&s)?;
    }

    /// The `arbitrary` generator (what the fuzz targets use) yields valid specs from any bytes, and they
    /// round-trip too.
    #[test]
    fn arbitrary_specs_round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(s) = Spec::arbitrary(&mut Unstructured::new(&data)) {
            roundtrip(&s)?;
        }
    }
}

/// Fixed-seed smoke: the arbitrary generator produces a spread of architectures and hash styles, not one
/// degenerate spec (a generator that always returned the same spec would pass the property above).
#[test]
fn arbitrary_generator_covers_architectures() {
    let mut seen = std::collections::BTreeSet::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..400 {
        let data: Vec<u8> = (0..512)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        if let Ok(s) = Spec::arbitrary(&mut Unstructured::new(&data)) {
            seen.insert((s.machine, format!("{:?}", s.class), format!("{:?}", s.hash)));
        }
    }
    assert!(
        seen.len() >= 20,
        "only {} (machine, class, hash) combinations: {seen:?}",
        seen.len()
    );
}
