//! JPEG through libjpeg-turbo's decoder (as vendored by the `mozjpeg`
//! crate), which runs the inverse DCT at 1/2, 1/4 or 1/8 scale: entropy
//! decoding still reads every coefficient, but the IDCT, chroma upsampling
//! and colour conversion touch only 1/4, 1/16 or 1/64 of the pixels. It is
//! also what Pillow links, so the pixels match Meta's Python reference more
//! closely than another decoder's would.
//!
//! Measured on the corpus (see the README): `jpeg-decoder`, which also has a
//! scaled IDCT, spends most of its time in a slower entropy decoder and was
//! no faster at 1/8 scale than libjpeg-turbo at full size; `zune-jpeg` (the
//! `image` crate's decoder) has no scaled IDCT. CMYK and YCCK files, rare in
//! the wild, go through `jpeg-decoder`, whose Adobe un-inversion is simple
//! to check.

use std::os::raw::c_int;

use image::metadata::Orientation;
use image::{ImageFormat, RgbImage};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, jpeg_std_error, JWRN_JPEG_EOF};

use super::Decoded;
use super::{alloc_limit, check_budget, oriented_size, reduction_for, DecodeError, DecodeOptions};

fn decode_err(reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::Decode {
        format: "JPEG",
        reason: reason.to_string(),
    }
}

/// libjpeg reports fatal errors through `error_exit`, which must not
/// return; we unwind (the C code is built with unwind tables by
/// mozjpeg-sys's `unwinding` feature) with the message, and
/// [`super::decode_bytes`] catches it. `resume_unwind` skips the panic hook,
/// so nothing is printed.
extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let msg = libjpeg_message(cinfo);
    std::panic::resume_unwind(Box::new(format!("libjpeg: {msg}")));
}

/// Warnings are ignored, as Pillow ignores them, except premature end of
/// data: libjpeg would pad the missing rows with grey and carry on, while
/// Pillow refuses a truncated file ("image file is truncated").
extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with its own valid cinfo, whose `err`
    // points to the error manager installed in `decode`.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    if level < 0 && code == JWRN_JPEG_EOF as c_int {
        std::panic::resume_unwind(Box::new(TRUNCATED.to_string()));
    }
}

const TRUNCATED: &str = "truncated file: the data ends before the image is complete";

/// The text of the message libjpeg has in `cinfo.err`.
fn libjpeg_message(cinfo: &mut jpeg_common_struct) -> String {
    // SAFETY: as in `emit_message`, `err` is our installed manager.
    let Some(format) = (unsafe { cinfo.err.as_ref() }).and_then(|e| e.format_message) else {
        return "unknown error".to_string();
    };
    // libjpeg writes up to JMSG_LENGTH_MAX (200) bytes, NUL-terminated; the
    // binding declares the parameter as `&[u8; 80]`, so we call it through a
    // pointer type with a buffer large enough for any message.
    let mut buffer = [0u8; 256];
    type Fmt = unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8);
    // SAFETY: both function pointer types take (cinfo pointer, byte
    // pointer) with the C ABI; only the pointee type of the buffer differs,
    // and our buffer is larger than libjpeg ever writes.
    unsafe {
        let format: Fmt = std::mem::transmute::<
            unsafe extern "C-unwind" fn(&mut jpeg_common_struct, &[u8; 80]),
            Fmt,
        >(format);
        format(cinfo, buffer.as_mut_ptr());
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

fn error_manager() -> jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct for which all-zero is a
    // valid (empty) value; jpeg_std_error fills in every field.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    // SAFETY: `err` is a valid, writable error manager.
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// Decodes a JPEG, reduced in the DCT domain when `opts.min_side` allows.
pub(super) fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    // libjpeg's errors arrive as unwinds carrying the message.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_inner(bytes, opts)))
        .unwrap_or_else(|payload| Err(decode_err(super::panic_message(&payload))))
}

