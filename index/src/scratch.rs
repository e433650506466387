//! Scratch files of a merge: temporary files next to the new segment that
//! hold what a merge cannot keep in memory (the keys of a multi-index
//! table, a built search section) until it is copied into the segment.
//!
//! They are created, written and removed through [`Io`], so fault plans and
//! the power-loss trace see them like every other file of the writer; their
//! names end in `.tmp`, so a writer that opens the index after a crash
//! removes any left behind. They are never fsynced: nothing refers to them
//! after the merge, and a crash only leaves one for the next clean-up.
//! Reads back go straight to the file (`pread` in pieces of at most
//! [`WRITE_BUFFER`] bytes), so a merge's resident memory does not grow with
//! them.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{Io, WRITE_BUFFER};

/// A scratch file being written, then read back.
pub(crate) struct Scratch {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    len: u64,
}

impl Scratch {
    /// Creates `dir/name` (which must end in `.tmp`), empty.
    pub(crate) fn create(io: &mut Io, dir: &Path, name: &str) -> Result<Scratch> {
        debug_assert!(name.ends_with(".tmp"));
        let path = dir.join(name);
        let file = io.create(&path)?;
        Ok(Scratch {
            path,
            file,
            buf: Vec::new(),
            len: 0,
        })
    }

    /// Appends `bytes` (gathered into writes of up to [`WRITE_BUFFER`]).
    pub(crate) fn write(&mut self, io: &mut Io, bytes: &[u8]) -> Result<()> {
        if self.buf.len() + bytes.len() > WRITE_BUFFER {
            self.flush(io)?;
        }
        if bytes.len() >= WRITE_BUFFER {
            io.write(&mut self.file, &self.path, bytes)?;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Writes what is gathered; call before reading back.
    pub(crate) fn flush(&mut self, io: &mut Io) -> Result<()> {
        if !self.buf.is_empty() {
            io.write(&mut self.file, &self.path, &self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands the flushed contents to `f` in pieces whose lengths are
    /// multiples of `unit` bytes (at most about [`WRITE_BUFFER`]).
    pub(crate) fn read(&self, unit: usize, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let piece = (WRITE_BUFFER / unit).max(1) * unit;
        // A small file is read often (a pass per key range of a small
        // merge): no more buffer than it needs.
        let mut buf = vec![0u8; piece.min(self.len as usize)];
        let mut at = 0u64;
        while at < self.len {
            let k = piece.min((self.len - at) as usize);
            self.file
                .read_exact_at(&mut buf[..k], at)
                .map_err(|e| Error::io(&self.path, "read", e))?;
            f(&buf[..k])?;
            at += k as u64;
        }
        Ok(())
    }

    /// Removes the file. A failure is ignored: the next writer to open the
    /// index removes leftover `.tmp` files.
    pub(crate) fn remove(self, io: &mut Io) {
        drop(self.file);
        let _ = io.remove(&self.path);
    }
}
