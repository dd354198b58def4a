//! What a stale entry does when a process calls it after restore: the dumped kernel's code runs
//! unchanged, so its consequence depends on what that code touches. Decoded from the dumped image's
//! bytes (iced-x86 on x86, the A64 instruction fields on arm64), following direct jumps and calls
//! inside the image:
//!
//! * [`Consequence::ReadsDataPages`]: it addresses memory outside the image — the vvar pages, which
//!   after a proxy restore are the runtime kernel's (or CRIU's zero-filled stand-ins): wrong answers.
//! * [`Consequence::SelfContained`]: it touches no memory outside its stack and the image (syscall
//!   stubs, sigreturn trampolines, `__kernel_vsyscall`, `getcpu` via `rdpid`/`lsl`): harmless.
//! * [`Consequence::Unknown`]: an indirect jump or call, undecodable bytes, or an architecture whose
//!   instructions are not read here.

use crate::arch::Arch;
use std::collections::BTreeSet;

/// The consequence class of running a dumped entry point unchanged after restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    ReadsDataPages,
    SelfContained,
    Unknown,
}

impl Consequence {
    pub fn name(self) -> &'static str {
        match self {
            Consequence::ReadsDataPages => "reads-data-pages",
            Consequence::SelfContained => "self-contained",
            Consequence::Unknown => "unknown",
        }
    }
}

/// Instructions followed per entry point before giving up (`Unknown`).
const BUDGET: usize = 8192;

/// Classify the function of `size` bytes at `offset` of the image `bytes` (offsets are addresses:
/// the image is decoded at base 0, so anything outside `0..bytes.len()` is outside the image). A
/// path that falls through the function's end stops there: what follows is another function (a
/// sigreturn stub's `svc` or `int $0x80` never returns). `size` 0: no bound.
pub fn classify(arch: Arch, bytes: &[u8], offset: u64, size: u64) -> Consequence {
    let end = if size == 0 {
        u64::MAX
    } else {
        offset.saturating_add(size)
    };
    let own = offset..end;
    match arch {
        Arch::X86_64 | Arch::X32 => x86(bytes, own, 64),
        Arch::I386 => x86(bytes, own, 32),
        Arch::Aarch64 => a64(bytes, own),
        Arch::S390x | Arch::S390 => s390_stub(bytes, own),
        _ => Consequence::Unknown,
    }
}

/// s390: a syscall stub — `svc N` followed only by zero halfwords or `nopr` filler within the function
/// (`__kernel_sigreturn` is `svc 119; .short 0`) — is self-contained; anything else is not read here.
fn s390_stub(bytes: &[u8], own: std::ops::Range<u64>) -> Consequence {
    let body = usize::try_from(own.start)
        .ok()
        .zip(usize::try_from(own.end).ok())
        .and_then(|(a, b)| bytes.get(a..b));
    match body {
        Some([0x0a, _, rest @ ..]) if rest.iter().all(|&b| b == 0 || b == 0x07) => {
            Consequence::SelfContained
        }
        _ => Consequence::Unknown,
    }
}

struct Walk {
    reads_data: bool,
    unknown: bool,
}

