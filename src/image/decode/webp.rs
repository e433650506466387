//! WebP through libwebp (the `libwebp-sys` crate builds it from source), the
//! decoder Pillow links; the pure-Rust `image-webp` decoder took about 1.8
//! times as long on the corpus's 4096 x 4096 wallpapers.
//!
//! VP8 (lossy WebP) has no transform-domain shortcut like JPEG's scaled
//! IDCT: its intra prediction needs every reconstructed pixel. What can be
//! saved is the work after reconstruction. When the picture is large enough
//! to be reduced (the same [`reduction_for`] rule as JPEG), a lossy WebP is
//! decoded to its Y'CbCr planes, which libwebp hands over without chroma
//! upsampling or colour conversion; the planes are then box-averaged (Y by
//! the reduction, the half-size chroma by half of it) and converted to RGB
//! at the reduced size with libwebp's own BT.601 coefficients. Colour
//! conversion is affine, so converting the averages equals averaging the
//! converted pixels, which is what the full decode followed by Pillow's box
//! reduction computes, except where a channel clips and in rounding.
//!
//! At a reduction of 4 or more, the in-loop deblocking filter is skipped too,
//! as libwebp itself does when asked to downscale below 3/4: VP8's intra
//! prediction reads unfiltered pixels (libwebp filters a separate cache), so
//! skipping it changes only pixels next to block edges, moved towards each
//! other, which an average over 4 x 4 or more pixels hardly sees.
//!
//! Measured on the corpus's 14 lossy 4096 x 4096 WebPs (CPU time of `neardup
//! hash --jobs 1`, see the README): 2.89 s with the full RGB decode and
//! shrink, 2.44 s through the planes, 2.00 s without the filter as well.
//! PDQ, pHash and dHash stay as close to the Python references as before,
//! except on two wood-grain wallpapers whose PDQ bits move with any change
//! of one grey level (README).
//!
//! libwebp's own rescaler (`use_scaling`, which also skips the filter) was
//! not kept: it rounds every plane to 8 bits before converting, which
//! moved PDQ on those wood wallpapers by 12 to 16 bits from Meta's
//! reference; here the box means stay in floating point until the RGB
//! values are rounded.
//!
//! Lossless WebP (ARGB inside, so Y'CbCr output would convert twice) and
//! small pictures are decoded to RGB at full size. Animated WebP (which
//! libwebp's simple API refuses) goes through the `image` crate, first
//! frame.

use image::metadata::Orientation;
use image::{ImageFormat, RgbImage};
use libwebp_sys as webp;

use super::{check_budget, oriented_size, reduction_for, DecodeError, DecodeOptions, Decoded};

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
    // One thread per picture: the batch is parallel over pictures.
    config.options.use_threads = 0;
    let reduction = reduction_for(w, h, opts.min_side);
    // `format` 1 is lossy (VP8), 2 lossless (VP8L), 0 mixed (animations).
    let (pixels, reduction) = if config.input.format == 1 && reduction > 1 {
        // libwebp skips its deblocking filter itself when asked to scale
        // below 3/4; see the module documentation.
        config.options.bypass_filtering = i32::from(reduction >= 4);
        (
            decode_reduced(bytes, &mut config, w, h, reduction)?,
            reduction,
        )
    } else {
        (decode_rgb(bytes, &mut config, w, h)?, 1)
    };
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
        reduction,
    }))
}

/// Runs `WebPDecode` with the output buffer `config` describes and frees
/// libwebp's private state.
///
/// # Safety
/// `config.output` must describe external memory that is valid, writable
/// and as large as its declared sizes, and must outlive the call.
unsafe fn run_decode(
    bytes: &[u8],
    config: &mut webp::WebPDecoderConfig,
) -> Result<(), DecodeError> {
    // SAFETY: `bytes` is valid for its length; the caller guarantees the
    // output buffers; libwebp checks strides and sizes against the output
    // dimensions and fails rather than write outside them.
    let status = unsafe { webp::WebPDecode(bytes.as_ptr(), bytes.len(), config) };
    // SAFETY: frees only libwebp's private memory (none with external
    // buffers), as required after every WebPDecode.
    unsafe { webp::WebPFreeDecBuffer(&mut config.output) };
    if status != webp::VP8StatusCode::VP8_STATUS_OK {
        return Err(decode_err(status_message(status)));
    }
    Ok(())
}

/// The whole picture as RGB.
fn decode_rgb(
    bytes: &[u8],
    config: &mut webp::WebPDecoderConfig,
    w: u32,
    h: u32,
) -> Result<RgbImage, DecodeError> {
    let stride = w as usize * 3;
    let mut buf = vec![0u8; stride * h as usize];
    config.output.colorspace = webp::WEBP_CSP_MODE::MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.width = w as i32;
    config.output.height = h as i32;
    config.output.u.RGBA = webp::WebPRGBABuffer {
        rgba: buf.as_mut_ptr(),
        stride: stride as i32,
        size: buf.len(),
    };
    // SAFETY: the output buffer is ours, `stride * h` bytes, declared with
    // that stride and size, and lives until after the call.
    unsafe { run_decode(bytes, config)? };
    RgbImage::from_raw(w, h, buf).ok_or_else(|| decode_err("bad output size"))
}

