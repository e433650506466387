//! vPDQ comparison of two videos' frame hashes, and the segments they
//! share.
//!
//! As Meta's `matchTwoHashBrute`: frames of quality below 50 are dropped,
//! then repeated hashes (unique frames only); the *query match percent* is
//! the share of the query's unique frames within 31 bits of some frame of
//! the compared video, and the *compared match percent* the other way
//! round. neardup calls the pair a match when either percentage reaches
//! [`CompareParams::match_percent`] (80 by default), so a clip cut from a
//! longer video matches it (nearly all of the clip is in the source).
//!
//! Segments: the query's frames are walked in time order; each frame with a
//! match extends the current segment when one of its matches keeps the
//! time offset (compared time minus query time) of the segment, within a
//! tolerance of two and a half sampling steps, and starts a new segment otherwise.

use crate::image::code::Hash256;
use crate::image::pdq::{PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY};

use super::frames::{frame_groups, FrameHash};

/// Thresholds of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct CompareParams {
    /// Frames match at this Hamming distance or less.
    pub distance: u32,
    /// Frames of lower PDQ quality are ignored.
    pub min_quality: u8,
    /// The videos match when either percentage reaches this.
    pub match_percent: f64,
}

impl Default for CompareParams {
    fn default() -> Self {
        CompareParams {
            distance: PDQ_MATCH_DISTANCE,
            min_quality: PDQ_MIN_QUALITY,
            match_percent: 80.0,
        }
    }
}

/// A stretch of time the two videos share.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Segment {
    /// First matching second of the query.
    pub query_start: f64,
    /// Last matching second of the query.
    pub query_end: f64,
    /// First matching second of the compared video.
    pub compared_start: f64,
    /// Last matching second of the compared video.
    pub compared_end: f64,
    /// Query frames in the segment.
    pub frames: usize,
}

/// The result of a comparison.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Share of the query's unique usable frames found in the other video.
    pub query_match_percent: f64,
    /// Share of the compared video's unique usable frames found in the query.
    pub compared_match_percent: f64,
    /// Either percentage reaches the threshold.
    #[serde(rename = "match")]
    pub is_match: bool,
    /// Shared stretches, in query order.
    pub segments: Vec<Segment>,
}

/// One frame's usable codes: its plain code, then the extra codes that
/// follow it in the frame list with the same frame number (region codes,
/// dihedral codes). Two frames match when any code of one is within the
/// distance of any code of the other.
struct Unit {
    t: f64,
    hashes: Vec<Hash256>,
    /// A drift frame: a target for the other video's frames, not counted.
    drift: bool,
}

impl Unit {
    fn distance(&self, other: &Unit) -> u32 {
        self.hashes
            .iter()
            .flat_map(|a| other.hashes.iter().map(move |b| a.distance(b)))
            .min()
            .unwrap_or(256)
    }
}

/// The frames as units (see [`Unit`]), codes of quality below `min_quality`
/// left out, frames left with no code dropped.
fn units(frames: &[FrameHash], drift: &[u64], min_quality: u8) -> Vec<Unit> {
    frame_groups(frames)
        .filter_map(|group| {
            let mut usable = group.iter().filter(|f| f.pdq.quality >= min_quality);
            let first = usable.next()?;
            let mut hashes = vec![first.pdq.hash];
            hashes.extend(usable.map(|f| f.pdq.hash));
            Some(Unit {
                t: first.t,
                hashes,
                drift: drift.contains(&first.frame),
            })
        })
        .collect()
}

/// The distinct units: repeated frames (the same codes) count once.
fn unique(units: &[Unit]) -> Vec<&Unit> {
    let mut refs: Vec<&Unit> = units.iter().collect();
    refs.sort_unstable_by(|a, b| {
        a.hashes
            .iter()
            .map(|h| h.0)
            .cmp(b.hashes.iter().map(|h| h.0))
    });
    refs.dedup_by(|a, b| a.hashes == b.hashes);
    refs
}

