//! `neardup report`: one self-contained HTML page of an index's clusters.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::clusters::{find, ClusterArgs};
use super::common::IndexArg;
use neardup::report::{render, ReportOptions, DEFAULT_MAX_THUMBNAILS};

/// Arguments of `neardup report`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    clusters: ClusterArgs,
    /// Where to write the page.
    #[arg(long, value_name = "FILE.html", default_value = "neardup-report.html")]
    out: PathBuf,
    /// Thumbnails to make in all, largest clusters first (the others show
    /// the picture's path).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_THUMBNAILS)]
    max_thumbnails: usize,
    /// The page's title.
    #[arg(long, default_value = "neardup report")]
    title: String,
}

/// Runs `neardup report`: exit 0 when the page shows a cluster, 1 when it
/// shows none (the page is written either way).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let (reader, opts, found) = find(&dir, &args.clusters)?;
    let out_dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let report_opts = ReportOptions {
        min_size: args.clusters.min_size,
        max_thumbnails: args.max_thumbnails,
        title: args.title,
        index: dir.display().to_string(),
        settings: args.clusters.describe(),
        out_dir,
    };
    let html = render(&reader, &found, opts.mode, &report_opts)
        .with_context(|| format!("{}: cannot read the clusters' items", dir.display()))?;
    super::write_atomically(&args.out, html.as_bytes())?;
    let shown = found
        .clusters
        .iter()
        .filter(|c| c.size >= args.clusters.min_size)
        .count();
    eprintln!(
        "report: {} cluster(s) in {} ({} KiB)",
        shown,
        args.out.display(),
        html.len() / 1024
    );
    Ok(if shown == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
