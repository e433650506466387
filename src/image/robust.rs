//! Extra PDQ codes that let edited copies match: a global hash such as PDQ
//! sees a picture with a border, a meme caption bar or a crop as a different
//! picture, because the 64 x 64 grid it hashes has moved. neardup therefore
//! stores (and queries with) up to five more PDQ codes per picture, each the
//! hash of a region found the same way whatever the edit:
//!
//! - **stripped**: the picture without its *two-tone lines*. A line (row or
//!   column) is two-tone when nearly all its pixels are one colour, a second
//!   colour, or a blend of the two: a flat border, a checkerboard or striped
//!   frame, the empty rows of a caption band and the rows of black text on
//!   it (glyph edges are blends). Such lines are peeled from every edge,
//!   rows then columns, until none is left. The test looks at each line on
//!   its own (no colour carried over from the edge), so peeling a captioned
//!   or padded copy removes the added band or frame and then goes on into
//!   the picture exactly as peeling the original does: both end on the same
//!   region. No code when less than 1 % of a side is peeled.
//! - **trimmed**: the same peeling with one-colour lines only (flat
//!   borders, letterboxing), when it ends elsewhere: a picture that is
//!   itself largely two-tone (a drawing, flowers on a flat background) can
//!   peel unevenly, and a flat frame around it is still removed cleanly.
//! - **lenient**: the same peeling as *stripped*, with a test that tolerates
//!   JPEG's errors (luma within 16 levels, chroma within 32, 90 % of a
//!   line), when it ends elsewhere: a checkerboard frame or a caption band
//!   saved as JPEG is full of ringing and subsampled chroma at every edge,
//!   which stop the strict test at once. It is an extra code rather than a
//!   replacement because on lossless pictures the strict test stops more
//!   consistently.
//! - **banded**: the picture without the band each edge starts with, when
//!   it ends elsewhere: lines mostly (30 %) in the edge line's colour (or
//!   a next line's, when the edge line is a resampling blend) and two-tone
//!   with one other (the lenient test), skipping up to two rows of pure
//!   blends (a shrunk checkerboard) and stripes of another colour 2-15
//!   lines wide (a striped frame), up to a clear change of colour (48
//!   levels) and at most 40 % of a side, or nothing is peeled at that
//!   edge. The per-line tests peel on through a smooth or faint
//!   picture (a dark gradient, a pale pattern), whose lines pass for
//!   borders; this one stops where an added caption band or frame ends, so
//!   a copy's banded code is the original's plain code.
//! - **centre**: the central 90 % of the stripped picture (or of the whole
//!   one), which a crop of up to about 10 % keeps.
//!
//! A query picture also gets the **flat bands** code
//! ([`query_extra_codes`]; the index does not store it): the picture
//! without only those bands whose outer line is flat by the strict test,
//! when the band test also peels an edge that is not. A caption band
//! added to a picture whose own edge is smooth (a hazy sky) is peeled with
//! some of that edge, differently on each copy; peeling the flat caption
//! band alone leaves the original, whose plain code is stored.
//!
//! Two pictures match when any usable code ([`Pdq::usable`]) of one is within
//! the threshold of any usable code of the other; [`min_distance`] computes
//! that. One exception: between two *framed* pictures (some region was
//! peeled off each) the plain codes count only when the pictures'
//! contents, their extra codes, agree ([`framed_distance`]),
//! because alike frames or caption bands make the plain codes of different
//! pictures match; [`picture_distance`] applies both rules. The primary
//! code (the plain PDQ hash) is not repeated here. The choices (a per-line
//! test, tolerance 10, 98 % of a line two-tone, 90 % centre) were measured
//! with `benches/robustness.rs`; see the README.
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

use std::ops::Range;

use image::{Rgb, RgbImage};
use neardup_index::hamming;

use super::pdq::{pdq_from_rgb_region, Pdq};

/// Which region of the picture an extra code hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The picture with its two-tone edge lines (borders, frames, caption
    /// bands) peeled off.
    Stripped,
    /// The picture with its one-colour edge lines (flat borders) peeled off.
    Trimmed,
    /// The picture with its two-tone edge lines peeled off by the lenient
    /// test, which tolerates JPEG's errors (a patterned frame or a caption
    /// band saved as JPEG).
    Lenient,
    /// The picture with the bands its edges start with peeled off, each
    /// band only up to a clear change of colour (a caption band or frame
    /// added to a smooth or faint picture, which the per-line tests peel
    /// on into the picture).
    Banded,
    /// The central part of the stripped (or whole) picture.
    Centre,
    /// The picture without only those of the bands [`Region::Banded`]
    /// peels whose outermost line is flat (an added band as drawn): queries
    /// only ([`query_extra_codes`]).
    FlatBands,
}

/// One extra code: the PDQ hash and quality of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegionCode {
    /// The region hashed.
    pub region: Region,
    /// Its PDQ hash and quality.
    pub pdq: Pdq,
}

/// Largest channel difference at which a pixel still counts as a line's
/// colour (or as a blend of its two colours). Added borders and caption
/// bands are flat to within a few levels even after resizing; a larger
/// tolerance starts peeling the blurred backgrounds of photographs, and
/// then an original and its edited copy stop at different places.
const TOLERANCE: i32 = 10;
/// Share of a two-tone line's pixels that must be one of its two colours or
/// a blend of them (anti-aliasing, resampling).
const MIN_TWO_TONE: u32 = 98;
/// The lenient test's luma tolerance: JPEG's ringing at quality 75-90
/// moves luma by up to about 15 levels next to a hard edge.
const LENIENT_LUMA: f32 = 16.0;
/// The lenient test's chroma tolerance: 4:2:0 subsampling gives a pixel
/// next to an edge the mean chroma of both sides.
const LENIENT_CHROMA: f32 = 32.0;
/// The lenient test's share of two-tone pixels (a line of a small
/// checkerboard after JPEG has artefacts at every cell edge).
const LENIENT_TWO_TONE: u32 = 90;
/// Share that must be one of the two colours themselves: a smooth gradient
/// is all blends and is not a border.
const MIN_ENDS: u32 = 60;
/// Less than this share of a side peeled is noise, not a border.
const MIN_STRIP: f32 = 0.01;
/// When less than this share of a side would remain, the picture is nearly
/// all two-tone (a drawing, a text screenshot, a flat picture): no code.
const MIN_KEEP: f32 = 0.15;
/// Rounds of peeling (rows, then columns): a frame on all four sides needs
/// two, the picture's own flat edge beyond it a third.
const ROUNDS: usize = 3;
/// The centre code keeps this share of each side (5 % off each edge).
const CENTRE_KEEP: f32 = 0.90;
/// A band ends at a clear change of colour: the next line's most common
/// colour differs from the band's by at least this much in some channel
/// (or, around a framed picture, [`BAND_FAR`] % of the line differs so
/// from both band colours). A smaller change is the picture's own smooth
/// edge drifting away from the band's colour, not the end of an added band.
const BAND_EDGE: i32 = 48;
/// Lines after a band's last line within which the clear change must come
/// (JPEG's ringing blurs a band's edge over a few lines).
const BAND_EDGE_LINES: u32 = 3;
/// Lines a band may skip when it resumes after them (the blended rows
/// between a shrunk checkerboard's rows of cells).
const BAND_GAP: u32 = 2;
/// The widest stripe of a striped frame a band goes on past, in lines.
const BAND_STRIPE: u32 = 16;
/// Share (%) of a line, beside a band's colours, that must be clearly
/// different for the band to end there (a picture inside a frame).
const BAND_FAR: u32 = 10;
/// A band is at most this share of a side: an edge that peels deeper is
/// the picture's own smooth or faint surface, not an added band (a caption
/// band is at most a quarter of the height, a 30 % padding a quarter of a
/// side).
const BAND_MAX: f32 = 0.4;
/// Share (%) of every band line in the band's main colour: a caption's
/// text never fills a row, a checkerboard's colours share each line. Lines
/// of a dark picture under a band with black text are all "text colour",
/// and this ends the band there.
const BAND_MAIN: u32 = 30;

