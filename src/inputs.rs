//! The command line's inputs, read the way untrusted input must be: files with a size bound and one
//! clear error line, image arguments (`FILE` or `live`), layout arguments (an era or a maps file), policy
//! names, and the `plan` and `matrix` requests built from them. `main.rs` parses arguments and renders;
//! everything between lives here.

use crate::arch::Arch;
use crate::image::Image;
use crate::layout::{Era, Layout, Role};
use crate::live;
use crate::plan::{default_bases, plan, Plan, Side};
use crate::policy::Policy;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest input file an image argument reads. Real vDSOs are 1-50 KiB (ppc64le images carry DWARF);
/// anything this big is not one, and refusing it keeps memory bounded on hostile input.
pub const MAX_INPUT: u64 = 64 << 20;

/// Largest kernel or package file `extract` reads (Debian kernel packages are up to ~150 MiB).
pub const MAX_KERNEL_FILE: u64 = 1 << 30;

/// Read an untrusted input file of at most `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot stat {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory, not a vDSO image"));
    }
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{shown} is larger than {} MiB; no vDSO is",
            max >> 20
        ));
    }
    Ok(bytes)
}

/// Read an untrusted image file (at most [`MAX_INPUT`] bytes).
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    read_bounded(path, MAX_INPUT)
}

/// The live vDSO, or the one line that says why there is none.
pub fn live_vdso() -> Result<live::LiveVdso, String> {
    live::read()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "this process has no vDSO (AT_SYSINFO_EHDR is 0)".to_string())
}

/// A policy by name; the error lists the known ones.
pub fn policy_named(name: &str) -> Result<&'static Policy, String> {
    crate::policy::by_name(name).ok_or_else(|| {
        let names: Vec<&str> = crate::policy::ALL.iter().map(|p| p.name).collect();
        format!("unknown policy `{name}` (known: {})", names.join(", "))
    })
}

/// An image argument: a file, or `live`; with the live layout for `live`.
pub fn load_side(arg: &str) -> Result<(Vec<u8>, Option<Layout>), String> {
    if arg == "live" {
        let l = live_vdso()?;
        Ok((l.bytes, Some(l.layout)))
    } else {
        let bytes = read_input(Path::new(arg))?;
        // A dump of a whole [vdso] mapping may start with a data page (ppc64): plan its image.
        match crate::extract::image_in(&bytes) {
            Some((at, b)) if at > 0 => Ok((b.to_vec(), None)),
            _ => Ok((bytes, None)),
        }
    }
}

/// A `--*-layout` argument: an era name, or a /proc/PID/maps file.
pub fn layout_arg(arg: &str, img: &Image, base: u64) -> Result<Layout, String> {
    if let Some(era) = Era::by_name(arg) {
        let x86 = matches!(Arch::of(img), Some(Arch::X86_64 | Arch::I386 | Arch::X32));
        let page = img.page_size();
        let pages = (img.bytes().len() as u64).div_ceil(page);
        return Ok(era.layout_paged(base, pages, x86, page));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| {
        let eras: Vec<&str> = Era::ALL.iter().map(|e| e.name()).collect();
        format!(
            "layout `{arg}` is neither an era ({}) nor a readable maps file: {e}",
            eras.join(", ")
        )
    })?;
    let l = Layout::from_maps(&text).map_err(|e| format!("{arg}: {e}"))?;
    if l.get(Role::Vdso).is_none() {
        return Err(format!("{arg}: no [vdso] line"));
    }
    Ok(l)
}

/// The layout of one side of `plan`: an explicit `--*-layout`, else the live layout, else the preset.
fn side_layout(
    img: &Image,
    arg: Option<&str>,
    live: Option<Layout>,
    base: u64,
) -> Result<Layout, String> {
    match (arg, live) {
        (Some(a), _) => layout_arg(a, img, base),
        (None, Some(l)) => Ok(l),
        (None, None) => Ok(Side::preset(img, base).layout),
    }
}

