//! pHash: a 64-bit DCT hash, defined to follow Python ImageHash's
//! `imagehash.phash(image)` (hash size 8, high-frequency factor 4).
//!
//! Definition, for an RGB picture of any size:
//! 1. greyscale with Pillow's integer ITU-R 601-2 luma
//!    `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`;
//! 2. resize to 32 x 32 with Pillow's antialiased Lanczos-3 resampling
//!    (8-bit result; see [`super::pillow`]), the aspect ratio not kept;
//! 3. 2-D DCT-II of the 32 x 32 values (columns then rows; only the 8 x 8
//!    lowest frequencies, DC included, are computed);
//! 4. bit `8 u + v` is 1 when coefficient `(u, v)` (`u` the vertical
//!    frequency) is greater than the median of the 64 coefficients (the
//!    mean of the 32nd and 33rd smallest);
//! 5. bits packed row-major, the first bit most significant: the hex form
//!    ([`Hash64::to_hex`]) is the string `str(imagehash.phash(img))` prints.
//!
//! ```
//! use neardup::image::phash::phash;
//!
//! let img = image::RgbImage::from_fn(200, 150, |x, y| image::Rgb([(x + y) as u8, x as u8, y as u8]));
//! let h = phash(&img);
//! assert_eq!(h.distance(&phash(&img)), 0);
//! println!("{h}");
//! ```

use std::sync::OnceLock;

use super::code::Hash64;
use super::pillow::{grey_from_rgb, resize_lanczos};

/// Side of the resized picture: hash size 8 times ImageHash's
/// `highfreq_factor` 4.
const SIDE: usize = 32;
/// Side of the kept block of low frequencies.
const HASH_SIDE: usize = 8;

/// The pHash of an RGB picture (see the module documentation).
pub fn phash(img: &image::RgbImage) -> Hash64 {
    phash_from_grey(&grey_from_rgb(img))
}

/// pHash and dHash of one RGB picture, converting it to greyscale once
/// (cheaper than calling [`phash`] and [`super::dhash::dhash`]).
pub fn phash_dhash(img: &image::RgbImage) -> (Hash64, Hash64) {
    let grey = grey_from_rgb(img);
    (phash_from_grey(&grey), super::dhash::dhash_from_grey(&grey))
}

/// The pHash of a picture already in Pillow's greyscale (steps 2 to 5), so a
/// caller computing several hashes converts once.
pub fn phash_from_grey(grey: &image::GrayImage) -> Hash64 {
    let small = resize_lanczos(grey, SIDE as u32, SIDE as u32);
    let px = small.as_raw();
    let c = cosines();
    // For every frequency k >= 1 the cosines sum to zero, so subtracting a
    // constant from a line changes no coefficient but the DC one. Each line
    // is taken relative to its first value: a constant line then gives
    // exact zeros, as scipy's DCT (used by ImageHash) does, instead of
    // rounding noise. That matters for flat and one-way gradient pictures,
    // where most coefficients are zero and the median is zero.
    //
    // Columns: t[u][x] = sum_y cos(pi u (2y + 1) / 64) px[y][x], u < 8.
    let mut t = [0f64; HASH_SIDE * SIDE];
    let first = &px[..SIDE];
    for y in 0..SIDE {
        let row = &px[y * SIDE..(y + 1) * SIDE];
        for (x, (&p, &p0)) in row.iter().zip(first).enumerate() {
            t[x] += f64::from(p);
            let dp = f64::from(p) - f64::from(p0);
            for u in 1..HASH_SIDE {
                t[u * SIDE + x] += c[u * SIDE + y] * dp;
            }
        }
    }
    // Rows: d[u][v] = sum_x cos(pi v (2x + 1) / 64) t[u][x]. The factor 2
    // per direction of scipy's unnormalised DCT-II is left out: a positive
    // scale changes no comparison with the median.
    let mut d = [0f64; HASH_SIDE * HASH_SIDE];
    for u in 0..HASH_SIDE {
        let trow = &t[u * SIDE..(u + 1) * SIDE];
        d[u * HASH_SIDE] = trow.iter().sum();
        for v in 1..HASH_SIDE {
            d[u * HASH_SIDE + v] = trow
                .iter()
                .zip(&c[v * SIDE..(v + 1) * SIDE])
                .map(|(&a, &b)| (a - trow[0]) * b)
                .sum();
        }
    }
    let mut sorted = d;
    sorted.sort_unstable_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    Hash64::from_bits(d.iter().map(|&v| v > median))
}

