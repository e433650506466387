//! Time of the pixel-to-hash step alone (no decoding) for a 512 x 512 RGB
//! picture: PDQ, PDQ with the 8 dihedral hashes, pHash, dHash. Prints the
//! median time per call over several rounds.
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
    for _ in 0..15 {
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            black_box(f(black_box(img)));
        }
        rounds.push(t.elapsed().as_secs_f64() / n as f64);
    }
    rounds.sort_by(f64::total_cmp);
    println!(
        "{name:<14} {:>8.1} us/picture",
        rounds[rounds.len() / 2] * 1e6
    );
}

fn main() {
    let img = picture(512, 512);
    println!("512 x 512 RGB, median of 15 rounds of 50 calls");
    time("pdq", &img, pdq::pdq_from_rgb);
    time("pdq_dihedral", &img, pdq::pdq_dihedral_from_rgb);
    time("phash", &img, phash);
    time("dhash", &img, dhash);
}
