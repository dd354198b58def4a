//! Per-architecture facts a restorer needs: the jump trampoline it writes over an old entry point
//! ([`Arch::encode`]), an independent reading of such bytes back to a target ([`Arch::decode`]), and the
//! entry points each architecture's vDSO exports.
//!
//! The encoder and the decoder share no code on purpose: the encoder writes bytes from the instruction
//! formats below; the decoder is iced-x86 (a full x86 disassembler) on x86 and a word-level reading of the
//! A64 instruction formats on arm64, so a wrong encoding cannot be "confirmed" by its own mirror image.
//!
//! Trampolines (facts from CRIU's `criu/arch/*/vdso-pie.c` and the ISA manuals):
//!
//! * x86-64 and x32 (64-bit code): CRIU writes `movabs $target, %rax; jmp *%rax` (10 + 2 bytes) padded
//!   with `int3` to 16 bytes. A restorer that parks the runtime vDSO within ±2 GiB can use a 5-byte
//!   `jmp rel32` instead, which fits every exported x86 function of the real images.
//! * i386 (32-bit code): `mov $target, %eax; jmp *%eax` (5 + 2 bytes) padded with `int3` to 11 bytes, or
//!   the 5-byte `jmp rel32` (which reaches the whole 32-bit space).
//! * arm64: `ldr x16, #8; br x16; .quad target` (16 bytes), or `b target` (4 bytes) within ±128 MiB.
//! * mips, loongarch64, s390x: CRIU's stubs byte for byte, and a short direct jump (see
//!   `encode_mips`, `encode_loongarch`, `encode_s390x`). CRIU's MIPS stub branches backwards and never
//!   reaches its target.
//! * ppc64 (either byte order): this lab's `b target` (4 bytes, ±32 MiB) or the target built in r12
//!   and `mtctr r12; bctr` (28 bytes), see `encode_ppc64`. MIPS and ppc64 words follow the image's
//!   byte order (`Arch::encode_for`, `Arch::decode_for`).
//! * riscv64: this lab's `auipc t1, hi; jalr zero, lo(t1)` (8 bytes, ±2 GiB) or `auipc t1, 0;
//!   ld t1, 12(t1); jalr zero, 0(t1); .dword target` (20 bytes), see `encode_riscv`. The decoders
//!   (`decode_riscv`, `decode_ppc64`) are small interpreters of the ISA fields, not mirrors of the
//!   encoders.
//! * CRIU on riscv64 and ppc64le: one shared lookup stub copied into the dumped image and a short
//!   call into it per entry (`Arch::shared_stub_code`, `Arch::shared_stub_call`,
//!   `policy::Rules::shared_stub`); such a call leads anywhere only through the stub, so it is decoded
//!   in the whole patched image (`Arch::decode_in`).

use crate::image::Image;
use goblin::elf::header as eh;
use std::fmt;

mod facts;
pub use facts::{Facts, Func, TABLE};

/// CRIU's shared-stub trampolines (riscv64 from v4.1, ppc64le): one lookup stub copied into the
/// dumped image, and per listed entry a short call into it. Facts from CRIU 4.2.1; the bytes are
/// this lab's encoding of what CRIU's source says it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedStub {
    /// Bytes of the per-entry call (`TRAMP_CALL_SIZE`).
    pub call_size: u64,
    /// Bytes of the stub itself (`vdso_trampoline_size()`).
    pub stub_size: u64,
    /// Room CRIU demands behind the call for the stub (and its table): `total_size` on riscv64
    /// (stub + `VDSO_SYMBOL_MAX` = 6 doublewords, criu/arch/riscv64/vdso-pie.c:57-58), the stub
    /// alone on ppc64 (criu/arch/ppc64/vdso-pie.c:63, :92).
    pub room: u64,
    /// Whether CRIU stops looking after placing the stub (riscv64 returns at once,
    /// vdso-pie.c:96-98; ppc64 goes on checking every pair for "small vDSO symbol", :80-90).
    pub stops_at_placement: bool,
}

impl Arch {
    /// CRIU's shared-stub scheme on this architecture, if it has one.
    pub fn shared_stub(self) -> Option<SharedStub> {
        match self {
            Arch::Riscv64 => Some(SharedStub {
                call_size: 8,
                stub_size: 18,
                room: 18 + 6 * 8,
                stops_at_placement: true,
            }),
            Arch::Ppc64 => Some(SharedStub {
                call_size: 16,
                stub_size: 20,
                room: 20,
                stops_at_placement: false,
            }),
            _ => None,
        }
    }

    /// The lookup stub CRIU copies into the dumped image.
    ///
    /// * riscv64, `riscv_vdso_lookup` (criu/arch/riscv64/vdso-lookup.S:6-15): `la t1, end; slli t0,
    ///   t0, 3; add t1, t0, t1; ld t2, 0(t1); jr t2`, as an RV64GC assembler builds it (`llvm-mc
    ///   -mattr=+c`: `auipc t1, 0; addi t1, t1, 18; c.slli t0, 3; c.add t1, t0; ld t2, 0(t1); c.jr
    ///   t2`, 18 bytes); the table of targets follows it.
    /// * ppc64, `vdso_trampoline` (criu/arch/ppc64/vdso-trampoline.S:5-10): `mflr r12; mtlr r0;
    ///   ld r12, 0(r12); mtctr r12; bctr`: the target is the doubleword after the caller's `bl`.
    pub fn shared_stub_code(self, big_endian: bool) -> Option<Vec<u8>> {
        match self {
            Arch::Riscv64 => Some(vec![
                0x17, 0x03, 0x00, 0x00, // auipc t1, 0
                0x13, 0x03, 0x23, 0x01, // addi t1, t1, 18
                0x8e, 0x02, // c.slli t0, 3
                0x16, 0x93, // c.add t1, t0
                0x83, 0x33, 0x03, 0x00, // ld t2, 0(t1)
                0x82, 0x83, // c.jr t2
            ]),
            Arch::Ppc64 => {
                let words = [
                    0x7d88_02a6u32,
                    0x7c08_03a6,
                    0xe98c_0000,
                    0x7d89_03a6,
                    0x4e80_0420,
                ];
                Some(
                    words
                        .iter()
                        .flat_map(|w| {
                            if big_endian {
                                w.to_be_bytes()
                            } else {
                                w.to_le_bytes()
                            }
                        })
                        .collect(),
                )
            }
            _ => None,
        }
    }

    /// The call CRIU writes at `from` into the stub at `stub`, for the `index`-th listed entry the
    /// dumped image has, whose target is `to`.
    ///
    /// * riscv64 (criu/arch/riscv64/vdso-pie.c:105-133): `li t0, index` (as `addi t0, zero, imm`)
    ///   and `jal zero, stub`. CRIU builds the first as `0x00000293 | index << 24` (:115, :123),
    ///   which puts `16 * index` in the 12-bit immediate (bits 31..20); `index_shifted` false writes
    ///   the immediate `index` instead (`index << 20`). The target goes into table slot `index`
    ///   (:131-132), which the caller writes.
    /// * ppc64 (criu/arch/ppc64/vdso-pie.c:109-118): `mflr r0; bl stub; .quad to`, the doubleword in
    ///   the image's byte order.
    pub fn shared_stub_call(
        self,
        big_endian: bool,
        from: u64,
        stub: u64,
        index: u32,
        to: u64,
        index_shifted: bool,
    ) -> Option<Trampoline> {
        let mut b = Trampoline::new();
        match self {
            Arch::Riscv64 => {
                let li = 0x0000_0293u32
                    | if index_shifted {
                        index << 24
                    } else {
                        index << 20
                    };
                let d = stub.wrapping_sub(from.wrapping_add(4)) as i64;
                if d % 2 != 0 || !(-(1 << 20)..(1 << 20)).contains(&d) {
                    return None; // out of `jal`'s reach (CRIU does not check)
                }
                let d = d as u32;
                // J-type: imm[20] bit 31, imm[10:1] bits 30..21, imm[11] bit 20, imm[19:12] 19..12.
                let jal = 0x6f
                    | ((d >> 20) & 1) << 31
                    | ((d >> 1) & 0x3ff) << 21
                    | ((d >> 11) & 1) << 20
                    | ((d >> 12) & 0xff) << 12;
                b.extend_from_slice(&li.to_le_bytes());
                b.extend_from_slice(&jal.to_le_bytes());
            }
            Arch::Ppc64 => {
                let d = stub.wrapping_sub(from.wrapping_add(4)) as i64;
                if !(-(1 << 25)..(1 << 25)).contains(&d) {
                    return None;
                }
                let bl = 0x4800_0001u32 | (d as u32 & 0x03ff_fffc);
                for w in [0x7c08_02a6u32, bl] {
                    b.extend_from_slice(&if big_endian {
                        w.to_be_bytes()
                    } else {
                        w.to_le_bytes()
                    });
                }
                b.extend_from_slice(&if big_endian {
                    to.to_be_bytes()
                } else {
                    to.to_le_bytes()
                });
            }
            _ => return None,
        }
        Some(b)
    }
}

/// Whether ELF bytes say big-endian (`EI_DATA` = `ELFDATA2MSB`): the byte order a dumped image's
/// trampolines are written and read in (see [`Arch::encode_for`]).
pub fn big_endian_image(bytes: &[u8]) -> bool {
    bytes.get(5) == Some(&2)
}

/// A trampoline's bytes: at most 16 on every modelled architecture, so kept inline.
pub type Trampoline = smallvec::SmallVec<[u8; 16]>;

/// An instruction-set architecture as a vDSO image is built for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    /// 32-bit x86 images (`linux-gate.so.1`), also the compat vDSO of x86-64 kernels.
    I386,
    /// The x32 ABI: ELFCLASS32 images of 64-bit code.
    X32,
    Aarch64,
    Arm,
    Ppc64,
    Ppc,
    S390x,
    S390,
    Riscv64,
    Mips64,
    /// MIPS o32 (ELFCLASS32 without `EF_MIPS_ABI2`).
    Mips,
    /// MIPS n32: ELFCLASS32 images of 64-bit code, `EF_MIPS_ABI2` in `e_flags` (the `vdso-n32` image of
    /// a mips64 kernel). Another ABI than o32: a process of one never runs on the other's vDSO.
    MipsN32,
    Loongarch64,
}