/// The extra codes of a picture (already shrunk to fit 512 x 512, as for
/// [`crate::image::pdq::pdq_from_rgb`]), at most five, only the usable
/// ones ([`Pdq::usable`]): the stripped, trimmed, lenient and banded
/// pictures when something was peeled (each only when it differs from
/// those before it), and the centre.
pub fn extra_pdq_codes(img: &RgbImage) -> Vec<RegionCode> {
    extra_codes(img).codes
}

/// A picture's extra codes, and whether it is framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extra {
    /// The usable extra codes, as [`extra_pdq_codes`] returns them.
    pub codes: Vec<RegionCode>,
    /// Whether a stripped, trimmed, lenient or banded region was found
    /// (whatever its code's quality): something, a border, a frame or a
    /// caption band, surrounds the picture's content, and its plain code
    /// hashes that too. Two framed pictures match by their plain codes only
    /// when their contents agree ([`framed_distance`]).
    pub framed: bool,
    /// For a framed picture, the region its content was found in: the
    /// first of the stripped, trimmed, lenient and banded regions whose
    /// code is usable, as `(x, y, width, height)`; `None` otherwise.
    pub content: Option<(u32, u32, u32, u32)>,
}

/// The extra codes of a picture and whether it is framed; see
/// [`extra_pdq_codes`].
pub fn extra_codes(img: &RgbImage) -> Extra {
    let (w, h) = img.dimensions();
    let full = Rect { x: 0, y: 0, w, h };
    let stripped = strip(img, two_tone).filter(|r| r.differs_from(full));
    let trimmed = strip(img, one_tone).filter(|&r| r.differs_from(full) && Some(r) != stripped);
    let lenient = strip(img, two_tone_lenient)
        .filter(|&r| r.differs_from(full) && Some(r) != stripped && Some(r) != trimmed);
    let banded = band_region(img, Tolerance::Lenient).filter(|&r| {
        r.differs_from(full) && Some(r) != stripped && Some(r) != trimmed && Some(r) != lenient
    });
    let base = stripped.unwrap_or(full);
    let cw = ((base.w as f32 * CENTRE_KEEP).round() as u32).max(1);
    let ch = ((base.h as f32 * CENTRE_KEEP).round() as u32).max(1);
    let centre = Rect {
        x: base.x + (base.w - cw) / 2,
        y: base.y + (base.h - ch) / 2,
        w: cw,
        h: ch,
    };
    let framed = stripped.is_some() || trimmed.is_some() || lenient.is_some() || banded.is_some();
    let codes = stripped
        .map(|r| (Region::Stripped, r))
        .into_iter()
        .chain(trimmed.map(|r| (Region::Trimmed, r)))
        .chain(lenient.map(|r| (Region::Lenient, r)))
        .chain(banded.map(|r| (Region::Banded, r)))
        .chain(std::iter::once((Region::Centre, centre)))
        .map(|(region, r)| {
            let pdq = pdq_from_rgb_region(img, r.x, r.y, r.w, r.h);
            (r, RegionCode { region, pdq })
        })
        .filter(|(_, c)| c.pdq.usable())
        .collect::<Vec<_>>();
    let content = codes
        .iter()
        .find(|(_, c)| c.region != Region::Centre)
        .map(|(r, _)| (r.x, r.y, r.w, r.h));
    let codes = codes.into_iter().map(|(_, c)| c).collect();
    Extra {
        codes,
        framed,
        content,
    }
}

/// The smallest Hamming distance between any usable code of `a` and any
/// usable code of `b` ([`Pdq::usable`]; the others are skipped); 256 when
/// either side has no usable code.
pub fn min_distance(a: &[Pdq], b: &[Pdq]) -> u32 {
    a.iter()
        .filter(|p| p.usable())
        .flat_map(|x| {
            b.iter()
                .filter(|p| p.usable())
                .map(|y| x.hash.distance(&y.hash))
        })
        .min()
        .unwrap_or(256)
}

/// The codes a *query* picture gets beside its extra codes
/// ([`extra_codes`]), which the index does not store: at most one, the
/// picture without only those of its edge bands (as [`Region::Banded`]
/// finds them) whose outermost line is flat by the strict test, when some
/// other edge's band is not; only when usable.
///
/// A caption band is drawn flat: its blank outer line passes the strict
/// test. When the picture under it has a smooth edge of its own (a hazy
/// sky), the band test peels that edge too, as a band, and how deep
/// changes from copy to copy (on a JPEG screenshot of a video frame it
/// peeled 103 columns of sky, on the decoded frame 15): the banded codes of
/// the copy and the original then differ. Peeling the flat band alone
/// leaves the original, whose plain code is stored. The original's own
/// edge starts with no flat line (JPEG's noise or the picture's texture
/// fails the strict test), so it is left alone. Queries only: the index
/// holds the original's plain code already, and storing this code too
/// would cost a code for every such picture and video frame.
pub fn query_extra_codes(img: &RgbImage) -> Vec<RegionCode> {
    let (w, h) = img.dimensions();
    let full = Rect { x: 0, y: 0, w, h };
    band_edges(img, Tolerance::Lenient)
        .and_then(BandEdges::flat_bands)
        .filter(|r| r.differs_from(full))
        .map(|r| RegionCode {
            region: Region::FlatBands,
            pdq: pdq_from_rgb_region(img, r.x, r.y, r.w, r.h),
        })
        .filter(|c| c.pdq.usable())
        .into_iter()
        .collect()
}

/// How far apart the contents of two framed pictures may be (smallest
/// distance between their extra codes) for their plain codes to count. Two
/// *different* pictures in alike frames or under alike caption bands match
/// by their plain codes, which the frame or band dominates (most false
/// links of the 20,000-picture benchmark were such pairs); their contents
/// are then as far apart as unrelated pictures' (about 128 bits). Copies of
/// one picture keep their contents within the match radius, or well below
/// this limit when stripping ended a little differently. 110 bits is 2.2
/// standard deviations below unrelated pictures' mean; measured with
/// `benches/robustness.rs`, the rule costs no edit any recall there.
pub const FRAMED_CONTENT_DISTANCE: u32 = 110;

