//! `neardup compact`: merge all segments into one and drop deleted items.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::common::IndexArg;

/// Arguments of `neardup compact`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
}

/// Runs `neardup compact`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let mut writer = neardup_index::Writer::open(&dir)
        .with_context(|| format!("{}: cannot open index for writing", dir.display()))?;
    let before = writer.reader().stats();
    let info = writer
        .compact_all()
        .with_context(|| format!("{}: compaction failed", dir.display()))?;
    let after = writer.reader().stats();
    let mut w = super::common::stdout();
    writeln!(
        w,
        "{}: {} segments -> {}, {} -> {} bytes, generation {}",
        dir.display(),
        before.segments,
        after.segments,
        before.bytes_on_disk,
        after.bytes_on_disk,
        info.generation
    )?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
