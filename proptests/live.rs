//! Invariant 8 (DESIGN.md §3), live: "restored call paths agree with the syscall within tolerance".
//! Generates a function and clock, a call path, and for `remapped` a displacement; each case forks a
//! child on the real kernel (skipped with a message where there is no vDSO).

use proptest::prelude::*;
use std::sync::OnceLock;
use vdso_lab::live::lab::{CallPath, Func, Lab};

fn lab() -> Option<&'static Lab> {
    static LAB: OnceLock<Option<Lab>> = OnceLock::new();
    LAB.get_or_init(|| Lab::new().expect("lab")).as_ref()
}

fn path() -> impl Strategy<Value = CallPath> {
    prop_oneof![
        Just(CallPath::Direct),
        Just(CallPath::Libc),
        Just(CallPath::Proxied),
        Just(CallPath::Chained),
        any::<u8>().prop_map(CallPath::Remapped),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn restored_paths_agree_with_the_syscall(path in path(), f in 0usize..5, clock_pick in any::<usize>()) {
        let Some(lab) = lab() else {
            println!("skipped: this process has no vDSO");
            return Ok(());
        };
        if !lab.paths().contains(&CallPath::Proxied) {
            println!("skipped: trampolines are not modelled on this architecture");
            return Ok(());
        }
        let func = Func::ALL[f];
        let clock = matches!(func, Func::ClockGettime | Func::ClockGetres)
            .then(|| lab.clocks()[clock_pick % lab.clocks().len()].0);
        let o = lab.run(path, func, clock);
        prop_assert!(o.verdict.agrees(), "{} {} {:?}: {}", path.name(), func.name(), clock, o.verdict);
    }
}
