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
            vdso_lab::require::skip("live", "this process has no vDSO");
            return Ok(());
        };
        if !lab.paths().contains(&CallPath::Proxied) {
            vdso_lab::require::skip("live", "trampolines are not modelled on this architecture");
            return Ok(());
        }
        let func = Func::ALL[f];
        let clock = matches!(func, Func::ClockGettime | Func::ClockGetres)
            .then(|| lab.clocks()[clock_pick % lab.clocks().len()].0);
        let o = lab.run(path, func, clock);
        prop_assert!(o.verdict.agrees(), "{} {} {:?}: {}", path.name(), func.name(), clock, o.verdict);
    }
}

/// A lab the subset-image property can add dumped images to (one at a time, dropped after each case).
fn shared_lab() -> Option<&'static std::sync::Mutex<Lab>> {
    static LAB: OnceLock<Option<std::sync::Mutex<Lab>>> = OnceLock::new();
    LAB.get_or_init(|| Lab::new().expect("lab").map(std::sync::Mutex::new))
        .as_ref()
}

/// A synthetic x86-64 dumped image exporting a subset of what the live vDSO exports (same names and
/// version), at generated offsets and sizes: the shape of an older kernel's vDSO.
fn subset_image(live: &vdso_lab::image::Image) -> impl Strategy<Value = Vec<u8>> {
    use vdso_lab::synth::{HashStyle, Quirks, Spec, SymSpec};
    let funcs: Vec<(String, Option<String>)> = live
        .functions()
        .map(|s| (s.name.to_string(), s.version.map(str::to_string)))
        .collect();
    let versions: Vec<vdso_lab::synth::Name> = live
        .versions
        .iter()
        .filter(|v| v.flags & vdso_lab::image::VER_FLG_BASE == 0)
        .map(|v| v.name.to_string().into())
        .collect();
    let machine = live.machine;
    (
        proptest::sample::subsequence(funcs.clone(), 1..=funcs.len()),
        proptest::collection::vec(16u32..512, funcs.len()),
        prop_oneof![
            Just(HashStyle::Both),
            Just(HashStyle::Gnu),
            Just(HashStyle::Sysv)
        ],
    )
        .prop_map(move |(chosen, sizes, hash)| {
            let mut at = 0;
            let symbols: Vec<SymSpec> = chosen
                .into_iter()
                .zip(sizes)
                .map(|((name, version), size)| {
                    let s = SymSpec {
                        name: name.into(),
                        version: version.map(Into::into),
                        offset: at,
                        size,
                        kind: vdso_lab::image::SymKind::Func,
                        binding: vdso_lab::image::Binding::Global,
                    };
                    at += size.div_ceil(16) * 16;
                    s
                })
                .collect();
            Spec {
                class: vdso_lab::image::Class::Elf64,
                endian: vdso_lab::image::Endian::Little,
                machine,
                soname: "linux-vdso.so.1".into(),
                hash,
                versions: versions.clone(),
                symbols,
                text_size: at.max(16),
                base: 0,
                quirks: Quirks::default(),
            }
            .build()
            .expect("valid spec")
        })
}

#[test]
fn proxied_subset_images_agree_with_the_syscall() {
    let Some(lab) = shared_lab() else {
        vdso_lab::require::skip("live", "this process has no vDSO");
        return;
    };
    let live_bytes = lab.lock().unwrap().live.bytes.clone();
    let live = vdso_lab::image::Image::parse(&live_bytes).unwrap();
    if lab.lock().unwrap().arch != Some(vdso_lab::arch::Arch::X86_64) {
        vdso_lab::require::skip("live", "the synthetic subset images are x86-64");
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(subset_image(&live), 0usize..6, any::<usize>()),
            |(bytes, f, pick)| {
                let mut lab = lab.lock().unwrap();
                let path = lab
                    .add_dumped("synthetic", &bytes)
                    .expect("strict takes a subset image");
                let func = Func::ALL[f];
                let clock = matches!(func, Func::ClockGettime | Func::ClockGetres)
                    .then(|| lab.clocks()[pick % lab.clocks().len()].0);
                let o = lab.run(path, func, clock);
                lab.drop_dumped();
                prop_assert!(
                    o.verdict.agrees() || o.verdict == vdso_lab::verify::Verdict::NotExercised,
                    "{} {:?}: {}",
                    func.name(),
                    clock,
                    o.verdict
                );
                Ok(())
            },
        )
        .unwrap();
}