/// A lossy picture reduced by `d` (2, 4 or 8): Y'CbCr planes from libwebp,
/// box means, RGB at the reduced size.
fn decode_reduced(
    bytes: &[u8],
    config: &mut webp::WebPDecoderConfig,
    w: u32,
    h: u32,
    d: u32,
) -> Result<RgbImage, DecodeError> {
    let (wu, hu, du) = (w as usize, h as usize, d as usize);
    // 4:2:0: chroma planes have half the width and height, rounded up.
    let (cw, ch) = (wu.div_ceil(2), hu.div_ceil(2));
    let mut y = vec![0u8; wu * hu];
    let mut u = vec![0u8; cw * ch];
    let mut v = vec![0u8; cw * ch];
    config.output.colorspace = webp::WEBP_CSP_MODE::MODE_YUV;
    config.output.is_external_memory = 1;
    config.output.width = w as i32;
    config.output.height = h as i32;
    config.output.u.YUVA = webp::WebPYUVABuffer {
        y: y.as_mut_ptr(),
        u: u.as_mut_ptr(),
        v: v.as_mut_ptr(),
        a: std::ptr::null_mut(),
        y_stride: w as i32,
        u_stride: cw as i32,
        v_stride: cw as i32,
        a_stride: 0,
        y_size: y.len(),
        u_size: u.len(),
        v_size: v.len(),
        a_size: 0,
    };
    // SAFETY: the three planes are ours, each as large as declared with its
    // stride, and live until after the call; MODE_YUV writes no alpha, so
    // the null alpha plane is never touched.
    unsafe { run_decode(bytes, config)? };
    let rgb = reduce_to_rgb([&y, &u, &v], wu, hu, du);
    RgbImage::from_raw(w.div_ceil(d), h.div_ceil(d), rgb)
        .ok_or_else(|| decode_err("bad output size"))
}

/// Box means of the Y'CbCr planes of a `w` x `h` picture over `d` x `d`
/// boxes (`d / 2` in the half-size chroma planes; boxes on the right and
/// bottom edges cut short, as Pillow's `reduce` cuts them), converted to RGB
/// row by row. `ceil(ceil(w / 2) / (d / 2)) = ceil(w / d)`, so the luma and
/// chroma grids coincide. The means stay in floating point until the RGB
/// values are rounded.
fn reduce_to_rgb([y, u, v]: [&[u8]; 3], w: usize, h: usize, d: usize) -> Vec<u8> {
    let (ow, oh) = (w.div_ceil(d), h.div_ceil(d));
    let (cw, ch, cd) = (w.div_ceil(2), h.div_ceil(2), (d / 2).max(1));
    let mut out = vec![0u8; ow * oh * 3];
    let mut sums = [vec![0u16; w], vec![0u16; cw], vec![0u16; cw]];
    let mut means = [vec![0f32; ow], vec![0f32; ow], vec![0f32; ow]];
    for (oy, row) in out.chunks_exact_mut(ow * 3).enumerate() {
        let planes = [(y, w, h, d), (u, cw, ch, cd), (v, cw, ch, cd)];
        for ((&(plane, pw, ph, k), sums), means) in planes.iter().zip(&mut sums).zip(&mut means) {
            let rows = (oy * k)..((oy + 1) * k).min(ph);
            let n_rows = rows.len();
            column_sums(sums, &plane[rows.start * pw..rows.end * pw], pw);
            box_row_means(means, sums, k, n_rows);
        }
        for (i, px) in row.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&yuv_to_rgb(means[0][i], means[1][i], means[2][i]));
        }
    }
    out
}

/// Column sums of whole rows of width `w`: at most 8 rows, so a column
/// fits `u16`.
fn column_sums(sums: &mut [u16], rows: &[u8], w: usize) {
    let mut rows = rows.chunks_exact(w);
    if let Some(first) = rows.next() {
        for (s, &p) in sums.iter_mut().zip(first) {
            *s = u16::from(p);
        }
    }
    for row in rows {
        for (s, &p) in sums.iter_mut().zip(row) {
            *s += u16::from(p);
        }
    }
}

/// Means over runs of `k` column sums of `n_rows` rows each (the last run
/// possibly shorter).
fn box_row_means(means: &mut [f32], sums: &[u16], k: usize, n_rows: usize) {
    let full = sums.len() / k;
    let scale = 1.0 / (k * n_rows) as f32;
    // Fixed sizes let the compiler unroll the common reductions.
    match k {
        1 => means
            .iter_mut()
            .zip(sums)
            .for_each(|(m, &s)| *m = f32::from(s) * scale),
        2 => box_means_fixed::<2>(means, sums, scale),
        4 => box_means_fixed::<4>(means, sums, scale),
        _ => means
            .iter_mut()
            .zip(sums.chunks_exact(k))
            .for_each(|(m, c)| *m = c.iter().map(|&s| f32::from(s)).sum::<f32>() * scale),
    }
    let rest = &sums[full * k..];
    if let Some(m) = means.get_mut(full).filter(|_| !rest.is_empty()) {
        *m = rest.iter().map(|&s| f32::from(s)).sum::<f32>() / (rest.len() * n_rows) as f32;
    }
}