/// How a trampoline reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Load the absolute target into a scratch register and jump through it (CRIU's choice): reaches
    /// anywhere, but is long (16 bytes on x86-64 and arm64, 11 on i386).
    Absolute,
    /// A PC-relative direct jump (5 bytes on x86, 4 on arm64): short, but reaches only ±2 GiB on x86-64
    /// and ±128 MiB on arm64.
    Relative,
}

/// Why no trampoline can be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The target is out of the style's reach from `from`.
    OutOfReach { from: u64, to: u64, style: Style },
    /// The address does not fit the architecture (e.g. above 4 GiB for i386).
    BadAddress(u64),
    /// The architecture's trampolines are not modelled yet.
    Unsupported(Arch),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::OutOfReach { from, to, style } => {
                write!(
                    f,
                    "{to:#x} is out of reach of a {style:?} jump at {from:#x}"
                )
            }
            EncodeError::BadAddress(a) => {
                write!(f, "{a:#x} is not an address of this architecture")
            }
            EncodeError::Unsupported(a) => write!(f, "no trampoline is modelled for {}", a.name()),
        }
    }
}

const INT3: u8 = 0xcc;

/// `e_flags` bit of MIPS n32 images (`EF_MIPS_ABI2`).
const EF_MIPS_ABI2: u32 = 0x20;

/// What must agree, beyond the [`Arch`], for a process of one image's ABI to run on the other's
/// entry points: the byte order, and the ABI bits of `e_flags` — the ARM EABI version
/// (`EF_ARM_EABIMASK`), the PowerPC 64 ELF ABI version (ELFv1 or ELFv2: function descriptors or
/// not), the MIPS ABI (`EF_MIPS_ABI`, o32/o64/eabi). Other `e_flags` bits (float ABI details, ISA
/// level) vary between builds of one ABI and are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Abi {
    pub big_endian: bool,
    /// The ABI bits of `e_flags` (masked per machine; 0 where no bit is an ABI bit).
    pub flags: u32,
}

impl Abi {
    pub fn of(img: &Image) -> Abi {
        let mask = match img.machine {
            eh::EM_ARM => 0xff00_0000,                 // EF_ARM_EABIMASK
            eh::EM_PPC64 => 0x3,                       // EF_PPC64_ABI
            eh::EM_MIPS => 0x0000_f000 | EF_MIPS_ABI2, // EF_MIPS_ABI, EF_MIPS_ABI2
            _ => 0,
        };
        Abi {
            big_endian: img.endian == crate::image::Endian::Big,
            flags: img.flags & mask,
        }
    }

    /// For reports: `little-endian`, `big-endian, ELFv1`, `little-endian, EABI5`, ...
    pub fn describe(self, arch: Arch) -> String {
        let order = if self.big_endian {
            "big-endian"
        } else {
            "little-endian"
        };
        let abi = match arch {
            Arch::Arm => match self.flags >> 24 {
                0 => "old ABI (no EABI version)".to_string(),
                v => format!("EABI{v}"),
            },
            Arch::Ppc64 => match self.flags {
                0 => "ELF ABI unspecified".to_string(),
                v => format!("ELFv{v}"),
            },
            Arch::Mips | Arch::MipsN32 | Arch::Mips64 => match self.flags & 0xf000 {
                0 => String::new(),
                0x1000 => "o32".to_string(),
                0x2000 => "o64".to_string(),
                0x3000 => "eabi32".to_string(),
                0x4000 => "eabi64".to_string(),
                v => format!("EF_MIPS_ABI {v:#x}"),
            },
            _ => String::new(),
        };
        if abi.is_empty() {
            order.to_string()
        } else {
            format!("{order}, {abi}")
        }
    }
}

impl Arch {
    /// Every architecture, in display order.
    pub const ALL: [Arch; 14] = [
        Arch::X86_64,
        Arch::I386,
        Arch::X32,
        Arch::Aarch64,
        Arch::Arm,
        Arch::Ppc64,
        Arch::Ppc,
        Arch::S390x,
        Arch::S390,
        Arch::Riscv64,
        Arch::Mips64,
        Arch::Mips,
        Arch::MipsN32,
        Arch::Loongarch64,
    ];

