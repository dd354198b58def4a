//! The pools generators draw from: real architecture/class/endianness combinations (the names each
//! exports and the rest of its facts come from `arch::TABLE`), and version strings. Shared by the proptest strategies and the `arbitrary` generator.

use crate::arch::{Arch, Facts};
use crate::image::Endian;

/// An architecture as a vDSO image is built for it: an [`Arch`] (whose row of the fact table,
/// `arch::TABLE`, gives machine, class, soname, version and exports) in one byte order. What the
/// generators draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub name: &'static str,
    pub arch: Arch,
    pub endian: Endian,
}

impl Platform {
    pub fn facts(&self) -> &'static Facts {
        self.arch.facts()
    }
}

/// Every class/machine/endianness combination a real vDSO comes in.
pub const ARCHES: &[Platform] = &[
    Platform {
        name: "x86_64",
        arch: Arch::X86_64,
        endian: Endian::Little,
    },
    Platform {
        name: "i386",
        arch: Arch::I386,
        endian: Endian::Little,
    },
    Platform {
        name: "x32",
        arch: Arch::X32,
        endian: Endian::Little,
    },
    Platform {
        name: "arm64",
        arch: Arch::Aarch64,
        endian: Endian::Little,
    },
    Platform {
        name: "arm",
        arch: Arch::Arm,
        endian: Endian::Little,
    },
    Platform {
        name: "ppc64le",
        arch: Arch::Ppc64,
        endian: Endian::Little,
    },
    Platform {
        name: "ppc64",
        arch: Arch::Ppc64,
        endian: Endian::Big,
    },
    Platform {
        name: "ppc",
        arch: Arch::Ppc,
        endian: Endian::Big,
    },
    Platform {
        name: "s390x",
        arch: Arch::S390x,
        endian: Endian::Big,
    },
    Platform {
        name: "s390",
        arch: Arch::S390,
        endian: Endian::Big,
    },
    Platform {
        name: "riscv64",
        arch: Arch::Riscv64,
        endian: Endian::Little,
    },
    Platform {
        name: "mips64el",
        arch: Arch::Mips64,
        endian: Endian::Little,
    },
    Platform {
        name: "mipsel",
        arch: Arch::Mips,
        endian: Endian::Little,
    },
    Platform {
        name: "mips",
        arch: Arch::Mips,
        endian: Endian::Big,
    },
    Platform {
        name: "loongarch64",
        arch: Arch::Loongarch64,
        endian: Endian::Little,
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
            .flat_map(|a| a.facts().exports.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

pub fn arch(name: &str) -> Option<&'static Platform> {
    ARCHES.iter().find(|a| a.name == name)
}
