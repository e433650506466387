//! Videos as the index stores them: the frames kept for matching, their
//! codes in the `pdq` field, and the way back from stored codes to frames.
//!
//! An indexed video keeps the sampled frames of quality >= 50 (vPDQ's
//! comparison ignores the others, and a dark or flat frame would match
//! every other dark frame), pruned ([`super::frames::prune`]: a still shot
//! costs one code). Each kept frame stores its plain code, then its usable
//! extra codes (region codes: borders trimmed, caption band removed,
//! centre; see [`super::frames::ExtraCodes`]). The frames of the
//! [`VideoRecord`] own the item's `pdq` codes in order, each as many as its
//! [`VideoFrame::codes`] says (one in indexes written before frames had
//! extra codes), so a matched code maps back to its frame and second.
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
//! assert_eq!(record.frames.iter().map(|f| f.codes).collect::<Vec<_>>(), [1, 1]);
//! let codes: Vec<&[u64]> = kept.iter().map(|f| f.pdq.hash.0.as_slice()).collect();
//! assert_eq!(frames_from_stored(Some(&record), &codes), kept.iter().map(|f| FrameHash {
//!     pdq: Pdq { contrast: 0, ..f.pdq }, ..*f }).collect::<Vec<_>>());
//! ```

use crate::image::code::Hash256;
use crate::image::pdq::{Pdq, PDQ_MIN_QUALITY};
use crate::schema::{VideoFrame, VideoRecord};

use super::frames::{frame_groups, FrameHash, PRUNE_DISTANCE};

/// The frames of a video that are indexed, from a frame list in which each
/// frame's extra codes follow it with its frame number
/// ([`super::frames::with_extra`]): codes of quality < 50 dropped (a plain
/// code so dropped leaves the frame its usable extra codes), frames with no
/// code left dropped, then the frames pruned by their first code (a frame
/// within [`PRUNE_DISTANCE`] bits of the last one kept is left out, with
/// its extra codes).
pub fn retained(frames: &[FrameHash]) -> Vec<FrameHash> {
    let mut out: Vec<FrameHash> = Vec::new();
    let mut last: Option<Hash256> = None;
    for group in frame_groups(frames) {
        keep_usable(group, &mut last, &mut out);
    }
    out
}

/// Appends the codes of quality >= 50 of one frame's `group` to `out`,
/// unless it has none or the first of them (its lead) is within
/// [`PRUNE_DISTANCE`] bits of `last`, the lead of the frame kept before;
/// a frame kept becomes `last`.
fn keep_usable(group: &[FrameHash], last: &mut Option<Hash256>, out: &mut Vec<FrameHash>) {
    let mut usable = group
        .iter()
        .filter(|x| x.pdq.quality >= PDQ_MIN_QUALITY)
        .peekable();
    if let Some(lead) = usable.peek() {
        if last.is_none_or(|h| h.distance(&lead.pdq.hash) > PRUNE_DISTANCE) {
            *last = Some(lead.pdq.hash);
            out.extend(usable);
        }
    }
}

/// The retained frames ([`retained`] of `frames`) with the drift frames
/// (frames between the sampled ones, see
/// [`super::frames::Hasher::with_drift_frames`], laid out as `frames`:
/// each plain code followed by its extra codes) merged in time order. A
/// drift frame keeps its codes of quality >= 50, led by the first of them,
/// and is left out when it has none or when its lead is within
/// [`PRUNE_DISTANCE`] bits of the lead of the frame before it. The sampled
/// frames are pruned among themselves only, so each keeps its extra codes
/// as without drift frames.
pub fn retained_with_drift(frames: &[FrameHash], drift: &[FrameHash]) -> Vec<FrameHash> {
    let kept = retained(frames);
    let mut out: Vec<FrameHash> = Vec::with_capacity(kept.len() + drift.len());
    // The lead code of the frame before the next one merged in.
    let mut last: Option<Hash256> = None;
    let mut sampled = frame_groups(&kept).peekable();
    let mut drifted = frame_groups(drift).peekable();
    loop {
        let drift_first = match (sampled.peek(), drifted.peek()) {
            (None, None) => break,
            (Some(s), Some(d)) => d[0].frame < s[0].frame,
            (s, _) => s.is_none(),
        };
        if drift_first {
            if let Some(group) = drifted.next() {
                keep_usable(group, &mut last, &mut out);
            }
        } else if let Some(group) = sampled.next() {
            last = Some(group[0].pdq.hash);
            out.extend_from_slice(group);
        }
    }
    out
}

