//! The pools generators draw from: real architecture/class/endianness combinations, the entry-point names
//! real vDSOs export (see `shared/realvdso/MANIFEST.tsv` and the kernel's `arch/*/vdso*/*.lds.S`), and
//! their version strings. Shared by the proptest strategies and the `arbitrary` generator.

use crate::image::{Class, Endian};
use goblin::elf::header as eh;

/// An architecture as a vDSO image is built for it (machine, class, byte order, soname, version,
/// exports): what the generators draw from. Not `arch::Arch`, which is what a parsed image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub name: &'static str,
    pub machine: u16,
    pub class: Class,
    pub endian: Endian,
    pub soname: &'static str,
    /// The version the kernel's linker script defines for this architecture.
    pub version: &'static str,
    /// What real images of this architecture export (functions).
    pub exports: &'static [&'static str],
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
const PPC64: &[&str] = &[
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

/// Every class/machine/endianness combination a real vDSO comes in.
pub const ARCHES: &[Platform] = &[
    Platform {
        name: "x86_64",
        machine: eh::EM_X86_64,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: X86_64,
    },
    Platform {
        name: "i386",
        machine: eh::EM_386,
        class: Class::Elf32,
        endian: Endian::Little,
        soname: "linux-gate.so.1",
        version: "LINUX_2.5",
        exports: I386,
    },
    Platform {
        name: "x32",
        machine: eh::EM_X86_64,
        class: Class::Elf32,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: X32,
    },
    Platform {
        name: "arm64",
        machine: eh::EM_AARCH64,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6.39",
        exports: ARM64,
    },
    Platform {
        name: "arm",
        machine: eh::EM_ARM,
        class: Class::Elf32,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: ARM,
    },
    Platform {
        name: "ppc64le",
        machine: eh::EM_PPC64,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso64.so.1",
        version: "LINUX_2.6.15",
        exports: PPC64,
    },
    Platform {
        name: "ppc64",
        machine: eh::EM_PPC64,
        class: Class::Elf64,
        endian: Endian::Big,
        soname: "linux-vdso64.so.1",
        version: "LINUX_2.6.15",
        exports: PPC64,
    },
    Platform {
        name: "ppc",
        machine: eh::EM_PPC,
        class: Class::Elf32,
        endian: Endian::Big,
        soname: "linux-vdso32.so.1",
        version: "LINUX_2.6.15",
        exports: PPC64,
    },
    Platform {
        name: "s390x",
        machine: eh::EM_S390,
        class: Class::Elf64,
        endian: Endian::Big,
        soname: "linux-vdso64.so.1",
        version: "LINUX_2.6.29",
        exports: S390X,
    },
    Platform {
        name: "s390",
        machine: eh::EM_S390,
        class: Class::Elf32,
        endian: Endian::Big,
        soname: "linux-vdso32.so.1",
        version: "LINUX_2.6.29",
        exports: S390X,
    },
    Platform {
        name: "riscv64",
        machine: eh::EM_RISCV,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_4.15",
        exports: RISCV64,
    },
    Platform {
        name: "mips64el",
        machine: eh::EM_MIPS,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: MIPS,
    },
    Platform {
        name: "mipsel",
        machine: eh::EM_MIPS,
        class: Class::Elf32,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: MIPS,
    },
    Platform {
        name: "mips",
        machine: eh::EM_MIPS,
        class: Class::Elf32,
        endian: Endian::Big,
        soname: "linux-vdso.so.1",
        version: "LINUX_2.6",
        exports: MIPS,
    },
    Platform {
        name: "loongarch64",
        machine: eh::EM_LOONGARCH,
        class: Class::Elf64,
        endian: Endian::Little,
        soname: "linux-vdso.so.1",
        version: "LINUX_5.10",
        exports: LOONGARCH,
    },
];

/// Version strings seen in real vDSOs, plus ones a kernel could add.
pub const VERSIONS: &[&str] = &[
    "LINUX_2.6",
    "LINUX_2.5",
    "LINUX_2.6.39",
    "LINUX_2.6.15",
    "LINUX_2.6.29",
    "LINUX_4.15",
    "LINUX_5.10",
    "LINUX_6.11",
];

/// Every name any architecture exports (deduplicated), for generators that mix architectures.
pub fn all_names() -> Vec<&'static str> {
    all_names_ref().to_vec()
}

/// [`all_names`] without a copy (computed once).
pub fn all_names_ref() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<&str> = ARCHES
            .iter()
            .flat_map(|a| a.exports.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

pub fn arch(name: &str) -> Option<&'static Platform> {
    ARCHES.iter().find(|a| a.name == name)
}
