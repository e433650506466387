//! 4:2:0 YUV to RGB, as ffmpeg's `swscale` converts it for Meta's vPDQ
//! (BT.601, limited range, each chroma sample used for its 2 x 2 pixels):
//! the integer form of `R = 1.164 (Y - 16) + 1.596 (V - 128)` and so on.

/// One 8-bit 4:2:0 picture: three planes and their strides.
pub struct Planes<'a> {
    /// Luma, `height` rows of `y_stride` bytes.
    pub y: &'a [u8],
    /// Blue-difference chroma, `(height + 1) / 2` rows of `uv_stride` bytes.
    pub u: &'a [u8],
    /// Red-difference chroma, as `u`.
    pub v: &'a [u8],
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Bytes per chroma row.
    pub uv_stride: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// Converts `p` into `out` (resized to `width * height * 3` bytes, RGB).
/// Planes shorter than their strides say (a decoder's short last row) read
/// as mid grey rather than out of bounds.
pub fn to_rgb(p: &Planes, out: &mut Vec<u8>) {
    out.clear();
    out.resize(p.width * p.height * 3, 0);
    for (row, line) in out.chunks_exact_mut(p.width * 3).enumerate() {
        let y_row = p.y.get(row * p.y_stride..).unwrap_or(&[]);
        let c0 = (row / 2) * p.uv_stride;
        let u_row = p.u.get(c0..).unwrap_or(&[]);
        let v_row = p.v.get(c0..).unwrap_or(&[]);
        for (x, px) in line.chunks_exact_mut(3).enumerate() {
            let c = 298 * (i32::from(*y_row.get(x).unwrap_or(&16)) - 16);
            let d = i32::from(*u_row.get(x / 2).unwrap_or(&128)) - 128;
            let e = i32::from(*v_row.get(x / 2).unwrap_or(&128)) - 128;
            px[0] = clamp((c + 409 * e + 128) >> 8);
            px[1] = clamp((c - 100 * d - 208 * e + 128) >> 8);
            px[2] = clamp((c + 516 * d + 128) >> 8);
        }
    }
}

/// Side of the grid of cell means a glance takes ([`luma_cells`]).
pub const GLANCE_SIDE: usize = 64;

/// The picture's luma as `GLANCE_SIDE x GLANCE_SIDE` cell means (row-major),
/// read from every other row and column, for a cheap look at every decoded
/// frame ([`super::frames::FrameSink::glance`]); `None` for a picture too
/// small to give every cell a pixel. `luma(x, y)` reads one pixel.
pub fn cell_means(
    width: usize,
    height: usize,
    luma: impl Fn(usize, usize) -> u8,
) -> Option<Vec<f32>> {
    const S: usize = GLANCE_SIDE;
    if width < 2 * S || height < 2 * S {
        return None;
    }
    let mut sums = vec![0u32; S * S];
    let mut counts = vec![0u32; S * S];
    let column_cell: Vec<usize> = (0..width).step_by(2).map(|x| x * S / width).collect();
    for y in (0..height).step_by(2) {
        let row = (y * S / height) * S;
        for (i, &cx) in column_cell.iter().enumerate() {
            sums[row + cx] += u32::from(luma(2 * i, y));
            counts[row + cx] += 1;
        }
    }
    Some(
        sums.iter()
            .zip(&counts)
            .map(|(&s, &c)| s as f32 / c.max(1) as f32)
            .collect(),
    )
}

/// [`cell_means`] of a 4:2:0 picture's luma plane (limited range: the
/// scale does not change a hash's bits).
pub fn luma_cells(p: &Planes) -> Option<Vec<f32>> {
    cell_means(p.width, p.height, |x, y| {
        p.y.get(y * p.y_stride + x).copied().unwrap_or(16)
    })
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_range_black_white_and_red_convert_to_full_range() {
        // A 2 x 2 picture of one colour: its first pixel in RGB.
        let convert = |y: u8, u: u8, v: u8| {
            let p = Planes {
                y: &[y; 4],
                u: &[u],
                v: &[v],
                y_stride: 2,
                uv_stride: 1,
                width: 2,
                height: 2,
            };
            let mut out = Vec::new();
            to_rgb(&p, &mut out);
            [out[0], out[1], out[2]]
        };
        assert_eq!(convert(16, 128, 128), [0, 0, 0]);
        assert_eq!(convert(235, 128, 128), [255, 255, 255]);
        // BT.601 red: Y 81, U 90, V 240.
        let red = convert(81, 90, 240);
        assert!(red[0] > 250 && red[1] < 5 && red[2] < 5, "{red:?}");
    }

    #[test]
    fn short_planes_read_as_grey_instead_of_panicking() {
        let p = Planes {
            y: &[100; 3],
            u: &[],
            v: &[],
            y_stride: 4,
            uv_stride: 2,
            width: 4,
            height: 4,
        };
        let mut out = Vec::new();
        to_rgb(&p, &mut out);
        assert_eq!(out.len(), 48);
    }
}
