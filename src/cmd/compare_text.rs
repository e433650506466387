//! `neardup compare --text A B` (or `--text-file A B`) for two texts.

use std::process::ExitCode;

/// Compares two texts and prints their similarity.
pub fn run(_args: &super::compare::Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("compare --text: not implemented yet")
}
