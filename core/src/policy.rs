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

/// How a restorer checks `e_ident` before it reads an image (`has_elf_identity`,
/// criu/pie/util-vdso.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentCheck {
    /// Anything this lab parses.
    Any,
    /// All 16 bytes must equal `7f 'E' 'L' 'F'`, the class, the host's byte order, `EV_CURRENT`, then
    /// zeros: `EI_OSABI` must be 0 (ELFOSABI_NONE), `EI_ABIVERSION` 0, the padding 0 (a `memcmp` against
    /// a fixed array, "ELF header magic mismatch"; criu/pie/util-vdso.c:74-92 in v3.19 and v4.0, :99-117
    /// in v4.1.1).
    Exact,
    /// Magic, class, the host's byte order and `EV_CURRENT` each checked, and `EI_OSABI` either
    /// ELFOSABI_NONE (0) or ELFOSABI_LINUX (3); `EI_ABIVERSION` and the padding are not read
    /// (criu/pie/util-vdso.c:99-137 in v4.2.1, "Unsupported OSABI version").
    OsabiNoneOrLinux,
}

/// What a restorer rejects outright, so that no plan exists: facts from CRIU's source, each with its
/// file, line and release. `Rules::NONE` for this lab's own policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rules {
    /// The image must have DT_HASH: `parse_elf_dynamic` records only DT_HASH and fails "Not all
    /// dynamic entries are present" without it (criu/pie/util-vdso.c:186-193 in v3.19 and v4.0).
    /// From v4.1 DT_GNU_HASH alone is read too (util-vdso.c:217-253 in v4.1.1, :237-273 in v4.2.1).
    pub needs_sysv_hash: bool,
    pub ident: IdentCheck,
    /// Largest compat (i386) vDSO the restorer can read: CRIU maps it into a buffer of
    /// `COMPAT_VDSO_BUF_SZ` = 4 pages and the helper fails "Compatible vdso's size is bigger than
    /// reserved buf" (criu/vdso.c:482 in v3.19 and v4.0, :496 in v4.1, :502 in v4.2.1;
    /// criu/vdso-compat.c:58 in all four).
    pub compat_vdso_max: Option<u64>,
    /// At most one `[vdso]` and one `[vvar]` line in the maps: `vdso_parse_maps` fails "Got second
    /// vDSO entry" / "Got second VVAR entry" (criu/vdso.c:337/344 in v3.19 and v4.0, :343/350 in v4.1,
    /// :349/356 in v4.2.1), so a `[vvar]` split in two VMAs stops it.
    pub one_of_each: bool,
    /// `[vdso]` must touch `[vvar]` (its end is the other's start, either order; from v4.1 `[vvar]`
    /// includes `[vvar_vclock]`): `validate_vdso_addr` fails "Unexpected rt vDSO area bounds"
    /// (criu/vdso.c:381 in v3.19 and v4.0, :395 in v4.1, :401 in v4.2.1).
    pub vdso_touches_vvar: bool,
    /// `[vvar_vclock]` must directly follow `[vvar]` (its start is `[vvar]`'s end, and `[vvar]` comes
    /// first in the maps): "VVAR and VVAR_VCLOCK entries are not subsequent" (criu/vdso.c:358 in v4.1.1,
    /// :364 in v4.2.1). Only meaningful with `vclock_aware`.
    pub vclock_follows_vvar: bool,
    /// A remap of a dumped `[vdso]` that had no `[vvar]` moves only the runtime `[vdso]`
    /// (`remap_rt_vdso`: `if (!vma_vvar) return park_at(rt, vma_vdso->start, 0)`, criu/pie/
    /// parasite-vdso.c:207 in v3.19 and v4.0, :224 in v4.1 and v4.2.1), leaving the runtime data pages
    /// parked away from the code that reads them.
    pub remap_leaves_vvar_without_dumped_vvar: bool,
    /// riscv64 proxies go through one shared lookup stub ([`Rules::shared_stub`]): each entry gets
    /// `li t0, INDEX; jal x0, stub`, the stub loads `table[t0 << 3]`. The `li` is built as
    /// `0x00000293 | (idx << 24)`
    /// (criu/arch/riscv64/vdso-pie.c:115-123 in v4.1.1 and v4.2.1), which puts `idx << 4` in the
    /// 12-bit immediate, while the table is written at `lookup_table[idx]` (:132) and the stub scales
    /// by 8 (`slli t0, t0, 3`, criu/arch/riscv64/vdso-lookup.S:10): entry k >= 1 loads slot 16k, past
    /// the 6-slot table, and jumps through whatever bytes lie there.
    pub riscv_index_shifted: bool,
    /// Architectures whose trampolines the restorer writes as per-entry calls into one shared stub
    /// it copies into the dumped image, not as per-entry jumps (`plan` places and writes them as
    /// `put_trampoline` does, `arch::Arch::shared_stub_code` / `shared_stub_call`, and follows every
    /// call through the patched image). CRIU, facts from 4.2.1:
    ///
    /// * riscv64 (from v4.1): `put_trampoline` copies `riscv_vdso_lookup` (`la t1, table; slli t0,
    ///   t0, 3; add t1, t0, t1; ld t2, 0(t1); jr t2`, criu/arch/riscv64/vdso-lookup.S:6-15) and a
    ///   6-slot table into the gap behind the first listed function whose distance to the next listed
    ///   one exceeds 8 bytes plus stub and table (criu/arch/riscv64/vdso-pie.c:48-103); each listed
    ///   entry gets the 8-byte `li t0, k; jal zero, stub` (:105-133; see `riscv_index_shifted`).
    /// * ppc64 (ppc64le): the same placement (criu/arch/ppc64/vdso-pie.c:54-107, which goes on
    ///   checking every pair after placing) of `mflr r12; mtlr r0; ld r12, 0(r12); mtctr r12; bctr`
    ///   (vdso-trampoline.S:5-10), and per entry the 16-byte `mflr r0; bl stub; .quad target`
    ///   (vdso-pie.c:109-118).
    pub shared_stub: &'static [Arch],
    /// Architectures the restorer runs on only little-endian, so a big-endian image of them is never
    /// restored (see [`Rules::why_little_endian_only`]).
    pub little_endian_only: &'static [Arch],
}