    /// The architecture of an image, from its machine and class.
    pub fn of(img: &Image) -> Option<Arch> {
        use crate::image::Class::*;
        Some(match (img.machine, img.class) {
            (eh::EM_X86_64, Elf64) => Arch::X86_64,
            (eh::EM_X86_64, Elf32) => Arch::X32,
            (eh::EM_386, _) => Arch::I386,
            (eh::EM_AARCH64, _) => Arch::Aarch64,
            (eh::EM_ARM, _) => Arch::Arm,
            (eh::EM_PPC64, _) => Arch::Ppc64,
            (eh::EM_PPC, _) => Arch::Ppc,
            (eh::EM_S390, Elf64) => Arch::S390x,
            (eh::EM_S390, Elf32) => Arch::S390,
            (eh::EM_RISCV, Elf64) => Arch::Riscv64,
            (eh::EM_MIPS, Elf64) => Arch::Mips64,
            (eh::EM_MIPS, Elf32) if img.flags & EF_MIPS_ABI2 != 0 => Arch::MipsN32,
            (eh::EM_MIPS, Elf32) => Arch::Mips,
            (eh::EM_LOONGARCH, Elf64) => Arch::Loongarch64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// Largest address of the process's address space (32-bit code cannot jump above 4 GiB).
    pub fn max_address(self) -> u64 {
        match self.facts().class {
            crate::image::Class::Elf32 => u64::from(u32::MAX),
            crate::image::Class::Elf64 => u64::MAX,
        }
    }

    /// Size in bytes of a trampoline of `style`, if modelled.
    pub fn trampoline_size(self, style: Style) -> Option<usize> {
        match (self, style) {
            (Arch::X86_64 | Arch::X32, Style::Absolute) => Some(16),
            (Arch::I386, Style::Absolute) => Some(11),
            (Arch::X86_64 | Arch::X32 | Arch::I386, Style::Relative) => Some(5),
            (Arch::Aarch64, Style::Absolute) => Some(16),
            (Arch::Aarch64, Style::Relative) => Some(4),
            (Arch::Arm, Style::Absolute) => Some(12),
            (Arch::Arm, Style::Relative) => Some(4),
            (Arch::Mips | Arch::MipsN32 | Arch::Mips64, Style::Absolute) => Some(12),
            (Arch::Mips | Arch::MipsN32 | Arch::Mips64, Style::Relative) => Some(8),
            (Arch::Loongarch64, Style::Absolute) => Some(24),
            (Arch::Loongarch64, Style::Relative) => Some(4),
            (Arch::S390x, Style::Absolute) => Some(26),
            (Arch::S390x, Style::Relative) => Some(6),
            (Arch::Riscv64, Style::Absolute) => Some(20),
            (Arch::Riscv64, Style::Relative) => Some(8),
            (Arch::Ppc64, Style::Absolute) => Some(28),
            (Arch::Ppc64, Style::Relative) => Some(4),
            _ => None,
        }
    }

    /// The bytes a restorer writes at `from` to jump to `to`, in the architecture's usual byte order
    /// (big-endian on s390x, little-endian elsewhere; see [`Arch::encode_for`]).
    pub fn encode(self, style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
        self.encode_for(self == Arch::S390x, style, from, to)
    }

    /// Whether instruction words follow the image's byte order: on MIPS and PowerPC a big-endian
    /// image stores every instruction word big-endian; x86, arm64 and arm (BE8), riscv64 and
    /// loongarch64 instructions are little-endian whatever the data order; s390x is big-endian only.
    pub fn order_matters(self) -> bool {
        matches!(
            self,
            Arch::Mips | Arch::MipsN32 | Arch::Mips64 | Arch::Ppc64 | Arch::Ppc
        )
    }

    /// [`Arch::encode`] for an image of the given byte order: on MIPS and ppc64 (whose trampolines are
    /// all 32-bit words: instructions and, on MIPS, CRIU's 32-bit target word) a big-endian image gets
    /// every word big-endian.
    pub fn encode_for(
        self,
        big_endian: bool,
        style: Style,
        from: u64,
        to: u64,
    ) -> Result<Trampoline, EncodeError> {
        let mut b = self.encode_words(style, from, to)?;
        if big_endian && self.order_matters() {
            for w in b.chunks_exact_mut(4) {
                w.reverse();
            }
        }
        Ok(b)
    }

    fn encode_words(self, style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
        for a in [from, to] {
            if a > self.max_address() {
                return Err(EncodeError::BadAddress(a));
            }
        }
        let out_of_reach = || EncodeError::OutOfReach { from, to, style };
        match (self, style) {
            (Arch::X86_64 | Arch::X32, Style::Absolute) => {
                // REX.W B8+r: mov r64, imm64 (rax = 0); FF /4: jmp r/m64 with ModRM 11 100 000.
                let mut b = smallvec::smallvec![0x48, 0xb8];
                b.extend_from_slice(&to.to_le_bytes());
                b.extend_from_slice(&[0xff, 0xe0]);
                b.resize(16, INT3);
                Ok(b)
            }
            (Arch::I386, Style::Absolute) => {
                // B8+r: mov r32, imm32 (eax); FF /4: jmp r/m32.
                let mut b = smallvec::smallvec![0xb8];
                b.extend_from_slice(&(to as u32).to_le_bytes());
                b.extend_from_slice(&[0xff, 0xe0]);
                b.resize(11, INT3);
                Ok(b)
            }
            (Arch::X86_64 | Arch::X32 | Arch::I386, Style::Relative) => {
                // E9 cd: jmp rel32, relative to the end of the 5-byte instruction.
                let next = from.wrapping_add(5);
                let rel = to.wrapping_sub(next) as i64;
                let rel = if self == Arch::I386 {
                    // 32-bit code: the displacement wraps modulo 2^32, so every target is in reach.
                    (to as u32).wrapping_sub(next as u32) as i32
                } else {
                    // 64-bit code (x32 included: its pointers are 32-bit, its jumps are not) does not
                    // wrap at 4 GiB.
                    i32::try_from(rel).map_err(|_| out_of_reach())?
                };
                let mut b = smallvec::smallvec![0xe9];
                b.extend_from_slice(&rel.to_le_bytes());
                Ok(b)
            }
            (Arch::Aarch64, Style::Absolute) => {
                // LDR (literal), 64-bit: 0x58000000 | imm19 << 5 | Rt, imm19 = 8 / 4 (the literal after
                // the BR); BR Xn: 0xd61f0000 | Rn << 5; x16 (IP0) is the intra-procedure scratch register.
                let mut b = Trampoline::new();
                b.extend_from_slice(&(0x5800_0000u32 | (2 << 5) | 16).to_le_bytes());
                b.extend_from_slice(&(0xd61f_0000u32 | (16 << 5)).to_le_bytes());
                b.extend_from_slice(&to.to_le_bytes());
                Ok(b)
            }
            (Arch::Aarch64, Style::Relative) => {
                // B imm26: 0x14000000 | imm26, target = PC + imm26 * 4, ±128 MiB.
                let delta = to.wrapping_sub(from) as i64;
                if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                    return Err(out_of_reach());
                }
                let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
                Ok((0x1400_0000u32 | imm26).to_le_bytes().as_slice().into())
            }
            (Arch::Arm, Style::Absolute) => {
                // CRIU's arm stub: `ldr pc, [pc, #-4]` (PC reads 8 ahead, so this loads the next word),
                // the target, and `bkpt` as a guard.
                let mut b = Trampoline::new();
                b.extend_from_slice(&0xe51f_f004u32.to_le_bytes());
                b.extend_from_slice(&(to as u32).to_le_bytes());
                b.extend_from_slice(&0xe120_0070u32.to_le_bytes());
                Ok(b)
            }
            (Arch::Arm, Style::Relative) => {
                // B imm24 (cond AL): target = PC + 8 + imm24 * 4, ±32 MiB.
                let delta = to.wrapping_sub(from.wrapping_add(8)) as u32 as i32 as i64;
                if delta % 4 != 0 || !(-(1 << 25)..(1 << 25)).contains(&delta) {
                    return Err(out_of_reach());
                }
                let imm24 = ((delta >> 2) as u32) & 0x00ff_ffff;
                Ok((0xea00_0000u32 | imm24).to_le_bytes().as_slice().into())
            }
            (Arch::Mips | Arch::MipsN32 | Arch::Mips64, _) => encode_mips(style, from, to),
            (Arch::Loongarch64, _) => encode_loongarch(style, from, to),
            (Arch::S390x, _) => encode_s390x(style, from, to),
            (Arch::Riscv64, _) => encode_riscv(style, from, to),
            (Arch::Ppc64, _) => encode_ppc64(style, from, to),
            _ => Err(EncodeError::Unsupported(self)),
        }
    }

    /// Whether the first `len` bytes of `bytes` lie inside the alignment filler the architecture's
    /// toolchain pads `.text` with: `int3`, `nop` and the multi-byte no-ops (`lea 0(%esi,%eiz,1),%esi`
    /// and `nopw`) on x86, decoded whole from `bytes[0]`; `nopr %r7` (`07 07`) on s390x; `nop` words on
    /// arm64, arm, loongarch and mips (where `nop` is the zero word). False for `len` 0.
    pub fn is_padding(self, bytes: &[u8], len: usize) -> bool {
        let words = |nop: u32| {
            bytes.get(..len.next_multiple_of(4)).is_some_and(|b| {
                b.chunks_exact(4)
                    .all(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) == nop)
            })
        };
        len > 0
            && match self {
                Arch::X86_64 | Arch::X32 => x86_filler(bytes, len, 64),
                Arch::I386 => x86_filler(bytes, len, 32),
                Arch::S390x | Arch::S390 => bytes
                    .get(..len.next_multiple_of(2))
                    .is_some_and(|b| b.iter().all(|&x| x == 0x07)),
                Arch::Aarch64 => words(0xd503_201f),
                Arch::Arm => words(0xe320_f000) || words(0xe1a0_0000),
                Arch::Loongarch64 => words(0x0340_0000),
                Arch::Mips | Arch::MipsN32 | Arch::Mips64 => words(0),
                // `nop` is `ori 0, 0, 0` (0x60000000) in either byte order.
                Arch::Ppc64 => words(0x6000_0000) || words(0x0000_0060),
                // `nop` (addi zero, zero, 0) and `c.nop` halfwords; the linker pads with either.
                Arch::Riscv64 => bytes.get(..len.next_multiple_of(2)).is_some_and(|b| {
                    let mut i = 0;
                    while i < b.len() {
                        match b.get(i..i + 4) {
                            Some([0x13, 0, 0, 0]) => i += 4,
                            _ if b.get(i..i + 2) == Some(&[0x01, 0x00][..]) => i += 2,
                            _ => return false,
                        }
                    }
                    true
                }),
                _ => false,
            }
    }

    /// Whether this lab models (encodes and decodes) trampolines for the architecture.
    pub fn modelled(self) -> bool {
        self.trampoline_size(Style::Absolute).is_some()
    }

    /// Where the code at `at` (whose bytes start `bytes`) jumps, if it is a trampoline this lab
    /// recognizes: a direct jump, or a load of an absolute address followed by a jump through the same
    /// register. `None` for anything else (ordinary function code, garbage, truncated bytes).
    pub fn decode(self, bytes: &[u8], at: u64) -> Option<u64> {
        self.decode_for(self == Arch::S390x, bytes, at)
    }

    /// [`Arch::decode_for`] of the code at `at` inside memory `region` that starts at address
    /// `base` (a whole restored image): on riscv64 and ppc64 a trampoline may call into a shared
    /// stub elsewhere in the image and load its target from there, which only the whole region
    /// shows; elsewhere the same as decoding the region's bytes from `at` on. `None` when `at` is
    /// outside the region.
    pub fn decode_in(self, big_endian: bool, region: &[u8], base: u64, at: u64) -> Option<u64> {
        let off = usize::try_from(at.wrapping_sub(base)).ok()?;
        let rest = region.get(off..).filter(|r| !r.is_empty())?;
        match self {
            Arch::Riscv64 => decode_riscv(region, base, at),
            Arch::Ppc64 => decode_ppc64(region, base, at, big_endian),
            _ => self.decode_for(big_endian, rest, at),
        }
    }

    /// [`Arch::decode`] of the bytes of an image of the given byte order (it matters on MIPS and
    /// ppc64 only, see [`Arch::order_matters`]).
    pub fn decode_for(self, big_endian: bool, bytes: &[u8], at: u64) -> Option<u64> {
        match self {
            Arch::X86_64 | Arch::X32 => decode_x86(bytes, at, 64),
            Arch::I386 => decode_x86(bytes, at, 32),
            Arch::Aarch64 => decode_a64(bytes, at),
            Arch::Arm => decode_a32(bytes, at),
            Arch::Mips | Arch::MipsN32 | Arch::Mips64 => decode_mips(bytes, at, big_endian),
            Arch::Ppc64 => decode_ppc64(bytes, at, at, big_endian),
            Arch::Loongarch64 => decode_loongarch(bytes, at),
            Arch::S390x => decode_s390x(bytes, at),
            Arch::Riscv64 => decode_riscv(bytes, at, at),
            _ => None,
        }
    }

    /// The decoded instruction text of a trampoline, for reports (`movabs $0x..,%rax; jmp *%rax`).
    /// [`Arch::disassemble`] of bytes written in an image of the given byte order: on MIPS and ppc64
    /// ([`Arch::order_matters`]) the words are read in that order.
    pub fn disassemble_for(self, big_endian: bool, bytes: &[u8], at: u64) -> String {
        if !self.order_matters() {
            return self.disassemble(bytes, at);
        }
        match self.decode_for(big_endian, bytes, at) {
            Some(t) => format!("jump to {t:#x}"),
            None => String::new(),
        }
    }

    pub fn disassemble(self, bytes: &[u8], at: u64) -> String {
        match self {
            Arch::X86_64 | Arch::X32 => disassemble_x86(bytes, at, 64),
            Arch::I386 => disassemble_x86(bytes, at, 32),
            Arch::Aarch64 => disassemble_a64(bytes, at),
            Arch::Arm => match (a64_word(bytes, 0), decode_a32(bytes, at)) {
                (Some(0xe51f_f004), Some(t)) => format!("ldr pc, [pc, #-4]; .word {t:#x}"),
                (Some(_), Some(t)) => format!("b {t:#x}"),
                _ => String::new(),
            },
            Arch::Riscv64 => disassemble_riscv(bytes, at),
            _ => match self.decode(bytes, at) {
                Some(t) => format!("jump to {t:#x}"),
                None => String::new(),
            },
        }
    }
}

/// MIPS (words in the image's byte order: little-endian on Debian's mipsel and mips64el, big-endian on
/// mips and mips64; see [`Arch::encode_for`]).
///
/// Absolute is CRIU's stub, byte for byte (criu/arch/mips/vdso-pie.c `insert_trampoline`, v3.19 to
/// v4.2.1): `0x1000fffe` (commented "b -4"), the target as a 32-bit word, `break`. `0x1000fffe` is
/// `beq $zero, $zero, -2`: a branch to the instruction *before* the stub (PC + 4 - 8), with the target
/// word in its delay slot executed as an instruction. It never reaches the target, and the decoder
/// below says so. Relative is this lab's: `j target; nop`, within the 256 MiB region of the delay slot.
fn encode_mips(style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
    let mut b = Trampoline::new();
    match style {
        Style::Absolute => {
            for w in [0x1000_fffeu32, to as u32, 0x0000_000d] {
                b.extend_from_slice(&w.to_le_bytes());
            }
        }
        Style::Relative => {
            let slot = from.wrapping_add(4);
            if to & 3 != 0 || slot & !0x0fff_ffff != to & !0x0fff_ffff {
                return Err(EncodeError::OutOfReach { from, to, style });
            }
            let j = 0x0800_0000u32 | ((to >> 2) as u32 & 0x03ff_ffff);
            b.extend_from_slice(&j.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes()); // nop in the delay slot
        }
    }
    Ok(b)
}

/// MIPS: `j imm26` (opcode 2) or `beq $zero, $zero, imm16` (the unconditional `b`), read from the
/// instruction fields.
fn decode_mips(bytes: &[u8], at: u64, big_endian: bool) -> Option<u64> {
    let w = word_in(bytes, 0, big_endian)?;
    let slot = at.wrapping_add(4);
    match w >> 26 {
        2 => Some((slot & !0x0fff_ffff) | (u64::from(w & 0x03ff_ffff) << 2)),
        4 if (w >> 16) & 0x3ff == 0 => {
            let off = sign_extend(u64::from(w & 0xffff), 16) * 4;
            Some(slot.wrapping_add(off as u64))
        }
        _ => None,
    }
}

/// LoongArch64. Absolute is CRIU's stub (criu/arch/loongarch64/vdso-pie.c, v4.1.1 and v4.2.1):
/// `pcaddi $r21, 4; ldptr.d $r21, $r21, 0; jirl $zero, $r21, 0; break 0; .quad target` (24 bytes).
/// Relative: `b offs26`, ±128 MiB.
fn encode_loongarch(style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
    let mut b = Trampoline::new();
    match style {
        Style::Absolute => {
            for w in [0x1800_0095u32, 0x2600_02b5, 0x4c00_02a0, 0x002a_0000] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend_from_slice(&to.to_le_bytes());
        }
        Style::Relative => {
            let delta = to.wrapping_sub(from) as i64;
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(EncodeError::OutOfReach { from, to, style });
            }
            let offs = ((delta >> 2) as u32) & 0x03ff_ffff;
            // B: opcode 0b010100, offs[15:0] in bits 25..10, offs[25:16] in bits 9..0.
            let w = 0x5000_0000u32 | ((offs & 0xffff) << 10) | (offs >> 16);
            b.extend_from_slice(&w.to_le_bytes());
        }
    }
    Ok(b)
}

