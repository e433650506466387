//! Prints neardup's hashes of the files named on the command line, one
//! tab-separated line each: `path phash dhash pdq pdq_quality`. Pictures are
//! decoded with the `image` crate at full resolution (no EXIF rotation, no
//! reduced-scale decoding), converted to RGB8; PDQ is computed on the full
//! picture shrunk to fit 512 x 512 like Pillow's `thumbnail` would size it
//! (the resampler differs). Used by `benches/imagehash_agreement.py`.
//!
//! ```sh
//! cargo run --release --example hash_files -- a.jpg b.png
//! ```

use neardup::image::{dhash::dhash, pdq::pdq_from_rgb, phash::phash};

fn main() -> std::process::ExitCode {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let img = match image::open(&path) {
            Ok(img) => img.to_rgb8(),
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        let (w, h) = img.dimensions();
        let pdq = if w > 512 || h > 512 {
            // Pillow's thumbnail: fit in 512 x 512, aspect kept, sides rounded.
            let s = (512.0 / w as f64).min(512.0 / h as f64);
            let (tw, th) = (
                ((w as f64 * s).round() as u32).max(1),
                ((h as f64 * s).round() as u32).max(1),
            );
            let small =
                image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
            pdq_from_rgb(&small)
        } else {
            pdq_from_rgb(&img)
        };
        println!(
            "{path}\t{}\t{}\t{}\t{}",
            phash(&img),
            dhash(&img),
            pdq.hash,
            pdq.quality
        );
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
