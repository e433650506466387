//! `neardup query`: the near-duplicates of a suspect image, video, text or
//! hash.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::IndexArg;
use neardup::image::code::{Hash256, Hash64};
use neardup::query::{Answer, Match, Query, QueryError, QueryOptions, Searcher};

/// Output format of `neardup query`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON array of `{query, matches}` objects.
    Json,
    /// One `{query, matches}` object per line.
    Jsonl,
}

/// Arguments of `neardup query`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// An image to look up (repeatable).
    #[arg(long, value_name = "FILE")]
    image: Vec<PathBuf>,
    /// A video to look up (repeatable): videos sharing enough frames, and
    /// pictures matching one of its frames.
    #[arg(long, value_name = "FILE")]
    video: Vec<PathBuf>,
    /// A video matches a --video query when either vPDQ match percentage
    /// reaches this.
    #[arg(long, value_name = "P", default_value_t = 80.0)]
    video_match_percent: f64,
    /// A text to look up (repeatable).
    #[arg(long, value_name = "TEXT")]
    text: Vec<String>,
    /// A PDQ hash to look up (64 hex digits, repeatable).
    #[arg(long, value_name = "HEX")]
    pdq: Vec<String>,
    /// A pHash to look up (16 hex digits, repeatable).
    #[arg(long, value_name = "HEX")]
    phash: Vec<String>,
    /// Largest PDQ Hamming distance of an image match, out of 256 bits.
    #[arg(long, value_name = "BITS", default_value_t = neardup::image::pdq::PDQ_MATCH_DISTANCE)]
    max_distance: u32,
    /// Largest pHash Hamming distance of a match, out of 64 bits (--phash
    /// queries, and pictures too flat for PDQ).
    #[arg(long, value_name = "BITS", default_value_t = neardup::query::PHASH_MATCH_DISTANCE)]
    max_phash_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    #[arg(long, value_name = "J", default_value_t = neardup::text::DEFAULT_THRESHOLD)]
    min_similarity: f64,
    /// Most matches per query.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    /// Also match rotated and flipped copies of an image or a video.
    #[arg(long)]
    dihedral: bool,
    /// Videos: seconds between the query's hashed frames (0 = every
    /// frame); as the index was made with.
    #[arg(long, value_name = "SECONDS",
          default_value_t = neardup::video::frames::DEFAULT_FRAME_INTERVAL,
          value_parser = super::hash::parse_interval)]
    frame_interval: f64,
    /// Refuse query images with more pixels than this.
    #[arg(long, value_name = "N", default_value_t = neardup::image::decode::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs `neardup query`: exit 0 when something matched, 1 when nothing did.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut queries: Vec<Query> = Vec::new();
    queries.extend(args.image.iter().cloned().map(Query::Image));
    queries.extend(args.video.iter().cloned().map(Query::Video));
    queries.extend(args.text.iter().cloned().map(Query::Text));
    for hex in &args.pdq {
        let h = Hash256::from_hex(hex).with_context(|| format!("--pdq {hex:?}"))?;
        queries.push(Query::Pdq(h));
    }
    for hex in &args.phash {
        let h = Hash64::from_hex(hex).with_context(|| format!("--phash {hex:?}"))?;
        queries.push(Query::Phash(h));
    }
    if queries.is_empty() {
        anyhow::bail!("nothing to look up: give --image, --video, --text, --pdq or --phash");
    }
    let opts = QueryOptions {
        max_distance: args.max_distance,
        max_phash_distance: args.max_phash_distance,
        min_similarity: args.min_similarity,
        limit: args.limit,
        dihedral: args.dihedral,
        video_match_percent: args.video_match_percent,
    };
    if let Err(QueryError::Option { option, problem }) = opts.check() {
        anyhow::bail!("--{} {problem}", option.replace('_', "-"));
    }
    let dir = args.index.dir();
    // A one-shot lookup reads only the pages it probes: CRCs are checked
    // at write and merge time and by `neardup verify` (docs/index-format.md
    // says what a damaged file can do to a query).
    let reader = neardup_index::Reader::open_with(&dir, neardup_index::ReaderOptions::lazy())
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    let searcher = Searcher::new(&reader, args.max_pixels)
        .with_context(|| format!("{}: cannot search index", dir.display()))?
        .with_frame_interval(args.frame_interval);
    let mut answers = Vec::with_capacity(queries.len());
    for q in &queries {
        answers.push(
            searcher
                .answer(q, &opts)
                .with_context(|| format!("{}: lookup failed", q.describe()))?,
        );
    }
    let found = answers.iter().any(|a| !a.matches.is_empty());
    let mut out = super::common::stdout();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&answers)?)?,
        Format::Jsonl => {
            for a in &answers {
                writeln!(out, "{}", serde_json::to_string(a)?)?;
            }
        }
        Format::Table => print_table(&mut out, &answers)?,
    }
    out.flush()?;
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(out: &mut impl Write, answers: &[Answer]) -> std::io::Result<()> {
    for a in answers {
        writeln!(out, "{}: {} match(es)", a.query, a.matches.len())?;
        for m in &a.matches {
            let score = match (m.distance, m.similarity) {
                (Some(d), _) => format!("d={d:<3}"),
                (None, Some(s)) => format!("j={s:.3}"),
                _ => String::new(),
            };
            let mut line = format!("  {score} {:<5} {}", m.kind, m.id);
            if let Some(post) = &m.post {
                if post != &m.id {
                    line.push_str(&format!("  post={post}"));
                }
            }
            if !m.author.is_empty() {
                line.push_str(&format!("  author={}", m.author));
            }
            if let Some(t) = &m.created_at {
                line.push_str(&format!("  {t}"));
            }
            if !m.snippet.is_empty() {
                line.push_str(&format!("  {:?}", m.snippet));
            }
            push_video_columns(&mut line, m);
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The video columns of a table line: where the match lies in time, and a
/// video-to-video match's percentages and first segment.
fn push_video_columns(line: &mut String, m: &Match) {
    if let Some(t) = m.at {
        line.push_str(&format!("  at={t:.1}s"));
    }
    if let Some(t) = m.query_at {
        line.push_str(&format!("  query_at={t:.1}s"));
    }
    if let Some(c) = &m.video {
        line.push_str(&format!(
            "  query_match={:.1}%  compared_match={:.1}%",
            c.query_match_percent, c.compared_match_percent
        ));
        if let Some(s) = c.segments.first() {
            line.push_str(&format!(
                "  segment: query {:.1}-{:.1}s = {:.1}-{:.1}s",
                s.query_start, s.query_end, s.compared_start, s.compared_end
            ));
        }
    }
}