impl Rules {
    /// Why CRIU never restores a big-endian image of `arch` (the same in v3.19 to v4.2.1).
    pub fn why_little_endian_only(arch: Arch) -> &'static str {
        match arch {
            Arch::Mips | Arch::MipsN32 | Arch::Mips64 => "its MIPS port is mips64el only: compel accepts only ELFCLASS64 + ELFDATA2LSB objects (\"Unsupported ELF class or data encoding\", compel/arch/mips/src/lib/handle-elf.c:24-28 in 4.2.1)",
            Arch::Ppc64 | Arch::Ppc => "its build stops with \"ppc64 big endian is not yet supported\" (Makefile:26-30 in 4.2.1): ppc64le only",
            _ => "no port for this byte order",
        }
    }

    /// No restorer-specific rejections (this lab's own policies).
    pub const NONE: Rules = Rules {
        needs_sysv_hash: false,
        ident: IdentCheck::Any,
        compat_vdso_max: None,
        one_of_each: false,
        vdso_touches_vvar: false,
        vclock_follows_vvar: false,
        remap_leaves_vvar_without_dumped_vvar: false,
        riscv_index_shifted: false,
        shared_stub: &[],
        little_endian_only: &[],
    };
    /// CRIU v3.19 and v4.0.
    pub const CRIU_3_19: Rules = Rules {
        needs_sysv_hash: true,
        ident: IdentCheck::Exact,
        compat_vdso_max: Some(4 * 4096),
        one_of_each: true,
        vdso_touches_vvar: true,
        vclock_follows_vvar: false,
        remap_leaves_vvar_without_dumped_vvar: true,
        riscv_index_shifted: false, // no riscv64 support before v4.1
        shared_stub: &[Arch::Ppc64],
        little_endian_only: &[
            Arch::Mips,
            Arch::MipsN32,
            Arch::Mips64,
            Arch::Ppc64,
            Arch::Ppc,
        ],
    };
    /// CRIU v4.1: GNU-hash-only images read, `[vvar_vclock]` must follow `[vvar]`, riscv64 supported
    /// (with its shifted stub index).
    pub const CRIU_4_1: Rules = Rules {
        needs_sysv_hash: false,
        vclock_follows_vvar: true,
        riscv_index_shifted: true,
        shared_stub: &[Arch::Ppc64, Arch::Riscv64],
        ..Rules::CRIU_3_19
    };
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
    /// What the restorer rejects before planning (see [`Rules`]).
    pub rules: Rules,
}

impl Policy {
    /// Does this restorer know (and so redirect) the entry point `name` on `arch`?
    pub fn knows(&self, arch: Arch, name: &str) -> bool {
        match self.known {
            None => true,
            Some(list) => list(arch).contains(&name),
        }
    }

    /// Whether a proxy by this restorer on `arch` is planned as trampoline bytes that the planner
    /// writes and follows (`arch::Arch::modelled` and the restorer writes per-entry jumps), or judged
    /// from which entries it knows ([`Rules::shared_stub`], or no model of the architecture).
    pub fn writes_trampolines(&self, arch: Arch) -> bool {
        arch.modelled()
    }

