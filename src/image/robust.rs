//! Extra PDQ codes that let edited copies match: a global hash such as PDQ
//! sees a picture with a border, a meme caption bar or a crop as a different
//! picture, because the 64 x 64 grid it hashes has moved. neardup therefore
//! stores (and queries with) up to three more PDQ codes per picture, each the
//! hash of a region chosen the same way whatever the edit:
//!
//! - **trimmed**: the picture without near-uniform borders of any colour
//!   (letterboxing, padding, screenshot margins), tolerant to JPEG noise;
//! - **uncaptioned**: the picture without a caption band (a strip at the top
//!   or bottom, 5 to 40 % of the height, mostly of one colour but holding
//!   text), then trimmed;
//! - **centre**: the central 90 % of the (trimmed) picture, which a crop of
//!   up to about 10 % keeps.
//!
//! Two pictures match when any usable code (quality >= 50) of one is within
//! the threshold of any usable code of the other; [`min_distance`] computes
//! that. The primary code (the plain PDQ hash) is not repeated here.
//!
//! ```
//! use neardup::image::pdq::pdq_from_rgb;
//! use neardup::image::robust::{extra_pdq_codes, min_distance};
//!
//! let photo = image::RgbImage::from_fn(200, 150, |x, y| {
//!     let v = ((x as f32 / 9.0).sin() * (y as f32 / 7.0).cos() * 120.0 + 128.0) as u8;
//!     image::Rgb([v, v / 2, 255 - v])
//! });
//! // The same picture letterboxed in black.
//! let mut boxed = image::RgbImage::new(200, 250);
//! image::imageops::replace(&mut boxed, &photo, 0, 50);
//! let a = [pdq_from_rgb(&photo)];
//! let mut b = vec![pdq_from_rgb(&boxed)];
//! b.extend(extra_pdq_codes(&boxed).into_iter().map(|c| c.pdq));
//! assert!(min_distance(&a, &b) <= 31);
//! ```

use image::{Rgb, RgbImage};

use super::pdq::{pdq_from_rgb, Pdq, PDQ_MIN_QUALITY};

/// Which region of the picture an extra code hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The picture with near-uniform borders removed.
    Trimmed,
    /// The picture with a caption band removed (and then trimmed).
    Uncaptioned,
    /// The central part of the trimmed picture.
    Centre,
}

/// One extra code: the PDQ hash and quality of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegionCode {
    /// The region hashed.
    pub region: Region,
    /// Its PDQ hash and quality.
    pub pdq: Pdq,
}

/// Maximum channel difference from the border colour that still counts as
/// border: JPEG at quality 50 moves flat areas by a few levels and rings by
/// up to ~20 near edges.
const TOLERANCE: i32 = 28;
/// A caption band covers this share of the height at least and at most.
const CAPTION_MIN: f32 = 0.05;
const CAPTION_MAX: f32 = 0.40;
/// Less than this share of a side trimmed is noise, not a border.
const MIN_TRIM: f32 = 0.02;
/// Whatever is kept must be at least this share of each side: a picture
/// that is nearly all "border" is flat, not bordered.
const MIN_KEEP: f32 = 0.35;
/// The centre code keeps this share of each side (5 % off each edge).
const CENTRE_KEEP: f32 = 0.90;

