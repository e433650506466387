//! `neardup index`: bulk indexing of images, posts and hash lists.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::IndexArg;
use neardup::ingest::{discover, ingest, Failure, IngestOptions, IngestSink, Input, Summary};
use neardup::posts::FieldMap;
use neardup::schema::IndexSettings;
use neardup::text::{TextHasher, TextSettings};

/// The failures log inside the index directory (JSON lines, appended).
pub const ERRORS_FILE: &str = "errors.jsonl";

/// Arguments of `neardup index`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// Image and video files, directories (recursive), and posts files (*.jsonl,
    /// *.csv, Telegram's result.json, twarc2 output, yt-dlp .info.json).
    paths: Vec<PathBuf>,
    /// A hash list to import: CSV rows of `id,pdq` or `id,phash` (hex), or
    /// a vPDQ file of one video (`frame,quality,pdq_hex,seconds` lines).
    #[arg(long, value_name = "FILE")]
    hashes: Vec<PathBuf>,
    /// Field of a post's id (dotted path into nested JSON).
    #[arg(long, default_value = "id", value_name = "FIELD")]
    id_field: String,
    /// Field of a post's text.
    #[arg(long, default_value = "text", value_name = "FIELD")]
    text_field: String,
    /// Field of a post's author.
    #[arg(long, default_value = "author", value_name = "FIELD")]
    author_field: String,
    /// Field of a post's creation time (RFC 3339 or Unix seconds).
    #[arg(long, default_value = "created_at", value_name = "FIELD")]
    time_field: String,
    /// Field of a post's media: a path or a list of paths.
    #[arg(long, default_value = "media", value_name = "FIELD")]
    media_field: String,
    /// Field of a post's web address (URL), shown and linked in outputs.
    #[arg(long, default_value = "url", value_name = "FIELD")]
    url_field: String,
    /// How posts files are read: auto (detected per file), jsonl, csv,
    /// telegram (Telegram Desktop's result.json), twarc2, ytdlp
    /// (.info.json). The --*-field options apply to jsonl and csv.
    #[arg(long, default_value = "auto", value_name = "FORMAT",
          value_parser = ["auto", "jsonl", "csv", "telegram", "twarc2", "ytdlp"])]
    input_format: String,
    /// Threads (default: all cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Refuse images with more pixels than this (checked before decoding).
    #[arg(long, value_name = "N", default_value_t = neardup::image::decode::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Videos: seconds between hashed frames (0 = every frame). Query
    /// with the same `--frame-interval`.
    #[arg(long, value_name = "SECONDS",
          default_value_t = neardup::video::frames::DEFAULT_FRAME_INTERVAL,
          value_parser = super::hash::parse_interval)]
    frame_interval: f64,
    /// Items per commit: a crash loses at most this many.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    batch: usize,
    /// New index only: keep URLs in texts instead of masking them.
    #[arg(long)]
    keep_urls: bool,
    /// New index only: keep @mentions in texts instead of masking them.
    #[arg(long)]
    keep_mentions: bool,
    /// New index only: pictures also store their 7 turned codes (and a
    /// framed picture those of its content), so that `dedupe --dihedral`
    /// joins mirrored and 90-degree-turned copies. An index created with it
    /// keeps storing them; it more than doubles a picture's share of the
    /// index.
    #[arg(long)]
    dihedral: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
}

struct Sink {
    log: Option<std::fs::File>,
    log_path: PathBuf,
    bar: Option<indicatif::ProgressBar>,
}

impl IngestSink for Sink {
    fn failure(&mut self, f: &Failure) {
        let line = format!("neardup: {}: {}", f.location, f.reason);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
        if let Some(log) = &mut self.log {
            let record = serde_json::json!({
                "time": neardup::posts::format_time(now()),
                "location": f.location,
                "reason": f.reason,
            });
            if writeln!(log, "{record}").is_err() {
                eprintln!(
                    "neardup: {}: cannot append to the errors file",
                    self.log_path.display()
                );
                self.log = None;
            }
        }
    }

    fn progress(&mut self, bytes_done: u64, s: &Summary) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes_done);
            bar.set_message(format!(
                "{} indexed, {} unchanged, {} failed",
                s.indexed, s.unchanged, s.failed
            ));
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs `neardup index`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.paths.is_empty() && args.hashes.is_empty() {
        anyhow::bail!("nothing to index: give image files, directories, posts files or --hashes");
    }
    if args.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    if let Some(jobs) = args.jobs {
        super::set_threads(jobs)?;
    }
    let dir = args.index.dir();
    let settings = IndexSettings {
        dihedral: args.dihedral,
        ..IndexSettings::new(TextSettings {
            keep_urls: args.keep_urls,
            keep_mentions: args.keep_mentions,
            ..TextSettings::default()
        })
    };
    let mut writer = neardup::writer::open_writer(&dir, &settings)?;
    let hasher = TextHasher::new(settings.text)?;

    let (mut inputs, walk_failures) = discover(&args.paths);
    inputs.extend(args.hashes.iter().cloned().map(Input::Hashes));
    let total: u64 = inputs
        .iter()
        .map(|i| std::fs::metadata(i.path()).map_or(0, |m| m.len()))
        .sum();

    let log_path = dir.join(ERRORS_FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| {
            eprintln!(
                "neardup: {}: cannot open the errors file: {e}",
                log_path.display()
            )
        })
        .ok();
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut sink = Sink {
        log,
        log_path: log_path.clone(),
        bar,
    };
    for f in &walk_failures {
        sink.failure(f);
    }
    let opts = IngestOptions {
        pipeline: neardup::image::pipeline::PipelineOptions {
            max_pixels: args.max_pixels,
            dhash: false,
            ..Default::default()
        },
        fields: FieldMap {
            id: args.id_field,
            text: args.text_field,
            author: args.author_field,
            time: args.time_field,
            media: args.media_field,
            url: args.url_field,
        },
        format: args
            .input_format
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--input-format: {e}"))?,
        batch: args.batch,
        video: neardup::video::VideoOptions {
            max_pixels: args.max_pixels,
            frame_interval: args.frame_interval,
            ..neardup::ingest::index_video_options()
        },
    };
    let result = ingest(&mut writer, &hasher, &inputs, &opts, &mut sink);
    if let Some(bar) = sink.bar.take() {
        bar.finish_and_clear();
    }
    let mut summary = result.with_context(|| {
        format!(
            "{}: indexing stopped: the index could not be written",
            dir.display()
        )
    })?;
    summary.failed += walk_failures.len() as u64;
    if !args.quiet {
        eprintln!(
            "neardup: {}: {} indexed, {} unchanged, {} failed ({} posts){}",
            dir.display(),
            summary.indexed,
            summary.unchanged,
            summary.failed,
            summary.posts,
            if summary.failed > 0 {
                format!("; failures logged in {}", log_path.display())
            } else {
                String::new()
            }
        );
    }
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
