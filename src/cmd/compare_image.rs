//! `neardup compare A B` for two images.

use std::process::ExitCode;

/// Compares two images and prints the distances.
pub fn run(_args: &super::compare::Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("compare: not implemented yet")
}
