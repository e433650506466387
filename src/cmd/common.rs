//! Pieces shared by the subcommands: where the index is, output formats,
//! and standard output.
//!
//! Every subcommand writes its report through [`stdout`] and returns write
//! errors; `main` treats one caused by a closed pipe (`neardup stats | head
//! -c 0`) as the reader's choice and exits 0 without a message, as ripgrep
//! does ([`is_broken_pipe`]). `println!` would panic there instead.

use std::io::{BufWriter, ErrorKind, StdoutLock};
use std::path::PathBuf;

/// Standard output, locked and buffered. Flush it before returning, so that
/// a write error is seen (dropping a `BufWriter` ignores it).
pub fn stdout() -> BufWriter<StdoutLock<'static>> {
    BufWriter::new(std::io::stdout().lock())
}

/// Whether `err`, or an error it was made from, is a write to a pipe whose
/// reader has gone. Looks through the writers' own error types too (JSON and
/// CSV output wrap the I/O error).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let kind = if let Some(io) = e.downcast_ref::<std::io::Error>() {
            Some(io.kind())
        } else if let Some(json) = e.downcast_ref::<serde_json::Error>() {
            json.io_error_kind()
        } else if let Some(csv) = e.downcast_ref::<csv::Error>() {
            match csv.kind() {
                csv::ErrorKind::Io(io) => Some(io.kind()),
                _ => None,
            }
        } else {
            None
        };
        kind == Some(ErrorKind::BrokenPipe)
    })
}

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
