//! The model against reality: what this lab's preset of a CRIU release predicts for the restore the
//! victim just went through, compared entry by entry with what the victim saw.
//!
//! The prediction is `plan(dumped, runtime, preset)` with the dumped side the image the victim started
//! with (this machine's vDSO: `restore-test` runs the victim and CRIU on one kernel) at the layout the
//! victim recorded before the checkpoint, and the runtime side the same image at the layout a freshly
//! executed process gets on the running kernel (the victim's `fresh_layout`); `--force-proxy` plans with
//! [`Policy::forced_proxy`]. An entry is predicted to work when the plan remaps, or when it proxies and
//! names no finding against that entry; predicted wrong when a stale-entry, missing-target or
//! misdirection finding names it.
//!
//! Every disagreement is classified:
//! * `preset_wrong` — the preset predicted a working entry that broke (or a refusal where CRIU
//!   restored): the model misses something CRIU does;
//! * `stale_agreed` — the preset predicted a stale entry and it still answered right: the stale code
//!   (this kernel's own code, run at the dumped address against the zero-filled pages CRIU puts where
//!   the dumped data pages were) took a path that does not read them, or read a zero that means "fall
//!   back to the syscall". The explanation is per function ([`why_stale_agreed`]).

use crate::image::Image;
use crate::layout::{Layout, Mapping, Role};
use crate::plan::{plan, Decision, FindingKind, Plan, Side};
use crate::policy::{by_name, Policy};

/// One entry's prediction against what the victim saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryModel {
    /// `__vdso_time`, `libc:time`, ... with the clock when there is one.
    pub check: String,
    /// `works` or `stale` (or `refused`).
    pub predicted: &'static str,
    /// The victim's status: `agrees` or `broken`.
    pub observed: String,
    /// `agree`, `preset_wrong` or `stale_agreed`.
    pub verdict: &'static str,
    pub why: String,
}

/// The preset's plan and the entry-by-entry comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    pub policy: String,
    pub force_proxy: bool,
    /// `remap`, `proxy`, `refused`, or why there is no plan.
    pub decision: String,
    pub findings: Vec<String>,
    pub entries: Vec<EntryModel>,
    pub preset_wrong: usize,
    pub stale_agreed: usize,
}

/// Why a stale entry of this very kernel's vDSO, run against zero-filled data pages, can still agree
/// with the syscall (Linux 6.18 lib/vdso/gettimeofday.c, lib/vdso/getrandom.c).
pub fn why_stale_agreed(func: &str, clock: Option<i64>) -> String {
    match (func, clock) {
        ("clock_getres", Some(5 | 6)) => "the coarse clocks' resolution is the constant LOW_RES_NSEC in \
            __cvdso_clock_getres_common, not read from the data page"
            .into(),
        ("clock_getres", Some(_)) | ("clock_gettime", Some(_)) => "this clock is not served by the \
            vDSO (no VDSO_HRES/VDSO_COARSE/VDSO_RAW bit): the stale code falls back to the syscall \
            without reading the data page"
            .into(),
        ("getrandom", _) => "the zeroed vgetrandom data reads `is_ready == 0`, and \
            __cvdso_getrandom_data then falls back to the getrandom syscall"
            .into(),
        _ => "the stale code agreed although the preset says it runs against pages CRIU zero-filled; \
            unexplained"
            .into(),
    }
}

