//! Errors of video hashing: each names the file and what is wrong with it.

use std::path::PathBuf;

/// Why a video could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The video.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The path is not a regular file (a FIFO, a device, a directory).
    #[error("{}: not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is empty.
    #[error("{}: empty file (0 bytes)", path.display())]
    Empty {
        /// The video.
        path: PathBuf,
    },
    /// The bytes are not a container this crate or ffmpeg recognises.
    #[error("{}: not a video (unknown container)", path.display())]
    NotAVideo {
        /// The video.
        path: PathBuf,
    },
    /// The container is damaged (truncated, inconsistent tables).
    #[error("{}: corrupt {container} file: {reason}", path.display())]
    Corrupt {
        /// The video.
        path: PathBuf,
        /// The container format.
        container: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The container holds no video track.
    #[error("{}: no video stream", path.display())]
    NoVideoStream {
        /// The video.
        path: PathBuf,
    },
    /// Frames larger than the pixel budget.
    #[error("{}: {width} x {height} frames exceed the pixel budget of {max_pixels}", path.display())]
    TooLarge {
        /// The video.
        path: PathBuf,
        /// Frame width claimed by the file.
        width: u64,
        /// Frame height claimed by the file.
        height: u64,
        /// The budget (`--max-pixels`).
        max_pixels: u64,
    },
    /// The codec needs ffmpeg, which is not on PATH.
    #[error("{}: {codec} video in {container} needs `ffmpeg` on PATH, which was not found", path.display())]
    NeedsFfmpeg {
        /// The video.
        path: PathBuf,
        /// The codec, as far as it is known without ffmpeg.
        codec: String,
        /// The container.
        container: &'static str,
    },
    /// ffmpeg failed or printed something unexpected.
    #[error("{}: ffmpeg: {reason}", path.display())]
    Ffmpeg {
        /// The video.
        path: PathBuf,
        /// ffmpeg's message or what went wrong talking to it.
        reason: String,
    },
    /// The bundled H.264 decoder failed.
    #[error("{}: cannot decode H.264: {reason}", path.display())]
    Decode {
        /// The video.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// The deadline ([`crate::video::frames::Limits::deadline`]) passed
    /// before decoding ended.
    #[error("{}: decoding stopped at the deadline", path.display())]
    Deadline {
        /// The video.
        path: PathBuf,
    },
    /// Decoding produced no frame at all.
    #[error("{}: no frame could be decoded", path.display())]
    NoFrames {
        /// The video.
        path: PathBuf,
    },
}

impl VideoError {
    /// The video the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            VideoError::Io { path, .. }
            | VideoError::NotAFile { path }
            | VideoError::Empty { path }
            | VideoError::NotAVideo { path }
            | VideoError::Corrupt { path, .. }
            | VideoError::NoVideoStream { path }
            | VideoError::TooLarge { path, .. }
            | VideoError::NeedsFfmpeg { path, .. }
            | VideoError::Ffmpeg { path, .. }
            | VideoError::Decode { path, .. }
            | VideoError::Deadline { path }
            | VideoError::NoFrames { path } => path,
        }
    }

    /// The message without the path (for a JSON `error` field).
    pub fn reason(&self) -> String {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        full.strip_prefix(&prefix).unwrap_or(&full).to_string()
    }
}
