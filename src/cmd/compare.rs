//! `neardup compare`: distances between two images, or (with `--text` or
//! `--text-file`) similarity between two texts, or vPDQ match percentages
//! and shared segments between two videos.

use std::process::ExitCode;

pub use super::common::Format;
use super::{compare_image, compare_text, compare_video};

/// Arguments of `neardup compare`.
#[derive(clap::Args)]
pub struct Args {
    /// The two images (or texts with --text, text files with --text-file).
    #[arg(num_args = 2, required = true, value_names = ["A", "B"])]
    pub items: Vec<String>,
    /// Treat A and B as texts.
    #[arg(long, conflicts_with = "text_file")]
    pub text: bool,
    /// Treat A and B as paths of text files.
    #[arg(long)]
    pub text_file: bool,
    /// With --text/--text-file: keep URLs as words instead of masking them.
    #[arg(long)]
    pub keep_urls: bool,
    /// With --text/--text-file: keep @mentions as words instead of masking them.
    #[arg(long)]
    pub keep_mentions: bool,
    /// Videos: seconds between hashed frames (0 = every frame).
    #[arg(long, value_name = "SECONDS", default_value_t = neardup::video::frames::DEFAULT_FRAME_INTERVAL)]
    pub frame_interval: f64,
    /// Videos: compare the frames' plain PDQ codes only, exactly as Meta's
    /// vPDQ does (by default each frame also brings its region codes, so a
    /// letterboxed, bordered or captioned copy matches).
    #[arg(long)]
    pub plain_frames: bool,
    /// Videos: the pair matches when either match percentage reaches this.
    #[arg(long, default_value_t = 80.0)]
    pub match_percent: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `neardup compare`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.text || args.text_file {
        compare_text::run(&args)
    } else if compare_video::both_videos(&args.items) {
        compare_video::run(&args)
    } else {
        compare_image::run(&args)
    }
}
