//! `neardup hash`: perceptual hashes of images, one JSON line (or table row)
//! per image, in input order, computed in parallel.
//!
//! Files are found by the rule of `neardup::discover`, shared with `neardup
//! index`: explicit file arguments are always attempted; directories are
//! walked recursively in sorted order, following symbolic links, skipping
//! hidden entries, and only images (by extension, else by magic number) are
//! taken, so a scrape's JSON and HTML files next to the media are skipped
//! silently. A file that cannot be hashed gets an `error` line (and a
//! message on standard error) and the batch goes on.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use rayon::iter::{ParallelBridge, ParallelIterator};
use serde::Serialize;

use neardup::discover::{discover_one, Discovery, Entry, Kind};
use neardup::image::decode::{decode_bytes, DEFAULT_MAX_PIXELS};
use neardup::image::error::ImageError;
use neardup::image::pdq::Dihedral;
use neardup::image::pipeline::{
    fingerprint_path, read_image_file, ImageFingerprint, PipelineOptions, DEFAULT_DECODE_SIDE,
};
use neardup::image::record::FingerprintRecord;
use neardup::video::frames::{DEFAULT_FRAME_INTERVAL, DEFAULT_MAX_FRAMES};
use neardup::video::probe::looks_like_video;
use neardup::video::{hash_video, VideoHash, VideoOptions};

use super::hash_video as video_out;

/// A perceptual hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    /// Meta's PDQ: 256 bits and a quality score.
    Pdq,
    /// DCT hash of the 32 x 32 grey picture (ImageHash `phash`): 64 bits.
    Phash,
    /// Difference hash of the 9 x 8 grey picture (ImageHash `dhash`): 64 bits.
    Dhash,
}

/// Output format of `neardup hash`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Aligned columns for reading.
    Table,
    /// Meta's vPDQ text format (`frame,quality,pdq_hex,seconds` per
    /// sampled frame) of one video.
    Vpdq,
}

/// Arguments of `neardup hash`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (recursive); `-` reads paths from standard input,
    /// one per line.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Algorithms to compute, comma separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Algo::Pdq, Algo::Phash, Algo::Dhash])]
    pub algo: Vec<Algo>,
    /// Also print the 8 dihedral PDQ hashes (rotations and flips).
    #[arg(long)]
    pub dihedral: bool,
    /// Also print the extra PDQ codes the index stores (borders trimmed,
    /// caption band removed, JPEG-tolerant peeling, bands peeled to a clear
    /// edge, centre crop; the usable ones) and whether the picture is
    /// framed.
    #[arg(long)]
    pub extra: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Refuse images whose header claims more pixels than this.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Videos: seconds between hashed frames (0 = every frame).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_FRAME_INTERVAL,
          value_parser = parse_interval)]
    pub frame_interval: f64,
    /// Videos: stop decoding after this many frames (the record is marked
    /// `cut`).
    #[arg(long, default_value_t = DEFAULT_MAX_FRAMES)]
    pub max_frames: u64,
    /// Benchmark floor: decode (reduced, as for hashing) but do not hash.
    #[arg(long, hide = true)]
    pub decode_only: bool,
    /// Decode every pixel instead of at reduced scale (to measure what the
    /// reduction costs in hash bits).
    #[arg(long, hide = true)]
    pub full_decode: bool,
    /// Longest side reduced-scale decoding keeps (experiments only).
    #[arg(long, hide = true, default_value_t = DEFAULT_DECODE_SIDE)]
    pub decode_side: u32,
}

/// A frame interval: a finite number of seconds, 0 or more.
pub(crate) fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds >= 0")),
    }
}

/// One item of work, in input order.
enum Input {
    /// A file to hash.
    File(PathBuf),
    /// A path that could not even be listed.
    Unreadable(PathBuf, String),
}

