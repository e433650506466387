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
    /// When decoding must stop with [`VideoError::Deadline`] (none: no
    /// deadline); `neardup serve` sets it to the request's timeout.
    pub deadline: Option<std::time::Instant>,
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

    /// An error once the deadline has passed.
    pub fn check_deadline(&self, path: &Path) -> Result<(), VideoError> {
        match self.deadline {
            Some(d) if std::time::Instant::now() >= d => Err(VideoError::Deadline {
                path: path.to_path_buf(),
            }),
            _ => Ok(()),
        }
    }
}

/// Receives decoded frames in display order.
pub trait FrameSink {
    /// Whether frame `index` is wanted (the decoder skips the colour
    /// conversion of the others).
    fn wants(&self, index: u64) -> bool;
    /// A wanted frame: `rgb` holds `width * height` RGB pixels.
    fn frame(&mut self, index: u64, t: f64, width: u32, height: u32, rgb: &[u8]);
    /// Whether the sink takes a glance at every decoded frame
    /// ([`FrameSink::glance`]); the decoder then converts only the frames
    /// that `wants` or the glance asks for.
    fn glances(&self) -> bool {
        false
    }
    /// A look at frame `index` before it is converted: its luma as 64 x 64
    /// cell means ([`super::yuv::cell_means`]; `None` for a frame too small
    /// to glance at). Returns whether the frame is wanted too.
    fn glance(&mut self, _index: u64, _cells: Option<&[f32]>) -> bool {
        false
    }
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
    // A frame rate measured from time stamps (25 frames in 1 s as
    // 24.999999999999996) must not lose a frame to rounding: floor of 24.99
    // would sample 24 frames apart where ffmpeg's 25/1 samples 25, and the
    // two drift apart by 0.04 s a second.
    let k = (interval * fps + 1e-6).floor();
    if k.is_finite() && k >= 1.0 {
        k as u64
    } else {
        1
    }
}

/// Which extra codes a [`Hasher`] computes for each sampled frame, beside
/// its plain PDQ (see [`Hasher::extra`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtraCodes {
    /// The region codes pictures get ([`crate::image::robust::extra_codes`]:
    /// borders and letterboxes trimmed, a caption band removed, and the
    /// centre), so that a bordered, letterboxed or captioned copy of a video
    /// meets its original.
    pub regions: bool,
    /// The seven other dihedral codes of the frame (rotated and mirrored),
    /// so that a mirrored copy of a video meets its original.
    pub dihedral: bool,
    /// Centre crops of the frame at [`CROP_SCALES`] of its sides, for
    /// queries: the stored centre code keeps 90 % of each side, so a copy
    /// cropped to `c` of each side meets it through its own centre at
    /// `0.9 / c` (a 5 % crop, `c = 0.95`, through its centre at 0.947).
    pub crops: bool,
}

/// The shares of each side a query frame's centre crops keep
/// ([`ExtraCodes::crops`]): together with the centre code (0.90) they meet
/// copies cropped to between about 92 % and 98 % of each side.
pub const CROP_SCALES: [f32; 3] = [0.93, 0.947, 0.967];

impl ExtraCodes {
    /// Whether any extra code is computed.
    pub fn any(&self) -> bool {
        self.regions || self.dihedral || self.crops
    }
}

/// A frame between sampled ones is hashed too (a *drift frame*, see
/// [`Hasher::with_drift_frames`]) when its glance is more than this many
/// bits from the last hashed frame's: every frame then lies within about
/// this distance of a hashed one, well inside the match distance (31) that
/// a still, a screenshot or a clip cut between samples must meet.
pub const DRIFT_DISTANCE: u32 = 12;

/// At most this many drift frames per sampling interval (8 a second at
/// the default interval): a shaky or noisy video costs at most 9 frames
/// where it would cost one.
pub const DRIFT_FRAMES_PER_INTERVAL: u64 = 8;

/// A [`FrameSink`] that hashes every `step`-th frame.
pub struct Hasher {
    step: u64,
    extra_codes: ExtraCodes,
    /// Frames at least this far apart may be drift frames (0: none).
    drift_gap: u64,
    /// The last hashed frame's number and glance.
    last_glance: Option<(u64, Hash256)>,
    /// The hashes, in display order.
    pub frames: Vec<FrameHash>,
    /// The extra codes of the sampled frames, each with its frame's number
    /// and time, in display order (empty unless asked for with
    /// [`Hasher::with_extra`]). Only usable codes are kept.
    pub extra: Vec<FrameHash>,
    /// The drift frames, in display order, each frame's plain code followed
    /// by its extra codes (as [`with_extra`] lays sampled frames out; empty
    /// unless asked for with [`Hasher::with_drift_frames`]).
    pub drift: Vec<FrameHash>,
}

