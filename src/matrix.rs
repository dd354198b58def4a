//! The cross-kernel matrix: every ordered pair of same-architecture images (checkpoint kernel × restore
//! kernel) planned under one policy, with each pair's outcome and findings.
//!
//! Images enter as (name, bytes); each is placed with [`Side::preset`] (its kernel's era, at
//! [`default_bases`]), so the matrix needs nothing but image files.

use crate::arch::{Abi, Arch};
use crate::image::Image;
use crate::plan::{default_bases, plan, Category, Finding, Side};
use crate::policy::Policy;
use std::collections::BTreeMap;

/// One input image.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One planned pair.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    pub dumped: String,
    pub runtime: String,
    pub outcome: Category,
    pub findings: Vec<Finding>,
}

/// All pairs of one architecture, in name order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchMatrix {
    pub arch: Arch,
    /// Byte order and ABI flags: images of one arch but another ABI are never paired.
    pub abi: Abi,
    pub images: Vec<String>,
    /// Row-major: `cells[i * images.len() + j]` is images[i] dumped, images[j] runtime.
    pub cells: Vec<Cell>,
}

/// The matrix under one policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Matrix {
    pub policy: &'static str,
    pub arches: Vec<ArchMatrix>,
    /// Inputs that are not vDSO images of a known architecture, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl Matrix {
    /// Plan every ordered same-architecture pair of `entries`.
    pub fn build(entries: &[Entry], policy: &Policy) -> Matrix {
        let mut by_arch: BTreeMap<(Arch, Abi), Vec<(&str, Image)>> = BTreeMap::new();
        let mut skipped = Vec::new();
        for e in entries {
            match Image::parse(&e.bytes) {
                Err(err) => skipped.push((e.name.clone(), err.to_string())),
                Ok(img) => match Arch::of(&img) {
                    Some(a) => {
                        let key = (a, Abi::of(&img));
                        by_arch.entry(key).or_default().push((&e.name, img))
                    }
                    None => skipped.push((e.name.clone(), "unknown architecture".into())),
                },
            }
        }
        let mut arches = Vec::new();
        for ((arch, abi), mut imgs) in by_arch {
            imgs.sort_by(|a, b| a.0.cmp(b.0));
            let (d, r) = default_bases(Some(arch));
            let mut cells = Vec::with_capacity(imgs.len() * imgs.len());
            for (dn, di) in &imgs {
                let dumped = Side::preset(di, d);
                for (rn, ri) in &imgs {
                    let p = plan(&dumped, &Side::preset(ri, r), policy);
                    cells.push(Cell {
                        dumped: dn.to_string(),
                        runtime: rn.to_string(),
                        outcome: p.category(),
                        findings: p.findings,
                    });
                }
            }
            arches.push(ArchMatrix {
                arch,
                abi,
                images: imgs.iter().map(|(n, _)| n.to_string()).collect(),
                cells,
            });
        }
        Matrix {
            policy: policy.name,
            arches,
            skipped,
        }
    }

    /// How many pairs had each outcome.
    pub fn counts(&self) -> BTreeMap<Category, usize> {
        let mut m = BTreeMap::new();
        for c in self.arches.iter().flat_map(|a| &a.cells) {
            *m.entry(c.outcome).or_insert(0) += 1;
        }
        m
    }

    /// Findings summarized as (kind, symbol) → number of pairs.
    pub fn finding_summary(&self) -> BTreeMap<(String, String), usize> {
        let mut m = BTreeMap::new();
        for c in self.arches.iter().flat_map(|a| &a.cells) {
            let mut seen = std::collections::BTreeSet::new();
            for f in &c.findings {
                let kind = match f.consequence {
                    Some(c) => format!("{:?}({})", f.kind, c.name()),
                    None => format!("{:?}", f.kind),
                };
                let symbol = f.symbol.as_ref().map(|s| s.to_string());
                let k = (kind, symbol.unwrap_or_default());
                if seen.insert(k.clone()) {
                    *m.entry(k).or_insert(0) += 1;
                }
            }
        }
        m
    }
}
