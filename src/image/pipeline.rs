//! File to fingerprints: read, decode (reduced), shrink to fit 512 x 512,
//! orient, hash. This is what `neardup hash`, the indexer and queries call.
//!
//! The shrinking follows Meta's Python reference pipeline (Pillow
//! `thumbnail((512, 512))`: aspect kept, only shrinks, sizes rounded as
//! Pillow rounds them, an integer box reduction down to no less than twice
//! the target, then bicubic with a = -0.5), so that PDQ hashes land within
//! Meta's tolerance of the reference. pHash and dHash are computed from the
//! same 512-pixel picture: both shrink it further to 32 x 32 or 9 x 8, and
//! so are the extra PDQ codes of [`super::robust`] (borders trimmed, caption
//! band removed, centre crop), which index and queries use besides the plain
//! PDQ code: no second decode.
//!
//! ```no_run
//! use neardup::image::pipeline::{fingerprint_path, PipelineOptions};
//! let fp = fingerprint_path("photo.jpg".as_ref(), &PipelineOptions::default())?;
//! if let Some(pdq) = fp.pdq {
//!     println!("{} x {}: {} (quality {})", fp.width, fp.height, pdq.hash.to_hex(), pdq.quality);
//! }
//! # Ok::<(), neardup::image::error::ImageError>(())
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use fast_image_resize as fr;
use image::RgbImage;

use super::code::Hash64;
pub use super::decode::DEFAULT_DECODE_SIDE;
use super::decode::{
    apply_orientation, decode_bytes, format_name, oriented_size, panic_message, DecodeOptions,
    Decoded, DEFAULT_MAX_PIXELS, HASH_SIDE,
};
use super::error::{DecodeError, ImageError};
use super::pdq::{
    pdq_dihedral_from_rgb, pdq_dihedral_from_rgb_region, pdq_from_rgb, Pdq, PdqDihedral,
};
use super::robust::{extra_codes, query_extra_codes};

/// What to compute.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Pixel budget checked against the header before decoding.
    pub max_pixels: u64,
    /// Compute PDQ (hash and quality).
    pub pdq: bool,
    /// Also compute the 8 dihedral PDQ hashes (implies PDQ).
    pub dihedral: bool,
    /// Also compute the extra PDQ codes of [`super::robust::extra_codes`]
    /// (what the index stores and queries probe with besides the plain code).
    pub pdq_extra: bool,
    /// With `pdq_extra`, also add the codes only queries probe with
    /// ([`super::robust::query_extra_codes`]: the picture without only its
    /// flat edge bands, a caption band) to the extra codes. Off by default: the index
    /// does not store them.
    pub pdq_query_extra: bool,
    /// Compute the 64-bit pHash.
    pub phash: bool,
    /// Compute the 64-bit dHash.
    pub dhash: bool,
    /// Reduced-scale decoding keeps the longer side at least this long
    /// (default [`DEFAULT_DECODE_SIDE`]); `None` decodes every pixel, for
    /// measuring what the reduction costs in hash bits.
    pub decode_side: Option<u32>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            pdq: true,
            dihedral: false,
            pdq_extra: true,
            pdq_query_extra: false,
            phash: true,
            dhash: true,
            decode_side: Some(DEFAULT_DECODE_SIDE),
        }
    }
}

impl PipelineOptions {
    /// The decoder settings these options imply.
    pub fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            max_pixels: self.max_pixels,
            min_side: self.decode_side,
        }
    }
}

