use arbitrary::{Arbitrary, Unstructured};
use vdso_lab::synth::Spec;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(50);
    let mut rng = 0x12345678u64;
    let mut bad = 0;
    for i in 0..n {
        let mut data = vec![0u8; 4096];
        for b in data.iter_mut() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            *b = rng as u8;
        }
        let mut u = Unstructured::new(&data);
        let spec = match Spec::arbitrary(&mut u) {
            Ok(s) => s,
            Err(_) => continue,
        };
        let bytes = spec.build().expect("valid");
        let p = format!("/tmp/synth{i}.so");
        std::fs::write(&p, &bytes).unwrap();
        let out = std::process::Command::new("readelf")
            .args(["-a", "-W", &p])
            .output()
            .unwrap();
        let so = String::from_utf8_lossy(&out.stdout);
        let se = String::from_utf8_lossy(&out.stderr);
        let img = vdso_lab::image::Image::parse(&bytes);
        let rt = img.as_ref().ok().map(|i| Spec::from_image(i));
        let ok_rt = matches!(&rt, Some(Ok(s)) if *s == spec.normalized());
        let findings = img.as_ref().map(|i| i.check_hashes()).unwrap_or_default();
        if !se.is_empty() || so.contains("arning") || !ok_rt || !findings.is_empty() {
            bad += 1;
            println!(
                "{p}: stderr={se} parse={:?} rt_ok={ok_rt} findings={findings:?}",
                img.as_ref().err()
            );
            if !ok_rt {
                if let Some(Ok(s)) = rt {
                    println!("  got {:?}", s);
                } else {
                    println!("  rt {:?}", rt.map(|r| r.err()));
                }
            }
        }
    }
    println!("bad={bad}");
}