fn x86(bytes: &[u8], own: std::ops::Range<u64>, bitness: u32) -> Consequence {
    let entry = own.start;
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};
    let len = bytes.len() as u64;
    let inside = |a: u64| a < len;
    let mut w = Walk {
        reads_data: false,
        unknown: false,
    };
    let mut seen = BTreeSet::new();
    // Work list of (address, register holding a known address, its value): i386 code reaches its
    // data through `call __x86.get_pc_thunk.REG` (`mov (%esp), REG; ret`) and `add $imm, REG`.
    let mut work = vec![(entry, None::<(Register, u64)>)];
    let mut steps = 0;
    let thunk_reg = |at: u64| -> Option<Register> {
        let mut d = Decoder::with_ip(bitness, bytes.get(at as usize..)?, at, DecoderOptions::NONE);
        let a = d.decode();
        let b = d.decode();
        let loads_ret = a.mnemonic() == Mnemonic::Mov
            && a.op0_kind() == OpKind::Register
            && a.op1_kind() == OpKind::Memory
            && matches!(a.memory_base(), Register::ESP | Register::RSP)
            && a.memory_displacement64() == 0
            && a.memory_index() == Register::None;
        (loads_ret && b.mnemonic() == Mnemonic::Ret).then(|| a.op0_register())
    };
    while let Some((start, mut known)) = work.pop() {
        let Some(code) = bytes.get(start as usize..) else {
            w.unknown = true;
            continue;
        };
        let mut d = Decoder::with_ip(bitness, code, start, DecoderOptions::NONE);
        loop {
            let ip = d.ip();
            if (own.contains(&start) && !own.contains(&ip)) || !seen.insert(ip) {
                break;
            }
            steps += 1;
            if steps > BUDGET || !d.can_decode() {
                w.unknown = true;
                break;
            }
            let i = d.decode();
            if i.is_invalid() {
                w.unknown = true;
                break;
            }
            for n in 0..i.op_count() {
                if i.op_kind(n) != OpKind::Memory || i.mnemonic() == Mnemonic::Lea {
                    continue;
                }
                // 32-bit code reaches the data pages from its GOT base in a register, often
                // spilled and reloaded: a displacement below minus the image size from any base but
                // the stack can only point before the image.
                let below = bitness == 32
                    && !matches!(
                        i.memory_base(),
                        Register::ESP | Register::EBP | Register::None
                    )
                    && (i.memory_displacement64() as u32 as i32 as i64) <= -(len as i64);
                if below {
                    w.reads_data = true;
                }
                let at = if i.is_ip_rel_memory_operand() {
                    Some(i.ip_rel_memory_address())
                } else {
                    match known {
                        Some((r, v))
                            if i.memory_base() == r && i.memory_index() == Register::None =>
                        {
                            Some(v.wrapping_add(i.memory_displacement64()) & mask(bitness))
                        }
                        _ => None,
                    }
                };
                if at.is_some_and(|a| !inside(a)) {
                    w.reads_data = true;
                }
            }
            // Track the PC-relative base register.
            if let Some((r, v)) = known {
                let writes_r = i.op_count() > 0
                    && i.op0_kind() == OpKind::Register
                    && i.op0_register().full_register() == r.full_register();
                if writes_r {
                    known = match (i.mnemonic(), i.op1_kind()) {
                        (Mnemonic::Add, OpKind::Immediate32 | OpKind::Immediate8to32) => {
                            Some((r, v.wrapping_add(i.immediate(1)) & mask(bitness)))
                        }
                        (Mnemonic::Lea, OpKind::Memory)
                            if i.memory_base() == r && i.memory_index() == Register::None =>
                        {
                            Some((r, v.wrapping_add(i.memory_displacement64()) & mask(bitness)))
                        }
                        _ => None,
                    };
                    if let (Mnemonic::Lea, Some((_, a))) = (i.mnemonic(), known) {
                        if !inside(a) {
                            w.reads_data = true; // an address into the data pages, about to be read
                        }
                    }
                }
            }
            match i.mnemonic() {
                Mnemonic::Ret | Mnemonic::Ud2 | Mnemonic::Int3 | Mnemonic::Hlt => break,
                Mnemonic::Jmp | Mnemonic::Call => {
                    if !matches!(
                        i.op0_kind(),
                        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
                    ) {
                        w.unknown = true;
                        break;
                    }
                    let t = i.near_branch_target();
                    if !inside(t) {
                        w.unknown = true;
                        break;
                    }
                    if i.mnemonic() == Mnemonic::Jmp {
                        work.push((t, known));
                        break;
                    }
                    match thunk_reg(t) {
                        Some(r) => known = Some((r, i.next_ip())),
                        None => work.push((t, None)),
                    }
                }
                _ if i.is_jcc_short_or_near() || i.is_loop() || i.is_jcx_short() => {
                    work.push((i.near_branch_target(), known));
                }
                _ => {}
            }
        }
    }
    verdict(&w)
}

fn mask(bitness: u32) -> u64 {
    if bitness == 32 {
        u64::from(u32::MAX)
    } else {
        u64::MAX
    }
}

fn verdict(w: &Walk) -> Consequence {
    if w.reads_data {
        Consequence::ReadsDataPages
    } else if w.unknown {
        Consequence::Unknown
    } else {
        Consequence::SelfContained
    }
}