/// The fingerprints of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFingerprint {
    /// Width as a viewer shows it (EXIF orientation applied), full size.
    pub width: u32,
    /// Height as a viewer shows it, full size.
    pub height: u32,
    /// PDQ hash and quality, when asked for.
    pub pdq: Option<Pdq>,
    /// The 8 dihedral PDQ hashes, when asked for.
    pub pdq_dihedral: Option<PdqDihedral>,
    /// The extra PDQ codes (at most five, each usable: [`Pdq::usable`]; a
    /// sixth with [`PipelineOptions::pdq_query_extra`]), when asked for;
    /// empty otherwise. See [`super::robust`].
    pub pdq_extra: Vec<Pdq>,
    /// Whether the picture is framed (a border, frame or caption band
    /// surrounds its content: [`super::robust::Extra::framed`]); false when
    /// the extra codes were not asked for.
    pub pdq_framed: bool,
    /// For a framed picture, the 8 dihedral PDQ hashes of its content (the
    /// region of [`super::robust::Extra::content`]), when both the dihedral
    /// hashes and the extra codes were asked for; `None` otherwise, and for
    /// a framed picture whose content has no usable code. Turned copies of
    /// framed pictures are matched by their contents, as their plain codes
    /// are (see `crate::dedupe`).
    pub pdq_content_dihedral: Option<PdqDihedral>,
    /// pHash, when asked for.
    pub phash: Option<Hash64>,
    /// dHash, when asked for.
    pub dhash: Option<Hash64>,
}

impl ImageFingerprint {
    /// Whether an index marks the picture framed
    /// ([`crate::schema::FLAG_FRAMED`]): it is framed and its plain PDQ
    /// code is usable, so that code is stored first and the others are its
    /// extra codes. Index, query and `compare` all judge framed pictures by
    /// this.
    pub fn framed_as_indexed(&self) -> bool {
        self.pdq_framed && self.pdq.is_some_and(|p| p.usable())
    }
}

/// The largest image file read: 512 MiB. The pixel budget is checked from
/// the header before any pixel buffer exists, but the encoded bytes are
/// read first; this bounds them. A 100-megapixel photo (the default pixel
/// budget) is about 30-60 MB as JPEG and under 300 MB as PNG.
pub const MAX_IMAGE_BYTES: u64 = 512 << 20;

/// Reads a file for decoding: only regular files (a FIFO would block, a
/// directory cannot be read) of at most [`MAX_IMAGE_BYTES`].
pub fn read_image_file(path: &Path) -> Result<Vec<u8>, ImageError> {
    read_image_file_capped(path, MAX_IMAGE_BYTES)
}

/// [`read_image_file`] with another size limit.
pub fn read_image_file_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ImageError> {
    let io = |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(ImageError::NotAFile {
            path: path.to_path_buf(),
            kind: file_kind(&ft),
        });
    }
    let too_large = |size| ImageError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    // The file may grow after the stat: read at most one byte past the
    // limit to tell.
    use std::io::Read;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "device";
        }
    }
    if ft.is_dir() {
        "directory"
    } else {
        "not a file"
    }
}

/// Fingerprints the image file at `path`.
pub fn fingerprint_path(
    path: &Path,
    opts: &PipelineOptions,
) -> Result<ImageFingerprint, ImageError> {
    let bytes = read_image_file(path)?;
    fingerprint_bytes(&bytes, opts).map_err(|reason| ImageError::Decode {
        path: path.to_path_buf(),
        reason,
    })
}

/// Fingerprints an encoded image held in memory.
pub fn fingerprint_bytes(
    bytes: &[u8],
    opts: &PipelineOptions,
) -> Result<ImageFingerprint, DecodeError> {
    fingerprint_decoded(decode_bytes(bytes, &opts.decode_options())?, opts)
}

/// Fingerprints pixels already decoded elsewhere (a Python caller's PIL
/// image or array), as if they had been decoded from a PNG file of that
/// size: no orientation, no reduction.
pub fn fingerprint_pixels(
    pixels: RgbImage,
    opts: &PipelineOptions,
) -> Result<ImageFingerprint, DecodeError> {
    let (width, height) = pixels.dimensions();
    if width == 0 || height == 0 {
        return Err(DecodeError::ZeroSize {
            format: "pixel array",
            width,
            height,
        });
    }
    fingerprint_decoded(
        Decoded {
            pixels,
            width,
            height,
            orientation: image::metadata::Orientation::NoTransforms,
            format: image::ImageFormat::Png,
            reduction: 1,
        },
        opts,
    )
}