fn layout_of(v: &serde_json::Value) -> Option<Layout> {
    let maps = v["mappings"].as_array()?;
    let mappings = maps
        .iter()
        .map(|m| {
            let role = match m["role"].as_str()? {
                "vvar" => Role::Vvar,
                "vvar_vclock" => Role::VvarVclock,
                "vdso" => Role::Vdso,
                "vsyscall" => Role::Vsyscall,
                _ => return None,
            };
            let perms = if role == Role::Vdso {
                *b"r-xp"
            } else {
                *b"r--p"
            };
            Some(Mapping {
                role,
                start: m["start"].as_u64()?,
                end: m["end"].as_u64()?,
                perms,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Layout { mappings })
}

fn blank(policy: &str, force_proxy: bool, decision: String) -> Comparison {
    Comparison {
        policy: policy.to_string(),
        force_proxy,
        decision,
        findings: Vec::new(),
        entries: Vec::new(),
        preset_wrong: 0,
        stale_agreed: 0,
    }
}

/// Scenarios the planner cannot take (no `[vdso]` at the checkpoint): what CRIU does instead, from its
/// source, so the gap in the model is printed rather than passed over.
pub fn unmodelled(
    scenario: super::Scenario,
    policy: &str,
    force_proxy: bool,
) -> Option<Comparison> {
    let what = match scenario {
        super::Scenario::Unmapped => {
            "not modelled: the planner takes no dumped layout without [vdso]; CRIU restores no vDSO \
             when the image has neither [vdso] nor [vvar] (criu/pie/parasite-vdso.c:287-294)"
        }
        super::Scenario::VdsoOnlyUnmapped => {
            "not modelled (PRESET GAP): the planner takes no dumped layout without [vdso]; CRIU \
             refuses the restore when the image has [vvar] but no [vdso] \
             (criu/pie/parasite-vdso.c:296-299), before the remap/proxy choice"
        }
        _ => return None,
    };
    Some(blank(policy, force_proxy, what.into()))
}

/// The plan the preset makes for the victim's restore, from its report: `dumped` is the vDSO the victim
/// started with, `runtime` the one of the kernel it was restored on (the same bytes when both are this
/// machine's, as in `restore-test`).
pub fn predict(
    report: &serde_json::Value,
    policy: &Policy,
    dumped_image: &[u8],
    runtime_image: &[u8],
) -> Result<Plan, String> {
    let img =
        Image::parse(dumped_image).map_err(|e| format!("the dumped vDSO does not parse: {e}"))?;
    let rt_img =
        Image::parse(runtime_image).map_err(|e| format!("the runtime vDSO does not parse: {e}"))?;
    let dumped = layout_of(&report["before"]["layout"]).ok_or("the report has no before.layout")?;
    let mut runtime = layout_of(&report["fresh_layout"]).ok_or("the report has no fresh_layout")?;
    // The runtime vDSO never sits where the dumped one is (CRIU parks it in a free range first,
    // criu/pie/restorer.c `vdso_do_park`); a fresh process that got the same addresses (no ASLR) is
    // moved 1 GiB down, which keeps every distance the remap criterion compares.
    let overlaps = |a: &Layout, b: &Layout| {
        a.movable()
            .any(|m| b.movable().any(|n| m.start < n.end && n.start < m.end))
    };
    if overlaps(&dumped, &runtime) {
        runtime = runtime
            .shifted(-(1 << 30))
            .ok_or("the running kernel's layout cannot be moved")?;
    }
    if dumped.get(Role::Vdso).is_none() {
        return Err(
            "no [vdso] at the checkpoint: the planner models no restore without one".into(),
        );
    }
    Ok(plan(
        &Side {
            image: &img,
            layout: dumped,
        },
        &Side {
            image: &rt_img,
            layout: runtime,
        },
        policy,
    ))
}

/// Which symbol glibc on x86-64 calls for a libc function (glibc 2.36 sysdeps/unix/sysv/linux/
/// x86_64/sysdep.h: HAVE_CLOCK_GETTIME64_VSYSCALL "__vdso_clock_gettime", ..._GETTIMEOFDAY, _TIME,
/// _CLOCK_GETRES). `sched_getcpu` reads the rseq area's `cpu_id` since glibc 2.35 (the victim's
/// `unmapped` scenario shows it working without any vDSO), and glibc before 2.41 has no vDSO
/// getrandom: neither touches the vDSO.
fn libc_symbol(func: &str) -> Option<String> {
    (!matches!(func, "getrandom" | "getcpu")).then(|| format!("__vdso_{func}"))
}

/// Compare the preset's prediction with the victim's report, for a restore on the kernel it was
/// dumped on (this one).
pub fn compare(report: &serde_json::Value, policy_name: &str, force_proxy: bool) -> Comparison {
    match crate::live::read() {
        Ok(Some(l)) => compare_images(report, policy_name, force_proxy, &l.bytes, &l.bytes),
        Ok(None) => blank(policy_name, force_proxy, "no live vDSO here".into()),
        Err(e) => blank(policy_name, force_proxy, e.to_string()),
    }
}

/// Compare the preset's prediction for restoring `dumped` (the vDSO the victim started with) where
/// `runtime` is the kernel's vDSO with the victim's report (`vdso-lab kernels --criu`: dumped on one
/// kernel, restored on another).
pub fn compare_images(
    report: &serde_json::Value,
    policy_name: &str,
    force_proxy: bool,
    dumped: &[u8],
    runtime: &[u8],
) -> Comparison {
    let Some(base) = by_name(policy_name) else {
        return blank(
            policy_name,
            force_proxy,
            format!("no preset named {policy_name}"),
        );
    };
    let policy = if force_proxy {
        base.forced_proxy()
    } else {
        *base
    };
    let p = match predict(report, &policy, dumped, runtime) {
        Ok(p) => p,
        Err(e) => return blank(policy_name, force_proxy, e),
    };
    let mut c = blank(
        policy_name,
        force_proxy,
        match p.decision {
            Decision::Remap { .. } => "remap",
            Decision::Proxy { .. } => "proxy",
            Decision::Refused => "refused",
        }
        .into(),
    );
    c.findings = p.findings.iter().map(|f| f.to_string()).collect();
    // A stale entry whose old code the plan classified self-contained (it reads no data page: a
    // syscall stub, the futex try-unlock helpers) is predicted to keep working.
    let stale = |sym: &str| -> bool {
        p.findings.iter().any(|f| {
            let harmless = f.kind == FindingKind::StaleEntry
                && f.consequence == Some(crate::consequence::Consequence::SelfContained);
            matches!(
                f.kind,
                FindingKind::StaleEntry | FindingKind::TargetMissing | FindingKind::Misdirected
            ) && !harmless
                && f.symbol.as_ref().is_some_and(|s| s.name == sym)
        })
    };
    let checks = ["entries", "libc"]
        .iter()
        .flat_map(|k| report[k].as_array().into_iter().flatten());
    for e in checks {
        let observed = e["status"].as_str().unwrap_or("?").to_string();
        if observed != "agrees" && observed != "broken" {
            continue;
        }
        let name = e["name"].as_str().unwrap_or("?");
        let func = e["func"].as_str().unwrap_or("?");
        let clock = e["clock"].as_i64();
        let sym = match name.strip_prefix("libc:") {
            Some(f) => libc_symbol(f),
            None => Some(name.to_string()),
        };
        let predicted = match (&p.decision, sym) {
            (Decision::Refused, _) => "refused",
            (_, Some(s)) if stale(&s) => "stale",
            _ => "works",
        };
        let (verdict, why) = match (predicted, observed.as_str()) {
            ("works", "agrees") | ("stale", "broken") => ("agree", String::new()),
            ("stale", _) => ("stale_agreed", why_stale_agreed(func, clock)),
            ("refused", _) => (
                "preset_wrong",
                "the preset refuses this restore, CRIU performed it".into(),
            ),
            _ => (
                "preset_wrong",
                format!(
                    "the preset predicts a working entry; the victim saw {}",
                    super::restore::verdict_text(&e["after"])
                ),
            ),
        };
        c.preset_wrong += usize::from(verdict == "preset_wrong");
        c.stale_agreed += usize::from(verdict == "stale_agreed");
        let label = match clock {
            Some(k) => format!("{name} {}", crate::live::lab::clock_name(k as i32)),
            None => name.to_string(),
        };
        c.entries.push(EntryModel {
            check: label,
            predicted,
            observed,
            verdict,
            why,
        });
    }
    c
}

/// Text: the decision, the findings, and every disagreement.
pub fn render(c: &Comparison, policy: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let mode = if c.force_proxy { " (forced proxy)" } else { "" };
    let _ = writeln!(
        s,
        "   model {policy}{mode}: {}; {} entries agree with reality, {} preset wrong, {} stale but agreed",
        c.decision,
        c.entries.iter().filter(|e| e.verdict == "agree").count(),
        c.preset_wrong,
        c.stale_agreed
    );
    for f in &c.findings {
        let _ = writeln!(s, "     plan: {f}");
    }
    for e in c.entries.iter().filter(|e| e.verdict != "agree") {
        let tag = if e.verdict == "preset_wrong" {
            "PRESET WRONG"
        } else {
            "preset right, stale code happened to agree"
        };
        let _ = writeln!(s, "     {tag}: {}: {}", e.check, e.why);
    }
    s
}
