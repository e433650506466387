//! WebP through libwebp (the `libwebp-sys` crate builds it from source), the
//! decoder Pillow links; the pure-Rust `image-webp` decoder took about 1.8
//! times as long on the corpus's 4096 x 4096 wallpapers.
//!
//! Decoded at full size. libwebp can rescale while decoding
//! (`use_scaling`), but on the corpus that was no faster (the area
//! rescaler costs what it saves in colour conversion) and it moved PDQ by
//! up to 16 bits from Meta's reference on fine textures, against 8 for a
//! full decode followed by the pipeline's Pillow-like shrink. VP8 has no
//! transform-domain shortcut like JPEG's scaled IDCT: its intra prediction
//! needs every reconstructed pixel.
//!
//! Animated WebP (which libwebp's simple API refuses) goes through the
//! `image` crate, first frame.

use image::metadata::Orientation;
use image::{ImageFormat, RgbImage};
use libwebp_sys as webp;

use super::{check_budget, oriented_size, DecodeError, DecodeOptions, Decoded};

fn decode_err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::Decode {
        format: "WebP",
        reason: reason.to_string(),
    }
}

fn status_message(status: webp::VP8StatusCode) -> &'static str {
    use webp::VP8StatusCode as S;
    match status {
        S::VP8_STATUS_OK => "ok",
        S::VP8_STATUS_OUT_OF_MEMORY => "out of memory",
        S::VP8_STATUS_INVALID_PARAM => "invalid parameter",
        S::VP8_STATUS_BITSTREAM_ERROR => "bitstream error",
        S::VP8_STATUS_UNSUPPORTED_FEATURE => "unsupported feature",
        S::VP8_STATUS_SUSPENDED => "suspended",
        S::VP8_STATUS_USER_ABORT => "aborted",
        S::VP8_STATUS_NOT_ENOUGH_DATA => "truncated file: not enough data",
    }
}

/// Decodes a WebP, `None` when it is animated (the caller then uses the
/// `image` crate for the first frame).
pub(super) fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<Option<Decoded>, DecodeError> {
    let mut config =
        webp::WebPDecoderConfig::new().map_err(|()| decode_err("libwebp version mismatch"))?;
    // SAFETY: `bytes` is valid for `bytes.len()` bytes and `config.input` is
    // a valid, writable features struct; libwebp reads only the headers.
    let status = unsafe {
        webp::WebPGetFeaturesInternal(
            bytes.as_ptr(),
            bytes.len(),
            &mut config.input,
            webp::WEBP_DECODER_ABI_VERSION as _,
        )
    };
    if status != webp::VP8StatusCode::VP8_STATUS_OK {
        return Err(decode_err(status_message(status)));
    }
    let (w, h) = (
        u32::try_from(config.input.width).unwrap_or(0),
        u32::try_from(config.input.height).unwrap_or(0),
    );
    check_budget(ImageFormat::WebP, w, h, opts.max_pixels)?;
    if config.input.has_animation != 0 {
        return Ok(None);
    }
    let (ow, oh) = (w, h);
    let stride = ow as usize * 3;
    let mut buf = vec![0u8; stride * oh as usize];
    // One thread per picture: the batch is parallel over pictures.
    config.options.use_threads = 0;
    config.output.colorspace = webp::WEBP_CSP_MODE::MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.width = ow as i32;
    config.output.height = oh as i32;
    config.output.u.RGBA = webp::WebPRGBABuffer {
        rgba: buf.as_mut_ptr(),
        stride: stride as i32,
        size: buf.len(),
    };
    // SAFETY: `bytes` is valid for its length; the output buffer is ours,
    // `stride * oh` bytes, declared with that stride and size, and outlives
    // the call; libwebp writes only inside it (it checks stride and size
    // against the output dimensions and fails otherwise).
    let status = unsafe { webp::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    // SAFETY: frees only libwebp's private memory (none with an external
    // buffer), as required after every WebPDecode.
    unsafe { webp::WebPFreeDecBuffer(&mut config.output) };
    if status != webp::VP8StatusCode::VP8_STATUS_OK {
        return Err(decode_err(status_message(status)));
    }
    let pixels = RgbImage::from_raw(ow, oh, buf).ok_or_else(|| decode_err("bad output size"))?;
    let orientation = exif_chunk(bytes)
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (width, height) = oriented_size(w, h, orientation);
    Ok(Some(Decoded {
        pixels,
        width,
        height,
        orientation,
        format: ImageFormat::WebP,
        reduction: 1,
    }))
}

/// The payload of the RIFF `EXIF` chunk of an extended WebP, if any.
fn exif_chunk(bytes: &[u8]) -> Option<&[u8]> {
    let mut rest = bytes.get(12..)?; // "RIFF" size "WEBP"
    while rest.len() >= 8 {
        let (tag, len) = (&rest[..4], u32::from_le_bytes(rest[4..8].try_into().ok()?));
        let len = usize::try_from(len).ok()?;
        let body = rest.get(8..8usize.checked_add(len)?)?;
        if tag == b"EXIF" {
            // Some writers keep the JPEG-style "Exif\0\0" prefix.
            return Some(body.strip_prefix(b"Exif\0\0").unwrap_or(body));
        }
        // Chunks are padded to an even length.
        rest = rest.get(8 + len + (len & 1)..)?;
    }
    None
}
