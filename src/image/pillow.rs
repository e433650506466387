//! Greyscale conversion and Lanczos resampling computed the way Pillow
//! computes `Image.convert("L")` and `Image.resize(size, Image.LANCZOS)` on
//! 8-bit pictures, so that [`phash`](super::phash) and [`dhash`](super::dhash)
//! see the same small pictures as Python ImageHash does.
//!
//! - Greyscale: ITU-R 601-2 luma in 16-bit fixed point,
//!   `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`.
//! - Resampling: separable, one pass into an 8-bit picture, then the other:
//!   horizontal first, except (as Pillow 13 does) when the height shrinks by
//!   more than twice as many pixels as the width. Output pixel `x` is centred at `(x + 0.5) * scale` in the
//!   source (`scale = in / out`); the Lanczos-3 kernel
//!   `sinc(t) sinc(t / 3)` is stretched by `max(scale, 1)` when shrinking
//!   (so it averages every source pixel: antialiasing) and taps cover
//!   `round(centre - support) .. round(centre + support)` clipped to the
//!   picture; weights are normalised to sum 1, then rounded to 22-bit fixed
//!   point; sums start at one half and are clipped to 0..=255.
//!
//! ```
//! use neardup::image::pillow::{grey_from_rgb, resize_lanczos};
//!
//! let rgb = image::RgbImage::from_pixel(300, 200, image::Rgb([255, 0, 0]));
//! let grey = grey_from_rgb(&rgb);
//! assert_eq!(grey.get_pixel(0, 0).0[0], 76); // (19595 * 255 + 32768) >> 16
//! let small = resize_lanczos(&grey, 32, 32);
//! assert_eq!(small.dimensions(), (32, 32));
//! assert!(small.pixels().all(|p| p.0[0] == 76));
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use image::GrayImage;

/// Pillow's `rgb2l`: ITU-R 601-2 luma, rounded, in integers (the reference
/// for the table lookup in [`grey_from_rgb`]).
#[cfg(test)]
fn grey(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// `19595 v`, `38470 v`, `7471 v` for every byte value `v`.
fn grey_tables() -> &'static [[u32; 256]; 3] {
    static T: std::sync::OnceLock<[[u32; 256]; 3]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let row = |c: u32| std::array::from_fn(|v| c * v as u32);
        [row(19595), row(38470), row(7471)]
    })
}

/// `img.convert("L")` as Pillow computes it for an RGB picture.
pub fn grey_from_rgb(img: &image::RgbImage) -> GrayImage {
    let rgb = img.as_raw();
    let t = grey_tables();
    // The same integer sum as `grey`, the products looked up.
    let grey = |r: u8, g: u8, b: u8| {
        ((t[0][r as usize] + t[1][g as usize] + t[2][b as usize] + 0x8000) >> 16) as u8
    };
    let mut data = vec![0u8; rgb.len() / 3];
    // Eight pixels at a time so the compiler vectorises the de-interleaving.
    let mut px = rgb.chunks_exact(24);
    let mut out = data.chunks_exact_mut(8);
    for (p, o) in (&mut px).zip(&mut out) {
        for k in 0..8 {
            o[k] = grey(p[3 * k], p[3 * k + 1], p[3 * k + 2]);
        }
    }
    for (p, o) in px.remainder().chunks_exact(3).zip(out.into_remainder()) {
        *o = grey(p[0], p[1], p[2]);
    }
    // The buffer has exactly width * height values by construction.
    GrayImage::from_raw(img.width(), img.height(), data)
        .unwrap_or_else(|| GrayImage::new(img.width(), img.height()))
}

/// Fixed-point precision of the weights: Pillow's `PRECISION_BITS`
/// (32 bits less 8 for the pixel and 2 for the kernel's overshoot).
const PRECISION_BITS: u32 = 22;

