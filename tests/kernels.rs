//! `kernels`' host-side pieces that need no VM: the initramfs it builds, read back by GNU cpio (an
//! independent reader). The boots themselves run in CI's kernel-matrix step (`ci/kernel-matrix.sh`),
//! where the kernel unpacking the archive and running `/init` is the oracle.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn initramfs_is_a_newc_archive_gnu_cpio_reads() {
    if Command::new("cpio").arg("--version").output().is_err() {
        vdso_lab::require::skip("cpio", "GNU cpio not installed (apt-get install cpio)");
        return;
    }
    let entries = vec![
        ("init".to_string(), 0o755, b"#!/bin/true\n".to_vec()),
        (
            "corpus/real/a.so".to_string(),
            0o644,
            vec![0x7f, b'E', b'L', b'F', 1, 2, 3],
        ),
        ("vdso-lab/conf".to_string(), 0o644, b"label x\n".to_vec()),
        ("empty".to_string(), 0o644, Vec::new()),
    ];
    let gz = vdso_lab::kernels::initramfs(&entries);
    let mut cpio = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut cpio).unwrap();
    let dir = std::env::temp_dir().join(format!("vdso-lab-initramfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new("cpio")
        .args(["-idm", "--quiet", "--no-absolute-filenames"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&cpio).unwrap();
    assert!(child.wait().unwrap().success());
    for (path, mode, data) in &entries {
        let p = dir.join(path);
        assert_eq!(&std::fs::read(&p).unwrap(), data, "{path}");
        let m =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(m & 0o777, *mode, "{path}");
    }
    assert!(dir.join("corpus/real").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}
