//! JPEG through libjpeg-turbo's decoder (as vendored by the `mozjpeg`
//! crate), which runs the inverse DCT at 1/2, 1/4 or 1/8 scale: entropy
//! decoding still reads every coefficient, but the IDCT, chroma upsampling
//! and colour conversion touch only 1/4, 1/16 or 1/64 of the pixels. It is
//! also what Pillow links, so the pixels match Meta's Python reference more
//! closely than another decoder's would.
//!
//! At 1/8 only the DC coefficients count, so a progressive file is handed
//! to libjpeg without its AC scans ([`dc_scans_only`]): the same pixels for
//! a fraction of the entropy decoding (the 5640 x 3172 progressive picture
//! of the corpus: 0.53 s of CPU time before, 0.10 s now).
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
    let dec = mozjpeg::decompress::DecompressBuilder::new()
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
    let reduction = jpeg_reduction(w, h, opts.min_side);
    let pixels = match dec.color_space() {
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK => {
            drop(dec);
            cmyk::decode(bytes, reduction, opts.max_pixels)?
        }
        _ => match (reduction == 8).then(|| dc_scans_only(bytes)).flatten() {
            Some(stream) => {
                drop(dec);
                let dec = mozjpeg::decompress::DecompressBuilder::new()
                    .with_err(error_manager())
                    .from_mem(&stream)
                    .map_err(decode_err)?;
                read_rgb(dec, reduction)?
            }
            None => read_rgb(dec, reduction)?,
        },
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

/// The reduction for a JPEG: 1/8 wherever the picture then keeps at least
/// half of `min_side` on its longer side, else [`reduction_for`]. At 1/8 the
/// inverse DCT keeps only the DC coefficient, the exact mean of each 8 x 8
/// block: a box filter, the antialiasing Pillow's `reduce` applies, so the
/// margin of 2 that `min_side` keeps for the sharper 1/2 and 1/4 IDCTs is
/// not needed. The rule depends only on the size, never on how the file is
/// coded, so a baseline and a progressive copy of a picture hash alike.
fn jpeg_reduction(w: u32, h: u32, min_side: Option<u32>) -> u32 {
    match min_side {
        Some(side) if w.max(h) / 8 >= side / 2 => 8,
        _ => reduction_for(w, h, min_side),
    }
}

/// Reads the whole picture as RGB at 1/`reduction` scale.
fn read_rgb(mut dec: mozjpeg::Decompress<&[u8]>, reduction: u32) -> Result<RgbImage, DecodeError> {
    // Scale is numerator / 8.
    dec.scale(u8::try_from(8 / reduction).unwrap_or(8));
    // Interblock smoothing guesses missing AC coefficients of a progressive
    // file; at 1/8 only DC coefficients are used, and a stream cut down by
    // `dc_scans_only` must decode exactly as the whole file would.
    dec.do_block_smoothing(false);
    let mut started = dec.rgb().map_err(decode_err)?;
    let (ow, oh) = (started.width(), started.height());
    let data: Vec<u8> = started.read_scanlines().map_err(decode_err)?;
    started.finish().map_err(decode_err)?;
    let (ow, oh) = (
        u32::try_from(ow).unwrap_or(u32::MAX),
        u32::try_from(oh).unwrap_or(u32::MAX),
    );
    RgbImage::from_raw(ow, oh, data)
        .ok_or_else(|| decode_err(format!("decoder returned too few rows for {ow} x {oh}")))
}

/// A progressive Huffman JPEG (SOF2) with the AC scans of its
/// full-resolution components (luma, in the usual 4:2:0 or 4:2:2 file)
/// left out: every marker segment is kept, and so are the DC scans
/// (progressive JPEG never mixes DC and AC in one scan) and the AC scans of
/// subsampled components. At 1/8 scale libjpeg computes a full-resolution
/// component's 8 x 8 blocks with a 1 x 1 inverse DCT, from the DC
/// coefficient alone, but a subsampled one's with a larger IDCT (2 x 2 for
/// 4:2:0 chroma) that needs its first AC coefficients. Decoded at 1/8, the
/// cut stream gives exactly the pixels of the whole file while libjpeg
/// entropy-decodes a small part of it: entropy decoding, which a scaled
/// IDCT does not reduce, is most of the time of a large progressive JPEG.
///
/// `None` when the file is not progressive Huffman, or its structure does
/// not parse to the end marker (a truncated or damaged file then goes
/// through the ordinary decoder, which reports the problem).
fn dc_scans_only(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4);
    out.extend_from_slice(&bytes[..2]);
    // Component ids at full resolution (sampling factors equal to the
    // largest), from the frame header.
    let mut full_res: Option<Vec<u8>> = None;
    let (mut pos, mut dc_scans) = (2usize, 0usize);
    loop {
        // A marker, possibly after fill bytes (0xFF).
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        while *bytes.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        let marker = *bytes.get(pos + 1)?;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return (full_res.is_some() && dc_scans > 0).then_some(out);
            }
            // Standalone markers (TEM, RSTn) outside entropy-coded data.
            0x01 | 0xD0..=0xD8 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2)?,
            *bytes.get(pos + 3)?,
        ]));
        if len < 2 {
            return None;
        }
        let segment = bytes.get(pos..pos.checked_add(2 + len)?)?;
        match marker {
            0xC2 if full_res.is_none() => full_res = Some(full_resolution_components(segment)?),
            // Any other frame type (baseline, lossless, arithmetic...), or
            // a second frame.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            _ => {}
        }
        if marker != 0xDA {
            out.extend_from_slice(segment);
            pos += segment.len();
            continue;
        }
        // SOS: Ns, Ns (selector, tables) pairs, then Ss, Se, Ah/Al.
        let components = usize::from(*segment.get(4)?);
        let spectral_start = *segment.get(5 + 2 * components)?;
        let first_component = *segment.get(5)?;
        let end = entropy_end(bytes, pos + segment.len())?;
        let needed = spectral_start == 0 || !full_res.as_ref()?.contains(&first_component);
        if needed {
            out.extend_from_slice(bytes.get(pos..end)?);
            dc_scans += usize::from(spectral_start == 0);
        }
        pos = end;
    }
}

