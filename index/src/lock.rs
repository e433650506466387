//! The writer's lock file: `LOCK` in the index directory, held with an
//! exclusive, non-blocking `flock(2)` for the writer's lifetime.
//!
//! `flock` locks belong to the open file description, so the lock is released
//! by the kernel when the process dies, even by `kill -9`: a crashed writer
//! never leaves a stale lock behind. Readers do not touch it.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name.
pub const LOCK: &str = "LOCK";

/// A held writer lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of the index in `dir`, or fails with
    /// [`Error::Locked`] when another writer holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<WriterLock> {
        let path = dir.join(LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, "open lock file", e))?;
        // SAFETY: flock only reads the descriptor number, which is valid
        // while `file` lives.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            return Err(if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                Error::Locked { path }
            } else {
                Error::io(&path, "lock", err)
            });
        }
        Ok(WriterLock { _file: file, path })
    }

    /// The lock file's path.
    #[allow(dead_code)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