/// `cos(pi k (2n + 1) / 64)` for `k < 8`, `n < 32`, row-major by `k`.
fn cosines() -> &'static [f64; HASH_SIDE * SIDE] {
    static C: OnceLock<[f64; HASH_SIDE * SIDE]> = OnceLock::new();
    C.get_or_init(|| {
        std::array::from_fn(|i| {
            let (k, n) = (i / SIDE, i % SIDE);
            (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * SIDE) as f64).cos()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::dhash::dhash;

    /// A smooth picture with structure at several scales.
    pub(crate) fn scene(w: u32, h: u32, seed: f32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let f = 0.5
                + 0.25 * (seed * 5.0 * u + 3.0 * v).sin()
                + 0.15 * (seed * 9.0 * v - 4.0 * u * u).cos()
                + 0.1 * (17.0 * u * v + seed).sin();
            let g = (f.clamp(0.0, 1.0) * 255.0) as u8;
            image::Rgb([g, 255 - g, g / 3])
        })
    }

    /// `img` with every channel value mapped by `f`.
    fn map_levels(img: &image::RgbImage, f: impl Fn(u8) -> u8) -> image::RgbImage {
        let mut out = img.clone();
        out.pixels_mut().for_each(|p| p.0 = p.0.map(&f));
        out
    }

    #[test]
    fn brightness_and_contrast_keep_the_hash_and_inversion_flips_it() {
        let a = scene(300, 200, 1.0);
        // Both hashes compare grey levels with each other (coefficients with
        // their median, neighbours with neighbours), so a rising affine map
        // of the levels keeps them, up to rounding; a falling one (the
        // negative) reverses every comparison of the AC coefficients.
        let dimmer = map_levels(&a, |v| (u16::from(v) * 3 / 4 + 40) as u8);
        assert!(phash(&a).distance(&phash(&dimmer)) <= 2);
        assert!(dhash(&a).distance(&dhash(&dimmer)) <= 4);
        let negative = map_levels(&a, |v| 255 - v);
        assert!(phash(&a).distance(&phash(&negative)) >= 48);
        assert!(dhash(&a).distance(&dhash(&negative)) >= 48);
        // The combined path converts to grey once and agrees with each hash.
        for img in [&a, &dimmer, &negative] {
            assert_eq!(phash_dhash(img), (phash(img), dhash(img)));
        }
    }

    #[test]
    fn resized_copy_is_near() {
        let a = scene(640, 480, 1.3);
        let b = image::imageops::resize(&a, 200, 150, image::imageops::FilterType::Triangle);
        assert!(phash(&a).distance(&phash(&b)) <= 6);
        assert!(dhash(&a).distance(&dhash(&b)) <= 6);
    }

    #[test]
    fn unrelated_pictures_are_far() {
        let a = scene(320, 240, 1.0);
        let b = image::imageops::rotate180(&scene(320, 240, 2.7));
        assert!(phash(&a).distance(&phash(&b)) >= 16);
        assert!(dhash(&a).distance(&dhash(&b)) >= 16);
    }

    #[test]
    fn flat_picture_keeps_only_the_dc_bit() {
        // As ImageHash: every AC coefficient is exactly 0 = the median.
        let flat = image::RgbImage::from_pixel(123, 77, image::Rgb([200, 10, 30]));
        assert_eq!(phash(&flat).to_hex(), "8000000000000000");
        assert_eq!(dhash(&flat).to_hex(), "0000000000000000");
    }

    #[test]
    fn tiny_and_degenerate_pictures_do_not_panic() {
        for (w, h) in [
            (0, 0),
            (0, 5),
            (1, 1),
            (2, 1),
            (9, 7),
            (500, 12),
            (12, 500),
            (1, 3000),
        ] {
            let img = scene(w, h, 0.5);
            let _ = (phash(&img), dhash(&img));
        }
    }
}
