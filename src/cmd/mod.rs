//! One module per subcommand. Each exposes `Args` (clap derive) and
//! `run(Args) -> anyhow::Result<ExitCode>`; `compare` dispatches to
//! `compare_image`, `compare_text` and
//! `compare_video`; `hash` hands videos to `hash_video`.

pub mod clusters;
pub mod common;
pub mod compact;
pub mod compare;
pub mod compare_image;
pub mod compare_text;
pub mod compare_video;
pub mod dedupe;
pub mod export;
pub mod hash;
pub mod hash_video;
pub mod index;
pub mod query;
pub mod report;
pub mod serve;
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

/// Writes a whole output file or nothing: a temporary file in the same
/// folder, flushed to disk, then renamed over `path`, so that a reader never
/// sees half a report and a failed run leaves the previous one.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{name}.partial"));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: cannot write", path.display()))
}