/// Runs `neardup hash`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let inputs = collect_inputs(&args.paths)?;
    if args.format == Format::Vpdq && inputs.len() != 1 {
        anyhow::bail!(
            "--format vpdq prints the frame hashes of one video; got {} files",
            inputs.len()
        );
    }
    let video = VideoOptions {
        frame_interval: args.frame_interval,
        max_pixels: args.max_pixels,
        max_frames: args.max_frames,
        ..VideoOptions::default()
    };
    let opts = PipelineOptions {
        max_pixels: args.max_pixels,
        pdq: args.algo.contains(&Algo::Pdq) || args.dihedral,
        dihedral: args.dihedral,
        pdq_extra: args.extra,
        pdq_query_extra: false,
        phash: args.algo.contains(&Algo::Phash),
        dhash: args.algo.contains(&Algo::Dhash),
        decode_side: (!args.full_decode).then_some(args.decode_side),
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = args.jobs {
        builder = builder.num_threads(usize::from(jobs));
    }
    let pool = builder.build().context("cannot start worker threads")?;

    // Not buffered beyond a line: rows appear as pictures are hashed.
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table && !args.decode_only {
        writeln!(out, "{}", table_header(&opts))?;
    }
    let stop = AtomicBool::new(false);
    let mut failed = 0usize;
    let mut write_error = None;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Row)>();
    std::thread::scope(|s| {
        let inputs = &inputs;
        let (opts, stop, decode_only, video) = (&opts, &stop, args.decode_only, &video);
        let format = args.format;
        s.spawn(move || {
            pool.install(|| {
                // par_bridge hands items out in input order, so results
                // arrive roughly in order and the reorder buffer stays small.
                inputs
                    .iter()
                    .enumerate()
                    .par_bridge()
                    .for_each_with(tx, |tx, (i, input)| {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let row = match input {
                            Input::File(path) if !decode_only && looks_like_video(path) => {
                                process_video(path, video)
                            }
                            _ if format == Format::Vpdq => not_a_video(input),
                            _ => process(input, opts, decode_only),
                        };
                        let _ = tx.send((i, row));
                    });
            });
        });
        let mut pending = BTreeMap::new();
        let mut next = 0usize;
        for (i, row) in rx {
            pending.insert(i, row);
            while let Some(row) = pending.remove(&next) {
                next += 1;
                if let Row::Error { error, .. } = &row {
                    failed += 1;
                    eprintln!("neardup: {error}");
                }
                if let Row::Video { path, video } = &row {
                    if let Some(w) = video_out::partial_warning(path, video) {
                        eprintln!("neardup: {w}");
                    }
                }
                if write_error.is_none() {
                    if let Err(e) = write_row(&mut out, &row, args.format, args.extra) {
                        write_error = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    if let Some(e) = write_error {
        // A closed pipe ends the run quietly (see `common::is_broken_pipe`).
        return Err(e).context("cannot write to standard output");
    }
    out.flush()?;
    if inputs.is_empty() {
        eprintln!("neardup: no image or video files found");
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What one input produced.
enum Row {
    Hashed {
        path: String,
        fp: Box<ImageFingerprint>,
    },
    Decoded {
        path: String,
        width: u32,
        height: u32,
    },
    Video {
        path: String,
        video: Box<VideoHash>,
    },
    Error {
        path: String,
        error: String,
        reason: String,
    },
}

fn process(input: &Input, opts: &PipelineOptions, decode_only: bool) -> Row {
    let (path, result) = match input {
        Input::Unreadable(path, why) => {
            return Row::Error {
                path: path.display().to_string(),
                error: format!("{}: {why}", path.display()),
                reason: why.clone(),
            }
        }
        Input::File(path) if decode_only => (
            path,
            decode_floor(path, opts).map(|(w, h)| Row::Decoded {
                path: path.display().to_string(),
                width: w,
                height: h,
            }),
        ),
        Input::File(path) => (
            path,
            fingerprint_path(path, opts).map(|fp| Row::Hashed {
                path: path.display().to_string(),
                fp: Box::new(fp),
            }),
        ),
    };
    result.unwrap_or_else(|e| Row::Error {
        path: path.display().to_string(),
        error: e.to_string(),
        reason: e.reason(),
    })
}

fn process_video(path: &Path, opts: &VideoOptions) -> Row {
    match hash_video(path, opts) {
        Ok(v) => Row::Video {
            path: path.display().to_string(),
            video: Box::new(v),
        },
        Err(e) => Row::Error {
            path: path.display().to_string(),
            error: e.to_string(),
            reason: e.reason(),
        },
    }
}

fn not_a_video(input: &Input) -> Row {
    let path = match input {
        Input::File(p) | Input::Unreadable(p, _) => p.display().to_string(),
    };
    let reason = "not a video (--format vpdq prints a video's frame hashes)".to_string();
    Row::Error {
        error: format!("{path}: {reason}"),
        path,
        reason,
    }
}

/// The benchmark's floor: read and decode exactly as the pipeline does,
/// without shrinking, orienting or hashing.
fn decode_floor(path: &Path, opts: &PipelineOptions) -> Result<(u32, u32), ImageError> {
    let bytes = read_image_file(path)?;
    let d = decode_bytes(&bytes, &opts.decode_options()).map_err(|reason| ImageError::Decode {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok((d.width, d.height))
}

/// One JSON line of `--format jsonl`.
#[derive(Serialize)]
struct JsonRow<'a> {
    path: &'a str,
    #[serde(flatten)]
    record: FingerprintRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl<'a> JsonRow<'a> {
    fn new(row: &'a Row, extra: bool) -> Self {
        let (path, record, error) = match row {
            Row::Hashed { path, fp } => (path, FingerprintRecord::new(fp, extra), None),
            Row::Decoded {
                path,
                width,
                height,
            } => (path, FingerprintRecord::size(*width, *height), None),
            Row::Error { path, reason, .. } => {
                (path, FingerprintRecord::default(), Some(reason.as_str()))
            }
            // Written by `hash_video::write_jsonl`.
            Row::Video { path, .. } => (path, FingerprintRecord::default(), None),
        };
        JsonRow {
            path,
            record,
            error,
        }
    }
}

fn table_header(opts: &PipelineOptions) -> String {
    let mut cols = vec![format!("{:>11}", "size")];
    if opts.pdq {
        cols.push(format!("{:<64} {:>3}", "pdq", "q"));
    }
    if opts.phash {
        cols.push(format!("{:<16}", "phash"));
    }
    if opts.dhash {
        cols.push(format!("{:<16}", "dhash"));
    }
    cols.push("path".to_string());
    cols.join("  ")
}

fn write_row(out: &mut impl Write, row: &Row, format: Format, extra: bool) -> std::io::Result<()> {
    if let Row::Video { path, video } = row {
        return match format {
            Format::Jsonl => video_out::write_jsonl(out, path, video),
            Format::Table => video_out::write_table(out, path, video),
            Format::Vpdq => video_out::write_vpdq(out, video),
        };
    }
    match format {
        // Errors go to standard error only: the output stays a clean vPDQ
        // file.
        Format::Vpdq => Ok(()),
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, &JsonRow::new(row, extra))?;
            writeln!(out)
        }
        Format::Table => match row {
            Row::Hashed { path, fp } => {
                let mut cols = vec![format!("{:>11}", format!("{}x{}", fp.width, fp.height))];
                if let Some(p) = fp.pdq {
                    cols.push(format!("{} {:>3}", p.hash.to_hex(), p.quality));
                }
                if let Some(h) = fp.phash {
                    cols.push(h.to_hex());
                }
                if let Some(h) = fp.dhash {
                    cols.push(h.to_hex());
                }
                cols.push(path.clone());
                writeln!(out, "{}", cols.join("  "))?;
                if let Some(d) = &fp.pdq_dihedral {
                    for t in Dihedral::ALL {
                        writeln!(out, "{:>11}  {} {}", "", d.get(t).to_hex(), t.name())?;
                    }
                }
                for p in &fp.pdq_extra {
                    writeln!(
                        out,
                        "{:>11}  {} {:>3} extra",
                        "",
                        p.hash.to_hex(),
                        p.quality
                    )?;
                }
                Ok(())
            }
            Row::Decoded {
                path,
                width,
                height,
            } => writeln!(out, "{:>11}  {path}", format!("{width}x{height}")),
            Row::Error { path, reason, .. } => {
                writeln!(out, "{:>11}  error: {reason}  {path}", "-")
            }
            Row::Video { .. } => Ok(()),
        },
    }
}

/// Expands the arguments into files, in order: `-` reads paths from
/// standard input, directories are walked in sorted order.
fn collect_inputs(args: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    let mut found = Found::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let line = line.context("cannot read paths from standard input")?;
                let line = line.trim_end_matches('\r');
                if !line.is_empty() {
                    expand(Path::new(line), &mut inputs, &mut found);
                }
            }
        } else {
            expand(arg, &mut inputs, &mut found);
        }
    }
    Ok(inputs)
}

/// Adds the images and videos under `path` by the rule of [`neardup::discover`]
/// (shared with `neardup index`). A file named explicitly is always tried;
/// posts files in directories are not images and are left out.
fn expand(path: &Path, inputs: &mut Vec<Input>, found: &mut Found) {
    let mut one = Discovery::default();
    discover_one(path, &mut one, &mut found.seen);
    for entry in one.entries {
        match entry {
            Entry::File {
                path,
                kind: Kind::Image | Kind::Video,
                ..
            }
            | Entry::File {
                path,
                explicit: true,
                ..
            } => inputs.push(Input::File(path)),
            Entry::File { .. } => {}
            Entry::Failed { path, reason } => inputs.push(Input::Unreadable(path, reason)),
        }
    }
}

/// What the walks of one run share: the files already taken.
#[derive(Default)]
struct Found {
    seen: std::collections::HashSet<PathBuf>,
}
