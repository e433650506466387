//! dHash: a 64-bit gradient hash, defined to follow Python ImageHash's
//! `imagehash.dhash(image)` (hash size 8, horizontal differences).
//!
//! Definition, for an RGB picture of any size:
//! 1. greyscale with Pillow's integer ITU-R 601-2 luma
//!    `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`;
//! 2. resize to 9 columns x 8 rows with Pillow's antialiased Lanczos-3
//!    resampling (8-bit result; see [`super::pillow`]);
//! 3. bit `8 r + c` is 1 when pixel `(r, c + 1)` is brighter than its left
//!    neighbour `(r, c)` (strictly greater);
//! 4. bits packed row-major, the first bit most significant: the hex form
//!    ([`Hash64::to_hex`]) is the string `str(imagehash.dhash(img))` prints.
//!
//! ```
//! use neardup::image::dhash::dhash;
//!
//! // Brighter to the right everywhere: every bit set.
//! let img = image::RgbImage::from_fn(90, 80, |x, _| { let v = (x * 2) as u8; image::Rgb([v, v, v]) });
//! assert_eq!(dhash(&img).to_hex(), "ffffffffffffffff");
//! ```

use super::code::Hash64;
use super::pillow::{grey_from_rgb, resize_lanczos};

/// The dHash of an RGB picture (see the module documentation).
pub fn dhash(img: &image::RgbImage) -> Hash64 {
    dhash_from_grey(&grey_from_rgb(img))
}

/// The dHash of a picture already in Pillow's greyscale (steps 2 to 4), so
/// a caller computing several hashes converts once.
pub fn dhash_from_grey(grey: &image::GrayImage) -> Hash64 {
    let small = resize_lanczos(grey, 9, 8);
    let px = small.as_raw();
    Hash64::from_bits(
        px.chunks_exact(9)
            .flat_map(|row| row.windows(2).map(|w| w[1] > w[0])),
    )
}
