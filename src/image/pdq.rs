//! PDQ, Meta's 256-bit perceptual hash, computed bit for bit as Meta's C++
//! reference (facebook/ThreatExchange `pdq/cpp`) computes it.
//!
//! The steps, all in `f32` in the reference's order of operations (which
//! matters: PDQ thresholds DCT coefficients at their median, so a coefficient
//! one rounding step away from the median flips a bit):
//!
//! 1. luma `Y = 0.299 R + 0.587 G + 0.114 B` per pixel;
//! 2. a Jarosz tent filter: two passes of a box filter along rows then
//!    columns, window `ceil(side / 128)` (a full 64x64 cell over the two
//!    passes), as running sums;
//! 3. decimation to 64 x 64 by sampling the cell centres
//!    (skipped, like steps 2, when the picture is 64 x 64 already);
//! 4. quality: the sum of quantised neighbour gradients of the 64 x 64
//!    picture, divided by 90, capped at 100;
//! 5. the 16 x 16 lowest non-DC coefficients of the 2-D DCT-II (a 16 x 64 DCT
//!    matrix `D`, `B = D A Dt`);
//! 6. bit `16 i + j` is set when `B[i][j]` is above the median of the 256
//!    coefficients (the 128th smallest, as Torben's median returns it).
//!
//! neardup adds one measure of its own, the *contrast* the bits are read
//! from (the root mean square of those 256 coefficients per pixel of the
//! 64 x 64 picture, in luma levels): see [`Pdq::usable`].
//!
//! The seven other dihedral hashes (rotations and flips of the picture) come
//! from the same DCT: rotating or flipping a picture transposes its DCT and
//! changes the signs of odd rows or columns, so no second DCT is needed.
//!
//! Pictures are hashed at the size given. Meta's Python reference first
//! shrinks anything larger than 512 pixels a side to fit 512 x 512 (Pillow
//! `thumbnail`), and callers should do the same: the decoder in this crate
//! does.
//!
//! ```
//! use neardup::image::pdq::{pdq_from_rgb, PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY};
//!
//! let img = image::RgbImage::from_fn(256, 192, |x, y| {
//!     let v = ((x as f32 / 20.0).sin() * (y as f32 / 15.0).cos() * 120.0 + 128.0) as u8;
//!     image::Rgb([v, v / 2, 255 - v])
//! });
//! let a = pdq_from_rgb(&img);
//! let b = pdq_from_rgb(&image::imageops::blur(&img, 1.0));
//! assert!(a.quality >= PDQ_MIN_QUALITY);
//! // A match: distance within 31 bits and both qualities at least 50.
//! assert!(a.hash.distance(&b.hash) <= PDQ_MATCH_DISTANCE);
//! println!("{} {}", a.hash, a.quality);
//! ```

use std::cell::RefCell;
use std::sync::OnceLock;

use super::code::Hash256;

/// Two PDQ hashes at Hamming distance at most this many bits are a match.
///
/// This is the threshold Meta recommends and ThreatExchange / HMA use by
/// default: about 12 % of the 256 bits, where the false-positive rate on
/// unrelated photos is still negligible.
pub const PDQ_MATCH_DISTANCE: u32 = 31;

/// Hashes of quality below this are not trusted for matching.
///
/// Meta's guidance: pictures that score under 50 are flat or nearly flat
/// (few significant gradients), so their bits follow noise and they match
/// unrelated flat pictures.
pub const PDQ_MIN_QUALITY: u8 = 50;

/// A hash of lower quality is still trusted when its contrast
/// ([`Pdq::contrast`], hundredths of a luma level) is at least this.
///
/// Meta's quality counts neighbour steps of at least 2.55 luma levels in the
/// 64 x 64 picture, so a smooth or faint picture (a soft gradient wallpaper,
/// a pale pattern) scores under 50 however much structure it has; a flat
/// one scores 0. What decides whether the bits follow the picture or noise
/// is how far the 256 coefficients they are read from stand out of noise:
/// a flat grey picture with Gaussian noise of 3 levels per pixel (or a
/// dithered one saved as JPEG) measures 0.12-0.13 levels, a linear
/// gradient 0 (PDQ leaves out the DCT's first row and column, so its bits
/// are noise although its quality may be 44), the faint symbol-pattern
/// wallpapers of the test corpus 0.40-0.44 and smooth photographs 3-15.
/// 0.30 keeps a margin of more than twice the noise floor. On the
/// robustness benchmark this admits 4 of the 5 pictures quality rejects
/// (the fifth is blank) with no change of the threshold at a false-positive
/// rate of 1e-4.
pub const PDQ_MIN_CONTRAST: u16 = 30;

/// A PDQ hash and its quality score (serialised as
/// `{"hash": "<64 hex>", "quality": n}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Pdq {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// Meta's quality score, 0..=100 (see [`PDQ_MIN_QUALITY`]).
    pub quality: u8,
    /// The contrast of the coefficients the bits come from, in hundredths
    /// of a luma level (see [`PDQ_MIN_CONTRAST`]); 0 when not known.
    #[serde(default)]
    pub contrast: u16,
}

