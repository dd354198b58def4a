//! The live lab on this machine's kernel: every restored call path agrees with the syscalls, the stale
//! path reproduces the seed bug, a crashing path becomes a verdict. Skipped (with the reason printed)
//! where there is no vDSO or no modelled trampolines.

use vdso_lab::live::lab::{rows, stale_reproduced, CallPath, Func, Lab};
use vdso_lab::verify::Verdict;

fn lab() -> Option<Lab> {
    match Lab::new() {
        Ok(Some(l)) => Some(l),
        Ok(None) => {
            vdso_lab::require::skip("live", "this process has no vDSO");
            None
        }
        Err(e) => panic!("the lab could not be prepared: {e}"),
    }
}

#[test]
fn every_restored_path_agrees_and_stale_reproduces() {
    let Some(lab) = lab() else { return };
    if !lab.paths().contains(&CallPath::Proxied) {
        vdso_lab::require::skip("live", "trampolines are not modelled on this architecture");
        return;
    }
    let outcomes = lab.run_all();
    let rows = rows(&outcomes);
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| {
            !r.expected_to_fail && !r.verdict.agrees() && r.verdict != Verdict::NotExercised
        })
        .map(|r| format!("{} {}: {}", r.path.name(), r.func.name(), r.verdict))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(stale_reproduced(&rows), Some(true));
    // Every path ran every function the live vDSO exports (and the ones libc offers whatever it
    // exports: getrandom's syscall and libc paths).
    for p in lab.paths() {
        for f in Func::ALL
            .into_iter()
            .filter(|&f| lab.exports(f) || f.in_libc())
        {
            assert!(
                rows.iter()
                    .any(|r| r.path == p && r.func == f && r.samples > 0),
                "{} {}",
                p.name(),
                f.name()
            );
        }
    }
}

#[test]
fn a_crashing_path_is_a_verdict_and_the_runner_goes_on() {
    let Some(lab) = lab() else { return };
    // Page 1 is never mapped (vm.mmap_min_addr): calling it faults.
    let o = lab.run_entry(0x1000, Func::Time, None);
    assert_eq!(
        o.verdict,
        Verdict::Crashed {
            signal: libc::SIGSEGV
        }
    );
    let o = lab.run(CallPath::Direct, Func::Time, None);
    assert!(o.verdict.agrees(), "{}", o.verdict);
}