/// Two framed pictures with plain codes this close match whatever their
/// contents: near-exact copies (as for hubs). Their stripping may still end
/// in different places (a greyscale copy can peel further than its colour
/// original), so their contents are not compared; and when either
/// picture's content is too flat to hash (no usable extra code), only such
/// copies match by their plain codes.
pub const FRAMED_EXACT_DISTANCE: u32 = 10;

/// The distance at which two *framed* pictures match (see
/// [`Extra::framed`]), given their usable plain and extra codes as 4-word
/// slices (as the index hands them out): the smallest distance of a pair
/// of codes that involves an extra code, which hashes a region found in the
/// picture (its contents, or the picture without an added band); the plain
/// codes, which the frames or bands dominate, count only for near-exact
/// copies (<= [`FRAMED_EXACT_DISTANCE`]) or when the contents agree (some
/// extra code of one within [`FRAMED_CONTENT_DISTANCE`] of some extra code
/// of the other). 256 when nothing counts.
pub fn framed_distance(
    (a_plain, a_extra): (&[&[u64]], &[&[u64]]),
    (b_plain, b_extra): (&[&[u64]], &[&[u64]]),
) -> u32 {
    let contents = closest_words(a_extra, b_extra);
    let extra = contents
        .min(closest_words(a_plain, b_extra))
        .min(closest_words(a_extra, b_plain));
    let plain = closest_words(a_plain, b_plain);
    if plain <= FRAMED_EXACT_DISTANCE || contents <= FRAMED_CONTENT_DISTANCE {
        plain.min(extra)
    } else {
        extra
    }
}

/// The smallest distance between any code of `xs` and any code of `ys`,
/// given as word slices (as the index hands them out); 256 when either has
/// none.
pub fn closest_words(xs: &[&[u64]], ys: &[&[u64]]) -> u32 {
    xs.iter()
        .flat_map(|x| ys.iter().map(|y| hamming::distance(x, y)))
        .min()
        .unwrap_or(256)
}

/// One picture's PDQ codes as the matcher sees them: its plain code(s)
/// (one, or eight with `--dihedral`), its extra codes, and whether it is
/// framed.
#[derive(Clone, Copy, Debug)]
pub struct PictureCodes<'a> {
    /// The plain code, or the 8 dihedral ones.
    pub plain: &'a [Pdq],
    /// The extra codes.
    pub extra: &'a [Pdq],
    /// Whether the picture is framed ([`Extra::framed`]).
    pub framed: bool,
}

/// The distance at which neardup matches two pictures: the smallest
/// distance between any usable code of one and any of the other (as
/// [`min_distance`]), or for two framed pictures their [`framed_distance`].
pub fn picture_distance(a: PictureCodes<'_>, b: PictureCodes<'_>) -> u32 {
    if a.framed && b.framed {
        let (a_plain, a_extra) = (usable_words(a.plain), usable_words(a.extra));
        let (b_plain, b_extra) = (usable_words(b.plain), usable_words(b.extra));
        return framed_distance((&a_plain, &a_extra), (&b_plain, &b_extra));
    }
    let all = |p: PictureCodes<'_>| p.plain.iter().chain(p.extra).copied().collect::<Vec<_>>();
    min_distance(&all(a), &all(b))
}

