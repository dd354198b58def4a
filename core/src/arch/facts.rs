//! The one table of per-architecture vDSO facts: machine and class, whether the code is x86, the page
//! sizes its kernels use, the soname and version the kernel's linker script gives the image, the names
//! its images export, and which lab function ([`Func`]) each exported name implements. The synthesizer
//! draws from it, the planner asks it whether an image is x86, the live lab and the victim resolve
//! their functions through it.
//!
//! Facts from the kernel's `arch/*/vdso*/*.lds.S` and `arch/*/Kconfig` (page sizes), checked against
//! the real images of `corpus/real` (`tests/real_images.rs`): every image's machine, class, soname,
//! version node and page size agree with its row, and a row's `exports` and `unsynthesized` together
//! are exactly the functions its architecture's real images export (ppc, which has no real image
//! there, is unchecked).

use super::Arch;
use crate::image::Class;
use goblin::elf::header as eh;

/// What the table says about one [`Arch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub arch: Arch,
    /// Display name (`Arch::name`).
    pub name: &'static str,
    /// `e_machine`.
    pub machine: u16,
    /// ELF class of the image (x32 and MIPS n32 are ELFCLASS32 images of 64-bit code).
    pub class: Class,
    /// x86 code (x86-64, i386, x32): the kernels that place `[vvar]` before `[vdso]` and whose layout
    /// eras the planner knows (`layout::Era`).
    pub x86: bool,
    /// The page sizes the architecture's kernels are built with (`Kconfig` choices up to 64 KiB), the
    /// base page first.
    pub page_sizes: &'static [u64],
    /// `DT_SONAME` (`linux-gate.so.1` on i386; ppc and s390 say which word size); the generators
    /// write this one.
    pub soname: &'static str,
    /// Other sonames real images of the architecture carry (s390x: `linux-vdso.so.1` in the 7.2 and
    /// 7.3 images of `corpus/real`, where 6.1 and 6.12 say `linux-vdso64.so.1`).
    pub other_sonames: &'static [&'static str],
    /// The version node the kernel's linker script defines.
    pub version: &'static str,
    /// The names real images of the architecture export as functions, aliases included, in the order
    /// the generators draw from them.
    pub exports: &'static [&'static str],
    /// Functions real images of the architecture export that the generators do not draw yet (newer
    /// entries: the futex helpers of 7.x, `getrandom` beyond x86-64 and arm64, the 64-bit-time
    /// variants). They are kept apart because a longer `exports` changes what every fuzz input of the
    /// architecture decodes to, and with it what the kept regressions of `corpus/regressions/vdso_reloc`
    /// reproduce. The live lab and the planner know them; only synthetic images lack them.
    pub unsynthesized: &'static [&'static str],
}

/// A function the live lab calls through the vDSO. An exported entry implements one when its name is
/// `__vdso_<name>` or `__kernel_<name>` ([`Func::of_entry`]); x86-64 also exports the bare `<name>` as
/// a weak alias ([`Func::of_symbol`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    ClockGettime,
    Gettimeofday,
    Time,
    ClockGetres,
    Getcpu,
    /// `getrandom` with the vDSO's opaque state (Linux 6.11+).
    Getrandom,
    /// `__vdso_futex_robust_list64_try_unlock` (Linux 7.x, x86): unlock a robust futex the caller
    /// owns and clear its 64-bit pending-op slot, in user memory only.
    #[serde(rename = "futex_robust_list64_try_unlock")]
    FutexUnlock64,
    /// `__vdso_futex_robust_list32_try_unlock`: the same with a 32-bit pending-op slot.
    #[serde(rename = "futex_robust_list32_try_unlock")]
    FutexUnlock32,
}

