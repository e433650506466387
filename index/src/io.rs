//! File operations of the writer, with an optional fault plan for tests.
//!
//! Every write, fsync and rename the writer does goes through [`Io`], which
//! counts them; a [`FaultPlan`] makes the Nth one fail (a plain I/O error, or
//! `ENOSPC` after writing half the buffer, as a full disk does). The failure
//! injection tests use it to check that an error at any step leaves the
//! previous commit intact.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Which operation of the writer to make fail (a testing hook).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The `nth` write (0-based) fails with an I/O error.
    Write(u64),
    /// The `nth` write writes half its bytes, then fails with `ENOSPC`.
    DiskFull(u64),
    /// The `nth` fsync (of a file or a directory) fails.
    Sync(u64),
    /// The `nth` rename fails.
    Rename(u64),
}

/// A set of faults to inject; see [`crate::Writer::inject_faults`].
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    /// The faults; each fires once.
    pub faults: Vec<Fault>,
}

/// Counts operations and fires planned faults.
#[derive(Debug, Default)]
pub(crate) struct Io {
    plan: FaultPlan,
    writes: u64,
    syncs: u64,
    renames: u64,
}

fn injected(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "injected fault")
}

impl Io {
    pub(crate) fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.writes = 0;
        self.syncs = 0;
        self.renames = 0;
    }

    /// Creates `path` for writing, replacing any leftover of a failed attempt.
    pub(crate) fn create(&mut self, path: &Path) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(path, "create", e))
    }

    pub(crate) fn write(&mut self, file: &mut File, path: &Path, buf: &[u8]) -> Result<()> {
        let n = self.writes;
        self.writes += 1;
        if self.plan.faults.contains(&Fault::Write(n)) {
            return Err(Error::io(
                path,
                "write",
                injected(std::io::ErrorKind::Other),
            ));
        }
        if self.plan.faults.contains(&Fault::DiskFull(n)) {
            let half = buf.len() / 2;
            file.write_all(&buf[..half])
                .map_err(|e| Error::io(path, "write", e))?;
            return Err(Error::io(
                path,
                "write",
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ));
        }
        file.write_all(buf).map_err(|e| Error::io(path, "write", e))
    }

    fn sync_fault(&mut self, path: &Path) -> Result<()> {
        let n = self.syncs;
        self.syncs += 1;
        if self.plan.faults.contains(&Fault::Sync(n)) {
            return Err(Error::io(
                path,
                "fsync",
                injected(std::io::ErrorKind::Other),
            ));
        }
        Ok(())
    }

    /// fsync of a file's data and metadata.
    pub(crate) fn sync(&mut self, file: &File, path: &Path) -> Result<()> {
        self.sync_fault(path)?;
        file.sync_all().map_err(|e| Error::io(path, "fsync", e))
    }

    /// fsync of a directory, so that a rename or unlink in it is durable
    /// (POSIX makes directory entries durable only through the directory).
    pub(crate) fn sync_dir(&mut self, dir: &Path) -> Result<()> {
        self.sync_fault(dir)?;
        let d = File::open(dir).map_err(|e| Error::io(dir, "open directory", e))?;
        d.sync_all()
            .map_err(|e| Error::io(dir, "fsync directory", e))
    }

    pub(crate) fn rename(&mut self, from: &Path, to: &Path) -> Result<()> {
        let n = self.renames;
        self.renames += 1;
        if self.plan.faults.contains(&Fault::Rename(n)) {
            return Err(Error::io(
                from,
                "rename",
                injected(std::io::ErrorKind::Other),
            ));
        }
        std::fs::rename(from, to).map_err(|e| Error::io(from, "rename", e))
    }

    /// Writes `pieces` to a temporary file next to `dest`, fsyncs it, renames
    /// it to `dest` and fsyncs the directory: the file appears whole or not at
    /// all.
    pub(crate) fn write_atomic(&mut self, dir: &Path, dest: &str, pieces: &[&[u8]]) -> Result<()> {
        let tmp = dir.join(format!("{dest}.tmp"));
        let mut f = self.create(&tmp)?;
        for p in pieces {
            if !p.is_empty() {
                self.write(&mut f, &tmp, p)?;
            }
        }
        self.sync(&f, &tmp)?;
        drop(f);
        self.rename(&tmp, &dir.join(dest))?;
        self.sync_dir(dir)
    }
}
