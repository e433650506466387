//! Thumbnails for the report: small JPEGs made from the indexed media,
//! embedded in the page as `data:` URLs so that it opens offline.
//!
//! A picture is decoded at reduced scale (as for hashing, with the same
//! pixel budget), shrunk to fit [`THUMB_SIDE`] and encoded at JPEG quality
//! [`THUMB_QUALITY`]: about 5-10 KB each. A video shows one frame, decoded
//! up to that frame only ([`crate::video::frame_image`]). Media that cannot
//! be read any more (moved, deleted, damaged) get a reason instead, which
//! the page shows in a placeholder.

use std::path::Path;

use base64::Engine;
use rayon::prelude::*;

use crate::image::decode::{decode_bytes, DecodeOptions, DEFAULT_MAX_PIXELS};
use crate::image::pipeline::{fit_picture, fit_rgb, read_image_file};

/// Longer side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 160;
/// JPEG quality of a thumbnail.
pub const THUMB_QUALITY: u8 = 70;

/// A thumbnail as the page embeds it, or why there is none.
pub type Thumb = Result<String, String>;

/// What a thumbnail shows.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A picture file.
    Picture(&'a str),
    /// Frame `frame` (display order, from 0) of a video file.
    Frame(&'a str, u64),
}

/// Makes the thumbnails of `sources` in parallel: a
/// `data:image/jpeg;base64` URL each, or the reason it could not be made.
pub fn make_all(sources: &[Source<'_>]) -> Vec<Thumb> {
    sources
        .par_iter()
        .map(|s| {
            let jpeg = match *s {
                Source::Picture(p) => make_jpeg(Path::new(p)),
                Source::Frame(p, frame) => frame_jpeg(Path::new(p), frame),
            }?;
            Ok(data_url(&jpeg))
        })
        .collect()
}

/// One picture's thumbnail.
pub fn make(path: &Path) -> Thumb {
    Ok(data_url(&make_jpeg(path)?))
}

fn data_url(jpeg: &[u8]) -> String {
    let mut url = String::from("data:image/jpeg;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(jpeg, &mut url);
    url
}

/// The thumbnail of frame `frame` of a video as JPEG bytes, or why there is
/// none.
pub fn frame_jpeg(path: &Path, frame: u64) -> Result<Vec<u8>, String> {
    let rgb = crate::video::frame_image(path, frame, DEFAULT_MAX_PIXELS)
        .map_err(|e| short_reason(&e.to_string(), path))?;
    let small = std::panic::catch_unwind(|| fit_rgb(rgb, THUMB_SIDE))
        .map_err(|_| "the frame could not be shrunk".to_string())?;
    encode(&small)
}

/// One thumbnail as JPEG bytes (as `neardup serve` sends it), or why there
/// is none.
pub fn make_jpeg(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = read_image_file(path).map_err(|e| short_reason(&e.to_string(), path))?;
    let opts = DecodeOptions {
        max_pixels: DEFAULT_MAX_PIXELS,
        min_side: Some(2 * THUMB_SIDE),
    };
    let decoded = decode_bytes(&bytes, &opts).map_err(|e| e.to_string())?;
    let small = std::panic::catch_unwind(|| fit_picture(decoded, THUMB_SIDE))
        .map_err(|_| "the picture could not be shrunk".to_string())?;
    encode(&small)
}

fn encode(small: &image::RgbImage) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, THUMB_QUALITY)
        .encode_image(small)
        .map_err(|e| format!("cannot encode the thumbnail: {e}"))?;
    Ok(jpeg)
}

/// The error without the path the page already shows next to it.
fn short_reason(message: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_picture_gets_a_reason_not_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let got = make(&dir.path().join("gone.jpg"));
        let reason = got.unwrap_err();
        assert!(!reason.is_empty());
        assert!(!reason.contains("gone.jpg"), "{reason}");
    }

    #[test]
    fn a_picture_becomes_a_small_jpeg_data_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let img = image::RgbImage::from_fn(900, 600, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        img.save(&path).unwrap();
        let url = make(&path).unwrap();
        let b64 = url.strip_prefix("data:image/jpeg;base64,").unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let thumb = image::load_from_memory(&jpeg).unwrap();
        let want = crate::image::pipeline::thumbnail_size(900, 600, THUMB_SIDE);
        assert_eq!((thumb.width(), thumb.height()), want);
        assert_eq!(want.0, THUMB_SIDE);
    }

    #[test]
    fn a_damaged_picture_gets_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jpg");
        std::fs::write(&path, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
        assert!(make(&path).is_err());
    }
}