/// The ids of the components of a frame header (SOFn segment, marker
/// included) whose sampling factors are the largest in both directions.
fn full_resolution_components(sof: &[u8]) -> Option<Vec<u8>> {
    // FF Cn, length (2), precision, height (2), width (2), Nf, then Nf x
    // (id, H << 4 | V, quantisation table).
    let n = usize::from(*sof.get(9)?);
    let specs = sof.get(10..10 + 3 * n)?;
    let factors = |c: &[u8]| (c[1] >> 4, c[1] & 15);
    let max_h = specs.chunks_exact(3).map(|c| factors(c).0).max()?;
    let max_v = specs.chunks_exact(3).map(|c| factors(c).1).max()?;
    Some(
        specs
            .chunks_exact(3)
            .filter(|c| factors(c) == (max_h, max_v))
            .map(|c| c[0])
            .collect(),
    )
}

/// Where the entropy-coded data starting at `from` ends: the first marker
/// other than a stuffed zero (0xFF 0x00) or a restart marker.
fn entropy_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 => i += 2,
            // A fill byte: the marker starts at the last 0xFF.
            0xFF => i += 1,
            _ => return Some(i),
        }
    }
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
    use super::*;

    /// A `w` x `h` JPEG of a smooth pattern with some texture, progressive
    /// or baseline, 4:2:0.
    fn encode(w: usize, h: usize, progressive: bool) -> Vec<u8> {
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    ((x * y) % 251) as u8,
                ]
            })
            .collect();
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        // libjpeg-turbo's defaults (mozjpeg's own make every file
        // progressive): baseline unless asked, 4:2:0.
        c.set_fastest_defaults();
        c.set_size(w, h);
        c.set_quality(85.0);
        if progressive {
            c.set_progressive_mode();
        }
        let mut started = c.start_compress(Vec::new()).unwrap();
        started.write_scanlines(&rgb).unwrap();
        started.finish().unwrap()
    }

    fn read(bytes: &[u8], reduction: u32) -> RgbImage {
        let dec = mozjpeg::decompress::DecompressBuilder::new()
            .from_mem(bytes)
            .unwrap();
        read_rgb(dec, reduction).unwrap()
    }

    #[test]
    fn dc_scans_decode_exactly_like_the_whole_file_at_one_eighth() {
        let whole = encode(203, 117, true);
        let dc = dc_scans_only(&whole).expect("a progressive file");
        // Luma AC scans carry most of the data.
        assert!(
            dc.len() < whole.len() * 2 / 3,
            "{} of {}",
            dc.len(),
            whole.len()
        );
        let (a, b) = (read(&whole, 8), read(&dc, 8));
        assert_eq!(a.dimensions(), (26, 15));
        assert_eq!(a, b);
        // Through the public entry: the same pixels, at 1/8.
        let opts = DecodeOptions {
            max_pixels: 1 << 20,
            min_side: Some(40),
        };
        let d = decode(&whole, &opts).unwrap();
        assert_eq!((d.reduction, d.pixels), (8, a));
    }

    #[test]
    fn dc_scans_only_refuses_what_it_cannot_cut() {
        let baseline = encode(64, 48, false);
        assert!(dc_scans_only(&baseline).is_none());
        let progressive = encode(64, 48, true);
        // Truncated: the structure does not reach the end marker.
        assert!(dc_scans_only(&progressive[..progressive.len() - 10]).is_none());
        assert!(dc_scans_only(b"not a jpeg").is_none());
        assert!(dc_scans_only(&[]).is_none());
    }

    #[test]
    fn full_resolution_components_are_the_unsubsampled_ones() {
        // 4:2:0: Y 2x2, Cb and Cr 1x1.
        let sof = [
            0xFF, 0xC2, 0, 17, 8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
        ];
        assert_eq!(full_resolution_components(&sof), Some(vec![1]));
        // 4:4:4: all three.
        let sof = [
            0xFF, 0xC2, 0, 17, 8, 0, 16, 0, 16, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1,
        ];
        assert_eq!(full_resolution_components(&sof), Some(vec![1, 2, 3]));
        assert_eq!(full_resolution_components(&sof[..12]), None);
    }

    #[test]
    fn entropy_data_ends_at_the_first_real_marker() {
        // Stuffed zero, restart marker, fill byte, then EOI at index 9.
        let data = [1, 0xFF, 0x00, 2, 0xFF, 0xD3, 3, 4, 0xFF, 0xFF, 0xD9];
        assert_eq!(entropy_end(&data, 0), Some(9));
        assert_eq!(entropy_end(&data[..4], 0), None);
    }

    #[test]
    fn one_eighth_needs_half_the_min_side() {
        assert_eq!(jpeg_reduction(5640, 3172, Some(1024)), 8);
        assert_eq!(jpeg_reduction(4096, 4096, Some(1024)), 8);
        assert_eq!(jpeg_reduction(4095, 4095, Some(1024)), 2);
        assert_eq!(jpeg_reduction(3840, 2160, Some(1024)), 2);
        assert_eq!(jpeg_reduction(9000, 9000, None), 1);
    }

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
