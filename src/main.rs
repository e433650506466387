//! The `neardup` command line: a thin layer over the library.
//!
//! Exit codes: 0 success (everything hashed, something found), 1 partial or
//! empty result (some files failed, nothing matched), 2 usage or fatal error.
//! A closed standard output (`| head`) ends any subcommand quietly with 0.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Find near-duplicate images and texts.
#[derive(Parser)]
#[command(name = "neardup", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Perceptual hashes (PDQ, pHash, dHash) of images.
    Hash(cmd::hash::Args),
    /// Compare two images (or, with --text, two texts).
    Compare(cmd::compare::Args),
    /// Index images, posts (JSON lines, CSV) and hash lists.
    Index(cmd::index::Args),
    /// Look up the near-duplicates of an image, a text or a hash.
    Query(cmd::query::Args),
    /// Group an index's items into clusters of near-duplicates.
    Dedupe(cmd::dedupe::Args),
    /// What an index holds: items by kind, posts, segments, size, settings.
    Stats(cmd::stats::Args),
    /// Check every byte of an index (exit 2 on damage, naming it).
    Verify(cmd::verify::Args),
    /// Merge an index's segments into one, dropping deleted items.
    Compact(cmd::compact::Args),
    /// An HTML page of the clusters, for analysts: pictures, caption
    /// variants, accounts, first posters, spread over time.
    Report(cmd::report::Args),
    /// The account network of the clusters (GraphML, GEXF, CSV).
    Export(cmd::export::Args),
    /// Lookups over HTTP, with a lookup page, for browsers and services.
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with exit 0; real usage
            // errors go to stderr with our documented exit code 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Hash(args) => cmd::hash::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Index(args) => cmd::index::run(args),
        Command::Query(args) => cmd::query::run(args),
        Command::Dedupe(args) => cmd::dedupe::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Compact(args) => cmd::compact::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output closed it (`| head`): its choice, not an
        // error of ours.
        Err(e) if cmd::common::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neardup: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