impl Pdq {
    /// Whether the hash is trusted for matching: Meta's quality is at least
    /// [`PDQ_MIN_QUALITY`], or its contrast at least [`PDQ_MIN_CONTRAST`].
    pub fn usable(&self) -> bool {
        self.quality >= PDQ_MIN_QUALITY || self.contrast >= PDQ_MIN_CONTRAST
    }
}

/// The eight dihedral PDQ hashes of one picture and their common quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PdqDihedral {
    /// The hashes of the picture as given, rotated 90, 180 and 270 degrees,
    /// flipped about the x and y axes, and flipped about the diagonals
    /// (`flip_plus1`, `flip_minus1`), in Meta's order; see [`Dihedral`].
    pub hashes: [Hash256; 8],
    /// Meta's quality score, 0..=100.
    pub quality: u8,
    /// Their common contrast (see [`Pdq::contrast`]).
    #[serde(default)]
    pub contrast: u16,
}

impl PdqDihedral {
    /// The hash of the picture as given (the same as [`pdq_from_rgb`] gives,
    /// except for exactly 64 x 64 pictures; see [`pdq_dihedral_from_luma`]).
    pub fn original(&self) -> Hash256 {
        self.hashes[0]
    }

    /// Whether the hashes are trusted for matching (as [`Pdq::usable`]:
    /// they share one quality and contrast).
    pub fn usable(&self) -> bool {
        self.quality >= PDQ_MIN_QUALITY || self.contrast >= PDQ_MIN_CONTRAST
    }

    /// The hash for one transform.
    pub fn get(&self, d: Dihedral) -> Hash256 {
        self.hashes[d as usize]
    }

    /// The smallest distance from `other` to any of the eight hashes: how
    /// near `other` is to some rotation or flip of this picture.
    pub fn min_distance(&self, other: &Hash256) -> u32 {
        self.hashes
            .iter()
            .map(|h| h.distance(other))
            .min()
            .unwrap_or(256)
    }
}

/// The eight symmetries of a rectangle, in the order of
/// [`PdqDihedral::hashes`] (Meta's order and names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dihedral {
    /// The picture as given.
    Original = 0,
    /// Rotated 90 degrees counterclockwise.
    Rotate90 = 1,
    /// Rotated 180 degrees.
    Rotate180 = 2,
    /// Rotated 270 degrees counterclockwise (90 clockwise).
    Rotate270 = 3,
    /// Mirrored about the x axis: top and bottom swap (Meta's `flipx`).
    FlipX = 4,
    /// Mirrored about the y axis: left and right swap (Meta's `flipy`).
    FlipY = 5,
    /// Mirrored about the main diagonal (Meta's `flip_plus1`, a transpose).
    FlipPlus1 = 6,
    /// Mirrored about the anti-diagonal (Meta's `flip_minus1`).
    FlipMinus1 = 7,
}

impl Dihedral {
    /// All eight, in [`PdqDihedral::hashes`] order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// Meta's name: `orig`, `rot90`, `rot180`, `rot270`, `flipx`, `flipy`,
    /// `flip_plus1`, `flip_minus1`.
    pub fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rotate90 => "rot90",
            Dihedral::Rotate180 => "rot180",
            Dihedral::Rotate270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flip_plus1",
            Dihedral::FlipMinus1 => "flip_minus1",
        }
    }
}

/// Pictures narrower or shorter than this get the all-zero hash and quality
/// 0, as in Meta's reference (`MIN_HASHABLE_DIM`).
const MIN_HASHABLE_SIDE: usize = 5;

/// The luma weights of Meta's C++ (`luma_from_R_coeff` ...), as `f32`.
const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/// PDQ hash and quality of an RGB picture, at the size given.
///
/// Equal to Meta's reference (`pdqHash256FromFloatLuma` on luma from
/// `fillFloatLumaFromRGB`) for the same pixels. Pictures with a side under 5
/// pixels get the all-zero hash and quality 0, as in the reference.
pub fn pdq_from_rgb(img: &image::RgbImage) -> Pdq {
    pdq_from_rgb_region(img, 0, 0, img.width(), img.height())
}

/// PDQ hash and quality of the `w` x `h` region of `img` at (`x`, `y`),
/// equal to [`pdq_from_rgb`] of that region cropped out, without copying
/// it. The region is clipped to the picture.
pub fn pdq_from_rgb_region(img: &image::RgbImage, x: u32, y: u32, w: u32, h: u32) -> Pdq {
    let (x, y) = (x.min(img.width()), y.min(img.height()));
    let w = w.min(img.width() - x) as usize;
    let h = h.min(img.height() - y) as usize;
    pdq_from_source(Source::rgb_window(img, x, y), w, h)
}

