//! `neardup compare A B` for two videos (or vPDQ hash files): Meta's vPDQ
//! comparison (unique frames of quality >= 50, frames matching at distance
//! <= 31) both ways, each frame with its region codes unless
//! `--plain-frames` (a vPDQ file has none), neardup's verdict (either percentage >= 80, so a clip
//! matches its source) and the segments they share. Exit code 0 on a match,
//! 1 when not, 2 on error.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use neardup::video::compare::{compare, CompareParams, Comparison};
use neardup::video::frames::{with_extra, ExtraCodes, FrameHash};
use neardup::video::probe::looks_like_video;
use neardup::video::{hash_video, vpdq, VideoOptions};

use super::compare::{Args, Format};

/// Whether both items are videos or vPDQ hash files.
pub fn both_videos(items: &[String]) -> bool {
    items
        .iter()
        .all(|i| is_vpdq_file(i) || looks_like_video(Path::new(i)))
}

fn is_vpdq_file(item: &str) -> bool {
    item.ends_with(".vpdq.txt") || item.ends_with(".vpdq")
}

/// The frames of a video, hashed, or read from a vPDQ file.
fn frames_of(item: &str, opts: &VideoOptions) -> anyhow::Result<Vec<FrameHash>> {
    if is_vpdq_file(item) {
        let text = std::fs::read_to_string(item).with_context(|| format!("{item}: cannot read"))?;
        return vpdq::parse(&text).with_context(|| format!("{item}: not a vPDQ file"));
    }
    let v = hash_video(Path::new(item), opts)?;
    Ok(with_extra(&v.frames, &v.extra))
}

#[derive(Serialize)]
struct Report<'a> {
    a: &'a str,
    b: &'a str,
    #[serde(flatten)]
    comparison: &'a Comparison,
}

/// Compares two videos and prints the percentages and segments.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let [a, b] = args.items.as_slice() else {
        anyhow::bail!("compare needs exactly two videos");
    };
    if !(args.frame_interval.is_finite() && args.frame_interval >= 0.0) {
        anyhow::bail!("--frame-interval must be a number of seconds >= 0");
    }
    let extra = if args.plain_frames {
        ExtraCodes::default()
    } else {
        ExtraCodes {
            regions: true,
            ..ExtraCodes::default()
        }
    };
    let opts = VideoOptions {
        frame_interval: args.frame_interval,
        extra,
        ..VideoOptions::default()
    };
    let (fa, fb) = (frames_of(a, &opts)?, frames_of(b, &opts)?);
    let params = CompareParams {
        match_percent: args.match_percent,
        ..CompareParams::default()
    };
    let r = compare(&fa, &fb, &params);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let report = Report {
                a,
                b,
                comparison: &r,
            };
            serde_json::to_writer(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(out, "query (A) match:     {:6.2} %", r.query_match_percent)?;
            writeln!(
                out,
                "compared (B) match:  {:6.2} %",
                r.compared_match_percent
            )?;
            writeln!(out, "match:               {}", r.is_match)?;
            for s in &r.segments {
                writeln!(
                    out,
                    "segment: A {:.3}-{:.3} s  B {:.3}-{:.3} s  ({} frames)",
                    s.query_start, s.query_end, s.compared_start, s.compared_end, s.frames
                )?;
            }
        }
    }
    Ok(if r.is_match {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
