//! The planner on the real vDSO images of `corpus/real`: `strict` never leaves anything behind; the CRIU presets reproduce, statically, the bugs
//! CRIU shipped.

use vdso_lab::arch::Arch;
use vdso_lab::image::Image;
use vdso_lab::plan::{default_bases, plan, Category, Decision, FindingKind, Plan, Side};
use vdso_lab::policy::{self, Policy};

/// The images of `corpus/real` (part of the repository: missing is a failure), by file name.
fn images() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = vdso_lab::corpus::root().join("real");
    let imgs = vdso_lab::corpus::real_images(&dir).unwrap_or_else(|e| panic!("corpus/real: {e}"));
    let mut v: Vec<(String, Vec<u8>)> = imgs.into_iter().map(|r| (r.entry.file, r.bytes)).collect();
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
        match p.category() {
            Category::Remap | Category::ProxyClean => {}
            Category::Refused => {
                for f in &p.findings {
                    let sym = f.symbol.as_ref();
                    let name = sym.map_or("", |k| k.name.as_str());
                    let version = sym.and_then(|k| k.version.as_deref());
                    let ok = f.kind == FindingKind::TargetMissing
                        && exports(di, name)
                        && !ri
                            .functions()
                            .any(|s| s.name == name && s.version == version);
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
                f.kind == FindingKind::StaleEntry && f.names("__vdso_clock_gettime64@LINUX_2.6")
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
    // Candidates from the manifest: ordered pairs of distinct i386 images whose dumped side exports
    // __vdso_clock_gettime64 and neither kernel has [vvar_vclock] (6.13+, which criu-3.19 refuses). Pairs
    // of identical code are remapped instead, so at least half must be proxied and stale.
    let m = vdso_lab::corpus::manifest(&vdso_lab::corpus::root().join("real")).unwrap();
    let i386: Vec<_> = m
        .iter()
        .filter(|e| e.arch == "i386" && !e.kernel_release.starts_with('7'))
        .collect();
    let candidates = i386
        .iter()
        .filter(|d| {
            d.exported_functions
                .iter()
                .any(|f| f.starts_with("__vdso_clock_gettime64@"))
        })
        .map(|d| i386.iter().filter(|r| r.sha256 != d.sha256).count())
        .sum::<usize>();
    assert!(
        seen * 2 >= candidates && seen > 0,
        "only {seen} of {candidates} candidate pairs"
    );
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
                f.kind == FindingKind::StaleEntry && f.names("__vdso_getrandom@LINUX_2.6")
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
