//! Which way the vDSO reads the clock on this machine (#13 item 17). With a clocksource the vDSO can
//! read from userspace (the TSC, kvm-clock, arm64's counter) `clock_gettime` never enters the kernel;
//! with others (`clocksource=hpet`, acpi_pm) the vDSO falls back to the syscall, and the userspace
//! code path — the one whose data-page reads a restore can break — is not exercised at all. The probe
//! tells them apart by observation, not by a list of clocksource names: in a child, a seccomp filter
//! makes the `clock_gettime` syscall fail with an unusual errno, then the vDSO's `clock_gettime` is
//! called once; if it returns that error, it went to the kernel.

/// The errno the filter returns: one no clock path produces by itself.
pub(super) const PROBE_ERRNO: i32 = libc::ENOTRECOVERABLE;

/// The kernel's current clocksource (`/sys/devices/system/clocksource/clocksource0`), if readable.
pub fn clocksource() -> Option<String> {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// What the probe saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockPath {
    /// The vDSO answered without the syscall: its userspace clock read was exercised.
    Userspace,
    /// The vDSO made the syscall: the lab's vDSO paths exercised only the fallback.
    SyscallFallback,
    /// The probe could not tell (why).
    Unknown(String),
}

/// Install, in the calling (child) process, a seccomp filter under which `clock_gettime` fails with
/// [`PROBE_ERRNO`] and every other syscall is allowed. x86-64 only (the filter checks the audit arch).
///
/// # Safety
///
/// Child only: the filter stays for the life of the process.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn deny_clock_gettime() -> Result<(), i32> {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    // struct seccomp_data: nr at offset 0, arch at offset 4.
    let filter = [
        stmt(ld, 4),
        jeq(AUDIT_ARCH_X86_64, 0, 3),
        stmt(ld, 0),
        jeq(libc::SYS_clock_gettime as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | PROBE_ERRNO as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with integer arguments, then with a pointer to a filter program that lives on this
    // stack frame for the duration of the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(super::sample::errno());
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        ) != 0
        {
            return Err(super::sample::errno());
        }
    }
    Ok(())
}

/// Other architectures: not implemented (the filter's audit arch and syscall number are x86-64's).
///
/// # Safety
///
/// None needed; kept `unsafe` for the same signature.
#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn deny_clock_gettime() -> Result<(), i32> {
    Err(libc::ENOSYS)
}
