//! `neardup hash`: perceptual hashes of images.

use std::process::ExitCode;

/// Arguments of `neardup hash`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (recursive); `-` reads paths from standard input.
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("hash: not implemented yet")
}
