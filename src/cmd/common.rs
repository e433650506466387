//! Pieces shared by the index subcommands: where the index is, and output
//! formats.

use std::path::PathBuf;

/// The environment variable that names the index directory.
pub const INDEX_ENV: &str = "NEARDUP_INDEX";
/// The index directory when neither `--index` nor [`INDEX_ENV`] names one:
/// next to the analyst's data, like `.git`.
pub const DEFAULT_INDEX: &str = "neardup-index";

/// The `--index DIR` option, shared by every subcommand that uses an index.
#[derive(clap::Args, Clone, Debug)]
pub struct IndexArg {
    /// Index directory [default: $NEARDUP_INDEX, else ./neardup-index].
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
}

impl IndexArg {
    /// The index directory to use.
    pub fn dir(&self) -> PathBuf {
        if let Some(dir) = &self.index {
            return dir.clone();
        }
        match std::env::var_os(INDEX_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from(DEFAULT_INDEX),
        }
    }
}

/// Output format of the commands that print one report (`compare`,
/// `stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    #[default]
    Table,
    /// One JSON object.
    Json,
}