/// LoongArch64: `b offs26`, or `pcaddi rd, si20` + `ldptr.d rd, rd, si14` + `jirl $zero, rd, 0` with the
/// literal inside `bytes`.
fn decode_loongarch(bytes: &[u8], at: u64) -> Option<u64> {
    let w0 = a64_word(bytes, 0)?;
    if w0 >> 26 == 0b010100 {
        let offs = ((w0 & 0x3ff) << 16) | ((w0 >> 10) & 0xffff);
        let off = sign_extend(u64::from(offs), 26) * 4;
        return Some(at.wrapping_add(off as u64));
    }
    if w0 >> 25 != 0b000_1100 {
        return None; // not pcaddi
    }
    let rd = w0 & 0x1f;
    let lit = sign_extend(u64::from((w0 >> 5) & 0xf_ffff), 20) * 4;
    let w1 = a64_word(bytes, 1)?;
    // ldptr.d: opcode 0x26 in bits 31..24, si14 in 23..10, rj in 9..5, rd in 4..0.
    if w1 >> 24 != 0x26 || w1 & 0x1f != rd || (w1 >> 5) & 0x1f != rd {
        return None;
    }
    let lit = lit + sign_extend(u64::from((w1 >> 10) & 0x3fff), 14) * 4;
    let w2 = a64_word(bytes, 2)?;
    // jirl $zero, rj, 0: opcode 0x13 in bits 31..26, offs16 0, rj, rd 0.
    if w2 >> 26 != 0x13 || w2 & 0x1f != 0 || (w2 >> 5) & 0x1f != rd || (w2 >> 10) & 0xffff != 0 {
        return None;
    }
    let lit = usize::try_from(lit).ok()?;
    let v = bytes.get(lit..lit.checked_add(8)?)?;
    Some(u64::from_le_bytes(v.try_into().ok()?))
}

/// s390x (big-endian). Absolute is CRIU's stub (criu/arch/s390/vdso-pie.c, v3.19 to v4.2.1):
/// `larl %r1, .+14; lg %r1, 0(%r1); br %r1; .quad target; .long 0xcccccccc` (26 bytes).
/// Relative: `brcl 15, target` (6 bytes), ±4 GiB in halfwords.
fn encode_s390x(style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
    let mut b = Trampoline::new();
    match style {
        Style::Absolute => {
            b.extend_from_slice(&[0xc0, 0x10, 0x00, 0x00, 0x00, 0x07]);
            b.extend_from_slice(&[0xe3, 0x10, 0x10, 0x00, 0x00, 0x04]);
            b.extend_from_slice(&[0x07, 0xf1]);
            b.extend_from_slice(&to.to_be_bytes());
            b.extend_from_slice(&[0xcc; 4]);
        }
        Style::Relative => {
            let delta = to.wrapping_sub(from) as i64;
            let halves = i32::try_from(delta / 2).ok().filter(|_| delta % 2 == 0);
            let Some(h) = halves else {
                return Err(EncodeError::OutOfReach { from, to, style });
            };
            b.extend_from_slice(&[0xc0, 0xf4]);
            b.extend_from_slice(&h.to_be_bytes());
        }
    }
    Ok(b)
}

