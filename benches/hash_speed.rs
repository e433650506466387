//! Time of the pixel-to-hash step alone (no decoding) for a 512 x 512 RGB
//! picture: PDQ, PDQ with the 8 dihedral hashes, pHash, dHash. Prints the
//! CPU time per call (this thread's, so a loaded machine does not inflate
//! it) and the median wall time per call over the rounds.
//!
//! ```sh
//! cargo bench --bench hash_speed
//! python3 benches/hash_speed_reference.py   # the same for pdqhash / ImageHash
//! ```

use std::hint::black_box;
use std::time::Instant;

use neardup::image::{dhash::dhash, pdq, phash::phash};

fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = ((x as f32 / 23.0).sin() * (y as f32 / 17.0).cos() * 100.0 + 128.0) as u8;
        image::Rgb([v, v.wrapping_mul(3), 255 - v])
    })
}

fn time<T>(name: &str, img: &image::RgbImage, f: impl Fn(&image::RgbImage) -> T) {
    // `cargo bench --bench hash_speed -- pdq` times only the names given.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !only.is_empty() && !only.iter().any(|o| o == name) {
        return;
    }
    for _ in 0..20 {
        black_box(f(black_box(img)));
    }
    let mut rounds = Vec::new();
    let (n, r) = (100, 15);
    let cpu_start = cpu_seconds();
    for _ in 0..r {
        let t = Instant::now();
        for _ in 0..n {
            black_box(f(black_box(img)));
        }
        rounds.push(t.elapsed().as_secs_f64() / n as f64);
    }
    let cpu = match (cpu_start, cpu_seconds()) {
        (Some(a), Some(b)) => (b - a) / (n * r) as f64 * 1e6,
        _ => f64::NAN,
    };
    rounds.sort_by(f64::total_cmp);
    println!(
        "{name:<14} {:>8.1} us/picture cpu {:>8.1} us/picture wall (median round)",
        cpu,
        rounds[rounds.len() / 2] * 1e6
    );
}

/// User + system CPU time of this thread, in seconds (Linux; clock ticks of
/// 1/100 s), so that a loaded machine does not inflate the figure.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let img = picture(512, 512);
    println!("512 x 512 RGB, 15 rounds of 100 calls");
    time("pdq", &img, pdq::pdq_from_rgb);
    time("pdq_dihedral", &img, pdq::pdq_dihedral_from_rgb);
    time("phash", &img, phash);
    time("dhash", &img, dhash);
    time("phash_dhash", &img, neardup::image::phash::phash_dhash);
}
