//! Invariant 3 (DESIGN.md §3): on every synthesized image, DT_HASH lookup, DT_GNU_HASH lookup and the
//! linear dynsym scan agree, and each finds every exported symbol at its own index, by its own name and
//! version; `check_hashes` has nothing to report.

mod common;

use common::spec;
use proptest::prelude::*;
use vdso_lab::image::{Image, Probe};

proptest! {
    #[test]
    fn three_lookups_agree_on_synthesized_images(s in spec::spec()) {
        let bytes = s.build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let img = Image::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(img.check_hashes(), vec![]);
        for sym in img.exports() {
            let l = img.lookup(sym.name, sym.version);
            prop_assert!(l.agrees(), "{} @ {:?}: {:?}", sym.name, sym.version, l);
            prop_assert_eq!(l.linear, Some(sym.index));
            if s.hash.sysv() {
                prop_assert_eq!(l.sysv, Probe::Found(sym.index));
            } else {
                prop_assert_eq!(l.sysv, Probe::Absent);
            }
            if s.hash.gnu() {
                prop_assert_eq!(l.gnu, Probe::Found(sym.index));
            } else {
                prop_assert_eq!(l.gnu, Probe::Absent);
            }
        }
        // A name the image does not define is not found by any table.
        let l = img.lookup("__vdso_not_exported_anywhere", None);
        prop_assert!(l.agrees());
        prop_assert_eq!(l.linear, None);
    }
}
