//! `neardup query`: the near-duplicates of a suspect image, text or hash.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::common::IndexArg;
use neardup::image::code::{Hash256, Hash64};
use neardup::query::{Match, Query, QueryOptions, Searcher};

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
    /// Also match rotated and flipped copies of an image.
    #[arg(long)]
    dihedral: bool,
    /// Refuse query images with more pixels than this.
    #[arg(long, value_name = "N", default_value_t = neardup::image::decode::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Serialize)]
struct Answer {
    query: String,
    matches: Vec<Match>,
}

/// Runs `neardup query`: exit 0 when something matched, 1 when nothing did.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut queries: Vec<Query> = Vec::new();
    queries.extend(args.image.iter().cloned().map(Query::Image));
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
        anyhow::bail!("nothing to look up: give --image, --text, --pdq or --phash");
    }
    if !(0.0..=1.0).contains(&args.min_similarity) {
        anyhow::bail!(
            "--min-similarity must lie in 0..=1, not {}",
            args.min_similarity
        );
    }
    let dir = args.index.dir();
    let reader = neardup_index::Reader::open(&dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    let searcher = Searcher::new(&reader, args.max_pixels)
        .with_context(|| format!("{}: cannot search index", dir.display()))?;
    for (name, value, bits) in [
        ("--max-distance", args.max_distance, 256),
        ("--max-phash-distance", args.max_phash_distance, 64),
    ] {
        if value > bits {
            anyhow::bail!("{name} is out of {bits} bits, not {value}");
        }
    }
    let opts = QueryOptions {
        max_distance: args.max_distance,
        max_phash_distance: args.max_phash_distance,
        min_similarity: args.min_similarity,
        limit: args.limit,
        dihedral: args.dihedral,
    };
    let mut answers = Vec::with_capacity(queries.len());
    for q in &queries {
        let matches = searcher
            .search(q, &opts)
            .with_context(|| format!("{}: lookup failed", q.describe()))?;
        answers.push(Answer {
            query: q.describe(),
            matches,
        });
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
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