/// Hashes a decoded picture: the common end of [`fingerprint_bytes`] and
/// [`fingerprint_pixels`].
fn fingerprint_decoded(
    decoded: Decoded,
    opts: &PipelineOptions,
) -> Result<ImageFingerprint, DecodeError> {
    let format = format_name(decoded.format);
    let (width, height) = (decoded.width, decoded.height);
    catch_unwind(AssertUnwindSafe(|| {
        let thumb = hash_picture(decoded);
        // PdqDihedral::original equals pdq_from_rgb except on exactly
        // 64 x 64 pictures, so PDQ is computed on its own.
        let pdq_dihedral = opts.dihedral.then(|| pdq_dihedral_from_rgb(&thumb));
        let pdq = (opts.pdq || opts.dihedral).then(|| pdq_from_rgb(&thumb));
        let (pdq_extra, pdq_framed, pdq_content_dihedral) = if opts.pdq_extra {
            let extra = extra_codes(&thumb);
            let content = extra.content.filter(|_| opts.dihedral && extra.framed);
            let mut codes: Vec<Pdq> = extra.codes.into_iter().map(|c| c.pdq).collect();
            if opts.pdq_query_extra {
                for c in query_extra_codes(&thumb) {
                    let known = pdq.is_some_and(|p| p.hash == c.pdq.hash)
                        || codes.iter().any(|e| e.hash == c.pdq.hash);
                    if !known {
                        codes.push(c.pdq);
                    }
                }
            }
            (
                codes,
                extra.framed,
                content.map(|(x, y, w, h)| pdq_dihedral_from_rgb_region(&thumb, x, y, w, h)),
            )
        } else {
            (Vec::new(), false, None)
        };
        ImageFingerprint {
            width,
            height,
            pdq,
            pdq_dihedral,
            pdq_extra,
            pdq_framed,
            pdq_content_dihedral,
            phash: opts.phash.then(|| super::phash::phash(&thumb)),
            dhash: opts.dhash.then(|| super::dhash::dhash(&thumb)),
        }
    }))
    .map_err(|panic| DecodeError::Internal {
        format,
        reason: panic_message(&panic),
    })
}

/// The picture the hashes see: the decoded pixels shrunk to fit
/// [`HASH_SIDE`] x [`HASH_SIDE`] as Pillow's `thumbnail` would shrink the
/// full-size picture, then oriented.
pub fn hash_picture(decoded: Decoded) -> RgbImage {
    fit_picture(decoded, HASH_SIDE)
}

/// The decoded pixels shrunk to fit `side` x `side` (as Pillow's
/// `thumbnail` would shrink the full-size picture), then oriented: what
/// the hashes see at [`HASH_SIDE`], and the report's thumbnails at less.
pub fn fit_picture(decoded: Decoded, side: u32) -> RgbImage {
    // Target size from the full, oriented dimensions, as the reference
    // computes it; then back to the stored orientation, in which the pixels
    // still are.
    let (tw, th) = thumbnail_size(decoded.width, decoded.height, side);
    let (sw, sh) = oriented_size(tw, th, decoded.orientation);
    let small = shrink(decoded.pixels, sw, sh);
    apply_orientation(small, decoded.orientation)
}

/// Upright pixels (a video frame, say) shrunk to fit `side` x `side`, as
/// [`fit_picture`] shrinks a decoded picture.
pub fn fit_rgb(pixels: RgbImage, side: u32) -> RgbImage {
    let (tw, th) = thumbnail_size(pixels.width(), pixels.height(), side);
    shrink(pixels, tw, th)
}