/// The eight dihedral PDQ hashes of an RGB picture from one DCT, as Meta's
/// `pdqDihedralHash256esFromFloatLuma` computes them.
pub fn pdq_dihedral_from_rgb(img: &image::RgbImage) -> PdqDihedral {
    let (w, h) = (img.width() as usize, img.height() as usize);
    dihedral_from_source(Source::rgb_window(img, 0, 0), w, h)
}

/// The eight dihedral PDQ hashes of a region of an RGB picture (clamped to
/// the picture), as [`pdq_dihedral_from_rgb`] gives them for that region
/// cut out.
pub fn pdq_dihedral_from_rgb_region(
    img: &image::RgbImage,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> PdqDihedral {
    let (x, y) = (x.min(img.width()), y.min(img.height()));
    let w = w.min(img.width() - x) as usize;
    let h = h.min(img.height() - y) as usize;
    dihedral_from_source(Source::rgb_window(img, x, y), w, h)
}

/// PDQ hash and quality of a luma picture (`width * height` values,
/// row-major, nominally 0..=255).
///
/// # Panics
/// If `luma.len() != width * height` (a caller bug, not a property of input
/// data).
pub fn pdq_from_luma(luma: &[f32], width: usize, height: usize) -> Pdq {
    check_luma_len(luma, width, height);
    pdq_from_source(Source::Luma(luma), width, height)
}

fn pdq_from_source(src: Source, width: usize, height: usize) -> Pdq {
    let Some(dct) = dct16(src, width, height, true) else {
        return Pdq {
            hash: Hash256::ZERO,
            quality: 0,
            contrast: 0,
        };
    };
    Pdq {
        hash: bits_above_median(&dct.coeffs),
        quality: dct.quality,
        contrast: dct.contrast,
    }
}

/// The eight dihedral PDQ hashes of a luma picture (see [`pdq_from_luma`]).
///
/// Like Meta's reference, this path always filters, even for a picture of
/// exactly 64 x 64 pixels, where [`pdq_from_luma`] takes the pixels as they
/// are; only there can `hashes[0]` differ from [`pdq_from_luma`]'s hash.
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn pdq_dihedral_from_luma(luma: &[f32], width: usize, height: usize) -> PdqDihedral {
    check_luma_len(luma, width, height);
    dihedral_from_source(Source::Luma(luma), width, height)
}

fn dihedral_from_source(src: Source, width: usize, height: usize) -> PdqDihedral {
    let Some(dct) = dct16(src, width, height, false) else {
        return PdqDihedral {
            hashes: [Hash256::ZERO; 8],
            quality: 0,
            contrast: 0,
        };
    };
    let a = &dct.coeffs;
    let mut hashes = [Hash256::ZERO; 8];
    let mut t = [0f32; 256];
    for d in Dihedral::ALL {
        for i in 0..16 {
            for j in 0..16 {
                let v = a[i * 16 + j];
                // Rotating or flipping the picture maps DCT basis (i, j) to
                // (j, i) for the transposing symmetries, and multiplies it
                // by (-1)^i for a vertical flip, (-1)^j for a horizontal one
                // (basis functions 1..16 here, so "even index" = odd
                // frequency). Signs and transposes as in Meta's
                // `dct16OriginalTo*`.
                let (dst, neg) = match d {
                    Dihedral::Original => (i * 16 + j, false),
                    Dihedral::Rotate90 => (j * 16 + i, j & 1 == 0),
                    Dihedral::Rotate180 => (i * 16 + j, (i + j) & 1 == 1),
                    Dihedral::Rotate270 => (j * 16 + i, i & 1 == 0),
                    Dihedral::FlipX => (i * 16 + j, i & 1 == 0),
                    Dihedral::FlipY => (i * 16 + j, j & 1 == 0),
                    Dihedral::FlipPlus1 => (j * 16 + i, false),
                    Dihedral::FlipMinus1 => (j * 16 + i, (i + j) & 1 == 1),
                };
                t[dst] = if neg { -v } else { v };
            }
        }
        hashes[d as usize] = bits_above_median(&t);
    }
    PdqDihedral {
        hashes,
        quality: dct.quality,
        contrast: dct.contrast,
    }
}

/// `LUMA_R * v`, `LUMA_G * v`, `LUMA_B * v` for every byte value `v`.
fn luma_tables() -> &'static [[f32; 256]; 3] {
    static T: OnceLock<[[f32; 256]; 3]> = OnceLock::new();
    T.get_or_init(|| {
        let row = |c: f32| std::array::from_fn(|v| c * v as f32);
        [row(LUMA_R), row(LUMA_G), row(LUMA_B)]
    })
}

/// Where the tent filter reads its picture: luma values, or RGB bytes
/// turned into luma as they are read (so the luma picture is never stored).
#[derive(Clone, Copy)]
enum Source<'a> {
    Luma(&'a [f32]),
    /// A window of an RGB picture (or all of it): its row `y` starts at
    /// byte `(y0 + y) * stride + 3 * x0`.
    Rgb {
        rgb: &'a [u8],
        stride: usize,
        x0: usize,
        y0: usize,
    },
}