impl Hasher {
    /// Hashes frames `0, step, 2 step, ...`.
    pub fn new(step: u64) -> Self {
        Hasher {
            step: step.max(1),
            extra_codes: ExtraCodes::default(),
            drift_gap: 0,
            last_glance: None,
            frames: Vec::new(),
            extra: Vec::new(),
            drift: Vec::new(),
        }
    }

    /// Also computes these extra codes for every sampled frame.
    pub fn with_extra(mut self, extra: ExtraCodes) -> Self {
        self.extra_codes = extra;
        self
    }

    /// Also hashes *drift frames* (when `on`): the decoder shows the hasher
    /// every frame's luma as 64 x 64 cell means, whose PDQ (a glance, close
    /// to the frame's own PDQ and cheap: no colour conversion, no filter)
    /// is compared with the last hashed frame's; a frame more than
    /// [`DRIFT_DISTANCE`] bits away is hashed as well, at most
    /// [`DRIFT_FRAMES_PER_INTERVAL`] per sampling step. Fast-changing
    /// stretches then keep frames close enough together that any instant
    /// (a still, the first frame of a clip cut between samples) is near a
    /// hashed frame, while a slow video costs nothing more.
    pub fn with_drift_frames(mut self, on: bool) -> Self {
        self.drift_gap = if on && self.step > 1 {
            (self.step / DRIFT_FRAMES_PER_INTERVAL).max(1)
        } else {
            0
        };
        self
    }
}

/// The usable extra codes of one frame picture (see [`ExtraCodes`]):
/// its region codes (found and hashed, as a picture's, on the frame shrunk
/// to fit 512 x 512), then its seven other dihedral codes (of the frame at
/// its size, as its plain code), each once and none equal to `plain`.
pub fn frame_extra_codes(img: &image::RgbImage, plain: &Pdq, which: ExtraCodes) -> Vec<Pdq> {
    use crate::image::decode::{Decoded, HASH_SIDE};
    let mut out: Vec<Pdq> = Vec::new();
    if which.regions || which.crops {
        let (width, height) = img.dimensions();
        let shrunk;
        let small = if width <= HASH_SIDE && height <= HASH_SIDE {
            img
        } else {
            shrunk = crate::image::pipeline::fit_picture(
                Decoded {
                    pixels: img.clone(),
                    width,
                    height,
                    orientation: image::metadata::Orientation::NoTransforms,
                    format: image::ImageFormat::Png,
                    reduction: 1,
                },
                HASH_SIDE,
            );
            &shrunk
        };
        if which.regions {
            let codes = crate::image::robust::extra_codes(small).codes;
            out.extend(codes.into_iter().map(|c| c.pdq));
        }
        if which.crops {
            let (w, h) = small.dimensions();
            for scale in CROP_SCALES {
                let cw = ((w as f32 * scale).round() as u32).clamp(1, w);
                let ch = ((h as f32 * scale).round() as u32).clamp(1, h);
                out.push(crate::image::pdq::pdq_from_rgb_region(
                    small,
                    (w - cw) / 2,
                    (h - ch) / 2,
                    cw,
                    ch,
                ));
            }
        }
    }
    if which.dihedral {
        let d = crate::image::pdq::pdq_dihedral_from_rgb(img);
        out.extend(d.hashes[1..].iter().map(|&hash| Pdq {
            hash,
            quality: d.quality,
            contrast: d.contrast,
        }));
    }
    let mut seen = vec![plain.hash];
    out.retain(|p| {
        let keep = p.usable() && !seen.contains(&p.hash);
        seen.push(p.hash);
        keep
    });
    out
}

/// The frames of a list laid out as [`with_extra`] makes it (each frame's
/// codes consecutive entries with its number), one slice per frame, its
/// plain code first when it has one.
pub fn frame_groups(frames: &[FrameHash]) -> impl Iterator<Item = &[FrameHash]> {
    frames.chunk_by(|a, b| a.frame == b.frame)
}

/// A frame list with each frame's extra codes right after it, as the
/// index stores them and [`super::compare::compare`] reads them: entries
/// with the frame's number that follow it. Both lists are in display
/// order; an extra code whose frame is not in `frames` is left out.
pub fn with_extra(frames: &[FrameHash], extra: &[FrameHash]) -> Vec<FrameHash> {
    let mut out = Vec::with_capacity(frames.len() + extra.len());
    let mut rest = extra;
    for f in frames {
        while rest.first().is_some_and(|e| e.frame < f.frame) {
            rest = &rest[1..];
        }
        out.push(*f);
        while let Some(e) = rest.first().filter(|e| e.frame == f.frame) {
            out.push(*e);
            rest = &rest[1..];
        }
    }
    out
}

impl FrameSink for Hasher {
    fn wants(&self, index: u64) -> bool {
        index % self.step == 0
    }

    fn glances(&self) -> bool {
        self.drift_gap > 0
    }

