//! Kernel-nulled entries: the kernel zeroes a dynamic symbol's `st_name` to withdraw an entry point
//! (32-bit arm, `vdso_nullpatch_one` in Linux `arch/arm/kernel/vdso.c`, when the architected timer is
//! not usable from userspace). [`null_names`] does the same to any image's bytes, so tests can build
//! such images from real or synthesized ones.

/// Zero the `st_name` of every dynamic symbol whose name is in `names`; returns how many were nulled.
/// Bytes that do not parse as an ELF file with a section-described `.dynsym` are left alone (0).
pub fn null_names(bytes: &mut [u8], names: &[&str]) -> usize {
    let Ok(elf) = goblin::elf::Elf::parse(bytes) else {
        return 0;
    };
    let Some(sh) = elf
        .section_headers
        .iter()
        .find(|s| s.sh_type == goblin::elf::section_header::SHT_DYNSYM)
    else {
        return 0;
    };
    let entsize = if elf.is_64 { 24 } else { 16 };
    let hits: Vec<usize> = elf
        .dynsyms
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            elf.dynstrtab
                .get_at(s.st_name)
                .is_some_and(|n| !n.is_empty() && names.contains(&n))
        })
        .map(|(i, _)| sh.sh_offset as usize + i * entsize)
        .collect();
    let mut n = 0;
    for at in hits {
        if let Some(w) = bytes.get_mut(at..at + 4) {
            w.fill(0); // st_name is the first word in both classes; zero in either byte order
            n += 1;
        }
    }
    n
}