impl<'a> Source<'a> {
    /// The window of `img` whose top left corner is (`x`, `y`).
    fn rgb_window(img: &'a image::RgbImage, x: u32, y: u32) -> Self {
        Source::Rgb {
            rgb: img.as_raw(),
            stride: 3 * img.width() as usize,
            x0: x as usize,
            y0: y as usize,
        }
    }

    /// Luma of row `y` of a `width`-wide picture into `out[x * stride]`.
    #[inline]
    fn row_into(self, y: usize, width: usize, out: &mut [f32], stride: usize) {
        match self {
            Source::Luma(l) => {
                for (x, &v) in l[y * width..(y + 1) * width].iter().enumerate() {
                    out[x * stride] = v;
                }
            }
            Source::Rgb {
                rgb,
                stride: bytes_per_row,
                x0,
                y0,
            } => {
                let t = luma_tables();
                // The same f32 products as Meta's `fillFloatLumaFromRGB`,
                // looked up instead of converted and multiplied, and summed
                // in the same order: the result is identical.
                let start = (y0 + y) * bytes_per_row + 3 * x0;
                let row = &rgb[start..start + 3 * width];
                for (x, p) in row.chunks_exact(3).enumerate() {
                    out[x * stride] =
                        t[0][p[0] as usize] + t[1][p[1] as usize] + t[2][p[2] as usize];
                }
            }
        }
    }
}

fn check_luma_len(luma: &[f32], width: usize, height: usize) {
    assert_eq!(
        luma.len(),
        width * height,
        "PDQ: luma buffer of {} values for a {width} x {height} picture",
        luma.len()
    );
}

/// Working buffers of the tent filter, kept per thread so that hashing many
/// pictures does not allocate (and fault in) fresh megabytes for each.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    gathered: Vec<f32>,
    filtered: Vec<f32>,
    sums: Vec<f32>,
    strip: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

struct Dct16 {
    /// `B[i][j]` at `16 i + j`: DCT basis functions 1..=16 in each direction.
    coeffs: [f32; 256],
    quality: u8,
    contrast: u16,
}

/// Steps 2 to 5: filter, decimate, quality, DCT. `None` for pictures too
/// small to hash.
fn dct16(src: Source, width: usize, height: usize, shortcut64: bool) -> Option<Dct16> {
    if width < MIN_HASHABLE_SIDE || height < MIN_HASHABLE_SIDE {
        return None;
    }
    let mut small = [0f32; 64 * 64];
    if shortcut64 && width == 64 && height == 64 {
        // Meta's `pdqFloat256FromFloatLuma` takes 64 x 64 input as it is
        // (meant for video frames already scaled by ffmpeg).
        for y in 0..64 {
            src.row_into(y, 64, &mut small[y * 64..(y + 1) * 64], 1);
        }
    } else {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => tent_filter_decimate(src, &mut scratch, width, height, &mut small),
            // Only reachable if hashing re-entered itself on this thread.
            Err(_) => tent_filter_decimate(src, &mut Scratch::default(), width, height, &mut small),
        });
    }
    let quality = quality(&small);
    let coeffs = dct64_to_16(&small);
    Some(Dct16 {
        contrast: contrast(&coeffs),
        coeffs,
        quality,
    })
}

/// Meta's `computeJaroszFilterWindowSize(old, 64)`: half a 64th of the
/// side, rounded up, because two passes of the box filter together span
/// a full cell.
fn window_size(side: usize) -> usize {
    side.div_ceil(2 * 64)
}

/// Jarosz filter (box along rows, box along columns, twice) then sampling
/// of the 64 x 64 cell centres, as Meta's `jaroszFilterFloat` and
/// `decimateFloat` compute them.
///
/// Each column is filtered with the same running sum, in the same order, as
/// the reference; only the loop nesting differs (all columns advance one row
/// at a time, which vectorises). The last column pass runs only over the 64
/// sampled columns and keeps only the 64 sampled rows, and the second row
/// pass stores only the sampled columns (its running sums still go through
/// every column): no other value is ever read.
fn tent_filter_decimate(
    src: Source,
    s: &mut Scratch,
    width: usize,
    height: usize,
    out: &mut [f32; 64 * 64],
) {
    let win_x = window_size(width);
    let win_y = window_size(height);
    let n = width * height;
    // Grown, never cleared: every value read is written first.
    for (v, len) in [
        (&mut s.a, n),
        (&mut s.b, n),
        (&mut s.gathered, 64 * height),
        (&mut s.filtered, 64 * height),
    ] {
        if v.len() < len {
            v.resize(len, 0.0);
        }
    }
    let (a, b) = (&mut s.a[..n], &mut s.b[..n]);
    let (gathered, filtered) = (
        &mut s.gathered[..64 * height],
        &mut s.filtered[..64 * height],
    );

    // Sampled rows and columns: the pixel under each cell centre, computed
    // in f64 and truncated as in `decimateFloat`.
    let rows: [usize; 64] =
        std::array::from_fn(|i| (((i as f64 + 0.5) * height as f64) / 64.0) as usize);
    let cols: [usize; 64] =
        std::array::from_fn(|j| (((j as f64 + 0.5) * width as f64) / 64.0) as usize);

    // Pass 1.
    box_along_rows(src, b, &mut s.strip, width, height, win_x, None);
    box_along_cols(b, a, &mut s.sums, width, height, win_y);
    // Pass 2: the row pass keeps only the sampled columns, then the last
    // column pass runs on those only.
    box_along_rows(
        Source::Luma(a),
        gathered,
        &mut s.strip,
        width,
        height,
        win_x,
        Some(&cols),
    );
    box_along_cols(gathered, filtered, &mut s.sums, 64, height, win_y);
    for (i, &r) in rows.iter().enumerate() {
        out[i * 64..(i + 1) * 64].copy_from_slice(&filtered[r * 64..(r + 1) * 64]);
    }
}

