//! `neardup compare`: distances between two images, or (with `--text` or
//! `--text-file`) similarity between two texts.

use std::process::ExitCode;

/// Arguments of `neardup compare`.
#[derive(clap::Args)]
pub struct Args {
    /// The two images (or texts with --text, text files with --text-file).
    #[arg(num_args = 2, required = true)]
    pub items: Vec<String>,
    /// Treat A and B as texts.
    #[arg(long, conflicts_with = "text_file")]
    pub text: bool,
    /// Treat A and B as paths of text files.
    #[arg(long)]
    pub text_file: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.text || args.text_file {
        anyhow::bail!("compare --text: not implemented yet")
    }
    anyhow::bail!("compare: not implemented yet")
}
