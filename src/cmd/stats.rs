//! `neardup stats`: what an index holds.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::common::{Format, IndexArg};
use neardup::schema::Kind;

/// Arguments of `neardup stats`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Serialize)]
struct StatsOut {
    index: String,
    items: BTreeMap<&'static str, u64>,
    posts: u64,
    deleted: u64,
    segments: usize,
    bytes_on_disk: u64,
    /// Codes (or signatures) stored per field: an image has its plain PDQ
    /// code and up to five extra ones in `pdq`.
    codes: BTreeMap<String, u64>,
    generation: u64,
    fields: Vec<neardup_index::FieldSpec>,
    settings: serde_json::Value,
}

/// Runs `neardup stats`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let reader = neardup_index::Reader::open(&dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    let stats = reader.stats();
    let mut items: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (&byte, &n) in &stats.kinds {
        let name = match Kind::from_byte(byte) {
            Some(Kind::Image) => "image",
            Some(Kind::Text) => "text",
            Some(Kind::Hash) => "hash",
            None => "other",
        };
        *items.entry(name).or_insert(0) += n;
    }
    // Posts are the distinct groups: counting them reads the item table.
    let mut groups: HashSet<&str> = HashSet::new();
    for rec in reader.items() {
        let rec = rec.with_context(|| format!("{}: cannot read items", dir.display()))?;
        if let Some(g) = rec.group {
            groups.insert(g);
        }
    }
    let settings = serde_json::from_str(reader.settings())
        .unwrap_or_else(|_| serde_json::Value::String(reader.settings().to_string()));
    let mut codes = BTreeMap::new();
    for field in &reader.params().fields {
        let bytes = reader
            .field_bytes(field.name())
            .with_context(|| format!("{}: cannot read field {}", dir.display(), field.name()))?;
        codes.insert(field.name().to_string(), bytes.entries);
    }
    let out = StatsOut {
        index: dir.display().to_string(),
        items,
        posts: groups.len() as u64,
        deleted: stats.deleted,
        segments: stats.segments,
        bytes_on_disk: stats.bytes_on_disk,
        codes,
        generation: stats.generation,
        fields: reader.params().fields.clone(),
        settings,
    };
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
