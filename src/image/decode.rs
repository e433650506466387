//! Bytes to pixels, as cheaply as a perceptual hash allows.
//!
//! The format is sniffed from the content (never the file name). A pixel
//! budget is checked against the header before any pixel buffer is
//! allocated, so a decompression bomb costs a few header bytes. JPEGs whose
//! longer side is at least twice [`DecodeOptions::min_side`] are decoded at
//! 1/2, 1/4 or 1/8 scale in the DCT domain (the inverse DCT is computed on
//! 4x4, 2x2 or 1x1 blocks; 1/8, the exact 8 x 8 block means, already from
//! half of `min_side`, and a progressive file then without its AC scans).
//! Lossy WebPs (libwebp) as large are reduced by the same factors with box
//! means of their Y'CbCr planes before colour conversion. Lossless WebP and
//! the other formats (the `image` crate) are decoded whole and left to the
//! caller to reduce. Colour is converted the way Pillow's `convert("RGB")`
//! does, since Meta's reference PDQ pipeline is Pillow: alpha is dropped (not
//! composited), palettes are expanded, CMYK becomes `(255-C)(255-K)/255`.
//!
//! The EXIF orientation is read and returned, not applied: the caller
//! applies it to the reduced picture, where rotating is cheap
//! ([`apply_orientation`]).
//!
//! ```no_run
//! use neardup::image::decode::{decode_bytes, DecodeOptions};
//! let bytes = std::fs::read("photo.jpg")?;
//! let d = decode_bytes(&bytes, &DecodeOptions::default())?;
//! println!("{} x {} decoded at 1/{}", d.width, d.height, d.reduction);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod jpeg;
mod webp;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

pub use super::error::DecodeError;

/// Default pixel budget: 100 megapixels (a 12000 x 8000 photo passes; the
/// classic 100000 x 100000 PNG bomb does not).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// The side a hash needs: Meta's reference shrinks every picture to fit
/// 512 x 512 before PDQ (pHash and dHash need far less).
pub const HASH_SIDE: u32 = 512;

/// The longer side below which reduced-scale decoding does not go: twice
/// [`HASH_SIDE`], the margin of Pillow's `reducing_gap = 2.0`, so that the
/// final bicubic step still antialiases over at least 2 source pixels. A
/// JPEG reduced straight to 512..1023 pixels by the scaled IDCT (which cuts
/// frequencies sharply instead) moved one of Meta's pipeline vectors from 2
/// to 14 bits (`wood-l.jpg`, 1280 px); see the README for the measurements.
pub const DEFAULT_DECODE_SIDE: u32 = 2 * HASH_SIDE;

/// How to decode.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Refuse images whose header claims more pixels than this.
    pub max_pixels: u64,
    /// Reduced-scale decoding keeps the longer side at least this long;
    /// `None` decodes at full resolution.
    pub min_side: Option<u32>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            min_side: Some(DEFAULT_DECODE_SIDE),
        }
    }
}

/// A decoded picture, not yet oriented.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The pixels as stored (before orientation), possibly reduced.
    pub pixels: RgbImage,
    /// Full width as a viewer shows it (after orientation).
    pub width: u32,
    /// Full height as a viewer shows it (after orientation).
    pub height: u32,
    /// EXIF orientation to apply to `pixels`.
    pub orientation: Orientation,
    /// The sniffed format.
    pub format: ImageFormat,
    /// Scale denominator used (1 = full resolution; 2, 4 or 8): JPEG's
    /// scaled IDCT, or box means for lossy WebP.
    pub reduction: u32,
}

/// Names a format for messages.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Tga => "TGA",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Hdr => "HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Dds => "DDS",
        ImageFormat::Farbfeld => "farbfeld",
        ImageFormat::Avif => "AVIF",
        _ => "image",
    }
}

/// Sniffs the format from the first bytes (magic numbers), or `None`.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes).ok()
}

/// The DCT reduction (1, 2, 4 or 8) for a `width` x `height` image so that
/// the longer side stays at least `min_side`: the largest that does, like
/// Pillow's `draft()`. Exposed for the benchmark and tests.
pub fn reduction_for(width: u32, height: u32, min_side: Option<u32>) -> u32 {
    let Some(min_side) = min_side else { return 1 };
    let long = width.max(height);
    [8u32, 4, 2]
        .into_iter()
        .find(|&d| long / d >= min_side)
        .unwrap_or(1)
}

/// Decodes `bytes` (any supported format) to RGB, with the pixel budget and
/// reduced-scale decoding of `opts`. Never panics: a panic inside a decoder is
/// caught and returned as [`DecodeError::Internal`].
pub fn decode_bytes(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = sniff(bytes).ok_or_else(|| DecodeError::UnknownFormat {
        magic: bytes
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    })?;
    catch_unwind(AssertUnwindSafe(|| match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, opts),
        ImageFormat::WebP => match webp::decode(bytes, opts)? {
            Some(decoded) => Ok(decoded),
            None => decode_generic(bytes, format, opts),
        },
        _ => decode_generic(bytes, format, opts),
    }))
    .unwrap_or_else(|panic| {
        Err(DecodeError::Internal {
            format: format_name(format),
            reason: panic_message(&panic),
        })
    })
}

