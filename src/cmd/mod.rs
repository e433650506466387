//! One module per subcommand. Each exposes `Args` (clap derive) and
//! `run(Args) -> anyhow::Result<ExitCode>`; `compare` dispatches to
//! `compare_image`, `compare_text` and
//! `compare_video`; `hash` hands videos to `hash_video`.

pub mod common;
pub mod compact;
pub mod compare;
pub mod compare_image;
pub mod compare_text;
pub mod compare_video;
pub mod dedupe;
pub mod hash;
pub mod hash_video;
pub mod index;
pub mod query;
pub mod stats;
pub mod verify;

/// Sets the number of worker threads (`--jobs N`).
pub fn set_threads(jobs: usize) -> anyhow::Result<()> {
    if jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {jobs} threads: {e}"))
}
