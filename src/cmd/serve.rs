//! `neardup serve`: lookups over HTTP (see `neardup::serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::common::IndexArg;
use neardup::serve::{serve, ServeOptions};

/// Arguments of `neardup serve`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: IndexArg,
    /// Address and port to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = neardup::serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// A file holding the bearer token every request but /healthz must
    /// carry (Authorization: Bearer TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Allow a non-loopback --listen address without --token-file.
    #[arg(long)]
    insecure: bool,
    /// Largest request body, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = neardup::serve::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Refuse query pictures and video frames with more pixels than this.
    #[arg(long, value_name = "N", default_value_t = neardup::image::decode::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Decode at most this many frames of an uploaded video (the rest of
    /// a longer video is not looked at).
    #[arg(long, value_name = "N", default_value_t = neardup::serve::DEFAULT_MAX_FRAMES)]
    max_frames: u64,
    /// Longest a lookup may take, in seconds (longer: 503).
    #[arg(long, value_name = "SECS", default_value_t = neardup::serve::DEFAULT_TIMEOUT.as_secs_f64())]
    timeout: f64,
    /// Lookups run at once [default: 4 per core].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
}

/// Runs `neardup serve` until SIGTERM or ctrl-c.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut opts = ServeOptions::new(args.index.dir());
    opts.listen = args.listen;
    opts.insecure = args.insecure;
    opts.max_body = args.max_body;
    opts.max_pixels = args.max_pixels;
    if args.max_frames == 0 {
        anyhow::bail!("--max-frames must be at least 1");
    }
    opts.max_frames = args.max_frames;
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        );
    }
    opts.timeout = Duration::from_secs_f64(args.timeout);
    if let Some(n) = args.concurrency {
        if n == 0 {
            anyhow::bail!("--concurrency must be at least 1");
        }
        opts.concurrency = n;
    }
    if let Some(f) = &args.token_file {
        let token = std::fs::read_to_string(f)
            .with_context(|| format!("{}: cannot read the token file", f.display()))?;
        opts.token = Some(token.trim().to_string());
    }
    serve(opts)?;
    Ok(ExitCode::SUCCESS)
}
