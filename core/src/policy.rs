//! How a restorer decides: which entry points it knows, when it remaps the runtime vDSO in place, how it
//! writes trampolines, what it does about a symbol the runtime image lacks, and which special mappings it
//! understands. [`STRICT`] is this lab's own policy; the `criu-*` presets model what released CRIU
//! versions do, as facts read from CRIU's source and history (see each preset's `provenance`), so the lab
//! can show where they go wrong.

use crate::arch::{Arch, Style};

/// When a restorer maps the runtime vDSO over the dumped one instead of proxying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemapRule {
    /// Every exported function of the dumped image exists in the runtime image at the same offset with
    /// the same size and version, the images have the same size, and the special-mapping layouts have
    /// the same shape (roles, order, sizes, distances).
    Strict,
    /// CRIU's check: the `[vdso]` sizes are equal, every *known* symbol has the same offset in both (or
    /// is absent from both), and the `[vvar]` sizes and the vvar/vdso order are equal.
    Criu,
    /// Never remap: always proxy (what CRIU's fault injection `FI_VDSO_TRAMPOLINES` forces; the live
    /// lab uses it to exercise trampolines on identical images).
    Never,
}

/// What a restorer does for a dumped entry point the runtime image does not export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Refuse the restore, naming the symbol.
    Refuse,
    /// CRIU: the runtime symbol's offset is the "absent" marker, and the trampoline jumps to the
    /// runtime vDSO base minus one — into the page before it.
    JumpToAbsent,
}

/// A restorer's decision procedure.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Policy {
    pub name: &'static str,
    /// One line: where the facts come from.
    pub provenance: &'static str,
    /// Entry points the restorer knows, per architecture; `None`: every exported function.
    #[serde(skip)]
    pub known: Option<fn(Arch) -> &'static [&'static str]>,
    pub remap: RemapRule,
    pub style: Style,
    pub missing: Missing,
    /// Understands the `[vvar_vclock]` mapping of Linux 6.13+ (counts it into the vvar size and moves
    /// it with the others). CRIU before 4.1 fails outright on a kernel that has it: `vdso_parse_maps`
    /// does not recognise the line and `validate_vdso_addr` reports "Unexpected rt vDSO area bounds"
    /// (issue #2532), so neither dump nor restore gets going.
    pub vclock_aware: bool,
}

impl Policy {
    /// Does this restorer know (and so redirect) the entry point `name` on `arch`?
    pub fn knows(&self, arch: Arch, name: &str) -> bool {
        match self.known {
            None => true,
            Some(list) => list(arch).contains(&name),
        }
    }
}

/// This lab's policy: proxy every exported function, refuse when the runtime lacks one, remap only when
/// nothing can differ, and use the shortest trampoline that reaches (the runtime vDSO is parked near).
pub const STRICT: Policy = Policy {
    name: "strict",
    provenance: "vdso-lab: every exported function is redirected; remap only on identical exports and layout",
    known: None,
    remap: RemapRule::Strict,
    style: Style::Relative,
    missing: Missing::Refuse,
    vclock_aware: true,
};

// CRIU's per-arch symbol lists (`ARCH_VDSO_SYMBOLS_LIST` in criu/arch/<arch>/include/asm/vdso.h).
// Across v3.19..v4.2 only x86 changed (commit 181583819, "vdso: proxify the __vdso_clock_gettime64
// function", first in v4.0, fixing issue #2390) and riscv64 appeared (6d970ed04, first in v4.1). One x86
// list serves 64-bit, x32 and ia32 compat images; `__kernel_vsyscall` is left out on purpose ("too
// small", since v3.13). No version lists `__vdso_getrandom`, `__vdso_clock_getres` (x86),
// `__vdso_sgx_enter_enclave` or `__kernel_getrandom` (arm64).

