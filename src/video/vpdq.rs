//! Meta's vPDQ text format: one line per hashed frame,
//! `frame_number,quality,pdq_hex,seconds` (seconds with 3 decimals), as
//! Meta's `vpdq-hash-video` writes and its matchers read.
//!
//! ```
//! use neardup::video::vpdq::{format_line, parse};
//!
//! let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n";
//! let frames = parse(text).unwrap();
//! assert_eq!(format_line(&frames[0]), text.trim_end());
//! ```

use crate::image::code::Hash256;
use crate::image::pdq::Pdq;

use super::frames::FrameHash;

/// A line of a vPDQ file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// One frame as a vPDQ line (no newline).
pub fn format_line(f: &FrameHash) -> String {
    format!(
        "{},{},{},{:.3}",
        f.frame,
        f.pdq.quality,
        f.pdq.hash.to_hex(),
        f.t
    )
}

/// Parses a vPDQ file; blank lines are skipped. The seconds field is
/// optional (Meta's older files lack it; the time is then unknown, 0).
pub fn parse(text: &str) -> Result<Vec<FrameHash>, ParseError> {
    let mut frames = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let err = |reason: String| ParseError {
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split(',').collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(err(format!(
                "expected frame,quality,pdq_hex,seconds; got {} fields",
                fields.len()
            )));
        }
        let frame = fields[0]
            .trim()
            .parse::<u64>()
            .map_err(|_| err(format!("bad frame number {:?}", fields[0])))?;
        let quality = fields[1]
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|&q| q <= 100)
            .ok_or_else(|| err(format!("bad quality {:?}", fields[1])))?;
        let hash =
            Hash256::from_hex(fields[2].trim()).map_err(|e| err(format!("bad PDQ hash: {e}")))?;
        let t = match fields.get(3) {
            Some(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| err(format!("bad seconds {s:?}")))?,
            None => 0.0,
        };
        frames.push(FrameHash {
            frame,
            t,
            pdq: Pdq {
                hash,
                quality,
                contrast: 0,
            },
        });
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_bad_lines_name_their_number() {
        let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n\n30,47,0000000000000000000000000000000000000000000000000000000000000001,1.000\n";
        let frames = parse(text).expect("valid");
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[1].frame, frames[1].pdq.quality, frames[1].t),
            (30, 47, 1.0)
        );
        let again: Vec<String> = frames.iter().map(format_line).collect();
        assert_eq!(again.join("\n\n") + "\n", text);
        let bad = parse("0,100,zz,0.0\n").unwrap_err();
        assert_eq!(bad.line, 1);
        assert!(parse("1,2\n").is_err());
        assert!(
            parse("0,101,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c\n")
                .is_err()
        );
    }
}