#[test]
fn repro_vdso01_reproduces_then_fixes() {
    if vdso_lab::live::vdso_base().is_none() {
        vdso_lab::require::skip("live", "this process has no vDSO");
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdso-lab"))
        .args(["repro", "vdso01"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if text.is_empty() && String::from_utf8_lossy(&out.stderr).contains("skipped") {
        vdso_lab::require::skip("live", String::from_utf8_lossy(&out.stderr).trim());
        return;
    }
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Delta is too big"), "{text}");
    assert!(text.contains("reproduced and fixed under strict"), "{text}");
}

#[test]
fn other_kernels_images_proxied_onto_this_one_agree() {
    let Some(mut lab) = lab() else { return };
    let dir = vdso_lab::corpus::root().join("real");
    let mut added = Vec::new();
    for r in vdso_lab::corpus::real_images(&dir).unwrap() {
        if let Ok(p) = lab.add_dumped(r.name(), &r.bytes) {
            added.push(p);
        }
    }
    if added.is_empty() {
        vdso_lab::require::skip(
            "live",
            "no image of corpus/real has this architecture and is taken by this kernel",
        );
        return;
    }
    for p in &added {
        for f in Func::ALL {
            let clock = matches!(f, Func::ClockGettime | Func::ClockGetres).then_some(1);
            let o = lab.run(*p, f, clock);
            assert!(
                o.verdict.agrees() || o.verdict == Verdict::NotExercised,
                "{} ({}) {}: {}",
                p.name(),
                lab.image_name(match p {
                    CallPath::ProxiedImage(i) => *i,
                    _ => 0,
                })
                .unwrap_or(""),
                f.name(),
                o.verdict
            );
        }
    }
    println!(
        "{} real images from other kernels proxied onto this one",
        added.len()
    );
}

/// `check` as a library call: the same report the CLI renders, with typed verdicts.
#[test]
fn check_runs_as_a_library_call() {
    use vdso_lab::check::{run, CheckConfig, CheckVerdict, Host};
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let host = Host::gather(&corpus);
    if !matches!(host.live, Ok(Some(_))) {
        vdso_lab::require::skip("live", "this process has no readable vDSO");
        return;
    }
    let r = run(
        &host,
        &CheckConfig {
            no_replay: true,
            ..CheckConfig::default()
        },
    );
    assert!(r.ok, "{}", vdso_lab::report::check_text(&r));
    assert!(
        r.row("corpus vdso_parse").is_none(),
        "no_replay replays nothing"
    );
    assert_eq!(r.row("live vDSO").unwrap().verdict, CheckVerdict::Ok);
    let planner = r.row("planner").unwrap();
    assert_eq!(planner.verdict, CheckVerdict::Ok, "{}", planner.detail);
    if r.row("time namespaces").unwrap().verdict == CheckVerdict::Skipped {
        vdso_lab::require::skip("timens", &r.row("time namespaces").unwrap().detail);
    } else {
        assert!(r.paths.iter().any(|p| p.timens));
    }
}

/// Every path, run inside a new time namespace, agrees with the syscall made there, and that syscall
/// shows the namespace's offsets.
#[test]
fn every_path_honours_time_namespace_offsets() {
    let Some(lab) = lab() else { return };
    if let Err(why) = lab.timens_supported() {
        vdso_lab::require::skip("timens", &why);
        return;
    }
    let rows = rows(&lab.run_timens_all());
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.verdict.agrees() && r.verdict != Verdict::NotExercised)
        .map(|r| format!("{} {}: {}", r.path.name(), r.func.name(), r.verdict))
        .collect();
    assert!(!rows.is_empty());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `check` run from inside a time namespace that already has offsets (as a process restored into a
/// container is): every path still agrees, and the nested namespace's offsets are judged relative to
/// the one it runs in. Uses util-linux `unshare` to make the outer namespace.
#[test]
fn check_inside_a_time_namespace_with_offsets() {
    let Some(lab) = lab() else { return };
    if let Err(why) = lab.timens_supported() {
        vdso_lab::require::skip("timens", &why);
        return;
    }
    let out = std::process::Command::new("unshare")
        .args([
            "--time",
            "--fork",
            "--monotonic",
            "3600",
            "--boottime",
            "7200",
        ])
        .arg(env!("CARGO_BIN_EXE_vdso-lab"))
        .args(["check", "--json"])
        .output();
    let out = match out {
        Ok(o) if !o.stdout.is_empty() => o,
        Ok(o) => {
            let why = format!(
                "unshare --time failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            vdso_lab::require::skip("timens", &why);
            return;
        }
        Err(e) => {
            vdso_lab::require::skip("timens", &format!("util-linux unshare not runnable: {e}"));
            return;
        }
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["checks"].as_array().unwrap();
    let failed: Vec<_> = rows.iter().filter(|r| r["verdict"] == "FAIL").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(v["ok"], true);
}

/// A stand-in for a vDSO whose clocksource cannot be read from userspace (`clocksource=hpet`): its
/// `clock_gettime` always makes the syscall and, like the vDSO's fallback, returns `-errno`.
extern "C" fn always_the_syscall(clock: libc::clockid_t, ts: *mut libc::timespec) -> libc::c_int {
    // SAFETY: a raw clock_gettime syscall into the caller's timespec.
    let r = unsafe { libc::syscall(libc::SYS_clock_gettime, clock, ts) };
    if r < 0 {
        -std::io::Error::last_os_error().raw_os_error().unwrap_or(1)
    } else {
        0
    }
}

/// The clock-path probe tells a vDSO that reads the clock in userspace from one that falls back to
/// the syscall (#13 item 17: check's output was the same either way).
#[test]
fn the_clock_path_probe_tells_userspace_from_the_syscall_fallback() {
    use vdso_lab::live::probe::ClockPath;
    let Some(lab) = lab() else { return };
    if lab.arch != Some(vdso_lab::arch::Arch::X86_64) {
        vdso_lab::require::skip("live", "the seccomp probe is x86-64 only");
        return;
    }
    let fallback = lab.clock_path_at(always_the_syscall as *const () as usize as u64);
    assert_eq!(fallback, ClockPath::SyscallFallback);
    let here = lab.clock_path();
    let source = vdso_lab::live::probe::clocksource().unwrap_or_default();
    println!("clocksource {source}: {here:?}");
    if source == "tsc" {
        assert_eq!(here, ClockPath::Userspace);
    } else {
        assert_ne!(here, ClockPath::Unknown(String::new()));
    }
}

/// `check --policy P` (#13 item 15): each preset's restore, run live with proxy forced, returns wrong
/// answers exactly where its plan leaves an entry stale and the stale code reads the zeroed data pages;
/// `strict`'s returns none. On this kernel criu-4.1 leaves `__vdso_clock_getres` stale, and its copy
/// returns a resolution of 0 ns.
#[test]
fn check_policy_runs_a_presets_restore_live() {
    use vdso_lab::check::{run, CheckConfig, CheckVerdict, Host};
    let Some(lab) = lab() else { return };
    if !lab.paths().contains(&CallPath::Proxied) {
        vdso_lab::require::skip("live", "trampolines are not modelled on this architecture");
        return;
    }
    let host = Host::gather(&vdso_lab::corpus::root());
    for p in [&vdso_lab::policy::STRICT, &vdso_lab::policy::CRIU_4_1] {
        let r = run(
            &host,
            &CheckConfig {
                no_replay: true,
                policy: Some(p),
            },
        );
        let live = r.row(&format!("{} live", p.name)).unwrap();
        assert!(
            !live.detail.contains("not predicted"),
            "{}: {}",
            p.name,
            live.detail
        );
        let preset_rows: Vec<_> = r
            .paths
            .iter()
            .filter(|x| matches!(x.path, CallPath::Preset(_)))
            .collect();
        assert!(!preset_rows.is_empty(), "{}: no preset path ran", p.name);
        let wrong = preset_rows
            .iter()
            .filter(|x| !x.verdict.agrees() && x.verdict != Verdict::NotExercised)
            .count();
        if p.name == "strict" {
            assert_eq!(wrong, 0, "{}", live.detail);
            assert_eq!(live.verdict, CheckVerdict::Ok);
        } else if lab.arch == Some(vdso_lab::arch::Arch::X86_64)
            && preset_rows
                .iter()
                .any(|x| x.func == Func::ClockGetres && x.expected_to_fail)
        {
            assert!(
                preset_rows.iter().any(|x| x.func == Func::ClockGetres
                    && matches!(x.verdict, Verdict::Mismatch { got: 0, .. })),
                "{}",
                live.detail
            );
            assert_eq!(live.verdict, CheckVerdict::Fail);
        }
    }
}

/// A stand-in for a trampoline that jumps to itself (`e9 fb ff ff ff`): it never returns.
extern "C" fn spins_forever(_: libc::clockid_t, _: *mut libc::timespec) -> libc::c_int {
    #[allow(clippy::empty_loop)]
    loop {
        std::hint::spin_loop();
    }
}

/// `LabConfig`: the sample count is honoured, and a path that never returns becomes `TIMED OUT` at the
/// configured deadline while the runner goes on.
#[test]
fn lab_config_samples_and_deadline() {
    use vdso_lab::live::lab::LabConfig;
    let Ok(Some(live)) = vdso_lab::live::read() else {
        vdso_lab::require::skip("live", "this process has no vDSO");
        return;
    };
    let cfg = LabConfig {
        samples: 3,
        child_timeout: std::time::Duration::from_millis(300),
        ..LabConfig::default()
    };
    let lab = Lab::with(live, cfg).unwrap();
    let o = lab.run(CallPath::Direct, Func::Time, None);
    assert!(o.verdict.agrees(), "{}", o.verdict);
    assert_eq!(o.samples, 3);
    let hung = lab.run_entry(
        spins_forever as *const () as usize as u64,
        Func::ClockGettime,
        Some(libc::CLOCK_MONOTONIC),
    );
    assert_eq!(hung.verdict, Verdict::TimedOut);
    let again = lab.run(CallPath::Direct, Func::Time, None);
    assert!(again.verdict.agrees(), "{}", again.verdict);
}

/// The robust-futex try-unlock experiment (Linux 7.x exports the entries; this test does not need
/// them): run through the lab's child against stand-ins with the entries' calling convention, a
/// right one agrees, and ones that forget the pending slot, clear too wide, or unlock a lock with
/// waiters are mismatches.
#[test]
fn futex_try_unlock_stand_ins_are_judged_by_the_model() {
    let Some(lab) = lab() else { return };
    extern "C" fn right64(lock: *mut u32, tid: u32, pending: *mut libc::c_void) -> u32 {
        // SAFETY: the lab passes its own lock word and 8-byte pending slot.
        unsafe {
            if *lock != tid {
                return *lock;
            }
            *lock = 0;
            *(pending as *mut u64) = 0;
        }
        tid
    }
    extern "C" fn right32(lock: *mut u32, tid: u32, pending: *mut libc::c_void) -> u32 {
        // SAFETY: as above; the 32-bit entry clears 4 bytes.
        unsafe {
            if *lock != tid {
                return *lock;
            }
            *lock = 0;
            *(pending as *mut u32) = 0;
        }
        tid
    }
    extern "C" fn keeps_pending(lock: *mut u32, tid: u32, _: *mut libc::c_void) -> u32 {
        // SAFETY: as above.
        unsafe {
            if *lock == tid {
                *lock = 0;
            }
        }
        tid
    }
    extern "C" fn ignores_waiters(lock: *mut u32, tid: u32, pending: *mut libc::c_void) -> u32 {
        // SAFETY: as above.
        unsafe {
            let old = *lock;
            if old & 0x7fff_ffff == tid {
                *lock = 0;
                *(pending as *mut u64) = 0;
            }
            old
        }
    }
    type F = extern "C" fn(*mut u32, u32, *mut libc::c_void) -> u32;
    let run = |f: F, func: Func| lab.run_entry(f as usize as u64, func, None).verdict;
    assert!(run(right64, Func::FutexUnlock64).agrees());
    // Reports name the function as the vDSO does, in text and JSON alike.
    for f in [Func::FutexUnlock64, Func::FutexUnlock32] {
        assert_eq!(serde_json::to_value(f).unwrap(), f.name());
    }
    assert!(run(right32, Func::FutexUnlock32).agrees());
    assert!(matches!(
        run(right64, Func::FutexUnlock32),
        Verdict::Mismatch { expected, got: 0 } if expected == 0x5a5a_5a5a_0000_0000
    ));
    assert!(matches!(
        run(keeps_pending, Func::FutexUnlock64),
        Verdict::Mismatch { expected: 0, .. }
    ));
    // The lock with waiters: the model leaves it (bit 31 and the tid), the stand-in zeroes it.
    assert!(matches!(
        run(ignores_waiters, Func::FutexUnlock64),
        Verdict::Mismatch { expected, got: 0 } if expected == 0x8000_2a5a
    ));
}

/// A refused restore says which entry points it is refused for: the 7.2 image exports what this
/// kernel's vDSO may lack; each distinct reason is given once, with the names it applies to.
#[test]
fn a_refusal_names_the_missing_entry_points() {
    let Some(mut lab) = lab() else { return };
    if lab.arch != Some(vdso_lab::arch::Arch::X86_64) {
        vdso_lab::require::skip("live", "the image below is an x86-64 one");
        return;
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/real/x86_64-vdso64-7.2.13+deb14-amd64.so");
    let bytes = std::fs::read(&p).unwrap();
    let own = vdso_lab::live::read().unwrap().unwrap();
    let live = vdso_lab::image::Image::parse(&own.bytes).unwrap();
    let dumped = vdso_lab::image::Image::parse(&bytes).unwrap();
    // In the dumped image's order, as the plan lists them.
    let missing: Vec<&str> = dumped
        .functions()
        .map(|s| s.name)
        .filter(|n| !live.functions().any(|s| s.name == *n))
        .collect();
    match lab.add_dumped("7.2", &bytes) {
        Ok(_) => assert!(
            missing.is_empty(),
            "restored although {missing:?} are missing"
        ),
        Err(e) => {
            let e = e.to_string();
            assert!(!missing.is_empty(), "{e}");
            assert!(
                e.contains(&format!(
                    "{}: the runtime image does not export it",
                    missing.join(", ")
                )),
                "{e}"
            );
            assert_eq!(e.matches("does not export").count(), 1, "{e}");
        }
    }
}
