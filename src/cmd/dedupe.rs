//! `neardup dedupe`: every near-duplicate cluster of an index.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::common::IndexArg;
use neardup::cluster::ClusterRow;
use neardup::dedupe::{dedupe, DedupeOptions};
use neardup::posts::format_time;
use neardup::watermark::{self, Watermark};

pub use super::clusters::KindArg;

/// Output format of `neardup dedupe`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per cluster.
    #[default]
    Jsonl,
    /// CSV with a header; members separated by `|`.
    Csv,
}

/// Arguments of `neardup dedupe`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// What to cluster.
    #[arg(long, value_enum, default_value_t = KindArg::All)]
    kind: KindArg,
    /// Largest PDQ distance of an image match.
    #[arg(long, value_name = "BITS", default_value_t = neardup::image::pdq::PDQ_MATCH_DISTANCE)]
    max_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    #[arg(long, value_name = "J", default_value_t = neardup::text::DEFAULT_THRESHOLD)]
    min_similarity: f64,
    /// Compare only items added since: an item number, or `last` for the
    /// watermark of the previous complete run with the same --kind and
    /// thresholds (none yet: every item). Reports the clusters they touch.
    /// A complete run saves its watermark in the index directory.
    #[arg(long, value_name = "N|last")]
    since: Option<String>,
    /// An item with more matches than this is a hub: it links only its
    /// near-exact copies (PDQ distance <= 10, similarity >= 0.9), into a
    /// hub group reported apart (`hubs` names it), never chaining the
    /// rest.
    #[arg(long, value_name = "N", default_value_t = neardup::cluster::DEFAULT_HUB_CAP)]
    hub_cap: u32,
    /// Also join pictures with their mirrored and turned copies (flipped
    /// left-right or upside down, rotated 90, 180 or 270 degrees), by the
    /// turned codes stored by an index created with `neardup index
    /// --dihedral`. Costs 7 to 14 lookups per picture; without it, dedupe
    /// reads none of them.
    #[arg(long)]
    dihedral: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

/// The first item to search from (`--since N`, or `--since last`: the
/// watermark of the previous complete run with the same options; none yet:
/// every item), and whether the run covers every item since that watermark,
/// so that it may move the watermark on. A `--since N` past the watermark
/// leaves a gap and may not.
fn since(
    arg: Option<&str>,
    dir: &Path,
    opts: &DedupeOptions,
    now: &Watermark,
) -> anyhow::Result<(Option<u64>, bool)> {
    let n = match arg {
        None => return Ok((None, true)),
        Some("last") => None,
        Some(n) => Some(
            n.parse::<u64>()
                .with_context(|| format!("--since {n:?}: expected an item number or `last`"))?,
        ),
    };
    let last = match watermark::load(dir, opts)? {
        Some(m) if m.next_item > now.next_item => {
            eprintln!(
                "neardup: dedupe: the recorded run saw item {} but the index ends at {} \
                 (rebuilt?): taking every item as new",
                m.next_item, now.next_item
            );
            0
        }
        Some(m) => m.next_item,
        None => {
            if n.is_none() {
                eprintln!(
                    "neardup: dedupe: no complete run with these options recorded yet: \
                     comparing every item"
                );
            }
            0
        }
    };
    Ok(match n {
        None => ((last > 0).then_some(last), true),
        Some(n) => (Some(n), n <= last),
    })
}