/// The record of a video with these retained frames (as [`retained`]
/// returns them: a frame's codes are consecutive entries with its number).
pub fn to_record(width: u32, height: u32, duration: f64, frames: &[FrameHash]) -> VideoRecord {
    let listed = frame_groups(frames)
        .map(|group| VideoFrame {
            frame: group[0].frame,
            t: group[0].t,
            quality: group[0].pdq.quality,
            codes: group.len() as u32,
            drift: false,
        })
        .collect();
    VideoRecord {
        width,
        height,
        duration,
        frames: listed,
    }
}

/// Marks the record's frames that are drift frames (their numbers are in
/// `drift`, as [`super::VideoHash::drift`] lists them).
pub fn mark_drift(record: &mut VideoRecord, drift: &[FrameHash]) {
    for f in &mut record.frames {
        f.drift = drift.binary_search_by_key(&f.frame, |d| d.frame).is_ok();
    }
}

/// The frame numbers of a stored video's drift frames (none for a record
/// written before schema 7, or a missing one).
pub fn drift_frame_numbers(record: Option<&VideoRecord>) -> Vec<u64> {
    record.map_or_else(Vec::new, |r| {
        r.frames
            .iter()
            .filter(|f| f.drift)
            .map(|f| f.frame)
            .collect()
    })
}

/// A stored video's frames with their codes ([`frames_from_stored`]) and
/// its drift frames' numbers ([`drift_frame_numbers`]), from one reading
/// of its record.
pub fn stored_video(record: Option<&VideoRecord>, codes: &[&[u64]]) -> (Vec<FrameHash>, Vec<u64>) {
    (
        frames_from_stored(record, codes),
        drift_frame_numbers(record),
    )
}

/// A stored code (four words) as a hash; `None` for a code of another size.
pub fn code_hash(code: &[u64]) -> Option<Hash256> {
    <[u64; 4]>::try_from(code).ok().map(Hash256)
}

