//! PDQ through a full pipeline against Meta's Python reference: every file
//! in `tests/fixtures/pdq/pipeline` (a copy of `pdq-vectors/pipeline`: JPEG,
//! PNG and WebP up to 1280 pixels a side) was decoded by Pillow, converted
//! to RGB, shrunk with `thumbnail((512, 512))` and hashed by Meta's C++.
//! Here the `image` crate decodes, a bicubic resize to Pillow's thumbnail
//! size (the library's `thumbnail_size`) shrinks, and neardup hashes; decoders and resamplers differ, so the
//! bar is Meta's own for a port: distance <= 10 wherever quality >= 80.

use std::path::Path;

use neardup::image::code::Hash256;
use neardup::image::pdq::pdq_from_rgb;
use neardup::image::pipeline::thumbnail_size;

/// The library's size rule, which the pipeline test below relies on, on
/// sizes Pillow 11 gives for `Image.new("RGB", s).thumbnail((512, 512))`
/// (the unit tests in `image::pipeline` check others).
#[test]
fn thumbnail_size_follows_pillow() {
    assert_eq!(thumbnail_size(2560, 1600, 512), (512, 320));
    assert_eq!(thumbnail_size(1080, 1920, 512), (288, 512));
    assert_eq!(thumbnail_size(400, 300, 512), (400, 300));
    assert_eq!(thumbnail_size(5000, 3, 512), (512, 1));
}

#[test]
fn pipeline_vectors_within_ten_bits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdq/pipeline");
    let csv = std::fs::read_to_string(dir.join("expected.csv")).expect("expected.csv");
    let mut failures = Vec::new();
    let mut compared = 0;
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "bad line {line}");
        let want = Hash256::from_hex(f[1]).expect("hex");
        let want_quality: u8 = f[2].parse().expect("quality");
        let img = image::open(dir.join(f[0]))
            .unwrap_or_else(|e| panic!("{}: {e}", f[0]))
            .to_rgb8();
        let (tw, th) = thumbnail_size(img.width(), img.height(), 512);
        let small = if (tw, th) == img.dimensions() {
            img
        } else {
            image::imageops::resize(&img, tw, th, image::imageops::FilterType::CatmullRom)
        };
        let got = pdq_from_rgb(&small);
        if want_quality < 80 {
            continue;
        }
        compared += 1;
        let d = got.hash.distance(&want);
        if d > 10 {
            failures.push(format!("{}: distance {d} (quality {})", f[0], got.quality));
        }
    }
    assert!(compared >= 10, "only {compared} vectors with quality >= 80");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
