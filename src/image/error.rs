//! Errors of image decoding and fingerprinting.
//!
//! [`DecodeError`] says what is wrong with a buffer of bytes; [`ImageError`]
//! adds the file it came from, so its `Display` names the file and the
//! problem, e.g. `photos/a.jpg: corrupt or unsupported JPEG data: ...`.

use std::path::PathBuf;

/// What went wrong turning bytes into pixels.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input has no bytes at all.
    #[error("empty file (0 bytes)")]
    Empty,
    /// The first bytes match no image format neardup decodes.
    #[error("not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF, ...): first bytes are {magic}")]
    UnknownFormat {
        /// Up to the first 8 bytes, in hex.
        magic: String,
    },
    /// The header claims more pixels than the budget allows; refused before
    /// any pixel buffer was allocated.
    #[error("{format} header claims {width} x {height} = {pixels} pixels, over the budget of {max} pixels (--max-pixels); refused before decoding", pixels = u64::from(*width) * u64::from(*height))]
    TooManyPixels {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel budget in force.
        max: u64,
    },
    /// The header says the image has no pixels.
    #[error("{format} header claims an empty image ({width} x {height})")]
    ZeroSize {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// The decoder rejected the data (truncated, corrupt, or a feature of the
    /// format that is not supported).
    #[error("corrupt or unsupported {format} data: {reason}")]
    Decode {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A decoder or hasher panicked on this input; the panic was caught so
    /// that the rest of a batch goes on.
    #[error("internal error while processing {format} data: {reason}")]
    Internal {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// The panic message.
        reason: String,
    },
}

/// An image file that could not be fingerprinted: the path and the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file could not be opened or read.
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path names a directory, a FIFO, a socket or a device, not a file.
    #[error("{}: not a regular file ({kind})", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead: "directory", "FIFO", ...
        kind: &'static str,
    },
    /// The file is larger than [`crate::image::pipeline::MAX_IMAGE_BYTES`]:
    /// refused before it is read.
    #[error("{}: file of {size} bytes, larger than the {limit} an image may have", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file's bytes could not be turned into pixels.
    #[error("{}: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: DecodeError,
    },
}

impl ImageError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ImageError::Io { path, .. }
            | ImageError::NotAFile { path, .. }
            | ImageError::TooLarge { path, .. }
            | ImageError::Decode { path, .. } => path,
        }
    }

    /// The problem without the path, for reports that print the path in a
    /// column of its own.
    pub fn reason(&self) -> String {
        match self {
            ImageError::Io { source, .. } => format!("cannot read file: {source}"),
            ImageError::NotAFile { kind, .. } => format!("not a regular file ({kind})"),
            ImageError::TooLarge { size, limit, .. } => {
                format!("file of {size} bytes, larger than the {limit} an image may have")
            }
            ImageError::Decode { reason, .. } => reason.to_string(),
        }
    }
}