const CRIU_X86_3_19: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_getcpu",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__kernel_sigreturn",
    "__kernel_rt_sigreturn",
];
const CRIU_X86_4_0: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_getcpu",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__kernel_sigreturn",
    "__kernel_rt_sigreturn",
    "__vdso_clock_gettime64",
];
const CRIU_AARCH64: &[&str] = &[
    "__kernel_clock_getres",
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_rt_sigreturn",
];
const CRIU_ARM: &[&str] = &["__vdso_clock_gettime", "__vdso_gettimeofday"];
const CRIU_PPC64: &[&str] = &[
    "__kernel_clock_getres",
    "__kernel_clock_gettime",
    "__kernel_get_syscall_map",
    "__kernel_get_tbfreq",
    "__kernel_getcpu",
    "__kernel_gettimeofday",
    "__kernel_sigtramp_rt64",
    "__kernel_sync_dicache",
    "__kernel_sync_dicache_p5",
    "__kernel_time",
];
const CRIU_S390: &[&str] = &[
    "__kernel_gettimeofday",
    "__kernel_clock_gettime",
    "__kernel_clock_getres",
    "__kernel_getcpu",
];
const CRIU_MIPS: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_clock_getres",
];
const CRIU_LOONGARCH: &[&str] = &[
    "__vdso_getcpu",
    "__vdso_clock_getres",
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_rt_sigreturn",
];
const CRIU_RISCV64: &[&str] = &[
    "__vdso_clock_getres",
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_getcpu",
    "__vdso_flush_icache",
    "__vdso_rt_sigreturn",
];

fn criu_others(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::Aarch64 => CRIU_AARCH64,
        Arch::Arm => CRIU_ARM,
        Arch::Ppc64 | Arch::Ppc => CRIU_PPC64,
        Arch::S390x | Arch::S390 => CRIU_S390,
        Arch::Mips64 | Arch::Mips | Arch::MipsN32 => CRIU_MIPS,
        Arch::Loongarch64 => CRIU_LOONGARCH,
        _ => &[],
    }
}

fn criu_3_19_symbols(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 | Arch::X32 | Arch::I386 => CRIU_X86_3_19,
        _ => criu_others(arch),
    }
}

fn criu_4_0_symbols(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 | Arch::X32 | Arch::I386 => CRIU_X86_4_0,
        _ => criu_others(arch),
    }
}

fn criu_4_1_symbols(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::Riscv64 => CRIU_RISCV64,
        _ => criu_4_0_symbols(arch),
    }
}

pub const CRIU_3_19: Policy = Policy {
    name: "criu-3.19",
    provenance: "CRIU v3.19 (f8b1428): x86 list without __vdso_clock_gettime64 (the vdso01 time(NULL)=0 bug, #2390); fails on [vvar_vclock] (#2532)",
    known: Some(criu_3_19_symbols),
    remap: RemapRule::Criu,
    style: Style::Absolute,
    missing: Missing::JumpToAbsent,
    vclock_aware: false,
};

pub const CRIU_4_0: Policy = Policy {
    name: "criu-4.0",
    provenance: "CRIU v4.0 (c2b48ff): x86 list with __vdso_clock_gettime64 (181583819); still fails on [vvar_vclock] (#2532)",
    known: Some(criu_4_0_symbols),
    remap: RemapRule::Criu,
    style: Style::Absolute,
    missing: Missing::JumpToAbsent,
    vclock_aware: false,
};

pub const CRIU_4_1: Policy = Policy {
    name: "criu-4.1",
    provenance: "CRIU v4.1 (b6059ff): handles [vvar_vclock] as part of vvar (8ee2eba47); riscv64 list added; lists otherwise as 4.0",
    known: Some(criu_4_1_symbols),
    remap: RemapRule::Criu,
    style: Style::Absolute,
    missing: Missing::JumpToAbsent,
    vclock_aware: true,
};

/// `strict`, but always proxying: the live lab's `proxied` and `chained` paths.
pub const STRICT_PROXY: Policy = Policy {
    name: "strict-proxy",
    provenance:
        "vdso-lab: strict, but never remapping (like CRIU's FI_VDSO_TRAMPOLINES fault injection)",
    remap: RemapRule::Never,
    ..STRICT
};

/// Every policy, `strict` first.
pub const ALL: [&Policy; 5] = [&STRICT, &STRICT_PROXY, &CRIU_3_19, &CRIU_4_0, &CRIU_4_1];

pub fn by_name(name: &str) -> Option<&'static Policy> {
    ALL.into_iter().find(|p| p.name == name)
}
