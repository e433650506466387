//! File operations of the writer, with an optional fault plan and an
//! operation trace for tests.
//!
//! Every creation, write, fsync, rename and removal the writer does goes
//! through [`Io`], which counts them; a [`FaultPlan`] makes the Nth one fail
//! (a plain I/O error, or `ENOSPC` after writing half the buffer, as a full
//! disk does). The failure injection tests use it to check that an error at
//! any step leaves the previous commit intact. With [`start_trace`], every
//! operation done on the calling thread is also recorded ([`TraceOp`]), so
//! the power-loss test can replay what a disk may keep of them.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// The `nth` creation of a file (the temporary file of every atomic
    /// write) fails.
    Create(u64),
    /// The `nth` removal of a file (clean-up of files no manifest names)
    /// fails.
    Remove(u64),
}

/// One file operation of the writer, as recorded by [`start_trace`] (a
/// testing hook). Paths are as the writer gave them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceOp {
    /// A directory was created.
    Mkdir(PathBuf),
    /// A file was created (empty).
    Create(PathBuf),
    /// Bytes were appended to a file.
    Write(PathBuf, Vec<u8>),
    /// A file was fsynced.
    Sync(PathBuf),
    /// A directory was fsynced.
    SyncDir(PathBuf),
    /// A file was renamed (within one directory).
    Rename(PathBuf, PathBuf),
    /// A file was removed.
    Remove(PathBuf),
}

thread_local! {
    static TRACE: RefCell<Option<Vec<TraceOp>>> = const { RefCell::new(None) };
}

/// Starts recording the file operations of writers on this thread
/// (discarding any earlier record).
#[doc(hidden)]
pub fn start_trace() {
    TRACE.with(|t| *t.borrow_mut() = Some(Vec::new()));
}

/// Stops recording and returns the operations recorded on this thread.
#[doc(hidden)]
pub fn take_trace() -> Vec<TraceOp> {
    TRACE.with(|t| t.borrow_mut().take()).unwrap_or_default()
}

/// The number of operations recorded so far on this thread.
#[doc(hidden)]
pub fn trace_len() -> usize {
    TRACE.with(|t| t.borrow().as_ref().map_or(0, Vec::len))
}

fn record(op: impl FnOnce() -> TraceOp) {
    TRACE.with(|t| {
        if let Some(v) = t.borrow_mut().as_mut() {
            v.push(op());
        }
    });
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
    creates: u64,
    removes: u64,
}

fn injected(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "injected fault")
}

impl Io {
    /// An `Io` that fires the faults of `plan`.
    pub(crate) fn with_plan(plan: FaultPlan) -> Io {
        Io {
            plan,
            ..Io::default()
        }
    }

    pub(crate) fn set_plan(&mut self, plan: FaultPlan) {
        *self = Io::with_plan(plan);
    }

    /// Whether the plan holds the fault `fault(counter)`.
    fn fires(&self, counter: u64, fault: fn(u64) -> Fault) -> bool {
        self.plan.faults.contains(&fault(counter))
    }