/// s390x: `brcl 15, ri2`, or `larl r, ri2` + `lg r, d(r)` + `br r` (`bcr 15, r`) with the literal inside
/// `bytes`.
fn decode_s390x(bytes: &[u8], at: u64) -> Option<u64> {
    let b = bytes.get(..6)?;
    let imm = || i64::from(i32::from_be_bytes([b[2], b[3], b[4], b[5]])) * 2;
    if b[0] == 0xc0 && b[1] == 0xf4 {
        return Some(at.wrapping_add(imm() as u64));
    }
    if b[0] != 0xc0 || b[1] & 0x0f != 0 {
        return None; // not larl
    }
    let r = b[1] >> 4;
    let lit = imm();
    // lg r1, d2(x2, b2): e3 | r1 x2 | b2 dl(12 bits) | dh | 04; only the plain d2(r) form.
    let lg = bytes.get(6..12)?;
    let disp = (i64::from(lg[2] & 0x0f) << 8 | i64::from(lg[3])) | i64::from(lg[4] as i8) << 12;
    if lg[0] != 0xe3 || lg[1] != r << 4 || lg[2] >> 4 != r || lg[5] != 0x04 {
        return None;
    }
    let br = bytes.get(12..14)?;
    if br[0] != 0x07 || br[1] != 0xf0 | r {
        return None;
    }
    let lit = usize::try_from(lit + disp).ok()?;
    let v = bytes.get(lit..lit.checked_add(8)?)?;
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// riscv64 (instructions are little-endian on every RISC-V Linux). `t1` (x6) is the scratch register
/// the psABI's `tail` pseudo-instruction uses: caller-saved, so free at a function's entry.
///
/// Relative: `auipc t1, hi20; jalr zero, lo12(t1)`, with `lo12` the sign-extended low 12 bits of the
/// distance and `hi20` the rest rounded so that `hi20 << 12 + lo12` is the distance: reaches
/// `-2^31 - 2^11 ..= 2^31 - 2^11 - 1`.
/// Absolute: `auipc t1, 0; ld t1, 12(t1); jalr zero, 0(t1)` and the target as a little-endian doubleword
/// (at +12: misaligned where the function is 8-aligned; Linux completes misaligned user loads on RISC-V,
/// arch/riscv/kernel/traps_misaligned.c, so the form is correct if slow, and is only the fallback).
fn encode_riscv(style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
    const T1: u32 = 6;
    let u_type = |opcode: u32, rd: u32, imm20: u32| opcode | rd << 7 | (imm20 & 0xf_ffff) << 12;
    let i_type = |opcode: u32, funct3: u32, rd: u32, rs1: u32, imm12: u32| {
        opcode | rd << 7 | funct3 << 12 | rs1 << 15 | (imm12 & 0xfff) << 20
    };
    let (auipc, load, jalr) = (0x17, 0x03, 0x67);
    if to & 1 != 0 {
        return Err(EncodeError::BadAddress(to)); // `jalr` clears bit 0: no instruction starts there
    }
    let mut b = Trampoline::new();
    match style {
        Style::Relative => {
            let delta = to.wrapping_sub(from) as i64;
            let lo = (delta << 52) >> 52; // sign-extended low 12 bits
            let hi = (delta - lo) >> 12;
            if !(-(1 << 19)..(1 << 19)).contains(&hi) {
                return Err(EncodeError::OutOfReach { from, to, style });
            }
            b.extend_from_slice(&u_type(auipc, T1, hi as u32).to_le_bytes());
            b.extend_from_slice(&i_type(jalr, 0, 0, T1, lo as u32).to_le_bytes());
        }
        Style::Absolute => {
            b.extend_from_slice(&u_type(auipc, T1, 0).to_le_bytes());
            b.extend_from_slice(&i_type(load, 3, T1, T1, 12).to_le_bytes()); // ld: funct3 011
            b.extend_from_slice(&i_type(jalr, 0, 0, T1, 0).to_le_bytes());
            b.extend_from_slice(&to.to_le_bytes());
        }
    }
    Ok(b)
}

/// Instructions a riscv64 trampoline may execute before its last jump (CRIU's call and lookup stub
/// together take 8).
const RISCV_STEPS: usize = 12;

/// riscv64: run the straight-line code at `at` on a register file of unknown values (`x0` is zero)
/// and return where it jumps, if the registers that jump depends on are known. `bytes` are the
/// memory from address `base` on (a whole image, or just the trampoline with `base` = `at`); loads
/// and a continued jump stay inside them.
///
/// Understood: `lui`, `auipc`, `addi`, `slli`, `add`, `ld`, `jal zero` and `jalr zero`, and the
/// compressed `c.li`, `c.addi`, `c.slli`, `c.mv`, `c.add`, `c.jr` that an RV64GC assembler makes of
/// some of them. A `jal zero` that is the first instruction is a jump (the answer); after other
/// instructions it carries their register values on into the code it reaches (a call into a shared
/// stub), when that code lies in `bytes`. Anything else (a call that links, a store, another opcode)
/// is not a trampoline. Fields per the RISC-V unprivileged ISA (20191213): chapter 2 (RV32I
/// formats), 5 (RV64I `ld`, 6-bit `slli`), 16 (the C extension: CI, CR formats, table 16.5-16.7).
fn decode_riscv(bytes: &[u8], base: u64, at: u64) -> Option<u64> {
    let mut x = [None::<u64>; 32];
    x[0] = Some(0);
    let mut pc = at;
    let inside = |a: u64| {
        usize::try_from(a.wrapping_sub(base))
            .ok()
            .filter(|&o| o < bytes.len())
    };
    for step in 0..RISCV_STEPS {
        let off = inside(pc)?;
        let half = u16::from_le_bytes(bytes.get(off..off.checked_add(2)?)?.try_into().ok()?);
        if half & 3 != 3 {
            // Compressed: CI (c.li, c.addi, c.slli: rd in 11..7, imm[5] in 12, imm[4:0] in 6..2) and
            // CR (c.mv, c.add, c.jr: rd/rs1 in 11..7, rs2 in 6..2).
            let h = u32::from(half);
            let rd = ((h >> 7) & 0x1f) as usize;
            let rs2 = ((h >> 2) & 0x1f) as usize;
            let imm6 = u64::from((h >> 12) & 1) << 5 | u64::from((h >> 2) & 0x1f);
            let simm6 = sign_extend(imm6, 6) as u64;
            let value = match (h & 3, h >> 13, (h >> 12) & 1) {
                (1, 0b010, _) if rd != 0 => Some(simm6), // c.li
                (1, 0b000, _) if rd != 0 => x[rd].map(|v| v.wrapping_add(simm6)), // c.addi
                (2, 0b000, _) if rd != 0 => x[rd].map(|v| v << imm6), // c.slli
                (2, 0b100, 0) if rd != 0 && rs2 != 0 => x[rs2], // c.mv
                (2, 0b100, 1) if rd != 0 && rs2 != 0 => {
                    x[rd].zip(x[rs2]).map(|(a, b)| a.wrapping_add(b)) // c.add
                }
                (2, 0b100, 0) if rd != 0 => return x[rd].map(|v| v & !1), // c.jr
                _ => return None,
            };
            x[rd] = value;
            pc = pc.wrapping_add(2);
            continue;
        }
        let w = bytes.get(off..off.checked_add(4)?)?;
        let i = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let rd = ((i >> 7) & 0x1f) as usize;
        let rs1 = ((i >> 15) & 0x1f) as usize;
        let rs2 = ((i >> 20) & 0x1f) as usize;
        let funct3 = (i >> 12) & 7;
        let imm_i = sign_extend(u64::from(i >> 20), 12) as u64;
        let imm_u = sign_extend(u64::from(i & 0xffff_f000), 32) as u64;
        let value = match i & 0x7f {
            0x37 => Some(imm_u),                                          // lui
            0x17 => Some(pc.wrapping_add(imm_u)),                         // auipc
            0x13 if funct3 == 0 => x[rs1].map(|v| v.wrapping_add(imm_i)), // addi
            0x13 if funct3 == 1 && i >> 26 == 0 => x[rs1].map(|v| v << ((i >> 20) & 0x3f)), // slli
            0x33 if funct3 == 0 && i >> 25 == 0 => {
                x[rs1].zip(x[rs2]).map(|(a, b)| a.wrapping_add(b)) // add
            }
            0x03 if funct3 == 3 => {
                // ld: only from the bytes given.
                let o = inside(x[rs1]?.wrapping_add(imm_i))?;
                let v = bytes.get(o..o.checked_add(8)?)?;
                Some(u64::from_le_bytes(v.try_into().ok()?))
            }
            0x6f if rd == 0 => {
                // jal: imm[20|10:1|11|19:12] in bits 31..12.
                let imm = (i >> 31) << 20
                    | ((i >> 21) & 0x3ff) << 1
                    | ((i >> 20) & 1) << 11
                    | ((i >> 12) & 0xff) << 12;
                let target = pc.wrapping_add(sign_extend(u64::from(imm), 21) as u64);
                if step == 0 || inside(target).is_none() {
                    return Some(target);
                }
                pc = target;
                continue;
            }
            0x67 if rd == 0 && funct3 == 0 => return Some(x[rs1]?.wrapping_add(imm_i) & !1),
            _ => return None,
        };
        if rd != 0 {
            x[rd] = value;
        }
        pc = pc.wrapping_add(4);
    }
    None
}

fn disassemble_riscv(bytes: &[u8], at: u64) -> String {
    const NAMES: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
        "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
        "t5", "t6",
    ];
    let Some(target) = decode_riscv(bytes, at, at) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for w in bytes.chunks_exact(4).take(RISCV_STEPS) {
        let i = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let (rd, rs1) = (
            NAMES[((i >> 7) & 0x1f) as usize],
            NAMES[((i >> 15) & 0x1f) as usize],
        );
        let imm_i = sign_extend(u64::from(i >> 20), 12);
        let text = match i & 0x7f {
            0x37 => format!("lui {rd}, {:#x}", i >> 12),
            0x17 => format!("auipc {rd}, {:#x}", i >> 12),
            0x13 => format!("addi {rd}, {rs1}, {imm_i}"),
            0x03 => format!("ld {rd}, {imm_i}({rs1})"),
            0x33 => format!("add {rd}, {rs1}, {}", NAMES[((i >> 20) & 0x1f) as usize]),
            0x6f => format!("j {target:#x}"),
            _ => format!("jr {imm_i}({rs1})"),
        };
        let last = matches!(i & 0x7f, 0x6f | 0x67);
        parts.push(text);
        if last {
            break;
        }
    }
    if bytes.len() >= 20 && parts.len() == 3 && parts[1].starts_with("ld") {
        parts.push(format!(".dword {target:#x}"));
    }
    parts.join("; ")
}