/// Percentage of `a`'s sampled (not drift) units with a match in `b`
/// (0 when there is none).
fn percent_found(a: &[&Unit], b: &[&Unit], distance: u32) -> f64 {
    let a: Vec<&&Unit> = a.iter().filter(|u| !u.drift).collect();
    if a.is_empty() {
        return 0.0;
    }
    let found = a
        .iter()
        .filter(|x| b.iter().any(|y| x.distance(y) <= distance))
        .count();
    found as f64 * 100.0 / a.len() as f64
}

/// Compares a query video's frames with another's. A frame's extra codes
/// (entries after it with its frame number) count as the frame: it is
/// found when any of its codes is within the distance of any code of a
/// frame of the other video.
pub fn compare(query: &[FrameHash], compared: &[FrameHash], p: &CompareParams) -> Comparison {
    compare_with_drift((query, &[]), (compared, &[]), p)
}

/// [`compare`] of two videos of which some frames are drift frames (their
/// frame numbers given beside each list, as
/// [`super::stored::drift_frame_numbers`] reads them from an index): drift
/// frames are matched against, but the percentages count the sampled
/// frames only, as vPDQ's do, so a video's drift frames neither lower the
/// share of it found in the other nor raise it.
pub fn compare_with_drift(
    (query, query_drift): (&[FrameHash], &[u64]),
    (compared, compared_drift): (&[FrameHash], &[u64]),
    p: &CompareParams,
) -> Comparison {
    let q = units(query, query_drift, p.min_quality);
    let c = units(compared, compared_drift, p.min_quality);
    let (qu, cu) = (unique(&q), unique(&c));
    let (qp, cp) = if qu.is_empty() || cu.is_empty() {
        (0.0, 0.0)
    } else {
        (
            percent_found(&qu, &cu, p.distance),
            percent_found(&cu, &qu, p.distance),
        )
    };
    Comparison {
        query_match_percent: qp,
        compared_match_percent: cp,
        is_match: qp >= p.match_percent || cp >= p.match_percent,
        segments: segments(&q, &c, p.distance),
    }
}

/// The typical time between sampled frames (median step), at least 1/60 s.
fn median_step(frames: &[Unit]) -> f64 {
    let mut steps: Vec<f64> = frames.windows(2).map(|w| w[1].t - w[0].t).collect();
    steps.retain(|s| *s > 0.0);
    if steps.is_empty() {
        return 1.0;
    }
    steps.sort_by(f64::total_cmp);
    steps[steps.len() / 2].max(1.0 / 60.0)
}

