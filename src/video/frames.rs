//! Frame sampling, hashing and pruning, as Meta's vPDQ does them.
//!
//! **Sampling.** With an interval of `s` seconds and a frame rate of `f`,
//! frames `0, k, 2k, ...` of the display order are hashed, `k =
//! max(1, floor(s * f))` (vPDQ's `frameMod`); `s = 0` hashes every frame.
//! Each frame keeps its number and its presentation time in seconds.
//!
//! **Hash.** One PDQ per sampled frame, of the whole frame at its decoded
//! size after BT.601 conversion to RGB ([`crate::image::pdq::pdq_from_rgb`]),
//! as vPDQ hashes the RGB24 frames ffmpeg gives it.
//!
//! **Pruning** ([`prune`]). A sampled frame whose PDQ is within
//! [`PRUNE_DISTANCE`] bits of the last frame kept is dropped: a still shot
//! then costs one code, not one per second. The first frame is always kept,
//! so a kept frame stands for the run of near-identical frames up to the next
//! kept one. vPDQ itself keeps every frame and only drops exact repeats of a
//! hash when comparing; `--format vpdq` output is not pruned.

use std::path::Path;

use crate::image::code::Hash256;
use crate::image::pdq::{pdq_from_rgb, Pdq};

use super::error::VideoError;

/// Consecutive sampled frames within this many bits are one frame for
/// storage. Re-encoding a frame moves its PDQ by a few bits; 8 bits is a
/// quarter of the match distance (31), so a pruned frame still matches
/// whatever its kept neighbour matches, up to 39 bits at worst.
pub const PRUNE_DISTANCE: u32 = 8;

/// Default seconds between hashed frames (vPDQ's default).
pub const DEFAULT_FRAME_INTERVAL: f64 = 1.0;

/// Default cap on decoded frames: one hour at 30 frames per second. A
/// longer video is hashed up to there and flagged as cut.
pub const DEFAULT_MAX_FRAMES: u64 = 108_000;

/// Bounds on the work one video may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest frame in pixels (width x height).
    pub max_pixels: u64,
    /// Most frames decoded (display order) before stopping.
    pub max_frames: u64,
}

impl Limits {
    /// An error when `width x height` exceeds the pixel budget.
    pub fn check_pixels(&self, path: &Path, width: u32, height: u32) -> Result<(), VideoError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(VideoError::TooLarge {
                path: path.to_path_buf(),
                width: u64::from(width),
                height: u64::from(height),
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }
}

/// Receives decoded frames in display order.
pub trait FrameSink {
    /// Whether frame `index` is wanted (the decoder skips the colour
    /// conversion of the others).
    fn wants(&self, index: u64) -> bool;
    /// A wanted frame: `rgb` holds `width * height` RGB pixels.
    fn frame(&mut self, index: u64, t: f64, width: u32, height: u32, rgb: &[u8]);
}

/// The PDQ of one sampled frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameHash {
    /// Frame number in display order, from 0.
    pub frame: u64,
    /// Presentation time in seconds from the first frame.
    pub t: f64,
    /// PDQ hash and quality of the frame.
    pub pdq: Pdq,
}

/// The frame-sampling rule: every `step`-th frame.
pub fn frame_step(interval: f64, fps: f64) -> u64 {
    let k = (interval * fps).floor();
    if k.is_finite() && k >= 1.0 {
        k as u64
    } else {
        1
    }
}

/// A [`FrameSink`] that hashes every `step`-th frame.
pub struct Hasher {
    step: u64,
    /// The hashes, in display order.
    pub frames: Vec<FrameHash>,
}

impl Hasher {
    /// Hashes frames `0, step, 2 step, ...`.
    pub fn new(step: u64) -> Self {
        Hasher {
            step: step.max(1),
            frames: Vec::new(),
        }
    }
}

impl FrameSink for Hasher {
    fn wants(&self, index: u64) -> bool {
        index % self.step == 0
    }

    fn frame(&mut self, index: u64, t: f64, width: u32, height: u32, rgb: &[u8]) {
        let Some(img) = image::RgbImage::from_raw(width, height, rgb.to_vec()) else {
            return;
        };
        self.frames.push(FrameHash {
            frame: index,
            t,
            pdq: pdq_from_rgb(&img),
        });
    }
}

/// Drops each frame within `max_distance` bits of the last frame kept (see
/// the module doc).
pub fn prune(frames: &[FrameHash], max_distance: u32) -> Vec<FrameHash> {
    let mut kept: Vec<FrameHash> = Vec::new();
    let mut last: Option<Hash256> = None;
    for f in frames {
        if last.is_some_and(|h| h.distance(&f.pdq.hash) <= max_distance) {
            continue;
        }
        last = Some(f.pdq.hash);
        kept.push(*f);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, bits: &[usize]) -> FrameHash {
        let mut hash = Hash256::ZERO;
        for &b in bits {
            hash.set_bit(b);
        }
        FrameHash {
            frame: n,
            t: n as f64 / 30.0,
            pdq: Pdq {
                hash,
                quality: 100,
                contrast: 0,
            },
        }
    }

    #[test]
    fn step_follows_vpdq_frame_mod() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 29.97), 29);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(1.0, 0.5), 1, "below one frame per interval");
        assert_eq!(frame_step(f64::NAN, 30.0), 1);
    }

    #[test]
    fn prune_keeps_the_first_of_each_run_of_near_identical_frames() {
        let far: Vec<usize> = (0..40).collect();
        let frames = [
            frame(0, &[]),
            frame(1, &[1, 2]),
            frame(2, &(0..8).collect::<Vec<_>>()),
            frame(3, &far),
            frame(4, &far[..38]),
        ];
        let kept: Vec<u64> = prune(&frames, PRUNE_DISTANCE)
            .iter()
            .map(|f| f.frame)
            .collect();
        // Frame 2 is 8 bits from frame 0 (kept), so dropped; frame 3 is 40
        // bits away; frame 4 is 2 bits from frame 3.
        assert_eq!(kept, [0, 3]);
        assert_eq!(prune(&frames, 0).len(), 5);
    }

    #[test]
    fn hasher_takes_every_step_th_frame() {
        let mut h = Hasher::new(3);
        let rgb = vec![128u8; 16 * 16 * 3];
        for n in 0..7 {
            if h.wants(n) {
                h.frame(n, n as f64, 16, 16, &rgb);
            }
        }
        let got: Vec<u64> = h.frames.iter().map(|f| f.frame).collect();
        assert_eq!(got, [0, 3, 6]);
    }
}