    /// Creates `path` for writing, replacing any leftover of a failed attempt.
    pub(crate) fn create(&mut self, path: &Path) -> Result<File> {
        let n = self.creates;
        self.creates += 1;
        if self.fires(n, Fault::Create) {
            return Err(Error::io(
                path,
                "create",
                injected(std::io::ErrorKind::Other),
            ));
        }
        // Readable too: a merge reads its scratch files back.
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(path, "create", e))?;
        record(|| TraceOp::Create(path.into()));
        Ok(f)
    }

    /// Removes `path` (a file no manifest names). The removal becomes
    /// durable with the next fsync of the directory; losing it to a crash
    /// only leaves a file the next writer removes again.
    pub(crate) fn remove(&mut self, path: &Path) -> Result<()> {
        let n = self.removes;
        self.removes += 1;
        if self.fires(n, Fault::Remove) {
            return Err(Error::io(
                path,
                "remove",
                injected(std::io::ErrorKind::Other),
            ));
        }
        std::fs::remove_file(path).map_err(|e| Error::io(path, "remove", e))?;
        record(|| TraceOp::Remove(path.into()));
        Ok(())
    }

    /// Creates `dir` and any missing parent, and makes each new entry
    /// durable by fsyncing the directory that holds it: without that, a
    /// power loss soon after `Writer::create` could lose the index
    /// directory itself, committed manifest and all.
    pub(crate) fn create_dir(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut d = Some(dir);
        while let Some(p) = d.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            missing.push(p);
            d = p.parent();
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create directory", e))?;
        for p in missing.iter().rev() {
            record(|| TraceOp::Mkdir(p.to_path_buf()));
        }
        for p in missing.iter().rev() {
            let parent = match p.parent() {
                Some(q) if !q.as_os_str().is_empty() => q,
                _ => Path::new("."),
            };
            self.sync_dir(parent)?;
        }
        Ok(())
    }

    pub(crate) fn write(&mut self, file: &mut File, path: &Path, buf: &[u8]) -> Result<()> {
        let n = self.writes;
        self.writes += 1;
        if self.fires(n, Fault::Write) {
            return Err(Error::io(
                path,
                "write",
                injected(std::io::ErrorKind::Other),
            ));
        }
        if self.fires(n, Fault::DiskFull) {
            let half = buf.len() / 2;
            file.write_all(&buf[..half])
                .map_err(|e| Error::io(path, "write", e))?;
            record(|| TraceOp::Write(path.into(), buf[..half].to_vec()));
            return Err(Error::io(
                path,
                "write",
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ));
        }
        file.write_all(buf)
            .map_err(|e| Error::io(path, "write", e))?;
        record(|| TraceOp::Write(path.into(), buf.to_vec()));
        Ok(())
    }

    fn sync_fault(&mut self, path: &Path) -> Result<()> {
        let n = self.syncs;
        self.syncs += 1;
        if self.fires(n, Fault::Sync) {
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
        file.sync_all().map_err(|e| Error::io(path, "fsync", e))?;
        record(|| TraceOp::Sync(path.into()));
        Ok(())
    }

    /// fsync of a directory, so that a rename or unlink in it is durable
    /// (POSIX makes directory entries durable only through the directory).
    pub(crate) fn sync_dir(&mut self, dir: &Path) -> Result<()> {
        self.sync_fault(dir)?;
        let d = File::open(dir).map_err(|e| Error::io(dir, "open directory", e))?;
        d.sync_all()
            .map_err(|e| Error::io(dir, "fsync directory", e))?;
        record(|| TraceOp::SyncDir(dir.into()));
        Ok(())
    }

    pub(crate) fn rename(&mut self, from: &Path, to: &Path) -> Result<()> {
        let n = self.renames;
        self.renames += 1;
        if self.fires(n, Fault::Rename) {
            return Err(Error::io(
                from,
                "rename",
                injected(std::io::ErrorKind::Other),
            ));
        }
        std::fs::rename(from, to).map_err(|e| Error::io(from, "rename", e))?;
        record(|| TraceOp::Rename(from.into(), to.into()));
        Ok(())
    }

    /// Writes `pieces` to a temporary file next to `dest`, fsyncs it, renames
    /// it to `dest` and fsyncs the directory: the file appears whole or not at
    /// all.
    pub(crate) fn write_atomic(&mut self, dir: &Path, dest: &str, pieces: &[&[u8]]) -> Result<()> {
        self.write_atomic_with(dir, dest, |out| {
            pieces.iter().try_for_each(|p| piece(out, p))
        })
    }

    /// Like [`Io::write_atomic`], for contents produced piece by piece:
    /// `fill` hands its pieces to the sink it gets, which gathers small
    /// pieces into writes of up to [`WRITE_BUFFER`] bytes (large ones go
    /// straight to the file), so the whole file is never held in memory.
    /// An empty piece flushes what is gathered: callers mark the ends of
    /// their pieces (see [`piece`]), so the power-loss test sees a state
    /// between any two of them, as when each was one write.
    pub(crate) fn write_atomic_with(
        &mut self,
        dir: &Path,
        dest: &str,
        fill: impl FnOnce(&mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let tmp = dir.join(format!("{dest}.tmp"));
        let mut f = self.create(&tmp)?;
        let mut buf: Vec<u8> = Vec::new();
        let mut sink = |piece: &[u8]| -> Result<()> {
            if piece.is_empty() || buf.len() + piece.len() > WRITE_BUFFER {
                if !buf.is_empty() {
                    self.write(&mut f, &tmp, &buf)?;
                    buf.clear();
                }
                if piece.len() >= WRITE_BUFFER {
                    return self.write(&mut f, &tmp, piece);
                }
            }
            buf.extend_from_slice(piece);
            Ok(())
        };
        fill(&mut sink)?;
        if !buf.is_empty() {
            self.write(&mut f, &tmp, &buf)?;
        }
        self.sync(&f, &tmp)?;
        drop(f);
        self.rename(&tmp, &dir.join(dest))?;
        self.sync_dir(dir)
    }
}

/// Size of the writes of [`Io::write_atomic_with`]: large enough that the
/// system calls cost nothing next to the bytes, small next to any segment
/// worth streaming.
pub(crate) const WRITE_BUFFER: usize = 1 << 20;

/// Hands `bytes` to a sink of [`Io::write_atomic_with`] as one piece: its
/// bytes, then the flush mark.
pub(crate) fn piece(out: &mut dyn FnMut(&[u8]) -> Result<()>, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    out(bytes)?;
    out(&[])
}
