//! What a restorer rejects before it plans anything: the [`Rules`] of its [`Policy`] checked against
//! both images and both layouts. CRIU reads its own `[vdso]` and maps at start-up on the checkpoint
//! host and on the restore host (`kerndat_vdso_fill_symtable`), and the dumped image again in the
//! restorer, so every rule applies to both sides. Facts and their source lines are in
//! [`crate::policy::Rules`].

use crate::arch::Arch;
use crate::image::Image;
use crate::layout::{Layout, Role};
use crate::plan::{Finding, FindingKind, Severity};
use crate::policy::{IdentCheck, Policy, Rules};

fn reject(detail: String) -> Finding {
    Finding {
        kind: FindingKind::RestorerRejects,
        severity: Severity::Error,
        symbol: None,
        detail,
        consequence: None,
    }
}

/// Why `policy` stops before planning `dumped` on `runtime`, one finding per reason (empty: it goes on).
pub fn rejections(
    policy: &Policy,
    dumped: (&Image, &Layout),
    runtime: (&Image, &Layout),
) -> Vec<Finding> {
    let mut out = Vec::new();
    let r = &policy.rules;
    if *r == Rules::NONE {
        return out;
    }
    image_rules(policy, "dumped", dumped.0, dumped.1, &mut out);
    layout_rules(policy, "dumped", dumped.1, &mut out);
    image_rules(policy, "runtime", runtime.0, runtime.1, &mut out);
    layout_rules(policy, "runtime", runtime.1, &mut out);
    out
}

fn image_rules(policy: &Policy, side: &str, img: &Image, layout: &Layout, out: &mut Vec<Finding>) {
    let r = &policy.rules;
    let name = policy.name;
    if r.needs_sysv_hash && img.sysv.is_none() {
        out.push(reject(format!(
            "the {side} image has no DT_HASH (DT_GNU_HASH only): {name} reads only DT_HASH and fails \"Not all dynamic entries are present\""
        )));
    }
    let ident = img.bytes().get(7..16).unwrap_or(&[]);
    match r.ident {
        IdentCheck::Any => {}
        IdentCheck::Exact if ident.iter().any(|&b| b != 0) => out.push(reject(format!(
            "the {side} image's e_ident has EI_OSABI {}, EI_ABIVERSION {} or non-zero padding: {name} compares all 16 bytes with a fixed array and fails \"ELF header magic mismatch\"",
            ident.first().copied().unwrap_or(0),
            ident.get(1).copied().unwrap_or(0)
        ))),
        IdentCheck::OsabiNoneOrLinux if !matches!(img.osabi, 0 | 3) => out.push(reject(format!(
            "the {side} image's EI_OSABI is {}: {name} accepts only 0 (none) and 3 (Linux) and fails \"Unsupported OSABI version\"",
            img.osabi
        ))),
        _ => {}
    }
    if let (Some(max), Some(Arch::I386)) = (r.compat_vdso_max, Arch::of(img)) {
        let size = layout
            .get(Role::Vdso)
            .map_or(img.bytes().len() as u64, |m| m.len());
        if size > max {
            out.push(reject(format!(
                "the {side} compat vDSO is {size} bytes: {name} reads it through a {max}-byte buffer and fails \"Compatible vdso's size is bigger than reserved buf\""
            )));
        }
    }
}

fn layout_rules(policy: &Policy, side: &str, l: &Layout, out: &mut Vec<Finding>) {
    let r = &policy.rules;
    let name = policy.name;
    let count = |role| l.mappings.iter().filter(|m| m.role == role).count();
    if r.one_of_each {
        for role in [Role::Vdso, Role::Vvar] {
            if count(role) > 1 {
                out.push(reject(format!(
                    "the {side} maps have {} {} lines: {name} fails \"Got second {} entry\"",
                    count(role),
                    role.maps_name(),
                    if role == Role::Vdso { "vDSO" } else { "VVAR" }
                )));
            }
        }
    }
    let (Some(vdso), Some(vvar)) = (l.get(Role::Vdso), l.get(Role::Vvar)) else {
        return;
    };
    if !policy.vclock_aware && l.get(Role::VvarVclock).is_some() {
        // The planner's `[vvar_vclock]` refusal says it (CRIU #2532: this same bounds check fails).
        return;
    }
    let vclock = l.get(Role::VvarVclock);
    if let (true, Some(c)) = (r.vclock_follows_vvar, vclock) {
        if vvar.end != c.start {
            out.push(reject(format!(
                "the {side} [vvar_vclock] at {:#x} does not start where [vvar] ends ({:#x}): {name} fails \"VVAR and VVAR_VCLOCK entries are not subsequent\"",
                c.start, vvar.end
            )));
            return;
        }
    }
    if r.vdso_touches_vvar {
        let vvar_end = vvar.end.wrapping_add(vclock.map_or(0, |c| c.len()));
        if vdso.end != vvar.start && vvar_end != vdso.start {
            out.push(reject(format!(
                "the {side} [vdso] {:#x}..{:#x} does not touch [vvar] {:#x}..{vvar_end:#x}: {name} fails \"Unexpected rt vDSO area bounds\"",
                vdso.start, vdso.end, vvar.start
            )));
        }
    }
}
