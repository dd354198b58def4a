//! The planner on the real vDSO images of `../shared/realvdso/images/` (skipped with a message when
//! absent): `strict` never leaves anything behind; the CRIU presets reproduce, statically, the bugs
//! CRIU shipped.

use std::path::Path;
use vdso_lab::arch::Arch;
use vdso_lab::image::Image;
use vdso_lab::plan::{default_bases, plan, Decision, FindingKind, Outcome, Plan, Side};
use vdso_lab::policy::{self, Policy};

fn images() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realvdso/images");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        println!("skipped: {} not found", dir.display());
        return None;
    };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    Some(v)
}

/// Every ordered same-arch pair, planned under `policy`.
fn pairs(
    imgs: &[(String, Vec<u8>)],
    policy: &Policy,
    mut f: impl FnMut(&str, &Image, &str, &Image, &Plan),
) {
    let parsed: Vec<(&str, Image)> = imgs
        .iter()
        .map(|(n, b)| (n.as_str(), Image::parse(b).unwrap()))
        .collect();
    for (dn, di) in &parsed {
        for (rn, ri) in &parsed {
            if Arch::of(di) != Arch::of(ri) {
                continue;
            }
            let (d, r) = default_bases(Arch::of(di));
            let p = plan(&Side::preset(di, d), &Side::preset(ri, r), policy);
            f(dn, di, rn, ri, &p);
        }
    }
}

fn exports(img: &Image, name: &str) -> bool {
    img.functions().any(|s| s.name == name)
}

#[test]
fn strict_is_clean_or_refuses_naming_what_is_missing() {
    let Some(imgs) = images() else { return };
    let mut bad = Vec::new();
    let mut n = 0;
    pairs(&imgs, &policy::STRICT, |dn, di, rn, ri, p| {
        n += 1;
        match p.outcome() {
            Outcome::Remap | Outcome::ProxyClean => {}
            Outcome::Refused => {
                for f in &p.findings {
                    let sym = f.symbol.as_deref().unwrap_or("");
                    let name = sym.split('@').next().unwrap_or("");
                    let ok = f.kind == FindingKind::TargetMissing
                        && exports(di, name)
                        && !ri
                            .functions()
                            .any(|s| s.name == name && s.version == sym.split('@').nth(1));
                    if !ok {
                        bad.push(format!("{dn} -> {rn}: unexpected refusal finding {f}"));
                    }
                }
                if p.findings.is_empty() {
                    bad.push(format!("{dn} -> {rn}: refused without a finding"));
                }
            }
            o => bad.push(format!("{dn} -> {rn}: {o:?}: {:?}", p.findings)),
        }
    });
    println!("{n} same-arch pairs planned under strict");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn criu_3_19_leaves_clock_gettime64_stale_on_i386() {
    let Some(imgs) = images() else { return };
    let (mut seen, mut bad) = (0, Vec::new());
    for pol in [&policy::CRIU_3_19, &policy::CRIU_4_0] {
        pairs(&imgs, pol, |dn, di, rn, _ri, p| {
            if Arch::of(di) != Some(Arch::I386) || !exports(di, "__vdso_clock_gettime64") {
                return;
            }
            if !matches!(p.decision, Decision::Proxy { .. }) {
                return; // identical images are remapped; 6.13+ kernels are refused by these versions
            }
            let stale = p.findings.iter().any(|f| {
                f.kind == FindingKind::StaleEntry
                    && f.symbol.as_deref() == Some("__vdso_clock_gettime64@LINUX_2.6")
            });
            if pol.name == "criu-3.19" {
                seen += 1;
                if !stale {
                    bad.push(format!(
                        "{dn} -> {rn}: no stale __vdso_clock_gettime64 under criu-3.19"
                    ));
                }
            } else if stale {
                bad.push(format!(
                    "{dn} -> {rn}: stale __vdso_clock_gettime64 under criu-4.0, which knows it"
                ));
            }
        });
    }
    println!("{seen} proxied i386 pairs under criu-3.19 reproduce the vdso01 bug statically");
    assert!(seen > 100, "only {seen} pairs");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn criu_presets_leave_getrandom_stale_on_x86_64() {
    let Some(imgs) = images() else { return };
    let mut seen = 0;
    let mut bad = Vec::new();
    for pol in [&policy::CRIU_3_19, &policy::CRIU_4_0, &policy::CRIU_4_1] {
        pairs(&imgs, pol, |dn, di, rn, ri, p| {
            if Arch::of(di) != Some(Arch::X86_64) || !exports(di, "__vdso_getrandom") {
                return;
            }
            if !matches!(p.decision, Decision::Proxy { .. }) || !exports(ri, "__vdso_getrandom") {
                return;
            }
            seen += 1;
            let stale = p.findings.iter().any(|f| {
                f.kind == FindingKind::StaleEntry
                    && f.symbol.as_deref() == Some("__vdso_getrandom@LINUX_2.6")
            });
            if !stale {
                bad.push(format!(
                    "{}: {dn} -> {rn}: __vdso_getrandom not stale",
                    pol.name
                ));
            }
        });
    }
    println!("{seen} proxied x86-64 pairs leave __vdso_getrandom stale under the CRIU presets");
    assert!(seen > 0);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn old_criu_refuses_kernels_with_vvar_vclock() {
    let Some(imgs) = images() else { return };
    let mut refused = 0;
    pairs(&imgs, &policy::CRIU_4_0, |_, di, _, ri, p| {
        let new = |i: &Image| i.linux_version().is_some_and(|v| (v.0, v.1) >= (6, 13));
        if Arch::of(di) == Some(Arch::X86_64) && (new(di) || new(ri)) {
            assert_eq!(p.decision, Decision::Refused);
            assert!(p
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::UnsupportedLayout));
            refused += 1;
        }
    });
    assert!(refused > 0);
}
