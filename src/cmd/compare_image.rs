//! `neardup compare A B` for two images: the Hamming distance for each
//! algorithm and PDQ's verdict (a match is distance <= 31 with both
//! qualities >= 50, Meta's published operating point). Exit code 0 when PDQ
//! calls them a match, 1 when not, 2 on error.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use neardup::image::pdq::{Pdq, PDQ_MATCH_DISTANCE, PDQ_MIN_CONTRAST, PDQ_MIN_QUALITY};
use neardup::image::pipeline::{fingerprint_path, ImageFingerprint, PipelineOptions};
use neardup::image::robust::{picture_distance, PictureCodes};

use super::compare::Format;

/// The comparison, as printed by `--format json`.
#[derive(Serialize)]
struct Comparison<'a> {
    a: &'a str,
    b: &'a str,
    pdq_distance: u32,
    /// Smallest distance between B's PDQ and the 8 dihedral PDQs of A
    /// (catches rotated and mirrored re-posts).
    pdq_dihedral_distance: u32,
    /// Smallest distance between any usable PDQ code of A and any of B,
    /// extra codes included (borders trimmed, caption band removed,
    /// centre): what index, query and dedupe match on; 256 when either has
    /// none. When both pictures are framed, their plain codes count only if
    /// their contents agree (`robust::framed_distance`).
    pdq_extra_distance: u32,
    pdq_quality_a: u8,
    pdq_quality_b: u8,
    /// Whether each PDQ hash is trusted for matching (`Pdq::usable`: Meta's
    /// quality >= 50, or enough contrast for a smooth picture).
    pdq_usable_a: bool,
    pdq_usable_b: bool,
    pdq_match: bool,
    phash_distance: u32,
    dhash_distance: u32,
}

/// A picture's codes as the index holds them.
fn held<'a>(fp: &'a ImageFingerprint, plain: &'a Pdq) -> PictureCodes<'a> {
    PictureCodes {
        plain: std::slice::from_ref(plain),
        extra: &fp.pdq_extra,
        framed: fp.framed_as_indexed(),
    }
}

/// Compares two images and prints the distances.
pub fn run(args: &super::compare::Args) -> anyhow::Result<ExitCode> {
    let [a, b] = args.items.as_slice() else {
        anyhow::bail!("compare needs exactly two images");
    };
    let opts = PipelineOptions {
        dihedral: true,
        ..PipelineOptions::default()
    };
    let fa = fingerprint_path(Path::new(a), &opts)?;
    let fb = fingerprint_path(Path::new(b), &opts)?;
    let missing = || anyhow::anyhow!("internal error: a requested hash is missing");
    let (pa, pb) = (fa.pdq.ok_or_else(missing)?, fb.pdq.ok_or_else(missing)?);
    let da = fa.pdq_dihedral.as_ref().ok_or_else(missing)?;
    let pdq_distance = pa.hash.distance(&pb.hash);
    let c = Comparison {
        a,
        b,
        pdq_distance,
        pdq_dihedral_distance: da.min_distance(&pb.hash),
        pdq_extra_distance: picture_distance(held(&fa, &pa), held(&fb, &pb)),
        pdq_quality_a: pa.quality,
        pdq_quality_b: pb.quality,
        pdq_usable_a: pa.usable(),
        pdq_usable_b: pb.usable(),
        pdq_match: pdq_distance <= PDQ_MATCH_DISTANCE && pa.usable() && pb.usable(),
        phash_distance: fa
            .phash
            .ok_or_else(missing)?
            .distance(&fb.phash.ok_or_else(missing)?),
        dhash_distance: fa
            .dhash
            .ok_or_else(missing)?
            .distance(&fb.dhash.ok_or_else(missing)?),
    };
    let text = match args.format {
        Format::Json => serde_json::to_string(&c).context("cannot format JSON")?,
        Format::Table => {
            let why = if c.pdq_match {
                format!("distance <= {PDQ_MATCH_DISTANCE} and both hashes usable")
            } else if !c.pdq_usable_a || !c.pdq_usable_b {
                format!(
                    "a picture is too flat to trust its PDQ bits (quality below \
                     {PDQ_MIN_QUALITY} and contrast below {:.2} luma levels)",
                    f32::from(PDQ_MIN_CONTRAST) / 100.0
                )
            } else {
                format!("distance > {PDQ_MATCH_DISTANCE}")
            };
            format!(
                "A: {a}\nB: {b}\n\
                 pdq    distance {:>3} / 256   (dihedral min {}; quality {} and {}; \
                 with extra codes {})\n\
                 phash  distance {:>3} / 64\n\
                 dhash  distance {:>3} / 64\n\
                 PDQ match: {} ({why})",
                c.pdq_distance,
                c.pdq_dihedral_distance,
                c.pdq_quality_a,
                c.pdq_quality_b,
                c.pdq_extra_distance,
                c.phash_distance,
                c.dhash_distance,
                if c.pdq_match { "yes" } else { "no" }
            )
        }
    };
    let mut out = super::common::stdout();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(ExitCode::from(if c.pdq_match { 0 } else { 1 }))
}
