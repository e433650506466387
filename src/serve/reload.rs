//! The open index, and how it follows a concurrent writer.
//!
//! Every [`DEFAULT_POLL`](super::DEFAULT_POLL) the `MANIFEST` file is read;
//! when its generation differs from the open snapshot's, a new
//! [`Reader`] is opened and swapped in behind an `Arc`. A request takes the
//! current `Arc` when it starts and keeps it to the end, so it answers from
//! one committed state: a writer's commit is never seen half-written (the
//! manifest is replaced atomically), and a compaction that unlinks the old
//! segment files does not break it (an unlinked file stays readable through
//! the map the old snapshot holds; its disk space is freed when the last
//! request using it ends).
//!
//! Sections are not CRC-checked as queries first touch them (a reopened
//! snapshot would read every section again on its first query); a
//! background task runs [`Reader::verify`] on the first snapshot and then on
//! the newest one at most once per `verify_every`, and a damaged file turns
//! `/healthz` to 503 with the damage named.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use neardup_index::{Manifest, Reader, ReaderOptions, MANIFEST};

use super::routes::AppState;
use crate::query::{QueryError, Searcher};

/// The index as the service sees it: the current snapshot and the state of
/// the background check.
pub struct Index {
    dir: PathBuf,
    max_pixels: u64,
    current: RwLock<Arc<Reader>>,
    /// Commits seen since start.
    pub reloads: AtomicU64,
    /// Failed attempts to open a new snapshot (the old one stays).
    pub reload_errors: AtomicU64,
    /// The generation last checked whole by the background check (0: none).
    pub verified_generation: AtomicU64,
    verifying: AtomicBool,
    /// The damage the background check found, if any.
    pub damage: Mutex<Option<String>>,
}

fn open_reader(dir: &Path) -> Result<Reader, neardup_index::Error> {
    Reader::open_with(
        dir,
        ReaderOptions {
            check_on_first_use: false,
            read_probes: false,
        },
    )
}

impl Index {
    /// Opens the index in `dir` and checks that this build can search it.
    pub fn open(dir: &Path, max_pixels: u64) -> Result<Index, QueryError> {
        let reader = open_reader(dir)?;
        Searcher::new(&reader, max_pixels)?;
        Ok(Index {
            dir: dir.into(),
            max_pixels,
            current: RwLock::new(Arc::new(reader)),
            reloads: AtomicU64::new(0),
            reload_errors: AtomicU64::new(0),
            verified_generation: AtomicU64::new(0),
            verifying: AtomicBool::new(false),
            damage: Mutex::new(None),
        })
    }

    /// The current snapshot; it stays valid as long as the caller holds it.
    pub fn snapshot(&self) -> Arc<Reader> {
        // A poisoned lock still holds a whole Arc: take it.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The pixel budget of query pictures.
    pub fn max_pixels(&self) -> u64 {
        self.max_pixels
    }

    /// Opens the newest snapshot if a writer has committed since the
    /// current one; true when it swapped.
    pub fn refresh(&self) -> Result<bool, neardup_index::Error> {
        let path = self.dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| neardup_index::Error::Io {
            path: path.clone(),
            op: "read",
            source: e,
        })?;
        let generation = Manifest::decode(&path, &bytes)?.generation;
        if generation == self.snapshot().generation() {
            return Ok(false);
        }
        let reader = Arc::new(open_reader(&self.dir)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = reader;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// Checks every byte of the current snapshot (unless a check runs).
    pub fn verify_now(&self) {
        if self.verifying.swap(true, Ordering::AcqRel) {
            return;
        }
        let reader = self.snapshot();
        let result = reader.verify();
        let mut damage = self.damage.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => {
                self.verified_generation
                    .store(reader.generation(), Ordering::Relaxed);
                *damage = None;
            }
            Err(e) => {
                eprintln!(
                    "neardup serve: {}: index is damaged: {e}",
                    self.dir.display()
                );
                *damage = Some(e.to_string());
            }
        }
        self.verifying.store(false, Ordering::Release);
    }
}

/// Follows the writer: polls the manifest every `poll`, and runs the
/// background check on the first snapshot and at most once per
/// `verify_every` on a newer one. Runs until the runtime stops.
pub async fn watch(state: AppState, poll: Duration, verify_every: Duration) {
    let mut last_verify: Option<Instant> = None;
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let index = state.index.clone();
        let refreshed = tokio::task::spawn_blocking(move || index.refresh()).await;
        match refreshed {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                // A writer between two files, or a damaged manifest: keep
                // answering from the snapshot we have and try again.
                state.index.reload_errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("neardup serve: cannot open the new snapshot (keeping the old one): {e}");
            }
            Err(_) => {}
        }
        let stale = state.index.verified_generation.load(Ordering::Relaxed)
            != state.index.snapshot().generation();
        if stale && last_verify.is_none_or(|t| t.elapsed() >= verify_every) {
            last_verify = Some(Instant::now());
            let index = state.index.clone();
            tokio::task::spawn_blocking(move || index.verify_now());
        }
    }
}