/// The text of a caught panic's payload.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Refuses a header's dimensions when they are empty or over the budget.
fn check_budget(format: ImageFormat, width: u32, height: u32, max: u64) -> Result<(), DecodeError> {
    let format = format_name(format);
    if width == 0 || height == 0 {
        return Err(DecodeError::ZeroSize {
            format,
            width,
            height,
        });
    }
    if u64::from(width) * u64::from(height) > max {
        return Err(DecodeError::TooManyPixels {
            format,
            width,
            height,
            max,
        });
    }
    Ok(())
}

/// Width and height as shown once `orientation` is applied (and, since
/// every orientation is its own inverse in this respect, the stored size of
/// a shown size).
pub fn oriented_size(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

/// Bytes a decoder may allocate for a budget of `max_pixels`: 8 bytes a
/// pixel covers 16-bit RGBA, the largest common layout; `image::Limits`
/// then stops a decoder whose header lied about its size.
fn alloc_limit(max_pixels: u64) -> u64 {
    max_pixels.saturating_mul(8).max(64 << 20)
}

/// Everything but JPEG, through the `image` crate, at full resolution.
fn decode_generic(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
) -> Result<Decoded, DecodeError> {
    let name = format_name(format);
    // PNG's size sits at a fixed place in the first chunk: check it before
    // the decoder reads on to the first IDAT, so that a bomb is refused from
    // its first 24 bytes even when the rest is missing.
    if format == ImageFormat::Png && bytes.get(12..16) == Some(b"IHDR".as_slice()) {
        if let (Some(w), Some(h)) = (be_u32(bytes, 16), be_u32(bytes, 20)) {
            check_budget(format, w, h, opts.max_pixels)?;
        }
    }
    let err = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => DecodeError::Decode {
            format: name,
            reason: format!("memory limit exceeded while decoding: {l}"),
        },
        other => DecodeError::Decode {
            format: name,
            reason: other.to_string(),
        },
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(alloc_limit(opts.max_pixels));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(err)?;
    let (w, h) = decoder.dimensions();
    check_budget(format, w, h, opts.max_pixels)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(err)?;
    let pixels = to_rgb_like_pillow(image);
    let (width, height) = oriented_size(w, h, orientation);
    Ok(Decoded {
        pixels,
        width,
        height,
        orientation,
        format,
        reduction: 1,
    })
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// RGB the way Pillow's `convert("RGB")` makes it: alpha dropped, grey
/// replicated, 16-bit scaled to 8.
fn to_rgb_like_pillow(image: DynamicImage) -> RgbImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        // `into_rgb8` copies the colour channels and ignores alpha, which is
        // what Pillow does (no compositing over a background).
        other => other.into_rgb8(),
    }
}

/// Applies an EXIF orientation to a picture.
pub fn apply_orientation(pixels: RgbImage, orientation: Orientation) -> RgbImage {
    if orientation == Orientation::NoTransforms {
        return pixels;
    }
    let mut image = DynamicImage::ImageRgb8(pixels);
    image.apply_orientation(orientation);
    image.into_rgb8()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_keeps_the_long_side_at_least_min_side() {
        assert_eq!(reduction_for(5640, 3172, Some(512)), 8);
        assert_eq!(reduction_for(4095, 100, Some(512)), 4);
        assert_eq!(reduction_for(2560, 1600, Some(512)), 4);
        assert_eq!(reduction_for(1920, 1080, Some(512)), 2);
        assert_eq!(reduction_for(1023, 1023, Some(512)), 1);
        assert_eq!(reduction_for(300, 9000, Some(512)), 8);
        assert_eq!(reduction_for(9000, 9000, None), 1);
    }

    #[test]
    fn empty_and_unknown_inputs_are_named() {
        assert!(matches!(
            decode_bytes(&[], &DecodeOptions::default()),
            Err(DecodeError::Empty)
        ));
        let e = decode_bytes(b"hello, world", &DecodeOptions::default()).unwrap_err();
        assert!(matches!(e, DecodeError::UnknownFormat { .. }), "{e}");
        assert!(e.to_string().contains("68 65 6c 6c"), "{e}");
    }

    #[test]
    fn png_bomb_header_is_refused_before_decoding() {
        let bytes = png_header(100_000, 100_000);
        let e = decode_bytes(&bytes, &DecodeOptions::default()).unwrap_err();
        match e {
            DecodeError::TooManyPixels {
                width, height, max, ..
            } => {
                assert_eq!((width, height, max), (100_000, 100_000, DEFAULT_MAX_PIXELS));
            }
            other => panic!("expected TooManyPixels, got {other}"),
        }
    }

    /// A PNG signature and IHDR chunk (valid CRC) with no image data.
    pub(crate) fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&ihdr);
        out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn orientation_swaps_sides_for_quarter_turns() {
        assert_eq!(oriented_size(4, 3, Orientation::Rotate90), (3, 4));
        assert_eq!(oriented_size(4, 3, Orientation::FlipVertical), (4, 3));
        let mut img = RgbImage::new(4, 3);
        img.put_pixel(3, 0, image::Rgb([255, 0, 0]));
        let r = apply_orientation(img, Orientation::Rotate90);
        assert_eq!(r.dimensions(), (3, 4));
        // Top-right corner turns clockwise to bottom-right.
        assert_eq!(r.get_pixel(2, 3).0, [255, 0, 0]);
    }
}
