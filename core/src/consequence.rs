//! What a stale entry does when a process calls it after restore: the dumped kernel's code runs
//! unchanged, so its consequence depends on what that code touches. Decoded from the dumped image's
//! bytes (iced-x86 on x86, the A64 instruction fields on arm64; on riscv64, ppc64, MIPS and 32-bit ARM
//! a small register tracker over each ISA's own fields that follows addresses made from the program
//! counter — `auipc`, `bcl 20,31,.+4; mflr`, `bal` plus a stored offset, `pc` as an ARM operand,
//! LoongArch's `pcaddi`/`pcalau12i`/`pcaddu12i` — in
//! the image's byte order; Thumb by one literal-pool idiom only; s390 syscall stubs only), following
//! direct jumps and calls inside the image:
//!
//! * [`Consequence::ReadsDataPages`]: it addresses memory outside the image — the vvar pages, which
//!   after a proxy restore are the runtime kernel's (or CRIU's zero-filled stand-ins): wrong answers.
//! * [`Consequence::SelfContained`]: it touches no memory outside its stack and the image (syscall
//!   stubs, sigreturn trampolines, `__kernel_vsyscall`, `getcpu` via `rdpid`/`lsl`): harmless.
//! * [`Consequence::Unknown`]: an indirect jump or call, undecodable bytes, or an architecture whose
//!   instructions are not read here (32-bit ppc, s390 beyond its stubs, big-endian ARM).

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
        Arch::Riscv64 => track(bytes, own, u64::MAX, false, true, &|at, r| {
            riscv(bytes, at, r)
        }),
        // Release 6 re-encodes the PC-relative and branch instructions the tracker reads (ADDIUPC,
        // AUIPC, compact branches in the old ADDI/BLEZL opcodes; MD00087 rev. 6.06, appendix A):
        // read as release 2, a data-page reader can look harmless. Not read.
        Arch::Mips64 | Arch::MipsN32 | Arch::Mips if mips_release6(bytes) => Consequence::Unknown,
        Arch::Mips64 | Arch::MipsN32 | Arch::Mips => {
            let big = big_endian(bytes);
            let mask = if arch == Arch::Mips64 {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            };
            track(bytes, own, mask, big, true, &|at, r| {
                mips(bytes, at, r, big)
            })
        }
        Arch::Ppc64 => {
            let big = big_endian(bytes);
            track(bytes, own, u64::MAX, big, true, &|at, r| {
                ppc64(bytes, at, r, big)
            })
        }
        Arch::Loongarch64 => track(bytes, own, u64::MAX, false, true, &|at, r| {
            loongarch(bytes, at, r)
        }),
        // Thumb functions have bit 0 of their address set (ELF for the Arm Architecture, 5.5.3).
        Arch::Arm if own.start & 1 == 1 => thumb(bytes, own.start & !1..own.end & !1),
        Arch::Arm if !big_endian(bytes) => {
            track(bytes, own, u64::from(u32::MAX), false, true, &|at, r| {
                a32(bytes, at, r)
            })
        }
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
        let b = bytes.get(usize::try_from(at).ok()?..)?.get(..4)?;
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
/// MIPS `syscall`, LoongArch `syscall`, RISC-V `ecall`, ppc64 `sc`; other architectures (arm: ARM or Thumb is not known here):
/// none found.
pub fn syscall_inside(arch: Arch, bytes: &[u8], off: u64, len: u64) -> Option<(u64, u64)> {
    let end = off.saturating_add(len);
    let bad = |x: u64, l: u64| {
        let after = x.saturating_add(l);
        (x > off && x < end) || (after > off && after < end)
    };
    // Instruction words in the image's byte order (it differs from little-endian on MIPS and ppc64
    // only; on the others a big-endian image keeps little-endian instructions).
    let big = big_endian(bytes) && arch.order_matters();
    let words = |pred: &dyn Fn(u32) -> bool| {
        (off..end.min(bytes.len() as u64))
            .step_by(4)
            .find(|&x| word(bytes, x, big).is_some_and(pred))
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
        Arch::Ppc64 => words(&|w| w == 0x4400_0002), // sc
        Arch::Riscv64 => {
            // `ecall`, walked instruction by instruction from `off`: the low two bits of the first
            // halfword give the length (11: 32-bit, otherwise a 16-bit compressed instruction).
            let mut x = off;
            while x < end {
                let b = bytes.get(x as usize..)?;
                let l = if b.first()? & 3 == 3 { 4 } else { 2 };
                if b.get(..4) == Some(&[0x73, 0, 0, 0][..]) && bad(x, l) {
                    return Some((x, l));
                }
                x += l;
            }
            None
        }
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

/// What the register tracker knows about a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Unknown,
    /// An address computed from the program counter: the image is decoded at base 0, so this is an
    /// offset from the image's start (negative ones wrap).
    Addr(u64),
    /// A constant (an immediate, or a word loaded from the image, such as a literal-pool offset).
    Const(u64),
}

impl Val {
    fn add(self, o: Val) -> Val {
        match (self, o) {
            (Val::Addr(a), Val::Const(c)) | (Val::Const(c), Val::Addr(a)) => {
                Val::Addr(a.wrapping_add(c))
            }
            (Val::Const(a), Val::Const(b)) => Val::Const(a.wrapping_add(b)),
            _ => Val::Unknown,
        }
    }
    fn offset(self, d: i64) -> Val {
        self.add(Val::Const(d as u64))
    }
}

/// What one instruction does, as far as the data-page question goes.
#[derive(Debug, Clone, Copy)]
enum Effect {
    None,
    /// A register gets a value; `cond`: only if a condition holds (the old value may survive).
    Set {
        rd: usize,
        val: Val,
        cond: bool,
    },
    /// A load of `width` bytes (sign-extended) into `rd` from `addr`, or a store (`rd` None).
    Mem {
        rd: Option<usize>,
        addr: Val,
        width: usize,
    },
    /// A direct branch; `link`: the register that receives the return address, and that address.
    Jump {
        target: u64,
        cond: bool,
        link: Option<(usize, u64)>,
    },
    /// A return: the path ends (a conditional return is `None`).
    Return,
    /// An indirect jump or call: where it goes is not known.
    Indirect,
    /// A trap or an invalid encoding: the path ends.
    Stop,
}

/// One decoded instruction: its length, what it does, and whether it has a delay slot (MIPS).
struct Insn {
    len: u64,
    effect: Effect,
    delay: bool,
}

/// Registers the tracker keeps: 32 general registers and one link register (ppc64's LR).
const REGS: usize = 33;
const LR: usize = 32;
type Regs = [Val; REGS];

/// An instruction set as the tracker reads it: the decoder of one instruction at an address, given
/// the registers before it (ARM reads the PC as a register).
type Decoder<'a> = &'a dyn Fn(u64, &Regs) -> Option<Insn>;

/// Follow the paths from the function's entry, and sweep every instruction of the function from its
/// start, tracking addresses computed from the program counter: one that leaves the image (the data
/// pages lie before or after it) reads the data pages; a load from inside the image yields a
/// constant (literal pools). Branches inside the image are followed; an indirect jump or an
/// undecodable instruction makes the result unknown unless a data-page address was seen.
fn track(
    bytes: &[u8],
    own: std::ops::Range<u64>,
    mask: u64,
    big: bool,
    sweep: bool,
    decode: Decoder,
) -> Consequence {
    let len = bytes.len() as u64;
    let outside = |a: u64| a & mask >= len;
    let read = |a: u64, width: usize| -> Option<u64> {
        let b = bytes.get(usize::try_from(a).ok()?..)?.get(..width)?;
        let mut v = 0u64;
        for i in 0..width {
            let byte = if big { b[i] } else { b[width - 1 - i] };
            v = v << 8 | u64::from(byte);
        }
        Some(sign_extend(v, 8 * width as u32) as u64)
    };
    let mut w = Walk {
        reads_data: false,
        unknown: false,
    };
    let mut seen = BTreeSet::new();
    let fresh = [Val::Unknown; REGS];
    let mut work: Vec<(u64, Regs, bool)> = Vec::new();
    if sweep && own.end != u64::MAX {
        work.push((own.start, fresh, true));
    }
    work.push((own.start, fresh, false));
    let mut steps = 0;
    while let Some((mut at, mut regs, sweeping)) = work.pop() {
        let start = at;
        loop {
            // A place is walked again only with more registers holding addresses (a loop that
            // moves a pointer keeps the same set, so it ends).
            let addrs = regs
                .iter()
                .enumerate()
                .filter(|(_, v)| matches!(v, Val::Addr(_)))
                .fold(0u64, |m, (i, _)| m | 1 << i);
            if (own.contains(&start) && !own.contains(&at))
                || (!sweeping && !seen.insert((at, addrs)))
            {
                break;
            }
            steps += 1;
            let Some(i) = decode(at, &regs).filter(|_| steps <= BUDGET) else {
                w.unknown = true;
                break;
            };
            let apply = |e: Effect, regs: &mut Regs, w: &mut Walk| match e {
                Effect::Set { rd, val, cond } => {
                    if let Val::Addr(a) = val {
                        w.reads_data |= outside(a);
                    }
                    regs[rd] = if cond && regs[rd] != val {
                        Val::Unknown
                    } else {
                        val
                    };
                }
                Effect::Mem { rd, addr, width } => {
                    let v = match addr {
                        Val::Addr(a) if outside(a) => {
                            w.reads_data = true;
                            Val::Unknown
                        }
                        Val::Addr(a) => read(a & mask, width).map_or(Val::Unknown, Val::Const),
                        _ => Val::Unknown,
                    };
                    if let Some(rd) = rd {
                        regs[rd] = v;
                    }
                }
                _ => {}
            };
            apply(i.effect, &mut regs, &mut w);
            let mut next = at.wrapping_add(i.len);
            if i.delay {
                // The delay slot runs before the branch takes effect.
                if let Some(s) = decode(next, &regs) {
                    if matches!(
                        s.effect,
                        Effect::Set { .. } | Effect::Mem { .. } | Effect::None
                    ) {
                        apply(s.effect, &mut regs, &mut w);
                    }
                }
                next = next.wrapping_add(4);
            }
            match i.effect {
                Effect::Jump { target, cond, link } => {
                    let target = target & mask;
                    if let Some((r, ret)) = link {
                        regs[r] = Val::Addr(ret & mask);
                    }
                    if target >= len {
                        w.unknown = true;
                        break;
                    }
                    if !sweeping {
                        work.push((target, regs, false));
                    }
                    if !cond && link.is_none() && !sweeping {
                        break;
                    }
                    if let Some((r, ret)) = link {
                        // After a call the callee may have changed any register but the link
                        // (MIPS `bal .+8` and ppc64 `bcl 20, 31, .+4` are not calls: they read the PC).
                        regs = fresh;
                        regs[r] = Val::Addr(ret & mask);
                    }
                }
                Effect::Return | Effect::Stop if !sweeping => break,
                Effect::Indirect => {
                    w.unknown = true;
                    if !sweeping {
                        break;
                    }
                }
                _ => {}
            }
            at = next;
        }
    }
    verdict(&w)
}

fn word(bytes: &[u8], at: u64, big: bool) -> Option<u32> {
    let b: [u8; 4] = bytes
        .get(usize::try_from(at).ok()?..)?
        .get(..4)?
        .try_into()
        .ok()?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits >= 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Whether an image's bytes say big-endian (`EI_DATA` = `ELFDATA2MSB`).
fn big_endian(bytes: &[u8]) -> bool {
    bytes.get(5) == Some(&2)
}

/// A MIPS image built for release 6: `EF_MIPS_ARCH` (e_flags bits 31..28) is `EF_MIPS_ARCH_32R6`
/// (9) or `EF_MIPS_ARCH_64R6` (10) (the MIPS psABI; Debian's mips64r6el kernels).
pub fn mips_release6(bytes: &[u8]) -> bool {
    let at = if bytes.get(4) == Some(&2) { 0x30 } else { 0x24 };
    let Some(f) = bytes.get(at..at + 4) else {
        return false;
    };
    let f = [f[0], f[1], f[2], f[3]];
    let flags = if big_endian(bytes) {
        u32::from_be_bytes(f)
    } else {
        u32::from_le_bytes(f)
    };
    matches!(flags >> 28, 9 | 10)
}

/// RISC-V (RV64GC): `auipc` makes PC-relative addresses; the compressed (16-bit) forms matter only
/// for lengths and control flow. Fields per the RISC-V unprivileged ISA (20191213), chapters 2
/// (base formats), 5 (RV64I) and 16 (the "C" extension, table 16.5-16.7).
fn riscv(bytes: &[u8], at: u64, regs: &Regs) -> Option<Insn> {
    let half = u16::from_le_bytes(bytes.get(at as usize..)?.get(..2)?.try_into().ok()?);
    let insn = |len, effect| {
        Some(Insn {
            len,
            effect,
            delay: false,
        })
    };
    let set = |rd: usize, val| {
        if rd == 0 {
            Effect::None
        } else {
            Effect::Set {
                rd,
                val,
                cond: false,
            }
        }
    };
    if half & 3 != 3 {
        let h = u32::from(half);
        let (quadrant, funct3) = (h & 3, h >> 13);
        let rd = ((h >> 7) & 0x1f) as usize;
        let rs2 = (h >> 2) & 0x1f;
        // CJ-format offset: [11|4|9:8|10|6|7|3:1|5] in bits 12..2.
        let cj = || {
            let o = ((h >> 12) & 1) << 11
                | ((h >> 11) & 1) << 4
                | ((h >> 9) & 3) << 8
                | ((h >> 8) & 1) << 10
                | ((h >> 7) & 1) << 6
                | ((h >> 6) & 1) << 7
                | ((h >> 3) & 7) << 1
                | ((h >> 2) & 1) << 5;
            at.wrapping_add(sign_extend(u64::from(o), 12) as u64)
        };
        // CB-format offset: [8|4:3] in 12..10, [7:6|2:1|5] in 6..2.
        let cb = || {
            let o = ((h >> 12) & 1) << 8
                | ((h >> 10) & 3) << 3
                | ((h >> 5) & 3) << 6
                | ((h >> 3) & 3) << 1
                | ((h >> 2) & 1) << 5;
            at.wrapping_add(sign_extend(u64::from(o), 9) as u64)
        };
        let e = match (quadrant, funct3) {
            _ if h == 0 || h == 0x9002 => Effect::Stop, // illegal (all zero), c.ebreak
            (1, 0b101) => Effect::Jump {
                target: cj(),
                cond: false,
                link: None,
            }, // c.j
            (1, 0b110 | 0b111) => Effect::Jump {
                target: cb(),
                cond: true,
                link: None,
            }, // c.beqz/bnez
            (2, 0b100) if rs2 == 0 && rd != 0 => {
                if (h >> 12) & 1 == 0 && rd == 1 {
                    Effect::Return // c.jr ra
                } else {
                    Effect::Indirect // c.jr / c.jalr
                }
            }
            (2, 0b100) if (h >> 12) & 1 == 0 => set(rd, regs[rs2 as usize]), // c.mv
            (2, 0b100) => set(rd, regs[rd].add(regs[rs2 as usize])),         // c.add
            // Everything else that writes a full register names it in bits 11..7 (quadrants 1 and
            // 2) or as rd' in bits 4..2 (quadrant 0 loads and c.addi4spn), or rd' in 9..7 (the
            // quadrant-1 ALU forms): forget all three candidates.
            (0, 0b000 | 0b010 | 0b011) => set(8 + ((h >> 2) & 7) as usize, Val::Unknown),
            (1, 0b100) => set(8 + ((h >> 7) & 7) as usize, Val::Unknown),
            (0, _) => Effect::None,             // stores
            (2, 0b101..=0b111) => Effect::None, // stack stores
            (_, 0b000..=0b011) => set(rd, Val::Unknown),
            _ => set(rd, Val::Unknown),
        };
        return insn(2, e);
    }
    let i = word(bytes, at, false)?;
    let rd = ((i >> 7) & 0x1f) as usize;
    let rs1 = ((i >> 15) & 0x1f) as usize;
    let funct3 = (i >> 12) & 7;
    let imm_i = sign_extend(u64::from(i >> 20), 12);
    let e = match i & 0x7f {
        0x17 => set(
            rd,
            Val::Addr(at.wrapping_add(sign_extend(u64::from(i & 0xffff_f000), 32) as u64)),
        ),
        0x13 if funct3 == 0 => set(rd, regs[rs1].offset(imm_i)), // addi
        0x03 => {
            let width = [1, 2, 4, 8, 1, 2, 4, 8][funct3 as usize];
            Effect::Mem {
                rd: (rd != 0).then_some(rd),
                addr: regs[rs1].offset(imm_i),
                width,
            }
        }
        0x23 => {
            let imm_s = sign_extend(u64::from((i >> 25) << 5 | ((i >> 7) & 0x1f)), 12);
            Effect::Mem {
                rd: None,
                addr: regs[rs1].offset(imm_s),
                width: 1,
            }
        }
        0x6f => {
            let imm = (i >> 31) << 20
                | ((i >> 21) & 0x3ff) << 1
                | ((i >> 20) & 1) << 11
                | ((i >> 12) & 0xff) << 12;
            let target = at.wrapping_add(sign_extend(u64::from(imm), 21) as u64);
            Effect::Jump {
                target,
                cond: false,
                link: (rd != 0).then_some((rd, at + 4)),
            }
        }
        0x67 if rd == 0 && rs1 == 1 && imm_i == 0 => Effect::Return,
        0x67 => Effect::Indirect,
        0x63 => {
            let imm = (i >> 31) << 12
                | ((i >> 25) & 0x3f) << 5
                | ((i >> 8) & 0xf) << 1
                | ((i >> 7) & 1) << 11;
            let target = at.wrapping_add(sign_extend(u64::from(imm), 13) as u64);
            Effect::Jump {
                target,
                cond: true,
                link: None,
            }
        }
        0x73 if i == 0x0010_0073 => Effect::Stop, // ebreak
        0x73 if i == 0x0000_0073 => Effect::None, // ecall
        // Floating-point loads and stores, fences: no integer register written.
        0x07 | 0x27 | 0x0f => Effect::None,
        _ => set(rd, Val::Unknown),
    };
    insn(4, e)
}

/// MIPS (MIPS32/MIPS64 release 2, either byte order): PIC vDSO code learns its own address with
/// `bal` (the return address in `$ra`), adds an offset it loads from a word next to the `bal`, and
/// steps from there to the data pages (`daddiu $3, $6, -4096`). Fields per the MIPS64 Architecture
/// for Programmers, Volume II-A (MD00087, rev. 6.06): opcode in bits 31..26; every branch and jump
/// has a delay slot.
fn mips(bytes: &[u8], at: u64, regs: &Regs, big: bool) -> Option<Insn> {
    let w = word(bytes, at, big)?;
    let (rs, rt, rd) = (
        ((w >> 21) & 31) as usize,
        ((w >> 16) & 31) as usize,
        ((w >> 11) & 31) as usize,
    );
    let imm = sign_extend(u64::from(w & 0xffff), 16);
    let branch = at.wrapping_add(4).wrapping_add((imm * 4) as u64);
    let set = |r: usize, val| {
        if r == 0 {
            Effect::None
        } else {
            Effect::Set {
                rd: r,
                val,
                cond: false,
            }
        }
    };
    let jump = |target, cond, link: Option<(usize, u64)>| Effect::Jump { target, cond, link };
    let (effect, delay) = match w >> 26 {
        0 => match w & 0x3f {
            0x08 if rs == 31 => (Effect::Return, true), // jr $ra
            0x08 | 0x09 => (Effect::Indirect, true),    // jr, jalr
            0x0c => (Effect::None, false),              // syscall
            0x0d => (Effect::Stop, false),              // break
            0x21 | 0x2d => (set(rd, regs[rs].add(regs[rt])), false), // addu, daddu
            0x25 if rt == 0 => (set(rd, regs[rs]), false), // or rd, rs, $zero (move)
            0x25 if rs == 0 => (set(rd, regs[rt]), false),
            _ => (set(rd, Val::Unknown), false),
        },
        1 => match rt {
            0x00..=0x03 => (jump(branch, true, None), true), // bltz, bgez(l)
            0x10..=0x13 => (jump(branch, rs != 0, Some((31, at + 8))), true), // bltzal, bgezal (bal)
            _ => (Effect::None, false),
        },
        2 => (
            jump(
                ((at + 4) & !0x0fff_ffff) | u64::from(w & 0x03ff_ffff) << 2,
                false,
                None,
            ),
            true,
        ),
        3 => (
            jump(
                ((at + 4) & !0x0fff_ffff) | u64::from(w & 0x03ff_ffff) << 2,
                false,
                Some((31, at + 8)),
            ),
            true,
        ),
        0x04 | 0x05 | 0x06 | 0x07 | 0x14..=0x17 => {
            let always = w >> 26 == 4 && rs == 0 && rt == 0; // beq $zero, $zero: b
            (jump(branch, !always, None), true)
        }
        0x08 | 0x09 | 0x18 | 0x19 => (set(rt, regs[rs].offset(imm)), false), // (d)addi(u)
        0x0f => (set(rt, Val::Const((imm << 16) as u64)), false),            // lui
        op @ (0x20 | 0x21 | 0x23 | 0x24 | 0x25 | 0x27 | 0x37) => {
            let width = match op {
                0x20 | 0x24 => 1,
                0x21 | 0x25 => 2,
                0x37 => 8,
                _ => 4,
            };
            let rd = (rt != 0).then_some(rt);
            (
                Effect::Mem {
                    rd,
                    addr: regs[rs].offset(imm),
                    width,
                },
                false,
            )
        }
        0x28 | 0x29 | 0x2b | 0x3f | 0x31 | 0x35 | 0x39 | 0x3d => (
            Effect::Mem {
                rd: None,
                addr: regs[rs].offset(imm),
                width: 1,
            },
            false,
        ),
        0x10..=0x13 => (Effect::None, false), // coprocessor moves and branches: not address arithmetic
        _ => (set(rt, Val::Unknown), false),
    };
    Some(Insn {
        len: 4,
        effect,
        delay,
    })
}

/// ARM (A32, ARM state; little-endian): PIC code reads the PC (8 bytes ahead) as a register
/// (`sub r0, pc, #12`, `ldr r1, [pc, #n]`) and adds a literal offset. Fields per the ARM
/// Architecture Reference Manual ARMv7-A/R (DDI 0406C), A5.1-A5.5: condition in bits 31..28.
fn a32(bytes: &[u8], at: u64, regs: &Regs) -> Option<Insn> {
    let w = word(bytes, at, false)?;
    let cond = w >> 28;
    let conditional = cond != 0xe;
    let reg = |n: u32| {
        if n == 15 {
            Val::Addr(at.wrapping_add(8))
        } else {
            regs[n as usize]
        }
    };
    let (rn, rd) = ((w >> 16) & 15, (w >> 12) & 15);
    let set = |r: u32, val| {
        if r == 15 {
            Effect::Indirect
        } else {
            Effect::Set {
                rd: r as usize,
                val,
                cond: conditional,
            }
        }
    };
    let effect = if cond == 0xf {
        Effect::None // unconditional space: barriers, preload, cps
    } else if w & 0x0fff_fff0 == 0x012f_ff10 {
        // bx rm
        match (w & 15, conditional) {
            (14, false) => Effect::Return,
            (14, true) => Effect::None,
            _ => Effect::Indirect,
        }
    } else if w & 0x0fff_fff0 == 0x012f_ff30 {
        Effect::Indirect // blx rm
    } else if (w >> 25) & 7 == 0b101 {
        let target = at
            .wrapping_add(8)
            .wrapping_add((sign_extend(u64::from(w & 0xff_ffff), 24) * 4) as u64);
        let link = (w >> 24) & 1 == 1;
        Effect::Jump {
            target,
            cond: conditional,
            link: link.then_some((14, at + 4)),
        }
    } else if (w >> 24) & 15 == 15 {
        Effect::None // svc
    } else if (w >> 25) & 7 == 0b100 {
        // ldm/stm: a load of pc is a return (pop {..., pc}); written registers are forgotten.
        if (w >> 20) & 1 == 1 && (w >> 15) & 1 == 1 {
            if conditional {
                Effect::None
            } else {
                Effect::Return
            }
        } else {
            // Registers reloaded from the stack: a tracked address could only survive in one, and
            // every address was judged when it was computed.
            Effect::None
        }
    } else if w & 0x0ff0_0000 == 0x0300_0000 {
        set(rd, Val::Const(u64::from((w >> 4) & 0xf000 | (w & 0xfff)))) // movw
    } else if w & 0x0ff0_0000 == 0x0340_0000 {
        set(rd, Val::Unknown) // movt
    } else if (w >> 26) & 3 == 1 {
        // ldr/str (immediate or register offset)
        let (load, byte, pre, up) = (
            (w >> 20) & 1 == 1,
            (w >> 22) & 1 == 1,
            (w >> 24) & 1 == 1,
            (w >> 23) & 1 == 1,
        );
        let addr = if (w >> 25) & 1 == 0 && pre {
            let off = i64::from(w & 0xfff);
            reg(rn).offset(if up { off } else { -off })
        } else if pre {
            Val::Unknown
        } else {
            reg(rn)
        };
        match (load, rd) {
            (true, 15) => Effect::Indirect,
            (true, _) if !conditional => Effect::Mem {
                rd: Some(rd as usize),
                addr,
                width: if byte { 1 } else { 4 },
            },
            (true, _) => Effect::Mem {
                rd: None,
                addr,
                width: 1,
            },
            (false, _) => Effect::Mem {
                rd: None,
                addr,
                width: 1,
            },
        }
    } else if (w >> 26) & 3 == 0 && !((w >> 25) & 1 == 0 && (w >> 4) & 9 == 9) {
        // Data processing (not the multiply / extra load-store space).
        let op2 = if (w >> 25) & 1 == 1 {
            let rot = ((w >> 8) & 15) * 2;
            Val::Const(u64::from((w & 0xff).rotate_right(rot)))
        } else if (w >> 4) & 0xff == 0 {
            reg(w & 15) // a register, unshifted
        } else {
            Val::Unknown
        };
        let neg = |v: Val| match v {
            Val::Const(c) => Val::Const(c.wrapping_neg()),
            _ => Val::Unknown,
        };
        match (w >> 21) & 15 {
            0x4 => set(rd, reg(rn).add(op2)),      // add
            0x2 => set(rd, reg(rn).add(neg(op2))), // sub
            0xd => set(rd, op2),                   // mov
            0x8..=0xb => Effect::None,             // tst, teq, cmp, cmn: flags only
            _ => set(rd, Val::Unknown),
        }
    } else if (w >> 26) & 3 == 0 {
        // multiply or extra load/store (ldrd, strd, ldrh, ...): forget both register fields.
        Effect::Set {
            rd: rd as usize,
            val: Val::Unknown,
            cond: false,
        }
    } else {
        Effect::None // coprocessor, media
    };
    Some(Insn {
        len: 4,
        effect,
        delay: false,
    })
}

/// LoongArch64 (LoongArch Reference Manual v1.10, volume 1, chapter 2 and appendix B; fixed
/// 32-bit little-endian words, the opcode in the high bits, `rd` in bits 4..0, `rj` in 9..5): PIC code
/// reaches the data pages with `pcalau12i` (the 4 KiB page of `pc + si20 << 12`), `pcaddu12i` or
/// `pcaddi` and an `addi.d` or a load offset. Calls are `bl` (link in `$ra` = r1), returns `jirl
/// $zero, $ra, 0`.
fn loongarch(bytes: &[u8], at: u64, regs: &Regs) -> Option<Insn> {
    let w = word(bytes, at, false)?;
    let (rd, rj) = ((w & 31) as usize, ((w >> 5) & 31) as usize);
    let si20 = sign_extend(u64::from((w >> 5) & 0xf_ffff), 20);
    let si12 = sign_extend(u64::from((w >> 10) & 0xfff), 12);
    let offs16 = sign_extend(u64::from((w >> 10) & 0xffff), 16) * 4;
    let set = |r: usize, val| {
        if r == 0 {
            Effect::None
        } else {
            Effect::Set {
                rd: r,
                val,
                cond: false,
            }
        }
    };
    let pc = |d: i64| Val::Addr(at.wrapping_add(d as u64));
    let effect = match w >> 25 {
        0b000_1100 => set(rd, pc(si20 << 2)), // pcaddi
        0b000_1101 => set(rd, Val::Addr(at.wrapping_add((si20 << 12) as u64) & !0xfff)), // pcalau12i
        0b000_1110 => set(rd, pc(si20 << 12)), // pcaddu12i
        0b000_1111 => set(rd, pc(si20 << 18)), // pcaddu18i
        _ => match w >> 26 {
            0b010100 | 0b010101 => {
                // b / bl: offs[15:0] in 25..10, offs[25:16] in 9..0
                let offs = ((w & 0x3ff) << 16) | ((w >> 10) & 0xffff);
                let target = at.wrapping_add((sign_extend(u64::from(offs), 26) * 4) as u64);
                let link = (w >> 26 == 0b010101).then_some((1, at + 4));
                Effect::Jump {
                    target,
                    cond: false,
                    link,
                }
            }
            0b010000 | 0b010001 => {
                // beqz / bnez: offs[15:0] in 25..10, offs[20:16] in 4..0
                let offs = ((w & 0x1f) << 16) | ((w >> 10) & 0xffff);
                let target = at.wrapping_add((sign_extend(u64::from(offs), 21) * 4) as u64);
                Effect::Jump {
                    target,
                    cond: true,
                    link: None,
                }
            }
            0b010110..=0b011011 => Effect::Jump {
                target: at.wrapping_add(offs16 as u64),
                cond: true,
                link: None,
            },
            0b010011 if rd == 0 && rj == 1 && offs16 == 0 => Effect::Return, // jirl $zero, $ra, 0
            0b010011 => Effect::Indirect,
            _ => match w >> 22 {
                0x00b => set(rd, regs[rj].offset(si12)), // addi.d
                0x00a => set(rd, Val::Unknown),          // addi.w (sign-extends 32 bits)
                op @ 0x0a0..=0x0aa => {
                    // ld.{b,h,w,d}, st.{b,h,w,d}, ld.{bu,hu,wu}
                    let width = [1, 2, 4, 8][(op & 3) as usize];
                    let load = !(0x0a4..=0x0a7).contains(&op);
                    Effect::Mem {
                        rd: (load && rd != 0 && op <= 0x0a3).then_some(rd),
                        addr: regs[rj].offset(si12),
                        width,
                    }
                }
                _ if w & 0xffff_8000 == 0x002b_0000 => Effect::None, // syscall
                _ if w & 0xffff_8000 == 0x002a_0000 => Effect::Stop, // break
                // ldptr.d / stptr.d (si14 << 2) and the rest: forget rd.
                _ => set(rd, Val::Unknown),
            },
        },
    };
    Some(Insn {
        len: 4,
        effect,
        delay: false,
    })
}

/// Thumb-2 (the 32-bit arm compat vDSO of arm64 kernels is Thumb: its symbols have bit 0 set). Not
/// decoded in full: a sweep of the function's own instructions for the PIC idiom `ldr rX, [pc, #i]`
/// followed within four instructions by `add rX, pc`, which makes `literal + pc` in rX. Found with
/// the sum outside the image it reads the data pages; otherwise unknown (branches are not followed).
/// Encodings per DDI 0406C A6.2 (16-bit: `LDR (literal)` T1 `01001 Rt imm8`, `ADD (register)` T2
/// `01000100 DN 1111 Rdn` with Rm = pc); a halfword whose top five bits are 11101, 11110 or 11111
/// starts a 32-bit instruction.
fn thumb(bytes: &[u8], own: std::ops::Range<u64>) -> Consequence {
    let half = |a: u64| {
        let b = bytes.get(usize::try_from(a).ok()?..)?.get(..2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    };
    let len = bytes.len() as u64;
    let mut at = own.start;
    // (register, literal value, instructions since the load)
    let mut lit: Option<(u16, u64, u32)> = None;
    while own.contains(&at) {
        let Some(h) = half(at) else { break };
        if h >> 11 >= 0b11101 {
            at += 4;
            lit = lit.and_then(|(r, v, n)| (n < 4).then_some((r, v, n + 1)));
            continue;
        }
        if h >> 11 == 0b01001 {
            let addr = ((at + 4) & !3) + u64::from(h & 0xff) * 4;
            if let Some(b) = bytes.get(addr as usize..).and_then(|b| b.get(..4)) {
                let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                lit = Some(((h >> 8) & 7, u64::from(v), 0));
            }
        } else if h & 0xff78 == 0x4478 {
            let rdn = (h & 7) | ((h >> 7) & 1) << 3;
            if let Some((r, v, _)) = lit.filter(|&(r, _, _)| r == rdn) {
                let _ = r;
                let a = (at + 4).wrapping_add(v) & u64::from(u32::MAX);
                if a >= len {
                    return Consequence::ReadsDataPages;
                }
            }
            lit = None;
        } else {
            lit = lit.and_then(|(r, v, n)| (n < 4).then_some((r, v, n + 1)));
        }
        at += 2;
    }
    Consequence::Unknown
}

/// PowerPC 64 (either byte order): PIC code learns its address with `bcl 20, 31, .+4; mflr rX`
/// and steps to the data page with `addis`/`addi`. Fields per Power ISA v3.1B Book I: primary
/// opcode in bits 0..5 (the word's top six bits), `rD`/`rS` next, then `rA`.
fn ppc64(bytes: &[u8], at: u64, regs: &Regs, big: bool) -> Option<Insn> {
    let w = word(bytes, at, big)?;
    let (rd, ra) = (((w >> 21) & 31) as usize, ((w >> 16) & 31) as usize);
    let simm = sign_extend(u64::from(w & 0xffff), 16);
    let base = |r: usize| if r == 0 { Val::Const(0) } else { regs[r] };
    let set = |r: usize, val| Effect::Set {
        rd: r,
        val,
        cond: false,
    };
    let link = |lk: bool| lk.then_some((LR, at + 4));
    let effect = match w >> 26 {
        18 if w & 2 == 0 => {
            let target = at.wrapping_add(sign_extend(u64::from(w & 0x03ff_fffc), 26) as u64);
            Effect::Jump {
                target,
                cond: false,
                link: link(w & 1 == 1),
            }
        }
        18 => Effect::Indirect, // absolute branch
        16 if w & 2 == 0 => {
            let target = at.wrapping_add(sign_extend(u64::from(w & 0xfffc), 16) as u64);
            let always = (w >> 21) & 0x14 == 0x14; // BO 1z1zz: branch always
            Effect::Jump {
                target,
                cond: !always,
                link: link(w & 1 == 1),
            }
        }
        16 => Effect::Indirect,
        19 => match ((w >> 1) & 0x3ff, w & 1 == 1, (w >> 21) & 0x14 == 0x14) {
            (16, false, true) => Effect::Return,  // blr
            (16, false, false) => Effect::None,   // conditional return
            (16 | 528, _, _) => Effect::Indirect, // blrl, bctr(l)
            _ => Effect::None,                    // condition-register logic, isync
        },
        17 => Effect::None,                         // sc
        14 => set(rd, base(ra).offset(simm)),       // addi (li)
        15 => set(rd, base(ra).offset(simm << 16)), // addis (lis)
        31 => match (w >> 1) & 0x3ff {
            339 if (w >> 11) & 0x3ff == 8 << 5 => set(rd, regs[LR]), // mflr
            467 if (w >> 11) & 0x3ff == 8 << 5 => set(LR, regs[rd]), // mtlr
            266 => set(rd, regs[ra].add(regs[((w >> 11) & 31) as usize])), // add
            444 if ra == ((w >> 11) & 31) as usize => set(ra, regs[rd]), // or rA, rS, rS (mr)
            // Logical, shift, count and sign-extension X-forms write rA; the others rD (stores
            // write none, and forgetting their source register only loses precision).
            24 | 26 | 27 | 28 | 58 | 60 | 124 | 284 | 316 | 412 | 413 | 444 | 476 | 536 | 539
            | 792 | 794 | 824 | 922 | 954 | 986 => set(ra, Val::Unknown),
            _ => set(rd, Val::Unknown),
        },
        op @ (32 | 34 | 40 | 42 | 58) => {
            let (width, disp) = match op {
                34 => (1, simm),
                40 | 42 => (2, simm),
                58 => (8, sign_extend(u64::from(w & 0xfffc), 16)),
                _ => (4, simm),
            };
            let width = if op == 58 && w & 3 == 2 { 4 } else { width }; // lwa
            Effect::Mem {
                rd: Some(rd),
                addr: base(ra).offset(disp),
                width,
            }
        }
        36 | 37 | 38 | 39 | 44 | 45 | 62 | 48..=55 => {
            let disp = if w >> 26 == 62 {
                sign_extend(u64::from(w & 0xfffc), 16)
            } else {
                simm
            };
            Effect::Mem {
                rd: None,
                addr: base(ra).offset(disp),
                width: 1,
            }
        }
        10 | 11 => Effect::None,                         // cmpli, cmpi
        20 | 21 | 23 | 24..=30 => set(ra, Val::Unknown), // rotates and logical immediates write rA
        _ => set(rd, Val::Unknown),
    };
    Some(Insn {
        len: 4,
        effect,
        delay: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Untrusted bytes: every reader on every byte string of a fixed pseudo-random stream, at every
    /// offset and with unbounded sizes, returns a class and never panics (wrapping branch targets,
    /// offsets past the end, the ELF byte-order byte either way).
    #[test]
    fn any_bytes_any_offset() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..64 {
            let len = 8 + (next() % 120) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            b[5] = 1 + (round % 2) as u8;
            for arch in Arch::ALL {
                for off in [0, 1, 2, 3, 4, len as u64 - 4, len as u64, u64::MAX - 3] {
                    for size in [0, 4, 64, u64::MAX] {
                        let _ = classify(arch, &b, off, size);
                        let _ = syscall_inside(arch, &b, off, size);
                    }
                }
            }
        }
    }

    /// RISC-V compressed control flow, from `llvm-mc -triple=riscv64 -mattr=+c -show-encoding`
    /// (LLVM 14.0.6): `c.li a7, 3` (8d 48), `ecall`, `c.jr ra` (82 80) is a syscall stub, but the same
    /// with `c.jr t1` (02 83, an indirect jump) is unknown, and an `auipc a3, 0xffffe` (97 e6 ff ff)
    /// reaches 8 KiB before the image.
    #[test]
    fn riscv_assembler_bytes() {
        let stub = [0x8d, 0x48, 0x73, 0, 0, 0, 0x82, 0x80];
        assert_eq!(
            classify(Arch::Riscv64, &stub, 0, 8),
            Consequence::SelfContained
        );
        let jr = [0x8d, 0x48, 0x73, 0, 0, 0, 0x02, 0x83];
        assert_eq!(classify(Arch::Riscv64, &jr, 0, 8), Consequence::Unknown);
        let vvar = [0x97, 0xe6, 0xff, 0xff, 0x82, 0x80];
        assert_eq!(
            classify(Arch::Riscv64, &vvar, 0, 6),
            Consequence::ReadsDataPages
        );
        assert_eq!(syscall_inside(Arch::Riscv64, &stub, 0, 8), Some((2, 4)));
        assert_eq!(syscall_inside(Arch::Riscv64, &stub, 0, 2), None);
    }

    /// LoongArch words built from the reference manual's field layouts (v1.10, appendix B), which
    /// is what an assembler emits: `pcalau12i $t0, -2` (opcode 0001101, si20, rd 12), `ld.w $a0,
    /// $t0, 0` (0x0a2, si12, rj, rd), `jirl $zero, $ra, 0` (0x4c000020), `ori $a7, $zero, 168`
    /// (0x03800000 | 168 << 10 | 11), `syscall 0` (0x002b0000).
    #[test]
    fn loongarch_manual_words() {
        let words = |ws: &[u32]| ws.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let pcalau12i = 0b000_1101 << 25 | (0xf_fffe << 5) | 12;
        let ld_w = 0x0a2 << 22 | 12 << 5 | 4;
        let ret = 0x4c00_0020;
        let reads = words(&[pcalau12i, ld_w, ret]);
        assert_eq!(
            classify(Arch::Loongarch64, &reads, 0, 12),
            Consequence::ReadsDataPages
        );
        let ori = 0x0380_0000 | 168 << 10 | 11;
        let stub = words(&[ori, 0x002b_0000, ret]);
        assert_eq!(
            classify(Arch::Loongarch64, &stub, 0, 12),
            Consequence::SelfContained
        );
        // jirl $zero, $t0, 0: an indirect jump.
        let ind = words(&[ori, 0x4c00_0000 | 12 << 5]);
        assert_eq!(
            classify(Arch::Loongarch64, &ind, 0, 8),
            Consequence::Unknown
        );
    }
}