fn decode_inner(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let markers = [mozjpeg::Marker::APP(1)];
    let mut dec = mozjpeg::decompress::DecompressBuilder::new()
        .with_err(error_manager())
        .with_markers(&markers)
        .from_mem(bytes)
        .map_err(decode_err)?;
    let (w, h) = dec.size();
    let (w, h) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    check_budget(ImageFormat::Jpeg, w, h, opts.max_pixels)?;
    let orientation = dec
        .markers()
        .filter_map(|m| m.data.strip_prefix(b"Exif\0\0"))
        .find_map(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let reduction = reduction_for(w, h, opts.min_side);
    let pixels = match dec.color_space() {
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK => {
            drop(dec);
            cmyk::decode(bytes, reduction, opts.max_pixels)?
        }
        _ => {
            // Scale is numerator / 8.
            dec.scale(u8::try_from(8 / reduction).unwrap_or(8));
            let mut started = dec.rgb().map_err(decode_err)?;
            let (ow, oh) = (started.width(), started.height());
            let data: Vec<u8> = started.read_scanlines().map_err(decode_err)?;
            started.finish().map_err(decode_err)?;
            let (ow, oh) = (
                u32::try_from(ow).unwrap_or(u32::MAX),
                u32::try_from(oh).unwrap_or(u32::MAX),
            );
            RgbImage::from_raw(ow, oh, data).ok_or_else(|| {
                decode_err(format!("decoder returned too few rows for {ow} x {oh}"))
            })?
        }
    };
    let (width, height) = oriented_size(w, h, orientation);
    Ok(Decoded {
        pixels,
        width,
        height,
        orientation,
        format: ImageFormat::Jpeg,
        reduction,
    })
}

/// CMYK and YCCK JPEGs through `jpeg-decoder`.
mod cmyk {
    use image::RgbImage;
    use jpeg_decoder::{Decoder, PixelFormat};

    use super::{alloc_limit, decode_err, DecodeError};

    pub(super) fn decode(
        bytes: &[u8],
        reduction: u32,
        max_pixels: u64,
    ) -> Result<RgbImage, DecodeError> {
        let mut decoder = Decoder::new(bytes);
        decoder.set_max_decoding_buffer_size(
            usize::try_from(alloc_limit(max_pixels)).unwrap_or(usize::MAX),
        );
        decoder.read_info().map_err(decode_err)?;
        let info = decoder
            .info()
            .ok_or_else(|| decode_err("no frame header"))?;
        if reduction > 1 {
            // jpeg-decoder picks the smallest IDCT size giving at least the
            // requested size, so asking for ceil(side / d) gives 1/d.
            let rw = u32::from(info.width).div_ceil(reduction);
            let rh = u32::from(info.height).div_ceil(reduction);
            decoder
                .scale(
                    u16::try_from(rw).unwrap_or(u16::MAX),
                    u16::try_from(rh).unwrap_or(u16::MAX),
                )
                .map_err(decode_err)?;
        }
        let data = decoder.decode().map_err(decode_err)?;
        let info = decoder
            .info()
            .ok_or_else(|| decode_err("no frame header"))?;
        let (w, h) = (u32::from(info.width), u32::from(info.height));
        let n = (w as usize) * (h as usize);
        let short = || decode_err(format!("decoder returned too few pixels for {w} x {h}"));
        let rgb: Vec<u8> = match info.pixel_format {
            PixelFormat::CMYK32 => {
                // jpeg-decoder un-inverts Adobe CMYK, so these are true ink
                // amounts; Pillow's naive conversion is R = (255 - C)(255 -
                // K) / 255, rounded, and likewise for G and B.
                let cmyk = data.get(..n * 4).ok_or_else(short)?;
                cmyk.chunks_exact(4)
                    .flat_map(|p| {
                        let nk = 255 - u32::from(p[3]);
                        [p[0], p[1], p[2]].map(|c| mul_div_255(255 - u32::from(c), nk))
                    })
                    .collect()
            }
            PixelFormat::RGB24 => data.get(..n * 3).ok_or_else(short)?.to_vec(),
            PixelFormat::L8 => data
                .get(..n)
                .ok_or_else(short)?
                .iter()
                .flat_map(|&v| [v, v, v])
                .collect(),
            PixelFormat::L16 => data
                .get(..n * 2)
                .ok_or_else(short)?
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0]])
                .collect(),
        };
        RgbImage::from_raw(w, h, rgb).ok_or_else(short)
    }

    /// `a * b / 255` rounded, for `a, b <= 255` (Pillow's MULDIV255).
    pub(super) fn mul_div_255(a: u32, b: u32) -> u8 {
        let t = a * b + 128;
        ((t + (t >> 8)) >> 8) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::cmyk::mul_div_255;

    #[test]
    fn mul_div_255_rounds_exactly() {
        for a in 0..=255u32 {
            for b in 0..=255u32 {
                let want = ((a * b) as f64 / 255.0).round() as u8;
                assert_eq!(mul_div_255(a, b), want, "{a} * {b}");
            }
        }
    }
}