    /// The same restorer with remapping switched off: every restore proxies. Models CRIU's fault
    /// injection `CRIU_FAULT=127` (`FI_VDSO_TRAMPOLINES`, criu/include/fault-injection.h:14 in 4.2.1),
    /// which the restorer passes to `vdso_proxify` as `force_trampolines`
    /// (criu/pie/restorer.c:1947-1948); `blobs_matches(...) && !force_trampolines` then never takes
    /// the remap branch (criu/pie/parasite-vdso.c:330-331). The name stays the preset's.
    pub const fn forced_proxy(self) -> Policy {
        Policy {
            remap: RemapRule::Never,
            ..self
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
    rules: Rules::NONE,
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
    rules: Rules::CRIU_3_19,
};

pub const CRIU_4_0: Policy = Policy {
    name: "criu-4.0",
    provenance: "CRIU v4.0 (c2b48ff): x86 list with __vdso_clock_gettime64 (181583819); still fails on [vvar_vclock] (#2532)",
    known: Some(criu_4_0_symbols),
    remap: RemapRule::Criu,
    style: Style::Absolute,
    missing: Missing::JumpToAbsent,
    vclock_aware: false,
    rules: Rules::CRIU_3_19,
};

pub const CRIU_4_1: Policy = Policy {
    name: "criu-4.1",
    provenance: "CRIU v4.1 (b6059ff): handles [vvar_vclock] as part of vvar (8ee2eba47); riscv64 list added; lists otherwise as 4.0",
    known: Some(criu_4_1_symbols),
    remap: RemapRule::Criu,
    style: Style::Absolute,
    missing: Missing::JumpToAbsent,
    vclock_aware: true,
    rules: Rules::CRIU_4_1,
};

/// CRIU 4.2 (checked against the 4.2.1 release tarball of Debian's `criu` source package). Its vDSO
/// handling is 4.1's, fact for fact:
///
/// * symbol lists: criu/arch/x86/include/asm/vdso.h:39-46 (x86: `__vdso_clock_gettime`,
///   `__vdso_getcpu`, `__vdso_gettimeofday`, `__vdso_time`, `__kernel_sigreturn`,
///   `__kernel_rt_sigreturn`, `__vdso_clock_gettime64`; no `__vdso_clock_getres`, no
///   `__vdso_getrandom`, no `__vdso_sgx_enter_enclave`), and the other arches' `asm/vdso.h`, all
///   byte-identical to 4.1.1's;
/// * remap criterion: `blobs_matches` (criu/pie/parasite-vdso.c:161-200): equal `[vdso]` size, equal
///   offsets of the known symbols only, equal vvar size (with `[vvar_vclock]` counted in,
///   criu/vdso.c:367-368) and vvar/vdso order;
/// * `[vvar_vclock]` understood: parsed at criu/vdso.c:319-368 and moved after `[vvar]` by `park_at`
///   (criu/pie/parasite-vdso.c:58-71);
/// * trampolines: `movabs $to,%rax; jmp *%rax` + int3 guards (criu/arch/x86/vdso-pie.c:22-47), written
///   for every known symbol the dumped image has, to the runtime symbol's offset even when the runtime
///   lacks it (criu/arch/x86/vdso-pie.c:50-70: only `sfrom`'s emptiness is checked).
///
/// The only vDSO-related change from 4.1.1 is that `MADV_GUARD_INSTALL` pseudo-VMAs are skipped when
/// looking for the vDSO (criu/vdso.c:148-149 and 282-283), which changes no plan.
pub const CRIU_4_2: Policy = Policy {
    name: "criu-4.2",
    provenance: "CRIU v4.2.1: vDSO code as 4.1 (lists criu/arch/*/include/asm/vdso.h, blobs_matches criu/pie/parasite-vdso.c:161, [vvar_vclock] criu/vdso.c:336-368); e_ident checked field by field, OSABI NONE or LINUX (criu/pie/util-vdso.c:99-137)",
    // 4.1.1 memcmp()s all 16 e_ident bytes (util-vdso.c:116); 4.2.1 checks magic, class, byte order
    // and version, and accepts ELFOSABI_NONE or ELFOSABI_LINUX (util-vdso.c:99-137). Everything else in
    // its vDSO code (DT_HASH or DT_GNU_HASH :237-273, the 4-page compat buffer criu/vdso.c:502, the maps
    // rules criu/vdso.c:349-401) is 4.1's.
    rules: Rules {
        ident: IdentCheck::OsabiNoneOrLinux,
        ..Rules::CRIU_4_1
    },
    ..CRIU_4_1
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

/// Presets found by [`by_name`] but kept out of [`ALL`]: the fuzz targets pick `ALL[byte % len]`, and
/// growing `ALL` would change which policy every kept regression input runs under. `criu-4.2` plans
/// exactly as `criu-4.1` does, so fuzzing it adds nothing.
pub const MORE: [&Policy; 1] = [&CRIU_4_2];

pub fn by_name(name: &str) -> Option<&'static Policy> {
    ALL.into_iter().chain(MORE).find(|p| p.name == name)
}