/// Box filter of `window` along one contiguous vector, with Meta's running
/// sum (`box1DFloat`): output `k` averages inputs `k - (window - half)` to
/// `k + half - 1` with `half = (window + 2) / 2` (centred; one more on the
/// right for even windows), and the window shrinks at the ends, where the
/// sum is divided by the number of values actually in it.
fn box_1d(input: &[f32], output: &mut [f32], window: usize) {
    let len = input.len();
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = len - window;
    let phase4 = half - 1;
    let mut sum = 0f32;
    let mut count = 0usize;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    for _ in 0..phase1 {
        sum += input[ri];
        count += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        count += 1;
        output[oi] = sum / count as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / count as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        count -= 1;
        output[oi] = sum / count as f32;
        li += 1;
        oi += 1;
    }
}

/// Rows processed together by [`box_along_rows`].
const STRIP: usize = 8;

/// [`box_1d`] along every row. The running sum along a row is a chain of
/// dependent additions, so rows are filtered [`STRIP`] at a time: a strip is
/// copied column-major into `strip`, where the eight sums advance side by
/// side (vector instructions), then copied back. Each row still sees the
/// same operations in the same order as in [`box_1d`].
fn box_along_rows(
    input: Source,
    output: &mut [f32],
    strip: &mut Vec<f32>,
    width: usize,
    height: usize,
    window: usize,
    keep: Option<&[usize; 64]>,
) {
    if strip.len() < 2 * STRIP * width {
        strip.resize(2 * STRIP * width, 0.0);
    }
    let (tin, tout) = strip[..2 * STRIP * width].split_at_mut(STRIP * width);
    // Each output row holds the whole row, or only the kept columns.
    let out_w = keep.map_or(width, |k| k.len());
    let full_strips = height / STRIP;
    let (strips_out, rest_out) = output[..height * out_w].split_at_mut(full_strips * STRIP * out_w);
    for (k, block_out) in strips_out.chunks_exact_mut(STRIP * out_w).enumerate() {
        for r in 0..STRIP {
            input.row_into(k * STRIP + r, width, &mut tin[r..], STRIP);
        }
        box_1d_strip(tin, tout, window);
        for (r, row) in block_out.chunks_exact_mut(out_w).enumerate() {
            match keep {
                None => {
                    for (x, o) in row.iter_mut().enumerate() {
                        *o = tout[x * STRIP + r];
                    }
                }
                Some(cols) => {
                    for (o, &c) in row.iter_mut().zip(cols) {
                        *o = tout[c * STRIP + r];
                    }
                }
            }
        }
    }
    for (i, o) in rest_out.chunks_exact_mut(out_w).enumerate() {
        let y = full_strips * STRIP + i;
        let (row, full) = tin.split_at_mut(width);
        input.row_into(y, width, row, 1);
        match keep {
            None => box_1d(row, o, window),
            Some(cols) => {
                let full = &mut full[..width];
                box_1d(row, full, window);
                for (ov, &c) in o.iter_mut().zip(cols) {
                    *ov = full[c];
                }
            }
        }
    }
}

