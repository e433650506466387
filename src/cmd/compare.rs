//! `neardup compare`: distances between two images, or (with `--text` or
//! `--text-file`) similarity between two texts.

use std::process::ExitCode;

pub use super::common::Format;
use super::{compare_image, compare_text};

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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `neardup compare`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.text || args.text_file {
        compare_text::run(&args)
    } else {
        compare_image::run(&args)
    }
}