/// The frames of a stored video: its record's frames with their codes, a
/// frame with several codes as consecutive entries with its number (as
/// [`super::compare::compare`] reads them). When the record is missing or
/// does not account for every code (a damaged record), code `i` is a frame
/// of its own at second `i`, quality 100, so matching still works and only
/// the times are wrong.
pub fn frames_from_stored(record: Option<&VideoRecord>, codes: &[&[u64]]) -> Vec<FrameHash> {
    let listed = record
        .filter(|r| r.frames.iter().map(|f| u64::from(f.codes)).sum::<u64>() == codes.len() as u64);
    let owners: Vec<(u64, f64, u8)> = match listed {
        Some(r) => r
            .frames
            .iter()
            .flat_map(|f| std::iter::repeat_n((f.frame, f.t, f.quality), f.codes as usize))
            .collect(),
        None => (0..codes.len())
            .map(|i| (i as u64, i as f64, 100))
            .collect(),
    };
    codes
        .iter()
        .zip(owners)
        .filter_map(|(code, (frame, t, quality))| {
            Some(FrameHash {
                frame,
                t,
                pdq: Pdq {
                    hash: code_hash(code)?,
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

    fn f(frame: u64, word: u64, quality: u8) -> FrameHash {
        FrameHash {
            frame,
            t: frame as f64,
            pdq: Pdq {
                hash: Hash256([word, !word, word, !word]),
                quality,
                contrast: 0,
            },
        }
    }

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

    #[test]
    fn drift_frames_merge_in_time_order_without_pruning_the_sampled_frames() {
        // Sampled frames 0 (with an extra code) and 30; drift frames 10
        // (new, with an extra code), 12 (2 bits from 10: left out), 20
        // (dark: left out), 24 (a dark plain code and a usable extra code,
        // which leads it) and 28 (new), and 31 after the last sampled frame.
        let g = |frame: u64, word: u64| f(frame, word, 100);
        let frames = [g(0, 0), g(0, 0xff00), g(30, 0x0f0f_0f0f)];
        let drift = [
            g(10, 0xffff),
            g(10, 0x1234_5678),
            g(12, 0xfffc),
            f(20, 0xabcd_ef00, 10),
            f(24, 0x5555, 10),
            g(24, 0xf0f0_0000_0000),
            g(28, 0x0f0f_0f0e),
            g(31, u64::MAX),
        ];
        let merged = retained_with_drift(&frames, &drift);
        let got: Vec<(u64, u64)> = merged.iter().map(|m| (m.frame, m.pdq.hash.0[0])).collect();
        // Frame 30 is within 8 bits of drift frame 28 but is kept: sampled
        // frames are pruned among themselves only.
        assert_eq!(
            got,
            [
                (0, 0),
                (0, 0xff00),
                (10, 0xffff),
                (10, 0x1234_5678),
                (24, 0xf0f0_0000_0000),
                (28, 0x0f0f_0f0e),
                (30, 0x0f0f_0f0f),
                (31, u64::MAX)
            ]
        );
        let mut record = to_record(2, 2, 2.0, &merged);
        assert_eq!(record.frames.len(), 6);
        assert_eq!((record.frames[0].codes, record.frames[1].codes), (2, 2));
        mark_drift(&mut record, &drift);
        assert_eq!(drift_frame_numbers(Some(&record)), [10, 24, 28, 31]);
        let back = VideoRecord::from_snippet(&record.to_snippet());
        assert_eq!(drift_frame_numbers(back.as_ref()), [10, 24, 28, 31]);
        assert_eq!(retained_with_drift(&frames, &[]), retained(&frames));
    }

    #[test]
    fn extra_codes_stay_with_their_frame_through_pruning_and_storage() {
        // Frame 0: plain code and one extra; frame 1 repeats frame 0 (pruned
        // with its extra); frame 2: a dark plain code (dropped) and a usable
        // extra, which the frame keeps; frame 3: plain only.
        let frames = [
            f(0, 0, 100),
            f(0, 0xff, 90),
            f(1, 1, 100),
            f(1, 0xf0f0, 100),
            f(2, 7, 10),
            f(2, 0xffff_0000, 80),
            f(3, u64::MAX, 100),
        ];
        let kept = retained(&frames);
        assert_eq!(
            kept.iter()
                .map(|k| (k.frame, k.pdq.hash.0[0]))
                .collect::<Vec<_>>(),
            [(0, 0), (0, 0xff), (2, 0xffff_0000), (3, u64::MAX)]
        );
        let record = to_record(2, 2, 4.0, &kept);
        assert_eq!(
            record
                .frames
                .iter()
                .map(|v| (v.frame, v.codes, v.quality))
                .collect::<Vec<_>>(),
            [(0, 2, 100), (2, 1, 80), (3, 1, 100)]
        );
        let codes: Vec<&[u64]> = kept.iter().map(|k| k.pdq.hash.0.as_slice()).collect();
        let back = frames_from_stored(Some(&record), &codes);
        assert_eq!(
            back.iter()
                .map(|b| (b.frame, b.pdq.hash))
                .collect::<Vec<_>>(),
            kept.iter()
                .map(|k| (k.frame, k.pdq.hash))
                .collect::<Vec<_>>()
        );
        // A record written before extra codes (one code a frame) still maps.
        let old = VideoRecord::from_snippet("video/1 2x2 4.000 0:0.000:100 3:3.000:90").unwrap();
        let two: Vec<&[u64]> = vec![codes[0], codes[3]];
        let back = frames_from_stored(Some(&old), &two);
        assert_eq!(back.iter().map(|b| b.frame).collect::<Vec<_>>(), [0, 3]);
    }
}
