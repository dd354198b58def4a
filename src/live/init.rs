//! Being PID 1 inside a kernel booted under QEMU (`vdso-lab kernels`): the lab's static binary is the
//! initramfs's `/init`. It mounts what the lab reads (`/proc` for maps and time namespaces, `/sys` for
//! the clocksource, `/dev`, a `/tmp`), runs, and powers the machine off, which ends QEMU with status 0.

use std::ffi::CStr;

/// This process is the first one of its PID namespace.
pub fn is_pid1() -> bool {
    std::process::id() == 1
}

/// Mount `/proc`, `/sys`, `/dev` (devtmpfs) and `/tmp` (tmpfs), creating the directories. Each failure
/// is returned as one line; mounting what is already mounted (EBUSY) is fine.
pub fn mount_basics() -> Vec<String> {
    let mounts: [(&CStr, &CStr, &CStr); 4] = [
        (c"proc", c"/proc", c"proc"),
        (c"sysfs", c"/sys", c"sysfs"),
        (c"devtmpfs", c"/dev", c"devtmpfs"),
        (c"tmpfs", c"/tmp", c"tmpfs"),
    ];
    let mut errors = Vec::new();
    for (src, target, fstype) in mounts {
        let _ = std::fs::create_dir_all(target.to_str().unwrap_or("/"));
        // SAFETY: mount(2) with NUL-terminated static strings and no data argument.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBUSY) {
                errors.push(format!("mount {}: {e}", target.to_string_lossy()));
            }
        }
    }
    errors
}

/// Flush and power off. As PID 1 this ends the VM (QEMU exits 0 with `-no-reboot`); otherwise (not
/// permitted) the process exits with `code`.
pub fn power_off(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: sync and reboot take no pointers; reboot(RB_POWER_OFF) does not return on success.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    std::process::exit(code)
}

/// Bring the loopback interface up. CRIU's kernel-feature probe connects a TCP socket to 127.0.0.1
/// (CRIU 4.2.1 criu/kerndat.c:679-760 `kerndat_tcp_repair`) and gives up on "Network is unreachable"
/// when `lo` is down, as it is in a bare initramfs.
pub fn loopback_up() -> Result<(), String> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: socket(2) takes integers; the descriptor is owned (and closed) below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data (a name array and a union of integers); all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: SIOCGIFFLAGS fills the flags of the ifreq we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return Err(format!(
            "SIOCGIFFLAGS lo: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: the union's flags member is the one SIOCGIFFLAGS just wrote.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } != 0 {
        return Err(format!(
            "SIOCSIFFLAGS lo: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