/// The usable codes among `codes`, as word slices.
fn usable_words(codes: &[Pdq]) -> Vec<&[u64]> {
    codes
        .iter()
        .filter(|c| c.usable())
        .map(|c| c.hash.0.as_slice())
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rect {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

impl Rect {
    /// Whether at least [`MIN_STRIP`] of some side separates `self` from
    /// `outer`, which contains it.
    fn differs_from(self, outer: Rect) -> bool {
        let dx = (self.x - outer.x).max(outer.x + outer.w - self.x - self.w);
        let dy = (self.y - outer.y).max(outer.y + outer.h - self.y - self.h);
        dx as f32 >= MIN_STRIP * outer.w as f32 || dy as f32 >= MIN_STRIP * outer.h as f32
    }
}

/// The picture's region left after peeling the lines that pass `test` from
/// every edge, or `None` when less than [`MIN_KEEP`] of a side would remain.
fn strip(img: &RgbImage, test: fn(&[Rgb<u8>], &mut ColourHistogram) -> bool) -> Option<Rect> {
    let (w, h) = img.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (0u32, 0u32, w, h);
    let mut line = Vec::with_capacity(w.max(h) as usize);
    let mut hist = ColourHistogram::default();
    for _ in 0..ROUNDS {
        let before = (x0, y0, x1, y1);
        while y0 < y1 && {
            read_row(img, y0, x0..x1, &mut line);
            test(&line, &mut hist)
        } {
            y0 += 1;
        }
        while y0 < y1 && {
            read_row(img, y1 - 1, x0..x1, &mut line);
            test(&line, &mut hist)
        } {
            y1 -= 1;
        }
        if ((y1 - y0) as f32) < MIN_KEEP * h as f32 {
            return None;
        }
        while x0 < x1 && {
            read_col(img, x0, y0..y1, &mut line);
            test(&line, &mut hist)
        } {
            x0 += 1;
        }
        while x0 < x1 && {
            read_col(img, x1 - 1, y0..y1, &mut line);
            test(&line, &mut hist)
        } {
            x1 -= 1;
        }
        if ((x1 - x0) as f32) < MIN_KEEP * w as f32 {
            return None;
        }
        if before == (x0, y0, x1, y1) {
            break;
        }
    }
    Some(Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

/// Row `y` of the picture, columns `xs`, into `line`.
fn read_row(img: &RgbImage, y: u32, xs: Range<u32>, line: &mut Vec<Rgb<u8>>) {
    line.clear();
    line.extend(xs.map(|x| *img.get_pixel(x, y)));
}

/// Column `x` of the picture, rows `ys`, into `line`.
fn read_col(img: &RgbImage, x: u32, ys: Range<u32>, line: &mut Vec<Rgb<u8>>) {
    line.clear();
    line.extend(ys.map(|y| *img.get_pixel(x, y)));
}

/// The picture's region left after peeling, from each edge on its own, the
/// band that edge starts with ([`band_depth`]; rows first, then columns of
/// the rows left), or `None` when less than [`MIN_KEEP`] of a side would
/// remain.
fn band_region(img: &RgbImage, tol: Tolerance) -> Option<Rect> {
    band_edges(img, tol).map(BandEdges::region)
}

/// How deep the band each edge of a picture starts with goes, in lines
/// (0: none), as [`band_region`] peels them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BandEdges {
    w: u32,
    h: u32,
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
    /// Whether the outermost line of the top, bottom, left and right edge
    /// (a column over the rows left after peeling the rows' bands) is
    /// two-tone by the strict test ([`two_tone`]): a band as drawn (a
    /// caption band's blank top line, a flat border), not the smooth edge
    /// of a picture that only the lenient test lets pass for a band.
    flat: [bool; 4],
}

impl BandEdges {
    /// The picture without every edge's band.
    fn region(self) -> Rect {
        Rect {
            x: self.left,
            y: self.top,
            w: self.w - self.left - self.right,
            h: self.h - self.top - self.bottom,
        }
    }

    /// The picture without only the bands whose outermost line is flat
    /// ([`BandEdges::flat`]), when some other edge has a band too (without
    /// one, this is [`BandEdges::region`]).
    fn flat_bands(self) -> Option<Rect> {
        let depths = [self.top, self.bottom, self.left, self.right];
        let kept = |i: usize| if self.flat[i] { depths[i] } else { 0 };
        let peeled = (0..4).filter(|&i| depths[i] > 0);
        if peeled.clone().all(|i| self.flat[i]) || peeled.clone().all(|i| !self.flat[i]) {
            return None;
        }
        Some(Rect {
            x: kept(2),
            y: kept(0),
            w: self.w - kept(2) - kept(3),
            h: self.h - kept(0) - kept(1),
        })
    }
}

/// The depths of the bands of [`band_region`], or `None` when less than
/// [`MIN_KEEP`] of a side would remain.
fn band_edges(img: &RgbImage, tol: Tolerance) -> Option<BandEdges> {
    let (w, h) = img.dimensions();
    let mut hist = ColourHistogram::default();
    let mut line = Vec::with_capacity(w.max(h) as usize);
    let row = |y: u32, line: &mut Vec<Rgb<u8>>| read_row(img, y, 0..w, line);
    let most = |side: u32| (side as f32 * BAND_MAX) as u32;
    let top = band_depth(|k, l| row(k, l), most(h), tol, &mut hist, &mut line);
    let bottom = band_depth(|k, l| row(h - 1 - k, l), most(h), tol, &mut hist, &mut line);
    let (y0, y1) = (top, h - bottom);
    if ((y1 - y0) as f32) < MIN_KEEP * h as f32 {
        return None;
    }
    let col = |x: u32, line: &mut Vec<Rgb<u8>>| read_col(img, x, y0..y1, line);
    let left = band_depth(|k, l| col(k, l), most(w), tol, &mut hist, &mut line);
    let right = band_depth(|k, l| col(w - 1 - k, l), most(w), tol, &mut hist, &mut line);
    let (x0, x1) = (left, w - right);
    if ((x1 - x0) as f32) < MIN_KEEP * w as f32 {
        return None;
    }
    let mut flat_line = |read: &dyn Fn(&mut Vec<Rgb<u8>>)| {
        read(&mut line);
        two_tone(&line, &mut hist)
    };
    let flat = [
        flat_line(&|l| row(0, l)),
        flat_line(&|l| row(h - 1, l)),
        flat_line(&|l| col(0, l)),
        flat_line(&|l| col(w - 1, l)),
    ];
    Some(BandEdges {
        w,
        h,
        top,
        bottom,
        left,
        right,
        flat,
    })
}

/// How many lines from an edge (`line_at(k)` is the `k`-th) belong to the
/// band the edge starts with: lines of the band's colour ([`band_line`]),
/// the most common colour of the edge line or of one of the next
/// [`BAND_GAP`] (when the edge line is itself a blend from resampling and
/// the band from it dies at once). The band must end at a clear change of colour
/// ([`clear_end`]) within [`BAND_EDGE_LINES`] lines and before `max` lines,
/// or it is the picture's own smooth edge and nothing is peeled (0).
fn band_depth(
    line_at: impl Fn(u32, &mut Vec<Rgb<u8>>),
    max: u32,
    tol: Tolerance,
    hist: &mut ColourHistogram,
    line: &mut Vec<Rgb<u8>>,
) -> u32 {
    for start in 0..(1 + BAND_GAP).min(max) {
        line_at(start, line);
        let Some(main) = hist.mode(line, |_| false) else {
            return 0;
        };
        match band_from(&line_at, start, main, max, tol, hist, line) {
            Band::Ends(depth) => return depth,
            // Only a band that died at once may have started on a blend.
            Band::None { lines } if lines <= BAND_GAP => {}
            Band::None { .. } => return 0,
        }
    }
    0
}

/// What [`band_from`] found.
enum Band {
    /// A band ending this many lines from the edge.
    Ends(u32),
    /// No band; so many lines passed for one before that was clear.
    None { lines: u32 },
}

/// [`band_depth`] for a band of colour `main` starting at line `start`.
fn band_from(
    line_at: &impl Fn(u32, &mut Vec<Rgb<u8>>),
    start: u32,
    main: [i32; 3],
    max: u32,
    tol: Tolerance,
    hist: &mut ColourHistogram,
    line: &mut Vec<Rgb<u8>>,
) -> Band {
    let mut k = start;
    while k < max {
        line_at(k, line);
        if band_line(line, main, tol, hist) {
            k += 1;
            continue;
        }
        // A small pattern shrunk to fit has rows of nothing but blends
        // between its rows of cells: the band goes on if it resumes.
        let gap = k + 1..(k + 1 + BAND_GAP).min(max);
        if let Some(j) = band_resumes(line_at, gap, main, tol, hist, line) {
            k = j + 1;
            continue;
        }
        // A striped frame: a stripe of one other colour (after at most
        // [`BAND_GAP`] lines of blends), after which the band's colour
        // comes back, or the picture begins clearly.
        let stripe = (k..(k + 1 + BAND_GAP).min(max))
            .find_map(|s| stripe_from(line_at, s, max, main, tol, hist, line));
        let Some((end, colour)) = stripe else {
            break;
        };
        let after = end..(end + 1 + BAND_GAP).min(max);
        if let Some(j) = band_resumes(line_at, after, main, tol, hist, line) {
            k = j + 1;
            continue;
        }
        if let Some(j) = ends_clearly(line_at, end, max, &[main, colour], tol, hist, line) {
            return Band::Ends(j);
        }
        break;
    }
    let none = Band::None { lines: k - start };
    if k == start || k == max {
        return none;
    }
    ends_clearly(line_at, k, max, &[main], tol, hist, line).map_or(none, Band::Ends)
}

/// The first of `lines` that belongs to the band of colour `main`
/// ([`band_line`]): where a band goes on after blends or a stripe.
fn band_resumes(
    line_at: &impl Fn(u32, &mut Vec<Rgb<u8>>),
    mut lines: Range<u32>,
    main: [i32; 3],
    tol: Tolerance,
    hist: &mut ColourHistogram,
    line: &mut Vec<Rgb<u8>>,
) -> Option<u32> {
    lines.find(|&j| {
        line_at(j, line);
        band_line(line, main, tol, hist)
    })
}

/// The first of the [`BAND_EDGE_LINES`] lines from `from` (before `max`)
/// that is clearly not a band of any of `colours` ([`clear_end`]).
fn ends_clearly(
    line_at: &impl Fn(u32, &mut Vec<Rgb<u8>>),
    from: u32,
    max: u32,
    colours: &[[i32; 3]],
    tol: Tolerance,
    hist: &mut ColourHistogram,
    line: &mut Vec<Rgb<u8>>,
) -> Option<u32> {
    (from..(from + BAND_EDGE_LINES).min(max)).find(|&j| {
        line_at(j, line);
        colours.iter().all(|&c| clear_end(line, c, tol, hist))
    })
}

/// The end (first line after it, before `max`) and colour of a stripe
/// starting at line `k`: 2 to [`BAND_STRIPE`] lines of one colour, not the
/// band's `main` colour ([`stripe_line`]); `None` when there is none (a
/// single line is a blend between stripes).
fn stripe_from(
    line_at: &impl Fn(u32, &mut Vec<Rgb<u8>>),
    k: u32,
    max: u32,
    main: [i32; 3],
    tol: Tolerance,
    hist: &mut ColourHistogram,
    line: &mut Vec<Rgb<u8>>,
) -> Option<(u32, [i32; 3])> {
    line_at(k, line);
    let colour = hist.mode(line, |_| false)?;
    if tol.near_colour(colour, main) {
        return None;
    }
    let mut end = k;
    while end < max && end < k + BAND_STRIPE {
        line_at(end, line);
        if !stripe_line(line, colour, main, tol) {
            break;
        }
        end += 1;
    }
    (end >= k + 2 && end < max && end < k + BAND_STRIPE).then_some((end, colour))
}

/// Whether a line belongs to a stripe of `colour` across a band of colour
/// `main`: at least half of it in `colour`, and two-tone in the two. A
/// stripe of a frame of concentric bands meets the bands of the other sides
/// where it turns a corner, so the band's colour shows at both its ends
/// (and a stripe of a flat colour is all `colour`).
fn stripe_line(line: &[Rgb<u8>], colour: [i32; 3], main: [i32; 3], tol: Tolerance) -> bool {
    let t = Tones::count(line, colour, Some(main), tol);
    2 * t.first >= t.n && t.two_tone(tol)
}

/// Whether a line belongs to a band of colour `main`: at least
/// [`BAND_MAIN`] % of it in that colour, and two-tone (as [`two_tone_with`]
/// counts it) in that colour and the line's other most common one.
fn band_line(line: &[Rgb<u8>], main: [i32; 3], tol: Tolerance, hist: &mut ColourHistogram) -> bool {
    let other = hist.mode(line, |p| tol.near(p, main));
    let t = Tones::count(line, main, other, tol);
    100 * t.first >= BAND_MAIN * t.n && t.two_tone(tol)
}

/// Whether a line that is not the band's is clearly something else: when
/// little of it is in the band's colour, its most common colour is far
/// ([`BAND_EDGE`]) from the band's; otherwise (the band goes on around a
/// framed picture) [`BAND_FAR`] % of it is far from the band's colour and
/// from the line's other most common one. A smooth picture's edge that
/// drifted out of the tolerance is neither.
fn clear_end(line: &[Rgb<u8>], main: [i32; 3], tol: Tolerance, hist: &mut ColourHistogram) -> bool {
    let far = |p: [i32; 3], c: [i32; 3]| (0..3).any(|i| (p[i] - c[i]).abs() >= BAND_EDGE);
    let n = line.len() as u32;
    let on_main = line.iter().filter(|&&p| tol.near(p, main)).count() as u32;
    if 100 * on_main < BAND_MAIN * n {
        return hist.mode(line, |_| false).is_some_and(|m| far(m, main));
    }
    let other = hist.mode(line, |p| tol.near(p, main));
    let rgb = |p: Rgb<u8>| p.0.map(i32::from);
    let distinct = line
        .iter()
        .filter(|&&p| far(rgb(p), main) && other.is_none_or(|c| far(rgb(p), c)))
        .count() as u32;
    100 * distinct >= BAND_FAR * n
}

/// Counts of colours quantised to 4 bits a channel, to find a line's most
/// common colour; only the bins a line touched are cleared afterwards.
struct ColourHistogram {
    count: Vec<u16>,
    touched: Vec<u16>,
}

impl Default for ColourHistogram {
    fn default() -> Self {
        ColourHistogram {
            count: vec![0; 4096],
            touched: Vec::new(),
        }
    }
}

impl ColourHistogram {
    fn bin(p: Rgb<u8>) -> u16 {
        (u16::from(p.0[0] >> 4) << 8) | (u16::from(p.0[1] >> 4) << 4) | u16::from(p.0[2] >> 4)
    }

    /// The mean colour of the most populated bin among `px` (pixels for
    /// which `skip` is false), or `None` when there are none.
    fn mode(&mut self, px: &[Rgb<u8>], skip: impl Fn(Rgb<u8>) -> bool) -> Option<[i32; 3]> {
        let mut best = (0u16, 0u16);
        for &p in px.iter().filter(|&&p| !skip(p)) {
            let b = Self::bin(p);
            let c = &mut self.count[usize::from(b)];
            if *c == 0 {
                self.touched.push(b);
            }
            *c = c.saturating_add(1);
            if *c > best.1 {
                best = (b, *c);
            }
        }
        for &b in &self.touched {
            self.count[usize::from(b)] = 0;
        }
        self.touched.clear();
        if best.1 == 0 {
            return None;
        }
        let mut sum = [0i64; 3];
        let mut n = 0i64;
        for &p in px.iter().filter(|&&p| !skip(p) && Self::bin(p) == best.0) {
            for (s, v) in sum.iter_mut().zip(p.0) {
                *s += i64::from(v);
            }
            n += 1;
        }
        Some(sum.map(|s| (s / n.max(1)) as i32))
    }
}

/// How near a pixel must be to a colour (or to a blend of two) to count as
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tolerance {
    /// Every channel within [`TOLERANCE`] levels: borders and bands as
    /// drawn, or saved losslessly.
    Strict,
    /// Luma within [`LENIENT_LUMA`] and both chroma channels within
    /// [`LENIENT_CHROMA`]: the same after JPEG, whose ringing moves luma
    /// near edges and whose 4:2:0 chroma subsampling blends the chroma of a
    /// pattern's neighbouring colours.
    Lenient,
}

impl Tolerance {
    /// Whether a colour difference (`pixel - colour`, per RGB channel) is
    /// within the tolerance.
    fn within(self, d: [f32; 3]) -> bool {
        match self {
            Tolerance::Strict => d.iter().all(|x| x.abs() <= TOLERANCE as f32),
            Tolerance::Lenient => {
                // BT.601 luma and chroma of the difference (the transform is
                // linear, so offsets cancel).
                let y = 0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2];
                let cb = -0.1687 * d[0] - 0.3313 * d[1] + 0.5 * d[2];
                let cr = 0.5 * d[0] - 0.4187 * d[1] - 0.0813 * d[2];
                y.abs() <= LENIENT_LUMA && cb.abs() <= LENIENT_CHROMA && cr.abs() <= LENIENT_CHROMA
            }
        }
    }

    /// Share (%) of a two-tone line's pixels that must be one of its two
    /// colours or a blend of them.
    fn min_two_tone(self) -> u32 {
        match self {
            Tolerance::Strict => MIN_TWO_TONE,
            Tolerance::Lenient => LENIENT_TWO_TONE,
        }
    }

    fn near(self, p: Rgb<u8>, c: [i32; 3]) -> bool {
        self.near_colour(p.0.map(i32::from), c)
    }

    fn near_colour(self, a: [i32; 3], b: [i32; 3]) -> bool {
        self.within(std::array::from_fn(|i| (a[i] - b[i]) as f32))
    }

    /// Whether `p` lies within the tolerance of the segment from `a` to `b`
    /// (a blend of the two colours).
    fn on_segment(self, p: Rgb<u8>, a: [i32; 3], b: [i32; 3]) -> bool {
        let v: [f32; 3] = std::array::from_fn(|i| (b[i] - a[i]) as f32);
        let d: [f32; 3] = std::array::from_fn(|i| (i32::from(p.0[i]) - a[i]) as f32);
        let vv: f32 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            return false;
        }
        let t = (d.iter().zip(&v).map(|(x, y)| x * y).sum::<f32>() / vv).clamp(0.0, 1.0);
        self.within(std::array::from_fn(|i| d[i] - t * v[i]))
    }
}

/// Whether a line is one colour: [`MIN_TWO_TONE`] % of it within the
/// tolerance of its most common colour.
fn one_tone(px: &[Rgb<u8>], hist: &mut ColourHistogram) -> bool {
    hist.mode(px, |_| false).is_some_and(|c1| {
        let on = px
            .iter()
            .filter(|&&p| Tolerance::Strict.near(p, c1))
            .count() as u32;
        100 * on >= MIN_TWO_TONE * px.len() as u32
    })
}

/// A line's pixels counted against two colours: those near the first,
/// those near the second (and not the first), and blends of the two (near
/// neither, near the segment between them).
struct Tones {
    first: u32,
    second: u32,
    blends: u32,
    /// Pixels in the line.
    n: u32,
}

impl Tones {
    fn count(px: &[Rgb<u8>], first: [i32; 3], second: Option<[i32; 3]>, tol: Tolerance) -> Self {
        let mut t = Tones {
            first: 0,
            second: 0,
            blends: 0,
            n: px.len() as u32,
        };
        for &p in px {
            if tol.near(p, first) {
                t.first += 1;
            } else if second.is_some_and(|c| tol.near(p, c)) {
                t.second += 1;
            } else if second.is_some_and(|c| tol.on_segment(p, first, c)) {
                t.blends += 1;
            }
        }
        t
    }

    /// Whether the line is two-tone in the two colours: they and their
    /// blends cover [`Tolerance::min_two_tone`] % of it, the colours alone
    /// [`MIN_ENDS`] %.
    fn two_tone(&self, tol: Tolerance) -> bool {
        let ends = self.first + self.second;
        100 * (ends + self.blends) >= tol.min_two_tone() * self.n && 100 * ends >= MIN_ENDS * self.n
    }
}

/// Whether a line is two-tone: its most common colour, the most common
/// colour of the rest, and blends between them cover [`MIN_TWO_TONE`] % of
/// it, the two colours alone [`MIN_ENDS`] %.
fn two_tone(px: &[Rgb<u8>], hist: &mut ColourHistogram) -> bool {
    two_tone_with(px, hist, Tolerance::Strict)
}

/// [`two_tone`] up to JPEG's errors: [`Tolerance::Lenient`], and
/// [`LENIENT_TWO_TONE`] % of the line.
fn two_tone_lenient(px: &[Rgb<u8>], hist: &mut ColourHistogram) -> bool {
    two_tone_with(px, hist, Tolerance::Lenient)
}

fn two_tone_with(px: &[Rgb<u8>], hist: &mut ColourHistogram, tol: Tolerance) -> bool {
    let Some(c1) = hist.mode(px, |_| false) else {
        return false;
    };
    // No second colour: every pixel is near the first, a one-colour line.
    let c2 = hist.mode(px, |p| tol.near(p, c1));
    Tones::count(px, c1, c2, tol).two_tone(tol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pdq::{pdq_from_rgb, PDQ_MATCH_DISTANCE};

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

    fn stripped(img: &RgbImage) -> Pdq {
        extra_pdq_codes(img)
            .into_iter()
            .find(|c| c.region == Region::Stripped)
            .map(|c| c.pdq)
            .expect("a stripped code")
    }

    /// The edited copy's stripped code matches one of the original's codes
    /// at PDQ's threshold, where its plain code does not.
    fn assert_stripped_matches(original: &RgbImage, edited: &RgbImage) {
        let d = min_distance(&[stripped(edited)], &codes(original));
        assert!(
            d <= PDQ_MATCH_DISTANCE,
            "stripped code {d} bits from the original's codes"
        );
        let plain = pdq_from_rgb(edited)
            .hash
            .distance(&pdq_from_rgb(original).hash);
        assert!(
            plain > PDQ_MATCH_DISTANCE,
            "plain PDQ matches already ({plain} bits)"
        );
    }

    /// `p` on a canvas `bw`/`bh` pixels larger on each side, painted by
    /// `frame`.
    fn framed(p: &RgbImage, bw: u32, bh: u32, frame: impl Fn(u32, u32) -> Rgb<u8>) -> RgbImage {
        let (w, h) = p.dimensions();
        let mut out = RgbImage::from_fn(w + 2 * bw, h + 2 * bh, frame);
        image::imageops::replace(&mut out, p, i64::from(bw), i64::from(bh));
        out
    }

    /// A white band of `band` rows above `p`, holding two lines of black
    /// glyph blocks.
    fn captioned(p: &RgbImage, band: u32) -> RgbImage {
        let (w, h) = p.dimensions();
        let mut meme = RgbImage::from_pixel(w, h + band, Rgb([255, 255, 255]));
        for line in 0..2u32 {
            for glyph in 0..(w - 30) / 15 {
                let (gx, gy) = (20 + glyph * 15, 8 + line * 18);
                for y in gy..gy + 12 {
                    for x in gx..gx + 9 {
                        meme.put_pixel(x, y, Rgb([0, 0, 0]));
                    }
                }
            }
        }
        image::imageops::replace(&mut meme, p, 0, i64::from(band));
        meme
    }

    #[test]
    fn flat_border_is_stripped_back_to_the_original() {
        let p = photo(240, 180);
        let padded = framed(&p, 24, 18, |_, _| Rgb([90, 90, 90]));
        assert_stripped_matches(&p, &padded);
    }

    #[test]
    fn checkerboard_frame_is_stripped_too() {
        let p = photo(240, 180);
        let checker = |x: u32, y: u32| {
            if (x / 7 + y / 7) % 2 == 0 {
                Rgb([230, 120, 240])
            } else {
                Rgb([10, 150, 110])
            }
        };
        let boxed = framed(&p, 30, 25, checker);
        // Shrinking blends the cells' edges: the lines stay two-tone.
        let boxed =
            image::imageops::resize(&boxed, 250, 192, image::imageops::FilterType::Triangle);
        assert_stripped_matches(&p, &boxed);
    }

    #[test]
    fn caption_band_is_stripped() {
        let p = photo(240, 180);
        let meme = captioned(&p, 45);
        assert_stripped_matches(&p, &meme);
    }

    #[test]
    fn original_and_copy_peel_to_the_same_region() {
        // The original has a flat dark strip of its own at the top: peeling
        // the captioned copy goes through the caption and then through that
        // strip, as peeling the original does.
        let mut p = photo(240, 200);
        for y in 0..20 {
            for x in 0..240 {
                p.put_pixel(x, y, Rgb([20, 20, 30]));
            }
        }
        let a = stripped(&p);
        let b = stripped(&captioned(&p, 50));
        let d = a.hash.distance(&b.hash);
        assert!(d <= 8, "original and captioned copy {d} bits apart");
    }

    #[test]
    fn jpeg_checkerboard_frame_is_peeled_by_the_lenient_test() {
        let p = photo(240, 180);
        let frame = framed(&p, 30, 24, |x, y| {
            if (x / 6 + y / 6) % 2 == 0 {
                Rgb([200, 40, 40])
            } else {
                Rgb([40, 60, 200])
            }
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&frame)
            .expect("encoding in memory");
        let copy = image::load_from_memory(&jpeg)
            .expect("decoding our own JPEG")
            .to_rgb8();
        let lenient = extra_pdq_codes(&copy)
            .into_iter()
            .find(|c| c.region == Region::Lenient)
            .expect("a lenient code");
        let d = min_distance(&[lenient.pdq], &codes(&p));
        assert!(d <= PDQ_MATCH_DISTANCE, "lenient code {d} bits away");
        let plain = pdq_from_rgb(&copy).hash.distance(&pdq_from_rgb(&p).hash);
        assert!(
            plain > PDQ_MATCH_DISTANCE,
            "plain PDQ matches already ({plain} bits)"
        );
    }

    #[test]
    fn plain_picture_gets_only_a_centre_code() {
        // Texture in every line (the smooth `photo` has lines the lenient
        // test takes for blends of two colours).
        let textured = RgbImage::from_fn(240, 180, |x, y| {
            let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(7);
            let v = (((x as f32 / 13.0).sin() * 60.0) as i32 + 128 + (n % 61) as i32 - 30) as u8;
            Rgb([v, (n % 255) as u8, 255 - v])
        });
        let extra = extra_pdq_codes(&textured);
        assert_eq!(extra.len(), 1, "{extra:?}");
        assert_eq!(extra[0].region, Region::Centre);
    }

    /// A faint picture: a green surface with a pattern a few levels deep,
    /// so every line of it passes the per-line tests.
    fn faint(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let d = (6.0 * (x as f32 / 23.0).sin() * (y as f32 / 17.0).cos()
                + 5.0 * ((x + 2 * y) as f32 / 61.0).sin()) as i32;
            Rgb([(50 + d) as u8, (180 + d) as u8, (134 + d) as u8])
        })
    }

    #[test]
    fn caption_on_a_faint_picture_is_peeled_to_the_picture_by_the_band_test() {
        let p = faint(300, 220);
        let plain = pdq_from_rgb(&p);
        assert!(plain.usable(), "{plain:?}");
        for copy in [
            captioned(&p, 50),
            framed(&p, 30, 20, |_, _| Rgb([20, 20, 20])),
        ] {
            // The per-line tests peel on through the picture...
            assert!(strip(&copy, two_tone).is_none_or(|r| r.w * r.h < 300 * 220 / 2));
            // ...the band test stops where the band ends.
            let r = band_region(&copy, Tolerance::Lenient).expect("a band");
            assert_eq!((r.w, r.h), p.dimensions());
            let banded = extra_pdq_codes(&copy)
                .into_iter()
                .find(|c| c.region == Region::Banded)
                .expect("a banded code");
            assert_eq!(banded.pdq.hash.distance(&plain.hash), 0);
            assert!(min_distance(&codes(&copy), &[plain]) <= PDQ_MATCH_DISTANCE);
        }
        // A fine checkerboard frame, shrunk: rows of pure blends lie
        // between its rows of cells, and the band goes on past them.
        let checker = framed(&p, 24, 18, |x, y| {
            if (x / 6 + y / 6) % 2 == 0 {
                Rgb([230, 40, 200])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let (cw, ch) = checker.dimensions();
        let shrunk = image::imageops::resize(
            &checker,
            cw * 7 / 10,
            ch * 7 / 10,
            image::imageops::FilterType::Triangle,
        );
        // The picture, 210 x 154 at (16.8, 12.6) after shrinking, give or
        // take the rows its edges blend into.
        let r = band_region(&shrunk, Tolerance::Lenient).expect("a band");
        let near = |a: u32, b: f32| (a as f32 - b).abs() <= 3.0;
        assert!(
            near(r.x, 16.8) && near(r.y, 12.6) && near(r.w, 210.0) && near(r.h, 154.0),
            "{r:?}"
        );
        // `p` in a frame `bw` x `bh` wide of concentric rings `ring` pixels
        // wide, white and `colour` in turn, peels to `p`.
        let (w, h) = p.dimensions();
        let peels_rings = |bw: u32, bh: u32, ring: u32, colour: Rgb<u8>| {
            let (fw, fh) = (w + 2 * bw, h + 2 * bh);
            let rings = framed(&p, bw, bh, |x, y| {
                let edge = x.min(y).min(fw - 1 - x).min(fh - 1 - y);
                if (edge / ring) % 2 == 0 {
                    Rgb([250, 250, 250])
                } else {
                    colour
                }
            });
            let r = band_region(&rings, Tolerance::Lenient).expect("a band");
            assert_eq!((r.x, r.y, r.w, r.h), (bw, bh, w, h), "{bw} x {bh}");
        };
        // A band of one colour at a time, the stripes of the other between.
        peels_rings(30, 20, 5, Rgb([200, 30, 30]));
        // A deeper frame: where a stripe turns the corners it meets the
        // other sides' rings, so a fifth of each stripe line and more is in
        // the band's colour, not the stripe's.
        peels_rings(80, 60, 6, Rgb([30, 30, 200]));
        // The picture alone has no band: its sides are its own surface.
        assert_eq!(
            band_region(&p, Tolerance::Lenient),
            Some(Rect {
                x: 0,
                y: 0,
                w: 300,
                h: 220
            })
        );
    }

    #[test]
    fn a_query_peels_the_flat_caption_band_alone() {
        // A faint picture whose right 40 columns are a haze of three close
        // colours: the band test peels them as a band (the lenient test
        // takes the three for one), the strict test does not (no two of
        // them and their blends cover a line): the picture's own edge.
        let mut p = faint(300, 220);
        let haze = [[150, 170, 210], [165, 160, 220], [140, 180, 225]];
        for y in 0..220 {
            for x in 260..300 {
                p.put_pixel(x, y, Rgb(haze[((7 * x + 13 * y) % 3) as usize]));
            }
        }
        let plain = pdq_from_rgb(&p);
        assert!(plain.usable(), "{plain:?}");
        // Alone, only that edge peels: no query code.
        let own = band_edges(&p, Tolerance::Lenient).expect("bands");
        assert_eq!((own.right, own.flat[3]), (40, false), "{own:?}");
        assert!(query_extra_codes(&p).is_empty());
        // Captioned, the banded region peels the caption band and the haze;
        // the query code peels the caption band alone, whose first row is
        // flat white: the original, whose plain code an index stores.
        let meme = captioned(&p, 50);
        let e = band_edges(&meme, Tolerance::Lenient).expect("bands");
        assert_eq!(
            (e.top, e.right, e.flat[0], e.flat[3]),
            (50, 40, true, false),
            "{e:?}"
        );
        let q = query_extra_codes(&meme);
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].region, Region::FlatBands);
        assert_eq!(q[0].pdq.hash.distance(&plain.hash), 0);
        // A band on one edge only is the banded code already.
        let faint_meme = captioned(&faint(300, 220), 50);
        assert!(query_extra_codes(&faint_meme).is_empty());
    }

    #[test]
    fn a_smooth_edge_drifting_away_is_not_a_band() {
        // Rows change by less than the tolerance from one to the next, so
        // a run of them passes as "one colour", but without a clear end.
        let ramp = RgbImage::from_fn(200, 200, |x, y| {
            let v = (40 + y / 2 + x / 20) as u8;
            Rgb([v, v, v])
        });
        assert_eq!(
            band_region(&ramp, Tolerance::Lenient),
            Some(Rect {
                x: 0,
                y: 0,
                w: 200,
                h: 200
            })
        );
    }

    #[test]
    fn pictures_of_every_small_size_and_kind_are_handled() {
        // Decoded pictures can be any size down to 1 x 1: every region
        // search must stay inside them (no panic, regions inside the
        // picture), flat, striped, two-tone or noisy.
        let kinds: [fn(u32, u32) -> Rgb<u8>; 4] = [
            |_, _| Rgb([9, 9, 9]),
            |_, y| {
                if y % 3 == 0 {
                    Rgb([0, 0, 0])
                } else {
                    Rgb([255, 255, 255])
                }
            },
            |x, y| {
                if (x + y) % 2 == 0 {
                    Rgb([200, 30, 30])
                } else {
                    Rgb([30, 30, 200])
                }
            },
            |x, y| {
                let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(5);
                Rgb([n as u8, (n >> 8) as u8, (n >> 16) as u8])
            },
        ];
        for w in 1..=24 {
            for h in 1..=24 {
                for kind in kinds {
                    let img = RgbImage::from_fn(w, h, kind);
                    for tol in [Tolerance::Strict, Tolerance::Lenient] {
                        if let Some(r) = band_region(&img, tol) {
                            assert!(r.x + r.w <= w && r.y + r.h <= h && r.w > 0 && r.h > 0);
                        }
                    }
                    assert!(extra_codes(&img).codes.len() <= 5);
                    assert!(query_extra_codes(&img).len() <= 1);
                }
            }
        }
    }

    #[test]
    fn flat_picture_gets_no_usable_code() {
        let flat = RgbImage::from_pixel(100, 80, Rgb([200, 10, 10]));
        assert!(extra_pdq_codes(&flat).is_empty());
        assert_eq!(min_distance(&codes(&flat), &codes(&photo(100, 80))), 256);
    }

    /// A picture's codes as [`picture_distance`] takes them.
    struct Held {
        plain: Vec<Pdq>,
        extra: Vec<Pdq>,
        framed: bool,
    }

    fn held(img: &RgbImage) -> Held {
        let extra = extra_codes(img);
        Held {
            plain: vec![pdq_from_rgb(img)],
            framed: extra.framed,
            extra: extra.codes.into_iter().map(|c| c.pdq).collect(),
        }
    }

    fn view(h: &Held) -> PictureCodes<'_> {
        PictureCodes {
            plain: &h.plain,
            extra: &h.extra,
            framed: h.framed,
        }
    }

    #[test]
    fn framed_copies_of_one_picture_match() {
        let p = photo(240, 180);
        let a = held(&framed(&p, 30, 20, |_, _| Rgb([20, 20, 20])));
        let b = held(&captioned(&p, 50));
        assert!(a.framed && b.framed);
        let d = picture_distance(view(&a), view(&b));
        assert!(d <= PDQ_MATCH_DISTANCE, "{d} bits");
        // Their contents agree, so the plain codes count too.
        let contents = min_distance(&a.extra, &b.extra);
        assert!(contents <= FRAMED_CONTENT_DISTANCE, "{contents} bits");
        let all = |h: &Held| h.plain.iter().chain(&h.extra).copied().collect::<Vec<_>>();
        assert_eq!(d, min_distance(&all(&a), &all(&b)));
    }

    #[test]
    fn different_pictures_in_alike_frames_do_not_match() {
        // Two unrelated pictures, each small in the same wide checkerboard
        // frame: the frame dominates their plain codes.
        let p = photo(56, 42);
        let q = image::imageops::rotate180(&photo(56, 42));
        let frame = |x: u32, y: u32| {
            if (x / 20 + y / 20) % 2 == 0 {
                Rgb([40, 40, 40])
            } else {
                Rgb([200, 200, 200])
            }
        };
        let a = held(&framed(&p, 92, 69, frame));
        let b = held(&framed(&q, 92, 69, frame));
        assert!(a.framed && b.framed);
        let plain = min_distance(&a.plain, &b.plain);
        assert!(
            plain <= PDQ_MATCH_DISTANCE,
            "plain codes {plain} bits apart"
        );
        let contents = min_distance(&a.extra, &b.extra);
        assert!(
            contents > FRAMED_CONTENT_DISTANCE && contents < 256,
            "contents {contents} bits apart"
        );
        // Only the pairs with an extra code count, and they are far apart.
        let framed_d = picture_distance(view(&a), view(&b));
        assert!(framed_d > PDQ_MATCH_DISTANCE, "{framed_d} bits");
        let with_extra = min_distance(&a.plain, &b.extra)
            .min(min_distance(&a.extra, &b.plain))
            .min(contents);
        assert_eq!(framed_d, with_extra);
        // Either picture unframed: the rule does not apply.
        let bare = Held {
            framed: false,
            ..held(&framed(&q, 92, 69, frame))
        };
        assert_eq!(picture_distance(view(&a), view(&bare)), plain);
        // A framed picture whose content has no usable code matches other
        // framed pictures by its plain code only as a near-exact copy.
        let no_content = Held {
            extra: Vec::new(),
            ..held(&framed(&q, 92, 69, frame))
        };
        let d = picture_distance(view(&a), view(&no_content));
        assert_eq!(d, min_distance(&a.extra, &no_content.plain));
        assert!(d > PDQ_MATCH_DISTANCE, "{d} bits");
        assert_eq!(picture_distance(view(&b), view(&no_content)), 0);
    }

    #[test]
    fn gradients_are_not_two_tone() {
        let mut hist = ColourHistogram::default();
        let ramp: Vec<Rgb<u8>> = (0..=255u8).map(|v| Rgb([v, v, v])).collect();
        assert!(!two_tone(&ramp, &mut hist));
        let stripes: Vec<Rgb<u8>> = (0..256u32)
            .map(|x| match x % 8 {
                0..=3 => Rgb([250, 250, 250]),
                4 => Rgb([128, 128, 128]),
                _ => Rgb([5, 5, 5]),
            })
            .collect();
        assert!(two_tone(&stripes, &mut hist));
        assert!(!one_tone(&stripes, &mut hist));
        let mut flat = vec![Rgb([40, 80, 120]); 200];
        flat[7] = Rgb([45, 83, 118]); // noise within the tolerance
        assert!(one_tone(&flat, &mut hist));
        for i in [9, 11, 13, 15, 17] {
            flat[i] = Rgb([250, 250, 250]);
        }
        assert!(!one_tone(&flat, &mut hist), "2.5 % of the line is not flat");
    }
}
