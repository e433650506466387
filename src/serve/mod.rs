//! `neardup serve`: lookups over HTTP, on axum and tokio.
//!
//! The service is a thin door onto the same library as `neardup query`:
//! a `POST /v1/query` answer is [`crate::query::Searcher::answer`]'s
//! [`crate::query::Answer`], serialised as one line of `query --format
//! jsonl` is. Modules:
//!
//! - [`reload`]: the open index, swapped when a writer commits; the
//!   background integrity check;
//! - [`body`]: what a query request may hold (an image, a video, or
//!   JSON);
//! - [`routes`]: the endpoints and the lookup page;
//! - [`metrics`]: Prometheus counters and latency histograms;
//! - [`auth`]: the optional bearer token.
//!
//! ```no_run
//! use neardup::serve::{serve, ServeOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! serve(ServeOptions::new("neardup-index".into()))?; // until SIGTERM or ctrl-c
//! # Ok(()) }
//! ```

pub mod auth;
pub mod body;
pub mod metrics;
pub mod reload;
pub mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default listen address: loopback, port 7878.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// The default largest request body: 32 MiB.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;
/// The default time a lookup may take, waiting for a slot included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default most frames decoded of an uploaded video: 10 minutes at 30
/// frames per second (the rest of a longer video is not looked at).
pub const DEFAULT_MAX_FRAMES: u64 = 18_000;
/// How often the manifest is read to see a writer's commits.
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// How to run the service.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The index directory.
    pub index: PathBuf,
    /// Where to listen (port 0: one chosen by the system).
    pub listen: SocketAddr,
    /// The bearer token every request but `/healthz` must carry.
    pub token: Option<String>,
    /// Allow a non-loopback address without a token.
    pub insecure: bool,
    /// Largest request body, in bytes (larger: 413).
    pub max_body: usize,
    /// Largest query picture, in pixels (as `query --max-pixels`).
    pub max_pixels: u64,
    /// Most frames decoded of an uploaded video (the rest is not looked
    /// at).
    pub max_frames: u64,
    /// Longest a lookup may take (longer: 503).
    pub timeout: Duration,
    /// Lookups run at once; more wait for a slot (within the timeout).
    pub concurrency: usize,
    /// How often to look for a new commit.
    pub poll: Duration,
    /// Shortest time between two background integrity checks.
    pub verify_every: Duration,
}

impl ServeOptions {
    /// The defaults, for the index in `index`.
    pub fn new(index: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServeOptions {
            index,
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            token: None,
            insecure: false,
            max_body: DEFAULT_MAX_BODY,
            max_pixels: crate::image::decode::DEFAULT_MAX_PIXELS,
            max_frames: DEFAULT_MAX_FRAMES,
            timeout: DEFAULT_TIMEOUT,
            // Lookups are CPU work: a few per core keeps the cores busy
            // while one waits on a page fault, without a queue of threads.
            concurrency: 4 * cores,
            poll: DEFAULT_POLL,
            verify_every: Duration::from_secs(60),
        }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A non-loopback address without a token or `--insecure`.
    #[error("{0} is not a loopback address: give --token-file, or --insecure to serve it without authentication")]
    NotLoopback(SocketAddr),
    /// The token is empty.
    #[error("the token is empty")]
    EmptyToken,
    /// The index could not be opened or searched.
    #[error("{path}: cannot open index: {source}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// Why.
        source: crate::query::QueryError,
    },
    /// The address could not be bound, or the server failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// Runs the service until SIGTERM or ctrl-c, then lets the answers in
/// flight finish. Prints `listening on http://ADDR` (the bound address) on
/// standard output once it accepts connections.
pub fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    if let Some(t) = &opts.token {
        if t.is_empty() {
            return Err(ServeError::EmptyToken);
        }
    } else if !opts.listen.ip().is_loopback() && !opts.insecure {
        return Err(ServeError::NotLoopback(opts.listen));
    }
    let index =
        reload::Index::open(&opts.index, opts.max_pixels).map_err(|source| ServeError::Index {
            path: opts.index.clone(),
            source,
        })?;
    let io = |what: String| move |source| ServeError::Io { what, source };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start the runtime".into()))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(io(format!("cannot listen on {}", opts.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(io("cannot read the bound address".into()))?;
        let state = Arc::new(routes::State::new(index, &opts));
        tokio::spawn(reload::watch(state.clone(), opts.poll, opts.verify_every));
        let app = routes::router(state);
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // The tests and scripts read the port from this line.
            let _ = writeln!(out, "listening on http://{addr}");
            let _ = out.flush();
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(io("the server failed".into()))
    })
}

/// Resolves on SIGTERM or ctrl-c (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("neardup serve: shutting down; answering the requests in flight");
}