fn box_means_fixed<const K: usize>(means: &mut [f32], sums: &[u16], scale: f32) {
    for (m, c) in means.iter_mut().zip(sums.chunks_exact(K)) {
        *m = f32::from(c.iter().sum::<u16>()) * scale;
    }
}

/// libwebp's Y'CbCr to RGB (BT.601, studio range; `VP8YUVToR` and friends
/// in its `yuv.h`), applied to means instead of samples. libwebp computes
/// each channel in 14-bit fixed point, `((Y * 19077) >> 8 + (V * 26149) >>
/// 8 - 14234) >> 6` for red, and floors it; so the mean of its output is
/// about half a level below the value below, and truncating that value
/// rounds the mean to the nearest level, as Pillow's `reduce` rounds.
fn yuv_to_rgb(y: f32, u: f32, v: f32) -> [u8; 3] {
    const S: f32 = 1.0 / 16384.0;
    let luma = y * (19077.0 * S);
    let r = luma + v * (26149.0 * S) - 14234.0 / 64.0;
    let g = luma - u * (6419.0 * S) - v * (13320.0 * S) + 8708.0 / 64.0;
    let b = luma + u * (33050.0 * S) - 17685.0 / 64.0;
    // `as` saturates and truncates: clamp to 0..=255, then floor.
    [r, g, b].map(|c| c as u8)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A lossy WebP of a smooth, colourful `w` x `h` picture.
    fn encode(w: usize, h: usize) -> Vec<u8> {
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    ((x + y) * 255 / (w + h)) as u8,
                ]
            })
            .collect();
        let mut out = std::ptr::null_mut();
        // SAFETY: `rgb` holds `h` rows of `3 * w` bytes; libwebp allocates
        // the output, which is copied and then freed with WebPFree.
        unsafe {
            let len = webp::WebPEncodeRGB(
                rgb.as_ptr(),
                w as i32,
                h as i32,
                3 * w as i32,
                90.0,
                &mut out,
            );
            assert!(len > 0 && !out.is_null());
            let bytes = std::slice::from_raw_parts(out, len).to_vec();
            webp::WebPFree(out.cast());
            bytes
        }
    }

    #[test]
    fn reduced_decode_matches_the_full_decode_box_averaged() {
        let (w, h) = (2051usize, 1030usize);
        let bytes = encode(w, h);
        let reduced = decode(&bytes, &DecodeOptions::default()).unwrap().unwrap();
        assert_eq!(reduced.reduction, 2);
        assert_eq!(reduced.pixels.dimensions(), (1026, 515));
        let full = decode(
            &bytes,
            &DecodeOptions {
                min_side: None,
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (full.reduction, full.pixels.dimensions()),
            (1, (2051, 1030))
        );
        // Box means of the full RGB decode, edge boxes cut short.
        let mut worst = 0f32;
        for (x, y, p) in reduced.pixels.enumerate_pixels() {
            let (x0, y0) = (2 * x, 2 * y);
            for c in 0..3 {
                let (mut sum, mut n) = (0f32, 0f32);
                for yy in y0..(y0 + 2).min(h as u32) {
                    for xx in x0..(x0 + 2).min(w as u32) {
                        sum += f32::from(full.pixels.get_pixel(xx, yy).0[c]);
                        n += 1.0;
                    }
                }
                worst = worst.max((sum / n - f32::from(p.0[c])).abs());
            }
        }
        // Fancy chroma upsampling in the full decode spreads colour over
        // neighbouring pixels; the box means of the planes do not.
        assert!(worst <= 3.0, "worst channel difference {worst}");
    }

    #[test]
    fn box_means_cut_edge_boxes_short() {
        let sums = [4u16, 8, 12, 16, 20];
        let mut means = [0f32; 3];
        box_row_means(&mut means, &sums, 2, 2);
        assert_eq!(means, [3.0, 7.0, 10.0]);
        let mut sums = [0u16; 3];
        column_sums(&mut sums, &[1, 2, 3, 10, 20, 30], 3);
        assert_eq!(sums, [11, 22, 33]);
    }

    #[test]
    fn grey_converts_like_libwebp() {
        // Studio-range black, mid-grey and white.
        assert_eq!(yuv_to_rgb(16.0, 128.0, 128.0), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235.0, 128.0, 128.0), [255, 255, 255]);
        let [r, g, b] = yuv_to_rgb(126.0, 128.0, 128.0);
        assert!(r.abs_diff(128) <= 1 && g.abs_diff(128) <= 1 && b.abs_diff(128) <= 1);
    }
}