/// The extra codes of a picture (already shrunk to fit 512 x 512, as for
/// [`pdq_from_rgb`]), at most three, only the usable ones (quality >= 50),
/// and only regions that differ from the whole picture: a picture without
/// borders or caption gets just its centre code.
pub fn extra_pdq_codes(img: &RgbImage) -> Vec<RegionCode> {
    let mut out = Vec::with_capacity(3);
    let (w, h) = img.dimensions();
    let full = Rect { x: 0, y: 0, w, h };
    let trimmed = trim(img, full);
    if let Some(t) = trimmed {
        out.push((Region::Trimmed, t));
    }
    // On the whole picture: trimming would take the band's empty margin
    // and leave a text line at the edge, whose colour is no guide.
    if let Some(c) = caption(img, full) {
        let c = trim(img, c).unwrap_or(c);
        out.push((Region::Uncaptioned, c));
    }
    let base = trimmed.unwrap_or(full);
    let cw = ((base.w as f32 * CENTRE_KEEP).round() as u32).max(1);
    let ch = ((base.h as f32 * CENTRE_KEEP).round() as u32).max(1);
    out.push((
        Region::Centre,
        Rect {
            x: base.x + (base.w - cw) / 2,
            y: base.y + (base.h - ch) / 2,
            w: cw,
            h: ch,
        },
    ));
    out.into_iter()
        .map(|(region, r)| RegionCode {
            region,
            pdq: pdq_from_rgb(&image::imageops::crop_imm(img, r.x, r.y, r.w, r.h).to_image()),
        })
        .filter(|c| c.pdq.quality >= PDQ_MIN_QUALITY)
        .collect()
}