/// ppc64 (either byte order, ELFv1 or ELFv2: the vDSO exports code addresses, not function
/// descriptors, on both — its `V_FUNCTION_BEGIN` is `.globl name; name:` with no `.opd` entry; the
/// descriptor variant sat behind `VDS64_HAS_DESCRIPTORS`, which arch/powerpc/include/asm/vdso.h left
/// undefined until the switch was dropped; a libc on ELFv1 makes its own descriptor for the entry.
/// The words are written little-endian here and swapped by [`Arch::encode_for`] for a big-endian
/// image).
///
/// Relative: `b target` (I-form: opcode 18, a 24-bit word offset, AA = LK = 0), ±32 MiB.
/// Absolute: the target built in r12 with immediates and a jump through CTR: `lis r12, t[63:48];
/// ori r12, r12, t[47:32]; sldi r12, r12, 32; oris r12, r12, t[31:16]; ori r12, r12, t[15:0];
/// mtctr r12; bctr` (28 bytes) — the kernel's `LOAD_REG_IMMEDIATE` pattern. It leaves LR (the
/// caller's return address) alone, reads no memory, and r12 is volatile and, under ELFv2, the
/// register a global entry point expects to hold its own address. (CRIU's ppc64le scheme is a
/// per-entry `mflr r0; bl stub; .quad target` into one shared stub, criu/arch/ppc64/vdso-pie.c:
/// 109-118 and vdso-trampoline.S:5-10, is `Arch::shared_stub_call`.)
fn encode_ppc64(style: Style, from: u64, to: u64) -> Result<Trampoline, EncodeError> {
    const R12: u32 = 12;
    let d_form = |op: u32, rt: u32, ra: u32, imm: u64| {
        op << 26 | rt << 21 | ra << 16 | (imm as u32 & 0xffff)
    };
    let mut b = Trampoline::new();
    match style {
        Style::Relative => {
            let delta = to.wrapping_sub(from) as i64;
            if delta % 4 != 0 || !(-(1 << 25)..(1 << 25)).contains(&delta) {
                return Err(EncodeError::OutOfReach { from, to, style });
            }
            b.extend_from_slice(&(18 << 26 | (delta as u32 & 0x03ff_fffc)).to_le_bytes());
        }
        Style::Absolute => {
            if to & 3 != 0 {
                return Err(EncodeError::BadAddress(to));
            }
            let words = [
                d_form(15, R12, 0, to >> 48),              // addis r12, 0, hi (lis)
                d_form(24, R12, R12, to >> 32),            // ori (rS is the first field)
                0x798c_07c6, // rldicr r12, r12, 32, 31 (sldi r12, r12, 32)
                d_form(25, R12, R12, to >> 16), // oris
                d_form(24, R12, R12, to), // ori
                31 << 26 | R12 << 21 | 9 << 16 | 467 << 1, // mtspr CTR (SPR 9), r12
                0x4e80_0420, // bcctr 20, 0 (bctr)
            ];
            for w in words {
                b.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    Ok(b)
}

/// Instructions a ppc64 trampoline may execute before its jump.
const PPC_STEPS: usize = 12;

/// ppc64: run the straight-line code at `at` on unknown registers until a jump, per the Power ISA
/// v3.1B Book I field layouts (primary opcode in the top six bits): `addi`/`addis` (rA 0 reads as
/// zero), `ori`/`oris`, `rldicr` (MD-form, as `sldi`), `mfspr`/`mtspr` of LR and CTR, `ld` (from
/// `bytes` only, which start at `at`), `b` (a jump: its target), `bl` (followed only into `bytes`,
/// with LR set, as a call into a stub), `bctr` and `blr` (the register's value). Anything else is
/// not a trampoline.
fn decode_ppc64(bytes: &[u8], base: u64, at: u64, big_endian: bool) -> Option<u64> {
    const LR: usize = 32;
    const CTR: usize = 33;
    let mut r = [None::<u64>; 34];
    let mut pc = at;
    let inside = |a: u64| {
        usize::try_from(a.wrapping_sub(base))
            .ok()
            .filter(|&o| o < bytes.len())
    };
    for _ in 0..PPC_STEPS {
        let w: [u8; 4] = bytes.get(inside(pc)?..)?.get(..4)?.try_into().ok()?;
        let w = if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        };
        let (rt, ra) = (((w >> 21) & 31) as usize, ((w >> 16) & 31) as usize);
        let uimm = u64::from(w & 0xffff);
        let simm = sign_extend(uimm, 16) as u64;
        let reg0 = |ra: usize| if ra == 0 { Some(0) } else { r[ra] };
        // SPR number: its two 5-bit halves are swapped in the instruction (bits 20..11).
        let spr = ((w >> 16) & 31) | ((w >> 11) & 31) << 5;
        match (w >> 26, (w >> 1) & 0x3ff) {
            (18, _) => {
                let li = sign_extend(u64::from(w & 0x03ff_fffc), 26) as u64;
                let target = if w & 2 != 0 { li } else { pc.wrapping_add(li) };
                if w & 1 == 0 {
                    return Some(target);
                }
                // bl: into a stub inside the given bytes, or no trampoline.
                inside(target)?;
                r[LR] = Some(pc.wrapping_add(4));
                pc = target;
                continue;
            }
            (14, _) => r[rt] = reg0(ra).map(|v| v.wrapping_add(simm)),
            (15, _) => r[rt] = reg0(ra).map(|v| v.wrapping_add(simm << 16)),
            (24, _) => r[ra] = r[rt].map(|v| v | uimm),
            (25, _) => r[ra] = r[rt].map(|v| v | uimm << 16),
            (30, _) if (w >> 2) & 7 == 1 => {
                // rldicr rA, rS, sh, me: rotate left by sh, keep bits 0..=me (big-endian bit
                // numbering). sh = sh[0:4] in bits 15..11 with sh[5] in bit 1; me = me[5] in bit
                // 5 then me[0:4] in bits 10..6 (MD-form).
                let sh = ((w >> 11) & 31) | ((w >> 1) & 1) << 5;
                let me = ((w >> 6) & 31) | ((w >> 5) & 1) << 5;
                let mask = u64::MAX << (63 - me);
                r[ra] = r[rt].map(|v| v.rotate_left(sh) & mask);
            }
            (31, 339) if spr == 8 => r[rt] = r[LR],
            (31, 467) if spr == 8 => r[LR] = r[rt],
            (31, 467) if spr == 9 => r[CTR] = r[rt],
            (58, _) if w & 3 == 0 => {
                // ld rT, ds(rA): DS-form, the displacement's low two bits are the sub-opcode.
                let a = reg0(ra)?.wrapping_add(sign_extend(u64::from(w & 0xfffc), 16) as u64);
                let o = inside(a)?;
                let v: [u8; 8] = bytes.get(o..o.checked_add(8)?)?.try_into().ok()?;
                r[rt] = Some(if big_endian {
                    u64::from_be_bytes(v)
                } else {
                    u64::from_le_bytes(v)
                });
            }
            // bcctr / bclr with BO = 1z1zz (branch always), no link: bctr, blr. The next address
            // is the register with its low two bits cleared (Book I 2.4).
            (19, 528) if w & 1 == 0 && (w >> 21) & 0x14 == 0x14 => return r[CTR].map(|v| v & !3),
            (19, 16) if w & 1 == 0 && (w >> 21) & 0x14 == 0x14 => return r[LR].map(|v| v & !3),
            _ => return None,
        }
        pc = pc.wrapping_add(4);
    }
    None
}

fn word_in(bytes: &[u8], i: usize, big_endian: bool) -> Option<u32> {
    let w: [u8; 4] = bytes.get(i.checked_mul(4)?..)?.get(..4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    })
}

/// x86 filler: whole instructions from `bytes[0]`, each `nop` (any length), `int3`, or a `lea` of a
/// register onto itself with no displacement, until `len` bytes are covered.
fn x86_filler(bytes: &[u8], len: usize, bitness: u32) -> bool {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
    let mut d = Decoder::with_ip(bitness, bytes, 0, DecoderOptions::NONE);
    while (d.position()) < len {
        if !d.can_decode() {
            return false;
        }
        let i = d.decode();
        let filler = match i.mnemonic() {
            Mnemonic::Nop | Mnemonic::Int3 => true,
            Mnemonic::Lea => {
                i.op1_kind() == OpKind::Memory
                    && i.memory_base() == i.op0_register()
                    && i.memory_displacement64() == 0
                    && i.memory_index() == iced_x86::Register::None
            }
            _ => false,
        };
        if i.is_invalid() || !filler {
            return false;
        }
    }
    true
}

fn decode_x86(bytes: &[u8], at: u64, bitness: u32) -> Option<u64> {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
    let mut d = Decoder::with_ip(bitness, bytes, at, DecoderOptions::NONE);
    let first = d.decode();
    if first.is_invalid() {
        return None;
    }
    if first.mnemonic() == Mnemonic::Jmp
        && matches!(
            first.op0_kind(),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
        )
    {
        return Some(first.near_branch_target());
    }
    // mov reg, imm ; jmp reg
    if first.mnemonic() != Mnemonic::Mov
        || first.op0_kind() != OpKind::Register
        || !matches!(first.op1_kind(), OpKind::Immediate64 | OpKind::Immediate32)
    {
        return None;
    }
    let reg = first.op0_register();
    let target = first.immediate(1);
    if !d.can_decode() {
        return None;
    }
    let second = d.decode();
    let jumps_through_reg = second.mnemonic() == Mnemonic::Jmp
        && second.op0_kind() == OpKind::Register
        && second.op0_register() == reg;
    jumps_through_reg.then_some(target)
}

fn disassemble_x86(bytes: &[u8], at: u64, bitness: u32) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};
    let mut d = Decoder::with_ip(bitness, bytes, at, DecoderOptions::NONE);
    let mut f = GasFormatter::new();
    f.options_mut().set_uppercase_hex(false);
    let mut parts = Vec::new();
    let mut text = String::new();
    while d.can_decode() && parts.len() < 4 {
        let i = d.decode();
        if i.is_invalid() {
            break;
        }
        text.clear();
        f.format(&i, &mut text);
        let stop = i.mnemonic() == iced_x86::Mnemonic::Jmp;
        parts.push(text.clone());
        if stop {
            break;
        }
    }
    parts.join("; ")
}

