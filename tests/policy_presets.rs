//! The restorer presets as facts: which entry points each CRIU release redirects per architecture
//! (`ARCH_VDSO_SYMBOLS_LIST` in criu/arch/<arch>/include/asm/vdso.h, see core/src/policy.rs for the
//! commits), and how each policy is found by name. A preset that silently gains or loses a symbol
//! changes every matrix and `check` verdict built on it, so each list is pinned here through the
//! public API (`Policy::knows`, `policy::by_name`). The criu-4.1 column matches the lists in the
//! criu-4.1.1 release tarball (`ci/fetch-sources.sh`): criu/arch/x86/include/asm/vdso.h:40-46 (seven
//! names, `__kernel_vsyscall` left out at :19 and :52), riscv64 :16-21, aarch64 :20-23, arm :15-16,
//! ppc64 :18-27, s390 :19-22, mips :18-20, loongarch64 :19-23; the older columns rest on the commits
//! cited in core/src/policy.rs.

use vdso_lab::arch::Arch;
use vdso_lab::policy::{
    self, Missing, RemapRule, CRIU_3_19, CRIU_4_0, CRIU_4_1, STRICT, STRICT_PROXY,
};

const CRIU: [&policy::Policy; 3] = [&CRIU_3_19, &CRIU_4_0, &CRIU_4_1];

#[test]
fn every_policy_is_found_by_its_name_and_only_by_it() {
    for p in policy::ALL {
        assert_eq!(policy::by_name(p.name).map(|q| q.name), Some(p.name));
    }
    let names: Vec<&str> = policy::ALL.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "strict",
            "strict-proxy",
            "criu-3.19",
            "criu-4.0",
            "criu-4.1"
        ]
    );
    assert!(policy::by_name("criu-9.9").is_none());
    assert!(policy::by_name("").is_none());
}

#[test]
fn strict_proxy_is_strict_that_never_remaps() {
    assert_eq!(STRICT.remap, RemapRule::Strict);
    assert_eq!(STRICT_PROXY.remap, RemapRule::Never);
    assert_ne!(STRICT_PROXY.provenance, STRICT.provenance);
    assert_eq!(STRICT_PROXY.missing, Missing::Refuse);
    assert_eq!(
        (STRICT_PROXY.known.is_none(), STRICT_PROXY.vclock_aware),
        (true, true)
    );
    for p in CRIU {
        assert_eq!(
            (p.remap, p.missing),
            (RemapRule::Criu, Missing::JumpToAbsent)
        );
    }
    assert_eq!(CRIU.map(|p| p.vclock_aware), [false, false, true]);
}

#[test]
fn strict_knows_every_name() {
    for arch in [Arch::X86_64, Arch::Riscv64, Arch::S390x] {
        assert!(STRICT.knows(arch, "__vdso_getrandom"));
        assert!(STRICT.knows(arch, "anything"));
    }
}

/// (arch, symbol, known by 3.19, 4.0, 4.1)
const FACTS: &[(Arch, &str, [bool; 3])] = &[
    // x86: __vdso_clock_gettime64 from v4.0 (181583819, issue #2390); getrandom, clock_getres and
    // __kernel_vsyscall never. One list for x86-64, x32 and i386.
    (Arch::X86_64, "__vdso_clock_gettime", [true; 3]),
    (Arch::X86_64, "__vdso_gettimeofday", [true; 3]),
    (Arch::X86_64, "__vdso_time", [true; 3]),
    (Arch::X86_64, "__vdso_getcpu", [true; 3]),
    (Arch::X32, "__vdso_time", [true; 3]),
    (Arch::I386, "__kernel_sigreturn", [true; 3]),
    (Arch::I386, "__kernel_rt_sigreturn", [true; 3]),
    (Arch::I386, "__vdso_clock_gettime64", [false, true, true]),
    (Arch::X86_64, "__vdso_clock_gettime64", [false, true, true]),
    (Arch::X86_64, "__vdso_getrandom", [false; 3]),
    (Arch::X86_64, "__vdso_clock_getres", [false; 3]),
    (Arch::I386, "__kernel_vsyscall", [false; 3]),
    // arm64
    (Arch::Aarch64, "__kernel_clock_gettime", [true; 3]),
    (Arch::Aarch64, "__kernel_clock_getres", [true; 3]),
    (Arch::Aarch64, "__kernel_gettimeofday", [true; 3]),
    (Arch::Aarch64, "__kernel_rt_sigreturn", [true; 3]),
    (Arch::Aarch64, "__kernel_getrandom", [false; 3]),
    // arm: two entries only
    (Arch::Arm, "__vdso_clock_gettime", [true; 3]),
    (Arch::Arm, "__vdso_gettimeofday", [true; 3]),
    (Arch::Arm, "__vdso_clock_getres", [false; 3]),
    (Arch::Arm, "__vdso_clock_gettime64", [false; 3]),
    // ppc64 (and ppc)
    (Arch::Ppc64, "__kernel_sync_dicache_p5", [true; 3]),
    (Arch::Ppc64, "__kernel_get_tbfreq", [true; 3]),
    (Arch::Ppc, "__kernel_time", [true; 3]),
    (Arch::Ppc64, "__kernel_getrandom", [false; 3]),
    // s390x (and s390)
    (Arch::S390x, "__kernel_getcpu", [true; 3]),
    (Arch::S390, "__kernel_clock_getres", [true; 3]),
    (Arch::S390x, "__kernel_restart_syscall", [false; 3]),
    // mips
    (Arch::Mips64, "__vdso_clock_getres", [true; 3]),
    (Arch::Mips, "__vdso_gettimeofday", [true; 3]),
    (Arch::Mips64, "__vdso_clock_gettime64", [false; 3]),
    // loongarch64
    (Arch::Loongarch64, "__vdso_rt_sigreturn", [true; 3]),
    (Arch::Loongarch64, "__vdso_getcpu", [true; 3]),
    // riscv64: a list only from v4.1 (6d970ed04)
    (Arch::Riscv64, "__vdso_clock_gettime", [false, false, true]),
    (Arch::Riscv64, "__vdso_flush_icache", [false, false, true]),
    (Arch::Riscv64, "__vdso_rt_sigreturn", [false, false, true]),
    (Arch::Riscv64, "__vdso_getrandom", [false; 3]),
    (Arch::Riscv64, "__vdso_riscv_hwprobe", [false; 3]),
];

#[test]
fn criu_presets_know_what_their_release_lists() {
    let mut wrong = Vec::new();
    for &(arch, name, want) in FACTS {
        for (p, &w) in CRIU.iter().zip(&want) {
            if p.knows(arch, name) != w {
                wrong.push(format!("{} {:?} {name}: expected {w}", p.name, arch));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn criu_lists_are_exactly_as_long_as_the_release_lists() {
    let len = |p: &policy::Policy, a: Arch| (p.known.expect("a CRIU list"))(a).len();
    let table = [
        (Arch::X86_64, [6, 7, 7]),
        (Arch::Aarch64, [4, 4, 4]),
        (Arch::Arm, [2, 2, 2]),
        (Arch::Ppc64, [10, 10, 10]),
        (Arch::S390x, [4, 4, 4]),
        (Arch::Mips64, [3, 3, 3]),
        (Arch::Loongarch64, [5, 5, 5]),
        (Arch::Riscv64, [0, 0, 6]),
    ];
    for (arch, want) in table {
        let got = CRIU.map(|p| len(p, arch));
        assert_eq!(got, want, "{arch:?}");
    }
}
