//! `neardup stats`: what an index holds.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::common::{Format, IndexArg};

/// Arguments of `neardup stats`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs `neardup stats`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let reader = neardup_index::Reader::open(&dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    let out =
        neardup::stats::index_stats(&reader, &dir).with_context(|| dir.display().to_string())?;
    let mut w = super::common::stdout();
    match args.format {
        Format::Json => writeln!(w, "{}", serde_json::to_string_pretty(&out)?)?,
        Format::Table => {
            writeln!(w, "index          {}", out.index)?;
            for (kind, n) in &out.items {
                writeln!(w, "{:<14} {n}", format!("{kind}s"))?;
            }
            writeln!(w, "posts          {}", out.posts)?;
            writeln!(w, "deleted        {}", out.deleted)?;
            writeln!(w, "segments       {}", out.segments)?;
            writeln!(w, "bytes on disk  {}", out.bytes_on_disk)?;
            for (field, n) in &out.codes {
                writeln!(w, "{:<14} {n}", format!("{field} codes"))?;
            }
            writeln!(w, "generation     {}", out.generation)?;
            writeln!(
                w,
                "settings       {}",
                serde_json::to_string(&out.settings)?
            )?;
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