fn a64_word(bytes: &[u8], i: usize) -> Option<u32> {
    let w = bytes.get(4 * i..4 * i + 4)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// A64: `B imm26`, or `LDR Xt, literal` + `BR Xt` with the literal inside `bytes`.
fn decode_a64(bytes: &[u8], at: u64) -> Option<u64> {
    let w0 = a64_word(bytes, 0)?;
    if w0 & 0xfc00_0000 == 0x1400_0000 {
        let off = sign_extend(u64::from(w0 & 0x03ff_ffff), 26) * 4;
        return Some(at.wrapping_add(off as u64));
    }
    if w0 & 0xff00_0000 == 0x5800_0000 {
        let rt = w0 & 0x1f;
        let lit = sign_extend(u64::from((w0 >> 5) & 0x7_ffff), 19) * 4;
        let w1 = a64_word(bytes, 1)?;
        // BR Xn: 1101011 0000 11111 000000 Rn 00000
        if w1 & 0xffff_fc1f != 0xd61f_0000 || (w1 >> 5) & 0x1f != rt {
            return None;
        }
        let lit = usize::try_from(lit).ok()?;
        let v = bytes.get(lit..lit + 8)?;
        return Some(u64::from_le_bytes(v.try_into().ok()?));
    }
    None
}

/// A32 (ARM state): `ldr pc, [pc, #-4]` + literal, or `b imm24` (condition AL).
fn decode_a32(bytes: &[u8], at: u64) -> Option<u64> {
    let w0 = a64_word(bytes, 0)?;
    if w0 == 0xe51f_f004 {
        return a64_word(bytes, 1).map(u64::from);
    }
    if w0 & 0xff00_0000 == 0xea00_0000 {
        let off = sign_extend(u64::from(w0 & 0x00ff_ffff), 24) * 4;
        return Some(u64::from(
            (at as u32).wrapping_add(8).wrapping_add(off as u32),
        ));
    }
    None
}

fn disassemble_a64(bytes: &[u8], at: u64) -> String {
    match (a64_word(bytes, 0), decode_a64(bytes, at)) {
        (Some(w), Some(t)) if w & 0xfc00_0000 == 0x1400_0000 => format!("b {t:#x}"),
        (Some(w), Some(t)) => format!("ldr x{}, #8; br x{}; .quad {t:#x}", w & 0x1f, w & 0x1f),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_absolute_is_criu_shape() {
        let b = Arch::X86_64
            .encode(Style::Absolute, 0x1000, 0x7fff_1234_5678)
            .unwrap();
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..2], &[0x48, 0xb8]);
        assert_eq!(&b[10..12], &[0xff, 0xe0]);
        assert!(b[12..].iter().all(|&x| x == INT3));
        assert_eq!(Arch::X86_64.decode(&b, 0x1000), Some(0x7fff_1234_5678));
        assert_eq!(
            Arch::X86_64.disassemble(&b, 0x1000),
            "movabs $0x7fff12345678,%rax; jmp *%rax"
        );
    }

    #[test]
    fn relative_reach() {
        let from = 0x7f00_0000_0000u64;
        assert!(Arch::X86_64
            .encode(Style::Relative, from, from + (1 << 31) - 6)
            .is_ok());
        assert_eq!(
            Arch::X86_64.encode(Style::Relative, from, from + (1 << 31) + 100),
            Err(EncodeError::OutOfReach {
                from,
                to: from + (1 << 31) + 100,
                style: Style::Relative
            })
        );
        // i386 wraps: everything in 4 GiB is reachable.
        let b = Arch::I386
            .encode(Style::Relative, 0xffff_f000, 0x1000)
            .unwrap();
        assert_eq!(Arch::I386.decode(&b, 0xffff_f000), Some(0x1000));
        assert!(Arch::I386.encode(Style::Absolute, 0, 1 << 32).is_err());
    }

    #[test]
    fn arm64_both_styles() {
        let b = Arch::Aarch64
            .encode(Style::Absolute, 0x4000, 0xffff_0000_1234)
            .unwrap();
        assert_eq!(b.len(), 16);
        assert_eq!(Arch::Aarch64.decode(&b, 0x4000), Some(0xffff_0000_1234));
        let b = Arch::Aarch64
            .encode(Style::Relative, 0x4000, 0x1000)
            .unwrap();
        assert_eq!(Arch::Aarch64.decode(&b, 0x4000), Some(0x1000));
        assert!(Arch::Aarch64.encode(Style::Relative, 0, 1 << 28).is_err());
    }

    #[test]
    fn arm_both_styles() {
        let b = Arch::Arm
            .encode(Style::Absolute, 0x4000, 0xb6f0_1234)
            .unwrap();
        assert_eq!(b.len(), 12);
        assert_eq!(Arch::Arm.decode(&b, 0x4000), Some(0xb6f0_1234));
        let b = Arch::Arm
            .encode(Style::Relative, 0x10_0000, 0x8000)
            .unwrap();
        assert_eq!(Arch::Arm.decode(&b, 0x10_0000), Some(0x8000));
    }

    /// CRIU's stubs, byte for byte as its `insert_trampoline`s write them (criu/arch/{mips,loongarch64,
    /// s390}/vdso-pie.c, v4.2.1), and what they decode to.
    #[test]
    fn criu_stubs_of_mips_loongarch_s390x() {
        let b = Arch::Mips64
            .encode(Style::Absolute, 0x1000, 0x7fff_1234)
            .unwrap();
        assert_eq!(
            b.as_slice(),
            &[0xfe, 0xff, 0x00, 0x10, 0x34, 0x12, 0xff, 0x7f, 0x0d, 0, 0, 0]
        );
        // `b -4` is beq $zero,$zero,-2: back to the word before the stub, never to the target.
        assert_eq!(Arch::Mips64.decode(&b, 0x1000), Some(0xffc));
        let b = Arch::Loongarch64
            .encode(Style::Absolute, 0x1000, 0x7fff_0000_1234)
            .unwrap();
        assert_eq!(&b[..4], &0x1800_0095u32.to_le_bytes());
        assert_eq!(&b[16..], &0x7fff_0000_1234u64.to_le_bytes());
        assert_eq!(Arch::Loongarch64.decode(&b, 0x1000), Some(0x7fff_0000_1234));
        let b = Arch::S390x
            .encode(Style::Absolute, 0x1000, 0x3ff_8000_0450)
            .unwrap();
        assert_eq!(
            &b[..14],
            &[0xc0, 0x10, 0, 0, 0, 7, 0xe3, 0x10, 0x10, 0, 0, 4, 0x07, 0xf1]
        );
        assert_eq!(b.len(), 26);
        assert_eq!(Arch::S390x.decode(&b, 0x1000), Some(0x3ff_8000_0450));
        // Short forms.
        let b = Arch::S390x.encode(Style::Relative, 0x1000, 0x800).unwrap();
        assert_eq!(b.as_slice(), &[0xc0, 0xf4, 0xff, 0xff, 0xfc, 0x00]);
        assert_eq!(Arch::S390x.decode(&b, 0x1000), Some(0x800));
        let b = Arch::Loongarch64
            .encode(Style::Relative, 0x1000, 0x10_0000)
            .unwrap();
        assert_eq!(Arch::Loongarch64.decode(&b, 0x1000), Some(0x10_0000));
        let b = Arch::Mips
            .encode(Style::Relative, 0x40_1000, 0x40_8000)
            .unwrap();
        assert_eq!(&b[..4], &(0x0800_0000u32 | (0x40_8000 >> 2)).to_le_bytes());
        assert_eq!(Arch::Mips.decode(&b, 0x40_1000), Some(0x40_8000));
        // Garbage is nothing.
        assert_eq!(Arch::S390x.decode(&[0xc0, 0x10, 0, 0, 0, 7, 0, 0], 0), None);
        assert_eq!(
            Arch::Loongarch64.decode(&0x1800_0095u32.to_le_bytes(), 0),
            None
        );
    }

    /// Known answers from a real assembler, not from `encode_riscv`: each byte string is what
    /// `llvm-mc -triple=riscv64 -show-encoding` (LLVM 14.0.6) prints for the instructions named beside
    /// it.
    #[test]
    fn riscv64_decodes_assembler_bytes() {
        // auipc t1, 74565; jr -4(t1): 0x1000 + 0x12345000 - 4.
        let rel = [0x17, 0x53, 0x34, 0x12, 0x67, 0x00, 0xc3, 0xff];
        assert_eq!(Arch::Riscv64.decode(&rel, 0x1000), Some(0x1234_5ffc));
        // auipc t1, 1048575 (-1); jr 2047(t1): 0x10_0000 - 0x1000 + 2047, with bit 0 cleared (jalr
        // sets the least significant bit of its target to zero, ISA 2.5.1).
        let back = [0x17, 0xf3, 0xff, 0xff, 0x67, 0x00, 0xf3, 0x7f];
        assert_eq!(Arch::Riscv64.decode(&back, 0x10_0000), Some(0xf_f7fe));
        // auipc t1, 0; ld t1, 12(t1); jr t1 (jalr zero, 0(t1)); .dword
        let mut abs = vec![
            0x17, 0x03, 0x00, 0x00, 0x03, 0x33, 0xc3, 0x00, 0x67, 0x00, 0x03, 0x00,
        ];
        abs.extend_from_slice(&0x3f_8000_1234u64.to_le_bytes());
        assert_eq!(Arch::Riscv64.decode(&abs, 0x5000), Some(0x3f_8000_1234));
        // The literal cut off: no target.
        assert_eq!(Arch::Riscv64.decode(&abs[..16], 0x5000), None);
        // j -8 (jal zero, -8).
        assert_eq!(
            Arch::Riscv64.decode(&[0x6f, 0xf0, 0x9f, 0xff], 0x2000),
            Some(0x1ff8)
        );
        // li t0, 16; slli t0, t0, 3; auipc t1, 0; addi t1, t1, 20; add t1, t0, t1; ld t2, 0(t1);
        // jr t2: a computed table load (CRIU's lookup stub does this with an index in t0); slot 16*8
        // lies past these bytes, so nothing is known.
        let lookup = [
            0x93, 0x02, 0x00, 0x01, 0x93, 0x92, 0x32, 0x00, 0x17, 0x03, 0x00, 0x00, 0x13, 0x03,
            0x43, 0x01, 0x33, 0x83, 0x62, 0x00, 0x83, 0x33, 0x03, 0x00, 0x67, 0x80, 0x03, 0x00,
        ];
        assert_eq!(Arch::Riscv64.decode(&lookup, 0), None);
        // The same with index 0 (li t0, 0 = addi t0, zero, 0) and the table right after: slot 0.
        let mut lookup0 = lookup.to_vec();
        lookup0[..4].copy_from_slice(&[0x93, 0x02, 0x00, 0x00]);
        lookup0.extend_from_slice(&0xabcd_0000u64.to_le_bytes());
        // auipc at +8, addi 20: the table starts at +28, right after `jr t2`.
        assert_eq!(Arch::Riscv64.decode(&lookup0, 0), Some(0xabcd_0000));
        // Ordinary code: li a7, 139; ecall (sigreturn); jal ra, 8 (a call links: not a jump);
        // c.nop; compressed `jr t1`.
        assert_eq!(
            Arch::Riscv64.decode(&[0x93, 0x08, 0xb0, 0x08, 0x73, 0, 0, 0], 0),
            None
        );
        assert_eq!(Arch::Riscv64.decode(&[0xef, 0x00, 0x80, 0x00], 0), None);
        assert_eq!(Arch::Riscv64.decode(&[0x01, 0x00, 0x02, 0x83], 0), None);
        assert_eq!(Arch::Riscv64.decode(&[], 0), None);
    }

    #[test]
    fn riscv64_encodes_what_the_decoder_reads() {
        for (from, to) in [
            (0x1000u64, 0x1234_5ffcu64),
            (0x7fff_0000_0000, 0x7fff_0000_0000 - 0x7fff_f800),
            (0x10_0000, 0x10_0800), // lo12 = 0x800 must borrow from hi20
            (0x10_0000, 0x10_07fe),
        ] {
            let b = Arch::Riscv64.encode(Style::Relative, from, to).unwrap();
            assert_eq!(b.len(), 8);
            assert_eq!(
                Arch::Riscv64.decode(&b, from),
                Some(to),
                "{from:#x} -> {to:#x}"
            );
        }
        // Exactly the assembler's bytes for the first pair.
        let b = Arch::Riscv64
            .encode(Style::Relative, 0x1000, 0x1234_5ffc)
            .unwrap();
        assert_eq!(
            b.as_slice(),
            &[0x17, 0x53, 0x34, 0x12, 0x67, 0x00, 0xc3, 0xff]
        );
        let b = Arch::Riscv64
            .encode(Style::Absolute, 0x5000, 0x3f_8000_1234)
            .unwrap();
        assert_eq!(
            &b[..12],
            &[0x17, 0x03, 0x00, 0x00, 0x03, 0x33, 0xc3, 0x00, 0x67, 0x00, 0x03, 0x00]
        );
        assert_eq!(Arch::Riscv64.decode(&b, 0x5000), Some(0x3f_8000_1234));
        assert_eq!(
            Arch::Riscv64.disassemble(&b, 0x5000),
            "auipc t1, 0x0; ld t1, 12(t1); jr 0(t1); .dword 0x3f80001234"
        );
        assert_eq!(
            Arch::Riscv64.encode(Style::Absolute, 0, 0x1001),
            Err(EncodeError::BadAddress(0x1001))
        );
        // Out of reach: 2^31 - 2^11 is the first distance `auipc` + `jalr` cannot make.
        assert!(Arch::Riscv64
            .encode(Style::Relative, 0, (1 << 31) - (1 << 11) - 2)
            .is_ok());
        assert!(Arch::Riscv64
            .encode(Style::Relative, 0, (1 << 31) - (1 << 11))
            .is_err());
        assert!(Arch::Riscv64
            .encode(Style::Relative, 1 << 32, (1 << 32) - (1 << 31) - (1 << 11))
            .is_ok());
    }

    /// ppc64 known answers from `llvm-mc -triple=powerpc64{,le}` (LLVM 14.0.6), branches resolved
    /// through `-filetype=obj` and `llvm-objdump -d`.
    #[test]
    fn ppc64_decodes_assembler_bytes() {
        // lis 12, 0x1234; ori 12, 12, 0x5678; sldi 12, 12, 32; oris 12, 12, 0x9abc;
        // ori 12, 12, 0xdef0; mtctr 12; bctr
        let be: [u8; 28] = [
            0x3d, 0x80, 0x12, 0x34, 0x61, 0x8c, 0x56, 0x78, 0x79, 0x8c, 0x07, 0xc6, 0x65, 0x8c,
            0x9a, 0xbc, 0x61, 0x8c, 0xde, 0xf0, 0x7d, 0x89, 0x03, 0xa6, 0x4e, 0x80, 0x04, 0x20,
        ];
        let le: [u8; 28] = [
            0x34, 0x12, 0x80, 0x3d, 0x78, 0x56, 0x8c, 0x61, 0xc6, 0x07, 0x8c, 0x79, 0xbc, 0x9a,
            0x8c, 0x65, 0xf0, 0xde, 0x8c, 0x61, 0xa6, 0x03, 0x89, 0x7d, 0x20, 0x04, 0x80, 0x4e,
        ];
        let t = 0x1234_5678_9abc_def0;
        assert_eq!(Arch::Ppc64.decode_for(true, &be, 0x4000), Some(t));
        assert_eq!(Arch::Ppc64.decode_for(false, &le, 0x4000), Some(t));
        // Read in the other order the words are other instructions.
        assert_eq!(Arch::Ppc64.decode_for(false, &be, 0x4000), None);
        // Without the bctr there is no jump.
        assert_eq!(Arch::Ppc64.decode_for(true, &be[..24], 0x4000), None);
        // `ori 12, 12, 0xdef3`: bctr drops CTR's low two bits.
        let mut odd = be;
        odd[19] = 0xf3;
        assert_eq!(Arch::Ppc64.decode_for(true, &odd, 0x4000), Some(t));
        // The encoder writes exactly these bytes.
        let ours = |big| {
            Arch::Ppc64
                .encode_for(big, Style::Absolute, 0x4000, t)
                .unwrap()
        };
        assert_eq!(ours(true).as_slice(), &be);
        assert_eq!(ours(false).as_slice(), &le);
        // b .+0x100 (big-endian), b .+0x40 (little-endian).
        assert_eq!(
            Arch::Ppc64.decode_for(true, &[0x48, 0x00, 0x01, 0x00], 0x1000),
            Some(0x1100)
        );
        assert_eq!(
            Arch::Ppc64.decode_for(false, &[0x40, 0x00, 0x00, 0x48], 0x1000),
            Some(0x1040)
        );
        let b = Arch::Ppc64
            .encode_for(true, Style::Relative, 0x1000, 0x1100)
            .unwrap();
        assert_eq!(b.as_slice(), &[0x48, 0x00, 0x01, 0x00]);
        let b = Arch::Ppc64
            .encode_for(false, Style::Relative, 0x10_0000, 0x8000)
            .unwrap();
        assert_eq!(Arch::Ppc64.decode_for(false, &b, 0x10_0000), Some(0x8000));
        assert!(Arch::Ppc64
            .encode_for(false, Style::Relative, 0, 1 << 25)
            .is_err());
        // CRIU's ppc64 shape, assembled big-endian: `mflr 0; bl 1f; .quad 0x1122334455667788;
        // 1: mflr 12; mtlr 0; ld 12, 0(12); mtctr 12; bctr` — the call leads into the stub, which
        // loads the doubleword after the `bl`.
        let criu = [
            0x7c, 0x08, 0x02, 0xa6, 0x48, 0x00, 0x00, 0x0d, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
            0x77, 0x88, 0x7d, 0x88, 0x02, 0xa6, 0x7c, 0x08, 0x03, 0xa6, 0xe9, 0x8c, 0x00, 0x00,
            0x7d, 0x89, 0x03, 0xa6, 0x4e, 0x80, 0x04, 0x20,
        ];
        assert_eq!(
            Arch::Ppc64.decode_for(true, &criu, 0x10c),
            Some(0x1122_3344_5566_7788)
        );
        // The call alone, its stub out of sight: not a trampoline.
        assert_eq!(Arch::Ppc64.decode_for(true, &criu[..16], 0x10c), None);
        // sc; blr; nop: not a trampoline.
        let sc = [0x44, 0, 0, 2, 0x4e, 0x80, 0, 0x20];
        assert_eq!(Arch::Ppc64.decode_for(true, &sc, 0), None);
        // `nop` (60 00 00 00 big-endian) is filler in either order; `sc` is not.
        assert!(Arch::Ppc64.is_padding(&[0x60, 0, 0, 0, 0x60, 0, 0, 0], 8));
        assert!(Arch::Ppc64.is_padding(&[0, 0, 0, 0x60], 4));
        assert!(!Arch::Ppc64.is_padding(&sc, 4));
    }

    /// Big-endian MIPS, from `llvm-mc -triple=mips` (LLVM 14.0.6): `j 0x408000; nop` and CRIU's
    /// `0x1000fffe` stub word order.
    #[test]
    fn mips_big_endian_words() {
        let j = [0x08, 0x10, 0x20, 0x00, 0, 0, 0, 0];
        assert_eq!(Arch::Mips.decode_for(true, &j, 0x40_1000), Some(0x40_8000));
        assert_ne!(Arch::Mips.decode_for(false, &j, 0x40_1000), Some(0x40_8000));
        let ours = Arch::Mips
            .encode_for(true, Style::Relative, 0x40_1000, 0x40_8000)
            .unwrap();
        assert_eq!(ours.as_slice(), &j);
        let criu = Arch::Mips64
            .encode_for(true, Style::Absolute, 0x1000, 0x7fff_1234)
            .unwrap();
        assert_eq!(
            criu.as_slice(),
            &[0x10, 0x00, 0xff, 0xfe, 0x7f, 0xff, 0x12, 0x34, 0, 0, 0, 0x0d]
        );
        assert_eq!(Arch::Mips64.decode_for(true, &criu, 0x1000), Some(0xffc));
    }

    /// CRIU's riscv64 scheme in one region: the call at 0, the stub at 8, its table at 26. The
    /// stub's bytes are what `llvm-mc -triple=riscv64 -mattr=+c` (LLVM 14.0.6) makes of
    /// criu/arch/riscv64/vdso-lookup.S; `li t0, 1` is `93 02 10 00` and `li t0, 16` (CRIU's
    /// `0x293 | 1 << 24`) is `93 02 00 01`, also from llvm-mc.
    #[test]
    fn criu_riscv64_lookup_stub_in_one_region() {
        let stub = Arch::Riscv64.shared_stub_code(false).unwrap();
        assert_eq!(
            stub,
            [
                0x17, 0x03, 0x00, 0x00, 0x13, 0x03, 0x23, 0x01, 0x8e, 0x02, 0x16, 0x93, 0x83, 0x33,
                0x03, 0x00, 0x82, 0x83
            ]
        );
        let base = 0x7f00_0000_0000u64;
        let region = |index_shifted: bool| {
            let call = Arch::Riscv64
                .shared_stub_call(false, base, base + 8, 1, 0, index_shifted)
                .unwrap();
            let mut r = call.to_vec();
            r.extend_from_slice(&stub);
            for slot in 0..6u64 {
                r.extend_from_slice(&(0x1000 * (slot + 1)).to_le_bytes());
            }
            r.extend_from_slice(&[0xee; 200]);
            r
        };
        let fixed = region(false);
        assert_eq!(&fixed[..4], &[0x93, 0x02, 0x10, 0x00]);
        assert_eq!(
            Arch::Riscv64.decode_in(false, &fixed, base, base),
            Some(0x2000)
        );
        let criu = region(true);
        assert_eq!(&criu[..4], &[0x93, 0x02, 0x00, 0x01]);
        // Slot 16: 128 bytes into the table, in the 0xee filler.
        assert_eq!(
            Arch::Riscv64.decode_in(false, &criu, base, base),
            Some(0xeeee_eeee_eeee_eeee & !1)
        );
        // The call alone is a hop to the stub.
        assert_eq!(Arch::Riscv64.decode(&criu[..8], base), Some(base + 8));
    }

    #[test]
    fn ordinary_code_is_not_a_trampoline() {
        // push %rbp; mov %rsp,%rbp
        assert_eq!(Arch::X86_64.decode(&[0x55, 0x48, 0x89, 0xe5], 0), None);
        // movabs to rax, then jmp through rcx: not one trampoline.
        let mut b = Arch::X86_64.encode(Style::Absolute, 0, 0x1234).unwrap();
        b[11] = 0xe1;
        assert_eq!(Arch::X86_64.decode(&b, 0), None);
        assert_eq!(Arch::X86_64.decode(&[], 0), None);
        assert_eq!(Arch::Aarch64.decode(&[0x1f, 0x20, 0x03, 0xd5], 0), None); // nop
    }
}