fn segments(q: &[Unit], c: &[Unit], distance: u32) -> Vec<Segment> {
    let step = median_step(q).max(median_step(c));
    // An offset may drift by two sampling steps (the two videos' samples
    // fall at different instants; half a step more absorbs rounding of the
    // times), and a segment may bridge three steps of unmatched (dark,
    // blurred) frames.
    let (tolerance, max_gap) = (2.5 * step, 3.0 * step);
    let mut out: Vec<Segment> = Vec::new();
    let mut open: Option<(Segment, f64)> = None;
    for f in q {
        let matches: Vec<(&Unit, u32)> = c
            .iter()
            .map(|g| (g, f.distance(g)))
            .filter(|(_, d)| *d <= distance)
            .collect();
        if matches.is_empty() {
            continue;
        }
        if let Some((seg, offset)) = open.as_mut() {
            let near = matches
                .iter()
                .filter(|(g, _)| ((g.t - f.t) - *offset).abs() <= tolerance)
                .min_by(|a, b| {
                    let da = ((a.0.t - f.t) - *offset).abs();
                    let db = ((b.0.t - f.t) - *offset).abs();
                    da.total_cmp(&db)
                });
            if let Some((g, _)) = near.filter(|_| f.t - seg.query_end <= max_gap) {
                seg.query_end = f.t;
                seg.compared_start = seg.compared_start.min(g.t);
                seg.compared_end = seg.compared_end.max(g.t);
                seg.frames += 1;
                continue;
            }
        }
        if let Some((seg, _)) = open.take() {
            out.push(seg);
        }
        // A new segment starts at the closest match (the earliest on ties).
        let (g, _) = matches
            .iter()
            .min_by(|a, b| a.1.cmp(&b.1).then(a.0.t.total_cmp(&b.0.t)))
            .copied()
            .unwrap_or((matches[0].0, 0));
        open = Some((
            Segment {
                query_start: f.t,
                query_end: f.t,
                compared_start: g.t,
                compared_end: g.t,
                frames: 1,
            },
            g.t - f.t,
        ));
    }
    out.extend(open.map(|(s, _)| s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pdq::Pdq;

    /// Frame `n` at `n` seconds with a pseudo-random hash per `id` (two ids
    /// differ in about 128 bits).
    fn frame(n: u64, id: usize, quality: u8) -> FrameHash {
        let mut x = (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut word = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let hash = Hash256([word(), word(), word(), word()]);
        FrameHash {
            frame: n,
            t: n as f64,
            pdq: Pdq {
                hash,
                quality,
                contrast: 0,
            },
        }
    }

    #[test]
    fn a_clip_matches_its_source_with_the_segment_at_the_right_offset() {
        let source: Vec<FrameHash> = (0..8).map(|i| frame(i, i as usize, 100)).collect();
        // The clip is seconds 2..=4 of the source, starting at its own 0.
        let clip: Vec<FrameHash> = (0..3).map(|i| frame(i, i as usize + 2, 100)).collect();
        let r = compare(&clip, &source, &CompareParams::default());
        assert_eq!(r.query_match_percent, 100.0);
        assert_eq!(r.compared_match_percent, 3.0 * 100.0 / 8.0);
        assert!(r.is_match);
        assert_eq!(r.segments.len(), 1);
        let s = r.segments[0];
        assert_eq!((s.query_start, s.query_end), (0.0, 2.0));
        assert_eq!((s.compared_start, s.compared_end), (2.0, 4.0));
    }

    #[test]
    fn low_quality_frames_are_ignored_and_no_usable_frame_is_no_match() {
        let a = [frame(0, 0, 10), frame(1, 1, 10)];
        let r = compare(&a, &a, &CompareParams::default());
        assert_eq!((r.query_match_percent, r.is_match), (0.0, false));
        assert!(r.segments.is_empty());
    }

    #[test]
    fn drift_frames_are_targets_but_not_counted() {
        // The compared video has sampled frames 0..4 and drift frames 10..14
        // (ids 10..14); the query holds frames 0, 1 and two of the drift
        // frames' pictures.
        let mut compared: Vec<FrameHash> = (0..4).map(|i| frame(i, i as usize, 100)).collect();
        compared.extend((10..14).map(|i| frame(i, i as usize, 100)));
        let drift: Vec<u64> = (10..14).collect();
        let query = [
            frame(0, 0, 100),
            frame(1, 1, 100),
            frame(2, 10, 100),
            frame(3, 11, 100),
        ];
        let p = CompareParams::default();
        let r = compare_with_drift((&query, &[]), (&compared, &drift), &p);
        // All four query frames are found (two of them in drift frames);
        // of the compared video's four sampled frames, two are found.
        assert_eq!(r.query_match_percent, 100.0);
        assert_eq!(r.compared_match_percent, 50.0);
        let plain = compare(&query, &compared, &p);
        assert_eq!(plain.compared_match_percent, 4.0 * 100.0 / 8.0);
        assert_eq!(plain.query_match_percent, 100.0);
    }

    #[test]
    fn repeated_hashes_count_once() {
        let a = [
            frame(0, 0, 100),
            frame(1, 0, 100),
            frame(2, 0, 100),
            frame(3, 1, 100),
        ];
        let b = [frame(0, 0, 100)];
        let r = compare(&a, &b, &CompareParams::default());
        assert_eq!(r.query_match_percent, 50.0);
        assert_eq!(r.compared_match_percent, 100.0);
    }
}
