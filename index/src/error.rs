//! Errors of the storage layer.
//!
//! Every variant carries the data needed to act on it: the file, the section,
//! the expected and found values. Callers add their own context (which index,
//! which command) on top.

use std::path::PathBuf;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while writing or reading an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a file.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (open, write, fsync, rename, ...).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer holds the index's lock file.
    #[error("{path}: the index is locked by another writer")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory holds no index (no manifest).
    #[error("{path}: no index here (no MANIFEST)")]
    NotAnIndex {
        /// The directory.
        path: PathBuf,
    },
    /// `Writer::create` on a directory that already holds an index.
    #[error("{path}: an index already exists here")]
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// A file does not start with the expected magic bytes.
    #[error("{path}: not a {expected} file (bad magic)")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The kind of file that was expected.
        expected: &'static str,
    },
    /// A file was written by an unsupported format version.
    #[error("{path}: format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A file is shorter (or longer) than its header or the manifest says.
    #[error("{path}: truncated or extended: expected {expected_len} bytes, found {got}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The length recorded.
        expected_len: u64,
        /// The length found.
        got: u64,
    },
    /// A stored checksum does not match the bytes.
    #[error("{path}: checksum mismatch in {section}: expected {expected:#010x}, got {got:#010x}")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Which part of the file.
        section: String,
        /// The checksum stored.
        expected: u32,
        /// The checksum computed.
        got: u32,
    },
    /// A structural problem in a file (an offset outside the file, a count
    /// that does not add up, misalignment...).
    #[error("{path}: corrupt: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// An argument names a field the index does not have.
    #[error("unknown field {name:?}")]
    UnknownField {
        /// The name or index asked for.
        name: String,
    },
    /// A field was used with the wrong kind of query or code.
    #[error("field {field:?}: {what}")]
    FieldMismatch {
        /// The field.
        field: String,
        /// What was wrong.
        what: String,
    },
    /// A code or signature has the wrong width for its field.
    #[error("field {field:?}: expected {expected} words, got {got}")]
    WrongCodeWidth {
        /// The field.
        field: String,
        /// The width the field has.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// Invalid index parameters.
    #[error("invalid index parameters: {0}")]
    InvalidParams(String),
    /// An item given to the writer is invalid.
    #[error("item {id:?}: {what}")]
    InvalidItem {
        /// The external id.
        id: String,
        /// What is wrong.
        what: String,
    },
    /// The caller's fingerprint settings differ from those stored in the index.
    #[error("index was built with settings {stored}, the caller uses {given}")]
    SettingsMismatch {
        /// The settings stored in the index.
        stored: String,
        /// The settings the caller uses.
        given: String,
    },
    /// An item number that is not in the index (or was deleted).
    #[error("item {0} is not in the index")]
    NoSuchItem(u64),
    /// A previous commit failed part-way; reopen the writer.
    #[error("the writer failed during an earlier commit; open a new writer")]
    Poisoned,
    /// A search section written by the search structures failed to open.
    #[error("{path}: search section of field {field:?}: {what}")]
    Search {
        /// The segment file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What the search structure reported.
        what: String,
    },
}

impl Error {
    /// Wraps an I/O error with the file and the operation.
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// A `Corrupt` error.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }
}