/// What `plan` was asked.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Image file, or `live` for this kernel's vDSO.
    pub dumped: String,
    /// Image file, or `live`.
    pub runtime: String,
    /// The restore policy: strict, strict-proxy, criu-3.19, criu-4.0, criu-4.1, criu-4.2 (`vdso-lab
    /// policies` lists them with their provenance).
    #[arg(long, default_value = "strict")]
    pub policy: String,
    /// Never remap: proxy with trampolines even where the policy would remap (what CRIU's fault
    /// injection CRIU_FAULT=127 forces).
    #[arg(long)]
    pub force_proxy: bool,
    /// Layout of the dumped side: an era (no-vvar, vvar-before-vdso, vdso-before-vvar, vvar-timens,
    /// vclock-split) or a /proc/PID/maps file. Default: the era of the image's kernel version.
    #[arg(long)]
    pub dumped_layout: Option<String>,
    /// Layout of the runtime side (as --dumped-layout); the runtime vDSO is parked 1 MiB above the
    /// dumped one unless a maps file says otherwise.
    #[arg(long)]
    pub runtime_layout: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Load both sides of a `plan` request and plan it. Returns the plan and the dumped `[vdso]` address
/// (the text report shows addresses relative to it).
/// The plan, where the dumped `[vdso]` starts, and whether the dumped image is big-endian (for
/// showing its trampolines).
pub fn plan_request(req: &PlanArgs) -> Result<(Plan, u64, bool), String> {
    let named = policy_named(&req.policy)?;
    let forced = named.forced_proxy();
    let policy = if req.force_proxy { &forced } else { named };
    let (db, dlive) = load_side(&req.dumped)?;
    let (rb, rlive) = load_side(&req.runtime)?;
    let di =
        Image::parse(&db).map_err(|e| format!("{}: not a valid vDSO image: {e}", req.dumped))?;
    let ri =
        Image::parse(&rb).map_err(|e| format!("{}: not a valid vDSO image: {e}", req.runtime))?;
    let (d0, r0) = default_bases(Arch::of(&di));
    let dl = side_layout(&di, req.dumped_layout.as_deref(), dlive, d0)?;
    let dstart = dl.get(Role::Vdso).map_or(d0, |m| m.start);
    let rl = side_layout(
        &ri,
        req.runtime_layout.as_deref(),
        rlive,
        dstart.wrapping_add(r0 - d0),
    )?;
    let p = plan(
        &Side {
            image: &di,
            layout: dl,
        },
        &Side {
            image: &ri,
            layout: rl,
        },
        policy,
    );
    Ok((p, dstart, crate::arch::big_endian_image(&db)))
}

/// The images of `matrix`: image files as given, every file in each folder (dotfiles, `.md` and `.tsv`
/// skipped), named by file name less `.so`; `live` adds this kernel's vDSO.
pub fn matrix_entries(dirs: &[PathBuf]) -> Result<Vec<crate::matrix::Entry>, String> {
    use crate::matrix::Entry;
    let mut entries = Vec::new();
    for d in dirs {
        if d.as_os_str() == "live" {
            entries.push(Entry {
                name: "live".into(),
                bytes: live_vdso()?.bytes,
            });
            continue;
        }
        if d.is_file() {
            // An image file stands for itself.
            let name = d.file_name().and_then(|n| n.to_str()).unwrap_or("image");
            entries.push(Entry {
                name: name.trim_end_matches(".so").to_string(),
                bytes: read_input(d)?,
            });
            continue;
        }
        let rd = std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in rd {
            let p = e.map_err(|e| format!("{}: {e}", d.display()))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !p.is_file()
                || name.starts_with('.')
                || name.ends_with(".md")
                || name.ends_with(".tsv")
            {
                continue;
            }
            entries.push(Entry {
                name: name.trim_end_matches(".so").to_string(),
                bytes: read_input(&p)?,
            });
        }
    }
    Ok(entries)
}
