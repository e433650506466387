//! The JSON line of a hashed video, as `neardup hash --format jsonl` prints
//! it and `neardup.hash_video` (Python) returns it: `path`, `kind:
//! "video"`, size, duration, frame rate, codec, and the sampled frames
//! pruned as [`super::frames::prune`] says, each with its number, second
//! (to the millisecond), PDQ in hex and quality.

use serde::Serialize;

use super::frames::{prune, PRUNE_DISTANCE};
use super::VideoHash;

/// One frame of a video's JSON line.
#[derive(Serialize)]
struct FrameRecord {
    frame: u64,
    /// Seconds from the first frame, to the millisecond.
    t: f64,
    pdq: String,
    quality: u8,
}

/// The JSON line of one video.
#[derive(Serialize)]
struct VideoLine<'a> {
    path: &'a str,
    kind: &'static str,
    width: u32,
    height: u32,
    /// Seconds.
    duration: f64,
    fps: f64,
    codec: &'a str,
    /// The frame budget stopped decoding before the end.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cut: bool,
    /// The file ends before its sample table does.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    frames: Vec<FrameRecord>,
}

fn millis(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// The JSON line (without its newline) of video `v` read from `path`.
pub fn to_json(path: &str, v: &VideoHash) -> serde_json::Result<String> {
    let frames = prune(&v.frames, PRUNE_DISTANCE)
        .into_iter()
        .map(|f| FrameRecord {
            frame: f.frame,
            t: millis(f.t),
            pdq: f.pdq.hash.to_hex(),
            quality: f.pdq.quality,
        })
        .collect();
    serde_json::to_string(&VideoLine {
        path,
        kind: "video",
        width: v.width,
        height: v.height,
        duration: millis(v.duration),
        fps: millis(v.fps),
        codec: &v.codec,
        cut: v.cut,
        truncated: v.truncated,
        frames,
    })
}