/// Runs `neardup dedupe`: exit 0 when a cluster was found, 1 when none was.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let reader = neardup_index::Reader::open(&dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    neardup::schema::IndexSettings::from_json(reader.settings())
        .with_context(|| format!("{}: the index's settings are unreadable", dir.display()))?
        .check_readable()
        .with_context(|| format!("{}: cannot deduplicate this index", dir.display()))?;
    let mut opts = super::clusters::base_options(
        args.kind,
        args.max_distance,
        args.min_similarity,
        args.hub_cap,
    )?;
    opts.dihedral = args.dihedral && args.kind != KindArg::Text;
    if opts.dihedral {
        neardup::dedupe::check_dihedral(&reader)
            .with_context(|| format!("{}: cannot use --dihedral", dir.display()))?;
    }
    // The watermark this run will save: every item the reader sees now.
    let mark = Watermark {
        key: watermark::key(&opts),
        next_item: reader.next_item(),
        generation: reader.generation(),
        time: String::new(),
    };
    let (start, advances) = since(args.since.as_deref(), &dir, &opts, &mark)?;
    // `--kind video` shows a part of an image run: it reads the image
    // watermark but never moves it (the other image clusters were not shown).
    let advances = advances && args.kind != KindArg::Video;
    let opts = DedupeOptions {
        since: start,
        ..opts
    };
    let mut report =
        dedupe(&reader, &opts).with_context(|| format!("{}: dedupe failed", dir.display()))?;
    if args.kind == KindArg::Video {
        super::clusters::keep_video_clusters(&reader, &mut report)
            .with_context(|| format!("{}: cannot read the clusters' items", dir.display()))?;
    }
    if !report.hubs.is_empty() {
        let shown: Vec<String> = report
            .hubs
            .iter()
            .take(5)
            .map(|h| format!("{} ({} matches)", h.id, h.matches))
            .collect();
        eprintln!(
            "dedupe: {} hub item(s) with more than {} matches linked only their near-exact copies: {}{}",
            report.hubs.len(),
            args.hub_cap,
            shown.join(", "),
            if report.hubs.len() > 5 { ", ..." } else { "" }
        );
    }
    let urls = neardup::dedupe::post_urls(&reader, &report)
        .with_context(|| format!("{}: cannot read the index", dir.display()))?;
    let mut out = super::common::stdout();
    match args.format {
        Format::Jsonl => {
            use std::io::Write;
            let evidence = neardup::evidence::for_report(&reader, &report, opts.mode)
                .with_context(|| format!("{}: cannot read the clusters' posts", dir.display()))?;
            for (c, e) in report.clusters.iter().zip(&evidence) {
                let row = neardup::evidence::RowWithEvidence {
                    row: ClusterRow::with_urls(c, &urls),
                    evidence: e,
                };
                serde_json::to_writer(&mut out, &row)?;
                writeln!(out)?;
            }
            out.flush()?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "cluster",
                "kind",
                "size",
                "distinct_authors",
                "first_seen",
                "last_seen",
                "first_author",
                "representative",
                "members",
                "links",
                "hubs",
            ])?;
            for c in &report.clusters {
                let r = ClusterRow::with_urls(c, &urls);
                w.write_record([
                    r.cluster.to_string(),
                    r.kind.to_string(),
                    r.size.to_string(),
                    r.distinct_authors.map_or(String::new(), |n| n.to_string()),
                    r.first_seen.unwrap_or_default(),
                    r.last_seen.unwrap_or_default(),
                    r.first_author.unwrap_or_default().to_string(),
                    r.representative.to_string(),
                    r.members.join("|"),
                    r.links.map_or(String::new(), |n| n.to_string()),
                    r.hubs.join("|"),
                ])?;
            }
            w.flush()?;
        }
    }
    // Only now, with the whole report written and flushed, is the run
    // complete: a run that failed above left the previous watermark. A
    // watermark that cannot be saved (a read-only index) does not undo
    // the report: it is a warning, and the next `--since last` run
    // reports again from the previous watermark.
    let mark = Watermark {
        time: format_time(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        ),
        ..mark
    };
    // (`--since N` past the watermark skipped items: it keeps the watermark.)
    if advances {
        if let Err(e) = watermark::save(&dir, &mark) {
            eprintln!(
                "neardup: warning: {e}; the results above are complete, but the next \
                 `--since last` with these options starts from the previous watermark"
            );
        }
    }
    Ok(if report.clusters.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
