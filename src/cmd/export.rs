//! `neardup export`: the account network of an index's clusters, as
//! GraphML, GEXF or CSV.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::clusters::{find, ClusterArgs};
use super::common::IndexArg;
use neardup::network::{network, GraphFormat};

/// File format of `neardup export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// GraphML (Gephi, networkx, igraph).
    Graphml,
    /// GEXF 1.2 (Gephi, networkx).
    Gexf,
    /// CSV of edges (with `--out F.csv`, the nodes go to `F.nodes.csv`).
    Csv,
}

/// Arguments of `neardup export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    clusters: ClusterArgs,
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Graphml)]
    format: Format,
    /// Where to write (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Accounts, posts and clusters as nodes (an account linked to its
    /// posts, a post to its cluster) instead of accounts linked to each
    /// other.
    #[arg(long)]
    bipartite: bool,
}

/// Runs `neardup export`: exit 0 when the network has an edge, 1 when not.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.index.dir();
    let (reader, opts, found) = find(&dir, &args.clusters)?;
    let mut report = found;
    report.clusters.retain(|c| c.size >= args.clusters.min_size);
    let net = network(&reader, &report, opts.mode, args.bipartite)
        .with_context(|| format!("{}: cannot read the clusters' items", dir.display()))?;
    let format = match args.format {
        Format::Graphml => GraphFormat::Graphml,
        Format::Gexf => GraphFormat::Gexf,
        Format::Csv => GraphFormat::Csv,
    };
    let mut bytes = Vec::new();
    net.write(format, &mut bytes)?;
    match &args.out {
        Some(path) => {
            super::write_atomically(path, &bytes)?;
            if format == GraphFormat::Csv {
                let nodes = path.with_extension("nodes.csv");
                let mut nb = Vec::new();
                net.write_csv_nodes(&mut nb)?;
                super::write_atomically(&nodes, &nb)?;
                eprintln!("export: nodes in {}", nodes.display());
            }
        }
        None => {
            let mut out = super::common::stdout();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    eprintln!(
        "export: {} nodes, {} edges",
        net.nodes.len(),
        net.edges.len()
    );
    Ok(if net.edges.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