impl Func {
    pub const ALL: [Func; 8] = [
        Func::ClockGettime,
        Func::Gettimeofday,
        Func::Time,
        Func::ClockGetres,
        Func::Getcpu,
        Func::Getrandom,
        Func::FutexUnlock64,
        Func::FutexUnlock32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::ClockGettime => "clock_gettime",
            Func::Gettimeofday => "gettimeofday",
            Func::Time => "time",
            Func::ClockGetres => "clock_getres",
            Func::Getcpu => "getcpu",
            Func::Getrandom => "getrandom",
            Func::FutexUnlock64 => "futex_robust_list64_try_unlock",
            Func::FutexUnlock32 => "futex_robust_list32_try_unlock",
        }
    }

    /// The function an exported entry point implements: `__vdso_time` and `__kernel_time` → time;
    /// `__vdso_clock_gettime64` (i386's and arm's 64-bit-time variant, another ABI) → none.
    pub fn of_entry(symbol: &str) -> Option<Func> {
        let bare = symbol
            .strip_prefix("__vdso_")
            .or_else(|| symbol.strip_prefix("__kernel_"))?;
        Func::ALL.into_iter().find(|f| f.name() == bare)
    }

    /// [`Func::of_entry`], and the bare weak aliases too (`time` → time).
    pub fn of_symbol(symbol: &str) -> Option<Func> {
        Func::of_entry(symbol).or_else(|| Func::ALL.into_iter().find(|f| f.name() == symbol))
    }

    /// Whether the function's first argument is a clock id.
    pub fn takes_clock(self) -> bool {
        matches!(self, Func::ClockGettime | Func::ClockGetres)
    }

    /// Whether the C library offers the function (the lab's `libc` path); the futex try-unlock
    /// entries have no wrapper, and no syscall either.
    pub fn in_libc(self) -> bool {
        !matches!(self, Func::FutexUnlock64 | Func::FutexUnlock32)
    }
}

const X86_64: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
    "__vdso_getrandom",
    "__vdso_sgx_enter_enclave",
    "clock_gettime",
    "gettimeofday",
    "time",
    "getcpu",
    "clock_getres",
    "getrandom",
];
const I386: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_clock_gettime64",
    "__vdso_clock_getres",
    "__vdso_getcpu",
    "__kernel_vsyscall",
    "__kernel_sigreturn",
    "__kernel_rt_sigreturn",
];
const X32: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
];
const ARM64: &[&str] = &[
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
    "__kernel_getrandom",
    "__kernel_rt_sigreturn",
];
const ARM: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_clock_getres",
    "__vdso_clock_gettime64",
];
/// ppc64's; the ppc (32-bit) row uses it too, unchecked: `corpus/real` has no 32-bit ppc image
/// (debian-ports, which builds them, does not serve this machine).
const PPC: &[&str] = &[
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
    "__kernel_time",
    "__kernel_getcpu",
    "__kernel_get_tbfreq",
    "__kernel_sync_dicache",
    "__kernel_sigtramp_rt64",
    "__kernel_get_syscall_map",
];
const S390X: &[&str] = &[
    "__kernel_clock_gettime",
    "__kernel_gettimeofday",
    "__kernel_clock_getres",
    "__kernel_getcpu",
    "__kernel_restart_syscall",
    "__kernel_sigreturn",
    "__kernel_rt_sigreturn",
];
/// The compat (31-bit) vDSO of s390x kernels: signal return and restart only, no clock entries.
const S390: &[&str] = &[
    "__kernel_compat_sigreturn",
    "__kernel_compat_rt_sigreturn",
    "__kernel_compat_restart_syscall",
];
const RISCV64: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_clock_getres",
    "__vdso_getcpu",
    "__vdso_flush_icache",
    "__vdso_riscv_hwprobe",
    "__vdso_rt_sigreturn",
];
const MIPS: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_clock_getres",
];
const LOONGARCH: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_clock_getres",
    "__vdso_getcpu",
    "__vdso_rt_sigreturn",
];

const P4K: &[u64] = &[4096];
const P4K_16K_64K: &[u64] = &[4096, 16384, 65536];
const P4K_64K: &[u64] = &[4096, 65536];