/// Pillow's `Image.thumbnail((side, side))` size for a `w` x `h` picture:
/// the aspect ratio kept, each side rounded down or up, whichever keeps the
/// aspect closer; pictures that already fit are left alone.
pub fn thumbnail_size(w: u32, h: u32, side: u32) -> (u32, u32) {
    if w <= side && h <= side {
        return (w, h);
    }
    let (x, y) = (f64::from(side), f64::from(side));
    let aspect = f64::from(w) / f64::from(h);
    // Pillow's round_aspect: min(floor, ceil) by key, floor on ties, >= 1.
    let round_aspect = |number: f64, key: &dyn Fn(f64) -> f64| -> u32 {
        let (lo, hi) = (number.floor(), number.ceil());
        let best = if key(lo) <= key(hi) { lo } else { hi };
        (best as u32).max(1)
    };
    if x / y >= aspect {
        let nx = round_aspect(y * aspect, &|n| (aspect - n / y).abs());
        (nx, side)
    } else {
        let ny = round_aspect(x / aspect, &|n| {
            if n == 0.0 {
                0.0
            } else {
                (aspect - x / n).abs()
            }
        });
        (side, ny)
    }
}

/// Resizes to exactly `tw` x `th`: Pillow's `reducing_gap = 2.0` (an
/// integer box reduction while the picture stays at least twice the target
/// on that axis) then bicubic (Catmull-Rom, a = -0.5, Pillow's BICUBIC),
/// with the kernel widened by the scale so that it antialiases.
fn shrink(pixels: RgbImage, tw: u32, th: u32) -> RgbImage {
    let (w, h) = pixels.dimensions();
    if (w, h) == (tw, th) {
        return pixels;
    }
    let fx = (w / tw / 2).max(1);
    let fy = (h / th / 2).max(1);
    let pixels = if fx > 1 || fy > 1 {
        resize(&pixels, w.div_ceil(fx), h.div_ceil(fy), fr::FilterType::Box)
    } else {
        pixels
    };
    resize(&pixels, tw, th, fr::FilterType::CatmullRom)
}

fn resize(src: &RgbImage, tw: u32, th: u32, filter: fr::FilterType) -> RgbImage {
    let (w, h) = src.dimensions();
    if (w, h) == (tw, th) {
        return src.clone();
    }
    let mut out = RgbImage::new(tw, th);
    let view = fr::images::ImageRef::new(w, h, src.as_raw(), fr::PixelType::U8x3);
    let dst = fr::images::Image::from_slice_u8(tw, th, &mut out, fr::PixelType::U8x3);
    if let (Ok(view), Ok(mut dst)) = (view, dst) {
        let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
        if fr::Resizer::new().resize(&view, &mut dst, &opts).is_ok() {
            return out;
        }
    }
    // Buffer sizes are ours and always consistent, so fast_image_resize
    // cannot refuse them; should it ever, fall back to the image crate.
    image::imageops::resize(src, tw, th, image::imageops::FilterType::CatmullRom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_file_over_the_size_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        std::fs::write(&path, vec![0u8; 1000]).unwrap();
        match read_image_file_capped(&path, 999) {
            Err(ImageError::TooLarge { size, limit, .. }) => assert_eq!((size, limit), (1000, 999)),
            other => panic!("{other:?}"),
        }
        assert_eq!(read_image_file_capped(&path, 1000).unwrap().len(), 1000);
    }

    #[test]
    fn thumbnail_size_matches_pillow() {
        // Values computed with Pillow 11: Image.new("RGB", s).thumbnail((512, 512)).
        assert_eq!(thumbnail_size(1920, 1080, 512), (512, 288));
        assert_eq!(thumbnail_size(1080, 1920, 512), (288, 512));
        assert_eq!(thumbnail_size(5640, 3172, 512), (512, 288));
        assert_eq!(thumbnail_size(4096, 4096, 512), (512, 512));
        assert_eq!(thumbnail_size(500, 12, 512), (500, 12));
        assert_eq!(thumbnail_size(5000, 3, 512), (512, 1));
        assert_eq!(thumbnail_size(1600, 1203, 512), (512, 385));
    }

    #[test]
    fn shrink_gives_the_exact_size() {
        let img = RgbImage::from_fn(1500, 1000, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let out = shrink(img, 512, 341);
        assert_eq!(out.dimensions(), (512, 341));
        assert_eq!(out.get_pixel(100, 100).0[2], 7);
    }
}
