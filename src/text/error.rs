//! Errors of the text fingerprints.

use thiserror::Error;

/// What can go wrong when building or comparing text fingerprints.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TextError {
    /// The two fingerprints were made with different settings; their
    /// signatures are not comparable.
    #[error("text fingerprints made with different settings cannot be compared: [{a}] vs [{b}]")]
    SettingsMismatch {
        /// Description of the first fingerprint's settings.
        a: String,
        /// Description of the second fingerprint's settings.
        b: String,
    },
    /// The number of MinHash values is outside the supported range.
    #[error("MinHash size k = {k} is not supported (allowed: {min}..={max})")]
    InvalidK {
        /// The requested k.
        k: usize,
        /// Smallest allowed k.
        min: usize,
        /// Largest allowed k.
        max: usize,
    },
    /// The shingle size is outside the supported range.
    #[error("shingle size n = {n} is not supported (allowed: 1..={max})")]
    InvalidShingleSize {
        /// The requested n.
        n: usize,
        /// Largest allowed n.
        max: usize,
    },
    /// The settings name a normaliser version this build does not have.
    #[error("normaliser version {found} is not supported (this build has version {supported})")]
    UnsupportedNormalizer {
        /// Version asked for.
        found: u32,
        /// Version this build implements.
        supported: u32,
    },
    /// The LSH threshold is not in (0, 1).
    #[error("similarity threshold {threshold} is not in the open interval (0, 1)")]
    InvalidThreshold {
        /// The threshold given.
        threshold: f64,
    },
}
