//! `neardup hash` on videos: the vPDQ frame hashes of one video as a JSON
//! line (`kind: "video"`, frames pruned as `neardup::video::frames::prune`
//! says), a table block, or Meta's vPDQ text format (every sampled frame,
//! unpruned, so Meta's tools read it).

use std::io::Write;

use neardup::video::frames::{prune, PRUNE_DISTANCE};
use neardup::video::{vpdq, VideoHash};

/// Writes the JSON line of a video ([`neardup::video::json::to_json`]).
pub fn write_jsonl(out: &mut impl Write, path: &str, v: &VideoHash) -> std::io::Result<()> {
    let line = neardup::video::json::to_json(path, v).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")
}

/// Writes Meta's vPDQ lines of a video (every sampled frame).
pub fn write_vpdq(out: &mut impl Write, v: &VideoHash) -> std::io::Result<()> {
    for f in &v.frames {
        writeln!(out, "{}", vpdq::format_line(f))?;
    }
    Ok(())
}

/// Writes a video as table rows: a size and duration line, then one line
/// per kept frame.
pub fn write_table(out: &mut impl Write, path: &str, v: &VideoHash) -> std::io::Result<()> {
    let size = format!("{}x{}", v.width, v.height);
    writeln!(
        out,
        "{size:>11}  video {:.3} s {}  {path}",
        v.duration, v.codec
    )?;
    for f in prune(&v.frames, PRUNE_DISTANCE) {
        writeln!(
            out,
            "{:>11}  {} {:>3} frame {} at {:.3} s",
            "",
            f.pdq.hash.to_hex(),
            f.pdq.quality,
            f.frame,
            f.t
        )?;
    }
    Ok(())
}

/// A warning for a video hashed only in part, if it was.
pub fn partial_warning(path: &str, v: &VideoHash) -> Option<String> {
    if v.cut {
        Some(format!(
            "{path}: warning: stopped at the frame budget after {} frames (--max-frames)",
            v.frames_decoded
        ))
    } else if v.truncated {
        Some(format!(
            "{path}: warning: file is truncated; hashed the {} frames present",
            v.frames_decoded
        ))
    } else if v.decode_errors > 0 {
        Some(format!(
            "{path}: warning: {} damaged samples skipped",
            v.decode_errors
        ))
    } else {
        None
    }
}