/// One row per architecture, in [`Arch::ALL`]'s order.
pub const TABLE: [Facts; 14] = [
    Facts {
        arch: Arch::X86_64,
        name: "x86_64",
        machine: eh::EM_X86_64,
        class: Class::Elf64,
        x86: true,
        page_sizes: P4K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: X86_64,
        unsynthesized: &[
            "__vdso_futex_robust_list32_try_unlock",
            "__vdso_futex_robust_list64_try_unlock",
        ],
    },
    Facts {
        arch: Arch::I386,
        name: "i386",
        machine: eh::EM_386,
        class: Class::Elf32,
        x86: true,
        page_sizes: P4K,
        soname: "linux-gate.so.1",
        other_sonames: &[],
        version: "LINUX_2.5",
        exports: I386,
        unsynthesized: &[
            "__vdso_clock_getres_time64",
            "__vdso_futex_robust_list32_try_unlock",
        ],
    },
    Facts {
        arch: Arch::X32,
        name: "x32",
        machine: eh::EM_X86_64,
        class: Class::Elf32,
        x86: true,
        page_sizes: P4K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: X32,
        unsynthesized: &[
            "__vdso_futex_robust_list32_try_unlock",
            "__vdso_futex_robust_list64_try_unlock",
        ],
    },
    Facts {
        arch: Arch::Aarch64,
        name: "aarch64",
        machine: eh::EM_AARCH64,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6.39",
        exports: ARM64,
        unsynthesized: &[],
    },
    Facts {
        arch: Arch::Arm,
        name: "arm",
        machine: eh::EM_ARM,
        class: Class::Elf32,
        x86: false,
        page_sizes: P4K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: ARM,
        unsynthesized: &["__vdso_clock_getres_time64"],
    },
    Facts {
        arch: Arch::Ppc64,
        name: "ppc64",
        machine: eh::EM_PPC64,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K_64K,
        soname: "linux-vdso64.so.1",
        other_sonames: &[],
        version: "LINUX_2.6.15",
        exports: PPC,
        unsynthesized: &["__kernel_getrandom"],
    },
    Facts {
        arch: Arch::Ppc,
        name: "ppc",
        machine: eh::EM_PPC,
        class: Class::Elf32,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso32.so.1",
        other_sonames: &[],
        version: "LINUX_2.6.15",
        exports: PPC,
        unsynthesized: &[],
    },
    Facts {
        arch: Arch::S390x,
        name: "s390x",
        machine: eh::EM_S390,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K,
        soname: "linux-vdso64.so.1",
        other_sonames: &["linux-vdso.so.1"],
        version: "LINUX_2.6.29",
        exports: S390X,
        unsynthesized: &["__kernel_getrandom"],
    },
    Facts {
        arch: Arch::S390,
        name: "s390",
        machine: eh::EM_S390,
        class: Class::Elf32,
        x86: false,
        page_sizes: P4K,
        soname: "linux-vdso32.so.1",
        other_sonames: &[],
        version: "LINUX_2.6.29",
        exports: S390,
        unsynthesized: &[],
    },
    Facts {
        arch: Arch::Riscv64,
        name: "riscv64",
        machine: eh::EM_RISCV,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_4.15",
        exports: RISCV64,
        unsynthesized: &["__vdso_getrandom"],
    },
    Facts {
        arch: Arch::Mips64,
        name: "mips64",
        machine: eh::EM_MIPS,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: MIPS,
        unsynthesized: &[],
    },
    Facts {
        arch: Arch::Mips,
        name: "mips",
        machine: eh::EM_MIPS,
        class: Class::Elf32,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: MIPS,
        unsynthesized: &["__vdso_clock_gettime64"],
    },
    Facts {
        arch: Arch::MipsN32,
        name: "mips-n32",
        machine: eh::EM_MIPS,
        class: Class::Elf32,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_2.6",
        exports: MIPS,
        unsynthesized: &["__vdso_clock_gettime64"],
    },
    Facts {
        arch: Arch::Loongarch64,
        name: "loongarch64",
        machine: eh::EM_LOONGARCH,
        class: Class::Elf64,
        x86: false,
        page_sizes: P4K_16K_64K,
        soname: "linux-vdso.so.1",
        other_sonames: &[],
        version: "LINUX_5.10",
        exports: LOONGARCH,
        unsynthesized: &["__vdso_getrandom"],
    },
];

impl Arch {
    /// This architecture's row of [`TABLE`] (rows follow the enum's order: `one_row_per_arch_in_order`).
    pub fn facts(self) -> &'static Facts {
        &TABLE[self as usize]
    }

    /// x86 code (x86-64, i386, x32).
    pub fn is_x86(self) -> bool {
        self.facts().x86
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_arch_in_order() {
        for (a, f) in Arch::ALL.iter().zip(TABLE.iter()) {
            assert_eq!(*a, f.arch);
            assert_eq!(a.facts().arch, *a);
        }
    }

    #[test]
    fn entries_map_to_functions_by_name() {
        assert_eq!(Func::of_entry("__vdso_time"), Some(Func::Time));
        assert_eq!(Func::of_entry("__kernel_time"), Some(Func::Time));
        assert_eq!(Func::of_entry("time"), None);
        assert_eq!(Func::of_symbol("time"), Some(Func::Time));
        assert_eq!(Func::of_entry("__vdso_clock_gettime64"), None);
        assert_eq!(
            Func::of_entry("__vdso_futex_robust_list32_try_unlock"),
            Some(Func::FutexUnlock32)
        );
        assert_eq!(Func::of_symbol("__vdso_sgx_enter_enclave"), None);
        assert_eq!(
            TABLE
                .iter()
                .filter(|f| f.x86)
                .map(|f| f.arch)
                .collect::<Vec<_>>(),
            [Arch::X86_64, Arch::I386, Arch::X32]
        );
    }
}
