//! `neardup verify`: check every byte of an index.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::common::IndexArg;

/// Arguments of `neardup verify`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
}

/// Runs `neardup verify`: exit 0 when the index is whole, 2 naming the
/// damage otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let reader = neardup_index::Reader::open(&dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    let report = reader
        .verify()
        .with_context(|| format!("{}: index is damaged", dir.display()))?;
    let mut w = super::common::stdout();
    writeln!(
        w,
        "{}: ok: {} files, {} bytes, {} items checked",
        dir.display(),
        report.files,
        report.bytes,
        report.items
    )?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