/// [`box_1d`] on [`STRIP`] interleaved vectors (`input[x * STRIP + r]` is
/// element `x` of vector `r`).
fn box_1d_strip(input: &[f32], output: &mut [f32], window: usize) {
    let len = input.len() / STRIP;
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = len - window;
    let phase4 = half - 1;
    let at = |i: usize| -> &[f32; STRIP] {
        // In range: indices stay below `len` by the phase arithmetic.
        input[i * STRIP..(i + 1) * STRIP]
            .try_into()
            .unwrap_or(&[0.0; STRIP])
    };
    let mut sum = [0f32; STRIP];
    let mut count = 0usize;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    for _ in 0..phase1 {
        let v = at(ri);
        for r in 0..STRIP {
            sum[r] += v[r];
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        let v = at(ri);
        count += 1;
        let c = count as f32;
        let o = &mut output[oi * STRIP..(oi + 1) * STRIP];
        for r in 0..STRIP {
            sum[r] += v[r];
            o[r] = sum[r] / c;
        }
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        let (v, u) = (at(ri), at(li));
        let c = count as f32;
        let o = &mut output[oi * STRIP..(oi + 1) * STRIP];
        for r in 0..STRIP {
            sum[r] += v[r];
            sum[r] -= u[r];
            o[r] = sum[r] / c;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        let u = at(li);
        count -= 1;
        let c = count as f32;
        let o = &mut output[oi * STRIP..(oi + 1) * STRIP];
        for r in 0..STRIP {
            sum[r] -= u[r];
            o[r] = sum[r] / c;
        }
        li += 1;
        oi += 1;
    }
}

/// [`box_1d`] down every column at once: row by row, one running sum per
/// column, the same operations in the same order per column.
fn box_along_cols(
    input: &[f32],
    output: &mut [f32],
    sums: &mut Vec<f32>,
    width: usize,
    height: usize,
    window: usize,
) {
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = height - window;
    let phase4 = half - 1;
    sums.clear();
    sums.resize(width, 0.0);
    let row = |r: usize| &input[r * width..(r + 1) * width];
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..phase1 {
        for (s, &v) in sums.iter_mut().zip(row(ri)) {
            *s += v;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        count += 1;
        let c = count as f32;
        let out = &mut output[oi * width..(oi + 1) * width];
        for ((s, &v), o) in sums.iter_mut().zip(row(ri)).zip(out.iter_mut()) {
            *s += v;
            *o = *s / c;
        }
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        let c = count as f32;
        let out = &mut output[oi * width..(oi + 1) * width];
        for (((s, &v), &u), o) in sums
            .iter_mut()
            .zip(row(ri))
            .zip(row(li))
            .zip(out.iter_mut())
        {
            *s += v;
            *s -= u;
            *o = *s / c;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        count -= 1;
        let c = count as f32;
        let out = &mut output[oi * width..(oi + 1) * width];
        for ((s, &u), o) in sums.iter_mut().zip(row(li)).zip(out.iter_mut()) {
            *s -= u;
            *o = *s / c;
        }
        li += 1;
        oi += 1;
    }
}

/// Meta's `pdqImageDomainQualityMetric`: each vertical and horizontal
/// neighbour difference is scaled to 0..100 and truncated to an integer, so
/// only significant gradients count; the sum over the 64 x 64 picture,
/// divided by 90 (a constant Meta tuned by hand), is capped at 100.
fn quality(a: &[f32; 64 * 64]) -> u8 {
    let mut sum: i64 = 0;
    let grad =
        |u: f32, v: f32| -> i64 { ((((u - v) * 100.0) / 255.0) as i32).unsigned_abs() as i64 };
    for i in 0..63 {
        for j in 0..64 {
            sum += grad(a[i * 64 + j], a[(i + 1) * 64 + j]);
        }
    }
    for i in 0..64 {
        for j in 0..63 {
            sum += grad(a[i * 64 + j], a[i * 64 + j + 1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// The root mean square of the 256 coefficients per pixel of the 64 x 64
/// picture, in hundredths of a luma level. The DCT matrix's rows are
/// orthonormal, so this is the standard deviation of the part of the
/// picture the hash sees (Parseval), the same for all eight dihedral hashes.
fn contrast(coeffs: &[f32; 256]) -> u16 {
    let energy: f32 = coeffs.iter().map(|c| c * c).sum();
    ((energy / (64.0 * 64.0)).sqrt() * 100.0)
        .round()
        .min(u16::MAX as f32) as u16
}

/// The 16 x 64 DCT-II matrix `D[i][j] = sqrt(2/64) cos(pi/128 (i+1)(2j+1))`
/// (basis functions 1..=16, the DC term left out; Zauner 2010), rounded to
/// `f32` exactly as the reference computes it (an `f32` scale times an
/// `f64` cosine). Stored both row-major and transposed.
struct DctMatrix {
    d: [f32; 16 * 64],
    dt: [f32; 64 * 16],
}

fn dct_matrix() -> &'static DctMatrix {
    static M: OnceLock<DctMatrix> = OnceLock::new();
    M.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [0f32; 16 * 64];
        let mut dt = [0f32; 64 * 16];
        for i in 0..16 {
            for j in 0..64 {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                let v = (f64::from(scale) * angle.cos()) as f32;
                d[i * 64 + j] = v;
                dt[j * 16 + i] = v;
            }
        }
        DctMatrix { d, dt }
    })
}

/// `B = D A Dt` with `f32` sums accumulated over k = 0..64 in order, as
/// Meta's `dct64To16` does (loops reordered so the inner one vectorises; the
/// order of additions into each sum is unchanged).
fn dct64_to_16(a: &[f32; 64 * 64]) -> [f32; 256] {
    let m = dct_matrix();
    // T = D A: 16 x 64.
    let mut t = [0f32; 16 * 64];
    for i in 0..16 {
        let trow = &mut t[i * 64..(i + 1) * 64];
        for k in 0..64 {
            let dik = m.d[i * 64 + k];
            let arow = &a[k * 64..(k + 1) * 64];
            for (tv, &av) in trow.iter_mut().zip(arow) {
                *tv += dik * av;
            }
        }
    }
    // B = T Dt: 16 x 16.
    let mut b = [0f32; 256];
    for i in 0..16 {
        let brow = &mut b[i * 16..(i + 1) * 16];
        for k in 0..64 {
            let tik = t[i * 64 + k];
            let dcol = &m.dt[k * 16..(k + 1) * 16];
            for (bv, &dv) in brow.iter_mut().zip(dcol) {
                *bv += tik * dv;
            }
        }
    }
    b
}

/// Bit `n` set when coefficient `n` is above the median, where the median
/// is the 128th smallest of the 256 values (what Torben's algorithm in the
/// reference returns for an even count).
fn bits_above_median(c: &[f32; 256]) -> Hash256 {
    let mut sorted = *c;
    let (_, &mut median, _) = sorted.select_nth_unstable_by(127, f32::total_cmp);
    let mut h = Hash256::ZERO;
    for (n, &v) in c.iter().enumerate() {
        if v > median {
            h.set_bit(n);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(w: u32, h: u32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 13) ^ (x * y)) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        })
    }

    /// A picture with structure at many scales and no symmetry.
    fn smooth(w: u32, h: u32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let f = 0.5
                + 0.2 * (7.0 * u + 3.0 * v * v).sin()
                + 0.15 * (11.0 * v - 5.0 * u).cos()
                + 0.1 * (23.0 * u * v + 2.0 * u).sin();
            let g = (f.clamp(0.0, 1.0) * 255.0) as u8;
            image::Rgb([g, g / 2 + 40, 255 - g])
        })
    }

    fn transpose(img: &image::RgbImage) -> image::RgbImage {
        image::RgbImage::from_fn(img.height(), img.width(), |x, y| *img.get_pixel(y, x))
    }

    #[test]
    fn tiny_and_degenerate_pictures_do_not_panic() {
        for (w, h) in [
            (1, 1),
            (4, 100),
            (100, 4),
            (5, 5),
            (9, 7),
            (500, 12),
            (12, 500),
            (64, 64),
            (65, 63),
            (1, 2000),
        ] {
            let img = pattern(w, h);
            let p = pdq_from_rgb(&img);
            let d = pdq_dihedral_from_rgb(&img);
            // One DCT gives all eight hashes: the identity is the plain
            // hash, and the quality is the picture's.
            assert_eq!(d.hashes[0], p.hash, "{w} x {h}");
            assert_eq!(
                (d.quality, d.contrast),
                (p.quality, p.contrast),
                "{w} x {h}"
            );
            if w >= 64 && h >= 64 {
                // The pattern steps by many levels between neighbours:
                // Meta's metric saturates (it is capped at 100).
                assert_eq!(p.quality, 100, "{w} x {h}");
            }
            if w < 5 || h < 5 {
                assert_eq!(p.hash, Hash256::ZERO);
                assert_eq!(p.quality, 0);
            }
        }
        let empty = image::RgbImage::new(0, 0);
        assert_eq!(pdq_from_rgb(&empty).quality, 0);
        assert_eq!(pdq_dihedral_from_rgb(&empty).quality, 0);
    }

    #[test]
    fn flat_picture_has_quality_zero() {
        let img = image::RgbImage::from_pixel(200, 100, image::Rgb([90, 90, 90]));
        let p = pdq_from_rgb(&img);
        assert_eq!((p.quality, p.contrast), (0, 0));
        assert!(!p.usable());
    }

    fn luma_picture(w: u32, h: u32, f: impl Fn(f32, f32) -> f32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            let v = f(x as f32, y as f32).round().clamp(0.0, 255.0) as u8;
            image::Rgb([v, v, v])
        })
    }

    #[test]
    fn faint_smooth_picture_is_usable_by_its_contrast() {
        // Soft blobs at most 8 levels deep: every neighbour step is far
        // below the 2.55 levels Meta's quality counts, yet the bits follow
        // the picture.
        let blobs = |w: u32, h: u32, spots: &[(f32, f32, f32)]| {
            luma_picture(w, h, |x, y| {
                let (u, v) = (x / w as f32, y / h as f32);
                128.0
                    + spots
                        .iter()
                        .map(|&(cx, cy, a)| {
                            a * (-((u - cx).powi(2) + (v - cy).powi(2)) / 0.02).exp()
                        })
                        .sum::<f32>()
            })
        };
        let spots = [(0.2, 0.3, 8.0), (0.7, 0.6, -6.0), (0.5, 0.9, 5.0)];
        let p = pdq_from_rgb(&blobs(512, 384, &spots));
        assert!(p.quality < PDQ_MIN_QUALITY, "quality {}", p.quality);
        assert!(p.contrast >= PDQ_MIN_CONTRAST, "contrast {}", p.contrast);
        assert!(p.usable());
        let d = pdq_dihedral_from_rgb(&blobs(512, 384, &spots));
        assert_eq!((d.quality, d.contrast), (p.quality, p.contrast));
        // Its bits are the picture's: a copy at another size stays near,
        // other blobs are far.
        let near = pdq_from_rgb(&blobs(300, 225, &spots))
            .hash
            .distance(&p.hash);
        let other = [(0.8, 0.2, 8.0), (0.3, 0.7, -6.0), (0.6, 0.4, 5.0)];
        let far = pdq_from_rgb(&blobs(512, 384, &other))
            .hash
            .distance(&p.hash);
        assert!(near <= 31 && far > 90, "near {near}, far {far}");
    }

    #[test]
    fn linear_gradient_is_not_usable() {
        // PDQ leaves out the DCT's first row and column, so a picture that
        // changes along one axis only gives it nothing but rounding noise,
        // whatever its quality.
        let p = pdq_from_rgb(&luma_picture(512, 512, |_, y| y / 2.0));
        assert!(p.contrast < PDQ_MIN_CONTRAST, "contrast {}", p.contrast);
        assert!(p.quality < PDQ_MIN_QUALITY && !p.usable());
    }

    #[test]
    fn dihedral_hashes_match_transformed_pictures() {
        // The DCT shortcut must agree (closely) with hashing the rotated or
        // flipped pixels; exactness is checked against Meta's vectors in
        // tests/pdq_core.rs.
        let img = smooth(512, 512);
        let d = pdq_dihedral_from_rgb(&img);
        let cases = [
            // Meta's rotations are counterclockwise; the image crate's clockwise.
            (Dihedral::Rotate90, image::imageops::rotate270(&img)),
            (Dihedral::Rotate180, image::imageops::rotate180(&img)),
            (Dihedral::Rotate270, image::imageops::rotate90(&img)),
            (Dihedral::FlipPlus1, transpose(&img)),
            (Dihedral::FlipX, image::imageops::flip_vertical(&img)),
            (Dihedral::FlipY, image::imageops::flip_horizontal(&img)),
        ];
        for (which, rotated) in cases {
            let direct = pdq_from_rgb(&rotated).hash;
            let dists: Vec<u32> = d.hashes.iter().map(|h| h.distance(&direct)).collect();
            let best = (0..8).min_by_key(|&k| dists[k]).unwrap_or(0);
            // Not 0: decimation samples are not placed symmetrically, so a
            // rotated picture's own hash differs by some bits.
            assert_eq!(best, which as usize, "{}: {dists:?}", which.name());
            assert!(dists[best] <= 40, "{}: {dists:?}", which.name());
        }
        assert_eq!(d.original(), pdq_from_rgb(&img).hash);
        assert_eq!(d.min_distance(&d.hashes[3]), 0);
    }

    #[test]
    fn median_split_sets_half_the_bits() {
        let img = pattern(300, 200);
        assert_eq!(pdq_from_rgb(&img).hash.count_ones(), 128);
    }

    #[test]
    fn a_region_hashes_as_its_copy_does() {
        let img = pattern(300, 200);
        for (x, y, w, h) in [
            (0, 0, 300, 200),
            (17, 9, 240, 150),
            (100, 50, 64, 64),
            (250, 180, 3, 20),
        ] {
            let copy = image::imageops::crop_imm(&img, x, y, w, h).to_image();
            assert_eq!(
                pdq_from_rgb_region(&img, x, y, w, h),
                pdq_from_rgb(&copy),
                "{x} {y} {w} {h}"
            );
        }
        // A region reaching past the picture is clipped to it.
        let clipped = image::imageops::crop_imm(&img, 200, 120, 100, 80).to_image();
        assert_eq!(
            pdq_from_rgb_region(&img, 200, 120, 500, 500),
            pdq_from_rgb(&clipped)
        );
        assert_eq!(pdq_from_rgb_region(&img, 400, 300, 10, 10).quality, 0);
    }

    #[test]
    fn luma_tables_give_metas_float_luma() {
        let img = pattern(64, 48);
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut got = vec![0f32; w * h];
        for y in 0..h {
            Source::rgb_window(&img, 0, 0).row_into(y, w, &mut got[y * w..], 1);
        }
        for (p, &g) in img.pixels().zip(&got) {
            let [r, gr, b] = p.0;
            // Meta's `fillFloatLumaFromRGB`: f32 products summed left to right.
            let want = LUMA_R * f32::from(r) + LUMA_G * f32::from(gr) + LUMA_B * f32::from(b);
            assert_eq!(g.to_bits(), want.to_bits());
        }
    }

    #[test]
    fn window_size_is_half_a_cell_rounded_up() {
        assert_eq!(window_size(64), 1);
        assert_eq!(window_size(128), 1);
        assert_eq!(window_size(129), 2);
        assert_eq!(window_size(512), 4);
        assert_eq!(window_size(1024), 8);
    }
}