/// The smallest Hamming distance between any usable code of `a` and any
/// usable code of `b` (codes of quality < 50 are skipped); 256 when either
/// side has no usable code.
pub fn min_distance(a: &[Pdq], b: &[Pdq]) -> u32 {
    let usable = |p: &&Pdq| p.quality >= PDQ_MIN_QUALITY;
    a.iter()
        .filter(usable)
        .flat_map(|x| b.iter().filter(usable).map(|y| x.hash.distance(&y.hash)))
        .min()
        .unwrap_or(256)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rect {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

/// The per-channel median of some pixels: the border colour of a line,
/// robust to a few pixels of content or noise.
fn median_colour(px: impl Iterator<Item = Rgb<u8>>) -> Rgb<u8> {
    let mut ch: [Vec<u8>; 3] = Default::default();
    for p in px {
        for (c, v) in ch.iter_mut().zip(p.0) {
            c.push(v);
        }
    }
    let mut m = [0u8; 3];
    for (mi, c) in m.iter_mut().zip(ch.iter_mut()) {
        if !c.is_empty() {
            let k = c.len() / 2;
            *mi = *c.select_nth_unstable(k).1;
        }
    }
    Rgb(m)
}

fn near(a: Rgb<u8>, b: Rgb<u8>) -> bool {
    a.0.iter()
        .zip(b.0)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= TOLERANCE)
}

/// What a line of border (or of caption band) looks like: at least
/// `min_bg` of its pixels near the edge colour, and at least `min_two_tone`
/// near either the edge colour or one other colour (the median of the rest:
/// the text of a caption, the second colour of a patterned border). Rows of
/// photographs are rarely made of two flat colours.
#[derive(Clone, Copy)]
struct Rule {
    min_bg: f32,
    min_two_tone: f32,
}

/// Border: a flat or two-colour pattern, nearly every pixel accounted for.
const BORDER: Rule = Rule {
    min_bg: 0.3,
    min_two_tone: 0.96,
};
/// Caption band: background and text, anti-aliased glyph edges aside.
const CAPTION: Rule = Rule {
    min_bg: 0.2,
    min_two_tone: 0.85,
};

fn line_ok(px: &[Rgb<u8>], bg: Rgb<u8>, rule: Rule) -> bool {
    let n = px.len().max(1) as f32;
    let rest: Vec<Rgb<u8>> = px.iter().copied().filter(|&p| !near(p, bg)).collect();
    let on_bg = px.len() - rest.len();
    if (on_bg as f32) < rule.min_bg * n {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let ink = median_colour(rest.iter().copied());
    let on_ink = rest.iter().filter(|&&p| near(p, ink)).count();
    (on_bg + on_ink) as f32 >= rule.min_two_tone * n
}

/// Whether row `y` (columns `x0..x1`) passes `rule` against `bg`.
fn row_ok(img: &RgbImage, y: u32, x0: u32, x1: u32, bg: Rgb<u8>, rule: Rule) -> bool {
    let px: Vec<Rgb<u8>> = (x0..x1).map(|x| *img.get_pixel(x, y)).collect();
    line_ok(&px, bg, rule)
}

/// Whether column `x` (rows `y0..y1`) passes `rule` against `bg`.
fn col_ok(img: &RgbImage, x: u32, y0: u32, y1: u32, bg: Rgb<u8>, rule: Rule) -> bool {
    let px: Vec<Rgb<u8>> = (y0..y1).map(|y| *img.get_pixel(x, y)).collect();
    line_ok(&px, bg, rule)
}

/// How many lines from one edge are border: `lines` yields the line indices
/// from the edge inward, `ok` tells whether a line passes against the colour
/// of the outermost line.
fn border_run(
    lines: impl Iterator<Item = u32>,
    edge_colour: Rgb<u8>,
    ok: impl Fn(u32, Rgb<u8>) -> bool,
) -> u32 {
    lines.take_while(|&l| ok(l, edge_colour)).count() as u32
}

/// `r` without its near-uniform borders, or `None` when no side has a
/// border (or the picture is nearly all border, i.e. flat).
fn trim(img: &RgbImage, r: Rect) -> Option<Rect> {
    if r.w < 8 || r.h < 8 {
        return None;
    }
    let (x0, x1, y0, y1) = (r.x, r.x + r.w, r.y, r.y + r.h);
    let top_bg = median_colour((x0..x1).map(|x| *img.get_pixel(x, y0)));
    let bot_bg = median_colour((x0..x1).map(|x| *img.get_pixel(x, y1 - 1)));
    let left_bg = median_colour((y0..y1).map(|y| *img.get_pixel(x0, y)));
    let right_bg = median_colour((y0..y1).map(|y| *img.get_pixel(x1 - 1, y)));
    let rs = |y, bg| row_ok(img, y, x0, x1, bg, BORDER);
    let cs = |x, bg| col_ok(img, x, y0, y1, bg, BORDER);
    let top = border_run(y0..y1, top_bg, rs);
    let bottom = border_run((y0..y1).rev(), bot_bg, rs);
    let left = border_run(x0..x1, left_bg, cs);
    let right = border_run((x0..x1).rev(), right_bg, cs);
    // A side counts only when its border is wider than noise.
    let keep = |n: u32, side: u32| {
        if (n as f32) < MIN_TRIM * side as f32 {
            0
        } else {
            n
        }
    };
    let (top, bottom) = (keep(top, r.h), keep(bottom, r.h));
    let (left, right) = (keep(left, r.w), keep(right, r.w));
    if top + bottom + left + right == 0 {
        return None;
    }
    let (w, h) = (
        r.w.saturating_sub(left + right),
        r.h.saturating_sub(top + bottom),
    );
    if (w as f32) < MIN_KEEP * r.w as f32 || (h as f32) < MIN_KEEP * r.h as f32 {
        return None;
    }
    Some(Rect {
        x: x0 + left,
        y: y0 + top,
        w,
        h,
    })
}

/// `r` without a caption band at its top or bottom (the taller of the two
/// when both qualify), or `None`.
fn caption(img: &RgbImage, r: Rect) -> Option<Rect> {
    if r.w < 8 || r.h < 8 {
        return None;
    }
    let (x0, x1, y0, y1) = (r.x, r.x + r.w, r.y, r.y + r.h);
    let rs = |y, bg| row_ok(img, y, x0, x1, bg, CAPTION);
    let band = |n: u32| {
        let s = n as f32 / r.h as f32;
        (CAPTION_MIN..=CAPTION_MAX).contains(&s)
    };
    let top_bg = median_colour((x0..x1).map(|x| *img.get_pixel(x, y0)));
    let bot_bg = median_colour((x0..x1).map(|x| *img.get_pixel(x, y1 - 1)));
    let top = border_run(y0..y1, top_bg, rs);
    let bottom = border_run((y0..y1).rev(), bot_bg, rs);
    let (top, bottom) = (
        if band(top) { top } else { 0 },
        if band(bottom) { bottom } else { 0 },
    );
    if top == 0 && bottom == 0 {
        return None;
    }
    // Remove only the taller band: the caption, not a thin margin opposite.
    let (top, bottom) = if top >= bottom { (top, 0) } else { (0, bottom) };
    Some(Rect {
        x: x0,
        y: y0 + top,
        w: r.w,
        h: r.h - top - bottom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured picture (quality well above 50).
    fn photo(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x as f32 / 13.0).sin() * (y as f32 / 9.0).cos() * 90.0
                + (x as f32 * y as f32 / 900.0).sin() * 30.0
                + 128.0) as u8;
            Rgb([v, v.wrapping_mul(3) / 2, 255 - v])
        })
    }

    fn codes(img: &RgbImage) -> Vec<Pdq> {
        let mut v = vec![pdq_from_rgb(img)];
        v.extend(extra_pdq_codes(img).into_iter().map(|c| c.pdq));
        v
    }

    #[test]
    fn border_of_twenty_percent_is_trimmed_back_to_the_original() {
        let p = photo(240, 180);
        let original = pdq_from_rgb(&p);
        // 20 % of each side added as a grey border, split over both edges.
        let (bw, bh) = (24, 18);
        let mut padded = RgbImage::from_pixel(240 + 2 * bw, 180 + 2 * bh, Rgb([90, 90, 90]));
        image::imageops::replace(&mut padded, &p, i64::from(bw), i64::from(bh));
        let plain = pdq_from_rgb(&padded).hash.distance(&original.hash);
        let extra = extra_pdq_codes(&padded);
        let t = extra
            .iter()
            .find(|c| c.region == Region::Trimmed)
            .expect("a trimmed code");
        let d = t.pdq.hash.distance(&original.hash);
        assert!(d <= 8, "trimmed code {d} bits from the original");
        assert!(d < plain, "trimming must help: {d} vs plain {plain}");
    }

    #[test]
    fn caption_bar_is_removed() {
        let p = photo(240, 180);
        let original = pdq_from_rgb(&p);
        // A white band of 20 % of the new height with black glyph blocks.
        let band = 45;
        let mut meme = RgbImage::from_pixel(240, 180 + band, Rgb([255, 255, 255]));
        for line in 0..2u32 {
            for glyph in 0..14u32 {
                let (gx, gy) = (20 + glyph * 15, 8 + line * 18);
                for y in gy..gy + 12 {
                    for x in gx..gx + 9 {
                        meme.put_pixel(x, y, Rgb([0, 0, 0]));
                    }
                }
            }
        }
        image::imageops::replace(&mut meme, &p, 0, i64::from(band));
        let extra = extra_pdq_codes(&meme);
        let c = extra
            .iter()
            .find(|c| c.region == Region::Uncaptioned)
            .expect("an uncaptioned code");
        let d = c.pdq.hash.distance(&original.hash);
        assert!(d <= 10, "uncaptioned code {d} bits from the original");
        assert!(min_distance(&[original], &codes(&meme)) <= d);
    }

    #[test]
    fn plain_picture_gets_no_trimmed_or_caption_code() {
        let extra = extra_pdq_codes(&photo(240, 180));
        assert!(
            extra.iter().all(|c| c.region == Region::Centre),
            "{extra:?}"
        );
        assert_eq!(extra.len(), 1);
    }

    #[test]
    fn flat_picture_gets_no_usable_code() {
        let flat = RgbImage::from_pixel(100, 80, Rgb([200, 10, 10]));
        assert!(extra_pdq_codes(&flat).is_empty());
        assert_eq!(min_distance(&codes(&flat), &codes(&photo(100, 80))), 256);
    }
}