/// Lanczos-3 support in source pixels (before stretching).
const LANCZOS_SUPPORT: f64 = 3.0;

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos(x: f64) -> f64 {
    if (-LANCZOS_SUPPORT..LANCZOS_SUPPORT).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The taps of one resampling direction: for output `i`, source pixels
/// `first[i] .. first[i] + count[i]` with weights
/// `weights[i * ksize .. i * ksize + count[i]]`.
struct Taps {
    first: Vec<usize>,
    count: Vec<usize>,
    ksize: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`, for the whole
/// source range.
fn taps(in_size: usize, out_size: usize) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = LANCZOS_SUPPORT * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let inv = 1.0 / filterscale;
    let mut first = Vec::with_capacity(out_size);
    let mut count = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // `as i64` truncates toward zero, as C's (int) cast does.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64).max(0) as usize;
        let n = xmax.saturating_sub(xmin).min(ksize);
        let mut ww = 0.0;
        for (x, kv) in k.iter_mut().enumerate().take(n) {
            let w = lanczos(((x + xmin) as f64 - center + 0.5) * inv);
            *kv = w;
            ww += w;
        }
        let row = &mut weights[xx * ksize..xx * ksize + n];
        for (out, &kv) in row.iter_mut().zip(&k[..n]) {
            let kv = if ww != 0.0 { kv / ww } else { kv };
            let scaled = kv * f64::from(1u32 << PRECISION_BITS);
            *out = if kv < 0.0 {
                (-0.5 + scaled) as i32
            } else {
                (0.5 + scaled) as i32
            };
        }
        first.push(xmin);
        count.push(n);
    }
    Taps {
        first,
        count,
        ksize,
        weights,
    }
}

/// Tap tables keyed by (source size, output size), most recent last.
type TapsCache = Vec<((usize, usize), Rc<Taps>)>;

thread_local! {
    /// Recently used tap tables, keyed by (source size, output size):
    /// pictures of one batch tend to share sizes, and a table costs
    /// thousands of `sin` calls.
    static TAPS: RefCell<TapsCache> = const { RefCell::new(Vec::new()) };
}

const TAPS_CACHE_SIZE: usize = 32;

fn cached_taps(in_size: usize, out_size: usize) -> Rc<Taps> {
    TAPS.with(|cell| {
        let Ok(mut cache) = cell.try_borrow_mut() else {
            return Rc::new(taps(in_size, out_size));
        };
        if let Some(pos) = cache
            .iter()
            .position(|(key, _)| *key == (in_size, out_size))
        {
            let entry = cache.remove(pos);
            let t = Rc::clone(&entry.1);
            cache.push(entry);
            return t;
        }
        let t = Rc::new(taps(in_size, out_size));
        if cache.len() >= TAPS_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push(((in_size, out_size), Rc::clone(&t)));
        t
    })
}

/// Pillow's `clip8`: drop the fraction bits, clamp to 0..=255.
#[inline]
fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// `img.resize((width, height), Image.LANCZOS)` as Pillow computes it for
/// an 8-bit greyscale picture. Works for any sizes, up or down; an empty
/// picture or an empty target gives a black picture of the target size.
pub fn resize_lanczos(src: &GrayImage, width: u32, height: u32) -> GrayImage {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (dw, dh) = (width as usize, height as usize);
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return GrayImage::new(width, height);
    }
    let data = resize_raw(src.as_raw(), sw, sh, dw, dh);
    GrayImage::from_raw(width, height, data).unwrap_or_else(|| GrayImage::new(width, height))
}

/// Resampling of a row-major `sw x sh` buffer to `dw x dh`.
fn resize_raw(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    let need_h = dw != sw;
    let need_v = dh != sh;
    // Pillow 13 runs the vertical pass first when the height shrinks by more
    // than twice as many pixels as the width (Pillow pull request #9549);
    // the order matters because the intermediate picture is rounded to
    // 8 bits. Found by matching Pillow's output on random pictures.
    let vertical_first = dh < sh && (sh - dh) as i64 > 2 * (sw as i64 - dw as i64);
    match (need_h, need_v) {
        (false, false) => src.to_vec(),
        (true, false) => horizontal(src, sw, 0..sh, &cached_taps(sw, dw)),
        (false, true) => vertical(src, sw, 0, &cached_taps(sh, dh)),
        (true, true) if vertical_first => {
            let tmp = vertical(src, sw, 0, &cached_taps(sh, dh));
            horizontal(&tmp, sw, 0..dh, &cached_taps(sw, dw))
        }
        (true, true) => {
            let vt = cached_taps(sh, dh);
            // Only the source rows the vertical pass reads.
            let y_first = vt.first[0];
            let y_last = vt.first[dh - 1] + vt.count[dh - 1];
            let tmp = horizontal(src, sw, y_first..y_last, &cached_taps(sw, dw));
            vertical(&tmp, dw, y_first, &vt)
        }
    }
}

/// Horizontal pass over the given rows of a `width`-wide buffer.
fn horizontal(src: &[u8], width: usize, rows: std::ops::Range<usize>, t: &Taps) -> Vec<u8> {
    let dw = t.first.len();
    let mut out = vec![0u8; dw * rows.len()];
    for (y, line_out) in rows.zip(out.chunks_exact_mut(dw)) {
        let line = &src[y * width..(y + 1) * width];
        for (xx, o) in line_out.iter_mut().enumerate() {
            let start = t.first[xx];
            let n = t.count[xx];
            let k = &t.weights[xx * t.ksize..xx * t.ksize + n];
            let mut ss = HALF;
            for (&p, &w) in line[start..start + n].iter().zip(k) {
                ss += i32::from(p) * w;
            }
            *o = clip8(ss);
        }
    }
    out
}

/// Vertical pass over a `width`-wide buffer whose first row is source row
/// `row_offset`: one accumulator per column, taps added row by row.
fn vertical(src: &[u8], width: usize, row_offset: usize, t: &Taps) -> Vec<u8> {
    let dh = t.first.len();
    let mut out = vec![0u8; width * dh];
    let mut acc = vec![0i32; width];
    for (yy, line_out) in out.chunks_exact_mut(width).enumerate() {
        acc.iter_mut().for_each(|a| *a = HALF);
        let start = t.first[yy] - row_offset;
        let n = t.count[yy];
        let k = &t.weights[yy * t.ksize..yy * t.ksize + n];
        for (dy, &w) in k.iter().enumerate() {
            let row = &src[(start + dy) * width..(start + dy + 1) * width];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in line_out.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_tables_match_formula() {
        let img = image::RgbImage::from_fn(37, 11, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 23) as u8, (x * y) as u8])
        });
        let g = grey_from_rgb(&img);
        for (p, q) in img.pixels().zip(g.pixels()) {
            assert_eq!(q.0[0], grey(p.0[0], p.0[1], p.0[2]));
        }
    }

    #[test]
    fn grey_matches_pillow_formula() {
        assert_eq!(grey(0, 0, 0), 0);
        assert_eq!(grey(255, 255, 255), 255);
        assert_eq!(grey(0, 255, 0), 150);
        assert_eq!(grey(0, 0, 255), 29);
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(1000, 32), (32, 32), (5, 32), (1, 9), (9, 8), (400, 9)] {
            let t = taps(i, o);
            for xx in 0..o {
                let s: i32 = t.weights[xx * t.ksize..xx * t.ksize + t.count[xx]]
                    .iter()
                    .sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= t.ksize as i32,
                    "{i}->{o}"
                );
                assert!(t.first[xx] + t.count[xx] <= i);
            }
        }
    }

    #[test]
    fn constant_pictures_stay_constant_any_size() {
        for (w, h) in [(1, 1), (3, 40), (40, 3), (32, 32), (700, 500)] {
            let g = GrayImage::from_pixel(w, h, image::Luma([137]));
            for (dw, dh) in [(32, 32), (9, 8), (64, 1), (w, 7)] {
                let r = resize_lanczos(&g, dw, dh);
                assert!(r.pixels().all(|p| p.0[0] == 137), "{w}x{h} -> {dw}x{dh}");
            }
        }
        let empty = GrayImage::new(0, 5);
        assert_eq!(resize_lanczos(&empty, 32, 32).dimensions(), (32, 32));
    }

    #[test]
    fn same_size_is_identity() {
        let g = GrayImage::from_fn(17, 11, |x, y| image::Luma([(x * 13 + y * 7) as u8]));
        assert_eq!(resize_lanczos(&g, 17, 11), g);
    }
}
