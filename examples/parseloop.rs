//! Profiling driver for the parser (callgrind counts instructions; see benches/parse.rs for timings):
//! `parseloop N [parse|iter|both] [FILE]`. Valgrind gives the process no vDSO, so under callgrind pass
//! FILE, a copy of the live image (e.g. read `[vdso]` out of `/proc/self/mem` of any process).
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mode = args.next().unwrap_or_else(|| "both".into());
    let bytes = match args.next() {
        Some(p) => std::fs::read(p).expect("read image"),
        None => vdso_lab::live::read().expect("live").expect("vdso").bytes,
    };
    let t = std::time::Instant::now();
    let mut acc = 0u64;
    let once = vdso_lab::image::Image::parse(&bytes).expect("parses");
    for _ in 0..n {
        let img = if mode == "iter" {
            once.clone()
        } else {
            vdso_lab::image::Image::parse(std::hint::black_box(&bytes)).expect("parses")
        };
        if mode != "parse" {
            acc = acc.wrapping_add(digest_all(&img));
        }
        std::hint::black_box(&img);
    }
    println!(
        "{:.1} ns/iter {acc}",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}

/// The same digest as benches/parse.rs.
#[inline(never)]
#[no_mangle]
pub fn digest_all(img: &vdso_lab::image::Image) -> u64 {
    img.symbols().fold(0u64, |acc, s| {
        acc ^ s.value ^ s.size ^ s.name.len() as u64 ^ s.version.map_or(0, |v| v.len() as u64)
    })
}