/// A64: `adrp` or `adr` of an address outside the image reads the data pages; `b`/`bl`/`b.cond`/
/// `cbz`/`tbz` inside the image are followed; `br`/`blr` are unknown; `ret` ends a path.
fn a64(bytes: &[u8], own: std::ops::Range<u64>) -> Consequence {
    let entry = own.start;
    let len = bytes.len() as u64;
    let mut w = Walk {
        reads_data: false,
        unknown: false,
    };
    let mut seen = BTreeSet::new();
    let mut work = vec![entry];
    // Every word of the function too, not only the paths from its entry: arm64 kernels patch
    // branches at boot (alternatives; `__kernel_getrandom` starts with a `b` to its syscall fallback
    // in the kernel file), so a path that is dead in the file may be live in a running process.
    if own.end != u64::MAX {
        work.extend((entry..own.end.min(len)).step_by(4));
    }
    let mut steps = 0;
    let word = |at: u64| {
        let b = bytes.get(at as usize..at as usize + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let sext = |v: u64, bits: u32| (((v << (64 - bits)) as i64) >> (64 - bits)) as u64;
    while let Some(mut at) = work.pop() {
        let start = at;
        loop {
            if (own.contains(&start) && !own.contains(&at)) || !seen.insert(at) {
                break;
            }
            steps += 1;
            let Some(i) = word(at).filter(|_| steps <= BUDGET) else {
                w.unknown = true;
                break;
            };
            if i & 0x1f00_0000 == 0x1000_0000 {
                // adr / adrp: immlo bits 30..29, immhi bits 23..5.
                let imm = u64::from(((i >> 5) & 0x7_ffff) << 2 | ((i >> 29) & 3));
                let target = if i & 0x8000_0000 != 0 {
                    (at & !0xfff).wrapping_add(sext(imm, 21) << 12)
                } else {
                    at.wrapping_add(sext(imm, 21))
                };
                if target >= len && (target | 0xfff) >= len {
                    w.reads_data = true;
                }
            } else if i & 0x7c00_0000 == 0x1400_0000 {
                // b / bl
                let t = at.wrapping_add(sext(u64::from(i & 0x03ff_ffff), 26) << 2);
                if t >= len {
                    w.unknown = true;
                    break;
                }
                work.push(t);
                if i & 0x8000_0000 == 0 {
                    break; // b: no fall-through
                }
            } else if i & 0xff00_0010 == 0x5400_0000 || i & 0x7e00_0000 == 0x3400_0000 {
                // b.cond, cbz/cbnz: imm19 at bits 23..5
                work.push(at.wrapping_add(sext(u64::from((i >> 5) & 0x7_ffff), 19) << 2));
            } else if i & 0x7e00_0000 == 0x3600_0000 {
                // tbz/tbnz: imm14 at bits 18..5
                work.push(at.wrapping_add(sext(u64::from((i >> 5) & 0x3fff), 14) << 2));
            } else if i & 0xffff_fc1f == 0xd65f_0000 {
                break; // ret
            } else if i & 0xffdf_fc1f == 0xd61f_0000 {
                w.unknown = true; // br / blr
                break;
            }
            at += 4;
        }
    }
    verdict(&w)
}

/// The first syscall instruction (address, length) that starts inside `off..off + len` of the image
/// and whose restart address (itself) or return address (its end) lies strictly inside that span
/// other than at `off`: covering it with a trampoline breaks a thread stopped in that syscall.
/// x86 `syscall`/`sysenter`/`int $0x80` (decoded with iced-x86 from `off`), A64 `svc`, s390x `svc`,
/// MIPS `syscall`, LoongArch `syscall`; other architectures (arm: ARM or Thumb is not known here):
/// none found.
pub fn syscall_inside(arch: Arch, bytes: &[u8], off: u64, len: u64) -> Option<(u64, u64)> {
    let end = off.saturating_add(len);
    let bad = |x: u64, l: u64| (x > off && x < end) || (x + l > off && x + l < end);
    let words = |pred: &dyn Fn(u32) -> bool| {
        (off..end.min(bytes.len() as u64))
            .step_by(4)
            .find(|&x| {
                bytes
                    .get(x as usize..x as usize + 4)
                    .is_some_and(|w| pred(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            })
            .map(|x| (x, 4))
            .filter(|&(x, l)| bad(x, l))
    };
    match arch {
        Arch::X86_64 | Arch::X32 | Arch::I386 => {
            use iced_x86::{Decoder, DecoderOptions, Mnemonic};
            let bitness = if arch == Arch::I386 { 32 } else { 64 };
            let code = bytes.get(off as usize..end.min(bytes.len() as u64) as usize)?;
            let mut d = Decoder::with_ip(bitness, code, off, DecoderOptions::NONE);
            while d.can_decode() {
                let i = d.decode();
                let sys = matches!(i.mnemonic(), Mnemonic::Syscall | Mnemonic::Sysenter)
                    || (i.mnemonic() == Mnemonic::Int && i.immediate8() == 0x80);
                if sys && bad(i.ip(), i.len() as u64) {
                    return Some((i.ip(), i.len() as u64));
                }
            }
            None
        }
        Arch::Aarch64 => words(&|w| w & 0xffe0_001f == 0xd400_0001),
        Arch::Mips | Arch::MipsN32 | Arch::Mips64 => words(&|w| w & 0xfc00_003f == 0x0000_000c),
        Arch::Loongarch64 => words(&|w| w & 0xffff_8000 == 0x002b_0000),
        Arch::S390x | Arch::S390 => {
            // Instruction length from the first byte's top two bits: 00 → 2, 01/10 → 4, 11 → 6.
            let mut x = off;
            while x < end {
                let op = *bytes.get(x as usize)?;
                let l = [2, 4, 4, 6][usize::from(op >> 6)];
                if op == 0x0a && bad(x, l) {
                    return Some((x, l));
                }
                x += l;
            }
            None
        }
        _ => None,
    }
}
