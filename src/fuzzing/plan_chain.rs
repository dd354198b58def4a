//! Target `plan_chain`: a process restored across 3-5 synthetic kernels in a row, each hop seeing only
//! the current `[vdso]`; resolution after the chain must agree with restoring the first kernel's image
//! on the last kernel directly, or a finding on the way must explain why (invariant 7).

use super::oracles::{check_chain, Hop};
use super::Outcome;
use crate::arch::Arch;
use crate::image::Image;
use crate::plan::default_bases;
use crate::policy;
use crate::synth::evolve::{evolve, layout_symbols, Evolution};
use crate::synth::Spec;
use arbitrary::{Arbitrary, Unstructured};

pub fn run(data: &[u8]) -> Outcome {
    let mut u = Unstructured::new(data);
    let Ok(mut first) = Spec::arbitrary(&mut u) else {
        return Outcome::Reject;
    };
    layout_symbols(&mut first, 0);
    let Ok(hops) = u.int_in_range(2..=4u8) else {
        return Outcome::Reject;
    };
    let Ok(p) = u.arbitrary::<u8>() else {
        return Outcome::Reject;
    };
    let mut specs = vec![first];
    for _ in 0..hops {
        let Ok(e) = Evolution::arbitrary(&mut u) else {
            return Outcome::Reject;
        };
        let next = evolve(specs.last().unwrap_or(&specs[0]), &e);
        specs.push(next);
    }
    let Ok(bytes) = specs.iter().map(Spec::build).collect::<Result<Vec<_>, _>>() else {
        return Outcome::Reject;
    };
    let Some(arch) = Image::parse(&bytes[0]).ok().and_then(|i| Arch::of(&i)) else {
        return Outcome::Reject;
    };
    if !arch.modelled() {
        return Outcome::Reject;
    }
    let (d0, r0) = default_bases(Some(arch));
    let kernels: Vec<Hop> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| Hop {
            bytes: b,
            base: if i == 0 {
                d0
            } else {
                r0 + (i as u64 - 1) * (1 << 20)
            },
        })
        .collect();
    // strict and its always-proxy variant: the policies whose chains must compose.
    let pol = [&policy::STRICT, &policy::STRICT_PROXY][usize::from(p % 2)];
    check_chain(arch, &kernels, pol).into()
}
