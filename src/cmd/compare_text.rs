//! `neardup compare --text A B` (or `--text-file A B`) for two texts.
//!
//! Prints both normalised forms, the MinHash estimate and the exact Jaccard
//! similarity of the shingle sets, the SimHash Hamming distance and whether
//! the texts match at [`neardup::text::DEFAULT_THRESHOLD`]. Exit 0 on a match, 1 otherwise.
//! A text file must be UTF-8: invalid bytes are an error naming the file and
//! the byte offset, because a lossy decode would silently change the
//! fingerprint.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use neardup::text::compare::compare;
use neardup::text::TextSettings;

use super::compare::{Args, Format};

fn read_text(path: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{path}: cannot read text file"))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{path}: not valid UTF-8 (first invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Compares two texts and prints their similarity.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (a, b) = match args.items.as_slice() {
        [a, b] => (a, b),
        _ => anyhow::bail!("compare needs exactly two texts"),
    };
    let (a, b) = if args.text_file {
        (read_text(a)?, read_text(b)?)
    } else {
        (a.clone(), b.clone())
    };
    let settings = TextSettings {
        keep_urls: args.keep_urls,
        keep_mentions: args.keep_mentions,
        ..TextSettings::default()
    };
    let report = compare(settings, &a, &b)?;
    let mut w = super::common::stdout();
    match args.format {
        Format::Json => writeln!(w, "{}", serde_json::to_string(&report)?)?,
        Format::Table => {
            let short = |s: bool| if s { "  (short text)" } else { "" };
            writeln!(
                w,
                "normalized A       {:?}{}",
                report.normalized_a,
                short(report.short_a)
            )?;
            writeln!(
                w,
                "normalized B       {:?}{}",
                report.normalized_b,
                short(report.short_b)
            )?;
            writeln!(w, "estimated Jaccard  {:.4}", report.estimated_jaccard)?;
            writeln!(w, "exact Jaccard      {:.4}", report.exact_jaccard)?;
            writeln!(w, "SimHash distance   {}", report.simhash_distance)?;
            writeln!(
                w,
                "match              {} (threshold {})",
                if report.is_match { "yes" } else { "no" },
                report.threshold
            )?;
        }
    }
    w.flush()?;
    Ok(ExitCode::from(if report.is_match { 0 } else { 1 }))
}