    fn glance(&mut self, index: u64, cells: Option<&[f32]>) -> bool {
        let Some(cells) = cells else {
            return false;
        };
        let side = super::yuv::GLANCE_SIDE;
        let glance = crate::image::pdq::pdq_from_luma(cells, side, side).hash;
        let due = self.wants(index);
        let drifted = self.last_glance.is_some_and(|(n, g)| {
            index >= n + self.drift_gap && g.distance(&glance) > DRIFT_DISTANCE
        });
        if due || drifted {
            self.last_glance = Some((index, glance));
        }
        drifted
    }

    fn frame(&mut self, index: u64, t: f64, width: u32, height: u32, rgb: &[u8]) {
        let Some(img) = image::RgbImage::from_raw(width, height, rgb.to_vec()) else {
            return;
        };
        let pdq = pdq_from_rgb(&img);
        let hash = FrameHash {
            frame: index,
            t,
            pdq,
        };
        // A drift frame's extra codes follow it in `drift`: a captioned
        // screenshot taken between samples meets them (its caption band
        // peeled, it ends on the region the frame's own peeling ends on),
        // where the frame's plain code, which hashes the whole frame, is
        // too far from the screenshot's region codes.
        let list = if self.wants(index) {
            self.frames.push(hash);
            &mut self.extra
        } else {
            self.drift.push(hash);
            &mut self.drift
        };
        if self.extra_codes.any() {
            for e in frame_extra_codes(&img, &pdq, self.extra_codes) {
                list.push(FrameHash {
                    frame: index,
                    t,
                    pdq: e,
                });
            }
        }
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
        assert_eq!(frame_step(1.0, 300.0 / (299.0 / 25.0 * 300.0 / 299.0)), 25);
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

    /// 64 x 64 cell means of a pattern: smooth bands whose direction
    /// depends on `seed` (two seeds give far-apart PDQ codes).
    fn cells(seed: u32) -> Vec<f32> {
        (0..64 * 64)
            .map(|i| {
                let (x, y) = ((i % 64) as f32, (i / 64) as f32);
                let a = seed as f32 * 0.7;
                128.0 + 100.0 * ((x * a.cos() + y * a.sin()) / 6.0).sin()
            })
            .collect()
    }

    #[test]
    fn drift_frames_are_hashed_where_the_picture_moves_on_and_only_there() {
        let mut h = Hasher::new(10).with_drift_frames(true);
        assert!(h.glances());
        let (a, b) = (cells(1), cells(3));
        let mut wanted = Vec::new();
        for n in 0..30u64 {
            let c = if n < 15 { &a } else { &b };
            if h.glance(n, Some(c)) || h.wants(n) {
                wanted.push(n);
            }
        }
        // Grid frames 0, 10, 20; frame 15 is the first of the new picture.
        assert_eq!(wanted, [0, 10, 15, 20]);
        // Without drift frames nothing is glanced at.
        assert!(!Hasher::new(10).glances());
        assert!(!Hasher::new(1).with_drift_frames(true).glances());
    }

    #[test]
    fn drift_frames_are_at_most_a_few_per_interval_and_keep_their_extra_codes() {
        let mut h = Hasher::new(16)
            .with_drift_frames(true)
            .with_extra(ExtraCodes {
                regions: true,
                ..ExtraCodes::default()
            });
        // A new picture every frame: drift frames are spaced by the gap.
        assert!(h.glance(0, Some(&cells(0))) || h.wants(0));
        let drift: Vec<u64> = (1..16u64)
            .filter(|&n| h.glance(n, Some(&cells(n as u32 % 5 + 1))))
            .collect();
        assert!(drift.len() >= 2, "{drift:?}");
        assert!(drift.len() as u64 <= DRIFT_FRAMES_PER_INTERVAL, "{drift:?}");
        assert!(drift
            .windows(2)
            .all(|w| w[1] - w[0] >= 16 / DRIFT_FRAMES_PER_INTERVAL));
        // A drift frame's extra codes follow its plain code in `drift`; a
        // grid frame's go to `extra`. The picture has a flat band on top, so
        // it has a region code.
        let img = image::RgbImage::from_fn(96, 80, |x, y| {
            if y < 16 {
                return image::Rgb([255, 255, 255]);
            }
            let v = ((x * 7 + y * 13) % 23 * 11) as u8;
            image::Rgb([v, v / 2, 255 - v])
        });
        h.frame(3, 0.1, img.width(), img.height(), img.as_raw());
        assert!(h.frames.is_empty() && h.extra.is_empty());
        let drift_codes = h.drift.len();
        assert!(drift_codes >= 2, "a drift frame with no extra code");
        assert!(h.drift.iter().all(|d| d.frame == 3));
        h.frame(16, 0.5, img.width(), img.height(), img.as_raw());
        assert_eq!((h.frames.len(), h.drift.len()), (1, drift_codes));
        assert_eq!(h.extra.len(), drift_codes - 1);
        assert!(h.extra.iter().all(|e| e.frame == 16));
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
