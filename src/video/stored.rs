//! Videos as the index stores them: the frames kept for matching, their
//! codes in the `pdq` field, and the way back from stored codes to frames.
//!
//! An indexed video keeps the sampled frames of quality >= 50 (vPDQ's
//! comparison ignores the others, and a dark or flat frame would match
//! every other dark frame), pruned ([`super::frames::prune`]: a still shot
//! costs one code). Frame `i` of the [`VideoRecord`] owns the item's `i`-th
//! `pdq` code, so a matched code maps back to its frame and second.
//!
//! ```
//! use neardup::image::code::Hash256;
//! use neardup::image::pdq::Pdq;
//! use neardup::video::frames::FrameHash;
//! use neardup::video::stored::{frames_from_stored, retained, to_record};
//!
//! let f = |n: u64, w: u64, q: u8| FrameHash {
//!     frame: n,
//!     t: n as f64,
//!     pdq: Pdq { hash: Hash256([w, !w, w, !w]), quality: q, contrast: 0 },
//! };
//! // Frame 1 repeats frame 0; frame 2 is too dark to use.
//! let kept = retained(&[f(0, 0, 100), f(1, 0, 100), f(2, 7, 10), f(3, u64::MAX, 90)]);
//! assert_eq!(kept.iter().map(|f| f.frame).collect::<Vec<_>>(), [0, 3]);
//! let record = to_record(640, 360, 4.0, &kept);
//! let codes: Vec<&[u64]> = kept.iter().map(|f| f.pdq.hash.0.as_slice()).collect();
//! assert_eq!(frames_from_stored(Some(&record), &codes), kept.iter().map(|f| FrameHash {
//!     pdq: Pdq { contrast: 0, ..f.pdq }, ..*f }).collect::<Vec<_>>());
//! ```

use crate::image::code::Hash256;
use crate::image::pdq::{Pdq, PDQ_MIN_QUALITY};
use crate::schema::{VideoFrame, VideoRecord};

use super::frames::{prune, FrameHash, PRUNE_DISTANCE};

/// The frames of a video that are indexed: quality >= 50, then pruned.
pub fn retained(frames: &[FrameHash]) -> Vec<FrameHash> {
    let usable: Vec<FrameHash> = frames
        .iter()
        .filter(|f| f.pdq.quality >= PDQ_MIN_QUALITY)
        .copied()
        .collect();
    prune(&usable, PRUNE_DISTANCE)
}

/// The record of a video with these retained frames.
pub fn to_record(width: u32, height: u32, duration: f64, frames: &[FrameHash]) -> VideoRecord {
    VideoRecord {
        width,
        height,
        duration,
        frames: frames
            .iter()
            .map(|f| VideoFrame {
                frame: f.frame,
                t: f.t,
                quality: f.pdq.quality,
            })
            .collect(),
    }
}

/// A stored code (four words) as a hash; `None` for a code of another size.
pub fn code_hash(code: &[u64]) -> Option<Hash256> {
    <[u64; 4]>::try_from(code).ok().map(Hash256)
}

/// The frames of a stored video: its record's frames with their codes.
/// When the record is missing or does not list one frame per code (a
/// damaged record), frame `i` is the `i`-th code at second `i`, quality
/// 100, so matching still works and only the times are wrong.
pub fn frames_from_stored(record: Option<&VideoRecord>, codes: &[&[u64]]) -> Vec<FrameHash> {
    let listed = record.filter(|r| r.frames.len() == codes.len());
    codes
        .iter()
        .enumerate()
        .filter_map(|(i, code)| {
            let hash = code_hash(code)?;
            let (frame, t, quality) = match listed {
                Some(r) => (r.frames[i].frame, r.frames[i].t, r.frames[i].quality),
                None => (i as u64, i as f64, 100),
            };
            Some(FrameHash {
                frame,
                t,
                pdq: Pdq {
                    hash,
                    quality,
                    contrast: 0,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_does_not_list_every_code_falls_back_to_code_order() {
        let codes: Vec<Vec<u64>> = (0..3).map(|i| vec![i, 0, 0, 0]).collect();
        let refs: Vec<&[u64]> = codes.iter().map(Vec::as_slice).collect();
        let short = VideoRecord {
            width: 1,
            height: 1,
            duration: 1.0,
            frames: vec![],
        };
        let frames = frames_from_stored(Some(&short), &refs);
        assert_eq!(
            frames.iter().map(|f| (f.frame, f.t)).collect::<Vec<_>>(),
            [(0, 0.0), (1, 1.0), (2, 2.0)]
        );
        assert_eq!(frames[2].pdq.hash, Hash256([2, 0, 0, 0]));
        assert_eq!(code_hash(&[1]), None);
    }
}
