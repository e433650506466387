//! Meta's vPDQ vectors: every-frame hashing of Meta's sample videos gives
//! the same frame count as Meta's reference and per-frame PDQ within a few
//! bits (median <= 8, 90th percentile <= 16 on frames of quality >= 50).
//!
//! This checks the bundled OpenH264 path (forced, whether or not ffmpeg is
//! on PATH); `tests/video_decoders.rs` checks that ffmpeg gives the same
//! hashes.
//!
//! The videos live in `../shared/vpdq-vectors` beside the crate (CI lays
//! `shared/` there); the test fails with a clear message when it is absent.

mod support;

use neardup::video::{hash_video, vpdq, DecoderKind, VideoOptions};

const VIDEOS: &[&str] = &[
    "chair-19-sd-bar",
    "chair-22-sd-grey-bar",
    "doorknob-hd-no-bar",
    "pattern-sd-grey-bar",
    "test-padded-dimensions",
];

fn percentile(sorted: &[u32], p: f64) -> u32 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn every_frame_hashes_agree_with_meta_vpdq_reference() {
    let dir = support::vpdq_vectors();
    let opts = VideoOptions {
        frame_interval: 0.0,
        h264_decoder: Some(DecoderKind::OpenH264),
        ..VideoOptions::default()
    };
    let mut all = Vec::new();
    for name in VIDEOS {
        let reference = std::fs::read_to_string(dir.join(format!("{name}.vpdq.txt")))
            .expect("reference hashes");
        let reference = vpdq::parse(&reference).expect("reference parses");
        let ours =
            hash_video(&dir.join(format!("{name}.mp4")), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ours.frames.len(),
            reference.len(),
            "{name}: frame count differs from Meta's"
        );
        let mut d: Vec<u32> = ours
            .frames
            .iter()
            .zip(&reference)
            .filter(|(_, r)| r.pdq.quality >= 50)
            .map(|(o, r)| {
                assert_eq!(o.frame, r.frame, "{name}: frame numbers differ");
                assert!(
                    (o.t - r.t).abs() < 0.002,
                    "{name} frame {}: time {} vs {}",
                    o.frame,
                    o.t,
                    r.t
                );
                o.pdq.hash.distance(&r.pdq.hash)
            })
            .collect();
        d.sort_unstable();
        println!(
            "{name}: {} frames, {} of quality >= 50, distance median {} p90 {} max {}",
            reference.len(),
            d.len(),
            percentile(&d, 0.5),
            percentile(&d, 0.9),
            d[d.len() - 1]
        );
        all.extend(d);
    }
    all.sort_unstable();
    let (median, p90) = (percentile(&all, 0.5), percentile(&all, 0.9));
    println!("all: {} frames, median {median} p90 {p90}", all.len());
    assert!(median <= 8, "median distance {median} > 8");
    assert!(p90 <= 16, "90th percentile distance {p90} > 16");
}
